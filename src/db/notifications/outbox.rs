//! The outbox. `enqueue` runs inside the transaction of the change that causes the message, so a
//! message exists exactly when its cause committed. Senders `claim` due messages under a lease
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so instances never claim the same message; SQLite: the
//! writer turn), deliver them outside any transaction, and record the outcome.

use diesel::prelude::*;
use rand::RngCore;

use crate::db::schema::outbox_messages;
use crate::db::{stored, Db};
use crate::domain::notifications::{retry_delay, Channel, Delivery, MessageStatus};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = outbox_messages)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub recipient: String,
    pub dedup_key: String,
    pub message_id: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl OutboxRow {
    pub fn channel(&self) -> ServiceResult<Channel> {
        stored(
            Channel::parse(&self.channel),
            "outbox_messages.channel",
            &self.channel,
        )
    }

    pub fn status(&self) -> ServiceResult<MessageStatus> {
        stored(
            MessageStatus::parse(&self.status),
            "outbox_messages.status",
            &self.status,
        )
    }
}

/// A message ready to go, rendered: what is queued is exactly what is sent.
pub struct NewMessage<'a> {
    pub channel: Channel,
    pub kind: &'a str,
    pub recipient: &'a str,
    /// The cause, e.g. `order_ready:order:42`: queueing the same cause again adds nothing.
    pub dedup_key: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: Option<&'a str>,
}

/// Queues a message in the caller's transaction. Returns its id, or `None` when a message for the
/// same cause is already queued (or was sent).
pub fn enqueue(
    conn: &mut Db,
    message: &NewMessage<'_>,
    mail_domain: &str,
    now: i64,
) -> ServiceResult<Option<i64>> {
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let message_id = format!("<{}.{}@{mail_domain}>", now, hex::encode(nonce));
    let values = (
        outbox_messages::channel.eq(message.channel.as_str()),
        outbox_messages::kind.eq(message.kind),
        outbox_messages::recipient.eq(message.recipient),
        outbox_messages::dedup_key.eq(message.dedup_key),
        outbox_messages::message_id.eq(&message_id),
        outbox_messages::subject.eq(message.subject),
        outbox_messages::body_text.eq(message.body_text),
        outbox_messages::body_html.eq(message.body_html),
        outbox_messages::status.eq(MessageStatus::Queued.as_str()),
        outbox_messages::attempts.eq(0),
        outbox_messages::next_attempt_at.eq(now),
        outbox_messages::created_at.eq(now),
    );
    let insert = diesel::insert_into(outbox_messages::table).values(values);
    // ON CONFLICT DO NOTHING: a duplicate cause must not abort the caller's transaction; it
    // returns no row.
    let id = match conn {
        Db::Pg(pg) => insert
            .on_conflict(outbox_messages::dedup_key)
            .do_nothing()
            .returning(outbox_messages::id)
            .get_result(pg)
            .optional()?,
        Db::Sqlite(sqlite) => insert
            .on_conflict(outbox_messages::dedup_key)
            .do_nothing()
            .returning(outbox_messages::id)
            .get_result(sqlite)
            .optional()?,
    };
    Ok(id)
}

/// Claims up to `limit` due messages for `sender` until `lease_until`: queued ones whose time has
/// come, and ones claimed before whose lease ran out (their sender died). Each claim counts as an
/// attempt. Run it in a transaction of its own and commit before delivering.
pub fn claim(
    conn: &mut Db,
    sender: &str,
    limit: i64,
    now: i64,
    lease_until: i64,
) -> ServiceResult<Vec<OutboxRow>> {
    let due = outbox_messages::table
        .filter(
            outbox_messages::status
                .eq(MessageStatus::Queued.as_str())
                .and(outbox_messages::next_attempt_at.le(now))
                .or(outbox_messages::status
                    .eq(MessageStatus::Sending.as_str())
                    .and(outbox_messages::lease_until.lt(now))),
        )
        .order(outbox_messages::id)
        .limit(limit)
        .select(outbox_messages::id);
    let ids: Vec<i64> = match conn {
        Db::Pg(pg) => due.for_update().skip_locked().load(pg)?,
        Db::Sqlite(sqlite) => due.load(sqlite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        diesel::update(outbox_messages::table.filter(outbox_messages::id.eq_any(&ids)))
            .set((
                outbox_messages::status.eq(MessageStatus::Sending.as_str()),
                outbox_messages::lease_until.eq(lease_until),
                outbox_messages::leased_by.eq(sender),
                outbox_messages::attempts.eq(outbox_messages::attempts + 1),
            ))
            .returning(outbox_messages::all_columns)
            .get_results(conn)?,
    )
}

/// Records what the attempt came to, if `sender` still holds the lease (a sender that outlived
/// its lease must not overwrite the next sender's result: then `None`). A failure that may pass
/// is retried after `retry_delay` until `max_attempts`; then, or after a permanent failure, the
/// message is `dead`.
pub fn record(
    conn: &mut Db,
    message: &OutboxRow,
    sender: &str,
    delivery: &Delivery,
    max_attempts: i64,
    now: i64,
) -> ServiceResult<Option<MessageStatus>> {
    let held = outbox_messages::table
        .filter(outbox_messages::id.eq(message.id))
        .filter(outbox_messages::status.eq(MessageStatus::Sending.as_str()))
        .filter(outbox_messages::leased_by.eq(sender));
    let (status, error) = match delivery {
        Delivery::Delivered => (MessageStatus::Sent, None),
        Delivery::Permanent(error) => (MessageStatus::Dead, Some(error.as_str())),
        Delivery::Transient(error) if message.attempts >= max_attempts => {
            (MessageStatus::Dead, Some(error.as_str()))
        }
        Delivery::Transient(error) => (MessageStatus::Queued, Some(error.as_str())),
    };
    let jitter = (rand::thread_rng().next_u32() % 1000) as u16;
    let next_attempt_at = now + retry_delay(message.attempts, jitter);
    let updated = diesel::update(held)
        .set((
            outbox_messages::status.eq(status.as_str()),
            outbox_messages::last_error.eq(error.map(|e| truncated(e, 1000))),
            outbox_messages::lease_until.eq(None::<i64>),
            outbox_messages::sent_at.eq((status == MessageStatus::Sent).then_some(now)),
            outbox_messages::next_attempt_at.eq(next_attempt_at),
        ))
        .execute(conn)?;
    Ok((updated == 1).then_some(status))
}

fn truncated(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Dead messages, newest first, for an operator to look at and re-queue.
pub fn dead(conn: &mut Db, limit: i64) -> ServiceResult<Vec<OutboxRow>> {
    Ok(outbox_messages::table
        .filter(outbox_messages::status.eq(MessageStatus::Dead.as_str()))
        .order(outbox_messages::id.desc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Puts a dead message back in the queue with fresh attempts (same Message-ID).
pub fn requeue(conn: &mut Db, message_id: i64, now: i64) -> ServiceResult<OutboxRow> {
    diesel::update(
        outbox_messages::table
            .filter(outbox_messages::id.eq(message_id))
            .filter(outbox_messages::status.eq(MessageStatus::Dead.as_str())),
    )
    .set((
        outbox_messages::status.eq(MessageStatus::Queued.as_str()),
        outbox_messages::attempts.eq(0),
        outbox_messages::next_attempt_at.eq(now),
    ))
    .returning(outbox_messages::all_columns)
    .get_result(conn)
    .optional()?
    .ok_or(ServiceError::NotFound("dead message"))
}

/// How many messages stand in each channel and status (for `/metrics`).
pub fn counts(conn: &mut Db) -> ServiceResult<Vec<(String, String, i64)>> {
    Ok(outbox_messages::table
        .group_by((outbox_messages::channel, outbox_messages::status))
        .select((
            outbox_messages::channel,
            outbox_messages::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)?)
}
