//! The high-level API: log in, get a fresh token, log out, report status.
//!
//! ```no_run
//! use termauth::{Client, Config, LoginMethod};
//! let mut auth = Client::new(Config::new("mycli", "https://login.example.com", "mycli-public"))?;
//! auth.login(LoginMethod::Auto)?;            // device flow over SSH, browser on a desktop, …
//! let token = auth.get_token()?;             // cached; refreshed under the lock when due
//! # let _ = token;
//! auth.logout()?;                            // revokes at the server, then forgets
//! # Ok::<(), termauth::Error>(())
//! ```

use crate::driver::{CancelFlag, Driver, RedirectSource, RunOptions};
use crate::environment::is_ssh;
use crate::listener::LoopbackListener;
use crate::store::{CredentialKey, Store, StoreChoice, StorePreference, check_profile, now_ms, write_atomic};
use crate::transport::Transport;
use crate::ui::{Silent, Terminal, Ui};
use serde::Serialize;
use std::path::PathBuf;
use termauth_core::flows::{
    AuthorizationCodeConfig, ClientCredentialsConfig, DeviceConfig, DiscoveryConfig, MetadataDocument, PasswordConfig,
    RefreshConfig, RevocationConfig, TokenToSend,
};
use termauth_core::flows::api_key::ApiKeyConfig;
use termauth_core::auto::{self, AutoMethod};
use termauth_core::lifecycle::{Decision, Policy, after_renewal_failure, decide, decide_locked, renewed_elsewhere};
use termauth_core::{
    AnyFlow, Client as OAuthClient, ClientAuth, Credential, CredentialData, Error, FlowSpec, Grant, Hint, Outcome,
    Presentation, Rng, Secret, ServerMetadata,
};

/// How a confidential client sends its secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecretMethod {
    /// HTTP Basic (RFC 6749 §2.3.1), the default.
    #[default]
    Basic,
    /// In the form body.
    Post,
}

/// Configuration of a [`Client`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The application name: config directory, keyring service, `<APP>_TOKEN` variable.
    pub app: String,
    /// The issuer (discovery runs against it unless `metadata` is given).
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// The scope to request.
    pub scope: Option<String>,
    /// A client secret (CI). When `None`, `<APP>_CLIENT_SECRET` then
    /// `TERMAUTH_CLIENT_SECRET` are read from the environment.
    pub client_secret: Option<Secret>,
    /// How the secret is sent.
    pub secret_method: SecretMethod,
    /// The profile; the active one (or `default`) when `None`.
    pub profile: Option<String>,
    /// Where credentials go.
    pub store: StorePreference,
    /// The config directory; the platform's (see [`crate::store::config_dir`]) when `None`.
    pub config_dir: Option<PathBuf>,
    /// Server metadata written by hand; discovery when `None`.
    pub metadata: Option<ServerMetadata>,
    /// The loopback redirect host.
    pub redirect_host: String,
    /// The loopback redirect port (0 = random; fix it for `ssh -L` forwarding).
    pub redirect_port: u16,
    /// The loopback redirect path.
    pub redirect_path: String,
    /// A complete redirect URI for paste mode (default: the loopback one).
    pub redirect_uri: Option<String>,
    /// RFC 8707 resource indicators.
    pub resource: Vec<String>,
    /// Allow plain-http endpoints on non-loopback hosts (tests only).
    pub allow_insecure_http: bool,
    /// Allow the legacy password grant.
    pub enable_password_grant: bool,
    /// Lifecycle tunables.
    pub policy: Policy,
    /// Show prompts on the terminal (stderr); `false` for silent library use.
    pub interactive: bool,
}

impl Config {
    /// A configuration with defaults.
    pub fn new(app: impl Into<String>, issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Config {
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
            policy: Policy::default(),
            interactive: true,
        }
    }
}

/// A login method.
#[derive(Clone, Debug)]
pub enum LoginMethod {
    /// Choose from the environment: CI → client credentials; SSH or no display → device;
    /// desktop → browser; device falls back to browser/paste when the server has no device
    /// endpoint.
    Auto,
    /// RFC 8628 device flow.
    Device,
    /// Browser with a loopback redirect (RFC 8252).
    Browser,
    /// Browser on another machine: the user pastes the redirected URL.
    Paste,
    /// Client credentials (needs a client secret).
    ClientCredentials,
    /// Resource owner password (needs `enable_password_grant`).
    Password {
        /// Username.
        username: String,
        /// Password.
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

/// What a login did.
#[derive(Clone, Debug, Serialize)]
pub struct LoginReport {
    /// The method used (`device`, `browser`, `paste`, `client_credentials`, `password`, `token`).
    pub method: &'static str,
    /// The profile written.
    pub profile: String,
    /// Where the credential went and why.
    pub store: StoreChoice,
    /// The granted scope.
    pub scope: Option<String>,
    /// When the access token expires (Unix ms).
    pub expires_at: Option<u64>,
}

/// What logout did.
#[derive(Clone, Debug, Serialize)]
pub struct LogoutReport {
    /// A stored credential was deleted.
    pub removed: bool,
    /// The tokens were revoked at the server (RFC 7009).
    pub revoked: bool,
    /// Why they were not revoked, when they were not.
    pub note: Option<String>,
}

/// Where the token `get_token` returns comes from, and its state.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// `env` (`<APP>_TOKEN`), `store`, or `none`.
    pub source: &'static str,
    /// The environment variable consulted.
    pub env_var: String,
    /// The profile.
    pub profile: String,
    /// The issuer.
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// The store holding the credential, and why.
    pub store: Option<StoreChoice>,
    /// `oauth` or `api_key`.
    pub kind: Option<&'static str>,
    /// How the tokens were obtained.
    pub grant: Option<Grant>,
    /// The granted scope.
    pub scope: Option<String>,
    /// When the access token expires (Unix ms).
    pub expires_at: Option<u64>,
    /// There is a refresh token (or a client secret for client credentials).
    pub refreshable: bool,
    /// `use`, `refresh`, `reacquire` or `relogin`.
    pub decision: Option<&'static str>,
    /// A problem reading the store.
    pub error: Option<Error>,
}

/// One stored profile.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileInfo {
    /// Its name.
    pub name: String,
    /// Whether it is the active one.
    pub active: bool,
}

/// Where a flow's `Persist` action writes.
#[derive(Clone, Copy)]
enum PersistTo<'a> {
    /// Nowhere (discovery, revocation).
    Nowhere,
    /// The credential; the caller already holds its lock (renewal).
    Locked(&'a CredentialKey),
    /// The credential, taking its lock for the write (login).
    TakeLock(&'a CredentialKey),
}

/// The termauth client (see the module docs).
pub struct Client {
    config: Config,
    store: Store,
    transport: Transport,
    ui: Box<dyn Ui + Send>,
    cancel: CancelFlag,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.config).field("store", &self.store).finish()
    }
}

fn env_name(app: &str, suffix: &str) -> String {
    format!("{}_{suffix}", app.to_ascii_uppercase().replace(['-', '.', ' '], "_"))
}

/// The name of the variable `<APP>_TOKEN` (upper case; `-`, `.`, space become `_`).
pub fn env_token_var(app: &str) -> String {
    env_name(app, "TOKEN")
}

/// The token in `<APP>_TOKEN`, if set: it wins over any stored credential.
pub fn env_token(app: &str) -> Option<Secret> {
    std::env::var(env_token_var(app)).ok().filter(|t| !t.trim().is_empty()).map(|t| Secret::new(t.trim()))
}

fn not_logged_in(app: &str) -> Error {
    Error::storage("not_logged_in", format!("Not logged in. Run `{app} login` first."), Hint::Reauthenticate)
}

fn relogin(reason: &str) -> Error {
    Error::storage("login_required", reason.to_string(), Hint::Reauthenticate)
}

impl Client {
    /// A client.
    ///
    /// # Errors
    /// A bad profile name, or no config directory.
    pub fn new(mut config: Config) -> Result<Client, Error> {
        if let Some(p) = &config.profile {
            check_profile(p)?;
        }
        if config.client_secret.is_none() {
            config.client_secret = [env_name(&config.app, "CLIENT_SECRET"), "TERMAUTH_CLIENT_SECRET".to_string()]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
                .map(Secret::from);
        }
        let store = match &config.config_dir {
            Some(dir) => Store::at(dir.clone(), config.store),
            None => Store::new(&config.app, config.store)?,
        };
        let ui: Box<dyn Ui + Send> = if config.interactive { Box::new(Terminal::detect()) } else { Box::new(Silent) };
        Ok(Client { config, store, transport: Transport::default(), ui, cancel: crate::driver::ctrlc_flag().clone() })
    }

    /// Replaces the terminal UI.
    pub fn set_ui(&mut self, ui: Box<dyn Ui + Send>) {
        self.ui = ui;
    }

    /// Uses this cancel flag (default: the process's Ctrl-C flag).
    pub fn set_cancel_flag(&mut self, cancel: CancelFlag) {
        self.cancel = cancel;
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The profile in use: the configured one, else the active one, else `default`.
    pub fn profile(&self) -> Result<String, Error> {
        if let Some(p) = &self.config.profile {
            return Ok(p.clone());
        }
        Ok(self.store.active_profile(&self.config.issuer, &self.config.client_id)?.unwrap_or_else(|| "default".into()))
    }

    fn key(&self) -> Result<CredentialKey, Error> {
        Ok(CredentialKey {
            app: self.config.app.clone(),
            issuer: self.config.issuer.clone(),
            client_id: self.config.client_id.clone(),
            profile: self.profile()?,
        })
    }

    fn oauth_client(&self) -> OAuthClient {
        let auth = match (&self.config.client_secret, self.config.secret_method) {
            (None, _) => ClientAuth::None,
            (Some(s), SecretMethod::Basic) => ClientAuth::ClientSecretBasic { client_secret: s.clone() },
            (Some(s), SecretMethod::Post) => ClientAuth::ClientSecretPost { client_secret: s.clone() },
        };
        OAuthClient { client_id: self.config.client_id.clone(), auth }
    }

    fn rng() -> Result<Rng, Error> {
        Rng::from_os()
    }

    /// Runs a flow that takes no redirect.
    fn run_simple(&mut self, spec: FlowSpec, persist: PersistTo<'_>) -> Result<(Outcome, Option<StoreChoice>), Error> {
        let mut flow = spec.start(Self::rng()?)?;
        self.drive(&mut flow, RedirectSource::None, persist, RunOptions::default())
    }

    fn drive(
        &mut self,
        flow: &mut AnyFlow,
        redirect: RedirectSource<'_>,
        persist_to: PersistTo<'_>,
        options: RunOptions,
    ) -> Result<(Outcome, Option<StoreChoice>), Error> {
        let store = self.store.clone();
        let mut choice = None;
        let mut persist = |c: &Credential| -> Result<(), Error> {
            match persist_to {
                PersistTo::Nowhere => {}
                PersistTo::Locked(key) => choice = Some(store.save(key, c)?),
                // A login takes the lock only to write: a `token` process refreshing the
                // previous session under the lock must not overwrite the new login.
                PersistTo::TakeLock(key) => {
                    let _guard = store.lock(key)?;
                    choice = Some(store.save(key, c)?);
                }
            }
            Ok(())
        };
        let mut driver = Driver { transport: &self.transport, ui: self.ui.as_mut(), cancel: self.cancel.clone(), options };
        let outcome = driver.run(flow, redirect, &mut persist)?;
        Ok((outcome, choice))
    }

    /// The server metadata: the configured one, else discovery (cached for a day in
    /// `<config dir>/metadata/<key>.json`).
    pub fn metadata(&mut self) -> Result<ServerMetadata, Error> {
        if let Some(m) = &self.config.metadata {
            return Ok(m.clone());
        }
        let path = self
            .store
            .dir()
            .join("metadata")
            .join(format!("{}.json", crate::store::server_key(&self.config.issuer, "")));
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                let fresh = v["fetched_at"].as_u64().is_some_and(|t| now_ms().saturating_sub(t) < 86_400_000);
                if let (true, Ok(m)) = (fresh, serde_json::from_value::<ServerMetadata>(v["metadata"].clone())) {
                    if m.issuer == self.config.issuer {
                        return Ok(m);
                    }
                }
            }
        }
        let spec = FlowSpec::Discovery(DiscoveryConfig {
            issuer: self.config.issuer.clone(),
            document: MetadataDocument::Auto,
            allow_insecure_http: self.config.allow_insecure_http,
        });
        let (outcome, _) = self.run_simple(spec, PersistTo::Nowhere)?;
        let Outcome::Metadata { metadata } = outcome else {
            return Err(Error::usage("internal_error", "Discovery did not return metadata."));
        };
        let cached = serde_json::json!({"fetched_at": now_ms(), "metadata": metadata});
        let _ = write_atomic(&path, cached.to_string().as_bytes());
        self.config.metadata = Some(metadata.clone());
        Ok(metadata)
    }

    /// Chooses a method for [`LoginMethod::Auto`] (see there).
    pub fn choose_method(&mut self) -> Result<LoginMethod, Error> {
        let here = crate::environment::surroundings();
        let token_variable = env_name(&self.config.app, "TOKEN");
        let secret_variable = env_name(&self.config.app, "CLIENT_SECRET");
        let method = match auto::in_ci(&here, self.config.client_secret.is_some(), &token_variable, &secret_variable) {
            Some(decided) => decided?,
            None => auto::interactive(&here, &self.metadata()?)?,
        };
        Ok(match method {
            AutoMethod::ClientCredentials => LoginMethod::ClientCredentials,
            AutoMethod::Browser => LoginMethod::Browser,
            AutoMethod::Device => LoginMethod::Device,
            AutoMethod::Paste => LoginMethod::Paste,
        })
    }

    /// Logs in with `method` and stores the credential under the current profile.
    ///
    /// # Errors
    /// The flow's errors (typed, with hints), store errors.
    pub fn login(&mut self, method: LoginMethod) -> Result<LoginReport, Error> {
        let key = self.key()?;
        if self.config.store == StorePreference::Keyring {
            // Fail before the user approves anything, not after the tokens are issued.
            crate::store::probe_keyring(&self.config.app)?;
        }
        let method = match method {
            LoginMethod::Auto => self.choose_method()?,
            m => m,
        };
        let (name, outcome, choice) = match method {
            LoginMethod::Token { token, presentation } => {
                let spec = FlowSpec::ApiKey(ApiKeyConfig { key: token, presentation });
                let (o, c) = self.run_simple(spec, PersistTo::TakeLock(&key))?;
                ("token", o, c)
            }
            LoginMethod::Device => {
                let server = self.metadata()?;
                if server.device_authorization_endpoint.is_none() {
                    // What `auto` picks for a server without one: the browser, or paste away
                    // from a desktop (or no_interactive_method, before saying anything).
                    let m = match auto::interactive(&crate::environment::surroundings(), &server)? {
                        AutoMethod::Paste => LoginMethod::Paste,
                        _ => LoginMethod::Browser,
                    };
                    self.ui.info("The server has no device authorization endpoint; using the browser login instead.");
                    return self.login(m);
                }
                let spec = FlowSpec::Device(DeviceConfig {
                    server,
                    client: self.oauth_client(),
                    scope: self.config.scope.clone(),
                    resource: self.config.resource.clone(),
                    clock_drift_margin_ms: 0,
                    allow_insecure_http: self.config.allow_insecure_http,
                });
                let mut flow = spec.start(Self::rng()?)?;
                let options = RunOptions { open_browser_for_device: crate::environment::surroundings().desktop(), no_browser: false };
                let (o, c) = self.drive(&mut flow, RedirectSource::None, PersistTo::TakeLock(&key), options)?;
                ("device", o, c)
            }
            LoginMethod::Browser | LoginMethod::Paste => {
                let paste = matches!(method, LoginMethod::Paste);
                let server = self.metadata()?;
                // Paste mode listens nowhere: the browser's redirect fails to load and the user
                // copies its address instead.
                let listener = if paste {
                    None
                } else {
                    Some(LoopbackListener::bind(&self.config.redirect_host, self.config.redirect_port)?)
                };
                let port = listener.as_ref().map(|l| l.port()).unwrap_or(if self.config.redirect_port == 0 { 8400 } else { self.config.redirect_port });
                if let (Some(l), true) = (&listener, self.config.redirect_port != 0 && is_ssh()) {
                    self.ui.info(&format!(
                        "Listening on {}:{} for the login redirect. From your desktop, forward it with: ssh -L {}:127.0.0.1:{} <this host>",
                        l.host(), l.port(), l.port(), l.port()
                    ));
                }
                let spec = FlowSpec::AuthorizationCode(AuthorizationCodeConfig {
                    server,
                    client: self.oauth_client(),
                    scope: self.config.scope.clone(),
                    redirect_port: Some(port),
                    redirect_host: self.config.redirect_host.clone(),
                    redirect_path: self.config.redirect_path.clone(),
                    redirect_uri: self.config.redirect_uri.clone(),
                    nonce: None,
                    resource: self.config.resource.clone(),
                    prompt: None,
                    login_hint: None,
                    extra_params: Default::default(),
                    code_challenge_method: None,
                    redirect_timeout_ms: termauth_core::flows::authorization_code::DEFAULT_REDIRECT_TIMEOUT_MS,
                    allow_insecure_http: self.config.allow_insecure_http,
                });
                let mut flow = spec.start(Self::rng()?)?;
                let source = match &listener {
                    Some(l) => RedirectSource::Listener(l),
                    None => RedirectSource::Paste,
                };
                let options = RunOptions { open_browser_for_device: false, no_browser: paste };
                let (o, c) = self.drive(&mut flow, source, PersistTo::TakeLock(&key), options)?;
                (if paste { "paste" } else { "browser" }, o, c)
            }
            LoginMethod::ClientCredentials => {
                let spec = self.client_credentials_spec()?;
                let (o, c) = self.run_simple(spec, PersistTo::TakeLock(&key))?;
                ("client_credentials", o, c)
            }
            LoginMethod::Password { username, password } => {
                let spec = FlowSpec::Password(PasswordConfig {
                    server: self.metadata()?,
                    client: self.oauth_client(),
                    username,
                    password,
                    scope: self.config.scope.clone(),
                    enable_password_grant: self.config.enable_password_grant,
                    allow_insecure_http: self.config.allow_insecure_http,
                });
                let (o, c) = self.run_simple(spec, PersistTo::TakeLock(&key))?;
                ("password", o, c)
            }
            LoginMethod::Auto => unreachable!("resolved above"),
        };
        let store = choice.ok_or_else(|| Error::usage("internal_error", "The login produced no credential to store."))?;
        if store.store == "file" && self.config.store == StorePreference::Auto {
            self.ui.warn(&format!("credential {}", store.reason));
        }
        self.store.set_active_profile(&self.config.issuer, &self.config.client_id, &key.profile)?;
        let (scope, expires_at) = match &outcome {
            Outcome::Tokens { tokens } => (tokens.scope.clone(), tokens.expires_at),
            _ => (None, None),
        };
        Ok(LoginReport { method: name, profile: key.profile, store, scope, expires_at })
    }

    fn client_credentials_spec(&mut self) -> Result<FlowSpec, Error> {
        if self.config.client_secret.is_none() {
            return Err(Error::usage(
                "missing_client_secret",
                format!(
                    "Client credentials need a client secret: set {} or TERMAUTH_CLIENT_SECRET (never pass it on the command line).",
                    env_name(&self.config.app, "CLIENT_SECRET")
                ),
            ));
        }
        Ok(FlowSpec::ClientCredentials(ClientCredentialsConfig {
            server: self.metadata()?,
            client: self.oauth_client(),
            scope: self.config.scope.clone(),
            resource: self.config.resource.clone(),
            allow_insecure_http: self.config.allow_insecure_http,
        }))
    }

    /// The token from `<APP>_TOKEN`, if set.
    pub fn env_token(&self) -> Option<Secret> {
        env_token(&self.config.app)
    }

    /// A valid access token (or key): `<APP>_TOKEN` when set; else the stored credential,
    /// renewed under its lock when due (see ARCHITECTURE.md, "Cross-process refresh").
    ///
    /// # Errors
    /// `not_logged_in` / `login_required` (hint: reauthenticate), network and server errors
    /// when the token has expired and cannot be renewed now.
    pub fn get_token(&mut self) -> Result<Secret, Error> {
        if let Some(t) = self.env_token() {
            return Ok(t);
        }
        self.fresh_credential(false).map(|c| c.secret().clone())
    }

    /// Renews the stored credential now, whatever its expiry.
    pub fn refresh(&mut self) -> Result<Credential, Error> {
        self.fresh_credential(true)
    }

    fn fresh_credential(&mut self, force: bool) -> Result<Credential, Error> {
        let key = self.key()?;
        let policy = self.config.policy;
        let (credential, _) = self.store.load(&key)?.ok_or_else(|| not_logged_in(&self.config.app))?;
        match decide(&credential, now_ms(), &policy) {
            Decision::Use if !force => return Ok(credential),
            Decision::Relogin { reason } => return Err(relogin(&reason)),
            _ => {}
        }
        let before = credential;
        let _guard = self.store.lock(&key)?;
        // Re-read after locking: another process may have renewed it while we waited.
        let (credential, _) = self.store.load(&key)?.ok_or_else(|| not_logged_in(&self.config.app))?;
        let result = match decide_locked(&before, &credential, now_ms(), &policy, force)? {
            Decision::Use => return Ok(credential),
            Decision::Relogin { reason } => return Err(relogin(&reason)),
            Decision::Refresh { .. } => self.run_refresh(&key, &credential),
            Decision::Reacquire { .. } => self.client_credentials_spec().and_then(|spec| self.run_simple(spec, PersistTo::Locked(&key)).map(|_| ())),
        };
        match result {
            Ok(()) => Ok(self.store.load(&key)?.map(|(c, _)| c).ok_or_else(|| not_logged_in(&self.config.app))?),
            Err(error) => {
                // RFC 6749 §10.4 rotation: if a process that does not honour our lock rotated
                // the refresh token first, the record now holds the new one. Re-read once.
                if error.is_oauth("invalid_grant") {
                    if let Some((again, _)) = self.store.load(&key)? {
                        if renewed_elsewhere(&credential, &again, now_ms()) {
                            return Ok(again);
                        }
                    }
                }
                match after_renewal_failure(&credential, &error, now_ms())? {
                    Decision::Use => {
                        self.ui.warn(&format!("could not renew the token ({}); using the current one until it expires", error.message));
                        Ok(credential)
                    }
                    Decision::Relogin { reason } => Err(relogin(&reason)),
                    _ => Err(error),
                }
            }
        }
    }

    fn run_refresh(&mut self, key: &CredentialKey, credential: &Credential) -> Result<(), Error> {
        let spec = FlowSpec::Refresh(RefreshConfig {
            server: self.metadata()?,
            client: self.oauth_client(),
            credential: credential.clone(),
            scope: None,
            resource: self.config.resource.clone(),
            allow_insecure_http: self.config.allow_insecure_http,
        });
        self.run_simple(spec, PersistTo::Locked(key)).map(|_| ())
    }

    /// Revokes the stored tokens at the server (refresh token first, RFC 7009), then
    /// deletes the credential. Offline, it still deletes and says the server copy was not
    /// revoked.
    pub fn logout(&mut self) -> Result<LogoutReport, Error> {
        let key = self.key()?;
        let _guard = self.store.lock(&key)?;
        let loaded = self.store.load(&key);
        let mut note = None;
        let mut revoked = false;
        match &loaded {
            Ok(Some((credential, _))) => match &credential.data {
                CredentialData::OAuth { tokens, .. } => {
                    let mut list = Vec::new();
                    if let Some(rt) = &tokens.refresh_token {
                        list.push(TokenToSend { token: rt.clone(), token_type_hint: Some("refresh_token".into()) });
                    }
                    list.push(TokenToSend { token: tokens.access_token.clone(), token_type_hint: Some("access_token".into()) });
                    let result = self.metadata().and_then(|server| {
                        if server.revocation_endpoint.is_none() {
                            return Err(Error::usage("missing_endpoint", "The server has no revocation endpoint."));
                        }
                        let spec = FlowSpec::Revocation(RevocationConfig {
                            server,
                            client: self.oauth_client(),
                            tokens: list,
                            allow_insecure_http: self.config.allow_insecure_http,
                        });
                        self.run_simple(spec, PersistTo::Nowhere)
                    });
                    match result {
                        Ok(_) => revoked = true,
                        Err(e) => note = Some(format!("The tokens were deleted here but not revoked at the server: {}", e.message)),
                    }
                }
                CredentialData::ApiKey { .. } => {
                    note = Some("The API key was deleted here; it is still valid at the server until you revoke it there.".into())
                }
            },
            Ok(None) => {}
            Err(e) => note = Some(format!("The stored credential was unreadable ({}); it was deleted.", e.message)),
        }
        let removed = self.store.delete(&key)?;
        Ok(LogoutReport { removed, revoked, note })
    }

    /// Which token `get_token` would use, from where, and in what state.
    pub fn status(&mut self) -> Status {
        let env_var = env_token_var(&self.config.app);
        let profile = self.profile().unwrap_or_else(|_| "default".into());
        let mut status = Status {
            source: "none",
            env_var,
            profile,
            issuer: self.config.issuer.clone(),
            client_id: self.config.client_id.clone(),
            store: None,
            kind: None,
            grant: None,
            scope: None,
            expires_at: None,
            refreshable: false,
            decision: None,
            error: None,
        };
        if self.env_token().is_some() {
            status.source = "env";
            return status;
        }
        let loaded = self.key().and_then(|k| self.store.load(&k));
        match loaded {
            Ok(Some((credential, choice))) => {
                status.source = "store";
                status.store = Some(choice);
                match &credential.data {
                    CredentialData::OAuth { grant, tokens, .. } => {
                        status.kind = Some("oauth");
                        status.grant = Some(*grant);
                        status.scope = tokens.scope.clone();
                        status.expires_at = tokens.expires_at;
                        status.refreshable = tokens.refresh_token.is_some()
                            || (*grant == Grant::ClientCredentials && self.config.client_secret.is_some());
                    }
                    CredentialData::ApiKey { .. } => status.kind = Some("api_key"),
                }
                status.decision = Some(match decide(&credential, now_ms(), &self.config.policy) {
                    Decision::Use => "use",
                    Decision::Refresh { .. } => "refresh",
                    Decision::Reacquire { .. } => "reacquire",
                    Decision::Relogin { .. } => "relogin",
                });
            }
            Ok(None) => {}
            Err(e) => status.error = Some(e),
        }
        status
    }

    /// The stored profiles for this issuer and client.
    pub fn profiles(&self) -> Result<Vec<ProfileInfo>, Error> {
        let active = self.profile()?;
        Ok(self
            .store
            .profiles(&self.config.issuer, &self.config.client_id)?
            .into_iter()
            .map(|name| ProfileInfo { active: name == active, name })
            .collect())
    }

    /// Makes `profile` the active one. It must exist (log in with `profile` set to create it).
    pub fn use_profile(&self, profile: &str) -> Result<(), Error> {
        let known = self.store.profiles(&self.config.issuer, &self.config.client_id)?;
        if !known.iter().any(|p| p == profile) {
            let list = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(Error::usage(
                "unknown_profile",
                format!("There is no profile `{profile}` for this issuer and client (stored: {list}). Log in with --profile {profile} to create it."),
            ));
        }
        self.store.set_active_profile(&self.config.issuer, &self.config.client_id, profile)
    }
}
