//! Schema-only marker types for the closed sets of strings the server accepts.
//!
//! The Rust fields stay `String` (so the server's own 422 `validation_failed` naming the field
//! answers a wrong value), while the contract points at these markers with
//! `#[schema(value_type = closed_sets::X)]` or `#[param(value_type = Option<closed_sets::X>)]`.
//! Each marker's `enum` is built from the same list the handler parses with — the domain's
//! `string_enum!` `ALL`, or a table defined once here — so the contract cannot drift from the
//! parser.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::db::access::orgs::OrgKind;
use crate::db::rules::claims::ClaimOrigin as DbClaimOrigin;
use crate::domain::access::Role as DomainRole;
use crate::domain::activities::activity::{
    ActivityStatus as DomainActivityStatus, AwardMode as DomainAwardMode,
    HoursRounding as DomainHoursRounding, MissingCheckout as DomainMissingCheckout,
    Purpose as DomainPurpose,
};
use crate::domain::activities::checkin_token::TokenKind;
use crate::domain::ledger::hold::HoldStatus as DomainHoldStatus;
use crate::domain::ledger::{
    AccountKind as DomainAccountKind, Asset as DomainAsset, EntryKind as DomainEntryKind,
    Origin as DomainOrigin,
};
use crate::domain::rules::RuleCategory as DomainRuleCategory;
use crate::domain::shop::{MovementKind as DomainMovementKind, OrderStatus as DomainOrderStatus};
use crate::qr;

/// Looks `text` up in one of the tables below.
pub fn lookup<T: Copy>(table: &[(&'static str, T)], text: &str) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, v)| *v)
}

fn names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(name, _)| *name).collect()
}

/// What a QR code encodes: a code for a screen that changes, or one for print.
pub const QR_KINDS: &[(&str, TokenKind)] = &[
    ("dynamic", TokenKind::Dynamic),
    ("poster", TokenKind::Poster),
];

/// How a QR code or card is drawn.
pub const PICTURE_FORMATS: &[(&str, qr::Format)] =
    &[("png", qr::Format::Png), ("svg", qr::Format::Svg)];

/// The states of a claim a reviewer can filter by.
pub const CLAIM_STATUSES: &[(&str, ())] = &[("pending", ()), ("approved", ()), ("rejected", ())];

fn all<T: Copy>(values: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
    some(values, |_| true, as_str)
}

/// The values a filter keeps, e.g. the entry kinds a client may post directly.
fn some<T: Copy>(
    values: &[T],
    keep: fn(&T) -> bool,
    as_str: fn(T) -> &'static str,
) -> Vec<&'static str> {
    values.iter().copied().filter(keep).map(as_str).collect()
}

macro_rules! closed_set {
    ($($name:ident = $values:expr, $description:literal;)+) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl $name {
                /// The values, in the order the contract lists them.
                pub fn values() -> Vec<&'static str> {
                    $values
                }
            }

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new()
                        .schema_type(SchemaType::new(Type::String))
                        .enum_values(Some($name::values()))
                        .description(Some($description))
                        .into()
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )+

        /// Every marker with its schema. Query parameters refer to their marker's component
        /// without registering it, so the document adds them all (`openapi::finish`).
        pub const MARKERS: &[(&str, fn() -> RefOr<Schema>)] =
            &[$((stringify!($name), <$name as PartialSchema>::schema)),+];
    };
}

closed_set! {
    Asset = all(DomainAsset::ALL, DomainAsset::as_str),
        "What is counted: `POINTS` can be redeemed, `HOURS` of service only accumulate.";
    AccountKind = all(DomainAccountKind::ALL, DomainAccountKind::as_str),
        "The role an account plays in its bank: a `member` wallet or one of the bank's own accounts.";
    Origin = all(DomainOrigin::ALL, DomainOrigin::as_str),
        "How an entry came about.";
    ClaimOrigin = all(DbClaimOrigin::ALL, DbClaimOrigin::as_str),
        "How a claim came about.";
    EntryKind = all(DomainEntryKind::ALL, DomainEntryKind::as_str),
        "Why points moved.";
    PostableEntryKind = some(
        DomainEntryKind::ALL,
        |kind| kind.is_directly_postable(),
        DomainEntryKind::as_str,
    ),
        "The entry kinds a client may post directly (redemptions and reversals have their own operations).";
    MovementKind = all(DomainMovementKind::ALL, DomainMovementKind::as_str),
        "Why stock moved.";
    ManualMovementKind = some(
        DomainMovementKind::ALL,
        |kind| kind.is_manual(),
        DomainMovementKind::as_str,
    ),
        "The stock movements a clerk records by hand (redemptions come from orders).";
    OrderStatus = all(DomainOrderStatus::ALL, DomainOrderStatus::as_str),
        "Where an order stands.";
    HoldStatus = all(DomainHoldStatus::ALL, DomainHoldStatus::as_str),
        "Where a hold stands.";
    ClaimStatus = names(CLAIM_STATUSES),
        "Where a claim stands.";
    OrgUnitKind = all(OrgKind::ALL, OrgKind::as_str),
        "The level of an organisation unit.";
    RuleCategory = all(DomainRuleCategory::ALL, DomainRuleCategory::as_str),
        "The category of a points rule.";
    Role = all(DomainRole::ALL, DomainRole::as_str),
        "A staff role.";
    AwardMode = all(DomainAwardMode::ALL, DomainAwardMode::as_str),
        "`fixed` points per attendance, or `per_hour` of attendance.";
    HoursRounding = all(DomainHoursRounding::ALL, DomainHoursRounding::as_str),
        "How attended time is rounded to hours.";
    MissingCheckout = all(DomainMissingCheckout::ALL, DomainMissingCheckout::as_str),
        "What a check-in without a check-out counts as.";
    ActivityStatus = all(DomainActivityStatus::ALL, DomainActivityStatus::as_str),
        "Where an activity stands.";
    Purpose = all(DomainPurpose::ALL, DomainPurpose::as_str),
        "Whether a scan checks in or out.";
    QrKind = names(QR_KINDS),
        "`dynamic` (for a screen, changes every step) or `poster` (for print).";
    PictureFormat = names(PICTURE_FORMATS),
        "`png` or `svg` picture.";
    QrEcLevel = names(qr::EC_LEVELS),
        "QR error-correction level: L, M, Q or H.";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_of(schema: RefOr<Schema>) -> Vec<String> {
        let json = serde_json::to_value(schema).unwrap();
        json["enum"]
            .as_array()
            .expect("a closed set lists its values")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// The parser each marker stands for, as the handlers call it.
    fn accepted(marker: &str, value: &str) -> bool {
        match marker {
            "Asset" => DomainAsset::parse(value).is_some(),
            "EntryKind" => DomainEntryKind::parse(value).is_some(),
            "AccountKind" => DomainAccountKind::parse(value).is_some(),
            "Origin" => DomainOrigin::parse(value).is_some(),
            "ClaimOrigin" => DbClaimOrigin::parse(value).is_some(),
            "PostableEntryKind" => {
                DomainEntryKind::parse(value).is_some_and(|k| k.is_directly_postable())
            }
            "MovementKind" => DomainMovementKind::parse(value).is_some(),
            "ManualMovementKind" => DomainMovementKind::parse(value).is_some_and(|k| k.is_manual()),
            "OrderStatus" => DomainOrderStatus::parse(value).is_some(),
            "HoldStatus" => DomainHoldStatus::parse(value).is_some(),
            "ClaimStatus" => lookup(CLAIM_STATUSES, value).is_some(),
            "OrgUnitKind" => OrgKind::parse(value).is_some(),
            "RuleCategory" => DomainRuleCategory::parse(value).is_some(),
            "Role" => DomainRole::parse(value).is_some(),
            "AwardMode" => DomainAwardMode::parse(value).is_some(),
            "HoursRounding" => DomainHoursRounding::parse(value).is_some(),
            "MissingCheckout" => DomainMissingCheckout::parse(value).is_some(),
            "ActivityStatus" => DomainActivityStatus::parse(value).is_some(),
            "Purpose" => DomainPurpose::parse(value).is_some(),
            "QrKind" => lookup(QR_KINDS, value).is_some(),
            "PictureFormat" => lookup(PICTURE_FORMATS, value).is_some(),
            "QrEcLevel" => qr::ec_level(Some(value)).is_ok(),
            other => panic!("no parser known for marker {other}"),
        }
    }

    #[test]
    fn every_value_a_marker_lists_is_accepted_by_its_parser() {
        for (marker, schema) in MARKERS {
            let values = enum_of(schema());
            assert!(!values.is_empty(), "{marker} lists no values");
            for value in &values {
                assert!(
                    accepted(marker, value),
                    "{marker} lists {value:?}, which the server refuses"
                );
            }
        }
    }

    #[test]
    fn subsets_refuse_what_they_leave_out() {
        assert!(!PostableEntryKind::values().contains(&"redeem"));
        assert!(!ManualMovementKind::values().contains(&"redemption"));
        assert!(!accepted("PostableEntryKind", "reverse"));
        assert!(!accepted("PictureFormat", "json"));
    }
}
