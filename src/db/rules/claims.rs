//! Requests for points that wait for a second person: members' claims (申报), back-filled records
//! (补录) and awards under rules that need a second approver. Approval posts the entry in the
//! same transaction that marks the request decided, so a request pays at most once.

use diesel::prelude::*;

use crate::db::ledger::EntryRecord;
use crate::db::rules::awards::{pay_under_rule, Payment};
use crate::db::rules::get_rule;
use crate::db::schema::claims;
use crate::db::{stored, Db};
use crate::domain::ledger::{string_enum, Origin};
use crate::error::{ConflictCode, ServiceError, ServiceResult};

string_enum! {
    /// Where a pending request came from.
    ClaimOrigin { Claim => "claim", Backfill => "backfill", StaffAward => "staff_award" }
}

impl ClaimOrigin {
    pub fn entry_origin(self) -> Origin {
        match self {
            ClaimOrigin::Claim => Origin::Claim,
            ClaimOrigin::Backfill => Origin::Backfill,
            ClaimOrigin::StaffAward => Origin::StaffAward,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = claims)]
pub struct ClaimRow {
    pub id: i64,
    pub bank_id: i64,
    pub member_id: i64,
    pub rule_id: i64,
    pub origin: String,
    pub points: i64,
    pub description: String,
    pub evidence: String,
    pub submitted_by: String,
    pub on_behalf_of: Option<i64>,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
    pub entry_id: Option<i64>,
    pub created_at: i64,
}

pub struct NewClaim<'a> {
    pub bank_id: i64,
    pub member_id: i64,
    pub rule_id: i64,
    pub origin: ClaimOrigin,
    pub points: i64,
    pub description: &'a str,
    pub evidence: &'a [String],
    pub submitted_by: &'a str,
    pub on_behalf_of: Option<i64>,
}

pub fn submit(conn: &mut Db, new: NewClaim<'_>, now: i64) -> ServiceResult<ClaimRow> {
    let evidence =
        serde_json::to_string(new.evidence).map_err(|e| ServiceError::Internal(e.into()))?;
    Ok(diesel::insert_into(claims::table)
        .values((
            claims::bank_id.eq(new.bank_id),
            claims::member_id.eq(new.member_id),
            claims::rule_id.eq(new.rule_id),
            claims::origin.eq(new.origin.as_str()),
            claims::points.eq(new.points),
            claims::description.eq(new.description),
            claims::evidence.eq(evidence),
            claims::submitted_by.eq(new.submitted_by),
            claims::on_behalf_of.eq(new.on_behalf_of),
            claims::status.eq("pending"),
            claims::created_at.eq(now),
        ))
        .returning(claims::all_columns)
        .get_result(conn)?)
}

pub fn get_claim(conn: &mut Db, bank_id: i64, claim_id: i64) -> ServiceResult<ClaimRow> {
    claims::table
        .filter(claims::bank_id.eq(bank_id))
        .filter(claims::id.eq(claim_id))
        .select(ClaimRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("claim"))
}

pub struct ClaimFilter {
    pub bank_id: Option<i64>,
    pub member_id: Option<i64>,
    pub status: Option<String>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first.
pub fn list_claims(conn: &mut Db, filter: &ClaimFilter) -> ServiceResult<Vec<ClaimRow>> {
    let mut query = claims::table.into_boxed();
    if let Some(bank_id) = filter.bank_id {
        query = query.filter(claims::bank_id.eq(bank_id));
    }
    if let Some(member_id) = filter.member_id {
        query = query.filter(claims::member_id.eq(member_id));
    }
    if let Some(status) = &filter.status {
        query = query.filter(claims::status.eq(status.clone()));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(claims::id.lt(before));
    }
    Ok(query
        .order(claims::id.desc())
        .limit(filter.limit)
        .select(ClaimRow::as_select())
        .load(conn)?)
}

pub struct Decision<'a> {
    pub approve: bool,
    pub decided_by: &'a str,
    pub note: Option<&'a str>,
}

/// Approves (posting the entry) or rejects a pending request. The person who submitted a
/// request can never decide it: every approved award is seen by two people.
pub fn decide(
    conn: &mut Db,
    bank_id: i64,
    claim_id: i64,
    decision: Decision<'_>,
    now: i64,
    utc_offset_seconds: i64,
) -> ServiceResult<(ClaimRow, Option<EntryRecord>)> {
    let claim = get_claim(conn, bank_id, claim_id)?;
    if claim.submitted_by == decision.decided_by {
        return Err(ServiceError::conflict(
            ConflictCode::SecondApproverRequired,
            "a request must be decided by someone other than the person who submitted it",
        ));
    }
    // Conditional on `pending`, so two approvers racing decide it once.
    let status = if decision.approve {
        "approved"
    } else {
        "rejected"
    };
    let updated = diesel::update(
        claims::table
            .filter(claims::id.eq(claim_id))
            .filter(claims::status.eq("pending")),
    )
    .set((
        claims::status.eq(status),
        claims::decided_by.eq(decision.decided_by),
        claims::decided_at.eq(now),
        claims::decision_note.eq(decision.note),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ServiceError::conflict(
            ConflictCode::ClaimNotPending,
            format!("claim {claim_id} was already {}", claim.status),
        ));
    }
    let mut entry = None;
    if decision.approve {
        let rule = get_rule(conn, bank_id, claim.rule_id)?;
        let origin = stored(
            ClaimOrigin::parse(&claim.origin),
            "claims.origin",
            &claim.origin,
        )?;
        let memo = format!("{}: {}", rule.name, claim.description);
        let reference = format!("claim:{claim_id}");
        let record = pay_under_rule(
            conn,
            &rule,
            Payment {
                bank_id,
                member_id: claim.member_id,
                rule_id: Some(rule.id),
                origin: origin.entry_origin(),
                points: claim.points,
                hours: 0,
                memo: truncate(&memo, crate::domain::ledger::MAX_MEMO_CHARS),
                reference: Some(&reference),
                actor: decision.decided_by,
            },
            now,
            utc_offset_seconds,
        )?;
        diesel::update(claims::table.find(claim_id))
            .set(claims::entry_id.eq(record.entry.id))
            .execute(conn)?;
        entry = Some(record);
    }
    Ok((get_claim(conn, bank_id, claim_id)?, entry))
}

/// The longest prefix of `text` with at most `max` characters.
pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}
