//! Key paths (`flows[3].to`) that name a node in messages.

use std::fmt;

/// The key path of a node, e.g. `flows[3].to`, built lazily as the deserializer descends.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Key(parent, key) => {
                let parent_text = parent.to_string();
                if parent_text.is_empty() {
                    f.write_str(key)
                } else {
                    write!(f, "{parent_text}.{key}")
                }
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}
