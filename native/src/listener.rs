//! The loopback redirect listener (RFC 8252 §7.3, §8.3): binds a loopback address only,
//! answers `GET` on the exact callback path, answers everything else with the session's
//! "not found" page, and hands the callback's connection back so the session's page can
//! be written to it. The pages are the session's (`termauth_core::texts`), escaped there.
//!
//! Any local program can connect to it (RFC 8252 §8.3), so it serves connections
//! concurrently: the thread in [`LoopbackListener::wait`] polls every connection without
//! blocking, up to [`MAX_CONNECTIONS`] at once, each given [`REQUEST_READ_MS`] and
//! [`MAX_REQUEST_HEAD`] bytes for its request head. Idle or trickling connections therefore
//! cannot delay the browser's redirect. A request is parsed only once its head is complete
//! and its request line is HTTP/1.x (RFC 9112 §2.2, §3); anything else is closed unanswered
//! and never reaches the session. The listener starts no thread; dropping it closes the
//! listening socket and every connection it still holds.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long one connection may take to send its request line and headers.
pub const REQUEST_READ_MS: u64 = 5_000;

/// The most a request head (request line and headers) may take.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Connections served at once; when one more arrives, the oldest is dropped.
pub const MAX_CONNECTIONS: usize = 64;

/// How long the listener sleeps when no connection had anything new.
const POLL: Duration = Duration::from_millis(10);

/// A bound loopback listener.
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
    not_found_html: String,
    /// Connections whose request head has not been handled yet, kept from one `wait` to
    /// the next.
    pending: Mutex<Vec<Pending>>,
}

impl std::fmt::Debug for LoopbackListener {
    // Not the pending requests: a redirect's query holds the authorization code.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackListener").field("port", &self.port).finish_non_exhaustive()
    }
}

/// An accepted connection and what it has sent so far.
struct Pending {
    stream: TcpStream,
    head: Vec<u8>,
    deadline: Instant,
}

/// Where a pending connection stands after reading what it has sent.
enum Progress {
    /// Its head is not complete yet.
    Waiting,
    /// Its head is complete and its request line is HTTP/1.x.
    Complete { method: String, target: String },
    /// Dropped: closed by the peer, past its deadline or its size, or not HTTP/1.x. It is
    /// closed unanswered (not with the 400 that RFC 9112 §3 suggests for a bad request
    /// line): it is no browser, and nothing of it reaches the session.
    Dropped,
}

/// What arrived on the listener. `Debug` hides the request target: its query holds the
/// authorization code and `state`.
pub enum Arrival {
    /// A GET on the callback path: its request target (`/callback?code=…`) and the
    /// connection to answer.
    Callback(String, TcpStream),
    /// Nothing before the deadline, or cancelled.
    Nothing,
}

impl std::fmt::Debug for Arrival {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arrival::Callback(target, _) => write!(f, "Callback({}?***)", target.split('?').next().unwrap_or("")),
            Arrival::Nothing => f.write_str("Nothing"),
        }
    }
}

impl LoopbackListener {
    /// Binds `host` (`127.0.0.1`, `[::1]`/`::1`, or `localhost` meaning 127.0.0.1) on `port`
    /// (0 = a random free port). `not_found_html` answers every other request.
    ///
    /// # Errors
    /// Why it could not bind (the OS error), or that the host is not a loopback address.
    pub fn bind(host: &str, port: u16, not_found_html: String) -> Result<Self, String> {
        let ip: IpAddr = match host.trim_start_matches('[').trim_end_matches(']') {
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            h => h.parse().map_err(|_| format!("`{h}` is not a loopback IP address"))?,
        };
        if !ip.is_loopback() {
            return Err("the redirect listener only binds loopback addresses (RFC 8252 §8.3)".into());
        }
        let listener = TcpListener::bind(SocketAddr::new(ip, port)).map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        Ok(LoopbackListener { listener, port, not_found_html, pending: Mutex::new(Vec::new()) })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for a GET on `redirect_uri`'s path until `until_ms` or until `cancelled()`
    /// says stop, serving every connection meanwhile: other requests get the not-found
    /// page (`/favicon.ico` included), incomplete or non-HTTP/1.x ones are dropped.
    pub fn wait(&self, redirect_uri: &str, until_ms: u64, cancelled: &dyn Fn() -> bool) -> Arrival {
        let path = url_path(redirect_uri);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if cancelled() || crate::driver::now_ms() >= until_ms {
                return Arrival::Nothing;
            }
            let mut busy = self.accept(&mut pending);
            let mut i = 0;
            while i < pending.len() {
                let before = pending[i].head.len();
                match pending[i].read() {
                    Progress::Waiting => {
                        busy |= pending[i].head.len() != before;
                        i += 1;
                        continue;
                    }
                    // Closed unanswered (dropping the stream closes it).
                    Progress::Dropped => drop(pending.swap_remove(i)),
                    Progress::Complete { method, target } => {
                        let stream = pending.swap_remove(i).stream;
                        if let Some(target) = self.route(&method, target, &stream, &path) {
                            return Arrival::Callback(target, stream);
                        }
                    }
                }
                busy = true;
            }
            if !busy {
                std::thread::sleep(POLL);
            }
        }
    }

    /// Accepts the connections waiting in the backlog (at most [`MAX_CONNECTIONS`] a
    /// round, so the connections already accepted are read too); whether there were any.
    fn accept(&self, pending: &mut Vec<Pending>) -> bool {
        for round in 0..MAX_CONNECTIONS {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // WouldBlock: none left. Another error (no file descriptors left, a
                // connection reset before it was accepted): the next round tries again.
                Err(_) => return round > 0,
            };
            // Accepted sockets do not inherit the listener's non-blocking mode everywhere
            // (they do not on Linux).
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            if pending.len() >= MAX_CONNECTIONS {
                // A flood: the oldest connection waits no more.
                if let Some(oldest) = (0..pending.len()).min_by_key(|&i| pending[i].deadline) {
                    pending.swap_remove(oldest);
                }
            }
            let deadline = Instant::now() + Duration::from_millis(REQUEST_READ_MS);
            pending.push(Pending { stream, head: Vec::new(), deadline });
        }
        true
    }

    /// Answers a complete request that is not the callback with the not-found page (404,
    /// or 405 for another method) and closes it; returns the callback's target.
    fn route(&self, method: &str, target: String, stream: &TcpStream, path: &str) -> Option<String> {
        // The answer is written in blocking mode, bounded: a peer that does not read
        // cannot hold the listener (the page is far smaller than a socket's send buffer).
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        if method == "GET" && target.split('?').next() == Some(path) {
            return Some(target);
        }
        respond(stream, if method == "GET" { 404 } else { 405 }, &self.not_found_html);
        None
    }
}

impl Pending {
    /// Reads what the peer has sent, without blocking, and says where the request stands.
    fn read(&mut self) -> Progress {
        let mut buf = [0u8; 4096];
        let before = self.head.len();
        let closed = loop {
            let room = MAX_REQUEST_HEAD - self.head.len();
            if room == 0 {
                break false;
            }
            let want = room.min(buf.len());
            match self.stream.read(&mut buf[..want]) {
                Ok(0) => break true,
                Ok(n) => self.head.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        if self.head.len() > before {
            match parse_head(&self.head) {
                Head::Request { method, target } => return Progress::Complete { method, target },
                Head::NotHttp1 => return Progress::Dropped,
                Head::Incomplete => {}
            }
        }
        // The head is not complete: a peer that closed (or reset) its side, filled the
        // 16 KiB or ran out of time will never complete it. What it sent is not parsed and
        // the connection is closed unanswered (RFC 9112 §8 lets a server close on an
        // incomplete request).
        if closed || self.head.len() >= MAX_REQUEST_HEAD || Instant::now() >= self.deadline {
            Progress::Dropped
        } else {
            Progress::Waiting
        }
    }
}

/// A request head read so far.
#[derive(Debug, PartialEq)]
enum Head {
    /// The empty line that ends the head has not arrived.
    Incomplete,
    /// A complete head whose request line is `method SP request-target SP HTTP/1.x`.
    Request { method: String, target: String },
    /// The request line is not an HTTP/1.x request line.
    NotHttp1,
}

/// Where `head` stands. The head is the request line and the header fields, each ended by
/// CRLF, then an empty line (RFC 9112 §2.1); a bare LF is taken as a line end and empty
/// lines before the request line are skipped (RFC 9112 §2.2). A request line that is
/// complete but not HTTP/1.x ends the matter at once, without waiting for the rest.
fn parse_head(head: &[u8]) -> Head {
    let mut request: Option<(String, String)> = None;
    let mut start = 0;
    for end in head.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i) {
        let line = &head[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        start = end + 1;
        match &request {
            None if line.is_empty() => {}
            None => match request_line(line) {
                Some(parsed) => request = Some(parsed),
                None => return Head::NotHttp1,
            },
            Some(_) if line.is_empty() => {
                let (method, target) = request.take().unwrap_or_default();
                return Head::Request { method, target };
            }
            Some(_) => {} // a header field line: nothing in it matters here
        }
    }
    Head::Incomplete
}

/// The method and request target of `request-line = method SP request-target SP
/// HTTP-version` (RFC 9112 §3), with a method that is a token (RFC 9110 §9.1, §5.6.2), a
/// target of visible ASCII characters, and the version `HTTP/1.` DIGIT (RFC 9112 §2.3).
/// `None` for anything else: an HTTP/0.9 `GET /path` without a version included.
fn request_line(line: &[u8]) -> Option<(String, String)> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let http1 = version.strip_prefix("HTTP/1.").is_some_and(|minor| minor.len() == 1 && minor.as_bytes()[0].is_ascii_digit());
    let valid = parts.next().is_none()
        && !method.is_empty()
        && method.chars().all(tchar)
        && !target.is_empty()
        && target.chars().all(|c| c.is_ascii_graphic())
        && http1;
    valid.then(|| (method.to_string(), target.to_string()))
}

/// The path of a redirect URI (`http://127.0.0.1:8400/callback` → `/callback`).
fn url_path(uri: &str) -> String {
    let rest = uri.split("://").nth(1).unwrap_or(uri);
    match rest.find('/') {
        Some(i) => rest[i..].split(['?', '#']).next().unwrap_or("/").to_string(),
        None => "/".to_string(),
    }
}

/// Writes an HTML page with this status and closes.
pub fn respond(mut stream: &TcpStream, status: u16, html: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_loopback() {
        assert!(LoopbackListener::bind("0.0.0.0", 0, String::new()).is_err());
        assert!(LoopbackListener::bind("example.com", 0, String::new()).is_err());
        assert!(LoopbackListener::bind("127.0.0.1", 0, String::new()).unwrap().port() > 0);
    }

    #[test]
    fn paths() {
        assert_eq!(url_path("http://127.0.0.1:8400/callback"), "/callback");
        assert_eq!(url_path("http://[::1]:1/a/b?x#y"), "/a/b");
        assert_eq!(url_path("http://127.0.0.1:8400"), "/");
    }

    #[test]
    fn a_head_that_fills_16_kib_or_is_cut_by_fin_is_dropped_unanswered() {
        let listener = LoopbackListener::bind("127.0.0.1", 0, "not found".into()).unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, listener.port()));
        let mut big = TcpStream::connect(addr).unwrap();
        let mut head = b"GET /callback?code=x&state=y HTTP/1.1\r\nX: ".to_vec();
        head.resize(MAX_REQUEST_HEAD + 100, b'a');
        let _ = big.write_all(&head); // the listener may close it before all is written
        let mut cut = TcpStream::connect(addr).unwrap();
        cut.write_all(b"GET /callback?code=x&state=y HTTP/1.1\r\nHost: a\r\n").unwrap();
        cut.shutdown(std::net::Shutdown::Write).unwrap();
        let until = crate::driver::now_ms() + 300;
        assert!(matches!(listener.wait("http://127.0.0.1/callback", until, &|| false), Arrival::Nothing));
        assert!(listener.pending.lock().unwrap().is_empty(), "both were dropped");
        for mut s in [big, cut] {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got); // a reset (unread bytes) is a close too
            assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
        }
    }

    #[test]
    fn a_head_is_parsed_only_when_complete_and_http1() {
        let request = |m: &str, t: &str| Head::Request { method: m.into(), target: t.into() };
        assert_eq!(parse_head(b"GET /callback?code=x HTTP/1.1\r\nHost: a\r\n\r\n"), request("GET", "/callback?code=x"));
        assert_eq!(parse_head(b"\r\nGET /cb HTTP/1.0\n\n"), request("GET", "/cb"), "bare LFs, a leading empty line");
        assert_eq!(parse_head(b"POST /cb HTTP/1.1\r\n\r\nbody"), request("POST", "/cb"));
        for incomplete in [&b""[..], b"GET /callback?code=x&state=y", b"GET /cb HTTP/1.1\r\n", b"GET /cb HTTP/1.1\r\nHost: a\r\n"]
        {
            assert_eq!(parse_head(incomplete), Head::Incomplete, "{:?}", String::from_utf8_lossy(incomplete));
        }
        for bad in [
            &b"GET /callback?code=x&state=y\r\n\r\n"[..],
            b"GET /callback?code=x&state=y\r\n",
            b"GET /cb HTTP/2.0\r\n\r\n",
            b"GET /cb HTTP/1.1 x\r\n\r\n",
            b"GET  /cb HTTP/1.1\r\n\r\n",
            b"G@T /cb HTTP/1.1\r\n\r\n",
            b"GET /c\x01b HTTP/1.1\r\n\r\n",
            b"\x00\x01\x02 garbage\r\n\r\n",
        ] {
            assert_eq!(parse_head(bad), Head::NotHttp1, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
