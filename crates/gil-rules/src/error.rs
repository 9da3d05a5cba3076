//! Rule errors: always the rule's file (and line where known) and, once the rule's
//! table has been read, its id.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleErrorKind {
    /// A rule file or folder could not be read.
    Io,
    Syntax,
    /// The rule table is malformed (missing id, unknown field, bad `select`, …).
    Metadata,
    DuplicateId,
    UnknownRule,
    Cycle,
    UnknownParam,
    /// A Lua error while the rule ran.
    Runtime,
    /// The per-call deadline passed.
    Deadline,
    /// The run's total rule budget is spent.
    Budget,
    /// The Lua state's memory limit was hit.
    Memory,
    /// A `ctx` call got a bad value (NaN, unknown id, wrong type, unknown field).
    Effect,
    /// Two effects of one rule set the same value.
    Conflict,
    /// The sandbox could not be set up as configured.
    Sandbox,
    /// The run was stopped from outside (SIGINT, SIGTERM).
    Interrupted,
}

impl RuleErrorKind {
    /// Every kind, in the order of the enum.
    pub const ALL: &'static [RuleErrorKind] = &[
        RuleErrorKind::Io,
        RuleErrorKind::Syntax,
        RuleErrorKind::Metadata,
        RuleErrorKind::DuplicateId,
        RuleErrorKind::UnknownRule,
        RuleErrorKind::Cycle,
        RuleErrorKind::UnknownParam,
        RuleErrorKind::Runtime,
        RuleErrorKind::Deadline,
        RuleErrorKind::Budget,
        RuleErrorKind::Memory,
        RuleErrorKind::Effect,
        RuleErrorKind::Conflict,
        RuleErrorKind::Sandbox,
        RuleErrorKind::Interrupted,
    ];

    /// What the code means, for the documentation.
    pub fn meaning(self) -> &'static str {
        match self {
            RuleErrorKind::Io => "A rule file or folder named in `scenario.rules` or `--rules` cannot be read.",
            RuleErrorKind::Syntax => "A rule file is not valid Luau.",
            RuleErrorKind::Metadata => "The table a rule file returns is malformed: no `id`, an unknown field, a bad `select`, a hook that is not a function.",
            RuleErrorKind::DuplicateId => "Two rule files return the same `id`.",
            RuleErrorKind::UnknownRule => "`after` names a rule that is not loaded.",
            RuleErrorKind::Cycle => "The `after` order of the rules goes round in a circle.",
            RuleErrorKind::UnknownParam => "A rule declares (`params`) or reads a parameter the scenario does not have.",
            RuleErrorKind::Runtime => "A Lua error while a rule ran (`error(...)`, indexing nil, a bad argument).",
            RuleErrorKind::Deadline => "One rule call ran longer than `--call-deadline`.",
            RuleErrorKind::Budget => "All rule calls of the run together took longer than `--rule-budget`.",
            RuleErrorKind::Memory => "The rules allocated more than `--lua-memory` in the Lua state.",
            RuleErrorKind::Effect => "A `ctx` call got a bad value: NaN or infinite, an unknown id, a wrong type or an unknown field.",
            RuleErrorKind::Conflict => "Two effects of one rule set the same value in one step.",
            RuleErrorKind::Sandbox => "The sandbox could not be set up as configured (an internal problem).",
            RuleErrorKind::Interrupted => "The run was stopped from outside (Ctrl-C, SIGTERM); nothing was written.",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            RuleErrorKind::Io => "rule-io",
            RuleErrorKind::Syntax => "rule-syntax",
            RuleErrorKind::Metadata => "rule-metadata",
            RuleErrorKind::DuplicateId => "rule-duplicate-id",
            RuleErrorKind::UnknownRule => "rule-unknown-after",
            RuleErrorKind::Cycle => "rule-cycle",
            RuleErrorKind::UnknownParam => "rule-unknown-param",
            RuleErrorKind::Runtime => "rule-runtime",
            RuleErrorKind::Deadline => "rule-deadline",
            RuleErrorKind::Budget => "rule-budget",
            RuleErrorKind::Memory => "rule-memory",
            RuleErrorKind::Effect => "rule-effect",
            RuleErrorKind::Conflict => "rule-conflict",
            RuleErrorKind::Sandbox => "rule-sandbox",
            RuleErrorKind::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub kind: RuleErrorKind,
    /// The rule's id, once known.
    pub rule: Option<String>,
    /// The file as the user named it.
    pub file: String,
    pub line: Option<u32>,
    pub message: String,
    pub help: Option<String>,
}

impl RuleError {
    pub fn new(
        kind: RuleErrorKind,
        file: impl Into<String>,
        line: Option<u32>,
        message: impl Into<String>,
    ) -> Self {
        RuleError {
            kind,
            rule: None,
            file: file.into(),
            line,
            message: message.into(),
            help: None,
        }
    }

    pub fn rule(mut self, id: impl Into<String>) -> Self {
        self.rule = Some(id.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(rule) = &self.rule {
            write!(f, " (rule `{rule}`)")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleError {}
