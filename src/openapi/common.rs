//! What every operation of a kind shares, documented once: the error statuses any secured,
//! body-taking or id-addressed operation can answer, the headers every response carries, the
//! two token kinds, and `security: []` on the open operations. An annotation that forgets one of
//! these cannot make the contract lie, because the document is completed here.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{KnownFormat, ObjectBuilder, RefOr, Required, Schema, SchemaFormat, Type};

use crate::http::extract::IDEMPOTENCY_KEY_PATTERN;
use crate::http::paging::{DEFAULT_PAGE, MAX_PAGE};

/// Operations that touch no database: the only ones that cannot answer 503.
const WITHOUT_DATABASE: &[&str] = &["/healthz", "/metrics"];

pub fn complete(path: &str, operation: &mut Operation) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    if operation.security.is_none() {
        // Open operation (sign-in, probes): say so, rather than leave it to a default.
        operation.security = Some(vec![SecurityRequirement::default()]);
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_in = |place: ParameterIn| parameters.iter().any(|p| p.parameter_in == place);
    let (by_path, by_query) = (has_in(ParameterIn::Path), has_in(ParameterIn::Query));
    let idempotent = parameters.iter().any(|p| p.name == "Idempotency-Key");
    let with_body = operation.request_body.is_some();

    let mut common: Vec<(&str, &str)> = Vec::new();
    if with_body {
        common.push((
            "400",
            "`malformed_request`: the body is not JSON, or not sent as `Content-Type: application/json`",
        ));
        common.push((
            "413",
            "`payload_too_large`: the body is larger than the service accepts (`PB_MAX_BODY_BYTES`)",
        ));
    }
    if secured {
        common.push((
            "401",
            "`unauthorized`: the bearer token is missing, malformed, expired or signed out",
        ));
        common.push((
            "403",
            "`forbidden`: a token of the other kind (staff vs member), or a role that may not do this in the unit",
        ));
    }
    if by_path {
        common.push((
            "404",
            "`not_found`: no such record, or it lies outside your units (both are answered alike)",
        ));
    }
    if with_body || by_path || by_query || idempotent {
        common.push((
            "422",
            "`validation_failed`: a path id, query parameter, header or body field is malformed; `field` names it",
        ));
    }
    if !WITHOUT_DATABASE.contains(&path) {
        common.push((
            "503",
            "`service_unavailable`: the database is unreachable or busy; retry after `Retry-After` seconds",
        ));
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in common {
        responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(description).build()));
    }

    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        for (media_type, content) in response.content.iter_mut() {
            if media_type.starts_with("image/") {
                // Images are bytes (PNG) or a document (SVG), never a JSON array of numbers.
                content.schema = Some(RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .content_media_type(media_type.as_str())
                        .build(),
                )));
            }
        }
        response
            .headers
            .entry("X-Request-Id".into())
            .or_insert_with(|| {
                header("The request id (yours if you sent a valid `X-Request-Id`); quote it when reporting a problem")
            });
        if status == "503" || status == "429" {
            response
                .headers
                .entry("Retry-After".into())
                .or_insert_with(|| header("Seconds to wait before retrying"));
        }
        if status == "401" {
            response
                .headers
                .entry("WWW-Authenticate".into())
                .or_insert_with(|| header("`Bearer`"));
        }
        if idempotent && status.starts_with('2') {
            response
                .headers
                .entry("Idempotent-Replayed".into())
                .or_insert_with(|| {
                    header("`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`; absent otherwise")
                });
        }
    }

    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in == ParameterIn::Query {
            // Conventions every list and period shares (see http/paging.rs and types.rs).
            let schema = match parameter.name.as_str() {
                "limit" => Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(1))
                        .maximum(Some(MAX_PAGE))
                        .examples([DEFAULT_PAGE]),
                ),
                "from" | "to" => Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                        .examples(["2026-11-01T00:00:00+08:00"]),
                ),
                "date" => Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                        .examples(["2026-11-28"]),
                ),
                _ => None,
            };
            if let Some(schema) = schema {
                parameter.schema = Some(RefOr::T(Schema::Object(schema.build())));
            }
        }
        if parameter.name == "Idempotency-Key" {
            parameter.required = Required::False;
            parameter.schema = Some(RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(200))
                    .pattern(Some(IDEMPOTENCY_KEY_PATTERN))
                    .examples(["6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"])
                    .build(),
            )));
        }
    }
}

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .build()
}
