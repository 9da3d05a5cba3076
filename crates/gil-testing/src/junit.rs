//! Test results as JUnit XML, the report every CI system shows: one `<testsuite>` per
//! test file, one `<testcase>` per case that ran. No timings, so the same results give
//! the same bytes.

use std::fmt::Write;

/// How one case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Passed,
    /// The outcome differs: one line per difference.
    Failed(Vec<String>),
    /// The case could not run (rendered diagnostics).
    Error(String),
}

/// One case as a report line.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseReport {
    /// The test file, as given.
    pub file: String,
    pub name: String,
    pub line: usize,
    pub verdict: Verdict,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn count(cases: &[&CaseReport], pick: fn(&Verdict) -> bool) -> usize {
    cases.iter().filter(|c| pick(&c.verdict)).count()
}

/// The whole report, test files in the order given.
pub fn junit_xml(cases: &[CaseReport]) -> String {
    let all: Vec<&CaseReport> = cases.iter().collect();
    let failed = |v: &Verdict| matches!(v, Verdict::Failed(_));
    let broken = |v: &Verdict| matches!(v, Verdict::Error(_));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"gil test\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        all.len(),
        count(&all, failed),
        count(&all, broken)
    );
    let mut files: Vec<&str> = Vec::new();
    for c in cases {
        if !files.contains(&c.file.as_str()) {
            files.push(&c.file);
        }
    }
    for file in files {
        let in_file: Vec<&CaseReport> = cases.iter().filter(|c| c.file == file).collect();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
            esc(file),
            in_file.len(),
            count(&in_file, failed),
            count(&in_file, broken)
        );
        for c in in_file {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
                esc(file),
                esc(&c.name),
                esc(file),
                c.line
            );
            match &c.verdict {
                Verdict::Passed => out.push_str("/>\n"),
                Verdict::Failed(lines) => {
                    let first = lines.first().map(String::as_str).unwrap_or("failed");
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        esc(first),
                        esc(&lines.join("\n"))
                    );
                }
                Verdict::Error(text) => {
                    let first = text.lines().next().unwrap_or("the case could not run");
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                        esc(first),
                        esc(text)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
