//! Members (volunteers and residents): registering them, finding them by card, re-issuing a lost
//! card and merging a duplicate record. Staff see members with phone and ID numbers masked: the
//! records these use-cases return (and write to the audit log) never carry them in full.

pub mod cards;
pub mod me;
pub mod merge;
pub mod roster;

use serde::Serialize;

use crate::db::ledger::accounts::AccountBalance;
use crate::db::members::MemberRow;
use crate::db::{self, Db};
use crate::domain::access::identity::mask_id_card;
use crate::domain::access::privacy::mask_phone;
use crate::error::ServiceResult;
use crate::service::Store;

/// A member as staff and the member see them: phone and ID number masked.
#[derive(Debug, Clone, Serialize)]
pub struct MemberRecord {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub id_card: Option<String>,
    pub household: Option<String>,
    pub tags: Vec<String>,
    pub status: String,
    pub allow_proxy: bool,
    /// Which issue of the card is current: the card's QR code names it.
    pub card_version: i64,
    pub merged_into: Option<i64>,
    pub created_at: i64,
}

impl From<MemberRow> for MemberRecord {
    fn from(row: MemberRow) -> Self {
        MemberRecord {
            id: row.id,
            org_id: row.org_id,
            name: row.name,
            phone: row.phone.as_deref().map(mask_phone),
            id_card: row.id_card.as_deref().map(mask_id_card),
            household: row.household,
            tags: row
                .tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            status: row.status,
            allow_proxy: row.allow_proxy,
            card_version: row.card_version,
            merged_into: row.merged_into,
            created_at: row.created_at,
        }
    }
}

/// A member with their `POINTS` and `HOURS` wallets.
#[derive(Debug, Clone, Serialize)]
pub struct MemberDetail {
    pub member: MemberRecord,
    pub wallets: Vec<AccountBalance>,
}

/// The member's record and wallets, read in the caller's transaction.
pub fn detail(conn: &mut Db, member: MemberRow) -> ServiceResult<MemberDetail> {
    let wallets = db::members::wallets_of(conn, member.id)?
        .into_iter()
        .map(|row| db::ledger::accounts::with_balance(conn, row))
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(MemberDetail {
        member: MemberRecord::from(member),
        wallets,
    })
}

/// The signed-in member's own record and wallets.
pub fn my_detail(store: &Store, member_id: i64) -> ServiceResult<MemberDetail> {
    store.read(|conn| {
        let (row, _) = db::members::get_member(conn, member_id)?;
        detail(conn, row)
    })
}
