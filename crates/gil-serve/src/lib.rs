//! `gil serve`: the HTTP API and the web workbench. Scenarios are loaded and their
//! rules compiled once at start (`catalog.rs`, reloaded by `watch.rs`); runs go to a
//! bounded pool of worker threads with a Lua state each (`pool.rs`); the evaluation
//! endpoints are in `runs.rs`, background sweeps in `sweeps.rs`, uploads in
//! `upload.rs`; recent outcomes are cached; every error is a problem document
//! (`problem.rs`); the OpenAPI document is generated from the handlers' types
//! (utoipa). This module holds the configuration, the shared state and the router.
//!
//! Response bodies are the CLI's: `POST /v1/run` gives byte for byte what
//! `gil run --format json --param NAME=VALUE` prints.

pub mod catalog;
pub mod pool;
pub mod problem;
mod runs;
pub mod sweeps;
pub mod upload;
pub mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{OpenApi, ToSchema};

pub use catalog::{Catalog, ScenarioInfo};
use pool::Pool;
pub use problem::Problem;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every `/v1` call needs `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    /// Worker threads evaluating runs.
    pub workers: usize,
    /// Runs that may wait for a worker; beyond, 503.
    pub queue: usize,
    /// Largest request body, in bytes (413 beyond).
    pub body_limit: usize,
    /// Longest a request waits for its run (its rules have the sandbox's own budget).
    pub deadline: Duration,
    /// Outcomes of recent (scenario, parameters) kept.
    pub cache_entries: usize,
    /// With `--allow-upload`: the sandbox uploaded scenarios run in (its per-run time
    /// and memory budget); `None` refuses uploads.
    pub upload_sandbox: Option<gil_rules::SandboxConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: None,
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            queue: 64,
            body_limit: 64 * 1024,
            deadline: Duration::from_secs(10),
            cache_entries: 256,
            upload_sandbox: None,
        }
    }
}

/// The outcomes of recent runs, by scenario and parameters; the oldest goes first.
struct Cache {
    capacity: usize,
    order: VecDeque<String>,
    entries: BTreeMap<String, Arc<Vec<u8>>>,
}

impl Cache {
    fn key(scenario: &str, params: &BTreeMap<String, f64>) -> String {
        let mut key = scenario.to_string();
        for (name, value) in params {
            key.push('\0');
            key.push_str(name);
            key.push('=');
            key.push_str(&value.to_bits().to_string());
        }
        key
    }

    fn get(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        self.entries.get(key).cloned()
    }

    fn put(&mut self, key: String, value: Arc<Vec<u8>>) {
        if self.capacity == 0 || self.entries.contains_key(&key) {
            return;
        }
        if self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
        self.order.push_back(key.clone());
        self.entries.insert(key, value);
    }
}

pub struct AppState {
    catalog: std::sync::RwLock<Catalog>,
    pool: Pool,
    config: Config,
    cache: Mutex<Cache>,
    sweeps: sweeps::Jobs,
    /// Uploads evaluate at most this many at once (one per worker).
    uploads: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(catalog: Catalog, config: Config) -> Arc<AppState> {
        let pool = Pool::start(config.workers, config.queue);
        let config_workers = config.workers.max(1);
        Arc::new(AppState {
            cache: Mutex::new(Cache {
                capacity: config.cache_entries,
                order: VecDeque::new(),
                entries: BTreeMap::new(),
            }),
            catalog: std::sync::RwLock::new(catalog),
            pool,
            config,
            sweeps: sweeps::Jobs::default(),
            uploads: Arc::new(tokio::sync::Semaphore::new(config_workers)),
        })
    }
}

impl AppState {
    /// The served scenario with this id.
    pub fn entry(&self, id: &str) -> Option<Arc<catalog::Entry>> {
        self.catalog.read().ok()?.get(id).cloned()
    }

    /// The served scenarios' ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.catalog
            .read()
            .map(|c| c.ids().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Puts a (re)loaded scenario in place of the one with its id (or of the one loaded
    /// from the same file, when its id changed), and forgets cached outcomes.
    pub fn replace(&self, entry: catalog::Entry) {
        if let Ok(mut catalog) = self.catalog.write() {
            catalog.entries.retain(|_, e| e.file != entry.file);
            catalog
                .entries
                .insert(entry.info.id.clone(), Arc::new(entry));
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.order.clear();
            cache.entries.clear();
        }
    }

    /// The entries as they are now (for the watcher).
    pub fn entries(&self) -> Vec<Arc<catalog::Entry>> {
        self.catalog
            .read()
            .map(|c| c.entries.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// `POST /v1/run`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// A scenario id from `GET /v1/scenarios`.
    pub scenario: String,
    /// Parameter values, each replacing the parameter's value in every year.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub scenarios: usize,
    pub workers: usize,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gil",
        description = "Policy-as-code for national AI-compute strategy: scenarios, rule outcomes, roles."
    ),
    paths(
        healthz, scenarios, runs::run, runs::table, upload::upload_run, runs::diff,
        runs::explain, runs::roles, runs::graph, runs::report, sweeps::start_sweep,
        sweeps::sweep_status, sweeps::sweep_results
    ),
    components(schemas(RunRequest, upload::UploadRunRequest, runs::DiffRequest, runs::ExplainRequest, Health, ScenarioInfo, catalog::ParameterInfo, Problem, sweeps::SweepStatus, sweeps::Status)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3.1 document.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

const WORKBENCH: &str = include_str!("workbench.html");

/// The router: `/`, `/healthz`, `/openapi.json` and the `/v1` API.
pub fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/scenarios", get(scenarios))
        .route("/v1/run", post(runs::run))
        .route("/v1/tables/{table}", post(runs::table))
        .route("/v1/upload/run", post(upload::upload_run))
        .route("/v1/diff", post(runs::diff))
        .route("/v1/explain", post(runs::explain))
        .route("/v1/scenarios/{id}/roles", get(runs::roles))
        .route("/v1/scenarios/{id}/graph", get(runs::graph))
        .route("/v1/scenarios/{id}/report", get(runs::report))
        .route("/v1/sweeps", post(sweeps::start_sweep))
        .route("/v1/sweeps/{id}", get(sweeps::sweep_status))
        .route(
            "/v1/sweeps/{id}/results.parquet",
            get(sweeps::sweep_results),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/", get(workbench))
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .merge(v1)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .with_state(state)
}

async fn authorize(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(token) = &state.config.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant time: how long the comparison takes says nothing about the token.
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        return next.run(request).await;
    }
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this server needs `Authorization: Bearer <token>` (gil serve --token)",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

async fn not_found(request: Request) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!(
            "no such endpoint: {} {}",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn workbench() -> Html<&'static str> {
    Html(WORKBENCH)
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}

/// The server is up, with how many scenarios and workers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz(State(state): State<Arc<AppState>>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        scenarios: state.ids().len(),
        workers: state.pool.workers,
    })
}

/// The scenarios served: id, title, horizon and every parameter with its value, unit
/// and source.
#[utoipa::path(
    get,
    path = "/v1/scenarios",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ScenarioInfo>),
        (status = 401, body = Problem, content_type = "application/problem+json")
    )
)]
async fn scenarios(State(state): State<Arc<AppState>>) -> Json<Vec<ScenarioInfo>> {
    Json(state.entries().iter().map(|e| e.info.clone()).collect())
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The address a listener is bound to, for the start-up line.
pub fn local_addr(listener: &tokio::net::TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}
