//! `gil serve --watch`: a thread that looks at every served scenario's files (the
//! scenario, its includes and tables, its rules) twice a second, and at the folder for
//! new scenarios. A changed scenario is reloaded and replaces the old one for the
//! requests that follow; one that no longer loads keeps being served as it was, and
//! its diagnostics are reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gil_model::{LoadError, Scenario};
use gil_rules::SandboxConfig;

use crate::catalog::{load_one, scenario_files, Fingerprint};
use crate::AppState;

/// What the watcher did, for the server's log.
pub enum Event {
    Reloaded {
        id: String,
        file: PathBuf,
    },
    Added {
        id: String,
        file: PathBuf,
    },
    /// The new version does not load: the old one is still served (if there is one).
    Failed {
        file: PathBuf,
        error: LoadError,
    },
}

pub type Loader = Box<dyn Fn(&Path) -> Result<Scenario, LoadError> + Send>;

/// Starts the watcher thread.
pub fn watch(
    state: Arc<AppState>,
    dir: PathBuf,
    config: SandboxConfig,
    load: Loader,
    report: Box<dyn Fn(Event) + Send>,
) {
    let _ = std::thread::Builder::new()
        .name("gil-watch".into())
        .spawn(move || {
            // A failed version is reported once, until its files change again.
            let mut failed: std::collections::BTreeMap<PathBuf, Fingerprint> = Default::default();
            let mut generation = 1;
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let entries = state.entries();
                let served: BTreeSet<PathBuf> = entries.iter().map(|e| e.file.clone()).collect();
                let mut due: Vec<(PathBuf, bool)> = entries
                    .iter()
                    .filter(|e| e.fingerprint.now() != e.fingerprint)
                    .map(|e| (e.file.clone(), true))
                    .collect();
                due.extend(
                    scenario_files(&dir)
                        .into_iter()
                        .filter(|f| !served.contains(f))
                        .map(|f| (f, false)),
                );
                for (file, known) in due {
                    if let Some(seen) = failed.get(&file) {
                        if seen.now() == *seen {
                            continue;
                        }
                    }
                    match load_one(&file, &config, &*load, generation) {
                        Ok(entry) => {
                            generation += 1;
                            failed.remove(&file);
                            let id = entry.info.id.clone();
                            state.replace(entry);
                            report(if known {
                                Event::Reloaded { id, file }
                            } else {
                                Event::Added { id, file }
                            });
                        }
                        Err(error) => {
                            let files = std::iter::once(file.clone()).chain(
                                (0..error.sources.len())
                                    .filter_map(|f| error.sources.path(f).map(Path::to_path_buf)),
                            );
                            failed.insert(file.clone(), Fingerprint::of_files(files));
                            report(Event::Failed { file, error });
                        }
                    }
                }
            }
        });
}
