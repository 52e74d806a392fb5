//! awsQuery / ec2Query request bodies.
//!
//! A body such as
//! `Action=X&Tags.member.1.Key=a&Tags.member.1.Value=b&Filter.1.Name=vpc-id&Filter.1.Value.1=v`
//! becomes a tree: dotted keys are paths, numeric segments are list positions (1-based), and a
//! `member` (awsQuery) or `entry` level holding a list is collapsed into that list. Every leaf is
//! a string; [`NodeDeserializer`] parses numbers and booleans when the target type asks for one,
//! so a typed input struct can be filled straight from the tree with `serde`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

/// One level of a decoded query body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Value(String),
    Map(BTreeMap<String, Node>),
    List(Vec<Node>),
}

/// Why a form body could not be decoded into an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("missing required parameter {0}")]
    Missing(String),
    #[error("invalid value for parameter {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("conflicting parameter keys at {0}")]
    Conflict(String),
}

/// Parses an urlencoded body into `(flat pairs, tree)`.
pub fn parse(body: &[u8]) -> Result<Node, DecodeError> {
    let mut root = Node::Map(BTreeMap::new());
    for (key, value) in form_urlencoded::parse(body) {
        insert(&mut root, &key, value.into_owned())?;
    }
    Ok(normalize(root))
}

fn insert(root: &mut Node, key: &str, value: String) -> Result<(), DecodeError> {
    let conflict = || DecodeError::Conflict(key.to_string());
    let mut node = root;
    let mut segments = key.split('.').peekable();
    while let Some(seg) = segments.next() {
        // `Foo=` followed by `Foo.1=x`: the empty value was an empty-list placeholder.
        if matches!(node, Node::Value(v) if v.is_empty()) {
            *node = Node::Map(BTreeMap::new());
        }
        let Node::Map(map) = node else {
            return Err(conflict());
        };
        if segments.peek().is_none() {
            match map.get(seg) {
                Some(Node::Map(_)) if value.is_empty() => {}
                Some(Node::Map(_)) => return Err(conflict()),
                _ => {
                    map.insert(seg.to_string(), Node::Value(value));
                }
            }
            return Ok(());
        }
        node = map.entry(seg.to_string()).or_insert_with(|| Node::Map(BTreeMap::new()));
    }
    Ok(())
}

/// Turns maps whose keys are all positive integers into lists (ordered by index) and collapses
/// `member` / `entry` levels that hold a list.
fn normalize(node: Node) -> Node {
    match node {
        Node::Map(map) => {
            let numeric = !map.is_empty() && map.keys().all(|k| k.parse::<u32>().is_ok());
            if numeric {
                let mut items: Vec<(u32, Node)> = map
                    .into_iter()
                    .filter_map(|(k, v)| k.parse::<u32>().ok().map(|i| (i, normalize(v))))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                return Node::List(items.into_iter().map(|(_, v)| v).collect());
            }
            let mut out = BTreeMap::new();
            for (k, v) in map {
                out.insert(k, normalize(v));
            }
            if out.len() == 1 {
                for wrapper in ["member", "entry", "item"] {
                    if let Some(Node::List(_)) = out.get(wrapper)
                        && let Some(list) = out.remove(wrapper)
                    {
                        return list;
                    }
                }
            }
            Node::Map(out)
        }
        other => other,
    }
}

impl Node {
    /// The string at a top-level key (e.g. `Action`).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self {
            Node::Map(map) => match map.get(key) {
                Some(Node::Value(v)) => Some(v),
                _ => None,
            },
            _ => None,
        }
    }

    /// Deserializes a typed input from this tree.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        T::deserialize(NodeDeserializer { node: self, path: String::new() }).map_err(|e| e.0)
    }
}

/// A serde error carrying a [`DecodeError`].
#[derive(Debug)]
pub struct Error(DecodeError);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let msg = msg.to_string();
        // serde's derive reports absent fields as "missing field `Name`".
        if let Some(rest) = msg.strip_prefix("missing field `") {
            return Error(DecodeError::Missing(rest.trim_end_matches('`').to_string()));
        }
        Error(DecodeError::Invalid { field: String::new(), message: msg })
    }
}

/// Deserializes any `serde` type from a [`Node`], parsing scalars on demand.
pub struct NodeDeserializer<'a> {
    node: &'a Node,
    path: String,
}

impl<'a> NodeDeserializer<'a> {
    fn invalid(&self, message: impl Into<String>) -> Error {
        Error(DecodeError::Invalid { field: self.path.clone(), message: message.into() })
    }

    fn scalar(&self) -> Result<&'a str, Error> {
        match self.node {
            Node::Value(v) => Ok(v),
            _ => Err(self.invalid("expected a single value")),
        }
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, Error> {
        let raw = self.scalar()?;
        raw.trim().parse::<T>().map_err(|_| self.invalid(format!("'{raw}' is not a valid {what}")))
    }

    fn child(&self, node: &'a Node, key: &str) -> NodeDeserializer<'a> {
        let path = if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) };
        NodeDeserializer { node, path }
    }
}

macro_rules! parse_number {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.$visit(self.parse::<$ty>(stringify!($ty))?)
        }
    )*};
}

impl<'de, 'a> de::Deserializer<'de> for NodeDeserializer<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Value(v) => visitor.visit_str(v),
            Node::Map(_) => self.deserialize_map(visitor),
            Node::List(_) => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.scalar()?.trim() {
            "true" | "True" | "TRUE" => visitor.visit_bool(true),
            "false" | "False" | "FALSE" => visitor.visit_bool(false),
            other => Err(self.invalid(format!("'{other}' is not a valid boolean"))),
        }
    }

    parse_number! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_char(self.parse::<char>("character")?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.scalar()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bytes(self.scalar()?.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::List(items) => visitor.visit_seq(SeqAccess { de: &self, items: items.iter(), index: 0 }),
            // An empty list is sent as `Foo=`.
            Node::Value(v) if v.is_empty() => {
                visitor.visit_seq(SeqAccess { de: &self, items: [].iter(), index: 0 })
            }
            _ => Err(self.invalid("expected a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            Node::Map(map) => visitor.visit_map(MapAccess { de: &self, iter: map.iter(), value: None }),
            Node::Value(v) if v.is_empty() => {
                visitor.visit_map(MapAccess { de: &self, iter: EMPTY_MAP.iter(), value: None })
            }
            _ => Err(self.invalid("expected a structure")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let value: &'a str = self.scalar()?;
        visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(value))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct SeqAccess<'s, 'a> {
    de: &'s NodeDeserializer<'a>,
    items: std::slice::Iter<'a, Node>,
    index: usize,
}

impl<'de, 's, 'a> de::SeqAccess<'de> for SeqAccess<'s, 'a> {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(node) => {
                self.index += 1;
                let child = self.de.child(node, &self.index.to_string());
                seed.deserialize(child).map(Some)
            }
            None => Ok(None),
        }
    }
}

static EMPTY_MAP: BTreeMap<String, Node> = BTreeMap::new();

struct MapAccess<'s, 'a, 'm> {
    de: &'s NodeDeserializer<'a>,
    iter: std::collections::btree_map::Iter<'m, String, Node>,
    value: Option<(&'m str, &'m Node)>,
}

impl<'de, 's, 'a: 'm, 'm> de::MapAccess<'de> for MapAccess<'s, 'a, 'm> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some((k.as_str(), v));
                seed.deserialize(IntoDeserializer::<Error>::into_deserializer(k.as_str())).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (key, node) = self
            .value
            .take()
            .ok_or_else(|| Error(DecodeError::Conflict("value requested before key".into())))?;
        seed.deserialize(self.de.child(node, key))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Tag {
        key: String,
        value: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct CreateRole {
        role_name: String,
        path: Option<String>,
        max_session_duration: Option<i32>,
        #[serde(default)]
        tags: Vec<Tag>,
    }

    #[test]
    fn decodes_the_iam_create_role_body_terraform_sends() {
        // From tftrace-samples/30_iam_CreateRole_GetRole_ListRolePolicies_ListAttached.txt
        let body = b"Action=CreateRole&AssumeRolePolicyDocument=%7B%22Statement%22%3A%5B%5D%7D&MaxSessionDuration=3600&Path=%2F&RoleName=ecs-task-execution-role&Version=2010-05-08";
        let tree = parse(body).unwrap();
        assert_eq!(tree.get_str("Action"), Some("CreateRole"));
        let input: CreateRole = tree.decode().unwrap();
        assert_eq!(
            input,
            CreateRole {
                role_name: "ecs-task-execution-role".into(),
                path: Some("/".into()),
                max_session_duration: Some(3600),
                tags: vec![],
            }
        );
    }

    #[test]
    fn member_lists_collapse_and_keep_their_order() {
        let body =
            b"RoleName=r&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.10.Key=c";
        let input: CreateRole = parse(body).unwrap().decode().unwrap();
        let keys: Vec<_> = input.tags.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(input.tags[0].value.as_deref(), Some("1"));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Filter {
        #[serde(rename = "Name")]
        name: String,
        #[serde(rename = "Value", default)]
        values: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct DescribeRouteTables {
        #[serde(rename = "Filter", default)]
        filters: Vec<Filter>,
        #[serde(rename = "RouteTableId", default)]
        ids: Vec<String>,
    }

    #[test]
    fn ec2_filters_decode_into_lists() {
        // From tftrace-samples/12_ec2_CreateRouteTable_DescribeRouteTables.txt
        let body = b"Action=DescribeRouteTables&Filter.1.Name=association.main&Filter.1.Value.1=true&Filter.2.Name=vpc-id&Filter.2.Value.1=vpc-1&Version=2016-11-15";
        let input: DescribeRouteTables = parse(body).unwrap().decode().unwrap();
        assert_eq!(input.filters.len(), 2);
        assert_eq!(input.filters[0], Filter { name: "association.main".into(), values: vec!["true".into()] });
        assert_eq!(input.filters[1].values, ["vpc-1"]);
        assert!(input.ids.is_empty());
    }

    #[test]
    fn an_empty_value_is_an_empty_list() {
        let input: CreateRole = parse(b"RoleName=r&Tags=").unwrap().decode().unwrap();
        assert!(input.tags.is_empty());
    }

    #[test]
    fn missing_and_invalid_fields_are_reported_by_name() {
        let err = parse(b"Path=%2F").unwrap().decode::<CreateRole>().unwrap_err();
        assert_eq!(err, DecodeError::Missing("RoleName".into()));
        let err = parse(b"RoleName=r&MaxSessionDuration=abc").unwrap().decode::<CreateRole>().unwrap_err();
        assert!(
            matches!(&err, DecodeError::Invalid { field, .. } if field == "MaxSessionDuration"),
            "{err:?}"
        );
    }

    #[test]
    fn conflicting_keys_do_not_panic() {
        assert!(parse(b"A=1&A.B=2").is_err());
        assert!(parse(b"A.B=2&A=1").is_err());
        // Garbage in any shape decodes to an error or a value, never a panic.
        for body in [&b"&&&==="[..], b"%%%", b"a.1.2.3=x&a.1=y", b".=.", b"a..b=1", b"\xff\xfe=1"] {
            let _ = parse(body).map(|t| t.decode::<CreateRole>());
        }
    }
}
