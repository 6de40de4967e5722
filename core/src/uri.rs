//! Absolute `http`/`https` URLs: the small part of RFC 3986 / the WHATWG URL Standard
//! that OAuth endpoints, issuers and loopback redirects need.
//!
//! Parsing normalises the way browsers (and the `url` crate) do for these schemes, so the
//! URLs termauth sends and compares are the ones the user would see: the scheme and host
//! are lowercased, a default port (80 / 443) is dropped, an empty path becomes `/`, `.` and
//! `..` segments are resolved, a `\` in the path is read as `/`, and characters that may
//! not appear literally are percent-encoded (existing `%XX` escapes are kept as they are).
//!
//! Deliberately narrower than a browser, because the inputs are configuration and
//! redirects, not arbitrary web content:
//! * only `scheme://authority…` forms (no `https:host`, no relative references except
//!   [`Uri::join_target`]);
//! * hosts are ASCII: an internationalised domain name must be given in its punycode
//!   (`xn--…`) form ([`UriError::NonAsciiHost`]); IPv4 addresses are dotted decimal;
//! * user information (`user:pass@`) is refused: credentials never go in an endpoint URL.

use std::fmt;
// IP address *values* (parsing and printing literals) from `core::net`: no sockets here.
use core::net::{Ipv4Addr, Ipv6Addr};

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
    /// The host or port is malformed.
    InvalidAuthority,
}

impl UriError {
    /// A sentence for error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            UriError::NotAbsolute => "not an absolute URL",
            UriError::UnsupportedScheme => "the scheme is not http or https",
            UriError::NonAsciiHost => {
                "the host name is not ASCII; write an internationalised domain name in its punycode form (xn--…)"
            }
            UriError::UserInfo => "user information (user:password@) is not allowed in the URL",
            UriError::InvalidAuthority => "the host or port is malformed",
        }
    }
}

/// The host of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An ASCII domain name, lowercased.
    Domain(String),
    /// A dotted-decimal IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written in brackets).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// True for a loopback address or `localhost` / `*.localhost` (RFC 8252 §8.3, RFC 6761 §6.3).
    pub fn is_loopback(&self) -> bool {
        match self {
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => ip.is_loopback(),
            Host::Domain(d) => d == "localhost" || d.ends_with(".localhost"),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(ip) => write!(f, "{ip}"),
            Host::Ipv6(ip) => write!(f, "[{}]", ipv6_text(ip)),
        }
    }
}

/// A parsed absolute `http` or `https` URL. `Display` gives its normalised text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    https: bool,
    host: Host,
    /// `None` for the scheme's default port.
    port: Option<u16>,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

impl Uri {
    /// Parses an absolute `http` or `https` URL (leading and trailing spaces and control
    /// characters are ignored, tabs and newlines inside are removed, as browsers do).
    ///
    /// # Errors
    /// See [`UriError`].
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let text: String = text
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let (scheme, rest) = text.split_once(':').ok_or(UriError::NotAbsolute)?;
        let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Err(UriError::NotAbsolute);
        }
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(UriError::UnsupportedScheme),
        };
        let rest = backslashes_as_slashes(rest);
        let rest = rest.strip_prefix("//").ok_or(UriError::NotAbsolute)?;

        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(encode(f, FRAGMENT))),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(encode(q, QUERY))),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(UriError::UserInfo);
        }
        let (host, port) = parse_authority(authority)?;
        let default_port = if https { 443 } else { 80 };
        Ok(Uri {
            https,
            host,
            port: port.filter(|p| *p != default_port),
            path: normalize_path(path),
            query,
            fragment,
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port, when it is not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query without `?`, if there is one (possibly empty).
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The fragment without `#`, if there is one.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref()
    }

    /// The origin: `scheme://host[:port]` (RFC 6454 §6.2).
    pub fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme(), self.host),
            None => format!("{}://{}", self.scheme(), self.host),
        }
    }

    /// The query's name/value pairs, decoded as `application/x-www-form-urlencoded`
    /// (`+` is a space, `%XX` escapes are decoded, invalid UTF-8 is replaced).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// Appends form-encoded name/value pairs to the query, after the parameters it already
    /// has (RFC 6749 §3.1: the endpoint's own query component must be retained).
    pub fn append_query_pairs<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut query = self.query.take().unwrap_or_default();
        for (name, value) in pairs {
            if !query.is_empty() {
                query.push('&');
            }
            query.extend(form_urlencoded::byte_serialize(name.as_bytes()));
            query.push('=');
            query.extend(form_urlencoded::byte_serialize(value.as_bytes()));
        }
        self.query = Some(query);
    }

    /// Resolves `target` against this URL: an origin-form request target (`/path?query`,
    /// what a loopback listener receives) keeps this URL's scheme, host and port;
    /// `//host/path` keeps only the scheme (RFC 3986 §5.2).
    ///
    /// # Errors
    /// See [`UriError`]; `NotAbsolute` when `target` does not start with `/`.
    pub fn join_target(&self, target: &str) -> Result<Uri, UriError> {
        let target = backslashes_as_slashes(target.trim_matches(|c: char| c <= ' '));
        if target.starts_with("//") {
            Uri::parse(&format!("{}:{target}", self.scheme()))
        } else if target.starts_with('/') {
            Uri::parse(&format!("{}{target}", self.origin()))
        } else {
            Err(UriError::NotAbsolute)
        }
    }
}

/// For http(s) a backslash before the query or fragment is a slash (WHATWG URL, "special"
/// schemes: authority and path states). In the query and fragment it is just a character.
fn backslashes_as_slashes(text: &str) -> String {
    let end = text.find(['?', '#']).unwrap_or(text.len());
    let (head, tail) = text.split_at(end);
    format!("{}{tail}", head.replace('\\', "/"))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin())?;
        f.write_str(&self.path)?;
        if let Some(q) = &self.query {
            write!(f, "?{q}")?;
        }
        if let Some(frag) = &self.fragment {
            write!(f, "#{frag}")?;
        }
        Ok(())
    }
}

/// `host[:port]`, `[v6][:port]`.
fn parse_authority(authority: &str) -> Result<(Host, Option<u16>), UriError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (v6, after) = bracketed.split_once(']').ok_or(UriError::InvalidAuthority)?;
        let ip: Ipv6Addr = v6.parse().map_err(|_| UriError::InvalidAuthority)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UriError::InvalidAuthority)?),
        };
        (Host::Ipv6(ip), port)
    } else {
        let (name, port) = match authority.rsplit_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (authority, None),
        };
        (parse_name(name)?, port)
    };
    // An empty port (`host:`) means the default one.
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| UriError::InvalidAuthority)?)
        }
        Some(_) => return Err(UriError::InvalidAuthority),
    };
    Ok((host, port))
}

/// A domain name or a dotted-decimal IPv4 address.
fn parse_name(name: &str) -> Result<Host, UriError> {
    if !name.is_ascii() {
        return Err(UriError::NonAsciiHost);
    }
    // WHATWG URL "forbidden domain code points", plus `%` (no escapes in host names).
    let forbidden = |c: char| c.is_ascii_control() || " #%/:<>?@[\\]^|".contains(c);
    if name.is_empty() || name.contains(forbidden) {
        return Err(UriError::InvalidAuthority);
    }
    // A name whose last label is numeric — decimal, or `0x` and hex digits — is an IPv4
    // address or nothing (WHATWG URL, "ends in a number"); only the dotted-decimal form is
    // accepted here. (`as.0xa` was a domain here and an invalid URL for the `url` crate and
    // Node: found by fuzzing.)
    let last = name.trim_end_matches('.').rsplit('.').next().unwrap_or_default();
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    let numeric = (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return name.parse().map(Host::Ipv4).map_err(|_| UriError::InvalidAuthority);
    }
    Ok(Host::Domain(name.to_ascii_lowercase()))
}

/// RFC 5952 text of an IPv6 address (as URLs write it): lowercase hex, the longest run
/// of two or more zero groups (the first one on a tie) written `::`, and no embedded
/// IPv4 form.
fn ipv6_text(ip: &Ipv6Addr) -> String {
    let groups = ip.segments();
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, g) in groups.iter().enumerate() {
        if *g == 0 {
            run = if run.1 == 0 { (i, 1) } else { (run.0, run.1 + 1) };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let hex = |gs: &[u16]| gs.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":");
    if best.1 < 2 {
        return hex(&groups);
    }
    format!("{}::{}", hex(&groups[..best.0]), hex(&groups[best.0 + best.1..]))
}

/// Resolves `.` and `..` segments (RFC 3986 §5.2.4; `%2e` counts as a dot) and
/// percent-encodes what may not appear in a path. An empty path is `/`.
fn normalize_path(path: &str) -> String {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let mut out: Vec<String> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let lower = segment.to_ascii_lowercase();
        match lower.replace("%2e", ".").as_str() {
            ".." => {
                out.pop();
                if last {
                    out.push(String::new());
                }
            }
            "." if last => out.push(String::new()),
            "." => {}
            _ => out.push(encode(segment, PATH)),
        }
    }
    if out.is_empty() {
        return "/".to_string();
    }
    out.iter().map(|s| format!("/{s}")).collect()
}

/// ASCII characters percent-encoded in each component, besides controls, space and
/// non-ASCII (WHATWG URL percent-encode sets: fragment, special-query, path).
const FRAGMENT: &str = "\"<>`";
const QUERY: &str = "\"#<>'";
const PATH: &str = "\"#<>?`{}";

fn encode(text: &str, set: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_graphic() && !set.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Uri::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_a_browser() {
        assert_eq!(norm("https://as.example"), "https://as.example/");
        assert_eq!(norm("HTTPS://AS.Example:443/Token"), "https://as.example/Token");
        assert_eq!(norm("http://as.example:80/"), "http://as.example/");
        assert_eq!(norm("http://as.example:/x"), "http://as.example/x");
        assert_eq!(norm("https://as.example:8443/a/b/"), "https://as.example:8443/a/b/");
        assert_eq!(norm("https://as.example/a/./b/../c"), "https://as.example/a/c");
        assert_eq!(norm("https://as.example/a/.."), "https://as.example/");
        assert_eq!(norm("https://as.example/a/%2E%2e/b"), "https://as.example/b");
        assert_eq!(norm("https://as.example\\a\\b"), "https://as.example/a/b");
        // Only before the query: there a backslash is data (found by fuzzing).
        assert_eq!(norm("https://as.example\\a?x=\\y#\\z"), "https://as.example/a?x=\\y#\\z");
        assert_eq!(norm("https://as.example/a b/é"), "https://as.example/a%20b/%C3%A9");
        assert_eq!(norm("https://as.example/a%2Fb"), "https://as.example/a%2Fb");
        assert_eq!(norm("https://as.example/p?a=1?b=2&c=d e#frag x"), "https://as.example/p?a=1?b=2&c=d%20e#frag%20x");
        assert_eq!(norm("https://as.example?x"), "https://as.example/?x");
        assert_eq!(norm("  https://as.example/x\n"), "https://as.example/x");
        assert_eq!(norm("https://as.exam\tple/"), "https://as.example/");
    }

    #[test]
    fn hosts() {
        let u = Uri::parse("http://[::1]:8080/cb").unwrap();
        assert_eq!(u.host(), &Host::Ipv6(Ipv6Addr::LOCALHOST));
        assert_eq!(u.port(), Some(8080));
        assert_eq!(u.to_string(), "http://[::1]:8080/cb");
        assert_eq!(norm("http://[2001:DB8:0:0:1:0:0:1]/"), "http://[2001:db8::1:0:0:1]/");
        assert_eq!(norm("http://[::ffff:127.0.0.1]/"), "http://[::ffff:7f00:1]/");
        assert_eq!(norm("http://[1:2:3:4:5:6:7:8]/"), "http://[1:2:3:4:5:6:7:8]/");
        assert_eq!(Uri::parse("http://127.0.0.1:53682/callback").unwrap().host(), &Host::Ipv4(Ipv4Addr::LOCALHOST));
        assert!(Uri::parse("http://localhost/").unwrap().host().is_loopback());
        assert!(Uri::parse("http://app.LOCALHOST/").unwrap().host().is_loopback());
        assert!(!Uri::parse("http://localhost.example/").unwrap().host().is_loopback());
        assert!(Uri::parse("http://[::1]/").unwrap().host().is_loopback());
        assert!(!Uri::parse("http://10.0.0.1/").unwrap().host().is_loopback());
    }

    #[test]
    fn refusals() {
        let err = |s: &str| Uri::parse(s).unwrap_err();
        for ends_in_a_number in ["http://as.0xa/", "http://a.0X/", "http://foo.127.0.0.1/", "http://x.0x1F./"] {
            assert_eq!(err(ends_in_a_number), UriError::InvalidAuthority, "{ends_in_a_number}");
            assert!(url::Url::parse(ends_in_a_number).is_err(), "the url crate refuses {ends_in_a_number} too");
        }
        assert!(Uri::parse("http://0xa.example/").is_ok() && url::Url::parse("http://0xa.example/").is_ok());
        assert_eq!(err("not a url"), UriError::NotAbsolute);
        assert_eq!(err("/callback"), UriError::NotAbsolute);
        assert_eq!(err("https:as.example"), UriError::NotAbsolute);
        assert_eq!(err("ftp://as.example/"), UriError::UnsupportedScheme);
        assert_eq!(err("com.example.app:/cb"), UriError::UnsupportedScheme);
        assert_eq!(err("https://bücher.example/"), UriError::NonAsciiHost);
        assert_eq!(err("https://user:pw@as.example/"), UriError::UserInfo);
        assert_eq!(err("https:///path"), UriError::InvalidAuthority);
        assert_eq!(err("https://as.example:99999/"), UriError::InvalidAuthority);
        assert_eq!(err("https://as.example:8x/"), UriError::InvalidAuthority);
        assert_eq!(err("https://as example/"), UriError::InvalidAuthority);
        assert_eq!(err("https://[::1/"), UriError::InvalidAuthority);
        assert_eq!(err("https://[::1]x/"), UriError::InvalidAuthority);
        assert_eq!(err("http://256.0.0.1/"), UriError::InvalidAuthority);
        assert_eq!(err("http://1.2.3/"), UriError::InvalidAuthority);
        assert_eq!(norm("https://xn--bcher-kva.example/"), "https://xn--bcher-kva.example/");
    }

    #[test]
    fn components_and_query() {
        let mut u = Uri::parse("https://as.example/authorize?tenant=a").unwrap();
        assert_eq!(u.origin(), "https://as.example");
        assert_eq!(u.fragment(), None);
        u.append_query_pairs([("redirect_uri", "http://127.0.0.1:1/cb"), ("scope", "openid email")]);
        assert_eq!(u.to_string(), "https://as.example/authorize?tenant=a&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb&scope=openid+email");
        let mut u = Uri::parse("https://as.example/authorize?").unwrap();
        u.append_query_pairs([("a", "b")]);
        assert_eq!(u.to_string(), "https://as.example/authorize?a=b");
        let u = Uri::parse("http://127.0.0.1:8/cb?code=a%2Bb+c&state=%FF&flag").unwrap();
        assert_eq!(
            u.query_pairs(),
            vec![("code".into(), "a+b c".into()), ("state".into(), "\u{FFFD}".into()), ("flag".into(), String::new())]
        );
        assert_eq!(u.origin(), "http://127.0.0.1:8");
    }

    #[test]
    fn join() {
        let base = Uri::parse("http://127.0.0.1:53682/callback").unwrap();
        assert_eq!(base.join_target("/callback?code=1").unwrap().to_string(), "http://127.0.0.1:53682/callback?code=1");
        assert_eq!(base.join_target("/favicon.ico").unwrap().path(), "/favicon.ico");
        assert_eq!(base.join_target("//evil.example/callback").unwrap().to_string(), "http://evil.example/callback");
        assert_eq!(base.join_target("callback").unwrap_err(), UriError::NotAbsolute);
    }
}
