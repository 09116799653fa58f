//! Activities: their plan, states, check-in windows and QR check-in tokens.

pub mod activity;
pub mod activity_plan;
pub mod checkin;
pub mod checkin_token;
