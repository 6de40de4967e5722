//! `TokenSet::from_response` on an arbitrary status, headers and body
//! (`@scope: …` is the requested scope, `@now: ms` the clock).

use crate::{RawResponse, T0, assert_no_token_in_error};
use termauth_core::{Credential, CredentialData, ErrorKind, Grant, TokenSet};

/// The target.
pub fn run(data: &[u8]) {
    let raw = RawResponse::parse(&String::from_utf8_lossy(data));
    let resp = raw.response(1);
    let scope = raw.pseudo("scope");
    let now = raw.pseudo_u64("now").unwrap_or(T0);
    match TokenSet::from_response(&resp, scope, now) {
        Ok(tokens) => {
            assert!(resp.is_success(), "tokens from HTTP {}", resp.status);
            assert!(!tokens.access_token.is_empty());
            assert!(tokens.token_type == "Bearer" || tokens.token_type == "DPoP", "{}", tokens.token_type);
            if let Some(at) = tokens.expires_at {
                assert!(at >= now, "expires_at before now");
            }
            let fields = resp.fields().expect("fields of an accepted response");
            if fields.get("scope").is_none_or(|v| v.is_null()) {
                assert_eq!(
                    tokens.scope.as_deref(),
                    scope.filter(|s| !s.is_empty()),
                    "the requested scope stands in for an omitted one"
                );
            }
            let auth = tokens.authorization();
            assert_eq!(auth.expose(), format!("{} {}", tokens.token_type, tokens.access_token.expose()));
            assert_eq!(tokens.is_expired(now), tokens.expires_at.is_some_and(|at| at <= now));
            // Rotation: a missing refresh token keeps the previous one.
            let previous = TokenSet::from_response(
                &termauth_core::HttpResponse {
                    id: 1,
                    status: 200,
                    headers: vec![],
                    body: r#"{"access_token":"old-at","token_type":"Bearer","refresh_token":"old-rt","id_token":"old-id"}"#
                        .into(),
                },
                None,
                0,
            )
            .unwrap();
            let merged = tokens.clone().rotated(&previous);
            let want_rt = tokens.refresh_token.clone().or(previous.refresh_token.clone());
            assert_eq!(merged.refresh_token, want_rt);
            assert_eq!(merged.access_token, tokens.access_token);
            // Whatever a server sends, the record that stores it reads back the same.
            for grant in [Grant::DeviceCode, Grant::AuthorizationCode, Grant::ClientCredentials] {
                let c = Credential::new(
                    CredentialData::OAuth {
                        issuer: "https://as.example.com".into(),
                        client_id: "cli".into(),
                        grant,
                        tokens: merged.clone(),
                        granted_scope: None,
                    },
                    now,
                );
                let back = Credential::from_json(&c.to_json()).unwrap_or_else(|e| panic!("record does not read back: {e:?}"));
                assert_eq!(back, c, "record reads back different");
            }
        }
        Err(e) => {
            assert!(matches!(e.kind, ErrorKind::Protocol | ErrorKind::OAuth), "{e:?}");
            assert_eq!(e.status, Some(resp.status), "the error carries the status");
            if let Ok(fields) = resp.fields() {
                assert_no_token_in_error(&resp, &fields, |r| TokenSet::from_response(r, scope, now).map(|_| ()));
            }
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<termauth_core::Error>(&json).unwrap(), e);
        }
    }
}
