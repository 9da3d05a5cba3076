//! The synthetic workload's entity tables as Parquet (`gil gen synthetic --tables
//! parquet`): the national registry a benchmark of Parquet loading reads.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use gil_synthetic::{Cells, EntityTable};

use crate::{Table, TableError};

/// The entity table as one record batch: integer columns as Int64, text columns as
/// UTF-8, an absent value as a null.
pub fn entity_table(table: &EntityTable) -> Result<Table, TableError> {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = table
        .columns
        .iter()
        .map(|(name, cells)| match cells {
            Cells::Int(values) => (
                Field::new(*name, DataType::Int64, true),
                Arc::new(Int64Array::from(values.clone())) as ArrayRef,
            ),
            Cells::Text(values) => (
                Field::new(*name, DataType::Utf8, true),
                Arc::new(StringArray::from(values.clone())) as ArrayRef,
            ),
        })
        .unzip();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|source| {
        TableError::Arrow {
            table: table.name,
            source,
        }
    })?;
    Ok(Table {
        name: table.name,
        batch,
    })
}
