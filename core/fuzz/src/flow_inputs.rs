//! Any flow from a fixed set of configurations, then an arbitrary sequence of inputs and
//! poll times decoded from the bytes (first byte: the configuration; then opcodes). The
//! [`Driver`] checks stickiness, unchanged-on-refusal and the rest of the contract.

use crate::{CLIENT_ID, Driver, ISSUER, RawResponse, T0, start};
use serde_json::{Value, json};
use termauth_core::{Input, TransportErrorKind};

fn server() -> Value {
    json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/authorize"),
        "token_endpoint": format!("{ISSUER}/token"),
        "device_authorization_endpoint": format!("{ISSUER}/device_authorization"),
        "revocation_endpoint": format!("{ISSUER}/revoke"),
        "introspection_endpoint": format!("{ISSUER}/introspect"),
        "authorization_response_iss_parameter_supported": true,
    })
}

fn configs() -> Vec<Value> {
    let public = json!({ "client_id": CLIENT_ID });
    let basic = json!({ "client_id": CLIENT_ID, "auth": { "method": "client_secret_basic", "client_secret": "s:e/c+r%t" } });
    let post = json!({ "client_id": CLIENT_ID, "auth": { "method": "client_secret_post", "client_secret": "secret" } });
    let credential = json!({
        "schema_version": 1, "updated_at": T0, "kind": "oauth", "issuer": ISSUER, "client_id": CLIENT_ID,
        "grant": "authorization_code", "granted_scope": "openid profile email",
        "tokens": { "access_token": "at-0", "token_type": "Bearer", "expires_at": T0 + 60_000,
                    "refresh_token": "rt-0", "scope": "openid", "id_token": "h.e30.s" },
    });
    vec![
        json!({ "flow": "device", "server": server(), "client": public, "scope": "openid offline_access" }),
        json!({ "flow": "device", "server": server(), "client": post, "clock_drift_margin_ms": 1500, "resource": ["https://api.example.com"] }),
        json!({ "flow": "authorization_code", "server": server(), "client": public, "scope": "openid profile", "redirect_port": 8400, "redirect_timeout_ms": 60_000 }),
        json!({ "flow": "authorization_code", "server": server(), "client": public, "scope": "repo", "redirect_uri": "https://app.example.com/cb", "prompt": "login", "extra_params": { "audience": "api" } }),
        json!({ "flow": "client_credentials", "server": server(), "client": basic, "scope": "api:read" }),
        json!({ "flow": "password", "server": server(), "client": post, "username": "alice", "password": "pw", "enable_password_grant": true }),
        json!({ "flow": "refresh", "server": server(), "client": public, "credential": credential, "scope": "openid profile" }),
        json!({ "flow": "revocation", "server": server(), "client": public, "tokens": [
            { "token": "rt-0", "token_type_hint": "refresh_token" }, { "token": "at-0" } ] }),
        json!({ "flow": "introspection", "server": server(), "client": basic, "token": { "token": "at-0" } }),
        json!({ "flow": "discovery", "issuer": format!("{ISSUER}/tenant/1") }),
        json!({ "flow": "discovery", "issuer": ISSUER, "document": "oauth" }),
        json!({ "flow": "api_key", "key": "glpat-0123456789", "presentation": { "scheme": "header", "name": "PRIVATE-TOKEN" } }),
    ]
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn byte(&mut self) -> u8 {
        self.u8().unwrap_or(0)
    }
    fn u16(&mut self) -> u64 {
        u64::from(self.byte()) << 8 | u64::from(self.byte())
    }
    fn text(&mut self) -> String {
        let n = (self.byte() as usize).min(self.0.len());
        let (t, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(t).into_owned()
    }
}

fn response(status: u16, content_type: &str, body: &str) -> RawResponse {
    let mut r = RawResponse { status, body: body.to_string(), ..RawResponse::default() };
    if !content_type.is_empty() {
        r.headers.push(("Content-Type".into(), content_type.into()));
    }
    r
}

fn canned(i: u8, d: &Driver) -> RawResponse {
    const JSON: &str = "application/json";
    let meta = |issuer: &str| {
        let mut m = server();
        m["issuer"] = json!(issuer);
        m.to_string()
    };
    match i % 20 {
        0 => response(
            200,
            JSON,
            r#"{"device_code":"dc-1","user_code":"WDJB-MJHT","verification_uri":"https://as.example.com/device","expires_in":600,"interval":5}"#,
        ),
        1 => response(
            200,
            JSON,
            r#"{"device_code":"dc-1","user_code":"U","verification_url":"https://as.example.com/d","verification_uri_complete":"https://as.example.com/d?u=U","expires_in":2,"interval":0}"#,
        ),
        2 => response(400, JSON, r#"{"error":"authorization_pending"}"#),
        3 => response(400, JSON, r#"{"error":"slow_down"}"#),
        4 => response(200, JSON, r#"{"error":"slow_down","interval":30}"#),
        5 => response(
            200,
            JSON,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1","scope":"openid"}"#,
        ),
        6 => response(200, "application/x-www-form-urlencoded", "access_token=gho_x&token_type=bearer&scope=repo%2Cgist"),
        7 => {
            let mut r = response(503, "text/plain", "Service Unavailable");
            r.headers.push(("Retry-After".into(), "7".into()));
            r
        }
        8 => {
            let mut r = response(429, JSON, r#"{"message":"rate limited"}"#);
            r.headers.push(("retry-after".into(), "Sun, 06 Nov 1994 08:49:37 GMT".into()));
            r
        }
        9 => response(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        10 => response(400, JSON, r#"{"error":"access_denied"}"#),
        11 => response(400, JSON, r#"{"error":"expired_token"}"#),
        12 => response(200, JSON, &meta(ISSUER)),
        13 => response(200, JSON, &meta(&format!("{ISSUER}/tenant/1"))),
        14 => response(404, "text/html", "<h1>Not Found</h1>"),
        15 => response(200, "", ""),
        16 => response(200, JSON, r#"{"active":true,"scope":"read","client_id":"x","exp":1700003600}"#),
        17 => {
            let nonce = d
                .browser
                .as_ref()
                .and_then(|(u, _)| url::Url::parse(u).ok())
                .and_then(|u| u.query_pairs().find(|(k, _)| k == "nonce").map(|(_, v)| v.into_owned()))
                .unwrap_or_default();
            let claims = json!({ "iss": ISSUER, "aud": CLIENT_ID, "exp": d.now / 1000 + 3600, "nonce": nonce });
            let jwt = format!("e30.{}.sig", termauth_core::fuzzing::base64url(claims.to_string().as_bytes()));
            response(
                200,
                JSON,
                &json!({ "access_token": "at-2", "token_type": "DPoP", "id_token": jwt, "expires_in": 60 }).to_string(),
            )
        }
        18 => response(400, JSON, r#"{"error":"invalid_grant"}"#),
        _ => response(500, JSON, r#"{"error":"server_error"}"#),
    }
}

fn arbitrary_response(b: &mut Bytes) -> RawResponse {
    let status = (b.u16() % 600) as u16;
    let ct = ["application/json", "application/x-www-form-urlencoded", "text/html", ""][(b.byte() % 4) as usize];
    let mut r = response(status, ct, "");
    match b.byte() % 4 {
        0 => {}
        1 => r.headers.push(("Retry-After".into(), b.byte().to_string())),
        2 => r.headers.push(("Retry-After".into(), "Wed, 21 Oct 2015 07:28:00 GMT".into())),
        _ => r.headers.push(("Retry-After".into(), b.text())),
    }
    r.body = b.text();
    r
}

fn redirect(v: u8, b: &mut Bytes, d: &Driver) -> String {
    let (state, redirect_uri) = match &d.browser {
        Some((url, redirect_uri)) => {
            let state = url::Url::parse(url)
                .ok()
                .and_then(|u| u.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()))
                .unwrap_or_default();
            (state, redirect_uri.clone())
        }
        None => (String::new(), "http://127.0.0.1:8400/callback".to_string()),
    };
    let iss = "https%3A%2F%2Fas.example.com";
    match v % 7 {
        0 => format!("{redirect_uri}?code=c1&state={state}&iss={iss}"),
        1 => format!("{redirect_uri}?code=c1&state={state}"),
        2 => format!("{redirect_uri}?code=c1&state=not-{state}&iss={iss}"),
        3 => format!("{redirect_uri}?error=access_denied&state={state}&iss={iss}"),
        4 => b.text(),
        5 => format!("/callback?code=c1&state={state}&iss={iss}"),
        _ => format!("{redirect_uri}?state={state}&{}", b.text()),
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let mut b = Bytes(data);
    let configs = configs();
    let spec = configs[b.byte() as usize % configs.len()].clone();
    let mut d = Driver::new(start(spec, 3), T0);
    for _ in 0..256 {
        let Some(op) = b.u8() else { break };
        match op % 10 {
            0 | 1 => {
                d.now = d.now.saturating_add(b.u16() * 10);
                let _ = d.poll();
            }
            2 => {
                let late = u64::from(b.byte());
                if let Some(at) = d.deadline {
                    d.now = d.now.max(at.saturating_add(late));
                }
                let _ = d.poll();
            }
            3 | 4 => {
                let id = match b.byte() % 8 {
                    0 => d.last_id + 1,
                    1 => d.last_id.saturating_sub(1),
                    _ => d.outstanding.unwrap_or(d.last_id),
                };
                let raw = if op % 10 == 3 { canned(b.byte(), &d) } else { arbitrary_response(&mut b) };
                let _ = d.handle(raw.input(id));
            }
            5 => {
                let id = d.outstanding.unwrap_or(d.last_id);
                let kind = [
                    TransportErrorKind::Dns,
                    TransportErrorKind::Connect,
                    TransportErrorKind::Tls,
                    TransportErrorKind::Timeout,
                    TransportErrorKind::Other,
                ][(b.byte() % 5) as usize];
                let _ = d.handle(Input::TransportError { id, kind, message: None });
            }
            6 => {
                let v = b.byte();
                let url = redirect(v, &mut b, &d);
                let _ = d.handle(Input::Redirect { url });
            }
            7 => {
                let _ = d.handle(Input::Cancel);
            }
            8 => {
                // The driver's clock goes backwards.
                d.now = d.now.saturating_sub(b.u16() * 1000);
                let _ = d.poll();
            }
            _ => {
                let _ = d.drain();
            }
        }
        if let Some(r) = d.requests.last() {
            assert!(r.url.starts_with(ISSUER), "a request to another host: {}", r.url);
        }
    }
    d.finish();
}
