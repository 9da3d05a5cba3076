//! The scenarios a server serves: every `scenario.yaml` found in the scenarios folder
//! (the folder's own, and one level down), loaded and their rules compiled once at
//! start. Requests name a scenario by its id, looked up in this map: an id never
//! becomes a path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gil_engine::Model;
use gil_model::{Dated, LoadError, Scenario};
use gil_rules::SandboxConfig;
use serde::Serialize;
use utoipa::ToSchema;

/// What `GET /v1/scenarios` says about one scenario.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioInfo {
    pub id: String,
    pub title: Option<String>,
    pub currency: String,
    /// First and last year.
    pub horizon: [i32; 2],
    pub parameters: Vec<ParameterInfo>,
}

/// A parameter as a form shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParameterInfo {
    pub name: String,
    /// The value in the first year of the horizon (the baseline a slider starts at).
    pub value: f64,
    /// Dated values by year, when the value changes over the horizon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_year: Option<BTreeMap<String, f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub source: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub struct Entry {
    pub info: ScenarioInfo,
    pub model: Arc<Model>,
}

#[derive(Default)]
pub struct Catalog {
    pub entries: BTreeMap<String, Arc<Entry>>,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Arc<Entry>> {
        self.entries.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

fn info(s: &Scenario) -> ScenarioInfo {
    let (start, end) = (*s.years().start(), *s.years().end());
    ScenarioInfo {
        id: s.id().to_string(),
        title: s.header.title.clone(),
        currency: s.currency().to_string(),
        horizon: [start, end],
        parameters: s
            .parameters
            .values()
            .map(|p| ParameterInfo {
                name: p.name.value.clone(),
                value: p
                    .value
                    .value
                    .at(start)
                    .unwrap_or_else(|| match &p.value.value {
                        Dated::Fixed(v) => *v,
                        Dated::Series(points) => points.first().map_or(0.0, |(_, _, v)| *v),
                    }),
                by_year: match &p.value.value {
                    Dated::Fixed(_) => None,
                    Dated::Series(points) => {
                        Some(points.iter().map(|(y, _, v)| (y.to_string(), *v)).collect())
                    }
                },
                unit: p.unit.clone(),
                source: p.source.0.clone(),
                note: p.note.clone(),
            })
            .collect(),
    }
}

/// The scenario files a folder holds: its own `scenario.yaml`, and each subfolder's.
pub fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if dir.join("scenario.yaml").is_file() {
        files.push(dir.join("scenario.yaml"));
    }
    let mut subfolders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("scenario.yaml").is_file())
                .collect()
        })
        .unwrap_or_default();
    subfolders.sort();
    files.extend(subfolders.into_iter().map(|p| p.join("scenario.yaml")));
    files
}

/// A scenario that could not be served, and why.
pub struct Skipped {
    pub file: PathBuf,
    pub error: LoadError,
}

/// Loads every scenario under `dir`; the ones that fail to load are skipped and
/// returned with their diagnostics. Two scenarios with one id: the first is served.
pub fn load(
    dir: &Path,
    config: &SandboxConfig,
    load_scenario: &dyn Fn(&Path) -> Result<Scenario, LoadError>,
) -> (Catalog, Vec<Skipped>) {
    let mut catalog = Catalog::default();
    let mut skipped = Vec::new();
    for file in scenario_files(dir) {
        let loaded = load_scenario(&file).and_then(|s| Model::new(s, &[], config.clone()));
        match loaded {
            Ok(model) => {
                let info = info(model.scenario());
                catalog.entries.entry(info.id.clone()).or_insert_with(|| {
                    Arc::new(Entry {
                        info,
                        model: Arc::new(model),
                    })
                });
            }
            Err(error) => skipped.push(Skipped { file, error }),
        }
    }
    (catalog, skipped)
}
