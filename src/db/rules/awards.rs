//! Points and hours paid to members: under a rule (staff awards, approved claims) or for an
//! attended activity. Each payment is one journal entry from the bank's issuance accounts.

use diesel::prelude::*;

use crate::db::ledger::accounts::system_account;
use crate::db::ledger::{post_entry, EntryRecord, NewEntry};
use crate::db::rules::RuleRow;
use crate::db::schema::{accounts, entries, members, postings};
use crate::db::{lock_row, sum_bigint, Db};
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::{AccountKind, Asset, EntryKind, Line, Origin};
use crate::domain::rules::{period_start, within_cap};
use crate::error::{ConflictCode, ServiceError, ServiceResult};

/// One payment to one member.
pub struct Payment<'a> {
    pub bank_id: i64,
    pub member_id: i64,
    pub rule_id: Option<i64>,
    pub origin: Origin,
    /// Minor units; negative for a deduction.
    pub points: i64,
    /// Service hours in minor units (0.01 h); never negative.
    pub hours: i64,
    pub memo: &'a str,
    pub reference: Option<&'a str>,
    pub actor: &'a str,
}

/// The member's wallet of `asset` in `bank_id`; a member of another bank is not found.
pub fn member_wallet(
    conn: &mut Db,
    bank_id: i64,
    member_id: i64,
    asset: Asset,
) -> ServiceResult<crate::db::ledger::accounts::AccountRow> {
    accounts::table
        .filter(accounts::bank_id.eq(bank_id))
        .filter(accounts::member_id.eq(member_id))
        .filter(accounts::asset.eq(asset.as_str()))
        .select(crate::db::ledger::accounts::AccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("member in this bank"))
}

/// The member's wallet of `asset` as a ledger line (amount to be filled in).
fn wallet(conn: &mut Db, bank_id: i64, member_id: i64, asset: Asset) -> ServiceResult<Line> {
    let row = member_wallet(conn, bank_id, member_id, asset)?;
    Ok(Line {
        account: row.facts()?,
        amount: Amount::ZERO,
    })
}

/// Refuses payments to members who are suspended, have left, or were merged into another record.
pub fn require_active_member(conn: &mut Db, member_id: i64) -> ServiceResult<()> {
    let (status, merged_into): (String, Option<i64>) = members::table
        .find(member_id)
        .select((members::status, members::merged_into))
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("member"))?;
    if status != "active" || merged_into.is_some() {
        return Err(ServiceError::conflict(
            ConflictCode::MemberInactive,
            format!("member {member_id} is {status}; points can only move for active members"),
        ));
    }
    Ok(())
}

/// Posts one payment as one entry: issuance → wallet for awards, wallet → issuance for
/// deductions (which fail with `insufficient_funds` rather than take a wallet below zero).
/// Returns `None` when there is nothing to pay.
pub fn pay(conn: &mut Db, payment: &Payment<'_>, now: i64) -> ServiceResult<Option<EntryRecord>> {
    debug_assert!(payment.hours >= 0);
    let mut lines = Vec::with_capacity(4);
    for (asset, amount) in [
        (Asset::Points, payment.points),
        (Asset::Hours, payment.hours),
    ] {
        if amount == 0 {
            continue;
        }
        let issuance = system_account(conn, payment.bank_id, asset, AccountKind::Issuance)?;
        let mut member = wallet(conn, payment.bank_id, payment.member_id, asset)?;
        member.amount = Amount::from_minor(amount);
        lines.push(Line {
            account: issuance.facts()?,
            amount: Amount::from_minor(-amount),
        });
        lines.push(member);
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let kind = if payment.points < 0 {
        EntryKind::Deduct
    } else {
        EntryKind::Award
    };
    let record = post_entry(
        conn,
        NewEntry {
            bank_id: payment.bank_id,
            kind,
            memo: payment.memo,
            reference: payment.reference,
            actor: payment.actor,
            reverses_entry_id: None,
            rule_id: payment.rule_id,
            origin: Some(payment.origin),
            lines,
        },
        now,
    )?;
    Ok(Some(record))
}

/// Pays `points` to a member under `rule`, within the rule's per-member caps. Concurrent
/// payments to the same member take turns on the member's wallet row, so caps hold under load.
pub fn pay_under_rule(
    conn: &mut Db,
    rule: &RuleRow,
    mut payment: Payment<'_>,
    now: i64,
    utc_offset_seconds: i64,
) -> ServiceResult<EntryRecord> {
    if !rule.active {
        return Err(ServiceError::conflict(
            ConflictCode::RuleInactive,
            format!("rule {} is no longer in use", rule.code),
        ));
    }
    require_active_member(conn, payment.member_id)?;
    let points_wallet = wallet(conn, rule.bank_id, payment.member_id, Asset::Points)?;
    lock_row(conn, "accounts", points_wallet.account.id)?;
    for (period, cap) in rule.caps().each() {
        let since = period_start(now, period, utc_offset_seconds);
        let already: i64 = postings::table
            .inner_join(entries::table)
            .filter(postings::account_id.eq(points_wallet.account.id))
            .filter(entries::rule_id.eq(rule.id))
            .filter(postings::created_at.ge(since))
            .select(sum_bigint("postings.amount"))
            .first(conn)?;
        if !within_cap(already, payment.points, cap) {
            return Err(ServiceError::conflict(
                ConflictCode::CapExceeded,
                format!(
                    "member {} already received {} under rule {} this {period}; the cap is {}",
                    payment.member_id,
                    Amount::from_minor(already.abs()),
                    rule.code,
                    Amount::from_minor(cap)
                ),
            ));
        }
    }
    payment.rule_id = Some(rule.id);
    pay(conn, &payment, now)?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("a rule never pays zero points")))
}
