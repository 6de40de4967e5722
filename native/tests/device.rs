//! The device flow (RFC 8628) against the real test IdP, through the library `Client`
//! with an unattended approver `Ui`: approve, deny, expiry, `slow_down`; then refresh
//! with rotation, revocation at logout, and logout while the server is down.

mod common;

use common::*;
use std::time::{Duration, Instant};
use termauth::driver::now_ms;
use termauth::{Hint, LoginMethod};

const SCOPE: &str = "openid offline_access";

fn json_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir.join("credentials"))
        .map(|it| it.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".json")).collect())
        .unwrap_or_default()
}

#[test]
fn device_approve_stores_the_token_and_get_token_returns_it() {
    if rerun_without_browser("device_approve_stores_the_token_and_get_token_returns_it") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) = client_with_approver(
        config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)),
        Some("approve"),
        Browser::Follow("approve"),
    );
    let report = client.login(LoginMethod::Device).expect("device login");
    approver.join();
    let events = approver.events.lock().unwrap();
    assert_eq!(events.approver.as_ref().unwrap()["ok"], true, "{:?}", events.approver);
    let code = events.user_code.clone().unwrap();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "user code {code}");
    assert_eq!(report.method, "device");
    assert_eq!(report.store.store, termauth::StoreKind::File);
    assert_eq!(report.profile, "default");
    assert_eq!(report.scope.as_deref(), Some(SCOPE));
    assert!(report.expires_at.unwrap() > now_ms() + 3_000_000, "default TTL is an hour");

    let record = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    assert_eq!(record["grant"], "device_code");
    assert_eq!(record["issuer"], idp.issuer.as_str());
    let access = record["tokens"]["access_token"].as_str().unwrap().to_string();
    assert!(record["tokens"]["refresh_token"].is_string(), "offline_access gives a refresh token");
    assert!(record["tokens"]["id_token"].is_string());

    assert_eq!(client.get_token().unwrap().expose(), access);
    // A new client (as another process would) reads the same credential, without network.
    let mut again = common::silent_client(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)));
    assert_eq!(again.get_token().unwrap().expose(), access);
    let status = again.status().unwrap();
    assert_eq!(
        (status.source.as_str(), status.credential_kind.as_deref(), status.decision.as_deref()),
        ("store", Some("oauth"), Some("use"))
    );
    assert!(status.refreshable);
    // The token is real: the IdP accepts it.
    let (code, me) = get_bearer(&format!("{}/me", idp.issuer), &access);
    assert_eq!(code, 200, "{me}");
    assert_eq!(me["sub"], "alice");
    // Who logged in (issue 13, item 3): the ID token's subject, in the report, status, and
    // the CLI's whoami and status reading the same store.
    assert_eq!(report.account.as_deref(), Some("alice"));
    assert!(report.text.starts_with("Logged in as alice (method: device"), "{}", report.text);
    assert_eq!(status.account.as_deref(), Some("alice"));
    let whoami = common::cli_run(dir.path(), &idp.issuer, CLI_CLIENT, &["whoami"]);
    assert_eq!(whoami.ok(), "alice");
    let lines = common::cli_run(dir.path(), &idp.issuer, CLI_CLIENT, &["status"]).ok();
    assert!(lines.contains("account:   alice"), "{lines}");
}

#[test]
fn device_deny_fails_with_access_denied_and_stores_nothing() {
    if rerun_without_browser("device_deny_fails_with_access_denied_and_stores_nothing") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) =
        client_with_approver(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)), Some("deny"), Browser::Follow("deny"));
    let err = client.login(LoginMethod::Device).expect_err("denied login must fail");
    approver.join();
    assert_eq!(err.code, "access_denied", "{err:?}");
    assert_eq!(err.hint, Hint::Reauthenticate);
    assert!(json_files(dir.path()).is_empty(), "nothing stored after a denied login");
    assert_eq!(client.get_token().unwrap_err().code, "not_logged_in");
}

#[test]
fn device_code_expiry_fails_with_expired_token() {
    if rerun_without_browser("device_code_expiry_fails_with_expired_token") {
        return;
    }
    let idp = Idp::start_with(&[("IDP_DEVICE_CODE_TTL", "2")]);
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) =
        client_with_approver(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)), None, Browser::Follow("approve"));
    let started = Instant::now();
    let err = client.login(LoginMethod::Device).expect_err("nobody approves");
    let took = started.elapsed();
    approver.join();
    assert_eq!(err.code, "expired_token", "{err:?}");
    assert_eq!(err.hint, Hint::Reauthenticate);
    // It gives up when the code's lifetime is over, not much later (and not before).
    assert!(took >= Duration::from_millis(1_900) && took < Duration::from_secs(8), "gave up after {took:?}");
    assert!(json_files(dir.path()).is_empty());
    // The code is dead at the server too.
    let code = approver.events.lock().unwrap().user_code.clone().unwrap();
    assert_eq!(idp.device(&code, "approve")["ok"], false);
}

/// Device polls seen by the proxy, in order.
fn device_polls(proxy: &Proxy) -> Vec<Seen> {
    proxy.token_requests("urn:ietf:params:oauth:grant-type:device_code")
}

#[test]
fn device_polls_respect_the_interval_under_slow_down_enforcement() {
    if rerun_without_browser("device_polls_respect_the_interval_under_slow_down_enforcement") {
        return;
    }
    // The IdP answers slow_down to any poll sooner than the interval (1 s) after the last.
    let idp = Idp::start_with(&[("IDP_SLOW_DOWN", "1")]);
    let proxy = Proxy::start(&idp.issuer);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE));
    cfg.metadata = Some(proxy.metadata(&idp));
    let (mut client, approver) = client_with_approver(cfg, None, Browser::Follow("approve"));
    // `Client` is not `Send` (its `Box<dyn Ui>`), so the login runs here and the "user" in a thread.
    let result = std::thread::scope(|s| {
        let user = s.spawn(|| {
            // Let the client poll twice while pending, then approve.
            assert!(wait_for(Duration::from_secs(10), || device_polls(&proxy).len() >= 2), "the client stopped polling");
            let code = approver.events.lock().unwrap().user_code.clone().unwrap();
            assert_eq!(idp.device(&code, "approve")["ok"], true);
        });
        let result = client.login(LoginMethod::Device);
        user.join().unwrap();
        result
    });
    result.expect("login succeeds under slow_down enforcement");
    let polls = device_polls(&proxy);
    let slow_downs = polls.iter().filter(|p| p.error().as_deref() == Some("slow_down")).count();
    assert_eq!(slow_downs, 0, "a client that honours the interval is never told to slow down: {polls:?}");
    assert!(polls.len() >= 3, "{polls:?}");
    let auth = proxy.seen().into_iter().find(|s| s.path == "/device/auth").unwrap();
    assert!(
        polls[0].at.duration_since(auth.at) >= Duration::from_millis(990),
        "first poll one interval after the code (RFC 8628 §3.4)"
    );
    for w in polls.windows(2) {
        assert!(w[1].at.duration_since(w[0].at) >= Duration::from_millis(990), "polls closer than the interval: {polls:?}");
    }
    assert!(client.get_token().is_ok());
}

#[test]
fn device_slow_down_raises_the_interval_and_the_login_still_succeeds() {
    if rerun_without_browser("device_slow_down_raises_the_interval_and_the_login_still_succeeds") {
        return;
    }
    // The IdP enforces a 2 s interval but the proxy advertises 1 s, so the client's second
    // poll is "too fast": the real server answers slow_down once (and its own interval
    // becomes 3 s). RFC 8628 §3.5: the client must add 5 s for this and every later poll.
    let idp = Idp::start_with(&[("IDP_SLOW_DOWN", "1"), ("IDP_DEVICE_INTERVAL", "2"), ("IDP_SLOW_DOWN_INCREMENT", "1")]);
    let proxy = Proxy::start_with(
        &idp.issuer,
        Box::new(|path, body| if path == "/device/auth" { body.replace("\"interval\":2", "\"interval\":1") } else { body }),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE));
    cfg.metadata = Some(proxy.metadata(&idp));
    let (mut client, approver) = client_with_approver(cfg, None, Browser::Follow("approve"));
    let started = Instant::now();
    let result = std::thread::scope(|s| {
        let user = s.spawn(|| {
            let slowed = wait_for(Duration::from_secs(10), || {
                device_polls(&proxy).iter().any(|p| p.error().as_deref() == Some("slow_down"))
            });
            assert!(slowed, "the setup must provoke one slow_down: {:?}", device_polls(&proxy));
            let code = approver.events.lock().unwrap().user_code.clone().unwrap();
            assert_eq!(idp.device(&code, "approve")["ok"], true);
        });
        let result = client.login(LoginMethod::Device);
        user.join().unwrap();
        result
    });
    result.expect("the login succeeds after slow_down");
    let polls = device_polls(&proxy);
    let errors: Vec<_> = polls.iter().map(|p| p.error().unwrap_or_else(|| "tokens".into())).collect();
    assert_eq!(errors, ["authorization_pending", "slow_down", "tokens"], "one slow_down, then patience");
    let gap = polls[2].at.duration_since(polls[1].at);
    assert!(gap >= Duration::from_millis(5_980), "after slow_down the interval is 1 + 5 s, the client waited {gap:?}");
    assert!(gap < Duration::from_millis(8_000), "and not much more: {gap:?}");
    eprintln!("slow_down: {} polls, gap after slow_down {:?}, login took {:?}", polls.len(), gap, started.elapsed());
}

#[test]
fn refresh_rotates_the_refresh_token_and_the_old_one_is_rejected() {
    if rerun_without_browser("refresh_rotates_the_refresh_token_and_the_old_one_is_rejected") {
        return;
    }
    let idp = Idp::start_with(&[("IDP_ACCESS_TOKEN_TTL", "2")]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE));
    cfg.refresh_skew_ms = 0; // renew at expiry exactly, to observe both sides of it
    let (mut client, approver) = client_with_approver(cfg, Some("approve"), Browser::Follow("approve"));
    client.login(LoginMethod::Device).expect("login");
    approver.join();
    let r1 = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    let (at1, rt1) =
        (r1["tokens"]["access_token"].as_str().unwrap().to_string(), r1["tokens"]["refresh_token"].as_str().unwrap().to_string());

    // Forced refresh: new access and refresh tokens, stored.
    let c2 = client.refresh().expect("refresh");
    let r2 = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    let (at2, rt2) =
        (r2["tokens"]["access_token"].as_str().unwrap().to_string(), r2["tokens"]["refresh_token"].as_str().unwrap().to_string());
    assert_eq!(c2.token.expose(), at2);
    assert_ne!(at2, at1);
    assert_ne!(rt2, rt1, "rotation: a new refresh token is stored");
    assert_eq!(r2["grant"], "device_code", "the grant of the record survives a refresh");
    assert!(r2["updated_at"].as_u64() > r1["updated_at"].as_u64());

    // Unexpired: get_token serves it as is.
    if now_ms() + 300 < r2["tokens"]["expires_at"].as_u64().unwrap() {
        assert_eq!(client.get_token().unwrap().expose(), at2);
    }
    // Expired: get_token renews it by itself.
    let exp2 = r2["tokens"]["expires_at"].as_u64().unwrap();
    assert!(wait_for(Duration::from_secs(5), || now_ms() > exp2));
    let at3 = client.get_token().expect("get_token after expiry refreshes").expose().to_string();
    let r3 = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    assert_ne!(at3, at2);
    assert_eq!(r3["tokens"]["access_token"], at3.as_str());
    assert_ne!(r3["tokens"]["refresh_token"], rt2.as_str());

    // The server rejects the rotated-out refresh token.
    let (status, body) = idp.raw_refresh(CLI_CLIENT, &rt1);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[test]
fn logout_revokes_at_the_server_and_deletes_locally() {
    if rerun_without_browser("logout_revokes_at_the_server_and_deletes_locally") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) = client_with_approver(
        config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)),
        Some("approve"),
        Browser::Follow("approve"),
    );
    client.login(LoginMethod::Device).expect("login");
    approver.join();
    let r = read_record(dir.path(), &idp.issuer, CLI_CLIENT);
    let (at, rt) =
        (r["tokens"]["access_token"].as_str().unwrap().to_string(), r["tokens"]["refresh_token"].as_str().unwrap().to_string());
    let before = idp.introspect(&at);
    assert_eq!(before["active"], true, "{before}");
    assert_eq!(before["client_id"], CLI_CLIENT);
    assert_eq!(before["sub"], "alice");

    let report = client.logout().expect("logout");
    assert!(report.removed && report.revoked, "{report:?}");
    assert_eq!(report.note, None);
    assert_eq!(idp.introspect(&at), serde_json::json!({"active": false}));
    assert_eq!(idp.introspect(&rt), serde_json::json!({"active": false}));
    assert_eq!(idp.raw_refresh(CLI_CLIENT, &rt).1["error"], "invalid_grant");
    assert!(json_files(dir.path()).is_empty());
    let err = client.get_token().unwrap_err();
    assert_eq!((err.code.as_str(), err.hint), ("not_logged_in", Hint::Reauthenticate));
    assert_eq!(client.status().unwrap().source, "none");
    // A second logout has nothing to do.
    let again = client.logout().unwrap();
    assert!(!again.removed && !again.revoked);
}

#[test]
fn offline_logout_deletes_locally_and_says_not_revoked() {
    if rerun_without_browser("offline_logout_deletes_locally_and_says_not_revoked") {
        return;
    }
    let mut idp = Idp::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) = client_with_approver(
        config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)),
        Some("approve"),
        Browser::Follow("approve"),
    );
    client.login(LoginMethod::Device).expect("login");
    approver.join();
    idp.stop(); // the server is gone (connection refused)
    let started = Instant::now();
    let report = client.logout().expect("offline logout still succeeds locally");
    assert!(report.removed, "{report:?}");
    assert!(!report.revoked, "{report:?}");
    let note = report.note.unwrap_or_default();
    assert!(note.contains("not revoked"), "the note says so: {note}");
    assert!(started.elapsed() < Duration::from_secs(10), "no long hang when the server is down");
    assert!(json_files(dir.path()).is_empty());
    assert_eq!(client.status().unwrap().source, "none");
}

/// The CLI without `--scope` against an OpenID Connect server (issue 13, item 2): it asks
/// for `openid offline_access` and says so, the approval logs in (it used to end "denied"),
/// and a scope remembered from a login to another client is not carried over.
#[test]
fn cli_device_login_without_scope_asks_for_openid_and_keeps_remembered_scopes_apart() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    // A login to another client, remembered with its scope.
    let first = run(
        cli_password_login(dir.path(), &idp.issuer, "termauth-password", &["--scope", "openid api:read"]),
        None,
        Duration::from_secs(30),
    );
    assert_eq!(first.code, 0, "{first:?}");
    let mut cmd = cli(dir.path());
    cmd.args(["login", "--device", "--issuer", &idp.issuer, "--client-id", CLI_CLIENT]);
    let started = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    let mut said = String::new();
    let code = loop {
        let line = lines.next().expect("the CLI shows a code");
        said.push_str(&line);
        said.push('\n');
        if let Some((_, code)) = line.split_once("enter the code: ") {
            break code.trim().to_string();
        }
    };
    assert!(said.contains("Asking for the scope \"openid offline_access\""), "{said}");
    assert!(!said.contains("api:read"), "the other client's scope was carried over: {said}");
    assert_eq!(idp.device(&code, "approve")["ok"], true);
    let rest: String = lines.collect::<Vec<_>>().join("\n"); // to the end: the CLI has exited
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{said}{rest}");
    assert!(rest.contains("Logged in as alice"), "{rest}");
    let status = cli_run(dir.path(), &idp.issuer, CLI_CLIENT, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.ok()).unwrap();
    assert!(status["scope"].as_str().unwrap().split(' ').any(|s| s == "offline_access"), "{status}");
}
