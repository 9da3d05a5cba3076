//! What plain (unquoted) scalars mean: null, booleans and numbers under YAML 1.2's core
//! schema, everything else a string.

pub fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// What a plain scalar means under YAML 1.2's core schema, plus `1_000` digit grouping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plain {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str,
}

pub fn resolve_plain(text: &str) -> Plain {
    match text {
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        _ => {}
    }
    let first = text.trim_start_matches(['-', '+']).chars().next();
    if !matches!(first, Some(c) if c.is_ascii_digit() || c == '.') {
        return Plain::Str;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .map(Plain::Int)
            .unwrap_or(Plain::Str);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8)
            .map(Plain::Int)
            .unwrap_or(Plain::Str);
    }
    // Digit grouping (`100_000_000`) is allowed between digits only.
    let grouped = text.contains('_');
    if grouped {
        let bytes = text.as_bytes();
        let well_placed = bytes.iter().enumerate().all(|(i, &b)| {
            b != b'_'
                || (i > 0
                    && bytes.get(i - 1).is_some_and(u8::is_ascii_digit)
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        });
        if !well_placed {
            return Plain::Str;
        }
    }
    // Only a grouped number needs a copy without its `_`s.
    let ungrouped;
    let digits = if grouped {
        ungrouped = text.replace('_', "");
        ungrouped.as_str()
    } else {
        text
    };
    let numeric = digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !numeric {
        return Plain::Str;
    }
    if let Ok(i) = digits.parse::<i64>() {
        return Plain::Int(i);
    }
    match digits.parse::<f64>() {
        Ok(f) => Plain::Float(f),
        Err(_) => Plain::Str,
    }
}
