//! # termauth
//!
//! Log a person or a machine in from a Rust CLI, with the token lifecycle done right:
//! the device flow (RFC 8628), a browser with a loopback redirect and PKCE (RFC 8252,
//! RFC 7636), a pasted redirect for browsers on another machine, client credentials for
//! CI, API keys / personal access tokens, and the legacy password grant on request.
//! Tokens live in the OS keyring (or a 0600 file that says why), are refreshed with
//! rotation under a cross-process lock, and are revoked at logout.
//!
//! The protocol is [`termauth_core`] (sans-IO); this crate is its driver: transport
//! ([`transport`]), loopback listener ([`listener`]), storage primitives ([`storage`]), terminal
//! ([`ui`]), and the [`Client`] API. The `termauth` binary is a CLI over [`Client`].
//!
//! ```no_run
//! use termauth::{Client, Config, LoginMethod};
//! let mut config = Config::new("mycli", "https://login.example.com", "mycli-public");
//! config.scope = Some("openid offline_access".into());
//! let mut auth = Client::new(config)?;
//! auth.login(LoginMethod::Device)?;
//! println!("{}", auth.get_token()?.expose());
//! # Ok::<(), termauth::Error>(())
//! ```

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod driver;
pub mod environment;
#[cfg(feature = "client")]
pub mod listener;
pub mod storage;
pub mod store;
#[cfg(feature = "client")]
pub mod transport;
pub mod ui;

#[cfg(feature = "client")]
pub use client::{
    Client, Config, CredentialLock, LoginMethod, LoginReport, LogoutReport, ProfileInfo, SecretMethod, Status, TokenReport,
};
pub use termauth_core::store::{StoreChoice, StoreKind, StorePreference};
pub use termauth_core::{self as core, Error, ErrorKind, Hint, Presentation, Secret};
