//! The bank's catalogue of points rules (积分细则): org admins keep it, every staff member who
//! reads the ledger may look at it.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::rules::{RuleFields, RuleRow};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// Adds a rule to the bank's catalogue. The code is unique per bank (`already_exists`).
pub fn create_rule(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    bank_id: i64,
    fields: &RuleFields,
) -> ServiceResult<RuleRow> {
    let guard = staff.guard(Action::ManageRules);
    store.write(|conn| {
        let org_path = guard.bank(conn, bank_id)?;
        let rule = db::rules::create_rule(conn, bank_id, fields, store.now())?;
        let target = format!("rule:{}", rule.id);
        audit::created(conn, audit, "rule.create", target, &org_path, &rule)?;
        Ok(rule)
    })
}

/// Replaces everything but the code. Entries already posted keep their amounts.
pub fn update_rule(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    bank_id: i64,
    rule_id: i64,
    fields: &RuleFields,
) -> ServiceResult<RuleRow> {
    let guard = staff.guard(Action::ManageRules);
    store.write(|conn| {
        let org_path = guard.bank(conn, bank_id)?;
        let before = db::rules::get_rule(conn, bank_id, rule_id)?;
        let after = db::rules::update_rule(conn, bank_id, rule_id, fields)?;
        let target = format!("rule:{rule_id}");
        audit::changed(
            conn,
            audit,
            "rule.update",
            target,
            &org_path,
            &before,
            &after,
        )?;
        Ok(after)
    })
}

/// The bank's rules by category and code; inactive ones only when asked for.
pub fn list_rules(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    include_inactive: bool,
) -> ServiceResult<Vec<RuleRow>> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::rules::list_rules(conn, bank_id, include_inactive)
    })
}

pub fn get_rule(
    store: &Store,
    staff: &Staff,
    bank_id: i64,
    rule_id: i64,
) -> ServiceResult<RuleRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        guard.bank(conn, bank_id)?;
        db::rules::get_rule(conn, bank_id, rule_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::domain::rules::{Caps, RuleCategory, RuleRange};
    use crate::error::ServiceError;
    use crate::service::testing::{points, Village};

    fn patrol() -> RuleFields {
        RuleFields {
            code: "V01".into(),
            name: "防溺水巡河".into(),
            category: RuleCategory::VolunteerService,
            range: RuleRange::parse(points(5), points(5), points(10)).expect("range"),
            needs_second_approver: false,
            caps: Caps::default(),
            active: true,
        }
    }

    #[test]
    fn an_org_admin_adds_a_rule_and_the_audit_trail_records_it() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let rule = create_rule(
            &village.store,
            &admin,
            &village.audit(&admin),
            village.bank_id,
            &patrol(),
        )
        .expect("created");
        assert_eq!(rule.default_points, points(5));
        assert_eq!(
            village.audited(&format!("rule:{}", rule.id)),
            ["rule.create"]
        );
    }

    #[test]
    fn a_clerk_cannot_change_the_catalogue() {
        let village = Village::fresh();
        let clerk = village.staff(2, Role::Clerk);
        let refused = create_rule(
            &village.store,
            &clerk,
            &village.audit(&clerk),
            village.bank_id,
            &patrol(),
        );
        assert!(
            matches!(refused, Err(ServiceError::Forbidden)),
            "{refused:?}"
        );
        let admin = village.staff(1, Role::OrgAdmin);
        assert!(list_rules(&village.store, &admin, village.bank_id, true)
            .expect("list")
            .is_empty());
    }

    #[test]
    fn a_second_rule_with_the_same_code_is_refused() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let audit = village.audit(&admin);
        create_rule(&village.store, &admin, &audit, village.bank_id, &patrol()).expect("first");
        let again = create_rule(&village.store, &admin, &audit, village.bank_id, &patrol());
        assert!(
            matches!(&again, Err(ServiceError::AlreadyExists(_))),
            "{again:?}"
        );
    }

    #[test]
    fn an_update_keeps_the_code_and_changes_the_amounts() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let audit = village.audit(&admin);
        let rule =
            create_rule(&village.store, &admin, &audit, village.bank_id, &patrol()).expect("rule");
        let mut changed = patrol();
        changed.range = RuleRange::parse(points(8), points(5), points(10)).expect("range");
        let after = update_rule(
            &village.store,
            &admin,
            &audit,
            village.bank_id,
            rule.id,
            &changed,
        )
        .expect("updated");
        assert_eq!(
            (after.code.as_str(), after.default_points),
            ("V01", points(8))
        );
        let read = get_rule(
            &village.store,
            &village.staff(3, Role::Auditor),
            village.bank_id,
            rule.id,
        )
        .expect("read");
        assert_eq!(read.default_points, points(8));
    }
}
