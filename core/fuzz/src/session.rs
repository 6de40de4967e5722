//! A session fed hostile local state and a hostile server: the files it reads
//! (`profiles.json`, the record, the keyring pointer, the lock, the metadata cache) and the
//! server's answers come from the input. Whatever they hold, the session ends (`done` or
//! `failed`) within a bounded number of steps, never panics, never asks for a wait in the
//! past, and never quotes a secret of the record in an error.
//!
//! Input: a command byte, then `%%`-separated sections: profiles.json, record, pointer,
//! lock, metadata cache, then HTTP responses (the text form of [`crate::RawResponse`]), used
//! in turn.

use crate::{RawResponse, T0, sections};
use std::collections::BTreeMap;
use termauth_core::environment::{Environment, Platform};
use termauth_core::session::{Action, Command, Input, Session, SessionConfig, SessionSpec};
use termauth_core::{HttpResponse, Rng, Secret};

/// The target.
pub fn run(data: &[u8]) {
    let Some((&op, rest)) = data.split_first() else { return };
    let parts = sections(rest);
    let part = |i: usize| parts.get(i).filter(|s| !s.is_empty()).cloned();
    let command = match op % 6 {
        0 => Command::GetToken,
        1 => Command::Refresh,
        2 => Command::Logout,
        3 => Command::Status,
        4 => Command::Profiles,
        _ => Command::Discover,
    };
    let mut config = SessionConfig::new("fuzz", crate::ISSUER, crate::CLIENT_ID);
    config.lock_wait_ms = 2_000;
    let mut env = Environment { platform: Platform::Linux, host: "h".into(), pid: 7, vars: BTreeMap::new() };
    env.vars.insert("HOME".into(), "/home/f".into());
    let Ok(mut session) = Session::start(SessionSpec::new(command, config, env), Rng::from_seed([1; 32]), T0) else { return };
    let mut responses = parts.iter().skip(5).map(|s| RawResponse::parse(s));
    let mut now = T0;
    let secrets: Vec<String> = part(1)
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok())
        .map(|v| {
            ["access_token", "refresh_token"]
                .iter()
                .filter_map(|k| v["tokens"][k].as_str().map(str::to_string))
                .filter(|s| s.len() >= 12)
                .collect()
        })
        .unwrap_or_default();
    for _ in 0..20_000 {
        let answer = match session.poll(now) {
            Action::Done { .. } => return,
            Action::Failed { error } => {
                // A token that also appears elsewhere in the input (the server sent it back,
                // a cached endpoint holds it) may be quoted as that text; one only the record
                // holds must not be.
                let elsewhere = |s: &str| parts.iter().enumerate().any(|(i, p)| i != 1 && p.contains(s));
                for s in secrets.iter().filter(|s| !elsewhere(s)) {
                    assert!(!error.message.contains(s.as_str()), "an error quotes a secret: {error:?}");
                }
                return;
            }
            Action::WaitUntil { at_ms, .. } => {
                assert!(at_ms > now, "a wait that has already ended: {at_ms} <= {now}");
                now = at_ms;
                continue;
            }
            Action::ReadFile { id, path } => {
                let contents = if path.ends_with("profiles.json") {
                    part(0)
                } else if path.ends_with(".json") && path.contains("/credentials/") {
                    part(1)
                } else if path.ends_with(".keyring") {
                    part(2)
                } else if path.ends_with(".lock") {
                    part(3)
                } else if path.contains("/metadata/") {
                    part(4)
                } else {
                    None
                };
                // The mode and owner vary with the step's byte: private, readable or writable
                // by others, another user's, or unknown (a platform without them).
                let (mode, owned) = match (op >> 3) % 5 {
                    0 => (Some(0o600), Some(true)),
                    1 => (Some(0o644), Some(true)),
                    2 => (Some(0o666), Some(true)),
                    3 => (Some(0o600), Some(false)),
                    _ => (None, None),
                };
                Input::FileContents { id, contents: contents.map(Secret::new), modified_ms: Some(T0 - 1_000), mode, owned }
            }
            Action::WriteFile { id, .. } | Action::KeyringSet { id, .. } | Action::KeyringDelete { id, .. } => {
                Input::Completed { id }
            }
            Action::RemoveFile { id, .. } => Input::Removed { id, existed: true },
            Action::MakePrivate { id, .. } => Input::Completed { id },
            Action::ListDir { id, .. } => Input::DirListing { id, names: parts.iter().take(3).cloned().collect() },
            Action::CreateExclusive { id, .. } => Input::Created { id, created: op & 0x80 == 0 },
            Action::ProcessAlive { id, .. } => Input::ProcessStatus { id, alive: Some(op & 0x40 == 0) },
            Action::KeyringGet { id, .. } => Input::KeyringValue { id, value: part(1).map(Secret::new) },
            Action::SendRequest(r) => match responses.next() {
                Some(raw) => {
                    Input::HttpResponse(HttpResponse { id: r.id, status: raw.status, headers: raw.headers, body: raw.body })
                }
                None => Input::TransportError { id: r.id, kind: termauth_core::TransportErrorKind::Timeout, message: None },
            },
            Action::Notice { .. }
            | Action::ShowUserCode { .. }
            | Action::ShowAuthorizationUrl { .. }
            | Action::AnswerBrowser { .. } => {
                continue;
            }
            other => panic!("this command does not {other:?}"),
        };
        session.handle(answer, now).expect("the answer to the action handed out is accepted");
    }
    panic!("the session did not end in 20,000 steps");
}
