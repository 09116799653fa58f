//! What each role sees in the lists of staff, members, units and the audit log, and that another
//! village's staff cannot be inspected or taken over by guessing their ids.

use serde_json::{json, Value};

use crate::access::{call, org, staff_token, PASSWORD};
use crate::access_world::{world, Place, Role, ROLES};
use crate::helpers::*;
use crate::on_both_backends;

fn items(reply: &Reply) -> Vec<Value> {
    let body = reply.ok(200);
    body.get("items")
        .unwrap_or(body)
        .as_array()
        .expect("a list")
        .clone()
}

fn ids(list: &[Value]) -> Vec<i64> {
    list.iter().map(|v| v["id"].as_i64().unwrap()).collect()
}

on_both_backends!(
    lists_show_each_role_only_its_own_subtree,
    |backend| async move {
        let app = spawn_app(backend).await;
        let world = world(&app).await;
        let (a, b) = (&world.a, &world.b);
        let member = |p: &Place| p.member["id"].as_i64().unwrap();
        let staff = |p: &Place| p.staff["id"].as_i64().unwrap();
        for (role, token) in &world.tokens {
            let sees_b = matches!(role, Role::PlatformAdmin | Role::TownshipAdmin);
            let null = Value::Null;
            let get = |path: &'static str| call(&app, token, "GET", path, &null);

            let orgs = items(&get("/api/v1/orgs").await);
            let org_ids = ids(&orgs);
            assert!(
                org_ids.contains(&a.org) && org_ids.contains(&a.grid),
                "{role:?}"
            );
            assert_eq!(org_ids.contains(&b.org), sees_b, "{role:?} units");
            assert_eq!(org_ids.contains(&world.township), sees_b, "{role:?} units");

            let members = items(&get("/api/v1/members?limit=200").await);
            assert!(ids(&members).contains(&member(a)), "{role:?}");
            assert_eq!(
                ids(&members).contains(&member(b)),
                sees_b,
                "{role:?} members"
            );
            let everyone = Value::Array(members).to_string();
            assert_eq!(everyone.contains("B村民甲"), sees_b, "{role:?}");

            let listed = get("/api/v1/staff").await;
            let listed = items(&listed);
            let manages_staff = matches!(
                role,
                Role::PlatformAdmin | Role::TownshipAdmin | Role::VillageAdmin
            );
            assert_eq!(ids(&listed).contains(&staff(a)), manages_staff, "{role:?}");
            assert_eq!(ids(&listed).contains(&staff(b)), sees_b, "{role:?} staff");
            for person in &listed {
                for grant in person["grants"].as_array().unwrap() {
                    let path = grant["path"].as_str().unwrap();
                    assert!(
                        sees_b || path.starts_with(&a.path),
                        "{role:?} sees the grant {grant} of {person}"
                    );
                }
            }

            let audit = get("/api/v1/audit?limit=200").await;
            if matches!(role, Role::Organiser | Role::Clerk) {
                audit.problem(403, "forbidden");
                continue;
            }
            let records = items(&audit);
            assert!(!records.is_empty(), "{role:?}");
            let paths: Vec<&str> = records
                .iter()
                .map(|r| r["org_path"].as_str().unwrap())
                .collect();
            assert!(paths.iter().any(|p| p.starts_with(&a.path)), "{role:?}");
            assert_eq!(
                paths.iter().any(|p| p.starts_with(&b.path)),
                sees_b,
                "{role:?} audit: {paths:?}"
            );
            assert!(
                sees_b || paths.iter().all(|p| p.starts_with(&a.path)),
                "{role:?} audit: {paths:?}"
            );
        }
        assert_eq!(world.tokens.len(), ROLES.len());

        // Ids that do not exist are simply not found, for every role.
        for (role, token) in &world.tokens {
            for path in ["/api/v1/members/999999", "/api/v1/members/999999/card"] {
                let reply = call(&app, token, "GET", path, &Value::Null).await;
                assert_eq!(reply.status, 404, "{role:?} {path}");
            }
        }
    }
);

async fn grant(app: &TestApp, id: i64, role: &str, org_id: i64) {
    app.post(
        &format!("/api/v1/staff/{id}/grants"),
        json!({"role": role, "org_id": org_id}),
    )
    .await
    .ok(201);
}

on_both_backends!(
    a_village_admin_cannot_inspect_or_take_over_another_villages_staff,
    |backend| async move {
        let app = spawn_app(backend).await;
        let township = org(&app, "T", "township", None).await;
        let village_a = org(&app, "A", "village", Some(township)).await;
        let village_b = org(&app, "B", "village", Some(township)).await;
        let create = |phone: &'static str, name: &'static str| {
            app.post(
                "/api/v1/staff",
                json!({"phone": phone, "name": name, "password": PASSWORD}),
            )
        };
        let of_b = create("13300000101", "绿水村会计").await.ok(201)["id"]
            .as_i64()
            .unwrap();
        grant(&app, of_b, "clerk", village_b).await;
        // One person working in both villages.
        let both = create("13300000102", "两村店员").await.ok(201)["id"]
            .as_i64()
            .unwrap();
        grant(&app, both, "clerk", village_a).await;
        grant(&app, both, "organiser", village_b).await;
        let admin_a = staff_token(&app, "13300000103", "org_admin", village_a).await;
        let township_admin = staff_token(&app, "13300000104", "org_admin", township).await;

        // B's staff member is not A's to extend, and the refusal says nothing about them.
        let taken = call(
            &app,
            &admin_a,
            "POST",
            &format!("/api/v1/staff/{of_b}/grants"),
            &json!({"role": "org_admin", "org_id": village_a}),
        )
        .await;
        taken.problem(403, "forbidden");
        assert!(!taken.body.to_string().contains("绿水村会计"));

        // The person working in both villages: A's admin sees and changes only the A side.
        let listed = call(&app, &admin_a, "GET", "/api/v1/staff", &Value::Null).await;
        let listed = items(&listed);
        assert!(!ids(&listed).contains(&of_b));
        let seen = listed.iter().find(|s| s["id"] == both).unwrap();
        let roles: Vec<&Value> = seen["grants"].as_array().unwrap().iter().collect();
        assert_eq!(roles.len(), 1, "{seen}");
        assert_eq!(roles[0]["org_id"], village_a);
        let granted = call(
            &app,
            &admin_a,
            "POST",
            &format!("/api/v1/staff/{both}/grants"),
            &json!({"role": "auditor", "org_id": village_a}),
        )
        .await;
        let granted = granted.ok(201).clone();
        assert_eq!(granted["grants"].as_array().unwrap().len(), 2);
        assert!(!granted.to_string().contains("organiser"), "{granted}");
        let log = call(
            &app,
            &admin_a,
            "GET",
            "/api/v1/audit?action=staff.grant&limit=1",
            &Value::Null,
        )
        .await;
        let record = items(&log)[0].clone();
        assert_eq!(record["target"], format!("staff:{both}"));
        assert!(
            !record.to_string().contains("organiser"),
            "the audit record keeps to A too: {record}"
        );
        let whole = call(&app, &township_admin, "GET", "/api/v1/staff", &Value::Null).await;
        let whole = items(&whole);
        let person = whole.iter().find(|s| s["id"] == both).unwrap();
        assert_eq!(person["grants"].as_array().unwrap().len(), 3, "{person}");

        // A brand-new account without any role is anyone's to start.
        let newcomer = call(
            &app,
            &admin_a,
            "POST",
            "/api/v1/staff",
            &json!({"phone": "13300000105", "name": "新人", "password": PASSWORD}),
        )
        .await;
        let newcomer = newcomer.ok(201)["id"].as_i64().unwrap();
        call(
            &app,
            &admin_a,
            "POST",
            &format!("/api/v1/staff/{newcomer}/grants"),
            &json!({"role": "clerk", "org_id": village_a}),
        )
        .await
        .ok(201);
    }
);
