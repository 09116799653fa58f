//! Activities and their sign-ups (with a waiting list).

pub mod attendance;
pub mod refusals;
pub mod settlement;

use diesel::prelude::*;

use crate::db::schema::{activities, members, signups};
use crate::db::{lock_row, stored, Db};
use crate::domain::activities::activity::{
    effective_status, ActivityStatus, AwardMode, AwardTerms, Geofence, HoursRounding,
    MissingCheckout, StoredStatus,
};
use crate::domain::activities::checkin::ScanTarget;
use crate::error::{ConflictCode, ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    pub id: i64,
    pub bank_id: i64,
    pub org_id: i64,
    pub rule_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub category: String,
    pub address: String,
    pub latitude_e6: Option<i64>,
    pub longitude_e6: Option<i64>,
    pub radius_m: Option<i64>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub signup_opens_at: Option<i64>,
    pub signup_closes_at: Option<i64>,
    pub capacity: Option<i64>,
    pub signup_required: bool,
    pub award_mode: String,
    pub points: i64,
    pub hours_unit_minutes: i64,
    pub hours_rounding: String,
    pub max_hours: i64,
    pub min_presence_percent: i64,
    pub missing_checkout: String,
    pub grace_minutes: i64,
    pub qr_step_seconds: i64,
    pub poster_version: i64,
    pub status: String,
    pub created_by: String,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

impl ActivityRow {
    pub fn stored_status(&self) -> ServiceResult<StoredStatus> {
        stored(
            StoredStatus::parse(&self.status),
            "activities.status",
            &self.status,
        )
    }

    pub fn status_at(&self, now: i64) -> ServiceResult<ActivityStatus> {
        Ok(effective_status(
            self.stored_status()?,
            self.starts_at,
            self.ends_at,
            now,
        ))
    }

    pub fn geofence(&self) -> Option<Geofence> {
        Some(Geofence {
            latitude_e6: self.latitude_e6?,
            longitude_e6: self.longitude_e6?,
            radius_m: self.radius_m?,
        })
    }

    pub fn scan_target(&self) -> ServiceResult<ScanTarget> {
        Ok(ScanTarget {
            activity_id: self.id,
            status: self.stored_status()?,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            grace_minutes: self.grace_minutes,
            qr_step_seconds: self.qr_step_seconds,
            poster_version: self.poster_version,
            geofence: self.geofence(),
        })
    }

    pub fn terms(&self) -> ServiceResult<AwardTerms> {
        Ok(AwardTerms {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            mode: stored(
                AwardMode::parse(&self.award_mode),
                "activities.award_mode",
                &self.award_mode,
            )?,
            points: self.points,
            hours_unit_minutes: self.hours_unit_minutes,
            rounding: stored(
                HoursRounding::parse(&self.hours_rounding),
                "activities.hours_rounding",
                &self.hours_rounding,
            )?,
            max_hours: self.max_hours,
            min_presence_percent: self.min_presence_percent,
            missing_checkout: stored(
                MissingCheckout::parse(&self.missing_checkout),
                "activities.missing_checkout",
                &self.missing_checkout,
            )?,
        })
    }
}

/// A new activity, checked by the caller.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub org_id: i64,
    pub rule_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub category: String,
    pub address: String,
    pub geofence: Option<Geofence>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub signup_opens_at: Option<i64>,
    pub signup_closes_at: Option<i64>,
    pub capacity: Option<i64>,
    pub signup_required: bool,
    pub terms: AwardTerms,
    pub grace_minutes: i64,
    pub qr_step_seconds: i64,
}

pub fn create_activity(
    conn: &mut Db,
    bank_id: i64,
    new: &NewActivity,
    created_by: &str,
    now: i64,
) -> ServiceResult<ActivityRow> {
    Ok(diesel::insert_into(activities::table)
        .values((
            activities::bank_id.eq(bank_id),
            activities::org_id.eq(new.org_id),
            activities::rule_id.eq(new.rule_id),
            activities::title.eq(&new.title),
            activities::description.eq(&new.description),
            activities::category.eq(&new.category),
            activities::address.eq(&new.address),
            activities::latitude_e6.eq(new.geofence.map(|g| g.latitude_e6)),
            activities::longitude_e6.eq(new.geofence.map(|g| g.longitude_e6)),
            activities::radius_m.eq(new.geofence.map(|g| g.radius_m)),
            activities::starts_at.eq(new.starts_at),
            activities::ends_at.eq(new.ends_at),
            activities::signup_opens_at.eq(new.signup_opens_at),
            activities::signup_closes_at.eq(new.signup_closes_at),
            activities::capacity.eq(new.capacity),
            activities::signup_required.eq(new.signup_required),
            activities::award_mode.eq(new.terms.mode.as_str()),
            activities::points.eq(new.terms.points),
            activities::hours_unit_minutes.eq(new.terms.hours_unit_minutes),
            activities::hours_rounding.eq(new.terms.rounding.as_str()),
            activities::max_hours.eq(new.terms.max_hours),
            activities::min_presence_percent.eq(new.terms.min_presence_percent),
            activities::missing_checkout.eq(new.terms.missing_checkout.as_str()),
            activities::grace_minutes.eq(new.grace_minutes),
            activities::qr_step_seconds.eq(new.qr_step_seconds),
            activities::status.eq(StoredStatus::Draft.as_str()),
            activities::created_by.eq(created_by),
            activities::created_at.eq(now),
        ))
        .returning(activities::all_columns)
        .get_result(conn)?)
}

pub fn get_activity(conn: &mut Db, activity_id: i64) -> ServiceResult<ActivityRow> {
    activities::table
        .find(activity_id)
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("activity"))
}

/// The activity, locked against concurrent sign-ups and settlement until the transaction ends.
pub fn lock_activity(conn: &mut Db, activity_id: i64) -> ServiceResult<ActivityRow> {
    lock_row(conn, "activities", activity_id)?;
    get_activity(conn, activity_id)
}

/// Moves an activity from one stored status to another, or says why it cannot.
pub fn transition(
    conn: &mut Db,
    activity_id: i64,
    from: &[StoredStatus],
    to: StoredStatus,
    now: i64,
) -> ServiceResult<ActivityRow> {
    let current = lock_activity(conn, activity_id)?;
    let status = current.stored_status()?;
    if !from.contains(&status) {
        return Err(ServiceError::conflict(
            ConflictCode::InvalidTransition,
            format!("activity {activity_id} is {status}; it cannot become {to}"),
        ));
    }
    let settled_at = (to == StoredStatus::Settled).then_some(now);
    Ok(diesel::update(activities::table.find(activity_id))
        .set((
            activities::status.eq(to.as_str()),
            activities::settled_at.eq(settled_at),
        ))
        .returning(activities::all_columns)
        .get_result(conn)?)
}

/// Voids every printed poster of the activity (e.g. a photo of it circulates).
pub fn replace_posters(conn: &mut Db, activity_id: i64) -> ServiceResult<ActivityRow> {
    Ok(diesel::update(activities::table.find(activity_id))
        .set(activities::poster_version.eq(activities::poster_version + 1))
        .returning(activities::all_columns)
        .get_result(conn)?)
}

pub struct ActivityFilter {
    pub bank_id: i64,
    /// Only these stored statuses (all when empty).
    pub statuses: Vec<StoredStatus>,
    /// Only activities that have not ended by then.
    pub ending_after: Option<i64>,
    pub limit: i64,
    pub after_id: Option<i64>,
}

/// By start time, then id.
pub fn list_activities(conn: &mut Db, filter: &ActivityFilter) -> ServiceResult<Vec<ActivityRow>> {
    let mut query = activities::table
        .filter(activities::bank_id.eq(filter.bank_id))
        .into_boxed();
    if !filter.statuses.is_empty() {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query = query.filter(activities::status.eq_any(statuses));
    }
    if let Some(after) = filter.ending_after {
        query = query.filter(activities::ends_at.gt(after));
    }
    if let Some(after_id) = filter.after_id {
        query = query.filter(activities::id.gt(after_id));
    }
    Ok(query
        .order(activities::id)
        .limit(filter.limit)
        .select(ActivityRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = signups)]
pub struct SignupRow {
    pub activity_id: i64,
    pub member_id: i64,
    pub status: String,
    pub proxied_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn find_signup(
    conn: &mut Db,
    activity_id: i64,
    member_id: i64,
) -> ServiceResult<Option<SignupRow>> {
    Ok(signups::table
        .find((activity_id, member_id))
        .select(SignupRow::as_select())
        .first(conn)
        .optional()?)
}

/// Signs a member up: confirmed while there is room, waitlisted after. Signing up again after
/// cancelling joins at the back. The activity row is locked, so capacity holds under load.
pub fn sign_up(
    conn: &mut Db,
    activity_id: i64,
    member_id: i64,
    proxied_by: Option<&str>,
    now: i64,
) -> ServiceResult<SignupRow> {
    let activity = lock_activity(conn, activity_id)?;
    if activity.status_at(now)? != ActivityStatus::Published {
        return Err(ServiceError::conflict(
            ConflictCode::SignupClosed,
            "sign-up is only open for published activities that have not started",
        ));
    }
    if activity.signup_opens_at.is_some_and(|at| now < at)
        || activity.signup_closes_at.is_some_and(|at| now >= at)
    {
        return Err(ServiceError::conflict(
            ConflictCode::SignupClosed,
            "outside the activity's sign-up window",
        ));
    }
    if crate::db::members::bank_of(conn, member_id)? != activity.bank_id {
        return Err(ServiceError::NotFound("member in this activity's bank"));
    }
    crate::db::rules::awards::require_active_member(conn, member_id)?;
    let existing = find_signup(conn, activity_id, member_id)?;
    if let Some(row) = &existing {
        if row.status != "cancelled" {
            return Ok(row.clone());
        }
    }
    let confirmed = count_confirmed(conn, activity_id)?;
    let status = match activity.capacity {
        Some(capacity) if confirmed >= capacity => "waitlisted",
        _ => "confirmed",
    };
    if existing.is_some() {
        diesel::update(signups::table.find((activity_id, member_id)))
            .set((
                signups::status.eq(status),
                signups::proxied_by.eq(proxied_by),
                signups::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(signups::table)
            .values((
                signups::activity_id.eq(activity_id),
                signups::member_id.eq(member_id),
                signups::status.eq(status),
                signups::proxied_by.eq(proxied_by),
                signups::created_at.eq(now),
                signups::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    find_signup(conn, activity_id, member_id)?.ok_or(ServiceError::NotFound("sign-up"))
}

fn count_confirmed(conn: &mut Db, activity_id: i64) -> ServiceResult<i64> {
    Ok(signups::table
        .filter(signups::activity_id.eq(activity_id))
        .filter(signups::status.eq("confirmed"))
        .count()
        .get_result(conn)?)
}

/// Cancels a sign-up; a freed place goes to the longest-waiting member.
pub fn cancel_signup(
    conn: &mut Db,
    activity_id: i64,
    member_id: i64,
    now: i64,
) -> ServiceResult<SignupRow> {
    let activity = lock_activity(conn, activity_id)?;
    let row = find_signup(conn, activity_id, member_id)?
        .filter(|row| row.status != "cancelled")
        .ok_or(ServiceError::NotFound("sign-up"))?;
    diesel::update(signups::table.find((activity_id, member_id)))
        .set((signups::status.eq("cancelled"), signups::updated_at.eq(now)))
        .execute(conn)?;
    let has_room = match activity.capacity {
        Some(capacity) => count_confirmed(conn, activity_id)? < capacity,
        None => true,
    };
    if row.status == "confirmed" && has_room {
        let next: Option<i64> = signups::table
            .filter(signups::activity_id.eq(activity_id))
            .filter(signups::status.eq("waitlisted"))
            .order((signups::updated_at, signups::member_id))
            .select(signups::member_id)
            .first(conn)
            .optional()?;
        if let Some(next) = next {
            diesel::update(signups::table.find((activity_id, next)))
                .set((signups::status.eq("confirmed"), signups::updated_at.eq(now)))
                .execute(conn)?;
        }
    }
    find_signup(conn, activity_id, member_id)?.ok_or(ServiceError::NotFound("sign-up"))
}

/// Sign-ups with the member's name, confirmed first, in order of joining.
pub fn list_signups(conn: &mut Db, activity_id: i64) -> ServiceResult<Vec<(SignupRow, String)>> {
    Ok(signups::table
        .inner_join(members::table)
        .filter(signups::activity_id.eq(activity_id))
        .order((signups::status, signups::updated_at, signups::member_id))
        .select((SignupRow::as_select(), members::name))
        .load(conn)?)
}

/// Whether the member holds a confirmed place.
pub fn is_confirmed(conn: &mut Db, activity_id: i64, member_id: i64) -> ServiceResult<bool> {
    Ok(find_signup(conn, activity_id, member_id)?.is_some_and(|row| row.status == "confirmed"))
}

/// The member's sign-up status per activity, for listing activities to a member.
pub fn my_signups(
    conn: &mut Db,
    member_id: i64,
    activity_ids: &[i64],
) -> ServiceResult<Vec<(i64, String)>> {
    Ok(signups::table
        .filter(signups::member_id.eq(member_id))
        .filter(signups::activity_id.eq_any(activity_ids))
        .select((signups::activity_id, signups::status))
        .load(conn)?)
}
