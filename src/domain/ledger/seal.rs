//! Tamper evidence: every entry is hashed over its canonical content, and a bank's entries are
//! chained in small blocks (seals). Editing any stored entry or posting changes a hash that a
//! later seal commits to.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of a bank's first seal.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything about an entry that must never change, in a fixed field order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EntryContent {
    pub id: i64,
    pub bank_id: i64,
    pub kind: String,
    pub memo: String,
    pub reference: Option<String>,
    pub actor: String,
    pub reverses_entry_id: Option<i64>,
    pub created_at: i64,
    /// Left out of the hash when absent, so entries written before rules existed keep their hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Sorted by posting id.
    pub postings: Vec<PostingContent>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PostingContent {
    pub id: i64,
    pub account_id: i64,
    pub asset: String,
    pub amount: i64,
    pub balance_after: Option<i64>,
}

pub fn entry_hash(entry: &EntryContent) -> String {
    let canonical = serde_json::to_string(entry).expect("plain structs always serialise");
    let mut hasher = Sha256::new();
    hasher.update(b"pointsbank-entry-v1\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// The hash of one seal: its position, its predecessor and its entries' hashes in entry-id order.
pub fn seal_hash(bank_id: i64, seq: i64, prev_hash: &str, entries: &[(i64, String)]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("pointsbank-seal-v1\n{bank_id}\n{seq}\n{prev_hash}\n").as_bytes());
    for (entry_id, hash) in entries {
        hasher.update(format!("{entry_id}:{hash}\n").as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EntryContent {
        EntryContent {
            id: 7,
            bank_id: 1,
            kind: "award".into(),
            memo: "river patrol".into(),
            reference: Some("activity:3".into()),
            actor: "staff:1".into(),
            reverses_entry_id: None,
            created_at: 1_700_000_000_000_000,
            rule_id: None,
            origin: None,
            postings: vec![
                PostingContent {
                    id: 13,
                    account_id: 1,
                    asset: "POINTS".into(),
                    amount: -500,
                    balance_after: None,
                },
                PostingContent {
                    id: 14,
                    account_id: 9,
                    asset: "POINTS".into(),
                    amount: 500,
                    balance_after: Some(500),
                },
            ],
        }
    }

    #[test]
    fn any_change_to_an_entry_changes_its_hash() {
        let original = entry_hash(&entry());
        assert_eq!(original, entry_hash(&entry()), "hashing is deterministic");
        let mut edited = entry();
        edited.postings[1].amount = 5000;
        assert_ne!(entry_hash(&edited), original);
        let mut edited = entry();
        edited.memo.push('!');
        assert_ne!(entry_hash(&edited), original);
    }

    #[test]
    fn a_seal_commits_to_its_predecessor_and_position() {
        let entries = vec![(7, entry_hash(&entry()))];
        let first = seal_hash(1, 1, GENESIS_HASH, &entries);
        assert_ne!(first, seal_hash(1, 2, GENESIS_HASH, &entries));
        assert_ne!(first, seal_hash(1, 1, &first, &entries));
        assert_ne!(first, seal_hash(2, 1, GENESIS_HASH, &entries));
    }
}
