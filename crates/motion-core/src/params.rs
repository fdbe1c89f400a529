//! Value typing of request parameters (api-contract.md §2.3).
//!
//! Parameters arrive as JSON values (a JSON body) or as text (query string,
//! multipart text parts, form bodies). [`Params`] keeps every occurrence in
//! arrival order, so that duplicates can be reported, and offers typed getters
//! that apply the contract's rules:
//!
//! - JSON `null` and the empty string are absent, for every kind;
//! - strings are never trimmed; a non-string JSON value for a string is an error;
//! - integers: a JSON number without fraction or exponent, or decimal text
//!   (`-?[0-9]+`), also inside a JSON string;
//! - booleans: JSON `true`/`false`, or `true`/`false`/`1`/`0` in any case.
//!
//! Integer and boolean type errors use the row of the parameter, so the caller
//! passes the [`ErrorCode`] to answer with.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::Value;

use crate::error::ErrorCode;

/// One parameter value as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// From a JSON body.
    Json(Value),
    /// From a text transport (query, multipart, form).
    Text(String),
}

/// All parameters of one source (a query string or one body), in arrival order,
/// duplicates included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    entries: Vec<(String, RawValue)>,
}

/// Why a JSON body could not become [`Params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonBodyError {
    /// Not parseable JSON: `Request body is not valid JSON`.
    Invalid,
    /// Valid JSON but not an object: `Request body must be a JSON object`.
    NotObject,
}

impl From<JsonBodyError> for ErrorCode {
    fn from(e: JsonBodyError) -> Self {
        match e {
            JsonBodyError::Invalid => ErrorCode::BodyNotJson,
            JsonBodyError::NotObject => ErrorCode::BodyNotObject,
        }
    }
}

impl Params {
    /// An empty set (an empty body counts as `{}`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Text pairs (query string, form, multipart), in arrival order.
    pub fn from_text_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            entries: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), RawValue::Text(v.into())))
                .collect(),
        }
    }

    /// Parses `application/x-www-form-urlencoded` text (`+` is a space).
    pub fn from_urlencoded(input: &[u8]) -> Self {
        Self::from_text_pairs(
            url::form_urlencoded::parse(input).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )
    }

    /// Parses a JSON body that must be one object. Keys given twice are kept twice
    /// (serde_json's `Value` would silently keep only the last).
    pub fn from_json(body: &[u8]) -> Result<Self, JsonBodyError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed = TopLevel.deserialize(&mut de);
        // Trailing garbage after the object makes the whole body invalid JSON.
        let end = de.end();
        match (parsed, end) {
            (Ok(Some(entries)), Ok(())) => Ok(Self { entries }),
            (Ok(None), Ok(())) => Err(JsonBodyError::NotObject),
            _ => Err(JsonBodyError::Invalid),
        }
    }

    /// Adds one occurrence (used by the multipart reader).
    pub fn push_text(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries
            .push((name.into(), RawValue::Text(value.into())));
    }

    /// True when no parameter was given.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first of `known` (in arrival order of its second occurrence) that is given
    /// more than once: `Parameter <name> is given more than once`.
    pub fn check_duplicates(&self, known: &[&str]) -> Result<(), ErrorCode> {
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in &self.entries {
            if !known.contains(&name.as_str()) {
                continue;
            }
            if seen.contains(&name.as_str()) {
                return Err(ErrorCode::ParamDuplicate { name: name.clone() });
            }
            seen.push(name);
        }
        Ok(())
    }

    /// The raw value of `name`, `None` when absent (null and `""` included).
    /// Duplicates must have been rejected before with [`Params::check_duplicates`];
    /// if not, the first occurrence wins.
    pub fn raw(&self, name: &str) -> Option<&RawValue> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .filter(|v| !is_absent(v))
    }

    /// A string parameter. Non-string JSON gets `Parameter <name> must be a string`.
    pub fn string(&self, name: &str) -> Result<Option<String>, ErrorCode> {
        match self.raw(name) {
            None => Ok(None),
            Some(RawValue::Text(t)) => Ok(Some(t.clone())),
            Some(RawValue::Json(Value::String(s))) => Ok(Some(s.clone())),
            Some(RawValue::Json(_)) => Err(ErrorCode::ParamNotString {
                name: name.to_owned(),
            }),
        }
    }

    /// An integer parameter; any type error answers `on_error`. Range checks are
    /// the caller's (they use the same row).
    pub fn integer(&self, name: &str, on_error: ErrorCode) -> Result<Option<i64>, ErrorCode> {
        match self.raw(name) {
            None => Ok(None),
            Some(RawValue::Text(t)) | Some(RawValue::Json(Value::String(t))) => {
                parse_integer_text(t).map(Some).ok_or(on_error)
            }
            Some(RawValue::Json(Value::Number(n))) => n.as_i64().map(Some).ok_or(on_error),
            Some(RawValue::Json(_)) => Err(on_error),
        }
    }

    /// A boolean parameter; any type error answers `on_error`.
    pub fn boolean(&self, name: &str, on_error: ErrorCode) -> Result<Option<bool>, ErrorCode> {
        match self.raw(name) {
            None => Ok(None),
            Some(RawValue::Json(Value::Bool(b))) => Ok(Some(*b)),
            Some(RawValue::Text(t)) | Some(RawValue::Json(Value::String(t))) => {
                parse_bool_text(t).map(Some).ok_or(on_error)
            }
            Some(RawValue::Json(_)) => Err(on_error),
        }
    }
}

/// `Parameter <name> is required` when the value is absent.
pub fn required<T>(value: Option<T>, name: &str) -> Result<T, ErrorCode> {
    value.ok_or_else(|| ErrorCode::ParamRequired {
        name: name.to_owned(),
    })
}

/// An integer within `lo..=hi`, else `on_error` (the parameter's range row).
pub fn in_range(value: i64, lo: i64, hi: i64, on_error: ErrorCode) -> Result<i64, ErrorCode> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(on_error)
    }
}

fn is_absent(v: &RawValue) -> bool {
    match v {
        RawValue::Json(Value::Null) => true,
        RawValue::Json(Value::String(s)) | RawValue::Text(s) => s.is_empty(),
        RawValue::Json(_) => false,
    }
}

/// Decimal digits with an optional leading `-`; nothing else (no `+`, spaces,
/// point or exponent). Values outside `i64` are type errors too.
pub fn parse_integer_text(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `true`, `false`, `1`, `0`, in any letter case.
pub fn parse_bool_text(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") || text == "0" {
        Some(false)
    } else {
        None
    }
}

/// Deserialises the top level of a JSON body: `Some(entries)` for an object,
/// `None` for any other JSON value.
struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Option<Vec<(String, RawValue)>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl TopLevelVisitor {
    fn not_object<E>(self) -> Result<Option<Vec<(String, RawValue)>>, E> {
        Ok(None)
    }
}

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = Option<Vec<(String, RawValue)>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.push((k, RawValue::Json(v)));
        }
        Ok(Some(entries))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Consume the array so that its syntax is still checked.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        self.not_object()
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        self.not_object()
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        self.not_object()
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        self.not_object()
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        self.not_object()
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        self.not_object()
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        self.not_object()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Params {
        Params::from_json(s.as_bytes()).unwrap()
    }

    #[test]
    fn json_bodies_must_be_objects() {
        assert_eq!(Params::from_json(b"{"), Err(JsonBodyError::Invalid));
        assert_eq!(Params::from_json(b"{} x"), Err(JsonBodyError::Invalid));
        assert_eq!(Params::from_json(b"[1,2]"), Err(JsonBodyError::NotObject));
        assert_eq!(Params::from_json(b"null"), Err(JsonBodyError::NotObject));
        assert_eq!(Params::from_json(b"\"x\""), Err(JsonBodyError::NotObject));
        assert_eq!(Params::from_json(b"[1,"), Err(JsonBodyError::Invalid));
        assert!(json("{}").is_empty());
    }

    #[test]
    fn duplicates_are_reported_for_known_names_only() {
        let p = json(r#"{"x":1,"x":2,"email":"a","email":"b"}"#);
        assert_eq!(
            p.check_duplicates(&["email"]),
            Err(ErrorCode::ParamDuplicate {
                name: "email".into()
            })
        );
        assert_eq!(p.check_duplicates(&["maxJobs"]), Ok(()));
        let q = Params::from_urlencoded(b"pageSize=1&pageNum=2&pageSize=3");
        assert_eq!(
            q.check_duplicates(&["pageNum", "pageSize"]),
            Err(ErrorCode::ParamDuplicate {
                name: "pageSize".into()
            })
        );
    }

    #[test]
    fn strings_follow_the_contract() {
        let p = json(r#"{"a":" x ","b":null,"c":"","d":5,"e":{},"f":[],"g":true}"#);
        assert_eq!(p.string("a"), Ok(Some(" x ".into())), "never trimmed");
        assert_eq!(p.string("b"), Ok(None));
        assert_eq!(p.string("c"), Ok(None));
        assert_eq!(p.string("zz"), Ok(None));
        for name in ["d", "e", "f", "g"] {
            assert_eq!(
                p.string(name),
                Err(ErrorCode::ParamNotString { name: name.into() })
            );
        }
        let q = Params::from_urlencoded(b"email=a%2Bb%40x.io&s=a+b");
        assert_eq!(q.string("email"), Ok(Some("a+b@x.io".into())));
        assert_eq!(q.string("s"), Ok(Some("a b".into())));
    }

    #[test]
    fn integers_follow_the_contract() {
        let e = ErrorCode::MaxJobsInvalid;
        let p = json(
            r#"{"a":5,"b":"5","c":5.0,"d":5e0,"e":"+5","f":" 5","g":-3,"h":"-3","i":true,"j":"","k":null,"l":"1e3","m":99999999999999999999}"#,
        );
        assert_eq!(p.integer("a", e.clone()), Ok(Some(5)));
        assert_eq!(p.integer("b", e.clone()), Ok(Some(5)));
        assert_eq!(p.integer("g", e.clone()), Ok(Some(-3)));
        assert_eq!(p.integer("h", e.clone()), Ok(Some(-3)));
        assert_eq!(p.integer("j", e.clone()), Ok(None));
        assert_eq!(p.integer("k", e.clone()), Ok(None));
        for name in ["c", "d", "e", "f", "i", "l", "m"] {
            assert_eq!(p.integer(name, e.clone()), Err(e.clone()), "{name}");
        }
        let q = Params::from_urlencoded(b"a=007&b=5.0&c=-&d=%2B5");
        assert_eq!(q.integer("a", e.clone()), Ok(Some(7)));
        for name in ["b", "c", "d"] {
            assert_eq!(q.integer(name, e.clone()), Err(e.clone()), "{name}");
        }
        assert_eq!(in_range(0, 1, 50, e.clone()), Err(e.clone()));
        assert_eq!(in_range(50, 1, 50, e.clone()), Ok(50));
    }

    #[test]
    fn booleans_follow_the_contract() {
        let e = ErrorCode::MineInvalid;
        let q = Params::from_urlencoded(b"a=False&b=TRUE&c=1&d=0&e=yes&f=");
        assert_eq!(q.boolean("a", e.clone()), Ok(Some(false)));
        assert_eq!(q.boolean("b", e.clone()), Ok(Some(true)));
        assert_eq!(q.boolean("c", e.clone()), Ok(Some(true)));
        assert_eq!(q.boolean("d", e.clone()), Ok(Some(false)));
        assert_eq!(q.boolean("e", e.clone()), Err(e.clone()));
        assert_eq!(q.boolean("f", e.clone()), Ok(None));
        let p = json(r#"{"a":true,"b":"0","c":1}"#);
        assert_eq!(p.boolean("a", e.clone()), Ok(Some(true)));
        assert_eq!(p.boolean("b", e.clone()), Ok(Some(false)));
        assert_eq!(
            p.boolean("c", e.clone()),
            Err(e.clone()),
            "a JSON number is not a boolean"
        );
    }

    #[test]
    fn required_names_the_parameter() {
        assert_eq!(
            required::<i64>(None, "maxJobs"),
            Err(ErrorCode::ParamRequired {
                name: "maxJobs".into()
            })
        );
        assert_eq!(required(Some(1), "maxJobs"), Ok(1));
    }
}
