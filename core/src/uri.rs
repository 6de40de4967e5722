//! Absolute `http`/`https` URLs: endpoints, issuers, redirect URIs and the redirects that
//! come back. They are parsed by the [`url`] crate (the WHATWG URL Standard, as browsers
//! do); this module adds the checks termauth needs on top.
//!
//! `url` normalises these URLs the way a browser shows them: the scheme and host are
//! lowercased, a default port (80 / 443) is dropped, an empty path becomes `/`, `.` and `..`
//! segments are resolved, a `\` before the query is read as `/`, and characters that may not
//! appear literally are percent-encoded (existing `%XX` escapes are kept as they are).
//!
//! [`parse`] is deliberately narrower than a browser, because its inputs are configuration,
//! server metadata and redirects, not arbitrary web content. It refuses:
//! * control characters (C0, DEL, C1) and whitespace anywhere in the text, leading and
//!   trailing included ([`UriError::Control`]). `url` would drop tabs and newlines and
//!   percent-encode the rest, so the URL used would not be the one configured, and a
//!   terminal showing the configured text would act on its escape sequences;
//! * anything but `http://` or `https://` and a host: exactly two slashes (a `\` counts as
//!   one, as in browsers), so no `https:host` nor `https:///host` ([`UriError::NotAbsolute`],
//!   [`UriError::InvalidAuthority`]); relative references only through [`join_target`];
//! * user information (`user:pass@`, even empty): credentials never go in an endpoint URL
//!   ([`UriError::UserInfo`]);
//! * non-ASCII host names: an internationalised domain name must be written in its punycode
//!   (`xn--…`) form ([`UriError::NonAsciiHost`]). termauth builds `url` with the ASCII-only
//!   IDNA back end (`idna_adapter` 1.0, no Unicode tables), so `xn--` labels are taken as
//!   written: they must be valid punycode, but are not checked against UTS 46;
//! * a host `url` would rewrite, other than for letter case: shorthand or non-decimal IPv4
//!   (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`, which `url` reads as addresses)
//!   and `%` escapes in a host name ([`UriError::InvalidAuthority`]). A host is used as the
//!   user wrote it or not at all.

use std::fmt;
pub use url::{Host, Url};

/// Why a string is not a usable URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriError {
    /// Not `scheme://authority…` at all.
    NotAbsolute,
    /// A scheme other than `http` or `https`.
    UnsupportedScheme,
    /// The host has non-ASCII characters (an internationalised domain name).
    NonAsciiHost,
    /// The URL carries `user:password@` before the host.
    UserInfo,
    /// The host or port is malformed, or not written canonically.
    InvalidAuthority,
    /// A control, invisible formatting or whitespace character in the text.
    Control {
        /// The character.
        found: char,
        /// Its position in the text, counting characters from 1.
        position: usize,
    },
}

impl fmt::Display for UriError {
    /// A phrase for error messages. It never quotes the URL (it may hold a secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::NotAbsolute => f.write_str("not an absolute URL"),
            UriError::UnsupportedScheme => f.write_str("the scheme is not http or https"),
            UriError::NonAsciiHost => {
                f.write_str("the host name is not ASCII; write an internationalised domain name in its punycode form (xn--…)")
            }
            UriError::UserInfo => f.write_str("user information (user:password@) is not allowed in the URL"),
            UriError::InvalidAuthority => f.write_str("the host or port is malformed"),
            UriError::Control { position, .. } => {
                write!(f, "it contains a control, invisible formatting or whitespace character at character {position}")
            }
        }
    }
}

/// The first character of `text` that a URL must not hold raw: a control character (C0,
/// DEL, C1), a whitespace character (Unicode White_Space: the space, no-break space, line
/// and paragraph separators, …) or an invisible format character (bidirectional controls,
/// zero-width characters; see [`crate::error::is_unsafe_for_terminal`]), with its position
/// counted in characters from 1. URLs are shown to the user, and an RFC 3986 URI has none
/// of these unencoded.
pub fn find_control(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|(_, c)| c.is_whitespace() || crate::error::is_unsafe_for_terminal(*c)).map(|(i, c)| (i + 1, c))
}

/// Parses an absolute `http` or `https` URL, with the checks of the module docs.
///
/// # Errors
/// See [`UriError`].
pub fn parse(text: &str) -> Result<Url, UriError> {
    if let Some((position, found)) = find_control(text) {
        return Err(UriError::Control { found, position });
    }
    let (scheme, rest) = text.split_once(':').ok_or(UriError::NotAbsolute)?;
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return Err(UriError::NotAbsolute);
    }
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(UriError::UnsupportedScheme);
    }
    // `//` (or `\\`, `/\`, `\/`: the WHATWG URL reads a backslash as a slash in http URLs)
    // and then the authority, which ends where the path, query or fragment begins.
    let is_slash = |b: u8| b == b'/' || b == b'\\';
    let after_slashes = match rest.as_bytes() {
        [a, b, ..] if is_slash(*a) && is_slash(*b) => &rest[2..],
        _ => return Err(UriError::NotAbsolute),
    };
    let authority = &after_slashes[..after_slashes.find(['/', '\\', '?', '#']).unwrap_or(after_slashes.len())];
    // No host between the slashes (`http:///x`): `url` would skip the third slash and take
    // what follows as the host, unchecked here; its IDNA step then asserts on a name mixing
    // upper case and non-ASCII (a debug assertion in idna_adapter 1.0: found by fuzzing).
    if authority.is_empty() {
        return Err(UriError::InvalidAuthority);
    }
    if authority.contains('@') {
        return Err(UriError::UserInfo);
    }
    // The host as written, without the port; an IPv6 literal (`[…]`) is left to `url`.
    let host = (!authority.starts_with('[')).then(|| authority.rsplit_once(':').map_or(authority, |(host, _)| host));
    if host.is_some_and(|h| !h.is_ascii()) {
        return Err(UriError::NonAsciiHost);
    }
    // A percent escape in a host decodes to bytes `url` hands to IDNA (non-ASCII mixed with
    // upper case trips the same debug assertion); hosts are used as written, so refuse it here.
    if host.is_some_and(|h| h.contains('%')) {
        return Err(UriError::InvalidAuthority);
    }
    // With the shape checked above, everything `url` can refuse is in the authority.
    let url = Url::parse(text).map_err(|_| UriError::InvalidAuthority)?;
    if let Some(host) = host {
        // Empty (`https:///x`, where `url` would skip the third slash and take `x`), or
        // rewritten by `url` (shorthand IPv4, escapes).
        if host.is_empty() || !url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host)) {
            return Err(UriError::InvalidAuthority);
        }
    }
    Ok(url)
}

/// The origin of a URL (`https://host[:port]`, RFC 6454 §6.2), to name a server in a
/// message: never its path, query or user information. `None` when [`parse`] refuses it.
pub fn origin(text: &str) -> Option<String> {
    parse(text).ok().map(|url| url.origin().ascii_serialization())
}

/// True for a loopback address or `localhost` / `*.localhost` (RFC 8252 §8.3, RFC 6761 §6.3).
/// For a host of an http(s) `Url`, whose domain names are lowercase.
pub fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => *d == "localhost" || d.ends_with(".localhost"),
    }
}

/// True when the URL's host is a loopback one ([`is_loopback_host`]).
pub fn is_loopback(url: &Url) -> bool {
    url.host().is_some_and(|h| is_loopback_host(&h))
}

/// True when the URL's host is loopback, private, link-local, shared (carrier-grade NAT) or
/// unspecified: an address that only makes sense from inside the machine or its network.
/// A remote server that names such a URL is steering the client at something of the
/// user's (server-side request forgery). Names are not resolved (this crate does no IO):
/// a DNS name that resolves to such an address is not caught here.
pub fn is_internal(url: &Url) -> bool {
    // IPv4 ranges by their octets: 0/8 "this network" and 255.255.255.255 (RFC 6890),
    // 10/8, 172.16/12, 192.168/16 (RFC 1918), 100.64/10 (RFC 6598), 127/8, 169.254/16.
    let v4 = |[a, b, c, d]: [u8; 4]| {
        matches!((a, b), (0 | 10 | 127, _) | (172, 16..=31) | (192, 168) | (169, 254) | (100, 64..=127))
            || [a, b, c, d] == [255; 4]
    };
    match url.host() {
        Some(Host::Ipv4(ip)) => v4(ip.octets()),
        Some(Host::Ipv6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local, RFC 4193
                || (first & 0xffc0) == 0xfe80 // link-local
                || ip.to_ipv4_mapped().is_some_and(|v| v4(v.octets()))
        }
        Some(host) => is_loopback_host(&host),
        None => true,
    }
}

/// Resolves `target` against `base` (a URL from [`parse`]): an origin-form request target
/// (`/path?query`, what a loopback listener receives) keeps the base's scheme, host and
/// port; `//host/path` keeps only the scheme (RFC 3986 §5.2; `\` counts as `/`, as in
/// browsers). The result passes the checks of [`parse`].
///
/// # Errors
/// See [`UriError`]; `NotAbsolute` when `target` does not start with `/` (or `\`).
pub fn join_target(base: &Url, target: &str) -> Result<Url, UriError> {
    if let Some((position, found)) = find_control(target) {
        return Err(UriError::Control { found, position });
    }
    match target.as_bytes() {
        [b'/' | b'\\', b'/' | b'\\', ..] => parse(&format!("{}:{target}", base.scheme())),
        // Path-absolute: the base's scheme and authority, already checked, are kept.
        [b'/' | b'\\', ..] => base.join(target).map_err(|_| UriError::NotAbsolute),
        _ => Err(UriError::NotAbsolute),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn origin_names_the_server_only() {
        assert_eq!(origin("https://as.example:8443/token?x=1#f").as_deref(), Some("https://as.example:8443"));
        assert_eq!(origin("https://AS.example:443/").as_deref(), Some("https://as.example"));
        assert_eq!(origin("http://127.0.0.1:8080/t").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin("http://[::1]:9/t").as_deref(), Some("http://[::1]:9"));
        // What parse refuses is never named: user information, controls, other schemes.
        for refused in ["https://user:pw@as.example/", "https://as.example\u{1b}[2J/", "ftp://as.example/", "not a url"] {
            assert_eq!(origin(refused), None, "{refused}");
        }
    }

    fn norm(s: &str) -> String {
        parse(s).unwrap().to_string()
    }

    fn err(s: &str) -> UriError {
        parse(s).unwrap_err()
    }

    #[test]
    fn an_empty_host_is_refused_before_url_sees_it() {
        // `url` reads `http:///ipFF\u{AD}n` as the host `ipFF\u{AD}n` (found by fuzzing).
        for text in [
            "http:///ipFF\u{AD}\u{AD}Sn",
            "https:///x",
            "http://\\EXAMPLE\u{AD}.com/",
            "https://?x",
            "http://#y",
            "https://as.examxCC%CCle.com/device",
            "http://aFF%AFF#x",
        ] {
            // A soft hyphen (U+00AD, an invisible format character) is refused first.
            let expected = if text.contains('\u{AD}') {
                UriError::Control { found: '\u{AD}', position: text.chars().position(|c| c == '\u{AD}').unwrap() + 1 }
            } else {
                UriError::InvalidAuthority
            };
            assert_eq!(parse(text).unwrap_err(), expected, "{text:?}");
            let without = text.replace('\u{AD}', "");
            assert_eq!(parse(&without).unwrap_err(), UriError::InvalidAuthority, "{without:?}");
        }
        let base = parse("http://127.0.0.1:8400/callback").unwrap();
        assert!(join_target(&base, "///EVIL\u{AD}x/callback").is_err());
        // A punycode label that decodes to U+200F trips an assertion inside idna (off in
        // every profile of this workspace): no panic, and the host stays the ASCII form
        // (termauth never shows a decoded name).
        let label = format!("XN--hu{}", "g".repeat(120));
        if let Ok(url) = parse(&format!("http://{label}/")) {
            assert!(url.host_str().is_some_and(|h| h.is_ascii()));
        }
    }

    #[test]
    fn normalises_like_a_browser() {
        assert_eq!(norm("https://as.example"), "https://as.example/");
        assert_eq!(norm("HTTPS://AS.Example:443/Token"), "https://as.example/Token");
        assert_eq!(norm("http://as.example:80/"), "http://as.example/");
        assert_eq!(norm("http://as.example:/x"), "http://as.example/x");
        assert_eq!(norm("https://as.example:8443/a/b/"), "https://as.example:8443/a/b/");
        assert_eq!(norm("https://as.example:0443/"), "https://as.example/");
        assert_eq!(norm("https://as.example/a/./b/../c"), "https://as.example/a/c");
        assert_eq!(norm("https://as.example/a/.."), "https://as.example/");
        assert_eq!(norm("https://as.example/a/%2E%2e/b"), "https://as.example/b");
        assert_eq!(norm("https://as.example\\a\\b"), "https://as.example/a/b");
        assert_eq!(norm("https:\\\\as.example/a"), "https://as.example/a");
        // Only before the query: there a backslash is data.
        assert_eq!(norm("https://as.example\\a?x=\\y#\\z"), "https://as.example/a?x=\\y#\\z");
        assert_eq!(norm("https://as.example/a\"b/é"), "https://as.example/a%22b/%C3%A9");
        assert_eq!(norm("https://as.example/a%2Fb"), "https://as.example/a%2Fb");
        assert_eq!(norm("https://as.example/p?a=1?b=2&c=d'e#frag`x"), "https://as.example/p?a=1?b=2&c=d%27e#frag%60x");
        assert_eq!(norm("https://as.example?x"), "https://as.example/?x");
        assert_eq!(norm("https://as.example./"), "https://as.example./");
    }

    #[test]
    fn hosts() {
        let u = parse("http://[::1]:8080/cb").unwrap();
        assert_eq!(u.host(), Some(Host::Ipv6(Ipv6Addr::LOCALHOST)));
        assert_eq!(u.port(), Some(8080));
        assert_eq!(u.as_str(), "http://[::1]:8080/cb");
        assert_eq!(norm("http://[2001:DB8:0:0:1:0:0:1]/"), "http://[2001:db8::1:0:0:1]/");
        assert_eq!(norm("http://[::ffff:127.0.0.1]/"), "http://[::ffff:7f00:1]/");
        assert_eq!(norm("http://[1:2:3:4:5:6:7:8]/"), "http://[1:2:3:4:5:6:7:8]/");
        assert_eq!(parse("http://127.0.0.1:53682/callback").unwrap().host(), Some(Host::Ipv4(Ipv4Addr::LOCALHOST)));
        for loopback in ["http://localhost/", "http://app.LOCALHOST/", "http://[::1]/", "http://127.8.9.10/"] {
            assert!(is_loopback(&parse(loopback).unwrap()), "{loopback}");
        }
        for not_loopback in ["http://localhost.example/", "http://10.0.0.1/", "http://127.example/", "http://[::2]/"] {
            assert!(!is_loopback(&parse(not_loopback).unwrap()), "{not_loopback}");
        }
        // Punycode is taken as written (no Unicode tables to check it against UTS 46), but
        // must decode.
        assert_eq!(norm("https://XN--bcher-kva.example/"), "https://xn--bcher-kva.example/");
        assert_eq!(norm("https://xn--ls8h.example/"), "https://xn--ls8h.example/");
        for bad in ["https://xn--.example/", "https://xn--bcher-.example/", "https://a.xn--0.example/"] {
            assert_eq!(err(bad), UriError::InvalidAuthority, "{bad}");
        }
    }

    #[test]
    fn refusals() {
        for ends_in_a_number in ["http://as.0xa/", "http://a.0X/", "http://foo.127.0.0.1/", "http://x.0x1F./"] {
            assert_eq!(err(ends_in_a_number), UriError::InvalidAuthority, "{ends_in_a_number}");
        }
        assert!(parse("http://0xa.example/").is_ok());
        assert_eq!(err("not a url"), UriError::Control { found: ' ', position: 4 });
        assert_eq!(err("not-a-url"), UriError::NotAbsolute);
        assert_eq!(err("/callback"), UriError::NotAbsolute);
        assert_eq!(err("https:as.example"), UriError::NotAbsolute);
        assert_eq!(err("https:/as.example"), UriError::NotAbsolute);
        assert_eq!(err("ftp://as.example/"), UriError::UnsupportedScheme);
        assert_eq!(err("com.example.app:/cb"), UriError::UnsupportedScheme);
        assert_eq!(err("https://bücher.example/"), UriError::NonAsciiHost);
        assert_eq!(err("https://bücher.example:8443/"), UriError::NonAsciiHost);
        assert_eq!(err("https://user:pw@as.example/"), UriError::UserInfo);
        assert_eq!(err("https://@as.example/"), UriError::UserInfo);
        assert_eq!(err("https:///path"), UriError::InvalidAuthority);
        assert_eq!(err("https://"), UriError::InvalidAuthority);
        assert_eq!(err("https://as.example:99999/"), UriError::InvalidAuthority);
        assert_eq!(err("https://as.example:8x/"), UriError::InvalidAuthority);
        assert_eq!(err("https://as<example/"), UriError::InvalidAuthority);
        assert_eq!(err("https://[::1/"), UriError::InvalidAuthority);
        assert_eq!(err("https://[::1]x/"), UriError::InvalidAuthority);
        assert_eq!(err("http://256.0.0.1/"), UriError::InvalidAuthority);
    }

    #[test]
    fn hosts_are_used_as_written_or_not_at_all() {
        // The url crate reads all of these as 127.0.0.1 (or 1.2.0.3, or as.example): a
        // host the user did not write is refused.
        for rewritten in [
            "http://127.1/",
            "http://1.2.3/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://127.000.0.1/",
            "http://127.0.0.1./",
            "https://as%2Eexample/",
            "https://%61s.example/",
        ] {
            assert!(Url::parse(rewritten).is_ok(), "the url crate parses {rewritten}");
            assert_eq!(err(rewritten), UriError::InvalidAuthority, "{rewritten}");
        }
    }

    #[test]
    fn control_characters_and_whitespace_are_refused() {
        // `url` would strip the tab and newlines, percent-encode the others in the path,
        // and refuse a few in the host: every one is refused here, wherever it is.
        for c in ['\u{1b}', '\u{9b}', '\r', '\n', '\t', '\0', '\u{7f}', ' ', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}'] {
            for text in [
                format!("https://as.example/realms/a{c}b"),
                format!("https://as.exa{c}mple/"),
                format!("https://as.example/?q={c}"),
                format!("https://as.example/#{c}"),
                format!("{c}https://as.example/"),
                format!("https://as.example/{c}"),
            ] {
                let position = text.chars().position(|x| x == c).unwrap() + 1;
                assert_eq!(parse(&text), Err(UriError::Control { found: c, position }), "{text:?}");
            }
        }
        let e = err("https://as.example/\u{1b}[2J");
        assert_eq!(e.to_string(), "it contains a control, invisible formatting or whitespace character at character 20");
        assert_eq!(err("https://as.example/a b"), UriError::Control { found: ' ', position: 21 });
    }

    #[test]
    fn query_pairs_are_form_decoded() {
        let u = parse("http://127.0.0.1:8/cb?code=a%2Bb+c&state=%FF&flag").unwrap();
        let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(pairs, [("code".into(), "a+b c".into()), ("state".into(), "\u{FFFD}".into()), ("flag".into(), String::new())]);
    }

    #[test]
    fn join() {
        let base = parse("http://127.0.0.1:53682/callback").unwrap();
        let join = |t: &str| join_target(&base, t).map(String::from);
        assert_eq!(join("/callback?code=1").unwrap(), "http://127.0.0.1:53682/callback?code=1");
        assert_eq!(join("/favicon.ico").unwrap(), "http://127.0.0.1:53682/favicon.ico");
        assert_eq!(join("//evil.example/callback").unwrap(), "http://evil.example/callback");
        assert_eq!(join("/\\evil.example/callback").unwrap(), "http://evil.example/callback");
        assert_eq!(join("/a\\b?x=\\").unwrap(), "http://127.0.0.1:53682/a/b?x=\\");
        assert_eq!(join("callback"), Err(UriError::NotAbsolute));
        assert_eq!(join("\\callback").unwrap(), "http://127.0.0.1:53682/callback");
        assert_eq!(join("\\\\evil.example\\cb").unwrap(), "http://evil.example/cb");
        assert_eq!(join("///x"), Err(UriError::InvalidAuthority));
        assert_eq!(join("//u@evil.example/"), Err(UriError::UserInfo));
        assert_eq!(join("/callback?code=1\r\nX: y"), Err(UriError::Control { found: '\r', position: 17 }));
        // The same results as the url crate's own join, for what is accepted.
        for t in ["/callback?code=1", "//evil.example/callback", "/\\evil.example/callback", "/a/../b", "\\x?y=\\#\\"] {
            assert_eq!(join(t).unwrap(), base.join(t).unwrap().as_str(), "{t}");
        }
    }
}
