//! `gil serve`: loads the scenarios, starts the pool and the HTTP server, prints where
//! it listens, and on SIGINT or SIGTERM stops accepting, lets in-flight requests
//! finish and exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::check::report_load_error;
use crate::output::print_stderr;
use crate::CheckFormat;

pub struct ServeArgs {
    pub scenarios: Option<PathBuf>,
    pub addr: SocketAddr,
    pub token: Option<String>,
    pub workers: usize,
    pub queue: usize,
    pub deadline: f64,
    pub body_limit_kib: usize,
    pub allow_upload: bool,
    pub watch: bool,
    pub eval: crate::EvalArgs,
}

pub fn serve(args: ServeArgs, color: bool) -> anyhow::Result<ExitCode> {
    let dir = match &args.scenarios {
        Some(dir) => dir.clone(),
        None => crate::bundled::examples_dir()
            .map_err(|e| anyhow::anyhow!("cannot unpack the bundled examples: {e}"))?,
    };
    if !dir.is_dir() {
        print_stderr(&format!(
            "error: --scenarios `{}` is not a folder\n",
            dir.display()
        ));
        return Ok(ExitCode::from(2));
    }
    if !(args.deadline.is_finite() && args.deadline > 0.0) {
        print_stderr("error: --deadline must be a positive number of seconds\n");
        return Ok(ExitCode::from(2));
    }
    let Ok(mut sandbox) = crate::commands::sandbox_config(&args.eval.limits) else {
        return Ok(ExitCode::from(2));
    };
    // SIGTERM drains: runs in flight finish (each within its rule budget) instead of
    // being cut by the signal flag the CLI's other commands stop on.
    sandbox.cancel = None;
    let (catalog, skipped) = gil_serve::catalog::load(&dir, &sandbox, &|p| crate::inputs::load(p));
    let watch_sandbox = sandbox.clone();
    // Uploaded rules print nowhere: their output is not the server's log.
    let mut upload_sandbox = sandbox.clone();
    upload_sandbox.print = None;
    for s in &skipped {
        let _ = report_load_error(&s.error, CheckFormat::Human, color);
        print_stderr(&format!(
            "note: `{}` is not served until it loads\n",
            s.file.display()
        ));
    }
    if catalog.entries.is_empty() {
        print_stderr(&format!(
            "error: no scenario under `{}` loads (a scenario.yaml there, or in a folder one level down)\n",
            dir.display()
        ));
        return Ok(ExitCode::from(2));
    }
    if !args.addr.ip().is_loopback() && args.token.is_none() {
        print_stderr(&format!(
            "warning: {} is reachable from other machines and no --token is set; anyone who reaches it can run scenarios\n",
            args.addr
        ));
    }
    let ids: Vec<String> = catalog.ids().map(str::to_string).collect();
    let config = gil_serve::Config {
        token: args.token.clone(),
        workers: match args.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        },
        queue: args.queue,
        body_limit: args.body_limit_kib.saturating_mul(1024),
        deadline: Duration::from_secs_f64(args.deadline),
        upload_sandbox: args.allow_upload.then_some(upload_sandbox),
        ..gil_serve::Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(l) => l,
            Err(e) => {
                print_stderr(&format!("error: cannot listen on {}: {e}\n", args.addr));
                return Ok(ExitCode::from(2));
            }
        };
        let addr = gil_serve::local_addr(&listener).unwrap_or(args.addr);
        let state = gil_serve::AppState::new(catalog, config);
        if args.watch {
            let report = move |event: gil_serve::watch::Event| match event {
                gil_serve::watch::Event::Reloaded { id, file } => print_stderr(&format!(
                    "gil serve: reloaded `{id}` from {}\n",
                    file.display()
                )),
                gil_serve::watch::Event::Added { id, file } => print_stderr(&format!(
                    "gil serve: now serving `{id}` from {}\n",
                    file.display()
                )),
                gil_serve::watch::Event::Failed { file, error } => {
                    let _ = report_load_error(&error, CheckFormat::Human, color);
                    print_stderr(&format!(
                        "gil serve: `{}` does not load; the last version that did is still served\n",
                        file.display()
                    ));
                }
            };
            gil_serve::watch::watch(
                state.clone(),
                dir.clone(),
                watch_sandbox,
                Box::new(|p: &std::path::Path| crate::inputs::load(p)),
                Box::new(report),
            );
        }
        print_stderr(&format!(
            "gil serve: listening on http://{addr} ({} scenario{}: {})\n",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" },
            ids.join(", ")
        ));
        gil_serve::serve(listener, state, stopped()).await?;
        print_stderr("gil serve: stopped\n");
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves once SIGINT or SIGTERM has been received (the handlers set a flag).
async fn stopped() {
    while !crate::signals::interrupted() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
