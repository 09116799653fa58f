//! The register of members: who they are, where they live, and finding one by their card.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::members::{MemberRow, NewMember};
use crate::domain::access::identity::parse_id_card;
use crate::domain::access::privacy::is_mainland_mobile;
use crate::domain::access::Action;
use crate::domain::members::card::PresentedCard;
use crate::domain::text::{optional_text, required_text};
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::members::{detail, MemberDetail};
use crate::service::Store;

/// A new member, checked field by field (`validation_failed` names the field).
#[derive(Debug, Clone)]
pub struct NewMemberCommand {
    org_id: i64,
    name: String,
    phone: Option<String>,
    id_card: Option<String>,
    household: Option<String>,
    /// Comma-joined, as stored.
    tags: String,
    allow_proxy: bool,
}

/// What a registration form carries, as typed.
pub struct MemberForm<'a> {
    pub org_id: i64,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub id_card: Option<&'a str>,
    pub household: Option<&'a str>,
    pub tags: &'a [String],
    pub allow_proxy: bool,
}

impl NewMemberCommand {
    pub fn checked(form: MemberForm<'_>) -> ServiceResult<Self> {
        let name = required_text("name", form.name, 50)?;
        if form.phone.is_some_and(|phone| !is_mainland_mobile(phone)) {
            return Err(ServiceError::validation(
                "phone",
                "must be an 11-digit mainland-China mobile number",
            ));
        }
        let id_card = form
            .id_card
            .map(|id| {
                parse_id_card(id).ok_or_else(|| {
                    ServiceError::validation(
                        "id_card",
                        "not a valid 18-character ID number (check digit)",
                    )
                })
            })
            .transpose()?;
        Ok(NewMemberCommand {
            org_id: form.org_id,
            name,
            phone: form.phone.map(str::to_string),
            id_card,
            household: optional_text("household", form.household, 100)?,
            tags: checked_tags(form.tags)?,
            allow_proxy: form.allow_proxy,
        })
    }
}

/// At most ten tags of 1–20 characters; stored comma-joined, so no commas in them.
fn checked_tags(tags: &[String]) -> ServiceResult<String> {
    if tags.len() > 10 {
        return Err(ServiceError::validation("tags", "at most 10 tags"));
    }
    for (i, tag) in tags.iter().enumerate() {
        let len = tag.trim().chars().count();
        if len == 0 || len > 20 || tag.contains(',') {
            return Err(ServiceError::validation(
                format!("tags[{i}]"),
                "1–20 characters, no commas",
            ));
        }
    }
    Ok(tags.iter().map(|t| t.trim()).collect::<Vec<_>>().join(","))
}

/// Registers a member in their home unit and opens their wallets in the bank of that unit. The
/// same phone or ID number never makes two members (`already_exists`).
pub fn register_member(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    command: &NewMemberCommand,
) -> ServiceResult<MemberDetail> {
    let guard = staff.guard(Action::OpenAccounts);
    store.write(|conn| {
        let org = db::access::orgs::get_org(conn, command.org_id)?;
        guard.at(&org.path)?;
        let new = NewMember {
            org_id: org.id,
            name: &command.name,
            phone: command.phone.as_deref(),
            id_card: command.id_card.as_deref(),
            household: command.household.as_deref(),
            tags: &command.tags,
            allow_proxy: command.allow_proxy,
        };
        let (member, _) = db::members::create_member(conn, new, store.now())?;
        let detail = detail(conn, member)?;
        let target = format!("member:{}", detail.member.id);
        audit::created(conn, audit, "member.create", target, &org.path, &detail)?;
        Ok(detail)
    })
}

/// Members whose home unit is in the reader's scope, by id, after `after`.
pub fn list_members(
    store: &Store,
    staff: &Staff,
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<MemberRow>> {
    let paths = staff.paths_for(Action::ReadLedger);
    store.read(|conn| db::members::list_under(conn, &paths, after, limit))
}

pub fn get_member(store: &Store, staff: &Staff, member_id: i64) -> ServiceResult<MemberDetail> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        let (member, path) = db::members::get_member(conn, member_id)?;
        guard.at(&path)?;
        detail(conn, member)
    })
}

/// The holder of a presented card; a card re-issued since is refused (`card_revoked`).
pub fn find_by_card(
    store: &Store,
    staff: &Staff,
    card: &PresentedCard,
) -> ServiceResult<MemberDetail> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        let (member, path) = db::members::get_member(conn, card.member_id)?;
        guard.at(&path)?;
        card.check_current(member.card_version)?;
        detail(conn, member)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::service::testing::Village;

    fn form<'a>(village: &Village, phone: Option<&'a str>, tags: &'a [String]) -> MemberForm<'a> {
        MemberForm {
            org_id: village.org.id,
            name: " 王秀英 ",
            phone,
            id_card: Some("330106198001010021"),
            household: Some("青山村 3 组 12 号"),
            tags,
            allow_proxy: false,
        }
    }

    #[test]
    fn a_registered_member_has_two_empty_wallets_and_masked_numbers_everywhere() {
        let village = Village::fresh();
        let organiser = village.staff(1, Role::Organiser);
        let tags = ["党员".to_string()];
        let command =
            NewMemberCommand::checked(form(&village, Some("13812341234"), &tags)).expect("valid");
        let detail = register_member(
            &village.store,
            &organiser,
            &village.audit(&organiser),
            &command,
        )
        .expect("registered");
        assert_eq!(detail.member.phone.as_deref(), Some("138****1234"));
        assert_eq!(detail.member.name, "王秀英");
        let assets: Vec<(&str, i64)> = detail
            .wallets
            .iter()
            .map(|w| (w.row.asset.as_str(), w.balance))
            .collect();
        assert_eq!(assets, [("POINTS", 0), ("HOURS", 0)]);
        assert_eq!(
            village.audited(&format!("member:{}", detail.member.id)),
            ["member.create"]
        );
    }

    #[test]
    fn the_same_phone_never_makes_two_members() {
        let village = Village::fresh();
        let organiser = village.staff(1, Role::Organiser);
        let audit = village.audit(&organiser);
        let first =
            NewMemberCommand::checked(form(&village, Some("13812341234"), &[])).expect("valid");
        register_member(&village.store, &organiser, &audit, &first).expect("first");
        let mut second = form(&village, Some("13812341234"), &[]);
        second.id_card = None;
        let again = register_member(
            &village.store,
            &organiser,
            &audit,
            &NewMemberCommand::checked(second).expect("valid"),
        );
        assert_eq!(again.err().map(|e| e.code()), Some("already_exists"));
    }

    #[test]
    fn a_tag_with_a_comma_or_a_bad_id_number_is_refused_by_field() {
        let village = Village::fresh();
        let tags = ["党员,志愿者".to_string()];
        let refused = NewMemberCommand::checked(form(&village, None, &tags));
        assert!(
            matches!(refused, Err(ServiceError::Validation { ref field, .. }) if field == "tags[0]")
        );
        let mut bad_id = form(&village, None, &[]);
        bad_id.id_card = Some("330106198001010022");
        let refused = NewMemberCommand::checked(bad_id);
        assert!(
            matches!(refused, Err(ServiceError::Validation { ref field, .. }) if field == "id_card")
        );
    }

    #[test]
    fn staff_of_the_neighbouring_village_neither_register_here_nor_find_our_members() {
        let village = Village::fresh();
        let stranger = village.neighbouring_clerk(9);
        let command = NewMemberCommand::checked(form(&village, None, &[])).expect("valid");
        let refused = register_member(
            &village.store,
            &stranger,
            &village.audit(&stranger),
            &command,
        );
        assert_eq!(refused.err().map(|e| e.code()), Some("not_found"));
        let member_id = village.member("李四");
        assert_eq!(
            get_member(&village.store, &stranger, member_id)
                .err()
                .map(|e| e.code()),
            Some("not_found")
        );
        assert!(list_members(&village.store, &stranger, None, 50)
            .expect("list")
            .is_empty());
    }
}
