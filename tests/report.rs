//! The HTML report and the DOT graph for every example: structure (valid SVG, no
//! external resources), and — where Debian's chromium and graphviz are installed, as
//! in CI — that they really render.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::process::Command;

use gil_tests::{evaluate, missing_tool, workspace_root};

use gil_tests::EXAMPLES;

fn report(example: &str) -> String {
    let path = workspace_root()
        .join("examples")
        .join(example)
        .join("scenario.yaml");
    let s = gil_model::load(&path).unwrap();
    let e = evaluate(&path, &[]).unwrap();
    gil_report::html::report(&s, &e, None, &Default::default())
}

fn svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end =
            rest[start..].find("</svg>").expect("every svg is closed") + start + "</svg>".len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// Whether `tool` runs here; `version_flag` is how it prints its version (Graphviz's
/// `dot` knows only `-V`: with `--version` it fails, and the test never ran).
fn have(tool: &str, version_flag: &str) -> bool {
    Command::new(tool)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn reports_are_self_contained_with_valid_svg() {
    for example in EXAMPLES {
        let html = report(example);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<meta charset=\"utf-8\"/>"));
        for needle in [
            "<script", "<link", "<img", "<iframe", "@import", "url(", "src=",
        ] {
            assert!(
                !html.contains(needle),
                "{example}: the report loads something external ({needle})"
            );
        }
        let svgs = svgs(&html);
        assert!(svgs.len() >= 3, "{example}: too few charts");
        for svg in svgs {
            let doc = roxmltree::Document::parse(svg)
                .unwrap_or_else(|e| panic!("{example}: invalid SVG: {e}\n{svg}"));
            assert_eq!(doc.root_element().tag_name().name(), "svg");
        }
        for section in ["Who pays whom", "What / How / Why", "Findings", "Sources"] {
            assert!(html.contains(section), "{example}: no {section} section");
        }
    }
    let korea = report("korea-2030");
    assert!(
        korea.contains("한국형 1인 1 GPU 전략"),
        "Korean text is kept as UTF-8"
    );
    assert!(korea.contains("Power balance by region"));
    let stargate = report("stargate-2025");
    assert!(
        stargate.contains("nvidia → openai → nvidia"),
        "the loop is listed"
    );
    assert!(
        stargate.contains(r##"fill="#d62728""##),
        "loop money is drawn red"
    );
}

#[test]
fn the_report_renders_in_headless_chromium() {
    if !have("chromium", "--version") {
        missing_tool("rendering the report needs Debian's chromium, which is not installed");
        return;
    }
    let dir = gil_tests::Scratch::new("gil-report");
    let html = dir.join("korea.html");
    std::fs::write(&html, report("korea-2030")).unwrap();
    let png = dir.join("korea.png");
    let status = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,2400",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
    assert!(
        bytes.len() > 50_000,
        "the screenshot is nearly empty ({} bytes)",
        bytes.len()
    );
}

#[test]
fn dot_output_renders_with_graphviz() {
    if !have("dot", "-V") {
        missing_tool("checking DOT output needs Debian's graphviz, which is not installed");
        return;
    }
    for example in EXAMPLES {
        let path = workspace_root()
            .join("examples")
            .join(example)
            .join("scenario.yaml");
        let s = gil_model::load(&path).unwrap();
        let e = evaluate(&path, &[]).unwrap();
        let graph = gil_report::graph::build(&s, &e, &Default::default()).unwrap();
        let dot = gil_report::graph::dot(&graph, s.id());
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = String::from_utf8(out.stdout).unwrap();
        assert!(svg.contains("<svg"), "{example}");
    }
}

#[test]
fn a_national_sankey_draws_the_largest_payers_and_folds_the_rest_into_other() {
    // 60 startups each pay a vendor of their own: 61 payers and 60 payees.
    let mut text = String::from(
        "scenario: { id: wide, horizon: { start: 2026, end: 2026 }, currency: KRW }\nactors:\n  - { id: gov, kind: government }\n",
    );
    let n = 60;
    for i in 0..n {
        text.push_str(&format!(
            "  - {{ id: s{i}, kind: startup }}\n  - {{ id: v{i}, kind: large_firm }}\n"
        ));
    }
    text.push_str("flows:\n");
    for i in 0..n {
        let amount = 1000 * (i + 1);
        text.push_str(&format!(
            "  - {{ from: gov, to: s{i}, kind: funding, via: grant, amount: {amount} }}\n  - {{ from: s{i}, to: v{i}, kind: funding, via: purchase, amount: {amount}, source: \"invoice {i}\" }}\n"
        ));
    }
    let dir = gil_tests::Scratch::new("gil-wide");
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, &text).unwrap();
    let s = gil_model::load(&path).unwrap();
    let e = evaluate(&path, &[]).unwrap();
    let html = gil_report::html::report(&s, &e, None, &Default::default());
    let funding = svgs(&html)
        .into_iter()
        .find(|svg| svg.contains("other payers"))
        .expect("a funding Sankey with an `other payers` node");
    // The largest payers keep their own node (s59 pays the most), the smallest do not.
    assert!(
        funding.contains("s59 → v59"),
        "the largest band is drawn on its own"
    );
    assert!(!funding.contains("s0 → v0"), "the smallest band is folded");
    assert!(
        funding.contains("38 other payers"),
        "61 payers: 23 drawn, 38 folded"
    );
    assert!(
        funding.contains("97 other payees"),
        "120 payees: 23 drawn, 97 folded"
    );
    // A folded band names a few of its sources and counts the rest.
    assert!(funding.contains("more"), "folded sources are counted");
    // Chains fold by node: one "other" node that both pays and is paid, never a
    // node split into a payer half and a payee half.
    let options = gil_report::html::ReportOptions {
        chains: true,
        ..Default::default()
    };
    let chains = gil_report::html::report(&s, &e, None, &options);
    let funding = svgs(&chains)
        .into_iter()
        .find(|svg| svg.contains("other actors"))
        .expect("a chain Sankey with an `other actors` node");
    assert!(!funding.contains("other payers") && !funding.contains("other payees"));
    // 121 actors move money: gov, the 22 largest startups and vendors by what goes
    // through them drawn, 98 folded.
    assert!(funding.contains("98 other actors"), "{funding}");
}

/// The page as a person reads it: headings, cards, paragraphs, table rows and list
/// items one per line, each picture as the labels it draws — tags dropped, entities
/// decoded. A readable snapshot of what the report says, not of its pixels.
fn outline(html: &str) -> String {
    let body = &html[html.find("<body>").map_or(0, |i| i + 6)..];
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("<svg") {
        out.push_str(&text_of(&rest[..start]));
        let end = rest[start..].find("</svg>").unwrap() + start + 6;
        let svg = roxmltree::Document::parse(&rest[start..end]).unwrap();
        let labels: Vec<String> = svg
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| {
                n.descendants()
                    .filter(|d| d.is_text())
                    .filter_map(|d| d.text())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push_str(&format!("\n[picture: {}]\n", labels.join(" | ")));
        rest = &rest[end..];
    }
    out.push_str(&text_of(rest));
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('>').unwrap() + open;
        let tag = &rest[open + 1..close];
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap();
        if matches!(
            name,
            "h1" | "h2" | "h3" | "p" | "tr" | "li" | "summary" | "section" | "div" | "br"
        ) {
            out.push('\n');
        } else if matches!(name, "td" | "th") && !tag.starts_with('/') {
            out.push_str(" | ");
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn the_stargate_report_reads_as_people_expect() {
    let html = report("stargate-2025");
    insta::assert_snapshot!("stargate_report_outline", outline(&html));
}

#[test]
fn sankeys_name_actors_and_leave_the_boundary_off_unless_asked() {
    let korea = report("korea-2030");
    let pictures = svgs(&korea).concat();
    assert!(
        pictures.contains("과학기술정보통신부"),
        "a Sankey node carries the ministry's Korean name"
    );
    assert!(
        pictures.contains("(msit)"),
        "the id stays in the hover text"
    );
    assert!(
        !pictures.contains("Taxpayers"),
        "boundary actors are off the Sankey by default"
    );
    assert!(korea.contains("gil report --boundary"));
    let path = workspace_root().join("examples/korea-2030/scenario.yaml");
    let s = gil_model::load(&path).unwrap();
    let e = evaluate(&path, &[]).unwrap();
    let options = gil_report::html::ReportOptions {
        boundary: true,
        ..Default::default()
    };
    let with_boundary = gil_report::html::report(&s, &e, None, &options);
    assert!(svgs(&with_boundary).concat().contains("Taxpayers"));
}

#[test]
fn every_parameter_is_listed_with_links_to_its_sources_and_back() {
    let korea = report("korea-2030");
    assert!(korea.contains("<h2>Parameters and assumptions</h2>"));
    let cell = korea.find("<td><code>power.tariff</code></td>").unwrap();
    let row_start = korea[..cell].rfind("<tr id=\"").unwrap();
    let row = &korea[row_start..row_start + korea[row_start..].find("</tr>").unwrap()];
    assert!(row.contains("KRW per MWh"), "{row}");
    // The value as the scenario writes it, not rounded.
    assert!(row.contains(">182700<"), "{row}");
    let anchor: String = row[8..].chars().take_while(|c| *c != '"').collect();
    let link = row.find("href=\"#source-").expect("a link to the source");
    let number: String = row[link + 14..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let item_start = korea
        .find(&format!(r#"<li id="source-{number}">"#))
        .unwrap();
    let item = &korea[item_start..item_start + korea[item_start..].find("</li>").unwrap()];
    assert!(item.contains("asiae.co.kr"), "{item}");
    assert!(
        item.contains(&format!(
            r##"<a href="#{anchor}">parameter power.tariff</a>"##
        )),
        "the source links back to what it supports: {item}"
    );
}

#[test]
fn a_reform_stands_beside_the_baseline_on_the_cards_and_the_power_charts() {
    let path = workspace_root().join("examples/korea-2030/scenario.yaml");
    let s = gil_model::load(&path).unwrap();
    let base = evaluate(&path, &[]).unwrap();
    let params: std::collections::BTreeMap<String, gil_model::Dated> = [(
        "analysis.compute.utilization".to_string(),
        gil_model::Dated::Fixed(0.6),
    )]
    .into();
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    let options = gil_engine::Options {
        params: params.clone(),
        ..Default::default()
    };
    let changed = gil_engine::evaluate(&s, &rules, &options).unwrap();
    let diff = gil_engine::diff::diff(&base.outcome, &changed.outcome);
    let view = gil_report::html::ReformView {
        title: "less allocatable compute".into(),
        evaluation: &changed,
        diff: &diff,
        params,
        text_params: Default::default(),
    };
    let html = gil_report::html::report(&s, &base, Some(&view), &Default::default());
    let summary = &html[html.find("<h2>Summary</h2>").unwrap()..];
    let summary = &summary[..summary.find("</section>").unwrap()];
    assert!(
        summary.contains(r#"<span class="reform">"#),
        "a card that changes shows the reform's value: {summary}"
    );
    let power = &html[html.find("Power balance by region").unwrap()..];
    assert!(
        power.contains("<title>reform 2029: demand"),
        "the reform's bars are drawn beside the baseline's"
    );
    assert!(
        html.contains("<th>reform</th>"),
        "the parameters table has the reform's column"
    );
}

#[test]
fn chains_draw_money_along_its_path_a_column_per_step() {
    let path = workspace_root().join("examples/korea-2030/scenario.yaml");
    let s = gil_model::load(&path).unwrap();
    let e = evaluate(&path, &[]).unwrap();
    let options = gil_report::html::ReportOptions {
        chains: true,
        ..Default::default()
    };
    let html = gil_report::html::report(&s, &e, None, &options);
    let funding = svgs(&html)
        .into_iter()
        .find(|svg| svg.contains("along the chain (KRW)"))
        .expect("a chain Sankey of the money");
    let doc = roxmltree::Document::parse(funding).unwrap();
    // The x of the node whose hover text names `id`.
    let column_of = |id: &str| -> f64 {
        doc.descendants()
            .filter(|n| n.has_tag_name("rect"))
            .find(|n| {
                n.children()
                    .any(|t| t.text().is_some_and(|t| t.ends_with(&format!("({id})"))))
            })
            .and_then(|n| n.attribute("x"))
            .unwrap_or_else(|| panic!("no node for {id}"))
            .parse()
            .unwrap()
    };
    let (ministry, agency, startups) =
        (column_of("msit"), column_of("nipa"), column_of("startups"));
    assert!(
        ministry < agency && agency < startups,
        "ministry → agency → startups, left to right: {ministry} {agency} {startups}"
    );
}

#[test]
fn markup_in_names_notes_units_and_sources_is_shown_as_text() {
    let path = std::path::Path::new("fixtures/report/hostile.yaml");
    let s = gil_model::load(path).unwrap();
    let e = evaluate(path, &[]).unwrap();
    for chains in [false, true] {
        let options = gil_report::html::ReportOptions {
            chains,
            ..Default::default()
        };
        let html = gil_report::html::report(&s, &e, None, &options);
        for needle in [
            "<script",
            "<img",
            "<b>unit",
            "<i>grant",
            "<svg onload",
            "href=\"javascript:",
            "</text><script",
        ] {
            assert!(
                !html.contains(needle),
                "chains {chains}: `{needle}` reached the page as markup"
            );
        }
        // Shown, escaped, where a reader looks for them.
        assert!(
            html.contains("&lt;script&gt;alert(&#39;gov&#39;)")
                || html.contains("&lt;script&gt;alert('gov')")
        );
        assert!(
            html.contains("javascript:alert(3)"),
            "the source is listed as text"
        );
        for svg in svgs(&html) {
            roxmltree::Document::parse(svg).expect("every picture is well-formed XML");
        }
    }
}

#[test]
fn text_parameters_are_listed_with_the_runs_value_beside_the_scenarios() {
    let path = std::path::Path::new("fixtures/explain/scenario.yaml");
    let s = gil_model::load(path).unwrap();
    let e = evaluate(path, &[]).unwrap();
    let options = gil_report::html::ReportOptions {
        text_params: [(
            "regional.dc_subsidy.regions".to_string(),
            gil_model::TextValue::List(vec!["capital".into()]),
        )]
        .into(),
        ..Default::default()
    };
    let html = gil_report::html::report(&s, &e, None, &options);
    assert!(
        html.contains("<s>[honam, yeongnam]</s> [capital] (--param)"),
        "the list's run value beside the scenario's"
    );
    assert!(
        html.contains("&quot;2026 regional call&quot;") || html.contains("\"2026 regional call\"")
    );
}
