//! `Table`: rows of cells rendered as aligned columns (CJK-width and colour aware) or
//! as a markdown table.

use std::fmt::Write;

/// A table rendered as aligned columns or as a markdown table.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns aligned right (numbers).
    pub right: Vec<bool>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            right: vec![false; header.len()],
        }
    }

    pub fn right_align(mut self, columns: &[usize]) -> Self {
        for &c in columns {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, markdown: bool) -> String {
        if markdown {
            self.render_markdown()
        } else {
            self.render_aligned()
        }
    }

    /// A markdown table; `|` in cells is escaped, right-aligned columns say so in the
    /// separator row.
    fn render_markdown(&self) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} |",
            self.header
                .iter()
                .map(|h| esc(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let seps: Vec<&str> = self
            .right
            .iter()
            .map(|r| if *r { "---:" } else { "---" })
            .collect();
        let _ = writeln!(
            out,
            "|{}|",
            seps.iter()
                .map(|s| format!(" {s} "))
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} |",
                row.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        out
    }

    /// Columns padded to their widest cell (in terminal columns), indented two spaces,
    /// with a rule under the header.
    fn render_aligned(&self) -> String {
        let mut out = String::new();
        let width = display_width;
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(c));
                }
            }
        }
        let line = |cells: &[String], out: &mut String| {
            let mut parts = Vec::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(width(c));
                if self.right.get(i).copied().unwrap_or(false) {
                    parts.push(format!("{}{c}", " ".repeat(pad)));
                } else {
                    parts.push(format!("{c}{}", " ".repeat(pad)));
                }
            }
            let _ = writeln!(out, "  {}", parts.join("  ").trim_end());
        };
        line(&self.header, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        line(&rule, &mut out);
        for row in &self.rows {
            line(row, &mut out);
        }
        out
    }
}

/// Terminal columns a cell takes: wide characters count two, and colour escape
/// sequences (`ESC [ … m`) none, so coloured tables align like plain ones.
pub fn display_width(s: &str) -> usize {
    let mut width = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip the CSI sequence up to and including its final byte.
            for next in chars.by_ref() {
                if ('@'..='~').contains(&next) && next != '[' {
                    break;
                }
            }
            continue;
        }
        width += char_width(c);
    }
    width
}

/// Terminal cells: East Asian wide characters (Hangul, CJK) take two columns.
fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = (0x1100..=0x115F).contains(&u)
        || (0x2E80..=0xA4CF).contains(&u)
        || (0xAC00..=0xD7A3).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFE30..=0xFE4F).contains(&u)
        || (0xFF00..=0xFF60).contains(&u)
        || (0xFFE0..=0xFFE6).contains(&u);
    if wide {
        2
    } else {
        1
    }
}
