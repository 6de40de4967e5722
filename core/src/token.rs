//! The token set a successful grant yields, and the parser of token responses
//! (RFC 6749 §5.1).

use crate::error::Error;
use crate::http::{HttpResponse, opt_seconds, opt_str, req_str};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// Tokens from a token response, with the expiry made absolute.
#[derive(Clone, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer` or `DPoP` (normalised spelling).
    pub token_type: String,
    /// When the access token expires, in Unix milliseconds (`now + expires_in`); `None`
    /// when the server did not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The refresh token, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// The granted scope: the server's `scope`, or the requested scope when the server
    /// omits it (RFC 6749 §5.1: omitted means "identical to the scope requested").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OpenID Connect ID token, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    /// Every other member of the token response, preserved.
    #[serde(skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "schema", schemars(default))]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where `value` breaks the token syntax, as a character position from 1 (0 when empty).
///
/// `access_token` and `refresh_token` are `1*VSCHAR` (RFC 6749 Appendix A.12, A.17), and an
/// access token is sent as `Authorization: Bearer <token>` (RFC 6750 §2.1, whose
/// `b64token` is narrower still); an ID token is a JWT in compact form (RFC 7519 §3); API
/// keys go in a header too. One rule serves them all: printable ASCII without the space
/// (%x21-7E). A token with CR LF would inject a header wherever it is sent (`curl -H
/// "Authorization: Bearer $(termauth token)"`), one with ESC would rewrite the terminal it
/// is printed on, one with a space would split the header value.
pub(crate) fn token_syntax_error(value: &str) -> Option<usize> {
    if value.is_empty() {
        return Some(0);
    }
    value.chars().position(|c| !matches!(c, '\u{21}'..='\u{7E}')).map(|i| i + 1)
}

/// The scopes of `asked` (space-separated, RFC 6749 §3.3) that `granted` does not hold.
pub fn scopes_missing<'a>(asked: &'a str, granted: &str) -> Vec<&'a str> {
    asked.split_whitespace().filter(|scope| !granted.split_whitespace().any(|g| g == *scope)).collect()
}

/// The refusal of a token field of a server's response that breaks [`token_syntax_error`];
/// the value is never quoted (it is a secret).
fn invalid_token_syntax(field: &str, position: usize, status: u16) -> Error {
    let what = if position == 0 {
        "is empty".to_string()
    } else {
        format!("has a character other than printable ASCII at character {position}")
    };
    Error::protocol(
        "invalid_token_syntax",
        Some(status),
        format!(
            "The server's `{field}` {what} (RFC 6749 Appendix A allows visible ASCII only); it could not be sent in an HTTP header or printed safely, so nothing was stored."
        ),
    )
}

/// The members [`TokenSet`] names; everything else goes to `extra`.
const KNOWN: [&str; 6] = ["access_token", "token_type", "expires_in", "refresh_token", "scope", "id_token"];

deserialize_via_value!(TokenSet => TokenSet::read);

impl TokenSet {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(TokenSet {
            access_token: o.token("access_token")?.into(),
            token_type: match o.str("token_type")?.as_str() {
                // Written as from_response normalises it; it goes into the Authorization header.
                t if t.eq_ignore_ascii_case("bearer") => "Bearer".to_string(),
                t if t.eq_ignore_ascii_case("dpop") => "DPoP".to_string(),
                _ => return Err("`token_type` must be Bearer or DPoP".into()),
            },
            expires_at: o.opt_uint("expires_at")?,
            refresh_token: o.opt_token("refresh_token")?.map(Secret::from),
            scope: o.opt_str("scope")?,
            id_token: o.opt_token("id_token")?.map(Secret::from),
            extra: o.map("extra")?,
        })
    }

    /// Parses a token endpoint response (status, headers and body).
    ///
    /// `requested_scope` is what the client asked for; it becomes the granted scope when
    /// the response omits `scope`.
    ///
    /// # Errors
    /// OAuth errors (RFC 6749 §5.2) and protocol errors: not JSON, missing
    /// `access_token` or `token_type`, `token_type` other than Bearer/DPoP, `expires_in`
    /// not a number, oversized body.
    pub fn from_response(resp: &HttpResponse, requested_scope: Option<&str>, now_ms: u64) -> Result<TokenSet, Error> {
        let fields = resp.oauth_fields()?;
        let status = resp.status;
        let access_token = req_str(&fields, "access_token", status)?;
        // RFC 6749 §7.1: the type decides how the token is used. Bearer (RFC 6750) and
        // DPoP (RFC 9449) are the ones a client can use; the value is case-insensitive.
        let raw_type = req_str(&fields, "token_type", status)?;
        let token_type = if raw_type.eq_ignore_ascii_case("bearer") {
            "Bearer"
        } else if raw_type.eq_ignore_ascii_case("dpop") {
            "DPoP"
        } else {
            return Err(Error::protocol(
                "token_type_unsupported",
                Some(status),
                format!(
                    "The server issued a `{}` token; termauth can use Bearer and DPoP tokens only.",
                    crate::http::short(&raw_type)
                ),
            ));
        };
        let expires_at = opt_seconds(&fields, "expires_in", status)?.map(|s| now_ms.saturating_add(s.saturating_mul(1000)));
        let refresh_token = opt_str(&fields, "refresh_token", status)?.filter(|s| !s.is_empty()).map(Secret::from);
        let scope = opt_str(&fields, "scope", status)?.or_else(|| requested_scope.map(str::to_string)).filter(|s| !s.is_empty());
        let id_token = opt_str(&fields, "id_token", status)?.filter(|s| !s.is_empty()).map(Secret::from);
        let tokens = [
            ("access_token", Some(access_token.as_str())),
            ("refresh_token", refresh_token.as_ref().map(Secret::expose)),
            ("id_token", id_token.as_ref().map(Secret::expose)),
        ];
        for (field, value) in tokens {
            if let Some(position) = value.and_then(token_syntax_error) {
                return Err(invalid_token_syntax(field, position, status));
            }
        }
        let mut extra = fields;
        extra.retain(|k, _| !KNOWN.contains(&k.as_str()));
        Ok(TokenSet {
            access_token: Secret::from(access_token),
            token_type: token_type.to_string(),
            expires_at,
            refresh_token,
            scope,
            id_token,
            extra,
        })
    }

    /// Merges a refresh response into the previous token set (RFC 6749 §6): a new refresh
    /// token replaces the old one (rotation); when none is returned the old one stays
    /// valid and is kept. An ID token missing from the refresh response is kept too.
    pub fn rotated(self, previous: &TokenSet) -> TokenSet {
        TokenSet {
            refresh_token: self.refresh_token.or_else(|| previous.refresh_token.clone()),
            id_token: self.id_token.or_else(|| previous.id_token.clone()),
            ..self
        }
    }

    /// True when the access token has expired at `now_ms` (never, when the expiry is unknown).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at.is_some_and(|at| now_ms >= at)
    }

    /// The `Authorization` header value: `Bearer <token>` (RFC 6750 §2.1).
    pub fn authorization(&self) -> Secret {
        Secret::new(format!("{} {}", self.token_type, self.access_token.expose()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> HttpResponse {
        HttpResponse { id: 1, status: 200, headers: vec![("content-type".into(), "application/json".into())], body: body.into() }
    }

    #[test]
    fn parses_and_defaults_scope() {
        let t = TokenSet::from_response(
            &ok(r#"{"access_token":"at","token_type":"bearer","expires_in":60,"refresh_token":"rt","x":1}"#),
            Some("read"),
            1_000,
        )
        .unwrap();
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.expires_at, Some(61_000));
        assert_eq!(t.scope.as_deref(), Some("read"));
        assert_eq!(t.extra["x"], 1);
    }

    #[test]
    fn malformed() {
        let code = |b: &str| TokenSet::from_response(&ok(b), None, 0).unwrap_err().code;
        assert_eq!(code(r#"{"token_type":"Bearer"}"#), "missing_field");
        assert_eq!(code(r#"{"access_token":"a","token_type":"mac"}"#), "token_type_unsupported");
        assert_eq!(code(r#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#), "invalid_field");
        assert_eq!(code(r#"{"access_token":5,"token_type":"Bearer"}"#), "invalid_field");
    }

    #[test]
    fn tokens_with_controls_spaces_or_non_ascii_are_refused_and_never_quoted() {
        for (field, value) in [
            ("access_token", "at\r\nX-Injected: 1"),
            ("access_token", "at\u{1b}]0;pwned\u{7}"),
            ("access_token", "two words"),
            ("access_token", "caf\u{e9}"),
            ("refresh_token", "rt\n"),
            ("refresh_token", "rt\u{9b}2J"),
            ("id_token", "eyJ.eyJ.sig\u{200B}"),
        ] {
            let mut body = serde_json::json!({"access_token": "at-ok", "token_type": "Bearer"});
            body[field] = value.into();
            let e = TokenSet::from_response(&ok(&body.to_string()), None, 0).unwrap_err();
            assert_eq!(e.code, "invalid_token_syntax", "{field} {value:?}");
            assert!(e.message.contains(field), "{}", e.message);
            assert!(!e.message.contains(value), "{}", e.message);
            assert!(!e.message.contains("pwned") && !e.message.contains("Injected"));
        }
        // Every visible ASCII character is allowed (RFC 6749 Appendix A: VSCHAR).
        let visible: String = ('!'..='~').collect();
        let body = serde_json::json!({"access_token": visible, "token_type": "Bearer", "refresh_token": visible});
        assert!(TokenSet::from_response(&ok(&body.to_string()), None, 0).is_ok());
        // A stored record is read by the same rule.
        let stored = serde_json::json!({"access_token": "at\r\nX: y", "token_type": "Bearer"});
        let e = TokenSet::try_from(stored).unwrap_err();
        assert!(e.contains("`access_token`") && !e.contains("X: y"), "{e}");
    }

    #[test]
    fn rotation_keeps_old_refresh_token() {
        let old =
            TokenSet::from_response(&ok(r#"{"access_token":"a1","token_type":"Bearer","refresh_token":"r1"}"#), None, 0).unwrap();
        let new = TokenSet::from_response(&ok(r#"{"access_token":"a2","token_type":"Bearer"}"#), None, 0).unwrap();
        assert_eq!(new.rotated(&old).refresh_token.unwrap().expose(), "r1");
        let newer =
            TokenSet::from_response(&ok(r#"{"access_token":"a3","token_type":"Bearer","refresh_token":"r2"}"#), None, 0).unwrap();
        assert_eq!(newer.rotated(&old).refresh_token.unwrap().expose(), "r2");
    }
}
