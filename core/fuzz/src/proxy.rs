//! `proxy::proxy_for` with an arbitrary request URL, proxy value and `NO_PROXY` list.
//!
//! Sections: (0) the request URL, (1) the proxy value (its variable is chosen by the first
//! byte of section 0's length), (2) the `NO_PROXY` value. Checks, with the `url` crate's host:
//! a loopback host never gets a proxy; `*` in `NO_PROXY` means direct; a proxy given is
//! http, https or socks5; a refusal names the variable and never quotes the proxy's
//! credentials.

use crate::sections;
use termauth_core::proxy::{PROXY_VARIABLES, ProxyEnv, proxy_for};

/// The target.
pub fn run(data: &[u8]) {
    let secs = sections(data);
    let url = secs[0].trim();
    let value = secs.get(1).map_or("", String::as_str);
    let no_proxy = secs.get(2).cloned();
    let variable = PROXY_VARIABLES[secs[0].len() % PROXY_VARIABLES.len()];
    let env = ProxyEnv::from_lookup(|name| match name {
        n if n == variable => Some(value.to_string()),
        "NO_PROXY" => no_proxy.clone(),
        _ => None,
    });
    match proxy_for(url, &env) {
        Ok(Some(proxy)) => {
            assert_eq!(proxy.variable, variable);
            assert!(
                ["http://", "https://", "socks5://"].iter().any(|s| proxy.url.starts_with(s)),
                "an unsupported proxy scheme was returned: {:?}",
                proxy.url
            );
            assert!(!value.trim().is_empty());
            // The core parses with the url crate and only adds refusals, so the URL parses here.
            let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("the core parsed {url:?}, the url crate did not: {e}"));
            let host = parsed.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
            let loopback = host == "localhost"
                || host.ends_with(".localhost")
                || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            assert!(!loopback, "a loopback host ({host}) got a proxy");
            assert!(
                !no_proxy.as_deref().unwrap_or("").split([',', ' ', '\t']).any(|e| e.trim() == "*"),
                "NO_PROXY=* and still a proxy"
            );
        }
        Ok(None) => {}
        Err(e) => {
            assert_eq!(e.code, "unsupported_proxy");
            assert!(e.message.contains(variable), "{}", e.message);
            if let Some((_, rest)) = value.split_once("://")
                && let Some((userinfo, _)) = rest.split_once('@')
                && userinfo.len() >= 6
            {
                assert!(!e.message.contains(userinfo), "the proxy's credentials were quoted: {}", e.message);
            }
        }
    }
}
