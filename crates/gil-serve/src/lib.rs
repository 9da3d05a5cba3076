//! `gil serve`: the HTTP API and the web workbench. Scenarios are loaded and their
//! rules compiled once at start (`catalog.rs`); runs go to a bounded pool of worker
//! threads with a Lua state each (`pool.rs`); recent outcomes are cached; every error
//! is a problem document (`problem.rs`); the OpenAPI document is generated from the
//! handlers' types (utoipa).
//!
//! Response bodies are the CLI's: `POST /v1/run` gives byte for byte what
//! `gil run --format json --param NAME=VALUE` prints.

pub mod catalog;
pub mod pool;
pub mod problem;
pub mod sweeps;
pub mod upload;
pub mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection, StringRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gil_model::Dated;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{OpenApi, ToSchema};

pub use catalog::{Catalog, ScenarioInfo};
use pool::{Pool, Render, RunFailure};
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
    paths(healthz, scenarios, run, table, upload_run, diff, explain, roles, graph, report, start_sweep, sweep_status, sweep_results),
    components(schemas(RunRequest, UploadRunRequest, DiffRequest, ExplainRequest, Health, ScenarioInfo, catalog::ParameterInfo, Problem, sweeps::SweepStatus, sweeps::Status)),
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
        .route("/v1/run", post(run))
        .route("/v1/tables/{table}", post(table))
        .route("/v1/upload/run", post(upload_run))
        .route("/v1/diff", post(diff))
        .route("/v1/explain", post(explain))
        .route("/v1/scenarios/{id}/roles", get(roles))
        .route("/v1/scenarios/{id}/graph", get(graph))
        .route("/v1/scenarios/{id}/report", get(report))
        .route("/v1/sweeps", post(start_sweep))
        .route("/v1/sweeps/{id}", get(sweep_status))
        .route("/v1/sweeps/{id}/results.parquet", get(sweep_results))
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

/// Evaluates a scenario with parameter values: the outcome document, the same JSON
/// as `gil run --format json --param NAME=VALUE` (docs/outcome.md).
#[utoipa::path(
    post,
    path = "/v1/run",
    security(("bearer" = [])),
    request_body = RunRequest,
    responses(
        (status = 200, description = "The outcome document (docs/outcome.schema.json)", body = Object),
        (status = 400, description = "The body is not a run request", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No scenario with that id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter, or a rule fault (with its diagnostic)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every worker is busy and the queue is full", body = Problem, content_type = "application/problem+json")
    )
)]
async fn run(
    State(state): State<Arc<AppState>>,
    body: Result<Json<RunRequest>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(r)) => r,
        Err(rejection) => return bad_body(rejection).into_response(),
    };
    let key = Cache::key(&request.scenario, &request.params);
    evaluate(
        &state,
        &request.scenario,
        &request.params,
        Render::Outcome,
        Some(key),
        JSON,
    )
    .await
}

/// One table of the outcome as a Parquet file: what `gil run --format parquet --out
/// DIR` writes as `DIR/<table>.parquet` (docs/tables.md).
#[utoipa::path(
    post,
    path = "/v1/tables/{table}",
    security(("bearer" = [])),
    params(("table" = String, Path, description = "metrics, ledger, flows, findings, targets, power, compute, loops, roles or checks")),
    request_body = RunRequest,
    responses(
        (status = 200, description = "The Parquet file", body = Vec<u8>, content_type = "application/vnd.apache.parquet"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such scenario or table", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
async fn table(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Result<Json<RunRequest>, JsonRejection>,
) -> Response {
    if !pool::TABLES.contains(&name.as_str()) {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-table",
            format!(
                "no table `{name}`; the tables are {}",
                pool::TABLES.join(", ")
            ),
        )
        .into_response();
    }
    let request = match body {
        Ok(Json(r)) => r,
        Err(rejection) => return bad_body(rejection).into_response(),
    };
    let kind = "application/vnd.apache.parquet";
    evaluate(
        &state,
        &request.scenario,
        &request.params,
        Render::Table { name },
        None,
        kind,
    )
    .await
}

/// `POST /v1/diff`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    pub scenario: String,
    /// The baseline's parameters (default: the scenario as written).
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// The reform: parameter values on top of the baseline's.
    pub reform: BTreeMap<String, f64>,
}

/// What a reform changes: the same JSON as `gil diff SCENARIO --param … --format json`.
#[utoipa::path(
    post,
    path = "/v1/diff",
    security(("bearer" = [])),
    request_body = DiffRequest,
    responses(
        (status = 200, description = "The diff document", body = Object),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")
    )
)]
async fn diff(
    State(state): State<Arc<AppState>>,
    body: Result<Json<DiffRequest>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(r)) => r,
        Err(rejection) => return bad_body(rejection).into_response(),
    };
    let reform = request
        .reform
        .iter()
        .map(|(k, v)| (k.clone(), Dated::Fixed(*v)))
        .collect();
    evaluate(
        &state,
        &request.scenario,
        &request.params,
        Render::Diff { reform },
        None,
        JSON,
    )
    .await
}

/// `POST /v1/explain`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    pub scenario: String,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// A metric, a flow id, an actor or asset id, or `actor.attr`.
    pub target: String,
    /// Only this year.
    #[serde(default)]
    pub year: Option<i32>,
}

/// Explains a metric, flow, actor or attribute year by year: the same JSON as
/// `gil explain SCENARIO TARGET --format json`.
#[utoipa::path(
    post,
    path = "/v1/explain",
    security(("bearer" = [])),
    request_body = ExplainRequest,
    responses(
        (status = 200, description = "The explanation", body = Object),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown target or year, a bad parameter or a rule fault", body = Problem, content_type = "application/problem+json")
    )
)]
async fn explain(
    State(state): State<Arc<AppState>>,
    body: Result<Json<ExplainRequest>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(Json(r)) => r,
        Err(rejection) => return bad_body(rejection).into_response(),
    };
    let render = Render::Explain {
        target: request.target.clone(),
        year: request.year,
    };
    evaluate(
        &state,
        &request.scenario,
        &request.params,
        render,
        None,
        JSON,
    )
    .await
}

/// What / How / Why per project with its checks: the same JSON as
/// `gil roles SCENARIO --format json`.
#[utoipa::path(
    get,
    path = "/v1/scenarios/{id}/roles",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "A scenario id")),
    responses(
        (status = 200, body = Object),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
async fn roles(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    evaluate(&state, &id, &BTreeMap::new(), Render::Roles, None, JSON).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GraphQuery {
    /// `dot` (default) or `mermaid`.
    #[serde(default)]
    pub format: Option<String>,
}

/// The flow graph over the horizon as Graphviz DOT or a Mermaid flowchart, as
/// `gil graph SCENARIO --format dot|mermaid` draws it.
#[utoipa::path(
    get,
    path = "/v1/scenarios/{id}/graph",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "A scenario id"), GraphQuery),
    responses(
        (status = 200, description = "DOT or Mermaid text", body = String, content_type = "text/plain"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
async fn graph(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<GraphQuery>, QueryRejection>,
) -> Response {
    let mermaid = match query.as_ref().map(|q| q.format.as_deref()) {
        Ok(None | Some("dot")) => false,
        Ok(Some("mermaid")) => true,
        Ok(Some(other)) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("format `{other}`: expected dot or mermaid"),
            )
            .into_response()
        }
        Err(rejection) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                rejection.body_text(),
            )
            .into_response()
        }
    };
    let kind = "text/plain; charset=utf-8";
    evaluate(
        &state,
        &id,
        &BTreeMap::new(),
        Render::Graph { mermaid },
        None,
        kind,
    )
    .await
}

/// The self-contained HTML report of the scenario, as `gil report --html`.
#[utoipa::path(
    get,
    path = "/v1/scenarios/{id}/report",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "A scenario id")),
    responses(
        (status = 200, description = "One HTML page", body = String, content_type = "text/html"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
async fn report(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    evaluate(
        &state,
        &id,
        &BTreeMap::new(),
        Render::Report,
        None,
        "text/html; charset=utf-8",
    )
    .await
}

const JSON: &str = "application/json";

/// Runs `render` for a scenario on the pool and answers with its document, or the
/// problem that stopped it. With a cache key, a recent identical run answers at once.
async fn evaluate(
    state: &Arc<AppState>,
    scenario: &str,
    params: &BTreeMap<String, f64>,
    render: Render,
    cache_key: Option<String>,
    content_type: &'static str,
) -> Response {
    let Some(entry) = state.entry(scenario) else {
        let ids = state.ids();
        let known: Vec<&str> = ids.iter().map(String::as_str).collect();
        let hint = gil_model::diag::did_you_mean(scenario, known.iter().copied())
            .map(|h| format!("; did you mean `{h}`?"))
            .unwrap_or_default();
        return Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-scenario",
            format!("no scenario `{scenario}` is served{hint} (GET /v1/scenarios lists them)"),
        )
        .into_response();
    };
    if let Some(key) = &cache_key {
        if let Some(hit) = state.cache.lock().ok().and_then(|c| c.get(key)) {
            return document(hit, content_type, Some("hit"));
        }
    }
    let params = params
        .iter()
        .map(|(k, v)| (k.clone(), Dated::Fixed(*v)))
        .collect();
    let rx = match state.pool.submit(entry, params, render) {
        Ok(rx) => rx,
        Err(pool::Busy) => {
            let mut response = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "every worker is busy and the queue is full; retry shortly",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
    };
    let result = match tokio::time::timeout(state.config.deadline, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(RunFailure::Internal("the worker stopped".into())),
        Err(_) => {
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "deadline",
                format!(
                    "no answer within {} s; the server is loaded, retry shortly",
                    state.config.deadline.as_secs_f64()
                ),
            )
            .into_response()
        }
    };
    match result {
        Ok(text) => {
            let cached = cache_key.map(|key| {
                if let Ok(mut cache) = state.cache.lock() {
                    cache.put(key, text.clone());
                }
                "miss"
            });
            document(text, content_type, cached)
        }
        Err(failure) => failure_response(failure),
    }
}

/// The problem a failed run answers with.
fn failure_response(failure: RunFailure) -> Response {
    match failure {
        RunFailure::BadParameter(message) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "bad-parameter", message).into_response()
        }
        RunFailure::Rule(record, message) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "rule-fault", message)
                .with(vec![*record])
                .into_response()
        }
        RunFailure::Internal(message) => {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message).into_response()
        }
    }
}

fn document(
    body: Arc<Vec<u8>>,
    content_type: &'static str,
    cache: Option<&'static str>,
) -> Response {
    let mut response = (StatusCode::OK, body.as_ref().clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(cache) = cache {
        headers.insert("x-gil-cache", HeaderValue::from_static(cache));
    }
    response
}

fn bad_body(rejection: JsonRejection) -> Problem {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return Problem::new(status, "too-large", rejection.body_text());
    }
    Problem::new(
        StatusCode::BAD_REQUEST,
        "bad-request",
        format!(
            "{}; a run request is {{\"scenario\": ID, \"params\": {{NAME: NUMBER}}}}",
            rejection.body_text()
        ),
    )
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

/// Starts a sweep in the background: the body is a sweep document (the sweep file's
/// form, JSON or YAML) whose `sweep.scenario` is a served scenario's id.
#[utoipa::path(
    post,
    path = "/v1/sweeps",
    security(("bearer" = [])),
    request_body(content = String, description = "A sweep document (docs/sweeps.md), JSON or YAML", content_type = "application/json"),
    responses(
        (status = 202, description = "Started; poll its href", body = sweeps::SweepStatus),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No scenario with that id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The sweep document has problems (with their positions) or too many runs", body = Problem, content_type = "application/problem+json")
    )
)]
async fn start_sweep(
    State(state): State<Arc<AppState>>,
    body: Result<String, StringRejection>,
) -> Response {
    let text = match body {
        Ok(t) => t,
        Err(rejection) => {
            let status = rejection.status();
            let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too-large"
            } else {
                "bad-request"
            };
            return Problem::new(status, kind, rejection.body_text()).into_response();
        }
    };
    let worker = state.clone();
    let started = tokio::task::spawn_blocking(move || {
        let entry = |id: &str| worker.entry(id);
        worker.sweeps.start(&entry, &text)
    })
    .await;
    match started {
        Ok(Ok(status)) => {
            let href = format!("/v1/sweeps/{}", status.id);
            let mut response = (StatusCode::ACCEPTED, Json(status)).into_response();
            if let Ok(v) = HeaderValue::from_str(&href) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Ok(Err(sweeps::Refused::UnknownScenario(id))) => {
            let ids = state.ids();
            let known: Vec<&str> = ids.iter().map(String::as_str).collect();
            let hint = gil_model::diag::did_you_mean(&id, known.iter().copied())
                .map(|h| format!("; did you mean `{h}`?"))
                .unwrap_or_default();
            Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-scenario",
                format!("the sweep's scenario `{id}` is not served{hint}"),
            )
            .into_response()
        }
        Ok(Err(sweeps::Refused::Invalid(err))) => {
            let records = err.diagnostics.iter().map(|d| d.to_record(&err.sources)).collect();
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-sweep",
                format!("the sweep document has {} problem(s)", err.diagnostics.len()),
            )
            .with(records)
            .into_response()
        }
        Ok(Err(sweeps::Refused::TooLarge(runs))) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too-many-runs",
            format!(
                "the design makes {runs} runs; the server runs at most {}: use gil sweep (a machine, or --shard on a cluster)",
                sweeps::MAX_RUNS
            ),
        )
        .into_response(),
        Ok(Err(sweeps::Refused::Other(message))) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-sweep", message).into_response()
        }
        Err(e) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()).into_response(),
    }
}

/// A sweep's progress and, once done, its analysis.
#[utoipa::path(
    get,
    path = "/v1/sweeps/{id}",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The id POST /v1/sweeps gave")),
    responses(
        (status = 200, body = sweeps::SweepStatus),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
async fn sweep_status(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.sweeps.status(&id) {
        Some(status) => Json(status).into_response(),
        None => no_sweep(&id),
    }
}

/// A finished sweep's results table (`results.parquet`, docs/sweeps.md).
#[utoipa::path(
    get,
    path = "/v1/sweeps/{id}/results.parquet",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The id POST /v1/sweeps gave")),
    responses(
        (status = 200, description = "The Parquet file", body = Vec<u8>, content_type = "application/vnd.apache.parquet"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The sweep is not done yet", body = Problem, content_type = "application/problem+json")
    )
)]
async fn sweep_results(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.sweeps.results(&id) {
        Some(Some(bytes)) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.apache.parquet"),
            );
            response
        }
        Some(None) => Problem::new(
            StatusCode::CONFLICT,
            "not-done",
            format!("sweep `{id}` is not done yet; GET /v1/sweeps/{id} shows its progress"),
        )
        .into_response(),
        None => no_sweep(&id),
    }
}

fn no_sweep(id: &str) -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-sweep",
        format!("no sweep `{id}` (the server keeps the last 32)"),
    )
    .into_response()
}

/// `POST /v1/upload/run`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRunRequest {
    /// The scenario's files by relative name: `scenario.yaml`, and the files it names
    /// (includes, rules, tables), as text.
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
}

/// Evaluates an uploaded scenario once (only with `gil serve --allow-upload`), in the
/// same sandbox as served scenarios with the server's per-run time and memory
/// budget: the same JSON as `gil run --format json`.
#[utoipa::path(
    post,
    path = "/v1/upload/run",
    security(("bearer" = [])),
    request_body = UploadRunRequest,
    responses(
        (status = 200, description = "The outcome document", body = Object),
        (status = 400, description = "Not an upload request, or a file name that is not a plain relative path", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Uploads are off", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The scenario or its rules have problems, or a rule faulted or ran past its budget", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every upload slot is busy", body = Problem, content_type = "application/problem+json")
    )
)]
async fn upload_run(
    State(state): State<Arc<AppState>>,
    body: Result<Json<UploadRunRequest>, JsonRejection>,
) -> Response {
    let Some(sandbox) = state.config.upload_sandbox.clone() else {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "uploads-off",
            "this server runs only its own scenarios; uploads need gil serve --allow-upload",
        )
        .into_response();
    };
    let request = match body {
        Ok(Json(r)) => r,
        Err(rejection) => return bad_body(rejection).into_response(),
    };
    let Ok(permit) = state.uploads.clone().try_acquire_owned() else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "every upload slot is busy; retry shortly",
        )
        .into_response();
    };
    let params = request
        .params
        .iter()
        .map(|(k, v)| (k.clone(), Dated::Fixed(*v)))
        .collect();
    let done = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        upload::run(&request.files, &params, &sandbox)
    })
    .await;
    match done {
        Ok(Ok(Ok(text))) => document(text, JSON, None),
        Ok(Ok(Err(failure))) => failure_response(failure),
        Ok(Err(upload::Rejected::Io(message))) => {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message).into_response()
        }
        Ok(Err(upload::Rejected::BadFiles(message))) => {
            Problem::new(StatusCode::BAD_REQUEST, "bad-upload", message).into_response()
        }
        Ok(Err(upload::Rejected::Invalid(records, message))) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-scenario",
            message,
        )
        .with(records)
        .into_response(),
        Err(e) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            .into_response(),
    }
}
