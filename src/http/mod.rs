//! HTTP handlers, one file per resource. A handler extracts, calls the database layer off the
//! event loop, and maps the result to a response type. No SQL and no business rules here.

pub mod access;
pub mod accounts;
pub mod activities;
pub mod audit;
pub mod auth;
pub mod awards;
pub mod banks;
pub mod cards;
pub mod claims;
pub mod closed_sets;
pub mod counter;
pub mod entries;
pub mod extract;
pub mod fallback;
pub mod goods;
pub mod holds;
pub mod me;
pub mod member_sessions;
pub mod members;
pub mod ops;
pub mod orders;
pub mod orgs;
pub mod paging;
pub mod problem;
pub mod rules;
pub mod shops;
pub mod staff;
pub mod staff_me;
pub mod stock;
pub mod transport;
pub mod types;
pub mod verify;
pub mod wechat;

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
    cfg.service(auth::login)
        .service(auth::refresh_session)
        .service(auth::logout)
        .service(auth::change_password)
        .service(wechat::wechat_login)
        .service(wechat::wechat_bind)
        .service(member_sessions::refresh_member_session)
        .service(member_sessions::member_logout)
        .service(wechat::unbind_my_wechat)
        .service(me::me)
        .service(me::my_statement)
        .service(me::my_card)
        .service(me::my_export)
        .service(orgs::create_org)
        .service(orgs::list_orgs)
        .service(orgs::get_org)
        .service(orgs::move_org)
        .service(staff_me::who_am_i)
        .service(staff::create_staff)
        .service(staff::list_staff)
        .service(staff::grant_role)
        .service(staff::revoke_role)
        .service(banks::create_bank)
        .service(banks::list_banks)
        .service(banks::get_bank)
        .service(accounts::open_account)
        .service(accounts::list_accounts)
        .service(accounts::get_account)
        .service(accounts::statement)
        .service(entries::post_entry)
        .service(entries::get_entry)
        .service(entries::reverse_entry)
        .service(holds::create_hold)
        .service(holds::get_hold)
        .service(holds::capture_hold)
        .service(holds::release_hold)
        .service(verify::verify_bank)
        .service(members::create_member)
        .service(members::list_members)
        .service(members::lookup)
        .service(members::get_member)
        .service(members::card)
        .service(members::card_payload)
        .service(members::reissue_card)
        .service(members::merge_members)
        .service(wechat::unbind_member_wechat)
        .service(cards::member_card_sheet)
        .service(audit::list_audit)
        .service(rules::create_rule)
        .service(rules::list_rules)
        .service(rules::get_rule)
        .service(rules::update_rule)
        .service(awards::award_points)
        .service(claims::submit_my_claim)
        .service(claims::list_my_claims)
        .service(claims::submit_proxy_claim)
        .service(claims::list_claims)
        .service(claims::decide_claim)
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
        .service(shops::create_shop)
        .service(shops::list_shops)
        .service(shops::get_shop)
        .service(shops::update_shop)
        .service(shops::my_shops)
        .service(goods::create_goods)
        .service(goods::get_goods)
        .service(goods::update_goods)
        .service(goods::list_goods)
        .service(goods::browse_goods)
        .service(stock::record_movement)
        .service(stock::list_movements)
        .service(orders::place_my_order)
        .service(orders::my_orders)
        .service(orders::get_my_order)
        .service(orders::cancel_my_order)
        .service(orders::pickup_qr)
        .service(counter::counter_order)
        .service(counter::shop_orders)
        .service(counter::fulfil_pickup)
        .service(counter::cancel_order)
        .service(counter::day_report);
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

/// One write transaction on the blocking pool (see `Store::write`).
pub async fn in_write_tx<T, F>(state: &web::Data<AppState>, work: F) -> ServiceResult<T>
where
    T: Send + 'static,
    F: Fn(&mut Db) -> ServiceResult<T> + Send + 'static,
{
    let store = state.store.clone();
    blocking(move || store.write(work)).await
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
