//! Loads a bank's raw rows and feeds them to the pure verifier.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::ledger::accounts::AccountRow;
use crate::db::ledger::sealer::group_by_entry;
use crate::db::ledger::{content_of, EntryRow, PostingRow};
use crate::db::schema::{accounts, entries, entry_seals, holds, postings, seals};
use crate::db::{stored, Db};
use crate::domain::ledger::hold::HoldStatus;
use crate::domain::ledger::verify::{
    stock_findings, AccountState, Finding, SealRecord, SealedEntry, Tally, Verifier,
};
use crate::domain::ledger::AccountKind;
use crate::error::ServiceResult;

pub struct Verification {
    pub bank_id: i64,
    pub findings: Vec<Finding>,
    pub tally: Tally,
}

/// Reads under one transaction so the book is seen at a single point in time.
pub fn verify_bank(conn: &mut Db, bank_id: i64) -> ServiceResult<Verification> {
    crate::db::ledger::banks::get_bank(conn, bank_id)?;
    let account_rows: Vec<AccountRow> = accounts::table
        .filter(accounts::bank_id.eq(bank_id))
        .select(AccountRow::as_select())
        .load(conn)?;
    let mut states = Vec::with_capacity(account_rows.len());
    for row in account_rows {
        states.push(AccountState {
            id: row.id,
            bank_id: row.bank_id,
            kind: stored(AccountKind::parse(&row.kind), "accounts.kind", &row.kind)?,
            asset: row.asset,
            balance: row.balance,
            held: row.held,
        });
    }
    let mut verifier = Verifier::new(bank_id, states);

    let seal_rows: Vec<(i64, String, String, i64)> = seals::table
        .filter(seals::bank_id.eq(bank_id))
        .order(seals::seq)
        .select((
            seals::seq,
            seals::prev_hash,
            seals::hash,
            seals::entry_count,
        ))
        .load(conn)?;
    for (seq, prev_hash, hash, entry_count) in seal_rows {
        let members: Vec<(i64, Option<String>)> = entry_seals::table
            .filter(entry_seals::bank_id.eq(bank_id))
            .filter(entry_seals::seal_seq.eq(seq))
            .order(entry_seals::entry_id)
            .select((entry_seals::entry_id, entry_seals::entry_hash))
            .load(conn)?;
        let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
        let contents = load_contents(conn, &ids)?;
        let sealed: Vec<SealedEntry> = members
            .into_iter()
            .filter_map(|(id, stored_hash)| {
                contents.get(&id).map(|content| SealedEntry {
                    content: content.clone(),
                    stored_hash: stored_hash.unwrap_or_default(),
                })
            })
            .collect();
        let seal = SealRecord {
            seq,
            prev_hash,
            hash,
            entry_count,
        };
        verifier.feed_seal(&seal, &sealed);
    }

    // Entries without a sealed marker: not yet sealed, or their marker was removed.
    let sealed_ids = entry_seals::table
        .filter(entry_seals::seal_seq.is_not_null())
        .select(entry_seals::entry_id);
    let mut after = 0i64;
    loop {
        let ids: Vec<i64> = entries::table
            .filter(entries::bank_id.eq(bank_id))
            .filter(entries::id.gt(after))
            .filter(entries::id.ne_all(sealed_ids))
            .order(entries::id)
            .limit(1000)
            .select(entries::id)
            .load(conn)?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        let contents = load_contents(conn, &ids)?;
        for id in &ids {
            if let Some(content) = contents.get(id) {
                verifier.feed_unsealed(content);
            }
        }
        after = last;
    }

    let pending: Vec<(i64, i64)> = holds::table
        .filter(holds::bank_id.eq(bank_id))
        .filter(holds::status.eq(HoldStatus::Pending.as_str()))
        .group_by(holds::account_id)
        .select((holds::account_id, crate::db::sum_bigint("amount")))
        .load(conn)?;
    let pending: HashMap<i64, i64> = pending.into_iter().collect();
    let (mut findings, tally) = verifier.finish(&pending);
    findings.extend(stock_findings(
        &crate::db::supermarket::goods::stock_states(conn, bank_id)?,
    ));
    Ok(Verification {
        bank_id,
        findings,
        tally,
    })
}

fn load_contents(
    conn: &mut Db,
    ids: &[i64],
) -> ServiceResult<HashMap<i64, crate::domain::ledger::seal::EntryContent>> {
    let entry_rows: Vec<EntryRow> = entries::table
        .filter(entries::id.eq_any(ids))
        .select(EntryRow::as_select())
        .load(conn)?;
    let posting_rows: Vec<PostingRow> = postings::table
        .filter(postings::entry_id.eq_any(ids))
        .select(PostingRow::as_select())
        .load(conn)?;
    let by_entry = group_by_entry(posting_rows);
    Ok(entry_rows
        .iter()
        .map(|e| {
            let own = by_entry.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
            (e.id, content_of(e, own))
        })
        .collect())
}
