//! Authorization server metadata discovery: RFC 8414 and OpenID Connect Discovery 1.0.
//!
//! | state | poll | on response |
//! |---|---|---|
//! | `Start` | `SendRequest` GET first well-known URL | — |
//! | `Fetching(i)` | `AwaitResponse` | 2xx metadata with `issuer` identical to the one asked for → `Done{metadata}`; a miss (see [`Candidates`]) and another URL to try → `Fetching(i+1)`; otherwise `Failed` |
//!
//! The `issuer` check (RFC 8414 §3.3, OIDC Discovery §4.3) is what stops a
//! man-in-the-middle document from pointing the CLI at someone else's endpoints. A
//! document with another issuer is not used ("MUST NOT", MCP authorization), but the next
//! URL is still tried: a server that answers every well-known path with its root document
//! may serve the right one further down the list.

use crate::config::{ServerMetadata, check_endpoint};
use crate::error::Error;
use crate::flow::{Action, Exchange, Machine, Outcome};
use crate::http::{HttpResponse, Method, short};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::uri::Url;
use serde::{Deserialize, Serialize};

/// Which well-known document to fetch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MetadataDocument {
    /// OpenID Connect Discovery first, then RFC 8414 when the first is not found.
    #[default]
    Auto,
    /// Only `/.well-known/openid-configuration` (OIDC Discovery §4).
    Openid,
    /// Only `/.well-known/oauth-authorization-server` (RFC 8414 §3).
    Oauth,
    /// The MCP authorization specification's order: RFC 8414 (path inserted), then OpenID
    /// Connect with the path inserted, then OpenID Connect with the path appended.
    Mcp,
}

/// Discovery configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct DiscoveryConfig {
    /// The issuer identifier, e.g. `https://login.example.com` (no query or fragment).
    pub issuer: String,
    /// Which document to fetch.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub document: MetadataDocument,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
}

deserialize_via_value!(DiscoveryConfig => DiscoveryConfig::read);

impl DiscoveryConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        let issuer = o.str("issuer")?;
        let document = if o.has("document") { o.variant("document")? } else { MetadataDocument::default() };
        Ok(DiscoveryConfig { issuer, document, allow_insecure_http: o.flag("allow_insecure_http")? })
    }
}

/// The discovery flow.
#[derive(Debug, Clone)]
pub struct Discovery {
    ex: Exchange,
    issuer: String,
    urls: Candidates,
}

/// The codes of a document refused by its checks: the next URL may hold a good one.
const REFUSED: [&str; 5] =
    ["issuer_mismatch", "resource_mismatch", "invalid_metadata", "pkce_not_advertised", "pkce_s256_unsupported"];

/// Well-known URLs tried in order, and what each one that had no usable document said.
///
/// The rule for moving on (one place for discovery and the MCP chain), decided by the
/// status first: a 429, or a 5xx other than 502, ends the flow whatever the body (the
/// server is there but failing or limiting, and trying elsewhere would hide that and its
/// `Retry-After`); so does a transport error. Any other 4xx (404 and 410, but also the 400,
/// 401 and 403 that CDNs and some servers give for an unknown path) and a 502 (a gateway's
/// error page) move on; so does a 2xx whose body is not a JSON object (an HTML 200 from a
/// single-page app) or whose document fails its checks (termauth's own protocol errors,
/// never an `error` code a server chose). A redirect ends the flow (it is not followed).
/// With no URL left, the error is the first refusal, else `metadata_not_found` when the last
/// answer was a 4xx, else the last answer's own error (a 502 is "try later").
#[derive(Debug, Clone)]
pub(crate) struct Candidates {
    urls: Vec<String>,
    next: usize,
    /// Each URL that had no document: its status and what the server said (its OAuth
    /// `error` and `error_description`, sanitised), for the error that ends the flow — a
    /// server that names the problem ("Realm does not exist") is quoted, not lost.
    missing: Vec<String>,
    /// The first document refused by its checks (an issuer or resource mismatch): the
    /// error when no URL had a usable document, since it says more than "not found".
    refused: Option<Error>,
}

impl Candidates {
    pub(crate) fn new(urls: Vec<String>) -> Self {
        Candidates { urls, next: 0, missing: Vec::new(), refused: None }
    }

    /// The next URL to fetch.
    pub(crate) fn take(&mut self) -> Option<String> {
        let url = self.urls.get(self.next).cloned();
        self.next += usize::from(url.is_some());
        url
    }

    /// The URL last taken.
    pub(crate) fn current(&self) -> &str {
        self.next.checked_sub(1).and_then(|i| self.urls.get(i)).map_or("", String::as_str)
    }

    /// Records why the current URL's response is not used. `Ok(())`: try the next URL;
    /// `Err`: the error that ends the flow (`what` names the document in it, `advice` says
    /// what to check).
    pub(crate) fn miss(&mut self, resp: &HttpResponse, error: Error, what: &str, advice: &str) -> Result<(), Error> {
        let ours = error.kind == crate::ErrorKind::Protocol;
        let refused = ours && REFUSED.contains(&error.code.as_str());
        let unusable = ours && matches!(error.code.as_str(), "response_not_json" | "response_not_object");
        let moves_on = match resp.status {
            429 => false,
            502 => true,
            500..=599 => false,
            400..=499 => true,
            200..=299 => refused || unusable,
            // A redirect is not followed (a document must be at its well-known URL), nor
            // passed over: it says where the server is, and that is not here.
            _ => false,
        };
        if !moves_on {
            return Err(error);
        }
        let said = match (&error.error, &error.error_description) {
            _ if refused => format!(", {}", error.code.replace('_', " ")),
            (Some(e), Some(d)) => format!(", server said: {e}: {d}"),
            (Some(e), None) => format!(", server said: {e}"),
            _ => String::new(),
        };
        self.missing.push(format!("{} (HTTP {}{said})", short(self.current()), resp.status));
        if refused && self.refused.is_none() {
            self.refused = Some(error.clone());
        }
        if self.next < self.urls.len() {
            return Ok(());
        }
        if let Some(mut first) = self.refused.take() {
            if self.missing.len() > 1 {
                first.message = format!("{} (Tried {}.)", first.message, self.missing.join(", "));
            }
            return Err(first);
        }
        // The last URL had a broken answer (a gateway's 502, JSON that is no object): that
        // error, with its hint (retry later, or a server to fix), says more than "not found".
        if !(400..=499).contains(&resp.status) {
            return Err(error);
        }
        Err(Error::protocol(
            "metadata_not_found",
            Some(resp.status),
            format!("No {what} at {}. {advice}", self.missing.join(" or ")),
        )
        .with_hint(crate::Hint::FixConfiguration))
    }
}

/// The authorization server metadata in a response, checked against the issuer asked for
/// (RFC 8414 §3.3, OIDC Discovery §4.3).
pub(crate) fn read_metadata(resp: &HttpResponse, issuer: &str) -> Result<ServerMetadata, Error> {
    let fields = resp.oauth_fields()?;
    let metadata = Object::new(serde_json::Value::Object(fields), "metadata").and_then(ServerMetadata::read).map_err(|_| {
        Error::protocol(
            "invalid_metadata",
            Some(resp.status),
            "The server's metadata document has members of the wrong type (issuer, endpoints and booleans must be strings and booleans).",
        )
    })?;
    if metadata.issuer != issuer {
        return Err(Error::protocol(
            "issuer_mismatch",
            Some(resp.status),
            format!(
                "The metadata says its issuer is `{}`, not `{}` as configured; they must be identical (RFC 8414 §3.3). Check the issuer URL, including any trailing slash.",
                short(&metadata.issuer),
                short(issuer)
            ),
        )
        .with_hint(crate::Hint::FixConfiguration));
    }
    Ok(metadata)
}

/// The well-known URLs for `issuer`, in the order they are tried.
pub fn well_known_urls(issuer: &Url, document: MetadataDocument) -> Vec<String> {
    // The origin, `scheme://host[:port]`: the text before the path (user information is
    // refused by `uri::parse`), the path being followed by the query and the fragment.
    let text = issuer.as_str();
    let end = text.len() - issuer.query().map_or(0, |q| q.len() + 1) - issuer.fragment().map_or(0, |f| f.len() + 1);
    let origin = text[..end].strip_suffix(issuer.path()).unwrap_or_default();
    let path = issuer.path().trim_end_matches('/');
    // OIDC Discovery §4: appended to the issuer.
    let openid = format!("{origin}{path}/.well-known/openid-configuration");
    // RFC 8414 §3.1: inserted between the host and the path.
    let oauth = format!("{origin}/.well-known/oauth-authorization-server{path}");
    match document {
        MetadataDocument::Auto => vec![openid, oauth],
        MetadataDocument::Openid => vec![openid],
        MetadataDocument::Oauth => vec![oauth],
        // MCP authorization, "Authorization Server Metadata Discovery": for an issuer with
        // a path, OIDC Discovery with the path inserted too (the form RFC 8414 §5 gives).
        MetadataDocument::Mcp if path.is_empty() => vec![oauth, openid],
        MetadataDocument::Mcp => vec![oauth, format!("{origin}/.well-known/openid-configuration{path}"), openid],
    }
}

impl Discovery {
    /// A discovery flow.
    ///
    /// # Errors
    /// The issuer is not an https URL (or loopback http), or has a query or fragment.
    pub fn new(config: DiscoveryConfig) -> Result<Self, Error> {
        let url = check_endpoint(&config.issuer, "issuer", config.allow_insecure_http)?;
        if url.query().is_some() {
            return Err(Error::usage("invalid_issuer", "The issuer must not contain a query (RFC 8414 §2)."));
        }
        let urls = Candidates::new(well_known_urls(&url, config.document));
        Ok(Discovery { ex: Exchange::new(), urls, issuer: config.issuer })
    }
}

impl Machine for Discovery {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, _now_ms: u64) -> Option<Action> {
        match self.urls.take() {
            Some(url) => {
                self.ex.send(Method::Get, url, vec![("Accept".into(), "application/json".into())], String::new());
            }
            None => self.ex.fail(Error::usage("internal_error", "No discovery URL left.")),
        }
        None
    }

    fn on_response(&mut self, resp: HttpResponse, _now_ms: u64) {
        match read_metadata(&resp, &self.issuer) {
            Ok(metadata) => self.ex.finish(Outcome::Metadata { metadata }),
            Err(error) => {
                let advice =
                    "Check the issuer URL (a realm or tenant named in it must exist), or configure the endpoints by hand.";
                if let Err(error) = self.urls.miss(&resp, error, "metadata document", advice) {
                    self.ex.fail(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8414_inserts_well_known_before_path() {
        let u = crate::uri::parse("https://as.example/tenant/1").unwrap();
        assert_eq!(
            well_known_urls(&u, MetadataDocument::Auto),
            vec![
                "https://as.example/tenant/1/.well-known/openid-configuration",
                "https://as.example/.well-known/oauth-authorization-server/tenant/1"
            ]
        );
        let u = crate::uri::parse("https://as.example").unwrap();
        assert_eq!(
            well_known_urls(&u, MetadataDocument::Oauth),
            vec!["https://as.example/.well-known/oauth-authorization-server"]
        );
        let u = crate::uri::parse("http://[::1]:8080/realms/dev/").unwrap();
        assert_eq!(
            well_known_urls(&u, MetadataDocument::Auto),
            vec![
                "http://[::1]:8080/realms/dev/.well-known/openid-configuration",
                "http://[::1]:8080/.well-known/oauth-authorization-server/realms/dev"
            ]
        );
        // The origin is the url crate's (RFC 6454).
        for issuer in ["https://AS.example:443/t?q#f", "http://127.0.0.1:8080", "https://xn--bcher-kva.example.:8443/a//"] {
            let u = crate::uri::parse(issuer).unwrap();
            let oauth = &well_known_urls(&u, MetadataDocument::Oauth)[0];
            assert!(oauth.starts_with(&format!("{}/.well-known/", u.origin().ascii_serialization())), "{oauth}");
        }
    }

    /// The known defect of the hand-written parser: an issuer with control characters in
    /// its path passed (it dropped tabs and newlines and escaped the rest).
    #[test]
    fn an_issuer_with_control_characters_is_refused() {
        for bad in ["\u{1b}]8;;https://evil.example\u{7}", "\u{9b}2J", "\r\nHost: evil.example", "\t", "\0", "\u{7f}", " "] {
            let issuer = format!("https://as.example/realms/a{bad}b");
            let e = Discovery::new(DiscoveryConfig { issuer, document: MetadataDocument::Auto, allow_insecure_http: false })
                .unwrap_err();
            assert_eq!((e.kind, e.code.as_str()), (crate::ErrorKind::Usage, "invalid_endpoint"), "{bad:?}");
            assert!(e.message.contains("`issuer`") && !e.message.contains("as.example"), "{}", e.message);
        }
    }
}
