//! Finding calls in Luau source text without running it: `require("…")` (for
//! `modules.rs`) and `ctx.param("…")` (for the `params` check), skipping comments and
//! strings. Only calls whose argument is one string literal are read; a call with any
//! other argument is reported without one.

/// One call found in a file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiteralCall {
    /// The string literal argument, or `None` when the argument is something else.
    pub(crate) argument: Option<String>,
    pub(crate) line: u32,
}

/// The calls of `callee` (a dotted name: `["require"]`, `["ctx", "param"]`) in Luau
/// source text, outside comments and strings.
pub(crate) fn literal_calls(text: &str, callee: &[&str]) -> Vec<LiteralCall> {
    let bytes = text.as_bytes();
    let mut calls = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    // The last significant byte before an identifier, and the dotted name being read:
    // `x.require` is not a call of `require`, and `x:param` is not `ctx.param`.
    let mut previous = b' ';
    let mut chain: Vec<&[u8]> = Vec::new();
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i += 2;
                match long_bracket(bytes, i) {
                    Some(level) => i = skip_long(bytes, i, level, &mut line),
                    None => {
                        while i < bytes.len() && bytes[i] != b'\n' {
                            i += 1;
                        }
                    }
                }
            }
            b'"' | b'\'' | b'`' => {
                i = skip_quoted(bytes, i, &mut line).0;
                previous = b'"';
            }
            b'[' if long_bracket(bytes, i).is_some() => {
                let level = long_bracket(bytes, i).unwrap_or(0);
                i = skip_long(bytes, i, level, &mut line);
                previous = b'"';
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if previous == b'.' {
                    chain.push(&bytes[start..i]);
                } else {
                    chain.clear();
                    if previous != b':' {
                        chain.push(&bytes[start..i]);
                    }
                }
                let named = chain.len() == callee.len()
                    && chain.iter().zip(callee).all(|(a, b)| *a == b.as_bytes());
                if named {
                    let call_line = line;
                    let mut j = skip_space(bytes, i, &mut line);
                    let parenthesised = bytes.get(j) == Some(&b'(');
                    if parenthesised {
                        j = skip_space(bytes, j + 1, &mut line);
                    }
                    match bytes.get(j) {
                        Some(b'"') | Some(b'\'') => {
                            let (end, literal) = skip_quoted(bytes, j, &mut line);
                            // `f("a" .. b)` is not a literal argument: only `)` may follow.
                            let mut after = end;
                            while after < bytes.len() && bytes[after].is_ascii_whitespace() {
                                after += 1;
                            }
                            let alone = !parenthesised || bytes.get(after) == Some(&b')');
                            calls.push(LiteralCall {
                                argument: literal.filter(|_| alone),
                                line: call_line,
                            });
                            i = end;
                        }
                        _ if parenthesised => calls.push(LiteralCall {
                            argument: None,
                            line: call_line,
                        }),
                        _ => {}
                    }
                }
                previous = b'a';
            }
            _ => {
                if !b.is_ascii_whitespace() {
                    previous = b;
                }
                i += 1;
            }
        }
    }
    calls
}

fn skip_space(bytes: &[u8], mut i: usize, line: &mut u32) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        if bytes[i] == b'\n' {
            *line += 1;
        }
        i += 1;
    }
    i
}

/// Skips a quoted string starting at `start`; returns the index after it and its text
/// when it holds no escapes (a path with escapes is not taken as a literal).
fn skip_quoted(bytes: &[u8], start: usize, line: &mut u32) -> (usize, Option<String>) {
    let quote = bytes[start];
    let mut i = start + 1;
    let mut escaped = false;
    while i < bytes.len() && bytes[i] != quote {
        match bytes[i] {
            b'\\' => {
                escaped = true;
                i += 1;
                if bytes.get(i) == Some(&b'\n') {
                    *line += 1;
                }
            }
            b'\n' => {
                *line += 1;
                if quote != b'`' {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let literal = (!escaped && i < bytes.len())
        .then(|| String::from_utf8_lossy(&bytes[start + 1..i]).into_owned());
    (i + 1, literal)
}

/// The level of a long bracket (`[[`, `[=[`, …) opening at `i`.
fn long_bracket(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes.get(i) != Some(&b'[') {
        return None;
    }
    let mut j = i + 1;
    while bytes.get(j) == Some(&b'=') {
        j += 1;
    }
    (bytes.get(j) == Some(&b'[')).then_some(j - i - 1)
}

/// Skips a long bracket of `level` opening at `i`; returns the index after it.
fn skip_long(bytes: &[u8], i: usize, level: usize, line: &mut u32) -> usize {
    let mut j = i + level + 2;
    while j < bytes.len() {
        if bytes[j] == b'\n' {
            *line += 1;
        }
        if bytes[j] == b']'
            && bytes
                .get(j + 1..j + 1 + level)
                .is_some_and(|s| s.iter().all(|&c| c == b'='))
            && bytes.get(j + 1 + level) == Some(&b']')
        {
            return j + level + 2;
        }
        j += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::{literal_calls, LiteralCall};

    fn calls(text: &str) -> Vec<(Option<String>, u32)> {
        literal_calls(text, &["require"])
            .into_iter()
            .map(|LiteralCall { argument, line }| (argument, line))
            .collect()
    }

    #[test]
    fn requires_are_found_outside_comments_and_strings() {
        let text = r#"-- require("./not_this")
--[[ require("./nor_this")
]]
local s = "require('./nor_in_a_string')"
local tags = require("./tags")
local rates = require '../lib/rates'
local x = M.require("./method")
local dynamic = require(name)
local later = require(
  "@lib/later")
local built = require("./a" .. b)
"#;
        assert_eq!(
            calls(text),
            vec![
                (Some("./tags".to_string()), 5),
                (Some("../lib/rates".to_string()), 6),
                (None, 8),
                (Some("@lib/later".to_string()), 9),
                (None, 11),
            ]
        );
    }

    #[test]
    fn dotted_callees_match_the_whole_name() {
        let text = "local a = ctx.param('x')\nlocal b = other.param('y')\nlocal c = ctx:param('z')\nlocal d = param('w')\n";
        let found: Vec<(Option<String>, u32)> = literal_calls(text, &["ctx", "param"])
            .into_iter()
            .map(|LiteralCall { argument, line }| (argument, line))
            .collect();
        assert_eq!(found, vec![(Some("x".to_string()), 1)]);
    }
}
