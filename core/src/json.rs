//! Reading termauth's JSON shapes by hand.
//!
//! Types that take JSON input (specs, inputs, credential records) are read from a
//! [`serde_json::Value`] by small explicit functions instead of `#[derive(Deserialize)]`.
//! Their shapes use internally tagged enums (`{"flow": "device", …}`) and flattened
//! members, which make serde's derive buffer every input through its generic `Content`
//! type; in the WebAssembly build that machinery was most of the module. Reading a
//! `Value` costs one small function per type, and the error messages name the member
//! (`server.token_endpoint`) without ever quoting a value, which may be a secret.
//!
//! Each type still implements `Deserialize` (through [`deserialize_via_value!`]), so
//! `serde_json::from_str::<FlowSpec>(…)` keeps working for users of the crate.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What is wrong with an input: a sentence naming the member, never its value.
pub(crate) type ReadError = String;

/// The members of one JSON object, taken out one by one. `at` is the object's path in
/// the input (`server.`, `client.auth.`), used in messages.
pub(crate) struct Object {
    map: Map<String, Value>,
    at: String,
}

/// A JSON type name for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Object {
    /// `value` as an object; `what` names it when it is not one.
    pub(crate) fn new(value: Value, what: &str) -> Result<Object, ReadError> {
        match value {
            Value::Object(map) => Ok(Object { map, at: String::new() }),
            other => Err(format!("{what} must be a JSON object, not {}", kind(&other))),
        }
    }

    fn path(&self, name: &str) -> String {
        format!("`{}{name}`", self.at)
    }

    fn wrong(&self, name: &str, expected: &str, got: &Value) -> ReadError {
        format!("{} must be {expected}, not {}", self.path(name), kind(got))
    }

    fn missing(&self, name: &str) -> ReadError {
        format!("{} is missing", self.path(name))
    }

    /// A member, `None` when absent or `null` (serde's rule for `Option` members).
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    /// A nested object (required).
    pub(crate) fn object(&mut self, name: &str) -> Result<Object, ReadError> {
        match self.map.remove(name) {
            Some(Value::Object(map)) => Ok(Object { map, at: format!("{}{name}.", self.at) }),
            Some(other) => Err(self.wrong(name, "an object", &other)),
            None => Err(self.missing(name)),
        }
    }

    /// A nested object, when present.
    pub(crate) fn opt_object(&mut self, name: &str) -> Result<Option<Object>, ReadError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.object(name).map(Some),
        }
    }

    pub(crate) fn opt_str(&mut self, name: &str) -> Result<Option<String>, ReadError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(name, "a string", &other)),
        }
    }

    pub(crate) fn str(&mut self, name: &str) -> Result<String, ReadError> {
        self.opt_str(name)?.ok_or_else(|| self.missing(name))
    }

    /// A token or key member, checked by [`crate::token::token_syntax_error`] (its value is
    /// never quoted).
    pub(crate) fn opt_token(&mut self, name: &str) -> Result<Option<String>, ReadError> {
        let value = self.opt_str(name)?;
        match value.as_deref().and_then(crate::token::token_syntax_error) {
            None => Ok(value),
            Some(0) => Err(format!("{} is empty", self.path(name))),
            Some(position) => {
                Err(format!("{} has a character other than printable ASCII at character {position}", self.path(name)))
            }
        }
    }

    pub(crate) fn token(&mut self, name: &str) -> Result<String, ReadError> {
        self.opt_token(name)?.ok_or_else(|| self.missing(name))
    }

    /// A string member with a default when absent (`null` is refused, as serde does for
    /// non-`Option` members).
    pub(crate) fn str_or(&mut self, name: &str, default: &str) -> Result<String, ReadError> {
        match self.map.remove(name) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.wrong(name, "a string", &other)),
        }
    }

    /// A boolean, `false` when absent.
    pub(crate) fn flag(&mut self, name: &str) -> Result<bool, ReadError> {
        match self.map.remove(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(self.wrong(name, "a boolean", &other)),
        }
    }

    pub(crate) fn opt_bool(&mut self, name: &str) -> Result<Option<bool>, ReadError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong(name, "a boolean", &other)),
        }
    }

    /// A non-negative integer that fits in `T`.
    pub(crate) fn opt_uint<T: TryFrom<u64>>(&mut self, name: &str) -> Result<Option<T>, ReadError> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => match v.as_u64().and_then(|n| T::try_from(n).ok()) {
                Some(n) => Ok(Some(n)),
                None => Err(self.wrong(name, "a non-negative integer in range", &v)),
            },
        }
    }

    pub(crate) fn uint<T: TryFrom<u64>>(&mut self, name: &str) -> Result<T, ReadError> {
        self.opt_uint(name)?.ok_or_else(|| self.missing(name))
    }

    /// A non-negative integer with a default when absent.
    pub(crate) fn uint_or<T: TryFrom<u64>>(&mut self, name: &str, default: T) -> Result<T, ReadError> {
        if !self.map.contains_key(name) {
            return Ok(default);
        }
        match self.map.get(name) {
            Some(Value::Null) => Err(self.wrong(name, "a non-negative integer", &Value::Null)),
            _ => self.uint(name),
        }
    }

    /// An array of objects (required).
    pub(crate) fn objects(&mut self, name: &str) -> Result<Vec<Object>, ReadError> {
        let items = match self.map.remove(name) {
            Some(Value::Array(items)) => items,
            Some(other) => return Err(self.wrong(name, "an array", &other)),
            None => return Err(self.missing(name)),
        };
        let at = format!("{}{name}[].", self.at);
        items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(Object { map, at: at.clone() }),
                other => Err(self.wrong(name, "an array of objects", &other)),
            })
            .collect()
    }

    /// Whether a member is present (`null` included).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// An array of strings, when present.
    pub(crate) fn opt_strings(&mut self, name: &str) -> Result<Option<Vec<String>>, ReadError> {
        let Some(value) = self.take(name) else { return Ok(None) };
        let wrong = || self.wrong(name, "an array of strings", &value);
        let Value::Array(items) = &value else { return Err(wrong()) };
        items.iter().map(|i| i.as_str().map(str::to_string).ok_or_else(wrong)).collect::<Result<_, _>>().map(Some)
    }

    /// An array of strings, empty when absent.
    pub(crate) fn strings(&mut self, name: &str) -> Result<Vec<String>, ReadError> {
        Ok(self.opt_strings(name)?.unwrap_or_default())
    }

    /// An object of string values, empty when absent.
    pub(crate) fn string_map(&mut self, name: &str) -> Result<BTreeMap<String, String>, ReadError> {
        let Some(mut object) = self.opt_object(name)? else { return Ok(BTreeMap::new()) };
        let names: Vec<String> = object.map.keys().cloned().collect();
        let mut map = BTreeMap::new();
        for name in names {
            let value = object.str(&name)?;
            map.insert(name, value);
        }
        Ok(map)
    }

    /// An object member, empty when absent.
    pub(crate) fn map(&mut self, name: &str) -> Result<Map<String, Value>, ReadError> {
        Ok(self.opt_object(name)?.map(|o| o.map).unwrap_or_default())
    }

    /// A string naming a unit variant (`snake_case` names, as the `Serialize` derive
    /// writes them).
    pub(crate) fn variant<T: serde::de::DeserializeOwned>(&mut self, name: &str) -> Result<T, ReadError> {
        let text = self.str(name)?;
        let de = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&text);
        T::deserialize(de).map_err(|_| format!("{} has an unknown value", self.path(name)))
    }

    /// An array of `[name, value]` string pairs (HTTP headers), empty when absent.
    pub(crate) fn pairs(&mut self, name: &str) -> Result<Vec<(String, String)>, ReadError> {
        let Some(value) = self.take(name) else { return Ok(Vec::new()) };
        let pair = |v: &Value| match v.as_array().map(Vec::as_slice) {
            Some([Value::String(k), Value::String(v)]) => Some((k.clone(), v.clone())),
            _ => None,
        };
        match &value {
            Value::Array(items) => items.iter().map(pair).collect::<Option<_>>(),
            _ => None,
        }
        .ok_or_else(|| self.wrong(name, "an array of [name, value] string pairs", &value))
    }

    /// Refuses members nobody took: a misspelt option is an error, not silently ignored.
    pub(crate) fn no_more(self) -> Result<(), ReadError> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(name) => Err(format!("{} is not a known member", self.path(name))),
        }
    }

    /// The members not taken yet.
    pub(crate) fn rest(self) -> Map<String, Value> {
        self.map
    }

    /// The tag of an internally tagged shape (`"flow"`, `"type"`, `"kind"`, …).
    pub(crate) fn tag(&mut self, name: &str) -> Result<String, ReadError> {
        self.str(name)
    }

    /// The message for a tag value this crate does not know.
    pub(crate) fn unknown_tag(&self, name: &str, expected: &str) -> ReadError {
        format!("{} has an unknown value (expected one of {expected})", self.path(name))
    }
}

/// `impl Deserialize` for types read by a `fn read(Object) -> Result<Self, ReadError>`:
/// the input becomes a `Value` first, then the hand-written reader takes over.
macro_rules! deserialize_via_value {
    ($($ty:ty => $read:path),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
                let object = crate::json::Object::new(value, "the value").map_err(serde::de::Error::custom)?;
                $read(object).map_err(serde::de::Error::custom)
            }
        }

        /// Reads the JSON shape this type serializes to; the error names the member at fault.
        impl TryFrom<serde_json::Value> for $ty {
            type Error = String;
            fn try_from(value: serde_json::Value) -> Result<Self, String> {
                $read(crate::json::Object::new(value, "the value")?)
            }
        }
    )*};
}
pub(crate) use deserialize_via_value;
