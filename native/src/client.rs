//! The high-level API: log in, get a fresh token, log out, report status. Each call runs
//! one [`termauth_core::session::Session`] and executes its actions — HTTP ([`Transport`]),
//! storage ([`crate::storage`]), the loopback listener, a browser, the terminal ([`Ui`]).
//! Every decision, and every sentence shown, is the session's.
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

use crate::driver::{CancelFlag, Pasted, now_ms, read_pasted_line};
use crate::environment::{open_browser, snapshot_for};
use crate::listener::{Arrival, LoopbackListener, respond};
use crate::transport::Transport;
use crate::ui::{Terminal, Ui};
use std::net::TcpStream;
use std::time::Duration;
use termauth_core::session::{Action, Command, Input, Outcome, RedirectSource, Session, SessionSpec};
pub use termauth_core::session::{
    LoginMethod, LoginReport, LogoutReport, ProfileInfo, SecretMethod, SessionConfig as Config, Status, TokenReport,
};
use termauth_core::{Error, Rng, Secret, ServerMetadata};

/// The termauth client (see the module docs).
pub struct Client {
    config: Config,
    pub(crate) transport: Transport, // its options: `set_request_timeout` (transport.rs)
    ui: Box<dyn Ui + Send>,
    cancel: CancelFlag,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.config).finish_non_exhaustive()
    }
}

/// What the executor keeps between actions: the listener and the browser connection that
/// waits for its page.
#[derive(Default)]
struct Running {
    listener: Option<LoopbackListener>,
    browser: Option<TcpStream>,
    cancel_sent: bool,
}

fn internal(what: String) -> Error {
    Error::usage("internal_error", format!("{what}; please report this as a bug."))
}

impl Client {
    /// A client that shows prompts on the terminal (stderr) when there is one.
    ///
    /// # Errors
    /// A bad profile name.
    pub fn new(config: Config) -> Result<Client, Error> {
        if let Some(p) = &config.profile {
            termauth_core::store::check_profile(p)?;
        }
        Ok(Client {
            config,
            transport: Transport::default(),
            ui: Box::new(Terminal::detect()),
            cancel: crate::driver::ctrlc_flag().clone(),
        })
    }

    /// Replaces the terminal UI (e.g. [`crate::ui::Silent`] for library use).
    pub fn set_ui(&mut self, ui: Box<dyn Ui + Send>) {
        self.ui = ui;
    }

    /// Uses this cancel flag (default: the process's Ctrl-C flag).
    pub fn set_cancel_flag(&mut self, cancel: CancelFlag) {
        self.cancel = cancel;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Logs in with `method` and stores the credential under the current profile.
    ///
    /// # Errors
    /// The flow's errors (typed, with hints), store errors.
    pub fn login(&mut self, method: LoginMethod) -> Result<LoginReport, Error> {
        match self.run(Command::Login(method))? {
            Outcome::Login(report) => Ok(report),
            other => Err(internal(format!("login ended with {other:?}"))),
        }
    }

    /// A valid access token (or key): `<APP>_TOKEN` when set; else the stored credential,
    /// renewed under its lock when due (see ARCHITECTURE.md, "Cross-process refresh").
    ///
    /// # Errors
    /// `not_logged_in` / `login_required` (hint: reauthenticate), network and server errors
    /// when the token has expired and cannot be renewed now.
    pub fn get_token(&mut self) -> Result<Secret, Error> {
        self.token(Command::GetToken).map(|report| report.token)
    }

    /// Like [`Client::get_token`], with where the token came from, its header and expiry.
    pub fn get_token_report(&mut self) -> Result<TokenReport, Error> {
        self.token(Command::GetToken)
    }

    /// An access token limited to `scope` and/or for `resource` (RFC 8707), got by a refresh
    /// of the stored grant and not stored (the stored token stays the login's): for handing a
    /// narrower token to something that needs less. Fails with `scope_not_granted` when the
    /// login's grant does not cover `scope`, and `scoped_token_needs_refresh` without a
    /// refresh token.
    pub fn get_token_for(&mut self, scope: Option<&str>, resource: &[String]) -> Result<TokenReport, Error> {
        self.token(Command::GetTokenFor { scope: scope.map(str::to_string), resource: resource.to_vec() })
    }

    /// Renews the stored credential now, whatever its expiry. Unlike `get_token`, a
    /// refused renewal is an error even while the current token is still valid.
    pub fn refresh(&mut self) -> Result<TokenReport, Error> {
        self.token(Command::Refresh)
    }

    fn token(&mut self, command: Command) -> Result<TokenReport, Error> {
        match self.run(command)? {
            Outcome::Token(report) => Ok(report),
            other => Err(internal(format!("get_token ended with {other:?}"))),
        }
    }

    /// Revokes the stored tokens at the server (refresh token first, RFC 7009), then
    /// deletes the credential. Offline, it still deletes and says the server copy was not
    /// revoked.
    pub fn logout(&mut self) -> Result<LogoutReport, Error> {
        match self.run(Command::Logout)? {
            Outcome::Logout(report) => Ok(report),
            other => Err(internal(format!("logout ended with {other:?}"))),
        }
    }

    /// Which token `get_token` would use, from where, and in what state (a store problem
    /// is reported in `error`, not as an `Err`).
    pub fn status(&mut self) -> Result<Status, Error> {
        match self.run(Command::Status)? {
            Outcome::Status(status) => Ok(*status),
            other => Err(internal(format!("status ended with {other:?}"))),
        }
    }

    /// The status of every credential stored for this app (each issuer, client and profile,
    /// ordered so), from the store alone: `<APP>_TOKEN` is not consulted.
    pub fn status_all(&mut self) -> Result<Vec<Status>, Error> {
        match self.run(Command::StatusAll)? {
            Outcome::StatusAll { statuses } => Ok(statuses),
            other => Err(internal(format!("status_all ended with {other:?}"))),
        }
    }

    /// The stored profiles for this issuer and client.
    pub fn profiles(&mut self) -> Result<Vec<ProfileInfo>, Error> {
        match self.run(Command::Profiles)? {
            Outcome::Profiles { profiles } => Ok(profiles),
            other => Err(internal(format!("profiles ended with {other:?}"))),
        }
    }

    /// Makes `profile` the active one. It must exist (log in with `profile` set to create it).
    pub fn use_profile(&mut self, profile: &str) -> Result<(), Error> {
        self.run(Command::UseProfile { profile: profile.to_string() }).map(|_| ())
    }

    /// The server metadata: configured, cached (a day) or discovered (and cached).
    pub fn metadata(&mut self) -> Result<ServerMetadata, Error> {
        match self.run(Command::Discover)? {
            Outcome::Metadata { metadata } => Ok(metadata),
            other => Err(internal(format!("discover ended with {other:?}"))),
        }
    }

    /// Takes the credential's lock — the one renewals and logins take — until the guard is
    /// dropped, for a program that must not race termauth on this credential. Waits up to
    /// `lock_wait_ms`.
    pub fn lock(&mut self) -> Result<CredentialLock, Error> {
        match self.run(Command::Lock)? {
            Outcome::Locked { nonce, .. } => Ok(CredentialLock { config: self.config.clone(), nonce }),
            other => Err(internal(format!("lock ended with {other:?}"))),
        }
    }

    /// Runs one session to its end, executing its actions.
    fn run(&mut self, command: Command) -> Result<Outcome, Error> {
        let environment = snapshot_for(&self.config.app, &command);
        let spec = SessionSpec::new(command, self.config.clone(), environment);
        let mut session = Session::start(spec, Rng::from_os()?, now_ms())?;
        let mut running = Running::default();
        let result = self.execute(&mut session, &mut running);
        self.ui.clear();
        if running.cancel_sent {
            // That Ctrl-C was for this command: the next one starts afresh (a second press
            // during this one already exited with 130).
            self.cancel.reset();
        }
        result
    }

    fn execute(&mut self, session: &mut Session, running: &mut Running) -> Result<Outcome, Error> {
        loop {
            if self.cancel.is_cancelled() && !running.cancel_sent {
                running.cancel_sent = true;
                session.handle(Input::Cancel, now_ms())?;
            }
            let action = session.poll(now_ms());
            if let Some(answer) = crate::storage::execute(&action) {
                session.handle(answer, now_ms())?;
                continue;
            }
            match action {
                Action::Done { result } => return Ok(result),
                Action::Failed { error } => return Err(error),
                Action::SendRequest(request) => {
                    let answer = self.transport.send(&request);
                    session.handle(answer.into(), now_ms())?;
                }
                Action::WaitUntil { at_ms, progress } => {
                    // Wake early only to hand a new Ctrl-C to the session: once it has the
                    // cancel, a wait it still asks for is one it will not cut short (storing
                    // tokens already issued), and polling again at once would spin.
                    while now_ms() < at_ms && (running.cancel_sent || !self.cancel.is_cancelled()) {
                        if let Some(p) = &progress {
                            self.ui.progress(now_ms(), p);
                        }
                        std::thread::sleep(Duration::from_millis(at_ms.saturating_sub(now_ms()).min(100)));
                    }
                }
                Action::LaunchBrowser { id, url } => {
                    session.handle(Input::BrowserLaunched { id, launched: open_browser(&url) }, now_ms())?;
                }
                Action::ShowUserCode { prompt, text } => self.ui.show_user_code(&prompt, &text),
                Action::ShowAuthorizationUrl { url, text, .. } => self.ui.show_authorization_url(&url, &text),
                Action::Notice { level, text, .. } => self.ui.notice(level, &text),
                Action::Listen { id, host, port, not_found_html } => {
                    let answer = match LoopbackListener::bind(&host, port, not_found_html) {
                        Ok(listener) => {
                            let port = listener.port();
                            running.listener = Some(listener);
                            Input::Listening { id, port }
                        }
                        Err(message) => Input::IoError { id, message },
                    };
                    session.handle(answer, now_ms())?;
                }
                Action::AwaitRedirect { redirect_uri, until_ms, source } => {
                    let input = match (source, &running.listener) {
                        (RedirectSource::Listener, Some(listener)) => {
                            let cancel = self.cancel.clone();
                            match listener.wait(&redirect_uri, until_ms, &move || cancel.is_cancelled()) {
                                Arrival::Callback(target, stream) => {
                                    running.browser = Some(stream);
                                    Some(Input::Redirect { url: target })
                                }
                                Arrival::Nothing => None,
                            }
                        }
                        (RedirectSource::Listener, None) => return Err(internal("a redirect awaited without a listener".into())),
                        (RedirectSource::Paste, _) => match read_pasted_line(until_ms, &self.cancel) {
                            Pasted::Line(url) => Some(Input::Redirect { url }),
                            Pasted::Closed => Some(Input::InputClosed),
                            Pasted::Nothing => None,
                        },
                    };
                    if let Some(input) = input {
                        session.handle(input, now_ms())?;
                    }
                }
                Action::AnswerBrowser { status, html } => {
                    if let Some(stream) = running.browser.take() {
                        respond(&stream, status, &html);
                    }
                }
                other @ Action::AwaitResponse { .. } => return Err(internal(format!("unanswered {other:?}"))),
                other => return Err(internal(format!("unexpected {other:?}"))),
            }
        }
    }
}

/// The credential's lock, held until dropped (see [`Client::lock`]).
#[derive(Debug)]
pub struct CredentialLock {
    config: Config,
    nonce: String,
}

impl Drop for CredentialLock {
    /// Releases the lock if it is still this holder's: only storage actions are needed.
    fn drop(&mut self) {
        let command = Command::Unlock { nonce: self.nonce.clone() };
        let spec = SessionSpec::new(command.clone(), self.config.clone(), snapshot_for(&self.config.app, &command));
        let Ok(mut session) = Rng::from_os().and_then(|rng| Session::start(spec, rng, now_ms())) else { return };
        loop {
            let action = session.poll(now_ms());
            let Some(answer) = crate::storage::execute(&action) else { return };
            if session.handle(answer, now_ms()).is_err() {
                return;
            }
        }
    }
}
