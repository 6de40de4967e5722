//! The OS keyring store (Secret Service on Linux).
//!
//! The fallback tests run everywhere (they point the CLI at a D-Bus address where nothing
//! listens). The real keyring test is `#[ignore]`d: it needs an unlocked Secret Service on
//! the session bus. Run it with `native/tests/run-keyring-test.sh`, which starts a private
//! D-Bus session and gnome-keyring-daemon for it.
#![cfg(all(any(feature = "keyring", feature = "keyring-libdbus"), target_os = "linux"))]

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;
use termauth::store::{StorePreference, server_key};
use termauth::{LoginMethod, Secret};

const PASSWORD_ID: &str = "termauth-password";
const NO_BUS: &str = "unix:path=/nonexistent/termauth-test-bus";

fn login_cli(dir: &Path, extra: &[&str]) -> Run {
    let mut c = cli(dir);
    c.env_remove("TERMAUTH_NO_KEYRING").env("DBUS_SESSION_BUS_ADDRESS", NO_BUS).env("TERMAUTH_PASSWORD", "wonderland").args([
        "login",
        "--password",
        "--username",
        "alice",
        "--issuer",
        &Idp::shared().issuer,
        "--client-id",
        PASSWORD_ID,
    ]);
    c.args(extra);
    run(c, None, Duration::from_secs(20))
}

#[test]
fn no_keyring_falls_back_to_the_file_store_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let r = login_cli(dir.path(), &[]);
    r.ok();
    assert!(r.stderr.contains("warning: credential stored in"), "{}", r.stderr);
    assert!(r.stderr.contains("not encrypted") && r.stderr.contains("keyring"), "the reason is given: {}", r.stderr);
    let record = record_path(dir.path(), &Idp::shared().issuer, PASSWORD_ID);
    assert!(record.exists());
    let mut s = cli(dir.path());
    s.env_remove("TERMAUTH_NO_KEYRING").env("DBUS_SESSION_BUS_ADDRESS", NO_BUS).args(["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&run(s, None, Duration::from_secs(20)).ok()).unwrap();
    assert_eq!(status["store"]["store"], "file");
}

#[test]
fn keyring_only_without_a_keyring_fails_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = login_cli(dir.path(), &["--store", "keyring"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("[keyring_unavailable]"), "{}", r.stderr);
    let stored: Vec<_> = std::fs::read_dir(dir.path().join("credentials"))
        .map(|it| it.flatten().map(|e| e.file_name()).filter(|n| !n.to_string_lossy().ends_with(".lock")).collect())
        .unwrap_or_default();
    assert!(stored.is_empty(), "{stored:?}");
}

#[test]
#[ignore = "needs an unlocked Secret Service on the session bus: run native/tests/run-keyring-test.sh"]
fn keyring_login_stores_the_secret_in_the_keyring_only() {
    assert!(std::env::var_os("TERMAUTH_NO_KEYRING").is_none(), "unset TERMAUTH_NO_KEYRING for this test");
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = format!("tatest-keyring-{}", std::process::id());
    let mut cfg = config(&idp.issuer, dir.path(), PASSWORD_ID, Some("openid offline_access"));
    cfg.app = app.clone();
    cfg.store = StorePreference::Keyring; // fail rather than fall back
    cfg.enable_password_grant = true;
    let mut client = common::silent_client(cfg.clone());
    let report = client
        .login(LoginMethod::Password { username: "alice".into(), password: Secret::new("wonderland") })
        .expect("login into the keyring");
    assert_eq!(report.store.store, termauth::StoreKind::Keyring, "{:?}", report.store);

    let stem = format!("default@{}", server_key(&idp.issuer, PASSWORD_ID));
    let creds = dir.path().join("credentials");
    let pointer_path = creds.join(format!("{stem}.keyring"));
    let pointer: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&pointer_path).unwrap()).unwrap();
    assert_eq!(pointer["store"], "keyring");
    assert_eq!(pointer["service"], format!("termauth:{app}"));
    assert_eq!(pointer["account"], stem.as_str());
    assert!(!creds.join(format!("{stem}.json")).exists(), "no file record");

    // The secret is in the keyring, under the documented service and account ...
    let entry = keyring::Entry::new(&format!("termauth:{app}"), &stem).unwrap();
    let in_keyring: serde_json::Value = serde_json::from_str(&entry.get_password().expect("keyring entry")).unwrap();
    let access = in_keyring["tokens"]["access_token"].as_str().unwrap().to_string();
    let refresh = in_keyring["tokens"]["refresh_token"].as_str().unwrap().to_string();
    // ... and in no file.
    for f in walk(dir.path()) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(!text.contains(&access) && !text.contains(&refresh), "{} holds a secret", f.display());
    }

    // Read back, by this client and by a new one; status says keyring.
    assert_eq!(client.get_token().unwrap().expose(), access);
    let mut again = common::silent_client(cfg.clone());
    assert_eq!(again.get_token().unwrap().expose(), access);
    assert_eq!(again.status().unwrap().store.map(|s| s.store), Some(termauth::StoreKind::Keyring));
    assert_eq!(idp.introspect(&access)["active"], true);
    // A refresh stays in the keyring.
    let renewed = again.refresh().expect("refresh");
    assert!(!creds.join(format!("{stem}.json")).exists());
    let in_keyring: serde_json::Value = serde_json::from_str(&entry.get_password().unwrap()).unwrap();
    assert_eq!(in_keyring["tokens"]["access_token"], renewed.token.expose());

    // Logout removes the entry and the pointer.
    let out = again.logout().unwrap();
    assert!(out.removed && out.revoked, "{out:?}");
    assert!(!pointer_path.exists());
    assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)), "the keyring entry is gone");
}

#[test]
#[ignore = "needs an unlocked Secret Service on the session bus: run native/tests/run-keyring-test.sh"]
fn keyring_is_the_default_store_of_the_cli() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = format!("tatest-keyring-cli-{}", std::process::id());
    let with_keyring = |args: &[&str]| {
        let mut c = cli(dir.path());
        // With --app, the config dir comes from <APP>_CONFIG_DIR, not TERMAUTH_CONFIG_DIR.
        let var = format!("{}_CONFIG_DIR", app.to_ascii_uppercase().replace('-', "_"));
        c.env_remove("TERMAUTH_NO_KEYRING")
            .env(var, dir.path())
            .env("TERMAUTH_PASSWORD", "wonderland")
            .args(["--app", &app])
            .args(args);
        run(c, None, Duration::from_secs(20))
    };
    let r = with_keyring(&["login", "--password", "--username", "alice", "--issuer", &idp.issuer, "--client-id", PASSWORD_ID]);
    r.ok();
    assert!(!r.stderr.contains("warning"), "no fallback warning: {}", r.stderr);
    let status: serde_json::Value = serde_json::from_str(&with_keyring(&["status", "--json"]).ok()).unwrap();
    assert_eq!(status["store"]["store"], "keyring", "{status}");
    let token = with_keyring(&["token"]).ok();
    assert_eq!(idp.introspect(&token)["active"], true);
    with_keyring(&["logout"]).ok();
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
