//! The session: everything above the flows, as one sans-IO machine — log in (with `auto`,
//! the keyring probe), get a valid token (the whole
//! renewal under the cross-process lock), refresh, log out, status and profiles, with the
//! store's rules, the metadata cache, the environment's precedence and every sentence the
//! user reads. A driver runs one [`Session`] per command and only executes its actions:
//! HTTP, the loopback listener, a handful of storage primitives, a browser, the terminal.
//!
//! ```text
//!            ┌──────────────────── poll(now_ms) ────────────────────┐
//!            ▼                                                      │
//!   driver ◀─ send_request · launch_browser · listen ·                 (do it, then handle its answer:
//!             read_file · write_file · make_private · remove_file ·     http_response / transport_error,
//!             list_dir · create_exclusive · process_alive ·              browser_launched, listening,
//!             keyring_get · keyring_set · keyring_delete                 file_contents, completed, removed,
//!                                                                        dir_listing, created, process_status,
//!                                                                        keyring_value, io_error)
//!          ◀─ show_user_code · show_authorization_url · notice ·       (render it, poll again)
//!             answer_browser
//!          ◀─ wait_until · await_redirect · await_response             (wait; redirect / input_closed / cancel)
//!          ◀─ done{result} · failed{error}                             (stop; sticky)
//! ```
//!
//! The same rules as the flows (`crate::flow`): time is wall-clock Unix milliseconds
//! passed in; ids are echoed back; a wrong, repeated or early answer is a usage error that
//! changes nothing; `cancel` is always accepted. One request is outstanding at a time.
//!
//! ```
//! use termauth_core::session::{Action, Command, Input, Session, SessionConfig, SessionSpec};
//! use termauth_core::environment::{Environment, Platform};
//! use termauth_core::Rng;
//! let mut env = Environment::default();
//! env.platform = Platform::Linux;
//! env.vars.insert("HOME".into(), "/home/u".into());
//! let spec = SessionSpec::new(Command::GetToken, SessionConfig::new("mycli", "https://as.example", "cli"), env);
//! let mut session = Session::start(spec, Rng::from_seed([0; 32]), 1_000).unwrap();
//! // No profile chosen: the session reads profiles.json first.
//! let Action::ReadFile { id, path } = session.poll(1_000) else { panic!() };
//! assert_eq!(path, "/home/u/.config/mycli/profiles.json");
//! session.handle(Input::FileContents { id, contents: None, modified_ms: None, mode: None, owned: None }, 1_000).unwrap();
//! // Then the credential: the file store, then the keyring pointer.
//! let Action::ReadFile { id, .. } = session.poll(1_000) else { panic!() };
//! session.handle(Input::FileContents { id, contents: None, modified_ms: None, mode: None, owned: None }, 1_000).unwrap();
//! let Action::ReadFile { id, .. } = session.poll(1_000) else { panic!() };
//! session.handle(Input::FileContents { id, contents: None, modified_ms: None, mode: None, owned: None }, 1_000).unwrap();
//! let Action::Failed { error } = session.poll(1_000) else { panic!() };
//! assert_eq!(error.code, "not_logged_in");
//! ```

mod io;
mod ops;

use crate::config::ServerMetadata;
use crate::credential::{Credential, Grant, Presentation};
use crate::environment::Environment;
use crate::error::Error;
use crate::flow::{TransportErrorKind, UserCodePrompt};
use crate::http::{HttpRequest, HttpResponse};
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::lifecycle::Policy;
use crate::rng::Rng;
use crate::secret::Secret;
use crate::store::{StoreChoice, StorePreference};
use crate::texts::Prompt;
use io::{Arrival, Io};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

pub use crate::flows::authorization_code::DEFAULT_REDIRECT_TIMEOUT_MS;

/// How a confidential client sends its secret (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecretMethod {
    /// HTTP Basic, the default.
    #[default]
    Basic,
    /// In the form body.
    Post,
}

/// What a session needs to know about the client, the server and the store. Build it with
/// [`SessionConfig::new`] and set what differs from the defaults.
#[derive(Clone, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
#[non_exhaustive]
pub struct SessionConfig {
    /// The application name: config directory, keyring service, `<APP>_TOKEN`.
    pub app: String,
    /// The issuer (discovery runs against it unless `metadata` is given).
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// The scope to request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A client secret; `<APP>_CLIENT_SECRET`, then `TERMAUTH_CLIENT_SECRET` when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// How the secret is sent.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub secret_method: SecretMethod,
    /// The profile; the active one (or `default`) when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Where credentials go.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub store: StorePreference,
    /// The config directory; `<APP>_CONFIG_DIR` or the platform's when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_dir: Option<String>,
    /// Server metadata written by hand; discovery (cached a day) when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ServerMetadata>,
    /// The loopback redirect host (a loopback IP literal or `localhost`).
    #[cfg_attr(feature = "schema", schemars(default = "SessionConfig::default_redirect_host"))]
    pub redirect_host: String,
    /// The loopback port (0: any free port; fix it for `ssh -L`).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub redirect_port: u16,
    /// The loopback redirect path.
    #[cfg_attr(feature = "schema", schemars(default = "SessionConfig::default_redirect_path"))]
    pub redirect_path: String,
    /// A complete redirect URI for paste mode (default: the loopback one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// RFC 8707 resource indicators.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub resource: Vec<String>,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub allow_insecure_http: bool,
    /// Allow the legacy password grant.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub enable_password_grant: bool,
    /// Renew this long before expiry (capped at half the token's lifetime).
    #[cfg_attr(feature = "schema", schemars(default = "SessionConfig::default_refresh_skew_ms"))]
    pub refresh_skew_ms: u64,
    /// How long a browser login waits for the redirect.
    #[cfg_attr(feature = "schema", schemars(default = "SessionConfig::default_redirect_timeout_ms"))]
    pub redirect_timeout_ms: u64,
    /// How long to wait for another process's credential lock before giving up
    /// (`store_locked`). The default outlives an abandoned lock (see `crate::store`).
    #[cfg_attr(feature = "schema", schemars(default = "SessionConfig::default_lock_wait_ms"))]
    pub lock_wait_ms: u64,
    /// Whether the session may ask the driver to open a browser (`false`: only print URLs).
    #[cfg_attr(feature = "schema", schemars(default = "SessionConfig::default_launch_browser"))]
    pub launch_browser: bool,
    /// A trace of every HTTP exchange as `notice`s (code `http_trace`), with every token,
    /// code, secret and verifier redacted (`crate::http::trace_request`); also turned on by
    /// `TERMAUTH_DEBUG`. For diagnosing a server, never for logs kept.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub debug: bool,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("app", &self.app)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("client_secret", &self.client_secret)
            .field("profile", &self.profile)
            .field("store", &self.store)
            .field("config_dir", &self.config_dir)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// A configuration with the defaults: public client, keyring first, discovery,
    /// `127.0.0.1` on any port at `/callback`, a 60 s refresh skew, 5 min for a redirect.
    pub fn new(app: impl Into<String>, issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        SessionConfig {
            app: app.into(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            scope: None,
            client_secret: None,
            secret_method: SecretMethod::Basic,
            profile: None,
            store: StorePreference::Auto,
            config_dir: None,
            metadata: None,
            redirect_host: "127.0.0.1".into(),
            redirect_port: 0,
            redirect_path: "/callback".into(),
            redirect_uri: None,
            resource: Vec::new(),
            allow_insecure_http: false,
            enable_password_grant: false,
            refresh_skew_ms: Policy::default().refresh_skew_ms,
            redirect_timeout_ms: DEFAULT_REDIRECT_TIMEOUT_MS,
            lock_wait_ms: crate::store::LOCK_WAIT_MS,
            launch_browser: true,
            debug: false,
        }
    }

    /// Parses a spec's `config` member alone, for a host that keeps it parsed between
    /// sessions ([`SessionSpec::from_json`]'s errors, rooted at `config`).
    ///
    /// # Errors
    /// `invalid_session_spec`, as [`SessionSpec::from_json`].
    pub fn from_json(text: &str) -> Result<SessionConfig, Error> {
        parse_spec_part(text, "config", SessionConfig::read)
    }

    fn read(mut o: Object) -> Result<Self, ReadError> {
        let d = SessionConfig::new(o.str("app")?, o.str("issuer")?, o.str("client_id")?);
        let config = SessionConfig {
            scope: o.opt_str("scope")?,
            client_secret: o.opt_str("client_secret")?.map(Secret::new),
            secret_method: if o.has("secret_method") { o.variant("secret_method")? } else { d.secret_method },
            profile: o.opt_str("profile")?,
            store: if o.has("store") { o.variant("store")? } else { d.store },
            config_dir: o.opt_str("config_dir")?,
            metadata: o.opt_object("metadata")?.map(ServerMetadata::read).transpose()?,
            redirect_host: o.str_or("redirect_host", &d.redirect_host)?,
            redirect_port: o.uint_or("redirect_port", d.redirect_port)?,
            redirect_path: o.str_or("redirect_path", &d.redirect_path)?,
            redirect_uri: o.opt_str("redirect_uri")?,
            resource: o.strings("resource")?,
            allow_insecure_http: o.flag("allow_insecure_http")?,
            enable_password_grant: o.flag("enable_password_grant")?,
            refresh_skew_ms: o.uint_or("refresh_skew_ms", d.refresh_skew_ms)?,
            redirect_timeout_ms: o.uint_or("redirect_timeout_ms", d.redirect_timeout_ms)?,
            lock_wait_ms: o.uint_or("lock_wait_ms", d.lock_wait_ms)?,
            launch_browser: o.opt_bool("launch_browser")?.unwrap_or(true),
            debug: o.flag("debug")?,
            ..d
        };
        o.no_more()?;
        Ok(config)
    }
}

/// The defaults `SessionConfig::read` fills in for absent members (those of
/// [`SessionConfig::new`]), named for the JSON Schema's `default`s.
#[cfg(feature = "schema")]
impl SessionConfig {
    fn default_redirect_host() -> String {
        SessionConfig::new("", "", "").redirect_host
    }

    fn default_redirect_path() -> String {
        SessionConfig::new("", "", "").redirect_path
    }

    fn default_refresh_skew_ms() -> u64 {
        SessionConfig::new("", "", "").refresh_skew_ms
    }

    fn default_redirect_timeout_ms() -> u64 {
        SessionConfig::new("", "", "").redirect_timeout_ms
    }

    fn default_lock_wait_ms() -> u64 {
        SessionConfig::new("", "", "").lock_wait_ms
    }

    fn default_launch_browser() -> bool {
        SessionConfig::new("", "", "").launch_browser
    }
}

/// A login method.
#[derive(Clone, PartialEq, Eq)]
pub enum LoginMethod {
    /// Chosen from where the CLI runs ([`crate::auto`]): CI → client credentials; desktop →
    /// browser; SSH or no display → device; paste without a device endpoint.
    Auto,
    /// RFC 8628 device flow; a server without a device endpoint is a configuration error
    /// (`no_device_endpoint`) that names the methods to use instead.
    Device,
    /// Browser with a loopback redirect (RFC 8252).
    Browser,
    /// Browser elsewhere: the user pastes the address it ends on.
    Paste,
    /// Client credentials (needs a client secret).
    ClientCredentials,
    /// Resource owner password (needs `enable_password_grant`).
    Password {
        /// The username.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An API key / personal access token.
    Token {
        /// The token.
        token: Secret,
        /// How it is sent.
        presentation: Presentation,
    },
}

impl LoginMethod {
    /// The name every binding uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            LoginMethod::Auto => "auto",
            LoginMethod::Device => "device",
            LoginMethod::Browser => "browser",
            LoginMethod::Paste => "paste",
            LoginMethod::ClientCredentials => "client_credentials",
            LoginMethod::Password { .. } => "password",
            LoginMethod::Token { .. } => "token",
        }
    }
}

/// `Debug` names the method only: a password or token is never printed.
impl fmt::Debug for LoginMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a session is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Log in and store the credential under the profile, which becomes the active one.
    Login(LoginMethod),
    /// A valid access token: `<APP>_TOKEN`, else the stored one, renewed when due.
    GetToken,
    /// An access token limited to `scope` and/or meant for `resource` (RFC 8707): got by a
    /// refresh of the stored grant that asks for them (RFC 6749 §6), and returned, not stored
    /// (the stored token stays the login's; a rotated refresh token is kept). Fails when the
    /// grant does not cover the scope, or the credential cannot be refreshed. (`get_token`
    /// with `scope` or `resource` in the JSON.)
    GetTokenFor {
        /// The scope the token must be limited to.
        scope: Option<String>,
        /// The resources it is for.
        resource: Vec<String>,
    },
    /// Renew the stored credential now, whatever its expiry.
    Refresh,
    /// Revoke at the server (refresh token first, RFC 7009), then delete here.
    Logout,
    /// Which token would be used, from where, and in what state.
    Status,
    /// The status of every credential stored for the app: each issuer, client and profile
    /// (from the store alone; `<APP>_TOKEN` is not consulted).
    StatusAll,
    /// The profiles stored for this issuer and client.
    Profiles,
    /// Make `profile` the active one (it must have a credential).
    UseProfile {
        /// The profile.
        profile: String,
    },
    /// The server metadata: configured, cached (a day) or discovered (and cached).
    Discover,
    /// Take the credential's lock (the one renewals and logins take), for a host that must
    /// not race termauth on this credential; release it with [`Command::Unlock`].
    Lock,
    /// Release the credential's lock taken by [`Command::Lock`] (only if it still holds
    /// `nonce`: a lock broken as stale and taken by another process is left alone).
    Unlock {
        /// The nonce [`Outcome::Locked`] returned.
        nonce: String,
    },
}

impl Command {
    /// Parses a spec's `command` member alone ([`SessionSpec::from_json`]'s errors, rooted
    /// at `command`).
    ///
    /// # Errors
    /// `invalid_session_spec`, as [`SessionSpec::from_json`].
    pub fn from_json(text: &str) -> Result<Command, Error> {
        parse_spec_part(text, "command", Command::read)
    }

    fn read(mut o: Object) -> Result<Self, ReadError> {
        let command = match o.tag("op")?.as_str() {
            "login" => {
                let method = match o.str_or("method", "auto")?.as_str() {
                    "auto" => LoginMethod::Auto,
                    "device" => LoginMethod::Device,
                    "browser" => LoginMethod::Browser,
                    "paste" => LoginMethod::Paste,
                    "client_credentials" => LoginMethod::ClientCredentials,
                    "password" => {
                        LoginMethod::Password { username: o.str("username")?, password: Secret::new(o.str("password")?) }
                    }
                    "token" => LoginMethod::Token {
                        token: Secret::new(o.str("token")?),
                        presentation: Presentation::read_member(&mut o)?,
                    },
                    _ => {
                        return Err(o.unknown_tag("method", "auto, device, browser, paste, client_credentials, password, token"));
                    }
                };
                Command::Login(method)
            }
            "get_token" => {
                let scope = o.opt_str("scope")?;
                let resource = o.opt_strings("resource")?.unwrap_or_default();
                if scope.is_none() && resource.is_empty() { Command::GetToken } else { Command::GetTokenFor { scope, resource } }
            }
            "refresh" => Command::Refresh,
            "logout" => Command::Logout,
            "status" => Command::Status,
            "status_all" => Command::StatusAll,
            "profiles" => Command::Profiles,
            "use_profile" => Command::UseProfile { profile: o.str("profile")? },
            "discover" => Command::Discover,
            "lock" => Command::Lock,
            "unlock" => Command::Unlock { nonce: o.str("nonce")? },
            _ => {
                return Err(o.unknown_tag(
                    "op",
                    "login, get_token, refresh, logout, status, profiles, use_profile, discover, lock, unlock",
                ));
            }
        };
        o.no_more()?;
        Ok(command)
    }
}

impl Serialize for Command {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = serializer.serialize_map(None)?;
        match self {
            Command::Login(method) => {
                m.serialize_entry("op", "login")?;
                m.serialize_entry("method", method.as_str())?;
                match method {
                    LoginMethod::Password { username, password } => {
                        m.serialize_entry("username", username)?;
                        m.serialize_entry("password", password)?;
                    }
                    LoginMethod::Token { token, presentation } => {
                        m.serialize_entry("token", token)?;
                        m.serialize_entry("presentation", presentation)?;
                    }
                    _ => {}
                }
            }
            Command::GetToken => m.serialize_entry("op", "get_token")?,
            Command::GetTokenFor { scope, resource } => {
                m.serialize_entry("op", "get_token")?;
                if let Some(scope) = scope {
                    m.serialize_entry("scope", scope)?;
                }
                if !resource.is_empty() {
                    m.serialize_entry("resource", resource)?;
                }
            }
            Command::Refresh => m.serialize_entry("op", "refresh")?,
            Command::Logout => m.serialize_entry("op", "logout")?,
            Command::Status => m.serialize_entry("op", "status")?,
            Command::StatusAll => m.serialize_entry("op", "status_all")?,
            Command::Profiles => m.serialize_entry("op", "profiles")?,
            Command::UseProfile { profile } => {
                m.serialize_entry("op", "use_profile")?;
                m.serialize_entry("profile", profile)?;
            }
            Command::Discover => m.serialize_entry("op", "discover")?,
            Command::Lock => m.serialize_entry("op", "lock")?,
            Command::Unlock { nonce } => {
                m.serialize_entry("op", "unlock")?;
                m.serialize_entry("nonce", nonce)?;
            }
        }
        m.end()
    }
}

/// JSON Schema: the map `Command::read` accepts and `Serialize` writes, tagged by `op`;
/// `login`'s `method` is optional (`auto`) in what is read, always written. Unknown members
/// are refused.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Command {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Command".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use serde_json::{Value, json};
        let reading = generator.contract().is_deserialize();
        let mut presentation = generator.subschema_for::<Presentation>().to_value();
        presentation["description"] =
            json!(if reading { "How the token is sent (bearer when absent)." } else { "How the token is sent." });
        let string = |description: &str| json!({ "type": "string", "description": description });
        let op = |name: &str, description: &str, members: &[(&str, Value)], required: &[&str]| {
            let mut properties = serde_json::Map::new();
            properties.insert("op".into(), json!({ "type": "string", "const": name }));
            for (member, schema) in members {
                properties.insert((*member).into(), schema.clone());
            }
            let mut all = vec!["op"];
            all.extend_from_slice(required);
            json!({
                "description": description,
                "type": "object",
                "properties": properties,
                "required": all,
                "additionalProperties": false,
            })
        };
        let method = |names: &[&str]| match names {
            [one] => json!({ "type": "string", "const": one }),
            many => json!({ "type": "string", "enum": many, "description": "The login method." }),
        };
        let mut simple_method = method(&["auto", "device", "browser", "paste", "client_credentials"]);
        if reading {
            simple_method["default"] = json!("auto");
        }
        let variants = vec![
            op(
                "login",
                "Log in (`auto`: chosen from where the CLI runs) and store the credential under the profile, which becomes the active one.",
                &[("method", simple_method)],
                if reading { &[] } else { &["method"] },
            ),
            op(
                "login",
                "Log in with the resource owner password grant (needs `enable_password_grant`).",
                &[
                    ("method", method(&["password"])),
                    ("username", string("The username.")),
                    ("password", string("The password.")),
                ],
                &["method", "username", "password"],
            ),
            op(
                "login",
                "Store an API key / personal access token.",
                &[("method", method(&["token"])), ("token", string("The API key or token.")), ("presentation", presentation)],
                if reading { &["method", "token"] } else { &["method", "token", "presentation"] },
            ),
            op(
                "get_token",
                "A valid access token: `<APP>_TOKEN`, else the stored one, renewed when due. With `scope` or `resource`: a token limited to them, got by a refresh and not stored.",
                &[
                    ("scope", string("The scope the token must be limited to (within the login's grant).")),
                    (
                        "resource",
                        json!({ "type": "array", "items": { "type": "string" }, "description": "The resources (RFC 8707) the token is for." }),
                    ),
                ],
                &[],
            ),
            op("refresh", "Renew the stored credential now, whatever its expiry.", &[], &[]),
            op("logout", "Revoke at the server (refresh token first, RFC 7009), then delete here.", &[], &[]),
            op("status", "Which token would be used, from where, and in what state.", &[], &[]),
            op(
                "status_all",
                "The status of every credential stored for the app: each issuer, client and profile (from the store alone).",
                &[],
                &[],
            ),
            op("profiles", "The profiles stored for this issuer and client.", &[], &[]),
            op(
                "use_profile",
                "Make `profile` the active one (it must have a credential).",
                &[("profile", string("The profile."))],
                &["profile"],
            ),
            op("discover", "The server metadata: configured, cached (a day) or discovered (and cached).", &[], &[]),
            op("lock", "Take the credential's lock (the one renewals and logins take).", &[], &[]),
            op(
                "unlock",
                "Release the lock taken by `lock` (only if it still holds `nonce`).",
                &[("nonce", string("The nonce `locked` returned."))],
                &["nonce"],
            ),
        ];
        schemars::json_schema!({
            "description": "What a session is asked to do, tagged by `op`.",
            "oneOf": variants,
        })
    }
}

/// A session's whole input: the command, the configuration and the environment snapshot.
/// JSON: `{"command": {"op": "login", "method": "device"}, "config": {…}, "environment": {…}}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
pub struct SessionSpec {
    /// What to do.
    pub command: Command,
    /// The client, server and store configuration.
    pub config: SessionConfig,
    /// Where the session runs.
    pub environment: Environment,
}

deserialize_via_value!(SessionSpec => SessionSpec::read, Input => Input::read);

impl SessionSpec {
    /// A spec.
    pub fn new(command: Command, config: SessionConfig, environment: Environment) -> Self {
        SessionSpec { command, config, environment }
    }

    fn read(mut o: Object) -> Result<Self, ReadError> {
        let spec = SessionSpec {
            command: Command::read(o.object("command")?)?,
            config: SessionConfig::read(o.object("config")?)?,
            environment: Environment::read(o.object("environment")?)?,
        };
        o.no_more()?;
        Ok(spec)
    }

    /// Parses a spec from JSON.
    ///
    /// # Errors
    /// `invalid_session_spec`: a JSON syntax position, or the member at fault (never a
    /// value: it can be a secret).
    pub fn from_json(text: &str) -> Result<SessionSpec, Error> {
        parse_spec_part(text, "it", SessionSpec::read)
    }
}

/// Parses `text`, a spec or one of its members named `root` in messages, with `read`.
fn parse_spec_part<T>(text: &str, root: &str, read: fn(Object) -> Result<T, ReadError>) -> Result<T, Error> {
    let invalid = |why: String| Error::usage("invalid_session_spec", format!("The session specification is not valid: {why}."));
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| invalid(format!("{root} is not JSON at line {} column {}", e.line(), e.column())))?;
    Object::new(value, root).and_then(read).map_err(invalid)
}

/// Where an awaited redirect comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RedirectSource {
    /// The loopback listener started by `listen`.
    Listener,
    /// A line the user pastes on standard input.
    Paste,
}

/// A progress line to show while waiting (a spinner): `text` with `{left}` replaced by the
/// time left until `until_ms`, as `m:ss` ([`crate::texts::minutes_seconds`]).
/// [`crate::texts::progress_frame`] draws it: the longest form that fits the terminal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Progress {
    /// The line, with the `{left}` placeholder.
    pub text: String,
    /// Shorter forms of `text` for narrow terminals, longest first (same placeholder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shorter: Vec<String>,
    /// The deadline counted down.
    pub until_ms: u64,
}

/// How loud a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    /// Information.
    Info,
    /// Something the user should know went less well than asked (shown as a warning).
    Warning,
}

/// What the session asks of the driver. `poll` returns one at a time.
// One action is alive at a time; boxing the large variants would only change the shape
// users match on.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SessionAction"))]
#[serde(tag = "type", rename_all = "snake_case")]
#[must_use]
pub enum Action {
    /// Send this HTTP request; `handle` an `http_response` or `transport_error` with its id.
    SendRequest(HttpRequest),
    /// The request with this id is outstanding: `handle` its answer.
    AwaitResponse {
        /// The id.
        id: u64,
    },
    /// Nothing to do before `at_ms`: sleep (showing `progress` if any), then poll.
    WaitUntil {
        /// When to poll again (absolute, Unix ms).
        at_ms: u64,
        /// A line to show while waiting.
        #[serde(skip_serializing_if = "Option::is_none")]
        progress: Option<Progress>,
    },
    /// Open `url` in the user's browser; `handle` `browser_launched` (whether one started).
    LaunchBrowser {
        /// The request id.
        id: u64,
        /// The URL.
        url: String,
    },
    /// Show the device flow's code (render `text`; the other members are for custom UIs).
    ShowUserCode {
        /// The code and where to enter it.
        #[serde(flatten)]
        prompt: UserCodePrompt,
        /// What to print.
        text: Prompt,
    },
    /// Show the authorization URL of a browser login.
    ShowAuthorizationUrl {
        /// The authorization request URL.
        url: String,
        /// Where the browser comes back to.
        redirect_uri: String,
        /// What to print.
        text: Prompt,
    },
    /// Start the loopback listener (RFC 8252 §7.3) on `host` and `port` (0: any free port);
    /// `handle` `listening` with the bound port, or `io_error`. It lives until the session
    /// ends.
    Listen {
        /// The request id.
        id: u64,
        /// A loopback IP literal or `localhost` (bind 127.0.0.1).
        host: String,
        /// The port.
        port: u16,
        /// The page to answer any request other than `GET` on the redirect path with
        /// (status 404, or 405 for other methods).
        not_found_html: String,
    },
    /// Wait for the browser's redirect (from the listener, or a pasted line) until
    /// `until_ms`; `handle` a `redirect` (or `input_closed` when pasted input ends), and
    /// poll at `until_ms` at the latest.
    AwaitRedirect {
        /// The redirect URI of this login.
        redirect_uri: String,
        /// The deadline.
        until_ms: u64,
        /// Where it comes from.
        source: RedirectSource,
    },
    /// Answer the browser connection that delivered the last redirect with this page.
    AnswerBrowser {
        /// The HTTP status.
        status: u16,
        /// The page (`text/html; charset=utf-8`).
        html: String,
    },
    /// Tell the user something (stderr for a CLI).
    Notice {
        /// Information or warning.
        level: NoticeLevel,
        /// A stable code.
        code: String,
        /// The sentence.
        text: String,
    },
    /// Read a file; `handle` `file_contents` (`contents` null when it does not exist, with
    /// the modification time in Unix ms), or `io_error`.
    ReadFile {
        /// The request id.
        id: u64,
        /// The path.
        path: String,
    },
    /// Write a file atomically: create its directory (0700) if needed, write a temporary
    /// file in it created exclusively with mode 0600, fsync, rename over `path`, fsync the
    /// directory; `handle` `completed` or `io_error`.
    WriteFile {
        /// The request id.
        id: u64,
        /// The path.
        path: String,
        /// The contents (may hold secrets).
        contents: Secret,
    },
    /// Take the group's and others' permissions away from a file (`chmod go-rwx`, mode
    /// 0600 for a record; nothing to do where there are no such modes); `handle` `completed`
    /// or `io_error`.
    MakePrivate {
        /// The request id.
        id: u64,
        /// The path.
        path: String,
    },
    /// Delete a file; `handle` `removed` (whether it existed) or `io_error`.
    RemoveFile {
        /// The request id.
        id: u64,
        /// The path.
        path: String,
    },
    /// List a directory's entry names; `handle` `dir_listing` (empty when it does not
    /// exist) or `io_error`.
    ListDir {
        /// The request id.
        id: u64,
        /// The path.
        path: String,
    },
    /// Create a file only if it does not exist (`O_CREAT|O_EXCL`, mode 0600, its directory
    /// 0700), then write `contents` and fsync; `handle` `created` (false: it existed) or
    /// `io_error`.
    CreateExclusive {
        /// The request id.
        id: u64,
        /// The path.
        path: String,
        /// The contents.
        contents: String,
    },
    /// Whether process `pid` of this host is alive; `handle` `process_status` (`alive`
    /// null when the platform cannot tell).
    ProcessAlive {
        /// The request id.
        id: u64,
        /// The process id.
        pid: u32,
    },
    /// Read a keyring entry; `handle` `keyring_value` (null when absent) or `io_error`
    /// (the keyring is unusable: say why).
    KeyringGet {
        /// The request id.
        id: u64,
        /// The service.
        service: String,
        /// The account.
        account: String,
    },
    /// Write a keyring entry; `handle` `completed` or `io_error` (why it is unusable).
    KeyringSet {
        /// The request id.
        id: u64,
        /// The service.
        service: String,
        /// The account.
        account: String,
        /// The value (a credential record).
        value: Secret,
    },
    /// Delete a keyring entry (absent is fine); `handle` `completed` or `io_error`.
    KeyringDelete {
        /// The request id.
        id: u64,
        /// The service.
        service: String,
        /// The account.
        account: String,
    },
    /// The command succeeded. Terminal: every later `poll` returns it again.
    Done {
        /// What it produced.
        result: Outcome,
    },
    /// The command failed. Terminal and sticky.
    Failed {
        /// Why.
        error: Error,
    },
}

impl Action {
    /// Sets the id of a request action (the session numbers them).
    fn set_request_id(&mut self, new: u64) {
        match self {
            Action::SendRequest(r) => r.id = new,
            Action::LaunchBrowser { id, .. }
            | Action::Listen { id, .. }
            | Action::ReadFile { id, .. }
            | Action::WriteFile { id, .. }
            | Action::MakePrivate { id, .. }
            | Action::RemoveFile { id, .. }
            | Action::ListDir { id, .. }
            | Action::CreateExclusive { id, .. }
            | Action::ProcessAlive { id, .. }
            | Action::KeyringGet { id, .. }
            | Action::KeyringSet { id, .. }
            | Action::KeyringDelete { id, .. } => *id = new,
            _ => {}
        }
    }

    /// Whether this is a storage primitive (files, lock files, processes, keyring): what a
    /// driver may hand to a shared storage executor.
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            Action::ReadFile { .. }
                | Action::WriteFile { .. }
                | Action::MakePrivate { .. }
                | Action::RemoveFile { .. }
                | Action::ListDir { .. }
                | Action::CreateExclusive { .. }
                | Action::ProcessAlive { .. }
                | Action::KeyringGet { .. }
                | Action::KeyringSet { .. }
                | Action::KeyringDelete { .. }
        )
    }
}

/// What the driver tells the session.
#[derive(Clone, Debug, PartialEq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SessionInput"))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    /// The response to a `send_request`.
    HttpResponse(HttpResponse),
    /// A `send_request` got no response.
    TransportError {
        /// The request id.
        id: u64,
        /// What failed.
        kind: TransportErrorKind,
        /// Detail (the HTTP stack's error text; no secrets).
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The URL the browser was redirected to (from the listener, or pasted).
    Redirect {
        /// The URL or the request target.
        url: String,
    },
    /// Paste mode: standard input ended before a URL was pasted.
    InputClosed,
    /// Stop (Ctrl-C): waits end, the running flow fails with `cancelled`, a held lock is
    /// released. Always accepted.
    Cancel,
    /// The answer to `launch_browser`.
    BrowserLaunched {
        /// The request id.
        id: u64,
        /// Whether a browser started.
        #[cfg_attr(feature = "schema", schemars(default))]
        launched: bool,
    },
    /// The answer to `listen`.
    Listening {
        /// The request id.
        id: u64,
        /// The port bound.
        port: u16,
    },
    /// The answer to `read_file`.
    FileContents {
        /// The request id.
        id: u64,
        /// The contents; null when the file does not exist.
        contents: Option<Secret>,
        /// The modification time (Unix ms), when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        modified_ms: Option<u64>,
        /// The file's permission bits (`st_mode & 0o777`), where the platform has them.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<u32>,
        /// Whether the file (a symlink's target) belongs to the user running the process,
        /// where the platform can tell.
        #[serde(skip_serializing_if = "Option::is_none")]
        owned: Option<bool>,
    },
    /// The answer to `write_file`, `keyring_set` and `keyring_delete`.
    Completed {
        /// The request id.
        id: u64,
    },
    /// The answer to `remove_file`.
    Removed {
        /// The request id.
        id: u64,
        /// Whether the file existed.
        #[cfg_attr(feature = "schema", schemars(default))]
        existed: bool,
    },
    /// The answer to `list_dir`.
    DirListing {
        /// The request id.
        id: u64,
        /// The entry names.
        #[cfg_attr(feature = "schema", schemars(default))]
        names: Vec<String>,
    },
    /// The answer to `create_exclusive`.
    Created {
        /// The request id.
        id: u64,
        /// False when the file already existed.
        #[cfg_attr(feature = "schema", schemars(default))]
        created: bool,
    },
    /// The answer to `process_alive`.
    ProcessStatus {
        /// The request id.
        id: u64,
        /// Null when the platform cannot tell.
        alive: Option<bool>,
    },
    /// The answer to `keyring_get`.
    KeyringValue {
        /// The request id.
        id: u64,
        /// Null when there is no such entry.
        value: Option<Secret>,
    },
    /// A storage primitive, `listen` or a keyring call failed.
    IoError {
        /// The request id.
        id: u64,
        /// Why (the OS or keyring error text; no secrets).
        message: String,
    },
}

impl Input {
    fn read(mut o: Object) -> Result<Self, ReadError> {
        let input = match o.tag("type")?.as_str() {
            "http_response" => Input::HttpResponse(HttpResponse::read(o)?),
            "transport_error" => {
                Input::TransportError { id: o.uint("id")?, kind: o.variant("kind")?, message: o.opt_str("message")? }
            }
            "redirect" => Input::Redirect { url: o.str("url")? },
            "input_closed" => Input::InputClosed,
            "cancel" => Input::Cancel,
            "browser_launched" => Input::BrowserLaunched { id: o.uint("id")?, launched: o.flag("launched")? },
            "listening" => Input::Listening { id: o.uint("id")?, port: o.uint("port")? },
            "file_contents" => Input::FileContents {
                id: o.uint("id")?,
                contents: o.opt_str("contents")?.map(Secret::new),
                modified_ms: o.opt_uint("modified_ms")?,
                mode: o.opt_uint("mode")?,
                owned: o.opt_bool("owned")?,
            },
            "completed" => Input::Completed { id: o.uint("id")? },
            "removed" => Input::Removed { id: o.uint("id")?, existed: o.flag("existed")? },
            "dir_listing" => Input::DirListing { id: o.uint("id")?, names: o.strings("names")? },
            "created" => Input::Created { id: o.uint("id")?, created: o.flag("created")? },
            "process_status" => Input::ProcessStatus { id: o.uint("id")?, alive: o.opt_bool("alive")? },
            "keyring_value" => Input::KeyringValue { id: o.uint("id")?, value: o.opt_str("value")?.map(Secret::new) },
            "io_error" => Input::IoError { id: o.uint("id")?, message: o.str("message")? },
            _ => {
                return Err(o.unknown_tag(
                    "type",
                    "http_response, transport_error, redirect, input_closed, cancel, browser_launched, listening, file_contents, completed, removed, dir_listing, created, process_status, keyring_value, io_error",
                ));
            }
        };
        Ok(input)
    }

    /// The request id this answers, if it answers one.
    pub fn id(&self) -> Option<u64> {
        match self {
            Input::HttpResponse(r) => Some(r.id),
            Input::Redirect { .. } | Input::InputClosed | Input::Cancel => None,
            Input::TransportError { id, .. }
            | Input::BrowserLaunched { id, .. }
            | Input::Listening { id, .. }
            | Input::FileContents { id, .. }
            | Input::Completed { id }
            | Input::Removed { id, .. }
            | Input::DirListing { id, .. }
            | Input::Created { id, .. }
            | Input::ProcessStatus { id, .. }
            | Input::KeyringValue { id, .. }
            | Input::IoError { id, .. } => Some(*id),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Input::HttpResponse(_) => "http_response",
            Input::TransportError { .. } => "transport_error",
            Input::Redirect { .. } => "redirect",
            Input::InputClosed => "input_closed",
            Input::Cancel => "cancel",
            Input::BrowserLaunched { .. } => "browser_launched",
            Input::Listening { .. } => "listening",
            Input::FileContents { .. } => "file_contents",
            Input::Completed { .. } => "completed",
            Input::Removed { .. } => "removed",
            Input::DirListing { .. } => "dir_listing",
            Input::Created { .. } => "created",
            Input::ProcessStatus { .. } => "process_status",
            Input::KeyringValue { .. } => "keyring_value",
            Input::IoError { .. } => "io_error",
        }
    }

    fn io_failure(self) -> String {
        match self {
            Input::IoError { message, .. } => message,
            other => format!("unexpected answer {}", other.type_name()),
        }
    }
}

/// The answers a flow's driver gives (an HTTP response or a transport error) are the
/// session's too.
impl From<crate::flow::Input> for Input {
    fn from(input: crate::flow::Input) -> Input {
        match input {
            crate::flow::Input::HttpResponse(r) => Input::HttpResponse(r),
            crate::flow::Input::TransportError { id, kind, message } => Input::TransportError { id, kind, message },
            crate::flow::Input::Redirect { url } => Input::Redirect { url },
            crate::flow::Input::Cancel => Input::Cancel,
        }
    }
}

/// Where `get_token`'s token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// `<APP>_TOKEN`.
    Env,
    /// The stored credential.
    Store,
}

/// A valid token (`get_token`, `refresh`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenReport {
    /// Where it came from.
    pub source: TokenSource,
    /// The access token or key.
    pub token: Secret,
    /// The header that presents it: `[name, value]`.
    pub header: (String, Secret),
    /// When it expires (Unix ms), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// When to ask for a token again (Unix ms): the renewal time of the session's policy,
    /// for a host that caches the token itself. Absent when nothing expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_at: Option<u64>,
    /// The stored record it came from (absent for `<APP>_TOKEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// For `refresh`: the sentence saying it was renewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// What a login did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginReport {
    /// The method used (`device`, `browser`, `paste`, `client_credentials`, `password`, `token`).
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["device", "browser", "paste", "client_credentials", "password", "token"])))]
    pub method: String,
    /// The profile written (now the active one).
    pub profile: String,
    /// Where the credential went and why.
    pub store: StoreChoice,
    /// The granted scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the access token expires (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Who logged in (the ID token's email, preferred_username, name or sub), when the
    /// server said (OpenID Connect, scope `openid`): see `Credential::account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The sentence for the user.
    pub text: String,
}

/// What logout did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LogoutReport {
    /// A stored credential was deleted.
    pub removed: bool,
    /// The tokens were revoked at the server (RFC 7009).
    pub revoked: bool,
    /// Why they were not revoked, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The sentence for the user.
    pub text: String,
}

/// Where `get_token`'s token comes from, and its state (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Status {
    /// `env` (`<APP>_TOKEN`), `store`, or `none`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["env", "store", "none"])))]
    pub source: String,
    /// The variable consulted.
    pub env_var: String,
    /// The profile.
    pub profile: String,
    /// The issuer.
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// The store holding the credential, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreChoice>,
    /// `oauth` or `api_key` (not `kind`: that names the outcome).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["oauth", "api_key"])))]
    pub credential_kind: Option<String>,
    /// How the tokens were obtained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
    /// Who is logged in (the ID token's email, preferred_username, name or sub), when the
    /// server said: see `Credential::account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The granted scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the access token expires (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// There is a refresh token (or a client secret, for client credentials).
    pub refreshable: bool,
    /// `use`, `refresh`, `reacquire` or `relogin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["use", "refresh", "reacquire", "relogin"])))]
    pub decision: Option<String>,
    /// A problem reading the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// Why no token can be had without logging in, for a script (a CLI's `status` exits with
    /// its exit code): `not_logged_in`, `login_required` (the credential expired and cannot
    /// be renewed: no refresh token, or the server refused the last renewal and it was
    /// dropped), or the store problem of `error`. Absent when `get_token` would return a
    /// token, renewing it first if due; `status` asks no server, so a grant the server has
    /// forgotten shows here only once a renewal was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Error>,
    /// The status as lines for a person (`issuer:    …`, `expires:   in 59m12s`, …).
    pub lines: Vec<String>,
}

/// One stored profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProfileInfo {
    /// Its name.
    pub name: String,
    /// Whether it is the active one.
    pub active: bool,
}

/// What a finished session produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SessionOutcome"))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// `login`.
    Login(LoginReport),
    /// `get_token` and `refresh`.
    Token(TokenReport),
    /// `logout`.
    Logout(LogoutReport),
    /// `status` (boxed: the largest outcome by far).
    Status(Box<Status>),
    /// `status_all`: one status per stored credential, ordered by issuer, client and profile.
    StatusAll {
        /// The statuses.
        statuses: Vec<Status>,
    },
    /// `profiles`.
    Profiles {
        /// The stored profiles.
        profiles: Vec<ProfileInfo>,
    },
    /// `use_profile`.
    ProfileUsed {
        /// The profile now active.
        profile: String,
    },
    /// `discover`.
    Metadata {
        /// The server metadata.
        metadata: ServerMetadata,
    },
    /// `lock`: the lock is held until `unlock` with this nonce.
    Locked {
        /// The lock file.
        path: String,
        /// What identifies this holder.
        nonce: String,
    },
    /// `unlock`.
    Unlocked {
        /// Whether the lock file still held the nonce and was removed.
        released: bool,
    },
}

pub(crate) type Operation = Pin<Box<dyn Future<Output = Result<Outcome, Error>> + Send>>;

/// One command, run as a sans-IO machine (see the module docs).
pub struct Session {
    io: Io,
    operation: Option<Operation>,
    terminal: Option<Action>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("finished", &self.terminal.is_some()).finish_non_exhaustive()
    }
}

impl Session {
    /// Starts `spec`'s command. `rng` supplies lock nonces and the flows' `state`, PKCE
    /// verifier and nonce; `now_ms` is the wall clock.
    ///
    /// # Errors
    /// Usage errors of the configuration that need no IO to find (a bad profile name).
    pub fn start(spec: SessionSpec, rng: Rng, now_ms: u64) -> Result<Session, Error> {
        let config = &spec.config;
        crate::store::check_app(&config.app)?;
        if let Some(profile) = &config.profile {
            crate::store::check_profile(profile)?;
        }
        // The issuer and client ID name the credential even when no server is asked (an
        // API key login): they must be something a server could have published.
        if config.issuer.is_empty() || crate::uri::find_control(&config.issuer).is_some() {
            return Err(Error::usage("invalid_issuer", crate::texts::invalid_identifier("issuer")));
        }
        // A password in the issuer would be stored with the credential and shown by status.
        if crate::uri::parse(&config.issuer) == Err(crate::uri::UriError::UserInfo) {
            return Err(Error::usage("invalid_issuer", crate::texts::issuer_with_user_information()));
        }
        if config.client_id.is_empty() || config.client_id.chars().any(crate::error::is_unsafe_for_terminal) {
            return Err(Error::usage("invalid_client_id", crate::texts::invalid_identifier("client ID")));
        }
        crate::config::check_resources(&config.resource)?;
        let io = Io::new(now_ms);
        let operation = ops::start(io.clone(), spec, rng);
        Ok(Session { io, operation: Some(operation), terminal: None })
    }

    /// The next action. Call it until it returns a waiting or terminal action.
    pub fn poll(&mut self, now_ms: u64) -> Action {
        self.io.set_now(now_ms);
        // Each round either hands out an action or resumes the operation, which then
        // queues or awaits something; the bound only turns a bug into an error.
        for _ in 0..64 {
            if let Some(action) = self.io.pop_queued() {
                return action;
            }
            if let Some(terminal) = &self.terminal {
                return terminal.clone();
            }
            if let Some(action) = self.io.waiting_action() {
                return action;
            }
            let Some(operation) = self.operation.as_mut() else { break };
            if let Poll::Ready(result) = operation.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                self.operation = None;
                self.terminal = Some(match result {
                    Ok(result) => Action::Done { result },
                    Err(error) => Action::Failed { error },
                });
            }
        }
        let error = Error::usage("internal_error", "The termauth session made no progress; please report this as a bug.");
        self.operation = None;
        self.terminal = Some(Action::Failed { error: error.clone() });
        Action::Failed { error }
    }

    /// Feeds what happened.
    ///
    /// # Errors
    /// A usage error (`unknown_request_id`, `duplicate_response`, `request_not_sent`,
    /// `unexpected_input`, `session_finished`); the session is left exactly as it was.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Result<(), Error> {
        if self.terminal.is_some() {
            return match input {
                Input::Cancel => Ok(()),
                _ => Err(Error::usage("session_finished", "The session has already finished; start a new one.")),
            };
        }
        self.io.set_now(now_ms);
        match input {
            Input::Cancel => {
                self.io.cancel();
                Ok(())
            }
            Input::Redirect { url } => self.io.arrive(Arrival::Url(url)),
            Input::InputClosed => self.io.arrive(Arrival::Closed),
            other => {
                let id = other.id().unwrap_or(0);
                self.io.answer(id, other)
            }
        }
    }

    /// Whether the session has finished (`done` or `failed`).
    pub fn is_finished(&self) -> bool {
        self.terminal.is_some()
    }
}
