//! Two-phase holds on member wallets. `accounts.held` always equals the sum of pending holds.

use diesel::prelude::*;

use crate::db::ledger::accounts::AccountRow;
use crate::db::ledger::{self, EntryRecord, NewEntry};
use crate::db::schema::{accounts, holds};
use crate::db::{stored, Db};
use crate::domain::ledger::hold::{plan_capture, HoldError, HoldStatus};
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::{AccountFacts, AccountKind, Asset, EntryKind, Line};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = holds)]
pub struct HoldRow {
    pub id: i64,
    pub bank_id: i64,
    pub account_id: i64,
    pub asset: String,
    pub amount: i64,
    pub status: String,
    pub memo: String,
    pub reference: Option<String>,
    pub actor: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    pub capture_entry_id: Option<i64>,
    pub captured_amount: Option<i64>,
}

impl HoldRow {
    pub fn status(&self) -> ServiceResult<HoldStatus> {
        stored(
            HoldStatus::parse(&self.status),
            "holds.status",
            &self.status,
        )
    }
}

pub struct NewHold<'a> {
    pub account: &'a AccountRow,
    pub amount: Amount,
    pub memo: &'a str,
    pub reference: Option<&'a str>,
    pub actor: &'a str,
    pub expires_at: i64,
}

pub fn create_hold(conn: &mut Db, new: NewHold<'_>, now: i64) -> ServiceResult<HoldRow> {
    let account = new.account;
    let facts = account.facts()?;
    if !facts.kind.is_wallet() {
        return Err(ServiceError::validation(
            "account_id",
            "holds can only be placed on member accounts",
        ));
    }
    if facts.asset != Asset::Points {
        return Err(ServiceError::validation(
            "account_id",
            "service hours are recorded, never redeemed: holds need a POINTS wallet",
        ));
    }
    let amount = new.amount.minor();
    let reserve = |conn: &mut Db| -> ServiceResult<usize> {
        Ok(diesel::update(
            accounts::table
                .filter(accounts::id.eq(account.id))
                .filter((accounts::balance - accounts::held).ge(amount)),
        )
        .set(accounts::held.eq(accounts::held + amount))
        .execute(conn)?)
    };
    if reserve(conn)? == 0
        && (expire_due_for_account(conn, account.id, now)? == 0 || reserve(conn)? == 0)
    {
        return Err(ledger::insufficient(conn, account.id, new.amount)?);
    }
    Ok(diesel::insert_into(holds::table)
        .values((
            holds::bank_id.eq(account.bank_id),
            holds::account_id.eq(account.id),
            holds::asset.eq(&account.asset),
            holds::amount.eq(amount),
            holds::status.eq(HoldStatus::Pending.as_str()),
            holds::memo.eq(new.memo),
            holds::reference.eq(new.reference),
            holds::actor.eq(new.actor),
            holds::expires_at.eq(new.expires_at),
            holds::created_at.eq(now),
        ))
        .returning(holds::all_columns)
        .get_result(conn)?)
}

pub fn get_hold(conn: &mut Db, bank_id: i64, hold_id: i64) -> ServiceResult<HoldRow> {
    holds::table
        .filter(holds::id.eq(hold_id))
        .filter(holds::bank_id.eq(bank_id))
        .select(HoldRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("hold"))
}

/// Ends a pending hold with `status`, returning its reservation to the wallet. The conditional
/// update on `status = 'pending'` is what makes a hold end exactly once under races.
fn finish_hold(
    conn: &mut Db,
    hold: &HoldRow,
    status: HoldStatus,
    captured: Option<(i64, i64)>,
    now: i64,
) -> ServiceResult<bool> {
    let changed = diesel::update(
        holds::table
            .filter(holds::id.eq(hold.id))
            .filter(holds::status.eq(HoldStatus::Pending.as_str())),
    )
    .set((
        holds::status.eq(status.as_str()),
        holds::resolved_at.eq(now),
        holds::capture_entry_id.eq(captured.map(|c| c.0)),
        holds::captured_amount.eq(captured.map(|c| c.1)),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    diesel::update(accounts::table.find(hold.account_id))
        .set(accounts::held.eq(accounts::held - hold.amount))
        .execute(conn)?;
    Ok(true)
}

/// Releases a pending hold. One already past its deadline ends as `expired` instead; either way
/// the wallet has its points back.
pub fn release_hold(conn: &mut Db, bank_id: i64, hold_id: i64, now: i64) -> ServiceResult<HoldRow> {
    let hold = get_hold(conn, bank_id, hold_id)?;
    let ending = if now >= hold.expires_at {
        HoldStatus::Expired
    } else {
        HoldStatus::Released
    };
    if !finish_hold(conn, &hold, ending, None, now)? {
        return Err(not_pending(conn, bank_id, hold_id)?);
    }
    get_hold(conn, bank_id, hold_id)
}

fn not_pending(conn: &mut Db, bank_id: i64, hold_id: i64) -> ServiceResult<ServiceError> {
    let current = get_hold(conn, bank_id, hold_id)?.status()?;
    Ok(HoldError::NotPending(current).into())
}

pub struct Capture<'a> {
    pub bank_id: i64,
    pub hold_id: i64,
    pub amount: Option<Amount>,
    pub memo: &'a str,
    pub actor: &'a str,
}

/// Captures a hold into a `redeem` entry (wallet → the bank's redemption account) and releases
/// whatever part of the reservation was not captured.
pub fn capture_hold(
    conn: &mut Db,
    capture: Capture<'_>,
    now: i64,
) -> ServiceResult<(HoldRow, EntryRecord)> {
    let hold = get_hold(conn, capture.bank_id, capture.hold_id)?;
    let status = hold.status()?;
    // An error rolls the transaction back, so an overdue hold is left for the sweeper to expire.
    let captured = plan_capture(
        status,
        Amount::from_minor(hold.amount),
        hold.expires_at,
        now,
        capture.amount,
    )?;
    let wallet = crate::db::ledger::accounts::get_account(conn, capture.bank_id, hold.account_id)?;
    let asset = wallet.facts()?.asset;
    let sink = crate::db::ledger::accounts::system_account(
        conn,
        capture.bank_id,
        asset,
        AccountKind::Redemption,
    )?;
    // Release first, so the wallet's available balance covers the capture it reserved.
    if !finish_hold(conn, &hold, HoldStatus::Captured, None, now)? {
        return Err(not_pending(conn, capture.bank_id, capture.hold_id)?);
    }
    let entry = ledger::post_entry(
        conn,
        NewEntry {
            bank_id: capture.bank_id,
            kind: EntryKind::Redeem,
            memo: capture.memo,
            reference: hold.reference.as_deref(),
            actor: capture.actor,
            reverses_entry_id: None,
            rule_id: None,
            origin: Some(crate::domain::ledger::Origin::Redemption),
            lines: vec![
                Line {
                    account: wallet.facts()?,
                    amount: captured.negate(),
                },
                Line {
                    account: AccountFacts {
                        id: sink.id,
                        asset,
                        kind: AccountKind::Redemption,
                    },
                    amount: captured,
                },
            ],
        },
        now,
    )?;
    diesel::update(holds::table.find(hold.id))
        .set((
            holds::capture_entry_id.eq(entry.entry.id),
            holds::captured_amount.eq(captured.minor()),
        ))
        .execute(conn)?;
    Ok((get_hold(conn, capture.bank_id, capture.hold_id)?, entry))
}

/// Expires one wallet's pending holds whose deadline has passed; returns how many.
pub fn expire_due_for_account(conn: &mut Db, account_id: i64, now: i64) -> ServiceResult<usize> {
    let due: Vec<HoldRow> = holds::table
        .filter(holds::account_id.eq(account_id))
        .filter(holds::status.eq(HoldStatus::Pending.as_str()))
        .filter(holds::expires_at.le(now))
        .select(HoldRow::as_select())
        .load(conn)?;
    let mut expired = 0;
    for hold in &due {
        if finish_hold(conn, hold, HoldStatus::Expired, None, now)? {
            expired += 1;
        }
    }
    Ok(expired)
}

/// The background sweep: expires up to `limit` overdue holds across all banks.
pub fn expire_due(conn: &mut Db, now: i64, limit: i64) -> ServiceResult<usize> {
    let due: Vec<HoldRow> = holds::table
        .filter(holds::status.eq(HoldStatus::Pending.as_str()))
        .filter(holds::expires_at.le(now))
        .order(holds::expires_at)
        .limit(limit)
        .select(HoldRow::as_select())
        .load(conn)?;
    let mut expired = 0;
    for hold in &due {
        if finish_hold(conn, hold, HoldStatus::Expired, None, now)? {
            expired += 1;
        }
    }
    Ok(expired)
}
