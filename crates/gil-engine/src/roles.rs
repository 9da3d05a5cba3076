//! What / How / Why: who does what in each project, and the checks a project manager
//! reads. Government presents the What, industry finds the How, everyone shares the Why.

use std::collections::{BTreeMap, BTreeSet};

use gil_model::{FlowKind, Scenario, PUBLIC_ACTOR_KINDS};
use gil_rules::{Level, Role};
use serde::Serialize;

use crate::outcome::{Finding, RuleRole, TargetLine};
use crate::trace::Trace;

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProjectRoles {
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Everyone taking part, What owner first, then How actors, then the rest; each
    /// with the roles held and the project's flows over the horizon.
    pub participants: Vec<Participant>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Participant {
    pub actor: String,
    pub kind: String,
    pub roles: Vec<Role>,
    /// Goal (What), means (How) or reason (Why), as written or given by rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contributions: Vec<String>,
    /// Where each role comes from: `scenario` or `rule <id> at file:line`.
    pub from: Vec<String>,
    pub flows: ProjectFlows,
}

/// An actor's flows tagged with the project, over the whole horizon.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProjectFlows {
    pub money_in: f64,
    pub money_out: f64,
    pub gpu_hours_in: f64,
    pub gpu_hours_out: f64,
    /// The largest power flow in any one step, MW.
    pub peak_mw: f64,
}

impl ProjectFlows {
    fn any(&self) -> bool {
        self.money_in != 0.0
            || self.money_out != 0.0
            || self.gpu_hours_in != 0.0
            || self.gpu_hours_out != 0.0
            || self.peak_mw != 0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// Stable id, e.g. `what.single_owner`.
    pub id: String,
    pub name: String,
    pub status: Status,
    pub message: String,
    /// For checks a rule added: `rule <id> at file:line`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

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

/// What one actor holds in a project while the breakdown is assembled.
#[derive(Default)]
struct Held {
    roles: BTreeSet<Role>,
    contributions: Vec<String>,
    from: Vec<String>,
}

pub(crate) fn build(
    s: &Scenario,
    trace: &Trace,
    rule_roles: &[RuleRole],
    targets: &[TargetLine],
    findings: &[Finding],
) -> Vec<ProjectRoles> {
    let kind_of = |id: &str| {
        s.actor(id)
            .map(|a| a.kind.value.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for p in &s.projects {
        let pid = p.id.value.as_str();
        // actor → (roles, contributions, sources), in first-seen order.
        let mut order: Vec<String> = Vec::new();
        let mut held: BTreeMap<String, Held> = BTreeMap::new();
        let mut add =
            |actor: &str, role: Option<Role>, contribution: Option<String>, from: String| {
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
        let project_rule_roles: Vec<&RuleRole> =
            rule_roles.iter().filter(|r| r.project == pid).collect();
        for r in &project_rule_roles {
            add(
                &r.actor,
                Some(r.role),
                r.note.clone(),
                format!("rule {} at {}", r.rule, r.at),
            );
        }

        // The project's flows per actor over the horizon.
        let mut flows: BTreeMap<&str, ProjectFlows> = BTreeMap::new();
        for step in &trace.steps {
            let mut peak: BTreeMap<&str, f64> = BTreeMap::new();
            for f in step
                .flows
                .iter()
                .filter(|f| f.project.as_deref() == Some(pid) && f.amount != 0.0)
            {
                match f.kind {
                    FlowKind::Funding => {
                        flows.entry(&f.from).or_default().money_out += f.amount;
                        flows.entry(&f.to).or_default().money_in += f.amount;
                    }
                    FlowKind::Compute => {
                        flows.entry(&f.from).or_default().gpu_hours_out += f.amount;
                        flows.entry(&f.to).or_default().gpu_hours_in += f.amount;
                    }
                    FlowKind::Power => {
                        *peak.entry(&f.to).or_insert(0.0) += f.amount;
                    }
                }
            }
            for (actor, mw) in peak {
                let e = flows.entry(actor).or_default();
                e.peak_mw = e.peak_mw.max(mw);
            }
        }
        // Assets count for their owner: a cluster's GPU-hours are its owner's work.
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
        let participants: Vec<Participant> = ordered
            .iter()
            .map(|a| {
                let h = &held[a];
                Participant {
                    actor: a.clone(),
                    kind: kind_of(a),
                    roles: h.roles.iter().copied().collect(),
                    contributions: h.contributions.clone(),
                    from: h.from.clone(),
                    flows: by_actor.get(a).cloned().unwrap_or_default(),
                }
            })
            .collect();

        let with = |role: Role| -> Vec<&str> {
            participants
                .iter()
                .filter(|x| x.roles.contains(&role))
                .map(|x| x.actor.as_str())
                .collect()
        };
        let whats = with(Role::What);
        let hows = with(Role::How);
        let mut checks = Vec::new();

        checks.push(match whats.as_slice() {
            [one] => check(
                CheckId::WhatSingleOwner,
                Status::Pass,
                format!("`{one}` owns the What"),
            ),
            [] => check(
                CheckId::WhatSingleOwner,
                Status::Fail,
                "no actor owns the What".into(),
            ),
            many => check(
                CheckId::WhatSingleOwner,
                Status::Fail,
                format!(
                    "{} actors claim the What ({}): one owner must present the goal",
                    many.len(),
                    list(many)
                ),
            ),
        });

        let private_whats: Vec<&str> = whats
            .iter()
            .copied()
            .filter(|a| !PUBLIC_ACTOR_KINDS.contains(&kind_of(a).as_str()))
            .collect();
        checks.push(match (&private_whats[..], &p.what.private_ok) {
            ([], _) => check(CheckId::WhatPublicOwner, Status::Pass, format!("the What is presented by the public side ({})", list(&whats))),
            (_, Some(reason)) => check(CheckId::WhatPublicOwner, Status::Pass, format!("a private What owner is accepted: {reason}")),
            (private, None) => check(CheckId::WhatPublicOwner,
                Status::Fail,
                format!(
                    "{} is not public ({}); government presents the What — or say why not with `what: {{ private_ok: <reason> }}`",
                    list(private),
                    private.iter().map(|a| kind_of(a)).collect::<Vec<_>>().join(", ")
                ),
            ),
        });

        checks.push(if hows.is_empty() {
            check(
                CheckId::HowPresent,
                Status::Fail,
                "nobody holds the How: name the executors under `how:`".into(),
            )
        } else {
            check(
                CheckId::HowPresent,
                Status::Pass,
                format!(
                    "{}: {}",
                    plural(hows.len(), "How actor", "How actors"),
                    list(&hows)
                ),
            )
        });

        let public_hows: Vec<&str> = hows
            .iter()
            .copied()
            .filter(|a| PUBLIC_ACTOR_KINDS.contains(&kind_of(a).as_str()))
            .collect();
        checks.push(match (&public_hows[..], &p.public_how) {
            ([], _) => check(CheckId::HowPrivate, Status::Pass, "the How is found by private or academic actors".into()),
            (_, Some(reason)) => check(CheckId::HowPrivate, Status::Pass, format!("public How actors are accepted: {reason}")),
            (public, None) => check(CheckId::HowPrivate,
                Status::Warn,
                format!(
                    "{} is public: a public executor risks crowding out private firms (say why with `public_how: <reason>`)",
                    list(public)
                ),
            ),
        });

        let rule_why: Vec<&&RuleRole> = project_rule_roles
            .iter()
            .filter(|r| r.role == Role::Why)
            .collect();
        let why = p.why.as_ref().map(|w| w.value.clone());
        let engaged: Vec<&str> = participants.iter().map(|x| x.actor.as_str()).collect();
        checks.push(match (&why, rule_why.is_empty()) {
            (Some(w), _) if !w.trim().is_empty() => check(CheckId::WhyShared,
                Status::Pass,
                match engaged.len() {
                    1 => "the Why is stated once for the project and shared by its one participant".to_string(),
                    n => format!("the Why is stated once for the project and shared by all {n} participants"),
                },
            ),
            (_, false) => check(CheckId::WhyShared, Status::Warn, "only rules give a Why, actor by actor; state one Why for the whole project under `why:`".into()),
            _ => check(CheckId::WhyShared, Status::Fail, "the project has no Why: state the shared rationale under `why:`".into()),
        });

        let paper: Vec<&str> = hows
            .iter()
            .copied()
            .filter(|a| by_actor.get(*a).is_none_or(|f| !f.any()))
            .collect();
        checks.push(if paper.is_empty() {
            check(CheckId::HowNoPaperRoles, Status::Pass, "every How actor has a flow tagged with the project".into())
        } else {
            check(CheckId::HowNoPaperRoles,
                Status::Fail,
                format!(
                    "{} {} the How but no flow tagged `project: {pid}` moves to or from them in any step",
                    list(&paper),
                    if paper.len() == 1 { "holds" } else { "hold" }
                ),
            )
        });

        let both: Vec<&str> = whats.iter().copied().filter(|a| hows.contains(a)).collect();
        checks.push(if both.is_empty() {
            check(CheckId::RolesWhatNotHow, Status::Pass, "What and How are held by different actors".into())
        } else {
            check(CheckId::RolesWhatNotHow, Status::Fail, format!("{} holds both What and How: who sets the goal must not also be who delivers it", list(&both)))
        });

        let project_targets: Vec<&TargetLine> =
            targets.iter().filter(|t| t.project == pid).collect();
        checks.push(if project_targets.is_empty() {
            check(
                CheckId::TargetsMet,
                Status::Warn,
                "the project sets no target, so success cannot be checked".into(),
            )
        } else {
            let missed: Vec<String> = project_targets
                .iter()
                .filter(|t| !t.met)
                .map(|t| match t.first_met {
                    Some(y) if y > t.by => format!("`{}` by {} (met {y})", t.metric, t.by),
                    _ => format!("`{}` by {}", t.metric, t.by),
                })
                .collect();
            if missed.is_empty() {
                check(
                    CheckId::TargetsMet,
                    Status::Pass,
                    match project_targets.len() {
                        1 => "the target is met".to_string(),
                        n => format!("all {n} targets met"),
                    },
                )
            } else {
                check(
                    CheckId::TargetsMet,
                    Status::Fail,
                    format!("missed: {}", missed.join("; ")),
                )
            }
        });

        // Checks that rules add in on_project: findings about this project.
        for f in findings
            .iter()
            .filter(|f| f.rule.is_some() && f.subject.as_deref() == Some(pid))
        {
            let status = match f.level {
                Level::Error => Status::Fail,
                Level::Warn => Status::Warn,
                Level::Info => Status::Pass,
            };
            let year = f.step.map(|y| format!(" ({y})")).unwrap_or_default();
            checks.push(Check {
                id: f.code.clone(),
                name: f.code.clone(),
                status,
                message: format!("{}{year}", f.message),
                from: Some(format!(
                    "rule {} at {}",
                    f.rule.clone().unwrap_or_default(),
                    f.at.clone().unwrap_or_default()
                )),
            });
        }

        out.push(ProjectRoles {
            project: pid.to_string(),
            title: p.title.clone(),
            goal: p.what.goal.clone(),
            why,
            participants,
            checks,
        });
    }
    out
}

/// `n thing` or `n things`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
