//! Verifying a bank's book: the seal chain and every invariant, recomputed from the rows.

use crate::db;
use crate::db::ledger::verify::Verification;
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// Checks the bank's book in one snapshot, so that writes landing meanwhile cannot show up as
/// broken invariants.
pub fn verify_bank(store: &Store, staff: &Staff, bank_id: i64) -> ServiceResult<Verification> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::snapshot_tx(conn, |conn| db::ledger::verify::verify_bank(conn, bank_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::error::ServiceError;
    use crate::service::testing::Village;

    #[test]
    fn an_auditor_verifies_a_sound_book_and_another_villages_clerk_gets_not_found() {
        let village = Village::fresh();
        let member = village.member("王秀英");
        village.earn(member, 5);

        let auditor = village.staff(3, Role::Auditor);
        let verification = verify_bank(&village.store, &auditor, village.bank_id).expect("verify");
        assert!(verification.findings.is_empty());
        assert!(verification.tally.entries_checked >= 1);

        let stranger = village.neighbouring_clerk(9);
        let hidden = verify_bank(&village.store, &stranger, village.bank_id);
        assert!(matches!(hidden, Err(ServiceError::NotFound(_))));
    }
}
