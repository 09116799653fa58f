//! One model of a schema for SQLite, PostgreSQL and schema.rs alike, the table of how each spells
//! a type, and the comparison of two models as lines a person can act on.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    SchemaRs,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::SchemaRs => "schema.rs",
        })
    }
}

/// Every spelling of a column type we accept, and the one name it is compared by. A spelling
/// that is not here is reported, never guessed: a new type in a migration needs a row here, and
/// with it a decision on what the other backend and schema.rs must say.
pub const DIALECT_TYPES: &[(Dialect, &str, &str)] = &[
    // SQLite's rowid alias: `INTEGER PRIMARY KEY` is the 64-bit row id (BIGSERIAL on PostgreSQL,
    // which information_schema shows as bigint). A plain INTEGER column is deliberately absent:
    // schema.rs would have to choose between Integer and BigInt for it.
    (Dialect::Sqlite, "INTEGER PRIMARY KEY", "bigint"),
    (Dialect::Sqlite, "BIGINT", "bigint"),
    (Dialect::Postgres, "bigint", "bigint"),
    (Dialect::SchemaRs, "BigInt", "bigint"),
    (Dialect::Sqlite, "TEXT", "text"),
    (Dialect::Postgres, "text", "text"),
    (Dialect::SchemaRs, "Text", "text"),
    // SQLite stores 0/1 under the declared name BOOLEAN; diesel reads it as Bool.
    (Dialect::Sqlite, "BOOLEAN", "bool"),
    (Dialect::Postgres, "boolean", "bool"),
    (Dialect::SchemaRs, "Bool", "bool"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Known(&'static str),
    Unrecognised { dialect: Dialect, spelled: String },
}

/// The compared name of `spelled` in `dialect` (SQL type names are case-insensitive).
pub fn normalise(dialect: Dialect, spelled: &str) -> ColumnType {
    DIALECT_TYPES
        .iter()
        .find(|(d, s, _)| *d == dialect && s.eq_ignore_ascii_case(spelled.trim()))
        .map(|(_, _, name)| ColumnType::Known(name))
        .unwrap_or_else(|| ColumnType::Unrecognised {
            dialect,
            spelled: spelled.to_string(),
        })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub ty: ColumnType,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub table: String,
    pub references: Vec<String>,
}

/// An index by what it does, not what it is called: a UNIQUE constraint's index is named
/// `sqlite_autoindex_…` on SQLite and `…_key` on PostgreSQL. Partial indexes are compared by
/// being partial only: each backend re-spells the predicate in its own way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    pub columns: Vec<String>,
    pub unique: bool,
    pub partial: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// By name: diesel names every column it selects, so their order in the table is free.
    pub columns: BTreeMap<String, Column>,
    pub primary_key: Vec<String>,
    pub foreign_keys: BTreeSet<ForeignKey>,
    /// The index's name on that backend, for the reader of a difference.
    pub indexes: BTreeMap<Index, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
}

/// Everything that differs between two databases: tables, columns, types, nullability, primary
/// keys, foreign keys and indexes.
pub fn differences(
    left: &Schema,
    left_name: &str,
    right: &Schema,
    right_name: &str,
) -> Vec<String> {
    compare(left, left_name, right, right_name, true)
}

/// What a database and schema.rs disagree on: schema.rs states no foreign keys or indexes.
pub fn column_differences(
    database: &Schema,
    database_name: &str,
    schema_rs: &Schema,
    schema_rs_name: &str,
) -> Vec<String> {
    compare(database, database_name, schema_rs, schema_rs_name, false)
}

fn compare(
    left: &Schema,
    ln: &str,
    right: &Schema,
    rn: &str,
    with_constraints: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, l) in &left.tables {
        let Some(r) = right.tables.get(name) else {
            lines.push(format!("table {name} is in {ln} but not in {rn}"));
            continue;
        };
        compare_columns(name, l, ln, r, rn, &mut lines);
        if l.primary_key != r.primary_key {
            lines.push(format!(
                "table {name}: primary key is ({}) in {ln} but ({}) in {rn}",
                l.primary_key.join(", "),
                r.primary_key.join(", ")
            ));
        }
        if with_constraints {
            compare_constraints(name, l, ln, r, rn, &mut lines);
        }
    }
    for name in right
        .tables
        .keys()
        .filter(|t| !left.tables.contains_key(*t))
    {
        lines.push(format!("table {name} is in {rn} but not in {ln}"));
    }
    lines
}

fn compare_columns(table: &str, l: &Table, ln: &str, r: &Table, rn: &str, lines: &mut Vec<String>) {
    for (name, lc) in &l.columns {
        let Some(rc) = r.columns.get(name) else {
            lines.push(format!(
                "table {table}: column `{name}` is in {ln} but not in {rn}"
            ));
            continue;
        };
        for column in [lc, rc] {
            if let ColumnType::Unrecognised { dialect, spelled } = &column.ty {
                lines.push(format!(
                    "table {table}: column `{name}` has {dialect} type `{spelled}`, which DIALECT_TYPES does not know"
                ));
            }
        }
        if let (ColumnType::Known(lt), ColumnType::Known(rt)) = (&lc.ty, &rc.ty) {
            if lt != rt {
                lines.push(format!(
                    "table {table}: column `{name}` is {lt} in {ln} but {rt} in {rn}"
                ));
            }
        }
        if lc.nullable != rc.nullable {
            lines.push(format!(
                "table {table}: column `{name}` is {} in {ln} but {} in {rn}",
                nullability(lc.nullable),
                nullability(rc.nullable)
            ));
        }
    }
    for name in r.columns.keys().filter(|c| !l.columns.contains_key(*c)) {
        lines.push(format!(
            "table {table}: column `{name}` is in {rn} but not in {ln}"
        ));
    }
}

fn compare_constraints(
    table: &str,
    l: &Table,
    ln: &str,
    r: &Table,
    rn: &str,
    lines: &mut Vec<String>,
) {
    for (fk, present, absent) in one_sided(&l.foreign_keys, ln, &r.foreign_keys, rn) {
        lines.push(format!(
            "table {table}: foreign key ({}) -> {}({}) is in {present} but not in {absent}",
            fk.columns.join(", "),
            fk.table,
            fk.references.join(", ")
        ));
    }
    let l_indexes: BTreeSet<&Index> = l.indexes.keys().collect();
    let r_indexes: BTreeSet<&Index> = r.indexes.keys().collect();
    for (index, present, absent) in one_sided(&l_indexes, ln, &r_indexes, rn) {
        let name = l
            .indexes
            .get(*index)
            .or_else(|| r.indexes.get(*index))
            .map_or("", String::as_str);
        let kind = match (index.unique, index.partial) {
            (true, true) => "unique partial index",
            (true, false) => "unique index",
            (false, true) => "partial index",
            (false, false) => "index",
        };
        lines.push(format!(
            "table {table}: {kind} {name} on ({}) is in {present} but not in {absent}",
            index.columns.join(", ")
        ));
    }
}

/// The members of either set that the other lacks, with the name of the side that has them.
fn one_sided<'a, T: Ord>(
    l: &'a BTreeSet<T>,
    ln: &'a str,
    r: &'a BTreeSet<T>,
    rn: &'a str,
) -> Vec<(&'a T, &'a str, &'a str)> {
    let left_only = l.difference(r).map(|item| (item, ln, rn));
    let right_only = r.difference(l).map(|item| (item, rn, ln));
    left_only.chain(right_only).collect()
}

fn nullability(nullable: bool) -> &'static str {
    if nullable {
        "nullable"
    } else {
        "NOT NULL"
    }
}
