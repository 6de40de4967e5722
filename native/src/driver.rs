//! The driver loop: runs any termauth-core flow to completion with real IO.
//!
//! It is the one loop of the contract (see `termauth_core::Flow`): poll, do what the
//! action says (send, show, open, persist, sleep, listen), feed the result back, until
//! `Done` or `Failed`. It contains no protocol decision.

use crate::environment::open_browser;
use crate::listener::{Arrival, LoopbackListener, respond};
use crate::store::now_ms;
use crate::transport::Transport;
use crate::ui::Ui;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use termauth_core::{Action, AnyFlow, Credential, Error, Flow, Input, Outcome};

/// Set when the user pressed Ctrl-C (or the host asked to stop).
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A fresh flag.
    pub fn new() -> Self {
        CancelFlag::default()
    }
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The process-wide flag set by [`install_ctrlc_handler`].
pub fn ctrlc_flag() -> &'static CancelFlag {
    static FLAG: OnceLock<CancelFlag> = OnceLock::new();
    FLAG.get_or_init(CancelFlag::new)
}

/// Installs a Ctrl-C handler: the first press cancels the running flow cleanly (it gets
/// `Input::Cancel`; stores are only ever written atomically), a second one exits with 130.
pub fn install_ctrlc_handler() {
    let _ = ctrlc::set_handler(|| {
        let flag = ctrlc_flag();
        if flag.is_cancelled() {
            std::process::exit(130);
        }
        flag.cancel();
    });
}

/// Where the redirect of an authorization code flow comes from.
#[derive(Debug)]
pub enum RedirectSource<'a> {
    /// The loopback listener the flow's redirect URI points at.
    Listener(&'a LoopbackListener),
    /// The user pastes the URL on standard input.
    Paste,
    /// This flow takes no redirect.
    None,
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Also open a browser at the device flow's verification URI (desktop sessions).
    pub open_browser_for_device: bool,
    /// Do not try to open a browser for the authorization code flow (paste mode).
    pub no_browser: bool,
}

/// Runs flows with a transport, a UI and a cancel flag.
pub struct Driver<'a> {
    /// The HTTP transport.
    pub transport: &'a Transport,
    /// The terminal UI.
    pub ui: &'a mut dyn Ui,
    /// Cancellation.
    pub cancel: CancelFlag,
    /// Options.
    pub options: RunOptions,
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("options", &self.options).finish()
    }
}

fn stdin_lines() -> &'static std::sync::Mutex<mpsc::Receiver<Option<String>>> {
    static RX: OnceLock<std::sync::Mutex<mpsc::Receiver<Option<String>>>> = OnceLock::new();
    RX.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            loop {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        break;
                    }
                    Ok(_) => {
                        if tx.send(Some(line)).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        std::sync::Mutex::new(rx)
    })
}

impl Driver<'_> {
    /// Runs `flow` until it finishes. `persist` stores each credential the flow emits.
    ///
    /// # Errors
    /// The flow's failure, or the store's error from `persist`.
    pub fn run(
        &mut self,
        flow: &mut AnyFlow,
        redirect: RedirectSource<'_>,
        persist: &mut dyn FnMut(&Credential) -> Result<(), Error>,
    ) -> Result<Outcome, Error> {
        let mut pending: Option<Action> = None;
        let mut code_expires_at: Option<u64> = None;
        loop {
            if self.cancel.is_cancelled() {
                let _ = flow.handle(Input::Cancel, now_ms());
            }
            let action = pending.take().unwrap_or_else(|| flow.poll(now_ms()));
            match action {
                Action::SendRequest(req) => {
                    let input = self.transport.send(&req);
                    flow.handle(input, now_ms())?;
                }
                Action::ShowUserCode(prompt) => {
                    code_expires_at = Some(prompt.expires_at);
                    let opened = self.options.open_browser_for_device
                        && open_browser(prompt.verification_uri_complete.as_deref().unwrap_or(&prompt.verification_uri));
                    self.ui.show_user_code(&prompt, opened);
                }
                Action::OpenBrowser { url, .. } => {
                    let paste = matches!(redirect, RedirectSource::Paste);
                    let opened = !paste && !self.options.no_browser && open_browser(&url);
                    self.ui.show_browser(&url, opened, paste);
                }
                Action::Persist { credential } => persist(&credential)?,
                Action::WaitUntil { at_ms } => {
                    let deadline = code_expires_at.unwrap_or(at_ms);
                    while now_ms() < at_ms && !self.cancel.is_cancelled() {
                        self.ui.tick(now_ms(), deadline);
                        let left = at_ms.saturating_sub(now_ms()).min(100);
                        std::thread::sleep(Duration::from_millis(left));
                    }
                }
                Action::AwaitRedirect { redirect_uri, until_ms } => match &redirect {
                    RedirectSource::Listener(listener) => {
                        let path = url_path(&redirect_uri);
                        let cancel = self.cancel.clone();
                        match listener.wait(&path, until_ms, &move || cancel.is_cancelled()) {
                            Arrival::Callback(target, stream) => match flow.handle(Input::Redirect { url: target }, now_ms()) {
                                Err(e) => respond(&stream, "400 Bad Request", "Login failed", &e.message),
                                Ok(()) => {
                                    let next = flow.poll(now_ms());
                                    match &next {
                                        Action::Failed { error } => respond(&stream, "200 OK", "Login failed", &format!("{} You can close this window.", error.message)),
                                        _ => respond(&stream, "200 OK", "Login complete", "You are logged in. You can close this window and return to the terminal."),
                                    }
                                    pending = Some(next);
                                }
                            },
                            Arrival::Nothing => {} // timeout or cancel: the next poll says which
                        }
                    }
                    RedirectSource::Paste => {
                        let wait = until_ms.saturating_sub(now_ms());
                        let line = stdin_lines().lock().map_err(|_| Error::usage("stdin", "standard input is unavailable"))?.recv_timeout(Duration::from_millis(wait.min(200)));
                        match line {
                            Ok(Some(line)) if line.trim().is_empty() => {}
                            Ok(Some(line)) => {
                                if let Err(e) = flow.handle(Input::Redirect { url: line.trim().to_string() }, now_ms()) {
                                    self.ui.warn(&format!("{} Paste it again:", e.message));
                                }
                            }
                            Ok(None) => {
                                let _ = flow.handle(Input::Cancel, now_ms());
                                return Err(Error::interrupted(
                                    "stdin_closed",
                                    "Standard input closed before the redirect URL was pasted.",
                                    termauth_core::Hint::Reauthenticate,
                                ));
                            }
                            Err(_) => {} // no line yet: poll again (timeouts and cancel are the flow's)
                        }
                    }
                    RedirectSource::None => {
                        return Err(Error::usage("no_redirect_source", "This flow waits for a redirect but the driver has no listener or paste input."));
                    }
                },
                Action::AwaitResponse { id } => {
                    return Err(Error::usage("internal_error", format!("Request {id} was not answered by the driver.")));
                }
                Action::Done { result } => {
                    self.ui.clear();
                    return Ok(result);
                }
                Action::Failed { error } => {
                    self.ui.clear();
                    return Err(error);
                }
            }
        }
    }
}

fn url_path(uri: &str) -> String {
    let rest = uri.split("://").nth(1).unwrap_or(uri);
    match rest.find('/') {
        Some(i) => rest[i..].split(['?', '#']).next().unwrap_or("/").to_string(),
        None => "/".to_string(),
    }
}
