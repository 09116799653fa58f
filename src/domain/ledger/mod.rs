//! The rules of the double-entry book: what an entry must look like before it may be written.

pub mod hold;
pub mod money;
pub mod seal;
pub mod verify;

use std::collections::BTreeMap;

use crate::domain::ledger::money::Amount;

/// Limits on one entry: enough for a batch award to a grid, small enough to stay one short transaction.
pub const MAX_POSTINGS_PER_ENTRY: usize = 500;
pub const MAX_MEMO_CHARS: usize = 500;
pub const MAX_REFERENCE_CHARS: usize = 200;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// What is counted. Points can be redeemed; service hours only accumulate.
    Asset { Points => "POINTS", Hours => "HOURS" }
}

string_enum! {
    /// The role an account plays in its bank.
    AccountKind {
        Member => "member",
        Issuance => "issuance",
        Redemption => "redemption",
        Expiry => "expiry",
        Adjustment => "adjustment",
    }
}

impl AccountKind {
    /// Member wallets may never go below zero and keep a cached balance checked on every debit.
    /// The bank's own accounts are unbounded: their balance is derived from postings, so they
    /// carry no row that every award would have to lock.
    pub fn is_wallet(self) -> bool {
        self == AccountKind::Member
    }

    /// The accounts every bank opens for each asset when it is created.
    pub const SYSTEM: &'static [AccountKind] = &[
        AccountKind::Issuance,
        AccountKind::Redemption,
        AccountKind::Expiry,
        AccountKind::Adjustment,
    ];
}

string_enum! {
    /// Why points moved.
    EntryKind {
        Award => "award",
        Deduct => "deduct",
        Redeem => "redeem",
        Reverse => "reverse",
        Expire => "expire",
        Adjust => "adjust",
        Transfer => "transfer",
    }
}

string_enum! {
    /// How an entry came about, shown to the volunteer next to every change of their balance.
    Origin {
        Checkin => "checkin",
        StaffAward => "staff_award",
        Backfill => "backfill",
        Claim => "claim",
        Deduction => "deduction",
        Appeal => "appeal",
        Merge => "merge",
        Redemption => "redemption",
    }
}

impl EntryKind {
    /// Kinds a staff member may post directly. Redemptions come only from captured holds and
    /// reversals only from the reversal operation, so their shape is always right.
    pub fn is_directly_postable(self) -> bool {
        !matches!(self, EntryKind::Redeem | EntryKind::Reverse)
    }
}

/// What the ledger needs to know about an account to judge a posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFacts {
    pub id: i64,
    pub asset: Asset,
    pub kind: AccountKind,
}

/// One line of a proposed entry: a positive amount raises the account's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub account: AccountFacts,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("an entry needs at least two postings")]
    TooFewPostings,
    #[error("an entry may have at most {MAX_POSTINGS_PER_ENTRY} postings")]
    TooManyPostings,
    #[error("a posting amount must not be zero")]
    ZeroAmount,
    #[error("account {0} appears twice in one entry")]
    DuplicateAccount(i64),
    #[error("the postings of asset {0} do not sum to zero")]
    Unbalanced(Asset),
    #[error("the amounts are too large to add up")]
    Overflow,
    #[error("entries of kind `{0}` cannot be posted directly")]
    NotDirectlyPostable(EntryKind),
    #[error("an entry of kind `{kind}` {rule}")]
    WrongShape { kind: EntryKind, rule: &'static str },
}

/// Checks that a proposed entry is a valid double-entry movement of its kind.
pub fn check_entry(kind: EntryKind, lines: &[Line]) -> Result<(), LedgerError> {
    if lines.len() < 2 {
        return Err(LedgerError::TooFewPostings);
    }
    if lines.len() > MAX_POSTINGS_PER_ENTRY {
        return Err(LedgerError::TooManyPostings);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut sums: BTreeMap<Asset, i64> = BTreeMap::new();
    for line in lines {
        if line.amount == Amount::ZERO {
            return Err(LedgerError::ZeroAmount);
        }
        if !seen.insert(line.account.id) {
            return Err(LedgerError::DuplicateAccount(line.account.id));
        }
        let sum = sums.entry(line.account.asset).or_insert(0);
        *sum = sum
            .checked_add(line.amount.minor())
            .ok_or(LedgerError::Overflow)?;
    }
    if let Some((asset, _)) = sums.iter().find(|(_, sum)| **sum != 0) {
        return Err(LedgerError::Unbalanced(*asset));
    }
    check_shape(kind, lines)
}

/// Each kind has a meaning reports rely on, e.g. an award always flows from issuance to members.
fn check_shape(kind: EntryKind, lines: &[Line]) -> Result<(), LedgerError> {
    use AccountKind::{Adjustment, Expiry, Issuance, Member, Redemption};
    let credits_only_to = |kinds: &[AccountKind]| {
        lines
            .iter()
            .filter(|l| l.amount.is_positive())
            .all(|l| kinds.contains(&l.account.kind))
    };
    let debits_only_from = |kinds: &[AccountKind]| {
        lines
            .iter()
            .filter(|l| l.amount.is_negative())
            .all(|l| kinds.contains(&l.account.kind))
    };
    let (ok, rule) = match kind {
        EntryKind::Award => (
            debits_only_from(&[Issuance]) && credits_only_to(&[Member]),
            "must move points from the issuance account to member accounts",
        ),
        EntryKind::Deduct => (
            debits_only_from(&[Member]) && credits_only_to(&[Issuance, Adjustment]),
            "must move points from member accounts to the issuance or adjustment account",
        ),
        EntryKind::Expire => (
            debits_only_from(&[Member]) && credits_only_to(&[Expiry]),
            "must move points from member accounts to the expiry account",
        ),
        EntryKind::Transfer => (
            debits_only_from(&[Member]) && credits_only_to(&[Member]),
            "must move points between member accounts",
        ),
        EntryKind::Redeem => (
            debits_only_from(&[Member]) && credits_only_to(&[Redemption]),
            "must move points from member accounts to the redemption account",
        ),
        EntryKind::Adjust | EntryKind::Reverse => (true, ""),
    };
    if ok {
        Ok(())
    } else {
        Err(LedgerError::WrongShape { kind, rule })
    }
}

/// The lines that undo an entry: every posting negated.
pub fn reversal_lines(original: &[Line]) -> Vec<Line> {
    original
        .iter()
        .map(|line| Line {
            account: line.account,
            amount: line.amount.negate(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: i64, kind: AccountKind) -> AccountFacts {
        AccountFacts {
            id,
            asset: Asset::Points,
            kind,
        }
    }

    fn line(id: i64, kind: AccountKind, units: i64) -> Line {
        Line {
            account: account(id, kind),
            amount: Amount::units(units),
        }
    }

    #[test]
    fn an_award_moves_points_from_issuance_to_a_member() {
        let lines = [
            line(1, AccountKind::Issuance, -10),
            line(2, AccountKind::Member, 10),
        ];
        assert_eq!(check_entry(EntryKind::Award, &lines), Ok(()));
        assert!(matches!(
            check_entry(EntryKind::Award, &reversal_lines(&lines)),
            Err(LedgerError::WrongShape { .. })
        ));
        assert_eq!(
            check_entry(EntryKind::Reverse, &reversal_lines(&lines)),
            Ok(())
        );
    }

    #[test]
    fn unbalanced_or_degenerate_entries_are_refused() {
        assert_eq!(
            check_entry(EntryKind::Adjust, &[line(1, AccountKind::Adjustment, 5)]),
            Err(LedgerError::TooFewPostings)
        );
        assert_eq!(
            check_entry(
                EntryKind::Adjust,
                &[
                    line(1, AccountKind::Adjustment, 5),
                    line(2, AccountKind::Member, -4)
                ]
            ),
            Err(LedgerError::Unbalanced(Asset::Points))
        );
        assert_eq!(
            check_entry(
                EntryKind::Transfer,
                &[
                    line(2, AccountKind::Member, 5),
                    line(2, AccountKind::Member, -5)
                ]
            ),
            Err(LedgerError::DuplicateAccount(2))
        );
    }

    #[test]
    fn each_asset_balances_on_its_own() {
        let hours = |id, kind, units| Line {
            account: AccountFacts {
                id,
                asset: Asset::Hours,
                kind,
            },
            amount: Amount::units(units),
        };
        let points_and_hours = [
            line(1, AccountKind::Issuance, -10),
            line(2, AccountKind::Member, 10),
            hours(3, AccountKind::Issuance, -2),
            hours(4, AccountKind::Member, 2),
        ];
        assert_eq!(check_entry(EntryKind::Award, &points_and_hours), Ok(()));
        let crossed = [
            line(1, AccountKind::Issuance, -10),
            hours(4, AccountKind::Member, 10),
        ];
        assert!(matches!(
            check_entry(EntryKind::Award, &crossed),
            Err(LedgerError::Unbalanced(_))
        ));
    }
}
