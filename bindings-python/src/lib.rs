//! `termauth._native`: the pyo3 module under the pure-Python package `termauth`.
//!
//! It is deliberately thin and speaks JSON (the shapes of `tests/vectors/README.md`):
//!
//! * [`Flow`]: any termauth-core flow (`FlowSpec` JSON in, `Action` JSON out, `Input` JSON in).
//!   The pure-Python layer (`termauth.flow`) turns that JSON into dataclasses: one
//!   translation point.
//! * [`Store`] / [`Lock`]: THE credential store of the Rust crate `termauth` (keyring first,
//!   file fallback, the `O_EXCL` lock file), so Python and the Rust CLI share records,
//!   directory and lock protocol.
//! * The lifecycle decision (`decide`, `after_renewal_failure`), credential helpers, the
//!   environment probes, the QR renderer and the listener's HTML escaping, all reused from
//!   Rust so that Python behaves exactly like the Rust driver.
//!
//! Errors are raised as `termauth.Error` subclasses (built by `termauth._errors.from_json`
//! from the core's error JSON). No Rust panic crosses into Python: every entry point runs
//! under `catch_unwind` and a panic becomes `termauth.UsageError` with code `internal_panic`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use termauth::store::{self, CredentialKey, LockGuard, StorePreference};
use termauth_core::auto;
use termauth_core::lifecycle::{self, Decision, Policy};
use termauth_core::{AnyFlow, Credential, Error, Flow as _, FlowSpec, Hint, Input, Rng, ServerMetadata};

/// Turns a core error into the matching `termauth.Error` subclass.
fn raise(py: Python<'_>, e: &Error) -> PyErr {
    let json = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    let built = py
        .import("termauth._errors")
        .and_then(|m| m.getattr("from_json"))
        .and_then(|f| f.call1((json.clone(),)));
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

/// A JSON text from a `str` (as is) or any JSON-serialisable object (via `json.dumps`).
fn json_text(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return s.extract::<String>();
    }
    let dumped = py.import("json")?.getattr("dumps")?.call1((value,))?;
    dumped.extract::<String>()
}

fn parse_input(text: &str) -> Result<Input, Error> {
    serde_json::from_str::<Input>(text).map_err(|e| {
        Error::usage("invalid_input", format!("The input is not a valid termauth input (line {} column {}).", e.line(), e.column()))
    })
}

/// One termauth-core flow (any kind), driven with JSON.
#[pyclass(module = "termauth._native", name = "Flow")]
struct PyFlow {
    flow: AnyFlow,
    poisoned: bool,
}

impl PyFlow {
    fn check(&self) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::usage("internal_panic", "This flow hit an internal error earlier and cannot be used; start a new one.")
                .with_hint(Hint::Fatal));
        }
        Ok(())
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
            let rng = match seed {
                Some(bytes) => {
                    let array: [u8; 32] = bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| Error::usage("invalid_seed", format!("A seed is 32 bytes, not {}.", bytes.len())))?;
                    Rng::from_seed(array)
                }
                None => Rng::from_os()?,
            };
            let flow = FlowSpec::from_json(&text)?.start(rng)?;
            Ok(PyFlow { flow, poisoned: false })
        })
    }

    /// The next action at `now_ms` (Unix milliseconds), as JSON.
    fn poll_json(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<String> {
        let result = guard(py, || {
            self.check()?;
            Ok(serde_json::to_string(&self.flow.poll(now_ms)).unwrap_or_default())
        });
        self.poison_on_panic(&result);
        result
    }

    /// Feeds an input (JSON text or a dict) at `now_ms`. A refused input raises and leaves
    /// the flow unchanged.
    fn handle_json(&mut self, py: Python<'_>, input: &Bound<'_, PyAny>, now_ms: u64) -> PyResult<()> {
        let text = json_text(py, input)?;
        let result = guard(py, || {
            self.check()?;
            let input = parse_input(&text)?;
            self.flow.handle(input, now_ms)
        });
        self.poison_on_panic(&result);
        result
    }
}

impl PyFlow {
    fn poison_on_panic<T>(&mut self, result: &PyResult<T>) {
        if let Err(e) = result {
            Python::attach(|py| {
                if e.value(py).getattr("code").and_then(|c| c.extract::<String>()).is_ok_and(|c| c == "internal_panic") {
                    self.poisoned = true;
                }
            });
        }
    }
}

/// A held credential lock (released by `release()`, `with`, or when collected).
#[pyclass(module = "termauth._native", name = "Lock")]
struct PyLock {
    guard: Mutex<Option<LockGuard>>,
}

#[pymethods]
impl PyLock {
    /// Releases the lock (idempotent).
    fn release(&self) {
        if let Ok(mut g) = self.guard.lock() {
            g.take();
        }
    }

    /// Whether the lock is still held by this object.
    #[getter]
    fn held(&self) -> bool {
        self.guard.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.release();
        false
    }
}

fn preference(name: &str) -> Result<StorePreference, Error> {
    match name {
        "auto" => Ok(StorePreference::Auto),
        "keyring" => Ok(StorePreference::Keyring),
        "file" => Ok(StorePreference::File),
        other => Err(Error::usage("invalid_store", format!("The store is `auto`, `keyring` or `file`, not `{other}`."))),
    }
}

/// The credential store of one app (the Rust `termauth::store::Store`).
#[pyclass(module = "termauth._native", name = "Store", frozen)]
struct PyStore {
    app: String,
    preference: String,
    store: store::Store,
}

impl PyStore {
    fn key(&self, issuer: &str, client_id: &str, profile: &str) -> Result<CredentialKey, Error> {
        store::check_profile(profile)?;
        Ok(CredentialKey { app: self.app.clone(), issuer: issuer.into(), client_id: client_id.into(), profile: profile.into() })
    }
}

#[pymethods]
impl PyStore {
    /// The store for `app`: in `config_dir` if given, else the platform's config directory
    /// (`<APP>_CONFIG_DIR` overrides). `preference` is `auto`, `keyring` or `file`.
    #[new]
    #[pyo3(signature = (app, preference = "auto", config_dir = None))]
    fn new(py: Python<'_>, app: &str, preference: &str, config_dir: Option<PathBuf>) -> PyResult<PyStore> {
        guard(py, || {
            let pref = self::preference(preference)?;
            let store = match config_dir {
                Some(dir) => store::Store::at(dir, pref),
                None => store::Store::new(app, pref)?,
            };
            Ok(PyStore { app: app.into(), preference: preference.into(), store })
        })
    }

    /// The application name.
    #[getter]
    fn app(&self) -> String {
        self.app.clone()
    }

    /// `auto`, `keyring` or `file`.
    #[getter]
    fn preference(&self) -> String {
        self.preference.clone()
    }

    /// The config directory.
    #[getter]
    fn dir(&self) -> PathBuf {
        self.store.dir().to_path_buf()
    }

    /// Reads a credential: `(credential_json, store, reason)`, or `None` when there is none.
    fn load(&self, py: Python<'_>, issuer: &str, client_id: &str, profile: &str) -> PyResult<Option<(String, String, String)>> {
        let key = guard(py, || self.key(issuer, client_id, profile))?;
        let store = self.store.clone();
        let result = py.detach(move || catch_unwind(AssertUnwindSafe(|| store.load(&key))));
        let loaded = match result {
            Ok(r) => r,
            Err(p) => Err(panic_error(p)),
        };
        match loaded {
            Ok(Some((c, choice))) => Ok(Some((c.to_json(), choice.store.to_string(), choice.reason))),
            Ok(None) => Ok(None),
            Err(e) => Err(raise(py, &e)),
        }
    }

    /// Writes a credential (validated first): `(store, reason)`.
    fn save(&self, py: Python<'_>, issuer: &str, client_id: &str, profile: &str, credential_json: &str) -> PyResult<(String, String)> {
        guard(py, || {
            let key = self.key(issuer, client_id, profile)?;
            let credential = Credential::from_json(credential_json)?;
            let choice = self.store.save(&key, &credential)?;
            Ok((choice.store.to_string(), choice.reason))
        })
    }

    /// Deletes a credential from both stores; whether anything was there.
    fn delete(&self, py: Python<'_>, issuer: &str, client_id: &str, profile: &str) -> PyResult<bool> {
        guard(py, || self.store.delete(&self.key(issuer, client_id, profile)?))
    }

    /// Takes the credential's lock, waiting up to 60 s (the GIL is released meanwhile).
    fn lock(&self, py: Python<'_>, issuer: &str, client_id: &str, profile: &str) -> PyResult<PyLock> {
        let key = guard(py, || self.key(issuer, client_id, profile))?;
        let store = self.store.clone();
        let result = py.detach(move || catch_unwind(AssertUnwindSafe(|| store.lock(&key))));
        match result {
            Ok(Ok(g)) => Ok(PyLock { guard: Mutex::new(Some(g)) }),
            Ok(Err(e)) => Err(raise(py, &e)),
            Err(p) => Err(raise(py, &panic_error(p))),
        }
    }

    /// The stored profiles for (issuer, client_id), sorted.
    fn profiles(&self, py: Python<'_>, issuer: &str, client_id: &str) -> PyResult<Vec<String>> {
        guard(py, || self.store.profiles(issuer, client_id))
    }

    /// The active profile for (issuer, client_id), if one was chosen.
    fn active_profile(&self, py: Python<'_>, issuer: &str, client_id: &str) -> PyResult<Option<String>> {
        guard(py, || self.store.active_profile(issuer, client_id))
    }

    /// Makes `profile` the active one for (issuer, client_id).
    fn set_active_profile(&self, py: Python<'_>, issuer: &str, client_id: &str, profile: &str) -> PyResult<()> {
        guard(py, || self.store.set_active_profile(issuer, client_id, profile))
    }

    fn __repr__(&self) -> String {
        format!("Store(app={:?}, preference={:?}, dir={:?})", self.app, self.preference, self.store.dir())
    }
}

fn credential(text: &str) -> Result<Credential, Error> {
    Credential::from_json(text)
}

/// The lifecycle decision for a stored credential at `now_ms`:
/// `(decision, still_valid, reason)` with decision `use`, `refresh`, `reacquire` or `relogin`.
/// With `force`, a usable credential is renewed anyway (refresh, or reacquire for client
/// credentials); a credential that cannot be renewed raises (`no_refresh_token`, `not_refreshable`).
#[pyfunction]
#[pyo3(signature = (credential_json, now_ms, refresh_skew_ms = 60_000, force = false))]
fn decide(py: Python<'_>, credential_json: &str, now_ms: u64, refresh_skew_ms: u64, force: bool) -> PyResult<(String, bool, Option<String>)> {
    guard(py, || {
        let c = credential(credential_json)?;
        let decision = match lifecycle::decide(&c, now_ms, &Policy { refresh_skew_ms }) {
            Decision::Use if force => lifecycle::decide_forced(&c, now_ms)?,
            d => d,
        };
        Ok(decision_tuple(decision))
    })
}

/// The decision after taking the credential's lock and re-reading it (`before` read before
/// locking, `current` after): `use` (of `current`) when another process renewed it
/// meanwhile, else as `decide` (with `force`, the forced renewal). Same tuple as `decide`.
#[pyfunction]
#[pyo3(signature = (before_json, current_json, now_ms, refresh_skew_ms = 60_000, force = false))]
fn decide_locked(
    py: Python<'_>,
    before_json: &str,
    current_json: &str,
    now_ms: u64,
    refresh_skew_ms: u64,
    force: bool,
) -> PyResult<(String, bool, Option<String>)> {
    guard(py, || {
        let (before, current) = (credential(before_json)?, credential(current_json)?);
        let decision = lifecycle::decide_locked(&before, &current, now_ms, &Policy { refresh_skew_ms }, force)?;
        Ok(decision_tuple(decision))
    })
}

/// True when `current` is a renewal of `before` made by another process that has not
/// expired at `now_ms` (use it instead of failing).
#[pyfunction]
fn renewed_elsewhere(py: Python<'_>, before_json: &str, current_json: &str, now_ms: u64) -> PyResult<bool> {
    guard(py, || Ok(lifecycle::renewed_elsewhere(&credential(before_json)?, &credential(current_json)?, now_ms)))
}

fn decision_tuple(d: Decision) -> (String, bool, Option<String>) {
    match d {
        Decision::Use => ("use".into(), true, None),
        Decision::Refresh { still_valid } => ("refresh".into(), still_valid, None),
        Decision::Reacquire { still_valid } => ("reacquire".into(), still_valid, None),
        Decision::Relogin { reason } => ("relogin".into(), false, Some(reason)),
    }
}

/// After a renewal failed with `error_json`: `(decision, still_valid, reason)` (`use` or
/// `relogin`), or raises the error back when it is transient and the token has expired.
#[pyfunction]
fn after_renewal_failure(py: Python<'_>, credential_json: &str, error_json: &str, now_ms: u64) -> PyResult<(String, bool, Option<String>)> {
    guard(py, || {
        let c = credential(credential_json)?;
        let error: Error = serde_json::from_str(error_json)
            .map_err(|_| Error::usage("invalid_error", "The error is not a termauth error record."))?;
        Ok(decision_tuple(lifecycle::after_renewal_failure(&c, &error, now_ms)?))
    })
}

/// Parses and checks a stored record (schema version first); returns it re-serialised.
#[pyfunction]
fn validate_credential(py: Python<'_>, credential_json: &str) -> PyResult<String> {
    guard(py, || Ok(credential(credential_json)?.to_json()))
}

/// The access token (or API key) of a credential.
#[pyfunction]
fn credential_secret(py: Python<'_>, credential_json: &str) -> PyResult<String> {
    guard(py, || Ok(credential(credential_json)?.secret().expose().to_string()))
}

/// The header that presents a credential: `(name, value)`.
#[pyfunction]
fn authorization_header(py: Python<'_>, credential_json: &str) -> PyResult<(String, String)> {
    guard(py, || {
        let (name, value) = credential(credential_json)?.authorization_header();
        Ok((name, value.expose().to_string()))
    })
}

/// The first 16 hex digits of SHA-256(issuer "\n" client_id).
#[pyfunction]
fn server_key(issuer: &str, client_id: &str) -> String {
    store::server_key(issuer, client_id)
}

/// Raises `UsageError(invalid_profile)` unless `profile` is a valid profile name.
#[pyfunction]
fn check_profile(py: Python<'_>, profile: &str) -> PyResult<()> {
    guard(py, || store::check_profile(profile))
}

/// The platform config directory for `app` (`<APP>_CONFIG_DIR` overrides).
#[pyfunction]
fn config_dir(py: Python<'_>, app: &str) -> PyResult<PathBuf> {
    guard(py, || store::config_dir(app))
}

/// Writes `data` to `path` atomically (temp 0600 + fsync + rename), creating a 0700 directory.
#[pyfunction]
fn write_atomic(py: Python<'_>, path: PathBuf, data: &[u8]) -> PyResult<()> {
    guard(py, || store::write_atomic(&path, data))
}

/// True under a CI system.
#[pyfunction]
fn is_ci() -> bool {
    termauth::environment::is_ci()
}

/// True in an SSH session.
#[pyfunction]
fn is_ssh() -> bool {
    termauth::environment::is_ssh()
}

/// True when a graphical browser can plausibly be opened here.
#[pyfunction]
fn has_display() -> bool {
    termauth::environment::has_display()
}

/// The first step of choosing `auto`'s login method (`termauth_core::auto::in_ci`), where this
/// process runs: `"client_credentials"` in CI with a client secret, `None` outside CI, or
/// raises `ci_needs_credentials` naming the two variables.
#[pyfunction]
fn auto_method_in_ci(py: Python<'_>, has_client_secret: bool, token_variable: &str, secret_variable: &str) -> PyResult<Option<String>> {
    guard(py, || {
        let here = termauth::environment::surroundings();
        auto::in_ci(&here, has_client_secret, token_variable, secret_variable)
            .transpose()
            .map(|m| m.map(|m| m.as_str().to_string()))
    })
}

/// The second step (`termauth_core::auto::interactive`) with the server metadata as JSON:
/// `"browser"`, `"device"` or `"paste"`, or raises `no_interactive_method`.
#[pyfunction]
fn auto_method_interactive(py: Python<'_>, metadata_json: &str) -> PyResult<String> {
    guard(py, || {
        let metadata = serde_json::from_str::<serde_json::Value>(metadata_json)
            .ok()
            .and_then(|v| ServerMetadata::try_from(v).ok())
            .ok_or_else(|| Error::usage("invalid_input", "The metadata is not server metadata."))?;
        Ok(auto::interactive(&termauth::environment::surroundings(), &metadata)?.as_str().to_string())
    })
}

/// True when a browser opened here is in front of the user (a display, not over SSH).
#[pyfunction]
fn is_desktop() -> bool {
    termauth::environment::surroundings().desktop()
}

/// `data` as a QR code drawn with Unicode half blocks, one string per row (`None` if too long).
#[pyfunction]
fn qr_lines(data: &str) -> Option<Vec<String>> {
    catch_unwind(|| termauth::ui::qr_lines(data)).ok().flatten()
}

/// Escapes text for HTML (the listener's page).
#[pyfunction]
fn html_escape(text: &str) -> String {
    termauth::listener::html_escape(text)
}

/// A fresh PKCE pair `(code_verifier, code_challenge)` (RFC 7636, S256), from the core.
/// Flows make their own; this is for apps that build requests by hand (and benchmarks).
#[pyfunction]
#[pyo3(signature = (seed = None))]
fn pkce_pair(py: Python<'_>, seed: Option<&Bound<'_, PyBytes>>) -> PyResult<(String, String)> {
    let seed: Option<Vec<u8>> = seed.map(|b| b.as_bytes().to_vec());
    guard(py, move || {
        let mut rng = match seed {
            Some(bytes) => Rng::from_seed(
                bytes.as_slice().try_into().map_err(|_| Error::usage("invalid_seed", format!("A seed is 32 bytes, not {}.", bytes.len())))?,
            ),
            None => Rng::from_os()?,
        };
        let verifier = termauth_core::pkce::new_verifier(&mut rng);
        let challenge = termauth_core::pkce::s256_challenge(&verifier);
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
    m.add_class::<PyFlow>()?;
    m.add_class::<PyStore>()?;
    m.add_class::<PyLock>()?;
    m.add_function(wrap_pyfunction!(decide, m)?)?;
    m.add_function(wrap_pyfunction!(after_renewal_failure, m)?)?;
    m.add_function(wrap_pyfunction!(decide_locked, m)?)?;
    m.add_function(wrap_pyfunction!(renewed_elsewhere, m)?)?;
    m.add_function(wrap_pyfunction!(validate_credential, m)?)?;
    m.add_function(wrap_pyfunction!(credential_secret, m)?)?;
    m.add_function(wrap_pyfunction!(authorization_header, m)?)?;
    m.add_function(wrap_pyfunction!(server_key, m)?)?;
    m.add_function(wrap_pyfunction!(check_profile, m)?)?;
    m.add_function(wrap_pyfunction!(config_dir, m)?)?;
    m.add_function(wrap_pyfunction!(write_atomic, m)?)?;
    m.add_function(wrap_pyfunction!(auto_method_in_ci, m)?)?;
    m.add_function(wrap_pyfunction!(auto_method_interactive, m)?)?;
    m.add_function(wrap_pyfunction!(is_ci, m)?)?;
    m.add_function(wrap_pyfunction!(is_desktop, m)?)?;
    m.add_function(wrap_pyfunction!(is_ssh, m)?)?;
    m.add_function(wrap_pyfunction!(has_display, m)?)?;
    m.add_function(wrap_pyfunction!(qr_lines, m)?)?;
    m.add_function(wrap_pyfunction!(html_escape, m)?)?;
    m.add_function(wrap_pyfunction!(pkce_pair, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    Ok(())
}
