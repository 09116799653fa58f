//! The shop and its members: set up once per backend through the database layer, then
//! given their points through the API.

use super::*;
use pointsbank::clock::{Clock, SystemClock};

#[derive(Clone)]
pub(crate) struct Goods {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) price: i64,
}

pub(crate) struct Member {
    pub(crate) id: i64,
    pub(crate) wallet: i64,
    pub(crate) token: String,
}

/// Everything a redemption needs to know, set up once per backend.
pub(crate) struct World {
    pub(crate) bank: i64,
    pub(crate) org_id: i64,
    pub(crate) shop: i64,
    /// The bank's POINTS redemption account (where captured points go).
    pub(crate) redemption: i64,
    pub(crate) issuance: i64,
    pub(crate) goods: Vec<Goods>,
    pub(crate) hot: Goods,
    pub(crate) members: Vec<Member>,
    pub(crate) buyers: Vec<Member>,
    pub(crate) clerk_actor: String,
}

impl World {
    /// The member and the goods of the `n`th redemption (round-robin over both).
    pub(crate) fn pick(&self, n: u64) -> (&Member, &Goods) {
        (
            &self.members[(n % self.members.len() as u64) as usize],
            &self.goods[(n % self.goods.len() as u64) as usize],
        )
    }
}

pub(crate) fn stock_in(
    conn: &mut Db,
    goods: &db::supermarket::goods::GoodsRow,
    quantity: i64,
    now: i64,
) -> ServiceResult<()> {
    db::supermarket::goods::record_movement(
        conn,
        db::supermarket::goods::Movement {
            goods,
            kind: MovementKind::StockIn,
            quantity,
            donor_name: None,
            donor_value_fen: None,
            note: "进货",
            order_id: None,
            actor: "bench",
        },
        now,
    )
    .map(|_| ())
}

pub(crate) fn goods_fields(name: &str, price: i64) -> db::supermarket::goods::GoodsFields {
    db::supermarket::goods::GoodsFields {
        name: name.to_string(),
        description: String::new(),
        image_url: None,
        category: "日用品".into(),
        price,
        monthly_limit: None,
        available_from: None,
        available_until: None,
        low_stock_threshold: 0,
        active: true,
    }
}

/// The bank's accounts and shop, before any member exists.
pub(crate) struct Shelf {
    pub(crate) village: common::Village,
    pub(crate) shop: i64,
    pub(crate) goods: Vec<Goods>,
    pub(crate) hot: Goods,
    pub(crate) redemption: i64,
    pub(crate) issuance: db::ledger::accounts::AccountRow,
    pub(crate) clerk_actor: String,
}

pub(crate) fn open_shop(conn: &mut Db, options: &Options) -> anyhow::Result<Shelf> {
    let admin_hash = hash_password(ADMIN_PASSWORD)?;
    let clerk_hash = hash_password(CLERK_PASSWORD)?;
    db::write_tx(conn, |c| -> ServiceResult<Shelf> {
        let now = SystemClock.now_micros();
        let village = common::create_village(c, &admin_hash)?;
        let clerk =
            db::access::staff::create_staff(c, CLERK_PHONE, "收银员", &clerk_hash, "staff", now)?;
        db::access::staff::add_grant(c, clerk.id, Role::Clerk, Some(village.org_id), "bench", now)?;
        let shop = db::supermarket::shop::create_shop(
            c,
            db::supermarket::shop::NewShop {
                bank_id: village.bank_id,
                org_id: village.org_id,
                name: "青山村积分超市",
                address: "村委会一楼",
                redemption_days: None,
                allows_cash_topup: false,
                pickup_hours: 72,
            },
            now,
        )?;
        let mut stocked = |name: &str, price: i64, stock: i64| -> ServiceResult<Goods> {
            let row =
                db::supermarket::goods::create_goods(c, &shop, &goods_fields(name, price), now)?;
            stock_in(c, &row, stock, now)?;
            Ok(Goods {
                id: row.id,
                name: row.name,
                price,
            })
        };
        let goods = (0..options.goods)
            .map(|i| stocked(&format!("商品 {i}"), PRICE_MINOR, AMPLE_STOCK))
            .collect::<ServiceResult<Vec<_>>>()?;
        let hot = stocked("大米 5kg", HOT_PRICE_MINOR, options.stock)?;
        let bank = village.bank_id;
        let redemption =
            db::ledger::accounts::system_account(c, bank, Asset::Points, AccountKind::Redemption)?
                .id;
        let issuance =
            db::ledger::accounts::system_account(c, bank, Asset::Points, AccountKind::Issuance)?;
        Ok(Shelf {
            village,
            shop: shop.id,
            goods,
            hot,
            redemption,
            issuance,
            clerk_actor: format!("staff:{}", clerk.id),
        })
    })
    .map_err(|e| anyhow!("opening the shop failed: {e:?}"))
}

/// Registers `count` members as they are after WeChat sign-in: member row and wallets, a WeChat
/// binding and a member access token. Their points come later, through the API (`award`).
pub(crate) fn register_members(
    conn: &mut Db,
    shelf: &Shelf,
    keys: &TokenKeys,
    name: &str,
    count: usize,
) -> anyhow::Result<Vec<Member>> {
    let mut members = Vec::with_capacity(count);
    let starts: Vec<usize> = (0..count).step_by(SETUP_BATCH).collect();
    for start in starts {
        let batch = start..(start + SETUP_BATCH).min(count);
        let registered = db::write_tx(conn, |c| -> ServiceResult<Vec<(i64, i64, i64)>> {
            let now = SystemClock.now_micros();
            let mut registered = Vec::with_capacity(batch.len());
            for i in batch.clone() {
                let (member, _) = db::members::create_member(
                    c,
                    db::members::NewMember {
                        org_id: shelf.village.org_id,
                        name: &format!("{name} {i}"),
                        phone: None,
                        id_card: None,
                        household: None,
                        tags: "",
                        allow_proxy: false,
                    },
                    now,
                )?;
                let wallet: i64 = accounts::table
                    .filter(accounts::member_id.eq(member.id))
                    .filter(accounts::asset.eq(Asset::Points.as_str()))
                    .select(accounts::id)
                    .first(c)?;
                common::bind_wechat(c, member.id, now)?;
                registered.push((member.id, wallet, now));
            }
            Ok(registered)
        })
        .map_err(|e| anyhow!("registering members failed: {e:?}"))?;
        let now_seconds = chrono_seconds();
        for (id, wallet, bound_at) in registered {
            members.push(Member {
                id,
                wallet,
                token: keys.issue_member(id, bound_at, now_seconds)?,
            });
        }
    }
    Ok(members)
}

/// Gives every member `points` (minor units) through `POST /api/v1/banks/{bank}/entries`: one
/// award entry per `SETUP_BATCH` members.
pub(crate) async fn award(
    client: &reqwest::Client,
    api: &Api,
    world: &World,
    members: &[Member],
    points: i64,
) -> anyhow::Result<()> {
    let url = format!("{}/api/v1/banks/{}/entries", api.base, world.bank);
    for batch in members.chunks(SETUP_BATCH) {
        let mut postings = vec![json!({
            "account_id": world.issuance,
            "amount": Amount::from_minor(-points * batch.len() as i64),
        })];
        postings.extend(
            batch
                .iter()
                .map(|m| json!({"account_id": m.wallet, "amount": Amount::from_minor(points)})),
        );
        let body = json!({"kind": "award", "memo": "志愿服务", "postings": postings});
        match post(client, (&url, &api.token), &body, true).await {
            Ok((201, _)) => {}
            Ok((status, answer)) => bail!("award: {status} {answer}"),
            Err(err) => bail!("award: {err}"),
        }
    }
    Ok(())
}

pub(crate) fn chrono_seconds() -> i64 {
    SystemClock.now_micros() / 1_000_000
}

pub(crate) fn setup(conn: &mut Db, options: &Options, keys: &TokenKeys) -> anyhow::Result<World> {
    let shelf = open_shop(conn, options)?;
    let members = register_members(conn, &shelf, keys, "志愿者", options.members)?;
    let buyers = register_members(conn, &shelf, keys, "村民", options.buyers)?;
    Ok(World {
        bank: shelf.village.bank_id,
        org_id: shelf.village.org_id,
        shop: shelf.shop,
        redemption: shelf.redemption,
        issuance: shelf.issuance.id,
        goods: shelf.goods,
        hot: shelf.hot,
        members,
        buyers,
        clerk_actor: shelf.clerk_actor,
    })
}
