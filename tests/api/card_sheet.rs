//! The printable A4 sheet of member cards: eight cards a page, in card-number order, and every
//! QR code on the sheet scans — read from the SVG itself, rasterised and decoded by a real decoder.

use serde_json::{json, Value};

use crate::access::{org, staff_token};
use crate::helpers::*;
use crate::on_both_backends;

/// Rasterising resolution: a QR module (about 0.86 mm) becomes about 7 pixels.
const PX_PER_MM: f64 = 8.0;

struct Sheet {
    status: u16,
    total_pages: Option<String>,
    content_type: String,
    svg: String,
}

async fn sheet(app: &TestApp, token: &str, org_id: i64, query: &str) -> Sheet {
    let response = app
        .client
        .get(app.url(&format!("/api/v1/orgs/{org_id}/member-cards.svg{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Sheet {
        status: response.status().as_u16(),
        total_pages: header("x-total-pages"),
        content_type: header("content-type").unwrap_or_default(),
        svg: response.text().await.unwrap(),
    }
}

/// The rectangles (x, y, width, height in mm) of every `<path class="qr" d="…">` of the sheet,
/// read from the path data as drawn (`M x y h w v h h -w z` per run of dark modules).
fn qr_rectangles(svg: &str) -> Vec<(f64, f64, f64, f64)> {
    let mut rectangles = Vec::new();
    for (start, _) in svg.match_indices(r#"<path class="qr""#) {
        let element = &svg[start..];
        let data_start = element.find(" d=\"").expect("path data") + 4;
        let data = &element[data_start..data_start + element[data_start..].find('"').unwrap()];
        for subpath in data.split('z').filter(|s| !s.trim().is_empty()) {
            let mut points = Vec::new();
            let (mut x, mut y) = (0.0, 0.0);
            let mut rest = subpath.trim();
            while let Some(command) = rest.chars().next() {
                let end = rest[1..]
                    .find(|c: char| c.is_ascii_alphabetic())
                    .map_or(rest.len(), |i| i + 1);
                let numbers: Vec<f64> = rest[1..end]
                    .split_whitespace()
                    .map(|n| n.parse().expect("a number"))
                    .collect();
                match (command, numbers.as_slice()) {
                    ('M', [nx, ny]) => (x, y) = (*nx, *ny),
                    ('h', [dx]) => x += dx,
                    ('v', [dy]) => y += dy,
                    other => panic!("unexpected path command {other:?} in {subpath}"),
                }
                points.push((x, y));
                rest = &rest[end..];
            }
            let xs = points.iter().map(|p| p.0);
            let ys = points.iter().map(|p| p.1);
            let (left, right) = (
                xs.clone().fold(f64::MAX, f64::min),
                xs.fold(f64::MIN, f64::max),
            );
            let (top, bottom) = (
                ys.clone().fold(f64::MAX, f64::min),
                ys.fold(f64::MIN, f64::max),
            );
            assert_eq!(points.len(), 4, "one rectangle per run: {subpath}");
            rectangles.push((left, top, right - left, bottom - top));
        }
    }
    rectangles
}

/// Prints the sheet's QR modules on a white A4 image and decodes every code on it, the way a
/// scanner would see the printed page.
pub fn scan_sheet(svg: &str) -> Vec<String> {
    let (width, height) = ((210.0 * PX_PER_MM) as u32, (297.0 * PX_PER_MM) as u32);
    let mut page = image::GrayImage::from_pixel(width, height, image::Luma([255]));
    for (x, y, w, h) in qr_rectangles(svg) {
        let pixels = |from: f64, to: f64| {
            ((from * PX_PER_MM - 0.5).ceil().max(0.0) as u32)
                ..((to * PX_PER_MM - 0.5).ceil() as u32)
        };
        for py in pixels(y, y + h) {
            for px in pixels(x, x + w) {
                page.put_pixel(px, py, image::Luma([0]));
            }
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare(page);
    prepared
        .detect_grids()
        .iter()
        .map(|grid| grid.decode().expect("every code on the sheet decodes").1)
        .collect()
}

fn grouped(card_number: &str) -> String {
    card_number
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn register(app: &TestApp, org_id: i64, name: &str) -> Value {
    app.post("/api/v1/members", json!({"org_id": org_id, "name": name}))
        .await
        .ok(201)
        .clone()
}

async fn bank(app: &TestApp, org_id: i64, name: &str) {
    app.post("/api/v1/banks", json!({"org_id": org_id, "name": name}))
        .await
        .ok(201);
}

/// Looks a scanned token up as the counter would, and returns the member id.
async fn lookup(app: &TestApp, token: &str) -> i64 {
    app.post("/api/v1/members/lookup", json!({"card": token}))
        .await
        .ok(200)["id"]
        .as_i64()
        .unwrap()
}

on_both_backends!(
    a_village_of_ten_members_prints_on_two_pages_whose_qr_codes_scan,
    |backend| async move {
        let app = spawn_app(backend).await;
        let township = org(&app, "T", "township", None).await;
        let village = org(&app, "A", "village", Some(township)).await;
        let neighbour = org(&app, "B", "village", Some(township)).await;
        let grid = org(&app, "A1", "grid", Some(village)).await;
        bank(&app, village, "青山村积分银行").await;
        bank(&app, neighbour, "绿水村积分银行").await;
        let duplicate = register(&app, village, "重复登记").await;
        let mut members = Vec::new();
        for i in 0..10 {
            let home = if i % 2 == 0 { village } else { grid };
            members.push(register(&app, home, &format!("村民{i}")).await);
        }
        let outsider = register(&app, neighbour, "绿水村民").await;
        // A merged duplicate is `left`: it gets no card.
        app.post(
            &format!("/api/v1/members/{}/merge", duplicate["id"]),
            json!({"into_member_id": members[0]["id"]}),
        )
        .await
        .ok(200);
        let number = |m: &Value| grouped(m["card_number"].as_str().unwrap());
        let id = |m: &Value| m["id"].as_i64().unwrap();

        let first = sheet(&app, &app.token, village, "").await;
        assert_eq!(first.status, 200, "{}", first.svg);
        assert_eq!(first.content_type, "image/svg+xml");
        assert_eq!(first.total_pages.as_deref(), Some("2"));
        assert!(first.svg.contains(r#"viewBox="0 0 210 297""#));
        assert!(first.svg.trim_end().ends_with("</svg>"));
        for member in &members[..8] {
            assert!(first.svg.contains(&number(member)), "{}", number(member));
            assert!(first.svg.contains(member["name"].as_str().unwrap()));
        }
        for absent in members[8..].iter().chain([&duplicate, &outsider]) {
            assert!(!first.svg.contains(&number(absent)), "{}", number(absent));
        }
        assert!(first.svg.contains("青山村积分银行"));
        let mut scanned = Vec::new();
        for token in scan_sheet(&first.svg) {
            scanned.push(lookup(&app, &token).await);
        }
        scanned.sort();
        let expected: Vec<i64> = members[..8].iter().map(id).collect();
        assert_eq!(
            scanned, expected,
            "each card's QR code is that member's card"
        );

        let second = sheet(&app, &app.token, village, "?page=2").await;
        assert_eq!(second.status, 200);
        assert_eq!(second.total_pages.as_deref(), Some("2"));
        let on_second: Vec<&Value> = members
            .iter()
            .filter(|m| second.svg.contains(&number(m)))
            .collect();
        assert_eq!(on_second.len(), 2);
        assert_eq!(id(on_second[0]), id(&members[8]));
        assert_eq!(id(on_second[1]), id(&members[9]));
        let tokens = scan_sheet(&second.svg);
        assert_eq!(tokens.len(), 2);
        // Re-issuing a card revokes the printed one like any other card of the old issue.
        let revoked = tokens
            .iter()
            .find(|t| t.starts_with(&format!("c.{}.", id(&members[9]))))
            .expect("member 10's card is on page 2");
        assert_eq!(lookup(&app, revoked).await, id(&members[9]));
        app.post(
            &format!("/api/v1/members/{}/card/reissue", id(&members[9])),
            json!({}),
        )
        .await
        .ok(200);
        app.post("/api/v1/members/lookup", json!({"card": revoked}))
            .await
            .problem(410, "card_revoked");

        let past_the_end = app
            .get(&format!("/api/v1/orgs/{village}/member-cards.svg?page=3"))
            .await;
        past_the_end.problem(404, "not_found");
        for bad in ["0", "-1", "two"] {
            app.get(&format!(
                "/api/v1/orgs/{village}/member-cards.svg?page={bad}"
            ))
            .await
            .problem(422, "validation_failed");
        }

        // A unit without members prints one page without cards.
        let empty = org(&app, "C", "village", Some(township)).await;
        let blank = sheet(&app, &app.token, empty, "?page=1").await;
        assert_eq!(blank.status, 200);
        assert_eq!(blank.total_pages.as_deref(), Some("1"));
        assert_eq!(blank.svg.matches(r#"class="qr""#).count(), 0);
        app.get(&format!("/api/v1/orgs/{empty}/member-cards.svg?page=2"))
            .await
            .problem(404, "not_found");
    }
);

on_both_backends!(
    a_village_admin_cannot_print_another_villages_cards,
    |backend| async move {
        let app = spawn_app(backend).await;
        let township = org(&app, "T", "township", None).await;
        let village_a = org(&app, "A", "village", Some(township)).await;
        let village_b = org(&app, "B", "village", Some(township)).await;
        bank(&app, township, "青山镇积分银行").await;
        let member = register(&app, village_a, "王秀英").await;
        let admin_b = staff_token(&app, "13400000001", "org_admin", village_b).await;
        let clerk_a = staff_token(&app, "13400000002", "clerk", village_a).await;

        // The neighbouring village is answered like a missing one; the township above is known.
        for (target, status, code) in [(village_a, 404, "not_found"), (township, 403, "forbidden")]
        {
            let refused = sheet(&app, &admin_b, target, "").await;
            assert_eq!(refused.status, status, "{}", refused.svg);
            let body: Value = serde_json::from_str(&refused.svg).unwrap();
            assert_eq!(body["code"], code);
            assert!(!refused.svg.contains("王秀英"));
        }
        let own = sheet(&app, &admin_b, village_b, "").await;
        assert_eq!(own.status, 200);
        assert_eq!(own.svg.matches(r#"class="qr""#).count(), 0);

        // Every role reads its own village's members, so every role may print their cards.
        let printed = sheet(&app, &clerk_a, village_a, "").await;
        assert_eq!(printed.status, 200);
        assert!(printed
            .svg
            .contains(&grouped(member["card_number"].as_str().unwrap())));
        assert!(
            printed.svg.contains("青山镇积分银行"),
            "the township's bank issues the card"
        );
        app.get("/api/v1/orgs/999999/member-cards.svg")
            .await
            .problem(404, "not_found");
    }
);
