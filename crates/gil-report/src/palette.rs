//! The colours every picture uses (DOT, Mermaid, the HTML report's SVG and CSS), so a
//! kind of flow looks the same everywhere.

use gil_model::FlowKind;

/// The colour of a kind of flow.
pub fn kind_color(kind: FlowKind) -> &'static str {
    match kind {
        FlowKind::Funding => "#1f77b4",
        FlowKind::Compute => "#2ca02c",
        FlowKind::Power => "#ff7f0e",
    }
}

/// Money that goes round a loop (circular financing).
pub const LOOP: &str = "#d62728";
/// Nodes, axes and the baseline series.
pub const INK: &str = "#14213d";
/// Labels and secondary text.
pub const MUTED: &str = "#5b6475";
