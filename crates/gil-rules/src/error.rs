//! Rule errors: always the rule's file (and line where known) and, once the rule's
//! table has been read, its id.

use std::fmt;

use gil_model::code::Code;
use gil_model::diag::Diagnostic;
use gil_model::{FileId, SourceMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleErrorKind {
    /// A rule file or folder could not be read.
    Io,
    /// A `require` that cannot be resolved (see `modules.rs`).
    Module,
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
        RuleErrorKind::Module,
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

    /// The diagnostic code (docs/diagnostics.md says what each means).
    pub fn code(self) -> Code {
        match self {
            RuleErrorKind::Io => Code::RuleIo,
            RuleErrorKind::Module => Code::RuleModule,
            RuleErrorKind::Syntax => Code::RuleSyntax,
            RuleErrorKind::Metadata => Code::RuleMetadata,
            RuleErrorKind::DuplicateId => Code::RuleDuplicateId,
            RuleErrorKind::UnknownRule => Code::RuleUnknownAfter,
            RuleErrorKind::Cycle => Code::RuleCycle,
            RuleErrorKind::UnknownParam => Code::RuleUnknownParam,
            RuleErrorKind::Runtime => Code::RuleRuntime,
            RuleErrorKind::Deadline => Code::RuleDeadline,
            RuleErrorKind::Budget => Code::RuleBudget,
            RuleErrorKind::Memory => Code::RuleMemory,
            RuleErrorKind::Effect => Code::RuleEffect,
            RuleErrorKind::Conflict => Code::RuleConflict,
            RuleErrorKind::Sandbox => Code::RuleSandbox,
            RuleErrorKind::Interrupted => Code::Interrupted,
        }
    }

    /// The limit a rule ran into, for the caller to say how to raise it.
    pub fn limit(self) -> Option<Limit> {
        match self {
            RuleErrorKind::Deadline => Some(Limit::CallDeadline),
            RuleErrorKind::Budget => Some(Limit::RuleBudget),
            RuleErrorKind::Memory => Some(Limit::Memory),
            _ => None,
        }
    }
}

/// A sandbox limit; how to raise it is the caller's to say (a flag, a setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The longest one call may run.
    CallDeadline,
    /// The longest all calls of a run may take together.
    RuleBudget,
    /// What rules may allocate in the Lua state.
    Memory,
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
    /// Where the run was when the rule failed (boxed: errors travel in every `Result`).
    pub during: Option<Box<During>>,
}

/// Where a run was when a rule failed.
#[derive(Debug, Clone, PartialEq)]
pub struct During {
    /// The year being evaluated.
    pub year: i32,
    /// The entity being processed (`actor \`startups\``), for per-entity hooks.
    pub entity: Option<String>,
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
            during: None,
        }
    }

    /// Adds where the run was: the year and, for a per-entity hook, the entity.
    pub fn during(mut self, year: i32, entity: Option<String>) -> Self {
        let during = self
            .during
            .get_or_insert_with(|| Box::new(During { year, entity: None }));
        if during.entity.is_none() {
            during.entity = entity;
        }
        self
    }

    /// The error as a diagnostic, positioned at its line in `file` of `sources` (the
    /// rule file, when it is known; see [`crate::RuleFiles`]).
    pub fn to_diagnostic(&self, sources: &SourceMap, file: Option<FileId>) -> Diagnostic {
        let mut d = Diagnostic::error(self.kind.code(), self.message.clone());
        let span = file
            .zip(self.line)
            .and_then(|(file, line)| sources.line_span(file, line as usize));
        d = match span {
            Some(span) => d.at(span),
            None => d.file(self.location()),
        };
        if let Some(rule) = &self.rule {
            d = d.note(format!("rule: {rule}"));
        }
        if let Some(during) = &self.during {
            d = d.note(match &during.entity {
                Some(entity) => format!("in {}, for {entity}", during.year),
                None => format!("in {}", during.year),
            });
        }
        if let Some(help) = &self.help {
            d = d.help(help.clone());
        }
        d
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
