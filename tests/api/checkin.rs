//! QR check-in end to end: codes rendered by the service, read back by a real decoder, scanned,
//! settled into wallet points and hours. Every refusal code, appeals and settlement safety.

use chrono::{Duration, Utc};
use pointsbank::domain::activities::activity::Purpose;
use pointsbank::domain::activities::checkin_token::{
    time_step, CheckinSigner, CheckinToken, TokenKind,
};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::members::decode_qr;
use crate::on_both_backends;

pub struct Event {
    pub id: i64,
}

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

/// A published activity that started `started_ago` and ends `ends_in` from now.
pub async fn event(
    app: &TestApp,
    village: &Village,
    started_ago: Duration,
    ends_in: Duration,
    extra: Value,
) -> Event {
    let org = app.org_of(village).await;
    let mut body = json!({
        "org_id": org, "title": "周末防溺水巡河", "category": "防溺水", "address": "青山村河堤",
        "starts_at": at(-started_ago), "ends_at": at(ends_in), "grace_minutes": 0,
        "award": {"mode": "fixed", "points": "10", "min_presence_percent": 0}
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let created = app.post("/api/v1/activities", body).await;
    let id = created.ok(201)["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/activities/{id}/publish"), json!({}))
        .await
        .ok(200);
    Event { id }
}

/// What a phone reads from the activity's QR code, via the PNG and a real decoder.
pub async fn scan_qr(app: &TestApp, event: &Event, kind: &str, purpose: &str) -> String {
    let png = app
        .client
        .get(app.url(&format!(
            "/api/v1/activities/{}/qr?kind={kind}&purpose={purpose}&format=png&size=256",
            event.id
        )))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    decode_qr(&png.bytes().await.unwrap())
}

pub async fn check(app: &TestApp, member: &TestMember, scanned: &str, extra: Value) -> Reply {
    let mut body = json!({"token": scanned});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    app.send_as(&member.token, "POST", "/api/v1/checkins", Some(body))
        .await
}

async fn settle(app: &TestApp, event: &Event) -> Reply {
    app.post(
        &format!("/api/v1/activities/{}/settlement", event.id),
        json!({}),
    )
    .await
}

/// Moves the service's clock past the end of the activity's scan window (no waiting).
fn until_over(app: &TestApp, ends_in: Duration) {
    let past_the_end = ends_in + Duration::seconds(1);
    app.clock.advance(
        past_the_end
            .to_std()
            .expect("a window that ends in the future"),
    );
}

/// The service's default `PB_QR_BASE_URL`, which the test instances keep.
const QR_BASE_URL: &str = "https://jfyh.example.cn";

fn signer(app: &TestApp) -> CheckinSigner {
    CheckinSigner::new(app.card_secret.as_bytes()).accepting_links_to(QR_BASE_URL)
}

on_both_backends!(
    a_volunteer_scans_the_screen_in_and_out_and_is_paid_points_and_hours,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let rule = app
            .post(
                &format!("/api/v1/banks/{}/rules", village.bank),
                json!({"code": "V01", "name": "防溺水巡河", "category": "volunteer_service", "default_points": "5"}),
            )
            .await;
        let rule_id = rule.ok(201)["id"].as_i64().unwrap();
        let ends_in = Duration::minutes(10);
        let event = event(&app, &village, Duration::hours(2), ends_in, json!({
            "rule_id": rule_id,
            "award": {"mode": "per_hour", "points": "5", "hours_unit_minutes": 30, "min_presence_percent": 60}
        }))
        .await;
        let member = app.member(&village, "王秀英").await;

        let url = scan_qr(&app, &event, "dynamic", "check_in").await;
        assert!(url.starts_with("https://jfyh.example.cn/q/"), "{url}");
        assert!(url.len() < 80, "QR payload is {} characters", url.len());
        let checked_in = check(&app, &member, &url, json!({})).await;
        assert_eq!(checked_in.ok(201)["checkin_method"], "dynamic_qr");

        // The volunteer arrived on time but the scan happened late: the organiser corrects it.
        let started = at(-Duration::hours(2));
        app.post(
            &format!(
                "/api/v1/activities/{}/attendance/{}/correction",
                event.id, member.id
            ),
            json!({"checkin_at": started, "reason": "纸质签到表显示准时到达"}),
        )
        .await
        .ok(200);
        let out = scan_qr(&app, &event, "dynamic", "check_out").await;
        check(&app, &member, &out, json!({})).await.ok(201);

        until_over(&app, ends_in);
        let settled = settle(&app, &event).await;
        let settled = settled.ok(200);
        assert_eq!(settled["status"], "settled");
        assert_eq!(settled["settled"], 1);
        // 2 h of presence in 30-minute steps: 2.00 h, at 5 points an hour.
        assert_eq!(app.wallet_balance(&village, member.points).await, "10.00");
        assert_eq!(app.wallet_balance(&village, member.hours).await, "2.00");
        let statement = app
            .send_as(&member.token, "GET", "/api/v1/me/statement", None)
            .await;
        let line = &statement.ok(200)["items"][0];
        assert_eq!(line["origin"], "checkin");
        assert_eq!(line["rule"]["code"], "V01");
        assert_eq!(line["reference"], format!("activity:{}", event.id));
        let hours = app
            .send_as(
                &member.token,
                "GET",
                "/api/v1/me/statement?asset=HOURS",
                None,
            )
            .await;
        assert_eq!(hours.ok(200)["items"][0]["amount"], "2.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    the_screen_code_comes_as_a_picture_and_its_payload_from_its_own_operation,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            Duration::hours(1),
            json!({}),
        )
        .await;
        let payload = app
            .get(&format!(
                "/api/v1/activities/{}/qr/payload?kind=poster",
                event.id
            ))
            .await;
        let payload = payload.ok(200);
        assert_eq!(payload["kind"], "poster");
        assert_eq!(payload["purpose"], "check_in");
        let scanned = scan_qr(&app, &event, "poster", "check_in").await;
        assert_eq!(payload["url"], scanned.as_str());

        let svg = app
            .client
            .get(app.url(&format!("/api/v1/activities/{}/qr?format=svg", event.id)))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        // One representation per operation: the picture operation no longer answers JSON.
        let refused = app
            .get(&format!("/api/v1/activities/{}/qr?format=json", event.id))
            .await;
        assert_eq!(refused.problem(422, "validation_failed")["field"], "format");
    }
);

on_both_backends!(
    a_printed_poster_checks_in_until_it_is_replaced,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            Duration::hours(1),
            json!({}),
        )
        .await;
        let poster = scan_qr(&app, &event, "poster", "check_in").await;
        let first = app.member(&village, "张三").await;
        check(&app, &first, &poster, json!({})).await.ok(201);

        app.post(
            &format!("/api/v1/activities/{}/posters/replace", event.id),
            json!({}),
        )
        .await
        .ok(200);
        let second = app.member(&village, "李四").await;
        check(&app, &second, &poster, json!({}))
            .await
            .problem(422, "poster_replaced");
        let reprinted = scan_qr(&app, &event, "poster", "check_in").await;
        assert_ne!(reprinted, poster);
        check(&app, &second, &reprinted, json!({})).await.ok(201);
    }
);

on_both_backends!(
    an_organiser_checks_in_a_member_without_a_phone_by_their_card,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let ends_in = Duration::minutes(10);
        let event = event(&app, &village, Duration::minutes(30), ends_in, json!({})).await;
        let elderly = app.member(&village, "王奶奶").await;
        let png = app
            .client
            .get(app.url(&format!("/api/v1/members/{}/card?format=png", elderly.id)))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        let card = decode_qr(&png.bytes().await.unwrap());
        let scans = format!("/api/v1/activities/{}/card-scans", event.id);
        let scanned = app.post(&scans, json!({"card": card})).await;
        let scanned = scanned.ok(201);
        assert_eq!(scanned["checkin_method"], "card_scan");
        assert!(scanned["recorded_by"]
            .as_str()
            .unwrap()
            .starts_with("staff:"));
        app.post(&scans, json!({"card": card}))
            .await
            .problem(409, "already_checked_in");
        // A typed card number works too; a typo is caught by the check digit.
        app.post(
            &scans,
            json!({"card": elderly.card_number, "purpose": "check_out"}),
        )
        .await
        .ok(201);
        let mut typo = elderly.card_number.clone().into_bytes();
        typo[15] = if typo[15] == b'9' { b'0' } else { typo[15] + 1 };
        app.post(&scans, json!({"card": String::from_utf8(typo).unwrap()}))
            .await
            .problem(422, "card_invalid");

        until_over(&app, ends_in);
        settle(&app, &event).await.ok(200);
        assert_eq!(app.wallet_balance(&village, elderly.points).await, "10.00");
    }
);

on_both_backends!(
    every_refused_scan_has_its_own_code_and_is_logged_for_the_organiser,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            Duration::hours(1),
            json!({}),
        )
        .await;
        let other = event_with_fence(&app, &village).await;
        let member = app.member(&village, "张三").await;
        let signer = signer(&app);
        let now = app.now();
        let token = |activity_id: i64, purpose, counter| {
            signer.sign(CheckinToken {
                kind: TokenKind::Dynamic,
                purpose,
                activity_id,
                counter,
            })
        };

        check(&app, &member, "https://jfyh.example.cn/q/forged", json!({}))
            .await
            .problem(422, "token_invalid");
        let expired = token(event.id, Purpose::CheckIn, time_step(now, 20) - 3);
        check(&app, &member, &expired, json!({}))
            .await
            .problem(422, "token_expired");
        let current_out = scan_qr(&app, &event, "dynamic", "check_out").await;
        check(&app, &member, &current_out, json!({}))
            .await
            .problem(409, "not_checked_in");
        let current_in = scan_qr(&app, &event, "dynamic", "check_in").await;
        // A code of another activity, scanned from this activity's page.
        check(&app, &member, &current_in, json!({"activity_id": other.id}))
            .await
            .problem(422, "token_invalid");
        check(&app, &member, &current_in, json!({})).await.ok(201);
        check(&app, &member, &current_in, json!({}))
            .await
            .problem(409, "already_checked_in");
        check(&app, &member, &current_out, json!({})).await.ok(201);
        check(&app, &member, &current_out, json!({}))
            .await
            .problem(409, "already_checked_out");

        let fenced_in = scan_qr(&app, &other, "dynamic", "check_in").await;
        check(&app, &member, &fenced_in, json!({}))
            .await
            .problem(422, "location_required");
        let far = json!({"latitude": 30.30, "longitude": 120.0});
        check(&app, &member, &fenced_in, far)
            .await
            .problem(422, "outside_geofence");
        let near = json!({"latitude": 30.2001, "longitude": 120.0});
        check(&app, &member, &fenced_in, near).await.ok(201);

        let draft = app
            .post("/api/v1/activities", json!({
                "org_id": app.org_of(&village).await, "title": "未发布", "category": "c", "address": "a",
                "starts_at": at(-Duration::minutes(1)), "ends_at": at(Duration::hours(1)),
                "award": {"mode": "fixed", "points": "1"}
            }))
            .await;
        let draft_id = draft.ok(201)["id"].as_i64().unwrap();
        let draft_token = token(draft_id, Purpose::CheckIn, time_step(now, 20));
        check(&app, &member, &draft_token, json!({}))
            .await
            .problem(409, "activity_not_open");

        let refused = app
            .get(&format!("/api/v1/activities/{}/refused-scans", event.id))
            .await;
        let reasons: Vec<&str> = refused
            .ok(200)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            [
                "already_checked_out",
                "already_checked_in",
                "not_checked_in",
                "token_expired"
            ]
        );
        let fenced = app
            .get(&format!("/api/v1/activities/{}/refused-scans", other.id))
            .await;
        let fenced = fenced.ok(200).clone();
        assert_eq!(fenced[0]["reason"], "outside_geofence");
        assert_eq!(fenced[0]["latitude"], 30.3);
        let mine = app
            .send_as(&member.token, "GET", "/api/v1/me/refused-scans", None)
            .await;
        assert_eq!(mine.ok(200).as_array().unwrap().len(), 9);
    }
);

async fn event_with_fence(app: &TestApp, village: &Village) -> Event {
    event(
        app,
        village,
        Duration::minutes(5),
        Duration::hours(1),
        json!({
            "location": {"latitude": 30.2, "longitude": 120.0, "radius_m": 200}
        }),
    )
    .await
}

on_both_backends!(
    an_approved_appeal_records_the_scan_and_pays_it_even_after_settlement,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let ends_in = Duration::minutes(10);
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            ends_in,
            json!({
                "location": {"latitude": 30.2, "longitude": 120.0, "radius_m": 200}
            }),
        )
        .await;
        let member = app.member(&village, "张三").await;
        let code = scan_qr(&app, &event, "dynamic", "check_in").await;
        check(
            &app,
            &member,
            &code,
            json!({"latitude": 30.21, "longitude": 120.0}),
        )
        .await
        .problem(422, "outside_geofence");
        until_over(&app, ends_in);
        settle(&app, &event).await.ok(200);
        assert_eq!(app.wallet_balance(&village, member.points).await, "0.00");

        let refusal = app
            .send_as(&member.token, "GET", "/api/v1/me/refused-scans", None)
            .await;
        let refusal_id = refusal.ok(200)[0]["id"].as_i64().unwrap();
        let appeal = format!("/api/v1/me/refused-scans/{refusal_id}/appeal");
        let appealed = app
            .send_as(
                &member.token,
                "POST",
                &appeal,
                Some(json!({"reason": "定位漂移，我在现场"})),
            )
            .await;
        assert_eq!(appealed.ok(200)["appeal_status"], "pending");
        app.send_as(
            &member.token,
            "POST",
            &appeal,
            Some(json!({"reason": "再次申诉"})),
        )
        .await
        .problem(409, "appeal_not_allowed");

        let decision = format!(
            "/api/v1/activities/{}/refused-scans/{refusal_id}/decision",
            event.id
        );
        let decided = app
            .post(
                &decision,
                json!({"approve": true, "note": "组织者确认在场"}),
            )
            .await;
        assert_eq!(decided.ok(200)["appeal_status"], "approved");
        app.post(&decision, json!({"approve": true}))
            .await
            .problem(409, "appeal_not_pending");
        assert_eq!(app.wallet_balance(&village, member.points).await, "10.00");
        let statement = app
            .send_as(&member.token, "GET", "/api/v1/me/statement", None)
            .await;
        assert_eq!(statement.ok(200)["items"][0]["origin"], "appeal");
        let attendance = app
            .get(&format!("/api/v1/activities/{}/attendance", event.id))
            .await;
        assert_eq!(attendance.ok(200)[0]["checkin_method"], "appeal");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    settling_twice_or_after_a_crash_between_batches_pays_everyone_exactly_once,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let ends_in = Duration::minutes(10);
        let event = event(&app, &village, Duration::minutes(5), ends_in, json!({})).await;
        settle(&app, &event).await.problem(409, "not_finished");
        let mut members = Vec::new();
        for i in 0..120 {
            let member = app.member(&village, &format!("志愿者{i}")).await;
            let scans = format!("/api/v1/activities/{}/card-scans", event.id);
            app.post(&scans, json!({"card": member.card_number}))
                .await
                .ok(201);
            members.push(member);
        }
        until_over(&app, ends_in);
        // A settlement that crashed after its first batch: that batch committed, the rest did not.
        {
            let mut conn = app.pool.get().unwrap();
            let remaining = pointsbank::db::write_tx(&mut conn, |c| {
                pointsbank::db::activities::settlement::settle_batch(
                    c,
                    event.id,
                    "staff:1",
                    app.now(),
                )
            })
            .unwrap();
            assert_eq!(remaining, 70);
        }
        let first = settle(&app, &event).await;
        assert_eq!(first.ok(200)["settled"], 120);
        let again = settle(&app, &event).await;
        assert_eq!(again.ok(200)["points"], "1200.00");
        for member in &members {
            assert_eq!(app.wallet_balance(&village, member.points).await, "10.00");
        }
        let issuance = app.account(&village, village.issuance).await;
        assert_eq!(issuance["balance"], "-1200.00");
        app.assert_verified(&village).await;
    }
);

on_both_backends!(
    a_forgotten_check_out_pays_fixed_points_without_hours_and_is_flagged,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let ends_in = Duration::minutes(10);
        let event = event(&app, &village, Duration::hours(1), ends_in, json!({})).await;
        let member = app.member(&village, "张三").await;
        let code = scan_qr(&app, &event, "dynamic", "check_in").await;
        check(&app, &member, &code, json!({})).await.ok(201);
        until_over(&app, ends_in);
        settle(&app, &event).await.ok(200);
        let attendance = app
            .get(&format!("/api/v1/activities/{}/attendance", event.id))
            .await;
        let row = &attendance.ok(200)[0];
        assert_eq!(row["checkout_missing"], true);
        assert_eq!(row["points"], "10.00");
        assert_eq!(row["hours"], "0.00");
        assert_eq!(app.wallet_balance(&village, member.hours).await, "0.00");
        // Paid attendance can no longer be corrected in place.
        app.post(
            &format!(
                "/api/v1/activities/{}/attendance/{}/correction",
                event.id, member.id
            ),
            json!({"checkout_at": at(Duration::zero()), "reason": "补签退"}),
        )
        .await
        .problem(409, "already_settled");
    }
);

on_both_backends!(
    five_hundred_members_scanning_one_screen_code_check_in_exactly_once,
    |backend| async move {
        let app = std::sync::Arc::new(spawn_app(backend).await);
        let village = app.village().await;
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            Duration::hours(1),
            json!({"qr_step_seconds": 120}),
        )
        .await;
        let mut members = Vec::new();
        for i in 0..500 {
            members.push(app.member(&village, &format!("村民{i}")).await);
        }
        let code = scan_qr(&app, &event, "dynamic", "check_in").await;
        let mut tasks = Vec::new();
        // Everyone scans, and every fifth member's phone sends the scan twice.
        for (i, member) in members.iter().enumerate() {
            for _ in 0..(if i % 5 == 0 { 2 } else { 1 }) {
                let app = app.clone();
                let token = member.token.clone();
                let code = code.clone();
                tasks.push(tokio::spawn(async move {
                    let reply = app
                        .send_as(
                            &token,
                            "POST",
                            "/api/v1/checkins",
                            Some(json!({"token": code})),
                        )
                        .await;
                    (
                        reply.status.as_u16(),
                        reply.body["code"].as_str().unwrap_or("").to_string(),
                    )
                }));
            }
        }
        let mut ok = 0;
        let mut duplicate = 0;
        for task in tasks {
            match task.await.unwrap() {
                (201, _) => ok += 1,
                (409, code) if code == "already_checked_in" => duplicate += 1,
                other => panic!("unexpected reply {other:?}"),
            }
        }
        assert_eq!((ok, duplicate), (500, 100));
        let attendance = app
            .get(&format!("/api/v1/activities/{}/attendance", event.id))
            .await;
        assert_eq!(attendance.ok(200).as_array().unwrap().len(), 500);
    }
);

on_both_backends!(
    an_activity_nobody_settled_is_settled_automatically_after_the_delay,
    |backend| async move {
        let app = spawn_app_with(backend, |settings| {
            settings.auto_settle_minutes = 0;
            settings.seal_interval_ms = 100;
        })
        .await;
        let village = app.village().await;
        let ends_in = Duration::minutes(10);
        let event = event(&app, &village, Duration::minutes(30), ends_in, json!({})).await;
        let member = app.member(&village, "张三").await;
        let code = scan_qr(&app, &event, "dynamic", "check_in").await;
        check(&app, &member, &code, json!({})).await.ok(201);
        until_over(&app, ends_in);
        for _ in 0..50 {
            let activity = app.get(&format!("/api/v1/activities/{}", event.id)).await;
            if activity.ok(200)["status"] == "settled" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let attendance = app
            .get(&format!("/api/v1/activities/{}/attendance", event.id))
            .await;
        assert!(
            attendance.ok(200)[0]["settled_at"].is_string(),
            "not settled: {}",
            attendance.body
        );
        assert_eq!(app.wallet_balance(&village, member.points).await, "10.00");
        let entry = app
            .get(&format!(
                "/api/v1/banks/{}/entries/{}",
                village.bank, attendance.body[0]["entry_id"]
            ))
            .await;
        assert_eq!(entry.ok(200)["actor"], "system:auto-settle");
    }
);

on_both_backends!(
    a_printed_poster_shows_the_activity_and_both_of_its_codes_scan,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            Duration::hours(1),
            json!({"title": "河道清理 <第3期>"}),
        )
        .await;
        let poster = app
            .client
            .get(app.url(&format!("/api/v1/activities/{}/poster.svg", event.id)))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(poster.headers()["content-type"], "image/svg+xml");
        let svg = poster.text().await.unwrap();
        assert!(
            svg.contains("河道清理 &lt;第3期&gt;"),
            "the title is printed as text"
        );
        let mut codes = crate::card_sheet::scan_sheet(&svg);
        codes.sort();
        assert_eq!(codes.len(), 2);
        let member = app.member(&village, "张三").await;
        let (check_in, check_out) = {
            let mut purposes = Vec::new();
            for code in &codes {
                let token = signer(&app).verify(code).unwrap();
                purposes.push((token.purpose, code.clone()));
            }
            let find = |p| purposes.iter().find(|(q, _)| *q == p).unwrap().1.clone();
            (find(Purpose::CheckIn), find(Purpose::CheckOut))
        };
        check(&app, &member, &check_in, json!({})).await.ok(201);
        check(&app, &member, &check_out, json!({})).await.ok(201);
    }
);

on_both_backends!(
    a_member_hammering_forged_codes_is_refused_every_time_but_cannot_flood_the_log,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let member = app.member(&village, "张三").await;
        for i in 0..40 {
            check(
                &app,
                &member,
                &format!("https://jfyh.example.cn/q/forged{i}"),
                json!({}),
            )
            .await
            .problem(422, "token_invalid");
        }
        let logged = app
            .send_as(&member.token, "GET", "/api/v1/me/refused-scans", None)
            .await;
        assert_eq!(logged.ok(200).as_array().unwrap().len(), 30);
    }
);

on_both_backends!(
    a_genuine_code_wrapped_in_another_hosts_link_is_refused,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let event = event(
            &app,
            &village,
            Duration::minutes(5),
            Duration::hours(1),
            json!({}),
        )
        .await;
        let member = app.member(&village, "钱多").await;
        let scanned = scan_qr(&app, &event, "poster", "check_in").await;
        let token = scanned
            .strip_prefix(&format!("{QR_BASE_URL}/q/"))
            .expect("the poster links to the configured base");
        for borrowed in [
            format!("https://evil.example/q/{token}"),
            format!("https://jfyh.example.cn.evil.example/q/{token}"),
            format!("{QR_BASE_URL}/q/{token} "),
        ] {
            check(&app, &member, &borrowed, json!({}))
                .await
                .problem(422, "token_invalid");
        }
        check(&app, &member, token, json!({})).await.ok(201);
    }
);
