//! API keys and personal access tokens: no network. The flow validates the key, asks the
//! driver to persist it, and finishes.
//!
//! | state | poll |
//! |---|---|
//! | `Start` | `Persist{api_key}`, then `Done{credential}` |

use crate::credential::{Credential, CredentialData, Presentation};
use crate::error::Error;
use crate::flow::{Action, Exchange, Machine, Outcome};
use crate::http::HttpResponse;
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use serde::Serialize;

/// API key configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ApiKeyConfig {
    /// The key (read from stdin or an environment variable by the driver; never a flag).
    pub key: Secret,
    /// How it is sent.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub presentation: Presentation,
}

deserialize_via_value!(ApiKeyConfig => ApiKeyConfig::read);

impl ApiKeyConfig {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(ApiKeyConfig { key: o.str("key")?.into(), presentation: Presentation::read_member(&mut o)? })
    }
}

/// The API key flow.
#[derive(Debug, Clone)]
pub struct ApiKey {
    ex: Exchange,
    key: Secret,
    presentation: Presentation,
}

/// True for an RFC 9110 §5.6.2 token (a valid header name).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl ApiKey {
    /// An API key flow.
    ///
    /// # Errors
    /// `invalid_api_key` for an empty key or one with anything but printable ASCII
    /// (whitespace, control characters, non-ASCII: it would break, or inject into, the
    /// HTTP header; [`crate::token::token_syntax_error`]); `invalid_header_name`.
    pub fn new(config: ApiKeyConfig) -> Result<Self, Error> {
        let key = config.key.expose().trim();
        if crate::token::token_syntax_error(key).is_some() {
            return Err(Error::usage(
                "invalid_api_key",
                "The API key is empty or contains spaces, control characters or non-ASCII characters; paste the key alone, on one line.",
            ));
        }
        if let Presentation::Header { name, prefix } = &config.presentation
            && (!is_header_name(name) || prefix.chars().any(crate::error::is_unsafe_for_terminal))
        {
            return Err(Error::usage(
                "invalid_header_name",
                "The header used to present the API key must be a valid HTTP header name (letters, digits, `-`), and its prefix must be printable.",
            ));
        }
        Ok(ApiKey { ex: Exchange::new(), key: Secret::new(key), presentation: config.presentation })
    }
}

impl Machine for ApiKey {
    fn exchange(&mut self) -> &mut Exchange {
        &mut self.ex
    }

    fn step(&mut self, now_ms: u64) -> Option<Action> {
        let credential = Credential::new(
            CredentialData::ApiKey {
                key: self.key.clone(),
                presentation: self.presentation.clone(),
                issuer: None,
                client_id: None,
            },
            now_ms,
        );
        self.ex.emit(Action::Persist { credential: credential.clone() });
        self.ex.finish(Outcome::Credential { credential });
        None
    }

    fn on_response(&mut self, _resp: HttpResponse, _now_ms: u64) {}
}
