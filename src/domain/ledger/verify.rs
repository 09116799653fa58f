//! Recomputes a bank's book from its raw rows and reports the first broken place of each kind.
//! The write path enforces the same invariants; this is the independent second check.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::domain::ledger::seal::{entry_hash, seal_hash, EntryContent, GENESIS_HASH};
use crate::domain::ledger::AccountKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable name of the broken invariant, e.g. `entry_unbalanced`.
    pub check: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal_seq: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct AccountState {
    pub id: i64,
    pub bank_id: i64,
    pub asset: String,
    pub kind: AccountKind,
    pub balance: i64,
    pub held: i64,
}

#[derive(Debug, Clone)]
pub struct SealRecord {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub entry_count: i64,
}

/// A sealed entry as stored: its content and the hash recorded when it was sealed.
pub struct SealedEntry {
    pub content: EntryContent,
    pub stored_hash: String,
}

#[derive(Debug, Default)]
pub struct Tally {
    pub entries_checked: u64,
    pub seals_checked: u64,
    pub unsealed_entries: u64,
    pub head_seal_seq: i64,
    pub head_hash: Option<String>,
}

pub struct Verifier {
    bank_id: i64,
    accounts: HashMap<i64, AccountState>,
    /// Per wallet: (posting id, amount, balance_after) to replay in order.
    wallet_postings: HashMap<i64, Vec<(i64, i64, Option<i64>)>>,
    sums: HashMap<i64, i64>,
    prev_hash: String,
    findings: BTreeMap<&'static str, Finding>,
    pub tally: Tally,
}

impl Verifier {
    pub fn new(bank_id: i64, accounts: Vec<AccountState>) -> Verifier {
        Verifier {
            bank_id,
            accounts: accounts.into_iter().map(|a| (a.id, a)).collect(),
            wallet_postings: HashMap::new(),
            sums: HashMap::new(),
            prev_hash: GENESIS_HASH.to_string(),
            findings: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// Keeps the first finding of each check: the earliest broken place is the useful one.
    fn report(&mut self, finding: Finding) {
        self.findings.entry(finding.check).or_insert(finding);
    }

    fn finding(check: &'static str, detail: String) -> Finding {
        Finding {
            check,
            detail,
            entry_id: None,
            account_id: None,
            seal_seq: None,
        }
    }

    /// Feeds one seal with its entries in entry-id order; seals must come in `seq` order.
    pub fn feed_seal(&mut self, seal: &SealRecord, entries: &[SealedEntry]) {
        self.tally.seals_checked += 1;
        if seal.prev_hash != self.prev_hash {
            self.report(Finding {
                seal_seq: Some(seal.seq),
                ..Self::finding(
                    "seal_chain_broken",
                    format!("seal {} does not follow the previous seal", seal.seq),
                )
            });
        }
        if seal.entry_count != entries.len() as i64 {
            self.report(Finding {
                seal_seq: Some(seal.seq),
                ..Self::finding(
                    "seal_entry_missing",
                    format!(
                        "seal {} covers {} entries but {} are stored",
                        seal.seq,
                        seal.entry_count,
                        entries.len()
                    ),
                )
            });
        }
        let mut hashes = Vec::with_capacity(entries.len());
        for sealed in entries {
            let recomputed = entry_hash(&sealed.content);
            if recomputed != sealed.stored_hash {
                self.report(Finding {
                    entry_id: Some(sealed.content.id),
                    seal_seq: Some(seal.seq),
                    ..Self::finding(
                        "entry_altered",
                        format!(
                            "entry {} no longer matches the hash sealed in seal {}",
                            sealed.content.id, seal.seq
                        ),
                    )
                });
            }
            hashes.push((sealed.content.id, sealed.stored_hash.clone()));
            self.feed_entry(&sealed.content);
        }
        let recomputed = seal_hash(self.bank_id, seal.seq, &seal.prev_hash, &hashes);
        if recomputed != seal.hash {
            self.report(Finding {
                seal_seq: Some(seal.seq),
                ..Self::finding(
                    "seal_altered",
                    format!("seal {} does not match the entries it covers", seal.seq),
                )
            });
        }
        self.prev_hash = seal.hash.clone();
        self.tally.head_seal_seq = seal.seq;
        self.tally.head_hash = Some(seal.hash.clone());
    }

    /// Feeds an entry that no seal covers yet (the sealer runs about once a second).
    pub fn feed_unsealed(&mut self, entry: &EntryContent) {
        self.tally.unsealed_entries += 1;
        self.feed_entry(entry);
    }

    fn feed_entry(&mut self, entry: &EntryContent) {
        self.tally.entries_checked += 1;
        let mut per_asset: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
        for posting in &entry.postings {
            let slot = per_asset.entry(posting.asset.as_str()).or_insert((0, 0));
            slot.0 = slot.0.saturating_add(posting.amount);
            slot.1 += 1;
            *self.sums.entry(posting.account_id).or_insert(0) += posting.amount;
            match self.accounts.get(&posting.account_id) {
                Some(account)
                    if account.bank_id == entry.bank_id && account.asset == posting.asset =>
                {
                    if account.kind.is_wallet() {
                        self.wallet_postings.entry(account.id).or_default().push((
                            posting.id,
                            posting.amount,
                            posting.balance_after,
                        ));
                    }
                }
                _ => self.report(Finding {
                    entry_id: Some(entry.id),
                    account_id: Some(posting.account_id),
                    ..Self::finding(
                        "posting_account_mismatch",
                        format!(
                            "posting {} of entry {} names an account of another bank or asset",
                            posting.id, entry.id
                        ),
                    )
                }),
            }
        }
        let unbalanced = entry.postings.len() < 2
            || per_asset
                .values()
                .any(|(sum, count)| *sum != 0 || *count < 2);
        if unbalanced {
            self.report(Finding {
                entry_id: Some(entry.id),
                ..Self::finding(
                    "entry_unbalanced",
                    format!(
                        "the postings of entry {} do not sum to zero per asset",
                        entry.id
                    ),
                )
            });
        }
    }

    /// Compares cached balances and holds with what the postings say. `pending_holds` maps a
    /// wallet to the sum of its pending holds.
    pub fn finish(mut self, pending_holds: &HashMap<i64, i64>) -> (Vec<Finding>, Tally) {
        let mut accounts: Vec<AccountState> = self.accounts.values().cloned().collect();
        accounts.sort_by_key(|a| a.id);
        for account in accounts.iter().filter(|a| a.kind.is_wallet()) {
            let derived = self.sums.get(&account.id).copied().unwrap_or(0);
            let at = |check, detail| Finding {
                account_id: Some(account.id),
                ..Self::finding(check, detail)
            };
            if derived != account.balance {
                self.report(at(
                    "balance_mismatch",
                    format!(
                        "account {} caches balance {} but its postings sum to {}",
                        account.id, account.balance, derived
                    ),
                ));
            }
            if account.balance < 0 || account.held < 0 || account.held > account.balance {
                self.report(at(
                    "wallet_negative",
                    format!(
                        "wallet {} has balance {} and held {}",
                        account.id, account.balance, account.held
                    ),
                ));
            }
            let holds = pending_holds.get(&account.id).copied().unwrap_or(0);
            if holds != account.held {
                self.report(at(
                    "held_mismatch",
                    format!(
                        "wallet {} caches held {} but its pending holds sum to {}",
                        account.id, account.held, holds
                    ),
                ));
            }
            let mut postings = self.wallet_postings.remove(&account.id).unwrap_or_default();
            postings.sort_by_key(|p| p.0);
            let mut running = 0i64;
            for (posting_id, amount, balance_after) in postings {
                running += amount;
                if running < 0 || balance_after != Some(running) {
                    self.report(Finding {
                        account_id: Some(account.id),
                        ..Self::finding(
                            "running_balance_mismatch",
                            format!(
                                "posting {posting_id} of wallet {} records balance {:?}, replay gives {running}",
                                account.id, balance_after
                            ),
                        )
                    });
                    break;
                }
            }
        }
        (self.findings.into_values().collect(), self.tally)
    }
}

/// What the database holds about one goods' stock, for the stock checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockState {
    pub goods_id: i64,
    /// The cached stock on the goods row.
    pub stock: i64,
    /// The sum of its stock log.
    pub logged: i64,
    /// The cached reservation on the goods row.
    pub reserved: i64,
    /// The quantities of its pending order lines.
    pub pending: i64,
}

/// The stock log is the truth: the cached stock must equal its sum, and the reservation the
/// pending orders' quantities. Reports the first goods breaking each.
pub fn stock_findings(goods: &[StockState]) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(g) = goods.iter().find(|g| g.stock != g.logged) {
        findings.push(Verifier::finding(
            "stock_mismatch",
            format!(
                "goods {}: cached stock {} but the stock log sums to {}",
                g.goods_id, g.stock, g.logged
            ),
        ));
    }
    if let Some(g) = goods.iter().find(|g| g.reserved != g.pending) {
        findings.push(Verifier::finding(
            "reservation_mismatch",
            format!(
                "goods {}: {} reserved but pending orders hold {}",
                g.goods_id, g.reserved, g.pending
            ),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::seal::PostingContent;

    fn wallet(id: i64, balance: i64) -> AccountState {
        AccountState {
            id,
            bank_id: 1,
            asset: "POINTS".into(),
            kind: if id == 1 {
                AccountKind::Issuance
            } else {
                AccountKind::Member
            },
            balance,
            held: 0,
        }
    }

    fn award(id: i64, to: i64, amount: i64, balance_after: i64) -> EntryContent {
        EntryContent {
            id,
            bank_id: 1,
            kind: "award".into(),
            memo: String::new(),
            reference: None,
            actor: "staff:1".into(),
            reverses_entry_id: None,
            created_at: id,
            rule_id: None,
            origin: None,
            postings: vec![
                PostingContent {
                    id: id * 10,
                    account_id: 1,
                    asset: "POINTS".into(),
                    amount: -amount,
                    balance_after: None,
                },
                PostingContent {
                    id: id * 10 + 1,
                    account_id: to,
                    asset: "POINTS".into(),
                    amount,
                    balance_after: Some(balance_after),
                },
            ],
        }
    }

    fn sealed(entries: &[EntryContent]) -> (SealRecord, Vec<SealedEntry>) {
        let hashes: Vec<(i64, String)> = entries.iter().map(|e| (e.id, entry_hash(e))).collect();
        let seal = SealRecord {
            seq: 1,
            prev_hash: GENESIS_HASH.into(),
            hash: seal_hash(1, 1, GENESIS_HASH, &hashes),
            entry_count: entries.len() as i64,
        };
        let stored = entries
            .iter()
            .map(|e| SealedEntry {
                content: e.clone(),
                stored_hash: entry_hash(e),
            })
            .collect();
        (seal, stored)
    }

    #[test]
    fn a_consistent_book_has_no_findings() {
        let entries = [award(1, 2, 500, 500), award(2, 2, 300, 800)];
        let (seal, stored) = sealed(&entries);
        let mut verifier = Verifier::new(1, vec![wallet(1, 0), wallet(2, 800)]);
        verifier.feed_seal(&seal, &stored);
        let (findings, tally) = verifier.finish(&HashMap::new());
        assert_eq!(findings, vec![]);
        assert_eq!(tally.entries_checked, 2);
    }

    #[test]
    fn an_edited_posting_is_found_with_its_entry() {
        let entries = [award(1, 2, 500, 500), award(2, 2, 300, 800)];
        let (seal, mut stored) = sealed(&entries);
        stored[1].content.postings[1].amount = 3000;
        let mut verifier = Verifier::new(1, vec![wallet(1, 0), wallet(2, 800)]);
        verifier.feed_seal(&seal, &stored);
        let (findings, _) = verifier.finish(&HashMap::new());
        let altered = findings
            .iter()
            .find(|f| f.check == "entry_altered")
            .unwrap();
        assert_eq!(altered.entry_id, Some(2));
        assert!(findings.iter().any(|f| f.check == "entry_unbalanced"));
        assert!(findings.iter().any(|f| f.check == "balance_mismatch"));
    }

    #[test]
    fn stock_must_follow_its_log_and_reservations_the_pending_orders() {
        let good = StockState {
            goods_id: 1,
            stock: 5,
            logged: 5,
            reserved: 2,
            pending: 2,
        };
        assert!(stock_findings(&[good]).is_empty());
        let edited = StockState { stock: 9, ..good };
        let leaked = StockState {
            goods_id: 2,
            reserved: 3,
            ..good
        };
        let checks: Vec<&str> = stock_findings(&[good, edited, leaked])
            .iter()
            .map(|f| f.check)
            .collect();
        assert_eq!(checks, ["stock_mismatch", "reservation_mismatch"]);
    }
}
