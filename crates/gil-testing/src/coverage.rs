//! Line coverage of rule and module files over a test run (`gil test --coverage`,
//! `--lcov FILE`): Luau's own per-line hit counts, summed over every case.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Per file (its path as the rules were read): line → hits, for every line with code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub files: BTreeMap<PathBuf, BTreeMap<u32, u64>>,
}

impl Coverage {
    /// Adds one runtime's counts (a case's rules).
    pub fn merge(&mut self, more: BTreeMap<PathBuf, BTreeMap<u32, u64>>) {
        for (file, lines) in more {
            let into = self.files.entry(file).or_default();
            for (line, hits) in lines {
                *into.entry(line).or_insert(0) += hits;
            }
        }
    }

    /// The summary people read: per file, lines run of lines with code, and the lines
    /// never run (as ranges), then the total.
    pub fn summary(&self) -> String {
        let mut out = String::from("coverage (lines run / lines with code):\n");
        let (mut all_hit, mut all_lines) = (0usize, 0usize);
        let width = self
            .files
            .keys()
            .map(|f| shown(f).chars().count())
            .max()
            .unwrap_or(0);
        for (file, lines) in &self.files {
            let hit = lines.values().filter(|&&h| h > 0).count();
            all_hit += hit;
            all_lines += lines.len();
            let missed = ranges(lines.iter().filter(|(_, &h)| h == 0).map(|(&l, _)| l));
            let _ = write!(
                out,
                "  {:<width$}  {:>4}/{:<4} {:>5.1}%",
                shown(file),
                hit,
                lines.len(),
                percent(hit, lines.len())
            );
            if !missed.is_empty() {
                let _ = write!(out, "  not run: {missed}");
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "  total: {all_hit}/{all_lines} lines ({:.1}%)",
            percent(all_hit, all_lines)
        );
        out
    }

    /// LCOV, which editors and CI coverage services read: one record per file.
    pub fn lcov(&self) -> String {
        let mut out = String::new();
        for (file, lines) in &self.files {
            let _ = writeln!(out, "TN:\nSF:{}", shown(file));
            for (line, hits) in lines {
                let _ = writeln!(out, "DA:{line},{hits}");
            }
            let hit = lines.values().filter(|&&h| h > 0).count();
            let _ = writeln!(out, "LF:{}\nLH:{hit}\nend_of_record", lines.len());
        }
        out
    }
}

fn shown(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// `3, 7-9, 12` from sorted line numbers.
fn ranges(lines: impl Iterator<Item = u32>) -> String {
    let mut spans: Vec<(u32, u32)> = Vec::new();
    for line in lines {
        match spans.last_mut() {
            Some((_, end)) if *end + 1 == line => *end = line,
            _ => spans.push((line, line)),
        }
    }
    spans
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_render_as_lcov_and_a_summary() {
        let mut c = Coverage::default();
        let file = PathBuf::from("rules/a.lua");
        c.merge(BTreeMap::from([(
            file.clone(),
            BTreeMap::from([(1, 1), (2, 0), (3, 0), (5, 2)]),
        )]));
        c.merge(BTreeMap::from([(file, BTreeMap::from([(2, 1), (7, 0)]))]));
        assert_eq!(
            c.lcov(),
            "TN:\nSF:rules/a.lua\nDA:1,1\nDA:2,1\nDA:3,0\nDA:5,2\nDA:7,0\nLF:5\nLH:3\nend_of_record\n"
        );
        assert!(
            c.summary()
                .contains("rules/a.lua     3/5     60.0%  not run: 3, 7"),
            "{}",
            c.summary()
        );
    }
}
