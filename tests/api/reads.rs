//! Whatever a client can create, it can read back by id, within its units only.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_unit_and_a_rule_read_back_by_id_and_other_villages_are_not_found,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let org = app.org_of(&village).await;
        let rule = app
            .post(
                &format!("/api/v1/banks/{}/rules", village.bank),
                json!({"code": "CLEAN", "name": "清洁家园", "category": "volunteer_service",
                       "default_points": "2", "min_points": "1", "max_points": "5"}),
            )
            .await;
        let rule = rule.ok(201).clone();
        let rule_path = format!("/api/v1/banks/{}/rules/{}", village.bank, rule["id"]);
        assert_eq!(app.get(&rule_path).await.ok(200), &rule);
        let unit = app.get(&format!("/api/v1/orgs/{org}")).await;
        assert_eq!(unit.ok(200)["id"], org);

        let other = app.village().await;
        let outsider = app
            .staff_with_role("org_admin", app.org_of(&other).await)
            .await;
        for path in [rule_path.clone(), format!("/api/v1/orgs/{org}")] {
            app.send_as(&outsider, "GET", &path, None)
                .await
                .problem(404, "not_found");
        }
        app.get(&format!("/api/v1/banks/{}/rules/999999", village.bank))
            .await
            .problem(404, "not_found");
        app.get("/api/v1/orgs/999999")
            .await
            .problem(404, "not_found");
    }
);
