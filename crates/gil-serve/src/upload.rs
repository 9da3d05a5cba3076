//! Uploaded scenarios (`POST /v1/upload/run`, only with `gil serve --allow-upload`):
//! the files are written to a fresh temporary folder — names must be plain relative
//! paths, so nothing lands outside it — loaded and checked as `gil run` would, and
//! evaluated once in the same sandbox as served scenarios, with the server's per-run
//! time and memory budget. The folder is removed afterwards, and its path is taken
//! off every diagnostic.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gil_engine::{Model, Params};
use gil_model::diag::DiagnosticRecord;
use gil_rules::SandboxConfig;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gil_model::Dated;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::pool::{render, Render, RunFailure, RunResult};
use crate::runs::{bad_body, document, failure_response, JSON};
use crate::{AppState, Problem};
use std::sync::Arc;

/// Files an upload may have.
pub const MAX_FILES: usize = 64;

/// Why an upload cannot even be loaded.
pub enum Rejected {
    /// A file name that is not a plain relative path, or no `scenario.yaml`.
    BadFiles(String),
    /// The scenario or its rules have problems.
    Invalid(Vec<DiagnosticRecord>, String),
    Io(String),
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A name as a path inside the upload folder, or why it cannot be one.
fn inside(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains('\\')
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(path.to_path_buf())
    } else {
        Err(format!(
            "`{name}` is not a plain relative file name (no `..`, no leading `/`, no drive)"
        ))
    }
}

/// The temporary folder, removed when dropped.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes, loads and evaluates an upload: the outcome, or why there is none.
pub fn run(
    files: &BTreeMap<String, String>,
    params: &Params,
    config: &SandboxConfig,
) -> Result<RunResult, Rejected> {
    if files.len() > MAX_FILES {
        return Err(Rejected::BadFiles(format!(
            "{} files; an upload has at most {MAX_FILES}",
            files.len()
        )));
    }
    if !files.contains_key("scenario.yaml") {
        return Err(Rejected::BadFiles(
            "an upload needs a `scenario.yaml` (its rules beside it, named as it names them)"
                .into(),
        ));
    }
    let relative: Vec<(PathBuf, &String)> = files
        .iter()
        .map(|(name, text)| inside(name).map(|p| (p, text)))
        .collect::<Result<_, _>>()
        .map_err(Rejected::BadFiles)?;
    let root = std::env::temp_dir().join(format!(
        "gil-upload-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let folder = Folder(root.clone());
    for (path, text) in &relative {
        let target = folder.0.join(path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Rejected::Io(e.to_string()))?;
        }
        std::fs::write(&target, text).map_err(|e| Rejected::Io(e.to_string()))?;
    }
    let prefix = format!("{}/", root.display());
    let strip = |records: Vec<DiagnosticRecord>| -> Vec<DiagnosticRecord> {
        records
            .into_iter()
            .map(|mut r| {
                if let Some(file) = &mut r.file {
                    *file = file.replace(&prefix, "");
                }
                r
            })
            .collect()
    };
    let model = gil_model::load(&root.join("scenario.yaml"))
        .and_then(|s| Model::new(s, &[], config.clone()))
        .map_err(|e| {
            let records = e
                .diagnostics
                .iter()
                .map(|d| d.to_record(&e.sources))
                .collect();
            let detail = format!(
                "the uploaded scenario has {} problem(s)",
                e.diagnostics.len()
            );
            Rejected::Invalid(strip(records), detail)
        })?;
    let evaluator = model
        .evaluator()
        .map_err(|e| Rejected::Io(e.render(false)))?;
    let result = match render(&evaluator, params, &Render::Outcome) {
        Err(RunFailure::Rule(record, message)) => {
            let mut records = strip(vec![*record]);
            let record = records.pop().map(Box::new);
            match record {
                Some(record) => Err(RunFailure::Rule(record, message.replace(&prefix, ""))),
                None => Err(RunFailure::Internal(message)),
            }
        }
        other => other,
    };
    drop(evaluator);
    drop(folder);
    Ok(result)
}

// ── The endpoint ────────────────────────────────────────────────────────────

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
pub(crate) async fn upload_run(
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
        run(&request.files, &params, &sandbox)
    })
    .await;
    match done {
        Ok(Ok(Ok(text))) => document(text, JSON, None),
        Ok(Ok(Err(failure))) => failure_response(failure),
        Ok(Err(Rejected::Io(message))) => {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message).into_response()
        }
        Ok(Err(Rejected::BadFiles(message))) => {
            Problem::new(StatusCode::BAD_REQUEST, "bad-upload", message).into_response()
        }
        Ok(Err(Rejected::Invalid(records, message))) => Problem::new(
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

#[cfg(test)]
mod tests {
    use super::inside;

    #[test]
    fn only_plain_relative_names_are_accepted() {
        assert!(inside("scenario.yaml").is_ok());
        assert!(inside("rules/voucher.lua").is_ok());
        for bad in [
            "../x.lua",
            "/etc/passwd",
            "a/../../b",
            "",
            "./x",
            "a\\b",
            "rules/../x",
        ] {
            assert!(inside(bad).is_err(), "{bad}");
        }
    }
}
