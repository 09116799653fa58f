//! The member's 积分银行卡: its QR code carries a signed token naming the card's current issue,
//! so re-issuing a lost card retires the old one at once.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::members::MemberRow;
use crate::domain::access::Action;
use crate::domain::members::card_sheet::page_window;
use crate::error::{ServiceError, ServiceResult};
use crate::service::access::Staff;
use crate::service::members::{detail, MemberDetail};
use crate::service::Store;

/// The member whose card is to be shown or printed, if they are in the reader's scope.
pub fn card_holder(store: &Store, staff: &Staff, member_id: i64) -> ServiceResult<MemberRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        let (member, path) = db::members::get_member(conn, member_id)?;
        guard.at(&path)?;
        Ok(member)
    })
}

/// A new issue of the card (same number, new QR code); the old card is refused from now on.
pub fn reissue_card(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    member_id: i64,
) -> ServiceResult<MemberDetail> {
    let guard = staff.guard(Action::OpenAccounts);
    store.write(|conn| {
        let (before, path) = db::members::get_member(conn, member_id)?;
        guard.at(&path)?;
        let after = db::members::reissue_card(conn, member_id)?;
        let change = serde_json::json!({"card_version": [before.card_version, after.card_version]});
        let target = format!("member:{member_id}");
        audit::created(conn, audit, "member.card_reissue", target, &path, &change)?;
        detail(conn, after)
    })
}

/// One card on a printed sheet.
pub struct SheetCard {
    pub member_id: i64,
    pub card_version: i64,
    pub member_name: String,
    pub unit_name: String,
    /// The bank nearest above the member's unit, or the unit's name where there is none.
    pub bank_name: String,
}

/// One page of a unit's printed card sheet, with how many active members the sheet holds.
pub struct CardSheetPage {
    pub unit_name: String,
    pub total: i64,
    pub cards: Vec<SheetCard>,
}

/// The active members of `org_id` and below, in card-number order, one sheet page at a time
/// (pages from 1); a page past the end is `not_found`.
pub fn card_sheet_page(
    store: &Store,
    staff: &Staff,
    org_id: i64,
    page: u64,
) -> ServiceResult<CardSheetPage> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        db::snapshot_tx(conn, |conn| {
            let org = db::access::orgs::get_org(conn, org_id)?;
            guard.at(&org.path)?;
            let total = db::members::count_active_under(conn, &org.path)?;
            let (skip, take) = page_window(page, total.unsigned_abs())
                .ok_or(ServiceError::NotFound("page of member cards"))?;
            let rows = db::members::active_under(conn, &org.path, skip as i64, take as i64)?;
            let banks = db::members::banks_at(conn)?;
            let cards = rows
                .into_iter()
                .map(|(member, unit_name, unit_path)| SheetCard {
                    bank_name: db::members::nearest_bank(&banks, &unit_path)
                        .map_or_else(|| unit_name.clone(), |bank| bank.name.clone()),
                    member_id: member.id,
                    card_version: member.card_version,
                    member_name: member.name,
                    unit_name,
                })
                .collect();
            Ok(CardSheetPage {
                unit_name: org.name,
                total,
                cards,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::domain::members::card::{sign_card, CardClaim, PresentedCard};
    use crate::service::members::roster::find_by_card;
    use crate::service::testing::Village;

    const SECRET: &[u8] = b"card-secret-for-tests-0123456789";

    #[test]
    fn a_reissued_card_retires_the_old_qr_code_but_keeps_the_number() {
        let village = Village::fresh();
        let organiser = village.staff(1, Role::Organiser);
        let member_id = village.member("王秀英");
        let old = card_holder(&village.store, &organiser, member_id).expect("holder");
        let old_qr = sign_card(
            SECRET,
            CardClaim {
                member_id,
                version: old.card_version,
            },
        );
        let reissued = reissue_card(
            &village.store,
            &organiser,
            &village.audit(&organiser),
            member_id,
        )
        .expect("reissued");
        assert_eq!(reissued.member.card_version, old.card_version + 1);
        let presented = PresentedCard::read(SECRET, &old_qr).expect("well-formed");
        let refused = find_by_card(&village.store, &organiser, &presented);
        assert_eq!(refused.err().map(|e| e.code()), Some("card_revoked"));
        let new_qr = sign_card(
            SECRET,
            CardClaim {
                member_id,
                version: reissued.member.card_version,
            },
        );
        let found = find_by_card(
            &village.store,
            &organiser,
            &PresentedCard::read(SECRET, &new_qr).expect("card"),
        );
        assert_eq!(found.expect("found").member.id, member_id);
    }

    #[test]
    fn an_auditor_may_look_at_a_card_but_not_reissue_it() {
        let village = Village::fresh();
        let auditor = village.staff(3, Role::Auditor);
        let member_id = village.member("王秀英");
        assert!(card_holder(&village.store, &auditor, member_id).is_ok());
        let refused = reissue_card(
            &village.store,
            &auditor,
            &village.audit(&auditor),
            member_id,
        );
        assert_eq!(refused.err().map(|e| e.code()), Some("forbidden"));
    }
}
