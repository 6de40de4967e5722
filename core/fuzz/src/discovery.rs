//! The discovery flow fed arbitrary metadata responses. The first section picks the
//! configuration (`issuer=N document=auto|openid|oauth`), each later one answers the
//! next request.

use crate::{Driver, RawResponse, T0, sections, start};
use serde_json::json;
use termauth_core::flows::MetadataDocument;
use termauth_core::flows::discovery::well_known_urls;
use termauth_core::{Action, Method, Outcome};

const ISSUERS: [&str; 5] = [
    "https://as.example.com",
    "https://as.example.com/",
    "https://as.example.com/tenant/1",
    "http://127.0.0.1:8080/realms/dev",
    "https://login.example.com/a/b/",
];

/// The target.
pub fn run(data: &[u8]) {
    let secs = sections(data);
    let config = &secs[0];
    let issuer = ISSUERS[config.bytes().find(u8::is_ascii_digit).map_or(0, |b| (b - b'0') as usize) % ISSUERS.len()];
    let (document, name) = if config.contains("openid") {
        (MetadataDocument::Openid, "openid")
    } else if config.contains("oauth") {
        (MetadataDocument::Oauth, "oauth")
    } else {
        (MetadataDocument::Auto, "auto")
    };
    let urls = well_known_urls(&termauth_core::fuzzing::parse_url(issuer).unwrap(), document);
    let mut d = Driver::new(start(json!({ "flow": "discovery", "issuer": issuer, "document": name }), 0), T0);
    let mut answered = Vec::new();
    for text in &secs[1..] {
        let req = match d.drain() {
            Action::SendRequest(r) => r,
            Action::Done { result: Outcome::Metadata { metadata } } => {
                assert_eq!(metadata.issuer, issuer, "metadata for another issuer accepted");
                let last: &termauth_core::HttpResponse = answered.last().expect("Done without a response");
                assert!(last.is_success(), "metadata from HTTP {}", last.status);
                break;
            }
            Action::Failed { .. } => break,
            other => panic!("discovery: unexpected {other:?}"),
        };
        assert_eq!(req.method, Method::Get);
        assert_eq!(Some(&req.url), urls.get(d.requests.len() - 1), "discovery fetched an unexpected URL");
        let raw = RawResponse::parse(text);
        if d.answer(&raw, req.id).is_ok() && raw.pseudo("transport").is_none() {
            answered.push(raw.response(req.id));
        }
    }
    if let Action::Done { result: Outcome::Metadata { metadata } } = d.drain() {
        assert_eq!(metadata.issuer, issuer, "metadata for another issuer accepted");
    }
    assert!(d.requests.len() <= urls.len());
    d.finish();
}
