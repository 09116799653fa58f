//! Journal entries posted by staff: a double-entry movement between accounts of one bank, and
//! the reversal that undoes one.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::idempotency::Outcome;
use crate::db::ledger::{EntryRecord, NewEntry};
use crate::domain::access::Action;
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::{EntryKind, MAX_POSTINGS_PER_ENTRY};
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::ledger::once_in_bank;
use crate::service::{Idempotency, Store};

/// An entry as staff asked for it: the kind passed `postable_kind`, the lines `checked_postings`.
#[derive(Debug, Clone)]
pub struct PostEntryCommand {
    pub bank_id: i64,
    pub kind: EntryKind,
    pub memo: String,
    pub reference: Option<String>,
    /// `(account id, amount)`: positive raises the account's balance, negative lowers it.
    pub postings: Vec<(i64, Amount)>,
}

/// The kinds staff may post by hand; redemptions and reversals come only from their own
/// use-cases (captures and `reverse_entry`).
pub fn postable_kind(text: &str) -> ServiceResult<EntryKind> {
    EntryKind::parse(text)
        .filter(|kind| kind.is_directly_postable())
        .ok_or_else(|| {
            ServiceError::validation("kind", "must be award, deduct, transfer, expire or adjust")
        })
}

/// At most `MAX_POSTINGS_PER_ENTRY` lines, none of zero. Whether they balance and fit the kind
/// is decided when the entry is posted.
pub fn checked_postings(lines: &[(i64, Amount)]) -> ServiceResult<Vec<(i64, Amount)>> {
    if lines.len() > MAX_POSTINGS_PER_ENTRY {
        return Err(ServiceError::validation(
            "postings",
            format!("at most {MAX_POSTINGS_PER_ENTRY} lines"),
        ));
    }
    if let Some(index) = lines.iter().position(|(_, amount)| *amount == Amount::ZERO) {
        return Err(ServiceError::validation(
            format!("postings[{index}].amount"),
            "must not be zero",
        ));
    }
    Ok(lines.to_vec())
}

/// Posts the entry in one transaction. A member wallet never goes below zero: a debit larger
/// than what is available writes nothing. A retry with the same idempotency key replays the
/// first entry.
pub fn post_entry(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    idempotency: &Idempotency,
    command: &PostEntryCommand,
) -> ServiceResult<(EntryRecord, Outcome)> {
    let actor = staff.actor();
    let bank_id = command.bank_id;
    once_in_bank(
        store,
        staff,
        Action::PostEntries,
        idempotency,
        bank_id,
        |conn, path, now| {
            let lines = db::ledger::resolve_lines(conn, bank_id, &command.postings)?;
            let new = NewEntry {
                bank_id,
                kind: command.kind,
                memo: &command.memo,
                reference: command.reference.as_deref(),
                actor,
                reverses_entry_id: None,
                rule_id: None,
                origin: None,
                lines,
            };
            let record = db::ledger::post_entry(conn, new, now)?;
            let target = format!("entry:{}", record.entry.id);
            audit::created(conn, audit, "entry.post", target, path, &record)?;
            Ok(record)
        },
    )
}

/// Which entry to undo, and why (shown on the statement).
#[derive(Debug, Clone)]
pub struct ReverseEntryCommand {
    pub bank_id: i64,
    pub entry_id: i64,
    pub memo: String,
}

/// Posts the exact opposite of an entry as a `reverse` entry pointing at it; the original stays.
/// An entry is reversed once, a reversal never; refused if a member has spent the points. A
/// retry with the same idempotency key replays the reversal.
pub fn reverse_entry(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    idempotency: &Idempotency,
    command: &ReverseEntryCommand,
) -> ServiceResult<(EntryRecord, Outcome)> {
    let actor = staff.actor();
    let (bank_id, entry_id) = (command.bank_id, command.entry_id);
    once_in_bank(
        store,
        staff,
        Action::PostEntries,
        idempotency,
        bank_id,
        |conn, path, now| {
            let record =
                db::ledger::reverse_entry(conn, bank_id, entry_id, &command.memo, actor, now)?;
            let target = format!("entry:{entry_id}");
            audit::created(conn, audit, "entry.reverse", target, path, &record)?;
            Ok(record)
        },
    )
}

/// One entry of the bank with its postings.
pub fn get_entry(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    entry_id: i64,
) -> ServiceResult<EntryRecord> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::ledger::get_entry(conn, bank_id, entry_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::service::testing::{points, Village};

    /// `(the bank's points issuance account, a member's points wallet, the member)`.
    fn book(village: &Village) -> (i64, i64, i64) {
        let member = village.member("王秀英");
        let (issuance, wallet) = village.points_accounts(member);
        (issuance, wallet, member)
    }

    fn award(village: &Village, issuance: i64, wallet: i64, units: i64) -> PostEntryCommand {
        let amount = Amount::units(units);
        PostEntryCommand {
            bank_id: village.bank_id,
            kind: EntryKind::Award,
            memo: "防溺水巡河 2 小时".into(),
            reference: None,
            postings: vec![(issuance, amount.negate()), (wallet, amount)],
        }
    }

    fn post(
        village: &Village,
        staff: &Staff,
        command: &PostEntryCommand,
        key: Option<&str>,
    ) -> ServiceResult<(EntryRecord, Outcome)> {
        let idempotency = Idempotency {
            key: key.map(str::to_string),
            fingerprint: format!("{command:?}"),
        };
        post_entry(
            &village.store,
            staff,
            &village.audit(staff),
            &idempotency,
            command,
        )
    }

    fn reverse(village: &Village, entry_id: i64) -> ServiceResult<(EntryRecord, Outcome)> {
        let admin = village.staff(1, Role::OrgAdmin);
        let command = ReverseEntryCommand {
            bank_id: village.bank_id,
            entry_id,
            memo: "录入错误：重复发放".into(),
        };
        reverse_entry(
            &village.store,
            &admin,
            &village.audit(&admin),
            &Idempotency::default(),
            &command,
        )
    }

    #[test]
    fn a_retry_with_the_same_key_replays_the_first_entry_and_pays_once() {
        let village = Village::fresh();
        let (issuance, wallet, member) = book(&village);
        let admin = village.staff(1, Role::OrgAdmin);
        let command = award(&village, issuance, wallet, 10);

        let (first, fresh) = post(&village, &admin, &command, Some("k-1")).unwrap();
        let (again, replayed) = post(&village, &admin, &command, Some("k-1")).unwrap();

        assert_eq!((fresh, replayed), (Outcome::Fresh, Outcome::Replayed));
        assert_eq!(again.entry.id, first.entry.id);
        assert_eq!(again.postings.len(), 2);
        assert_eq!(village.balance(member, "POINTS"), points(10));
        assert_eq!(village.audit_log("entry.post").len(), 1);
        let other = award(&village, issuance, wallet, 3);
        let reused = post(&village, &admin, &other, Some("k-1")).unwrap_err();
        assert_eq!(reused.code(), "idempotency_conflict");
        assert_eq!(village.balance(member, "POINTS"), points(10));
    }

    #[test]
    fn a_debit_beyond_the_wallet_is_refused_and_writes_nothing() {
        let village = Village::fresh();
        let (issuance, wallet, member) = book(&village);
        let admin = village.staff(1, Role::OrgAdmin);
        post(
            &village,
            &admin,
            &award(&village, issuance, wallet, 5),
            None,
        )
        .unwrap();
        let six = Amount::units(6);
        let deduct = PostEntryCommand {
            kind: EntryKind::Deduct,
            postings: vec![(wallet, six.negate()), (issuance, six)],
            ..award(&village, issuance, wallet, 6)
        };

        let refused = post(&village, &admin, &deduct, None).unwrap_err();

        assert_eq!(refused.code(), "insufficient_funds");
        assert_eq!(village.balance(member, "POINTS"), points(5));
        assert_eq!(village.audit_log("entry.post").len(), 1);
    }

    #[test]
    fn only_staff_allowed_to_post_move_points() {
        let village = Village::fresh();
        let (issuance, wallet, member) = book(&village);
        let command = award(&village, issuance, wallet, 5);

        let clerk = post(&village, &village.staff(2, Role::Clerk), &command, None);
        let elsewhere = post(&village, &village.neighbouring_clerk(3), &command, None);

        assert_eq!(clerk.unwrap_err().code(), "forbidden");
        assert_eq!(elsewhere.unwrap_err().code(), "not_found");
        assert_eq!(village.balance(member, "POINTS"), 0);
    }

    #[test]
    fn an_entry_is_reversed_once_and_a_reversal_never() {
        let village = Village::fresh();
        let (issuance, wallet, member) = book(&village);
        let admin = village.staff(1, Role::OrgAdmin);
        let (paid, _) = post(
            &village,
            &admin,
            &award(&village, issuance, wallet, 5),
            None,
        )
        .unwrap();

        let (reversal, _) = reverse(&village, paid.entry.id).unwrap();
        let twice = reverse(&village, paid.entry.id).unwrap_err();
        let of_the_reversal = reverse(&village, reversal.entry.id).unwrap_err();

        assert_eq!(reversal.entry.reverses_entry_id, Some(paid.entry.id));
        assert_eq!(twice.code(), "already_reversed");
        assert_eq!(of_the_reversal.code(), "not_reversible");
        assert_eq!(village.balance(member, "POINTS"), 0);
        assert_eq!(village.audit_log("entry.reverse").len(), 1);
    }

    #[test]
    fn staff_post_only_the_kinds_made_by_hand_and_no_empty_lines() {
        assert_eq!(postable_kind("award").unwrap(), EntryKind::Award);
        assert_eq!(postable_kind("redeem").unwrap_err().field(), Some("kind"));
        assert_eq!(postable_kind("reverse").unwrap_err().field(), Some("kind"));
        let zero = [(1, Amount::from_minor(5)), (2, Amount::ZERO)];
        assert_eq!(
            checked_postings(&zero).unwrap_err().field(),
            Some("postings[1].amount")
        );
        let too_many = vec![(1, Amount::from_minor(1)); MAX_POSTINGS_PER_ENTRY + 1];
        assert_eq!(
            checked_postings(&too_many).unwrap_err().field(),
            Some("postings")
        );
    }
}
