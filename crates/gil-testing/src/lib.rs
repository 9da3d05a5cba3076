//! `gil test`: rule test cases in `*.test.yaml` files, run against a scenario, with
//! expected metrics, flows, findings and roles within a tolerance. A product feature
//! with its own file format, so its own crate, above the engine and the renderers.
//!
//! ```yaml
//! cases:
//!   - name: startups get 80% of their compute cost
//!     scenario: ../../examples/minimal/scenario.yaml   # or the scenario inline
//!     rules: [compute_voucher.lua]   # default: the .lua file beside the test
//!     params: { voucher.coverage: 0.8 }
//!     years: [2026]                  # default: every year
//!     expect:
//!       metrics: { voucher.granted: 1.6e9 }              # or { 2026: …, 2027: … }
//!       flows: [ { from: nipa, to: startups, via: voucher, amount: 1.6e9 } ]
//!       findings: [ { code: voucher.cap_reached, level: warn } ]
//!       roles: [ { project: compute-voucher, actor: startups, role: how } ]
//!     tolerance: { abs: 1.0, rel: 1e-9 }
//! ```

mod compare;
mod coverage;
mod file;
mod junit;
mod run;

use std::path::PathBuf;

pub use compare::{compare, Mismatch};
pub use coverage::Coverage;
pub use file::{
    load_suite, Case, Expect, FindingExpect, FlowExpect, RoleExpect, ScenarioRef, Suite, TestFile,
    Tolerance,
};
pub use junit::{junit_xml, CaseReport, Verdict};
pub use run::{case_rules, run_case, CaseFailure};

/// Finds `*.test.yaml` files below each path (or the files themselves), sorted.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            gil_rules::find_files(p, ".test.yaml", &["target"], &mut out)?;
        } else {
            std::fs::metadata(p)?;
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
