//! Sessions of several processes racing one credential, in random interleavings against a
//! simulated store and a server that rotates refresh tokens (each refresh token works
//! once, RFC 6749 §10.4). No threads and no sleeps: a scheduler picks which process takes
//! its next step, and virtual time jumps to the next wake-up.
//!
//! Properties: without crashes, exactly one refresh reaches the server, every process gets
//! the new token, and no lock is left behind. With a process killed at a random step (its
//! lock left to go stale, its pid dead), the others still finish — never a hang, never a
//! torn record, never two holders of the lock at once.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use termauth_core::environment::{Environment, Platform};
use termauth_core::session::{Action, Command, Input, Outcome, Session, SessionConfig, SessionSpec};
use termauth_core::store::{CredentialKey, StorePaths, StorePreference};
use termauth_core::{HttpResponse, Rng, Secret};

const ISSUER: &str = "https://as.example.com";
const T0: u64 = 1_700_000_000_000;
const DIR: &str = "/home/u/.config/racer";

struct Store {
    files: BTreeMap<String, (String, u64)>,
    alive: BTreeSet<u32>,
    /// The refresh token the server accepts now.
    live_refresh: String,
    refreshes: u32,
    /// Lock holders seen at the same time (must never exceed 1).
    worst_holders: usize,
    /// The killed process held the lock when it died (its lock had to be broken).
    killed_holding_lock: bool,
}

fn lock_path() -> String {
    StorePaths::new(DIR, Platform::Linux)
        .credential_file(&CredentialKey::new("racer", ISSUER, "cli", "default"), "json")
        .replace(".json", ".lock")
}

fn record_path() -> String {
    StorePaths::new(DIR, Platform::Linux).credential_file(&CredentialKey::new("racer", ISSUER, "cli", "default"), "json")
}

fn record(access: &str, refresh: &str, updated_at: u64, expires_at: u64) -> String {
    json!({"schema_version": 1, "updated_at": updated_at, "kind": "oauth", "issuer": ISSUER, "client_id": "cli",
        "grant": "device_code", "tokens": {"access_token": access, "token_type": "Bearer", "expires_at": expires_at,
        "refresh_token": refresh}})
    .to_string()
}

fn spec(pid: u32) -> SessionSpec {
    let mut config = SessionConfig::new("racer", ISSUER, "cli");
    config.store = StorePreference::File;
    config.metadata =
        Some(serde_json::from_value(json!({"issuer": ISSUER, "token_endpoint": format!("{ISSUER}/token")})).unwrap());
    let mut env = Environment { platform: Platform::Linux, host: "h".into(), pid, vars: BTreeMap::new() };
    env.vars.insert("HOME".into(), "/home/u".into());
    SessionSpec::new(Command::GetToken, config, env)
}

impl Store {
    fn answer(&mut self, action: &Action, now: u64) -> Option<Input> {
        Some(match action {
            Action::ReadFile { id, path } => match self.files.get(path) {
                Some((c, m)) => Input::FileContents {
                    id: *id,
                    contents: Some(Secret::new(c.clone())),
                    modified_ms: Some(*m),
                    mode: None,
                    owned: None,
                },
                None => Input::FileContents { id: *id, contents: None, modified_ms: None, mode: None, owned: None },
            },
            Action::WriteFile { id, path, contents } => {
                // An atomic rename: readers see the old record or the new one.
                serde_json::from_str::<Value>(contents.expose()).expect("only whole records are written");
                self.files.insert(path.clone(), (contents.expose().to_string(), now));
                Input::Completed { id: *id }
            }
            Action::RemoveFile { id, path } => Input::Removed { id: *id, existed: self.files.remove(path).is_some() },
            Action::ListDir { id, path } => {
                let prefix = format!("{path}/");
                let names = self.files.keys().filter_map(|p| p.strip_prefix(&prefix)).filter(|n| !n.contains('/'));
                Input::DirListing { id: *id, names: names.map(str::to_string).collect() }
            }
            Action::CreateExclusive { id, path, contents } => {
                let created = !self.files.contains_key(path);
                if created {
                    self.files.insert(path.clone(), (contents.clone(), now));
                }
                Input::Created { id: *id, created }
            }
            Action::ProcessAlive { id, pid } => Input::ProcessStatus { id: *id, alive: Some(self.alive.contains(pid)) },
            Action::SendRequest(r) => {
                let form: BTreeMap<String, String> = form_urlencoded::parse(r.body.as_bytes()).into_owned().collect();
                let (status, body) = if form.get("refresh_token") == Some(&self.live_refresh) {
                    self.refreshes += 1;
                    let n = self.refreshes;
                    self.live_refresh = format!("rt-{n}");
                    (
                        200,
                        json!({"access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": 3600, "refresh_token": format!("rt-{n}")}),
                    )
                } else {
                    (400, json!({"error": "invalid_grant"}))
                };
                Input::HttpResponse(HttpResponse {
                    id: r.id,
                    status,
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: body.to_string(),
                })
            }
            _ => return None,
        })
    }
}

struct Process {
    pid: u32,
    session: Session,
    /// The action waiting for an answer (handed out, not answered yet).
    pending: Option<Action>,
    wake_at: u64,
    result: Option<Result<Outcome, termauth_core::Error>>,
    killed: bool,
}

/// One race: `n` processes, interleaved by `seed`; `kill` one at a random step.
fn race(seed: u8, n: u32, kill: bool) -> (Store, Vec<Process>) {
    let mut rng = Rng::from_seed([seed; 32]);
    let mut draw = |bound: u64| {
        let mut b = [0u8; 8];
        rng.fill(&mut b);
        u64::from_le_bytes(b) % bound
    };
    let mut store = Store {
        files: BTreeMap::new(),
        alive: BTreeSet::new(),
        live_refresh: "rt-0".into(),
        refreshes: 0,
        worst_holders: 0,
        killed_holding_lock: false,
    };
    // Expired: every process must renew.
    store.files.insert(record_path(), (record("at-0", "rt-0", T0 - 3_700_000, T0 - 1_000), T0 - 3_700_000));
    let mut now = T0;
    let mut procs: Vec<Process> = (0..n)
        .map(|i| {
            let pid = 100 + i;
            store.alive.insert(pid);
            let session = Session::start(spec(pid), Rng::from_seed([seed ^ i as u8; 32]), now).unwrap();
            Process { pid, session, pending: None, wake_at: now, result: None, killed: false }
        })
        .collect();
    let victim = kill.then(|| draw(n as u64) as usize);
    let kill_after = draw(12);
    let mut steps_of_victim = 0;
    for _ in 0..100_000 {
        let runnable: Vec<usize> =
            (0..procs.len()).filter(|&i| procs[i].result.is_none() && !procs[i].killed && procs[i].wake_at <= now).collect();
        if runnable.is_empty() {
            let next = procs.iter().filter(|p| p.result.is_none() && !p.killed).map(|p| p.wake_at).min();
            match next {
                Some(t) => {
                    now = t.max(now + 1);
                    continue;
                }
                None => break,
            }
        }
        let i = runnable[draw(runnable.len() as u64) as usize];
        if Some(i) == victim {
            steps_of_victim += 1;
            if steps_of_victim > kill_after {
                procs[i].killed = true;
                store.alive.remove(&procs[i].pid);
                let mark = format!("\"pid\":{}", procs[i].pid);
                store.killed_holding_lock = store.files.get(&lock_path()).is_some_and(|(c, _)| c.contains(&mark));
                continue;
            }
        }
        let p = &mut procs[i];
        match p.pending.take() {
            // Answer the outstanding action (a separate step: others may run in between).
            Some(action) => {
                let input = store.answer(&action, now).expect("storage or HTTP");
                p.session.handle(input, now).unwrap();
            }
            None => match p.session.poll(now) {
                Action::Done { result } => {
                    p.result = Some(Ok(result));
                    store.alive.remove(&p.pid);
                }
                Action::Failed { error } => {
                    p.result = Some(Err(error));
                    store.alive.remove(&p.pid);
                }
                Action::WaitUntil { at_ms, .. } => p.wake_at = at_ms,
                Action::Notice { .. } => {}
                action => p.pending = Some(action),
            },
        }
        let holders = procs
            .iter()
            .filter(|p| store.files.get(&lock_path()).is_some_and(|(c, _)| c.contains(&format!("\"pid\":{}", p.pid))))
            .count();
        store.worst_holders = store.worst_holders.max(holders);
        if draw(4) == 0 {
            now += draw(50);
        }
    }
    (store, procs)
}

fn token(p: &Process) -> Option<String> {
    match &p.result {
        Some(Ok(Outcome::Token(t))) => Some(t.token.expose().to_string()),
        _ => None,
    }
}

#[test]
fn racing_processes_make_one_refresh() {
    for seed in 0..200u8 {
        let (store, procs) = race(seed, 5, false);
        assert_eq!(store.refreshes, 1, "seed {seed}: {} refreshes", store.refreshes);
        for p in &procs {
            assert_eq!(token(p).as_deref(), Some("at-1"), "seed {seed}: process {} ended with {:?}", p.pid, p.result);
        }
        assert!(!store.files.contains_key(&lock_path()), "seed {seed}: a lock was left behind");
        assert!(store.worst_holders <= 1, "seed {seed}: two holders at once");
    }
}

#[test]
fn a_killed_process_never_blocks_the_others() {
    let mut broken = 0;
    for seed in 0..200u8 {
        let (store, procs) = race(seed, 4, true);
        broken += usize::from(store.killed_holding_lock);
        assert!(store.worst_holders <= 1, "seed {seed}: two holders at once");
        for p in procs.iter().filter(|p| !p.killed) {
            match &p.result {
                Some(Ok(_)) => {}
                // The victim died after its refresh was answered and before it saved: the
                // rotated refresh token is lost with it (RFC 6749 §10.4), so the others are
                // told to log in again — never a hang or a corrupt record.
                Some(Err(e)) => assert_eq!(e.code, "login_required", "seed {seed}: {e:?}"),
                None => panic!("seed {seed}: process {} never finished", p.pid),
            }
        }
        let (text, _) = &store.files[&record_path()];
        serde_json::from_str::<Value>(text).expect("the record is whole");
        assert!(store.refreshes <= 2, "seed {seed}: {} refreshes", store.refreshes);
    }
    // Not vacuous: in many races the victim died holding the lock, which had to be broken.
    assert!(broken >= 20, "only {broken} races killed a lock holder");
    eprintln!("{broken} of 200 races killed the lock holder");
}
