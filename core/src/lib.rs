//! # termauth-core
//!
//! Every way a command-line tool logs a person or a machine in, as sans-IO state
//! machines: requests out, responses in, no network, no clock, no files. Drivers (the
//! `termauth` Rust crate, the npm, pip, C and Go packages) supply transport, storage and
//! the terminal; this crate makes every protocol decision, so they all behave the same.
//!
//! * Flows: [`flows::DeviceFlow`] (RFC 8628), [`flows::AuthorizationCodeFlow`] (RFC 8252 +
//!   RFC 7636 S256), client credentials, password (opt-in), refresh with rotation
//!   ([`flows::TokenGrant`]), revocation and introspection ([`flows::TokenEndpointCall`]),
//!   [`flows::Discovery`] (RFC 8414 / OIDC), [`flows::ApiKey`].
//! * One driver contract: [`Flow::poll`] → [`Action`], [`Flow::handle`] ← [`Input`].
//! * [`FlowSpec`] builds any flow from one JSON shape; [`Credential`] is the stored record;
//!   [`lifecycle::decide`] says use / refresh / re-login; [`auto`] picks the login method
//!   `auto` means from where the CLI runs.
//! * Errors ([`Error`]) come in families with a stable code and a [`Hint`].
//!
//! See `ARCHITECTURE.md` at the repository root for the transitions of each flow and
//! `tests/vectors/README.md` for the JSON conversation format every binding replays.
#![forbid(unsafe_code)]

pub mod auto;
pub mod challenge;
pub mod config;
pub mod credential;
mod encoding;
pub mod environment;
pub mod error;
pub mod flow;
pub mod flows;
pub mod helpers;
pub mod http;
mod json;
pub mod lifecycle;
mod pkce;
pub mod proxy;
mod rng;
pub mod secret;
pub mod session;
pub mod spec;
pub mod store;
pub mod texts;
pub mod token;
mod uri;

pub use config::{Client, ClientAuth, ServerMetadata};
pub use credential::{Credential, CredentialData, Grant, Presentation, SCHEMA_VERSION};
pub use error::{Error, ErrorKind, Hint};
pub use flow::{Action, Flow, Input, Introspection, Outcome, TransportErrorKind, UserCodePrompt};
pub use http::{HttpRequest, HttpResponse, Method};
pub use pkce::{new_verifier as pkce_verifier, s256_challenge as pkce_challenge};
pub use rng::{Rng, parse_seed_hex};
pub use secret::Secret;
pub use spec::{AnyFlow, FlowSpec};
pub use token::TokenSet;

/// What the fuzz harness (`core/fuzz`) reaches inside the crate; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::encoding::base64url;
    pub use crate::uri::parse as parse_url;
}
