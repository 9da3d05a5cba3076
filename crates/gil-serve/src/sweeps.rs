//! Sweeps in the background (`POST /v1/sweeps`): a sweep document — the sweep file's
//! form, as JSON or YAML, whose `scenario:` is a served scenario's id — is checked
//! at once (positioned diagnostics, as `gil sweep plan` gives), then evaluated on a
//! thread of its own, one sweep at a time, so the request workers stay free. Its
//! progress, analysis and results table are read back by id.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::rejection::StringRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gil_sweep::{Sweep, SweepError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{AppState, Problem};

/// Runs a sweep on the server may have; larger sweeps belong to `gil sweep` on a
/// machine or a cluster.
pub const MAX_RUNS: usize = 100_000;
/// Finished sweeps kept for reading back.
const KEPT: usize = 32;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
}

/// `GET /v1/sweeps/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SweepStatus {
    pub id: String,
    pub sweep: String,
    pub scenario: String,
    pub status: Status,
    pub runs: usize,
    pub done: usize,
    /// When done: what `gil sweep analyze --format json` prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Job {
    status: Mutex<SweepStatus>,
    done: AtomicUsize,
    results: Mutex<Option<Vec<u8>>>,
}

#[derive(Default)]
pub struct Jobs {
    next: AtomicUsize,
    jobs: Mutex<BTreeMap<usize, Arc<Job>>>,
    /// One sweep evaluates at a time.
    turn: Arc<Mutex<()>>,
}

/// Why a sweep document was refused.
pub enum Refused {
    UnknownScenario(String),
    Invalid(gil_model::LoadError),
    TooLarge(usize),
    Other(String),
}

impl Jobs {
    /// Checks a sweep document and starts it; its id.
    pub fn start(
        &self,
        served: &dyn Fn(&str) -> Option<Arc<crate::catalog::Entry>>,
        text: &str,
    ) -> Result<SweepStatus, Refused> {
        let file = gil_sweep::load_sweep_text("request", Path::new("request"), text, Path::new(""))
            .map_err(Refused::Invalid)?;
        let entry = served(&file.scenario_as_written)
            .ok_or_else(|| Refused::UnknownScenario(file.scenario_as_written.clone()))?;
        let limits = gil_sweep::manifest::Limits {
            call_deadline_seconds: 2.0,
            rule_budget_seconds: 5.0,
            lua_memory_bytes: 256 << 20,
        };
        let sweep =
            Sweep::with_model(file, (*entry.model).clone(), limits).map_err(|e| match e {
                SweepError::Load(e) => Refused::Invalid(e),
                other => Refused::Other(other.to_string()),
            })?;
        let runs = sweep.plan.runs();
        if runs > MAX_RUNS {
            return Err(Refused::TooLarge(runs));
        }
        let number = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let status = SweepStatus {
            id: format!("s{number}"),
            sweep: sweep.file.id.clone(),
            scenario: entry.info.id.clone(),
            status: Status::Queued,
            runs,
            done: 0,
            analysis: None,
            error: None,
        };
        let job = Arc::new(Job {
            status: Mutex::new(status.clone()),
            done: AtomicUsize::new(0),
            results: Mutex::new(None),
        });
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(number, job.clone());
            while jobs.len() > KEPT {
                let Some((&oldest, _)) = jobs.iter().next() else {
                    break;
                };
                jobs.remove(&oldest);
            }
        }
        let turn = self.turn.clone();
        std::thread::Builder::new()
            .name(format!("gil-sweep-{number}"))
            .spawn(move || evaluate(&sweep, &job, &turn))
            .map_err(|e| Refused::Other(e.to_string()))?;
        Ok(status)
    }

    fn job(&self, id: &str) -> Option<Arc<Job>> {
        let number: usize = id.strip_prefix('s')?.parse().ok()?;
        self.jobs.lock().ok()?.get(&number).cloned()
    }

    pub fn status(&self, id: &str) -> Option<SweepStatus> {
        let job = self.job(id)?;
        let mut status = job.status.lock().ok()?.clone();
        status.done = job.done.load(Ordering::Relaxed);
        Some(status)
    }

    /// The results table, once the sweep is done.
    pub fn results(&self, id: &str) -> Option<Option<Vec<u8>>> {
        let job = self.job(id)?;
        let results = job.results.lock().ok()?.clone();
        Some(results)
    }
}

fn set(job: &Job, f: impl FnOnce(&mut SweepStatus)) {
    if let Ok(mut status) = job.status.lock() {
        f(&mut status);
    }
}

fn evaluate(sweep: &Sweep, job: &Job, turn: &Mutex<()>) {
    let _turn = turn.lock();
    set(job, |s| s.status = Status::Running);
    let runs = sweep.plan.runs();
    let tick = || {
        job.done.fetch_add(1, Ordering::Relaxed);
    };
    let rows = match sweep.evaluate(0..runs, 1, &tick) {
        Ok(rows) => rows,
        Err(e) => {
            set(job, |s| {
                s.status = Status::Failed;
                s.error = Some(e.to_string());
            });
            return;
        }
    };
    let analysis = gil_sweep::analyze::analyze(
        &sweep.file.id,
        sweep.file.design,
        &sweep.layout,
        &rows,
        runs,
        sweep.plan.morris_delta(),
        sweep.file.seed,
        None,
    );
    let mut table = Vec::new();
    if let Err(e) =
        gil_sweep::results::write_parquet(&sweep.layout, &rows, &sweep.hashes.plan, &mut table)
    {
        set(job, |s| {
            s.status = Status::Failed;
            s.error = Some(e.to_string());
        });
        return;
    }
    let text = gil_sweep::render::json(&analysis);
    if let Ok(mut results) = job.results.lock() {
        *results = Some(table);
    }
    set(job, |s| {
        s.analysis = serde_json::from_str(&text).ok();
        s.status = Status::Done;
    });
}

// ── The endpoints ───────────────────────────────────────────────────────────

/// Starts a sweep in the background: the body is a sweep document (the sweep file's
/// form, JSON or YAML) whose `sweep.scenario` is a served scenario's id.
#[utoipa::path(
    post,
    path = "/v1/sweeps",
    security(("bearer" = [])),
    request_body(content = String, description = "A sweep document (docs/sweeps.md), JSON or YAML", content_type = "application/json"),
    responses(
        (status = 202, description = "Started; poll its href", body = SweepStatus),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No scenario with that id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The sweep document has problems (with their positions) or too many runs", body = Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn start_sweep(
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
        Ok(Err(Refused::UnknownScenario(id))) => {
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
        Ok(Err(Refused::Invalid(err))) => {
            let records = err.diagnostics.iter().map(|d| d.to_record(&err.sources)).collect();
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-sweep",
                format!("the sweep document has {} problem(s)", err.diagnostics.len()),
            )
            .with(records)
            .into_response()
        }
        Ok(Err(Refused::TooLarge(runs))) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too-many-runs",
            format!(
                "the design makes {runs} runs; the server runs at most {}: use gil sweep (a machine, or --shard on a cluster)",
                MAX_RUNS
            ),
        )
        .into_response(),
        Ok(Err(Refused::Other(message))) => {
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
        (status = 200, body = SweepStatus),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn sweep_status(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
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
pub(crate) async fn sweep_results(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
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

pub(crate) fn no_sweep(id: &str) -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-sweep",
        format!("no sweep `{id}` (the server keeps the last 32)"),
    )
    .into_response()
}
