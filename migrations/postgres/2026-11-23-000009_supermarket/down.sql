DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE stock_movements;
DROP TABLE goods;
DROP TABLE shops;
