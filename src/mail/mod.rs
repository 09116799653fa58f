//! Delivering the outbox's messages by their channels. Nothing here decides who is told what:
//! the use-cases queue rendered messages in `db::notifications::outbox`, the senders deliver them.

pub mod email;
pub mod sender;
