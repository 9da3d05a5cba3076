//! `gil roles`: What / How / Why per project, with its participants and checks, for the
//! terminal or a wiki page.

use std::fmt::Write;

use gil_engine::outcome::ProjectRoles;
use gil_rules::Role;

use super::{status_text, Table};
use crate::human;

/// What / How / Why per project, with its checks: for the terminal or a wiki page.
pub fn roles_text(
    projects: &[ProjectRoles],
    currency: &str,
    markdown: bool,
    color: bool,
) -> String {
    let mut out = String::new();
    for p in projects {
        let title = p
            .title
            .as_deref()
            .map(|t| format!(" — {t}"))
            .unwrap_or_default();
        if markdown {
            markdown_heading(&mut out, p, &title);
        } else {
            text_heading(&mut out, p, &title);
        }
        out.push_str(&participants_table(p, currency).render(markdown));
        if markdown {
            out.push('\n');
        } else {
            out.push_str("\n  checks\n");
        }
        out.push_str(&checks_table(p, markdown, color).render(markdown));
        if markdown {
            out.push('\n');
        }
    }
    out
}

/// The project as a markdown heading, then its What, How and Why lines.
fn markdown_heading(out: &mut String, p: &ProjectRoles, title: &str) {
    let _ = writeln!(out, "## `{}`{title}\n", p.project);
    if let Some(goal) = &p.goal {
        let _ = writeln!(out, "**What:** {goal}  ");
    }
    let how: Vec<&str> = p
        .participants
        .iter()
        .filter(|x| x.roles.contains(&Role::How))
        .map(|x| x.actor.as_str())
        .collect();
    let _ = writeln!(
        out,
        "**How:** {}  ",
        if how.is_empty() {
            "nobody yet".to_string()
        } else {
            how.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "**Why:** {}\n",
        p.why.as_deref().unwrap_or("(not stated)")
    );
}

/// The project's id and title, then its What and Why; the table below shows How.
fn text_heading(out: &mut String, p: &ProjectRoles, title: &str) {
    let _ = writeln!(out, "\n{}{title}", p.project);
    if let Some(goal) = &p.goal {
        let _ = writeln!(out, "  What: {goal}");
    }
    let _ = writeln!(
        out,
        "  Why:  {}",
        p.why.as_deref().unwrap_or("(not stated)")
    );
}

/// One row per participant: its roles, what it contributes, and its money, compute and
/// power over the horizon (`–` for none).
fn participants_table(p: &ProjectRoles, currency: &str) -> Table {
    let money = format!("money in / out ({currency})");
    let mut t = Table::new(&[
        "role",
        "actor",
        "kind",
        "contribution",
        &money,
        "GPU-hours in / out",
        "peak MW",
    ])
    .right_align(&[4, 5, 6]);
    for x in &p.participants {
        let pair = |a: f64, b: f64| {
            if a == 0.0 && b == 0.0 {
                "–".to_string()
            } else {
                format!("{} / {}", human(a), human(b))
            }
        };
        t.row(vec![
            role_names(&x.roles),
            x.actor.clone(),
            x.kind.clone(),
            x.contributions.join("; "),
            pair(x.flows.money_in, x.flows.money_out),
            pair(x.flows.gpu_hours_in, x.flows.gpu_hours_out),
            if x.flows.peak_mw == 0.0 {
                "–".into()
            } else {
                human(x.flows.peak_mw)
            },
        ]);
    }
    t
}

/// Every check of the project with its status and reason (and the rule it came from).
fn checks_table(p: &ProjectRoles, markdown: bool, color: bool) -> Table {
    let mut c = Table::new(&["check", "status", "why"]);
    for check in &p.checks {
        let mut message = check.message.clone();
        if let Some(from) = &check.from {
            let _ = write!(message, " [{from}]");
        }
        c.row(vec![
            check.id.clone(),
            status_text(check.status, markdown, color),
            message,
        ]);
    }
    c
}

/// `What + How`, or `participant` for an actor taking part without a role.
pub(super) fn role_names(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "participant".into();
    }
    roles
        .iter()
        .map(|r| match r {
            Role::What => "What",
            Role::How => "How",
            Role::Why => "Why",
        })
        .collect::<Vec<_>>()
        .join(" + ")
}
