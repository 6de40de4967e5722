//! `termauth._native`: the pyo3 module under the pure-Python package `termauth`.
//!
//! It is deliberately thin and speaks JSON (the shapes of `tests/vectors/README.md`):
//!
//! * [`PySession`] (`Session`): the core's session (`termauth_core::session`): login,
//!   get-token with its lock, refresh, logout, status, profiles, discovery, the credential
//!   lock. `poll_json` / `handle_json`
//!   are the bare machine (the session vectors replay them); `advance_json` also performs
//!   the storage primitives (files, lock files, the OS keyring) with the Rust crate's
//!   `termauth::storage::execute`, so Python never touches credential files, locks or the
//!   keyring itself: storage IO is written once, in Rust, for every language that links it.
//! * [`start`]: a session of this process (its environment snapshot, OS randomness),
//!   advanced in the same call; [`get_token`]: the same for `get_token`, returning the
//!   token itself when only storage was needed — the documented cached path is this one call.
//! * [`PyFlow`] (`Flow`): any termauth-core flow, for apps that drive a protocol by hand.
//! * Helpers the pure-Python layer renders with: `qr_lines`, `exit_code`, `error_line`,
//!   `environment_json`, `pkce_pair`.
//!
//! Errors are raised as `termauth.Error` subclasses (built by `termauth._errors.from_json`
//! from the core's error JSON). No Rust panic crosses into Python: every entry point runs
//! under `catch_unwind`; a panic becomes `termauth.UsageError` with code `internal_panic`,
//! and the object it happened in refuses further use.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::Instant;
use termauth_core::session::{Input as SessionInput, Session, SessionSpec};
use termauth_core::{AnyFlow, Error, Flow as _, FlowSpec, Hint, Input, Rng};

/// Turns a core error into the matching `termauth.Error` subclass.
fn raise(py: Python<'_>, e: &Error) -> PyErr {
    let json = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    let built = py.import("termauth._errors").and_then(|m| m.getattr("from_json")).and_then(|f| f.call1((json.clone(),)));
    match built {
        Ok(instance) => PyErr::from_value(instance),
        // The pure-Python package is missing (the module was copied alone): still an error, never a panic.
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(json),
    }
}

/// Runs `f`, turning a Rust panic into `termauth.UsageError(internal_panic)`.
fn guard<T>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(raise(py, &e)),
        Err(payload) => Err(raise(py, &panic_error(payload))),
    }
}

/// The panic's payload is dropped, not quoted: a panic message can contain the string it was
/// working on, which may be a secret.
fn panic_error(_payload: Box<dyn std::any::Any + Send>) -> Error {
    Error::usage("internal_panic", "termauth hit an internal error. Please report it; nothing was changed.")
        .with_hint(Hint::Fatal)
}

fn poisoned_error(what: &str) -> Error {
    Error::usage("internal_panic", format!("This {what} hit an internal error earlier and cannot be used; start a new one."))
        .with_hint(Hint::Fatal)
}

/// A JSON text from a `str` (as is) or any JSON-serialisable object (via `json.dumps`).
fn json_text(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return s.extract::<String>();
    }
    let dumped = py.import("json")?.getattr("dumps")?.call1((value,))?;
    dumped.extract::<String>()
}

fn invalid_input(e: &serde_json::Error) -> Error {
    Error::usage("invalid_input", format!("The input is not a valid termauth input (line {} column {}).", e.line(), e.column()))
}

/// The RNG: from a 32-byte seed (tests and vectors), else from the OS.
fn rng(seed: Option<Vec<u8>>) -> Result<Rng, Error> {
    match seed {
        Some(bytes) => {
            let array: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| Error::usage("invalid_seed", format!("A seed is 32 bytes, not {}.", bytes.len())))?;
            Ok(Rng::from_seed(array))
        }
        None => Rng::from_os(),
    }
}

fn is_panic(py: Python<'_>, e: &PyErr) -> bool {
    e.value(py).getattr("code").and_then(|c| c.extract::<String>()).is_ok_and(|c| c == "internal_panic")
}

// ---- the session ---------------------------------------------------------------------------

struct SessionState {
    session: Session,
    poisoned: bool,
}

/// One command (`termauth_core::session::Session`), driven with JSON.
#[pyclass(module = "termauth._native", name = "Session")]
struct PySession {
    // pyo3 classes are shared between threads; the session itself is only `Send`.
    state: Mutex<SessionState>,
}

impl PySession {
    /// The session, unless another thread is using it (a session is one command, driven by
    /// one thread; waiting here while holding the GIL could deadlock with `advance_json`,
    /// which releases it).
    fn lock(&self, py: Python<'_>) -> PyResult<std::sync::MutexGuard<'_, SessionState>> {
        match self.state.try_lock() {
            Ok(guard) => Ok(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => Err(raise(
                py,
                &Error::usage("session_busy", "This session is being driven by another thread; drive a session from one thread."),
            )),
        }
    }

    /// Runs `f` on the session; a panic poisons it (every later call refuses).
    fn with<T>(&self, py: Python<'_>, f: impl FnOnce(&mut Session) -> Result<T, Error>) -> PyResult<T> {
        let mut state = self.lock(py)?;
        if state.poisoned {
            return Err(raise(py, &poisoned_error("session")));
        }
        let result = guard(py, || f(&mut state.session));
        if let Err(e) = &result
            && is_panic(py, e)
        {
            state.poisoned = true;
        }
        result
    }

    /// Polls until an action that is not a storage primitive, performing those with
    /// `termauth::storage::execute` and handing their answers back. Time runs on from
    /// `now_ms` by the monotonic clock (a keyring call can take a while).
    fn advance(session: &mut Session, now_ms: u64) -> Result<String, Error> {
        let started = Instant::now();
        let now = || now_ms.saturating_add(started.elapsed().as_millis() as u64);
        loop {
            let action = session.poll(now());
            match termauth::storage::execute(&action) {
                Some(answer) => session.handle(answer, now())?,
                None => return Ok(serde_json::to_string(&action).unwrap_or_default()),
            }
        }
    }

    /// `advance` with the GIL released (storage IO and the keyring can block).
    fn advance_detached(&self, py: Python<'_>, now_ms: u64) -> PyResult<String> {
        let mut state = self.lock(py)?;
        if state.poisoned {
            return Err(raise(py, &poisoned_error("session")));
        }
        let session = &mut state.session;
        let result = py.detach(|| catch_unwind(AssertUnwindSafe(|| PySession::advance(session, now_ms))));
        match result {
            Ok(Ok(json)) => Ok(json),
            Ok(Err(e)) => Err(raise(py, &e)),
            Err(payload) => {
                state.poisoned = true;
                Err(raise(py, &panic_error(payload)))
            }
        }
    }
}

#[pymethods]
impl PySession {
    /// Starts a session from a `SessionSpec` (JSON text: `{"command", "config",
    /// "environment"}`). `seed` (32 bytes) fixes its RNG (tests and vectors); `None` seeds
    /// it from the OS. Raises `termauth.UsageError` for a refused spec.
    #[new]
    #[pyo3(signature = (spec_json, seed, now_ms))]
    fn new(py: Python<'_>, spec_json: &str, seed: Option<&Bound<'_, PyBytes>>, now_ms: u64) -> PyResult<PySession> {
        let seed: Option<Vec<u8>> = seed.map(|b| b.as_bytes().to_vec());
        guard(py, move || {
            let rng = rng(seed)?;
            let session = Session::start(SessionSpec::from_json(spec_json)?, rng, now_ms)?;
            Ok(PySession { state: Mutex::new(SessionState { session, poisoned: false }) })
        })
    }

    /// The next action at `now_ms` (Unix milliseconds), as JSON.
    fn poll_json(&self, py: Python<'_>, now_ms: u64) -> PyResult<String> {
        self.with(py, |s| Ok(serde_json::to_string(&s.poll(now_ms)).unwrap_or_default()))
    }

    /// Feeds an input (JSON text) at `now_ms`. A refused input raises `termauth.UsageError`
    /// and leaves the session unchanged.
    fn handle_json(&self, py: Python<'_>, input_json: &str, now_ms: u64) -> PyResult<()> {
        self.with(py, |s| {
            let input = serde_json::from_str::<SessionInput>(input_json).map_err(|e| invalid_input(&e))?;
            s.handle(input, now_ms)
        })
    }

    /// Polls, performing storage actions natively, until an action that is not storage;
    /// returns its JSON. The GIL is released meanwhile.
    fn advance_json(&self, py: Python<'_>, now_ms: u64) -> PyResult<String> {
        self.advance_detached(py, now_ms)
    }

    /// Whether the session has finished (`done` or `failed`).
    #[getter]
    fn finished(&self) -> bool {
        self.state.try_lock().map(|s| s.session.is_finished()).unwrap_or(false)
    }

    fn __repr__(&self) -> String {
        format!("<termauth._native.Session finished={}>", self.finished())
    }
}

/// How deep a configuration may nest (server metadata is two levels; this only stops a
/// self-referencing dict).
const MAX_DEPTH: usize = 32;

/// A Python value (a JSON text, or `None`/`bool`/`int`/`float`/`str`/`list`/`tuple`/`dict`
/// with `str` keys) as a JSON value, without the `json` module (the cached path imports
/// nothing). Errors name the type, never the value (it can be a secret).
fn json_value(value: &Bound<'_, PyAny>, depth: usize) -> Result<serde_json::Value, Error> {
    use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyTuple};
    use serde_json::Value;
    let refuse = |why: String| Error::usage("invalid_session_spec", format!("The session specification is not valid: {why}."));
    if depth > MAX_DEPTH {
        return Err(refuse(format!("it nests deeper than {MAX_DEPTH} levels")));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.cast::<PyInt>().is_ok() {
        if let Ok(n) = value.extract::<u64>() {
            return Ok(Value::from(n));
        }
        return value.extract::<i64>().map(Value::from).map_err(|_| refuse("an integer is out of range".into()));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value()).map(Value::Number).ok_or_else(|| refuse("a number is not finite".into()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return s.extract::<String>().map(Value::String).map_err(|_| refuse("a string is not valid Unicode".into()));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return list.iter().map(|item| json_value(&item, depth + 1)).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        return tuple.iter().map(|item| json_value(&item, depth + 1)).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in dict.iter() {
            let key = k.cast::<PyString>().ok().and_then(|k| k.extract::<String>().ok());
            let Some(key) = key else { return Err(refuse("a dict key is not a string".into())) };
            map.insert(key, json_value(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(refuse(format!("a value of type {type_name} is not JSON")))
}

/// `value` as JSON: a `str` is parsed as JSON text, anything else converted.
fn json_of(value: &Bound<'_, PyAny>, what: &str) -> Result<serde_json::Value, Error> {
    if let Ok(s) = value.cast::<PyString>() {
        let text = s
            .extract::<String>()
            .map_err(|_| Error::usage("invalid_session_spec", "The session specification is not valid Unicode."))?;
        return serde_json::from_str(&text).map_err(|e| {
            Error::usage(
                "invalid_session_spec",
                format!("The session specification is not valid: {what} is not JSON at line {} column {}.", e.line(), e.column()),
            )
        });
    }
    json_value(value, 0)
}

/// Starts the session of this process: `command` and `config` (the `SessionSpec` members,
/// as JSON texts or Python values), the environment snapshot of `config.app`, OS randomness.
fn start_local(command: &Bound<'_, PyAny>, config: &Bound<'_, PyAny>, now_ms: u64) -> Result<PySession, Error> {
    let command = json_of(command, "the command")?;
    let config = json_of(config, "the configuration")?;
    let app = config.get("app").and_then(serde_json::Value::as_str).unwrap_or_default();
    let environment = serde_json::to_value(termauth::environment::snapshot(app)).unwrap_or_default();
    let spec = serde_json::json!({ "command": command, "config": config, "environment": environment });
    // Read from the value (as `SessionSpec::from_json` reads its parsed text): the messages
    // name a member, never a value.
    let spec = serde_json::from_value::<SessionSpec>(spec)
        .map_err(|e| Error::usage("invalid_session_spec", format!("The session specification is not valid: {e}.")))?;
    let session = Session::start(spec, Rng::from_os()?, now_ms)?;
    Ok(PySession { state: Mutex::new(SessionState { session, poisoned: false }) })
}

/// Starts a session for this process — `command` and `config` as JSON texts or Python
/// values, the environment snapshot of `config["app"]` (`termauth::environment::snapshot`),
/// OS randomness — and advances it (as `Session.advance_json`): returns the session and its
/// first action that is not storage.
#[pyfunction]
fn start(py: Python<'_>, command: &Bound<'_, PyAny>, config: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<(PySession, String)> {
    let session = guard(py, || start_local(command, config, now_ms))?;
    let action = session.advance_detached(py, now_ms)?;
    Ok((session, action))
}

/// The documented cached path in one call: starts the `get_token` session of this process
/// for `config` and advances it. Returns the token when the session finished with one
/// without anything but storage (a valid cached token, or `<APP>_TOKEN`); otherwise the
/// session and its pending action, for the executor to carry on with (a renewal, a failure).
#[pyfunction]
fn get_token(py: Python<'_>, config: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<Py<PyAny>> {
    let command = PyString::new(py, r#"{"op":"get_token"}"#);
    let session = guard(py, || start_local(command.as_any(), config, now_ms))?;
    let action = session.advance_detached(py, now_ms)?;
    // Decide from the action `advance` returned: polling again would take (and lose) the
    // next one — a notice is followed by the lock's release, for example.
    let token = serde_json::from_str::<serde_json::Value>(&action).ok().and_then(|a| {
        let done = a.get("type")? == "done" && a.get("result")?.get("kind")? == "token";
        done.then(|| a["result"]["token"].as_str().map(str::to_string)).flatten()
    });
    match token {
        Some(token) => Ok(PyString::new(py, &token).into_any().unbind()),
        None => Ok((Py::new(py, session)?, action).into_pyobject(py)?.into_any().unbind()),
    }
}

/// The environment snapshot a session of `app` reads in this process (platform, host, pid
/// and the variables `Environment::variable_names` lists), as JSON. It holds values such as
/// `<APP>_TOKEN`: treat it as secret.
#[pyfunction]
fn environment_json(app: &str) -> String {
    catch_unwind(|| serde_json::to_string(&termauth::environment::snapshot(app)).unwrap_or_default()).unwrap_or_default()
}

/// The exit code a CLI uses for this error (the core's `Error::exit_code`): 3 log in
/// again, 4 retry later, 5 fix the configuration, 6 other, 130 cancelled.
#[pyfunction]
fn exit_code(py: Python<'_>, error_json: &str) -> PyResult<u8> {
    guard(py, || {
        let error: Error = serde_json::from_str(error_json)
            .map_err(|_| Error::usage("invalid_error", "The error is not a termauth error record."))?;
        Ok(error.exit_code())
    })
}

/// The line a CLI prints for this error before exiting with its exit code (the core's
/// `Error::line`): `program: message [code]`.
#[pyfunction]
fn error_line(py: Python<'_>, program: &str, error_json: &str) -> PyResult<String> {
    guard(py, || {
        let error: Error = serde_json::from_str(error_json)
            .map_err(|_| Error::usage("invalid_error", "The error is not a termauth error record."))?;
        Ok(error.line(program))
    })
}

// ---- flows -----------------------------------------------------------------------------------

/// One termauth-core flow (any kind), driven with JSON.
#[pyclass(module = "termauth._native", name = "Flow")]
struct PyFlow {
    flow: AnyFlow,
    poisoned: bool,
}

impl PyFlow {
    fn check(&self) -> Result<(), Error> {
        if self.poisoned {
            return Err(poisoned_error("flow"));
        }
        Ok(())
    }

    fn poison_on_panic<T>(&mut self, py: Python<'_>, result: &PyResult<T>) {
        if let Err(e) = result
            && is_panic(py, e)
        {
            self.poisoned = true;
        }
    }
}

#[pymethods]
impl PyFlow {
    /// Starts a flow from a `FlowSpec` (JSON text or a dict). `seed` (32 bytes) fixes the
    /// flow's RNG (tests and vectors); by default it is seeded from the OS.
    #[staticmethod]
    #[pyo3(signature = (spec, seed = None))]
    fn from_spec(py: Python<'_>, spec: &Bound<'_, PyAny>, seed: Option<&Bound<'_, PyBytes>>) -> PyResult<PyFlow> {
        let text = json_text(py, spec)?;
        let seed: Option<Vec<u8>> = seed.map(|b| b.as_bytes().to_vec());
        guard(py, move || {
            let flow = FlowSpec::from_json(&text)?.start(rng(seed)?)?;
            Ok(PyFlow { flow, poisoned: false })
        })
    }

    /// The next action at `now_ms` (Unix milliseconds), as JSON.
    fn poll_json(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<String> {
        let result = guard(py, || {
            self.check()?;
            Ok(serde_json::to_string(&self.flow.poll(now_ms)).unwrap_or_default())
        });
        self.poison_on_panic(py, &result);
        result
    }

    /// Feeds an input (JSON text or a dict) at `now_ms`. A refused input raises and leaves
    /// the flow unchanged.
    fn handle_json(&mut self, py: Python<'_>, input: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        let text = json_text(py, input)?;
        let result = guard(py, || {
            self.check()?;
            let input = serde_json::from_str::<Input>(&text).map_err(|e| invalid_input(&e))?;
            self.flow.handle(input, now_ms)
        });
        self.poison_on_panic(py, &result);
        result
    }
}

// ---- rendering and small helpers -------------------------------------------------------------

/// `data` as a QR code drawn with Unicode half blocks, one string per row (`None` if too long).
#[pyfunction]
fn qr_lines(data: &str) -> Option<Vec<String>> {
    catch_unwind(|| termauth::ui::qr_lines(data)).ok().flatten()
}

/// A prompt laid out for a terminal (`termauth_core::texts::layout`, its QR code drawn by
/// the native encoder): the lines to print and how many rows at their end to erase when the
/// wait is over.
#[pyfunction]
#[pyo3(signature = (lines, qr, after, columns, rows, rich))]
fn layout(
    lines: Vec<String>,
    qr: Option<(String, String)>,
    after: Vec<String>,
    columns: u32,
    rows: u32,
    rich: bool,
) -> (Vec<String>, u32) {
    let qr = qr.map(|(caption, data)| termauth_core::texts::QrCode { caption, data });
    let prompt = termauth_core::texts::Prompt { lines, qr, after };
    let screen = termauth_core::texts::Screen { columns, rows, rich };
    let layout = termauth::ui::render_prompt(&prompt, screen);
    (layout.lines, layout.erase_rows)
}

/// What to write to redraw a progress line in place (`termauth_core::texts::progress_frame`).
#[pyfunction]
fn progress_frame(text: String, shorter: Vec<String>, until_ms: u64, now_ms: u64, columns: u32, rich: bool) -> String {
    let progress = termauth_core::session::Progress { text, shorter, until_ms };
    termauth_core::texts::progress_frame(&progress, now_ms, termauth_core::texts::Screen { columns, rows: 0, rich })
}

/// What to write when a wait is over (`termauth_core::texts::end_of_wait`).
#[pyfunction]
fn end_of_wait(spinning: bool, erase_rows: u32) -> String {
    termauth_core::texts::end_of_wait(spinning, erase_rows)
}

/// A fresh PKCE pair `(code_verifier, code_challenge)` (RFC 7636, S256), from the core.
/// Flows make their own; this is for apps that build requests by hand (and benchmarks).
#[pyfunction]
#[pyo3(signature = (seed = None))]
fn pkce_pair(py: Python<'_>, seed: Option<&Bound<'_, PyBytes>>) -> PyResult<(String, String)> {
    let seed: Option<Vec<u8>> = seed.map(|b| b.as_bytes().to_vec());
    guard(py, move || {
        let mut rng = rng(seed)?;
        let verifier = termauth_core::pkce_verifier(&mut rng);
        let challenge = termauth_core::pkce_challenge(&verifier);
        Ok((verifier, challenge))
    })
}

/// Panics inside Rust on purpose: the tests check it arrives as `termauth.UsageError`.
#[pyfunction]
fn _test_panic(py: Python<'_>) -> PyResult<()> {
    guard(py, || -> Result<(), Error> { panic!("a deliberate test panic") })
}

/// The native half of the `termauth` Python package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PySession>()?;
    m.add_class::<PyFlow>()?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(get_token, m)?)?;
    m.add_function(wrap_pyfunction!(environment_json, m)?)?;
    m.add_function(wrap_pyfunction!(exit_code, m)?)?;
    m.add_function(wrap_pyfunction!(error_line, m)?)?;
    m.add_function(wrap_pyfunction!(qr_lines, m)?)?;
    m.add_function(wrap_pyfunction!(layout, m)?)?;
    m.add_function(wrap_pyfunction!(progress_frame, m)?)?;
    m.add_function(wrap_pyfunction!(end_of_wait, m)?)?;
    m.add_function(wrap_pyfunction!(pkce_pair, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    Ok(())
}
