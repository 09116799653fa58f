-- The points supermarket (积分超市): shops, goods with an append-only stock log, and orders that
-- reserve stock and hold points until pickup.
CREATE TABLE shops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    -- Comma-separated days of the month on which orders may be placed (e.g. '1,15'); NULL = any day.
    redemption_days TEXT,
    allows_cash_topup BOOLEAN NOT NULL DEFAULT 0,
    -- Unpicked orders expire after this long.
    pickup_hours BIGINT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX shops_bank ON shops (bank_id, id);

CREATE TABLE goods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    image_url TEXT,
    category TEXT NOT NULL,
    price BIGINT NOT NULL CHECK (price > 0),
    -- Cached from stock_movements (checked by verify); reserved = in pending orders.
    stock BIGINT NOT NULL DEFAULT 0,
    reserved BIGINT NOT NULL DEFAULT 0,
    monthly_limit BIGINT,
    available_from BIGINT,
    available_until BIGINT,
    low_stock_threshold BIGINT NOT NULL DEFAULT 5,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    -- The last line of defence: never oversold, never more reserved than on the shelf.
    CHECK (stock >= 0 AND reserved >= 0 AND reserved <= stock)
);
CREATE INDEX goods_shop ON goods (shop_id, id);

CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    goods_id BIGINT NOT NULL REFERENCES goods(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    kind TEXT NOT NULL CHECK (kind IN ('stock_in', 'donation', 'write_off', 'correction', 'redemption')),
    quantity BIGINT NOT NULL CHECK (quantity <> 0),
    donor_name TEXT,
    -- The donation's value in yuan fen, as the donor states it (not points).
    donor_value_fen BIGINT,
    note TEXT NOT NULL,
    order_id BIGINT,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX stock_movements_goods ON stock_movements (goods_id, id);
CREATE INDEX stock_movements_shop ON stock_movements (shop_id, kind, id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id BIGINT NOT NULL REFERENCES banks(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    member_id BIGINT NOT NULL REFERENCES members(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'cancelled', 'expired')),
    total_points BIGINT NOT NULL,
    -- Points replaced by a cash top-up at the counter, and the cash taken (yuan fen).
    cash_points BIGINT NOT NULL DEFAULT 0,
    cash_fen BIGINT NOT NULL DEFAULT 0,
    hold_id BIGINT REFERENCES holds(id),
    entry_id BIGINT REFERENCES entries(id),
    pickup_code TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    -- Set when a clerk placed it for the member: "by X on behalf of Y".
    on_behalf BOOLEAN NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    closed_by TEXT,
    closed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX orders_shop_status ON orders (shop_id, status, id);
CREATE INDEX orders_member ON orders (member_id, id);
CREATE INDEX orders_due ON orders (status, expires_at);

CREATE TABLE order_lines (
    order_id BIGINT NOT NULL REFERENCES orders(id),
    goods_id BIGINT NOT NULL REFERENCES goods(id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    PRIMARY KEY (order_id, goods_id)
);
CREATE INDEX order_lines_member_goods ON order_lines (member_id, goods_id, created_at);
