//! The outbox on both backends: a message per cause, claimed by one sender at a time under a
//! lease, retried with backoff, dead after a permanent failure or the last attempt, re-queued
//! by an operator.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use pointsbank::db::notifications::outbox::{self, NewMessage, OutboxRow};
use pointsbank::domain::notifications::{Channel, Delivery, MessageStatus};
use pointsbank::service::Store;

use crate::on_both_backends;
use crate::store::migrated_store;

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_780_000_000 * SECOND;

fn queue(store: &Store, cause: &str) -> Option<i64> {
    let message = NewMessage {
        channel: Channel::Email,
        kind: "order_ready",
        recipient: "wang@example.cn",
        dedup_key: cause,
        subject: "您的订单可以领取了",
        body_text: "请到青山村积分超市领取。",
        body_html: None,
    };
    store
        .write(|c| outbox::enqueue(c, &message, "pointsbank.test", T0))
        .expect("queued")
}

fn claim(store: &Store, sender: &str, limit: i64, now: i64) -> Vec<OutboxRow> {
    store
        .write(|c| outbox::claim(c, sender, limit, now, now + 60 * SECOND))
        .expect("claimed")
}

fn record(
    store: &Store,
    row: &OutboxRow,
    sender: &str,
    delivery: Delivery,
    now: i64,
) -> Option<MessageStatus> {
    store
        .write(|c| outbox::record(c, row, sender, &delivery, 3, now))
        .expect("recorded")
}

on_both_backends!(one_cause_queues_one_message, |backend| async move {
    let (_db, store) = migrated_store(backend);
    let first = queue(&store, "order_ready:order:42");
    assert!(first.is_some());
    assert_eq!(
        queue(&store, "order_ready:order:42"),
        None,
        "the same cause again adds nothing"
    );
    let claimed = claim(&store, "a", 10, T0);
    assert_eq!(claimed.len(), 1);
    assert!(
        claimed[0].message_id.starts_with('<')
            && claimed[0].message_id.ends_with("@pointsbank.test>")
    );
});

on_both_backends!(
    two_senders_at_once_never_claim_the_same_message,
    |backend| async move {
        let (_db, store) = migrated_store(backend);
        for order in 0..15 {
            queue(&store, &format!("order_ready:order:{order}"));
        }
        let barrier = Arc::new(Barrier::new(2));
        let (store_a, barrier_a) = (store.clone(), barrier.clone());
        // The first sender holds its claim open while the second one claims.
        let first = std::thread::spawn(move || {
            store_a
                .write(|c| {
                    let rows = outbox::claim(c, "a", 10, T0, T0 + 60 * SECOND)?;
                    barrier_a.wait();
                    std::thread::sleep(Duration::from_millis(300));
                    Ok(rows)
                })
                .expect("first claim")
        });
        barrier.wait();
        let second = claim(&store, "b", 10, T0);
        let first = first.join().expect("first sender");
        let mut ids: Vec<i64> = first.iter().chain(&second).map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!((first.len(), second.len(), ids.len()), (10, 5, 15));
    }
);

on_both_backends!(
    a_dead_senders_message_is_claimed_again_when_its_lease_runs_out,
    |backend| async move {
        let (_db, store) = migrated_store(backend);
        queue(&store, "order_ready:order:7");
        let by_a = claim(&store, "a", 10, T0);
        assert!(
            claim(&store, "b", 10, T0 + 30 * SECOND).is_empty(),
            "leased to a"
        );
        let by_b = claim(&store, "b", 10, T0 + 61 * SECOND);
        assert_eq!((by_b.len(), by_b[0].attempts), (1, 2));
        assert_eq!(
            by_b[0].message_id, by_a[0].message_id,
            "the same Message-ID on every attempt"
        );
        assert_eq!(
            record(&store, &by_a[0], "a", Delivery::Delivered, T0 + 62 * SECOND),
            None,
            "a lost its lease"
        );
        assert_eq!(
            record(&store, &by_b[0], "b", Delivery::Delivered, T0 + 62 * SECOND),
            Some(MessageStatus::Sent)
        );
        assert!(
            claim(&store, "c", 10, T0 + 3600 * SECOND).is_empty(),
            "sent messages stay sent"
        );
    }
);

on_both_backends!(
    a_failure_that_may_pass_is_retried_later_until_the_last_attempt,
    |backend| async move {
        let (_db, store) = migrated_store(backend);
        queue(&store, "order_ready:order:8");
        let mut now = T0;
        for attempt in 1..=3 {
            let claimed = claim(&store, "a", 10, now);
            assert_eq!(claimed.len(), 1, "attempt {attempt} is due");
            let outcome = record(
                &store,
                &claimed[0],
                "a",
                Delivery::Transient("421 try later".into()),
                now,
            );
            let expected = if attempt < 3 {
                MessageStatus::Queued
            } else {
                MessageStatus::Dead
            };
            assert_eq!(outcome, Some(expected));
            assert!(
                claim(&store, "a", 10, now + SECOND).is_empty(),
                "not due again at once"
            );
            now += 4 * 3600 * SECOND;
        }
        let dead = store.read(|c| outbox::dead(c, 10)).expect("dead list");
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].last_error.as_deref(), Some("421 try later"));
        let requeued = store
            .write(|c| outbox::requeue(c, dead[0].id, now))
            .expect("requeued");
        assert_eq!((requeued.status.as_str(), requeued.attempts), ("queued", 0));
        assert_eq!(claim(&store, "a", 10, now).len(), 1);
    }
);

on_both_backends!(
    a_permanent_refusal_is_dead_after_one_try,
    |backend| async move {
        let (_db, store) = migrated_store(backend);
        queue(&store, "order_ready:order:9");
        let claimed = claim(&store, "a", 10, T0);
        let outcome = record(
            &store,
            &claimed[0],
            "a",
            Delivery::Permanent("550 no such mailbox".into()),
            T0,
        );
        assert_eq!(outcome, Some(MessageStatus::Dead));
        let counts = store.read(outbox::counts).expect("counts");
        assert_eq!(counts, [("email".to_string(), "dead".to_string(), 1)]);
        let missing = store.write(|c| outbox::requeue(c, claimed[0].id + 1, T0));
        assert_eq!(missing.err().map(|e| e.code()), Some("not_found"));
    }
);
