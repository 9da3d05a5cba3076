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
    for (i, field) in schema.fields().iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        push_quoted(&mut text, field.name());
    }
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

/// Appends `cell` as CSV writes it: quoted when it holds a comma, a quote or a line end.
fn push_quoted(text: &mut String, cell: &str) {
    if cell.contains([',', '"', '\n', '\r']) {
        text.push('"');
        text.push_str(&cell.replace('"', "\"\""));
        text.push('"');
    } else {
        text.push_str(cell);
    }
}

/// Appends every row of `batch`, cell by cell straight into `text` (no string per cell:
/// a national table has millions).
fn render(batch: &RecordBatch, text: &mut String) {
    let columns: Vec<&dyn Array> = batch.columns().iter().map(|c| c.as_ref()).collect();
    // A dictionary column's values, rendered once (quoted as CSV needs).
    let dictionaries: Vec<Option<(Vec<String>, Vec<usize>)>> = columns
        .iter()
        .map(|array| match array.data_type() {
            DataType::Dictionary(_, _) => {
                let dictionary = array.as_any_dictionary();
                let values = dictionary.values();
                let rendered = (0..values.len())
                    .map(|i| {
                        let mut cell = String::new();
                        push_cell(&mut cell, values.as_ref(), i, None);
                        cell
                    })
                    .collect();
                Some((rendered, dictionary.normalized_keys()))
            }
            _ => None,
        })
        .collect();
    for row in 0..batch.num_rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let dictionary = dictionaries.get(i).and_then(Option::as_ref);
            push_cell(text, *column, row, dictionary);
        }
        text.push('\n');
    }
}

/// Appends an integer as Rust writes it, without the formatting machinery (a national
/// table has millions of them).
fn push_integer(text: &mut String, value: impl itoa::Integer) -> std::fmt::Result {
    text.push_str(itoa::Buffer::new().format(value));
    Ok(())
}

/// Appends the cell at `row` of `array` ("" for a null): text quoted as CSV needs,
/// numbers and booleans as Rust writes them; a dictionary's value from `dictionary`.
fn push_cell(
    text: &mut String,
    array: &dyn Array,
    row: usize,
    dictionary: Option<&(Vec<String>, Vec<usize>)>,
) {
    if array.is_null(row) {
        return;
    }
    let _ = match array.data_type() {
        DataType::Utf8 => {
            push_quoted(text, array.as_string::<i32>().value(row));
            Ok(())
        }
        DataType::LargeUtf8 => {
            push_quoted(text, array.as_string::<i64>().value(row));
            Ok(())
        }
        DataType::Utf8View => {
            push_quoted(text, array.as_string_view().value(row));
            Ok(())
        }
        DataType::Boolean => write!(text, "{}", array.as_boolean().value(row)),
        DataType::Int8 => push_integer(text, array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => push_integer(text, array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => push_integer(text, array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => push_integer(text, array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => push_integer(text, array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => push_integer(text, array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => push_integer(text, array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => push_integer(text, array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => write!(text, "{}", array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => write!(text, "{}", array.as_primitive::<Float64Type>().value(row)),
        DataType::Dictionary(_, _) => {
            if let Some(cell) =
                dictionary.and_then(|(values, keys)| keys.get(row).and_then(|&k| values.get(k)))
            {
                text.push_str(cell);
            }
            Ok(())
        }
        // `readable` admits nothing else; a null column is all empty cells.
        _ => Ok(()),
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, DictionaryArray, Float64Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn cells_are_written_as_csv_quotes_them_and_nulls_are_empty() {
        let note: ArrayRef = Arc::new(StringArray::from(vec![
            Some("plain"),
            Some("a, b"),
            Some("say \"hi\""),
            None,
        ]));
        let kind: ArrayRef = Arc::new(
            vec![Some("x,y"), Some("z"), None, Some("z")]
                .into_iter()
                .collect::<DictionaryArray<Int32Type>>(),
        );
        let count: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(-3), Some(4)]));
        let amount: ArrayRef = Arc::new(Float64Array::from(vec![0.5, 1e11, 2.0, -0.25]));
        let batch = RecordBatch::try_from_iter([
            ("note", note),
            ("kind", kind),
            ("count", count),
            ("amount", amount),
        ])
        .unwrap();
        let mut text = String::new();
        render(&batch, &mut text);
        assert_eq!(
            text,
            "plain,\"x,y\",1,0.5\n\"a, b\",z,,100000000000\n\"say \"\"hi\"\"\",,-3,2\n,z,4,-0.25\n"
        );
    }
}
