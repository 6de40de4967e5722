//! Session conversation vectors (`tests/vectors/session/*.json`, format in
//! `tests/vectors/README.md`): replayed here, and by the npm, pip, C and Go packages.
//!
//! The files are written by the scenarios below: each scenario runs a session against a
//! small simulated world (a file system, a keyring, processes, an authorization server, a
//! user at a browser, other processes that act at set times), records every `poll` and
//! `handle`, and checks what the world looks like afterwards. Then:
//!
//! * `cargo test -p termauth-core --test session_vectors` replays every file and checks
//!   each scenario's own assertions;
//! * `TERMAUTH_GENERATE=1 cargo test -p termauth-core --test session_vectors` rewrites the
//!   files from the scenarios (review the diff before committing it).

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use termauth_core::environment::{Environment, Platform};
use termauth_core::session::{Action, Command, Input, LoginMethod, Outcome, Session, SessionConfig, SessionSpec};
use termauth_core::store::{CredentialKey, StorePaths, StorePreference, server_key};
use termauth_core::{HttpRequest, HttpResponse, Presentation, Rng, Secret, TransportErrorKind, parse_seed_hex};

const ISSUER: &str = "https://as.example.com";
const CLIENT: &str = "termauth-cli";
const APP: &str = "mycli";
const HOME: &str = "/home/u";
const DIR: &str = "/home/u/.config/mycli";
const HOST: &str = "host-a";
const PID: u32 = 4242;
const T0: u64 = 1_700_000_000_000;
const SEED: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/session")
}

// ---- replay ------------------------------------------------------------------------------

fn error_id(e: &termauth_core::Error) -> Value {
    json!({ "kind": e.kind, "code": e.code })
}

fn start(vector: &Value) -> Result<Session, termauth_core::Error> {
    let seed = parse_seed_hex(vector["seed"].as_str().unwrap_or_default()).expect("vector seed");
    let spec = SessionSpec::from_json(&vector["spec"].to_string())?;
    Session::start(spec, Rng::from_seed(seed), vector["start"].as_u64().expect("start"))
}

/// Replays one vector; returns the mismatches.
fn replay(vector: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut session = match start(vector) {
        Ok(s) => s,
        Err(e) => {
            if vector.get("expect_start_error") != Some(&error_id(&e)) {
                problems.push(format!("start: expected {:?}, got {}", vector.get("expect_start_error"), error_id(&e)));
            }
            return problems;
        }
    };
    if vector.get("expect_start_error").is_some() {
        problems.push("start: expected an error, the session started".into());
    }
    for (i, step) in vector["steps"].as_array().into_iter().flatten().enumerate() {
        if let Some(now) = step.get("poll") {
            let got = serde_json::to_value(session.poll(now.as_u64().expect("poll time"))).unwrap();
            if step.get("expect") != Some(&got) {
                problems.push(format!("step {i} poll: expected\n  {}\ngot\n  {got}", step.get("expect").unwrap_or(&Value::Null)));
                return problems; // the rest of the conversation no longer applies
            }
        } else if let Some(input) = step.get("handle") {
            let now = step["now"].as_u64().expect("handle step needs now");
            let input: Input = serde_json::from_value(input.clone()).unwrap_or_else(|e| panic!("step {i}: bad input: {e}"));
            match (session.handle(input, now), step.get("expect_error")) {
                (Ok(()), None) => {}
                (Ok(()), Some(want)) => problems.push(format!("step {i} handle: expected error {want}, got Ok")),
                (Err(e), want) => {
                    if want != Some(&error_id(&e)) {
                        problems.push(format!("step {i} handle: expected {want:?}, got {} ({})", error_id(&e), e.message));
                    }
                }
            }
        } else {
            problems.push(format!("step {i}: neither `poll` nor `handle`"));
        }
    }
    problems
}

fn vector_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_session_vector_replays() {
    if std::env::var_os("TERMAUTH_GENERATE").is_some() {
        write_vectors();
    }
    let files = vector_files();
    let mut failures = Vec::new();
    for path in &files {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let problems = replay(&vector);
        if !problems.is_empty() {
            failures.push(format!("{}:\n{}", path.file_name().unwrap().to_string_lossy(), problems.join("\n")));
        }
    }
    assert!(files.len() >= 30, "expected at least 30 session vectors, found {}", files.len());
    assert!(failures.is_empty(), "{} of {} session vectors failed:\n\n{}", failures.len(), files.len(), failures.join("\n\n"));
}

/// Every file comes from a scenario, and every scenario's file is up to date: a changed
/// behaviour shows up as a diff of the vectors, not as a stale contract.
#[test]
fn the_files_are_the_scenarios() {
    let scenarios = scenarios();
    let names: BTreeSet<String> = scenarios.iter().map(|s| format!("{}.json", s.name)).collect();
    let files: BTreeSet<String> = vector_files().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, files, "scenarios and files differ; run with TERMAUTH_GENERATE=1");
    for scenario in scenarios {
        let (vector, _) = record(&scenario);
        let path = vector_dir().join(format!("{}.json", scenario.name));
        let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(on_disk == vector, "{} is stale; run with TERMAUTH_GENERATE=1 and review the diff", path.display());
    }
}

/// Each scenario's own checks of the outcome and of the world afterwards.
#[test]
fn scenarios_hold() {
    for scenario in scenarios() {
        let (_, world) = record(&scenario);
        (scenario.check)(&world);
    }
}

fn write_vectors() {
    std::fs::create_dir_all(vector_dir()).unwrap();
    for old in vector_files() {
        std::fs::remove_file(old).unwrap();
    }
    for scenario in scenarios() {
        let (vector, _) = record(&scenario);
        let path = vector_dir().join(format!("{}.json", scenario.name));
        std::fs::write(&path, serde_json::to_string_pretty(&vector).unwrap() + "\n").unwrap();
    }
}

// ---- the simulated world --------------------------------------------------------------------

/// An answer of the simulated authorization server.
#[derive(Clone)]
enum Reply {
    Http(u16, Value),
    Html(u16, &'static str),
    Transport,
}

/// The simulated authorization server: what it supports and how it answers.
#[derive(Clone)]
struct Server {
    device: bool,
    revocation: bool,
    /// `authorization_pending` answers before the device login is approved.
    pending: u32,
    /// The answer to a refresh request (None: new tokens, rotated).
    refresh: Option<Reply>,
    /// The answer to the code exchange (None: tokens).
    exchange: Option<Reply>,
    /// The answer to revocation (None: 200).
    revoke: Option<Reply>,
    /// The answer to discovery (None: the metadata).
    discovery: Option<Reply>,
    /// The answer to the device authorization request (None: a usual one).
    device_reply: Option<Reply>,
    issued: u32,
    lifetime_s: u64,
    /// The claims of an ID token sent with the tokens (None: no ID token).
    id_token_claims: Option<Value>,
    /// Device polls that get no answer (a transport error) before the others.
    poll_outage: u32,
    /// The scope the device grant's tokens are issued with.
    device_granted: &'static str,
}

/// An unsigned JWT of `claims` (termauth reads only the payload: the token endpoint over
/// TLS stands for the signature, OIDC Core §3.1.3.7 step 6).
fn id_token(claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(&claims.to_string()))
}

impl Default for Server {
    fn default() -> Self {
        Server {
            device: true,
            revocation: true,
            pending: 1,
            refresh: None,
            exchange: None,
            revoke: None,
            discovery: None,
            device_reply: None,
            issued: 0,
            lifetime_s: 3600,
            id_token_claims: None,
            poll_outage: 0,
            device_granted: "openid offline_access",
        }
    }
}

impl Server {
    fn metadata(&self) -> Value {
        let mut m = json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "code_challenge_methods_supported": ["S256"],
        });
        if self.device {
            m["device_authorization_endpoint"] = json!(format!("{ISSUER}/device"));
        }
        if self.revocation {
            m["revocation_endpoint"] = json!(format!("{ISSUER}/revoke"));
        }
        m
    }

    fn tokens(&mut self, scope: Option<&str>) -> Reply {
        self.issued += 1;
        let n = self.issued;
        let mut body = json!({"access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": self.lifetime_s,
            "refresh_token": format!("rt-{n}")});
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        if let Some(claims) = &self.id_token_claims {
            body["id_token"] = json!(id_token(claims));
        }
        Reply::Http(200, body)
    }

    fn answer(&mut self, request: &HttpRequest) -> Reply {
        let path = request.url.strip_prefix(ISSUER).unwrap_or(&request.url).to_string();
        let form: BTreeMap<String, String> = form_urlencoded::parse(request.body.as_bytes()).into_owned().collect();
        match (path.as_str(), form.get("grant_type").map(String::as_str)) {
            ("/.well-known/openid-configuration", _) => {
                self.discovery.clone().unwrap_or_else(|| Reply::Http(200, self.metadata()))
            }
            ("/device", _) if self.device_reply.is_some() => self.device_reply.clone().unwrap(),
            ("/device", _) => Reply::Http(
                200,
                json!({"device_code": "dc-1", "user_code": "WDJB-MJHT",
                "verification_uri": format!("{ISSUER}/device"),
                "verification_uri_complete": format!("{ISSUER}/device?user_code=WDJB-MJHT"), "expires_in": 900, "interval": 5}),
            ),
            ("/token", Some("urn:ietf:params:oauth:grant-type:device_code")) => {
                if self.poll_outage > 0 {
                    self.poll_outage -= 1;
                    Reply::Transport
                } else if self.pending > 0 {
                    self.pending -= 1;
                    Reply::Http(400, json!({"error": "authorization_pending"}))
                } else {
                    self.tokens(Some(self.device_granted))
                }
            }
            ("/token", Some("refresh_token")) => self.refresh.clone().unwrap_or_else(|| self.tokens(None)),
            ("/token", Some("authorization_code")) => {
                self.exchange.clone().unwrap_or_else(|| self.tokens(Some("openid offline_access")))
            }
            ("/token", Some("client_credentials")) => {
                self.issued += 1;
                Reply::Http(
                    200,
                    json!({"access_token": format!("cc-{}", self.issued), "token_type": "Bearer", "expires_in": 600}),
                )
            }
            ("/token", Some("password")) => self.tokens(None),
            ("/revoke", _) => self.revoke.clone().unwrap_or(Reply::Http(200, json!({}))),
            _ => Reply::Http(404, json!({"error": "not_found"})),
        }
    }
}

/// What the user does when the session waits for the browser.
#[derive(Clone, Copy, PartialEq, Eq)]
enum User {
    /// Approves: the redirect carries the code and the right state.
    Approves,
    /// Denies: `error=access_denied`.
    Denies,
    /// Pastes an address that is not the redirect first, then the right one.
    PastesWrongThenRight,
    /// Closes standard input.
    ClosesInput,
}

/// Another process's doing, at a time.
type Event = (u64, fn(&mut World));

struct World {
    now: u64,
    files: BTreeMap<String, (String, u64)>,
    /// Permission bits of the files that are not 0600.
    modes: BTreeMap<String, u32>,
    /// Files that belong to another user.
    foreign: BTreeSet<String>,
    /// `Err`: the keyring cannot be used, with the reason.
    keyring: Result<BTreeMap<(String, String), String>, String>,
    alive: BTreeSet<u32>,
    server: Server,
    browser_opens: bool,
    user: User,
    last_url: Option<String>,
    pasted_wrong: bool,
    events: Vec<Event>,
    /// What another process does while this one's refresh request is on its way.
    on_refresh: Option<fn(&mut World)>,
    /// The user presses Ctrl-C while a request to this path is in flight, and the driver
    /// aborts it (answering with a transport error).
    cancel_during_request: Option<&'static str>,
    /// `METHOD path grant_type` of every request, in order.
    requests: Vec<String>,
    actions: Vec<Value>,
    outcome: Option<Result<Outcome, termauth_core::Error>>,
}

impl World {
    fn new() -> World {
        World {
            now: T0,
            files: BTreeMap::new(),
            modes: BTreeMap::new(),
            foreign: BTreeSet::new(),
            keyring: Ok(BTreeMap::new()),
            alive: BTreeSet::from([PID]),
            server: Server::default(),
            browser_opens: true,
            user: User::Approves,
            last_url: None,
            pasted_wrong: false,
            events: Vec::new(),
            on_refresh: None,
            cancel_during_request: None,
            requests: Vec::new(),
            actions: Vec::new(),
            outcome: None,
        }
    }

    fn write(&mut self, path: &str, contents: String) {
        let now = self.now;
        self.files.insert(path.to_string(), (contents, now));
    }

    fn storage(&mut self, action: &Action) -> Input {
        let now = self.now;
        match action {
            Action::ReadFile { id, path } => match self.files.get(path) {
                Some((c, m)) => Input::FileContents {
                    id: *id,
                    contents: Some(Secret::new(c.clone())),
                    modified_ms: Some(*m),
                    mode: Some(self.modes.get(path).copied().unwrap_or(0o600)),
                    owned: Some(!self.foreign.contains(path)),
                },
                None => Input::FileContents { id: *id, contents: None, modified_ms: None, mode: None, owned: None },
            },
            Action::WriteFile { id, path, contents } => {
                // A new file (renamed over the old one): 0600, this user's.
                self.files.insert(path.clone(), (contents.expose().to_string(), now));
                self.modes.remove(path);
                self.foreign.remove(path);
                Input::Completed { id: *id }
            }
            Action::MakePrivate { id, path } => match self.files.contains_key(path) {
                true => {
                    let mode = self.modes.remove(path).unwrap_or(0o600) & 0o700;
                    if mode != 0o600 {
                        self.modes.insert(path.clone(), mode);
                    }
                    Input::Completed { id: *id }
                }
                false => Input::IoError { id: *id, message: "No such file or directory (os error 2)".into() },
            },
            Action::RemoveFile { id, path } => Input::Removed { id: *id, existed: self.files.remove(path).is_some() },
            Action::ListDir { id, path } => {
                let prefix = format!("{path}/");
                let names = self
                    .files
                    .keys()
                    .filter_map(|p| p.strip_prefix(&prefix))
                    .filter(|n| !n.contains('/'))
                    .map(str::to_string)
                    .collect();
                Input::DirListing { id: *id, names }
            }
            Action::CreateExclusive { id, path, contents } => {
                let created = !self.files.contains_key(path);
                if created {
                    self.files.insert(path.clone(), (contents.clone(), now));
                }
                Input::Created { id: *id, created }
            }
            Action::ProcessAlive { id, pid } => Input::ProcessStatus { id: *id, alive: Some(self.alive.contains(pid)) },
            Action::KeyringGet { id, service, account } => match &self.keyring {
                Ok(k) => {
                    Input::KeyringValue { id: *id, value: k.get(&(service.clone(), account.clone())).cloned().map(Secret::new) }
                }
                Err(why) => Input::IoError { id: *id, message: why.clone() },
            },
            Action::KeyringSet { id, service, account, value } => match &mut self.keyring {
                Ok(k) => {
                    k.insert((service.clone(), account.clone()), value.expose().to_string());
                    Input::Completed { id: *id }
                }
                Err(why) => Input::IoError { id: *id, message: why.clone() },
            },
            Action::KeyringDelete { id, service, account } => match &mut self.keyring {
                Ok(k) => {
                    k.remove(&(service.clone(), account.clone()));
                    Input::Completed { id: *id }
                }
                Err(why) => Input::IoError { id: *id, message: why.clone() },
            },
            other => panic!("not storage: {other:?}"),
        }
    }

    fn http(&mut self, request: &HttpRequest) -> Input {
        let path = request.url.strip_prefix(ISSUER).unwrap_or(&request.url).to_string();
        let grant = form_urlencoded::parse(request.body.as_bytes())
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| format!(" {v}"))
            .unwrap_or_default();
        self.requests.push(format!("{} {path}{grant}", request.method.as_str()));
        if grant == " refresh_token"
            && let Some(f) = self.on_refresh.take()
        {
            f(self);
        }
        let json_headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        match self.server.answer(request) {
            Reply::Http(status, body) => {
                Input::HttpResponse(HttpResponse { id: request.id, status, headers: json_headers, body: body.to_string() })
            }
            Reply::Html(status, body) => Input::HttpResponse(HttpResponse {
                id: request.id,
                status,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: body.into(),
            }),
            Reply::Transport => Input::TransportError {
                id: request.id,
                kind: TransportErrorKind::Connect,
                message: Some("connection refused".into()),
            },
        }
    }

    fn redirect(&mut self, paste: bool) -> Input {
        let url = self.last_url.clone().expect("an authorization URL was shown");
        let state = url.split(['?', '&']).find_map(|p| p.strip_prefix("state=")).expect("state").to_string();
        let base = if paste { "http://127.0.0.1:8400/callback" } else { "/callback" };
        match self.user {
            User::Approves => Input::Redirect { url: format!("{base}?code=code-1&state={state}") },
            User::Denies => {
                Input::Redirect { url: format!("{base}?error=access_denied&error_description=The+user+said+no&state={state}") }
            }
            User::PastesWrongThenRight if !self.pasted_wrong => {
                self.pasted_wrong = true;
                Input::Redirect { url: "https://example.com/not-the-redirect".into() }
            }
            User::PastesWrongThenRight => Input::Redirect { url: format!("{base}?code=code-1&state={state}") },
            User::ClosesInput => Input::InputClosed,
        }
    }

    fn record_json(&self, path: &str) -> Value {
        serde_json::from_str(&self.files.get(path).unwrap_or_else(|| panic!("{path} exists")).0).unwrap()
    }

    fn outcome(&self) -> &Outcome {
        match self.outcome.as_ref().expect("finished") {
            Ok(o) => o,
            Err(e) => panic!("expected success, got {} ({})", e.code, e.message),
        }
    }

    fn error(&self) -> &termauth_core::Error {
        match self.outcome.as_ref().expect("finished") {
            Ok(o) => panic!("expected a failure, got {o:?}"),
            Err(e) => e,
        }
    }

    fn codes(&self, kind: &str) -> Vec<String> {
        self.actions.iter().filter(|a| a["type"] == kind).map(|a| a["code"].as_str().unwrap_or_default().to_string()).collect()
    }
}

struct Scenario {
    name: &'static str,
    description: &'static str,
    spec: SessionSpec,
    world: World,
    /// Inputs fed before the first poll or at set times: (when, input).
    cancel_at: Option<u64>,
    /// Changes the spec's JSON after it is written from the typed values.
    patch: Option<fn(&mut Value)>,
    check: fn(&World),
}

fn environment(vars: &[(&str, &str)]) -> Environment {
    let mut env = Environment { platform: Platform::Linux, host: HOST.into(), pid: PID, vars: BTreeMap::new() };
    env.vars.insert("HOME".into(), HOME.into());
    for (k, v) in vars {
        env.vars.insert(k.to_string(), v.to_string());
    }
    env
}

fn config() -> SessionConfig {
    let mut c = SessionConfig::new(APP, ISSUER, CLIENT);
    c.scope = Some("openid offline_access".into());
    c
}

fn key() -> CredentialKey {
    CredentialKey::new(APP, ISSUER, CLIENT, "default")
}

fn paths() -> StorePaths {
    StorePaths::new(DIR, Platform::Linux)
}

fn record_path() -> String {
    paths().credential_file(&key(), "json")
}

fn pointer_path() -> String {
    paths().credential_file(&key(), "keyring")
}

fn lock_path() -> String {
    paths().credential_file(&key(), "lock")
}

/// A stored OAuth record: written at `updated_at`, expiring at `expires_at`.
fn oauth_record(grant: &str, access: &str, refresh: Option<&str>, updated_at: u64, expires_at: u64) -> String {
    let mut tokens =
        json!({"access_token": access, "token_type": "Bearer", "expires_at": expires_at, "scope": "openid offline_access"});
    if let Some(r) = refresh {
        tokens["refresh_token"] = json!(r);
    }
    json!({"schema_version": 1, "updated_at": updated_at, "kind": "oauth", "issuer": ISSUER, "client_id": CLIENT,
        "grant": grant, "tokens": tokens})
    .to_string()
}

fn metadata_cache(fetched_at: u64) -> String {
    json!({"fetched_at": fetched_at, "metadata": Server::default().metadata()}).to_string()
}

fn lock_of(pid: u32, host: &str, created_at: u64) -> String {
    json!({"pid": pid, "host": host, "created_at": created_at, "nonce": "other"}).to_string()
}

/// Runs a scenario: the vector and the world afterwards.
fn record(s: &Scenario) -> (Value, World) {
    let mut spec_json = serde_json::to_value(&s.spec).unwrap();
    if let Some(patch) = s.patch {
        patch(&mut spec_json);
    }
    let mut vector = json!({"description": s.description, "seed": SEED, "start": T0, "spec": spec_json, "steps": []});
    let mut world = World { ..fresh_copy(&s.world) };
    let seed = parse_seed_hex(SEED).unwrap();
    let started = SessionSpec::from_json(&spec_json.to_string()).and_then(|spec| Session::start(spec, Rng::from_seed(seed), T0));
    let mut session = match started {
        Ok(s) => s,
        Err(e) => {
            vector["expect_start_error"] = error_id(&e);
            world.outcome = Some(Err(e));
            return (vector, world);
        }
    };
    let mut steps = Vec::new();
    let mut cancel_at = s.cancel_at;
    for _ in 0..5_000 {
        let due: Vec<Event> = world.events.iter().filter(|(at, _)| *at <= world.now).copied().collect();
        world.events.retain(|(at, _)| *at > world.now);
        for (_, event) in due {
            event(&mut world);
        }
        if cancel_at.is_some_and(|at| world.now >= at) {
            cancel_at = None;
            session.handle(Input::Cancel, world.now).unwrap();
            steps.push(json!({"handle": {"type": "cancel"}, "now": world.now}));
        }
        let action = session.poll(world.now);
        let action_json = serde_json::to_value(&action).unwrap();
        steps.push(json!({"poll": world.now, "expect": action_json}));
        world.actions.push(action_json);
        let input = match &action {
            Action::Done { result } => {
                world.outcome = Some(Ok(result.clone()));
                break;
            }
            Action::Failed { error } => {
                world.outcome = Some(Err(error.clone()));
                break;
            }
            a if a.is_storage() => Some(world.storage(a)),
            Action::SendRequest(request) if world.cancel_during_request.is_some_and(|p| request.url.ends_with(p)) => {
                world.cancel_during_request = None;
                session.handle(Input::Cancel, world.now).unwrap();
                steps.push(json!({"handle": {"type": "cancel"}, "now": world.now}));
                Some(Input::TransportError { id: request.id, kind: TransportErrorKind::Other, message: Some("aborted".into()) })
            }
            Action::SendRequest(request) => Some(world.http(request)),
            Action::WaitUntil { at_ms, .. } => {
                // Time passes; another process may act meanwhile (events), and a cancel
                // may come.
                let next_event = world.events.iter().map(|(at, _)| *at).min().unwrap_or(u64::MAX);
                let until = (*at_ms).min(next_event).min(cancel_at.unwrap_or(u64::MAX)).max(world.now);
                world.now = until;
                None
            }
            Action::LaunchBrowser { id, .. } => Some(Input::BrowserLaunched { id: *id, launched: world.browser_opens }),
            Action::Listen { id, port, .. } => Some(Input::Listening { id: *id, port: if *port == 0 { 53682 } else { *port } }),
            Action::ShowAuthorizationUrl { url, .. } => {
                world.last_url = Some(url.clone());
                None
            }
            Action::AwaitRedirect { source, .. } => {
                world.now += 1_000;
                Some(world.redirect(*source == termauth_core::session::RedirectSource::Paste))
            }
            Action::ShowUserCode { .. } | Action::Notice { .. } | Action::AnswerBrowser { .. } => None,
            other => panic!("{}: unexpected {other:?}", s.name),
        };
        if let Some(input) = input {
            steps.push(json!({"handle": serde_json::to_value(&input).unwrap(), "now": world.now}));
            session.handle(input, world.now).unwrap_or_else(|e| panic!("{}: refused input: {e}", s.name));
        }
    }
    assert!(world.outcome.is_some(), "{}: the session did not finish", s.name);
    vector["steps"] = Value::Array(steps);
    (vector, world)
}

fn fresh_copy(w: &World) -> World {
    World {
        now: w.now,
        files: w.files.clone(),
        modes: w.modes.clone(),
        foreign: w.foreign.clone(),
        keyring: w.keyring.clone(),
        alive: w.alive.clone(),
        server: w.server.clone(),
        browser_opens: w.browser_opens,
        user: w.user,
        last_url: None,
        pasted_wrong: false,
        events: w.events.clone(),
        on_refresh: w.on_refresh,
        cancel_during_request: w.cancel_during_request,
        requests: Vec::new(),
        actions: Vec::new(),
        outcome: None,
    }
}

fn scenario(name: &'static str, description: &'static str, command: Command, check: fn(&World)) -> Scenario {
    Scenario {
        name,
        description,
        spec: SessionSpec::new(command, config(), environment(&[])),
        world: World::new(),
        cancel_at: None,
        patch: None,
        check,
    }
}

impl Scenario {
    fn env(mut self, vars: &[(&str, &str)]) -> Self {
        for (k, v) in vars {
            self.spec.environment.vars.insert(k.to_string(), v.to_string());
        }
        self
    }
    fn config(mut self, f: impl FnOnce(&mut SessionConfig)) -> Self {
        f(&mut self.spec.config);
        self
    }
    fn world(mut self, f: impl FnOnce(&mut World)) -> Self {
        f(&mut self.world);
        self
    }
    fn cancel_at(mut self, at: u64) -> Self {
        self.cancel_at = Some(at);
        self
    }
}

/// A world whose credential is a valid file record.
fn stored(w: &mut World, record: String) {
    w.keyring = Err("no Secret Service is running on the session bus".into());
    w.write(&record_path(), record);
}

fn token_of(w: &World) -> String {
    match w.outcome() {
        Outcome::Token(t) => t.token.expose().to_string(),
        other => panic!("expected a token, got {other:?}"),
    }
}

fn requests(w: &World) -> Vec<&str> {
    w.requests.iter().map(String::as_str).collect()
}

const DISCOVERY: &str = "GET /.well-known/openid-configuration";
const REFRESH: &str = "POST /token refresh_token";

// ---- the scenarios ---------------------------------------------------------------------------

fn scenarios() -> Vec<Scenario> {
    let login = |m: LoginMethod| Command::Login(m);
    vec![
        // -- login
        scenario("login_device_keyring", "Device login on a headless machine: discovery (cached for a day), the device flow without opening a browser, the lock taken just to write, the record in the keyring with a pointer file, the profile made active.", login(LoginMethod::Device), |w| {
            assert_eq!(requests(w), [DISCOVERY, "POST /device", "POST /token urn:ietf:params:oauth:grant-type:device_code", "POST /token urn:ietf:params:oauth:grant-type:device_code"]);
            assert!(w.files.contains_key(&pointer_path()) && !w.files.contains_key(&record_path()) && !w.files.contains_key(&lock_path()));
            assert!(w.keyring.as_ref().unwrap().contains_key(&("termauth:mycli".into(), key().file_stem())));
            assert!(w.files.contains_key(&paths().metadata_cache(ISSUER)));
            assert_eq!(w.record_json(&paths().profiles_file())["active"][server_key(ISSUER, CLIENT)], "default");
            assert!(!w.actions.iter().any(|a| a["type"] == "launch_browser"));
            assert!(w.codes("notice").is_empty());
        }),
        scenario("login_device_desktop_opens_browser", "Device login on a desktop: the browser is opened at verification_uri_complete and the prompt says so.", login(LoginMethod::Device), |w| {
            let shown = w.actions.iter().find(|a| a["type"] == "show_user_code").unwrap();
            assert_eq!(shown["text"]["after"][0], "(A browser window was opened for you.)");
            assert_eq!(w.actions.iter().find(|a| a["type"] == "launch_browser").unwrap()["url"], format!("{ISSUER}/device?user_code=WDJB-MJHT"));
        }).env(&[("DISPLAY", ":0")]),
        scenario("login_device_hostile_user_code", "A server's user code carrying terminal escape sequences (a window title, a screen clear through C1 CSI, a carriage return over the code): refused as invalid_field before anything is shown; the error names no part of the code; nothing stored.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "invalid_field");
            assert!(w.error().message.contains("user_code"), "{}", w.error().message);
            assert!(!w.error().message.contains("pwned"));
            assert!(!w.actions.iter().any(|a| a["type"] == "show_user_code"));
            assert!(!w.files.contains_key(&record_path()));
        }).world(|w| {
            w.server.device_reply = Some(Reply::Http(200, json!({"device_code": "dc-1", "user_code": "WDJB\u{1b}]0;pwned\u{7}-\u{9b}2J\rMJHT",
                "verification_uri": format!("{ISSUER}/device"), "expires_in": 900, "interval": 5})));
        }),
        scenario("login_device_invisible_user_code", "A server's user code with invisible characters (a zero-width space and a right-to-left override) that would make the shown code differ from the one to type: refused as invalid_field.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "invalid_field");
            assert!(!w.actions.iter().any(|a| a["type"] == "show_user_code"));
        }).world(|w| {
            w.server.device_reply = Some(Reply::Http(200, json!({"device_code": "dc-1", "user_code": "WDJB\u{200B}-\u{202E}THJM",
                "verification_uri": format!("{ISSUER}/device"), "expires_in": 900, "interval": 5})));
        }),
        scenario("login_device_code_expired_on_arrival", "A device authorization response whose expires_in (0) is not longer than one polling interval: the code can never be approved, so the login fails at once with expired_token (exit 4) before anything is shown or polled.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "expired_token");
            assert_eq!(w.error().exit_code(), 4);
            assert!(!w.actions.iter().any(|a| a["type"] == "show_user_code"));
            assert_eq!(requests(w).iter().filter(|r| r.contains("device_code")).count(), 0);
        }).world(|w| {
            w.server.device_reply = Some(Reply::Http(200, json!({"device_code": "dc-1", "user_code": "WDJB-MJHT",
                "verification_uri": format!("{ISSUER}/device"), "expires_in": 0, "interval": 5})));
        }),
        scenario("login_device_without_endpoint", "Device login asked for explicitly against a server without a device authorization endpoint: a configuration error (exit 5) saying which methods to use instead; no listener, no browser, nothing stored.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "no_device_endpoint");
            assert_eq!(w.error().exit_code(), 5);
            assert!(w.error().message.contains("browser"), "{}", w.error().message);
            assert!(!w.actions.iter().any(|a| a["type"] == "listen" || a["type"] == "launch_browser"));
            assert!(!w.files.contains_key(&record_path()));
        }).env(&[("DISPLAY", ":0")]).world(|w| w.server.device = false),
        scenario("login_paste_wrong_then_right", "Paste login over SSH: a wrong paste is refused with a notice and asked again, then the right one logs in (no listener, no browser).", login(LoginMethod::Paste), |w| {
            assert_eq!(w.codes("notice"), ["redirect_path_mismatch"]);
            assert!(!w.actions.iter().any(|a| a["type"] == "listen" || a["type"] == "launch_browser"));
            match w.outcome() { Outcome::Login(r) => assert_eq!(r.method, "paste"), o => panic!("{o:?}") }
        }).env(&[("SSH_CONNECTION", "10.0.0.1 5555 10.0.0.2 22")]).world(|w| { w.server.device = false; w.user = User::PastesWrongThenRight; }),
        scenario("login_paste_input_closed", "Paste login: standard input ends before a URL is pasted: interrupted stdin_closed, nothing stored.", login(LoginMethod::Paste), |w| {
            assert_eq!(w.error().code, "stdin_closed");
            assert!(!w.files.contains_key(&record_path()) && !w.files.contains_key(&pointer_path()));
        }).world(|w| w.user = User::ClosesInput),
        scenario("login_browser_denied", "Browser login: the user denies; the browser gets the failure page with the server's reason and the login fails with access_denied; nothing stored.", login(LoginMethod::Browser), |w| {
            assert_eq!(w.error().code, "access_denied");
            let page = w.actions.iter().find(|a| a["type"] == "answer_browser").unwrap();
            assert!(page["html"].as_str().unwrap().contains("Login failed") && page["html"].as_str().unwrap().contains("The user said no"));
            assert!(!w.files.contains_key(&record_path()));
        }).env(&[("DISPLAY", ":0")]).world(|w| w.user = User::Denies),
        scenario("login_browser_fixed_port_over_ssh", "Browser login on a fixed port over SSH: the listener is asked for that port and a notice says how to forward it with ssh -L; no browser is launched (no display).", login(LoginMethod::Browser), |w| {
            assert_eq!(w.codes("notice"), ["ssh_forward"]);
            assert!(!w.actions.iter().any(|a| a["type"] == "launch_browser"));
            assert!(w.outcome.as_ref().unwrap().is_ok());
        }).env(&[("SSH_CONNECTION", "10.0.0.1 5555 10.0.0.2 22")]).config(|c| c.redirect_port = 8400),
        scenario("login_browser_bad_redirect_host", "Browser login with a redirect host that is not a loopback address: refused before listening (RFC 8252 §8.3).", login(LoginMethod::Browser), |w| {
            assert_eq!(w.error().code, "invalid_redirect_host");
            assert!(!w.actions.iter().any(|a| a["type"] == "listen"));
        }).config(|c| c.redirect_host = "0.0.0.0".into()),
        scenario("login_auto_ci_client_credentials", "login auto in CI with the app's client secret in the environment: client credentials (the secret sent with HTTP Basic).", login(LoginMethod::Auto), |w| {
            assert_eq!(requests(w), [DISCOVERY, "POST /token client_credentials"]);
            match w.outcome() { Outcome::Login(r) => assert_eq!(r.method, "client_credentials"), o => panic!("{o:?}") }
        }).env(&[("CI", "true"), ("MYCLI_CLIENT_SECRET", "ci-secret")]),
        scenario("login_auto_ci_without_secret", "login auto in CI without a client secret: ci_needs_credentials naming MYCLI_TOKEN and MYCLI_CLIENT_SECRET, before any request.", login(LoginMethod::Auto), |w| {
            assert_eq!(w.error().code, "ci_needs_credentials");
            assert!(w.error().message.contains("MYCLI_TOKEN") && w.error().message.contains("MYCLI_CLIENT_SECRET"));
            assert!(w.requests.is_empty());
        }).env(&[("GITHUB_ACTIONS", "true")]),
        scenario("login_auto_ssh_device", "login auto over SSH (with a forwarded display): the device flow, no browser launched.", login(LoginMethod::Auto), |w| {
            match w.outcome() { Outcome::Login(r) => assert_eq!(r.method, "device"), o => panic!("{o:?}") }
            assert!(!w.actions.iter().any(|a| a["type"] == "launch_browser"));
        }).env(&[("SSH_TTY", "/dev/pts/1"), ("DISPLAY", "localhost:10.0")]),
        scenario("login_auto_desktop_browser", "login auto on a desktop: the browser login with the loopback listener.", login(LoginMethod::Auto), |w| {
            match w.outcome() { Outcome::Login(r) => assert_eq!(r.method, "browser"), o => panic!("{o:?}") }
        }).env(&[("WAYLAND_DISPLAY", "wayland-0")]),
        scenario("login_keyring_only_unusable", "Keyring-only storage and no usable keyring: refused before any request, so the user approves nothing in vain.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "keyring_unavailable");
            assert!(w.requests.is_empty());
        }).config(|c| c.store = StorePreference::Keyring).world(|w| w.keyring = Err("no Secret Service is running on the session bus".into())),
        scenario("login_file_fallback_warns", "No usable keyring with the default store preference: the record goes to a 0600 file and a warning says where and why.", login(LoginMethod::Device), |w| {
            assert_eq!(w.codes("notice"), ["stored_in_file"]);
            assert!(w.files.contains_key(&record_path()) && !w.files.contains_key(&pointer_path()));
            match w.outcome() { Outcome::Login(r) => assert!(r.store.reason.contains("because no Secret Service")), o => panic!("{o:?}") }
        }).world(|w| w.keyring = Err("no Secret Service is running on the session bus".into())),
        scenario("login_device_identity", "An OpenID Connect login says who logged in (the ID token's email, else preferred_username, name or sub), and status shows it; a claim's terminal controls are made visible.", login(LoginMethod::Device), |w| {
            match w.outcome() {
                Outcome::Login(r) => {
                    assert_eq!(r.account.as_deref(), Some("alice@example.com"));
                    assert!(r.text.starts_with("Logged in as alice@example.com (method: device"), "{}", r.text);
                }
                o => panic!("{o:?}"),
            }
        }).world(|w| w.server.id_token_claims = Some(json!({"iss": ISSUER, "aud": CLIENT, "sub": "u-1", "email": "alice@example.com"}))),
        scenario("login_device_identity_foreign", "An ID token issued by another server or to another client names nobody: the login says no name.", login(LoginMethod::Device), |w| {
            match w.outcome() {
                Outcome::Login(r) => assert!(r.account.is_none() && r.text.starts_with("Logged in (method: device"), "{}", r.text),
                o => panic!("{o:?}"),
            }
        }).world(|w| w.server.id_token_claims = Some(json!({"iss": "https://evil.example", "aud": CLIENT, "sub": "u-1", "email": "mallory@evil.example"}))),
        scenario("status_identity_hostile", "status shows who is logged in from the stored ID token, its terminal controls made visible.", Command::Status, |w| {
            match w.outcome() {
                Outcome::Status(s) => {
                    let account = s.account.as_deref().expect("an account");
                    assert!(account.starts_with("alice") && !account.chars().any(char::is_control), "{account:?}");
                    assert!(s.lines.iter().any(|l| l.starts_with("account:   alice")), "{:?}", s.lines);
                }
                o => panic!("{o:?}"),
            }
        }).world(|w| {
            let mut record: Value = serde_json::from_str(&oauth_record("device_code", "at-1", Some("rt-1"), T0, T0 + 3_600_000)).unwrap();
            record["tokens"]["id_token"] = json!(id_token(&json!({"iss": ISSUER, "aud": [CLIENT], "sub": "u-1", "preferred_username": "alice\u{1b}]0;pwned\u{7}"})));
            stored(w, record.to_string())
        }),
        scenario("login_device_debug_trace", "TERMAUTH_DEBUG: every HTTP exchange is traced as an http_trace notice — method, URL, status, the form's and the JSON's harmless members — with every token, code and secret redacted.", login(LoginMethod::Device), |w| {
            let traces: Vec<String> = w.actions.iter().filter(|a| a["code"] == "http_trace").map(|a| a["text"].as_str().unwrap().to_string()).collect();
            assert!(traces.iter().any(|t| t.starts_with("-> POST https://as.example.com/token")), "{traces:?}");
            assert!(traces.iter().any(|t| t.starts_with("<- 200")), "{traces:?}");
            let all = traces.join("\n");
            for secret in ["at-1", "rt-1", "dc-1"] {
                assert!(!all.contains(secret), "{secret} in the trace: {all}");
            }
            assert!(all.contains("grant_type=urn:ietf:params:oauth:grant-type:device_code") && all.contains("device_code=[redacted]"), "{all}");
        }).env(&[("TERMAUTH_DEBUG", "1")]),
        scenario("login_device_default_scope_oidc", "No scope configured, and the server's metadata lists openid and offline_access (an OpenID Connect server): the login asks for both and says so, naming the option that asks for another.", login(LoginMethod::Device), |w| {
            let device = w.actions.iter().find(|a| a["type"] == "send_request" && a["url"].as_str().unwrap().ends_with("/device")).unwrap();
            assert!(device["body"].as_str().unwrap().contains("scope=openid+offline_access"), "{device}");
            assert_eq!(w.codes("notice"), ["default_scope"]);
            let notice = w.actions.iter().find(|a| a["type"] == "notice").unwrap();
            assert!(notice["text"].as_str().unwrap().contains("`mycli login --scope ...`"), "{notice}");
        }).config(|c| c.scope = None).world(|w| {
            let mut metadata = w.server.metadata();
            metadata["scopes_supported"] = json!(["openid", "offline_access", "profile"]);
            w.server.discovery = Some(Reply::Http(200, metadata));
        }),
        scenario("login_device_no_default_scope_oauth", "No scope configured and a plain OAuth server (no scopes_supported): no scope is sent, the server's default applies (RFC 6749 §3.3), nothing said.", login(LoginMethod::Device), |w| {
            let device = w.actions.iter().find(|a| a["type"] == "send_request" && a["url"].as_str().unwrap().ends_with("/device")).unwrap();
            assert!(!device["body"].as_str().unwrap().contains("scope="), "{device}");
            assert!(w.codes("notice").is_empty());
        }).config(|c| c.scope = None),
        scenario("login_device_scope_narrowed", "The server grants less than asked (openid, not offline_access; RFC 6749 §3.3): the login succeeds, a warning names what was not granted and what was.", login(LoginMethod::Device), |w| {
            assert!(matches!(w.outcome(), Outcome::Login(_)));
            let notice = w.actions.iter().find(|a| a["code"] == "scope_narrowed").expect("a scope_narrowed notice");
            assert_eq!(notice["level"], "warning");
            assert!(notice["text"].as_str().unwrap().contains("did not grant the scope \"offline_access\" (granted: \"openid\")"), "{notice}");
        }).world(|w| w.server.device_granted = "openid"),
        scenario("login_device_outage_while_polling", "The server stops answering while the device flow polls: the progress line says so (with the code), polling goes on with backoff, and the line is back to normal once the server answers.", login(LoginMethod::Device), |w| {
            let lines: Vec<&str> = w.actions.iter().filter(|a| a["type"] == "wait_until" && !a["progress"].is_null()).map(|a| a["progress"]["text"].as_str().unwrap()).collect();
            assert!(lines.iter().any(|l| l.starts_with("Code WDJB-MJHT: the server cannot be reached (connection failed); still trying")), "{lines:?}");
            assert!(lines.last().unwrap().starts_with("Waiting for approval of code WDJB-MJHT"), "{lines:?}");
            assert!(matches!(w.outcome(), Outcome::Login(_)));
        }).world(|w| { w.server.poll_outage = 2; w.server.pending = 1; }),
        scenario("login_store_file_explicit", "File storage chosen explicitly: no keyring call and no warning.", login(LoginMethod::Device), |w| {
            assert!(w.codes("notice").is_empty());
            assert!(!w.actions.iter().any(|a| a["type"].as_str().unwrap().starts_with("keyring")));
            assert!(w.files.contains_key(&record_path()));
        }).config(|c| c.store = StorePreference::File),
        scenario("login_no_keyring_variable", "TERMAUTH_NO_KEYRING keeps the keyring out: file store, a warning that names the variable.", login(LoginMethod::Device), |w| {
            assert!(!w.actions.iter().any(|a| a["type"].as_str().unwrap().starts_with("keyring")));
            match w.outcome() { Outcome::Login(r) => assert!(r.store.reason.contains("TERMAUTH_NO_KEYRING")), o => panic!("{o:?}") }
        }).env(&[("TERMAUTH_NO_KEYRING", "1")]),
        scenario("login_metadata_cache_fresh", "A metadata cache younger than a day is used: no discovery request.", login(LoginMethod::Device), |w| {
            assert_eq!(w.requests[0], "POST /device");
        }).world(|w| { let p = paths().metadata_cache(ISSUER); w.write(&p, metadata_cache(T0 - 3_600_000)); }),
        scenario("login_metadata_cache_expired", "A metadata cache older than a day is not used: discovery runs and the cache is rewritten.", login(LoginMethod::Device), |w| {
            assert_eq!(w.requests[0], DISCOVERY);
            assert_eq!(w.record_json(&paths().metadata_cache(ISSUER))["fetched_at"], T0);
        }).world(|w| { let p = paths().metadata_cache(ISSUER); w.write(&p, metadata_cache(T0 - 86_400_000)); }),
        scenario("login_metadata_cache_writable_by_others", "A fresh metadata cache that others may write (mode 0666) is not believed — its writer would choose where tokens and secrets go: discovery runs again and the cache is rewritten (0600).", login(LoginMethod::Device), |w| {
            assert_eq!(w.requests[0], DISCOVERY);
            assert_eq!(w.record_json(&paths().metadata_cache(ISSUER))["fetched_at"], T0);
            assert!(!w.modes.contains_key(&paths().metadata_cache(ISSUER)));
        }).world(|w| { let p = paths().metadata_cache(ISSUER); w.write(&p, metadata_cache(T0 - 3_600_000)); w.modes.insert(p, 0o666); }),
        scenario("login_metadata_cache_of_another_user", "A fresh metadata cache that belongs to another user is not believed: discovery runs again.", login(LoginMethod::Device), |w| {
            assert_eq!(w.requests[0], DISCOVERY);
        }).world(|w| { let p = paths().metadata_cache(ISSUER); w.write(&p, metadata_cache(T0 - 3_600_000)); w.foreign.insert(p); }),
        scenario("login_issuer_with_user_information", "An issuer URL with user:password@ is refused at start, even for an API key login (the password would be stored and shown); nothing stored.", login(LoginMethod::Token { token: Secret::new("pat-123"), presentation: Presentation::Bearer }), |w| {
            assert_eq!(w.error().code, "invalid_issuer");
            assert!(!w.error().message.contains("hunter2"));
            assert!(w.files.is_empty());
        }).config(|c| c.issuer = "https://user:hunter2@as.example.com".into()),
        scenario("login_over_newer_record_in_keyring", "A login where the record in the keyring (behind its pointer) was written by a newer termauth: not replaced (credential_newer_version).", login(LoginMethod::Token { token: Secret::new("pat-123"), presentation: Presentation::Bearer }), |w| {
            assert_eq!(w.error().code, "credential_newer_version");
            assert!(w.keyring.as_ref().unwrap()[&("termauth:mycli".to_string(), key().file_stem())].contains("\"schema_version\":9"));
        }).world(|w| {
            w.write(&pointer_path(), key().keyring_pointer());
            w.keyring.as_mut().unwrap().insert(("termauth:mycli".into(), key().file_stem()), json!({"schema_version": 9, "updated_at": T0, "kind": "future"}).to_string());
        }),
        scenario("login_api_key", "An API key login: no request; the key is validated and stored (keyring), sent as a named header.", login(LoginMethod::Token { token: Secret::new("pat-123"), presentation: Presentation::Header { name: "X-API-Key".into(), prefix: String::new() } }), |w| {
            assert!(w.requests.is_empty());
            match w.outcome() { Outcome::Login(r) => assert_eq!(r.method, "token"), o => panic!("{o:?}") }
        }),
        scenario("login_removes_leftover_temporary_files", "An API key login where writers killed mid-write left temporary files (full records) beside this credential and profiles.json: the save under the lock removes them; another profile's temporary file (its writer may be alive under another lock) and unrelated files stay.", login(LoginMethod::Token { token: Secret::new("pat-123"), presentation: Presentation::Bearer }), |w| {
            assert!(w.outcome.as_ref().unwrap().is_ok());
            let left: Vec<&String> = w.files.keys().filter(|p| p.ends_with(".tmp")).collect();
            let other = format!("{DIR}/credentials/.{}.json.Zq81.tmp", CredentialKey::new(APP, ISSUER, CLIENT, "work").file_stem());
            assert_eq!(left, [&other, &format!("{DIR}/credentials/notes.txt.tmp")], "{left:?}");
        }).world(|w| {
            let stem = key().file_stem();
            for name in [format!("credentials/.{stem}.json.a1B2c3.tmp"), format!("credentials/.{stem}.json.x.tmp"), format!("credentials/.{stem}.keyring.Q9.tmp"), ".profiles.json.k7.tmp".into()] {
                w.write(&format!("{DIR}/{name}"), r#"{"schema_version":1,"kind":"api_key","key":"old"}"#.into());
            }
            let other = CredentialKey::new(APP, ISSUER, CLIENT, "work").file_stem();
            w.write(&format!("{DIR}/credentials/.{other}.json.Zq81.tmp"), "{}".into());
            w.write(&format!("{DIR}/credentials/notes.txt.tmp"), "mine".into());
        }),
        scenario("logout_removes_leftover_temporary_files", "Logout removes the temporary files killed writers left beside the credential, with the record.", Command::Logout, |w| {
            assert!(!w.files.keys().any(|p| p.ends_with(".tmp")), "{:?}", w.files.keys());
        }).world(|w| {
            stored(w, json!({"schema_version": 1, "updated_at": T0, "kind": "api_key", "key": "pat-1", "presentation": {"scheme": "bearer"}}).to_string());
            let stem = key().file_stem();
            w.write(&format!("{DIR}/credentials/.{stem}.json.r4nd0m.tmp"), "{}".into());
        }),
        scenario("login_cancel_while_waiting", "Ctrl-C while the device flow waits for approval: cancelled, nothing stored, no lock left.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "cancelled");
            assert!(!w.files.keys().any(|p| p.contains("credentials/")));
        }).world(|w| w.server.pending = 100).cancel_at(T0 + 12_000),
        scenario("login_cancel_after_tokens_still_stores", "Ctrl-C after the tokens were issued, while the credential's lock is busy: the tokens are still stored once the lock frees (the wait for it is not cut short, and not a busy loop), then the login ends.", login(LoginMethod::Device), |w| {
            assert!(w.outcome.as_ref().unwrap().is_ok(), "{:?}", w.outcome);
            assert!(w.files.contains_key(&pointer_path()));
            let waits_after_cancel = w.actions.iter().filter(|a| a["type"] == "wait_until" && a["at_ms"].as_u64().unwrap() > T0 + 10_100).count();
            assert!(waits_after_cancel >= 3, "it kept waiting for the lock: {waits_after_cancel}");
        }).world(|w| {
            w.alive.insert(777);
            w.write(&lock_path(), lock_of(777, HOST, T0));
            w.events.push((T0 + 11_000, |w| { w.files.remove(&lock_path()); }));
        }).cancel_at(T0 + 10_100),
        scenario("login_cancel_during_request", "Ctrl-C while the device flow's token request is in flight: the driver aborts it, and the login ends as cancelled (exit 130), not as a network failure.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "cancelled");
            assert_eq!(w.error().exit_code(), 130);
        }).world(|w| w.cancel_during_request = Some("/token")),
        scenario("login_password_needs_opt_in", "The password grant without enable_password_grant is refused (usage password_grant_disabled); nothing is sent.", login(LoginMethod::Password { username: "alice".into(), password: Secret::new("pw") }), |w| {
            assert_eq!(w.error().code, "password_grant_disabled");
            assert!(!w.requests.iter().any(|r| r.starts_with("POST")));
        }),
        scenario("login_profile_invalid", "A profile name with a path in it is refused at start.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "invalid_profile");
        }).config(|c| c.profile = Some("../evil".into())),
        scenario("login_over_newer_record", "A login where the stored record was written by a newer termauth: not replaced (credential_newer_version, exit 5), the message says to upgrade or log out first.", login(LoginMethod::Token { token: Secret::new("pat-123"), presentation: Presentation::Bearer }), |w| {
            assert_eq!(w.error().code, "credential_newer_version");
            assert!(w.error().message.contains("mycli logout"), "{}", w.error().message);
            assert!(w.files[&record_path()].0.contains("\"schema_version\":9"));
            assert!(!w.files.contains_key(&lock_path()), "the lock is released");
        }).world(|w| stored(w, json!({"schema_version": 9, "updated_at": T0, "kind": "future"}).to_string())),
        scenario("login_app_invalid", "An application name that is a path (`../../x`) is refused at start: it would put the config directory outside the platform's.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "invalid_app");
            assert!(w.actions.is_empty() || w.actions.iter().all(|a| a["type"] == "failed"));
        }).config(|c| c.app = "../../x".into()),
        scenario("login_issuer_invalid", "An empty issuer, or one with a control character, is refused at start even for an API key login, which asks no server; the value is not quoted.", login(LoginMethod::Token { token: Secret::new("pat-123"), presentation: Presentation::Bearer }), |w| {
            assert_eq!(w.error().code, "invalid_issuer");
            assert!(!w.error().message.contains('\u{1b}'));
            assert!(!w.files.contains_key(&record_path()));
        }).config(|c| c.issuer = "https://as.example.com/\u{1b}[2J".into()),
        scenario("login_client_id_empty", "An empty client ID is refused at start, even for an API key login.", login(LoginMethod::Token { token: Secret::new("pat-123"), presentation: Presentation::Bearer }), |w| {
            assert_eq!(w.error().code, "invalid_client_id");
        }).config(|c| c.client_id = String::new()),
        scenario("login_resource_invalid", "A resource indicator that is not an absolute URI (RFC 8707 §2) is refused at start, before any request.", login(LoginMethod::Device), |w| {
            assert_eq!(w.error().code, "invalid_resource");
            assert!(w.requests.is_empty());
        }).config(|c| c.resource = vec!["https://api.example.com/".into(), "not a uri".into()]),
        // -- get_token
        scenario("token_record_readable_by_others", "A credential file others can read (mode 0644): made private (make_private) before the token is used, with a warning that says how to revoke it; the token is still served.", Command::GetToken, |w| {
            assert!(w.actions.iter().any(|a| a["type"] == "make_private" && a["path"] == record_path()));
            assert_eq!(w.codes("notice"), ["credential_made_private"]);
            assert!(!w.modes.contains_key(&record_path()), "{:?}", w.modes);
            assert_eq!(token_of(w), "at-stored");
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-stored", Some("rt-0"), T0 - 60_000, T0 + 3_000_000));
            w.modes.insert(record_path(), 0o644);
        }),
        scenario("token_record_writable_by_others", "A credential file others can write (mode 0666): refused (credential_writable_by_others, exit 5) — its token may have been planted; nothing is sent.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "credential_writable_by_others");
            assert!(w.error().message.contains("0666"), "{}", w.error().message);
            assert!(w.requests.is_empty());
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-stored", Some("rt-0"), T0 - 60_000, T0 + 3_000_000));
            w.modes.insert(record_path(), 0o666);
        }),
        scenario("token_record_owned_by_another_user", "A credential file that belongs to another user (a symlink into their directory, say): refused (credential_not_owned, exit 5); nothing is sent.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "credential_not_owned");
            assert_eq!(w.error().exit_code(), 5);
            assert!(w.requests.is_empty());
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-stored", Some("rt-0"), T0 - 60_000, T0 + 3_000_000));
            w.foreign.insert(record_path());
        }),
        scenario("token_env_wins", "MYCLI_TOKEN is set: it wins over any stored credential, with no IO at all.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "env-token");
            assert_eq!(w.actions.len(), 1);
        }).env(&[("MYCLI_TOKEN", "  env-token \n")]).world(|w| stored(w, oauth_record("device_code", "at-stored", Some("rt-0"), T0, T0 + 3_600_000))),
        scenario("token_env_unicode_app", "The app name is upper-cased with Unicode's rules: app `straße` reads STRASSE_TOKEN (as JavaScript and Python do).", Command::GetToken, |w| {
            assert_eq!(token_of(w), "from-env");
        }).config(|c| c.app = "straße".into()).env(&[("STRASSE_TOKEN", "from-env")]),
        scenario("token_cached", "A stored token that is not due: used as is, read from the file store, no lock.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-stored");
            assert!(!w.actions.iter().any(|a| a["type"] == "create_exclusive"));
        }).world(|w| stored(w, oauth_record("device_code", "at-stored", Some("rt-0"), T0 - 60_000, T0 + 3_000_000))),
        scenario("token_not_logged_in", "Nothing stored: not_logged_in, naming the login command.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "not_logged_in");
            assert!(w.error().message.contains("mycli login"));
        }),
        scenario("token_refresh_due", "A token inside the refresh skew: lock, re-read, refresh (metadata from discovery), the rotated record saved, unlock.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-1");
            assert_eq!(requests(w), [DISCOVERY, REFRESH]);
            assert_eq!(w.record_json(&record_path())["tokens"]["refresh_token"], "rt-1");
            assert!(!w.files.contains_key(&lock_path()));
        }).world(|w| stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000))),
        scenario("token_for_narrower_scope", "A token limited to a scope within the grant (`openid` of `openid offline_access`): a refresh that asks for it (RFC 6749 §6) under the lock; the scoped token is returned, the stored access token stays the login's, the rotated refresh token is saved.", Command::GetTokenFor { scope: Some("openid".into()), resource: Vec::new() }, |w| {
            assert_eq!(token_of(w), "at-1");
            assert_eq!(requests(w), [DISCOVERY, REFRESH]);
            let refresh = w.actions.iter().find(|a| a["type"] == "send_request" && a["body"].as_str().unwrap().contains("grant_type=refresh_token")).unwrap();
            assert!(refresh["body"].as_str().unwrap().contains("&scope=openid"), "{refresh}");
            let record = w.record_json(&record_path());
            assert_eq!((record["tokens"]["access_token"].as_str(), record["tokens"]["refresh_token"].as_str()), (Some("at-0"), Some("rt-1")));
            assert!(!w.files.contains_key(&lock_path()));
        }).world(|w| stored(w, oauth_record("device_code", "at-0", Some("rt-0"), T0, T0 + 3_600_000))),
        scenario("token_for_the_stored_scope", "A token for exactly the stored token's scope (in another order): the stored token, as `get_token` gives it; no refresh.", Command::GetTokenFor { scope: Some("offline_access openid".into()), resource: Vec::new() }, |w| {
            assert_eq!(token_of(w), "at-0");
            assert!(w.requests.is_empty());
        }).world(|w| stored(w, oauth_record("device_code", "at-0", Some("rt-0"), T0, T0 + 3_600_000))),
        scenario("token_for_resource", "A token for a resource (RFC 8707): the refresh carries `resource`; the stored token is left as it is.", Command::GetTokenFor { scope: None, resource: vec!["https://api.example.com/".into()] }, |w| {
            assert_eq!(token_of(w), "at-1");
            let refresh = w.actions.iter().find(|a| a["type"] == "send_request" && a["body"].as_str().unwrap().contains("grant_type=refresh_token")).unwrap();
            assert!(refresh["body"].as_str().unwrap().contains("resource=https%3A%2F%2Fapi.example.com%2F"), "{refresh}");
            assert_eq!(w.record_json(&record_path())["tokens"]["access_token"], "at-0");
        }).world(|w| stored(w, oauth_record("device_code", "at-0", Some("rt-0"), T0, T0 + 3_600_000))),
        scenario("token_for_scope_beyond_grant", "A token for a scope the login was not granted: refused before any request (scope_not_granted), the record untouched.", Command::GetTokenFor { scope: Some("openid admin".into()), resource: Vec::new() }, |w| {
            assert_eq!(w.error().code, "scope_not_granted");
            assert!(w.error().message.contains("`admin` was not granted"), "{}", w.error().message);
            assert!(!requests(w).contains(&REFRESH));
            assert_eq!(w.record_json(&record_path())["tokens"]["access_token"], "at-0");
        }).world(|w| stored(w, oauth_record("device_code", "at-0", Some("rt-0"), T0, T0 + 3_600_000))),
        scenario("token_for_scope_without_refresh_token", "A token for a scope from an API key (no refresh token): refused (scoped_token_needs_refresh) with what to do; never the key itself.", Command::GetTokenFor { scope: Some("read".into()), resource: Vec::new() }, |w| {
            assert_eq!(w.error().code, "scoped_token_needs_refresh");
            assert!(w.error().message.contains("`mycli login --scope ...`"), "{}", w.error().message);
            assert!(w.requests.is_empty());
        }).world(|w| stored(w, json!({"schema_version": 1, "updated_at": T0, "kind": "api_key", "key": "pat-1", "presentation": {"scheme": "bearer"}}).to_string())),
        scenario("token_race_renewed_elsewhere", "A refresh race: the lock is held by a live process of this host; after a wait it releases, having renewed the record; this session uses that record without a refresh request.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-other");
            assert!(w.requests.is_empty());
            assert!(w.actions.iter().any(|a| a["type"] == "process_alive"));
            assert!(!w.files.contains_key(&lock_path()));
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.alive.insert(777);
            w.write(&lock_path(), lock_of(777, HOST, T0 - 1_000));
            w.events.push((T0 + 300, |w| {
                w.write(&record_path(), oauth_record("device_code", "at-other", Some("rt-other"), T0 + 300, T0 + 3_600_300));
                w.files.remove(&lock_path());
            }));
        }),
        scenario("token_stale_lock_dead_process", "A lock left by a process of this host that is gone: broken under the .break lock, then the refresh runs.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-1");
            assert!(!w.files.contains_key(&lock_path()) && !w.files.contains_key(&format!("{}.break", lock_path())));
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.write(&lock_path(), lock_of(999, HOST, T0 - 1_000));
        }),
        scenario("token_stale_lock_old", "A lock of another host older than 120 s is stale (its pid cannot be checked from here): broken, then the refresh runs.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-1");
            assert!(!w.actions.iter().any(|a| a["type"] == "process_alive"));
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.write(&lock_path(), lock_of(999, "host-b", T0 - 121_000));
        }),
        scenario("token_lock_busy_too_long", "A lock held by a live process for longer than the wait (lock_wait_ms, 1 s here; 150 s by default): store_locked (retry later), naming the lock file; the other process's lock is left alone.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "store_locked");
            assert!(w.files.contains_key(&lock_path()));
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.alive.insert(777);
            w.write(&lock_path(), lock_of(777, HOST, T0 - 1_000));
        }).config(|c| c.lock_wait_ms = 1_000),
        scenario("token_lock_stale_but_being_broken", "A stale lock whose `.break` file another process holds (and keeps): the session waits its lock_wait_ms and fails with store_locked, instead of retrying the break forever (found by fuzzing).", Command::GetToken, |w| {
            assert_eq!(w.error().code, "store_locked");
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.write(&lock_path(), lock_of(999, "host-b", T0 - 121_000));
            w.write(&format!("{}.break", lock_path()), lock_of(998, "host-b", T0));
        }).config(|c| c.lock_wait_ms = 1_000),
        scenario("token_invalid_grant_rotated_elsewhere", "The refresh is refused with invalid_grant because a process that ignores the lock rotated the refresh token meanwhile: the record is read again and the other process's tokens are used (RFC 6749 §10.4).", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-rotated");
            assert_eq!(w.record_json(&record_path())["tokens"]["refresh_token"], "rt-rotated");
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.server.refresh = Some(Reply::Http(400, json!({"error": "invalid_grant"})));
            w.on_refresh = Some(|w| w.write(&record_path(), oauth_record("device_code", "at-rotated", Some("rt-rotated"), T0, T0 + 3_600_000)));
        }),
        scenario("token_invalid_grant_still_valid", "The refresh is refused with invalid_grant while the access token is still valid: a warning, the current token is served, and the dead refresh token is dropped from the record.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-old");
            assert_eq!(w.codes("notice"), ["renewal_failed"]);
            assert!(w.record_json(&record_path())["tokens"].get("refresh_token").is_none());
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.server.refresh = Some(Reply::Http(400, json!({"error": "invalid_grant"})));
        }),
        scenario("token_invalid_grant_expired", "The refresh is refused with invalid_grant and the access token has expired: login_required; the dead refresh token is dropped, so the next call needs no request to know.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "login_required");
            assert!(w.record_json(&record_path())["tokens"].get("refresh_token").is_none());
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_700_000, T0 - 100_000));
            w.server.refresh = Some(Reply::Http(400, json!({"error": "invalid_grant"})));
        }),
        scenario("token_offline_still_valid", "The refresh cannot reach the server while the access token is still valid: a warning and the current token.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-old");
            assert_eq!(w.codes("notice"), ["renewal_failed"]);
            assert_eq!(w.record_json(&record_path())["tokens"]["refresh_token"], "rt-0");
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000));
            w.files.insert(paths().metadata_cache(ISSUER), (metadata_cache(T0 - 1000), T0 - 1000));
            w.server.refresh = Some(Reply::Transport);
        }),
        scenario("token_offline_expired", "The refresh cannot reach the server and the access token has expired: the transport error (retry later); the record is kept.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "transport_error");
            assert_eq!(w.record_json(&record_path())["tokens"]["refresh_token"], "rt-0");
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_700_000, T0 - 100_000));
            w.files.insert(paths().metadata_cache(ISSUER), (metadata_cache(T0 - 1000), T0 - 1000));
            w.server.refresh = Some(Reply::Transport);
        }),
        scenario("token_server_error_html", "The refresh gets an HTML 502 page and the token has expired: protocol response_not_json (retry later) with an excerpt; no secret in the error.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "response_not_json");
            assert!(!w.error().message.contains("rt-0"));
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_700_000, T0 - 100_000));
            w.server.refresh = Some(Reply::Html(502, "<html><body>Bad Gateway</body></html>"));
        }),
        scenario("token_newer_schema", "A record written by a newer termauth: refused (credential_newer_version) and left untouched; nothing is written.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "credential_newer_version");
            assert!(!w.actions.iter().any(|a| a["type"] == "write_file" || a["type"] == "remove_file"));
        }).world(|w| stored(w, json!({"schema_version": 2, "updated_at": T0, "kind": "oauth"}).to_string())),
        scenario("token_corrupt_record", "A corrupt record: credential_corrupt naming the file; it is left as it is.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "credential_corrupt");
            assert!(w.error().message.contains(&record_path()));
            assert_eq!(w.files[&record_path()].0, "{\"schema_version\":1,\"kind\":");
        }).world(|w| stored(w, "{\"schema_version\":1,\"kind\":".to_string())),
        scenario("token_client_credentials_reacquire", "An expired client-credentials token: the grant runs again with the client secret (there is no refresh token in that grant).", Command::GetToken, |w| {
            assert_eq!(token_of(w), "cc-1");
            assert_eq!(requests(w), [DISCOVERY, "POST /token client_credentials"]);
        }).env(&[("TERMAUTH_CLIENT_SECRET", "ci-secret")]).world(|w| stored(w, oauth_record("client_credentials", "cc-old", None, T0 - 700_000, T0 - 100_000))),
        scenario("token_keyring", "A record in the keyring, found through its pointer file.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-kr");
        }).world(|w| {
            w.write(&pointer_path(), key().keyring_pointer());
            w.keyring.as_mut().unwrap().insert(("termauth:mycli".into(), key().file_stem()), oauth_record("device_code", "at-kr", Some("rt-0"), T0, T0 + 3_600_000));
        }),
        scenario("token_keyring_entry_missing", "A pointer whose keyring entry has gone: keyring_entry_missing (log in again).", Command::GetToken, |w| {
            assert_eq!(w.error().code, "keyring_entry_missing");
        }).world(|w| w.write(&pointer_path(), key().keyring_pointer())),
        scenario("token_active_profile", "No profile configured: the active one from profiles.json is used.", Command::GetToken, |w| {
            assert_eq!(token_of(w), "at-work");
        }).world(|w| {
            w.keyring = Err("none".into());
            let work = CredentialKey::new(APP, ISSUER, CLIENT, "work");
            w.write(&paths().profiles_file(), termauth_core::store::with_active_profile(None, ISSUER, CLIENT, "work"));
            w.write(&paths().credential_file(&work, "json"), oauth_record("device_code", "at-work", None, T0, T0 + 3_600_000));
        }),
        scenario("token_active_profile_hostile", "profiles.json names an active profile that is a path (`../../x`): refused as profiles_corrupt, nothing read outside the credentials directory.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "profiles_corrupt");
            assert!(!w.actions.iter().any(|a| a["path"].as_str().is_some_and(|p| p.contains(".."))));
        }).world(|w| {
            w.write(&paths().profiles_file(), json!({"schema_version": 1, "active": {termauth_core::store::server_key(ISSUER, CLIENT): "../../x"}}).to_string());
        }),
        scenario("token_env_invalid", "MYCLI_TOKEN holding a line break and a header: refused (invalid_env_token, exit 5) naming the variable, never the value.", Command::GetToken, |w| {
            assert_eq!(w.error().code, "invalid_env_token");
            assert!(w.error().message.contains("MYCLI_TOKEN") && !w.error().message.contains("Injected"));
        }).env(&[("MYCLI_TOKEN", "tok\r\nX-Injected: 1")]),
        scenario("token_record_bad_token_type", "A stored record whose token_type is neither Bearer nor DPoP (it would go into the Authorization header): unreadable (credential_corrupt).", Command::GetToken, |w| {
            assert_eq!(w.error().code, "credential_corrupt");
        }).world(|w| stored(w, json!({"schema_version": 1, "updated_at": T0, "kind": "oauth", "issuer": ISSUER, "client_id": CLIENT, "grant": "device_code",
            "tokens": {"access_token": "at-1", "token_type": "Bearer\r\nX-Injected: 1", "expires_at": T0 + 3_600_000}}).to_string())),
        // -- refresh
        scenario("refresh_forced", "An explicit refresh of a valid token renews it anyway and says so.", Command::Refresh, |w| {
            assert_eq!(token_of(w), "at-1");
            match w.outcome() { Outcome::Token(t) => assert!(t.text.as_deref().unwrap().starts_with("Token renewed; it expires in 1h00m")), o => panic!("{o:?}") }
        }).world(|w| stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0, T0 + 3_600_000))),
        scenario("refresh_refused_is_an_error", "An explicit refresh the server refuses (invalid_grant) fails with login_required even though the access token is still valid, and the dead refresh token is dropped (it used to print \"Token renewed\" and exit 0).", Command::Refresh, |w| {
            assert_eq!(w.error().code, "login_required");
            assert!(w.error().message.contains("mycli login"));
            assert!(w.codes("notice").is_empty());
            assert!(w.record_json(&record_path())["tokens"].get("refresh_token").is_none());
        }).world(|w| {
            stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0, T0 + 3_600_000));
            w.server.refresh = Some(Reply::Http(400, json!({"error": "invalid_grant", "error_description": "grant request is invalid"})));
        }),
        scenario("refresh_without_refresh_token", "An explicit refresh of a token without a refresh token: no_refresh_token (log in again).", Command::Refresh, |w| {
            assert_eq!(w.error().code, "no_refresh_token");
        }).world(|w| stored(w, oauth_record("device_code", "at-old", None, T0, T0 + 3_600_000))),
        // -- logout
        scenario("logout_revokes_refresh_token_first", "Logout revokes the refresh token first, then the access token (RFC 7009), then deletes the record.", Command::Logout, |w| {
            assert_eq!(requests(w), [DISCOVERY, "POST /revoke", "POST /revoke"]);
            let bodies: Vec<String> = w.actions.iter().filter(|a| a["type"] == "send_request" && a["url"].as_str().unwrap().ends_with("/revoke")).map(|a| a["body"].as_str().unwrap().to_string()).collect();
            assert!(bodies[0].contains("token=rt-0") && bodies[0].contains("token_type_hint=refresh_token"));
            assert!(bodies[1].contains("token=at-old") && bodies[1].contains("token_type_hint=access_token"));
            assert!(!w.files.contains_key(&record_path()) && !w.files.contains_key(&lock_path()));
            match w.outcome() { Outcome::Logout(r) => assert!(r.revoked && r.removed), o => panic!("{o:?}") }
        }).world(|w| stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0, T0 + 3_600_000))),
        scenario("logout_offline", "Logout while the server cannot be reached: the record is still deleted, and the report says the tokens were not revoked.", Command::Logout, |w| {
            assert!(!w.files.contains_key(&record_path()));
            match w.outcome() { Outcome::Logout(r) => { assert!(r.removed && !r.revoked); assert!(r.text.contains("not revoked")); } o => panic!("{o:?}") }
        }).world(|w| { stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0, T0 + 3_600_000)); w.server.discovery = Some(Reply::Transport); }),
        scenario("logout_no_revocation_endpoint", "Logout against a server without a revocation endpoint: deleted here, and the report says the tokens stay valid at the server until they expire.", Command::Logout, |w| {
            match w.outcome() { Outcome::Logout(r) => assert!(r.note.as_deref().unwrap().contains("no revocation endpoint")), o => panic!("{o:?}") }
            assert!(!w.requests.iter().any(|r| r.contains("/revoke")));
        }).world(|w| { stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0, T0 + 3_600_000)); w.server.revocation = false; }),
        scenario("logout_keyring", "Logout of a keyring record: revoked, the keyring entry deleted, then its pointer.", Command::Logout, |w| {
            assert!(w.keyring.as_ref().unwrap().is_empty());
            assert!(!w.files.contains_key(&pointer_path()));
        }).world(|w| {
            w.write(&pointer_path(), key().keyring_pointer());
            w.keyring.as_mut().unwrap().insert(("termauth:mycli".into(), key().file_stem()), oauth_record("device_code", "at-kr", Some("rt-0"), T0, T0 + 3_600_000));
        }),
        scenario("logout_api_key", "Logout of an API key: deleted here; the report says it stays valid at the server.", Command::Logout, |w| {
            assert!(w.requests.is_empty());
            match w.outcome() { Outcome::Logout(r) => assert!(r.note.as_deref().unwrap().contains("API key")), o => panic!("{o:?}") }
        }).world(|w| stored(w, json!({"schema_version": 1, "updated_at": T0, "kind": "api_key", "key": "pat-1", "presentation": {"scheme": "bearer"}}).to_string())),
        scenario("logout_nothing_stored", "Logout with nothing stored: nothing to log out of.", Command::Logout, |w| {
            match w.outcome() { Outcome::Logout(r) => assert!(!r.removed && r.text.starts_with("Nothing to log out of")), o => panic!("{o:?}") }
        }),
        scenario("logout_corrupt_record", "Logout of a corrupt record: deleted anyway, and the report says it was unreadable.", Command::Logout, |w| {
            assert!(!w.files.contains_key(&record_path()));
            match w.outcome() { Outcome::Logout(r) => assert!(r.note.as_deref().unwrap().contains("unreadable")), o => panic!("{o:?}") }
        }).world(|w| stored(w, "not json".to_string())),
        // -- status, profiles
        scenario("status_stored", "status of a stored token due for renewal: the store and why, the grant, expiry, renewable, next step refresh, no problem (a script's `status` exits 0); no request.", Command::Status, |w| {
            match w.outcome() { Outcome::Status(s) => { assert_eq!(s.source, "store"); assert_eq!(s.decision.as_deref(), Some("refresh")); assert!(s.refreshable); assert!(s.problem.is_none()); } o => panic!("{o:?}") }
            assert!(w.requests.is_empty());
        }).world(|w| stored(w, oauth_record("device_code", "at-old", Some("rt-0"), T0 - 3_570_000, T0 + 30_000))),
        scenario("status_expired_not_renewable", "status of an expired token without a refresh token (or whose refresh the server refused, which dropped it): next relogin, and the problem login_required (exit 3) that says to log in again.", Command::Status, |w| {
            match w.outcome() {
                Outcome::Status(s) => {
                    assert_eq!(s.decision.as_deref(), Some("relogin"));
                    let p = s.problem.as_ref().expect("a problem");
                    assert_eq!((p.code.as_str(), p.exit_code()), ("login_required", 3));
                    assert!(s.lines.iter().any(|l| l.starts_with("problem:")), "{:?}", s.lines);
                }
                o => panic!("{o:?}"),
            }
            assert!(w.requests.is_empty());
        }).world(|w| stored(w, oauth_record("device_code", "at-old", None, T0 - 3_700_000, T0 - 100_000))),
        scenario("status_client_credentials_without_secret", "status of an expired client-credentials token with no client secret anywhere: next reacquire, and the problem missing_client_secret (exit 5), since get_token would fail.", Command::Status, |w| {
            match w.outcome() {
                Outcome::Status(s) => {
                    assert_eq!(s.decision.as_deref(), Some("reacquire"));
                    let p = s.problem.as_ref().expect("a problem");
                    assert_eq!((p.code.as_str(), p.exit_code()), ("missing_client_secret", 5));
                }
                o => panic!("{o:?}"),
            }
        }).world(|w| stored(w, oauth_record("client_credentials", "cc-old", None, T0 - 700_000, T0 - 100_000))),
        scenario("status_not_logged_in", "status with nothing stored: source none, and the problem not_logged_in (exit 3) naming the login command.", Command::Status, |w| {
            match w.outcome() {
                Outcome::Status(s) => {
                    assert_eq!(s.source, "none");
                    let p = s.problem.as_ref().expect("a problem");
                    assert_eq!((p.code.as_str(), p.exit_code()), ("not_logged_in", 3));
                    assert!(p.message.contains("mycli login"), "{}", p.message);
                }
                o => panic!("{o:?}"),
            }
        }),
        scenario("status_env", "status with MYCLI_TOKEN set: the environment wins.", Command::Status, |w| {
            match w.outcome() { Outcome::Status(s) => assert_eq!(s.source, "env"), o => panic!("{o:?}") }
        }).env(&[("MYCLI_TOKEN", "t")]),
        scenario("status_corrupt", "status of a corrupt record reports the problem instead of failing.", Command::Status, |w| {
            match w.outcome() { Outcome::Status(s) => assert_eq!(s.error.as_ref().unwrap().code, "credential_corrupt"), o => panic!("{o:?}") }
        }).world(|w| stored(w, "{".to_string())),
        scenario("status_all", "status_all: every stored credential (another issuer's, another profile's, a keyring one behind its pointer), ordered by issuer, client and profile, each with its own status and problem; temporary files, junk and a corrupt record without an issuer are left out; MYCLI_TOKEN is not consulted.", Command::StatusAll, |w| {
            match w.outcome() {
                Outcome::StatusAll { statuses } => {
                    let seen: Vec<(&str, &str, &str)> = statuses.iter().map(|s| (s.issuer.as_str(), s.client_id.as_str(), s.profile.as_str())).collect();
                    assert_eq!(seen, [(ISSUER, CLIENT, "default"), (ISSUER, CLIENT, "work"), ("https://other.example.org", "other-cli", "default")]);
                    assert!(statuses.iter().all(|s| s.source == "store"), "{statuses:?}");
                    assert_eq!(statuses[0].decision.as_deref(), Some("use"));
                    assert_eq!(statuses[1].store.as_ref().unwrap().store, termauth_core::store::StoreKind::Keyring);
                    assert_eq!(statuses[2].problem.as_ref().map(|p| p.code.as_str()), Some("login_required"));
                    assert!(statuses[2].lines[0].contains("other.example.org"), "{:?}", statuses[2].lines);
                }
                o => panic!("{o:?}"),
            }
            assert!(w.requests.is_empty());
        }).env(&[("MYCLI_TOKEN", "t")]).world(|w| {
            stored(w, oauth_record("device_code", "at-1", Some("rt-1"), T0, T0 + 3_600_000));
            w.keyring = Ok(Default::default());
            let work = CredentialKey::new(APP, ISSUER, CLIENT, "work");
            w.write(&paths().credential_file(&work, "keyring"), work.keyring_pointer());
            w.keyring.as_mut().unwrap().insert((work.keyring_service(), work.file_stem()), oauth_record("device_code", "at-w", Some("rt-w"), T0, T0 + 3_600_000));
            let other = CredentialKey::new(APP, "https://other.example.org", "other-cli", "default");
            let expired = oauth_record("device_code", "at-o", None, T0 - 7_200_000, T0 - 3_600_000)
                .replace(ISSUER, "https://other.example.org").replace(&format!("\"{CLIENT}\""), "\"other-cli\"");
            w.write(&paths().credential_file(&other, "json"), expired);
            let dir = paths().credentials_dir();
            w.write(&format!("{dir}/broken@0123456789abcdef.json"), "{".into());
            w.write(&format!("{dir}/default@{}.json.tmp-42", server_key(ISSUER, CLIENT)), "{}".into());
            w.write(&format!("{dir}/notes.txt"), "hello".into());
        }),
        scenario("profiles_list", "The stored profiles of this issuer and client, sorted, the active one marked; other servers' records and temporary files are not profiles.", Command::Profiles, |w| {
            match w.outcome() {
                Outcome::Profiles { profiles } => {
                    let names: Vec<(&str, bool)> = profiles.iter().map(|p| (p.name.as_str(), p.active)).collect();
                    assert_eq!(names, [("default", false), ("work", true)]);
                }
                o => panic!("{o:?}"),
            }
        }).world(|w| {
            let dir = paths().credentials_dir();
            let k = server_key(ISSUER, CLIENT);
            w.write(&paths().profiles_file(), termauth_core::store::with_active_profile(None, ISSUER, CLIENT, "work"));
            w.write(&format!("{dir}/default@{k}.json"), "{}".into());
            w.write(&format!("{dir}/work@{k}.keyring"), "{}".into());
            w.write(&format!("{dir}/.work@{k}.json.abc.tmp"), "{}".into());
            w.write(&format!("{dir}/other@0123456789abcdef.json"), "{}".into());
        }),
        scenario("use_profile_unknown", "profiles use with a name that has no credential: unknown_profile, listing the stored ones.", Command::UseProfile { profile: "nope".into() }, |w| {
            assert_eq!(w.error().code, "unknown_profile");
            assert!(w.error().message.contains("stored: default"));
        }).world(|w| stored(w, oauth_record("device_code", "a", None, T0, T0 + 1))),
        scenario("use_profile", "profiles use NAME makes NAME active under the profiles lock, keeping other servers' entries.", Command::UseProfile { profile: "work".into() }, |w| {
            let v = w.record_json(&paths().profiles_file());
            assert_eq!(v["active"][server_key(ISSUER, CLIENT)], "work");
            assert_eq!(v["active"]["0123456789abcdef"], "x");
            assert!(!w.files.contains_key(&paths().profiles_lock()));
        }).world(|w| {
            let work = CredentialKey::new(APP, ISSUER, CLIENT, "work");
            w.write(&paths().credential_file(&work, "json"), "{}".into());
            w.write(&paths().profiles_file(), json!({"schema_version": 1, "active": {"0123456789abcdef": "x"}}).to_string());
        }),
        scenario("config_dir_override", "MYCLI_CONFIG_DIR overrides the platform's config directory.", Command::GetToken, |w| {
            assert_eq!(w.actions[0]["path"], "/srv/mycli/profiles.json");
        }).env(&[("MYCLI_CONFIG_DIR", "/srv/mycli")]),
        Scenario {
            patch: Some(|v| v["config"]["clientId"] = json!("typo")),
            ..scenario("config_unknown_member", "A misspelt configuration member (`clientId`) is refused at start, not ignored.", Command::GetToken, |w| {
                assert_eq!(w.error().code, "invalid_session_spec");
            })
        },
    ]
}
