//! The paths documents and messages show: normalized, relative to the scenario's
//! folder, and back from there to the working directory.

use std::path::{Component, Path, PathBuf};

/// Lexically removes `.` and `a/..` so displayed include paths stay readable.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// `target` as a path relative to the folder `base`, with `/` separators: the form every
/// document shows, so an outcome does not depend on the working directory or the
/// machine. Both paths are made absolute against the working directory first
/// (lexically; symlinks are not followed).
pub fn relative_to(base: &Path, target: &Path) -> String {
    let absolute = |p: &Path| {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let (base, target) = (absolute(base), absolute(target));
    let base: Vec<Component<'_>> = base.components().collect();
    let target: Vec<Component<'_>> = target.components().collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    if common == 0 {
        // Another drive or root: no relative form exists.
        return target
            .iter()
            .collect::<PathBuf>()
            .to_string_lossy()
            .replace('\\', "/");
    }
    let mut parts: Vec<String> = vec!["..".to_string(); base.len() - common];
    parts.extend(
        target[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Where a document's path (relative to `base`, see [`relative_to`]) is from the
/// working directory: the form terminal messages show, so they stay clickable.
pub fn from_base(base: &Path, shown: &str) -> PathBuf {
    normalize(&base.join(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(
            relative_to(
                Path::new("examples/korea-2030"),
                Path::new("rules/tax/a.lua")
            ),
            "../../rules/tax/a.lua"
        );
        assert_eq!(
            relative_to(Path::new("p"), Path::new("p/rules/a.lua")),
            "rules/a.lua"
        );
        assert_eq!(
            relative_to(Path::new(""), Path::new("./rules/a.lua")),
            "rules/a.lua"
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            relative_to(&cwd.join("p"), Path::new("p/./x/../a.lua")),
            "a.lua"
        );
        assert_eq!(
            from_base(Path::new("examples/korea-2030"), "../../rules/tax/a.lua"),
            PathBuf::from("rules/tax/a.lua")
        );
    }
}
