//! A village on a fresh SQLite file, for the use-cases' own tests: a bank, its staff, rules and
//! members, written straight through `db/` so that each test exercises only its use-case.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::jwt::Claims;
use crate::clock::ShiftedClock;
use crate::db::access::audit::AuditContext;
use crate::db::access::orgs::{create_org, NewOrg, OrgKind, OrgRow};
use crate::db::rules::RuleFields;
use crate::db::supermarket::goods::{GoodsFields, Movement};
use crate::db::supermarket::shop::{NewShop, ShopRow};
use crate::db::{self, connection, Backend, DbTarget};
use crate::domain::access::{Grant, Role};
use crate::domain::ledger::money::MINOR_PER_UNIT;
use crate::domain::rules::{Caps, RuleCategory, RuleRange};
use crate::domain::shop::MovementKind;
use crate::service::access::Staff;
use crate::service::Store;

pub struct Village {
    pub store: Store,
    pub clock: Arc<ShiftedClock>,
    pub org: OrgRow,
    pub bank_id: i64,
    // Dropped last: the database file lives in it.
    _dir: tempfile::TempDir,
}

/// Whole points in minor units.
pub fn points(units: i64) -> i64 {
    units * MINOR_PER_UNIT
}

impl Village {
    pub fn fresh() -> Village {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = DbTarget::parse(&format!("sqlite://{}", dir.path().join("t.db").display()));
        let pool = connection::build_pool(&target, 2, Duration::from_secs(5)).expect("pool");
        connection::run_migrations(&mut pool.get().expect("connection")).expect("migrations");
        let clock = ShiftedClock::new();
        let store = Store::new(pool, Backend::Sqlite, clock.clone());
        let now = store.now();
        let (org, bank_id) = store
            .write(|c| {
                let org = create_org(
                    c,
                    NewOrg {
                        code: "330106001001",
                        name: "青山村",
                        kind: OrgKind::Village,
                        parent: None,
                    },
                    now,
                )?;
                let bank = db::ledger::banks::create_bank(c, org.id, "青山村积分银行", now)?;
                Ok((org, bank.id))
            })
            .expect("village");
        Village {
            store,
            clock,
            org,
            bank_id,
            _dir: dir,
        }
    }

    /// A staff member holding `role` on the village.
    pub fn staff(&self, id: i64, role: Role) -> Staff {
        Staff(Claims {
            sub: format!("staff:{id}"),
            kind: "staff".into(),
            scopes: vec![Grant {
                role: role.as_str().into(),
                path: self.org.path.clone(),
            }],
            binding: None,
            iss: "test".into(),
            aud: "test".into(),
            iat: 0,
            exp: i64::MAX,
        })
    }

    pub fn audit(&self, staff: &Staff) -> AuditContext {
        AuditContext {
            actor: staff.actor().into(),
            at: self.store.now(),
            client_ip: None,
            request_id: None,
        }
    }

    /// The audit log's actions on `target`, oldest first.
    pub fn audited(&self, target: &str) -> Vec<String> {
        let query = db::access::audit::AuditQuery {
            paths: vec!["/".into()],
            before_id: None,
            actor: None,
            action: None,
            limit: 1000,
        };
        let rows = self
            .store
            .read(|c| db::access::audit::list(c, &query))
            .expect("audit");
        rows.into_iter()
            .rev()
            .filter(|row| row.target == target)
            .map(|row| row.action)
            .collect()
    }

    /// A rule paying `default` points (within `min..=max`), with the given caps.
    pub fn rule(
        &self,
        code: &str,
        range: (i64, i64, i64),
        second_approver: bool,
        caps: Caps,
    ) -> i64 {
        let (default, min, max) = range;
        let fields = RuleFields {
            code: code.into(),
            name: format!("规则{code}"),
            category: RuleCategory::VolunteerService,
            range: RuleRange::parse(points(default), points(min), points(max)).expect("range"),
            needs_second_approver: second_approver,
            caps,
            active: true,
        };
        let now = self.store.now();
        self.store
            .write(|c| db::rules::create_rule(c, self.bank_id, &fields, now))
            .expect("rule")
            .id
    }

    pub fn member(&self, name: &str) -> i64 {
        let now = self.store.now();
        let new = || db::members::NewMember {
            org_id: self.org.id,
            name,
            phone: None,
            id_card: None,
            household: None,
            tags: "",
            allow_proxy: true,
        };
        self.store
            .write(|c| db::members::create_member(c, new(), now))
            .expect("member")
            .0
            .id
    }

    /// A member's balance of `asset` (`POINTS` or `HOURS`), in minor units.
    pub fn balance(&self, member_id: i64, asset: &str) -> i64 {
        self.store
            .read(|c| db::members::wallets_of(c, member_id))
            .expect("wallets")
            .into_iter()
            .find(|account| account.asset == asset)
            .map(|account| account.balance)
            .expect("wallet of that asset")
    }

    /// A published activity of the village that started `started_ago` and ends `ends_in` from
    /// now, paying `fixed` points to everyone present, with no grace period.
    pub fn activity(&self, started_ago: Duration, ends_in: Duration, fixed: i64) -> i64 {
        use crate::domain::activities::activity::StoredStatus;
        let now = self.store.now();
        let new = self.new_activity(
            now - started_ago.as_micros() as i64,
            now + ends_in.as_micros() as i64,
            fixed,
        );
        self.store
            .write(|c| {
                let activity =
                    db::activities::create_activity(c, self.bank_id, &new, "staff:1", now)?;
                db::activities::transition(
                    c,
                    activity.id,
                    &[StoredStatus::Draft],
                    StoredStatus::Published,
                    now,
                )?;
                Ok(activity.id)
            })
            .expect("activity")
    }

    /// A draft activity starting `starts_in` and ending `ends_in` from now, paying 5 points.
    pub fn draft_activity(&self, starts_in: Duration, ends_in: Duration) -> i64 {
        let now = self.store.now();
        let new = self.new_activity(
            now + starts_in.as_micros() as i64,
            now + ends_in.as_micros() as i64,
            5,
        );
        self.store
            .write(|c| db::activities::create_activity(c, self.bank_id, &new, "staff:1", now))
            .expect("draft")
            .id
    }

    fn new_activity(
        &self,
        starts_at: i64,
        ends_at: i64,
        fixed: i64,
    ) -> db::activities::NewActivity {
        use crate::domain::activities::activity::{
            AwardMode, AwardTerms, HoursRounding, MissingCheckout,
        };
        db::activities::NewActivity {
            org_id: self.org.id,
            rule_id: None,
            title: "周末防溺水巡河".into(),
            description: String::new(),
            category: "防溺水".into(),
            address: "青山村河堤".into(),
            geofence: None,
            starts_at,
            ends_at,
            signup_opens_at: None,
            signup_closes_at: None,
            capacity: None,
            signup_required: false,
            terms: AwardTerms {
                starts_at,
                ends_at,
                mode: AwardMode::Fixed,
                points: points(fixed),
                hours_unit_minutes: 30,
                rounding: HoursRounding::Down,
                max_hours: 8 * MINOR_PER_UNIT,
                min_presence_percent: 0,
                missing_checkout: MissingCheckout::NoHours,
            },
            grace_minutes: 0,
            qr_step_seconds: 20,
        }
    }
}

/// The points supermarket: shops, goods and their stock, and members with points to spend.
impl Village {
    /// Points a member earns (under a rule of their own, so that no cap stands in the way).
    pub fn earn(&self, member_id: i64, units: i64) {
        let code = format!("EARN{member_id}x{}", rand::random::<u32>());
        let rule_id = self.rule(&code, (units, units, units), false, Caps::default());
        let now = self.store.now();
        self.store
            .write(|c| {
                let rule = db::rules::get_rule(c, self.bank_id, rule_id)?;
                let payment = db::rules::awards::Payment {
                    bank_id: self.bank_id,
                    member_id,
                    rule_id: Some(rule_id),
                    origin: crate::domain::ledger::Origin::StaffAward,
                    points: points(units),
                    hours: 0,
                    memo: "earned",
                    reference: None,
                    actor: "staff:1",
                };
                db::rules::awards::pay_under_rule(c, &rule, payment, now, 0)
            })
            .expect("earn");
    }

    /// Points of a member's balance held for pending orders, in minor units.
    pub fn held(&self, member_id: i64) -> i64 {
        self.store
            .read(|c| db::members::wallets_of(c, member_id))
            .expect("wallets")
            .into_iter()
            .find(|account| account.asset == "POINTS")
            .map(|account| account.held)
            .expect("points wallet")
    }

    /// A shop of the village, open every day; orders wait `pickup_hours` for pickup.
    pub fn shop(&self, allows_cash_topup: bool, pickup_hours: i64) -> ShopRow {
        let now = self.store.now();
        self.store
            .write(|c| {
                db::supermarket::shop::create_shop(
                    c,
                    NewShop {
                        bank_id: self.bank_id,
                        org_id: self.org.id,
                        name: "青山村积分超市",
                        address: "村委会一楼",
                        redemption_days: None,
                        allows_cash_topup,
                        pickup_hours,
                    },
                    now,
                )
            })
            .expect("shop")
    }

    /// Goods of `shop` at `price` whole points, with `stock` on the shelf.
    pub fn goods(&self, shop: &ShopRow, name: &str, price: i64, stock: i64) -> i64 {
        let fields = GoodsFields {
            name: name.into(),
            description: String::new(),
            image_url: None,
            category: "日用品".into(),
            price: points(price),
            monthly_limit: None,
            available_from: None,
            available_until: None,
            low_stock_threshold: 0,
            active: true,
        };
        let now = self.store.now();
        self.store
            .write(|c| {
                let goods = db::supermarket::goods::create_goods(c, shop, &fields, now)?;
                db::supermarket::goods::record_movement(
                    c,
                    Movement {
                        goods: &goods,
                        kind: MovementKind::StockIn,
                        quantity: stock,
                        donor_name: None,
                        donor_value_fen: None,
                        note: "",
                        order_id: None,
                        actor: "staff:1",
                    },
                    now,
                )?;
                Ok(goods.id)
            })
            .expect("goods")
    }

    /// A goods' `(stock, reserved)`: on the shelf, and of that set aside for pending orders.
    pub fn stock(&self, goods_id: i64) -> (i64, i64) {
        let goods = self
            .store
            .read(|c| db::supermarket::goods::get_goods(c, goods_id))
            .expect("goods");
        (goods.stock, goods.reserved)
    }

    /// A clerk of the neighbouring village (another branch of the tree), who serves its counter.
    pub fn neighbouring_clerk(&self, id: i64) -> Staff {
        let now = self.store.now();
        let neighbour = self
            .store
            .write(|c| {
                create_org(
                    c,
                    NewOrg {
                        code: "330106001002",
                        name: "绿水村",
                        kind: OrgKind::Village,
                        parent: None,
                    },
                    now,
                )
            })
            .expect("neighbouring village");
        Staff(Claims {
            sub: format!("staff:{id}"),
            kind: "staff".into(),
            scopes: vec![Grant {
                role: Role::Clerk.as_str().into(),
                path: neighbour.path,
            }],
            binding: None,
            iss: "test".into(),
            aud: "test".into(),
            iat: 0,
            exp: i64::MAX,
        })
    }

    /// A member of the next village over, which keeps a bank of its own.
    pub fn member_of_neighbouring_bank(&self, name: &str) -> i64 {
        let now = self.store.now();
        self.store
            .write(|c| {
                let neighbour = create_org(
                    c,
                    NewOrg {
                        code: "330106001003",
                        name: "白云村",
                        kind: OrgKind::Village,
                        parent: None,
                    },
                    now,
                )?;
                db::ledger::banks::create_bank(c, neighbour.id, "白云村积分银行", now)?;
                let new = db::members::NewMember {
                    org_id: neighbour.id,
                    name,
                    phone: None,
                    id_card: None,
                    household: None,
                    tags: "",
                    allow_proxy: true,
                };
                Ok(db::members::create_member(c, new, now)?.0.id)
            })
            .expect("member of the neighbouring bank")
    }
}

/// What the use-cases wrote to the audit log.
impl Village {
    /// The audit records of `action`, newest first.
    pub fn audit_log(&self, action: &str) -> Vec<crate::db::access::audit::AuditRow> {
        let query = crate::db::access::audit::AuditQuery {
            paths: vec!["/".into()],
            before_id: None,
            actor: None,
            action: Some(action.into()),
            limit: 100,
        };
        self.store
            .read(|c| crate::db::access::audit::list(c, &query))
            .expect("audit log")
    }
}

/// The ledger's own accounts.
impl Village {
    /// `(the bank's POINTS issuance account, the member's POINTS wallet)`.
    pub fn points_accounts(&self, member_id: i64) -> (i64, i64) {
        use crate::domain::ledger::{AccountKind, Asset};
        self.store
            .read(|c| {
                let issuance = db::ledger::accounts::system_account(
                    c,
                    self.bank_id,
                    Asset::Points,
                    AccountKind::Issuance,
                )?;
                let wallets = db::members::wallets_of(c, member_id)?;
                let wallet = wallets
                    .into_iter()
                    .find(|account| account.asset == Asset::Points.as_str())
                    .expect("points wallet");
                Ok((issuance.id, wallet.id))
            })
            .expect("points accounts")
    }
}

/// Staff above the village.
impl Village {
    /// A platform administrator: every unit of the tree, this village and any other.
    pub fn platform_admin(&self, id: i64) -> Staff {
        Staff(Claims {
            sub: format!("staff:{id}"),
            kind: "staff".into(),
            scopes: vec![Grant {
                role: Role::PlatformAdmin.as_str().into(),
                path: "/".into(),
            }],
            binding: None,
            iss: "test".into(),
            aud: "test".into(),
            iat: 0,
            exp: i64::MAX,
        })
    }
}

/// Units of the tree besides the village.
impl Village {
    /// A unit of `kind` below `parent` (or at the top of the tree), with no bank of its own.
    pub fn unit(&self, code: &str, name: &str, kind: OrgKind, parent: Option<&OrgRow>) -> OrgRow {
        let now = self.store.now();
        self.store
            .write(|c| {
                let new = NewOrg {
                    code,
                    name,
                    kind,
                    parent,
                };
                create_org(c, new, now)
            })
            .expect("unit")
    }
}
