//! The evaluation endpoints: `POST /v1/run`, `/v1/tables/{table}`, `/v1/diff`,
//! `/v1/explain` and `GET /v1/scenarios/{id}/roles|graph|report`. Each sends one job
//! to the pool and answers with the document its command prints, or a problem.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gil_model::Dated;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::pool::{self, Render, RunFailure};
use crate::{AppState, Cache, Problem, RunRequest};

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
pub(crate) async fn run(
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
pub(crate) async fn table(
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
pub(crate) async fn diff(
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
pub(crate) async fn explain(
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
pub(crate) async fn roles(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
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
pub(crate) async fn graph(
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
pub(crate) async fn report(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
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

pub(crate) const JSON: &str = "application/json";

/// Runs `render` for a scenario on the pool and answers with its document, or the
/// problem that stopped it. With a cache key, a recent identical run answers at once.
pub(crate) async fn evaluate(
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
pub(crate) fn failure_response(failure: RunFailure) -> Response {
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

pub(crate) fn document(
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

pub(crate) fn bad_body(rejection: JsonRejection) -> Problem {
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
