-- PostgreSQL's primary keys were NOT NULL from the start; only SQLite needed the rebuild.
SELECT 1;
