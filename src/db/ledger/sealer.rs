//! The background sealer: chains committed entries into blocks, off the write path.
//! Writers only insert an unsealed marker; they never wait for the chain.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::ledger::{content_of, EntryRow, PostingRow};
use crate::db::schema::{entries, entry_seals, postings, seals};
use crate::db::Db;
use crate::domain::ledger::seal::{entry_hash, seal_hash, GENESIS_HASH};
use crate::error::{ServiceError, ServiceResult};

/// Most entries in one seal: keeps each sealing transaction short.
pub const MAX_ENTRIES_PER_SEAL: i64 = 1000;

/// The banks that have entries waiting for a seal.
pub fn banks_with_unsealed(conn: &mut Db) -> ServiceResult<Vec<i64>> {
    Ok(entry_seals::table
        .filter(entry_seals::seal_seq.is_null())
        .select(entry_seals::bank_id)
        .distinct()
        .load(conn)?)
}

/// Seals up to `MAX_ENTRIES_PER_SEAL` unsealed entries of one bank as the next block.
pub fn seal_next_block(conn: &mut Db, bank_id: i64, now: i64) -> ServiceResult<usize> {
    let pending: Vec<i64> = entry_seals::table
        .filter(entry_seals::bank_id.eq(bank_id))
        .filter(entry_seals::seal_seq.is_null())
        .order(entry_seals::entry_id)
        .limit(MAX_ENTRIES_PER_SEAL)
        .select(entry_seals::entry_id)
        .load(conn)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let head: Option<(i64, String)> = seals::table
        .filter(seals::bank_id.eq(bank_id))
        .order(seals::seq.desc())
        .select((seals::seq, seals::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let entry_rows: Vec<EntryRow> = entries::table
        .filter(entries::id.eq_any(&pending))
        .order(entries::id)
        .select(EntryRow::as_select())
        .load(conn)?;
    let posting_rows: Vec<PostingRow> = postings::table
        .filter(postings::entry_id.eq_any(&pending))
        .order(postings::id)
        .select(PostingRow::as_select())
        .load(conn)?;
    let by_entry = group_by_entry(posting_rows);
    let hashes: Vec<(i64, String)> = entry_rows
        .iter()
        .map(|entry| {
            let own = by_entry.get(&entry.id).map(Vec::as_slice).unwrap_or(&[]);
            (entry.id, entry_hash(&content_of(entry, own)))
        })
        .collect();
    let hash = seal_hash(bank_id, seq, &prev_hash, &hashes);
    diesel::insert_into(seals::table)
        .values((
            seals::bank_id.eq(bank_id),
            seals::seq.eq(seq),
            seals::prev_hash.eq(&prev_hash),
            seals::hash.eq(&hash),
            seals::entry_count.eq(hashes.len() as i64),
            seals::sealed_at.eq(now),
        ))
        .execute(conn)?;
    for (entry_id, entry_hash) in &hashes {
        let updated = diesel::update(
            entry_seals::table
                .filter(entry_seals::entry_id.eq(entry_id))
                .filter(entry_seals::seal_seq.is_null()),
        )
        .set((
            entry_seals::seal_seq.eq(seq),
            entry_seals::entry_hash.eq(entry_hash),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "entry {entry_id} was sealed concurrently; retrying later"
            )));
        }
    }
    Ok(hashes.len())
}

pub fn group_by_entry(postings: Vec<PostingRow>) -> HashMap<i64, Vec<PostingRow>> {
    let mut grouped: HashMap<i64, Vec<PostingRow>> = HashMap::new();
    for posting in postings {
        grouped.entry(posting.entry_id).or_default().push(posting);
    }
    grouped
}
