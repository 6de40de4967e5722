//! The loopback authorization code flow: `handle(Input::Redirect { url })` with arbitrary
//! URLs, then the code exchange with an arbitrary token response.
//!
//! Sections: (0) configuration (`0`–`3`, `@delay: ms` before the redirect), (1) the
//! redirect URL, (2) the token response, (3) the ID token's claims. In sections 1–3
//! `{state}`, `{nonce}`, `{redirect_uri}`, `{iss}`, `{client_id}`, `{now_s}` are replaced by the
//! flow's real values and `{id_token}` by a JWT of section 3, so the fuzzer gets past the
//! `state` check to the deeper branches.

use crate::{CLIENT_ID, Driver, ISSUER, RawResponse, T0, sections, start};
use serde_json::{Value, json};
use termauth_core::{Action, Input, Outcome};

fn config(n: u8) -> (Value, bool, bool) {
    let server = |iss: bool| {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/authorize?tenant=1"),
            "token_endpoint": format!("{ISSUER}/token"),
            "authorization_response_iss_parameter_supported": iss,
        })
    };
    let client = json!({ "client_id": CLIENT_ID });
    match n % 4 {
        0 => (
            json!({ "flow": "authorization_code", "server": server(true), "client": client, "scope": "openid profile", "redirect_port": 8400 }),
            true,
            true,
        ),
        1 => (
            json!({ "flow": "authorization_code", "server": server(false), "client": client, "scope": "repo", "redirect_host": "localhost", "redirect_port": 53682, "redirect_path": "/cb" }),
            false,
            false,
        ),
        2 => (
            json!({ "flow": "authorization_code", "server": server(false), "client": client, "scope": "openid offline_access", "redirect_uri": "https://app.example.com/oauth/callback" }),
            true,
            false,
        ),
        _ => (
            json!({ "flow": "authorization_code", "server": server(true), "client": client, "redirect_host": "[::1]", "redirect_port": 1, "nonce": true }),
            false,
            true,
        ),
    }
}

fn jwt(claims: &str) -> String {
    let b = |s: &[u8]| termauth_core::fuzzing::base64url(s);
    format!("{}.{}.c2ln", b(br#"{"alg":"none"}"#), b(claims.as_bytes()))
}

/// The target.
pub fn run(data: &[u8]) {
    let secs = sections(data);
    let cfg = RawResponse::parse(&secs[0]);
    let (spec, openid, iss_required) = config(secs[0].bytes().next().unwrap_or(b'0'));
    let mut d = Driver::new(start(spec, 1), T0);
    match d.drain() {
        Action::AwaitRedirect { .. } => {}
        other => panic!("auth code: unexpected {other:?}"),
    }
    let (auth_url, redirect_uri) = d.browser.clone().unwrap();
    let q: Vec<(String, String)> = url::Url::parse(&auth_url).unwrap().query_pairs().into_owned().collect();
    let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let (state, nonce) = (param("state"), param("nonce"));
    assert_eq!(param("tenant"), "1", "the endpoint's own query is kept");
    let fill = |t: &str, now: u64| {
        t.replace("{state}", &state)
            .replace("{nonce}", &nonce)
            .replace("{redirect_uri}", &redirect_uri)
            .replace("{iss}", ISSUER)
            .replace("{client_id}", CLIENT_ID)
            .replace("{now_s}", &(now / 1000).to_string())
    };
    d.now += cfg.pseudo_u64("delay").unwrap_or(0) % 1_000_000;
    let redirect = fill(secs.get(1).map_or("", String::as_str), d.now);
    let _ = d.handle(Input::Redirect { url: redirect.clone() });
    let req = match d.drain() {
        Action::SendRequest(r) => r,
        Action::AwaitRedirect { .. } | Action::Failed { .. } => return d.finish(),
        other => panic!("auth code: unexpected {other:?}"),
    };
    // Accepted: the redirect had this login's state, a code, no error, and an acceptable iss.
    let raw = redirect.trim();
    let base = url::Url::parse(&redirect_uri).unwrap();
    let url = if raw.starts_with('/') { base.join(raw) } else { url::Url::parse(raw) }.expect("an accepted redirect parses");
    let got: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |name: &str| got.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(url.path(), base.path(), "a redirect to another path was accepted");
    assert_eq!(get("state"), Some(state.as_str()), "a redirect with another state was accepted");
    assert!(get("error").is_none(), "an error redirect was exchanged");
    assert!(get("iss").is_none_or(|i| i == ISSUER), "a redirect from another issuer was accepted");
    assert!(!iss_required || get("iss").is_some(), "a redirect without the required iss was accepted");
    let code = get("code").expect("a redirect without a code was accepted");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body.as_bytes()).into_owned().collect();
    assert!(
        form.iter().any(|(k, v)| k == "code" && v == code),
        "the exchange sends another code: {form:?} vs {code:?} from {raw:?}"
    );
    assert!(form.iter().any(|(k, v)| k == "redirect_uri" && *v == redirect_uri));
    // The exchange.
    let claims = fill(secs.get(3).map_or("", String::as_str), d.now);
    let body = fill(secs.get(2).map_or("", String::as_str), d.now).replace("{id_token}", &jwt(&claims));
    let resp = RawResponse::parse(&body);
    d.now += resp.pseudo_u64("delay").unwrap_or(0) % 1_000_000;
    let _ = d.answer(&resp, req.id);
    if let Action::Done { result: Outcome::Tokens { tokens } } = d.drain()
        && let (Some(id), true) = (&tokens.id_token, openid)
    {
        // An accepted ID token is for this client, from this issuer, current, with our nonce.
        let payload = id.expose().split('.').nth(1).expect("JWT");
        let claims: Value = serde_json::from_slice(&base64url_decode(payload)).expect("JSON claims");
        assert_eq!(claims["iss"], ISSUER);
        let aud_ok = claims["aud"] == CLIENT_ID || claims["aud"].as_array().is_some_and(|a| a.iter().any(|x| x == CLIENT_ID));
        assert!(aud_ok, "an ID token for another audience was accepted");
        assert_eq!(claims["nonce"].as_str(), Some(nonce.as_str()), "an ID token with another nonce was accepted");
        let exp = claims["exp"].as_u64().expect("exp");
        assert!(exp.saturating_mul(1000).saturating_add(300_000) > d.now, "an expired ID token was accepted");
    }
    d.finish();
}

fn base64url_decode(s: &str) -> Vec<u8> {
    // Tiny decoder, so the harness does not depend on the core's private one.
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
