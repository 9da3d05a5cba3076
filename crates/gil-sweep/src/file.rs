//! Sweep files (`sweep.yaml`): what to vary, how to sample it and what to keep, read
//! with positioned diagnostics as scenarios are. Checks that need the scenario (its
//! parameter names, the metrics its baseline run makes) are in [`SweepFile::check`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gil_model::code::Code;
use gil_model::diag::{did_you_mean, Diagnostic};
use gil_model::load::yaml_diagnostic;
use gil_model::yaml::{self, Node, NodeKind, Path as KeyPath};
use gil_model::{LoadError, Num, Scenario, SourceMap, Span, Spanned};
use serde::Deserialize;

/// How the runs' parameter values are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Every combination of the parameters' values.
    Grid,
    /// Independent draws.
    MonteCarlo,
    /// Latin hypercube: each parameter's range cut into `samples` strata, each used once.
    Lhs,
    /// Saltelli's layout over a scrambled Sobol sequence, for first-order and total
    /// indices.
    Sobol,
    /// Morris trajectories over a grid of `levels`, for elementary effects.
    Morris,
}

impl Design {
    pub const NAMES: [&'static str; 5] = ["grid", "monte_carlo", "lhs", "sobol", "morris"];

    pub fn as_str(self) -> &'static str {
        match self {
            Design::Grid => "grid",
            Design::MonteCarlo => "monte_carlo",
            Design::Lhs => "lhs",
            Design::Sobol => "sobol",
            Design::Morris => "morris",
        }
    }

    fn parse(name: &str) -> Option<Design> {
        Some(match name {
            "grid" => Design::Grid,
            "monte_carlo" => Design::MonteCarlo,
            "lhs" => Design::Lhs,
            "sobol" => Design::Sobol,
            "morris" => Design::Morris,
            _ => return None,
        })
    }
}

/// A parameter's distribution, sampled through its quantile function from a point of
/// the unit interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
        clip: Option<[f64; 2]>,
    },
    /// Grid only: these values, in this order.
    Values(Vec<f64>),
}

/// One swept parameter.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SweptParameter {
    pub name: String,
    pub distribution: Distribution,
    /// The drawn value scales every dated value of the parameter instead of replacing
    /// them.
    pub scale: bool,
    #[serde(skip)]
    pub span: Span,
}

/// How an output is reduced over the years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduce {
    Sum,
    Max,
    Min,
    Mean,
    Last,
}

impl Reduce {
    pub const NAMES: [&'static str; 5] = ["sum", "max", "min", "mean", "last"];

    pub fn as_str(self) -> &'static str {
        match self {
            Reduce::Sum => "sum",
            Reduce::Max => "max",
            Reduce::Min => "min",
            Reduce::Mean => "mean",
            Reduce::Last => "last",
        }
    }

    fn parse(name: &str) -> Option<Reduce> {
        Some(match name {
            "sum" => Reduce::Sum,
            "max" => Reduce::Max,
            "min" => Reduce::Min,
            "mean" => Reduce::Mean,
            "last" => Reduce::Last,
            _ => return None,
        })
    }
}

/// What a sweep keeps of each run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// A metric per year (`reduce: None`) or reduced over the years.
    Metric {
        name: String,
        reduce: Option<Reduce>,
        #[serde(skip)]
        span: Span,
    },
    /// Whether each project target is met by its year.
    Targets {
        #[serde(skip)]
        span: Span,
    },
}

/// A sweep file, read and checked on its own.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepFile {
    pub id: String,
    /// The scenario, resolved against the sweep file's folder.
    pub scenario: PathBuf,
    /// The scenario as the sweep file writes it.
    pub scenario_as_written: String,
    pub design: Design,
    /// The base size: runs for `monte_carlo` and `lhs`, base samples for `sobol`,
    /// trajectories for `morris`; not used by `grid`.
    pub samples: usize,
    pub seed: u64,
    /// Morris grid levels, and the points a `grid` takes from a `uniform` range.
    pub levels: usize,
    pub parameters: Vec<SweptParameter>,
    pub outputs: Vec<Output>,
    #[serde(skip)]
    pub sources: SourceMap,
    /// The sweep file's text, for its content hash.
    #[serde(skip)]
    pub text: String,
}

pub const SWEEP_KEYS: &[&str] = &["sweep", "parameters", "outputs"];
pub const DEFAULT_LEVELS: usize = 4;
/// Base samples a Sobol design may have (the sequence's length).
pub const MAX_SOBOL_SAMPLES: usize = 1 << 16;
/// Parameters a Sobol design may have (the sequence has 256 dimensions; Saltelli's
/// layout takes two per parameter).
pub const MAX_SOBOL_PARAMETERS: usize = 128;
/// Runs a sweep may have: far beyond what any machine evaluates in a day, and below
/// where run indices and strata overflow.
pub const MAX_RUNS: u64 = 100_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderDoc {
    id: Spanned<String>,
    scenario: Spanned<String>,
    design: Spanned<String>,
    #[serde(default)]
    samples: Option<Spanned<u64>>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    levels: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistDoc {
    #[serde(default)]
    uniform: Option<Spanned<Vec<Num>>>,
    #[serde(default)]
    normal: Option<Spanned<NormalDoc>>,
    #[serde(default)]
    values: Option<Spanned<Vec<Num>>>,
    #[serde(default)]
    scale: Option<Spanned<Box<DistDoc>>>,
    #[serde(default)]
    clip: Option<Spanned<Vec<Num>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalDoc {
    mean: Num,
    sd: Num,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputDoc {
    metric: Spanned<String>,
    #[serde(default)]
    reduce: Option<Spanned<String>>,
}

fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(code, message).at(span)
}

/// Reads a sweep file. Every problem is reported at once, at its line and column.
pub fn load_sweep(path: &Path) -> Result<SweepFile, LoadError> {
    let sources = SourceMap::new();
    let display = path.display().to_string();
    let fail = |sources: SourceMap, d: Diagnostic| LoadError {
        sources,
        diagnostics: vec![d],
    };
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                let d = Diagnostic::error(Code::NotUtf8, format!("`{display}` is not valid UTF-8"))
                    .file(display);
                return Err(fail(sources, d));
            }
        },
        Err(e) => {
            let d = Diagnostic::error(Code::FileMissing, format!("cannot read `{display}`: {e}"))
                .file(display);
            return Err(fail(sources, d));
        }
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_sweep_text(&display, path, &text, &dir)
}

/// Reads a sweep document given as text (a file's, or a request body's: JSON is
/// YAML too); `name` is how diagnostics name it, `dir` where its `scenario:` resolves.
pub fn load_sweep_text(
    name: &str,
    path: &Path,
    text: &str,
    dir: &Path,
) -> Result<SweepFile, LoadError> {
    let mut sources = SourceMap::new();
    let display = name.to_string();
    let fail = |sources: SourceMap, d: Diagnostic| LoadError {
        sources,
        diagnostics: vec![d],
    };
    let text = text.to_string();
    let file = sources.add(display.clone(), path.to_path_buf(), text.clone());
    let node = match yaml::parse(&text, file) {
        Err(e) => return Err(fail(sources, yaml_diagnostic(e))),
        Ok(None) => {
            let d = Diagnostic::error(Code::EmptyFile, format!("`{display}` is empty"))
                .at(Span::new(file, 0, 0));
            return Err(fail(sources, d));
        }
        Ok(Some(node)) => node,
    };
    let mut reader = Reader::default();
    let sweep = reader.read(&node, dir, text);
    match sweep {
        Some(mut sweep) if reader.diagnostics.is_empty() => {
            sweep.sources = sources;
            Ok(sweep)
        }
        _ => {
            gil_model::diag::sort(&mut reader.diagnostics);
            Err(LoadError {
                sources,
                diagnostics: reader.diagnostics,
            })
        }
    }
}

#[derive(Default)]
struct Reader {
    diagnostics: Vec<Diagnostic>,
}

impl Reader {
    fn typed<'de, T: Deserialize<'de>>(&mut self, node: &'de Node, path: &KeyPath) -> Option<T> {
        match yaml::from_node::<T>(node, path) {
            Ok(v) => Some(v),
            Err(e) => {
                self.diagnostics.push(yaml_diagnostic(e));
                None
            }
        }
    }

    fn read(&mut self, node: &Node, dir: &Path, text: String) -> Option<SweepFile> {
        let NodeKind::Map(entries) = &node.kind else {
            self.diagnostics.push(error(
                Code::WrongType,
                node.span,
                "a sweep file is a mapping with `sweep:`, `parameters:` and `outputs:`",
            ));
            return None;
        };
        let (mut header, mut parameters, mut outputs) = (None, None, None);
        for (key, value) in entries {
            let name = key.as_str().unwrap_or("");
            let path = KeyPath::Root(name);
            match name {
                "sweep" => header = self.typed::<HeaderDoc>(value, &path).map(|h| (h, key.span)),
                "parameters" => parameters = Some((value, key.span)),
                "outputs" => outputs = Some((value, key.span)),
                other => {
                    let help = match did_you_mean(other, SWEEP_KEYS.iter().copied()) {
                        Some(h) => format!("did you mean `{h}`?"),
                        None => "a sweep file has `sweep`, `parameters` and `outputs`".into(),
                    };
                    self.diagnostics.push(
                        error(
                            Code::UnknownField,
                            key.span,
                            format!("unknown sweep field `{other}`"),
                        )
                        .help(help),
                    );
                }
            }
        }
        for (present, key) in [
            (
                entries.iter().any(|(k, _)| k.as_str() == Some("sweep")),
                "sweep",
            ),
            (parameters.is_some(), "parameters"),
            (outputs.is_some(), "outputs"),
        ] {
            if !present {
                self.diagnostics.push(
                    error(
                        Code::MissingField,
                        Span::new(node.span.file, 0, 0),
                        format!("the sweep file has no `{key}:`"),
                    )
                    .help("a sweep file has `sweep`, `parameters` and `outputs`"),
                );
            }
        }
        let (header, header_span) = header?;
        let design_known = Design::parse(&header.design.value).is_some();
        let design = match Design::parse(&header.design.value) {
            Some(d) => d,
            // Read on as if it were a Monte Carlo design, so the rest of the file's
            // problems are reported too.
            None => {
                let mut d = error(
                    Code::InvalidValue,
                    header.design.span,
                    format!("unknown design `{}`", header.design.value),
                )
                .path("sweep.design");
                d = d.help(match did_you_mean(&header.design.value, Design::NAMES) {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => format!("a design is one of {}", Design::NAMES.join(", ")),
                });
                self.diagnostics.push(d);
                Design::MonteCarlo
            }
        };
        let levels = match &header.levels {
            None => DEFAULT_LEVELS,
            Some(l) => {
                if design == Design::Morris && (l.value < 2 || l.value % 2 == 1) {
                    self.diagnostics.push(
                        error(
                            Code::SweepDesign,
                            l.span,
                            format!("a Morris design needs an even number of levels, 2 or more; got {}", l.value),
                        )
                        .path("sweep.levels")
                        .help("with an even number of levels every step lands on the grid (4 is the usual choice)"),
                    );
                } else if l.value < 2 {
                    self.diagnostics.push(
                        error(Code::SweepDesign, l.span, "`levels` must be 2 or more")
                            .path("sweep.levels"),
                    );
                }
                l.value as usize
            }
        };
        let samples = match (&header.samples, design) {
            (_, Design::Grid) => 0,
            (None, _) if !design_known => 0,
            (None, _) => {
                self.diagnostics.push(
                    error(
                        Code::MissingField,
                        header_span,
                        format!("a `{}` design needs `samples:`", design.as_str()),
                    )
                    .path("sweep.samples"),
                );
                0
            }
            (Some(s), _) => {
                if s.value == 0 {
                    self.diagnostics.push(
                        error(Code::SweepRange, s.span, "`samples` must be 1 or more")
                            .path("sweep.samples"),
                    );
                } else if design == Design::Sobol && s.value as usize > MAX_SOBOL_SAMPLES {
                    self.diagnostics.push(
                        error(
                            Code::SweepDesign,
                            s.span,
                            format!(
                                "a Sobol design takes at most {MAX_SOBOL_SAMPLES} base samples; got {}",
                                s.value
                            ),
                        )
                        .path("sweep.samples"),
                    );
                }
                s.value as usize
            }
        };
        let parameters = match parameters {
            Some((node, _)) => self.parameters(node, design),
            None => Vec::new(),
        };
        if design == Design::Sobol && parameters.len() > MAX_SOBOL_PARAMETERS {
            self.diagnostics.push(error(
                Code::SweepDesign,
                header.design.span,
                format!(
                    "a Sobol design takes at most {MAX_SOBOL_PARAMETERS} parameters; this sweep has {}",
                    parameters.len()
                ),
            ));
        }
        let outputs = match outputs {
            Some((node, _)) => self.outputs(node),
            None => Vec::new(),
        };
        let k = parameters.len() as u64;
        let runs = match design {
            Design::Grid => parameters.iter().try_fold(1u64, |n, p| {
                let points = match &p.distribution {
                    Distribution::Values(v) => v.len() as u64,
                    _ => levels as u64,
                };
                n.checked_mul(points)
            }),
            Design::MonteCarlo | Design::Lhs => Some(samples as u64),
            Design::Sobol => (samples as u64).checked_mul(2 * k + 2),
            Design::Morris => (samples as u64).checked_mul(k + 1),
        };
        if runs.is_none_or(|r| r > MAX_RUNS) {
            self.diagnostics.push(
                error(
                    Code::SweepDesign,
                    header.design.span,
                    format!(
                        "this design makes more than {MAX_RUNS} runs{}",
                        runs.map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                )
                .path("sweep.design")
                .help("fewer samples, levels or values; or a sampling design instead of a grid"),
            );
        }
        Some(SweepFile {
            id: header.id.value,
            scenario: dir.join(&header.scenario.value),
            scenario_as_written: header.scenario.value,
            design,
            samples,
            seed: header.seed.unwrap_or(0),
            levels,
            parameters,
            outputs,
            sources: SourceMap::new(),
            text,
        })
    }

    fn parameters(&mut self, node: &Node, design: Design) -> Vec<SweptParameter> {
        let NodeKind::Map(entries) = &node.kind else {
            self.diagnostics.push(error(
                Code::WrongType,
                node.span,
                "expected a mapping of parameter names to distributions",
            ));
            return Vec::new();
        };
        if entries.is_empty() {
            self.diagnostics.push(error(
                Code::MissingField,
                node.span,
                "a sweep varies at least one parameter",
            ));
        }
        let root = KeyPath::Root("parameters");
        let mut out = Vec::new();
        for (key, value) in entries {
            let name = key.as_str().unwrap_or("").to_string();
            let path = KeyPath::Key(&root, &name);
            let Some(doc) = self.typed::<Spanned<DistDoc>>(value, &path) else {
                continue;
            };
            let at = format!("parameters.{name}");
            if let Some((distribution, scale)) = self.distribution(&doc, design, &at, false) {
                out.push(SweptParameter {
                    name,
                    distribution,
                    scale,
                    span: key.span,
                });
            }
        }
        out
    }

    /// The distribution a parameter entry writes, and whether it scales.
    fn distribution(
        &mut self,
        doc: &Spanned<DistDoc>,
        design: Design,
        at: &str,
        inside_scale: bool,
    ) -> Option<(Distribution, bool)> {
        let d = &doc.value;
        let given = [
            d.uniform.is_some(),
            d.normal.is_some(),
            d.values.is_some(),
            d.scale.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            self.diagnostics.push(
                error(
                    Code::WrongType,
                    doc.span,
                    if given == 0 {
                        "expected a distribution".to_string()
                    } else {
                        "expected one distribution, not several".to_string()
                    },
                )
                .path(at)
                .help("write one of `uniform: [low, high]`, `normal: { mean: m, sd: s }`, `values: [a, b, …]` (grid) or `scale: { uniform: [low, high] }`"),
            );
            return None;
        }
        if let (Some(clip), None) = (&d.clip, &d.normal) {
            self.diagnostics.push(
                error(
                    Code::SweepDesign,
                    clip.span,
                    "`clip` belongs to a normal distribution",
                )
                .path(at),
            );
        }
        if let Some(inner) = &d.scale {
            if inside_scale {
                self.diagnostics.push(
                    error(
                        Code::SweepDesign,
                        inner.span,
                        "a scale cannot scale a scale",
                    )
                    .path(at),
                );
                return None;
            }
            let inner = Spanned::new(inner.span, *clone_doc(&inner.value));
            let (dist, _) = self.distribution(&inner, design, &format!("{at}.scale"), true)?;
            return Some((dist, true));
        }
        let pair = |v: &Spanned<Vec<Num>>, what: &str, me: &mut Reader| -> Option<[f64; 2]> {
            match v.value.as_slice() {
                [a, b] if a.0 < b.0 => Some([a.0, b.0]),
                [a, b] => {
                    me.diagnostics.push(
                        error(
                            Code::SweepRange,
                            v.span,
                            format!("an empty {what}: [{}, {}]", a.0, b.0),
                        )
                        .path(at)
                        .help("write the low end first, and make the high end larger"),
                    );
                    None
                }
                _ => {
                    me.diagnostics.push(
                        error(
                            Code::WrongType,
                            v.span,
                            format!("expected a {what} as two numbers, [low, high]"),
                        )
                        .path(at),
                    );
                    None
                }
            }
        };
        if let Some(u) = &d.uniform {
            let [low, high] = pair(u, "range", self)?;
            return Some((Distribution::Uniform { low, high }, false));
        }
        if let Some(n) = &d.normal {
            if matches!(design, Design::Morris | Design::Grid) {
                self.diagnostics.push(
                    error(
                        Code::SweepDesign,
                        n.span,
                        format!(
                            "a `{}` design steps over a bounded range; a normal distribution has none",
                            design.as_str()
                        ),
                    )
                    .path(at)
                    .help("use `uniform: [low, high]`, or a monte_carlo, lhs or sobol design"),
                );
                return None;
            }
            if n.value.sd.0 <= 0.0 {
                self.diagnostics.push(
                    error(
                        Code::SweepRange,
                        n.span,
                        format!(
                            "a standard deviation must be positive; got {}",
                            n.value.sd.0
                        ),
                    )
                    .path(at),
                );
                return None;
            }
            let clip = match &d.clip {
                Some(c) => Some(pair(c, "clip range", self)?),
                None => None,
            };
            return Some((
                Distribution::Normal {
                    mean: n.value.mean.0,
                    sd: n.value.sd.0,
                    clip,
                },
                false,
            ));
        }
        if let Some(v) = &d.values {
            if design != Design::Grid {
                self.diagnostics.push(
                    error(
                        Code::SweepDesign,
                        v.span,
                        format!(
                            "a `values:` list belongs to `design: grid`; this sweep is `{}`",
                            design.as_str()
                        ),
                    )
                    .path(at)
                    .help("sample a range with `uniform: [low, high]`, or make the design a grid"),
                );
                return None;
            }
            if v.value.is_empty() {
                self.diagnostics
                    .push(error(Code::SweepRange, v.span, "an empty `values:` list").path(at));
                return None;
            }
            return Some((
                Distribution::Values(v.value.iter().map(|n| n.0).collect()),
                false,
            ));
        }
        None
    }

    fn outputs(&mut self, node: &Node) -> Vec<Output> {
        let NodeKind::Seq(items) = &node.kind else {
            self.diagnostics.push(error(
                Code::WrongType,
                node.span,
                "expected a list of metric names, `{ metric: name, reduce: max }` entries or `targets`",
            ));
            return Vec::new();
        };
        if items.is_empty() {
            self.diagnostics.push(error(
                Code::MissingField,
                node.span,
                "a sweep keeps at least one output",
            ));
        }
        let root = KeyPath::Root("outputs");
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = KeyPath::Index(&root, i);
            if let Some(name) = item.as_str() {
                out.push(if name == "targets" {
                    Output::Targets { span: item.span }
                } else {
                    Output::Metric {
                        name: name.to_string(),
                        reduce: None,
                        span: item.span,
                    }
                });
                continue;
            }
            let Some(doc) = self.typed::<OutputDoc>(item, &path) else {
                continue;
            };
            let reduce = match &doc.reduce {
                None => None,
                Some(r) => match Reduce::parse(&r.value) {
                    Some(r) => Some(r),
                    None => {
                        let mut d = error(
                            Code::InvalidValue,
                            r.span,
                            format!("unknown reduction `{}`", r.value),
                        )
                        .path(format!("outputs[{i}].reduce"));
                        d = d.help(match did_you_mean(&r.value, Reduce::NAMES) {
                            Some(h) => format!("did you mean `{h}`?"),
                            None => format!("a reduction is one of {}", Reduce::NAMES.join(", ")),
                        });
                        self.diagnostics.push(d);
                        continue;
                    }
                },
            };
            out.push(Output::Metric {
                name: doc.metric.value,
                reduce,
                span: doc.metric.span,
            });
        }
        out
    }
}

fn clone_doc(d: &DistDoc) -> Box<DistDoc> {
    Box::new(DistDoc {
        uniform: d.uniform.clone(),
        normal: d.normal.as_ref().map(|n| {
            Spanned::new(
                n.span,
                NormalDoc {
                    mean: n.value.mean,
                    sd: n.value.sd,
                },
            )
        }),
        values: d.values.clone(),
        scale: None,
        clip: d.clip.clone(),
    })
}

impl SweepFile {
    /// Checks that every swept parameter is one the scenario has.
    pub fn check_parameters(&self, scenario: &Scenario) -> Result<(), LoadError> {
        let mut diagnostics = Vec::new();
        for p in &self.parameters {
            if scenario.text_parameters.contains_key(&p.name) {
                diagnostics.push(
                    error(
                        Code::WrongType,
                        p.span,
                        format!(
                            "`{}` is a text parameter: a sweep varies numbers only",
                            p.name
                        ),
                    )
                    .path(format!("parameters.{}", p.name))
                    .help("compare its values with `gil diff --param NAME=VALUE` instead"),
                );
                continue;
            }
            if !scenario.parameters.contains_key(&p.name) {
                let mut d = error(
                    Code::UnknownId,
                    p.span,
                    format!("the scenario has no parameter `{}`", p.name),
                )
                .path(format!("parameters.{}", p.name));
                if let Some(h) =
                    did_you_mean(&p.name, scenario.parameters.keys().map(String::as_str))
                {
                    d = d.help(format!("did you mean `{h}`?"));
                }
                diagnostics.push(d);
            }
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(LoadError {
                sources: self.sources.clone(),
                diagnostics,
            })
        }
    }

    /// Checks the outputs against the scenario: every output metric is one the
    /// scenario's baseline run produces (`baseline_metrics`), and `targets` has targets.
    pub fn check(
        &self,
        scenario: &Scenario,
        baseline_metrics: &BTreeSet<String>,
    ) -> Result<(), LoadError> {
        let mut diagnostics = Vec::new();
        let has_targets = scenario.projects.iter().any(|p| !p.targets.is_empty());
        for (i, o) in self.outputs.iter().enumerate() {
            match o {
                Output::Targets { span } if !has_targets => diagnostics.push(
                    error(
                        Code::SweepOutput,
                        *span,
                        "`targets` keeps each project target, but no project has one",
                    )
                    .path(format!("outputs[{i}]")),
                ),
                Output::Targets { .. } => {}
                Output::Metric { name, span, .. } => {
                    if !baseline_metrics.contains(name) {
                        let mut d = error(
                            Code::SweepOutput,
                            *span,
                            format!("the scenario's baseline run makes no metric `{name}`"),
                        )
                        .path(format!("outputs[{i}]"));
                        d = d.help(
                            match did_you_mean(name, baseline_metrics.iter().map(String::as_str)) {
                                Some(h) => format!("did you mean `{h}`?"),
                                None => "`gil run --format json` lists the metrics a run makes"
                                    .to_string(),
                            },
                        );
                        diagnostics.push(d);
                    }
                }
            }
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(LoadError {
                sources: self.sources.clone(),
                diagnostics,
            })
        }
    }
}
