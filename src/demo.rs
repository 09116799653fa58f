//! The demo's catalogue for one village: points rules, an upcoming activity, and a supermarket
//! with stocked and donated goods, so a newcomer sees every part of the service with data.

use crate::db::{self, Db};
use crate::domain::activities::activity::{
    AwardMode, AwardTerms, HoursRounding, MissingCheckout, StoredStatus,
};
use crate::domain::ledger::money::MINOR_PER_UNIT;
use crate::domain::rules::{Caps, RuleCategory, RuleRange};
use crate::domain::shop::MovementKind;
use crate::error::ServiceResult;

const HOUR: i64 = 3_600_000_000;

/// Creates the catalogue and returns the id of the rule the demo awards are booked under.
pub fn catalogue(c: &mut Db, bank_id: i64, org_id: i64, now: i64) -> ServiceResult<i64> {
    let points = |units: i64| units * MINOR_PER_UNIT;
    let mut patrol_rule = 0;
    for (code, name, category, default, second, cap) in [
        (
            "V01",
            "防溺水巡河（每次）",
            RuleCategory::VolunteerService,
            15,
            false,
            Some(30),
        ),
        (
            "V02",
            "反诈宣传进农户",
            RuleCategory::VolunteerService,
            10,
            false,
            None,
        ),
        ("G01", "好人好事", RuleCategory::GoodDeeds, 20, true, None),
        (
            "D01",
            "乱倒垃圾",
            RuleCategory::VillageRules,
            -5,
            false,
            None,
        ),
    ] {
        let rule = db::rules::create_rule(
            c,
            bank_id,
            &db::rules::RuleFields {
                code: code.into(),
                name: name.into(),
                category,
                range: RuleRange::parse(points(default), points(default), points(default))
                    .expect("demo ranges are valid"),
                needs_second_approver: second,
                caps: Caps {
                    per_day: cap.map(points),
                    ..Caps::default()
                },
                active: true,
            },
            now,
        )?;
        if code == "V01" {
            patrol_rule = rule.id;
        }
    }
    let starts_at = now + 24 * HOUR;
    let activity = db::activities::create_activity(
        c,
        bank_id,
        &db::activities::NewActivity {
            org_id,
            rule_id: Some(patrol_rule),
            title: "周末防溺水巡河".into(),
            description: "沿青山河巡查，劝导野泳，检查救生圈。".into(),
            category: "防溺水".into(),
            address: "青山村河堤北段".into(),
            geofence: None,
            starts_at,
            ends_at: starts_at + 2 * HOUR,
            signup_opens_at: None,
            signup_closes_at: Some(starts_at),
            capacity: Some(30),
            signup_required: false,
            terms: AwardTerms {
                starts_at,
                ends_at: starts_at + 2 * HOUR,
                mode: AwardMode::Fixed,
                points: points(15),
                hours_unit_minutes: 30,
                rounding: HoursRounding::Down,
                max_hours: 2 * MINOR_PER_UNIT,
                min_presence_percent: 60,
                missing_checkout: MissingCheckout::NoHours,
            },
            grace_minutes: 30,
            qr_step_seconds: 20,
        },
        "staff:1",
        now,
    )?;
    db::activities::transition(
        c,
        activity.id,
        &[StoredStatus::Draft],
        StoredStatus::Published,
        now,
    )?;
    let shop = db::supermarket::shop::create_shop(
        c,
        db::supermarket::shop::NewShop {
            bank_id,
            org_id,
            name: "青山村积分超市",
            address: "村委会一楼",
            redemption_days: None,
            allows_cash_topup: true,
            pickup_hours: 72,
        },
        now,
    )?;
    for (name, price, stock, donor, limit) in [
        ("洗衣液 2kg", 30, 20, None, None),
        ("食用油 5L", 50, 10, Some("青山农业合作社"), None),
        ("大米 5kg", 40, 15, None, Some(1)),
        ("毛巾", 10, 40, Some("爱心人士 王先生"), None),
    ] {
        let goods = db::supermarket::goods::create_goods(
            c,
            &shop,
            &db::supermarket::goods::GoodsFields {
                name: name.into(),
                description: String::new(),
                image_url: None,
                category: "日用品".into(),
                price: points(price),
                monthly_limit: limit,
                available_from: None,
                available_until: None,
                low_stock_threshold: 5,
                active: true,
            },
            now,
        )?;
        let kind = if donor.is_some() {
            MovementKind::Donation
        } else {
            MovementKind::StockIn
        };
        db::supermarket::goods::record_movement(
            c,
            db::supermarket::goods::Movement {
                goods: &goods,
                kind,
                quantity: stock,
                donor_name: donor,
                donor_value_fen: donor.map(|_| stock * price * 100),
                note: "演示",
                order_id: None,
                actor: "staff:1",
            },
            now,
        )?;
    }
    Ok(patrol_rule)
}
