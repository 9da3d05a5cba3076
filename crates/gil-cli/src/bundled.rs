//! The bundled example, embedded in the binary: what `gil run` evaluates when it is
//! given no scenario and the working directory has no `scenario.yaml`.
//!
//! The loader reads files, so the bundle is written once to a folder under the
//! system's temporary directory (named by gil's version and a hash of the contents)
//! and loaded from there. Documents name rule files relative to the scenario's
//! folder, so the outcome is the same bytes as for `examples/korea-2030` in a checkout.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/bundled_files.rs"));

/// The bundled scenario's path inside the bundle.
pub const SCENARIO: &str = "examples/korea-2030/scenario.yaml";

/// The scenario a command uses when none is given: `./scenario.yaml` when there is
/// one, otherwise the bundled example.
pub fn default_scenario() -> std::io::Result<PathBuf> {
    let local = Path::new("scenario.yaml");
    if local.is_file() {
        return Ok(local.to_path_buf());
    }
    Ok(unpack()?.join(SCENARIO))
}

/// The bundled examples' folder (unpacked under the temporary folder), for `gil serve`.
pub fn examples_dir() -> std::io::Result<PathBuf> {
    Ok(unpack()?.join("examples"))
}

/// How a message names `path`: a file of the bundle by its path inside the bundle
/// (`bundled:examples/korea-2030/scenario.yaml`), never the temporary folder.
pub fn shown(path: &Path) -> String {
    let text = path.display().to_string().replace('\\', "/");
    match text.find("-bundle-") {
        Some(at) if path.starts_with(std::env::temp_dir()) => {
            let rest = &text[at..];
            match rest.find('/') {
                Some(slash) => format!("bundled:{}", &rest[slash + 1..]),
                None => text,
            }
        }
        _ => text,
    }
}

/// Writes the bundle under the temporary directory (once per version and contents)
/// and returns its root.
fn unpack() -> std::io::Result<PathBuf> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    FILES.hash(&mut hasher);
    let root = std::env::temp_dir().join(format!(
        "gil-{}-bundle-{:016x}",
        env!("CARGO_PKG_VERSION"),
        hasher.finish()
    ));
    for (relative, text) in FILES {
        let path = root.join(relative);
        if std::fs::read(&path).is_ok_and(|existing| existing == text.as_bytes()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Temp file + rename: a concurrent `gil` never reads a half-written file.
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temp, text)?;
        std::fs::rename(&temp, &path)?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundle_holds_the_example_and_every_rule_file() {
        let names: Vec<&str> = super::FILES.iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&super::SCENARIO));
        assert!(names.contains(&"examples/korea-2030/actors.yaml"));
        assert!(names.contains(&"rules/voucher/compute_voucher.lua"));
        assert!(names.iter().all(|n| !n.ends_with(".test.yaml")));
    }
}
