//! Every diagnostic code gil's input checks report, with what it means. The code is
//! stable (tests, editors and CI match on it); `docs/diagnostics.md` is generated from
//! this list, so a new code cannot go undocumented.

macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $code:literal,)*) => {
        /// A diagnostic code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)*
        }

        impl Code {
            /// Every code, in the order of this list.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case code users see (`unknown-id`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// Whether the code is about rules (their files, their runs) rather than
            /// the scenario, reform and test files.
            pub fn is_rule(self) -> bool {
                self.as_str().starts_with("rule-") || self == Code::Interrupted
            }

            /// What the code means, in a sentence or two (its doc comment, on one line).
            pub fn meaning(self) -> String {
                let doc: &str = match self {
                    $(Code::$variant => concat!($($doc, "\n"),+),)*
                };
                doc.split_whitespace().collect::<Vec<_>>().join(" ")
            }
        }
    };
}

codes! {
    /// The YAML is not well-formed (an unclosed bracket, a bad indent, a tab).
    YamlSyntax = "yaml-syntax",
    /// The document nests deeper than gil reads (a guard against hostile input).
    YamlTooDeep = "yaml-too-deep",
    /// Aliases expand to more nodes than gil reads (a "billion laughs" guard).
    YamlTooLarge = "yaml-too-large",
    /// The same key appears twice in one mapping.
    DuplicateKey = "duplicate-key",
    /// A key the format does not have; the message suggests the nearest one.
    UnknownField = "unknown-field",
    /// A required key is missing.
    MissingField = "missing-field",
    /// A value of the wrong type (a string where a number belongs, a list for a map).
    WrongType = "wrong-type",
    /// A value of the right type that is not allowed (an unknown unit or level name).
    InvalidValue = "invalid-value",
    /// A number that is NaN or infinite.
    NonFinite = "non-finite",
    /// A file named on the command line or in `include:` does not exist.
    FileMissing = "file-missing",
    /// An `include:` names a file that cannot be read.
    IncludeMissing = "include-missing",
    /// Files include each other in a circle.
    IncludeCycle = "include-cycle",
    /// A file is empty or holds only comments.
    EmptyFile = "empty-file",
    /// A file is not UTF-8 text.
    NotUtf8 = "not-utf8",
    /// A CSV table is not well-formed: a row with more or fewer cells than the header,
    /// or one value given in two columns (`amount` and `amount@2026`).
    TableSyntax = "table-syntax",
    /// A table's header leaves a column unnamed, names one twice, or dates one with
    /// something that is not a year (`amount@next`).
    TableHeader = "table-header",
    /// A `table:` names a file gil does not read as a table (it reads `.csv` and
    /// `.parquet`), a Parquet file it cannot read or with a column that is not text, a
    /// number or a boolean, or the entry has keys besides `table`.
    TableFormat = "table-format",
    /// A sweep setting that does not fit its design: `values:` outside `design: grid`, a
    /// normal distribution in a Morris design, an odd number of Morris `levels`, too
    /// many parameters or samples for a Sobol design.
    SweepDesign = "sweep-design",
    /// A sweep parameter's range is empty or reversed, a standard deviation is not
    /// positive, or a `values:` list is empty.
    SweepRange = "sweep-range",
    /// A sweep output names a metric the scenario's baseline run never produces, or
    /// asks for `targets` when no project has one.
    SweepOutput = "sweep-output",
    /// The root file has no `scenario:` header.
    MissingHeader = "missing-header",
    /// An included file has a `scenario:` header; only the root file may.
    MisplacedHeader = "misplaced-header",
    /// An included file declares `kinds:`; only the root file may.
    MisplacedKinds = "misplaced-kinds",
    /// The horizon ends before it starts.
    ReversedHorizon = "reversed-horizon",
    /// A dated value, or a target's `by`, names a year outside the horizon.
    YearOutsideHorizon = "year-outside-horizon",
    /// An id is empty.
    EmptyId = "empty-id",
    /// Two actors or assets (or two parameters, flows or projects) share an id.
    DuplicateId = "duplicate-id",
    /// A reference to an actor, asset, project or parameter the scenario does not have.
    UnknownId = "unknown-id",
    /// An actor, asset or flow kind that is neither built in nor declared under `kinds:`.
    UnknownKind = "unknown-kind",
    /// An amount, capacity or count below zero.
    NegativeValue = "negative-value",
    /// A flow from an entity to itself.
    SelfFlow = "self-flow",
    /// A unit that does not fit the flow's kind (MW on a funding flow, say).
    UnitMismatch = "unit-mismatch",
    /// A funding flow in another currency with no `fx.<CODE>` parameter to convert it.
    MissingFx = "missing-fx",
    /// A rule file or folder named in `scenario.rules` or `--rules` cannot be read.
    RuleIo = "rule-io",
    /// A rule file is not valid Luau.
    RuleSyntax = "rule-syntax",
    /// The table a rule file returns is malformed: no `id`, an unknown field, a bad
    /// `select`, a hook that is not a function.
    RuleMetadata = "rule-metadata",
    /// A `require` cannot be resolved: the path is absolute, leaves the project folder,
    /// names no file or an alias no `.luaurc` defines, is not a string literal, or the
    /// modules require each other in a cycle.
    RuleModule = "rule-module",
    /// Two rule files return the same `id`.
    RuleDuplicateId = "rule-duplicate-id",
    /// `after` names a rule that is not loaded.
    RuleUnknownAfter = "rule-unknown-after",
    /// The `after` order of the rules goes round in a circle.
    RuleCycle = "rule-cycle",
    /// A rule declares (`params`) or reads a parameter the scenario does not have.
    RuleUnknownParam = "rule-unknown-param",
    /// A Lua error while a rule ran (`error(...)`, indexing nil, a bad argument).
    RuleRuntime = "rule-runtime",
    /// One rule call ran longer than the call deadline (`--call-deadline`).
    RuleDeadline = "rule-deadline",
    /// All rule calls of the run together took longer than the budget (`--rule-budget`).
    RuleBudget = "rule-budget",
    /// The rules allocated more than the Lua memory limit (`--lua-memory`).
    RuleMemory = "rule-memory",
    /// A `ctx` call got a bad value: NaN or infinite, an unknown id, a wrong type or an
    /// unknown field.
    RuleEffect = "rule-effect",
    /// Two effects of one rule set the same value in one step.
    RuleConflict = "rule-conflict",
    /// The sandbox could not be set up as configured (an internal problem).
    RuleSandbox = "rule-sandbox",
    /// The run was stopped from outside (Ctrl-C, SIGTERM); nothing was written.
    Interrupted = "interrupted",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn codes_are_unique_kebab_case_and_documented() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!code.meaning().is_empty());
        }
    }
}
