//! The loopback redirect listener (RFC 8252 §7.3, §8.3): binds a loopback address only,
//! answers `GET` on the exact callback path, answers everything else with the session's
//! "not found" page, and hands the callback's connection back so the session's page can
//! be written to it. The pages are the session's (`termauth_core::texts`), escaped there.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// How long one connection may take to send its request line and headers.
pub const REQUEST_READ_MS: u64 = 5_000;

/// A bound loopback listener.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
    not_found_html: String,
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
        Ok(LoopbackListener { listener, port, not_found_html })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for a GET on `redirect_uri`'s path until `until_ms` or until `cancelled()`
    /// says stop. Other requests get the not-found page (`/favicon.ico` included).
    pub fn wait(&self, redirect_uri: &str, until_ms: u64, cancelled: &dyn Fn() -> bool) -> Arrival {
        let path = url_path(redirect_uri);
        loop {
            if cancelled() || crate::driver::now_ms() >= until_ms {
                return Arrival::Nothing;
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(target) = self.read_request(&stream, &path) {
                        return Arrival::Callback(target, stream);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Reads one request; answers and returns `None` unless it is `GET <path>[?query]`.
    /// The whole request must arrive within [`REQUEST_READ_MS`] and 16 KiB, so a client
    /// that trickles bytes cannot hold the listener past its deadline.
    fn read_request(&self, stream: &TcpStream, path: &str) -> Option<String> {
        let _ = stream.set_nonblocking(false);
        let deadline = std::time::Instant::now() + Duration::from_millis(REQUEST_READ_MS);
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        let mut reader = stream;
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                return None;
            }
            match std::io::Read::read(&mut reader, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head);
        let line = text.lines().next().unwrap_or("");
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let target_path = target.split('?').next().unwrap_or("");
        if method == "GET" && target_path == path {
            return Some(target.to_string());
        }
        respond(stream, if method == "GET" { 404 } else { 405 }, &self.not_found_html);
        None
    }
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
}
