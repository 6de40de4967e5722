//! The JSON Schema of termauth's JSON contract, generated from the Rust types
//! (`tests/vectors/schema/termauth.schema.json`), and every document of every vector checked
//! against it.
//!
//! * `cargo test -p termauth-core --features schema --test schema` fails when the committed
//!   schema differs from the types; `TERMAUTH_GENERATE=1` rewrites it (then run
//!   `python3 scripts/gen_contract.py` for the TypeScript and Python types made from it).
//! * Each type derives `schemars::JsonSchema` behind the `schema` feature (manual impls where
//!   `Serialize` is manual: `Secret`, `session::Command`). Types are generated twice:
//!   what the core **reads** (specs, inputs, a stored credential: schemars' deserialize
//!   contract, where members the readers default are optional) and what it **writes**
//!   (actions, outcomes, a credential to store: the serialize contract, where members skipped
//!   when empty are optional, never null, and no other member appears). A type whose two
//!   shapes differ gets both: the written one under its name, the read one as `<Name>Input`.
//! * The readers are hand-written (`core/src/json.rs`), so the read shapes are checked against
//!   them: a document with only the members a reader requires is accepted by it and by the
//!   schema, and refused by both without any one of them; the schema's `default`s are what
//!   the readers fill in.
//! * The validator below covers the keywords the generated schema uses (and refuses any
//!   other), with the 2020-12 semantics of `unevaluatedProperties`.

#![cfg(feature = "schema")]

use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use termauth_core::{Credential, FlowSpec, flow, session};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema_path() -> PathBuf {
    repo().join("tests/vectors/schema/termauth.schema.json")
}

// ---------------------------------------------------------------- generation

/// The documents of the contract: (name in `$defs`, read or written).
const TOP_LEVEL: [(&str, &str); 10] = [
    ("SessionSpec", "read: a session's spec (`Session::start`)"),
    ("SessionInput", "read: what a session's `handle` takes"),
    ("SessionAction", "written: what a session's `poll` returns"),
    ("SessionOutcome", "written: `done.result` of a session"),
    ("FlowSpec", "read: a flow's spec (`FlowSpec::from_json`)"),
    ("Input", "read: what a flow's `handle` takes"),
    ("Action", "written: what a flow's `poll` returns"),
    ("Outcome", "written: `done.result` of a flow"),
    ("Credential", "written: a credential record to store (`persist`, `write_file`, `keyring_set`)"),
    ("CredentialInput", "read: a stored credential record (`Credential::from_json`)"),
];

/// The definitions of one contract, generated from the root types.
fn definitions(contract: Contract) -> Map<String, Value> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.contract = contract.clone();
    let mut generator = settings.into_generator();
    if contract.is_deserialize() {
        generator.subschema_for::<session::SessionSpec>();
        generator.subschema_for::<session::Input>();
        generator.subschema_for::<FlowSpec>();
        generator.subschema_for::<flow::Input>();
    } else {
        generator.subschema_for::<session::Action>();
        generator.subschema_for::<session::Outcome>();
        generator.subschema_for::<flow::Action>();
        generator.subschema_for::<flow::Outcome>();
    }
    generator.subschema_for::<Credential>();
    let mut defs = generator.take_definitions(true);
    for schema in defs.values_mut() {
        clean_descriptions(schema);
    }
    defs
}

/// Rustdoc links mean nothing outside Rust: ``[`crate::flows::Discovery`]`` → `` `Discovery` ``.
fn clean_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match (key.as_str(), value) {
                    ("description", Value::String(text)) => *text = unlink(text),
                    // Member names, not schemas: a property may be called `description`.
                    ("properties" | "$defs", Value::Object(members)) => members.values_mut().for_each(clean_descriptions),
                    (_, value) => clean_descriptions(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_descriptions),
        _ => {}
    }
}

fn unlink(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("[`") {
        let Some(len) = rest[start + 2..].find("`]") else { break };
        let target = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        // Drop the module path (`crate::`, `flows::`); keep `Type::member`.
        let shown = target.split("::").skip_while(|s| s.starts_with(|c: char| c.is_ascii_lowercase())).collect::<Vec<_>>();
        out.push('`');
        out.push_str(&if shown.is_empty() { target.to_string() } else { shown.join("::") });
        out.push('`');
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The names of `$ref`s in `schema`.
fn refs(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.insert(r.trim_start_matches("#/$defs/").to_string());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Definitions used as the base of an internally tagged newtype variant (`{"$ref": X,
/// "properties": {"type": …}}`): they are completed by the tag, so only the variant can be
/// closed.
fn variant_bases(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let (Some(Value::String(r)), true) = (map.get("$ref"), map.contains_key("properties")) {
                out.insert(r.trim_start_matches("#/$defs/").to_string());
            }
            map.values().for_each(|v| variant_bases(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| variant_bases(v, out)),
        _ => {}
    }
}

/// What the core writes: a member skipped when empty is never `null`, and an object has no
/// member but those declared (`additionalProperties: false`, or `unevaluatedProperties:
/// false` where the members come from `$ref` or `oneOf` too), unless the type keeps every
/// other member (`additionalProperties: true`: server metadata, introspection).
fn written(schema: &mut Value, open: bool) {
    let Value::Object(map) = schema else { return };
    // A default is what a reader assumes for an absent member; the core writes every member
    // it has.
    map.remove("default");
    let has_own_properties = map.contains_key("properties");
    let required: BTreeSet<String> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, member) in properties.iter_mut() {
            if !required.contains(name) {
                not_null(member);
            }
            written(member, false);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = map.get_mut(key) {
            written(sub, false);
        }
    }
    if let Some(Value::Array(items)) = map.get_mut("prefixItems") {
        items.iter_mut().for_each(|s| written(s, false));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(branches)) = map.get_mut(key) {
            // Branches completed by the parent's own members stay open: the parent closes.
            branches.iter_mut().for_each(|s| written(s, has_own_properties));
        }
    }
    let composed = ["$ref", "oneOf", "anyOf", "allOf"].iter().any(|k| map.contains_key(*k));
    if has_own_properties && !open && !map.contains_key("additionalProperties") && !map.contains_key("unevaluatedProperties") {
        let keyword = if composed { "unevaluatedProperties" } else { "additionalProperties" };
        map.insert(keyword.into(), Value::Bool(false));
    }
}

/// An `Option` member the core skips when `None`: `null` never appears.
fn not_null(member: &mut Value) {
    let Value::Object(map) = member else { return };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [one] = types.as_slice() {
            let one = one.clone();
            map.insert("type".into(), one);
        }
    }
    if let Some(Value::Array(branches)) = map.get("anyOf") {
        let kept: Vec<Value> = branches.iter().filter(|b| **b != json!({ "type": "null" })).cloned().collect();
        if kept.len() == 1 {
            map.remove("anyOf");
            if let Value::Object(only) = &kept[0] {
                for (k, v) in only {
                    map.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        } else {
            map.insert("anyOf".into(), Value::Array(kept));
        }
    }
}

/// Points every `$ref` to a renamed definition at its new name.
fn rename_refs(schema: &mut Value, renamed: &BTreeMap<String, String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(new) = r.strip_prefix("#/$defs/").and_then(|name| renamed.get(name))
            {
                *r = format!("#/$defs/{new}");
            }
            map.values_mut().for_each(|v| rename_refs(v, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renamed)),
        _ => {}
    }
}

/// The whole schema: both contracts' definitions, a type whose read and written shapes
/// differ under two names (`<Name>Input` for the read one).
fn generate() -> Value {
    let read = definitions(Contract::Deserialize);
    let mut write = definitions(Contract::Serialize);
    let mut bases = BTreeSet::new();
    write.values().for_each(|s| variant_bases(s, &mut bases));
    for (name, schema) in write.iter_mut() {
        written(schema, bases.contains(name));
    }
    // Rename until stable: a read type that refers to a renamed one differs too.
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let before = renamed.len();
        for (name, schema) in &read {
            let mut schema = schema.clone();
            rename_refs(&mut schema, &renamed);
            if write.get(name).is_some_and(|w| *w != schema) {
                renamed.entry(name.clone()).or_insert_with(|| format!("{name}Input"));
            }
        }
        if renamed.len() == before {
            break;
        }
    }
    let mut defs = BTreeMap::new();
    for (name, mut schema) in read {
        rename_refs(&mut schema, &renamed);
        let name = renamed.get(&name).cloned().unwrap_or(name);
        if let Some(same) = write.get(&name) {
            assert_eq!(*same, schema, "{name}: a read and a written shape under one name");
        }
        defs.insert(name, schema);
    }
    for (name, schema) in write {
        defs.insert(name, schema);
    }
    // Every reference resolves; every definition is reachable from the documents.
    let mut used = BTreeSet::new();
    defs.values().for_each(|s| refs(s, &mut used));
    used.extend(TOP_LEVEL.iter().map(|(n, _)| n.to_string()));
    let defined: BTreeSet<String> = defs.keys().cloned().collect();
    assert_eq!(used, defined, "references and definitions differ");

    let documents: Vec<Value> = TOP_LEVEL.iter().map(|(name, _)| json!({ "$ref": format!("#/$defs/{name}") })).collect();
    let listing: Vec<String> = TOP_LEVEL.iter().map(|(name, what)| format!("* `{name}` — {what}")).collect();
    let description = [
        "The JSON every termauth binding speaks with termauth-core (tests/vectors/README.md describes it in prose).",
        "Generated from the Rust types by core/tests/schema.rs; do not edit: run",
        "`TERMAUTH_GENERATE=1 cargo test -p termauth-core --features schema --test schema`.",
        "",
        "A document is one of:",
        &listing.join("\n"),
        "",
        "Read shapes are what the core accepts: a member with a default may be absent, other members are",
        "ignored unless refused. Written shapes are what it writes: a member that may be absent is never null,",
        "and no other member appears. A type read and written differently has both: `<Name>Input` is the one read.",
    ]
    .join("\n");
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "termauth JSON contract",
        "description": description,
        "anyOf": documents,
        "$defs": defs,
    })
}

fn pretty(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("the schema serializes");
    text.push('\n');
    text
}

// ---------------------------------------------------------------- validation

/// A validator for the JSON Schema 2020-12 keywords the generated schema uses. A keyword it
/// does not know is an error, so it cannot pass a document by ignoring part of the schema.
struct Validator<'a> {
    defs: &'a Map<String, Value>,
}

/// The keywords that only annotate.
const ANNOTATIONS: [&str; 5] = ["description", "title", "default", "$schema", "$defs"];

impl Validator<'_> {
    fn new(root: &Value) -> Validator<'_> {
        Validator { defs: root["$defs"].as_object().expect("$defs") }
    }

    /// Checks `value` against the definition `name`; the errors, each with its place.
    fn check(&self, name: &str, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.validate(&json!({ "$ref": format!("#/$defs/{name}") }), value, "$", &mut errors);
        errors
    }

    /// Validates; returns the members of `value` that `schema` evaluated (for
    /// `unevaluatedProperties`), pushing what is wrong to `errors`.
    fn validate(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) -> BTreeSet<String> {
        let mut evaluated = BTreeSet::new();
        let schema = match schema {
            Value::Bool(true) => return evaluated,
            Value::Bool(false) => {
                errors.push(format!("{at}: no value is allowed here"));
                return evaluated;
            }
            Value::Object(schema) => schema,
            other => panic!("{at}: not a schema: {other}"),
        };
        let members = value.as_object();
        for (keyword, argument) in schema {
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "$ref" => {
                    let name = argument.as_str().and_then(|r| r.strip_prefix("#/$defs/")).expect("a local $ref");
                    let target = self.defs.get(name).unwrap_or_else(|| panic!("{at}: no definition {name}"));
                    evaluated.extend(self.validate(target, value, at, errors));
                }
                "type" => {
                    let types: Vec<&str> = match argument {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().map(|t| t.as_str().expect("type names")).collect(),
                        other => panic!("{at}: type {other}"),
                    };
                    if !types.iter().any(|t| is_type(value, t)) {
                        errors.push(format!("{at}: {value} is not of type {}", types.join(" or ")));
                    }
                }
                "const" if value != argument => errors.push(format!("{at}: {value} is not {argument}")),
                "enum" if !argument.as_array().expect("enum").contains(value) => {
                    errors.push(format!("{at}: {value} is not one of {argument}"))
                }
                "const" | "enum" => {}
                "format" => match argument.as_str() {
                    // Integer formats: `minimum`/`maximum` carry the range; u64 must fit.
                    Some("uint16" | "uint32") => {}
                    Some("uint64") if value.is_number() && !value.is_u64() => errors.push(format!("{at}: {value} is not a u64")),
                    Some("uint64") => {}
                    other => panic!("{at}: format {other:?} is not supported by this validator"),
                },
                "minimum" | "maximum" => {
                    if let (Some(n), Some(bound)) = (value.as_f64(), argument.as_f64())
                        && ((keyword == "minimum" && n < bound) || (keyword == "maximum" && n > bound))
                    {
                        errors.push(format!("{at}: {value} is out of range ({keyword} {argument})"));
                    }
                }
                "minItems" | "maxItems" => {
                    if let Some(items) = value.as_array() {
                        let bound = argument.as_u64().expect("an item count") as usize;
                        if (keyword == "minItems" && items.len() < bound) || (keyword == "maxItems" && items.len() > bound) {
                            errors.push(format!("{at}: {} items ({keyword} {bound})", items.len()));
                        }
                    }
                }
                "items" => {
                    if let Some(items) = value.as_array() {
                        let skip = schema.get("prefixItems").and_then(Value::as_array).map_or(0, Vec::len);
                        for (i, item) in items.iter().enumerate().skip(skip) {
                            self.validate(argument, item, &format!("{at}[{i}]"), errors);
                        }
                    }
                }
                "prefixItems" => {
                    if let Some(items) = value.as_array() {
                        for (i, (item, sub)) in items.iter().zip(argument.as_array().expect("prefixItems")).enumerate() {
                            self.validate(sub, item, &format!("{at}[{i}]"), errors);
                        }
                    }
                }
                "required" => {
                    if let Some(members) = members {
                        for name in argument.as_array().expect("required").iter().filter_map(Value::as_str) {
                            if !members.contains_key(name) {
                                errors.push(format!("{at}: `{name}` is missing"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(members) = members {
                        for (name, sub) in argument.as_object().expect("properties") {
                            if let Some(member) = members.get(name) {
                                self.validate(sub, member, &format!("{at}.{name}"), errors);
                                evaluated.insert(name.clone());
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Some(members) = members {
                        let declared = schema.get("properties").and_then(Value::as_object);
                        for (name, member) in members {
                            if !declared.is_some_and(|d| d.contains_key(name)) {
                                let before = errors.len();
                                self.validate(argument, member, &format!("{at}.{name}"), errors);
                                if errors.len() > before && *argument == Value::Bool(false) {
                                    errors.truncate(before);
                                    errors.push(format!("{at}: `{name}` is not a member of this shape"));
                                }
                                evaluated.insert(name.clone());
                            }
                        }
                    }
                }
                "oneOf" | "anyOf" | "allOf" => {
                    let mut passed = 0;
                    let mut failures = Vec::new();
                    for (i, branch) in argument.as_array().expect("branches").iter().enumerate() {
                        let mut branch_errors = Vec::new();
                        let branch_evaluated = self.validate(branch, value, at, &mut branch_errors);
                        if branch_errors.is_empty() {
                            passed += 1;
                            evaluated.extend(branch_evaluated);
                        } else {
                            failures.push(format!("[{keyword} {i}: {}]", branch_errors.join("; ")));
                        }
                    }
                    let ok = match keyword.as_str() {
                        "oneOf" => passed == 1,
                        "anyOf" => passed >= 1,
                        _ => failures.is_empty(),
                    };
                    if !ok {
                        errors.push(format!("{at}: {passed} branches of {keyword} match: {}", failures.join(" ")));
                    }
                }
                "unevaluatedProperties" => {} // after every other keyword, below
                other => panic!("{at}: the keyword `{other}` is not supported by this validator"),
            }
        }
        if let (Some(argument), Some(members)) = (schema.get("unevaluatedProperties"), members) {
            for (name, member) in members {
                if !evaluated.contains(name) {
                    let before = errors.len();
                    self.validate(argument, member, &format!("{at}.{name}"), errors);
                    if errors.len() > before && *argument == Value::Bool(false) {
                        errors.truncate(before);
                        errors.push(format!("{at}: `{name}` is not a member of this shape"));
                    }
                    evaluated.insert(name.clone());
                }
            }
        }
        evaluated
    }
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        // JSON numbers the readers take as integers (`as_u64`/`as_i64`): no fraction, no exponent.
        "integer" => value.is_u64() || value.is_i64(),
        other => panic!("unknown type {other}"),
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn the_committed_schema_is_generated_from_the_types() {
    let text = pretty(&generate());
    let path = schema_path();
    if std::env::var_os("TERMAUTH_GENERATE").is_some() {
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("create tests/vectors/schema");
        std::fs::write(&path, &text).expect("write the schema");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is not what the Rust types generate; run `TERMAUTH_GENERATE=1 cargo test -p termauth-core --features schema --test schema`, then `python3 scripts/gen_contract.py`, and review the diff",
        path.display()
    );
}

/// The files of a vector directory, sorted.
fn vectors(dir: &Path) -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the vector directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a vector");
            (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), serde_json::from_str(&text).expect("JSON"))
        })
        .collect()
}

/// Every spec, action, input and outcome of every vector against its definition: specs
/// and inputs are read shapes, actions (with their outcomes) written ones. A spec refused as
/// unreadable (`invalid_flow_config`, `invalid_session_spec`) must be refused by the
/// schema too; every other one must match it. Credential records the session writes
/// (`write_file`, `keyring_set`) must be `Credential`s.
#[test]
fn every_vector_document_matches_the_schema() {
    let schema = generate();
    let validator = Validator::new(&schema);
    let mut problems = Vec::new();
    let mut counts = BTreeMap::<&str, usize>::new();
    for (dir, spec, input, action, unreadable) in [
        ("tests/vectors", "FlowSpec", "Input", "Action", "invalid_flow_config"),
        ("tests/vectors/session", "SessionSpec", "SessionInput", "SessionAction", "invalid_session_spec"),
    ] {
        let files = vectors(&repo().join(dir));
        assert!(files.len() > 40, "{dir}: only {} vectors", files.len());
        for (file, vector) in files {
            let mut check = |name: &'static str, value: &Value, place: String, want_ok: bool| {
                *counts.entry(name).or_default() += 1;
                let errors = validator.check(name, value);
                match (errors.is_empty(), want_ok) {
                    (true, true) | (false, false) => {}
                    (true, false) => problems.push(format!("{dir}/{file} {place}: {name} accepted an unreadable document")),
                    (false, true) => problems.push(format!("{dir}/{file} {place}: not a {name}:\n    {}", errors.join("\n    "))),
                }
            };
            let start_error = vector.get("expect_start_error").and_then(|e| e["code"].as_str());
            check(spec, &vector["spec"], "spec".into(), start_error != Some(unreadable));
            for (i, step) in vector["steps"].as_array().expect("steps").iter().enumerate() {
                if let Some(expect) = step.get("expect") {
                    check(action, expect, format!("step {i} (poll)"), true);
                    if let Some(contents) = written_record(expect) {
                        check("Credential", &contents, format!("step {i} (the record written)"), true);
                    }
                }
                if let Some(handle) = step.get("handle") {
                    check(input, handle, format!("step {i} (handle)"), true);
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} documents do not match the schema:\n{}", problems.len(), problems.join("\n"));
    assert!(counts["Action"] > 200 && counts["SessionAction"] > 500 && counts["SessionInput"] > 300, "{counts:?}");
    assert!(counts["Credential"] > 10, "{counts:?}");
}

/// The credential record in a `write_file` (`…@….json`) or `keyring_set` action.
fn written_record(action: &Value) -> Option<Value> {
    let text = match action["type"].as_str()? {
        "write_file" if is_record_file(action["path"].as_str()?) => action["contents"].as_str()?,
        "keyring_set" => action["value"].as_str()?,
        _ => return None,
    };
    serde_json::from_str(text).ok()
}

/// `credentials/<profile>@<key>.json` (not the keyring pointer `….keyring`).
fn is_record_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or_default();
    name.contains('@') && name.ends_with(".json")
}

/// The validator fails: wrong documents of each kind are refused, with the member named.
#[test]
fn wrong_documents_are_refused() {
    let schema = generate();
    let validator = Validator::new(&schema);
    let refused = |name: &str, value: Value, expected: &str| {
        let errors = validator.check(name, &value);
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{name} {value}: expected an error with {expected:?}, got {errors:?}"
        );
    };
    let server = json!({ "issuer": "https://as.example", "token_endpoint": "https://as.example/token" });
    // Read shapes.
    refused("FlowSpec", json!({ "flow": "teleport" }), "0 branches of oneOf");
    refused("FlowSpec", json!({ "flow": "device", "server": server, "client": {} }), "`client_id` is missing");
    refused("FlowSpec", json!({ "flow": "device", "server": server, "client": { "client_id": "c" }, "scope": 5 }), "$.scope");
    refused(
        "FlowSpec",
        json!({ "flow": "device", "server": server, "client": { "client_id": "c" }, "clock_drift_margin_ms": -1 }),
        "out of range",
    );
    refused(
        "FlowSpec",
        json!({ "flow": "device", "server": server, "client": { "client_id": "c" }, "clock_drift_margin_ms": 1.5 }),
        "not of type integer",
    );
    refused("Input", json!({ "type": "http_response", "id": 1 }), "`status` is missing");
    refused("Input", json!({ "type": "http_response", "id": 1, "status": 200, "headers": [["a"]] }), "1 items (minItems 2)");
    refused("SessionInput", json!({ "type": "completed" }), "`id` is missing");
    refused(
        "SessionSpec",
        json!({ "command": { "op": "status" }, "config": { "app": "a", "issuer": "i", "clientId": "c" }, "environment": {} }),
        "`clientId` is not a member",
    );
    refused(
        "SessionSpec",
        json!({ "command": { "op": "login", "method": "auto", "username": "u" }, "config": { "app": "a", "issuer": "i", "client_id": "c" }, "environment": {} }),
        "`username` is not a member",
    );
    refused("CredentialInput", json!({ "schema_version": 1, "updated_at": 0, "kind": "api_key" }), "`key` is missing");
    // Written shapes: no member the core does not write, no null for an absent one.
    refused("Action", json!({ "type": "wait_until", "at_ms": 5, "progress": null }), "`progress` is not a member");
    refused("SessionAction", json!({ "type": "wait_until", "at_ms": 5, "progress": null }), "$.progress");
    refused(
        "Action",
        json!({ "type": "send_request", "id": 1, "method": "PUT", "url": "u", "headers": [], "body": "" }),
        "$.method",
    );
    refused(
        "Action",
        json!({ "type": "send_request", "id": 1, "method": "GET", "url": "u", "headers": [], "body": "", "extra": 1 }),
        "`extra` is not a member",
    );
    refused(
        "Outcome",
        json!({ "kind": "tokens", "tokens": { "access_token": "a", "token_type": "Bearer", "refresh_token": null } }),
        "$.tokens.refresh_token",
    );
    refused(
        "Credential",
        json!({ "schema_version": 1, "updated_at": 0, "kind": "api_key", "key": "k" }),
        "`presentation` is missing",
    );
    refused(
        "Credential",
        json!({ "schema_version": 1, "updated_at": 0, "kind": "api_key", "key": "k", "presentation": { "scheme": "bearer" }, "grant": "password" }),
        "`grant` is not a member",
    );
    refused("SessionOutcome", json!({ "kind": "status", "source": "store" }), "`env_var` is missing");
    // And right documents pass.
    assert_eq!(
        validator.check("CredentialInput", &json!({ "schema_version": 1, "updated_at": 0, "kind": "api_key", "key": "k" })),
        Vec::<String>::new()
    );
    assert_eq!(validator.check("Input", &json!({ "type": "http_response", "id": 1, "status": 200 })), Vec::<String>::new());
}

/// Every keyword (and `format`) in the schema is one the validator knows (it panics on
/// others, but only where a document reaches them).
#[test]
fn the_validator_knows_every_keyword_of_the_schema() {
    fn walk(schema: &Value, keywords: &mut BTreeSet<String>) {
        let Value::Object(map) = schema else { return };
        for (k, v) in map {
            keywords.insert(k.clone());
            if k == "format" {
                keywords.insert(format!("format {}", v.as_str().unwrap_or_default()));
            }
            match k.as_str() {
                "properties" | "$defs" => v.as_object().into_iter().flat_map(|m| m.values()).for_each(|s| walk(s, keywords)),
                "oneOf" | "anyOf" | "allOf" | "prefixItems" => v.as_array().into_iter().flatten().for_each(|s| walk(s, keywords)),
                "items" | "additionalProperties" | "unevaluatedProperties" => walk(v, keywords),
                _ => {}
            }
        }
    }
    let mut keywords = BTreeSet::new();
    walk(&generate(), &mut keywords);
    let known: BTreeSet<String> = ANNOTATIONS
        .iter()
        .chain(&[
            "$ref",
            "type",
            "const",
            "enum",
            "format",
            "minimum",
            "maximum",
            "minItems",
            "maxItems",
            "items",
            "prefixItems",
            "required",
            "properties",
            "additionalProperties",
            "oneOf",
            "anyOf",
            "allOf",
            "unevaluatedProperties",
            "format uint16",
            "format uint32",
            "format uint64",
        ])
        .map(|k| k.to_string())
        .collect();
    let unknown: Vec<&String> = keywords.difference(&known).collect();
    assert!(unknown.is_empty(), "keywords the validator does not know: {unknown:?}");
}

/// Reads a document the way the core does; the value the core makes of it, serialized.
type Reader = fn(&Value) -> Result<Value, String>;

fn read_flow_spec(doc: &Value) -> Result<Value, String> {
    FlowSpec::from_json(&doc.to_string()).map(|s| serde_json::to_value(s).expect("serializes")).map_err(|e| e.message)
}

fn read_session_spec(doc: &Value) -> Result<Value, String> {
    session::SessionSpec::from_json(&doc.to_string()).map(|s| serde_json::to_value(s).expect("serializes")).map_err(|e| e.message)
}

fn read_input(doc: &Value) -> Result<Value, String> {
    flow::Input::try_from(doc.clone()).map(|i| serde_json::to_value(i).expect("serializes"))
}

fn read_session_input(doc: &Value) -> Result<Value, String> {
    session::Input::try_from(doc.clone()).map(|i| serde_json::to_value(i).expect("serializes"))
}

fn read_credential(doc: &Value) -> Result<Value, String> {
    Credential::from_json(&doc.to_string()).map(|c| serde_json::to_value(c).expect("serializes")).map_err(|e| e.message)
}

/// Documents with only the members the readers require, one per variant of every read shape
/// (and the top-level members named after each, optional ones that hold a variant).
fn minimal_documents() -> Vec<(&'static str, Reader, Value, &'static [&'static str])> {
    let server = json!({ "issuer": "https://as.example" });
    let client = json!({ "client_id": "cli" });
    let oauth = json!({ "schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": "https://as.example",
        "client_id": "cli", "grant": "device_code", "tokens": { "access_token": "at", "token_type": "Bearer" } });
    let config = json!({ "app": "mycli", "issuer": "https://as.example", "client_id": "cli" });
    let with = |base: &Value, extra: Value| {
        let mut doc = base.clone();
        doc.as_object_mut().expect("an object").extend(extra.as_object().expect("an object").clone());
        doc
    };
    let endpointed = json!({ "server": server, "client": client });
    let api_key = json!({ "flow": "api_key", "key": "k" });
    let secret_client = json!({ "client_id": "c", "auth": { "method": "client_secret_post", "client_secret": "s" } });
    let mut docs: Vec<(&'static str, Reader, Value, &'static [&'static str])> = vec![
        ("FlowSpec", read_flow_spec, json!({ "flow": "discovery", "issuer": "https://as.example" }), &[]),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "device" })), &[]),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "authorization_code" })), &[]),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "client_credentials" })), &[]),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "password", "username": "u", "password": "p" })), &[]),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "refresh", "credential": oauth })), &[]),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "revocation", "tokens": [{ "token": "t" }] })), &[]),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "introspection", "token": { "token": "t" } })), &[]),
        ("FlowSpec", read_flow_spec, api_key.clone(), &[]),
        (
            "FlowSpec",
            read_flow_spec,
            with(&api_key, json!({ "presentation": { "scheme": "header", "name": "X" } })),
            &["presentation"],
        ),
        ("FlowSpec", read_flow_spec, with(&endpointed, json!({ "flow": "device", "client": secret_client })), &["client.auth"]),
        ("Input", read_input, json!({ "type": "http_response", "id": 1, "status": 200 }), &[]),
        ("Input", read_input, json!({ "type": "transport_error", "id": 1, "kind": "timeout" }), &[]),
        ("Input", read_input, json!({ "type": "redirect", "url": "/callback" }), &[]),
        ("CredentialInput", read_credential, oauth.clone(), &[]),
        ("CredentialInput", read_credential, json!({ "schema_version": 1, "updated_at": 0, "kind": "api_key", "key": "k" }), &[]),
    ];
    for command in [
        json!({ "op": "login" }),
        json!({ "op": "login", "method": "password", "username": "u", "password": "p" }),
        json!({ "op": "login", "method": "token", "token": "t" }),
        json!({ "op": "get_token" }),
        json!({ "op": "use_profile", "profile": "work" }),
        json!({ "op": "unlock", "nonce": "n" }),
    ] {
        docs.push(("SessionSpec", read_session_spec, json!({ "command": command, "config": config, "environment": {} }), &[]));
    }
    for input in [
        json!({ "type": "http_response", "id": 1, "status": 200 }),
        json!({ "type": "transport_error", "id": 1, "kind": "dns" }),
        json!({ "type": "redirect", "url": "/callback" }),
        json!({ "type": "browser_launched", "id": 1 }),
        json!({ "type": "listening", "id": 1, "port": 5 }),
        json!({ "type": "file_contents", "id": 1 }),
        json!({ "type": "completed", "id": 1 }),
        json!({ "type": "removed", "id": 1 }),
        json!({ "type": "dir_listing", "id": 1 }),
        json!({ "type": "created", "id": 1 }),
        json!({ "type": "process_status", "id": 1 }),
        json!({ "type": "keyring_value", "id": 1 }),
        json!({ "type": "io_error", "id": 1, "message": "m" }),
    ] {
        docs.push(("SessionInput", read_session_input, input, &[]));
    }
    docs
}

/// Every member of `doc`, at any depth, as a path of member names and array indexes.
fn member_paths(doc: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match doc {
        Value::Object(map) => {
            for (name, member) in map {
                at.push(json!(name));
                out.push(at.clone());
                member_paths(member, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(json!(i));
                member_paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn without(doc: &Value, path: &[Value]) -> Value {
    let mut doc = doc.clone();
    let mut node = &mut doc;
    for step in &path[..path.len() - 1] {
        node = match step {
            Value::String(name) => &mut node[name.as_str()],
            index => &mut node[index.as_u64().expect("an index") as usize],
        };
    }
    node.as_object_mut().expect("an object").remove(path[path.len() - 1].as_str().expect("a name"));
    doc
}

/// The read shapes say what the readers require: a document with only the required members
/// is accepted by the reader and the schema, and without any one of them (at any depth)
/// refused by both. And the schema's `default`s are what the readers fill in.
#[test]
fn read_shapes_require_and_default_what_the_readers_do() {
    let schema = generate();
    let validator = Validator::new(&schema);
    let mut problems = Vec::new();
    for (name, read, doc, optional) in minimal_documents() {
        let errors = validator.check(name, &doc);
        let read_back = read(&doc);
        if !errors.is_empty() {
            problems.push(format!("{name} {doc}: refused by the schema: {errors:?}"));
        }
        match &read_back {
            Ok(value) => check_defaults(&schema, &json!({ "$ref": format!("#/$defs/{name}") }), &doc, value, "$", &mut problems),
            Err(e) => problems.push(format!("{name} {doc}: refused by the reader: {e}")),
        }
        let mut paths = Vec::new();
        member_paths(&doc, &mut Vec::new(), &mut paths);
        for path in paths {
            let dotted: Vec<String> = path.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string)).collect();
            if optional.contains(&dotted.join(".").as_str()) {
                continue;
            }
            let smaller = without(&doc, &path);
            let by_schema = validator.check(name, &smaller).is_empty();
            let by_reader = read(&smaller).is_ok();
            if by_schema || by_reader {
                let by = [(by_schema, "the schema"), (by_reader, "the reader")]
                    .iter()
                    .filter(|b| b.0)
                    .map(|b| b.1)
                    .collect::<Vec<_>>();
                problems.push(format!("{name} {doc} without {path:?}: accepted by {}", by.join(" and ")));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `default` of `schema` (through `$ref`s and the variant `value` is) for a member
/// `input` lacks equals that member of `value`: what the reader filled in, serialized back.
fn check_defaults(root: &Value, schema: &Value, input: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else { return };
    if let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        check_defaults(root, &root["$defs"][name], input, value, at, problems);
    }
    if let (Some(properties), Some(members)) = (schema.get("properties").and_then(Value::as_object), value.as_object()) {
        for (name, sub) in properties {
            let member = members.get(name);
            if let (Some(default), None) = (sub.get("default"), input.get(name))
                && member != Some(default)
            {
                problems.push(format!("{at}.{name}: the schema's default is {default}, the reader's {member:?}"));
            }
            if let Some(member) = member {
                check_defaults(root, sub, input.get(name).unwrap_or(&Value::Null), member, &format!("{at}.{name}"), problems);
            }
        }
    }
    for key in ["oneOf", "anyOf"] {
        for branch in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            let tags_match = branch
                .get("properties")
                .and_then(Value::as_object)
                .is_none_or(|p| p.iter().all(|(n, s)| s.get("const").is_none_or(|c| value.get(n) == Some(c))));
            if tags_match && branch.get("type") != Some(&json!("null")) {
                check_defaults(root, branch, input, value, at, problems);
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            check_defaults(root, items, input.get(i).unwrap_or(&Value::Null), v, &format!("{at}[{i}]"), problems);
        }
    }
}
