//! The cross-process refresh race with real processes: N `termauth token` processes start
//! at once on a credential that is due; the lock must make exactly one of them refresh
//! (the refresh token rotates, so a second refresh with the old token would fail and, at
//! oidc-provider, revoke the whole grant), and every process must print the same, valid
//! token. Refresh requests are counted by a recording proxy in front of the token
//! endpoint (the CLI is pointed at it through its metadata cache).

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};
use termauth::LoginMethod;
use termauth::driver::now_ms;
use termauth::store::server_key;

const N: usize = 8;
const SCOPE: &str = "openid offline_access";
const REFRESH: &str = "refresh_token";

struct Race {
    tokens: Vec<String>,
    failures: Vec<Run>,
    last_spawn: Instant,
}

/// A device login (library, unattended), then the CLI pointed at `proxy`.
fn login(idp: &Idp, proxy: &Proxy, dir: &Path) {
    let (mut client, approver) =
        client_with_approver(config(&idp.issuer, dir, CLI_CLIENT, Some(SCOPE)), Some("approve"), Browser::Follow("approve"));
    client.login(LoginMethod::Device).expect("device login");
    approver.join();
    write_metadata_cache(dir, &proxy.metadata(idp));
}

fn race(idp: &Idp, dir: &Path) -> Race {
    let started = Instant::now();
    let children: Vec<_> = (0..N)
        .map(|_| {
            let mut c = cli(dir);
            c.args(["token", "--issuer", &idp.issuer, "--client-id", CLI_CLIENT])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let last_spawn = Instant::now();
    let mut tokens = Vec::new();
    let mut failures = Vec::new();
    for child in children {
        let r = finish(child, started, Duration::from_secs(60));
        if r.code == 0 && !r.stdout.trim().is_empty() {
            tokens.push(r.stdout.trim().to_string());
        } else {
            failures.push(r);
        }
    }
    Race { tokens, failures, last_spawn }
}

/// Everything the race must satisfy; prints the figures.
#[allow(clippy::too_many_arguments)]
fn check(label: &str, idp: &Idp, proxy: &Proxy, dir: &Path, old_at: &str, old_rt: &str, r: &Race, long_lived: bool) {
    let refreshes = proxy.token_requests(REFRESH);
    let distinct: BTreeSet<_> = r.tokens.iter().collect();
    let after = read_record(dir, &idp.issuer, CLI_CLIENT);
    let lost = {
        let mut s = cli(dir);
        s.args(["status", "--json", "--issuer", &idp.issuer, "--client-id", CLI_CLIENT]);
        let st = run(s, None, Duration::from_secs(20));
        usize::from(st.code != 0)
    };
    eprintln!(
        "[{label}] processes: {N}, exit 0: {}, refresh requests: {}, distinct tokens printed: {}, credentials lost: {lost}",
        r.tokens.len(),
        refreshes.len(),
        distinct.len()
    );
    assert!(r.failures.is_empty(), "every process prints a token: {:?}", r.failures);
    assert_eq!(refreshes.len(), 1, "exactly one refresh request reached the server: {refreshes:?}");
    assert_eq!(refreshes[0].form.get("refresh_token").map(String::as_str), Some(old_rt));
    assert_eq!(refreshes[0].status, 200);
    // The one refresh happened while every other process was already running.
    assert!(r.last_spawn < refreshes[0].at + Duration::from_millis(400), "the processes overlapped the refresh");
    assert_eq!(distinct.len(), 1, "one token for everybody: {distinct:?}");
    let token = r.tokens[0].clone();
    assert_ne!(token, old_at);
    assert_eq!(after["tokens"]["access_token"], token.as_str());
    assert_ne!(after["tokens"]["refresh_token"], old_rt, "rotated exactly once");
    assert_eq!(lost, 0, "termauth status is fine afterwards");
    if long_lived {
        assert_eq!(idp.introspect(&token)["active"], true);
        // A further `token` uses it without another refresh.
        let again = cli_run(dir, &idp.issuer, CLI_CLIENT, &["token"]).ok();
        assert_eq!(again, token);
        assert_eq!(proxy.token_requests(REFRESH).len(), 1);
    }
    // And the server has retired the old refresh token.
    assert_eq!(idp.raw_refresh(CLI_CLIENT, old_rt).1["error"], "invalid_grant");
}

fn slow_token_endpoint(idp: &Idp) -> Proxy {
    // Hold every token response 400 ms: the refresher keeps the lock long enough that all
    // the other processes are certainly waiting on it.
    Proxy::start_with(
        &idp.issuer,
        Box::new(|path, body| {
            if path == "/token" {
                std::thread::sleep(Duration::from_millis(400));
            }
            body
        }),
    )
}

fn setup(idp: &Idp, dir: &Path) -> (Proxy, String, String) {
    let proxy = slow_token_endpoint(idp);
    login(idp, &proxy, dir);
    let rec = read_record(dir, &idp.issuer, CLI_CLIENT);
    let old_at = rec["tokens"]["access_token"].as_str().unwrap().to_string();
    let old_rt = rec["tokens"]["refresh_token"].as_str().unwrap().to_string();
    expire_record(dir, &idp.issuer, CLI_CLIENT);
    (proxy, old_at, old_rt)
}

#[test]
fn concurrent_token_processes_refresh_exactly_once() {
    if rerun_without_browser("concurrent_token_processes_refresh_exactly_once") {
        return;
    }
    let idp = Idp::start(); // access tokens live an hour: a renewed one is not due again
    let dir = tempfile::tempdir().unwrap();
    let (proxy, old_at, old_rt) = setup(&idp, dir.path());
    let r = race(&idp, dir.path());
    check("ttl 3600 s", &idp, &proxy, dir.path(), &old_at, &old_rt, &r, true);
}

#[test]
fn concurrent_token_processes_refresh_once_with_short_lived_tokens() {
    if rerun_without_browser("concurrent_token_processes_refresh_once_with_short_lived_tokens") {
        return;
    }
    let idp = Idp::start_with(&[("IDP_ACCESS_TOKEN_TTL", "3")]);
    let dir = tempfile::tempdir().unwrap();
    let (proxy, old_at, old_rt) = setup(&idp, dir.path());
    let r = race(&idp, dir.path());
    check("ttl 3 s", &idp, &proxy, dir.path(), &old_at, &old_rt, &r, false);
}

#[test]
fn concurrent_token_processes_with_a_stale_lock_refresh_exactly_once() {
    if rerun_without_browser("concurrent_token_processes_with_a_stale_lock_refresh_exactly_once") {
        return;
    }
    // A crashed process left its lock behind; N processes find it at the same moment.
    let idp = Idp::start();
    let dir = tempfile::tempdir().unwrap();
    let (proxy, old_at, old_rt) = setup(&idp, dir.path());
    let lock = dir.path().join("credentials").join(format!("default@{}.lock", server_key(&idp.issuer, CLI_CLIENT)));
    std::fs::write(&lock, json!({"pid": 999_999_999u32, "host": "elsewhere", "created_at": now_ms() - 120_000}).to_string())
        .unwrap();
    let r = race(&idp, dir.path());
    check("stale lock", &idp, &proxy, dir.path(), &old_at, &old_rt, &r, true);
    assert!(!lock.exists());
}

#[test]
fn a_login_during_a_refresh_is_not_overwritten_by_it() {
    if rerun_without_browser("a_login_during_a_refresh_is_not_overwritten_by_it") {
        return;
    }
    let idp = Idp::start();
    let dir = tempfile::tempdir().unwrap();
    // Old session: a device login. The CLI's token endpoint answers after 1.5 s.
    let proxy = Proxy::start_with(
        &idp.issuer,
        Box::new(|path, body| {
            if path == "/token" {
                std::thread::sleep(Duration::from_millis(1_500));
            }
            body
        }),
    );
    login(&idp, &proxy, dir.path());
    expire_record(dir.path(), &idp.issuer, CLI_CLIENT);
    // `termauth token` starts refreshing the old session ...
    let mut c = cli(dir.path());
    c.args(["token", "--issuer", &idp.issuer, "--client-id", CLI_CLIENT])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let child = c.spawn().unwrap();
    assert!(wait_for(Duration::from_secs(5), || proxy.token_arrivals(REFRESH) == 1), "the refresh is in flight");
    // ... while the user logs in again, in the browser (direct to the IdP, not delayed).
    let mut cfg = config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE));
    cfg.metadata = Some(idp.metadata()); // not through the slow proxy
    let (mut client, approver) = client_with_approver(cfg, None, Browser::Follow("approve"));
    client.login(LoginMethod::Browser).expect("new login");
    approver.join();
    let new_at = read_record(dir.path(), &idp.issuer, CLI_CLIENT)["tokens"]["access_token"].as_str().unwrap().to_string();
    let r = finish(child, started, Duration::from_secs(20));
    r.ok();
    let after = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    assert_eq!(after["grant"], "authorization_code", "the new login must survive the old session's refresh");
    assert_eq!(after["tokens"]["access_token"], new_at.as_str());
}
