//! A crash in the middle of a settlement: the real binary is SIGKILLed while it pays an
//! activity's 300 attendees batch by batch, restarted on the same database, and settling again
//! pays exactly those the first run did not — nobody twice, nobody skipped.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use pointsbank::db::activities::settlement::SETTLE_BATCH;
use pointsbank::db::schema::attendances;
use pointsbank::db::DbTarget;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::restart::{first_start, minor_of, wallet_of, Api, Server, Village};

const ATTENDEES: usize = 300;
/// What the activity pays each attendee, fixed.
const POINTS: &str = "10.00";
const POINTS_MINOR: i64 = 1000;
/// Requests in flight at once while setting up and checking.
const LANES: usize = 8;
/// Longer than 300 card scans take on a busy machine; the test then ends the activity early.
const ENDS_IN_SECONDS: i64 = 600;

/// The activity is over: its end moved to a second ago, in the database, as though its scan
/// window had run out. (The server here is the real binary on the system clock, so the test
/// cannot step its clock; it moves the activity instead of waiting for it.)
fn end_activity_now(database_url: &str, activity: i64) {
    use pointsbank::db::schema::activities;
    let pool = pointsbank::db::connection::build_pool(
        &DbTarget::parse(database_url),
        1,
        Duration::from_secs(10),
    )
    .expect("pool");
    let mut conn = pool.get().expect("connection");
    let a_second_ago = Utc::now().timestamp_micros() - 1_000_000;
    diesel::update(activities::table.find(activity))
        .set(activities::ends_at.eq(a_second_ago))
        .execute(&mut *conn)
        .expect("end the activity");
}

/// Runs `call` for every item, `LANES` at a time, and returns the results in the items' order.
async fn in_lanes<T, R, F, Fut>(items: &[T], call: F) -> Vec<R>
where
    F: Fn(&T) -> Fut,
    Fut: Future<Output = R>,
{
    let call = &call;
    let lanes = futures_util::future::join_all((0..LANES).map(|lane| async move {
        let mut results = Vec::new();
        for i in (lane..items.len()).step_by(LANES) {
            results.push((i, call(&items[i]).await));
        }
        results
    }))
    .await;
    let mut ordered: Vec<(usize, R)> = lanes.into_iter().flatten().collect();
    ordered.sort_by_key(|(i, _)| *i);
    ordered.into_iter().map(|(_, result)| result).collect()
}

struct Attendee {
    id: i64,
    points: i64,
    card_number: String,
}

/// The activity's attendance list, by check-in time.
async fn attendance(api: &Api, activity: i64) -> Vec<Value> {
    let list = api
        .get(&format!("/api/v1/activities/{activity}/attendance"))
        .await;
    list.ok(200).as_array().expect("attendance list").clone()
}

on_both_backends!(
    a_settlement_killed_between_batches_pays_every_attendee_exactly_once_after_restart,
    |backend| async move {
        let (database, mut server, api, village) = first_start(backend).await;
        let Village {
            org,
            bank,
            issuance,
        } = village;

        let numbers: Vec<usize> = (0..ATTENDEES).collect();
        let attendees = in_lanes(&numbers, |i| {
            let body =
                json!({"org_id": org, "name": format!("志愿者{i}"), "phone": format!("139{i:08}")});
            let api = &api;
            async move {
                let created = api.post("/api/v1/members", &body, None).await;
                let created = created.ok(201);
                Attendee {
                    id: created["id"].as_i64().unwrap(),
                    points: wallet_of(created, "POINTS"),
                    card_number: created["card_number"].as_str().unwrap().to_string(),
                }
            }
        })
        .await;

        // Ongoing now, over (with no grace period) a few seconds from now.
        let ends_at = Utc::now() + chrono::Duration::seconds(ENDS_IN_SECONDS);
        let created = api
            .post(
                "/api/v1/activities",
                &json!({
                    "org_id": org, "title": "重阳节敬老院志愿服务", "category": "敬老",
                    "address": "青山村敬老院", "starts_at": (Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
                    "ends_at": ends_at.to_rfc3339(), "grace_minutes": 0,
                    "award": {"mode": "fixed", "points": POINTS, "min_presence_percent": 0}
                }),
                None,
            )
            .await;
        let activity = created.ok(201)["id"].as_i64().unwrap();
        api.post(
            &format!("/api/v1/activities/{activity}/publish"),
            &json!({}),
            None,
        )
        .await
        .ok(200);
        let scans = format!("/api/v1/activities/{activity}/card-scans");
        let scanned = in_lanes(&attendees, |attendee| {
            let body = json!({"card": attendee.card_number});
            let (api, scans) = (&api, &scans);
            async move { api.post(scans, &body, None).await }
        })
        .await;
        for (attendee, reply) in attendees.iter().zip(&scanned) {
            assert_eq!(
                reply.ok(201)["member_id"],
                attendee.id,
                "the card scans must finish before the activity ends ({ENDS_IN_SECONDS} s)"
            );
        }
        end_activity_now(&database.url, activity);

        // Settle, and SIGKILL the server as soon as its first batch has committed.
        let settle_url = format!("{}/api/v1/activities/{activity}/settlement", server.base);
        let mut settling = tokio::spawn(
            api.client
                .post(settle_url)
                .bearer_auth(&api.token)
                .json(&json!({}))
                .send(),
        );
        let watching = Arc::new(AtomicBool::new(true));
        let mut watcher = {
            let (url, watching) = (database.url.clone(), watching.clone());
            tokio::task::spawn_blocking(move || {
                let pool = pointsbank::db::connection::build_pool(
                    &DbTarget::parse(&url),
                    1,
                    Duration::from_secs(10),
                )
                .expect("pool");
                let mut conn = pool.get().expect("connection");
                while watching.load(Ordering::SeqCst) {
                    let settled: i64 = attendances::table
                        .filter(attendances::activity_id.eq(activity))
                        .filter(attendances::settled_at.is_not_null())
                        .count()
                        .get_result(&mut *conn)
                        .expect("count settled attendances");
                    if settled > 0 {
                        return settled;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                0
            })
        };
        let seen = tokio::select! {
            seen = &mut watcher => seen.expect("watcher"),
            answer = &mut settling => {
                watching.store(false, Ordering::SeqCst);
                panic!(
                    "the settlement answered before any batch was seen: {:?}; log:\n{}",
                    answer.expect("settlement task").map(|r| r.status()),
                    server.log()
                );
            }
        };
        server.kill();
        let answer = settling.await.expect("settlement task");
        assert!(
            answer.is_err(),
            "the settlement must be cut off by the kill, but it answered {:?}",
            answer.map(|r| r.status())
        );

        let (_server, api) = Server::serve(&database, "after-crash").await;

        // (1) What survived: whole batches only, each attendee paid exactly when marked settled.
        let rows = attendance(&api, activity).await;
        assert_eq!(rows.len(), ATTENDEES);
        let settled_before = rows.iter().filter(|r| !r["settled_at"].is_null()).count();
        eprintln!(
            "{backend:?}: killed after seeing {seen} settled; {settled_before} of {ATTENDEES} \
             settled when the server came back"
        );
        assert!(
            settled_before > 0 && settled_before < ATTENDEES,
            "the kill must land between the first and the last batch: {settled_before} settled"
        );
        assert_eq!(
            settled_before % SETTLE_BATCH as usize,
            0,
            "a batch is one transaction: it lands whole or not at all"
        );
        let report = api.assert_verified(bank).await;
        assert_eq!(report["entries_checked"], settled_before, "{report}");
        let balances = in_lanes(&attendees, |a| api.balance(bank, a.points)).await;
        for row in &rows {
            let member = row["member_id"].as_i64().unwrap();
            let i = attendees.iter().position(|a| a.id == member).unwrap();
            let paid = if row["settled_at"].is_null() {
                0
            } else {
                POINTS_MINOR
            };
            assert_eq!(balances[i], paid, "member {member}: {row}");
        }

        // (2) Settling again pays the rest; a third run pays nobody.
        let path = format!("/api/v1/activities/{activity}/settlement");
        let total = ATTENDEES as i64 * POINTS_MINOR;
        for _ in 0..2 {
            let settled = api.post(&path, &json!({}), None).await;
            let settled = settled.ok(200);
            assert_eq!(settled["status"], "settled");
            assert_eq!(settled["settled"], ATTENDEES);
            assert_eq!(minor_of(settled["points"].as_str().unwrap()), total);
        }

        // (3) Every attendee's POINTS wallet holds the activity's points exactly once.
        let balances = in_lanes(&attendees, |a| api.balance(bank, a.points)).await;
        for (attendee, balance) in attendees.iter().zip(&balances) {
            assert_eq!(*balance, POINTS_MINOR, "member {}", attendee.id);
        }
        let rows = attendance(&api, activity).await;
        assert_eq!(rows.len(), ATTENDEES);
        let mut entries: Vec<i64> = rows
            .iter()
            .map(|row| {
                assert!(!row["settled_at"].is_null(), "unsettled: {row}");
                assert_eq!(row["points"], POINTS, "{row}");
                row["entry_id"].as_i64().expect("settlement entry")
            })
            .collect();
        entries.sort_unstable();
        entries.dedup();
        assert_eq!(entries.len(), ATTENDEES, "one entry per attendee");
        assert_eq!(api.balance(bank, issuance).await, -total);
        let report = api.assert_verified(bank).await;
        assert_eq!(report["entries_checked"], ATTENDEES, "{report}");
    }
);
