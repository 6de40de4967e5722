//! Replays every conversation vector in `tests/vectors/*.json` (format:
//! `tests/vectors/README.md`). The npm, pip, C and Go packages replay the same files.
//!
//! `TERMAUTH_BLESS=1 cargo test -p termauth-core --test vectors` rewrites the `expect`
//! members from what the core does now; review the diff before committing it.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use termauth_core::{Flow, FlowSpec, Input, Rng, parse_seed_hex};

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

/// `kind` and `code` of an error, the part of errors that handle/start steps check.
fn error_id(e: &termauth_core::Error) -> Value {
    json!({ "kind": e.kind, "code": e.code })
}

/// Replays one vector; returns the vector with the observed results (for bless) and the
/// list of mismatches.
fn replay(vector: &Value) -> (Value, Vec<String>) {
    let mut out = vector.clone();
    let mut problems = Vec::new();
    let seed = parse_seed_hex(vector["seed"].as_str().unwrap_or_default()).expect("vector seed");
    let spec = FlowSpec::from_json(&vector["spec"].to_string());
    let started = spec.and_then(|s| s.start(Rng::from_seed(seed)));
    let mut flow = match started {
        Ok(f) => f,
        Err(e) => {
            let got = error_id(&e);
            if vector.get("expect_start_error") != Some(&got) {
                problems.push(format!("start: expected {:?}, got error {got}", vector.get("expect_start_error")));
            }
            out["expect_start_error"] = got;
            return (out, problems);
        }
    };
    if vector.get("expect_start_error").is_some() {
        problems.push("start: expected an error, the flow started".into());
    }
    let steps = vector["steps"].as_array().cloned().unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        if let Some(now) = step.get("poll") {
            let action = flow.poll(now.as_u64().expect("poll time"));
            let got = serde_json::to_value(&action).unwrap();
            if step.get("expect") != Some(&got) {
                problems.push(format!("step {i} poll: expected\n  {}\ngot\n  {got}", step.get("expect").unwrap_or(&Value::Null)));
            }
            out["steps"][i]["expect"] = got;
        } else if let Some(input) = step.get("handle") {
            let now = step["now"].as_u64().expect("handle step needs now");
            let input: Input = serde_json::from_value(input.clone()).unwrap_or_else(|e| panic!("step {i}: bad input: {e}"));
            let result = flow.handle(input, now);
            match (result, step.get("expect_error")) {
                (Ok(()), None) => {}
                (Ok(()), Some(Value::Null)) => {
                    problems.push(format!("step {i} handle: expect_error is null but the input was accepted"));
                    if let Some(o) = out["steps"][i].as_object_mut() {
                        o.remove("expect_error");
                    }
                }
                (Ok(()), Some(want)) => problems.push(format!("step {i} handle: expected error {want}, got Ok")),
                (Err(e), want) => {
                    let got = error_id(&e);
                    if want != Some(&got) {
                        problems.push(format!("step {i} handle: expected {want:?}, got error {got} ({})", e.message));
                    }
                    out["steps"][i]["expect_error"] = got;
                }
            }
        } else {
            problems.push(format!("step {i}: neither `poll` nor `handle`"));
        }
    }
    (out, problems)
}

#[test]
fn every_vector_replays() {
    let bless = std::env::var_os("TERMAUTH_BLESS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("tests/vectors exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let vector: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (observed, problems) = replay(&vector);
        if bless && !problems.is_empty() {
            std::fs::write(path, serde_json::to_string_pretty(&observed).unwrap() + "\n").unwrap();
            eprintln!("blessed {}", path.display());
        } else if !problems.is_empty() {
            failures.push(format!("{}:\n{}", path.file_name().unwrap().to_string_lossy(), problems.join("\n")));
        }
    }
    assert!(bless || files.len() >= 40, "expected at least 40 vectors, found {}", files.len());
    assert!(failures.is_empty(), "{} of {} vectors failed:\n\n{}", failures.len(), files.len(), failures.join("\n\n"));
    eprintln!("{} vectors replayed", files.len());
}
