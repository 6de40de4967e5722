//! Which proxy a request goes through, from the proxy environment variables: one rule for
//! the Rust transport and the npm package (Python and Go use their standard libraries'
//! environment handling). The driver reads the variables and sends; this only decides.
//!
//! * The proxy is the first of [`PROXY_VARIABLES`] that is set and not blank, for every
//!   URL (a CLI talks to one authorization server; curl's per-scheme split buys nothing
//!   here). A value without a scheme is `http://`. Schemes: `http`, `https`, `socks5`
//!   (`socks5h` is the same: with either, the proxy resolves the host name, as an HTTP
//!   proxy does, so names only the proxy's network knows work and nothing leaks to local
//!   DNS).
//! * Loopback hosts never go through it (`localhost`, `*.localhost`, `127.0.0.0/8`,
//!   `[::1]`: the core's own definition, [`uri::is_loopback_host`]): a proxy would carry the
//!   secrets of a local login to another machine.
//! * `NO_PROXY` (or `no_proxy`): comma- or space-separated entries; `*` for every host; a
//!   host name or IP address; `.example.com` or `*.example.com` for a domain and its
//!   subdomains (a bare `example.com` also matches its subdomains, like curl). A `:port` on
//!   an entry is ignored; IPv6 entries may be bracketed. CIDR ranges are not supported.
//!
//! ```
//! use termauth_core::proxy::{ProxyEnv, proxy_for};
//! let env = ProxyEnv::from_lookup(|name| match name {
//!     "HTTPS_PROXY" => Some("proxy.corp:3128".to_string()),
//!     "NO_PROXY" => Some(".internal".to_string()),
//!     _ => None,
//! });
//! let proxy = proxy_for("https://login.example.com/token", &env).unwrap().unwrap();
//! assert_eq!((proxy.url.as_str(), proxy.variable), ("http://proxy.corp:3128", "HTTPS_PROXY"));
//! assert!(proxy_for("https://sso.internal/token", &env).unwrap().is_none());
//! assert!(proxy_for("http://127.0.0.1:8080/token", &env).unwrap().is_none());
//! ```

use crate::error::Error;
use crate::uri;
use serde::Serialize;

/// The variables naming the proxy, in the order they are consulted.
pub const PROXY_VARIABLES: [&str; 6] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"];

/// The variables listing the hosts that go direct, in the order they are consulted.
pub const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// The proxy settings the driver read from its environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// The first proxy variable set (its name and trimmed value).
    pub proxy: Option<(&'static str, String)>,
    /// The value of the first no-proxy variable set.
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// Reads the variables through `lookup` (`std::env::var(name).ok()`, or a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&name| lookup(name).map(|v| (name, v.trim().to_string())).filter(|(_, v)| !v.is_empty()))
        };
        ProxyEnv { proxy: first(&PROXY_VARIABLES), no_proxy: first(&NO_PROXY_VARIABLES).map(|(_, v)| v) }
    }
}

/// The proxy a request goes through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proxy {
    /// The proxy URL, with its scheme (`http://`, `https://` or `socks5://`, the proxy
    /// resolving host names). It may carry credentials (`http://user:password@host:port`):
    /// never print it.
    pub url: String,
    /// The variable it came from (for messages).
    pub variable: &'static str,
}

/// The proxy for a request to `url`, or `None` to connect directly.
///
/// # Errors
/// `unsupported_proxy` (usage) when the proxy variable holds a scheme other than `http`,
/// `https` or `socks5`: the request is not sent rather than sent around the proxy. The
/// message names the variable, never its value (it may hold a password).
pub fn proxy_for(url: &str, env: &ProxyEnv) -> Result<Option<Proxy>, Error> {
    let Some((variable, value)) = &env.proxy else { return Ok(None) };
    // A URL the core cannot parse was refused before any request was made; go direct.
    let Ok(parsed) = uri::parse(url) else { return Ok(None) };
    let Some(host) = parsed.host() else { return Ok(None) };
    if uri::is_loopback_host(&host) || no_proxy_matches(parsed.host_str().unwrap_or(""), env.no_proxy.as_deref().unwrap_or("")) {
        return Ok(None);
    }
    let (scheme, rest) = value.split_once("://").unwrap_or(("http", value));
    let scheme = scheme.to_ascii_lowercase();
    let canonical = match scheme.as_str() {
        "http" | "https" | "socks5" => scheme.as_str(),
        "socks5h" => "socks5",
        _ => "",
    };
    if canonical.is_empty() {
        // Quote the scheme only when it is one (RFC 3986 §3.1): whatever precedes `://` in a
        // malformed value may be a password (found by fuzzing).
        let is_scheme = scheme.len() <= 16
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        let what = if is_scheme {
            format!("a proxy with the scheme `{scheme}`")
        } else {
            "something that is not a proxy URL".to_string()
        };
        return Err(Error::usage(
            "unsupported_proxy",
            format!(
                "{variable} names {what}; termauth can use http, https and socks5 proxies. Fix {variable}, or list this host in NO_PROXY."
            ),
        ));
    }
    Ok(Some(Proxy { url: format!("{canonical}://{rest}"), variable }))
}

/// Whether a `NO_PROXY` value names `host`, as a URL from [`uri::parse`] writes it (a
/// lowercase name, dotted-decimal IPv4, or RFC 5952 IPv6 in brackets).
fn no_proxy_matches(host: &str, no_proxy: &str) -> bool {
    let host = host.trim_end_matches('.').trim_start_matches('[').trim_end_matches(']');
    no_proxy.split([',', ' ', '\t']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        let entry = entry.to_ascii_lowercase();
        let name = entry_host(&entry);
        if name == "*" {
            return true;
        }
        let domain = name.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.');
        !domain.is_empty() && (host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.')))
    })
}

/// The host part of a `NO_PROXY` entry: `[v6]:port` → `v6`, `v6` (two or more `:`) as is,
/// `name:port` → `name`.
fn entry_host(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    if entry.matches(':').count() >= 2 {
        return entry;
    }
    entry.split(':').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    fn via(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        proxy_for(url, &env(vars)).unwrap().map(|p| p.url)
    }

    #[test]
    fn the_first_variable_set_wins_for_every_url() {
        let vars = [("http_proxy", "http://h:1"), ("ALL_PROXY", "socks5://s:2"), ("https_proxy", "  ")];
        assert_eq!(via("https://as.example/", &vars).as_deref(), Some("socks5://s:2"));
        assert_eq!(via("http://as.example/", &vars).as_deref(), Some("socks5://s:2"));
        assert_eq!(via("https://as.example/", &[("HTTP_PROXY", "proxy:3128")]).as_deref(), Some("http://proxy:3128"));
        assert_eq!(via("https://as.example/", &[("HTTP_PROXY", "SOCKS5H://proxy:1080")]).as_deref(), Some("socks5://proxy:1080"));
        assert_eq!(via("https://as.example/", &[]), None);
        let p = proxy_for("https://as.example/", &env(&[("HTTPS_PROXY", "https://u:p@proxy:443\n")])).unwrap().unwrap();
        assert_eq!((p.url.as_str(), p.variable), ("https://u:p@proxy:443", "HTTPS_PROXY"));
    }

    #[test]
    fn loopback_never_goes_through_a_proxy() {
        let vars = [("HTTPS_PROXY", "http://p:1")];
        for url in [
            "http://127.0.0.1:9/x",
            "http://127.8.9.10/",
            "http://localhost:1/",
            "http://LOCALHOST/",
            "http://app.localhost:8080/",
            "http://[::1]:5/",
        ] {
            assert_eq!(via(url, &vars), None, "{url}");
        }
        assert!(via("http://127.example/", &vars).is_some());
    }

    #[test]
    fn no_proxy_entries() {
        let vars = [
            ("HTTPS_PROXY", "p:1"),
            ("NO_PROXY", " .internal, exact.example:8443 *.corp.example [2001:db8::5]:443,2001:db8::6,::1,10.0.0.7"),
        ];
        for url in [
            "https://internal/",
            "https://a.b.internal/",
            "https://exact.example/",
            "https://sub.exact.example/",
            "https://x.corp.example/",
            "https://corp.example/",
            "https://[2001:db8::5]/",
            "https://[2001:db8::6]:8443/",
            "https://10.0.0.7/",
        ] {
            assert_eq!(via(url, &vars), None, "{url}");
        }
        for url in [
            "https://notinternal/",
            "https://internal.evil/",
            "https://exact.example.org/",
            "https://example.com./",
            "https://[2001:db8::7]/",
            "https://10.0.0.70/",
        ] {
            assert!(via(url, &vars).is_some(), "{url}");
        }
        assert_eq!(via("https://any.example/", &[("HTTPS_PROXY", "p:1"), ("no_proxy", "*")]), None);
        assert_eq!(via("https://any.example/", &[("HTTPS_PROXY", "p:1"), ("NO_PROXY", "*:443")]), None);
        // NO_PROXY wins over no_proxy.
        assert!(via("https://any.example/", &[("HTTPS_PROXY", "p:1"), ("NO_PROXY", "other"), ("no_proxy", "*")]).is_some());
    }

    #[test]
    fn unsupported_schemes_are_refused_without_quoting_the_value() {
        let e = proxy_for("https://as.example/", &env(&[("ALL_PROXY", "ftp://user:hunter2@p:21")])).unwrap_err();
        assert_eq!(e.code, "unsupported_proxy");
        assert!(
            e.message.contains("ALL_PROXY") && e.message.contains("`ftp`") && !e.message.contains("hunter2"),
            "{}",
            e.message
        );
        let e = proxy_for("https://as.example/", &env(&[("ALL_PROXY", "soc5/hk:/su:pw@p:://x")])).unwrap_err();
        assert!(
            e.message.contains("ALL_PROXY names something that is not a proxy URL") && !e.message.contains("pw@"),
            "{}",
            e.message
        );
        // Not consulted for hosts that go direct.
        assert_eq!(proxy_for("http://127.0.0.1/", &env(&[("ALL_PROXY", "ftp://p:21")])).unwrap(), None);
    }
}
