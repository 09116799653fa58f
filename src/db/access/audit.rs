//! The audit log: who changed what, when, from where, with before and after. Append-only; rows
//! are written in the same transaction as the change they describe.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_log;
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};

/// Who is acting and from where; travels into the database closure of a request.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub actor: String,
    /// When the request was authorised, by the service's clock.
    pub at: i64,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub org_path: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// One audited change. `before`/`after` are the service's records of the target, never secrets
/// (member records are written with their phone and ID numbers masked).
pub struct Change<'a, B: Serialize, A: Serialize> {
    pub action: &'a str,
    pub target: String,
    pub org_path: &'a str,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

pub fn record<B: Serialize, A: Serialize>(
    conn: &mut Db,
    context: &AuditContext,
    change: Change<'_, B, A>,
) -> ServiceResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(context.at),
            audit_log::actor.eq(&context.actor),
            audit_log::action.eq(change.action),
            audit_log::target.eq(&change.target),
            audit_log::org_path.eq(change.org_path),
            audit_log::client_ip.eq(&context.client_ip),
            audit_log::request_id.eq(&context.request_id),
            audit_log::before_json.eq(to_json(change.before)?),
            audit_log::after_json.eq(to_json(change.after)?),
        ))
        .execute(conn)?;
    Ok(())
}

fn to_json<T: Serialize>(value: Option<&T>) -> ServiceResult<Option<String>> {
    value
        .map(|v| serde_json::to_string(v).map_err(|e| ServiceError::Internal(e.into())))
        .transpose()
}

pub struct AuditQuery {
    pub paths: Vec<String>,
    pub before_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: i64,
}

/// Newest first, only rows about units at or below the reader's paths.
pub fn list(conn: &mut Db, query: &AuditQuery) -> ServiceResult<Vec<AuditRow>> {
    if query.paths.is_empty() {
        return Err(ServiceError::Forbidden);
    }
    let mut rows = Vec::new();
    let mut before = query.before_id.unwrap_or(i64::MAX);
    // Filter scope in pages so a narrow reader still gets full pages.
    while (rows.len() as i64) < query.limit {
        let mut select = audit_log::table
            .filter(audit_log::id.lt(before))
            .into_boxed();
        if let Some(actor) = &query.actor {
            select = select.filter(audit_log::actor.eq(actor.clone()));
        }
        if let Some(action) = &query.action {
            select = select.filter(audit_log::action.eq(action.clone()));
        }
        let page: Vec<AuditRow> = select
            .order(audit_log::id.desc())
            .limit(500)
            .select(AuditRow::as_select())
            .load(conn)?;
        let Some(last) = page.last() else { break };
        before = last.id;
        rows.extend(page.into_iter().filter(|row| {
            query
                .paths
                .iter()
                .any(|p| row.org_path.starts_with(p.as_str()))
        }));
    }
    rows.truncate(query.limit as usize);
    Ok(rows)
}

/// Records that `target` was created (or an action produced it), with its new state.
pub fn created<T: Serialize>(
    conn: &mut Db,
    context: &AuditContext,
    action: &str,
    target: String,
    org_path: &str,
    after: &T,
) -> ServiceResult<()> {
    record::<(), T>(
        conn,
        context,
        Change {
            action,
            target,
            org_path,
            before: None,
            after: Some(after),
        },
    )
}

/// Records that `target` changed from `before` to `after`.
pub fn changed<B: Serialize, A: Serialize>(
    conn: &mut Db,
    context: &AuditContext,
    action: &str,
    target: String,
    org_path: &str,
    before: &B,
    after: &A,
) -> ServiceResult<()> {
    record(
        conn,
        context,
        Change {
            action,
            target,
            org_path,
            before: Some(before),
            after: Some(after),
        },
    )
}
