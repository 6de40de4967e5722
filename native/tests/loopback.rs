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

/// A forged callback (another local process that guessed the port, a stale tab) sent to the
/// listener before the browser's: its `state` is not this login's, so it gets the failure
/// page, nothing is exchanged, and the login goes on to succeed with the real redirect.
fn forge_a_callback_first(redirect: &str) -> String {
    for forged in [
        tamper_state(redirect),
        set_query_param(redirect, "state", ""),
        set_query_param(&tamper_state(redirect), "error", "access_denied"),
    ] {
        let mut resp = agent().get(&forged).call().expect("GET the loopback listener");
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(resp.status().as_u16(), 400, "{body}");
        assert!(body.contains("does not belong to the current login"), "{body}");
    }
    redirect.to_string()
}

#[test]
fn browser_forged_state_is_refused_and_the_login_goes_on() {
    if rerun_without_browser("browser_forged_state_is_refused_and_the_login_goes_on") {
        return;
    }
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, approver) = client_with_approver(
        config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE)),
        None,
        Browser::Tamper(forge_a_callback_first),
    );
    client.login(LoginMethod::Browser).expect("the real redirect still logs in");
    approver.join();
    let (status, body) = approver.events.lock().unwrap().callback.clone().unwrap();
    assert!(status == 200 && body.contains("Login approved"), "{status}: {body}");
    assert_eq!(stored(dir.path()), 1);
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

// ------------------------------------------------------------------------------ a hostile neighbour
//
// RFC 8252 §8.3: any local program can connect to the loopback listener. Idle connections
// must not delay the browser's redirect (the listener serves connections concurrently),
// and a request whose head never completes, or whose request line is not HTTP/1.x
// (RFC 9112 §3), is dropped without being parsed: it cannot end the login.

/// What a local program does to the listener (at `addr`) before the browser's redirect
/// arrives; the connections it returns stay open until the redirect has been answered.
type Neighbour = fn(std::net::SocketAddr) -> Vec<std::net::TcpStream>;

/// What [`HostileThenBrowser`] saw.
#[derive(Default)]
struct Seen {
    /// The status and body the listener answered the real redirect with.
    callback: Option<(u16, String)>,
    /// From sending the real redirect to its page arriving.
    took: Option<Duration>,
    /// Why the browser's part failed.
    failed: Option<String>,
}

/// A `Ui` playing a local program and then the user's browser: on the authorization URL it
/// runs `neighbour` against the listener, approves at the IdP without following the
/// redirect, then sends the redirect to the listener itself and times the answer.
struct HostileThenBrowser {
    issuer: String,
    neighbour: Neighbour,
    cancel: termauth::driver::CancelFlag,
    seen: std::sync::Arc<std::sync::Mutex<Seen>>,
    thread: std::sync::Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// Cancels the login if the browser's thread panics (an assertion on what the listener
/// answered the neighbour), so the login does not wait for its redirect deadline.
struct CancelOnPanic(termauth::driver::CancelFlag);

impl Drop for CancelOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.cancel();
        }
    }
}

/// The listener's address in an authorization URL's `redirect_uri`.
fn listener_addr(auth_url: &str) -> std::net::SocketAddr {
    let encoded = auth_url.split(['?', '&']).find_map(|p| p.strip_prefix("redirect_uri=")).expect("redirect_uri");
    let uri = encoded.replace("%3A", ":").replace("%2F", "/");
    let host_port = uri.strip_prefix("http://").and_then(|r| r.split('/').next()).expect("a loopback http redirect_uri");
    host_port.parse().expect("an IP literal and a port")
}

/// `GET target` on `addr` as a browser would, with its own deadline: (status, body).
fn browser_get(addr: std::net::SocketAddr, target: &str, timeout: Duration) -> Result<(u16, String), String> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).map_err(|e| format!("no answer within {timeout:?}: {e}"))?;
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or(format!("not an HTTP answer: {answer:?}"))?;
    Ok((status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()))
}

impl termauth::ui::Ui for HostileThenBrowser {
    fn show_user_code(&mut self, _: &termauth::core::UserCodePrompt, _: &termauth::core::texts::Prompt) {}
    fn show_authorization_url(&mut self, url: &str, _: &termauth::core::texts::Prompt) {
        let (issuer, url, neighbour) = (self.issuer.clone(), url.to_string(), self.neighbour);
        let (cancel, seen) = (self.cancel.clone(), self.seen.clone());
        *self.thread.lock().unwrap() = Some(std::thread::spawn(move || {
            let _guard = CancelOnPanic(cancel.clone());
            let addr = listener_addr(&url);
            let held = neighbour(addr);
            let (status, v) = post_json(
                &format!("{issuer}/__test/authorize"),
                &serde_json::json!({"url": url, "action": "approve", "follow_redirect": false}),
            );
            let redirect = v["redirect"].as_str().filter(|_| status == 200).map(str::to_string);
            let answer = match redirect {
                Some(redirect) => {
                    let target = format!("/{}", redirect.splitn(4, '/').nth(3).unwrap_or_default());
                    let sent = std::time::Instant::now();
                    let answer = browser_get(addr, &target, Duration::from_secs(10));
                    seen.lock().unwrap().took = Some(sent.elapsed());
                    answer
                }
                None => Err(format!("approver failed ({status}): {v}")),
            };
            drop(held);
            let mut seen = seen.lock().unwrap();
            match answer {
                Ok(page) => seen.callback = Some(page),
                Err(why) => {
                    // The login would otherwise wait for its redirect deadline (minutes).
                    cancel.cancel();
                    seen.failed = Some(why);
                }
            }
        }));
    }
    fn progress(&mut self, _: u64, _: &termauth::core::session::Progress) {}
    fn notice(&mut self, _: termauth::core::session::NoticeLevel, _: &str) {}
    fn clear(&mut self) {}
}

/// A browser login whose listener first meets `neighbour`: the login must complete with the
/// real redirect, answered within 1 s of sending it (0.3-16 ms measured). Returns that time.
fn browser_login_beside(neighbour: Neighbour) -> Duration {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut client = termauth::Client::new(config(&idp.issuer, dir.path(), CLI_CLIENT, Some(SCOPE))).unwrap();
    let cancel = termauth::driver::CancelFlag::new();
    client.set_cancel_flag(cancel.clone());
    let ui = HostileThenBrowser {
        issuer: idp.issuer.clone(),
        neighbour,
        cancel,
        seen: Default::default(),
        thread: Default::default(),
    };
    let (seen, thread) = (ui.seen.clone(), ui.thread.clone());
    client.set_ui(Box::new(ui));
    let login = client.login(LoginMethod::Browser);
    if let Some(t) = thread.lock().unwrap().take() {
        t.join().expect("the browser thread panicked");
    }
    let seen = seen.lock().unwrap();
    let report = login.unwrap_or_else(|e| panic!("the login did not survive the neighbour: {e:?}; browser: {:?}", seen.failed));
    assert_eq!(report.method, "browser");
    let (status, body) = seen.callback.clone().unwrap_or_else(|| panic!("no page for the redirect: {:?}", seen.failed));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Login approved"), "{body}");
    assert_eq!(read_record(dir.path(), &idp.issuer, CLI_CLIENT)["grant"], "authorization_code");
    let took = seen.took.unwrap();
    assert!(
        took < Duration::from_secs(1),
        "the redirect was answered after {took:?}: the listener served connections one at a time"
    );
    took
}

/// Reads what the listener sends back on `stream` until it closes it (at most 3 s).
fn until_closed(mut stream: &std::net::TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut got);
    got
}

#[test]
fn browser_login_is_not_delayed_by_idle_connections() {
    if rerun_without_browser("browser_login_is_not_delayed_by_idle_connections") {
        return;
    }
    let took = browser_login_beside(|addr| {
        // Fifty connections that never send a byte, each allowed 5 s: served one after the
        // other they would hold the redirect for minutes.
        (0..50).map(|_| std::net::TcpStream::connect(addr).expect("connect")).collect()
    });
    eprintln!("with 50 idle connections open, the redirect was answered in {took:?}");
}

#[test]
fn browser_login_drops_a_half_sent_request_line() {
    if rerun_without_browser("browser_login_drops_a_half_sent_request_line") {
        return;
    }
    let took = browser_login_beside(|addr| {
        // No HTTP version and no line end, then FIN: the head never completed, so nothing
        // is parsed (parsed, its forged `state` would end the login with state_mismatch).
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /callback?code=x&state=y").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let got = until_closed(&s);
        assert!(got.is_empty(), "a half-sent request was answered: {:?}", String::from_utf8_lossy(&got));
        vec![s]
    });
    eprintln!("after a half-sent request line, the redirect was answered in {took:?}");
}

#[test]
fn browser_login_drops_a_request_line_without_http_version() {
    if rerun_without_browser("browser_login_drops_a_request_line_without_http_version") {
        return;
    }
    let took = browser_login_beside(|addr| {
        // A complete head whose request line has no HTTP-version (RFC 9112 §3): not HTTP/1.x,
        // so not a redirect.
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /callback?code=x&state=y\r\n\r\n").unwrap();
        let got = until_closed(&s);
        assert!(got.is_empty(), "a request without a version was answered: {:?}", String::from_utf8_lossy(&got));
        vec![s]
    });
    eprintln!("after a request line without a version, the redirect was answered in {took:?}");
}
