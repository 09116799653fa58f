//! The world of the access tests: a township with villages A and B, what the operations act on
//! in each, and a signed-in token for every role (the village-level roles in village A).

use serde_json::{json, Value};

use crate::access::{org, staff_token, PASSWORD};
use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    PlatformAdmin,
    TownshipAdmin,
    VillageAdmin,
    Organiser,
    Clerk,
    Auditor,
}

pub const ROLES: [Role; 6] = [
    Role::PlatformAdmin,
    Role::TownshipAdmin,
    Role::VillageAdmin,
    Role::Organiser,
    Role::Clerk,
    Role::Auditor,
];

/// A village with what the operations act on, all made by the platform administrator.
pub struct Place {
    pub org: i64,
    pub path: String,
    pub grid: i64,
    pub second_grid: i64,
    pub member: Value,
    /// A staff member holding a clerk role in this village only.
    pub staff: Value,
}

/// The test world: a township with villages A and B, and a signed-in token for every role (the
/// village roles in village A).
pub struct World {
    pub township: i64,
    pub a: Place,
    pub b: Place,
    pub tokens: Vec<(Role, String)>,
}

async fn new_staff(app: &TestApp, phone: &str, name: &str) -> Value {
    app.post(
        "/api/v1/staff",
        json!({"phone": phone, "name": name, "password": PASSWORD}),
    )
    .await
    .ok(201)
    .clone()
}

async fn place(app: &TestApp, code: &str, township: i64, phone: &str) -> Place {
    let village = org(app, code, "village", Some(township)).await;
    let grid = org(app, &format!("{code}-1"), "grid", Some(village)).await;
    let second_grid = org(app, &format!("{code}-2"), "grid", Some(village)).await;
    let path = app
        .get("/api/v1/orgs")
        .await
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == village)
        .map(|o| o["path"].as_str().unwrap().to_string())
        .unwrap();
    app.post(
        "/api/v1/banks",
        json!({"org_id": village, "name": format!("{code}村积分银行")}),
    )
    .await
    .ok(201);
    let member = app
        .post(
            "/api/v1/members",
            json!({"org_id": grid, "name": format!("{code}村民甲")}),
        )
        .await
        .ok(201)
        .clone();
    let staff = new_staff(app, phone, &format!("{code}村店员")).await;
    app.post(
        &format!("/api/v1/staff/{}/grants", staff["id"]),
        json!({"role": "clerk", "org_id": village}),
    )
    .await
    .ok(201);
    Place {
        org: village,
        path,
        grid,
        second_grid,
        member,
        staff,
    }
}

pub async fn world(app: &TestApp) -> World {
    let township = org(app, "T", "township", None).await;
    let a = place(app, "A", township, "13300000001").await;
    let b = place(app, "B", township, "13300000002").await;
    let mut tokens = vec![(Role::PlatformAdmin, app.token.clone())];
    tokens.push((
        Role::TownshipAdmin,
        staff_token(app, "13300000010", "org_admin", township).await,
    ));
    for (i, (role, name)) in [
        (Role::VillageAdmin, "org_admin"),
        (Role::Organiser, "organiser"),
        (Role::Clerk, "clerk"),
        (Role::Auditor, "auditor"),
    ]
    .into_iter()
    .enumerate()
    {
        tokens.push((
            role,
            staff_token(app, &format!("1330000002{i}"), name, a.org).await,
        ));
    }
    World {
        township,
        a,
        b,
        tokens,
    }
}
