//! Background upkeep on its own thread: seal new entries, expire overdue holds, forget old
//! idempotency keys and sign-in failures. Safe to run in every instance at once (all steps are conditional writes).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db;
use crate::metrics::Metrics;
use crate::periodic::{Pace, Periodic};
use crate::service::activities::settlement;
use crate::service::{ledger::sealing, Store};

/// Dropping it stops the thread.
pub struct Upkeep {
    // Held for its Drop, which stops the thread.
    _thread: Periodic,
}

impl Upkeep {
    pub fn start(
        store: Store,
        metrics: Arc<Metrics>,
        interval: Duration,
        retention_hours: i64,
        auto_settle_minutes: i64,
    ) -> Upkeep {
        let mut last_purge = Instant::now() - Duration::from_secs(3600);
        let periodic = Periodic::start("pb-upkeep", interval, move || {
            run_once(&store, &metrics, retention_hours, &mut last_purge);
            if auto_settle_minutes >= 0 {
                settle_due(&store, auto_settle_minutes);
            }
            Pace::Wait
        })
        .expect("spawning the upkeep thread");
        Upkeep { _thread: periodic }
    }
}

fn run_once(store: &Store, metrics: &Metrics, retention_hours: i64, last_purge: &mut Instant) {
    let now = store.now();
    match sealing::seal_all(store) {
        Ok(sealed) => {
            metrics
                .entries_sealed
                .fetch_add(sealed as u64, Ordering::Relaxed);
        }
        Err(err) => tracing::warn!(error = %err, "upkeep: sealing failed; will retry"),
    }
    // Orders first: expiring an order releases its hold, which outlives the order by a day.
    if let Err(err) = store.write(|c| db::supermarket::orders::expire_due(c, now, 200)) {
        tracing::warn!(error = %err, "upkeep: expiring orders failed; will retry");
    }
    match store.write(|c| db::ledger::holds::expire_due(c, now, 500)) {
        Ok(expired) => {
            metrics
                .holds_expired
                .fetch_add(expired as u64, Ordering::Relaxed);
        }
        Err(err) => tracing::warn!(error = %err, "upkeep: expiring holds failed; will retry"),
    }
    if last_purge.elapsed() >= Duration::from_secs(3600) {
        *last_purge = Instant::now();
        let cutoff = now - retention_hours * 3600 * 1_000_000;
        let day_ago = now - 86_400 * 1_000_000;
        if let Err(err) = store.write(|c| db::access::sessions::purge_failures_before(c, day_ago)) {
            tracing::warn!(error = %err, "upkeep: purging old sign-in failures failed");
        }
        if let Err(err) = store.write(|c| db::idempotency::purge_older_than(c, cutoff)) {
            tracing::warn!(error = %err, "upkeep: purging idempotency keys failed");
        }
    }
}

/// Settles activities whose organiser has not, `delay_minutes` after their scans closed. One
/// batch per transaction, like the settlement endpoint, so it is safe next to it and after a crash.
fn settle_due(store: &Store, delay_minutes: i64) {
    let cutoff = store.now() - delay_minutes * 60_000_000;
    let due = match store.read(|conn| db::activities::settlement::due_for_settlement(conn, cutoff))
    {
        Ok(due) => due,
        Err(err) => {
            tracing::warn!(error = %err, "upkeep: finding activities to settle failed");
            return;
        }
    };
    for activity_id in due {
        match settlement::pay_everyone(store, activity_id, "system:auto-settle") {
            Ok(()) => tracing::info!(activity_id, "upkeep: activity settled automatically"),
            Err(err) => {
                tracing::warn!(activity_id, error = %err, "upkeep: settling failed; will retry")
            }
        }
    }
}
