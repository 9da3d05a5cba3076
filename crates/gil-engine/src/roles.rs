//! What / How / Why: who does what in each project, and the checks a project manager
//! reads. Government presents the What, industry finds the How, everyone shares the Why.
//!
//! The document types live with the outcome; this module computes them: the
//! participants of each project, their flows in it, and one function per check.

use std::collections::{BTreeMap, BTreeSet};

use gil_model::{FlowKind, Located, Project, Scenario, PUBLIC_ACTOR_KINDS};
use gil_rules::{Level, Role};

use crate::outcome::{
    Check, Finding, Participant, ProjectFlows, ProjectRoles, RuleRole, Status, TargetLine,
};
use crate::trace::Trace;

/// The built-in role checks. Each has a stable id (what outcomes, snapshots and
/// `gil test` files name) and a short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    WhatSingleOwner,
    WhatPublicOwner,
    HowPresent,
    HowPrivate,
    WhyShared,
    HowNoPaperRoles,
    RolesWhatNotHow,
    TargetsMet,
}

impl CheckId {
    /// Every built-in check, in the order a project lists them.
    pub const ALL: [CheckId; 8] = [
        CheckId::WhatSingleOwner,
        CheckId::WhatPublicOwner,
        CheckId::HowPresent,
        CheckId::HowPrivate,
        CheckId::WhyShared,
        CheckId::HowNoPaperRoles,
        CheckId::RolesWhatNotHow,
        CheckId::TargetsMet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::WhatSingleOwner => "what.single_owner",
            CheckId::WhatPublicOwner => "what.public_owner",
            CheckId::HowPresent => "how.present",
            CheckId::HowPrivate => "how.private",
            CheckId::WhyShared => "why.shared",
            CheckId::HowNoPaperRoles => "how.no_paper_roles",
            CheckId::RolesWhatNotHow => "roles.what_not_how",
            CheckId::TargetsMet => "targets.met",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CheckId::WhatSingleOwner => "exactly one What owner",
            CheckId::WhatPublicOwner => "the What owner is public",
            CheckId::HowPresent => "at least one How actor",
            CheckId::HowPrivate => "How actors are private or academic",
            CheckId::WhyShared => "a Why shared by every participant",
            CheckId::HowNoPaperRoles => "every How actor has a flow in the project",
            CheckId::RolesWhatNotHow => "no actor holds both What and How",
            CheckId::TargetsMet => "the project's targets are met",
        }
    }
}

impl CheckId {
    /// Runs the check on one project (an exhaustive match: every id has its function).
    fn run(self, view: &ProjectView<'_>) -> Check {
        match self {
            CheckId::WhatSingleOwner => what_single_owner(view),
            CheckId::WhatPublicOwner => what_public_owner(view),
            CheckId::HowPresent => how_present(view),
            CheckId::HowPrivate => how_private(view),
            CheckId::WhyShared => why_shared(view),
            CheckId::HowNoPaperRoles => how_no_paper_roles(view),
            CheckId::RolesWhatNotHow => roles_what_not_how(view),
            CheckId::TargetsMet => targets_met(view),
        }
    }
}

fn check(id: CheckId, status: Status, message: String) -> Check {
    Check {
        id: id.as_str().into(),
        name: id.name().into(),
        status,
        message,
        from: None,
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n thing` or `n things`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The role breakdown of every project.
pub(crate) fn build(
    s: &Scenario,
    trace: &Trace,
    rule_roles: &[RuleRole],
    targets: &[TargetLine],
    findings: &[Finding],
) -> Vec<ProjectRoles> {
    s.projects
        .iter()
        .map(|p| {
            let pid = p.id.value.as_str();
            let rule_roles: Vec<&RuleRole> =
                rule_roles.iter().filter(|r| r.project == pid).collect();
            let flows = flows_by_actor(s, trace, pid);
            let view = ProjectView {
                scenario: s,
                project: p,
                participants: participants(s, p, &rule_roles, &flows),
                flows,
                rule_roles,
                targets: targets.iter().filter(|t| t.project == pid).collect(),
            };
            let mut checks: Vec<Check> = CheckId::ALL.iter().map(|id| id.run(&view)).collect();
            checks.extend(rule_checks(findings, pid));
            ProjectRoles {
                project: pid.to_string(),
                title: p.title.clone(),
                goal: p.what.goal.clone(),
                why: p.why.as_ref().map(|w| w.value.clone()),
                participants: view.participants,
                checks,
            }
        })
        .collect()
}

/// What the checks read about one project.
struct ProjectView<'a> {
    scenario: &'a Scenario,
    project: &'a Located<Project>,
    /// What owner first, How actors next, the others after.
    participants: Vec<Participant>,
    /// The project's flows per actor over the horizon (assets count for their owner).
    flows: BTreeMap<String, ProjectFlows>,
    rule_roles: Vec<&'a RuleRole>,
    targets: Vec<&'a TargetLine>,
}

impl ProjectView<'_> {
    fn holding(&self, role: Role) -> Vec<&str> {
        self.participants
            .iter()
            .filter(|x| x.roles.contains(&role))
            .map(|x| x.actor.as_str())
            .collect()
    }

    fn kind_of(&self, id: &str) -> String {
        kind_of(self.scenario, id)
    }

    fn is_public(&self, id: &str) -> bool {
        PUBLIC_ACTOR_KINDS.contains(&self.kind_of(id).as_str())
    }
}

fn kind_of(s: &Scenario, id: &str) -> String {
    s.actor(id)
        .map(|a| a.kind.value.clone())
        .unwrap_or_default()
}

/// What one actor holds in a project while the breakdown is assembled.
#[derive(Default)]
struct Held {
    roles: BTreeSet<Role>,
    contributions: Vec<String>,
    from: Vec<String>,
}

/// Everyone taking part, from the scenario and from rules, with the roles they hold.
fn participants(
    s: &Scenario,
    p: &Located<Project>,
    rule_roles: &[&RuleRole],
    flows: &BTreeMap<String, ProjectFlows>,
) -> Vec<Participant> {
    // actor → (roles, contributions, sources), in first-seen order.
    let mut order: Vec<String> = Vec::new();
    let mut held: BTreeMap<String, Held> = BTreeMap::new();
    let mut add = |actor: &str, role: Option<Role>, contribution: Option<String>, from: String| {
        if !held.contains_key(actor) {
            order.push(actor.to_string());
        }
        let e = held.entry(actor.to_string()).or_default();
        if let Some(r) = role {
            e.roles.insert(r);
        }
        if let Some(c) = contribution.filter(|c| !e.contributions.contains(c)) {
            e.contributions.push(c);
        }
        if !e.from.contains(&from) {
            e.from.push(from);
        }
    };
    add(
        &p.what.owner.value,
        Some(Role::What),
        p.what.goal.clone(),
        "scenario".into(),
    );
    for h in &p.how {
        add(
            &h.actor.value,
            Some(Role::How),
            h.means.clone(),
            "scenario".into(),
        );
    }
    for part in &p.participants {
        add(&part.value, None, None, "scenario".into());
    }
    for r in rule_roles {
        add(
            &r.actor,
            Some(r.role),
            r.note.clone(),
            format!("rule {} at {}", r.rule, r.at),
        );
    }
    // What owner first, How actors next, others after, each group in first-seen order.
    let rank = |a: &String| {
        let roles = &held[a].roles;
        if roles.contains(&Role::What) {
            0
        } else if roles.contains(&Role::How) {
            1
        } else {
            2
        }
    };
    let mut ordered = order.clone();
    ordered.sort_by_key(|a| (rank(a), order.iter().position(|o| o == a)));
    ordered
        .iter()
        .map(|a| {
            let h = &held[a];
            Participant {
                actor: a.clone(),
                kind: kind_of(s, a),
                roles: h.roles.iter().copied().collect(),
                contributions: h.contributions.clone(),
                from: h.from.clone(),
                flows: flows.get(a).cloned().unwrap_or_default(),
            }
        })
        .collect()
}

/// The flows tagged with project `pid`, per actor over the horizon: money and compute
/// summed, power at its peak step; an asset's flows count for its owner.
fn flows_by_actor(s: &Scenario, trace: &Trace, pid: &str) -> BTreeMap<String, ProjectFlows> {
    let names = &trace.names;
    let Some(pid) = names.get(pid) else {
        return BTreeMap::new();
    };
    let mut flows: BTreeMap<&str, ProjectFlows> = BTreeMap::new();
    for step in &trace.steps {
        let mut peak: BTreeMap<&str, f64> = BTreeMap::new();
        for f in step
            .flows
            .iter()
            .filter(|f| f.project == Some(pid) && f.amount != 0.0)
        {
            let (from, to) = (names.name(f.from), names.name(f.to));
            match f.kind {
                FlowKind::Funding => {
                    flows.entry(from).or_default().money_out += f.amount;
                    flows.entry(to).or_default().money_in += f.amount;
                }
                FlowKind::Compute => {
                    flows.entry(from).or_default().gpu_hours_out += f.amount;
                    flows.entry(to).or_default().gpu_hours_in += f.amount;
                }
                FlowKind::Power => {
                    *peak.entry(to).or_insert(0.0) += f.amount;
                }
            }
        }
        for (actor, mw) in peak {
            let e = flows.entry(actor).or_default();
            e.peak_mw = e.peak_mw.max(mw);
        }
    }
    let mut by_actor: BTreeMap<String, ProjectFlows> = BTreeMap::new();
    for (id, f) in &flows {
        let owner = s
            .asset(id)
            .and_then(|a| a.owner.as_ref().map(|o| o.value.clone()))
            .unwrap_or_else(|| id.to_string());
        let e = by_actor.entry(owner).or_default();
        e.money_in += f.money_in;
        e.money_out += f.money_out;
        e.gpu_hours_in += f.gpu_hours_in;
        e.gpu_hours_out += f.gpu_hours_out;
        e.peak_mw = e.peak_mw.max(f.peak_mw);
    }
    by_actor
}

fn what_single_owner(view: &ProjectView<'_>) -> Check {
    let id = CheckId::WhatSingleOwner;
    match view.holding(Role::What).as_slice() {
        [one] => check(id, Status::Pass, format!("`{one}` owns the What")),
        [] => check(id, Status::Fail, "no actor owns the What".into()),
        many => check(
            id,
            Status::Fail,
            format!(
                "{} actors claim the What ({}): one owner must present the goal",
                many.len(),
                list(many)
            ),
        ),
    }
}

fn what_public_owner(view: &ProjectView<'_>) -> Check {
    let id = CheckId::WhatPublicOwner;
    let whats = view.holding(Role::What);
    let private: Vec<&str> = whats
        .iter()
        .copied()
        .filter(|a| !view.is_public(a))
        .collect();
    match (&private[..], &view.project.what.private_ok) {
        ([], _) => check(
            id,
            Status::Pass,
            format!("the What is presented by the public side ({})", list(&whats)),
        ),
        (_, Some(reason)) => check(
            id,
            Status::Pass,
            format!("a private What owner is accepted: {reason}"),
        ),
        (private, None) => check(
            id,
            Status::Fail,
            format!(
                "{} is not public ({}); government presents the What — or say why not with `what: {{ private_ok: <reason> }}`",
                list(private),
                private.iter().map(|a| view.kind_of(a)).collect::<Vec<_>>().join(", ")
            ),
        ),
    }
}

fn how_present(view: &ProjectView<'_>) -> Check {
    let id = CheckId::HowPresent;
    let hows = view.holding(Role::How);
    if hows.is_empty() {
        check(
            id,
            Status::Fail,
            "nobody holds the How: name the executors under `how:`".into(),
        )
    } else {
        check(
            id,
            Status::Pass,
            format!(
                "{}: {}",
                plural(hows.len(), "How actor", "How actors"),
                list(&hows)
            ),
        )
    }
}

fn how_private(view: &ProjectView<'_>) -> Check {
    let id = CheckId::HowPrivate;
    let public: Vec<&str> = view
        .holding(Role::How)
        .into_iter()
        .filter(|a| view.is_public(a))
        .collect();
    match (&public[..], &view.project.public_how) {
        ([], _) => check(
            id,
            Status::Pass,
            "the How is found by private or academic actors".into(),
        ),
        (_, Some(reason)) => check(
            id,
            Status::Pass,
            format!("public How actors are accepted: {reason}"),
        ),
        (public, None) => check(
            id,
            Status::Warn,
            format!(
                "{} is public: a public executor risks crowding out private firms (say why with `public_how: <reason>`)",
                list(public)
            ),
        ),
    }
}

fn why_shared(view: &ProjectView<'_>) -> Check {
    let id = CheckId::WhyShared;
    let rules_give_why = view.rule_roles.iter().any(|r| r.role == Role::Why);
    let why = view.project.why.as_ref().map(|w| w.value.as_str());
    match why {
        Some(w) if !w.trim().is_empty() => check(
            id,
            Status::Pass,
            match view.participants.len() {
                1 => "the Why is stated once for the project and shared by its one participant"
                    .to_string(),
                n => format!(
                    "the Why is stated once for the project and shared by all {n} participants"
                ),
            },
        ),
        _ if rules_give_why => check(
            id,
            Status::Warn,
            "only rules give a Why, actor by actor; state one Why for the whole project under `why:`".into(),
        ),
        _ => check(
            id,
            Status::Fail,
            "the project has no Why: state the shared rationale under `why:`".into(),
        ),
    }
}

fn how_no_paper_roles(view: &ProjectView<'_>) -> Check {
    let id = CheckId::HowNoPaperRoles;
    let paper: Vec<&str> = view
        .holding(Role::How)
        .into_iter()
        .filter(|a| view.flows.get(*a).is_none_or(|f| !f.any()))
        .collect();
    if paper.is_empty() {
        check(
            id,
            Status::Pass,
            "every How actor has a flow tagged with the project".into(),
        )
    } else {
        check(
            id,
            Status::Fail,
            format!(
                "{} {} the How but no flow tagged `project: {}` moves to or from them in any step",
                list(&paper),
                if paper.len() == 1 { "holds" } else { "hold" },
                view.project.id.value
            ),
        )
    }
}

fn roles_what_not_how(view: &ProjectView<'_>) -> Check {
    let id = CheckId::RolesWhatNotHow;
    let hows = view.holding(Role::How);
    let both: Vec<&str> = view
        .holding(Role::What)
        .into_iter()
        .filter(|a| hows.contains(a))
        .collect();
    if both.is_empty() {
        check(
            id,
            Status::Pass,
            "What and How are held by different actors".into(),
        )
    } else {
        check(
            id,
            Status::Fail,
            format!(
                "{} holds both What and How: who sets the goal must not also be who delivers it",
                list(&both)
            ),
        )
    }
}

fn targets_met(view: &ProjectView<'_>) -> Check {
    let id = CheckId::TargetsMet;
    if view.targets.is_empty() {
        return check(
            id,
            Status::Warn,
            "the project sets no target, so success cannot be checked".into(),
        );
    }
    let missed: Vec<String> = view
        .targets
        .iter()
        .filter(|t| !t.met)
        .map(|t| match t.first_met {
            Some(y) if y > t.by => format!("`{}` by {} (met {y})", t.metric, t.by),
            _ => format!("`{}` by {}", t.metric, t.by),
        })
        .collect();
    if missed.is_empty() {
        check(
            id,
            Status::Pass,
            match view.targets.len() {
                1 => "the target is met".to_string(),
                n => format!("all {n} targets met"),
            },
        )
    } else {
        check(id, Status::Fail, format!("missed: {}", missed.join("; ")))
    }
}

/// Checks rules add: findings a rule reported about the project.
fn rule_checks<'a>(findings: &'a [Finding], pid: &'a str) -> impl Iterator<Item = Check> + 'a {
    findings
        .iter()
        .filter(move |f| f.rule.is_some() && f.subject.as_deref() == Some(pid))
        .map(|f| {
            let status = match f.level {
                Level::Error => Status::Fail,
                Level::Warn => Status::Warn,
                Level::Info => Status::Pass,
            };
            let year = f.step.map(|y| format!(" ({y})")).unwrap_or_default();
            Check {
                id: f.code.clone(),
                name: f.code.clone(),
                status,
                message: format!("{}{year}", f.message),
                from: Some(format!(
                    "rule {} at {}",
                    f.rule.clone().unwrap_or_default(),
                    f.at.clone().unwrap_or_default()
                )),
            }
        })
}
