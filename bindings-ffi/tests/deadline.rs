//! The C client's `request_timeout_ms` (`termauth_client_new`): the overall deadline of an
//! HTTP request. A peer on 127.0.0.1 that trickles its headers, or its body, one byte every
//! 200 ms forever, or never answers: a client-credentials login (discovery first) fails with
//! `TERMAUTH_STATUS_TRANSPORT`, kind `transport`, timed out, exit code 4, within the
//! deadline and a margin. Bad values are refused.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use termauth_ffi::*;

const TRICKLE: Duration = Duration::from_millis(200);

/// A server that never completes a response: `headers`, `body` or `silent`.
struct SlowPeer {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
}

impl SlowPeer {
    fn start(mode: &'static str) -> SlowPeer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (stop2, connections2) = (stop.clone(), connections.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                connections2.lock().unwrap().push(conn.try_clone().unwrap());
                let stop = stop2.clone();
                thread::spawn(move || {
                    let payload: Box<dyn Iterator<Item = Vec<u8>>> = match mode {
                        "headers" => Box::new(
                            b"HTTP/1.1 200 OK\r\nX-Trickle: ".iter().map(|b| vec![*b]).chain(std::iter::repeat(b"a".to_vec())),
                        ),
                        "body" => Box::new(
                            std::iter::once(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec())
                                .chain(std::iter::repeat(b" ".to_vec())),
                        ),
                        _ => Box::new(std::iter::empty()),
                    };
                    for chunk in payload {
                        if stop.load(Ordering::SeqCst) || conn.write_all(&chunk).is_err() {
                            return;
                        }
                        thread::sleep(TRICKLE);
                    }
                    while !stop.load(Ordering::SeqCst) {
                        thread::sleep(TRICKLE);
                    }
                });
            }
        });
        SlowPeer { port, stop, connections }
    }
}

impl Drop for SlowPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for c in self.connections.lock().unwrap().iter() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn view(s: termauth_str) -> String {
    if s.data.is_null() {
        return String::new();
    }
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(s.data.cast::<u8>(), s.len) }).into_owned()
}

fn new_client(config: &str) -> Result<*mut termauth_client, *mut termauth_error> {
    let (mut client, mut err) = (ptr::null_mut(), ptr::null_mut());
    let status = unsafe { termauth_client_new(config.as_ptr(), config.len(), &mut client, &mut err) };
    if status == termauth_status::TERMAUTH_STATUS_OK { Ok(client) } else { Err(err) }
}

#[test]
fn request_timeout_ms_bounds_the_whole_request() {
    for mode in ["headers", "body", "silent"] {
        let peer = SlowPeer::start(mode);
        let dir = std::env::temp_dir().join(format!("termauth-ffi-deadline-{}-{mode}", std::process::id()));
        let config = serde_json::json!({
            "app": "tadeadline", "issuer": format!("http://127.0.0.1:{}", peer.port), "client_id": "deadline",
            "client_secret": "s", "store": "file", "config_dir": dir, "ui": "silent", "request_timeout_ms": 1500,
        })
        .to_string();
        let client = new_client(&config).unwrap_or_else(|_| panic!("client_new"));
        let (mut report, mut err) = (ptr::null_mut(), ptr::null_mut());
        let start = Instant::now();
        let status = unsafe {
            termauth_client_login(client, termauth_login_method::TERMAUTH_LOGIN_CLIENT_CREDENTIALS as u32, &mut report, &mut err)
        };
        let elapsed = start.elapsed();
        let (kind, code, message) =
            unsafe { (view(termauth_error_kind(err)), view(termauth_error_code(err)), view(termauth_error_message(err))) };
        println!("C termauth_client_new request_timeout_ms 1500, peer {mode}: {code} after {:.2} s", elapsed.as_secs_f64());
        assert_eq!(status, termauth_status::TERMAUTH_STATUS_TRANSPORT, "{message}");
        assert_eq!((kind.as_str(), code.as_str()), ("transport", "transport_error"));
        assert!(message.contains("timed out"), "{message}");
        assert_eq!(unsafe { termauth_error_exit_code(err) }, 4);
        assert!(elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_millis(3500), "{elapsed:?}");
        unsafe {
            termauth_error_free(err);
            termauth_client_free(client);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn request_timeout_ms_must_be_a_positive_whole_number() {
    for bad in ["0", "-1", "1.5", "\"30\"", "true", "null"] {
        let config = format!(r#"{{"app":"x","issuer":"https://as.example","client_id":"c","request_timeout_ms":{bad}}}"#);
        let err = new_client(&config).map(|c| unsafe { termauth_client_free(c) }).expect_err(bad);
        let (code, message) = unsafe { (view(termauth_error_code(err)), view(termauth_error_message(err))) };
        assert_eq!(code, "invalid_timeout", "{bad}");
        assert!(message.contains("request_timeout_ms"), "{message}");
        unsafe { termauth_error_free(err) };
    }
    let good = r#"{"app":"x","issuer":"https://as.example","client_id":"c","request_timeout_ms":60000}"#;
    unsafe { termauth_client_free(new_client(good).unwrap_or_else(|_| panic!("a good request_timeout_ms"))) };
}
