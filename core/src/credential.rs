//! The credential record: what a driver stores (keyring or file) and reads back, in
//! every language. Versioned JSON; one record per (app, issuer, client_id, profile), the
//! key being the driver's business.
//!
//! ```json
//! {"schema_version":1,"kind":"oauth","issuer":"https://as.example","client_id":"cli",
//!  "grant":"device_code","updated_at":1700000000000,
//!  "tokens":{"access_token":"…","token_type":"Bearer","expires_at":1700003600000,
//!            "refresh_token":"…","scope":"openid offline_access"}}
//! {"schema_version":1,"kind":"api_key","key":"…","presentation":{"scheme":"bearer"},
//!  "updated_at":1700000000000}
//! ```
//!
//! Records contain secrets: stores must protect them (keyring, or 0600 files).

use crate::error::Error;
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use crate::token::TokenSet;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The record version this build writes. Readers accept it and every older version they
/// know how to upgrade; a newer version is refused with `credential_newer_version`
/// (never silently overwritten).
pub const SCHEMA_VERSION: u32 = 1;

/// How the OAuth tokens in a record were obtained; decides how they are renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// RFC 8628 device authorization grant.
    DeviceCode,
    /// Authorization code with PKCE (loopback or pasted redirect).
    AuthorizationCode,
    /// Client credentials (CI): renewed by running the grant again, not by refresh.
    ClientCredentials,
    /// Resource owner password credentials (legacy).
    Password,
}

impl Grant {
    /// The `grant_type` value of RFC 6749 / RFC 8628.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Grant::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            Grant::AuthorizationCode => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::Password => "password",
        }
    }
}

/// How an API key or personal access token is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum Presentation {
    /// `Authorization: Bearer <key>` (RFC 6750 §2.1).
    #[default]
    Bearer,
    /// A named header with an optional prefix, e.g. `X-API-Key: <key>` or
    /// `Authorization: token <key>`.
    Header {
        /// The header name.
        name: String,
        /// Text put before the key (include the space), e.g. `"token "`.
        #[cfg_attr(feature = "schema", schemars(default))]
        prefix: String,
    },
}

/// What a record holds.
// A record is held once per login: the size of the OAuth variant does not matter, and
// boxing its token set would change the public shape users match on.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialData {
    /// An OAuth token set.
    #[serde(rename = "oauth")]
    OAuth {
        /// The issuer the tokens came from.
        issuer: String,
        /// The client they were issued to.
        client_id: String,
        /// How they were obtained.
        grant: Grant,
        /// The tokens.
        tokens: TokenSet,
        /// The scope of the grant itself: what the login was granted. A refresh may narrow
        /// the access token's scope (`tokens.scope`) but can always ask for anything within
        /// this one again (RFC 6749 §6). Absent in records where it equals `tokens.scope`.
        #[serde(skip_serializing_if = "Option::is_none")]
        granted_scope: Option<String>,
    },
    /// An API key or personal access token: no network, no expiry known to termauth.
    ApiKey {
        /// The key.
        key: Secret,
        /// How it is sent.
        #[cfg_attr(feature = "schema", schemars(default))]
        presentation: Presentation,
        /// The issuer and client the key was stored for (the session fills them in at login),
        /// so a listing of every stored credential can name them. Absent in records written
        /// before they were kept.
        #[serde(skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
        /// See `issuer`.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

/// A stored credential: a versioned record (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Credential {
    /// The record format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the record was last written (Unix milliseconds).
    pub updated_at: u64,
    /// The payload.
    #[serde(flatten)]
    pub data: CredentialData,
}

deserialize_via_value!(
    Presentation => Presentation::read,
    CredentialData => CredentialData::read,
    Credential => Credential::read,
);

impl Presentation {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(match o.tag("scheme")?.as_str() {
            "bearer" => Presentation::Bearer,
            "header" => {
                // Sent as a header: the same rules as when the key was stored (ApiKey::new).
                let (name, prefix) = (o.str("name")?, o.str_or("prefix", "")?);
                if !crate::flows::api_key::is_header_name(&name) || prefix.chars().any(crate::error::is_unsafe_for_terminal) {
                    return Err("`presentation` has a header name or prefix that cannot be sent in an HTTP header".into());
                }
                Presentation::Header { name, prefix }
            }
            _ => return Err(o.unknown_tag("scheme", "bearer, header")),
        })
    }

    /// The optional `presentation` member of `o` (bearer when absent).
    pub(crate) fn read_member(o: &mut Object) -> Result<Self, ReadError> {
        Ok(o.opt_object("presentation")?.map(Presentation::read).transpose()?.unwrap_or_default())
    }
}

impl CredentialData {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(match o.tag("kind")?.as_str() {
            "oauth" => CredentialData::OAuth {
                issuer: o.str("issuer")?,
                client_id: o.str("client_id")?,
                grant: o.variant("grant")?,
                tokens: TokenSet::read(o.object("tokens")?)?,
                granted_scope: o.opt_str("granted_scope")?,
            },
            "api_key" => CredentialData::ApiKey {
                key: o.token("key")?.into(),
                presentation: Presentation::read_member(&mut o)?,
                issuer: o.opt_str("issuer")?,
                client_id: o.opt_str("client_id")?,
            },
            _ => return Err(o.unknown_tag("kind", "oauth, api_key")),
        })
    }
}

impl Credential {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        let schema_version = o.uint("schema_version")?;
        let updated_at = o.uint("updated_at")?;
        Ok(Credential { schema_version, updated_at, data: CredentialData::read(o)? })
    }

    /// Who is logged in, for `Logged in as …` and `status`: the ID token's `email`, else
    /// `preferred_username`, else `name`, else `sub` (OpenID Connect Core §5.1), shown
    /// through [`crate::texts::shown`]. Only from an ID token issued by this credential's
    /// issuer to its client (`iss` and `aud`, §3.1.3.7 steps 2–3: it came from the token
    /// endpoint over TLS, which step 6 accepts in place of the signature); `None` for an
    /// API key, a login without `openid`, or an ID token that is not this grant's.
    ///
    /// ```
    /// use termauth_core::Credential;
    /// // {"iss":"https://as","aud":"cli","sub":"u1","email":"alice@example.com"}
    /// let id = "e30.eyJpc3MiOiJodHRwczovL2FzIiwiYXVkIjoiY2xpIiwic3ViIjoidTEiLCJlbWFpbCI6ImFsaWNlQGV4YW1wbGUuY29tIn0.c2ln";
    /// let c = Credential::from_json(&format!(r#"{{"schema_version":1,"updated_at":0,"kind":"oauth",
    ///   "issuer":"https://as","client_id":"cli","grant":"device_code",
    ///   "tokens":{{"access_token":"a","token_type":"Bearer","id_token":"{id}"}}}}"#)).unwrap();
    /// assert_eq!(c.account().as_deref(), Some("alice@example.com"));
    /// ```
    pub fn account(&self) -> Option<String> {
        let CredentialData::OAuth { issuer, client_id, tokens, .. } = &self.data else { return None };
        let payload = tokens.id_token.as_ref()?.expose().split('.').nth(1)?;
        let text = String::from_utf8(crate::encoding::base64url_decode(payload)?).ok()?;
        let claims: serde_json::Value = serde_json::from_str(&text).ok()?;
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => a == client_id,
            Some(serde_json::Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(client_id.as_str())),
            _ => false,
        };
        if claims.get("iss").and_then(serde_json::Value::as_str) != Some(issuer.as_str()) || !audience_ok {
            return None;
        }
        ["email", "preferred_username", "name", "sub"]
            .iter()
            .find_map(|claim| claims.get(*claim).and_then(serde_json::Value::as_str).filter(|v| !v.trim().is_empty()))
            .map(crate::texts::shown)
    }

    /// A new record of the current version.
    pub fn new(data: CredentialData, now_ms: u64) -> Self {
        Credential { schema_version: SCHEMA_VERSION, updated_at: now_ms, data }
    }

    /// Serializes the record (compact JSON; it contains secrets).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a stored record, checking its version first.
    ///
    /// # Errors
    /// `credential_corrupt` when the text is not a valid record (the message names the
    /// position, never a value); `credential_newer_version` when a newer termauth wrote it.
    ///
    /// ```
    /// use termauth_core::Credential;
    /// let err = Credential::from_json(r#"{"schema_version":99,"kind":"oauth"}"#).unwrap_err();
    /// assert_eq!(err.code, "credential_newer_version");
    /// ```
    pub fn from_json(text: &str) -> Result<Credential, Error> {
        let corrupt = |why: String| {
            Error::storage(
                "credential_corrupt",
                format!(
                    "The stored credential is not a valid termauth record ({why}). Log in again to replace it, or restore it from a backup."
                ),
                crate::Hint::Reauthenticate,
            )
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| corrupt(format!("not JSON at line {} column {}", e.line(), e.column())))?;
        let version =
            value.get("schema_version").and_then(Value::as_u64).ok_or_else(|| corrupt("no schema_version".to_string()))?;
        if version > u64::from(SCHEMA_VERSION) {
            return Err(Error::storage(
                "credential_newer_version",
                format!(
                    "The stored credential was written by a newer termauth (record version {version}, this one reads up to {SCHEMA_VERSION}). Upgrade termauth; the record was left as it is."
                ),
                crate::Hint::FixConfiguration,
            ));
        }
        if version == 0 {
            return Err(corrupt("schema_version 0".to_string()));
        }
        // Version 1 is current; later versions add their upgrade steps here.
        // The reader's messages name the member at fault, never its value (a secret).
        Object::new(value, "The record").and_then(Credential::read).map_err(corrupt)
    }

    /// The header that presents this credential: `(name, value)`.
    ///
    /// ```
    /// use termauth_core::{Credential, CredentialData, Presentation, Secret};
    /// let c = Credential::new(CredentialData::ApiKey {
    ///     key: Secret::new("k123"),
    ///     presentation: Presentation::Header { name: "X-API-Key".into(), prefix: String::new() },
    ///     issuer: None,
    ///     client_id: None,
    /// }, 0);
    /// let (name, value) = c.authorization_header();
    /// assert_eq!((name.as_str(), value.expose()), ("X-API-Key", "k123"));
    /// ```
    pub fn authorization_header(&self) -> (String, Secret) {
        match &self.data {
            CredentialData::OAuth { tokens, .. } => ("Authorization".to_string(), tokens.authorization()),
            CredentialData::ApiKey { key, presentation: Presentation::Bearer, .. } => {
                ("Authorization".to_string(), Secret::new(format!("Bearer {}", key.expose())))
            }
            CredentialData::ApiKey { key, presentation: Presentation::Header { name, prefix }, .. } => {
                (name.clone(), Secret::new(format!("{prefix}{}", key.expose())))
            }
        }
    }

    /// The token or key itself (what `termauth token` prints).
    pub fn secret(&self) -> &Secret {
        match &self.data {
            CredentialData::OAuth { tokens, .. } => &tokens.access_token,
            CredentialData::ApiKey { key, .. } => key,
        }
    }

    /// The OAuth tokens, if this is an OAuth record.
    pub fn tokens(&self) -> Option<&TokenSet> {
        match &self.data {
            CredentialData::OAuth { tokens, .. } => Some(tokens),
            CredentialData::ApiKey { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let c = Credential::from_json(
            r#"{"schema_version":1,"updated_at":5,"kind":"oauth","issuer":"https://as","client_id":"c","grant":"device_code",
                "tokens":{"access_token":"a","token_type":"Bearer","expires_at":10}}"#,
        )
        .unwrap();
        assert_eq!(Credential::from_json(&c.to_json()).unwrap(), c);
        assert_eq!(Credential::from_json("{").unwrap_err().code, "credential_corrupt");
        assert_eq!(Credential::from_json(r#"{"kind":"oauth"}"#).unwrap_err().code, "credential_corrupt");
        let e = Credential::from_json(r#"{"schema_version":1,"updated_at":0,"kind":"api_key","key":12345}"#).unwrap_err();
        assert_eq!(e.code, "credential_corrupt");
        assert!(!e.message.contains("12345"));
    }

    fn with_id_token(claims: serde_json::Value) -> Credential {
        let id = format!("e30.{}.c2ln", crate::encoding::base64url(claims.to_string().as_bytes()));
        let record = serde_json::json!({"schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": "https://as",
            "client_id": "cli", "grant": "device_code", "tokens": {"access_token": "a", "token_type": "Bearer", "id_token": id}});
        Credential::from_json(&record.to_string()).unwrap()
    }

    /// Who is logged in: the first of email, preferred_username, name, sub; only from this
    /// grant's ID token; a claim's terminal controls made visible.
    #[test]
    fn account_from_the_id_token() {
        use serde_json::json;
        let ok = |extra: serde_json::Value| {
            let mut claims = json!({"iss": "https://as", "aud": ["other", "cli"], "sub": "u-1"});
            claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            with_id_token(claims).account()
        };
        assert_eq!(ok(json!({"email": "a@example.com", "name": "A"})).as_deref(), Some("a@example.com"));
        assert_eq!(ok(json!({"preferred_username": "alice", "email": " "})).as_deref(), Some("alice"));
        assert_eq!(ok(json!({})).as_deref(), Some("u-1"));
        let hostile = ok(json!({"email": "x\u{1b}]0;pwned\u{7}@evil"})).unwrap();
        assert!(!hostile.chars().any(char::is_control), "{hostile:?}");
        for foreign in [
            json!({"iss": "https://evil", "aud": "cli", "email": "e"}),
            json!({"iss": "https://as", "aud": "other", "email": "e"}),
        ] {
            assert_eq!(with_id_token(foreign).account(), None);
        }
        let key = Credential::from_json(r#"{"schema_version":1,"updated_at":0,"kind":"api_key","key":"k"}"#).unwrap();
        assert_eq!(key.account(), None);
    }
}
