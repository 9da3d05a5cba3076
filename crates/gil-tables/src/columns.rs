//! Columns filled row by row, then frozen into Arrow arrays with their schema field.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int32Builder, StringBuilder};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};

/// A column being filled. Every value may be missing (null) unless the column says
/// otherwise when it is finished.
pub(crate) enum Column {
    Int(Int32Builder, bool),
    Float(Float64Builder, bool),
    Text(StringBuilder, bool),
    Bool(BooleanBuilder, bool),
}

impl Column {
    /// A column whose every row has a value.
    pub(crate) fn int() -> Self {
        Column::Int(Int32Builder::new(), false)
    }
    pub(crate) fn float() -> Self {
        Column::Float(Float64Builder::new(), false)
    }
    pub(crate) fn text() -> Self {
        Column::Text(StringBuilder::new(), false)
    }
    pub(crate) fn bool() -> Self {
        Column::Bool(BooleanBuilder::new(), false)
    }

    /// The same column, allowed to hold nulls.
    pub(crate) fn nullable(self) -> Self {
        match self {
            Column::Int(b, _) => Column::Int(b, true),
            Column::Float(b, _) => Column::Float(b, true),
            Column::Text(b, _) => Column::Text(b, true),
            Column::Bool(b, _) => Column::Bool(b, true),
        }
    }

    pub(crate) fn push_int(&mut self, v: Option<i32>) {
        if let Column::Int(b, _) = self {
            b.append_option(v);
        }
    }
    pub(crate) fn push_float(&mut self, v: Option<f64>) {
        if let Column::Float(b, _) = self {
            b.append_option(v);
        }
    }
    pub(crate) fn push_text(&mut self, v: Option<&str>) {
        if let Column::Text(b, _) = self {
            b.append_option(v);
        }
    }
    pub(crate) fn push_bool(&mut self, v: Option<bool>) {
        if let Column::Bool(b, _) = self {
            b.append_option(v);
        }
    }

    pub(crate) fn finish(self, name: &str) -> (Field, ArrayRef) {
        let (data_type, nullable, array): (DataType, bool, ArrayRef) = match self {
            Column::Int(mut b, n) => (DataType::Int32, n, Arc::new(b.finish())),
            Column::Float(mut b, n) => (DataType::Float64, n, Arc::new(b.finish())),
            Column::Text(mut b, n) => (DataType::Utf8, n, Arc::new(b.finish())),
            Column::Bool(mut b, n) => (DataType::Boolean, n, Arc::new(b.finish())),
        };
        (Field::new(name, data_type, nullable), array)
    }
}
