//! `Credential::from_json` on arbitrary text, then `lifecycle::decide` /
//! `after_renewal_failure` at many instants, and a refresh flow started from the record.

use crate::{Driver, RawResponse, T0};
use serde_json::{Value, json};
use termauth_core::lifecycle::{Decision, Policy, after_renewal_failure, decide};
use termauth_core::{Action, Credential, CredentialData, Error, ErrorKind, Grant, Outcome};

/// The target.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let c = match Credential::from_json(&text) {
        Ok(c) => c,
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Storage, "{e:?}");
            assert!(e.code == "credential_corrupt" || e.code == "credential_newer_version", "{e:?}");
            // The message names positions and members, never values (they can be secrets).
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                let mut secrets = Vec::new();
                collect_strings(&v, &mut secrets);
                for s in secrets.iter().filter(|s| s.chars().count() >= 12 && s.chars().any(|c| c.is_ascii_digit())) {
                    assert!(!e.message.contains(s.as_str()), "the error quotes a value: {e:?}");
                }
            }
            return;
        }
    };
    let back = Credential::from_json(&c.to_json()).unwrap_or_else(|e| panic!("a record does not read back: {e:?}"));
    assert_eq!(back, c, "a record reads back different");
    let (name, value) = c.authorization_header();
    assert!(!name.is_empty() || matches!(c.data, CredentialData::ApiKey { .. }));
    assert!(value.expose().contains(c.secret().expose()));
    let expires_at = c.tokens().and_then(|t| t.expires_at);
    let mut times = vec![0, 1, T0, c.updated_at, u64::MAX - 1, u64::MAX];
    if let Some(exp) = expires_at {
        for d in [-60_001i64, -60_000, -1, 0, 1] {
            times.push(exp.saturating_add_signed(d));
        }
    }
    times.sort_unstable();
    times.dedup();
    let invalid_grant = Error::oauth("invalid_grant", None, None, Some(400));
    let transient = Error::transport("timed out", None);
    for policy in [Policy::default(), Policy { refresh_skew_ms: 0 }, Policy { refresh_skew_ms: u64::MAX }] {
        let mut renewing = false;
        for &t in &times {
            let decision = decide(&c, t, &policy);
            // Once a credential needs renewing, it never goes back to "use as is".
            if renewing {
                assert_ne!(decision, Decision::Use, "decide went back to Use at {t}");
            }
            renewing |= decision != Decision::Use;
            let valid = !c.tokens().is_some_and(|tk| tk.is_expired(t));
            match (&c.data, &decision) {
                (CredentialData::ApiKey { .. }, d) => assert_eq!(d, &Decision::Use),
                (CredentialData::OAuth { tokens, grant, .. }, Decision::Refresh { still_valid }) => {
                    assert!(tokens.refresh_token.is_some() && *grant != Grant::ClientCredentials);
                    assert_eq!(*still_valid, valid);
                }
                (CredentialData::OAuth { grant, .. }, Decision::Reacquire { still_valid }) => {
                    assert_eq!(*grant, Grant::ClientCredentials);
                    assert_eq!(*still_valid, valid);
                }
                (CredentialData::OAuth { tokens, .. }, Decision::Relogin { .. }) => {
                    assert!(tokens.refresh_token.is_none() && !valid);
                }
                (CredentialData::OAuth { .. }, Decision::Use) => {}
            }
            let after = after_renewal_failure(&c, &invalid_grant, t).expect("invalid_grant is never passed back");
            assert_eq!(after == Decision::Use, valid);
            match after_renewal_failure(&c, &transient, t) {
                Ok(d) => assert!(valid && d == Decision::Use),
                Err(e) => assert!(!valid && e == transient),
            }
        }
    }
    refresh(&c);
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// A refresh started from the record: the request carries its refresh token, and a
/// response without one keeps it.
fn refresh(c: &Credential) {
    let CredentialData::OAuth { issuer, client_id, tokens, .. } = &c.data else { return };
    let Some(rt) = tokens.refresh_token.clone() else { return };
    let spec = json!({
        "flow": "refresh",
        "server": { "issuer": issuer, "token_endpoint": "https://as.example.com/token" },
        "client": { "client_id": client_id },
        "credential": c,
    });
    let Ok(spec) = serde_json::from_value::<termauth_core::FlowSpec>(spec) else { return };
    let Ok(flow) = spec.start(termauth_core::Rng::from_seed([0; 32])) else { return };
    let mut d = Driver::new(flow, T0);
    let Action::SendRequest(req) = d.drain() else { panic!("a refresh does not send its request") };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body.as_bytes()).into_owned().collect();
    assert!(form.iter().any(|(k, v)| k == "refresh_token" && v == rt.expose()), "the refresh request lacks the refresh token");
    let raw = RawResponse::parse(
        "200\nContent-Type: application/json\n\n{\"access_token\":\"new-at\",\"token_type\":\"Bearer\",\"expires_in\":60}",
    );
    d.answer(&raw, req.id).unwrap();
    match d.drain() {
        Action::Done { result: Outcome::Tokens { tokens: new } } => {
            assert_eq!(new.refresh_token.as_ref(), Some(&rt), "a refresh response without refresh_token keeps the old one");
            assert_eq!(new.id_token, tokens.id_token);
        }
        other => panic!("refresh: {other:?}"),
    }
    d.finish();
}
