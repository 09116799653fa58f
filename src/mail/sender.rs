//! The background sender: claims due messages under a lease, delivers each outside any
//! transaction, and records what came of it. Several instances may run it against one database:
//! the lease makes each message theirs alone until it runs out.

use std::time::Duration;

use crate::db::notifications::outbox::{self, OutboxRow};
use crate::domain::notifications::{Delivery, MessageStatus};
use crate::error::{ServiceError, ServiceResult};
use crate::mail::email::SmtpChannel;
use crate::periodic::{Pace, Periodic};
use crate::service::Store;

/// How one sender works through the outbox.
#[derive(Debug, Clone)]
pub struct SenderPlan {
    /// Names the claims of this process (host and pid), so a late result can be told apart.
    pub sender: String,
    /// Messages claimed at once.
    pub batch: i64,
    /// How long a claim is this sender's alone: longer than one batch takes to deliver.
    pub lease: Duration,
    pub max_attempts: i64,
}

/// What one round came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
    /// Results not recorded because the lease ran out first (another sender has the message).
    pub lease_lost: usize,
}

async fn on_blocking_pool<T, F>(work: F) -> ServiceResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> ServiceResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("sender task failed: {e}")))?
}

/// One round: claim a batch (committed before anything is sent), deliver, record each result.
pub async fn deliver_due(
    store: &Store,
    email: &SmtpChannel,
    plan: &SenderPlan,
) -> ServiceResult<Round> {
    let claimed: Vec<OutboxRow> = {
        let (store, plan) = (store.clone(), plan.clone());
        on_blocking_pool(move || {
            let now = store.now();
            let lease_until = now + plan.lease.as_micros() as i64;
            store.write(|c| outbox::claim(c, &plan.sender, plan.batch, now, lease_until))
        })
        .await?
    };
    let mut round = Round::default();
    for message in claimed {
        let delivery = match message.channel() {
            Ok(crate::domain::notifications::Channel::Email) => email.deliver(&message).await,
            Ok(other) => Delivery::Transient(format!("no sender for the {other} channel yet")),
            Err(e) => Delivery::Permanent(e.to_string()),
        };
        if let Delivery::Transient(error) | Delivery::Permanent(error) = &delivery {
            tracing::warn!(message_id = %message.message_id, attempt = message.attempts, %error, "delivery failed");
        }
        let (store, plan) = (store.clone(), plan.clone());
        let recorded = on_blocking_pool(move || {
            let now = store.now();
            store.write(|c| {
                outbox::record(c, &message, &plan.sender, &delivery, plan.max_attempts, now)
            })
        })
        .await?;
        match recorded {
            Some(MessageStatus::Sent) => round.sent += 1,
            Some(MessageStatus::Queued) => round.retrying += 1,
            Some(MessageStatus::Dead) => round.dead += 1,
            // `record` never leaves a message `sending`.
            Some(MessageStatus::Sending) => {}
            None => round.lease_lost += 1,
        }
    }
    Ok(round)
}

/// The sender running beside the service: a thread with its own tokio runtime that delivers due
/// messages every `poll`, until dropped.
pub struct MailSender {
    // Held for its Drop, which stops the thread.
    _thread: Periodic,
}

impl MailSender {
    pub fn start(
        store: Store,
        email: SmtpChannel,
        plan: SenderPlan,
        poll: Duration,
    ) -> anyhow::Result<MailSender> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let periodic = Periodic::start("pb-mail", poll, move || {
            match runtime.block_on(deliver_due(&store, &email, &plan)) {
                Ok(round) if round.sent + round.retrying + round.dead >= plan.batch as usize => {
                    Pace::Again
                }
                Ok(_) => Pace::Wait,
                Err(err) => {
                    tracing::warn!(error = %err, "mail: a round failed; will retry");
                    Pace::Wait
                }
            }
        })?;
        Ok(MailSender { _thread: periodic })
    }
}

/// This process's name in claims: host and pid, so that two instances never share one.
pub fn sender_name() -> String {
    let host = hostname_or_unknown();
    format!("{host}:{}", std::process::id())
}

fn hostname_or_unknown() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into())
}
