//! The browser login (authorization code + PKCE, loopback redirect, RFC 8252) against the
//! real test IdP: approve, deny, a tampered `state`, a tampered `iss` (RFC 9207); and the
//! paste mode through the CLI with its standard input piped.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;
use termauth::{Hint, LoginMethod};

const SCOPE: &str = "openid offline_access";

fn stored(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("credentials"))
        .map(|it| it.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count())
        .unwrap_or(0)
}

#[test]
fn browser_approve_logs_in() {
    if rerun_without_browser("browser_approve_logs_in") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) =
        client_with_approver(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)), None, Browser::Follow("approve"));
    let report = client.login(LoginMethod::Browser).expect("browser login");
    approver.join();
    let events = approver.events.lock().unwrap();
    let url = events.browser_url.clone().unwrap();
    assert!(url.starts_with(&format!("{}/auth?", idp.issuer)), "{url}");
    assert!(url.contains("code_challenge_method=S256") && url.contains("state="), "{url}");
    assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"), "a loopback redirect with a port: {url}");
    let v = events.approver.clone().unwrap();
    assert_eq!(v["callback_status"], 200, "{v}");
    assert!(v["callback_body"].as_str().unwrap().contains("Login approved"), "{v}");
    assert_eq!(report.method, "browser");
    assert_eq!(report.scope.as_deref(), Some(SCOPE));
    let record = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    assert_eq!(record["grant"], "authorization_code");
    assert!(record["tokens"]["refresh_token"].is_string());
    let token = client.get_token().unwrap();
    assert_eq!(record["tokens"]["access_token"], token.expose());
    assert_eq!(idp.introspect(token.expose())["active"], true);
}

#[test]
fn browser_deny_fails_with_access_denied() {
    if rerun_without_browser("browser_deny_fails_with_access_denied") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) =
        client_with_approver(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)), None, Browser::Follow("deny"));
    let err = client.login(LoginMethod::Browser).expect_err("denied");
    approver.join();
    assert_eq!(err.code, "access_denied", "{err:?}");
    assert_eq!(err.hint, Hint::Reauthenticate);
    let v = approver.events.lock().unwrap().approver.clone().unwrap();
    assert_eq!(v["query"]["error"], "access_denied");
    assert!(v["callback_body"].as_str().unwrap().contains("Login failed"), "the browser is told: {v}");
    assert_eq!(stored(dir.path()), 0);
}

fn tamper_state(url: &str) -> String {
    set_query_param(url, "state", "forged-state")
}

fn tamper_iss(url: &str) -> String {
    set_query_param(url, "iss", "https://evil.example")
}

#[test]
fn browser_tampered_state_is_refused() {
    if rerun_without_browser("browser_tampered_state_is_refused") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) =
        client_with_approver(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)), None, Browser::Tamper(tamper_state));
    let err = client.login(LoginMethod::Browser).expect_err("forged state");
    approver.join();
    assert_eq!(err.code, "state_mismatch", "{err:?}");
    assert_eq!(err.hint, Hint::Reauthenticate);
    let (status, body) = approver.events.lock().unwrap().callback.clone().unwrap();
    assert!(body.contains("Login failed"), "the listener page says so ({status}): {body}");
    assert_eq!(stored(dir.path()), 0, "no code was exchanged");
}

#[test]
fn browser_tampered_iss_is_refused() {
    if rerun_without_browser("browser_tampered_iss_is_refused") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) =
        client_with_approver(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)), None, Browser::Tamper(tamper_iss));
    let err = client.login(LoginMethod::Browser).expect_err("wrong iss");
    approver.join();
    assert_eq!(err.code, "issuer_mismatch", "{err:?}");
    let (_, body) = approver.events.lock().unwrap().callback.clone().unwrap();
    assert!(body.contains("Login failed"), "{body}");
    assert_eq!(stored(dir.path()), 0);
}

#[test]
fn paste_mode_cli_reads_the_redirect_from_stdin() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cli(dir.path());
    cmd.args(["login", "--paste", "--issuer", &idp.issuer, "--client-id", CLI_CLIENT, "--scope", SCOPE]);
    let started = std::time::Instant::now();
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let prefix = format!("{}/auth?", idp.issuer);
    let url = loop {
        let line = rx.recv_timeout(Duration::from_secs(15)).expect("the CLI prints the authorization URL on stderr");
        if line.trim().starts_with(&prefix) {
            break line.trim().to_string();
        }
    };
    assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback"), "{url}");
    let v = idp.authorize(&url, "approve", false);
    let redirect = v["redirect"].as_str().unwrap().to_string();
    // Something that is not a URL first: the CLI asks again instead of failing.
    writeln!(stdin, "this is not the address").unwrap();
    writeln!(stdin, "{redirect}").unwrap();
    let mut child = child;
    child.stderr = None;
    let run = {
        // stderr is being drained by `reader`; wait for the exit here.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(std::time::Instant::now() < deadline, "paste login did not finish");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    drop(stdin);
    let err = reader.join().unwrap();
    assert!(run.success(), "paste login failed ({run:?}): {err}");
    assert!(err.contains("Paste it again"), "a bad paste is retried: {err}");
    assert!(err.contains("method: paste"), "{err}");
    let record = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    assert_eq!(record["grant"], "authorization_code");
    // `token` needs no flags: the issuer and client were remembered by the login.
    let token = run_token(dir.path());
    assert_eq!(record["tokens"]["access_token"], token.as_str());
    eprintln!("paste login took {:?}", started.elapsed());
}

fn run_token(dir: &std::path::Path) -> String {
    let mut c = cli(dir);
    c.arg("token");
    run(c, None, Duration::from_secs(20)).ok()
}
