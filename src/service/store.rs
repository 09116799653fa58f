//! The one way every use-case reaches the database: `read` for a connection, `write` for a write
//! transaction (with SQLite's writer turn, deadlock retries and idempotency-race replays), and
//! `now` from the injected clock. Blocking: the HTTP layer calls it on the blocking pool, workers
//! and the CLI call it directly.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use rand::Rng;

use crate::clock::SharedClock;
use crate::db::{self, Db, Pool};
use crate::error::{ServiceError, ServiceResult};

/// How many times a write transaction that lost a deadlock or serialization race is run again
/// before the caller is told `service_unavailable`.
pub const MAX_CONTENTION_RETRIES: u32 = 8;

#[derive(Clone)]
pub struct Store {
    pool: Pool,
    clock: SharedClock,
    /// SQLite only: the turn of this instance's one writer.
    sqlite_writer: Option<Arc<Mutex<()>>>,
}

impl Store {
    pub fn new(pool: Pool, backend: db::Backend, clock: SharedClock) -> Store {
        let sqlite_writer = (backend == db::Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Store {
            pool,
            clock,
            sqlite_writer,
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Now, in microseconds since the epoch, by the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// Work on one connection (reads, or work that opens its own snapshot).
    pub fn read<T>(&self, work: impl FnOnce(&mut Db) -> ServiceResult<T>) -> ServiceResult<T> {
        let mut conn = db::connection::checkout(&self.pool)?;
        let result = work(&mut conn);
        blame_outage(&mut conn, result)
    }

    /// One write transaction. When two requests with the same Idempotency-Key race, the loser's
    /// transaction fails on the key; running it once more replays the winner's stored result. A
    /// transaction chosen as a deadlock victim (or failing serialization) is run again after a
    /// short, jittered pause, a bounded number of times. `work` may therefore run more than once
    /// and must do nothing outside the transaction.
    pub fn write<T>(&self, work: impl Fn(&mut Db) -> ServiceResult<T>) -> ServiceResult<T> {
        // SQLite has one writer at a time. Queue for it here, where a finished writer wakes the
        // next at once, rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms.
        let _turn = self
            .sqlite_writer
            .as_ref()
            .map(|turn| turn.lock().unwrap_or_else(PoisonError::into_inner));
        let mut conn = db::connection::checkout(&self.pool)?;
        let mut contended = 0;
        let mut raced = false;
        loop {
            let result = db::write_tx(&mut conn, &work);
            match blame_outage(&mut conn, result) {
                Err(ServiceError::IdempotencyRace) if !raced => raced = true,
                Err(ServiceError::Contention) if contended < MAX_CONTENTION_RETRIES => {
                    contended += 1;
                    std::thread::sleep(contention_pause(contended));
                }
                Err(ServiceError::Contention) => {
                    tracing::warn!(retries = contended, "write transaction kept colliding");
                    return Err(ServiceError::Unavailable);
                }
                other => return other,
            }
        }
    }
}

/// An unexpected error on a connection that no longer answers is the database going away (a
/// restart, a failover, the network), whatever words the server chose for it: the caller is told
/// to retry (`service_unavailable`), not shown an internal error. The pool discards the dead
/// connection.
fn blame_outage<T>(conn: &mut Db, result: ServiceResult<T>) -> ServiceResult<T> {
    match result {
        Err(ServiceError::Internal(cause)) if conn.batch_execute("SELECT 1").is_err() => {
            tracing::warn!(error = ?cause, "the database connection was lost under a request");
            Err(ServiceError::Unavailable)
        }
        other => other,
    }
}

/// Exponential pause with full jitter, so the colliding transactions do not meet again in step.
fn contention_pause(attempt: u32) -> Duration {
    let ceiling_micros = 1_000u64 << attempt.min(6);
    Duration::from_micros(rand::thread_rng().gen_range(0..=ceiling_micros))
}
