//! Settlement: every attendee paid once, in short batches, by hand or automatically after the
//! grace period; running it again (or after a crash) pays only who is still unpaid.

use serde::Serialize;

use super::activity_in_scope;
use crate::db::access::audit::{self, AuditContext};
use crate::db::activities::attendance::AttendanceRow;
use crate::db::{self, Db};
use crate::domain::access::Action;
use crate::domain::ledger::money::Amount;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// The totals of an activity's settlement so far.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub activity_id: i64,
    /// `settled` once every attendance is paid.
    pub status: String,
    /// Attendances paid (all of them, over every settlement run).
    pub settled: i64,
    pub points: Amount,
    pub hours: Amount,
}

/// Settles an activity an organiser runs, batch by batch, and audits the totals.
pub fn settle_activity(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    activity_id: i64,
) -> ServiceResult<Totals> {
    let guard = staff.guard(Action::RunActivities);
    let org_path = store.read(|conn| Ok(activity_in_scope(conn, &guard, activity_id)?.1))?;
    pay_everyone(store, activity_id, staff.actor())?;
    store.write(|conn| {
        let totals = totals_of(conn, activity_id)?;
        audit::created(
            conn,
            audit,
            "activity.settle",
            format!("activity:{activity_id}"),
            &org_path,
            &totals,
        )?;
        Ok(totals)
    })
}

/// Pays every unpaid attendee, one batch per write transaction, as `actor`.
pub fn pay_everyone(store: &Store, activity_id: i64, actor: &str) -> ServiceResult<()> {
    loop {
        let remaining = store.write(|conn| {
            db::activities::settlement::settle_batch(conn, activity_id, actor, store.now())
        })?;
        if remaining == 0 {
            return Ok(());
        }
    }
}

fn totals_of(conn: &mut Db, activity_id: i64) -> ServiceResult<Totals> {
    let activity = db::activities::get_activity(conn, activity_id)?;
    let rows = db::activities::attendance::list_attendance(conn, activity_id)?;
    let paid: Vec<&AttendanceRow> = rows
        .iter()
        .map(|(row, _)| row)
        .filter(|row| row.settled_at.is_some())
        .collect();
    Ok(Totals {
        activity_id,
        status: activity.status,
        settled: paid.len() as i64,
        points: Amount::from_minor(paid.iter().map(|row| row.points.unwrap_or(0)).sum()),
        hours: Amount::from_minor(paid.iter().map(|row| row.hours.unwrap_or(0)).sum()),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::access::Role;
    use crate::domain::activities::activity::Purpose;
    use crate::domain::members::card::{card_number, PresentedCard};
    use crate::service::activities::checkin::card_scan;
    use crate::service::testing::{points, Village};

    const SECRET: &[u8] = b"a test secret for cards";
    const HOUR: Duration = Duration::from_secs(3600);

    fn attend(village: &Village, organiser: &Staff, activity: i64, member: i64) {
        let card = PresentedCard::read(SECRET, &card_number(member)).unwrap();
        card_scan(&village.store, organiser, activity, &card, Purpose::CheckIn).unwrap();
    }

    #[test]
    fn settling_pays_every_attendee_once_however_often_it_runs() {
        let village = Village::fresh();
        let organiser = village.staff(3, Role::Organiser);
        let activity = village.activity(HOUR, HOUR, 10);
        let members: Vec<i64> = (0..3)
            .map(|i| village.member(&format!("志愿者{i}")))
            .collect();
        for &member in &members {
            attend(&village, &organiser, activity, member);
        }
        let audit = village.audit(&organiser);
        let early = settle_activity(&village.store, &organiser, &audit, activity).unwrap_err();
        assert_eq!(early.code(), "not_finished");

        village.clock.advance(HOUR + Duration::from_secs(1));
        let totals = settle_activity(&village.store, &organiser, &audit, activity).unwrap();
        let again = settle_activity(&village.store, &organiser, &audit, activity).unwrap();

        assert_eq!((totals.status.as_str(), totals.settled), ("settled", 3));
        assert_eq!(totals.points, Amount::from_minor(points(30)));
        assert_eq!((again.settled, again.points), (3, totals.points));
        for member in members {
            assert_eq!(village.balance(member, "POINTS"), points(10));
        }
    }

    #[test]
    fn automatic_settlement_pays_as_the_system() {
        let village = Village::fresh();
        let organiser = village.staff(3, Role::Organiser);
        let activity = village.activity(HOUR, Duration::from_secs(60), 10);
        let member = village.member("张三");
        attend(&village, &organiser, activity, member);
        village.clock.advance(Duration::from_secs(61));

        pay_everyone(&village.store, activity, "system:auto-settle").unwrap();

        assert_eq!(village.balance(member, "POINTS"), points(10));
        let attendance = village
            .store
            .read(|c| db::activities::attendance::list_attendance(c, activity))
            .unwrap();
        let entry_id = attendance[0].0.settled_entry_id.expect("paid");
        let entry = village
            .store
            .read(|c| db::ledger::get_entry(c, village.bank_id, entry_id))
            .unwrap();
        assert_eq!(entry.entry.actor, "system:auto-settle");
    }

    #[test]
    fn an_organiser_of_another_village_cannot_settle() {
        let village = Village::fresh();
        let activity = village.activity(HOUR, HOUR, 10);
        let mut stranger = village.staff(9, Role::Organiser);
        stranger.0.scopes[0].path = "/999/".into();
        let refused = settle_activity(
            &village.store,
            &stranger,
            &village.audit(&stranger),
            activity,
        );
        assert_eq!(refused.unwrap_err().code(), "not_found");
    }
}
