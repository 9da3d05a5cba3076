//! The serde `Deserializer` over the spanned tree: typed structs from nodes, errors
//! located at the failing node with its key path, `Spanned<T>` filled with positions.

use serde::de::{
    self, DeserializeSeed, Deserializer, Error as _, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

use super::error::YamlError;
use super::node::{Node, NodeKind};
use super::path::Path;
use super::scalar::{resolve_plain, Plain};
use crate::code::Code;
use crate::span::{
    Span, SPANNED_END, SPANNED_FIELDS, SPANNED_FILE, SPANNED_NAME, SPANNED_START, SPANNED_VALUE,
};

/// Deserializes `T` from a node; errors carry the span and path of the failing node.
pub fn from_node<'de, T: de::Deserialize<'de>>(
    node: &Node,
    path: &Path<'_>,
) -> Result<T, YamlError> {
    T::deserialize(NodeDe { node, path: *path })
}

#[derive(Clone, Copy)]
struct NodeDe<'n, 'p> {
    node: &'n Node,
    path: Path<'p>,
}

impl NodeDe<'_, '_> {
    fn wrap<T>(&self, r: Result<T, YamlError>) -> Result<T, YamlError> {
        r.map_err(|e| e.at(self.node.span, &self.path))
    }
}

macro_rules! forward_to_any {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for NodeDe<'_, '_> {
    type Error = YamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        let result = match &self.node.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Scalar { text, plain: true } => match resolve_plain(text) {
                Plain::Int(i) => visitor.visit_i64(i),
                Plain::Float(f) if !f.is_finite() => Err(YamlError {
                    message: format!("`{text}` is not a finite number"),
                    span: None,
                    path: None,
                    help: Some("amounts must be finite; write the value in a smaller unit".into()),
                    code: Code::NonFinite,
                }),
                Plain::Float(f) => visitor.visit_f64(f),
                Plain::Bool(b) => visitor.visit_bool(b),
                Plain::Str => visitor.visit_str(text),
            },
            NodeKind::Scalar { text, plain: false } => visitor.visit_str(text),
            NodeKind::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter(),
                index: 0,
                path: self.path,
            }),
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                path: self.path,
            }),
        };
        self.wrap(result)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => self.wrap(visitor.visit_str(text)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match &self.node.kind {
            NodeKind::Null => self.wrap(visitor.visit_none()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        if name == SPANNED_NAME {
            let span = self.node.span;
            return visitor.visit_map(SpannedDe {
                de: self,
                span,
                field: 0,
            });
        }
        // A struct written as something other than a mapping gets a plain message.
        if !matches!(self.node.kind, NodeKind::Map(_)) {
            let what = self.node.describe();
            let _ = fields;
            return Err(YamlError {
                message: format!("expected a mapping, found {what}"),
                span: Some(self.node.span),
                path: Some(self.path.to_string()),
                help: None,
                code: Code::WrongType,
            });
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => {
                let r = visitor.visit_enum(text.as_str().into_deserializer());
                self.wrap(r)
            }
            _ => Err(
                YamlError::custom(format!("expected a name, found {}", self.node.describe()))
                    .at(self.node.span, &self.path),
            ),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        visitor.visit_unit()
    }

    forward_to_any! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_seq deserialize_map
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, YamlError> {
        self.deserialize_any(v)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, YamlError> {
        self.deserialize_any(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, YamlError> {
        self.deserialize_any(v)
    }
}

struct SeqDe<'n, 'p> {
    items: std::slice::Iter<'n, Node>,
    index: usize,
    path: Path<'p>,
}

impl<'de> SeqAccess<'de> for SeqDe<'_, '_> {
    type Error = YamlError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, YamlError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(&self.path, self.index);
        self.index += 1;
        seed.deserialize(NodeDe { node, path })
            .map(Some)
            .map_err(|e| e.at(node.span, &path))
    }
}

struct MapDe<'n, 'p> {
    entries: std::slice::Iter<'n, (Node, Node)>,
    value: Option<(&'n Node, &'n Node)>,
    path: Path<'p>,
}

impl<'de> MapAccess<'de> for MapDe<'_, '_> {
    type Error = YamlError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, YamlError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        let key_text = key.as_str().unwrap_or("?");
        let path = Path::Key(&self.path, key_text);
        seed.deserialize(NodeDe { node: key, path })
            .map(Some)
            .map_err(|e| e.at(key.span, &path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, YamlError> {
        let Some((key, node)) = self.value.take() else {
            return Err(YamlError::custom("value without a key"));
        };
        let key_text = key.as_str().unwrap_or("?");
        let path = Path::Key(&self.path, key_text);
        seed.deserialize(NodeDe { node, path })
            .map_err(|e| e.at(node.span, &path))
    }
}

struct SpannedDe<'n, 'p> {
    de: NodeDe<'n, 'p>,
    span: Span,
    field: usize,
}

impl<'de> MapAccess<'de> for SpannedDe<'_, '_> {
    type Error = YamlError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, YamlError> {
        let Some(name) = SPANNED_FIELDS.get(self.field) else {
            return Ok(None);
        };
        seed.deserialize(de::value::BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, YamlError> {
        let name = SPANNED_FIELDS
            .get(self.field)
            .copied()
            .unwrap_or(SPANNED_VALUE);
        self.field += 1;
        match name {
            SPANNED_FILE => seed.deserialize(self.span.file.into_deserializer()),
            SPANNED_START => seed.deserialize((self.span.start as usize).into_deserializer()),
            SPANNED_END => seed.deserialize((self.span.end as usize).into_deserializer()),
            _ => seed.deserialize(self.de),
        }
    }
}
