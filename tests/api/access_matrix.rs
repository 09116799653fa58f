//! The authorisation matrix for staff, members, the organisation tree and the audit log: every
//! role × operation × a target inside and outside the role's subtree, with the exact status. A
//! refused request never carries the target's data, whatever id was guessed.

use serde_json::{json, Value};

use crate::access::{call, org, PASSWORD};
use crate::access_world::{world, Place, Role, ROLES};
use crate::helpers::*;
use crate::on_both_backends;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CreateStaff,
    GrantRole,
    RevokeRole,
    CreateMember,
    GetMember,
    MemberCard,
    ReissueCard,
    LookupCard,
    MergeMembers,
    PrintCards,
    CreateUnit,
    CreateTopLevelUnit,
    MoveUnit,
}

const OPS: [Op; 13] = [
    Op::CreateStaff,
    Op::GrantRole,
    Op::RevokeRole,
    Op::CreateMember,
    Op::GetMember,
    Op::MemberCard,
    Op::ReissueCard,
    Op::LookupCard,
    Op::MergeMembers,
    Op::PrintCards,
    Op::CreateUnit,
    Op::CreateTopLevelUnit,
    Op::MoveUnit,
];

/// Whether `role` may do `op` to a target inside its subtree. Written out, not derived from the
/// code under test.
fn allowed(role: Role, op: Op) -> bool {
    use Op::*;
    let reads = [GetMember, MemberCard, LookupCard, PrintCards];
    match role {
        Role::PlatformAdmin => true,
        Role::TownshipAdmin | Role::VillageAdmin => op != CreateTopLevelUnit,
        Role::Organiser => reads.contains(&op) || [CreateMember, ReissueCard].contains(&op),
        Role::Clerk | Role::Auditor => reads.contains(&op),
    }
}

fn success(op: Op) -> u16 {
    match op {
        Op::CreateStaff | Op::GrantRole | Op::CreateMember | Op::CreateUnit => 201,
        Op::CreateTopLevelUnit => 201,
        _ => 200,
    }
}

/// Operations without a target unit run once, as "inside the subtree".
fn has_target(op: Op) -> bool {
    !matches!(op, Op::CreateStaff | Op::CreateTopLevelUnit)
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Prepares what `op` acts on in `place` (as the platform administrator) and returns the request
/// the role will send, with a text of the target's that a refusal must not contain.
async fn prepare(
    app: &TestApp,
    op: Op,
    place: &Place,
    n: usize,
) -> (&'static str, String, Value, String) {
    let member = place.member["id"].as_i64().unwrap();
    let member_name = place.member["name"].as_str().unwrap().to_string();
    let staff_id = place.staff["id"].as_i64().unwrap();
    let staff_name = place.staff["name"].as_str().unwrap().to_string();
    match op {
        Op::CreateStaff => (
            "POST",
            "/api/v1/staff".into(),
            json!({"phone": format!("1310000{n:04}"), "name": "新店员", "password": PASSWORD}),
            String::new(),
        ),
        Op::GrantRole => (
            "POST",
            format!("/api/v1/staff/{staff_id}/grants"),
            json!({"role": "auditor", "org_id": place.org}),
            staff_name,
        ),
        Op::RevokeRole => {
            let granted = app
                .post(
                    &format!("/api/v1/staff/{staff_id}/grants"),
                    json!({"role": "organiser", "org_id": place.grid}),
                )
                .await;
            // 201 the first time; 200 when an earlier cell granted it already (idempotent).
            assert!(
                matches!(granted.status.as_u16(), 200 | 201),
                "{}",
                granted.body
            );
            let grant = granted.body["grants"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["role"] == "organiser")
                .map(|g| g["id"].as_i64().unwrap())
                .max()
                .unwrap();
            (
                "POST",
                format!("/api/v1/staff/{staff_id}/grants/{grant}/revoke"),
                Value::Null,
                staff_name,
            )
        }
        Op::CreateMember => (
            "POST",
            "/api/v1/members".into(),
            json!({"org_id": place.grid, "name": format!("新村民{n}")}),
            String::new(),
        ),
        Op::GetMember => (
            "GET",
            format!("/api/v1/members/{member}"),
            Value::Null,
            member_name,
        ),
        Op::MemberCard => (
            "GET",
            format!("/api/v1/members/{member}/card/payload"),
            Value::Null,
            place.member["card_number"].as_str().unwrap().into(),
        ),
        Op::ReissueCard => (
            "POST",
            format!("/api/v1/members/{member}/card/reissue"),
            json!({}),
            member_name,
        ),
        Op::LookupCard => {
            let card = app
                .get(&format!("/api/v1/members/{member}/card/payload"))
                .await;
            (
                "POST",
                "/api/v1/members/lookup".into(),
                json!({"card": card.ok(200)["token"]}),
                member_name,
            )
        }
        Op::MergeMembers => {
            let mut ids = Vec::new();
            for _ in 0..2 {
                let registered = app
                    .post(
                        "/api/v1/members",
                        json!({"org_id": place.org, "name": format!("重复{n}")}),
                    )
                    .await;
                ids.push(registered.ok(201)["id"].as_i64().unwrap());
            }
            (
                "POST",
                format!("/api/v1/members/{}/merge", ids[0]),
                json!({"into_member_id": ids[1]}),
                format!("重复{n}"),
            )
        }
        Op::PrintCards => (
            "GET",
            format!("/api/v1/orgs/{}/member-cards.svg", place.org),
            Value::Null,
            member_name,
        ),
        Op::CreateUnit => (
            "POST",
            "/api/v1/orgs".into(),
            json!({"code": unique(), "name": "新网格", "kind": "grid", "parent_id": place.org}),
            String::new(),
        ),
        Op::CreateTopLevelUnit => (
            "POST",
            "/api/v1/orgs".into(),
            json!({"code": unique(), "name": "新县", "kind": "county"}),
            String::new(),
        ),
        Op::MoveUnit => {
            let name = format!("楼{}", unique());
            let building = org(app, &name, "building", Some(place.grid)).await;
            (
                "POST",
                format!("/api/v1/orgs/{building}/move"),
                json!({"parent_id": place.second_grid}),
                name,
            )
        }
    }
}

on_both_backends!(
    every_role_manages_staff_members_and_units_only_in_its_own_subtree,
    |backend| async move {
        let app = spawn_app(backend).await;
        let world = world(&app).await;
        let mut n = 0;
        let mut failures = Vec::new();
        for (role, token) in &world.tokens {
            let village_level = !matches!(role, Role::PlatformAdmin | Role::TownshipAdmin);
            for op in OPS {
                let targets: &[(&Place, bool)] = if has_target(op) {
                    &[(&world.a, true), (&world.b, !village_level)]
                } else {
                    &[(&world.a, true)]
                };
                for (place, inside) in targets {
                    n += 1;
                    let (method, path, body, private) = prepare(&app, op, place, n).await;
                    let reply = call(&app, token, method, &path, &body).await;
                    let expected = if *inside && allowed(*role, op) {
                        success(op)
                    } else if *inside {
                        403
                    } else {
                        // Another village's records answer like missing ones.
                        404
                    };
                    let status = match (op, reply.status.as_u16()) {
                        // Granting a role already held changes nothing and answers 200.
                        (Op::GrantRole, 200) => 201,
                        (_, status) => status,
                    };
                    if status != expected {
                        failures.push(format!(
                            "{role:?} {op:?} inside={inside}: expected {expected}, got {} {}",
                            reply.status, reply.body
                        ));
                        continue;
                    }
                    if expected >= 400 {
                        reply.problem(
                            expected,
                            if expected == 403 {
                                "forbidden"
                            } else {
                                "not_found"
                            },
                        );
                        assert!(
                            private.is_empty() || !reply.body.to_string().contains(&private),
                            "{role:?} {op:?} refused but shown {private}: {}",
                            reply.body
                        );
                    }
                }
            }
        }
        let cells_per_role = 2 * OPS.iter().filter(|op| has_target(**op)).count() + 2;
        assert_eq!(n, ROLES.len() * cells_per_role, "every cell was tried");
        assert!(
            failures.is_empty(),
            "{} cells differ:\n{}",
            failures.len(),
            failures.join("\n")
        );

        // Nothing that village A's staff did is recorded outside village A: outside it, only the
        // platform and township administrators acted.
        let everyone = app.get("/api/v1/staff").await;
        let township_admin = everyone
            .ok(200)
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["grants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g["org_id"] == world.township)
            })
            .map(|s| format!("staff:{}", s["id"]))
            .unwrap();
        let mut outside = 0;
        let mut cursor = String::new();
        loop {
            let page = app.get(&format!("/api/v1/audit?limit=200{cursor}")).await;
            let page = page.ok(200).clone();
            for record in page["items"].as_array().unwrap() {
                if !record["org_path"]
                    .as_str()
                    .unwrap()
                    .starts_with(&world.a.path)
                {
                    outside += 1;
                    let actor = record["actor"].as_str().unwrap();
                    assert!(actor == "staff:1" || actor == township_admin, "{record}");
                }
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        assert!(
            outside > 0,
            "the administrators' own changes in village B are there"
        );
    }
);
