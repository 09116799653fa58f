//! The schema is kept honest: SQLite's and PostgreSQL's migrations build the same tables, and
//! src/db/schema.rs describes them. Each database is read back from its own catalogue, so what
//! is compared is what the migrations really made, not what their SQL seems to say.

mod introspect;
mod model;
mod schema_rs;

use diesel::connection::SimpleConnection;

use crate::helpers::{postgres_available, Backend, TestDatabase};
use introspect::{migrated_postgres, migrated_sqlite, postgres_schema, sqlite_schema};
use model::{column_differences, differences, Column, ColumnType, Dialect, Index, Schema, Table};
use schema_rs::read_schema_rs;

fn migrated_postgres_schema() -> Schema {
    let database = TestDatabase::new(Backend::Postgres);
    postgres_schema(&mut migrated_postgres(&database.url))
}

#[test]
fn both_backends_migrate_to_the_same_schema_as_schema_rs() {
    let schema_rs = read_schema_rs();
    let database = TestDatabase::new(Backend::Sqlite);
    let sqlite = sqlite_schema(&mut migrated_sqlite(&database.url));
    let mut lines = column_differences(&sqlite, "sqlite", &schema_rs, "schema.rs");
    if postgres_available() {
        let postgres = migrated_postgres_schema();
        lines.extend(differences(&sqlite, "sqlite", &postgres, "postgres"));
        lines.extend(column_differences(
            &postgres,
            "postgres",
            &schema_rs,
            "schema.rs",
        ));
    } else {
        // CI sets PB_REQUIRE_POSTGRES=1, and `postgres_is_tested_when_ci_requires_it` fails there.
        eprintln!("PB_TEST_POSTGRES_URL is not set: SQLite was compared with schema.rs only, PostgreSQL skipped");
    }
    assert!(
        lines.is_empty(),
        "{} differences:\n{}",
        lines.len(),
        lines.join("\n")
    );
}

/// A freshly migrated SQLite after `alteration`, compared in full with a database the
/// migrations made untouched: PostgreSQL when configured, else another SQLite (schema.rs could
/// not show a missing index or foreign key). Returns that database's name and the differences.
fn differences_after_altering_sqlite(alteration: &str) -> (&'static str, Vec<String>) {
    let database = TestDatabase::new(Backend::Sqlite);
    let mut conn = migrated_sqlite(&database.url);
    conn.batch_execute(alteration).expect("SQLite altered");
    let altered = sqlite_schema(&mut conn);
    let (name, untouched) = if postgres_available() {
        ("postgres", migrated_postgres_schema())
    } else {
        let clean = TestDatabase::new(Backend::Sqlite);
        (
            "untouched sqlite",
            sqlite_schema(&mut migrated_sqlite(&clean.url)),
        )
    };
    let lines = differences(&altered, "sqlite", &untouched, name);
    eprintln!("reported:\n{}", lines.join("\n"));
    (name, lines)
}

#[test]
fn a_column_added_to_one_backend_only_is_reported() {
    let (other, lines) =
        differences_after_altering_sqlite("ALTER TABLE goods ADD COLUMN extra_note TEXT");
    let expected = format!("table goods: column `extra_note` is in sqlite but not in {other}");
    assert!(
        lines.contains(&expected),
        "expected {expected:?} among {lines:#?}"
    );
}

#[test]
fn an_index_or_foreign_key_on_one_backend_only_is_reported() {
    let (other, lines) = differences_after_altering_sqlite(
        "DROP INDEX goods_shop; ALTER TABLE goods ADD COLUMN supplier_id BIGINT REFERENCES shops(id);",
    );
    for expected in [
        format!("table goods: index goods_shop on (shop_id, id) is in {other} but not in sqlite"),
        format!(
            "table goods: foreign key (supplier_id) -> shops(id) is in sqlite but not in {other}"
        ),
    ] {
        assert!(
            lines.contains(&expected),
            "expected {expected:?} among {lines:#?}"
        );
    }
}

fn column(ty: &'static str, nullable: bool) -> Column {
    Column {
        ty: ColumnType::Known(ty),
        nullable,
    }
}

fn one_table(name: &str, table: Table) -> Schema {
    Schema {
        tables: [(name.to_string(), table)].into(),
    }
}

#[test]
fn the_comparison_names_a_nullability_mismatch_and_a_missing_index() {
    let shops = |note_nullable: bool| Table {
        columns: [
            ("id".to_string(), column("bigint", false)),
            ("note".to_string(), column("text", note_nullable)),
        ]
        .into(),
        primary_key: vec!["id".into()],
        ..Table::default()
    };
    let mut indexed = shops(true);
    let by_note = Index {
        columns: vec!["note".into()],
        unique: true,
        partial: false,
    };
    indexed.indexes.insert(by_note, "shops_note".into());
    let left = one_table("shops", indexed);
    let right = one_table("shops", shops(false));

    assert_eq!(
        differences(&left, "sqlite", &right, "postgres"),
        [
            "table shops: column `note` is nullable in sqlite but NOT NULL in postgres",
            "table shops: unique index shops_note on (note) is in sqlite but not in postgres",
        ]
    );
    // schema.rs states no indexes: only the nullability remains.
    assert_eq!(
        column_differences(&left, "sqlite", &right, "schema.rs"),
        ["table shops: column `note` is nullable in sqlite but NOT NULL in schema.rs"]
    );
    assert!(differences(&left, "sqlite", &left, "sqlite").is_empty());
}

#[test]
fn a_type_outside_the_dialect_table_is_reported_even_when_both_sides_agree() {
    let real = Column {
        ty: model::normalise(Dialect::Sqlite, "REAL"),
        nullable: false,
    };
    let table = Table {
        columns: [("price".to_string(), real)].into(),
        ..Table::default()
    };
    let schema = one_table("goods", table);
    assert_eq!(
        differences(&schema, "sqlite", &schema, "a copy"),
        ["table goods: column `price` has sqlite type `REAL`, which DIALECT_TYPES does not know";
            2]
    );
}

#[test]
fn schema_rs_tables_key_on_id_unless_they_name_their_own_key() {
    let parsed = schema_rs::parse(
        "// diesel::table! in a comment is no table\n\
         diesel::table! { orgs { id -> BigInt, parent_id -> Nullable<BigInt>, } }\n\
         diesel::joinable!(banks -> orgs (org_id));\n\
         diesel::table! {\n    seals (bank_id, seq) {\n        bank_id -> BigInt,\n        seq -> BigInt,\n        hash -> Text,\n    }\n}\n",
    );
    let orgs = Table {
        columns: [
            ("id".to_string(), column("bigint", false)),
            ("parent_id".to_string(), column("bigint", true)),
        ]
        .into(),
        primary_key: vec!["id".into()],
        ..Table::default()
    };
    let seals = Table {
        columns: [
            ("bank_id".to_string(), column("bigint", false)),
            ("seq".to_string(), column("bigint", false)),
            ("hash".to_string(), column("text", false)),
        ]
        .into(),
        primary_key: vec!["bank_id".into(), "seq".into()],
        ..Table::default()
    };
    let expected = Schema {
        tables: [("orgs".to_string(), orgs), ("seals".to_string(), seals)].into(),
    };
    assert_eq!(parsed, expected);
}
