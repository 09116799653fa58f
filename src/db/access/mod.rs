//! Staff, their sessions and grants, the org tree, WeChat bindings and the audit trail.

pub mod audit;
pub mod orgs;
pub mod refresh_sessions;
pub mod sessions;
pub mod staff;
pub mod wechat;
