//! Holds on member wallets: points reserved now, captured into a `redeem` entry or released
//! later.

use serde::{Deserialize, Serialize};

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::idempotency::Outcome;
use crate::db::ledger::holds::{Capture, HoldRow, NewHold};
use crate::db::ledger::EntryRecord;
use crate::domain::access::Action;
use crate::domain::ledger::money::Amount;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::ledger::once_in_bank;
use crate::service::{Idempotency, Store};

/// A reservation on a wallet, already checked for shape: a positive amount, a duration that
/// passed `domain::ledger::hold::check_duration`.
#[derive(Debug, Clone)]
pub struct CreateHoldCommand {
    pub bank_id: i64,
    pub account_id: i64,
    pub amount: Amount,
    pub memo: String,
    pub reference: Option<String>,
    pub expires_in_seconds: i64,
}

/// Reserves points on a member's wallet of the bank: what is available drops at once, the
/// balance only on capture. Refused, writing nothing, when too little is available. A retry
/// with the same idempotency key replays the first hold.
pub fn create_hold(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    idempotency: &Idempotency,
    command: &CreateHoldCommand,
) -> ServiceResult<(HoldRow, Outcome)> {
    let actor = staff.actor();
    let bank_id = command.bank_id;
    once_in_bank(
        store,
        staff,
        Action::ManageHolds,
        idempotency,
        bank_id,
        |conn, path, now| {
            let account = db::ledger::accounts::get_account(conn, bank_id, command.account_id)?;
            let new = NewHold {
                account: &account,
                amount: command.amount,
                memo: &command.memo,
                reference: command.reference.as_deref(),
                actor,
                expires_at: now + command.expires_in_seconds * 1_000_000,
            };
            let hold = db::ledger::holds::create_hold(conn, new, now)?;
            let target = format!("hold:{}", hold.id);
            audit::created(conn, audit, "hold.create", target, path, &hold)?;
            Ok(hold)
        },
    )
}

/// What to capture of a hold: all of it (`amount: None`) or a positive part.
#[derive(Debug, Clone)]
pub struct CaptureHoldCommand {
    pub bank_id: i64,
    pub hold_id: i64,
    pub amount: Option<Amount>,
    pub memo: String,
}

/// A captured hold and the `redeem` entry it became; kept with the idempotency key and in the
/// audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Captured {
    pub hold: HoldRow,
    pub entry: EntryRecord,
}

/// Turns a pending hold into a `redeem` entry to the bank's redemption account and releases
/// what was not captured. A hold is captured or released once, however many try at the same
/// time; more than it holds is refused. A retry with the same idempotency key replays it.
pub fn capture_hold(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    idempotency: &Idempotency,
    command: &CaptureHoldCommand,
) -> ServiceResult<(Captured, Outcome)> {
    let actor = staff.actor();
    let (bank_id, hold_id) = (command.bank_id, command.hold_id);
    once_in_bank(
        store,
        staff,
        Action::ManageHolds,
        idempotency,
        bank_id,
        |conn, path, now| {
            let capture = Capture {
                bank_id,
                hold_id,
                amount: command.amount,
                memo: &command.memo,
                actor,
            };
            let (hold, entry) = db::ledger::holds::capture_hold(conn, capture, now)?;
            let captured = Captured { hold, entry };
            let target = format!("hold:{hold_id}");
            audit::created(conn, audit, "hold.capture", target, path, &captured)?;
            Ok(captured)
        },
    )
}

/// Gives a pending hold's points back to the wallet (one already past its deadline ends as
/// `expired` instead). Releasing twice is refused.
pub fn release_hold(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    bank_id: i64,
    hold_id: i64,
) -> ServiceResult<HoldRow> {
    let guard = staff.guard(Action::ManageHolds);
    store.write(|conn| {
        let path = guard.bank(conn, bank_id)?;
        let hold = db::ledger::holds::release_hold(conn, bank_id, hold_id, store.now())?;
        audit::created(
            conn,
            audit,
            "hold.release",
            format!("hold:{hold_id}"),
            &path,
            &hold,
        )?;
        Ok(hold)
    })
}

pub fn get_hold(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    hold_id: i64,
) -> ServiceResult<HoldRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::ledger::holds::get_hold(conn, bank_id, hold_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::service::testing::{points, Village};

    /// A member with 50 points, and their wallet.
    fn funded() -> (Village, i64, i64) {
        let village = Village::fresh();
        let member = village.member("王秀英");
        village.earn(member, 50);
        let (_, wallet) = village.points_accounts(member);
        (village, member, wallet)
    }

    fn hold(village: &Village, staff: &Staff, wallet: i64, units: i64) -> ServiceResult<HoldRow> {
        let command = CreateHoldCommand {
            bank_id: village.bank_id,
            account_id: wallet,
            amount: Amount::units(units),
            memo: "order 7: 2 × 洗衣液".into(),
            reference: Some("order:7".into()),
            expires_in_seconds: 3600,
        };
        let audit = village.audit(staff);
        create_hold(
            &village.store,
            staff,
            &audit,
            &Idempotency::default(),
            &command,
        )
        .map(|(hold, _)| hold)
    }

    fn capture(
        village: &Village,
        hold_id: i64,
        units: Option<i64>,
        key: Option<&str>,
    ) -> ServiceResult<(Captured, Outcome)> {
        let clerk = village.staff(2, Role::Clerk);
        let command = CaptureHoldCommand {
            bank_id: village.bank_id,
            hold_id,
            amount: units.map(Amount::units),
            memo: "积分超市兑换：2 × 洗衣液".into(),
        };
        let idempotency = Idempotency {
            key: key.map(str::to_string),
            fingerprint: format!("{command:?}"),
        };
        capture_hold(
            &village.store,
            &clerk,
            &village.audit(&clerk),
            &idempotency,
            &command,
        )
    }

    #[test]
    fn a_hold_outside_your_units_is_not_found_and_reserves_nothing() {
        let (village, member, wallet) = funded();

        let elsewhere = hold(&village, &village.neighbouring_clerk(3), wallet, 10);
        let auditor = hold(&village, &village.staff(4, Role::Auditor), wallet, 10);

        assert_eq!(elsewhere.unwrap_err().code(), "not_found");
        assert_eq!(auditor.unwrap_err().code(), "forbidden");
        assert_eq!(village.held(member), 0);
    }

    #[test]
    fn a_hold_beyond_what_is_available_is_refused() {
        let (village, member, wallet) = funded();
        let clerk = village.staff(2, Role::Clerk);
        hold(&village, &clerk, wallet, 30).unwrap();

        let refused = hold(&village, &clerk, wallet, 21).unwrap_err();

        assert_eq!(refused.code(), "insufficient_funds");
        assert_eq!(village.held(member), points(30));
        assert_eq!(village.audit_log("hold.create").len(), 1);
    }

    #[test]
    fn capturing_more_than_held_is_refused_and_writes_nothing() {
        let (village, member, wallet) = funded();
        let placed = hold(&village, &village.staff(2, Role::Clerk), wallet, 20).unwrap();

        let refused = capture(&village, placed.id, Some(21), None).unwrap_err();

        assert_eq!(refused.code(), "capture_exceeds_hold");
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.held(member), points(20));
        assert!(village.audit_log("hold.capture").is_empty());
    }

    #[test]
    fn a_part_capture_redeems_that_part_releases_the_rest_and_replays_under_its_key() {
        let (village, member, wallet) = funded();
        let placed = hold(&village, &village.staff(2, Role::Clerk), wallet, 20).unwrap();

        let (captured, _) = capture(&village, placed.id, Some(15), Some("k-1")).unwrap();
        let (again, outcome) = capture(&village, placed.id, Some(15), Some("k-1")).unwrap();

        assert_eq!(captured.hold.status, "captured");
        assert_eq!(captured.hold.captured_amount, Some(points(15)));
        assert_eq!(captured.entry.entry.kind, "redeem");
        assert_eq!(outcome, Outcome::Replayed);
        assert_eq!(again.entry.entry.id, captured.entry.entry.id);
        assert_eq!(village.balance(member, "POINTS"), points(35));
        assert_eq!(village.held(member), 0);
    }

    #[test]
    fn a_released_hold_gives_the_points_back_once() {
        let (village, member, wallet) = funded();
        let clerk = village.staff(2, Role::Clerk);
        let placed = hold(&village, &clerk, wallet, 20).unwrap();
        let release = || {
            release_hold(
                &village.store,
                &clerk,
                &village.audit(&clerk),
                village.bank_id,
                placed.id,
            )
        };

        let released = release().unwrap();
        let twice = release().unwrap_err();
        let captured_after = capture(&village, placed.id, None, None).unwrap_err();

        assert_eq!(released.status, "released");
        assert_eq!(twice.code(), "hold_not_pending");
        assert_eq!(captured_after.code(), "hold_not_pending");
        assert_eq!(village.held(member), 0);
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.audit_log("hold.release").len(), 1);
    }
}
