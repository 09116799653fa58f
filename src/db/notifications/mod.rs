//! Messages to people: the outbox the senders deliver from.

pub mod outbox;
