//! `gil serve` over loopback, with a real HTTP client: the run endpoint gives byte for
//! byte what `gil run --format json` prints; every error is a problem document with the
//! right status; the token is enforced; the OpenAPI document validates
//! (openapi-spec-validator); concurrent clients get no error; SIGTERM drains and exits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `gil serve` on a free port, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gil"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("gil serve printed where it listens")
                .unwrap();
            if let Some(rest) = line.strip_prefix("gil serve: listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "gil serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, content type, body)
fn post(agent: &ureq::Agent, url: &str, body: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if let Some(t) = token {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.body_mut().read_to_string().unwrap())
}

fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut response = agent.get(url).call().unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

fn cli_json(scenario: &str, params: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gil"));
    cmd.args(["run", scenario, "--format", "json"]);
    for p in params {
        cmd.args(["--param", p]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_api_answers_as_the_cli_does_and_every_error_is_a_problem() {
    let examples = root().join("examples");
    let server = Server::start(&["--scenarios", examples.to_str().unwrap()]);
    let a = agent();

    let (status, health) = get(&a, &server.url("/healthz"));
    assert_eq!(status, 200);
    assert!(health.contains("\"scenarios\":4"), "{health}");

    let (status, list) = get(&a, &server.url("/v1/scenarios"));
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "korea-2026-allocation",
            "korea-2030",
            "minimal",
            "stargate-2025"
        ]
    );
    let korea = &list[1];
    let coverage = korea["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "voucher.coverage")
        .unwrap();
    assert_eq!(coverage["value"], 0.8);
    assert_eq!(coverage["by_year"]["2028"], 0.7);

    // The same bytes as the CLI, fresh and from the cache.
    let korea_file = examples.join("korea-2030/scenario.yaml");
    let expected = cli_json(korea_file.to_str().unwrap(), &["voucher.coverage=0.5"]);
    for _ in 0..2 {
        let (status, kind, body) = post(
            &a,
            &server.url("/v1/run"),
            r#"{"scenario": "korea-2030", "params": {"voucher.coverage": 0.5}}"#,
            None,
        );
        assert_eq!((status, kind.as_str()), (200, "application/json"));
        assert!(
            body == expected,
            "the server's outcome differs from gil run's"
        );
    }

    let problem = |status: u16, body: &str, path: &str| {
        let (got, kind, text) = post(&a, &server.url(path), body, None);
        assert_eq!(got, status, "{body} → {text}");
        assert_eq!(kind, "application/problem+json");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["status"], status);
        doc
    };
    let doc = problem(404, r#"{"scenario": "korea-2031"}"#, "/v1/run");
    assert!(doc["detail"]
        .as_str()
        .unwrap()
        .contains("did you mean `korea-2030`"));
    let doc = problem(
        422,
        r#"{"scenario": "minimal", "params": {"fx.USDD": 1}}"#,
        "/v1/run",
    );
    assert!(
        doc["detail"]
            .as_str()
            .unwrap()
            .contains("did you mean `fx.USD`"),
        "{doc}"
    );
    problem(400, r#"{"scenario": "minimal""#, "/v1/run");
    problem(400, r#"{"scenario": "minimal", "extra": 1}"#, "/v1/run");
    problem(
        400,
        r#"{"scenario": "minimal", "params": {"fx.USD": "high"}}"#,
        "/v1/run",
    );
    let big = format!(
        r#"{{"scenario": "minimal", "params": {{"x": 1}}, "pad": "{}"}}"#,
        // Over the 64 KiB limit, yet small enough to sit in the socket's buffers while
        // the server answers before reading it all.
        "x".repeat(80 * 1024)
    );
    problem(413, &big, "/v1/run");
    problem(404, "{}", "/v1/nothing");
    // Deeply nested JSON (under the size limit) is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let (status, _, _) = post(&a, &server.url("/v1/run"), &deep, None);
    assert!(status == 400 || status == 413, "{status}");
    // Still serving after all of that.
    assert_eq!(get(&a, &server.url("/healthz")).0, 200);
}

#[test]
fn a_rule_fault_is_a_422_with_the_clis_diagnostic() {
    let fixture = root().join("tests/fixtures/model");
    let server = Server::start(&["--scenarios", fixture.to_str().unwrap()]);
    let (status, kind, text) = post(
        &agent(),
        &server.url("/v1/run"),
        r#"{"scenario": "model", "params": {"fail.from": 2026}}"#,
        None,
    );
    assert_eq!(
        (status, kind.as_str()),
        (422, "application/problem+json"),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "rule-runtime", "{doc}");
    assert!(
        d["file"].as_str().unwrap().ends_with("fails_from.lua"),
        "{doc}"
    );
    assert_eq!(d["line"], 9, "{doc}");
}

#[test]
fn the_token_guards_the_api_but_not_the_health_check() {
    let examples = root().join("examples/minimal");
    let server = Server::start(&[
        "--scenarios",
        examples.to_str().unwrap(),
        "--token",
        "s3cret",
    ]);
    let a = agent();
    let body = r#"{"scenario": "minimal"}"#;
    let (status, kind, _) = post(&a, &server.url("/v1/run"), body, None);
    assert_eq!((status, kind.as_str()), (401, "application/problem+json"));
    assert_eq!(post(&a, &server.url("/v1/run"), body, Some("s3cre")).0, 401);
    assert_eq!(
        post(&a, &server.url("/v1/run"), body, Some("s3cret")).0,
        200
    );
    assert_eq!(get(&a, &server.url("/healthz")).0, 200);
}

#[test]
fn the_openapi_document_is_valid_openapi_3_1() {
    let server = Server::start(&[
        "--scenarios",
        root().join("examples/minimal").to_str().unwrap(),
    ]);
    let (status, text) = get(&agent(), &server.url("/openapi.json"));
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/healthz", "/v1/scenarios", "/v1/run"] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is not in the document"
        );
    }
    let ok = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        gil_tests::missing_tool(
            "python3 with openapi-spec-validator (pip install openapi-spec-validator)",
        );
        return;
    }
    let file = std::env::temp_dir().join(format!("gil-openapi-{}.json", std::process::id()));
    std::fs::write(&file, &text).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "openapi-spec-validator rejects the document:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_workbench_page_is_served_whole() {
    let server = Server::start(&[
        "--scenarios",
        root().join("examples/minimal").to_str().unwrap(),
    ]);
    let (status, page) = get(&agent(), &server.url("/"));
    assert_eq!(status, 200);
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Nothing is loaded from elsewhere: no external scripts, styles or fonts.
    let no_namespace = page.replace("http://www.w3.org/2000/svg", "");
    assert!(!no_namespace.contains("http://") && !no_namespace.contains("https://"));
    assert!(!page.contains("<script src") && !page.contains("<link"));
}

#[test]
fn many_concurrent_clients_get_no_error_with_steady_memory() {
    let mut server = Server::start(&["--scenarios", root().join("examples").to_str().unwrap()]);
    let base = server.url("/v1/run");
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next().map(|n| n.parse().unwrap()))
            .unwrap()
    };
    let pid = server.child.id();
    let round = |offset: usize| -> Vec<Duration> {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let url = base.clone();
                std::thread::spawn(move || {
                    let a = agent();
                    (0..25)
                        .map(|i| {
                            // Distinct parameters, so most requests are evaluated.
                            let v = 0.5 + (offset + t * 25 + i) as f64 * 1e-4;
                            let body = format!(
                                r#"{{"scenario": "minimal", "params": {{"fx.USD": {}}}}}"#,
                                1400.0 + v
                            );
                            let started = Instant::now();
                            let (status, _, text) = post(&a, &url, &body, None);
                            assert_eq!(status, 200, "{text}");
                            started.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    };
    round(0);
    let before = rss(pid);
    let mut latencies = round(1000);
    latencies.extend(round(2000));
    let after = rss(pid);
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    // A debug build on 2 cores, 8 clients: generous bounds that still catch a stall.
    assert!(p99 < Duration::from_secs(2), "p99 {p99:?}");
    // Steady memory: 400 more runs do not grow the server by more than 64 MiB.
    assert!(after < before + 64 * 1024, "RSS {before} KiB → {after} KiB");

    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigterm_lets_the_run_in_flight_finish() {
    let slow = root().join("tests/fixtures/serve/slow");
    // Budgets far above the loop's time, so a loaded machine still sees it finish.
    let mut server = Server::start(&[
        "--scenarios",
        slow.to_str().unwrap(),
        "--rule-budget",
        "120",
        "--call-deadline",
        "120",
        "--deadline",
        "120",
    ]);
    let url = server.url("/v1/run");
    let in_flight = std::thread::spawn(move || {
        let started = Instant::now();
        let (status, _, body) = post(&agent(), &url, r#"{"scenario": "slow"}"#, None);
        (status, body, started.elapsed())
    });
    // Long enough for the request to be accepted and its rule to be counting.
    std::thread::sleep(Duration::from_millis(150));
    let status = server.terminate();
    let (code, body, took) = in_flight.join().unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("\"loop.done\": 60000000.0"),
        "the run was cut short"
    );
    assert!(
        took > Duration::from_millis(150),
        "the run finished before the signal ({took:?})"
    );
    assert!(status.success(), "{status:?}");
}

/// A W3C WebDriver session over chromedriver, spoken as the protocol's JSON over HTTP.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: ureq::Agent,
}

impl Browser {
    fn start() -> Option<Browser> {
        let found = Command::new("chromedriver")
            .arg("--version")
            .output()
            .is_ok();
        if !found {
            gil_tests::missing_tool("chromedriver (Debian: chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = agent();
        let started = Instant::now();
        while http.get(&format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"]}
        }}});
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
        };
        let created = browser.call("POST", "/session", capabilities);
        browser.session = created["sessionId"].as_str().unwrap().to_string();
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        let mut response = match method {
            "GET" => self.http.get(&url).call().unwrap(),
            "DELETE" => self.http.delete(&url).call().unwrap(),
            _ => self.http.post(&url).send_json(&body).unwrap(),
        };
        let doc: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        assert!(
            response.status().is_success(),
            "WebDriver {method} {path}: {doc}"
        );
        doc["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn script(&self, script: &str) -> serde_json::Value {
        self.session_call(
            "POST",
            "/execute/sync",
            serde_json::json!({"script": script, "args": []}),
        )
    }

    fn find(&self, css: &str) -> String {
        let e = self.session_call(
            "POST",
            "/element",
            serde_json::json!({"using": "css selector", "value": css}),
        );
        e["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {e}"))
            .to_string()
    }

    fn wait_for(&self, what: &str, script: &str) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let v = self.script(script);
            if !v.is_null() && v != serde_json::Value::Bool(false) {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the page never showed {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn a_slider_moved_in_a_real_browser_shows_what_the_cli_computes() {
    let Some(browser) = Browser::start() else {
        return;
    };
    // korea-2030 alone, so it is the scenario the workbench opens with.
    let korea = root().join("examples/korea-2030");
    let server = Server::start(&["--scenarios", korea.to_str().unwrap()]);
    browser.session_call("POST", "/url", serde_json::json!({"url": server.url("/")}));
    browser.wait_for(
        "a first outcome",
        "return Number(document.body.dataset.evaluations || 0) >= 1;",
    );
    // Hangul renders in the picker (the scenario's Korean title).
    let title =
        browser.script("return document.getElementById('scenario').selectedOptions[0].text;");
    assert!(title.as_str().unwrap().contains("한국형"), "{title}");

    // Move the voucher-coverage slider with the keyboard: 50 steps of 0.001 right.
    let slider = browser.find(r#"input[type=range][data-param="voucher.coverage"]"#);
    let before = browser.script("return Number(document.body.dataset.evaluations);");
    let arrows: String = std::iter::repeat_n('\u{E014}', 50).collect();
    browser.session_call(
        "POST",
        &format!("/element/{slider}/value"),
        serde_json::json!({"text": arrows}),
    );
    let value = browser
        .wait_for(
            "the moved slider's outcome",
            &format!(
                "const s = document.querySelector('input[data-param=\"voucher.coverage\"]');\
                 return Number(document.body.dataset.evaluations) > {before} && state.pending && \
                 document.getElementById('status').textContent.startsWith('redrawn') && \
                 Math.abs(state.values['voucher.coverage'] - Number(s.value)) < 1e-12 ? s.value : null;"
            ),
        )
        .as_str()
        .unwrap()
        .to_string();
    // Let the last debounced evaluation land, then read the page.
    std::thread::sleep(Duration::from_millis(300));
    let shown = browser.script(
        "return document.querySelector('td[data-metric=\"voucher.granted\"]').dataset.value;",
    );
    let status = browser.script("return document.getElementById('status').textContent;");
    eprintln!(
        "workbench: slider at {value}; {}",
        status.as_str().unwrap_or("")
    );
    assert_ne!(value, "0.8", "the slider did not move");

    let korea = korea.join("scenario.yaml");
    let cli = cli_json(
        korea.to_str().unwrap(),
        &[&format!("voucher.coverage={value}")],
    );
    let cli: serde_json::Value = serde_json::from_str(&cli).unwrap();
    let expected = cli["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["year"] == 2030)
        .unwrap()["metrics"]["voucher.granted"]
        .as_f64()
        .unwrap();
    let shown: f64 = shown.as_str().unwrap().parse().unwrap();
    assert!(
        (shown - expected).abs() <= 1e-9 * expected.abs(),
        "the page shows {shown}, gil run computes {expected}"
    );
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {out:?}"
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn diff_explain_roles_graph_and_report_answer_as_their_commands_do() {
    let examples = root().join("examples");
    let server = Server::start(&["--scenarios", examples.to_str().unwrap()]);
    let a = agent();
    let korea = examples.join("korea-2030/scenario.yaml");
    let korea = korea.to_str().unwrap();
    let minimal = examples.join("minimal/scenario.yaml");
    let minimal = minimal.to_str().unwrap();

    let (status, _, body) = post(
        &a,
        &server.url("/v1/diff"),
        r#"{"scenario": "korea-2030", "reform": {"voucher.coverage": 0.5}}"#,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let expected = cli(&[
        "diff",
        korea,
        "--param",
        "voucher.coverage=0.5",
        "--format",
        "json",
    ]);
    assert!(body == expected, "diff differs:\n{body}\n---\n{expected}");

    let (status, _, body) = post(
        &a,
        &server.url("/v1/explain"),
        r#"{"scenario": "minimal", "target": "compute.in.startups", "year": 2027}"#,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let expected = cli(&[
        "explain",
        minimal,
        "compute.in.startups",
        "--year",
        "2027",
        "--format",
        "json",
    ]);
    assert!(body == expected, "explain differs");
    let (status, _, body) = post(
        &a,
        &server.url("/v1/explain"),
        r#"{"scenario": "minimal", "target": "compute.in.nobody"}"#,
        None,
    );
    assert_eq!(status, 422, "{body}");

    let (status, body) = get(&a, &server.url("/v1/scenarios/minimal/roles"));
    assert_eq!(status, 200);
    assert!(
        body == cli(&["roles", minimal, "--format", "json"]),
        "roles differ"
    );

    let (status, body) = get(
        &a,
        &server.url("/v1/scenarios/minimal/graph?format=mermaid"),
    );
    assert_eq!(status, 200);
    assert!(
        body == cli(&["graph", minimal, "--format", "mermaid"]),
        "graph differs"
    );
    assert_eq!(
        get(&a, &server.url("/v1/scenarios/minimal/graph?format=svg")).0,
        400
    );

    let (status, body) = get(&a, &server.url("/v1/scenarios/korea-2030/report"));
    assert_eq!(status, 200);
    assert!(body == cli(&["report", korea, "--html"]), "report differs");
    assert_eq!(get(&a, &server.url("/v1/scenarios/../roles")).0, 404);

    // One table as Parquet: the bytes gil run --format parquet writes for it.
    let dir = std::env::temp_dir().join(format!("gil-serve-tables-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    cli(&[
        "run",
        minimal,
        "--format",
        "parquet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let mut response = a
        .post(&server.url("/v1/tables/metrics"))
        .header("Content-Type", "application/json")
        .send(r#"{"scenario": "minimal"}"#)
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.body_mut().read_to_vec().unwrap();
    assert!(
        bytes == std::fs::read(dir.join("metrics.parquet")).unwrap(),
        "the table differs"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let (status, _, _) = post(
        &a,
        &server.url("/v1/tables/nothing"),
        r#"{"scenario": "minimal"}"#,
        None,
    );
    assert_eq!(status, 404);
    assert_eq!(get(&a, &server.url("/v1/scenarios/nope/roles")).0, 404);
}

#[test]
fn a_sweep_posted_runs_in_the_background_and_matches_gil_sweep() {
    let examples = root().join("examples");
    let server = Server::start(&["--scenarios", examples.to_str().unwrap()]);
    let a = agent();
    let document = r#"{
  "sweep": {"id": "fx", "scenario": "minimal", "design": "lhs", "samples": 40, "seed": 5},
  "parameters": {"fx.USD": {"uniform": [1000, 2000]}},
  "outputs": [{"metric": "funding.in.startups", "reduce": "sum"}, "targets"]
}
"#;
    let (status, _, body) = post(&a, &server.url("/v1/sweeps"), document, None);
    assert_eq!(status, 202, "{body}");
    let started: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = started["id"].as_str().unwrap().to_string();
    assert_eq!(started["runs"], 40);
    // Poll until done.
    let begun = Instant::now();
    let done = loop {
        let (status, body) = get(&a, &server.url(&format!("/v1/sweeps/{id}")));
        assert_eq!(status, 200);
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        if doc["status"] == "done" {
            break doc;
        }
        assert_ne!(doc["status"], "failed", "{doc}");
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "the sweep did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(done["done"], 40);

    // The same document as a file beside a copy of the scenario, through gil sweep.
    let tmp = gil_tests::Scratch::new("gil-serve-sweep");
    std::fs::create_dir_all(tmp.join("minimal")).unwrap();
    std::fs::copy(
        examples.join("minimal/scenario.yaml"),
        tmp.join("minimal/scenario.yaml"),
    )
    .unwrap();
    std::fs::write(tmp.join("fx.json"), document).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(["sweep", "fx.json", "--out", "fx", "--format", "json"])
        .current_dir(&tmp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        done["analysis"], cli,
        "the server's analysis differs from gil sweep's"
    );

    // The results table: the CLI's rows (pyarrow is not needed: same bytes but for
    // the plan hash in the metadata, so compare the row count from the analysis).
    let mut response = a
        .get(&server.url(&format!("/v1/sweeps/{id}/results.parquet")))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.body_mut().read_to_vec().unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));

    // A bad document: positioned diagnostics in a 422; an unknown scenario: 404.
    let bad = r#"{"sweep": {"id": "x", "scenario": "minimal", "design": "lhs", "samples": 4},
 "parameters": {"fx.USD": {"uniform": [2, 1]}}, "outputs": ["nothing"]}"#;
    let (status, kind, body) = post(&a, &server.url("/v1/sweeps"), bad, None);
    assert_eq!(
        (status, kind.as_str()),
        (422, "application/problem+json"),
        "{body}"
    );
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "sweep-range", "{doc}");
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64()),
        (Some("request"), Some(2)),
        "{doc}"
    );
    let (status, _, _) = post(
        &a,
        &server.url("/v1/sweeps"),
        &document.replace("\"minimal\"", "\"minimall\""),
        None,
    );
    assert_eq!(status, 404);
    assert_eq!(get(&a, &server.url("/v1/sweeps/s999")).0, 404);
}

#[test]
fn uploads_need_the_flag_run_in_the_sandbox_and_a_loop_forever_rule_gets_422() {
    let examples = root().join("examples");
    let minimal = std::fs::read_to_string(examples.join("minimal/scenario.yaml")).unwrap();
    let upload = |files: serde_json::Value| serde_json::json!({ "files": files }).to_string();

    let closed = Server::start(&["--scenarios", examples.to_str().unwrap()]);
    let a = agent();
    let body = upload(serde_json::json!({ "scenario.yaml": minimal }));
    let (status, kind, _) = post(&a, &closed.url("/v1/upload/run"), &body, None);
    assert_eq!((status, kind.as_str()), (403, "application/problem+json"));
    drop(closed);

    let server = Server::start(&[
        "--scenarios",
        examples.to_str().unwrap(),
        "--allow-upload",
        "--call-deadline",
        "1",
        "--rule-budget",
        "2",
    ]);
    // A plain upload gives what gil run gives for the same file.
    let (status, _, text) = post(&a, &server.url("/v1/upload/run"), &body, None);
    assert_eq!(status, 200, "{text}");
    let expected = cli_json(
        examples.join("minimal/scenario.yaml").to_str().unwrap(),
        &[],
    );
    assert!(text == expected, "the uploaded run differs from gil run's");

    // Names that would land outside the upload folder are refused.
    let escape = upload(serde_json::json!({ "scenario.yaml": minimal, "../x.lua": "return {}" }));
    assert_eq!(
        post(&a, &server.url("/v1/upload/run"), &escape, None).0,
        400
    );

    // A rule that loops forever: a 422 within its call deadline, while served
    // scenarios keep being answered.
    let looping = minimal.replace("rules: []", "rules: [loop.lua]");
    let rule = "return {\n  id = \"test.loop\",\n  kind = \"custom\",\n  on_step = function(world, ctx)\n    while true do end\n  end,\n}\n";
    let body = upload(serde_json::json!({ "scenario.yaml": looping, "loop.lua": rule }));
    let url = server.url("/v1/upload/run");
    let hostile = std::thread::spawn(move || {
        let started = Instant::now();
        let (status, _, text) = post(&agent(), &url, &body, None);
        (status, text, started.elapsed())
    });
    let run = server.url("/v1/run");
    let mut served = 0;
    let until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < until {
        let (status, _, _) = post(&a, &run, r#"{"scenario": "minimal"}"#, None);
        assert_eq!(status, 200);
        served += 1;
    }
    let (status, text, took) = hostile.join().unwrap();
    assert_eq!(status, 422, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "rule-deadline", "{doc}");
    assert_eq!(d["file"], "loop.lua", "{doc}");
    assert_eq!(d["line"], 5, "{doc}");
    assert!(took < Duration::from_secs(5), "the 422 took {took:?}");
    assert!(
        served >= 5,
        "only {served} requests were served beside the hostile one"
    );
}

#[test]
fn watch_reloads_a_changed_scenario_and_keeps_the_old_one_when_the_new_one_is_broken() {
    let tmp = std::env::temp_dir().join(format!("gil-serve-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("minimal")).unwrap();
    let file = tmp.join("minimal/scenario.yaml");
    let original = std::fs::read_to_string(root().join("examples/minimal/scenario.yaml")).unwrap();
    std::fs::write(&file, &original).unwrap();
    let server = Server::start(&["--scenarios", tmp.to_str().unwrap(), "--watch"]);
    let a = agent();
    let body = r#"{"scenario": "minimal"}"#;
    let grant = |text: &str| -> f64 {
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        doc["steps"][0]["metrics"]["funding.out.ministry"]
            .as_f64()
            .unwrap()
    };
    let (status, _, text) = post(&a, &server.url("/v1/run"), body, None);
    assert_eq!(status, 200);
    let before = grant(&text);

    // A changed budget is served within a few seconds.
    std::fs::write(&file, original.replace("2026: 1.0e10", "2026: 2.0e10")).unwrap();
    let started = Instant::now();
    let after = loop {
        let (status, _, text) = post(&a, &server.url("/v1/run"), body, None);
        assert_eq!(status, 200);
        let value = grant(&text);
        if value != before {
            break value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the change was never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!((after - before - 1.0e10).abs() < 1.0, "{before} → {after}");

    // A broken version: the last good one is still served.
    std::fs::write(&file, "scenario: [unclosed\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (status, _, text) = post(&a, &server.url("/v1/run"), body, None);
    assert_eq!(status, 200);
    assert_eq!(grant(&text), after);

    // A scenario added to the folder is served too.
    std::fs::create_dir_all(tmp.join("second")).unwrap();
    std::fs::write(
        tmp.join("second/scenario.yaml"),
        original.replace("id: minimal", "id: second"),
    )
    .unwrap();
    let started = Instant::now();
    loop {
        let (status, _, _) = post(
            &a,
            &server.url("/v1/run"),
            r#"{"scenario": "second"}"#,
            None,
        );
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new scenario was never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
