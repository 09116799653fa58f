//! Writing and reading journal entries. Every function here runs inside the caller's transaction.

pub mod accounts;
pub mod banks;
pub mod holds;
pub mod sealer;
pub mod verify;

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::ledger::accounts::AccountRow;
use crate::db::schema::{self, entries, entry_seals, postings};
use crate::db::Db;
use crate::domain::ledger::money::{Amount, MAX_WALLET_MINOR};
use crate::domain::ledger::seal::{EntryContent, PostingContent};
use crate::domain::ledger::{check_entry, reversal_lines, EntryKind, Line, Origin};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = entries)]
pub struct EntryRow {
    pub id: i64,
    pub bank_id: i64,
    pub kind: String,
    pub memo: String,
    pub reference: Option<String>,
    pub actor: String,
    pub reverses_entry_id: Option<i64>,
    pub created_at: i64,
    pub rule_id: Option<i64>,
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub id: i64,
    pub bank_id: i64,
    pub entry_id: i64,
    pub account_id: i64,
    pub asset: String,
    pub amount: i64,
    pub balance_after: Option<i64>,
    pub created_at: i64,
}

/// An entry with its postings, as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EntryRecord {
    pub entry: EntryRow,
    pub postings: Vec<PostingRow>,
    /// The entry that reverses this one, if any.
    pub reversed_by: Option<i64>,
}

impl EntryRecord {
    pub fn content(&self) -> EntryContent {
        content_of(&self.entry, &self.postings)
    }
}

pub fn content_of(entry: &EntryRow, postings: &[PostingRow]) -> EntryContent {
    let mut postings: Vec<PostingContent> = postings
        .iter()
        .map(|p| PostingContent {
            id: p.id,
            account_id: p.account_id,
            asset: p.asset.clone(),
            amount: p.amount,
            balance_after: p.balance_after,
        })
        .collect();
    postings.sort_by_key(|p| p.id);
    EntryContent {
        id: entry.id,
        bank_id: entry.bank_id,
        kind: entry.kind.clone(),
        memo: entry.memo.clone(),
        reference: entry.reference.clone(),
        actor: entry.actor.clone(),
        reverses_entry_id: entry.reverses_entry_id,
        created_at: entry.created_at,
        rule_id: entry.rule_id,
        origin: entry.origin.clone(),
        postings,
    }
}

/// An entry about to be written. `lines` have passed `check_entry`.
pub struct NewEntry<'a> {
    pub bank_id: i64,
    pub kind: EntryKind,
    pub memo: &'a str,
    pub reference: Option<&'a str>,
    pub actor: &'a str,
    pub reverses_entry_id: Option<i64>,
    /// The points rule the entry was posted under, if any.
    pub rule_id: Option<i64>,
    /// How the entry came about (shown on statements).
    pub origin: Option<Origin>,
    pub lines: Vec<Line>,
}

/// Loads the accounts named by `(account_id, amount)` pairs; all must belong to `bank_id`.
pub fn resolve_lines(
    conn: &mut Db,
    bank_id: i64,
    requested: &[(i64, Amount)],
) -> ServiceResult<Vec<Line>> {
    let ids: Vec<i64> = requested.iter().map(|(id, _)| *id).collect();
    let rows: HashMap<i64, AccountRow> = schema::accounts::table
        .filter(schema::accounts::bank_id.eq(bank_id))
        .filter(schema::accounts::id.eq_any(&ids))
        .select(AccountRow::as_select())
        .load::<AccountRow>(conn)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    requested
        .iter()
        .enumerate()
        .map(|(index, (id, amount))| {
            let row = rows.get(id).ok_or_else(|| {
                ServiceError::validation(
                    format!("postings[{index}].account_id"),
                    format!("account {id} does not exist in bank {bank_id}"),
                )
            })?;
            Ok(Line {
                account: row.facts()?,
                amount: *amount,
            })
        })
        .collect()
}

/// Writes one entry: the entry row, each wallet's conditional balance update, the postings and
/// the unsealed marker. Wallet rows are updated in account-id order so that concurrent
/// transfers never deadlock. Fails with `insufficient_funds`, writing nothing the caller commits.
pub fn post_entry(conn: &mut Db, new: NewEntry<'_>, now: i64) -> ServiceResult<EntryRecord> {
    check_entry(new.kind, &new.lines)?;
    let entry: EntryRow = diesel::insert_into(entries::table)
        .values((
            entries::bank_id.eq(new.bank_id),
            entries::kind.eq(new.kind.as_str()),
            entries::memo.eq(new.memo),
            entries::reference.eq(new.reference),
            entries::actor.eq(new.actor),
            entries::reverses_entry_id.eq(new.reverses_entry_id),
            entries::created_at.eq(now),
            entries::rule_id.eq(new.rule_id),
            entries::origin.eq(new.origin.map(Origin::as_str)),
        ))
        .returning(entries::all_columns)
        .get_result(conn)?;

    let mut lines = new.lines;
    lines.sort_by_key(|line| line.account.id);
    let mut written = Vec::with_capacity(lines.len());
    for line in &lines {
        let balance_after = if line.account.kind.is_wallet() {
            Some(apply_to_wallet(conn, line.account.id, line.amount, now)?)
        } else {
            None
        };
        let posting: PostingRow = diesel::insert_into(postings::table)
            .values((
                postings::bank_id.eq(new.bank_id),
                postings::entry_id.eq(entry.id),
                postings::account_id.eq(line.account.id),
                postings::asset.eq(line.account.asset.as_str()),
                postings::amount.eq(line.amount.minor()),
                postings::balance_after.eq(balance_after),
                postings::created_at.eq(now),
            ))
            .returning(postings::all_columns)
            .get_result(conn)?;
        written.push(posting);
    }
    diesel::insert_into(entry_seals::table)
        .values((
            entry_seals::entry_id.eq(entry.id),
            entry_seals::bank_id.eq(new.bank_id),
        ))
        .execute(conn)?;
    Ok(EntryRecord {
        entry,
        postings: written,
        reversed_by: None,
    })
}

/// Credits or debits a wallet and returns its new balance. A debit succeeds only if the
/// available balance (balance − held) covers it: the check and the write are one statement.
fn apply_to_wallet(conn: &mut Db, account_id: i64, amount: Amount, now: i64) -> ServiceResult<i64> {
    let delta = amount.minor();
    if delta > 0 {
        return diesel::update(
            schema::accounts::table
                .filter(schema::accounts::id.eq(account_id))
                .filter(schema::accounts::balance.le(MAX_WALLET_MINOR - delta)),
        )
        .set(schema::accounts::balance.eq(schema::accounts::balance + delta))
        .returning(schema::accounts::balance)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| {
            ServiceError::validation(
                "postings",
                format!("account {account_id} would exceed the largest allowed balance"),
            )
        });
    }
    let debit = -delta;
    let try_debit = |conn: &mut Db| -> ServiceResult<Option<i64>> {
        Ok(diesel::update(
            schema::accounts::table
                .filter(schema::accounts::id.eq(account_id))
                .filter((schema::accounts::balance - schema::accounts::held).ge(debit)),
        )
        .set(schema::accounts::balance.eq(schema::accounts::balance - debit))
        .returning(schema::accounts::balance)
        .get_result(conn)
        .optional()?)
    };
    if let Some(balance) = try_debit(conn)? {
        return Ok(balance);
    }
    // Holds past their deadline no longer reserve anything: let them go, then try once more.
    if holds::expire_due_for_account(conn, account_id, now)? > 0 {
        if let Some(balance) = try_debit(conn)? {
            return Ok(balance);
        }
    }
    Err(insufficient(conn, account_id, Amount::from_minor(debit))?)
}

pub fn insufficient(
    conn: &mut Db,
    account_id: i64,
    requested: Amount,
) -> ServiceResult<ServiceError> {
    let (balance, held): (i64, i64) = schema::accounts::table
        .find(account_id)
        .select((schema::accounts::balance, schema::accounts::held))
        .first(conn)?;
    Ok(ServiceError::InsufficientFunds {
        account_id,
        available: Amount::from_minor(balance - held).to_string(),
        requested: requested.to_string(),
    })
}

pub fn get_entry(conn: &mut Db, bank_id: i64, entry_id: i64) -> ServiceResult<EntryRecord> {
    let entry: EntryRow = entries::table
        .filter(entries::id.eq(entry_id))
        .filter(entries::bank_id.eq(bank_id))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("entry"))?;
    let postings: Vec<PostingRow> = postings::table
        .filter(postings::entry_id.eq(entry_id))
        .order(postings::id)
        .select(PostingRow::as_select())
        .load(conn)?;
    let reversed_by = entries::table
        .filter(entries::reverses_entry_id.eq(entry_id))
        .select(entries::id)
        .first::<i64>(conn)
        .optional()?;
    Ok(EntryRecord {
        entry,
        postings,
        reversed_by,
    })
}

/// Posts the reversal of an entry. The UNIQUE constraint on `reverses_entry_id` makes a
/// second reversal impossible even if two requests race.
pub fn reverse_entry(
    conn: &mut Db,
    bank_id: i64,
    entry_id: i64,
    memo: &str,
    actor: &str,
    now: i64,
) -> ServiceResult<EntryRecord> {
    let original = get_entry(conn, bank_id, entry_id)?;
    if original.entry.kind == EntryKind::Reverse.as_str() {
        return Err(ServiceError::NotReversible(entry_id));
    }
    if original.reversed_by.is_some() {
        return Err(ServiceError::AlreadyReversed(entry_id));
    }
    let requested: Vec<(i64, Amount)> = original
        .postings
        .iter()
        .map(|p| (p.account_id, Amount::from_minor(p.amount)))
        .collect();
    let lines = reversal_lines(&resolve_lines(conn, bank_id, &requested)?);
    let result = post_entry(
        conn,
        NewEntry {
            bank_id,
            kind: EntryKind::Reverse,
            memo,
            reference: original.entry.reference.as_deref(),
            actor,
            reverses_entry_id: Some(entry_id),
            // A reversal nets out under the same rule, so reports by rule stay right.
            rule_id: original.entry.rule_id,
            origin: original.entry.origin.as_deref().and_then(Origin::parse),
            lines,
        },
        now,
    );
    match result {
        Err(ServiceError::Internal(err)) if is_unique_violation(&err) => {
            Err(ServiceError::AlreadyReversed(entry_id))
        }
        other => other,
    }
}

pub fn is_unique_violation(err: &anyhow::Error) -> bool {
    matches!(
        err.downcast_ref::<diesel::result::Error>(),
        Some(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}
