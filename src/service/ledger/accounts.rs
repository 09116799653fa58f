//! Reading a bank's accounts: pages of them with balances, one account, its statement.

use crate::db;
use crate::db::ledger::accounts::{AccountBalance, StatementFilter, StatementRow};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// One page of the bank's accounts in id order, after `after_id`, each with its balance.
pub fn list_accounts(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    after_id: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<AccountBalance>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        let rows = db::ledger::accounts::list_accounts(conn, bank_id, after_id, limit)?;
        rows.into_iter()
            .map(|row| db::ledger::accounts::with_balance(conn, row))
            .collect()
    })
}

pub fn get_account(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    account_id: i64,
) -> ServiceResult<AccountBalance> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        let row = db::ledger::accounts::get_account(conn, bank_id, account_id)?;
        db::ledger::accounts::with_balance(conn, row)
    })
}

/// One page of an account's postings, newest first. The account must be in the bank, so a
/// statement cannot be read through a bank the staff member happens to cover.
pub fn statement(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    account_id: i64,
    filter: &StatementFilter,
) -> ServiceResult<Vec<StatementRow>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::ledger::accounts::get_account(conn, bank_id, account_id)?;
        db::ledger::accounts::statement(conn, account_id, filter)
    })
}
