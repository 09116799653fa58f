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
