//! The loopback redirect listener (RFC 8252 §7.3, §8.3): binds a loopback address only,
//! answers `GET` on the exact callback path, ignores everything else (404), serves one
//! small page that HTML-escapes what it shows, and stops after one callback.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;
use termauth_core::{Error, Hint};

/// How long one connection may take to send its request line and headers.
pub const REQUEST_READ_MS: u64 = 5_000;

/// A bound loopback listener.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    host: String,
    port: u16,
}

/// What arrived on the listener. `Debug` hides the request target: its query holds the
/// authorization code and `state`.
pub enum Arrival {
    /// A GET on the callback path: its request target (`/callback?code=…`).
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

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl LoopbackListener {
    /// Binds `host` (`127.0.0.1`, `[::1]`/`::1`, or `localhost` meaning 127.0.0.1) on `port`
    /// (0 = a random free port).
    ///
    /// # Errors
    /// `listener_bind` when the port is taken or the host is not a loopback address.
    pub fn bind(host: &str, port: u16) -> Result<Self, Error> {
        let ip: IpAddr = match host.trim_start_matches('[').trim_end_matches(']') {
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            h => h.parse().map_err(|_| Error::usage("listener_bind", format!("`{h}` is not a loopback IP address.")))?,
        };
        if !ip.is_loopback() {
            return Err(Error::usage("listener_bind", "The redirect listener only binds loopback addresses (RFC 8252 §8.3)."));
        }
        let listener = TcpListener::bind(SocketAddr::new(ip, port)).map_err(|e| {
            Error::usage(
                "listener_bind",
                format!("Could not listen on {host}:{port} for the browser's redirect ({e}). Choose another port with --port, or use --device."),
            )
            .with_hint(Hint::FixConfiguration)
        })?;
        listener.set_nonblocking(true).map_err(|e| Error::usage("listener_bind", e.to_string()))?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        Ok(LoopbackListener { listener, host: host.to_string(), port })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host it was bound with.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Waits for a GET on `path` until `until_ms` or until `cancelled()` says stop.
    /// Other requests get a 404 (and `/favicon.ico` the same, silently).
    pub fn wait(&self, path: &str, until_ms: u64, cancelled: &dyn Fn() -> bool) -> Arrival {
        loop {
            if cancelled() || crate::store::now_ms() >= until_ms {
                return Arrival::Nothing;
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(target) = read_request(&stream, path) {
                        return Arrival::Callback(target, stream);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// Reads one request; answers and returns `None` unless it is `GET <path>[?query]`.
/// The whole request must arrive within [`REQUEST_READ_MS`] and 16 KiB, so a client that
/// trickles bytes cannot hold the single-threaded listener past its deadline.
fn read_request(stream: &TcpStream, path: &str) -> Option<String> {
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
    let status = if method == "GET" { "404 Not Found" } else { "405 Method Not Allowed" };
    respond(stream, status, "Not found", "This address only receives the login redirect.");
    None
}

/// Writes a small HTML page (everything shown is escaped) and closes.
pub fn respond(mut stream: &TcpStream, status: &str, title: &str, message: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:4em auto;max-width:36em;line-height:1.5}}</style>\
         </head><body><h1>{t}</h1><p>{m}</p></body></html>",
        t = html_escape(title),
        m = html_escape(message)
    );
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(html_escape("<script>\"x\"&'"), "&lt;script&gt;&quot;x&quot;&amp;&#39;");
    }

    #[test]
    fn refuses_non_loopback() {
        assert_eq!(LoopbackListener::bind("0.0.0.0", 0).unwrap_err().code, "listener_bind");
        assert!(LoopbackListener::bind("127.0.0.1", 0).unwrap().port() > 0);
    }
}
