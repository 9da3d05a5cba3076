//! gil's outcome as tables for analysts (`--format parquet --out DIR`): one Arrow
//! record batch per table, written as a Parquet file that pandas, polars, DuckDB and
//! Arrow read as it is.
//!
//! Each table is tidy: one row per observation, one column per variable, rows in the
//! outcome's own order (year, then the sorted ids), so the same inputs give the same
//! bytes. Strings are plain UTF-8 columns, dictionary-encoded in the file by Parquet.
//! `docs/tables.md` lists every table and column.

mod columns;
mod outcome;
mod synthetic;

use std::io::Write;
use std::sync::Arc;

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

pub use outcome::{outcome_tables, summary};
pub use synthetic::entity_table;

/// One table: its file stem (`metrics` → `metrics.parquet`) and its rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    pub batch: RecordBatch,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot build the `{table}` table: {source}")]
    Arrow {
        table: &'static str,
        source: arrow_schema::ArrowError,
    },
    #[error("cannot write the `{table}` table as Parquet: {source}")]
    Parquet {
        table: &'static str,
        source: parquet::errors::ParquetError,
    },
}

impl Table {
    /// The table's file name in the output folder.
    pub fn file_name(&self) -> String {
        format!("{}.parquet", self.name)
    }

    /// Writes the table as one Parquet file (one row group per 1M rows).
    pub fn write_parquet<W: Write + Send>(&self, out: W) -> Result<(), TableError> {
        let parquet = |source| TableError::Parquet {
            table: self.name,
            source,
        };
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1 << 20))
            .build();
        let mut writer =
            ArrowWriter::try_new(out, self.batch.schema(), Some(properties)).map_err(parquet)?;
        writer.write(&self.batch).map_err(parquet)?;
        writer.close().map_err(parquet)?;
        Ok(())
    }
}

/// A record batch from named columns, or the Arrow error naming the table.
fn batch(
    table: &'static str,
    columns: Vec<(&'static str, columns::Column)>,
) -> Result<Table, TableError> {
    let (fields, arrays): (Vec<_>, Vec<_>) = columns
        .into_iter()
        .map(|(name, column)| column.finish(name))
        .unzip();
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    let batch = RecordBatch::try_new(schema, arrays)
        .map_err(|source| TableError::Arrow { table, source })?;
    Ok(Table { name: table, batch })
}
