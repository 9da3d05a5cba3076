//! The results table: one row per run, the columns a sweep file asks for, as Arrow
//! record batches written to (and read back from) Parquet.
//!
//! Columns, in order: `run` (int64); one float64 per swept parameter; one float64 per
//! kept output and year (`<metric>@<year>`) or reduced output (`<metric>:<reduce>`);
//! one boolean per project target (`target:<project>:<metric>`); `findings.warn` and
//! `findings.error` (int64); `error` (text, set when the run's rules failed).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use gil_engine::{EngineError, Evaluation};
use gil_model::Scenario;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::file::{Output, Reduce, SweepFile};

/// A kept output column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputColumn {
    Year { metric: String, year: i32 },
    Reduced { metric: String, reduce: Reduce },
}

impl OutputColumn {
    pub fn name(&self) -> String {
        match self {
            OutputColumn::Year { metric, year } => format!("{metric}@{year}"),
            OutputColumn::Reduced { metric, reduce } => format!("{metric}:{}", reduce.as_str()),
        }
    }
}

/// A project target kept as a column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TargetColumn {
    pub project: String,
    pub metric: String,
    /// Its place among all the scenario's targets (the outcome lists them in order).
    pub index: usize,
    pub name: String,
}

/// Which columns a sweep's table has.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    pub parameters: Vec<String>,
    pub outputs: Vec<OutputColumn>,
    pub targets: Vec<TargetColumn>,
}

impl Layout {
    pub fn new(sweep: &SweepFile, scenario: &Scenario) -> Layout {
        let years: Vec<i32> = scenario.years().collect();
        let mut outputs = Vec::new();
        let mut targets = Vec::new();
        for o in &sweep.outputs {
            match o {
                Output::Metric {
                    name, reduce: None, ..
                } => outputs.extend(years.iter().map(|&year| OutputColumn::Year {
                    metric: name.clone(),
                    year,
                })),
                Output::Metric {
                    name,
                    reduce: Some(reduce),
                    ..
                } => outputs.push(OutputColumn::Reduced {
                    metric: name.clone(),
                    reduce: *reduce,
                }),
                Output::Targets { .. } if targets.is_empty() => {
                    let mut seen = BTreeSet::new();
                    let all = scenario
                        .projects
                        .iter()
                        .flat_map(|p| p.targets.iter().map(move |t| (p, t)));
                    for (index, (p, t)) in all.enumerate() {
                        let mut name = format!("target:{}:{}", p.id.value, t.metric.value);
                        // Two targets on one metric (a floor and a ceiling): number the
                        // later ones.
                        let mut n = 2;
                        while !seen.insert(name.clone()) {
                            name = format!("target:{}:{}#{n}", p.id.value, t.metric.value);
                            n += 1;
                        }
                        targets.push(TargetColumn {
                            project: p.id.value.clone(),
                            metric: t.metric.value.clone(),
                            index,
                            name,
                        });
                    }
                }
                Output::Targets { .. } => {}
            }
        }
        Layout {
            parameters: sweep.parameters.iter().map(|p| p.name.clone()).collect(),
            outputs,
            targets,
        }
    }

    /// Every column name, in order.
    pub fn column_names(&self) -> Vec<String> {
        let mut names = vec!["run".to_string()];
        names.extend(self.parameters.iter().cloned());
        names.extend(self.outputs.iter().map(OutputColumn::name));
        names.extend(self.targets.iter().map(|t| t.name.clone()));
        names.extend(["findings.warn", "findings.error", "error"].map(String::from));
        names
    }

    fn schema(&self) -> Schema {
        let mut fields = vec![Field::new("run", DataType::Int64, false)];
        fields.extend(
            self.parameters
                .iter()
                .map(|p| Field::new(p, DataType::Float64, false)),
        );
        fields.extend(
            self.outputs
                .iter()
                .map(|o| Field::new(o.name(), DataType::Float64, true)),
        );
        fields.extend(
            self.targets
                .iter()
                .map(|t| Field::new(&t.name, DataType::Boolean, true)),
        );
        fields.push(Field::new("findings.warn", DataType::Int64, true));
        fields.push(Field::new("findings.error", DataType::Int64, true));
        fields.push(Field::new("error", DataType::Utf8, true));
        Schema::new(fields)
    }

    /// What is kept of one run.
    pub fn row(
        &self,
        run: usize,
        values: Vec<f64>,
        result: &Result<Evaluation, EngineError>,
    ) -> RunRow {
        let e = match result {
            Err(err) => {
                return RunRow {
                    run: run as i64,
                    parameters: values,
                    outputs: vec![None; self.outputs.len()],
                    targets: vec![None; self.targets.len()],
                    warnings: None,
                    errors: None,
                    error: Some(err.to_string()),
                }
            }
            Ok(e) => &e.outcome,
        };
        let series = |metric: &str| -> Vec<f64> {
            e.steps
                .iter()
                .filter_map(|s| s.metrics.get(metric).copied())
                .collect()
        };
        let outputs = self
            .outputs
            .iter()
            .map(|o| match o {
                OutputColumn::Year { metric, year } => e
                    .steps
                    .iter()
                    .find(|s| s.year == *year)
                    .and_then(|s| s.metrics.get(metric).copied()),
                OutputColumn::Reduced { metric, reduce } => {
                    let v = series(metric);
                    if v.is_empty() {
                        return None;
                    }
                    Some(match reduce {
                        Reduce::Sum => v.iter().sum(),
                        Reduce::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        Reduce::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
                        Reduce::Mean => v.iter().sum::<f64>() / v.len() as f64,
                        Reduce::Last => v[v.len() - 1],
                    })
                }
            })
            // A NaN or infinite value says nothing about the run; it would poison
            // every statistic over the column.
            .map(|v: Option<f64>| v.filter(|x| x.is_finite()))
            .collect();
        let targets = self
            .targets
            .iter()
            .map(|t| {
                e.analyses
                    .targets
                    .get(t.index)
                    .filter(|line| line.project == t.project && line.metric == t.metric)
                    .map(|line| line.met)
            })
            .collect();
        let count =
            |level: gil_rules::Level| e.findings.iter().filter(|f| f.level == level).count() as i64;
        RunRow {
            run: run as i64,
            parameters: values,
            outputs,
            targets,
            warnings: Some(count(gil_rules::Level::Warn)),
            errors: Some(count(gil_rules::Level::Error)),
            error: None,
        }
    }

    /// Rows as one record batch.
    pub fn batch(&self, rows: &[RunRow]) -> Result<RecordBatch, TableError> {
        let mut columns: Vec<ArrayRef> = Vec::new();
        columns.push(Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.run),
        )));
        for j in 0..self.parameters.len() {
            columns.push(Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.parameters[j]),
            )));
        }
        for j in 0..self.outputs.len() {
            let mut b = Float64Builder::with_capacity(rows.len());
            rows.iter().for_each(|r| b.append_option(r.outputs[j]));
            columns.push(Arc::new(b.finish()));
        }
        for j in 0..self.targets.len() {
            let mut b = BooleanBuilder::with_capacity(rows.len());
            rows.iter().for_each(|r| b.append_option(r.targets[j]));
            columns.push(Arc::new(b.finish()));
        }
        let mut warn = Int64Builder::with_capacity(rows.len());
        let mut err = Int64Builder::with_capacity(rows.len());
        let mut text = StringBuilder::new();
        for r in rows {
            warn.append_option(r.warnings);
            err.append_option(r.errors);
            text.append_option(r.error.as_deref());
        }
        columns.push(Arc::new(warn.finish()));
        columns.push(Arc::new(err.finish()));
        columns.push(Arc::new(text.finish()));
        RecordBatch::try_new(Arc::new(self.schema()), columns).map_err(TableError::Arrow)
    }

    /// Rows back from a batch this layout wrote; a batch with other columns is an
    /// error naming the first difference.
    pub fn rows(&self, batch: &RecordBatch) -> Result<Vec<RunRow>, TableError> {
        let expected = self.column_names();
        let found: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        if found != expected {
            let at = expected
                .iter()
                .zip(&found)
                .position(|(a, b)| a != b)
                .unwrap_or(expected.len().min(found.len()));
            return Err(TableError::Columns(format!(
                "column {} is `{}`, the sweep's is `{}`",
                at + 1,
                found.get(at).map_or("(none)", String::as_str),
                expected.get(at).map_or("(none)", String::as_str)
            )));
        }
        let col = |i: usize| batch.column(i).clone();
        let floats = |i: usize| -> Result<Float64Array, TableError> {
            col(i)
                .as_any()
                .downcast_ref::<Float64Array>()
                .cloned()
                .ok_or_else(|| {
                    TableError::Columns(format!("column `{}` is not float64", expected[i]))
                })
        };
        let runs = col(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .cloned()
            .ok_or_else(|| TableError::Columns("column `run` is not int64".into()))?;
        let n = batch.num_rows();
        let k = self.parameters.len();
        let m = self.outputs.len();
        let t = self.targets.len();
        let params: Vec<Float64Array> = (1..=k).map(floats).collect::<Result<_, _>>()?;
        let outs: Vec<Float64Array> = (k + 1..=k + m).map(floats).collect::<Result<_, _>>()?;
        let tgts: Vec<BooleanArray> = (k + m + 1..=k + m + t)
            .map(|i| {
                col(i)
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .cloned()
                    .ok_or_else(|| {
                        TableError::Columns(format!("column `{}` is not boolean", expected[i]))
                    })
            })
            .collect::<Result<_, _>>()?;
        let ints = |i: usize| -> Result<Int64Array, TableError> {
            col(i)
                .as_any()
                .downcast_ref::<Int64Array>()
                .cloned()
                .ok_or_else(|| {
                    TableError::Columns(format!("column `{}` is not int64", expected[i]))
                })
        };
        let base = k + m + t + 1;
        let (warn, err) = (ints(base)?, ints(base + 1)?);
        let text = col(base + 2)
            .as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .ok_or_else(|| TableError::Columns("column `error` is not text".into()))?;
        let opt_f = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        let opt_i = |a: &Int64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        Ok((0..n)
            .map(|i| RunRow {
                run: runs.value(i),
                parameters: params.iter().map(|a| a.value(i)).collect(),
                outputs: outs.iter().map(|a| opt_f(a, i)).collect(),
                targets: tgts
                    .iter()
                    .map(|a| (!a.is_null(i)).then(|| a.value(i)))
                    .collect(),
                warnings: opt_i(&warn, i),
                errors: opt_i(&err, i),
                error: (!text.is_null(i)).then(|| text.value(i).to_string()),
            })
            .collect())
    }
}

/// What a sweep keeps of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub run: i64,
    pub parameters: Vec<f64>,
    pub outputs: Vec<Option<f64>>,
    pub targets: Vec<Option<bool>>,
    pub warnings: Option<i64>,
    pub errors: Option<i64>,
    /// The rule fault that stopped the run.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot build the results table: {0}")]
    Arrow(arrow_schema::ArrowError),
    #[error("cannot write or read the results as Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("the table does not have this sweep's columns: {0}")]
    Columns(String),
    #[error("the table was written by another plan (sweep hash {found}, this plan's is {expected}); plan again or use its own folder")]
    OtherPlan { found: String, expected: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The Parquet key under which a table records the plan it belongs to.
pub const PLAN_KEY: &str = "gil.sweep.plan";

/// Writes rows as one Parquet file, tagged with the plan's hash.
pub fn write_parquet<W: Write + Send>(
    layout: &Layout,
    rows: &[RunRow],
    plan_hash: &str,
    out: W,
) -> Result<(), TableError> {
    let batch = layout.batch(rows)?;
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(1 << 20))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            PLAN_KEY.to_string(),
            plan_hash.to_string(),
        )]))
        .build();
    let mut writer = ArrowWriter::try_new(out, batch.schema(), Some(properties))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(())
}

/// Reads a table this plan wrote.
pub fn read_parquet(
    layout: &Layout,
    path: &Path,
    plan_hash: &str,
) -> Result<Vec<RunRow>, TableError> {
    let file = std::fs::File::open(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let found = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == PLAN_KEY))
        .and_then(|k| k.value.clone())
        .unwrap_or_default();
    if found != plan_hash {
        return Err(TableError::OtherPlan {
            found: if found.is_empty() {
                "none".into()
            } else {
                found
            },
            expected: plan_hash.to_string(),
        });
    }
    let mut rows = Vec::new();
    for batch in builder.build()? {
        let batch = batch.map_err(TableError::Arrow)?;
        rows.extend(layout.rows(&batch)?);
    }
    Ok(rows)
}

/// Rows as CSV (`merge --csv`): the same columns, empty cells for missing values,
/// numbers in Rust's shortest round-trip form.
pub fn write_csv(layout: &Layout, rows: &[RunRow], out: &mut impl Write) -> std::io::Result<()> {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let names: Vec<String> = layout.column_names().iter().map(|n| quote(n)).collect();
    writeln!(out, "{}", names.join(","))?;
    let num = |v: Option<f64>| v.map(|v| format!("{v:?}")).unwrap_or_default();
    for r in rows {
        let mut cells = vec![r.run.to_string()];
        cells.extend(r.parameters.iter().map(|v| num(Some(*v))));
        cells.extend(r.outputs.iter().map(|v| num(*v)));
        cells.extend(
            r.targets
                .iter()
                .map(|v| v.map(|b| b.to_string()).unwrap_or_default()),
        );
        cells.push(r.warnings.map(|v| v.to_string()).unwrap_or_default());
        cells.push(r.errors.map(|v| v.to_string()).unwrap_or_default());
        cells.push(r.error.as_deref().map(quote).unwrap_or_default());
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}
