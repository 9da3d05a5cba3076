//! Parquet tables in: a `{ table: firms.parquet }` is read with the `parquet` crate and
//! rendered as the CSV text [`crate::table`] reads, one row per line under a header of
//! the column names. Every check and message is then the CSV one, and a position in a
//! Parquet table is its row (the header is line 1) and the cell's place in the row as
//! the message shows it.

use std::fmt::Write;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The table as CSV text, or why it cannot be read (a sentence for the message).
pub(crate) fn parquet_as_csv(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("not a Parquet file gil can read: {e}"))?;
    let schema = builder.schema().clone();
    for field in schema.fields() {
        if !readable(field.data_type()) {
            return Err(format!(
                "the column `{}` holds {}; gil reads text, numbers and booleans",
                field.name(),
                field.data_type()
            ));
        }
    }
    let reader = builder.build().map_err(|e| e.to_string())?;
    let mut text = String::new();
    let names: Vec<String> = schema.fields().iter().map(|f| quoted(f.name())).collect();
    text.push_str(&names.join(","));
    text.push('\n');
    for batch in reader {
        let batch = batch.map_err(|e| format!("cannot read a row group: {e}"))?;
        render(&batch, &mut text);
    }
    Ok(text)
}

fn readable(t: &DataType) -> bool {
    match t {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Null => true,
        DataType::Dictionary(_, values) => readable(values),
        _ => false,
    }
}

/// A cell as CSV writes it: quoted when it holds a comma, a quote or a line end.
fn quoted(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// Appends every row of `batch`.
fn render(batch: &RecordBatch, text: &mut String) {
    let columns: Vec<Vec<String>> = batch.columns().iter().map(|c| cells(c.as_ref())).collect();
    for row in 0..batch.num_rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            if let Some(cell) = column.get(row) {
                text.push_str(&quoted(cell));
            }
        }
        text.push('\n');
    }
}

/// A column's cells as text, "" for a null.
fn cells(array: &dyn Array) -> Vec<String> {
    fn each<T: std::fmt::Display>(
        array: &dyn Array,
        n: usize,
        value: impl Fn(usize) -> T,
    ) -> Vec<String> {
        (0..n)
            .map(|i| {
                if array.is_null(i) {
                    String::new()
                } else {
                    let mut s = String::new();
                    let _ = write!(s, "{}", value(i));
                    s
                }
            })
            .collect()
    }
    let n = array.len();
    match array.data_type() {
        DataType::Utf8 => each(array, n, |i| array.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => each(array, n, |i| array.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => each(array, n, |i| array.as_string_view().value(i).to_string()),
        DataType::Boolean => each(array, n, |i| array.as_boolean().value(i)),
        DataType::Int8 => each(array, n, |i| array.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => each(array, n, |i| array.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => each(array, n, |i| array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => each(array, n, |i| array.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => each(array, n, |i| array.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => each(array, n, |i| array.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => each(array, n, |i| array.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => each(array, n, |i| array.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => each(array, n, |i| array.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => each(array, n, |i| array.as_primitive::<Float64Type>().value(i)),
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let values = cells(dictionary.values().as_ref());
            let keys = dictionary.normalized_keys();
            (0..n)
                .map(|i| {
                    if array.is_null(i) {
                        String::new()
                    } else {
                        keys.get(i)
                            .and_then(|&k| values.get(k))
                            .cloned()
                            .unwrap_or_default()
                    }
                })
                .collect()
        }
        // `readable` admits nothing else; a null column is all empty cells.
        _ => vec![String::new(); n],
    }
}
