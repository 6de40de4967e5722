//! Every JSON shape termauth reads — flow specs, credential records, session specs, the
//! flows' and the session's inputs, the environment, server metadata — must read back what
//! it writes: `read(write(read(x))) == read(x)`, and writing is stable. The first byte picks
//! the shape; the rest is the JSON text.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use termauth_core::environment::Environment;
use termauth_core::session::{self, SessionSpec};
use termauth_core::{Credential, FlowSpec, Input, ServerMetadata};

fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(text: &str, read: impl Fn(&str) -> Option<T>) {
    let Some(first) = read(text) else { return };
    let written = serde_json::to_string(&first).expect("every read value can be written");
    let again = read(&written).unwrap_or_else(|| panic!("a written value does not read back: {written}"));
    assert_eq!(again, first, "a value reads back different");
    assert_eq!(serde_json::to_string(&again).unwrap(), written, "writing is not stable");
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match which % 7 {
        0 => check(&text, |t| FlowSpec::from_json(t).ok()),
        1 => check(&text, |t| Credential::from_json(t).ok()),
        2 => check(&text, |t| SessionSpec::from_json(t).ok()),
        3 => check(&text, |t| serde_json::from_str::<session::Input>(t).ok()),
        4 => check(&text, |t| serde_json::from_str::<Input>(t).ok()),
        5 => check(&text, |t| serde_json::from_str::<Environment>(t).ok()),
        _ => check(&text, |t| serde_json::from_str::<ServerMetadata>(t).ok()),
    }
}
