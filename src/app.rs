//! Builds the service from `Settings`: pool, migrations, background upkeep, HTTP server.
//! Used by `main` and by the tests, so both run exactly the same application.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_service::{IntoServiceFactory, ServiceFactoryExt};
use actix_web::body::BoxBody;
use actix_web::dev::AppConfig;
use actix_web::dev::{Server, Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpMessage, HttpResponse};
use tracing::Instrument;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::TokenKeys;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::db::{self, connection, DbTarget};
use crate::error::ServiceError;
use crate::http::problem::problem_response;
use crate::http::transport::ProblemIo;
use crate::http::{extract, fallback, AppState};
use crate::mail::email::SmtpChannel;
use crate::mail::sender::{sender_name, MailSender, SenderPlan};
use crate::metrics::Metrics;
use crate::openapi;
use crate::service::Store;
use crate::worker::Upkeep;

/// Opens the pool and brings the schema up to date.
pub fn open_database(settings: &Settings) -> anyhow::Result<db::Pool> {
    let mut target = DbTarget::parse(&settings.database_url);
    target.sqlite_synchronous = settings.sqlite_synchronous.clone();
    target.busy_timeout_ms = settings.busy_timeout_ms;
    let pool = connection::build_pool(
        &target,
        settings.db_pool_size,
        Duration::from_millis(settings.db_acquire_timeout_ms),
    )?;
    let mut conn = pool.get()?;
    let applied = connection::run_migrations(&mut conn)?;
    if applied > 0 {
        tracing::info!(applied, "database migrated");
    }
    Ok(pool)
}

/// The database, migrated, on `clock`: what the service, the workers and the CLI all use.
pub fn open_store(settings: &Settings, clock: SharedClock) -> anyhow::Result<Store> {
    let pool = open_database(settings)?;
    let backend = DbTarget::parse(&settings.database_url).backend;
    Ok(Store::new(pool, backend, clock))
}

/// A started service: its port, the server future to await, and the upkeep thread.
pub struct Running {
    pub port: u16,
    pub server: Server,
    pub upkeep: Upkeep,
    /// `None` when mail is off (`PB_SMTP_URL` unset).
    pub mail: Option<MailSender>,
    pub pool: db::Pool,
}

pub fn start(settings: Settings) -> anyhow::Result<Running> {
    start_with_clock(settings, Arc::new(SystemClock))
}

/// `start` on a given clock: tests pass a `ShiftedClock` to step over time windows.
pub fn start_with_clock(mut settings: Settings, clock: SharedClock) -> anyhow::Result<Running> {
    settings.resolve_jwt_secret()?;
    let store = open_store(&settings, clock)?;
    let pool = store.pool().clone();
    let metrics = Arc::new(Metrics::default());
    let mut keys = TokenKeys::new(
        settings.jwt_secret.as_bytes(),
        &settings.jwt_issuer,
        &settings.jwt_audience,
        settings.access_token_ttl_seconds,
    );
    if !settings.jwt_previous_secret.is_empty() {
        keys = keys.accepting_previous(settings.jwt_previous_secret.as_bytes());
    }
    let upkeep = Upkeep::start(
        store.clone(),
        metrics.clone(),
        Duration::from_millis(settings.seal_interval_ms),
        settings.idempotency_retention_hours,
        settings.auto_settle_minutes,
    );
    let mail = start_mail(&settings, &store)?;
    let listener = TcpListener::bind(&settings.bind)?;
    let port = listener.local_addr()?.port();
    let workers = settings.workers;
    let state = web::Data::new(AppState {
        store,
        keys,
        settings: Arc::new(settings),
        metrics,
    });
    // Built once from the same route table the workers mount (see openapi::document).
    let document = openapi::document();
    // What actix-web's `HttpServer::listen` assembles, with one difference: each connection is
    // wrapped in `ProblemIo`, so the few answers actix-http gives itself are problem+json too.
    let local = listener.local_addr()?;
    let server = actix_server::Server::build()
        .workers(workers)
        .listen("pointsbank", listener, move || {
            let app = build_app(state.clone(), document.clone())
                .into_factory()
                .map_err(|err| err.error_response());
            let http = actix_http::HttpService::build()
                .local_addr(local)
                .finish(actix_service::map_config(app, |_| AppConfig::default()));
            actix_service::fn_service(|io: actix_web::rt::net::TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((
                    ProblemIo::new(io),
                    actix_http::Protocol::Http1,
                    peer,
                ))
            })
            .and_then(http)
        })?
        .run();
    Ok(Running {
        port,
        server,
        upkeep,
        mail,
        pool,
    })
}

/// The mail sender, when `PB_SMTP_URL` is set; otherwise one warning, and the service runs
/// without mail (messages stay queued in the outbox).
fn start_mail(settings: &Settings, store: &Store) -> anyhow::Result<Option<MailSender>> {
    if settings.smtp_url.is_empty() {
        tracing::warn!("PB_SMTP_URL is not set: mail is off (queued messages wait in the outbox)");
        return Ok(None);
    }
    let email = SmtpChannel::new(&settings.smtp_url, &settings.mail_from)?;
    let plan = SenderPlan {
        sender: sender_name(),
        batch: 20,
        lease: Duration::from_secs(120),
        max_attempts: settings.mail_max_attempts,
    };
    let poll = Duration::from_millis(settings.mail_poll_ms);
    Ok(Some(MailSender::start(store.clone(), email, plan, poll)?))
}

fn build_app(
    state: web::Data<AppState>,
    document: utoipa::openapi::OpenApi,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.settings.max_body_bytes;
    let metrics = state.metrics.clone();
    let routes = web::Data::new(fallback::KnownRoutes::from_document(&document));
    let app = App::new()
        .app_data(state)
        .app_data(routes)
        .app_data(web::PayloadConfig::new(max_body))
        .app_data(extract::path_config())
        .app_data(extract::query_config())
        // Before the `/api/v1` scope, which would otherwise claim `/api/v1/openapi.json`.
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", document))
        .into_utoipa_app();
    openapi::mount(app)
        .into_app()
        .default_service(web::to(|req, routes| async move {
            Err::<HttpResponse, _>(fallback::unmatched(req, routes).await)
        }))
        .wrap_fn(move |req, srv| {
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let method = req.method().to_string();
            let path = req.path().to_string();
            let span = tracing::info_span!("request", request_id = %request_id, %method, %path);
            let started = Instant::now();
            let metrics = metrics.clone();
            req.extensions_mut()
                .insert(crate::http::access::RequestId(request_id.clone()));
            let call = srv.call(req);
            async move {
                let mut response = call.await?;
                if let Some(api_error) = response
                    .response()
                    .error()
                    .and_then(|e| e.as_error::<ServiceError>())
                {
                    if let ServiceError::Internal(cause) = api_error {
                        tracing::error!(error = ?cause, "internal error");
                    }
                    let rendered = problem_response(api_error, Some(request_id.clone()));
                    response = response.into_response(rendered);
                }
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response
                        .headers_mut()
                        .insert(HeaderName::from_static("x-request-id"), value);
                }
                let status = response.status().as_u16();
                let route = response
                    .request()
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".into());
                metrics.observe(&method, &route, status, started.elapsed());
                tracing::info!(
                    status,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "request"
                );
                Ok(response)
            }
            .instrument(span)
        })
}

/// `pointsbank serve`: run until Ctrl-C / SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind.clone();
    let running = start(settings)?;
    tracing::info!(%bind, port = running.port, "points bank listening; API docs at /docs/");
    running.server.await?;
    drop(running.upkeep);
    Ok(())
}
