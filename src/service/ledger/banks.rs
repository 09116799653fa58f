//! Banks and their accounts: opening a points book for a unit, and a wallet in it.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::ledger::accounts::AccountBalance;
use crate::db::ledger::banks::BankRow;
use crate::domain::access::Action;
use crate::domain::ledger::Asset;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// A bank for a unit, its name already checked for shape.
#[derive(Debug, Clone)]
pub struct CreateBankCommand {
    pub org_id: i64,
    pub name: String,
}

/// Opens a bank for the unit, with its own issuance, redemption, expiry and adjustment accounts
/// for both assets. Only an administrator of the unit (or above) may.
pub fn create_bank(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    command: &CreateBankCommand,
) -> ServiceResult<BankRow> {
    let guard = staff.guard(Action::ManageOrgs);
    store.write(|conn| {
        let path = guard.org(conn, command.org_id)?;
        let bank =
            db::ledger::banks::create_bank(conn, command.org_id, &command.name, store.now())?;
        audit::created(
            conn,
            audit,
            "bank.create",
            format!("bank:{}", bank.id),
            &path,
            &bank,
        )?;
        Ok(bank)
    })
}

/// A member wallet in one asset, its texts already checked for shape.
#[derive(Debug, Clone)]
pub struct OpenAccountCommand {
    pub bank_id: i64,
    pub asset: Asset,
    pub name: String,
    /// Who owns it, e.g. `member:42`.
    pub owner_ref: Option<String>,
}

/// Opens a wallet at zero in a bank of the caller's units.
pub fn open_account(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    command: &OpenAccountCommand,
) -> ServiceResult<AccountBalance> {
    let guard = staff.guard(Action::OpenAccounts);
    store.write(|conn| {
        let path = guard.bank(conn, command.bank_id)?;
        let row = db::ledger::accounts::open_member_account(
            conn,
            command.bank_id,
            command.asset,
            &command.name,
            command.owner_ref.as_deref(),
            store.now(),
        )?;
        let account = db::ledger::accounts::with_balance(conn, row)?;
        audit::created(
            conn,
            audit,
            "account.open",
            format!("account:{}", account.row.id),
            &path,
            &account,
        )?;
        Ok(account)
    })
}

/// The banks of the units in which the staff member may read the ledger.
pub fn list_banks(store: &Store, staff: &Staff) -> ServiceResult<Vec<BankRow>> {
    let paths = staff.paths_for(Action::ReadLedger);
    store.read(|conn| db::ledger::banks::list_banks_under(conn, &paths))
}

pub fn get_bank(store: &Store, staff: &Staff, bank_id: i64) -> ServiceResult<BankRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::ledger::banks::get_bank(conn, bank_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::access::orgs::OrgKind;
    use crate::domain::access::Role;
    use crate::domain::ledger::AccountKind;
    use crate::service::testing::Village;

    /// A grid (网格) below the village that has no bank of its own yet.
    fn grid(village: &Village) -> i64 {
        let parent = Some(&village.org);
        village
            .unit("330106001001001", "第一网格", OrgKind::Grid, parent)
            .id
    }

    fn bank_for(org_id: i64) -> CreateBankCommand {
        CreateBankCommand {
            org_id,
            name: "第一网格积分银行".into(),
        }
    }

    fn wallet_in(bank_id: i64) -> OpenAccountCommand {
        OpenAccountCommand {
            bank_id,
            asset: Asset::Points,
            name: "王秀英".into(),
            owner_ref: Some("member:42".into()),
        }
    }

    #[test]
    fn a_new_bank_has_the_system_accounts_of_both_assets_and_is_audited() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let org = grid(&village);

        let bank = create_bank(
            &village.store,
            &admin,
            &village.audit(&admin),
            &bank_for(org),
        )
        .unwrap();

        assert_eq!((bank.org_id, bank.name.as_str()), (org, "第一网格积分银行"));
        for &asset in Asset::ALL {
            for &kind in AccountKind::SYSTEM {
                let found = village
                    .store
                    .read(|c| db::ledger::accounts::system_account(c, bank.id, asset, kind));
                assert!(found.is_ok(), "{kind} {asset}");
            }
        }
        let logged = village.audit_log("bank.create");
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].target, format!("bank:{}", bank.id));
    }

    #[test]
    fn only_an_administrator_of_the_unit_opens_a_bank_and_a_refusal_writes_nothing() {
        let village = Village::fresh();
        let clerk = village.staff(2, Role::Clerk);
        let org = grid(&village);

        let refused = create_bank(
            &village.store,
            &clerk,
            &village.audit(&clerk),
            &bank_for(org),
        );
        let missing = create_bank(
            &village.store,
            &clerk,
            &village.audit(&clerk),
            &bank_for(org + 99),
        );

        assert_eq!(refused.unwrap_err().code(), "forbidden");
        assert_eq!(missing.unwrap_err().code(), "not_found");
        let banks = village.store.read(db::ledger::banks::list_banks).unwrap();
        assert_eq!(banks.len(), 1);
        assert!(village.audit_log("bank.create").is_empty());
    }

    #[test]
    fn an_organiser_opens_a_wallet_that_starts_at_zero() {
        let village = Village::fresh();
        let organiser = village.staff(3, Role::Organiser);

        let opened = open_account(
            &village.store,
            &organiser,
            &village.audit(&organiser),
            &wallet_in(village.bank_id),
        )
        .unwrap();

        assert_eq!(opened.row.bank_id, village.bank_id);
        assert_eq!(opened.row.kind, AccountKind::Member.as_str());
        assert_eq!(opened.row.owner_ref.as_deref(), Some("member:42"));
        assert_eq!((opened.balance, opened.held), (0, 0));
        assert_eq!(village.audit_log("account.open").len(), 1);
    }

    #[test]
    fn a_wallet_in_another_villages_bank_is_not_found() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let neighbour = village.member_of_neighbouring_bank("赵大勇");
        let their_bank = village
            .store
            .read(|c| db::members::bank_of(c, neighbour))
            .unwrap();

        let refused = open_account(
            &village.store,
            &admin,
            &village.audit(&admin),
            &wallet_in(their_bank),
        );

        assert_eq!(refused.unwrap_err().code(), "not_found");
        assert!(village.audit_log("account.open").is_empty());
    }
}
