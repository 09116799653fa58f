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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::error::ServiceError;
    use crate::service::testing::{points, Village};

    fn newest(limit: i64) -> StatementFilter {
        StatementFilter {
            limit,
            ..StatementFilter::default()
        }
    }

    #[test]
    fn an_auditor_reads_the_statement_but_another_villages_clerk_gets_not_found() {
        let village = Village::fresh();
        let member = village.member("王秀英");
        village.earn(member, 5);
        let (_, wallet) = village.points_accounts(member);

        let auditor = village.staff(3, Role::Auditor);
        let lines = statement(
            &village.store,
            &auditor,
            village.bank_id,
            wallet,
            &newest(10),
        )
        .expect("statement");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].amount, points(5));

        let stranger = village.neighbouring_clerk(9);
        let hidden = statement(
            &village.store,
            &stranger,
            village.bank_id,
            wallet,
            &newest(10),
        );
        assert!(
            matches!(hidden, Err(ServiceError::NotFound(_))),
            "{hidden:?}"
        );
    }

    #[test]
    fn an_account_of_another_bank_is_not_read_through_this_one() {
        let village = Village::fresh();
        let other = village.member_of_neighbouring_bank("李四");
        let (_, wallet) = village.points_accounts(other);
        let auditor = village.staff(3, Role::Auditor);
        let found = get_account(&village.store, &auditor, village.bank_id, wallet);
        assert!(matches!(found, Err(ServiceError::NotFound(_))), "{found:?}");
        let listed =
            list_accounts(&village.store, &auditor, village.bank_id, None, 200).expect("accounts");
        assert!(listed.iter().all(|a| a.row.id != wallet));
    }
}
