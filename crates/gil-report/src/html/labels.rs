//! What the page calls actors and assets: their `name` where the scenario gives one
//! (the Korean ministries keep their Korean names), else their id; cut to fit beside a
//! Sankey node, with the full name and the id in the hover text.

use std::collections::BTreeMap;

use gil_model::Scenario;

/// Display width a Sankey label may take, in half-width columns (a Hangul or CJK
/// character counts two).
const LABEL_COLUMNS: usize = 34;

pub(super) struct Labels {
    names: BTreeMap<String, String>,
    boundary: std::collections::BTreeSet<String>,
}

impl Labels {
    pub(super) fn new(s: &Scenario) -> Self {
        let mut names = BTreeMap::new();
        for a in &s.actors {
            if let Some(name) = &a.name {
                names.insert(a.id.value.clone(), name.clone());
            }
        }
        for a in &s.assets {
            if let Some(name) = &a.name {
                names.insert(a.id.value.clone(), name.clone());
            }
        }
        let boundary = s
            .actors
            .iter()
            .filter(|a| a.kind.value == "boundary")
            .map(|a| a.id.value.clone())
            .collect();
        Labels { names, boundary }
    }

    /// The entity's name, or its id when it has none (and for "other" nodes).
    pub(super) fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// The name cut to fit beside a node.
    pub(super) fn short(&self, id: &str) -> String {
        fit(self.name(id), LABEL_COLUMNS)
    }

    /// `Name (id)`, or the id alone when the entity has no name.
    pub(super) fn full(&self, id: &str) -> String {
        match self.names.get(id) {
            Some(name) if name != id => format!("{name} ({id})"),
            _ => id.to_string(),
        }
    }

    /// Whether `id` is an actor of kind `boundary`.
    pub(super) fn is_boundary(&self, id: &str) -> bool {
        self.boundary.contains(id)
    }
}

/// `text` cut to `columns` display columns, with an ellipsis when cut.
fn fit(text: &str, columns: usize) -> String {
    let width = |c: char| if is_wide(c) { 2 } else { 1 };
    if text.chars().map(width).sum::<usize>() <= columns {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + width(c) > columns - 1 {
            break;
        }
        used += width(c);
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Hangul, CJK and full-width forms take two columns.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn long_names_are_cut_by_display_width() {
        assert_eq!(fit("NVIDIA", 34), "NVIDIA");
        assert_eq!(
            fit("과학기술정보통신부 (Ministry of Science and ICT)", 20),
            "과학기술정보통신부…"
        );
        assert_eq!(fit("abcdefghij", 5), "abcd…");
    }
}
