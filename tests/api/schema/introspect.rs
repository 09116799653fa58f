//! A migrated database, read back from its own catalogue into the shared model.

use std::collections::BTreeMap;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use pointsbank::db::connection::run_migrations;
use pointsbank::db::{Db, DbTarget};

use super::model::{normalise, Column, Dialect, ForeignKey, Index, Schema};

/// A connection to the database at `url` after the service's own migrations ran on it.
pub fn migrated_sqlite(url: &str) -> SqliteConnection {
    let conn = SqliteConnection::establish(&DbTarget::parse(url).location).expect("SQLite opens");
    let mut db = Db::Sqlite(conn);
    run_migrations(&mut db).expect("SQLite migrations run");
    match db {
        Db::Sqlite(conn) => conn,
        Db::Pg(_) => unreachable!("opened as SQLite"),
    }
}

pub fn migrated_postgres(url: &str) -> PgConnection {
    let conn = PgConnection::establish(&DbTarget::parse(url).location).expect("PostgreSQL opens");
    let mut db = Db::Pg(conn);
    run_migrations(&mut db).expect("PostgreSQL migrations run");
    match db {
        Db::Pg(conn) => conn,
        Db::Sqlite(_) => unreachable!("opened as PostgreSQL"),
    }
}

/// Our tables only: not diesel's migration log, not SQLite's own (`sqlite_sequence`).
const SQLITE_TABLES: &str = "m.type = 'table' AND substr(m.name, 1, 7) <> 'sqlite_' \
                             AND m.name <> '__diesel_schema_migrations'";

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    declared_type: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    /// 1-based place in the primary key; 0 when not part of it.
    #[diesel(sql_type = BigInt)]
    pk_position: i64,
}

#[derive(QueryableByName)]
struct SqliteForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = BigInt)]
    fk_id: i64,
    #[diesel(sql_type = Text)]
    ref_table: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    /// NULL when the clause names no column: then it is the referenced table's primary key.
    #[diesel(sql_type = Nullable<Text>)]
    ref_column: Option<String>,
}

#[derive(QueryableByName)]
struct SqliteIndexColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Bool)]
    partial: bool,
    /// NULL for an expression.
    #[diesel(sql_type = Nullable<Text>)]
    column_name: Option<String>,
}

pub fn sqlite_schema(conn: &mut SqliteConnection) -> Schema {
    let columns: Vec<SqliteColumn> = diesel::sql_query(format!(
        "SELECT m.name AS table_name, p.name AS column_name, p.type AS declared_type, \
                p.\"notnull\" AS not_null, p.pk AS pk_position \
         FROM sqlite_master m, pragma_table_info(m.name) p WHERE {SQLITE_TABLES} \
         ORDER BY m.name, p.cid"
    ))
    .load(conn)
    .expect("SQLite columns");
    let mut schema = Schema::default();
    let mut primary_keys: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    for c in &columns {
        schema.tables.entry(c.table_name.clone()).or_default();
        if c.pk_position > 0 {
            let key = primary_keys.entry(&c.table_name).or_default();
            key.push((c.pk_position, &c.column_name));
        }
    }
    for c in &columns {
        let key = primary_keys.get(c.table_name.as_str());
        let rowid_alias = c.declared_type.eq_ignore_ascii_case("INTEGER")
            && key.is_some_and(|k| k.len() == 1 && k[0].1 == c.column_name);
        // The rowid alias is never NULL, though `notnull` says 0 for it. Any other primary key
        // column without NOT NULL really does take NULL on SQLite (a documented legacy quirk).
        let (spelled, nullable) = if rowid_alias {
            ("INTEGER PRIMARY KEY", false)
        } else {
            (c.declared_type.as_str(), !c.not_null)
        };
        let column = Column {
            ty: normalise(Dialect::Sqlite, spelled),
            nullable,
        };
        let table = schema
            .tables
            .get_mut(&c.table_name)
            .expect("table seen above");
        table.columns.insert(c.column_name.clone(), column);
    }
    for (name, mut key) in primary_keys {
        key.sort();
        let table = schema.tables.get_mut(name).expect("table seen above");
        table.primary_key = key.into_iter().map(|(_, c)| c.to_string()).collect();
    }

    let fk_rows: Vec<SqliteForeignKey> = diesel::sql_query(format!(
        "SELECT m.name AS table_name, f.id AS fk_id, f.\"table\" AS ref_table, \
                f.\"from\" AS column_name, f.\"to\" AS ref_column \
         FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE {SQLITE_TABLES} \
         ORDER BY m.name, f.id, f.seq"
    ))
    .load(conn)
    .expect("SQLite foreign keys");
    let mut fks: BTreeMap<(String, i64), ForeignKey> = BTreeMap::new();
    for row in fk_rows {
        let fk = fks
            .entry((row.table_name, row.fk_id))
            .or_insert_with(|| ForeignKey {
                columns: Vec::new(),
                table: row.ref_table.clone(),
                references: Vec::new(),
            });
        fk.columns.push(row.column_name);
        if let Some(column) = row.ref_column {
            fk.references.push(column);
        }
    }
    for ((table, _), mut fk) in fks {
        if fk.references.is_empty() {
            fk.references = schema.tables.get(&fk.table).map_or_else(
                || vec!["<primary key of a missing table>".into()],
                |t| t.primary_key.clone(),
            );
        }
        let table = schema.tables.get_mut(&table).expect("table seen above");
        table.foreign_keys.insert(fk);
    }

    // origin 'pk' is the primary key's own index; the primary key is compared on its own.
    let index_rows: Vec<SqliteIndexColumn> = diesel::sql_query(format!(
        "SELECT m.name AS table_name, il.name AS index_name, il.\"unique\" AS is_unique, \
                il.partial AS partial, ii.name AS column_name \
         FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii \
         WHERE {SQLITE_TABLES} AND il.origin <> 'pk' \
         ORDER BY m.name, il.name, ii.seqno"
    ))
    .load(conn)
    .expect("SQLite indexes");
    let mut indexes: BTreeMap<(String, String), Index> = BTreeMap::new();
    for row in index_rows {
        let index = indexes
            .entry((row.table_name, row.index_name))
            .or_insert_with(|| Index {
                columns: Vec::new(),
                unique: row.is_unique,
                partial: row.partial,
            });
        index
            .columns
            .push(row.column_name.unwrap_or_else(|| "<expression>".into()));
    }
    for ((table, name), index) in indexes {
        let table = schema.tables.get_mut(&table).expect("table seen above");
        table.indexes.insert(index, name);
    }
    schema
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct PgIndex {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Bool)]
    is_primary: bool,
    #[diesel(sql_type = Bool)]
    partial: bool,
    /// Key columns in order (an expression as PostgreSQL prints it).
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
}

#[derive(QueryableByName)]
struct PgForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    ref_table: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    ref_columns: Vec<String>,
}

pub fn postgres_schema(conn: &mut PgConnection) -> Schema {
    let columns: Vec<PgColumn> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.data_type::text AS data_type, (c.is_nullable = 'YES') AS nullable \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("PostgreSQL columns");
    let mut schema = Schema::default();
    for c in columns {
        let column = Column {
            ty: normalise(Dialect::Postgres, &c.data_type),
            nullable: c.nullable,
        };
        let table = schema.tables.entry(c.table_name).or_default();
        table.columns.insert(c.column_name, column);
    }

    let indexes: Vec<PgIndex> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                x.indisunique AS is_unique, x.indisprimary AS is_primary, \
                (x.indpred IS NOT NULL) AS partial, \
                ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) \
                      FROM generate_series(1, x.indnkeyatts::int) AS k ORDER BY k) AS columns \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND t.relkind = 'r' \
           AND t.relname <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("PostgreSQL indexes");
    for row in indexes {
        let table = schema.tables.entry(row.table_name).or_default();
        if row.is_primary {
            table.primary_key = row.columns;
        } else {
            let index = Index {
                columns: row.columns,
                unique: row.is_unique,
                partial: row.partial,
            };
            table.indexes.insert(index, row.index_name);
        }
    }

    let fks: Vec<PgForeignKey> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, r.relname::text AS ref_table, \
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                      ORDER BY k.ord) AS columns, \
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord) \
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum \
                      ORDER BY k.ord) AS ref_columns \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .load(conn)
    .expect("PostgreSQL foreign keys");
    for row in fks {
        let table = schema.tables.entry(row.table_name).or_default();
        table.foreign_keys.insert(ForeignKey {
            columns: row.columns,
            table: row.ref_table,
            references: row.ref_columns,
        });
    }
    schema
}
