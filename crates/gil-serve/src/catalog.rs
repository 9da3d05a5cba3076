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
    /// The scenario file it was loaded from.
    pub file: PathBuf,
    /// Bumped on every reload (`--watch`), so workers know to recompile.
    pub generation: u64,
    /// What its files looked like when loaded.
    pub fingerprint: Fingerprint,
}

/// The files a scenario was loaded from (includes, tables, rules), each with its
/// modification time and length: a change in any is a reason to reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub Vec<(PathBuf, Option<std::time::SystemTime>, u64)>);

impl Fingerprint {
    pub fn of_files(files: impl IntoIterator<Item = PathBuf>) -> Fingerprint {
        let mut entries: Vec<(PathBuf, Option<std::time::SystemTime>, u64)> = files
            .into_iter()
            .map(|p| {
                let meta = std::fs::metadata(&p).ok();
                let modified = meta.as_ref().and_then(|m| m.modified().ok());
                let len = meta.map_or(0, |m| m.len());
                (p, modified, len)
            })
            .collect();
        entries.sort();
        entries.dedup();
        Fingerprint(entries)
    }

    /// Every file a loaded model read.
    pub fn of_model(file: &Path, model: &Model) -> Fingerprint {
        let sources = &model.scenario().sources;
        let scenario_files =
            (0..sources.len()).filter_map(|f| sources.path(f).map(Path::to_path_buf));
        let rule_files = model.rule_sources().iter().map(|r| r.path.clone());
        Fingerprint::of_files(
            std::iter::once(file.to_path_buf())
                .chain(scenario_files)
                .chain(rule_files),
        )
    }

    /// The same files looked at again now.
    pub fn now(&self) -> Fingerprint {
        Fingerprint::of_files(self.0.iter().map(|(p, _, _)| p.clone()))
    }
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

pub(crate) fn info(s: &Scenario) -> ScenarioInfo {
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
        match load_one(&file, config, load_scenario, 0) {
            Ok(entry) => {
                catalog
                    .entries
                    .entry(entry.info.id.clone())
                    .or_insert_with(|| Arc::new(entry));
            }
            Err(error) => skipped.push(Skipped { file, error }),
        }
    }
    (catalog, skipped)
}

/// Loads one scenario file into an entry of the given generation.
pub fn load_one(
    file: &Path,
    config: &SandboxConfig,
    load_scenario: &dyn Fn(&Path) -> Result<Scenario, LoadError>,
    generation: u64,
) -> Result<Entry, LoadError> {
    let model = load_scenario(file).and_then(|s| Model::new(s, &[], config.clone()))?;
    Ok(Entry {
        info: info(model.scenario()),
        fingerprint: Fingerprint::of_model(file, &model),
        model: Arc::new(model),
        file: file.to_path_buf(),
        generation,
    })
}
