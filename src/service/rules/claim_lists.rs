//! Reading claims (申报): a member's own, and a bank's approval queue for its staff.

use crate::db;
use crate::db::rules::claims::{ClaimFilter, ClaimRow};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// The member's own claims matching `filter`, newest first; the filter is narrowed to them.
pub fn my_claims(
    store: &Store,
    member_id: i64,
    filter: ClaimFilter,
) -> ServiceResult<Vec<ClaimRow>> {
    let filter = ClaimFilter {
        member_id: Some(member_id),
        ..filter
    };
    store.read(|conn| db::rules::claims::list_claims(conn, &filter))
}

/// The bank's claims and pending awards matching `filter`, newest first.
pub fn bank_claims(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    filter: ClaimFilter,
) -> ServiceResult<Vec<ClaimRow>> {
    let guard = staff.guard(Action::ReadLedger);
    let filter = ClaimFilter {
        bank_id: Some(bank_id),
        ..filter
    };
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::rules::claims::list_claims(conn, &filter)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::domain::rules::Caps;
    use crate::error::ServiceError;
    use crate::service::rules::claims::{submit_my_claim, ClaimCommand};
    use crate::service::testing::Village;

    fn all() -> ClaimFilter {
        ClaimFilter {
            bank_id: None,
            member_id: None,
            status: None,
            before_id: None,
            limit: 50,
        }
    }

    #[test]
    fn the_queue_shows_the_banks_claims_and_a_member_only_their_own() {
        let village = Village::fresh();
        let rule_id = village.rule("G01", (5, 5, 5), false, Caps::default());
        let claimant = village.member("王秀英");
        let other = village.member("李四");
        let command = ClaimCommand {
            rule_id,
            points: None,
            description: "帮助孤寡老人打扫院子".into(),
            evidence: Vec::new(),
        };
        let claim = submit_my_claim(&village.store, claimant, &command).expect("claim");

        let auditor = village.staff(3, Role::Auditor);
        let queue = bank_claims(&village.store, &auditor, village.bank_id, all()).expect("queue");
        assert_eq!(queue.iter().map(|c| c.id).collect::<Vec<_>>(), [claim.id]);
        assert_eq!(
            my_claims(&village.store, claimant, all())
                .expect("mine")
                .len(),
            1
        );
        assert!(my_claims(&village.store, other, all())
            .expect("theirs")
            .is_empty());
    }

    #[test]
    fn another_villages_clerk_does_not_find_the_queue() {
        let village = Village::fresh();
        let stranger = village.neighbouring_clerk(9);
        let hidden = bank_claims(&village.store, &stranger, village.bank_id, all());
        assert!(
            matches!(hidden, Err(ServiceError::NotFound(_))),
            "{hidden:?}"
        );
    }
}
