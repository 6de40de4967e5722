//! HTTP transport for the flows: ureq with rustls and the platform's certificate
//! verifier, timeouts, `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY`, no
//! redirects (an OAuth endpoint that redirects a POST is misconfigured, and following it
//! could send secrets elsewhere), and a cap on the response size.

use std::time::Duration;
use termauth_core::http::MAX_RESPONSE_BYTES;
use termauth_core::{HttpRequest, HttpResponse, Input, Method, TransportErrorKind};

/// Sends the requests of a flow.
#[derive(Clone)]
pub struct Transport {
    direct: ureq::Agent,
    proxied: Option<ureq::Agent>,
    no_proxy: Vec<String>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").field("proxied", &self.proxied.is_some()).finish()
    }
}

fn agent(proxy: Option<ureq::Proxy>, timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("termauth/", env!("CARGO_PKG_VERSION")))
        .proxy(proxy)
        .tls_config(tls)
        .build()
        .into()
}

fn env_any(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

impl Default for Transport {
    fn default() -> Self {
        Transport::new(Duration::from_secs(30))
    }
}

impl Transport {
    /// A transport with this overall per-request timeout, configured from the environment.
    pub fn new(timeout: Duration) -> Self {
        let proxy = env_any(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"])
            .and_then(|p| ureq::Proxy::new(&p).ok());
        let no_proxy = env_any(&["NO_PROXY", "no_proxy"])
            .map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        Transport { direct: agent(None, timeout), proxied: proxy.map(|p| agent(Some(p), timeout)), no_proxy }
    }

    /// True when `host` bypasses the proxy: loopback always, and `NO_PROXY` entries
    /// (`*`, exact names, `.suffix` or `suffix` domain matches).
    fn bypass(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.no_proxy.iter().any(|entry| {
            let entry = entry.split(':').next().unwrap_or(entry);
            entry == "*" || host == entry.trim_start_matches('.') || host.ends_with(&format!(".{}", entry.trim_start_matches('.')))
        })
    }

    /// Sends `req` and returns the input to feed back to the flow.
    pub fn send(&self, req: &HttpRequest) -> Input {
        let host = req.url.split("://").nth(1).and_then(|r| r.split(['/', '?']).next()).unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let host = if host.starts_with('[') { host.split(']').next().unwrap_or(host) } else { host.split(':').next().unwrap_or(host) };
        let agent = match &self.proxied {
            Some(p) if !self.bypass(host) => p,
            _ => &self.direct,
        };
        let result = match req.method {
            Method::Get => {
                let mut b = agent.get(&req.url);
                for (k, v) in &req.headers {
                    b = b.header(k, v);
                }
                b.call()
            }
            Method::Post => {
                let mut b = agent.post(&req.url);
                for (k, v) in &req.headers {
                    b = b.header(k, v);
                }
                b.send(req.body.as_bytes())
            }
        };
        match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                let body = match resp.body_mut().with_config().limit(MAX_RESPONSE_BYTES as u64 + 1).read_to_vec() {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    // Over the limit: hand the core an oversized body so it reports
                    // `response_too_large` in its own words.
                    Err(ureq::Error::BodyExceedsLimit(_)) => " ".repeat(MAX_RESPONSE_BYTES + 1),
                    Err(e) => return transport_error(req.id, &e),
                };
                Input::HttpResponse(HttpResponse { id: req.id, status, headers, body })
            }
            Err(e) => transport_error(req.id, &e),
        }
    }
}

fn transport_error(id: u64, e: &ureq::Error) -> Input {
    let kind = match e {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound => TransportErrorKind::Dns,
        ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => TransportErrorKind::Tls,
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
            ) =>
        {
            TransportErrorKind::Connect
        }
        // ureq resolves names with std's `to_socket_addrs`, whose getaddrinfo failure has no
        // ErrorKind of its own: only its text says it was the name lookup.
        ureq::Error::Io(io) if io.to_string().starts_with("failed to lookup address information") => TransportErrorKind::Dns,
        _ => TransportErrorKind::Other,
    };
    Input::TransportError { id, kind, message: Some(e.to_string()) }
}
