//! The OpenAPI document is the product: committed, served, and in step with the code.

use crate::helpers::*;
use crate::on_both_backends;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = pointsbank::openapi::to_pretty_json(&pointsbank::openapi::document());
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

#[test]
fn every_operation_is_documented_with_examples_and_problem_responses() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{method} {path}");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name} lacks a summary"
            );
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{name} {status}"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    let problem = &response["content"]["application/problem+json"];
                    assert!(
                        problem["example"]["code"].is_string(),
                        "{name} {status} lacks a problem example"
                    );
                }
            }
            let public = [
                "/api/v1/auth/login",
                "/api/v1/auth/refresh",
                "/api/v1/auth/logout",
                "/api/v1/auth/wechat",
                "/api/v1/auth/wechat/bind",
                "/api/v1/auth/wechat/refresh",
                "/api/v1/auth/wechat/logout",
            ];
            let security = &operation["security"];
            if path.starts_with("/api/v1/") && !public.contains(&path.as_str()) {
                assert!(
                    operation["responses"]["401"].is_object(),
                    "{name} does not document 401"
                );
                let kind = if path == "/api/v1/me"
                    || path.starts_with("/api/v1/me/")
                    || path == "/api/v1/checkins"
                {
                    "member"
                } else {
                    "staff"
                };
                assert!(
                    *security == serde_json::json!([{kind: []}]),
                    "{name} must name exactly the {kind} token, not {security}"
                );
            } else {
                assert_eq!(*security, serde_json::json!([{}]), "{name} is open");
            }
        }
    }
    assert!(operations >= 18, "only {operations} operations documented");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in [
        "Entry",
        "Account",
        "Hold",
        "PostEntry",
        "Problem",
        "Statement",
    ] {
        assert!(
            schemas[name]["example"].is_object()
                || schemas[name]["examples"].is_array()
                || name == "Statement" && schemas[name].is_object(),
            "{name} lacks an example"
        );
    }
}

/// A client can only tell a replayed retry from a fresh success if the contract says where.
#[test]
fn every_idempotent_operation_declares_the_replay_header() {
    let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let mut idempotent = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let takes_key = operation["parameters"].as_array().is_some_and(|params| {
                params
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
            });
            if !takes_key {
                continue;
            }
            idempotent.push(format!("{method} {path}"));
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    assert!(
                        response["headers"]["Idempotent-Replayed"].is_object(),
                        "{method} {path} {status} does not declare Idempotent-Replayed"
                    );
                }
            }
        }
    }
    for expected in [
        "post /api/v1/me/orders",
        "post /api/v1/shops/{shop_id}/orders",
    ] {
        assert!(idempotent.iter().any(|o| o == expected), "{idempotent:?}");
    }
}

on_both_backends!(
    the_service_serves_the_committed_document_and_offline_docs,
    |backend| async move {
        let app = spawn_app(backend).await;
        let served = app
            .client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap();
        let served: serde_json::Value = served.json().await.unwrap();
        let committed: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
        assert!(
            served == committed,
            "the served document differs from openapi/openapi.json"
        );

        let page = app.client.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            !html.contains("https://"),
            "the docs page must not load anything from the network"
        );
        for asset in [
            "swagger-ui-bundle.js",
            "swagger-initializer.js",
            "swagger-ui.css",
        ] {
            let reply = app
                .client
                .get(app.url(&format!("/docs/{asset}")))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 200, "{asset}");
            assert!(
                reply.bytes().await.unwrap().len() > 100,
                "{asset} is served from the binary"
            );
        }
    }
);

/// The README's configuration table is the documentation of every setting: none may be missing.
#[test]
fn every_setting_is_documented_in_the_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (key, variable, _, _) in pointsbank::config::SETTINGS {
        let row = format!("| `{variable}` | `{key}` |");
        assert!(
            readme.contains(&row),
            "README.md lacks the row for {key}: {row}"
        );
    }
}

/// The README's problem-codes table names every conflict code the service can answer with.
#[test]
fn every_conflict_code_is_in_the_readme_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table_rows: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("| 409 |"))
        .collect();
    for code in pointsbank::error::ConflictCode::ALL {
        let quoted = format!("`{code}`");
        assert!(
            table_rows.iter().any(|row| row.contains(&quoted)),
            "README.md's problem table has no 409 row naming {quoted}"
        );
    }
}

/// Every example in the contract passes the checks a schema cannot express (Redocly already checks
/// each example against its schema): ID numbers have their check digit, phones are mainland
/// mobiles, amounts and cards parse.
#[test]
fn examples_in_the_contract_pass_the_servers_own_checks() {
    fn walk(value: &serde_json::Value, at: &str, problems: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(fields) => {
                for (key, field) in fields {
                    let here = format!("{at}.{key}");
                    if let serde_json::Value::String(text) = field {
                        let fine = match key.as_str() {
                            "id_card" if !text.contains('*') => {
                                pointsbank::domain::access::identity::parse_id_card(text).is_some()
                            }
                            "phone" if !text.contains('*') => {
                                pointsbank::domain::access::privacy::is_mainland_mobile(text)
                            }
                            "amount" | "points" | "price" | "default_points" => text
                                .parse::<pointsbank::domain::ledger::money::Amount>()
                                .is_ok(),
                            _ => true,
                        };
                        if !fine {
                            problems.push(format!("{here} = {text:?}"));
                        }
                    }
                    walk(field, &here, problems);
                }
            }
            serde_json::Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}[{index}]"), problems);
                }
            }
            _ => {}
        }
    }
    let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let mut problems = Vec::new();
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        for example in [&schema["example"], &schema["examples"]] {
            walk(example, name, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "examples the server would refuse: {problems:#?}"
    );
}

/// The request example of an operation, from its body's schema (inline or by `$ref`).
fn request_example(
    document: &serde_json::Value,
    operation: &serde_json::Value,
) -> Option<serde_json::Value> {
    let content = &operation["requestBody"]["content"]["application/json"];
    if let Some(example) = content.get("example") {
        return Some(example.clone());
    }
    let schema = &content["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next()?;
            &document["components"]["schemas"][name]
        }
        None => schema,
    };
    schema.get("example").cloned()
}

on_both_backends!(
    every_request_example_is_accepted_as_well_formed_by_a_fresh_server,
    |backend| async move {
        let app = spawn_app(backend).await;
        let village = app.village().await;
        let member = app.member(&village, "示例").await;
        let document: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
        let mut refused = Vec::new();
        let mut tried = 0;
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(example) = request_example(&document, operation) else {
                    continue;
                };
                tried += 1;
                let token = if operation["security"] == serde_json::json!([{"member": []}]) {
                    &member.token
                } else {
                    &app.token
                };
                // Ids in examples need not exist here; only their form is on trial.
                let concrete = path
                    .split('/')
                    .map(|part| if part.starts_with('{') { "1" } else { part })
                    .collect::<Vec<_>>()
                    .join("/");
                let reply = app
                    .send_as(
                        token,
                        &method.to_uppercase(),
                        &concrete,
                        Some(example.clone()),
                    )
                    .await;
                let field = reply.body["field"].as_str().unwrap_or_default();
                let names_a_missing_record =
                    field.ends_with("_id") || field.contains("_ids") || field == "path";
                // 502/503 are WeChat, which is not configured here, not the example.
                let malformed = reply.status == 400
                    || reply.status == 500
                    || (reply.body["code"] == "validation_failed" && !names_a_missing_record);
                if malformed {
                    refused.push(format!("{method} {path}: {} {}", reply.status, reply.body));
                }
            }
        }
        assert!(tried >= 30, "only {tried} request examples found");
        assert!(
            refused.is_empty(),
            "examples refused as malformed:\n{}",
            refused.join("\n")
        );
    }
);
