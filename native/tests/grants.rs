//! Machine and legacy grants, discovery, the environment token and the CLI's exit codes,
//! against the real test IdP: client credentials (Basic with a secret full of reserved
//! characters, and POST), the password grant, RFC 8414 discovery and its issuer check.

mod common;

use common::*;
use std::time::Duration;
use termauth::core::ErrorKind;
use termauth::{Client, Hint, LoginMethod, Secret, SecretMethod};

const BASIC_ID: &str = "termauth-ci-basic";
const BASIC_SECRET: &str = "s3cr3t:with/special+chars";
const POST_ID: &str = "termauth-ci-post";
const POST_SECRET: &str = "ci-post-secret";
const PASSWORD_ID: &str = "termauth-password";

// ------------------------------------------------------------------ client credentials

fn cli_client_credentials(client_id: &str, secret: &str, extra: &[&str]) {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut c = cli(dir.path());
    c.env("TERMAUTH_CLIENT_SECRET", secret)
        .args(["login", "--client-credentials", "--issuer", &idp.issuer, "--client-id", client_id, "--scope", "api:read"])
        .args(extra);
    run(c, None, Duration::from_secs(20)).ok();
    let mut t = cli(dir.path());
    t.arg("token");
    let token = run(t, None, Duration::from_secs(20)).ok();
    assert_eq!(read_record(dir.path(), &idp.issuer, client_id)["tokens"]["access_token"], token.as_str());
    let i = idp.introspect(&token);
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], client_id);
    assert_eq!(i["scope"], "api:read");
    let mut s = cli(dir.path());
    s.args(["status", "--json"]).env("TERMAUTH_CLIENT_SECRET", secret);
    let status: serde_json::Value = serde_json::from_str(&run(s, None, Duration::from_secs(20)).ok()).unwrap();
    assert_eq!(status["grant"], "client_credentials");
    assert_eq!(status["refreshable"], true, "renewable by running the grant again: {status}");
}

#[test]
fn cli_client_credentials_basic_with_special_characters() {
    cli_client_credentials(BASIC_ID, BASIC_SECRET, &[]);
}

#[test]
fn cli_client_credentials_post() {
    cli_client_credentials(POST_ID, POST_SECRET, &["--client-auth", "post"]);
}

#[test]
fn cli_client_credentials_secret_from_stdin() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut c = cli(dir.path());
    c.args(["login", "--client-credentials", "--client-secret-stdin", "--issuer", &idp.issuer, "--client-id", BASIC_ID]);
    run(c, Some(&format!("{BASIC_SECRET}\n")), Duration::from_secs(20)).ok();
    // No scope requested: the token has none (the IdP omits `scope`).
    let token = read_record(dir.path(), &idp.issuer, BASIC_ID)["tokens"]["access_token"].as_str().unwrap().to_string();
    assert_eq!(idp.introspect(&token)["active"], true);
}

#[test]
fn cli_client_credentials_wrong_secret_is_a_configuration_error() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut c = cli(dir.path());
    c.env("TERMAUTH_CLIENT_SECRET", "wrong").args([
        "login",
        "--client-credentials",
        "--issuer",
        &idp.issuer,
        "--client-id",
        BASIC_ID,
    ]);
    let r = run(c, None, Duration::from_secs(20));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("[invalid_client]"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong"), "the secret is never echoed: {}", r.stderr);
}

fn lib_client_credentials(client_id: &str, secret: &str, method: SecretMethod) {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&idp.issuer, dir.path(), client_id, Some("api:read api:write"));
    cfg.client_secret = Some(Secret::new(secret));
    cfg.secret_method = method;
    let mut client = common::silent_client(cfg);
    let report = client.login(LoginMethod::ClientCredentials).expect("client credentials");
    assert_eq!(report.method, "client_credentials");
    assert_eq!(report.scope.as_deref(), Some("api:read api:write"));
    let t1 = client.get_token().unwrap().expose().to_string();
    assert_eq!(idp.introspect(&t1)["client_id"], client_id);
    // Renewal of a client-credentials token runs the grant again.
    let c2 = client.refresh().expect("reacquire");
    assert_ne!(c2.token.expose(), t1);
    assert_eq!(idp.introspect(c2.token.expose())["active"], true);
    assert!(client.status().unwrap().refreshable);
}

#[test]
fn library_client_credentials_basic() {
    lib_client_credentials(BASIC_ID, BASIC_SECRET, SecretMethod::Basic);
}

#[test]
fn library_client_credentials_post() {
    lib_client_credentials(POST_ID, POST_SECRET, SecretMethod::Post);
}

// ------------------------------------------------------------------ password grant

fn password_client(scope: Option<&str>, enable: bool) -> (tempfile::TempDir, Client) {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&idp.issuer, dir.path(), PASSWORD_ID, scope);
    cfg.enable_password_grant = enable;
    let client = common::silent_client(cfg);
    (dir, client)
}

fn alice(password: &str) -> LoginMethod {
    LoginMethod::Password { username: "alice".into(), password: Secret::new(password) }
}

#[test]
fn password_grant_without_offline_access_has_no_refresh_token() {
    let (dir, mut client) = password_client(Some("openid"), true);
    let report = client.login(alice("wonderland")).expect("password login");
    assert_eq!(report.method, "password");
    let record = read_record(dir.path(), &Idp::shared().issuer, PASSWORD_ID);
    assert_eq!(record["grant"], "password");
    assert!(record["tokens"]["refresh_token"].is_null(), "{record}");
    let status = client.status().unwrap();
    assert!(!status.refreshable);
    let err = client.refresh().unwrap_err();
    assert_eq!((err.code.as_str(), err.hint), ("no_refresh_token", Hint::Reauthenticate));
    let token = client.get_token().unwrap();
    assert_eq!(Idp::shared().introspect(token.expose())["sub"], "alice");
}

#[test]
fn password_grant_with_offline_access_refreshes() {
    let (dir, mut client) = password_client(Some("openid offline_access"), true);
    client.login(alice("wonderland")).expect("password login");
    let r1 = read_record(dir.path(), &Idp::shared().issuer, PASSWORD_ID);
    assert!(r1["tokens"]["refresh_token"].is_string(), "{r1}");
    let c2 = client.refresh().expect("refresh");
    let r2 = read_record(dir.path(), &Idp::shared().issuer, PASSWORD_ID);
    assert_ne!(r2["tokens"]["refresh_token"], r1["tokens"]["refresh_token"]);
    assert_eq!(r2["grant"], "password");
    assert_eq!(c2.token.expose(), r2["tokens"]["access_token"].as_str().unwrap());
}

#[test]
fn password_grant_bad_password_is_invalid_grant() {
    let (dir, mut client) = password_client(None, true);
    let err = client.login(alice("looking-glass")).unwrap_err();
    assert_eq!(err.code, "invalid_grant", "{err:?}");
    assert_eq!(err.kind, ErrorKind::OAuth);
    assert!(!err.message.contains("looking-glass"));
    assert!(!record_path(dir.path(), &Idp::shared().issuer, PASSWORD_ID).exists());
}

#[test]
fn password_grant_must_be_enabled() {
    let (_dir, mut client) = password_client(None, false);
    let err = client.login(alice("wonderland")).unwrap_err();
    assert_eq!(err.code, "password_grant_disabled", "{err:?}");
}

#[test]
fn cli_password_grant() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let c = cli_password_login(dir.path(), &idp.issuer, PASSWORD_ID, &["--scope", "openid offline_access", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&run(c, None, Duration::from_secs(20)).ok()).unwrap();
    assert_eq!(report["method"], "password");
    // The password grant here returns no ID token: whoami says the server did not say.
    let mut w = cli(dir.path());
    w.arg("whoami");
    let w = run(w, None, Duration::from_secs(10));
    assert!(w.code == 0 && w.stdout.is_empty() && w.stderr.contains("did not say as whom"), "{w:?}");
    // Password from stdin, wrong: login required (exit 3).
    let mut bad = cli(dir.path());
    bad.args(["login", "--password", "--username", "alice", "--issuer", &idp.issuer, "--client-id", PASSWORD_ID]);
    let r = run(bad, Some("nope\n"), Duration::from_secs(20));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("[invalid_grant]"), "{}", r.stderr);
}

// ------------------------------------------------------------------ discovery

#[test]
fn discovery_finds_the_endpoints_from_the_issuer_alone() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut client = common::silent_client(config(&idp.issuer, dir.path(), common::CLI_CLIENT, None));
    let m = client.metadata().expect("discovery");
    let i = &idp.issuer;
    assert_eq!(m.issuer, *i);
    assert_eq!(m.token_endpoint.as_deref(), Some(format!("{i}/token").as_str()));
    assert_eq!(m.authorization_endpoint.as_deref(), Some(format!("{i}/auth").as_str()));
    assert_eq!(m.device_authorization_endpoint.as_deref(), Some(format!("{i}/device/auth").as_str()));
    assert_eq!(m.revocation_endpoint.as_deref(), Some(format!("{i}/token/revocation").as_str()));
    assert_eq!(m.introspection_endpoint.as_deref(), Some(format!("{i}/token/introspection").as_str()));
    assert!(m.authorization_response_iss_parameter_supported);
    // Cached on disk for the next process.
    let cached = std::fs::read_dir(dir.path().join("metadata")).unwrap().count();
    assert_eq!(cached, 1);
}

#[test]
fn discovery_with_a_trailing_slash_issuer_is_issuer_mismatch() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let wrong = format!("{}/", idp.issuer);
    let mut client = common::silent_client(config(&wrong, dir.path(), common::CLI_CLIENT, None));
    let err = client.metadata().unwrap_err();
    assert_eq!(err.code, "issuer_mismatch", "{err:?}");
    assert_eq!(err.hint, Hint::FixConfiguration);
    let err = client.login(LoginMethod::Device).unwrap_err();
    assert_eq!(err.code, "issuer_mismatch");
    // The CLI reports it as a configuration problem.
    let r = cli_run(dir.path(), &wrong, common::CLI_CLIENT, &["login", "--device"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("[issuer_mismatch]"), "{}", r.stderr);
}

// ------------------------------------------------------------------ env token, exit codes

#[test]
fn env_token_wins_when_configured() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut t = cli(dir.path());
    t.env("TERMAUTH_TOKEN", "abc").args(["token", "--issuer", &idp.issuer, "--client-id", common::CLI_CLIENT]);
    assert_eq!(run(t, None, Duration::from_secs(10)).ok(), "abc");
    let mut s = cli(dir.path());
    s.env("TERMAUTH_TOKEN", "abc").args(["status", "--json", "--issuer", &idp.issuer, "--client-id", common::CLI_CLIENT]);
    let status: serde_json::Value = serde_json::from_str(&run(s, None, Duration::from_secs(10)).ok()).unwrap();
    assert_eq!(status["source"], "env");
    assert_eq!(status["env_var"], "TERMAUTH_TOKEN");
}

#[test]
fn env_token_needs_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = cli(dir.path());
    t.env("TERMAUTH_TOKEN", "abc").arg("token");
    assert_eq!(run(t, None, Duration::from_secs(10)).ok(), "abc");
    let mut s = cli(dir.path());
    s.env("TERMAUTH_TOKEN", "abc").args(["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&run(s, None, Duration::from_secs(10)).ok()).unwrap();
    assert_eq!(status["source"], "env");
}

#[test]
fn cli_exit_codes() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    // Not logged in (issuer known): 3, login required.
    let r = cli_run(dir.path(), &idp.issuer, common::CLI_CLIENT, &["token"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("[not_logged_in]"));
    assert!(r.stdout.is_empty(), "nothing on stdout for $(termauth token)");
    let r = cli_run(dir.path(), &idp.issuer, common::CLI_CLIENT, &["status"]);
    assert_eq!(r.code, 3, "{r:?}");
    let r = cli_run(dir.path(), &idp.issuer, common::CLI_CLIENT, &["whoami"]);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""), "{r:?}");
    // After a login and a logout, with the remembered issuer: 3 again.
    let l = cli_password_login(dir.path(), &idp.issuer, PASSWORD_ID, &[]);
    run(l, None, Duration::from_secs(20)).ok();
    let mut o = cli(dir.path());
    o.arg("logout");
    let out = run(o, None, Duration::from_secs(20));
    out.ok();
    assert!(out.stderr.contains("revoked at the server"), "{}", out.stderr);
    let mut t = cli(dir.path());
    t.arg("token");
    assert_eq!(run(t, None, Duration::from_secs(20)).code, 3);
    // Usage errors: 2.
    for args in [&["token", "--bogus"][..], &["frobnicate"], &["login", "--device", "--browser"], &["login", "--port", "x"]] {
        let mut c = cli(dir.path());
        c.args(args);
        let r = run(c, None, Duration::from_secs(10));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains("[cli_usage]"), "{args:?}: {}", r.stderr);
    }
    // help: 0, on stdout.
    let mut h = cli(dir.path());
    h.arg("help");
    assert!(run(h, None, Duration::from_secs(10)).ok().contains("EXIT CODES"));
}

/// Issue 11: a secret on the command line is refused (exit 2), never used and never echoed,
/// with where it should come from and that it may be in the shell history; bad names and
/// identifiers are refused before anything is stored.
#[test]
fn cli_refuses_secrets_on_the_command_line_and_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2-0123456789";
    for (args, instead) in [
        (vec!["login", "--with-token=SECRET"], "standard input"),
        (vec!["login", "--with-token", "SECRET"], "standard input"),
        (vec!["login", "--password=SECRET", "--username", "alice"], "TERMAUTH_PASSWORD"),
        (vec!["login", "--password", "--username", "alice", "SECRET"], "TERMAUTH_PASSWORD"),
        (vec!["login", "--client-credentials", "--client-secret=SECRET"], "TERMAUTH_CLIENT_SECRET"),
        (vec!["login", "--client-credentials", "--client-secret", "SECRET"], "TERMAUTH_CLIENT_SECRET"),
        // The secret before the command becomes the command; after another command, a stray.
        (vec!["--password", "SECRET", "login", "--username", "alice"], "TERMAUTH_PASSWORD"),
        (vec!["--with-token", "SECRET", "login"], "standard input"),
        (vec!["token", "--with-token", "SECRET"], "standard input"),
        (vec!["logout", "--password", "SECRET"], "TERMAUTH_PASSWORD"),
    ] {
        let args: Vec<String> = args.iter().map(|a| a.replace("SECRET", secret)).collect();
        let mut c = cli(dir.path());
        c.args(&args).args(["--issuer", "https://as.example.com", "--client-id", "cli"]);
        let r = run(c, Some("from-stdin\n"), Duration::from_secs(10));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains("[secret_on_command_line]") && r.stderr.contains(instead), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("shell history"), "{}", r.stderr);
        assert!(!r.stderr.contains(secret) && !r.stdout.contains(secret), "{args:?} echoed the secret: {}", r.stderr);
        assert!(!dir.path().join("credentials").exists(), "{args:?} stored something");
    }
    for (args, code, exit) in [
        (vec!["login", "--insecure-http=false", "--device"], "[cli_usage]", 2),
        (vec!["status", "stray"], "[cli_usage]", 2),
        (vec!["frob\u{1b}[2J"], "[cli_usage]", 2),
        (
            vec!["login", "--with-token", "--issuer", "https://user:hunter2@as.example.com", "--client-id", "cli"],
            "[invalid_issuer]",
            5,
        ),
        (vec!["login", "--with-token", "--app", "../../x"], "[invalid_app]", 2),
        (vec!["login", "--with-token", "--issuer", "", "--client-id", "cli"], "[invalid_issuer]", 5),
        (vec!["login", "--with-token", "--issuer", "https://as.example.com", "--client-id", ""], "[invalid_client_id]", 5),
        (
            vec!["login", "--with-token", "--issuer", "https://as.example.com/\u{1b}]0;x\u{7}", "--client-id", "cli"],
            "[invalid_issuer]",
            5,
        ),
        (
            vec!["login", "--device", "--issuer", "https://as.example.com", "--client-id", "cli", "--resource", "not a uri"],
            "[invalid_resource]",
            5,
        ),
        (
            vec!["login", "--device", "--issuer", "ftp://user:hunter2@as.example.com", "--client-id", "cli"],
            "[insecure_endpoint]",
            5,
        ),
    ] {
        let mut c = cli(dir.path());
        c.args(&args);
        let r = run(c, Some("pat-123\n"), Duration::from_secs(10));
        assert_eq!(r.code, exit, "{args:?}: {r:?}");
        assert!(r.stderr.contains(code), "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("hunter2") && !r.stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?}: {:?}",
            r.stderr
        );
        assert!(!dir.path().join("credentials").exists(), "{args:?} stored something");
    }
    // <APP>_TOKEN with a line break: refused, never printed.
    let mut c = cli(dir.path());
    c.env("TERMAUTH_TOKEN", "tok\r\nX-Injected: 1").arg("token");
    let r = run(c, None, Duration::from_secs(10));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("[invalid_env_token]") && !r.stderr.contains("Injected") && r.stdout.is_empty(), "{r:?}");
}

#[test]
fn cli_token_on_a_fresh_machine_is_login_required() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = cli(dir.path());
    t.arg("token");
    let r = run(t, None, Duration::from_secs(10));
    assert_eq!(r.code, 3, "{r:?}");
}

#[test]
fn cli_api_key_is_stored_printed_and_forgotten() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut l = cli(dir.path());
    l.args(["login", "--with-token", "--header", "X-API-Key", "--issuer", &idp.issuer, "--client-id", common::CLI_CLIENT]);
    run(l, Some("  key-123  \n"), Duration::from_secs(10)).ok();
    let mut t = cli(dir.path());
    t.arg("token");
    assert_eq!(run(t, None, Duration::from_secs(10)).ok(), "key-123");
    let mut s = cli(dir.path());
    s.args(["status", "--show-token"]);
    assert!(run(s, None, Duration::from_secs(10)).ok().ends_with("\ntoken:     key-123"), "status --show-token");
    let mut s = cli(dir.path());
    s.args(["status", "--json", "--show-token"]);
    let v: serde_json::Value = serde_json::from_str(&run(s, None, Duration::from_secs(10)).ok()).unwrap();
    assert_eq!((v["token"].as_str(), v.get("problem")), (Some("key-123"), None), "{v}");
    let mut s = cli(dir.path());
    s.arg("status");
    assert!(!run(s, None, Duration::from_secs(10)).ok().contains("key-123"), "no token without --show-token");
    let record = read_record(dir.path(), &idp.issuer, common::CLI_CLIENT);
    assert_eq!(record["kind"], "api_key");
    assert_eq!(record["presentation"], serde_json::json!({"scheme": "header", "name": "X-API-Key", "prefix": ""}));
    let mut r = cli(dir.path());
    r.arg("refresh");
    let r = run(r, None, Duration::from_secs(10));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("[not_refreshable]"));
    let mut o = cli(dir.path());
    o.args(["logout", "--json"]);
    let out: serde_json::Value = serde_json::from_str(&run(o, None, Duration::from_secs(10)).ok()).unwrap();
    assert_eq!((out["removed"].as_bool(), out["revoked"].as_bool()), (Some(true), Some(false)));
    assert!(out["note"].as_str().unwrap().contains("still valid at the server"));
}

// ------------------------------------------------------------------ login without a method

#[test]
fn cli_auto_in_ci_uses_client_credentials_or_names_the_variables() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    // CI and a secret: the client credentials grant, no prompt.
    let mut c = cli(dir.path());
    c.env("CI", "true").env("TERMAUTH_CLIENT_SECRET", BASIC_SECRET).args([
        "login",
        "--issuer",
        &idp.issuer,
        "--client-id",
        BASIC_ID,
        "--scope",
        "api:read",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&run(c, None, Duration::from_secs(20)).ok()).unwrap();
    assert_eq!(report["method"], "client_credentials", "{report}");
    // CI without one: refused before any request (exit 5, a configuration problem), naming
    // what to set.
    let dir = tempfile::tempdir().unwrap();
    let mut c = cli(dir.path());
    c.env("CI", "1").args(["login", "--issuer", "http://127.0.0.1:9/unreachable", "--client-id", BASIC_ID]);
    let r = run(c, None, Duration::from_secs(20));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("Set TERMAUTH_TOKEN to a token, or TERMAUTH_CLIENT_SECRET for client credentials."),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[ci_needs_credentials]"), "{}", r.stderr);
}

// ------------------------------------------------------------------ drift fixed in the session

/// `termauth refresh` whose renewal the server refuses used to print "could not renew …
/// using the current one", then "Token renewed", and exit 0, keeping the dead refresh
/// token. An explicit refresh now fails (login required) and forgets that refresh token;
/// `token` still serves the access token while it is valid.
#[test]
fn cli_refresh_refused_by_the_server_fails_and_drops_the_refresh_token() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let c = cli_password_login(dir.path(), &idp.issuer, PASSWORD_ID, &["--scope", "openid offline_access"]);
    run(c, None, Duration::from_secs(20)).ok();
    let record = read_record(dir.path(), &idp.issuer, PASSWORD_ID);
    let (access, refresh) = (record["tokens"]["access_token"].clone(), record["tokens"]["refresh_token"].clone());
    // The server forgets the grant (RFC 7009 revocation of the refresh token).
    let revocation = idp.metadata().revocation_endpoint.expect("revocation endpoint");
    let (status, v) = post_form(&revocation, &[("token", refresh.as_str().unwrap()), ("client_id", PASSWORD_ID)], None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(idp.raw_refresh(PASSWORD_ID, refresh.as_str().unwrap()).1["error"], "invalid_grant");

    let mut r = cli(dir.path());
    r.arg("refresh");
    let r = run(r, None, Duration::from_secs(20));
    assert_eq!(r.code, 3, "login required: {r:?}");
    assert!(r.stderr.contains("[login_required]") && r.stderr.contains("termauth login"), "{}", r.stderr);
    assert!(!r.stderr.contains("Token renewed") && !r.stderr.contains("using the current one"), "{}", r.stderr);
    let after = read_record(dir.path(), &idp.issuer, PASSWORD_ID);
    assert!(after["tokens"].get("refresh_token").is_none(), "the dead refresh token is dropped: {after}");
    assert_eq!(after["tokens"]["access_token"], access, "the access token is kept");
    let mut t = cli(dir.path());
    t.arg("token");
    assert_eq!(run(t, None, Duration::from_secs(10)).ok(), access.as_str().unwrap(), "still served while valid");
    // status for scripts (issue 13): 0 while the access token serves, then 3 with why.
    let mut s = cli(dir.path());
    s.arg("status");
    let s = run(s, None, Duration::from_secs(10));
    assert!(s.ok().contains("renewable: no"), "{s:?}");
    expire_record(dir.path(), &idp.issuer, PASSWORD_ID);
    let mut s = cli(dir.path());
    s.arg("status");
    let s = run(s, None, Duration::from_secs(10));
    assert_eq!(s.code, 3, "expired and not renewable: {s:?}");
    assert!(s.stdout.contains("next:      relogin") && s.stdout.contains("problem:   "), "{}", s.stdout);
    assert!(s.stderr.contains("[login_required]"), "{}", s.stderr);
    let mut j = cli(dir.path());
    j.args(["status", "--json"]);
    let j = run(j, None, Duration::from_secs(10));
    assert_eq!(j.code, 3, "{j:?}");
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["problem"]["code"], "login_required", "{v}");
}

/// The app name is upper-cased with Unicode's rules in every language: `straße` reads
/// `STRASSE_TOKEN` (Rust used to read `STRAßE_TOKEN`).
#[test]
fn app_names_are_upper_cased_with_unicode_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = cli(dir.path());
    t.env("TERMAUTH_APP", "straße").env("STRASSE_TOKEN", "from-env").arg("token");
    assert_eq!(run(t, None, Duration::from_secs(10)).ok(), "from-env");
}

/// `-v` and `TERMAUTH_DEBUG=1` (issue 13, item 6): every HTTP exchange on stderr, for
/// diagnosing a server, and never a password, token or client secret in it.
#[test]
fn cli_verbose_trace_shows_the_exchanges_and_no_secret() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let c = cli_password_login(dir.path(), &idp.issuer, PASSWORD_ID, &["--scope", "openid offline_access", "-v"]);
    let login = run(c, None, Duration::from_secs(20));
    login.ok();
    let record = read_record(dir.path(), &idp.issuer, PASSWORD_ID);
    let secrets: Vec<String> = ["access_token", "refresh_token", "id_token"]
        .iter()
        .filter_map(|k| record["tokens"][k].as_str().map(str::to_string))
        .chain(["wonderland".to_string()])
        .collect();
    assert!(login.stderr.contains("-> POST ") && login.stderr.contains("<- 200"), "{}", login.stderr);
    assert!(login.stderr.contains("grant_type=password") && login.stderr.contains("password=[redacted]"), "{}", login.stderr);
    for secret in &secrets {
        assert!(!login.stderr.contains(secret.as_str()), "the trace shows a secret: {}", login.stderr);
    }
    // TERMAUTH_DEBUG=1 on a renewal: the refresh exchange, the new tokens redacted.
    expire_record(dir.path(), &idp.issuer, PASSWORD_ID);
    let mut t = cli(dir.path());
    t.env("TERMAUTH_DEBUG", "1").arg("token");
    let token = run(t, None, Duration::from_secs(20));
    let fresh = token.ok();
    assert!(token.stderr.contains("grant_type=refresh_token&refresh_token=[redacted]"), "{}", token.stderr);
    for secret in secrets.iter().chain([&fresh]) {
        assert!(!token.stderr.contains(secret.as_str()), "the trace shows a secret: {}", token.stderr);
    }
    // Without either, nothing of the kind.
    let mut q = cli(dir.path());
    q.arg("token");
    assert!(!run(q, None, Duration::from_secs(20)).stderr.contains("-> "));
}

/// `token --scope` (issue 13, item 2): a token limited to a scope within the login's grant,
/// got by a refresh (RFC 6749 §6) — the server says so when introspected — while the stored
/// token stays the login's; a scope the login was not granted is refused with what to do
/// (exit 5), never answered with a token that lacks it. (`--resource` is the same refresh
/// with RFC 8707's parameter: the session vector token_for_resource.)
#[test]
fn cli_token_for_a_narrower_scope() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let login = run(
        cli_password_login(dir.path(), &idp.issuer, "termauth-password", &["--scope", "openid offline_access"]),
        None,
        Duration::from_secs(30),
    );
    assert_eq!(login.code, 0, "{login:?}");
    let stored = cli_run(dir.path(), &idp.issuer, "termauth-password", &["token"]).ok();
    assert_eq!(idp.introspect(&stored)["scope"], "openid offline_access");
    let narrow = cli_run(dir.path(), &idp.issuer, "termauth-password", &["token", "--scope", "openid"]).ok();
    assert_ne!(narrow, stored);
    let seen = idp.introspect(&narrow);
    assert_eq!((seen["active"].as_bool(), seen["scope"].as_str()), (Some(true), Some("openid")), "{seen}");
    assert_eq!(cli_run(dir.path(), &idp.issuer, "termauth-password", &["token"]).ok(), stored, "the stored token is the login's");
    let beyond = cli_run(dir.path(), &idp.issuer, "termauth-password", &["token", "--scope", "api:admin"]);
    assert_eq!(beyond.code, 5, "{beyond:?}");
    assert!(
        beyond.stderr.contains("`api:admin` was not granted") && beyond.stderr.contains("[scope_not_granted]"),
        "{}",
        beyond.stderr
    );
    assert!(beyond.stdout.is_empty(), "no token without the scope: {}", beyond.stdout);
}
