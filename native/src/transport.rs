//! HTTP transport for the flows: ureq with rustls and the platform's certificate
//! verifier, an overall deadline per request (30 s unless configured), `HTTPS_PROXY` /
//! `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY`, no redirects (an OAuth endpoint that
//! redirects a POST is misconfigured, and following it could send secrets elsewhere), and a
//! cap on the response size.

use std::sync::OnceLock;
use std::time::Duration;
use termauth_core::http::MAX_RESPONSE_BYTES;
use termauth_core::proxy::{ProxyEnv, proxy_for};
use termauth_core::{HttpRequest, HttpResponse, Input, Method, TransportErrorKind};

/// Sends the requests of a flow.
#[derive(Clone)]
pub struct Transport {
    direct: ureq::Agent,
    timeout: Duration,
    /// The proxy variables, read once; [`termauth_core::proxy::proxy_for`] decides per URL.
    proxy_env: ProxyEnv,
    /// The agent for the proxy, built on first use (or why it cannot be).
    proxied: OnceLock<Result<ureq::Agent, String>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The proxy URL may carry a password: only which variable set it.
        f.debug_struct("Transport").field("proxy", &self.proxy_env.proxy.as_ref().map(|(name, _)| name)).finish()
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

/// The overall deadline of a request unless configured ([`crate::Client::set_request_timeout`]):
/// 30 s, as in every termauth language.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for Transport {
    fn default() -> Self {
        Transport::new(DEFAULT_REQUEST_TIMEOUT)
    }
}

impl Transport {
    /// A transport whose every request must be over within `timeout` — connecting, sending,
    /// the response's headers and its body together (ureq's global timeout), so a server that
    /// trickles its answer or never answers gets a [`TransportErrorKind::Timeout`] when it
    /// passes. Proxies come from the environment (`HTTPS_PROXY`, `ALL_PROXY`, `HTTP_PROXY`,
    /// `NO_PROXY`: see [`termauth_core::proxy`]).
    pub fn new(timeout: Duration) -> Self {
        Transport {
            direct: agent(None, timeout),
            timeout,
            proxy_env: ProxyEnv::from_lookup(|name| std::env::var(name).ok()),
            proxied: OnceLock::new(),
        }
    }

    /// The agent for `req`'s URL: direct, through the proxy, or why neither.
    fn agent_for(&self, url: &str) -> Result<&ureq::Agent, String> {
        match proxy_for(url, &self.proxy_env) {
            Ok(None) => Ok(&self.direct),
            Ok(Some(proxy)) => self
                .proxied
                .get_or_init(|| {
                    // The core's `socks5` means the proxy resolves names: ureq calls that
                    // `socks5h` (its `socks5` resolves locally, like curl).
                    let url = match proxy.url.strip_prefix("socks5://") {
                        Some(rest) => format!("socks5h://{rest}"),
                        None => proxy.url,
                    };
                    // ureq's error would not say more than this, and the URL may hold a password.
                    ureq::Proxy::new(&url).map(|p| agent(Some(p), self.timeout)).map_err(|_| {
                        format!("{} is not a valid proxy URL; fix it, or list this host in NO_PROXY", proxy.variable)
                    })
                })
                .as_ref()
                .map_err(Clone::clone),
            Err(e) => Err(e.message),
        }
    }

    /// Sends `req` and returns the input to feed back to the flow.
    pub fn send(&self, req: &HttpRequest) -> Input {
        let agent = match self.agent_for(&req.url) {
            Ok(agent) => agent,
            Err(message) => return Input::TransportError { id: req.id, kind: TransportErrorKind::Other, message: Some(message) },
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
        // rustls's own errors reach ureq as I/O errors: a handshake with a server that answers
        // in plain HTTP fails as "received corrupt message of type InvalidContentType".
        ureq::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => TransportErrorKind::Tls,
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
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

/// The transport's options on the client.
impl crate::Client {
    /// Sets the overall deadline of each HTTP request (default
    /// [`DEFAULT_REQUEST_TIMEOUT`](crate::transport::DEFAULT_REQUEST_TIMEOUT), 30 s):
    /// connecting, sending, the response's headers and its body together. A server still
    /// answering when it passes (one that trickles its answer, or never answers) fails the
    /// command with a `transport` error (timed out, hint `retry_later`, exit code 4). The
    /// same option as npm's `timeoutMs`, Python's `timeout_ms`, Go's `RequestTimeout` and the
    /// C client's `request_timeout_ms`.
    ///
    /// ```no_run
    /// # use termauth::{Client, Config};
    /// let mut auth = Client::new(Config::new("mycli", "https://login.example.com", "mycli-public"))?;
    /// auth.set_request_timeout(std::time::Duration::from_secs(10))?;
    /// # Ok::<(), termauth::Error>(())
    /// ```
    ///
    /// # Errors
    /// A zero duration (`invalid_timeout`, a usage error), refused as the other languages
    /// refuse zero or a negative deadline; the deadline in place is kept.
    pub fn set_request_timeout(&mut self, timeout: Duration) -> Result<(), termauth_core::Error> {
        if timeout.is_zero() {
            return Err(termauth_core::Error::usage("invalid_timeout", "The request timeout must be a positive duration."));
        }
        self.transport = Transport::new(timeout);
        Ok(())
    }
}
