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
