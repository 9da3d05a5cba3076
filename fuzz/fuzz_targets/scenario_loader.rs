//! The scenario loader on arbitrary bytes: any input gives a scenario or diagnostics,
//! never a panic, and every diagnostic renders.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir();
    let text = String::from_utf8_lossy(data);
    match gil_model::load_str("fuzz.yaml", &text, &dir) {
        Ok(scenario) => {
            let _ = gil_model::ScenarioGraph::build(&scenario);
            for year in scenario.years().take(50) {
                for i in 0..scenario.flows.len() {
                    let _ = scenario.flow_amount(i, year);
                }
            }
        }
        Err(err) => {
            for d in &err.diagnostics {
                let _ = d.render(&err.sources, false);
                let _ = d.to_record(&err.sources);
            }
        }
    }
});
