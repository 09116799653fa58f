//! Request and response bodies. Built from rows, never the rows themselves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::db::access::orgs::OrgRow;
use crate::db::ledger::accounts::{AccountBalance, StatementRow};
use crate::db::ledger::banks::BankRow;
use crate::db::ledger::holds::HoldRow;
use crate::db::ledger::EntryRecord;
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::verify::Finding;
use crate::error::{ServiceError, ServiceResult};
use crate::http::closed_sets;

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some(crate::domain::ledger::money::AMOUNT_PATTERN))
            .description(Some(
                "An exact amount as a decimal string with at most two decimals, e.g. \"12.50\": \
                 digits without leading zeros or spaces, a point only between digits. Never a \
                 JSON number: clients must not round-trip amounts through floats.",
            ))
            .examples(["12.50"])
            .into()
    }
}

impl ToSchema for Amount {}

/// Timestamps are RFC 3339 in UTC with microseconds.
pub fn timestamp(micros: i64) -> String {
    crate::clock::rfc3339(micros)
}

pub fn parse_timestamp(field: &str, text: &str) -> ServiceResult<i64> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
        .map_err(|_| {
            ServiceError::validation(
                field,
                "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00+08:00",
            )
        })
}

pub use crate::domain::text::{optional_text, required_text};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "code": "330106001001", "name": "青山村", "kind": "village", "parent_id": 2,
    "path": "/1/2/3/", "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Org {
    pub id: i64,
    /// Administrative code of the unit (e.g. the 12-digit statistical code).
    pub code: String,
    pub name: String,
    /// `county`, `township`, `village`, `grid` or `building`.
    #[schema(value_type = closed_sets::OrgUnitKind)]
    pub kind: String,
    /// The unit above this one; null for a top-level unit.
    pub parent_id: Option<i64>,
    /// Ids from the top of the tree down to this unit, e.g. `/1/2/3/`.
    pub path: String,
    pub created_at: String,
}

impl From<OrgRow> for Org {
    fn from(row: OrgRow) -> Org {
        Org {
            id: row.id,
            code: row.code,
            name: row.name,
            kind: row.kind,
            parent_id: row.parent_id,
            path: row.path,
            created_at: timestamp(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 1, "org_id": 1, "name": "青山村积分银行", "created_at": "2026-11-23T08:00:00.000000Z"}))]
pub struct Bank {
    pub id: i64,
    /// The organisation unit that owns this points book.
    pub org_id: i64,
    pub name: String,
    pub created_at: String,
}

impl From<BankRow> for Bank {
    fn from(row: BankRow) -> Bank {
        Bank {
            id: row.id,
            org_id: row.org_id,
            name: row.name,
            created_at: timestamp(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 9, "bank_id": 1, "asset": "POINTS", "kind": "member", "name": "张三",
    "owner_ref": "member:42", "balance": "120.00", "held": "20.00", "available": "100.00",
    "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Account {
    pub id: i64,
    pub bank_id: i64,
    /// `POINTS` (redeemable) or `HOURS` (volunteer service hours).
    #[schema(value_type = closed_sets::Asset)]
    pub asset: String,
    /// `member` (a volunteer's wallet, never below zero) or one of the bank's own accounts:
    /// `issuance`, `redemption`, `expiry`, `adjustment`.
    #[schema(value_type = closed_sets::AccountKind)]
    pub kind: String,
    pub name: String,
    /// Free reference to the owner in another system, e.g. `member:42`.
    pub owner_ref: Option<String>,
    /// Sum of all postings. The bank's issuance account is negative: it is what was issued.
    pub balance: Amount,
    /// Reserved by pending holds (redemption orders).
    pub held: Amount,
    /// `balance − held`: what can be spent now.
    pub available: Amount,
    pub created_at: String,
}

impl From<AccountBalance> for Account {
    fn from(account: AccountBalance) -> Account {
        Account {
            id: account.row.id,
            bank_id: account.row.bank_id,
            asset: account.row.asset,
            kind: account.row.kind,
            name: account.row.name,
            owner_ref: account.row.owner_ref,
            balance: Amount::from_minor(account.balance),
            held: Amount::from_minor(account.held),
            available: Amount::from_minor(account.balance - account.held),
            created_at: timestamp(account.row.created_at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Posting {
    pub id: i64,
    pub account_id: i64,
    #[schema(value_type = closed_sets::Asset)]
    pub asset: String,
    /// Positive raises the account's balance, negative lowers it.
    pub amount: Amount,
    /// The wallet's balance right after this posting (member accounts only).
    pub balance_after: Option<Amount>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 31, "bank_id": 1, "kind": "award", "memo": "防溺水巡河 2 小时", "reference": "activity:12",
    "actor": "staff:1", "reverses_entry_id": null, "reversed_by_entry_id": null,
    "rule_id": 3, "origin": "checkin",
    "created_at": "2026-11-23T08:00:00.000000Z",
    "postings": [
        {"id": 61, "account_id": 1, "asset": "POINTS", "amount": "-10.00", "balance_after": null},
        {"id": 62, "account_id": 9, "asset": "POINTS", "amount": "10.00", "balance_after": "130.00"}
    ]
}))]
pub struct Entry {
    pub id: i64,
    pub bank_id: i64,
    /// `award`, `deduct`, `redeem`, `reverse`, `expire`, `adjust` or `transfer`.
    #[schema(value_type = closed_sets::EntryKind)]
    pub kind: String,
    pub memo: String,
    /// What caused the entry, e.g. `activity:12`, `order:7`, `rule:clean-yard`.
    pub reference: Option<String>,
    /// Who caused it, e.g. `staff:1`.
    pub actor: String,
    /// For a `reverse` entry: the entry it undoes.
    pub reverses_entry_id: Option<i64>,
    /// Set once this entry has been reversed.
    pub reversed_by_entry_id: Option<i64>,
    /// The points rule the entry was posted under, if any.
    pub rule_id: Option<i64>,
    /// How the entry came about (see the statement's `origin`).
    #[schema(value_type = Option<closed_sets::Origin>)]
    pub origin: Option<String>,
    pub created_at: String,
    pub postings: Vec<Posting>,
}

impl From<EntryRecord> for Entry {
    fn from(record: EntryRecord) -> Entry {
        Entry {
            id: record.entry.id,
            bank_id: record.entry.bank_id,
            kind: record.entry.kind,
            memo: record.entry.memo,
            reference: record.entry.reference,
            actor: record.entry.actor,
            reverses_entry_id: record.entry.reverses_entry_id,
            reversed_by_entry_id: record.reversed_by,
            rule_id: record.entry.rule_id,
            origin: record.entry.origin,
            created_at: timestamp(record.entry.created_at),
            postings: record
                .postings
                .into_iter()
                .map(|p| Posting {
                    id: p.id,
                    account_id: p.account_id,
                    asset: p.asset,
                    amount: Amount::from_minor(p.amount),
                    balance_after: p.balance_after.map(Amount::from_minor),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    pub posting_id: i64,
    pub entry_id: i64,
    #[schema(value_type = closed_sets::EntryKind)]
    pub kind: String,
    pub memo: String,
    pub reference: Option<String>,
    pub actor: String,
    pub reverses_entry_id: Option<i64>,
    /// How the change came about: `checkin` (activity attendance), `staff_award`, `backfill`
    /// (补录), `claim` (申报), `deduction`, `appeal` (approved appeal of a refused scan),
    /// `merge`, `redemption`; `null` for entries posted directly on the ledger.
    #[schema(value_type = Option<closed_sets::Origin>)]
    pub origin: Option<String>,
    /// The points rule (积分细则) the change was made under, if any.
    pub rule: Option<StatementRule>,
    pub amount: Amount,
    pub balance_after: Option<Amount>,
    pub created_at: String,
}

/// The rule of a statement line, so the volunteer sees what the points were for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementRule {
    pub code: String,
    pub name: String,
    /// `volunteer_service`, `public_welfare`, `village_rules`, `good_deeds`, `deduction` or `other`.
    #[schema(value_type = closed_sets::RuleCategory)]
    pub category: String,
}

impl From<StatementRow> for StatementLine {
    fn from(row: StatementRow) -> StatementLine {
        StatementLine {
            posting_id: row.posting_id,
            entry_id: row.entry_id,
            kind: row.kind,
            memo: row.memo,
            reference: row.reference,
            actor: row.actor,
            reverses_entry_id: row.reverses_entry_id,
            origin: row.origin,
            rule: match (row.rule_code, row.rule_name, row.rule_category) {
                (Some(code), Some(name), Some(category)) => Some(StatementRule {
                    code,
                    name,
                    category,
                }),
                _ => None,
            },
            amount: Amount::from_minor(row.amount),
            balance_after: row.balance_after.map(Amount::from_minor),
            created_at: timestamp(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "account_id": 9,
    "items": [{
        "posting_id": 62, "entry_id": 31, "kind": "award", "memo": "防溺水巡河 2 小时",
        "reference": "activity:12", "actor": "staff:1", "reverses_entry_id": null,
        "origin": "checkin",
        "rule": {"code": "V01", "name": "防溺水巡河", "category": "volunteer_service"},
        "amount": "10.00", "balance_after": "130.00", "created_at": "2026-11-23T08:00:00.000000Z"
    }],
    "next_cursor": "62"
}))]
pub struct Statement {
    pub account_id: i64,
    /// Newest first.
    pub items: Vec<StatementLine>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 5, "bank_id": 1, "account_id": 9, "asset": "POINTS", "amount": "30.00", "status": "pending",
    "memo": "order 7: 2 × 洗衣液", "reference": "order:7", "actor": "staff:3",
    "expires_at": "2026-11-30T08:00:00.000000Z", "created_at": "2026-11-23T08:00:00.000000Z",
    "resolved_at": null, "capture_entry_id": null, "captured_amount": null
}))]
pub struct Hold {
    pub id: i64,
    pub bank_id: i64,
    pub account_id: i64,
    #[schema(value_type = closed_sets::Asset)]
    pub asset: String,
    pub amount: Amount,
    /// `pending`, `captured`, `released` or `expired`.
    #[schema(value_type = closed_sets::HoldStatus)]
    pub status: String,
    pub memo: String,
    pub reference: Option<String>,
    pub actor: String,
    pub expires_at: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
    pub capture_entry_id: Option<i64>,
    pub captured_amount: Option<Amount>,
}

impl From<HoldRow> for Hold {
    fn from(row: HoldRow) -> Hold {
        Hold {
            id: row.id,
            bank_id: row.bank_id,
            account_id: row.account_id,
            asset: row.asset,
            amount: Amount::from_minor(row.amount),
            status: row.status,
            memo: row.memo,
            reference: row.reference,
            actor: row.actor,
            expires_at: timestamp(row.expires_at),
            created_at: timestamp(row.created_at),
            resolved_at: row.resolved_at.map(timestamp),
            capture_entry_id: row.capture_entry_id,
            captured_amount: row.captured_amount.map(Amount::from_minor),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Capture {
    pub hold: Hold,
    /// The `redeem` entry the capture posted.
    pub entry: Entry,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyFinding {
    /// Which invariant is broken: `entry_unbalanced`, `entry_altered`, `seal_altered`,
    /// `seal_chain_broken`, `seal_entry_missing`, `posting_account_mismatch`, `balance_mismatch`,
    /// `running_balance_mismatch`, `wallet_negative` or `held_mismatch`.
    pub check: String,
    pub detail: String,
    pub entry_id: Option<i64>,
    pub account_id: Option<i64>,
    pub seal_seq: Option<i64>,
}

impl From<Finding> for VerifyFinding {
    fn from(f: Finding) -> VerifyFinding {
        VerifyFinding {
            check: f.check.into(),
            detail: f.detail,
            entry_id: f.entry_id,
            account_id: f.account_id,
            seal_seq: f.seal_seq,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "bank_id": 1, "ok": true, "entries_checked": 1520, "seals_checked": 37, "unsealed_entries": 2,
    "head_seal_seq": 37, "head_hash": "9f2c…", "findings": []
}))]
pub struct VerifyReport {
    pub bank_id: i64,
    /// True when no invariant is broken.
    pub ok: bool,
    pub entries_checked: u64,
    pub seals_checked: u64,
    /// Entries written in the last moment that the sealer has not chained yet.
    pub unsealed_entries: u64,
    pub head_seal_seq: i64,
    /// Publish this (e.g. on the village notice board): any later edit of history changes it.
    pub head_hash: Option<String>,
    /// The first broken place of each kind; empty when `ok`.
    pub findings: Vec<VerifyFinding>,
}
