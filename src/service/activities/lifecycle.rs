//! An activity's life: an organiser drafts it under a rule of the unit's bank, publishes it
//! (sign-up and, in its window, check-in open) or cancels it before it ends.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::activities::{ActivityFilter, ActivityRow, NewActivity};
use crate::domain::access::Action;
use crate::domain::activities::activity::StoredStatus;
use crate::error::{ConflictCode, ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::activities::activity_in_scope;
use crate::service::Store;

/// Drafts an activity in a unit the staff member organises, in the bank that covers the unit.
/// A `rule_id` must name a rule of that bank.
pub fn create_activity(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    new: &NewActivity,
) -> ServiceResult<ActivityRow> {
    let guard = staff.guard(Action::RunActivities);
    store.write(|conn| {
        let now = store.now();
        let org = db::access::orgs::get_org(conn, new.org_id)?;
        guard.at(&org.path)?;
        let (bank_id, _) = db::members::bank_for_path(conn, &org.path)?.ok_or_else(|| {
            ServiceError::validation("org_id", "no points bank covers this unit yet")
        })?;
        if let Some(rule_id) = new.rule_id {
            db::rules::get_rule(conn, bank_id, rule_id).map_err(|err| {
                err.when_not_found(|| {
                    ServiceError::validation("rule_id", "no such rule in the unit's bank")
                })
            })?;
        }
        let row = db::activities::create_activity(conn, bank_id, new, staff.actor(), now)?;
        let target = format!("activity:{}", row.id);
        audit::created(conn, audit, "activity.create", target, &org.path, &row)?;
        Ok(row)
    })
}

/// Opens a draft for sign-up and check-in.
pub fn publish_activity(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    activity_id: i64,
) -> ServiceResult<ActivityRow> {
    let drafts = &[StoredStatus::Draft];
    change_status(
        store,
        staff,
        audit,
        activity_id,
        drafts,
        StoredStatus::Published,
    )
}

/// Cancels a draft or a published activity that has not ended: nobody is paid, scans are refused.
pub fn cancel_activity(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    activity_id: i64,
) -> ServiceResult<ActivityRow> {
    let open = &[StoredStatus::Draft, StoredStatus::Published];
    change_status(
        store,
        staff,
        audit,
        activity_id,
        open,
        StoredStatus::Cancelled,
    )
}

fn change_status(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    activity_id: i64,
    from: &'static [StoredStatus],
    to: StoredStatus,
) -> ServiceResult<ActivityRow> {
    let guard = staff.guard(Action::RunActivities);
    store.write(|conn| {
        let now = store.now();
        let (before, path) = activity_in_scope(conn, &guard, activity_id)?;
        if to == StoredStatus::Cancelled && before.ends_at <= now {
            return Err(ServiceError::conflict(
                ConflictCode::InvalidTransition,
                "an activity that has ended cannot be cancelled",
            ));
        }
        let after = db::activities::transition(conn, activity_id, from, to, now)?;
        audit::changed(
            conn,
            audit,
            &format!("activity.{}", to.as_str()),
            format!("activity:{activity_id}"),
            &path,
            &before.status,
            &after.status,
        )?;
        Ok(after)
    })
}

/// Retires every printed check-in poster of the activity (e.g. a photo of it circulates) and
/// returns the activity with its new poster version.
pub fn replace_posters(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    activity_id: i64,
) -> ServiceResult<ActivityRow> {
    let guard = staff.guard(Action::RunActivities);
    store.write(|conn| {
        let (before, path) = activity_in_scope(conn, &guard, activity_id)?;
        let after = db::activities::replace_posters(conn, activity_id)?;
        audit::changed(
            conn,
            audit,
            "activity.replace_posters",
            format!("activity:{activity_id}"),
            &path,
            &before.poster_version,
            &after.poster_version,
        )?;
        Ok(after)
    })
}

pub fn get_activity(store: &Store, staff: &Staff, activity_id: i64) -> ServiceResult<ActivityRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| Ok(activity_in_scope(conn, &guard, activity_id)?.0))
}

/// The activity, for someone who runs it (its QR codes and posters).
pub fn activity_to_run(
    store: &Store,
    staff: &Staff,
    activity_id: i64,
) -> ServiceResult<ActivityRow> {
    let guard = staff.guard(Action::RunActivities);
    store.read(|conn| Ok(activity_in_scope(conn, &guard, activity_id)?.0))
}

/// One page of the bank's activities.
pub fn list_activities(
    store: &Store,
    staff: &Staff,
    filter: &ActivityFilter,
) -> ServiceResult<Vec<ActivityRow>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, filter.bank_id)?;
        db::activities::list_activities(conn, filter)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::access::Role;
    use crate::service::testing::Village;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_draft_is_published_once_and_cancelled_before_it_ends() {
        let village = Village::fresh();
        let organiser = village.staff(1, Role::Organiser);
        let audit = village.audit(&organiser);
        let activity = village.draft_activity(HOUR, 2 * HOUR);
        let published =
            publish_activity(&village.store, &organiser, &audit, activity).expect("published");
        assert_eq!(published.status, "published");
        let again = publish_activity(&village.store, &organiser, &audit, activity);
        assert_eq!(again.err().map(|e| e.code()), Some("invalid_transition"));
        let cancelled =
            cancel_activity(&village.store, &organiser, &audit, activity).expect("cancelled");
        assert_eq!(cancelled.status, "cancelled");
        assert_eq!(
            village.audited(&format!("activity:{activity}")),
            ["activity.published", "activity.cancelled"]
        );
    }

    #[test]
    fn an_activity_that_has_ended_cannot_be_cancelled() {
        let village = Village::fresh();
        let organiser = village.staff(1, Role::Organiser);
        let activity = village.activity(2 * HOUR, HOUR, 5);
        village.clock.advance(2 * HOUR);
        let refused = cancel_activity(
            &village.store,
            &organiser,
            &village.audit(&organiser),
            activity,
        );
        assert_eq!(refused.err().map(|e| e.code()), Some("invalid_transition"));
    }

    #[test]
    fn a_clerk_reads_activities_but_does_not_run_them() {
        let village = Village::fresh();
        let clerk = village.staff(2, Role::Clerk);
        let activity = village.draft_activity(HOUR, 2 * HOUR);
        assert_eq!(
            get_activity(&village.store, &clerk, activity)
                .expect("read")
                .id,
            activity
        );
        let refused = publish_activity(&village.store, &clerk, &village.audit(&clerk), activity);
        assert_eq!(refused.err().map(|e| e.code()), Some("forbidden"));
    }
}
