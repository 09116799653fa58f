//! src/db/schema.rs read as text: each `diesel::table! { name (pk) { column -> Type, … } }`.
//! Anything beyond that syntax stops the test rather than being skipped, so nothing goes unread.

use super::model::{normalise, Column, Dialect, Schema, Table};

const MACRO: &str = "diesel::table!";

pub fn read_schema_rs() -> Schema {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs");
    let source = std::fs::read_to_string(path).expect("src/db/schema.rs readable");
    parse(&source)
}

pub fn parse(source: &str) -> Schema {
    let code: String = source
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    let mut schema = Schema::default();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(MACRO) {
        let (body, after) = braced(&rest[at + MACRO.len()..]);
        let (name, table) = parse_table(body);
        assert!(
            schema.tables.insert(name.clone(), table).is_none(),
            "schema.rs declares table {name} twice"
        );
        rest = after;
    }
    schema
}

/// The text inside the first `{ … }` of `text` (nested braces included), and what follows it.
fn braced(text: &str) -> (&str, &str) {
    let open = text.find('{').expect("`{` after diesel::table!");
    let mut depth = 0;
    for (i, ch) in text.char_indices().skip_while(|(i, _)| *i < open) {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return (&text[open + 1..i], &text[i + 1..]);
        }
    }
    panic!("unbalanced braces in schema.rs");
}

/// `name (a, b) { a -> BigInt, b -> Nullable<Text>, }`; without `(…)` diesel's key is `id`.
fn parse_table(body: &str) -> (String, Table) {
    let (header, rest) = body.split_once('{').expect("a column list");
    let columns = rest
        .trim_end()
        .strip_suffix('}')
        .expect("column list closed");
    assert!(
        !header.contains(['#', ':', ';']) && !columns.contains(['#', ';', '(']),
        "schema.rs uses table! syntax this reader does not know: {body}"
    );
    let (name, primary_key) = match header.split_once('(') {
        Some((name, key)) => {
            let key = key.trim().strip_suffix(')').expect("primary key closed");
            (name, key.split(',').map(|c| c.trim().to_string()).collect())
        }
        None => (header, vec!["id".to_string()]),
    };
    let mut table = Table {
        primary_key,
        ..Table::default()
    };
    for declaration in columns.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (column, ty) = declaration
            .split_once("->")
            .unwrap_or_else(|| panic!("not `column -> Type`: {declaration}"));
        let ty = ty.trim();
        let (ty, nullable) = match ty.strip_prefix("Nullable<") {
            Some(inner) => (inner.strip_suffix('>').expect("Nullable<…> closed"), true),
            None => (ty, false),
        };
        let column_def = Column {
            ty: normalise(Dialect::SchemaRs, ty),
            nullable,
        };
        table.columns.insert(column.trim().to_string(), column_def);
    }
    (name.trim().to_string(), table)
}
