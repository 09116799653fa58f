//! Activities: their lifecycle (draft, publish, cancel), check-in and check-out (members' QR
//! scans and organisers' card scans) and settlement (paying every attendee once).

pub mod appeals;
pub mod attendance;
pub mod checkin;
pub mod lifecycle;
pub mod settlement;
pub mod signups;

use super::access::Guard;
use crate::db::activities::ActivityRow;
use crate::db::{self, Db};
use crate::error::ServiceResult;

/// The activity if `guard` allows its action on the activity's unit, with the unit's path.
pub fn activity_in_scope(
    conn: &mut Db,
    guard: &Guard,
    activity_id: i64,
) -> ServiceResult<(ActivityRow, String)> {
    let activity = db::activities::get_activity(conn, activity_id)?;
    let path = guard.org(conn, activity.org_id)?;
    Ok((activity, path))
}
