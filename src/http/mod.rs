//! HTTP handlers, one file per resource. A handler extracts, calls a service function off the
//! event loop, and maps the result to a response type. No SQL, no scope checks and no business
//! rules here.

pub mod access;
pub mod activities;
pub mod closed_sets;
pub mod extract;
pub mod fallback;
pub mod ledger;
pub mod members;
pub mod ops;
pub mod paging;
pub mod problem;
pub mod rules;
pub mod supermarket;
pub mod transport;
pub mod types;

use std::sync::Arc;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::jwt::TokenKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};
use crate::metrics::Metrics;
use crate::service::Store;

/// Shared by every worker. Nothing in here is state that matters: it is all derivable from
/// settings, so any number of instances can serve the same database.
pub struct AppState {
    /// The database and the clock, as every use-case reaches them.
    pub store: Store,
    pub keys: TokenKeys,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Now, in microseconds since the epoch, by the injected clock.
    pub fn now(&self) -> i64 {
        self.store.now()
    }
}

/// Every API route. Registered through utoipa-actix-web, so a handler without its OpenAPI
/// entry cannot be routed.
pub fn api_routes(cfg: &mut ServiceConfig) {
    cfg.service(access::auth::login)
        .service(access::auth::refresh_session)
        .service(access::auth::logout)
        .service(access::auth::change_password)
        .service(access::wechat::wechat_login)
        .service(access::wechat::wechat_bind)
        .service(access::member_sessions::refresh_member_session)
        .service(access::member_sessions::member_logout)
        .service(access::wechat::unbind_my_wechat)
        .service(members::me::me)
        .service(members::me::my_statement)
        .service(members::me::my_card)
        .service(members::me::my_export)
        .service(access::orgs::create_org)
        .service(access::orgs::list_orgs)
        .service(access::orgs::get_org)
        .service(access::orgs::move_org)
        .service(access::staff_me::who_am_i)
        .service(access::staff::create_staff)
        .service(access::staff::list_staff)
        .service(access::staff::grant_role)
        .service(access::staff::revoke_role)
        .service(ledger::banks::create_bank)
        .service(ledger::banks::list_banks)
        .service(ledger::banks::get_bank)
        .service(ledger::accounts::open_account)
        .service(ledger::accounts::list_accounts)
        .service(ledger::accounts::get_account)
        .service(ledger::accounts::statement)
        .service(ledger::entries::post_entry)
        .service(ledger::entries::get_entry)
        .service(ledger::entries::reverse_entry)
        .service(ledger::holds::create_hold)
        .service(ledger::holds::get_hold)
        .service(ledger::holds::capture_hold)
        .service(ledger::holds::release_hold)
        .service(ledger::verify::verify_bank)
        .service(members::roster::create_member)
        .service(members::roster::list_members)
        .service(members::roster::lookup)
        .service(members::roster::get_member)
        .service(members::cards::card)
        .service(members::cards::card_payload)
        .service(members::cards::reissue_card)
        .service(members::merge::merge_members)
        .service(access::wechat::unbind_member_wechat)
        .service(members::card_sheet::member_card_sheet)
        .service(access::audit::list_audit)
        .service(rules::create_rule)
        .service(rules::list_rules)
        .service(rules::get_rule)
        .service(rules::update_rule)
        .service(rules::awards::award_points)
        .service(rules::claims::submit_my_claim)
        .service(rules::claims::list_my_claims)
        .service(rules::claims::submit_proxy_claim)
        .service(rules::claims::list_claims)
        .service(rules::claims::decide_claim)
        .service(activities::create_activity)
        .service(activities::list_activities)
        .service(activities::get_activity)
        .service(activities::publish_activity)
        .service(activities::cancel_activity)
        .service(activities::signups::sign_up_member)
        .service(activities::signups::list_signups)
        .service(activities::signups::my_activities)
        .service(activities::member_activity::my_activity)
        .service(activities::signups::sign_me_up)
        .service(activities::signups::cancel_my_signup)
        .service(activities::qr::activity_qr)
        .service(activities::qr::activity_qr_payload)
        .service(activities::qr::replace_posters)
        .service(activities::qr::activity_poster)
        .service(activities::checkin::check_in)
        .service(activities::checkin::card_scan)
        .service(activities::attendance::list_attendance)
        .service(activities::attendance::correct_attendance)
        .service(activities::settlement::settle_activity)
        .service(activities::appeals::activity_refused_scans)
        .service(activities::appeals::decide_appeal)
        .service(activities::appeals::my_refused_scans)
        .service(activities::appeals::appeal_refused_scan)
        .service(supermarket::shops::create_shop)
        .service(supermarket::shops::list_shops)
        .service(supermarket::shops::get_shop)
        .service(supermarket::shops::update_shop)
        .service(supermarket::shops::my_shops)
        .service(supermarket::goods::create_goods)
        .service(supermarket::goods::get_goods)
        .service(supermarket::goods::update_goods)
        .service(supermarket::goods::list_goods)
        .service(supermarket::goods::browse_goods)
        .service(supermarket::stock::record_movement)
        .service(supermarket::stock::list_movements)
        .service(supermarket::orders::place_my_order)
        .service(supermarket::orders::my_orders)
        .service(supermarket::orders::get_my_order)
        .service(supermarket::orders::cancel_my_order)
        .service(supermarket::orders::pickup_qr)
        .service(supermarket::counter::counter_order)
        .service(supermarket::counter::shop_orders)
        .service(supermarket::counter::fulfil_pickup)
        .service(supermarket::counter::cancel_order)
        .service(supermarket::counter::day_report);
}

/// Runs blocking database work on the blocking pool, never on the event loop.
pub async fn with_db<T, F>(state: &web::Data<AppState>, work: F) -> ServiceResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Db) -> ServiceResult<T> + Send + 'static,
{
    let store = state.store.clone();
    blocking(move || store.read(work)).await
}

/// Runs a blocking use-case on actix's blocking pool.
pub async fn blocking<T, F>(work: F) -> ServiceResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> ServiceResult<T> + Send + 'static,
{
    web::block(work)
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}
