//! HTTP handlers, one file per resource. A handler extracts, calls the database layer off the
//! event loop, and maps the result to a response type. No SQL and no business rules here.

pub mod access;
pub mod accounts;
pub mod activities;
pub mod appeals;
pub mod audit;
pub mod auth;
pub mod awards;
pub mod banks;
pub mod cards;
pub mod checkin;
pub mod claims;
pub mod closed_sets;
pub mod counter;
pub mod entries;
pub mod extract;
pub mod fallback;
pub mod goods;
pub mod holds;
pub mod me;
pub mod member_activity;
pub mod member_sessions;
pub mod members;
pub mod ops;
pub mod orders;
pub mod orgs;
pub mod paging;
pub mod problem;
pub mod rules;
pub mod shops;
pub mod signups;
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
use crate::db::{self, Db, Pool};
use crate::error::{ServiceError, ServiceResult};
use crate::metrics::Metrics;

/// Shared by every worker. Nothing in here is state that matters: it is all derivable from
/// settings, so any number of instances can serve the same database.
pub struct AppState {
    pub pool: Pool,
    pub keys: TokenKeys,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// SQLite only: the turn of this instance's one writer (see `in_write_tx`).
    pub sqlite_writer: Option<Arc<std::sync::Mutex<()>>>,
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
        .service(signups::sign_up_member)
        .service(signups::list_signups)
        .service(signups::my_activities)
        .service(member_activity::my_activity)
        .service(signups::sign_me_up)
        .service(signups::cancel_my_signup)
        .service(checkin::activity_qr)
        .service(checkin::activity_qr_payload)
        .service(checkin::replace_posters)
        .service(checkin::activity_poster)
        .service(checkin::check_in)
        .service(checkin::card_scan)
        .service(checkin::list_attendance)
        .service(checkin::correct_attendance)
        .service(checkin::settle_activity)
        .service(appeals::activity_refused_scans)
        .service(appeals::decide_appeal)
        .service(appeals::my_refused_scans)
        .service(appeals::appeal_refused_scan)
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
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = db::connection::checkout(&pool)?;
        let result = work(&mut conn);
        blame_outage(&mut conn, result)
    })
    .await
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// How many times a write transaction that lost a deadlock or serialization race is run again
/// before the client is told `service_unavailable`.
pub const MAX_CONTENTION_RETRIES: u32 = 8;

/// One write transaction. When two requests with the same Idempotency-Key race, the loser's
/// transaction fails on the key; running it once more replays the winner's stored result. A
/// transaction chosen as a deadlock victim (or failing serialization) is run again after a short,
/// jittered pause, a bounded number of times.
pub async fn in_write_tx<T, F>(state: &web::Data<AppState>, work: F) -> ServiceResult<T>
where
    T: Send + 'static,
    F: Fn(&mut Db) -> ServiceResult<T> + Send + 'static,
{
    let pool = state.pool.clone();
    let writer = state.sqlite_writer.clone();
    web::block(move || {
        // SQLite has one writer at a time. Queue for it here, where a finished writer wakes the
        // next at once, rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms.
        let _turn = writer.as_ref().map(|turn| {
            turn.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        let mut conn = db::connection::checkout(&pool)?;
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
    })
    .await
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// An unexpected error on a connection that no longer answers is the database going away (a
/// restart, a failover, the network), whatever words the server chose for it: the client is told
/// to retry (`service_unavailable`), not shown a 500. The pool discards the dead connection.
fn blame_outage<T>(conn: &mut Db, result: ServiceResult<T>) -> ServiceResult<T> {
    use diesel::connection::SimpleConnection;
    match result {
        Err(ServiceError::Internal(cause)) if conn.batch_execute("SELECT 1").is_err() => {
            tracing::warn!(error = ?cause, "the database connection was lost under a request");
            Err(ServiceError::Unavailable)
        }
        other => other,
    }
}

/// Exponential pause with full jitter, so the colliding transactions do not meet again in step.
fn contention_pause(attempt: u32) -> std::time::Duration {
    use rand::Rng;
    let ceiling_micros = 1_000u64 << attempt.min(6);
    std::time::Duration::from_micros(rand::thread_rng().gen_range(0..=ceiling_micros))
}
