//! Claims (申报) and the approval queue: members ask for points with evidence, grid workers ask
//! on behalf of members without a phone, and someone other than the submitter decides.

use crate::db::access::audit::{self, AuditContext};
use crate::db::ledger::EntryRecord;
use crate::db::rules::claims::{ClaimOrigin, ClaimRow, Decision, NewClaim};
use crate::db::{self, Db};
use crate::domain::access::Action;
use crate::error::{ConflictCode, ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::Store;

pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_EVIDENCE_LINKS: usize = 9;
pub const MAX_LINK_CHARS: usize = 500;

/// A claim as asked for; build it with `ClaimCommand::checked`.
#[derive(Debug, Clone)]
pub struct ClaimCommand {
    pub rule_id: i64,
    /// Minor units; `None` takes the rule's default.
    pub points: Option<i64>,
    pub description: String,
    pub evidence: Vec<String>,
}

impl ClaimCommand {
    /// Checks the evidence links: at most nine http(s) links without spaces.
    pub fn checked(
        rule_id: i64,
        points: Option<i64>,
        description: String,
        evidence: Vec<String>,
    ) -> ServiceResult<ClaimCommand> {
        if evidence.len() > MAX_EVIDENCE_LINKS {
            return Err(ServiceError::validation(
                "evidence",
                format!("at most {MAX_EVIDENCE_LINKS} links"),
            ));
        }
        for (index, link) in evidence.iter().enumerate() {
            let ok = (link.starts_with("https://") || link.starts_with("http://"))
                && link.chars().count() <= MAX_LINK_CHARS
                && !link.chars().any(char::is_whitespace);
            if !ok {
                return Err(ServiceError::validation(
                    format!("evidence[{index}]"),
                    format!("must be an http(s) link of at most {MAX_LINK_CHARS} characters"),
                ));
            }
        }
        Ok(ClaimCommand {
            rule_id,
            points,
            description,
            evidence,
        })
    }
}

/// A member's own claim, in their bank.
pub fn submit_my_claim(
    store: &Store,
    member_id: i64,
    command: &ClaimCommand,
) -> ServiceResult<ClaimRow> {
    store.write(|conn| {
        let bank_id = db::members::bank_of(conn, member_id)?;
        let submitted_by = format!("member:{member_id}");
        file_claim(
            conn,
            bank_id,
            member_id,
            command,
            &submitted_by,
            None,
            store.now(),
        )
    })
}

/// A claim filed by staff for a member whose record allows others to act for them.
pub fn submit_for_member(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    bank_id: i64,
    member_id: i64,
    command: &ClaimCommand,
) -> ServiceResult<ClaimRow> {
    let guard = staff.guard(Action::RunActivities);
    store.write(|conn| {
        guard.bank(conn, bank_id)?;
        let (member, member_path) = db::members::get_member(conn, member_id)?;
        guard.at(&member_path)?;
        if !member.allow_proxy {
            return Err(ServiceError::conflict(
                ConflictCode::ProxyNotAllowed,
                format!("member {member_id}'s record does not allow others to act for them"),
            ));
        }
        if db::members::bank_of(conn, member_id)? != bank_id {
            return Err(ServiceError::NotFound("member in this bank"));
        }
        let claim = file_claim(
            conn,
            bank_id,
            member_id,
            command,
            staff.actor(),
            Some(member_id),
            store.now(),
        )?;
        audit::created(
            conn,
            audit,
            "claim.submit_on_behalf",
            format!("claim:{}", claim.id),
            &member_path,
            &claim,
        )?;
        Ok(claim)
    })
}

/// A decision on one pending request of a bank.
#[derive(Debug, Clone)]
pub struct DecideClaim {
    pub bank_id: i64,
    pub claim_id: i64,
    pub approve: bool,
    pub note: Option<String>,
}

/// Approves (posting the points, within the rule's caps) or rejects a pending request, once,
/// even when two approvers decide at the same moment.
pub fn decide_claim(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    command: &DecideClaim,
    utc_offset_seconds: i64,
) -> ServiceResult<(ClaimRow, Option<EntryRecord>)> {
    let guard = staff.guard(Action::AwardPoints);
    let DecideClaim {
        bank_id,
        claim_id,
        approve,
        ref note,
    } = *command;
    store.write(|conn| {
        let org_path = guard.bank(conn, bank_id)?;
        let before = db::rules::claims::get_claim(conn, bank_id, claim_id)?;
        let decision = Decision {
            approve,
            decided_by: staff.actor(),
            note: note.as_deref(),
        };
        let (after, entry) = db::rules::claims::decide(
            conn,
            bank_id,
            claim_id,
            decision,
            store.now(),
            utc_offset_seconds,
        )?;
        audit::changed(
            conn,
            audit,
            "claim.decide",
            format!("claim:{claim_id}"),
            &org_path,
            &before,
            &after,
        )?;
        Ok((after, entry))
    })
}

/// Files a claim inside the caller's transaction: the rule must be active and the amount in range.
fn file_claim(
    conn: &mut Db,
    bank_id: i64,
    member_id: i64,
    command: &ClaimCommand,
    submitted_by: &str,
    on_behalf_of: Option<i64>,
    now: i64,
) -> ServiceResult<ClaimRow> {
    let rule = db::rules::get_rule(conn, bank_id, command.rule_id).map_err(|err| {
        err.when_not_found(|| {
            ServiceError::validation("rule_id", "no such rule in the member's bank")
        })
    })?;
    if !rule.active {
        return Err(ServiceError::conflict(
            ConflictCode::RuleInactive,
            format!("rule {} is no longer in use", rule.code),
        ));
    }
    let points = rule
        .range()?
        .amount(command.points)
        .map_err(|e| ServiceError::validation("points", e.to_string()))?;
    db::rules::awards::require_active_member(conn, member_id)?;
    db::rules::claims::submit(
        conn,
        NewClaim {
            bank_id,
            member_id,
            rule_id: rule.id,
            origin: ClaimOrigin::Claim,
            points,
            description: &command.description,
            evidence: &command.evidence,
            submitted_by,
            on_behalf_of,
        },
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::domain::rules::Caps;
    use crate::service::testing::{points, Village};

    const CHINA: i64 = 8 * 3600;

    fn claim_for(rule_id: i64) -> ClaimCommand {
        ClaimCommand::checked(
            rule_id,
            None,
            "11月20日帮助孤寡老人打扫院子".into(),
            vec!["https://img.example.cn/a.jpg".into()],
        )
        .unwrap()
    }

    fn decide(
        village: &Village,
        staff: &Staff,
        claim_id: i64,
        approve: bool,
    ) -> ServiceResult<(ClaimRow, Option<EntryRecord>)> {
        let command = DecideClaim {
            bank_id: village.bank_id,
            claim_id,
            approve,
            note: None,
        };
        decide_claim(
            &village.store,
            staff,
            &village.audit(staff),
            &command,
            CHINA,
        )
    }

    #[test]
    fn a_member_claim_waits_for_approval_and_approval_pays_it_once() {
        let village = Village::fresh();
        let rule = village.rule("G01", (5, 1, 10), false, Caps::default());
        let member = village.member("王秀英");

        let claim = submit_my_claim(&village.store, member, &claim_for(rule)).unwrap();
        assert_eq!(claim.status, "pending");
        assert_eq!(claim.submitted_by, format!("member:{member}"));
        assert_eq!(village.balance(member, "POINTS"), 0);

        let admin = village.staff(7, Role::OrgAdmin);
        let (approved, entry) = decide(&village, &admin, claim.id, true).unwrap();
        assert_eq!(approved.status, "approved");
        assert_eq!(approved.entry_id, entry.map(|e| e.entry.id));
        assert_eq!(village.balance(member, "POINTS"), points(5));

        let again = decide(&village, &admin, claim.id, true).unwrap_err();
        assert_eq!(again.code(), "claim_not_pending");
        assert_eq!(village.balance(member, "POINTS"), points(5));
    }

    #[test]
    fn a_rejected_claim_pays_nothing() {
        let village = Village::fresh();
        let rule = village.rule("G01", (5, 1, 10), false, Caps::default());
        let member = village.member("王秀英");
        let claim = submit_my_claim(&village.store, member, &claim_for(rule)).unwrap();

        let (rejected, entry) =
            decide(&village, &village.staff(7, Role::OrgAdmin), claim.id, false).unwrap();

        assert_eq!(
            (rejected.status.as_str(), entry.is_none()),
            ("rejected", true)
        );
        assert_eq!(village.balance(member, "POINTS"), 0);
    }

    #[test]
    fn whoever_files_a_claim_for_a_member_cannot_approve_it_too() {
        let village = Village::fresh();
        let rule = village.rule("G01", (5, 1, 10), false, Caps::default());
        let member = village.member("王奶奶");
        let admin = village.staff(7, Role::OrgAdmin);
        let claim = submit_for_member(
            &village.store,
            &admin,
            &village.audit(&admin),
            village.bank_id,
            member,
            &claim_for(rule),
        )
        .unwrap();
        assert_eq!(claim.on_behalf_of, Some(member));

        let own = decide(&village, &admin, claim.id, true).unwrap_err();
        assert_eq!(own.code(), "second_approver_required");
        decide(&village, &village.staff(8, Role::OrgAdmin), claim.id, true).unwrap();
        assert_eq!(village.balance(member, "POINTS"), points(5));
    }

    #[test]
    fn a_claim_names_the_evidence_link_it_cannot_take() {
        let links = vec![
            "https://img.example.cn/a.jpg".to_string(),
            "ftp://x".to_string(),
        ];
        let refused = ClaimCommand::checked(1, None, "扫院子".into(), links).unwrap_err();
        assert_eq!(refused.field(), Some("evidence[1]"));
        let ten = vec!["https://img.example.cn/a.jpg".to_string(); 10];
        let refused = ClaimCommand::checked(1, None, "扫院子".into(), ten).unwrap_err();
        assert_eq!(refused.field(), Some("evidence"));
    }

    #[test]
    fn points_outside_the_rule_range_are_refused_before_anything_is_filed() {
        let village = Village::fresh();
        let rule = village.rule("G01", (5, 1, 10), false, Caps::default());
        let member = village.member("王秀英");
        let mut command = claim_for(rule);
        command.points = Some(points(11));

        let refused = submit_my_claim(&village.store, member, &command).unwrap_err();

        assert_eq!(refused.field(), Some("points"));
    }
}
