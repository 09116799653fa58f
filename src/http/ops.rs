//! Operations endpoints: liveness, readiness, metrics.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ServiceError, ServiceResult};
use crate::http::{with_db, AppState};

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    pub status: String,
}

/// Liveness
///
/// The process is up. Does not touch the database.
#[utoipa::path(tag = "ops", responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// Readiness
///
/// The database answers; send traffic here.
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "`service_unavailable`: the database does not answer"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ServiceResult<HttpResponse> {
    with_db(&state, |conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")
            .map_err(|_| ServiceError::Unavailable)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".into(),
    }))
}

/// Prometheus metrics
///
/// Request counts and latency histograms per route, sealer and pool gauges (text exposition format).
#[utoipa::path(
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.store.pool().state();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(
            state
                .metrics
                .render(pool.connections, pool.idle_connections),
        )
}
