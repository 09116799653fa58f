//! Signing up for an activity: members themselves, or staff for members whose record allows
//! others to act for them. Places are first come, first served; the waiting list moves up when a
//! place frees.

use std::collections::HashMap;

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::activities::{ActivityFilter, ActivityRow, SignupRow};
use crate::domain::access::Action;
use crate::domain::activities::activity::{distance_m, StoredStatus};
use crate::error::{ConflictCode, ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::activities::activity_in_scope;
use crate::service::Store;

pub fn sign_me_up(store: &Store, member_id: i64, activity_id: i64) -> ServiceResult<SignupRow> {
    store.write(|conn| db::activities::sign_up(conn, activity_id, member_id, None, store.now()))
}

pub fn cancel_my_signup(
    store: &Store,
    member_id: i64,
    activity_id: i64,
) -> ServiceResult<SignupRow> {
    store.write(|conn| db::activities::cancel_signup(conn, activity_id, member_id, store.now()))
}

/// A sign-up by staff on the member's behalf, with the member's name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProxiedSignup {
    pub signup: SignupRow,
    pub member_name: String,
}

/// Staff sign a member up (e.g. an elderly resident without a smartphone). Only for members
/// whose record allows it (`proxy_not_allowed`), in the organiser's units.
pub fn sign_up_member(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    activity_id: i64,
    member_id: i64,
) -> ServiceResult<ProxiedSignup> {
    let guard = staff.guard(Action::RunActivities);
    store.write(|conn| {
        let (_, path) = activity_in_scope(conn, &guard, activity_id)?;
        let (member, member_path) = db::members::get_member(conn, member_id)?;
        guard.at(&member_path)?;
        if !member.allow_proxy {
            return Err(ServiceError::conflict(
                ConflictCode::ProxyNotAllowed,
                format!("member {member_id}'s record does not allow others to act for them"),
            ));
        }
        let actor = Some(staff.actor());
        let row = db::activities::sign_up(conn, activity_id, member_id, actor, store.now())?;
        let signup = ProxiedSignup {
            signup: row,
            member_name: member.name,
        };
        let target = format!("activity:{activity_id}");
        audit::created(conn, audit, "signup.on_behalf", target, &path, &signup)?;
        Ok(signup)
    })
}

/// The activity's sign-ups with member names: confirmed, then waiting, then cancelled.
pub fn list_signups(
    store: &Store,
    staff: &Staff,
    activity_id: i64,
) -> ServiceResult<Vec<(SignupRow, String)>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        activity_in_scope(conn, &guard, activity_id)?;
        db::activities::list_signups(conn, activity_id)
    })
}

/// An upcoming activity as a member sees it: their sign-up and how far away it is.
pub struct NearbyActivity {
    pub activity: ActivityRow,
    /// The member's sign-up status, if they signed up.
    pub my_signup: Option<String>,
    /// Metres from `here` to the activity's place, when both are known.
    pub distance_m: Option<i64>,
}

/// Where the member is (micro-degrees) and how far they will go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nearness {
    pub here: Option<(i64, i64)>,
    pub within_m: Option<i64>,
}

/// The published activities of the member's bank that have not ended: nearest first when the
/// member said where they are (only those within `within_m`), otherwise soonest first.
pub fn my_activities(
    store: &Store,
    member_id: i64,
    nearness: Nearness,
) -> ServiceResult<Vec<NearbyActivity>> {
    let mut items = store.read(|conn| {
        let now = store.now();
        let bank_id = db::members::bank_of(conn, member_id)?;
        let filter = ActivityFilter {
            bank_id,
            statuses: vec![StoredStatus::Published],
            ending_after: Some(now),
            limit: 200,
            after_id: None,
        };
        let rows = db::activities::list_activities(conn, &filter)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mine: HashMap<i64, String> = db::activities::my_signups(conn, member_id, &ids)?
            .into_iter()
            .collect();
        Ok(rows
            .into_iter()
            .map(|row| NearbyActivity {
                distance_m: match (nearness.here, row.geofence()) {
                    (Some(here), Some(fence)) => Some(
                        distance_m(here, (fence.latitude_e6, fence.longitude_e6)).round() as i64,
                    ),
                    _ => None,
                },
                my_signup: mine.get(&row.id).cloned(),
                activity: row,
            })
            .collect::<Vec<_>>())
    })?;
    if let Some(limit) = nearness.within_m {
        items.retain(|item| item.distance_m.is_none_or(|d| d <= limit));
    }
    if nearness.here.is_some() {
        items.sort_by_key(|item| (item.distance_m.unwrap_or(i64::MAX), item.activity.id));
    } else {
        items.sort_by_key(|item| item.activity.starts_at);
    }
    Ok(items)
}

/// One activity of the member's bank with their sign-up, also after it ended. Drafts and other
/// banks' activities are answered like missing ones.
pub fn my_activity(
    store: &Store,
    member_id: i64,
    activity_id: i64,
) -> ServiceResult<NearbyActivity> {
    store.read(|conn| {
        let row = db::activities::get_activity(conn, activity_id)?;
        let bank_id = db::members::bank_of(conn, member_id)?;
        if row.bank_id != bank_id || row.stored_status()? == StoredStatus::Draft {
            return Err(ServiceError::NotFound("activity"));
        }
        let my_signup = db::activities::my_signups(conn, member_id, &[activity_id])?
            .into_iter()
            .map(|(_, status)| status)
            .next();
        Ok(NearbyActivity {
            activity: row,
            my_signup,
            distance_m: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::access::Role;
    use crate::service::activities::lifecycle::publish_activity;
    use crate::service::testing::Village;

    const HOUR: Duration = Duration::from_secs(3600);

    /// A published activity starting in an hour: open for sign-up.
    fn upcoming(village: &Village) -> i64 {
        let organiser = village.staff(1, Role::Organiser);
        let activity = village.draft_activity(HOUR, 3 * HOUR);
        publish_activity(
            &village.store,
            &organiser,
            &village.audit(&organiser),
            activity,
        )
        .expect("published");
        activity
    }

    #[test]
    fn a_member_signs_up_and_sees_the_activity_with_their_signup() {
        let village = Village::fresh();
        let member = village.member("王秀英");
        let activity = upcoming(&village);
        let signup = sign_me_up(&village.store, member, activity).expect("signed up");
        assert_eq!(signup.status, "confirmed");
        let mine = my_activities(&village.store, member, Nearness::default()).expect("list");
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].my_signup.as_deref(), Some("confirmed"));
        let cancelled = cancel_my_signup(&village.store, member, activity).expect("cancelled");
        assert_eq!(cancelled.status, "cancelled");
    }

    #[test]
    fn staff_sign_up_only_members_whose_record_allows_it() {
        let village = Village::fresh();
        let organiser = village.staff(1, Role::Organiser);
        let audit = village.audit(&organiser);
        let activity = upcoming(&village);
        let allowing = village.member("王秀英");
        let proxied = sign_up_member(&village.store, &organiser, &audit, activity, allowing)
            .expect("signed up");
        assert_eq!(proxied.signup.proxied_by.as_deref(), Some("staff:1"));
        let refusing = village.member("李四");
        village
            .store
            .write(|c| {
                use diesel::prelude::*;
                diesel::update(crate::db::schema::members::table.find(refusing))
                    .set(crate::db::schema::members::allow_proxy.eq(false))
                    .execute(c)?;
                Ok(())
            })
            .expect("refuses proxies");
        let refused = sign_up_member(&village.store, &organiser, &audit, activity, refusing);
        assert_eq!(refused.err().map(|e| e.code()), Some("proxy_not_allowed"));
        let listed = list_signups(&village.store, &organiser, activity).expect("list");
        assert_eq!(listed.len(), 1);
    }

    #[test]
    fn an_activity_that_has_ended_is_no_longer_offered() {
        let village = Village::fresh();
        let member = village.member("王秀英");
        village.activity(2 * HOUR, HOUR, 5);
        village.clock.advance(2 * HOUR);
        assert!(my_activities(&village.store, member, Nearness::default())
            .expect("list")
            .is_empty());
    }
}
