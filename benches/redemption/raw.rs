//! The raw SQL ceiling of one redemption: the statements of the place transaction, then those
//! of the fulfil transaction, as SQL text with inline literals.

use super::*;
use pointsbank::clock::{Clock, SystemClock};

#[derive(QueryableByName)]
pub(crate) struct BankOf {
    #[diesel(sql_type = BigInt)]
    pub(crate) bank_id: i64,
}

#[derive(QueryableByName)]
pub(crate) struct MemberState {
    #[diesel(sql_type = Text)]
    pub(crate) status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) merged_into: Option<i64>,
}

#[derive(QueryableByName)]
pub(crate) struct OrderState {
    #[diesel(sql_type = BigInt)]
    pub(crate) id: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) member_id: i64,
    #[diesel(sql_type = Text)]
    pub(crate) status: String,
    #[diesel(sql_type = BigInt)]
    pub(crate) total_points: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) hold_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) entry_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub(crate) pickup_code: String,
    #[diesel(sql_type = Text)]
    pub(crate) placed_by: String,
    #[diesel(sql_type = BigInt)]
    pub(crate) expires_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) closed_by: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) closed_at: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub(crate) created_at: i64,
}

#[derive(QueryableByName)]
pub(crate) struct LineState {
    #[diesel(sql_type = BigInt)]
    pub(crate) order_id: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) goods_id: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) quantity: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) unit_price: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) created_at: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) member_id: i64,
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
}

#[derive(QueryableByName)]
pub(crate) struct HoldState {
    #[diesel(sql_type = BigInt)]
    pub(crate) account_id: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) amount: i64,
    #[diesel(sql_type = Text)]
    pub(crate) status: String,
    #[diesel(sql_type = BigInt)]
    pub(crate) expires_at: i64,
}

/// `db::supermarket::orders::get_order`: the order, then its lines with the goods' names.
pub(crate) fn select_order(
    conn: &mut Db,
    order: i64,
) -> anyhow::Result<(OrderState, Vec<LineState>)> {
    let mut found: Vec<OrderState> = sql_query(format!(
        "SELECT id, bank_id, shop_id, member_id, status, total_points, cash_points, cash_fen, \
         hold_id, entry_id, pickup_code, placed_by, on_behalf, expires_at, closed_by, closed_at, \
         created_at FROM orders WHERE id = {order} LIMIT 1"
    ))
    .load(conn)?;
    let state = found
        .pop()
        .ok_or_else(|| anyhow!("order {order} not found"))?;
    let lines: Vec<LineState> = sql_query(format!(
        "SELECT order_lines.order_id, order_lines.goods_id, order_lines.quantity, \
         order_lines.unit_price, order_lines.created_at, order_lines.member_id, goods.name \
         FROM order_lines INNER JOIN goods ON goods.id = order_lines.goods_id \
         WHERE order_lines.order_id = {order} ORDER BY order_lines.goods_id"
    ))
    .load(conn)?;
    Ok((state, lines))
}

/// The order as the use-case keeps it with the key and in the audit log
/// (`db::supermarket::orders::OrderRecord`), as JSON text quoted for SQL.
pub(crate) fn order_json(world: &World, state: &OrderState, lines: &[LineState]) -> String {
    json!({
        "order": {
            "id": state.id, "bank_id": world.bank, "shop_id": world.shop,
            "member_id": state.member_id, "status": state.status,
            "total_points": state.total_points, "cash_points": 0, "cash_fen": 0,
            "hold_id": state.hold_id, "entry_id": state.entry_id,
            "pickup_code": state.pickup_code, "placed_by": state.placed_by, "on_behalf": false,
            "expires_at": state.expires_at, "closed_by": state.closed_by,
            "closed_at": state.closed_at, "created_at": state.created_at,
        },
        "lines": lines.iter().map(|l| json!([{
            "order_id": l.order_id, "goods_id": l.goods_id, "quantity": l.quantity,
            "unit_price": l.unit_price, "created_at": l.created_at, "member_id": l.member_id,
        }, l.name])).collect::<Vec<_>>(),
    })
    .to_string()
    .replace('\'', "''")
}

/// `db::supermarket::orders::order_memo` for these lines.
pub(crate) fn order_memo(lines: &[LineState]) -> String {
    let text = lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, l.name))
        .collect::<Vec<_>>()
        .join(", ");
    format!("积分超市兑换: {text}")
}

pub(crate) fn select_one(conn: &mut Db, what: &str, sql: String) -> anyhow::Result<()> {
    let found: Vec<IdRow> = sql_query(sql).load(conn)?;
    ensure!(found.len() == 1, "{what} not found");
    Ok(())
}

pub(crate) fn select_goods(conn: &mut Db, goods: i64) -> anyhow::Result<()> {
    select_one(
        conn,
        "goods",
        format!(
            "SELECT id, shop_id, bank_id, name, description, image_url, category, price, stock, \
             reserved, monthly_limit, available_from, available_until, low_stock_threshold, \
             active, created_at FROM goods WHERE id = {goods} LIMIT 1"
        ),
    )
}

pub(crate) fn select_shop(conn: &mut Db, shop: i64) -> anyhow::Result<()> {
    select_one(
        conn,
        "shop",
        format!(
            "SELECT id, bank_id, org_id, name, address, redemption_days, allows_cash_topup, \
             pickup_hours, active, created_at FROM shops WHERE id = {shop} LIMIT 1"
        ),
    )
}

pub(crate) fn select_hold(conn: &mut Db, bank: i64, hold: i64) -> anyhow::Result<HoldState> {
    let mut found: Vec<HoldState> = sql_query(format!(
        "SELECT id, bank_id, account_id, asset, amount, status, memo, reference, actor, \
         expires_at, created_at, resolved_at, capture_entry_id, captured_amount \
         FROM holds WHERE id = {hold} AND bank_id = {bank} LIMIT 1"
    ))
    .load(conn)?;
    found.pop().ok_or_else(|| anyhow!("hold {hold} not found"))
}

/// An UPDATE that must change exactly one row.
pub(crate) fn update_one(conn: &mut Db, refusal: &str, sql: String) -> anyhow::Result<()> {
    let changed = sql_query(sql).execute(conn)?;
    if changed != 1 {
        bail!("{refusal}");
    }
    Ok(())
}

/// One order of one item as `service::supermarket::orders::place_my_order` runs it (`db::idempotency::once`,
/// `db::supermarket::orders::place`, `db::supermarket::goods::reserve`, `db::ledger::holds::create_hold`), with literals inlined.
/// Only integers and fixed text go into the SQL. Keep it in step with those functions.
pub(crate) fn raw_place(
    conn: &mut Db,
    world: &World,
    member: &Member,
    goods: &Goods,
    n: u64,
) -> anyhow::Result<i64> {
    let (bank, shop, m, g, price) = (world.bank, world.shop, member.id, goods.id, goods.price);
    let key = format!("raw-order-{n}");
    let request_hash = format!("{n:064x}");
    let wallet = member.wallet;
    let placed_by = format!("member:{m}");
    db::write_tx(conn, |conn| -> anyhow::Result<i64> {
        let now = SystemClock.now_micros();
        // the handler: shop::get_shop, members::bank_of
        select_shop(conn, shop)?;
        let banks: Vec<BankOf> = sql_query(format!(
            "SELECT bank_id FROM accounts WHERE member_id = {m} LIMIT 1"
        ))
        .load(conn)?;
        ensure!(
            banks.first().map(|b| b.bank_id) == Some(bank),
            "member elsewhere"
        );
        common::raw_claim_key(conn, bank, &key, &request_hash, now)?;
        // orders::place: awards::require_active_member, points_wallet, lock_row
        let mut states: Vec<MemberState> = sql_query(format!(
            "SELECT status, merged_into FROM members WHERE id = {m} LIMIT 1"
        ))
        .load(conn)?;
        let state = states
            .pop()
            .ok_or_else(|| anyhow!("member {m} not found"))?;
        ensure!(
            state.status == "active" && state.merged_into.is_none(),
            "member {m} inactive"
        );
        select_one(
            conn,
            "wallet",
            format!(
                "SELECT id, bank_id, asset, kind, name, owner_ref, balance, held, created_at, \
                 member_id FROM accounts WHERE bank_id = {bank} AND member_id = {m} \
                 AND asset = 'POINTS' LIMIT 1"
            ),
        )?;
        if db::connection::backend_of(conn) == Backend::Postgres {
            sql_query(format!(
                "SELECT 1 FROM accounts WHERE id = {wallet} FOR UPDATE"
            ))
            .execute(conn)?;
        }
        // the line: goods::get_goods, goods::reserve
        select_goods(conn, g)?;
        update_one(
            conn,
            "out_of_stock",
            format!(
                "UPDATE goods SET reserved = reserved + 1 WHERE id = {g} AND stock - reserved >= 1"
            ),
        )?;
        // fresh_pickup_code
        let code = loop {
            let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
            let taken: common::Total = sql_query(format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS total FROM orders WHERE shop_id = {shop} \
                 AND status = 'pending' AND pickup_code = '{code}'"
            ))
            .get_result(conn)?;
            if taken.total == 0 {
                break code;
            }
        };
        let expires_at = now + 72 * 3_600_000_000;
        let order: IdRow = sql_query(format!(
            "INSERT INTO orders (bank_id, shop_id, member_id, status, total_points, cash_points, \
             cash_fen, pickup_code, placed_by, on_behalf, expires_at, created_at) \
             VALUES ({bank}, {shop}, {m}, 'pending', {price}, 0, 0, '{code}', '{placed_by}', \
             FALSE, {expires_at}, {now}) RETURNING id, bank_id, shop_id, member_id, status, \
             total_points, cash_points, cash_fen, hold_id, entry_id, pickup_code, placed_by, \
             on_behalf, expires_at, closed_by, closed_at, created_at"
        ))
        .get_result(conn)?;
        let order = order.id;
        sql_query(format!(
            "INSERT INTO order_lines (order_id, goods_id, quantity, unit_price, created_at, member_id) \
             VALUES ({order}, {g}, 1, {price}, {now}, {m})"
        ))
        .execute(conn)?;
        // holds::create_hold
        update_one(
            conn,
            "insufficient_points",
            format!(
                "UPDATE accounts SET held = held + {price} \
                 WHERE id = {wallet} AND balance - held >= {price}"
            ),
        )?;
        let hold: IdRow = sql_query(format!(
            "INSERT INTO holds (bank_id, account_id, asset, amount, status, memo, reference, actor, \
             expires_at, created_at) VALUES ({bank}, {wallet}, 'POINTS', {price}, 'pending', \
             '积分超市兑换: 1 × {name}', 'order:{order}', '{placed_by}', {hold_expires}, {now}) \
             RETURNING id, bank_id, account_id, asset, amount, status, memo, reference, actor, \
             expires_at, created_at, resolved_at, capture_entry_id, captured_amount",
            name = goods.name,
            hold_expires = expires_at + 86_400_000_000
        ))
        .get_result(conn)?;
        sql_query(format!(
            "UPDATE orders SET hold_id = {} WHERE id = {order}",
            hold.id
        ))
        .execute(conn)?;
        // orders::get_order, then the answer kept with the key
        let (state, lines) = select_order(conn, order)?;
        sql_query(format!(
            "UPDATE idempotency_keys SET response_body = '{body}' \
             WHERE bank_id = {bank} AND caller = 'bench' AND idem_key = '{key}'",
            body = order_json(world, &state, &lines)
        ))
        .execute(conn)?;
        Ok(order)
    })
}

/// One pickup as `service::supermarket::pickup::fulfil_pickup` runs it (`shop_in_scope`, `db::supermarket::orders::fulfil`,
/// `db::ledger::holds::capture_hold`, `db::ledger::post_entry`, `db::supermarket::goods::record_movement`,
/// `db::ledger::get_entry`, `db::access::audit::created`), with literals inlined. The pickup token's
/// signature is checked before the transaction in the API and not at all here.
pub(crate) fn raw_fulfil(conn: &mut Db, world: &World, order: i64) -> anyhow::Result<()> {
    let (bank, shop, org) = (world.bank, world.shop, world.org_id);
    let actor = world.clerk_actor.as_str();
    db::write_tx(conn, |conn| -> anyhow::Result<()> {
        let now = SystemClock.now_micros();
        // shop_in_scope: shop::get_shop, orgs::get_org
        select_shop(conn, shop)?;
        let mut orgs: Vec<PathRow> = sql_query(format!(
            "SELECT id, code, name, kind, parent_id, path, created_at FROM orgs \
             WHERE id = {org} LIMIT 1"
        ))
        .load(conn)?;
        let path = orgs.pop().ok_or_else(|| anyhow!("org not found"))?.path;
        // the handler's get_order, then orders::fulfil's own
        select_order(conn, order)?;
        let (state, lines) = select_order(conn, order)?;
        // orders::close
        update_one(
            conn,
            "order_not_pending",
            format!(
                "UPDATE orders SET status = 'fulfilled', closed_by = '{actor}', closed_at = {now} \
                 WHERE id = {order} AND status = 'pending' AND expires_at > {now}"
            ),
        )?;
        // holds::capture_hold: the hold, the wallet, the redemption account
        let hold_id = state
            .hold_id
            .ok_or_else(|| anyhow!("order without a hold"))?;
        let hold = select_hold(conn, bank, hold_id)?;
        ensure!(
            hold.status == "pending" && now < hold.expires_at,
            "hold not capturable"
        );
        let wallet = hold.account_id;
        let amount = hold.amount;
        select_one(
            conn,
            "wallet",
            format!(
                "SELECT id, bank_id, asset, kind, name, owner_ref, balance, held, created_at, \
                 member_id FROM accounts WHERE id = {wallet} AND bank_id = {bank} LIMIT 1"
            ),
        )?;
        select_one(
            conn,
            "redemption account",
            format!(
                "SELECT id, bank_id, asset, kind, name, owner_ref, balance, held, created_at, \
                 member_id FROM accounts WHERE bank_id = {bank} AND asset = 'POINTS' \
                 AND kind = 'redemption' LIMIT 1"
            ),
        )?;
        // holds::finish_hold
        update_one(
            conn,
            "hold_not_pending",
            format!(
                "UPDATE holds SET status = 'captured', resolved_at = {now}, \
                 capture_entry_id = NULL, captured_amount = NULL \
                 WHERE id = {hold_id} AND status = 'pending'"
            ),
        )?;
        sql_query(format!(
            "UPDATE accounts SET held = held - {amount} WHERE id = {wallet}"
        ))
        .execute(conn)?;
        // ledger::post_entry: the entry, per line in account-id order the wallet debit
        // (wallets only) and the posting, then the unsealed marker
        let memo = order_memo(&lines);
        let entry: IdRow = sql_query(format!(
            "INSERT INTO entries (bank_id, kind, memo, reference, actor, reverses_entry_id, \
             created_at, rule_id, origin) VALUES ({bank}, 'redeem', '{memo}', 'order:{order}', \
             '{actor}', NULL, {now}, NULL, 'redemption') RETURNING id, bank_id, kind, memo, \
             reference, actor, reverses_entry_id, created_at, rule_id, origin"
        ))
        .get_result(conn)?;
        let entry = entry.id;
        let mut postings = [(world.redemption, amount, false), (wallet, -amount, true)];
        postings.sort_by_key(|p| p.0);
        for (account, delta, is_wallet) in postings {
            let balance_after = if is_wallet {
                let row: BalanceRow = sql_query(format!(
                    "UPDATE accounts SET balance = balance - {amount} \
                     WHERE id = {account} AND balance - held >= {amount} RETURNING balance"
                ))
                .get_result(conn)?;
                row.balance.to_string()
            } else {
                "NULL".to_string()
            };
            sql_query(format!(
                "INSERT INTO postings (bank_id, entry_id, account_id, asset, amount, balance_after, \
                 created_at) VALUES ({bank}, {entry}, {account}, 'POINTS', {delta}, \
                 {balance_after}, {now}) RETURNING id, bank_id, entry_id, account_id, asset, \
                 amount, balance_after, created_at"
            ))
            .execute(conn)?;
        }
        sql_query(format!(
            "INSERT INTO entry_seals (entry_id, bank_id) VALUES ({entry}, {bank})"
        ))
        .execute(conn)?;
        sql_query(format!(
            "UPDATE holds SET capture_entry_id = {entry}, captured_amount = {amount} \
             WHERE id = {hold_id}"
        ))
        .execute(conn)?;
        select_hold(conn, bank, hold_id)?;
        sql_query(format!(
            "UPDATE orders SET entry_id = {entry} WHERE id = {order}"
        ))
        .execute(conn)?;
        // goods::record_movement per line: the goods leave the shelf and their reservation
        for line in &lines {
            let (g, q) = (line.goods_id, line.quantity);
            select_goods(conn, g)?;
            update_one(
                conn,
                "out_of_stock",
                format!(
                    "UPDATE goods SET stock = stock + -{q}, reserved = reserved + -{q} \
                     WHERE id = {g} AND reserved >= {q}"
                ),
            )?;
            select_one(
                conn,
                "stock movement",
                format!(
                    "INSERT INTO stock_movements (goods_id, shop_id, kind, quantity, donor_name, \
                     donor_value_fen, note, order_id, actor, created_at) VALUES ({g}, {shop}, \
                     'redemption', -{q}, NULL, NULL, '', {order}, '{actor}', {now}) \
                     RETURNING id, goods_id, shop_id, kind, quantity, donor_name, \
                     donor_value_fen, note, order_id, actor, created_at"
                ),
            )?;
        }
        // orders::get_order, ledger::get_entry
        let (state, lines) = select_order(conn, order)?;
        select_one(
            conn,
            "entry",
            format!(
                "SELECT id, bank_id, kind, memo, reference, actor, reverses_entry_id, created_at, \
                 rule_id, origin FROM entries WHERE id = {entry} AND bank_id = {bank} LIMIT 1"
            ),
        )?;
        let written: Vec<IdRow> = sql_query(format!(
            "SELECT id, bank_id, entry_id, account_id, asset, amount, balance_after, created_at \
             FROM postings WHERE entry_id = {entry} ORDER BY id"
        ))
        .load(conn)?;
        ensure!(
            written.len() == 2,
            "entry {entry} has {} postings",
            written.len()
        );
        let _: Vec<IdRow> = sql_query(format!(
            "SELECT id FROM entries WHERE reverses_entry_id = {entry} LIMIT 1"
        ))
        .load(conn)?;
        // audit::created (the request id is the middleware's UUID)
        sql_query(format!(
            "INSERT INTO audit_log (at, actor, action, target, org_path, client_ip, request_id, \
             before_json, after_json) VALUES ({at}, '{actor}', 'order.fulfil', 'order:{order}', \
             '{path}', '127.0.0.1', '{request_id}', NULL, '{body}')",
            at = SystemClock.now_micros(),
            path = path.replace('\'', "''"),
            request_id = uuid::Uuid::new_v4(),
            body = order_json(world, &state, &lines),
        ))
        .execute(conn)?;
        Ok(())
    })
}

/// Shared by every worker of a backend: the next redemption number (round-robin over members
/// and goods, unique idempotency keys) and how many orders were placed and fulfilled in total.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) next: AtomicU64,
    pub(crate) placed: AtomicU64,
    pub(crate) fulfilled: AtomicU64,
}

/// The next redemption in raw SQL: the place transaction, then the fulfil transaction.
pub(crate) fn raw_redemption(
    conn: &mut Db,
    world: &World,
    counters: &Counters,
) -> anyhow::Result<()> {
    let n = counters.next.fetch_add(1, Ordering::Relaxed);
    let (member, goods) = world.pick(n);
    let order = raw_place(conn, world, member, goods, n)?;
    counters.placed.fetch_add(1, Ordering::Relaxed);
    raw_fulfil(conn, world, order)?;
    counters.fulfilled.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
