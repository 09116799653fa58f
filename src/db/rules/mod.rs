//! A bank's catalogue of points rules.

pub mod awards;
pub mod claims;

use diesel::prelude::*;

use crate::db::schema::rules;
use crate::db::{stored, Db};
use crate::domain::rules::{Caps, RuleCategory, RuleRange};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = rules)]
pub struct RuleRow {
    pub id: i64,
    pub bank_id: i64,
    pub code: String,
    pub name: String,
    pub category: String,
    pub default_points: i64,
    pub min_points: i64,
    pub max_points: i64,
    pub needs_second_approver: bool,
    pub cap_per_day: Option<i64>,
    pub cap_per_month: Option<i64>,
    pub cap_per_year: Option<i64>,
    pub active: bool,
    pub created_at: i64,
}

impl RuleRow {
    pub fn range(&self) -> ServiceResult<RuleRange> {
        RuleRange::parse(self.default_points, self.min_points, self.max_points).map_err(|e| {
            ServiceError::Internal(anyhow::anyhow!("stored rule {} is invalid: {e}", self.id))
        })
    }

    pub fn caps(&self) -> Caps {
        Caps {
            per_day: self.cap_per_day,
            per_month: self.cap_per_month,
            per_year: self.cap_per_year,
        }
    }

    pub fn category(&self) -> ServiceResult<RuleCategory> {
        stored(
            RuleCategory::parse(&self.category),
            "rules.category",
            &self.category,
        )
    }
}

/// Everything about a rule that staff set.
#[derive(Debug, Clone)]
pub struct RuleFields {
    pub code: String,
    pub name: String,
    pub category: RuleCategory,
    pub range: RuleRange,
    pub needs_second_approver: bool,
    pub caps: Caps,
    pub active: bool,
}

pub fn create_rule(
    conn: &mut Db,
    bank_id: i64,
    fields: &RuleFields,
    now: i64,
) -> ServiceResult<RuleRow> {
    let taken = rules::table
        .filter(rules::bank_id.eq(bank_id))
        .filter(rules::code.eq(&fields.code))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Err(ServiceError::AlreadyExists(
            "a rule with this code in this bank",
        ));
    }
    Ok(diesel::insert_into(rules::table)
        .values((
            rules::bank_id.eq(bank_id),
            rules::code.eq(&fields.code),
            rules::name.eq(&fields.name),
            rules::category.eq(fields.category.as_str()),
            rules::default_points.eq(fields.range.default),
            rules::min_points.eq(fields.range.min),
            rules::max_points.eq(fields.range.max),
            rules::needs_second_approver.eq(fields.needs_second_approver),
            rules::cap_per_day.eq(fields.caps.per_day),
            rules::cap_per_month.eq(fields.caps.per_month),
            rules::cap_per_year.eq(fields.caps.per_year),
            rules::active.eq(fields.active),
            rules::created_at.eq(now),
        ))
        .returning(rules::all_columns)
        .get_result(conn)?)
}

/// Changes everything but the code: entries already posted keep pointing at the same rule.
pub fn update_rule(
    conn: &mut Db,
    bank_id: i64,
    rule_id: i64,
    fields: &RuleFields,
) -> ServiceResult<RuleRow> {
    let before = get_rule(conn, bank_id, rule_id)?;
    if before.code != fields.code {
        return Err(ServiceError::validation(
            "code",
            "a rule's code cannot change",
        ));
    }
    Ok(diesel::update(rules::table.find(rule_id))
        .set((
            rules::name.eq(&fields.name),
            rules::category.eq(fields.category.as_str()),
            rules::default_points.eq(fields.range.default),
            rules::min_points.eq(fields.range.min),
            rules::max_points.eq(fields.range.max),
            rules::needs_second_approver.eq(fields.needs_second_approver),
            rules::cap_per_day.eq(fields.caps.per_day),
            rules::cap_per_month.eq(fields.caps.per_month),
            rules::cap_per_year.eq(fields.caps.per_year),
            rules::active.eq(fields.active),
        ))
        .returning(rules::all_columns)
        .get_result(conn)?)
}

pub fn get_rule(conn: &mut Db, bank_id: i64, rule_id: i64) -> ServiceResult<RuleRow> {
    rules::table
        .filter(rules::bank_id.eq(bank_id))
        .filter(rules::id.eq(rule_id))
        .select(RuleRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("rule"))
}

/// Every rule of a bank, by category and code.
pub fn list_rules(
    conn: &mut Db,
    bank_id: i64,
    include_inactive: bool,
) -> ServiceResult<Vec<RuleRow>> {
    let mut query = rules::table.filter(rules::bank_id.eq(bank_id)).into_boxed();
    if !include_inactive {
        query = query.filter(rules::active.eq(true));
    }
    Ok(query
        .order((rules::category, rules::code))
        .select(RuleRow::as_select())
        .load(conn)?)
}
