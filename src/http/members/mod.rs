//! Members (volunteers and residents), their 积分银行卡 and its QR code, and the member's own
//! `/me` endpoints. The views here are built from `service::members` records.

pub mod card_sheet;
pub mod cards;
pub mod me;
pub mod merge;
pub mod roster;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::members::card::{card_number, sign_card, CardClaim};
use crate::http::types::{timestamp, Account};
use crate::http::AppState;
use crate::service::members::{self as service_members, MemberRecord};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "org_id": 5, "name": "王秀英", "phone": "138****1234", "id_card": "330106********002X",
    "household": "青山村 3 组 12 号", "tags": ["党员", "志愿者"], "status": "active", "allow_proxy": false,
    "card_number": "8866000000000422", "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Member {
    pub id: i64,
    /// Home unit (a village, grid or building).
    pub org_id: i64,
    pub name: String,
    /// Masked: `138****1234`.
    pub phone: Option<String>,
    /// Masked: region code and last four only. The full number never leaves the server.
    pub id_card: Option<String>,
    pub household: Option<String>,
    pub tags: Vec<String>,
    /// `active`, `suspended` or `left`.
    pub status: String,
    /// A grid worker may act on the member's behalf.
    pub allow_proxy: bool,
    /// The 16-digit number printed on the member's card (last digit is a check digit).
    pub card_number: String,
    /// Set when this record was merged into another (the same person registered twice).
    pub merged_into: Option<i64>,
    pub created_at: String,
}

impl From<MemberRecord> for Member {
    fn from(row: MemberRecord) -> Member {
        Member {
            card_number: card_number(row.id),
            id: row.id,
            org_id: row.org_id,
            name: row.name,
            phone: row.phone,
            id_card: row.id_card,
            household: row.household,
            tags: row.tags,
            status: row.status,
            allow_proxy: row.allow_proxy,
            merged_into: row.merged_into,
            created_at: timestamp(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDetail {
    #[serde(flatten)]
    pub member: Member,
    /// The member's wallets (`POINTS` and `HOURS`) with balances.
    pub wallets: Vec<Account>,
}

impl From<service_members::MemberDetail> for MemberDetail {
    fn from(detail: service_members::MemberDetail) -> Self {
        MemberDetail {
            member: Member::from(detail.member),
            wallets: detail.wallets.into_iter().map(Account::from).collect(),
        }
    }
}

/// What the member's card QR code carries: a signed token naming the current issue of the card.
pub fn card_token(state: &AppState, member_id: i64, card_version: i64) -> String {
    let claim = CardClaim {
        member_id,
        version: card_version,
    };
    sign_card(state.settings.card_secret.as_bytes(), claim)
}
