//! The overall deadline of an HTTP request (connect, sending, the response's headers and its
//! body together), set with `Client::set_request_timeout`: a peer on 127.0.0.1 that trickles
//! the headers one byte every 200 ms forever, one that sends whole headers and then trickles
//! a 100000-byte body, and one that accepts the connection and never answers. Each gives the
//! transport error every language gives (kind `transport`, timed out, exit code 4) within
//! the deadline and a margin.

mod common;

use common::*;
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use termauth::Hint;
use termauth::core::ErrorKind;

const DEADLINE: Duration = Duration::from_millis(1500);
const MARGIN: Duration = Duration::from_secs(2);
const TRICKLE: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Trickles the response's headers, one byte every 200 ms, forever.
    Headers,
    /// Whole headers (Content-Length: 100000), then the body one byte every 200 ms.
    Body,
    /// Accepts the connection and never answers.
    Silent,
}

/// A server on 127.0.0.1 (std sockets, a thread per connection) that never completes a
/// response. Stopped on drop.
struct SlowPeer {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
}

impl SlowPeer {
    fn start(mode: Mode) -> SlowPeer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (stop2, connections2) = (stop.clone(), connections.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                connections2.lock().unwrap().push(conn.try_clone().unwrap());
                let stop = stop2.clone();
                thread::spawn(move || serve(conn, mode, &stop));
            }
        });
        SlowPeer { port, stop, connections }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn serve(mut conn: TcpStream, mode: Mode, stop: &AtomicBool) {
    let payload: Box<dyn Iterator<Item = Vec<u8>>> = match mode {
        Mode::Headers => Box::new(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Trickle: "
                .iter()
                .map(|b| vec![*b])
                .chain(std::iter::repeat(b"a".to_vec())),
        ),
        Mode::Body => Box::new(
            std::iter::once(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n".to_vec())
                .chain(std::iter::repeat(b" ".to_vec())),
        ),
        Mode::Silent => Box::new(std::iter::empty()),
    };
    for chunk in payload {
        if stop.load(Ordering::SeqCst) || conn.write_all(&chunk).is_err() {
            return; // stopped, or the client hung up
        }
        thread::sleep(TRICKLE);
    }
    while !stop.load(Ordering::SeqCst) {
        thread::sleep(TRICKLE); // silent: the connection stays open, unanswered
    }
}

impl Drop for SlowPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
        for c in self.connections.lock().unwrap().iter() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Discovery against the peer (the simplest request the public API makes) fails with the
/// transport error, a timeout, within the deadline and the margin.
fn times_out(mode: Mode) {
    let peer = SlowPeer::start(mode);
    let dir = tempfile::tempdir().unwrap();
    let mut client = silent_client(config(&peer.issuer(), dir.path(), "deadline", None));
    client.set_request_timeout(DEADLINE).unwrap();
    let start = Instant::now();
    let err = client.metadata().expect_err("a peer that never completes its answer");
    let elapsed = start.elapsed();
    println!("Rust Client::set_request_timeout(1.5 s), peer {mode:?}: {} after {:.2} s", err.code, elapsed.as_secs_f64());
    assert_eq!(err.kind, ErrorKind::Transport, "{err:?}");
    assert_eq!(err.code, "transport_error");
    assert_eq!(err.hint, Hint::RetryLater);
    assert!(err.message.contains("timed out"), "{}", err.message);
    assert_eq!(err.exit_code(), 4);
    assert!(elapsed >= DEADLINE - Duration::from_millis(100) && elapsed < DEADLINE + MARGIN, "{elapsed:?}");
}

#[test]
fn a_server_trickling_its_headers_times_out_at_the_deadline() {
    times_out(Mode::Headers);
}

#[test]
fn a_server_trickling_its_body_times_out_at_the_deadline() {
    times_out(Mode::Body);
}

#[test]
fn a_server_that_never_answers_times_out_at_the_deadline() {
    times_out(Mode::Silent);
}

#[test]
fn the_default_deadline_is_30_seconds() {
    assert_eq!(termauth::transport::DEFAULT_REQUEST_TIMEOUT, Duration::from_secs(30));
}

#[test]
fn a_zero_deadline_is_refused_and_the_one_in_place_kept() {
    let peer = SlowPeer::start(Mode::Silent);
    let dir = tempfile::tempdir().unwrap();
    let mut client = silent_client(config(&peer.issuer(), dir.path(), "deadline", None));
    client.set_request_timeout(DEADLINE).unwrap();
    let err = client.set_request_timeout(Duration::ZERO).expect_err("a zero deadline");
    assert_eq!(err.kind, ErrorKind::Usage, "{err:?}");
    assert_eq!(err.code, "invalid_timeout");
    assert_eq!(err.hint, Hint::FixConfiguration);
    assert_eq!(err.message, "The request timeout must be a positive duration.");
    assert_eq!(err.exit_code(), 5);
    // The 1.5 s set before still bounds a request.
    let start = Instant::now();
    let err = client.metadata().expect_err("a peer that never answers");
    assert_eq!(err.code, "transport_error", "{err:?}");
    assert!(start.elapsed() < DEADLINE + MARGIN, "{:?}", start.elapsed());
}
