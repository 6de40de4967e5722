//! The session's side of the driver contract: the one outstanding request or wait, the
//! queue of actions that need no answer, and the awaitable primitives the session's
//! operations are written with.
//!
//! The operations (`ops.rs`) are `async fn`s: each storage call, HTTP request or wait is an
//! `.await` on one of the primitives below, which records what it needs and returns
//! `Pending`. [`super::Session::poll`] hands that to the driver; `handle` stores the
//! answer; the next `poll` resumes the operation. The future is polled with a no-op waker
//! and never by anything else: there is no runtime, no thread and no IO here, only a way
//! to write "load, lock, reload, renew, save, unlock" as the sequence it is instead of a
//! hand-numbered state machine (see ARCHITECTURE.md, "Why the session is written with
//! async").

use super::{Action, Input, Progress, RedirectSource};
use crate::error::Error;
use crate::http::HttpRequest;
use crate::secret::Secret;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;

/// A file that was read: its text, and what the executor could tell of it.
pub(crate) struct FileRead {
    pub(crate) contents: Secret,
    pub(crate) modified_ms: Option<u64>,
    pub(crate) mode: Option<u32>,
    pub(crate) owned: Option<bool>,
}

/// What kind of answer a request takes (besides `io_error` for the storage ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Http,
    BrowserLaunched,
    Listening,
    FileContents,
    Completed,
    Removed,
    DirListing,
    Created,
    ProcessStatus,
    KeyringValue,
}

impl Expect {
    fn accepts(self, input: &Input) -> bool {
        matches!(
            (self, input),
            (Expect::Http, Input::HttpResponse(_) | Input::TransportError { .. })
                | (Expect::BrowserLaunched, Input::BrowserLaunched { .. })
                | (Expect::Listening, Input::Listening { .. } | Input::IoError { .. })
                | (Expect::FileContents, Input::FileContents { .. } | Input::IoError { .. })
                | (Expect::Completed, Input::Completed { .. } | Input::IoError { .. })
                | (Expect::Removed, Input::Removed { .. } | Input::IoError { .. })
                | (Expect::DirListing, Input::DirListing { .. } | Input::IoError { .. })
                | (Expect::Created, Input::Created { .. } | Input::IoError { .. })
                | (Expect::ProcessStatus, Input::ProcessStatus { .. } | Input::IoError { .. })
                | (Expect::KeyringValue, Input::KeyringValue { .. } | Input::IoError { .. })
        )
    }

    fn answers(self) -> &'static str {
        match self {
            Expect::Http => "http_response or transport_error",
            Expect::BrowserLaunched => "browser_launched",
            Expect::Listening => "listening or io_error",
            Expect::FileContents => "file_contents or io_error",
            Expect::Completed => "completed or io_error",
            Expect::Removed => "removed or io_error",
            Expect::DirListing => "dir_listing or io_error",
            Expect::Created => "created or io_error",
            Expect::ProcessStatus => "process_status or io_error",
            Expect::KeyringValue => "keyring_value or io_error",
        }
    }
}

struct Request {
    id: u64,
    action: Action,
    expect: Expect,
    handed_out: bool,
    answer: Option<Input>,
}

/// What arrived while the session waited for the browser.
pub(crate) enum Arrival {
    /// A redirect URL (from the listener or pasted).
    Url(String),
    /// Paste mode: standard input ended.
    Closed,
    /// The deadline passed, or the user cancelled: the flow decides which.
    Nothing,
}

enum Wait {
    Until { at_ms: u64, progress: Option<Progress>, cancellable: bool },
    Redirect { redirect_uri: String, until_ms: u64, source: RedirectSource, arrival: Option<Arrival> },
}

#[derive(Default)]
struct Shared {
    now: u64,
    next_id: u64,
    queue: VecDeque<Action>,
    request: Option<Request>,
    wait: Option<Wait>,
    cancelled: bool,
    /// Trace HTTP exchanges as notices (`SessionConfig::debug`).
    trace: bool,
}

/// The state shared by the session and the operation it runs.
#[derive(Clone)]
pub(crate) struct Io(Arc<Mutex<Shared>>);

impl Io {
    pub(crate) fn new(now_ms: u64) -> Io {
        Io(Arc::new(Mutex::new(Shared { now: now_ms, next_id: 1, ..Shared::default() })))
    }

    fn state(&self) -> MutexGuard<'_, Shared> {
        // Single-threaded use: a poisoned lock only means a panic elsewhere; keep going.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> u64 {
        self.state().now
    }

    pub(crate) fn set_now(&self, now_ms: u64) {
        self.state().now = now_ms;
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.state().cancelled
    }

    /// Turns the HTTP trace on.
    pub(crate) fn set_trace(&self) {
        self.state().trace = true;
    }

    fn trace(&self, text: String) {
        if self.state().trace {
            self.emit(Action::Notice { level: super::NoticeLevel::Info, code: "http_trace".into(), text });
        }
    }

    /// Queues an action that needs no answer (a notice, a prompt, a page).
    pub(crate) fn emit(&self, action: Action) {
        self.state().queue.push_back(action);
    }

    pub(crate) fn pop_queued(&self) -> Option<Action> {
        self.state().queue.pop_front()
    }

    /// The action the session waits on, if the operation cannot go on without the driver:
    /// a request not handed out yet (then marked handed out), `await_response` for one
    /// handed out and unanswered, or a wait that has not ended. `None` when the operation
    /// can resume.
    pub(crate) fn waiting_action(&self) -> Option<Action> {
        let mut s = self.state();
        let (now, cancelled) = (s.now, s.cancelled);
        if let Some(r) = s.request.as_mut() {
            if !r.handed_out {
                r.handed_out = true;
                return Some(r.action.clone());
            }
            return r.answer.is_none().then_some(Action::AwaitResponse { id: r.id });
        }
        match &s.wait {
            Some(Wait::Until { at_ms, progress, cancellable }) if now < *at_ms && !(cancelled && *cancellable) => {
                Some(Action::WaitUntil { at_ms: *at_ms, progress: progress.clone() })
            }
            Some(Wait::Redirect { redirect_uri, until_ms, source, arrival: None }) if now < *until_ms && !cancelled => {
                Some(Action::AwaitRedirect { redirect_uri: redirect_uri.clone(), until_ms: *until_ms, source: *source })
            }
            _ => None,
        }
    }

    pub(crate) fn cancel(&self) {
        self.state().cancelled = true;
    }

    /// A redirect (or the end of pasted input) for the redirect the session waits for.
    pub(crate) fn arrive(&self, arrival: Arrival) -> Result<(), Error> {
        let mut s = self.state();
        match &mut s.wait {
            Some(Wait::Redirect { arrival: slot @ None, .. }) => {
                *slot = Some(arrival);
                Ok(())
            }
            _ => Err(Error::usage(
                "unexpected_input",
                "The session is not waiting for a redirect; send a redirect only after an await_redirect action.",
            )),
        }
    }

    /// The answer to the outstanding request. Anything else is refused and changes nothing.
    pub(crate) fn answer(&self, id: u64, input: Input) -> Result<(), Error> {
        let mut s = self.state();
        let next_id = s.next_id;
        match s.request.as_mut() {
            Some(r) if r.id == id => {
                if !r.handed_out {
                    return Err(Error::usage(
                        "request_not_sent",
                        format!("Request {id} was answered before poll() handed it out; poll first, then do it, then handle."),
                    ));
                }
                if r.answer.is_some() {
                    return Err(Error::usage("duplicate_response", format!("Request {id} has already been answered.")));
                }
                if !r.expect.accepts(&input) {
                    return Err(Error::usage(
                        "unexpected_input",
                        format!("Request {id} is answered with {}, not {}.", r.expect.answers(), input.type_name()),
                    ));
                }
                r.answer = Some(input);
                Ok(())
            }
            _ if id > 0 && id < next_id => Err(Error::usage(
                "duplicate_response",
                format!("Request {id} has already been answered; each request gets exactly one answer."),
            )),
            _ => Err(Error::usage(
                "unknown_request_id",
                format!("No request with id {id} was handed out by this session; answer the action being waited for."),
            )),
        }
    }

    /// Hands `action` (with the next request id) to the driver and waits for its answer
    /// (one that `expect` accepts). Not generic, so one copy of it is in the `.wasm`.
    pub(crate) async fn request(&self, expect: Expect, mut action: Action) -> Input {
        let id = {
            let mut s = self.state();
            let id = s.next_id;
            s.next_id += 1;
            action.set_request_id(id);
            s.request = Some(Request { id, action, expect, handed_out: false, answer: None });
            id
        };
        poll_fn(|_| {
            let mut s = self.state();
            let answer = match s.request.as_mut() {
                Some(r) if r.id == id => r.answer.take(),
                _ => None,
            };
            match answer {
                Some(a) => {
                    s.request = None;
                    Poll::Ready(a)
                }
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Waits until `at_ms`; `false` when cancelled first (a wait that is not `cancellable`
    /// lasts its time whatever happens: a lock taken to store tokens already issued).
    pub(crate) async fn wait_until(&self, at_ms: u64, progress: Option<Progress>, cancellable: bool) -> bool {
        self.state().wait = Some(Wait::Until { at_ms, progress, cancellable });
        poll_fn(|_| {
            let mut s = self.state();
            if s.cancelled && cancellable {
                s.wait = None;
                Poll::Ready(false)
            } else if s.now >= at_ms {
                s.wait = None;
                Poll::Ready(true)
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Waits for the browser's redirect until `until_ms`.
    pub(crate) async fn redirect(&self, redirect_uri: String, until_ms: u64, source: RedirectSource) -> Arrival {
        self.state().wait = Some(Wait::Redirect { redirect_uri, until_ms, source, arrival: None });
        poll_fn(|_| {
            let mut s = self.state();
            let (now, cancelled) = (s.now, s.cancelled);
            match &mut s.wait {
                Some(Wait::Redirect { arrival, until_ms, .. }) => {
                    if let Some(a) = arrival.take() {
                        s.wait = None;
                        Poll::Ready(a)
                    } else if cancelled || now >= *until_ms {
                        s.wait = None;
                        Poll::Ready(Arrival::Nothing)
                    } else {
                        Poll::Pending
                    }
                }
                _ => Poll::Ready(Arrival::Nothing),
            }
        })
        .await
    }
}

// ---- the typed primitives ----------------------------------------------------------

/// The driver's description of a failed storage primitive (an OS error text, never a
/// secret).
pub(crate) type IoFailure = String;

impl Io {
    /// Sends an HTTP request; the answer carries `request`'s own id again.
    pub(crate) async fn http(&self, request: HttpRequest) -> crate::flow::Input {
        let flow_id = request.id;
        self.trace(crate::http::trace_request(&request));
        let input = self.request(Expect::Http, Action::SendRequest(request)).await;
        match input {
            Input::HttpResponse(mut r) => {
                self.trace(crate::http::trace_response(&r));
                r.id = flow_id;
                crate::flow::Input::HttpResponse(r)
            }
            Input::TransportError { kind, message, .. } => {
                self.trace(format!("<- no response: {}", crate::texts::shown(message.as_deref().unwrap_or(""))));
                crate::flow::Input::TransportError { id: flow_id, kind, message }
            }
            _ => crate::flow::Input::Cancel,
        }
    }

    pub(crate) async fn read_file(&self, path: &str) -> Result<Option<(Secret, Option<u64>)>, IoFailure> {
        Ok(self.read_file_with_owner(path).await?.map(|f| (f.contents, f.modified_ms)))
    }

    /// `read_file`, with what the executor said of the file's mode and owner.
    pub(crate) async fn read_file_with_owner(&self, path: &str) -> Result<Option<FileRead>, IoFailure> {
        let path = path.to_string();
        match self.request(Expect::FileContents, Action::ReadFile { id: 0, path }).await {
            Input::FileContents { contents, modified_ms, mode, owned, .. } => {
                Ok(contents.map(|contents| FileRead { contents, modified_ms, mode, owned }))
            }
            other => Err(other.io_failure()),
        }
    }

    pub(crate) async fn make_private(&self, path: &str) -> Result<(), IoFailure> {
        let path = path.to_string();
        match self.request(Expect::Completed, Action::MakePrivate { id: 0, path }).await {
            Input::Completed { .. } => Ok(()),
            other => Err(other.io_failure()),
        }
    }

    pub(crate) async fn write_file(&self, path: &str, contents: String) -> Result<(), IoFailure> {
        let path = path.to_string();
        let contents = Secret::new(contents);
        match self.request(Expect::Completed, Action::WriteFile { id: 0, path, contents }).await {
            Input::Completed { .. } => Ok(()),
            other => Err(other.io_failure()),
        }
    }

    pub(crate) async fn remove_file(&self, path: &str) -> Result<bool, IoFailure> {
        let path = path.to_string();
        match self.request(Expect::Removed, Action::RemoveFile { id: 0, path }).await {
            Input::Removed { existed, .. } => Ok(existed),
            other => Err(other.io_failure()),
        }
    }

    pub(crate) async fn list_dir(&self, path: &str) -> Result<Vec<String>, IoFailure> {
        let path = path.to_string();
        match self.request(Expect::DirListing, Action::ListDir { id: 0, path }).await {
            Input::DirListing { names, .. } => Ok(names),
            other => Err(other.io_failure()),
        }
    }

    pub(crate) async fn create_exclusive(&self, path: &str, contents: String) -> Result<bool, IoFailure> {
        let path = path.to_string();
        match self.request(Expect::Created, Action::CreateExclusive { id: 0, path, contents }).await {
            Input::Created { created, .. } => Ok(created),
            other => Err(other.io_failure()),
        }
    }

    /// Whether process `pid` of this host lives; `None` when the driver cannot tell.
    pub(crate) async fn process_alive(&self, pid: u32) -> Option<bool> {
        match self.request(Expect::ProcessStatus, Action::ProcessAlive { id: 0, pid }).await {
            Input::ProcessStatus { alive, .. } => alive,
            _ => None,
        }
    }

    pub(crate) async fn keyring_get(&self, service: String, account: String) -> Result<Option<Secret>, IoFailure> {
        match self.request(Expect::KeyringValue, Action::KeyringGet { id: 0, service, account }).await {
            Input::KeyringValue { value, .. } => Ok(value),
            other => Err(other.io_failure()),
        }
    }

    pub(crate) async fn keyring_set(&self, service: String, account: String, value: String) -> Result<(), IoFailure> {
        let value = Secret::new(value);
        match self.request(Expect::Completed, Action::KeyringSet { id: 0, service, account, value }).await {
            Input::Completed { .. } => Ok(()),
            other => Err(other.io_failure()),
        }
    }

    pub(crate) async fn keyring_delete(&self, service: String, account: String) -> Result<(), IoFailure> {
        match self.request(Expect::Completed, Action::KeyringDelete { id: 0, service, account }).await {
            Input::Completed { .. } => Ok(()),
            other => Err(other.io_failure()),
        }
    }

    /// Asks the driver to open `url` in a browser; whether one started.
    pub(crate) async fn launch_browser(&self, url: &str) -> bool {
        let url = url.to_string();
        matches!(
            self.request(Expect::BrowserLaunched, Action::LaunchBrowser { id: 0, url }).await,
            Input::BrowserLaunched { launched: true, .. }
        )
    }

    /// Asks the driver to start the loopback listener; the port it bound.
    pub(crate) async fn listen(&self, host: &str, port: u16) -> Result<u16, IoFailure> {
        let host = host.to_string();
        let not_found_html = crate::texts::loopback_not_found_page();
        match self.request(Expect::Listening, Action::Listen { id: 0, host, port, not_found_html }).await {
            Input::Listening { port, .. } => Ok(port),
            other => Err(other.io_failure()),
        }
    }
}
