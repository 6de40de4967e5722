//! Credential helpers (issue 13, item 8) with the real clients: `git clone` through
//! `termauth setup-git`, `kubectl` with `termauth kube-credential` as its exec plugin, and
//! `cargo` with `termauth cargo-credential` as a registry's credential provider, each
//! against a small local server that requires the token termauth stored. docker's CLI
//! needs a daemon to reach a registry (none runs here): its helper is checked against the
//! docker-credential-helpers protocol. A tool that is not installed is reported and skipped.

mod common;

use common::{Idp, cli, read_record, run};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "pat-helper-0123456789";

/// An HTTP/1.1 server on 127.0.0.1 that answers each request with `answer(method, path,
/// authorization header)` and records the authorization headers it saw.
struct Server {
    port: u16,
    seen: Seen,
}

/// The requests a [`Server`] saw: path and `Authorization` header.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

type Answer = (u16, &'static str, Vec<u8>);

fn serve(answer: impl Fn(&str, &str, Option<&str>) -> Answer + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (log, answer) = (log.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
                    let (mut auth, mut length) = (None, 0usize);
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                        let (name, value) = h.split_once(':').unwrap_or((&h, ""));
                        match name.trim().to_ascii_lowercase().as_str() {
                            "authorization" => auth = Some(value.trim().to_string()),
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    let _ = reader.read_exact(&mut body);
                    log.lock().unwrap().push((path.clone(), auth.clone()));
                    let (status, content_type, body) = answer(&method, &path, auth.as_deref());
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
                        body.len(),
                        if status == 401 { "WWW-Authenticate: Basic realm=\"test\"\r\n" } else { "" }
                    );
                    if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server { port, seen }
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        eprintln!("{tool} is not installed here: its real-client test is skipped (the protocol is checked in termauth-core)");
    }
    found
}

/// A config dir with an API key stored for `https://as.example.com` / `cli`.
fn logged_in(dir: &Path) {
    let mut l = cli(dir);
    l.args(["login", "--with-token", "--issuer", "https://as.example.com", "--client-id", "cli"]);
    run(l, Some(&format!("{KEY}\n")), Duration::from_secs(10)).ok();
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// A program environment for a tool that runs termauth: its own HOME (git's --global
/// configuration), termauth's config dir, no keyring.
fn tool(program: &str, home: &Path, config: &Path) -> Command {
    let mut c = Command::new(program);
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("TERMAUTH_CONFIG_DIR", config)
        .env("TERMAUTH_NO_KEYRING", "1")
        .env_remove("TERMAUTH_TOKEN");
    c
}

#[test]
fn git_clone_through_setup_git() {
    if !have("git") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (home, config) = (work.path().join("home"), work.path().join("termauth"));
    std::fs::create_dir_all(&home).unwrap();
    logged_in(&config);
    // A bare repository served by git's "dumb" HTTP protocol: plain files.
    let origin = work.path().join("origin");
    let git = |dir: &Path, args: &[&str]| {
        let out = tool("git", &home, &config).current_dir(dir).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "-q", "-b", "main"]);
    std::fs::write(origin.join("README"), "hello from the protected server\n").unwrap();
    git(&origin, &["-c", "user.name=t", "-c", "user.email=t@example.com", "add", "README"]);
    git(&origin, &["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first"]);
    let bare: PathBuf = work.path().join("repo.git");
    git(work.path(), &["clone", "-q", "--bare", origin.to_str().unwrap(), bare.to_str().unwrap()]);
    git(&bare, &["update-server-info"]);
    let root = bare.clone();
    let server = serve(move |_, path, auth| {
        if auth != Some(basic("oauth2", KEY).as_str()) {
            return (401, "text/plain", b"token required".to_vec());
        }
        let file = path.split('?').next().unwrap().trim_start_matches("/repo.git/");
        match std::fs::read(root.join(file)) {
            Ok(bytes) if !file.contains("..") => (200, "application/octet-stream", bytes),
            _ => (404, "text/plain", b"not found".to_vec()),
        }
    });
    let url = format!("http://127.0.0.1:{}", server.port);

    // Without the helper: refused.
    let out = tool("git", &home, &config)
        .args(["clone", "-q", &format!("{url}/repo.git"), "denied"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "cloned without a token");

    let mut setup = cli(&config);
    setup.env("HOME", &home).env("GIT_CONFIG_NOSYSTEM", "1").args(["setup-git", "--host", &url]);
    let setup = run(setup, None, Duration::from_secs(10));
    assert!(setup.ok().is_empty() && setup.stderr.contains("git now asks termauth"), "{setup:?}");
    let helper = git(&home, &["config", "--global", "--get-all", &format!("credential.{url}.helper")]);
    assert!(helper.contains("git-credential") && helper.contains("--issuer") && !helper.contains(KEY), "{helper}");

    git(work.path(), &["clone", "-q", &format!("{url}/repo.git"), "cloned"]);
    let readme = std::fs::read_to_string(work.path().join("cloned/README")).unwrap();
    assert_eq!(readme, "hello from the protected server\n");
    assert!(server.seen.lock().unwrap().iter().any(|(_, a)| a.as_deref() == Some(basic("oauth2", KEY).as_str())));

    // Another server never gets the token, even from a helper configured for every host.
    let mut get = cli(&config);
    get.args(["git-credential", "get", "--for", &url]);
    let other = run(get, Some("protocol=https\nhost=evil.example.com\n\n"), Duration::from_secs(10));
    assert_eq!((other.code, other.stdout.as_str()), (0, ""), "{other:?}");
}

/// An HTTPS server (Python's http.server, a self-signed certificate from openssl: kubectl
/// runs exec plugins only for TLS connections) answering `/api` when the bearer token is
/// `token`. Returns the child, its port and the certificate's path.
fn https_api_server(dir: &Path, token: &str) -> Option<(std::process::Child, u16, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.to_str()?, "-out", cert.to_str()?])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("openssl could not make a test certificate: the kubectl test is skipped");
        return None;
    }
    let script = r#"
import http.server, ssl, sys
token = sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.headers.get("Authorization") == "Bearer " + token
        body = b'{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}' if ok else b'{"kind":"Status","code":401}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_port, flush=True)
s.serve_forever()
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, cert.to_str()?, key.to_str()?, token])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?).read_line(&mut line).ok()?;
    Some((child, line.trim().parse().ok()?, cert))
}

#[test]
fn kubectl_exec_plugin() {
    if !have("kubectl") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("termauth");
    logged_in(&config);
    let Some((mut server, port, cert)) = https_api_server(work.path(), KEY) else { return };
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority: {}\ncontexts:\n- name: local\n  context:\n    cluster: local\n    user: termauth\ncurrent-context: local\nusers:\n- name: termauth\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [kube-credential, --issuer, https://as.example.com, --client-id, cli]\n      interactiveMode: Never\n",
            cert.display(),
            common::BIN
        ),
    )
    .unwrap();
    let out = tool("kubectl", work.path(), &config)
        .args(["--kubeconfig", kubeconfig.to_str().unwrap(), "get", "--raw", "/api"])
        .output()
        .unwrap();
    let _ = server.kill();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("APIVersions"), "kubectl: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(KEY), "kubectl printed the token");
}

/// The helper renews a token that would expire within `--min-lifetime` before handing it
/// out (kubectl caches an ExecCredential until its expirationTimestamp).
#[test]
fn kube_credential_renews_within_the_minimum_lifetime() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let l = common::cli_password_login(dir.path(), &idp.issuer, "termauth-password", &["--scope", "openid offline_access"]);
    run(l, None, Duration::from_secs(20)).ok();
    // The stored token expires in 2 minutes (of a lifetime of an hour).
    let path = common::record_path(dir.path(), &idp.issuer, "termauth-password");
    let mut before = read_record(dir.path(), &idp.issuer, "termauth-password");
    let now = termauth::driver::now_ms();
    before["tokens"]["expires_at"] = (now + 120_000).into();
    before["updated_at"] = (now - 3_600_000).into();
    std::fs::write(&path, before.to_string()).unwrap();
    let exec = |min: &str| {
        let mut k = cli(dir.path());
        k.env(
            "KUBERNETES_EXEC_INFO",
            r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}"#,
        )
        .args(["kube-credential", "--min-lifetime", min]);
        let out: serde_json::Value = serde_json::from_str(&run(k, None, Duration::from_secs(20)).ok()).unwrap();
        out
    };
    let cached = exec("60");
    assert_eq!(cached["status"]["token"], before["tokens"]["access_token"], "valid for more than a minute: as stored");
    assert!(cached["status"]["expirationTimestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 20), "{cached}");
    let renewed = exec("300"); // it would expire within 5 minutes: renewed first
    assert_ne!(renewed["status"]["token"], before["tokens"]["access_token"], "{renewed}");
    // Expired and not renewable: the helper fails (exit 3) and writes nothing on stdout.
    let mut r = cli(dir.path());
    r.args(["logout"]);
    run(r, None, Duration::from_secs(20)).ok();
    let mut k = cli(dir.path());
    k.args(["kube-credential"]);
    let r = run(k, None, Duration::from_secs(20));
    assert_eq!((r.code, r.stdout.as_str()), (3, ""), "{r:?}");
}

#[test]
fn cargo_credential_provider() {
    if !have("cargo") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("termauth");
    logged_in(&config);
    let server = Arc::new(Mutex::new(0u16));
    let port_cell = server.clone();
    let s = serve(move |_, path, auth| {
        let port = *port_cell.lock().unwrap();
        if auth != Some(KEY) {
            return (401, "text/plain", b"token required".to_vec());
        }
        match path {
            "/index/config.json" => (
                200,
                "application/json",
                format!(r#"{{"dl":"http://127.0.0.1:{port}/dl","api":"http://127.0.0.1:{port}","auth-required":true}}"#)
                    .into_bytes(),
            ),
            _ => (404, "text/plain", b"no such crate".to_vec()),
        }
    });
    *server.lock().unwrap() = s.port;
    let project = work.path().join("project");
    std::fs::create_dir_all(project.join(".cargo")).unwrap();
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nsecret-crate = { version = \"1\", registry = \"mine\" }\n",
    )
    .unwrap();
    let index = format!("sparse+http://127.0.0.1:{}/index/", s.port);
    std::fs::write(
        project.join(".cargo/config.toml"),
        format!(
            "[registries.mine]\nindex = \"{index}\"\ncredential-provider = [\"{}\", \"cargo-credential\", \"--for\", \"http://127.0.0.1:{}\", \"--issuer\", \"https://as.example.com\", \"--client-id\", \"cli\"]\n",
            common::BIN,
            s.port
        ),
    )
    .unwrap();
    let out = tool("cargo", work.path(), &config)
        .env("CARGO_HOME", work.path().join("cargo-home"))
        .args(["generate-lockfile"])
        .current_dir(&project)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The crate does not exist; what matters is that cargo asked with termauth's token.
    let seen = s.seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|(p, a)| p.starts_with("/index/") && a.as_deref() == Some(KEY)),
        "cargo never sent the token: {seen:?}\n{stderr}"
    );
    assert!(!stderr.contains(KEY), "cargo printed the token: {stderr}");
}

#[test]
fn docker_credential_protocol() {
    // docker-credential-helpers: get/list/erase/store/version, for the pinned registry only.
    let dir = tempfile::tempdir().unwrap();
    logged_in(dir.path());
    let helper = |args: &[&str], input: Option<&str>| {
        let mut c = cli(dir.path());
        c.arg("docker-credential").args(args).args(["--for", "registry.example.com"]);
        run(c, input, Duration::from_secs(10))
    };
    let got: serde_json::Value = serde_json::from_str(&helper(&["get"], Some("https://registry.example.com\n")).ok()).unwrap();
    assert_eq!(got, serde_json::json!({"ServerURL": "https://registry.example.com", "Username": "oauth2", "Secret": KEY}));
    let other = helper(&["get"], Some("https://elsewhere.example.com\n"));
    assert_eq!((other.code, other.stdout.trim()), (1, "credentials not found in native keychain"), "{other:?}");
    let listed: serde_json::Value = serde_json::from_str(&helper(&["list"], None).ok()).unwrap();
    assert_eq!(listed, serde_json::json!({"https://registry.example.com": "oauth2"}));
    assert!(helper(&["version"], None).ok().starts_with("termauth "));
    assert_eq!(helper(&["erase"], Some("https://registry.example.com\n")).code, 0);
    let stored = helper(&["store"], Some(r#"{"ServerURL":"https://registry.example.com","Username":"u","Secret":"s"}"#));
    assert!(stored.code != 0 && stored.stderr.contains("termauth login"), "{stored:?}");
    // Hostile input: two lines, or far too much: refused, nothing on stdout.
    for input in ["https://registry.example.com\nsecond\n".to_string(), "x".repeat(200_000)] {
        let r = helper(&["get"], Some(&input));
        assert!(r.code != 0 && r.stdout.is_empty() && r.stderr.contains("[invalid_helper_request]"), "{r:?}");
    }
    let bad = helper(&["frob"], None);
    assert!(bad.code == 2 && bad.stderr.contains("get, store, erase, list or version"), "{bad:?}");
}

/// A helper's standard input is its tool's: the client secret is never read from it; kube's
/// `--for` refuses a cluster that is not the pinned one, or one kubectl does not name.
#[test]
fn helpers_refuse_what_would_misuse_their_input_or_token() {
    let dir = tempfile::tempdir().unwrap();
    logged_in(dir.path());
    let mut g = cli(dir.path());
    g.args(["git-credential", "get", "--for", "git.example.com", "--client-secret-stdin"]);
    let r = run(g, Some("protocol=https\nhost=git.example.com\n\n"), Duration::from_secs(10));
    assert!(r.code == 2 && r.stdout.is_empty() && r.stderr.contains("TERMAUTH_CLIENT_SECRET"), "{r:?}");
    for (info, code) in [
        (
            r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://evil.example.com"}}}"#,
            "[helper_wrong_server]",
        ),
        (r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#, "[helper_no_cluster_info]"),
    ] {
        let mut k = cli(dir.path());
        k.env("KUBERNETES_EXEC_INFO", info).args(["kube-credential", "--for", "k8s.example.com"]);
        let r = run(k, None, Duration::from_secs(10));
        assert!(r.code != 0 && r.stdout.is_empty() && r.stderr.contains(code) && !r.stderr.contains(KEY), "{r:?}");
    }
    let mut k = cli(dir.path());
    k.env(
        "KUBERNETES_EXEC_INFO",
        r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://k8s.example.com"}}}"#,
    )
    .args(["kube-credential", "--for", "k8s.example.com"]);
    let out: serde_json::Value = serde_json::from_str(&run(k, None, Duration::from_secs(10)).ok()).unwrap();
    assert_eq!(out["status"]["token"], KEY);
}
