//! Accounts, balances and statements.

use diesel::prelude::*;

use crate::db::schema::{accounts, entries, postings, rules};
use crate::db::{stored, Db};
use crate::domain::ledger::{AccountFacts, AccountKind, Asset};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: i64,
    pub bank_id: i64,
    pub asset: String,
    pub kind: String,
    pub name: String,
    pub owner_ref: Option<String>,
    pub balance: i64,
    pub held: i64,
    pub created_at: i64,
    pub member_id: Option<i64>,
}

impl AccountRow {
    pub fn facts(&self) -> ServiceResult<AccountFacts> {
        Ok(AccountFacts {
            id: self.id,
            asset: stored(Asset::parse(&self.asset), "accounts.asset", &self.asset)?,
            kind: stored(AccountKind::parse(&self.kind), "accounts.kind", &self.kind)?,
        })
    }
}

/// An account with its balance resolved: cached for wallets, summed for the bank's own accounts.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AccountBalance {
    pub row: AccountRow,
    pub balance: i64,
    pub held: i64,
}

pub fn open_member_account(
    conn: &mut Db,
    bank_id: i64,
    asset: Asset,
    name: &str,
    owner_ref: Option<&str>,
    now: i64,
) -> ServiceResult<AccountRow> {
    crate::db::ledger::banks::get_bank(conn, bank_id)?;
    Ok(diesel::insert_into(accounts::table)
        .values((
            accounts::bank_id.eq(bank_id),
            accounts::asset.eq(asset.as_str()),
            accounts::kind.eq(AccountKind::Member.as_str()),
            accounts::name.eq(name),
            accounts::owner_ref.eq(owner_ref),
            accounts::balance.eq(0),
            accounts::held.eq(0),
            accounts::created_at.eq(now),
        ))
        .returning(accounts::all_columns)
        .get_result(conn)?)
}

/// An account of this bank; an id of another bank is simply not found.
pub fn get_account(conn: &mut Db, bank_id: i64, account_id: i64) -> ServiceResult<AccountRow> {
    accounts::table
        .filter(accounts::id.eq(account_id))
        .filter(accounts::bank_id.eq(bank_id))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("account"))
}

pub fn system_account(
    conn: &mut Db,
    bank_id: i64,
    asset: Asset,
    kind: AccountKind,
) -> ServiceResult<AccountRow> {
    accounts::table
        .filter(accounts::bank_id.eq(bank_id))
        .filter(accounts::asset.eq(asset.as_str()))
        .filter(accounts::kind.eq(kind.as_str()))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("system account"))
}

pub fn with_balance(conn: &mut Db, row: AccountRow) -> ServiceResult<AccountBalance> {
    if row.facts()?.kind.is_wallet() {
        let (balance, held) = (row.balance, row.held);
        return Ok(AccountBalance { row, balance, held });
    }
    let derived: i64 = postings::table
        .filter(postings::account_id.eq(row.id))
        .select(crate::db::sum_bigint("amount"))
        .first(conn)?;
    Ok(AccountBalance {
        row,
        balance: derived,
        held: 0,
    })
}

pub fn list_accounts(
    conn: &mut Db,
    bank_id: i64,
    after_id: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<AccountRow>> {
    Ok(accounts::table
        .filter(accounts::bank_id.eq(bank_id))
        .filter(accounts::id.gt(after_id.unwrap_or(0)))
        .order(accounts::id)
        .limit(limit)
        .select(AccountRow::as_select())
        .load(conn)?)
}

/// One line of an account's statement.
#[derive(Debug, Clone, Queryable)]
pub struct StatementRow {
    pub posting_id: i64,
    pub entry_id: i64,
    pub amount: i64,
    pub balance_after: Option<i64>,
    pub created_at: i64,
    pub kind: String,
    pub memo: String,
    pub reference: Option<String>,
    pub actor: String,
    pub reverses_entry_id: Option<i64>,
    pub origin: Option<String>,
    pub rule_code: Option<String>,
    pub rule_name: Option<String>,
    pub rule_category: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct StatementFilter {
    /// Only postings older than this posting id (the cursor).
    pub before_posting_id: Option<i64>,
    pub from_micros: Option<i64>,
    pub to_micros: Option<i64>,
    pub kind: Option<String>,
    pub limit: i64,
}

/// Newest first.
pub fn statement(
    conn: &mut Db,
    account_id: i64,
    filter: &StatementFilter,
) -> ServiceResult<Vec<StatementRow>> {
    let mut query = postings::table
        .inner_join(entries::table.left_join(rules::table))
        .filter(postings::account_id.eq(account_id))
        .into_boxed();
    if let Some(before) = filter.before_posting_id {
        query = query.filter(postings::id.lt(before));
    }
    if let Some(from) = filter.from_micros {
        query = query.filter(postings::created_at.ge(from));
    }
    if let Some(to) = filter.to_micros {
        query = query.filter(postings::created_at.lt(to));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(entries::kind.eq(kind.clone()));
    }
    Ok(query
        .order(postings::id.desc())
        .limit(filter.limit)
        .select((
            postings::id,
            postings::entry_id,
            postings::amount,
            postings::balance_after,
            postings::created_at,
            entries::kind,
            entries::memo,
            entries::reference,
            entries::actor,
            entries::reverses_entry_id,
            entries::origin,
            rules::code.nullable(),
            rules::name.nullable(),
            rules::category.nullable(),
        ))
        .load(conn)?)
}

/// Locks every wallet of these members in this bank, in account-id order. Account-id order is
/// the one order in which every transaction that touches several wallets takes them, so two
/// batches that list the same members differently wait for each other instead of deadlocking.
/// SQLite needs nothing: its write transactions already run one at a time.
pub fn lock_member_wallets(conn: &mut Db, bank_id: i64, member_ids: &[i64]) -> ServiceResult<()> {
    if let Db::Pg(pg) = conn {
        accounts::table
            .filter(accounts::bank_id.eq(bank_id))
            .filter(accounts::member_id.eq_any(member_ids))
            .order(accounts::id)
            .select(accounts::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    Ok(())
}
