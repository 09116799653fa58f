//! Staff awards and deductions under a rule, for one member or a batch: posted at once, or
//! queued for a second approver (rules that need one, and back-filled records).

use serde::{Deserialize, Serialize};

use crate::db::access::audit::{self, AuditContext};
use crate::db::idempotency::{self, KeyScope, Outcome};
use crate::db::ledger::EntryRecord;
use crate::db::rules::awards::{pay_under_rule, require_active_member, Payment};
use crate::db::rules::claims::{truncate, ClaimOrigin, ClaimRow, NewClaim};
use crate::db::{self, Db};
use crate::domain::access::Action;
use crate::domain::ledger::{Origin, MAX_MEMO_CHARS};
use crate::error::{ConflictCode, ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::{Idempotency, Store};

/// One transaction pays a whole grid; more is split by the client.
pub const MAX_BATCH: usize = 500;

/// What the staff member asked for, already checked for shape (see `distinct_members`).
#[derive(Debug, Clone)]
pub struct AwardCommand {
    pub bank_id: i64,
    pub rule_id: i64,
    pub member_ids: Vec<i64>,
    /// Minor units; `None` takes the rule's default.
    pub points: Option<i64>,
    pub memo: Option<String>,
    /// Set for a back-filled record (补录), which always waits for approval.
    pub backfill_reason: Option<String>,
}

/// What became of an award: entries in the book, or one pending request per member. Stored for
/// replays and in the audit log as `{"status": "posted", "entries": [...]}` or
/// `{"status": "pending_approval", "claims": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Awarded {
    Posted { entries: Vec<EntryRecord> },
    PendingApproval { claims: Vec<ClaimRow> },
}

/// Pays every listed member under the rule, each in their own entry, in one transaction: if any
/// member cannot be paid (cap reached, not in this bank, a deduction larger than their points),
/// nothing is written. A retry with the same idempotency key replays the first result.
pub fn award_points(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    idempotency: &Idempotency,
    command: &AwardCommand,
    utc_offset_seconds: i64,
) -> ServiceResult<(Awarded, Outcome)> {
    let guard = staff.guard(Action::AwardPoints);
    store.write(|conn| {
        let now = store.now();
        let org_path = guard.bank(conn, command.bank_id)?;
        idempotency::once(
            conn,
            KeyScope::new(command.bank_id, staff.actor()),
            idempotency.key.as_deref(),
            &idempotency.fingerprint,
            now,
            |conn| {
                let awarded = award_in_tx(conn, staff.actor(), command, now, utc_offset_seconds)?;
                audit::created(
                    conn,
                    audit,
                    "award.batch",
                    format!("rule:{}", command.rule_id),
                    &org_path,
                    &awarded,
                )?;
                Ok(awarded)
            },
        )
    })
}

fn award_in_tx(
    conn: &mut Db,
    actor: &str,
    command: &AwardCommand,
    now: i64,
    utc_offset_seconds: i64,
) -> ServiceResult<Awarded> {
    let bank_id = command.bank_id;
    let rule = db::rules::get_rule(conn, bank_id, command.rule_id).map_err(|err| {
        err.when_not_found(|| ServiceError::validation("rule_id", "no such rule in this bank"))
    })?;
    let points = rule
        .range()?
        .amount(command.points)
        .map_err(|e| ServiceError::validation("points", e.to_string()))?;
    let statement_memo = match &command.memo {
        Some(memo) => format!("{}: {memo}", rule.name),
        None => rule.name.clone(),
    };
    let members = &command.member_ids;
    let needs_approval = command.backfill_reason.is_some() || rule.needs_second_approver;
    if needs_approval {
        let (origin, description) = match &command.backfill_reason {
            Some(reason) => (
                ClaimOrigin::Backfill,
                format!("{statement_memo} (补录: {reason})"),
            ),
            None => (ClaimOrigin::StaffAward, statement_memo.clone()),
        };
        let mut claims = Vec::with_capacity(members.len());
        for &member_id in members {
            require_member_of(conn, bank_id, member_id)?;
            if !rule.active {
                return Err(ServiceError::conflict(
                    ConflictCode::RuleInactive,
                    format!("rule {} is no longer in use", rule.code),
                ));
            }
            require_active_member(conn, member_id)?;
            claims.push(db::rules::claims::submit(
                conn,
                NewClaim {
                    bank_id,
                    member_id,
                    rule_id: rule.id,
                    origin,
                    points,
                    description: truncate(&description, MAX_MEMO_CHARS),
                    evidence: &[],
                    submitted_by: actor,
                    on_behalf_of: None,
                },
                now,
            )?);
        }
        return Ok(Awarded::PendingApproval { claims });
    }
    // One member's wallet is locked where it is paid; the global order matters only when a
    // batch takes several (and costs a round trip there alone).
    if members.len() > 1 {
        db::ledger::accounts::lock_member_wallets(conn, bank_id, members)?;
    }
    let origin = if points < 0 {
        Origin::Deduction
    } else {
        Origin::StaffAward
    };
    let reference = format!("rule:{}", rule.code);
    let mut entries = Vec::with_capacity(members.len());
    for &member_id in members {
        require_member_of(conn, bank_id, member_id)?;
        entries.push(pay_under_rule(
            conn,
            &rule,
            Payment {
                bank_id,
                member_id,
                rule_id: Some(rule.id),
                origin,
                points,
                hours: 0,
                memo: &statement_memo,
                reference: Some(&reference),
                actor,
            },
            now,
            utc_offset_seconds,
        )?);
    }
    Ok(Awarded::Posted { entries })
}

/// Members of another bank are answered like missing ones.
fn require_member_of(conn: &mut Db, bank_id: i64, member_id: i64) -> ServiceResult<()> {
    if db::members::bank_of(conn, member_id)? != bank_id {
        return Err(ServiceError::NotFound("member in this bank"));
    }
    Ok(())
}

/// The member list of an award: 1–`MAX_BATCH` ids, none twice.
pub fn distinct_members(ids: &[i64]) -> ServiceResult<Vec<i64>> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(ServiceError::validation(
            "member_ids",
            format!("list 1–{MAX_BATCH} members"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            return Err(ServiceError::validation(
                format!("member_ids[{index}]"),
                "listed twice",
            ));
        }
    }
    Ok(ids.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::domain::rules::Caps;
    use crate::service::testing::{points, Village};

    const CHINA: i64 = 8 * 3600;

    fn award(
        village: &Village,
        rule_id: i64,
        members: &[i64],
        key: Option<&str>,
    ) -> ServiceResult<(Awarded, Outcome)> {
        let admin = village.staff(1, Role::OrgAdmin);
        let command = AwardCommand {
            bank_id: village.bank_id,
            rule_id,
            member_ids: members.to_vec(),
            points: None,
            memo: Some("河堤巡查".into()),
            backfill_reason: None,
        };
        let idempotency = Idempotency {
            key: key.map(str::to_string),
            fingerprint: format!("{rule_id}:{members:?}"),
        };
        award_points(
            &village.store,
            &admin,
            &village.audit(&admin),
            &idempotency,
            &command,
            CHINA,
        )
    }

    #[test]
    fn a_batch_award_pays_each_member_in_an_entry_of_their_own() {
        let village = Village::fresh();
        let rule = village.rule("V01", (5, 1, 10), false, Caps::default());
        let members: Vec<i64> = ["王秀英", "李建国", "张伟"]
            .map(|name| village.member(name))
            .into();

        let (awarded, outcome) = award(&village, rule, &members, None).unwrap();

        let Awarded::Posted { entries } = awarded else {
            panic!("not posted")
        };
        assert_eq!(outcome, Outcome::Fresh);
        assert_eq!(entries.len(), 3);
        assert!(entries
            .iter()
            .all(|e| e.postings.len() == 2 && e.entry.memo == "规则V01: 河堤巡查"));
        for member in members {
            assert_eq!(village.balance(member, "POINTS"), points(5));
        }
    }

    #[test]
    fn a_batch_in_which_one_member_is_at_the_cap_pays_nobody() {
        let village = Village::fresh();
        let caps = Caps {
            per_day: Some(points(5)),
            ..Caps::default()
        };
        let rule = village.rule("V01", (5, 1, 10), false, caps);
        let (capped, fresh) = (village.member("王秀英"), village.member("李建国"));
        award(&village, rule, &[capped], None).unwrap();

        let refused = award(&village, rule, &[fresh, capped], None).unwrap_err();

        assert_eq!(refused.code(), "cap_exceeded");
        assert_eq!(village.balance(fresh, "POINTS"), 0);
        assert_eq!(village.balance(capped, "POINTS"), points(5));
    }

    #[test]
    fn a_daily_cap_opens_again_the_next_day_by_the_service_clock() {
        let village = Village::fresh();
        let caps = Caps {
            per_day: Some(points(5)),
            ..Caps::default()
        };
        let rule = village.rule("V01", (5, 1, 10), false, caps);
        let member = village.member("王秀英");
        award(&village, rule, &[member], None).unwrap();
        assert_eq!(
            award(&village, rule, &[member], None).unwrap_err().code(),
            "cap_exceeded"
        );

        village
            .clock
            .advance(std::time::Duration::from_secs(24 * 3600));

        award(&village, rule, &[member], None).unwrap();
        assert_eq!(village.balance(member, "POINTS"), points(10));
    }

    #[test]
    fn a_rule_with_a_second_approver_queues_one_claim_per_member_and_pays_nobody_yet() {
        let village = Village::fresh();
        let rule = village.rule("G01", (20, 20, 20), true, Caps::default());
        let members = [village.member("王秀英"), village.member("李建国")];

        let (awarded, _) = award(&village, rule, &members, None).unwrap();

        let Awarded::PendingApproval { claims } = awarded else {
            panic!("posted without approval")
        };
        assert_eq!(
            claims.iter().map(|c| c.member_id).collect::<Vec<_>>(),
            members
        );
        assert!(claims
            .iter()
            .all(|c| c.status == "pending" && c.points == points(20)));
        assert_eq!(village.balance(members[0], "POINTS"), 0);
    }

    #[test]
    fn a_retry_under_the_same_key_replays_the_first_result_and_pays_once() {
        let village = Village::fresh();
        let rule = village.rule("V01", (5, 1, 10), false, Caps::default());
        let member = village.member("王秀英");

        let (first, _) = award(&village, rule, &[member], Some("k-1")).unwrap();
        let (again, outcome) = award(&village, rule, &[member], Some("k-1")).unwrap();

        assert_eq!(outcome, Outcome::Replayed);
        let (Awarded::Posted { entries: first }, Awarded::Posted { entries: again }) =
            (first, again)
        else {
            panic!()
        };
        assert_eq!(first[0].entry.id, again[0].entry.id);
        assert_eq!(village.balance(member, "POINTS"), points(5));
        let other = village.member("李建国");
        let reused = award(&village, rule, &[other], Some("k-1")).unwrap_err();
        assert_eq!(reused.code(), "idempotency_conflict");
    }

    #[test]
    fn only_an_org_admin_of_the_bank_awards_points() {
        let village = Village::fresh();
        let rule = village.rule("V01", (5, 1, 10), false, Caps::default());
        let member = village.member("王秀英");
        let clerk = village.staff(2, Role::Clerk);
        let command = AwardCommand {
            bank_id: village.bank_id,
            rule_id: rule,
            member_ids: vec![member],
            points: None,
            memo: None,
            backfill_reason: None,
        };

        let refused = award_points(
            &village.store,
            &clerk,
            &village.audit(&clerk),
            &Idempotency::default(),
            &command,
            CHINA,
        )
        .unwrap_err();

        assert_eq!(refused.code(), "forbidden");
        assert_eq!(village.balance(member, "POINTS"), 0);
    }

    #[test]
    fn a_member_list_is_one_to_five_hundred_distinct_ids() {
        assert_eq!(
            distinct_members(&[]).unwrap_err().field(),
            Some("member_ids")
        );
        assert_eq!(
            distinct_members(&[1, 2, 1]).unwrap_err().field(),
            Some("member_ids[2]")
        );
        assert!(distinct_members(&[7]).is_ok());
        let too_many: Vec<i64> = (0..=MAX_BATCH as i64).collect();
        assert!(distinct_members(&too_many).is_err());
    }
}
