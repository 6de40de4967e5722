//! Shared harness of the integration tests: the real test IdP (tests/idp, oidc-provider)
//! as a child process, a blocking HTTP helper for its `/__test/*` approver, a recording
//! proxy that counts what reaches the token endpoint, a `Ui` that approves logins
//! unattended, and CLI subprocess helpers with a private config directory.
//!
//! Every test binary includes this module (`mod common;`); not every binary uses every
//! helper.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use termauth::core::session::{NoticeLevel, Progress};
use termauth::core::texts::Prompt;
use termauth::core::{ServerMetadata, UserCodePrompt};
use termauth::driver::{CancelFlag, now_ms};
use termauth::store::{CredentialKey, StorePreference, server_key};
use termauth::ui::{Silent, Ui};
use termauth::{Client, Config};

/// The public client of the fixture.
pub const CLI_CLIENT: &str = "termauth-cli";
/// The app name used by library tests (so `<APP>_TOKEN` of the real app cannot interfere).
pub const APP: &str = "tatest";

// ------------------------------------------------------------------------------ the IdP

/// The test IdP, running as a child process on a random port. Stopped on drop.
///
/// It runs under `sh -c 'node server.js & …; cat >/dev/null; kill -TERM …'` with our pipe as
/// the shell's stdin: dropping the pipe stops it, and so does this test process dying in
/// any way (the pipe closes), so no IdP outlives its test binary, shared ones included.
pub struct Idp {
    child: Child,
    stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub issuer: String,
    /// The port.
    pub port: u16,
    /// The MCP server's URL (`http://127.0.0.1:PORT/mcp`), when started with `IDP_MCP=1`.
    pub mcp: Option<String>,
    stderr_path: PathBuf,
    _tmp: tempfile::TempDir,
}

const WRAPPER: &str = r#"
node "$0" --port 0 &
pid=$!
exec >/dev/null
cat >/dev/null
kill -TERM "$pid" 2>/dev/null
wait "$pid"
"#;

impl Idp {
    /// An IdP with the default settings.
    pub fn start() -> Idp {
        Idp::start_with(&[])
    }

    /// An IdP with extra environment (`IDP_ACCESS_TOKEN_TTL`, `IDP_SLOW_DOWN`, …).
    pub fn start_with(env: &[(&str, &str)]) -> Idp {
        let server = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/idp/server.js");
        let tmp = tempfile::tempdir().expect("tempdir");
        let stderr_path = tmp.path().join("idp.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(WRAPPER).arg(server);
        for (k, _) in std::env::vars() {
            if k.starts_with("IDP_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn sh/node for the test IdP (is node on PATH?)");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let ready: Value = serde_json::from_str(line.trim()).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "the test IdP did not start (ready line {line:?}); did you run `npm ci` in tests/idp?\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            )
        });
        let issuer = ready["issuer"].as_str().expect("issuer").to_string();
        let port = ready["port"].as_u64().expect("port") as u16;
        let mcp = ready["mcp"].as_str().map(String::from);
        let stdin = child.stdin.take();
        Idp { child, stdin, issuer, port, mcp, stderr_path, _tmp: tmp }
    }

    /// One IdP (default settings) shared by the tests of this binary; it dies with the
    /// binary (see the type docs).
    pub fn shared() -> &'static Idp {
        static SHARED: OnceLock<Idp> = OnceLock::new();
        SHARED.get_or_init(Idp::start)
    }

    /// Stops it (SIGTERM) and waits until it has exited.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }

    /// What it wrote to stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `POST /__test/device`.
    pub fn device(&self, user_code: &str, action: &str) -> Value {
        post_json(&format!("{}/__test/device", self.issuer), &json!({"user_code": user_code, "action": action})).1
    }

    /// `POST /__test/authorize`.
    pub fn authorize(&self, url: &str, action: &str, follow_redirect: bool) -> Value {
        let (status, v) = post_json(
            &format!("{}/__test/authorize", self.issuer),
            &json!({"url": url, "action": action, "follow_redirect": follow_redirect}),
        );
        assert_eq!(status, 200, "approver failed: {v}");
        v
    }

    /// Introspects `token` as the confidential `termauth-ci-basic` client (RFC 7662).
    pub fn introspect(&self, token: &str) -> Value {
        let (status, v) = post_form(
            &format!("{}/token/introspection", self.issuer),
            &[("token", token)],
            Some(("termauth-ci-basic", "s3cr3t:with/special+chars")),
        );
        assert_eq!(status, 200, "introspection: {v}");
        v
    }

    /// A raw refresh request for a public client: `(status, body)`.
    pub fn raw_refresh(&self, client_id: &str, refresh_token: &str) -> (u16, Value) {
        post_form(
            &format!("{}/token", self.issuer),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client_id)],
            None,
        )
    }

    /// The discovery document as metadata.
    pub fn metadata(&self) -> ServerMetadata {
        let (status, v) = get(&format!("{}/.well-known/openid-configuration", self.issuer));
        assert_eq!(status, 200);
        serde_json::from_value(v).expect("metadata")
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.stop();
    }
}

// ------------------------------------------------------------------------------ HTTP

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn parse_body(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// `POST url` with a JSON body: `(status, body)` (a non-JSON body comes back as a string).
pub fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let mut resp = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    (status, parse_body(resp.body_mut().read_to_string().unwrap_or_default()))
}

/// `POST url` with a form body, optionally with HTTP Basic client authentication
/// (RFC 6749 §2.3.1: id and secret form-encoded before base64).
pub fn post_form(url: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
    let mut req = agent().post(url).header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let creds = base64(format!("{}:{}", urlencode(id), urlencode(secret)).as_bytes());
        req = req.header("authorization", &format!("Basic {creds}"));
    }
    let mut resp = req.send(body.as_bytes()).unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    (status, parse_body(resp.body_mut().read_to_string().unwrap_or_default()))
}

/// `GET url`: `(status, body)`.
pub fn get(url: &str) -> (u16, Value) {
    let mut resp = agent().get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, parse_body(resp.body_mut().read_to_string().unwrap_or_default()))
}

/// `GET url` with a bearer token: `(status, body)`.
pub fn get_bearer(url: &str, token: &str) -> (u16, Value) {
    let mut resp =
        agent().get(url).header("authorization", &format!("Bearer {token}")).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, parse_body(resp.body_mut().read_to_string().unwrap_or_default()))
}

/// `application/x-www-form-urlencoded` encoding.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Replaces (or appends) the query parameter `name` of `url`.
pub fn set_query_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut found = false;
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.split('=').next() == Some(name) {
                found = true;
                format!("{name}={}", urlencode(value))
            } else {
                p.to_string()
            }
        })
        .collect();
    if !found {
        parts.push(format!("{name}={}", urlencode(value)));
    }
    format!("{base}?{}", parts.join("&"))
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ------------------------------------------------------------------------------ proxy

/// One request seen by the [`Proxy`], with the answer it got.
#[derive(Clone)]
pub struct Seen {
    /// When the request arrived.
    pub at: Instant,
    /// Method.
    pub method: String,
    /// Path (without the query).
    pub path: String,
    /// The request body's form fields (for form posts).
    pub form: HashMap<String, String>,
    /// The upstream status.
    pub status: u16,
    /// The upstream body (after any rewrite).
    pub body: String,
}

impl std::fmt::Debug for Seen {
    // No bodies: they hold tokens, and they would drown the failure message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {:?} -> {} {:?}", self.method, self.path, self.grant_type(), self.status, self.error())
    }
}

impl Seen {
    /// The `grant_type` of a token request.
    pub fn grant_type(&self) -> Option<&str> {
        self.form.get("grant_type").map(String::as_str)
    }
    /// The OAuth `error` of the answer.
    pub fn error(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.body).ok().and_then(|v| v["error"].as_str().map(str::to_string))
    }
}

type Rewrite = Box<dyn Fn(&str, String) -> String + Send + Sync>;
/// Requests as they arrive: (path, grant_type).
type Arrivals = Mutex<Vec<(String, Option<String>)>>;

/// A recording HTTP/1.1 forwarder in front of the IdP: every request is forwarded with
/// `Connection: close`, and recorded with its answer. An optional hook rewrites response
/// bodies (by path). Point a client at it with [`Proxy::metadata`].
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    upstream: String,
    log: Arc<Mutex<Vec<Seen>>>,
    arrivals: Arc<Arrivals>,
}

fn form_fields(body: &str) -> HashMap<String, String> {
    let decode = |s: &str| -> String {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

/// An HTTP/1.1 message: start line, headers, body.
type Message = (String, Vec<(String, String)>, Vec<u8>);

/// Reads an HTTP/1.1 message head and body (Content-Length or chunked, or to EOF).
fn read_message(stream: &mut impl BufRead, to_eof: bool) -> Option<Message> {
    let mut start = String::new();
    if stream.read_line(&mut start).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).ok()? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            stream.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).ok()?;
            if n == 0 {
                let mut trailer = String::new();
                while stream.read_line(&mut trailer).ok()? > 2 {
                    trailer.clear();
                }
                break;
            }
            let mut chunk = vec![0; n + 2];
            stream.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        stream.read_exact(&mut body).ok()?;
    } else if to_eof {
        stream.read_to_end(&mut body).ok()?;
    }
    Some((start.trim_end().to_string(), headers, body))
}

impl Proxy {
    /// A proxy to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Proxy {
        Proxy::start_with(upstream, Box::new(|_, body| body))
    }

    /// A proxy whose response bodies pass through `rewrite(path, body)`.
    pub fn start_with(upstream: &str, rewrite: Rewrite) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let log = Arc::new(Mutex::new(Vec::new()));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let up = upstream.trim_start_matches("http://").to_string();
        let rewrite = Arc::new(rewrite);
        let (log2, arrivals2) = (log.clone(), arrivals.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (up, log, arrivals, rewrite) = (up.clone(), log2.clone(), arrivals2.clone(), rewrite.clone());
                std::thread::spawn(move || {
                    let _ = Proxy::serve(stream, &up, &log, &arrivals, rewrite.as_ref());
                });
            }
        });
        Proxy { url, upstream: upstream.to_string(), log, arrivals }
    }

    fn serve(mut client: TcpStream, up: &str, log: &Mutex<Vec<Seen>>, arrivals: &Arrivals, rewrite: &Rewrite) -> Option<()> {
        let mut reader = BufReader::new(client.try_clone().ok()?);
        // One request per connection: we answer `Connection: close`.
        let (start, headers, body) = read_message(&mut reader, false)?;
        let at = Instant::now();
        let mut parts = start.split_whitespace();
        let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
        let path = target.split('?').next().unwrap_or("").to_string();
        let form = form_fields(&String::from_utf8_lossy(&body));
        arrivals.lock().unwrap().push((path.clone(), form.get("grant_type").cloned()));
        let mut upstream = TcpStream::connect(up).ok()?;
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {up}\r\nConnection: close\r\n");
        for (k, v) in &headers {
            if !["host", "connection", "content-length", "transfer-encoding"].contains(&k.to_ascii_lowercase().as_str()) {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        upstream.write_all(head.as_bytes()).ok()?;
        upstream.write_all(&body).ok()?;
        let (status_line, resp_headers, resp_body) = read_message(&mut BufReader::new(upstream), true)?;
        let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
        let text = rewrite(&path, String::from_utf8_lossy(&resp_body).into_owned());
        log.lock().unwrap().push(Seen { at, method, path, form, status, body: text.clone() });
        let mut out = format!("{status_line}\r\n");
        for (k, v) in &resp_headers {
            if !["connection", "content-length", "transfer-encoding", "keep-alive"].contains(&k.to_ascii_lowercase().as_str()) {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", text.len()));
        client.write_all(out.as_bytes()).ok()?;
        client.write_all(text.as_bytes()).ok()?;
        let _ = client.flush();
        Some(())
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Token-endpoint requests with this grant type that have *arrived* (answered or not).
    pub fn token_arrivals(&self, grant_type: &str) -> usize {
        self.arrivals.lock().unwrap().iter().filter(|(p, g)| p == "/token" && g.as_deref() == Some(grant_type)).count()
    }

    /// Token-endpoint requests with this grant type (answered).
    pub fn token_requests(&self, grant_type: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == "/token" && s.grant_type() == Some(grant_type)).collect()
    }

    /// The IdP's metadata with every endpoint that lives under the issuer sent through
    /// this proxy instead (the issuer itself is unchanged, so validation still passes).
    pub fn metadata(&self, idp: &Idp) -> ServerMetadata {
        let mut v = serde_json::to_value(idp.metadata()).unwrap();
        let issuer = idp.issuer.clone();
        for (k, val) in v.as_object_mut().unwrap().iter_mut() {
            if k != "issuer"
                && let Some(s) = val.as_str()
                && let Some(rest) = s.strip_prefix(&issuer)
            {
                *val = Value::String(format!("{}{rest}", self.url));
            }
        }
        let _ = &self.upstream;
        serde_json::from_value(v).unwrap()
    }
}

/// Writes the CLI's metadata cache (`<dir>/metadata/<key>.json`) so that `termauth`
/// processes use `metadata` (e.g. a [`Proxy::metadata`]) instead of discovering.
pub fn write_metadata_cache(dir: &Path, metadata: &ServerMetadata) {
    let path = dir.join("metadata").join(format!("{}.json", server_key(&metadata.issuer, "")));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let v = json!({"fetched_at": now_ms(), "metadata": metadata});
    std::fs::write(path, v.to_string()).unwrap();
}

// ------------------------------------------------------------------------------ library

/// A library configuration: file store in `dir`, silent, app [`APP`].
pub fn config(issuer: &str, dir: &Path, client_id: &str, scope: Option<&str>) -> Config {
    let mut c = Config::new(APP, issuer, client_id);
    c.scope = scope.map(str::to_string);
    c.store = StorePreference::File;
    c.config_dir = Some(dir.to_string_lossy().into_owned());
    c
}

/// A library client that prints nothing.
pub fn silent_client(config: Config) -> Client {
    let mut client = Client::new(config).expect("client");
    client.set_ui(Box::new(Silent));
    client
}

/// The key of the default profile (for the CLI: app `termauth`).
pub fn key(app: &str, issuer: &str, client_id: &str) -> CredentialKey {
    CredentialKey::new(app, issuer, client_id, "default")
}

/// The file-store record of the default profile.
pub fn record_path(dir: &Path, issuer: &str, client_id: &str) -> PathBuf {
    dir.join("credentials").join(format!("default@{}.json", server_key(issuer, client_id)))
}

/// Reads the stored record as JSON.
pub fn read_record(dir: &Path, issuer: &str, client_id: &str) -> Value {
    let text = std::fs::read_to_string(record_path(dir, issuer, client_id)).expect("stored record");
    serde_json::from_str(&text).expect("record JSON")
}

/// Makes the stored access token look expired (so the next `token` refreshes).
pub fn expire_record(dir: &Path, issuer: &str, client_id: &str) {
    let mut v = read_record(dir, issuer, client_id);
    v["tokens"]["expires_at"] = json!(now_ms().saturating_sub(1_000));
    std::fs::write(record_path(dir, issuer, client_id), v.to_string()).unwrap();
}

/// What to do with a browser login.
#[derive(Clone, Copy, Debug)]
pub enum Browser {
    /// `/__test/authorize` with this action and `follow_redirect: true`.
    Follow(&'static str),
    /// Get the redirect without following it, pass it through this function, then GET the
    /// result against the loopback listener ourselves.
    Tamper(fn(&str) -> String),
}

/// What the [`Approver`] saw and did.
#[derive(Default, Debug)]
pub struct Events {
    /// The device user code shown.
    pub user_code: Option<String>,
    /// When the code (or the browser URL) was shown.
    pub shown_at: Option<Instant>,
    /// The authorization URL shown.
    pub browser_url: Option<String>,
    /// When the approver's call returned (the user "clicked approve").
    pub approved_at: Option<Instant>,
    /// The approver's answer.
    pub approver: Option<Value>,
    /// For [`Browser::Tamper`]: the status and body the listener answered.
    pub callback: Option<(u16, String)>,
    /// For [`Browser::Tamper`]: when the redirect was sent to the loopback listener.
    pub redirect_sent_at: Option<Instant>,
    /// For [`Browser::Tamper`]: when the listener's page had arrived.
    pub callback_answered_at: Option<Instant>,
}

/// A `Ui` that plays the user: it approves (or denies) device codes and browser logins
/// through the IdP's `/__test/*` approver, from a thread.
pub struct Approver {
    issuer: String,
    device: Option<&'static str>,
    browser: Browser,
    /// Cancelled when the approver fails, so the login stops at once instead of waiting
    /// for its deadline (5 minutes for a redirect).
    cancel: CancelFlag,
    /// What happened (shared with the test).
    pub events: Arc<Mutex<Events>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// A handle on an [`Approver`] that stays with the test after the `Ui` is given away.
#[derive(Clone)]
pub struct ApproverHandle {
    /// What happened.
    pub events: Arc<Mutex<Events>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl ApproverHandle {
    /// Waits for the approver's threads.
    pub fn join(&self) {
        let threads: Vec<_> = self.threads.lock().unwrap().drain(..).collect();
        for t in threads {
            t.join().expect("approver thread panicked");
        }
    }
}

impl Approver {
    /// Device codes get `device` (`approve` / `deny`; `None`: never answered), browser
    /// logins `browser`.
    pub fn boxed(
        issuer: &str,
        device: Option<&'static str>,
        browser: Browser,
        cancel: CancelFlag,
    ) -> (Box<dyn Ui + Send>, ApproverHandle) {
        let a = Approver { issuer: issuer.to_string(), device, browser, cancel, events: Arc::default(), threads: Arc::default() };
        let handle = ApproverHandle { events: a.events.clone(), threads: a.threads.clone() };
        (Box::new(a), handle)
    }
}

impl Ui for Approver {
    fn show_user_code(&mut self, prompt: &UserCodePrompt, _text: &Prompt) {
        {
            let mut e = self.events.lock().unwrap();
            e.user_code = Some(prompt.user_code.clone());
            e.shown_at = Some(Instant::now());
        }
        let Some(action) = self.device else { return };
        let (issuer, code, events, cancel) =
            (self.issuer.clone(), prompt.user_code.clone(), self.events.clone(), self.cancel.clone());
        self.threads.lock().unwrap().push(std::thread::spawn(move || {
            let (_, v) = post_json(&format!("{issuer}/__test/device"), &json!({"user_code": code, "action": action}));
            if v["ok"] != true {
                cancel.cancel();
            }
            let mut e = events.lock().unwrap();
            e.approved_at = Some(Instant::now());
            e.approver = Some(v);
        }));
    }

    fn show_authorization_url(&mut self, url: &str, _text: &Prompt) {
        {
            let mut e = self.events.lock().unwrap();
            e.browser_url = Some(url.to_string());
            e.shown_at = Some(Instant::now());
        }
        let (issuer, url, events, plan) = (self.issuer.clone(), url.to_string(), self.events.clone(), self.browser);
        let cancel = self.cancel.clone();
        self.threads.lock().unwrap().push(std::thread::spawn(move || {
            let authorize = |action: &str, follow: bool| {
                let (status, v) = post_json(
                    &format!("{issuer}/__test/authorize"),
                    &json!({"url": url, "action": action, "follow_redirect": follow}),
                );
                if status != 200 || v["ok"] != true {
                    cancel.cancel();
                    events.lock().unwrap().approver = Some(v.clone());
                    panic!("approver failed ({status}): {v}");
                }
                v
            };
            match plan {
                Browser::Follow(action) => {
                    let v = authorize(action, true);
                    let mut e = events.lock().unwrap();
                    e.approved_at = Some(Instant::now());
                    e.approver = Some(v);
                }
                Browser::Tamper(f) => {
                    let v = authorize("approve", false);
                    let redirect = f(v["redirect"].as_str().expect("redirect"));
                    events.lock().unwrap().redirect_sent_at = Some(Instant::now());
                    let mut resp = agent().get(&redirect).call().expect("GET the loopback listener");
                    let status = resp.status().as_u16();
                    let body = resp.body_mut().read_to_string().unwrap_or_default();
                    let answered = Instant::now();
                    let mut e = events.lock().unwrap();
                    e.callback_answered_at = Some(answered);
                    e.approved_at = Some(Instant::now());
                    e.approver = Some(v);
                    e.callback = Some((status, body));
                }
            }
        }));
    }

    fn progress(&mut self, _: u64, _: &Progress) {}
    fn notice(&mut self, _: NoticeLevel, _: &str) {}
    fn clear(&mut self) {}
}

/// A library client with an [`Approver`].
pub fn client_with_approver(config: Config, device: Option<&'static str>, browser: Browser) -> (Client, ApproverHandle) {
    let issuer = config.issuer.clone();
    let mut client = Client::new(config).expect("client");
    let cancel = CancelFlag::new();
    client.set_cancel_flag(cancel.clone());
    let (ui, handle) = Approver::boxed(&issuer, device, browser, cancel);
    client.set_ui(ui);
    (client, handle)
}

/// On a desktop (a display and no `BROWSER`), the library's device and browser logins
/// would open a real browser, and a test cannot set `BROWSER` for itself (the crate
/// forbids `unsafe`, which `set_var` needs). Then the test re-runs itself in a child
/// process with `BROWSER` set to nothing and returns `true`: the caller returns at once.
pub fn rerun_without_browser(test_name: &str) -> bool {
    let desktop = cfg!(any(target_os = "macos", windows))
        || ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if std::env::var_os("BROWSER").is_some() || !desktop {
        return false;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--include-ignored", "--test-threads=1"])
        .env("BROWSER", "")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    true
}

// ------------------------------------------------------------------------------ CLI

/// The `termauth` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_termauth");

/// `termauth` with a private config dir, the file store, no browser and none of the
/// caller's TERMAUTH_* / CI / SSH / proxy environment.
pub fn cli(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        let ci = [
            "CI",
            "GITHUB_ACTIONS",
            "GITLAB_CI",
            "BUILDKITE",
            "JENKINS_URL",
            "TF_BUILD",
            "CIRCLECI",
            "TRAVIS",
            "TEAMCITY_VERSION",
            "BITBUCKET_BUILD_NUMBER",
        ];
        if k.starts_with("TERMAUTH_")
            || k.starts_with("SSH_")
            || k.to_ascii_lowercase().ends_with("_proxy")
            || ci.contains(&k.as_str())
        {
            c.env_remove(&k);
        }
    }
    c.env("TERMAUTH_CONFIG_DIR", dir)
        .env("TERMAUTH_NO_KEYRING", "1")
        .env("BROWSER", "/bin/false")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("XDG_CONFIG_HOME")
        .env("NO_COLOR", "1");
    c
}

/// `termauth login --password` as alice (the password in `TERMAUTH_PASSWORD`) to `issuer`
/// for `client_id`, then `extra` arguments (`--scope …`, `--json`, `-v`).
pub fn cli_password_login(dir: &Path, issuer: &str, client_id: &str, extra: &[&str]) -> Command {
    let mut c = cli(dir);
    c.env("TERMAUTH_PASSWORD", "wonderland")
        .args(["login", "--password", "--username", "alice", "--issuer", issuer, "--client-id", client_id])
        .args(extra);
    c
}

/// A finished CLI run.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub took: Duration,
}

impl Run {
    /// Asserts exit 0 and returns stdout trimmed.
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "termauth failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self.stdout.trim().to_string()
    }
}

/// Runs `cmd` with `stdin` (closed when `None`), killing it after `timeout`.
pub fn run(mut cmd: Command, stdin: Option<&str>, timeout: Duration) -> Run {
    let started = Instant::now();
    let mut child = cmd
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn termauth");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    finish(child, started, timeout)
}

/// Waits for a spawned child (stdout/stderr piped) up to `timeout`, killing it then.
pub fn finish(mut child: Child, started: Instant, timeout: Duration) -> Run {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = started + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("termauth did not finish within {timeout:?}; stderr: {}", t_err.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    Run { code: status.code().unwrap_or(-1), stdout: t_out.join().unwrap(), stderr: t_err.join().unwrap(), took }
}

/// `termauth ARGS` with the issuer and client given, 30 s timeout.
pub fn cli_run(dir: &Path, issuer: &str, client_id: &str, args: &[&str]) -> Run {
    let mut c = cli(dir);
    c.args(args).args(["--issuer", issuer, "--client-id", client_id]);
    run(c, None, Duration::from_secs(30))
}

/// The median of some durations, in ms.
pub fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    let n = v.len();
    let mid = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 };
    mid.as_secs_f64() * 1000.0
}
