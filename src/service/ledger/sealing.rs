//! Sealing: chains committed entries into hash-linked blocks, off the write path.

use crate::db::ledger::is_unique_violation;
use crate::db::ledger::sealer::{banks_with_unsealed, seal_next_block};
use crate::error::{ServiceError, ServiceResult};
use crate::service::Store;

/// Seals every bank's pending entries, one block per write transaction; returns how many
/// entries were sealed. Safe beside other instances doing the same.
pub fn seal_all(store: &Store) -> ServiceResult<usize> {
    let now = store.now();
    let mut sealed = 0;
    for bank_id in store.read(banks_with_unsealed)? {
        loop {
            match store.write(|conn| seal_next_block(conn, bank_id, now)) {
                Ok(0) => break,
                Ok(count) => sealed += count,
                // Another instance sealed this block first: nothing lost, it will be picked up.
                Err(ServiceError::Internal(err)) if is_unique_violation(&err) => break,
                Err(err) => return Err(err),
            }
        }
    }
    Ok(sealed)
}
