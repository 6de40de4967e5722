//! Credential stores: the OS keyring first, a protected file otherwise, and the lock that
//! serialises refreshes across processes (and across languages).
//!
//! # The on-disk contract (the same for Rust, Python, C, Go and Node)
//!
//! ```text
//! <config dir>/                      $XDG_CONFIG_HOME/<app> (Linux), ~/Library/Application Support/<app>
//!                                    (macOS), %APPDATA%\<app> (Windows); <APP>_CONFIG_DIR overrides. Mode 0700.
//!   credentials/                     mode 0700
//!     <profile>@<key>.json           a file-store record (termauth_core::Credential JSON), mode 0600
//!     <profile>@<key>.keyring        a keyring-store pointer: {"schema_version":1,"store":"keyring",
//!                                    "service":…,"account":…,"issuer":…,"client_id":…,"profile":…} (no secret)
//!     <profile>@<key>.lock           the credential's lock (see below)
//!   profiles.json                    {"schema_version":1,"active":{"<key>":"<profile>"}}
//! ```
//!
//! `<key>` is the first 16 hex digits of SHA-256(`issuer` + "\n" + `client_id`); `<profile>`
//! matches `[A-Za-z0-9._-]{1,64}` (default `default`). Keyring entries use service
//! `termauth:<app>` and account `<profile>@<key>`.
//!
//! Writes go to a temporary file in the same directory, are fsynced, then renamed over the
//! target (and the directory fsynced), so a reader sees the old record or the new one,
//! never half of one.
//!
//! # The lock
//!
//! A lock is the file `<profile>@<key>.lock` created with `O_CREAT|O_EXCL` (portable to
//! every language, including Node, which has no `flock`). It holds
//! `{"pid":…,"host":…,"created_at":<unix ms>,"nonce":"<random>"}`. A lock older than
//! [`STALE_LOCK_MS`], or held by a process that no longer exists on this host, is stale.
//! A taker that finds it stale breaks it only while holding `<profile>@<key>.lock.break`
//! (also `O_EXCL`; itself abandoned after [`BREAK_STALE_MS`]) and only if the lock still
//! has the contents it judged stale. Release removes the file only if it still holds the
//! releaser's nonce.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use termauth_core::{Credential, Error, Hint};

/// A lock older than this is considered abandoned. It must exceed the longest hold: a
/// discovery and a refresh, each bounded by the 30 s request timeout.
pub const STALE_LOCK_MS: u64 = 120_000;
/// How long to wait for another process's lock before giving up (longer than
/// [`STALE_LOCK_MS`], so a waiter outlives an abandoned lock).
pub const LOCK_WAIT_MS: u64 = 150_000;
/// A lock file that is still empty or unparseable after this long, or a `.break` file
/// this old, was left by a process that died mid-way.
pub const BREAK_STALE_MS: u64 = 10_000;
/// Windows Credential Manager refuses secrets above 2,560 bytes; records larger than
/// this go to the file store there, with a warning.
pub const KEYRING_MAX_BYTES: usize = 2_560;

/// Identifies one credential: (app, issuer, client_id, profile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialKey {
    /// The application name (directory and keyring service).
    pub app: String,
    /// The issuer.
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// The profile (account) name.
    pub profile: String,
}

impl CredentialKey {
    /// The 16-hex-digit key of (issuer, client_id).
    pub fn server_key(&self) -> String {
        server_key(&self.issuer, &self.client_id)
    }

    /// `<profile>@<key>`, the base name of the files and the keyring account.
    pub fn file_stem(&self) -> String {
        format!("{}@{}", self.profile, self.server_key())
    }
}

/// The first 16 hex digits of SHA-256(issuer "\n" client_id).
pub fn server_key(issuer: &str, client_id: &str) -> String {
    let digest = Sha256::digest(format!("{issuer}\n{client_id}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Checks a profile name.
///
/// # Errors
/// `invalid_profile` when it is not 1–64 of `[A-Za-z0-9._-]` or starts with a dot.
pub fn check_profile(profile: &str) -> Result<(), Error> {
    let ok = !profile.is_empty()
        && profile.len() <= 64
        && !profile.starts_with('.')
        && profile.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(
            "invalid_profile",
            format!("`{profile}` is not a valid profile name: use 1 to 64 letters, digits, `.`, `_` or `-`."),
        ))
    }
}

/// The platform config directory for `app` (see the module docs).
pub fn config_dir(app: &str) -> Result<PathBuf, Error> {
    let var = format!("{}_CONFIG_DIR", app.to_ascii_uppercase().replace(['-', '.'], "_"));
    if let Some(dir) = std::env::var_os(&var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
    };
    base.map(|b| b.join(app)).ok_or_else(|| {
        Error::storage(
            "no_config_dir",
            format!("Cannot find a config directory (no HOME or XDG_CONFIG_HOME); set {var}."),
            Hint::FixConfiguration,
        )
    })
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::storage(
        "store_io",
        format!("Could not {what} {}: {e}. Check the directory's permissions and free space.", path.display()),
        Hint::FixConfiguration,
    )
}

/// Wall-clock Unix milliseconds (the drivers own the clock; the core never reads it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Creates `dir` (and parents) with mode 0700 on Unix.
fn ensure_private_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| io_error("create", dir, &e))?;
        }
        let mode = fs::metadata(dir).map_err(|e| io_error("read", dir, &e))?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io_error("protect", dir, &e))?;
        }
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically: temp file (0600) + fsync + rename + dir fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    // A random name created exclusively: an existing file or symlink of that name is never
    // followed or reused, and two writers never share a temporary file.
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("record"),
        new_nonce()
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("write", path, &e));
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct LockInfo {
    pid: u32,
    host: String,
    created_at: u64,
    /// Random; identifies this holder, so release never removes someone else's lock.
    #[serde(default)]
    nonce: String,
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_default()
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true // unknown: rely on the age rule
    }
}

fn new_nonce() -> String {
    termauth_core::Rng::from_os().map(|mut r| r.token(12)).unwrap_or_else(|_| format!("{}-{}", std::process::id(), now_ms()))
}

fn create_exclusive(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A held credential lock; released on drop (only if it is still this holder's).
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
    nonce: String,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let ours = fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<LockInfo>(&t).ok())
            .is_some_and(|info| info.nonce == self.nonce);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Takes the lock file at `path` (see the module docs), waiting up to `wait_ms`.
///
/// # Errors
/// `store_locked` after the wait; `store_io` when the directory is unusable.
pub fn lock(path: &Path, wait_ms: u64) -> Result<LockGuard, Error> {
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
    }
    let started = now_ms();
    let mut delay = 10u64;
    loop {
        match create_exclusive(path) {
            Ok(mut f) => {
                let nonce = new_nonce();
                let info = LockInfo { pid: std::process::id(), host: hostname(), created_at: now_ms(), nonce: nonce.clone() };
                let _ = f.write_all(serde_json::to_string(&info).unwrap_or_default().as_bytes());
                let _ = f.sync_all();
                return Ok(LockGuard { path: path.to_path_buf(), nonce });
            }
            Err(e) if e.kind() == IoKind::AlreadyExists => {
                if let Some(seen) = stale_contents(path) {
                    break_stale(path, &seen);
                    continue;
                }
                if now_ms().saturating_sub(started) >= wait_ms {
                    return Err(Error::storage(
                        "store_locked",
                        format!(
                            "Another process has held the credential lock {} for too long. If no other termauth process is running, delete that file.",
                            path.display()
                        ),
                        Hint::RetryLater,
                    ));
                }
                std::thread::sleep(Duration::from_millis(delay));
                delay = (delay * 2).min(200);
            }
            Err(e) => return Err(io_error("create the lock", path, &e)),
        }
    }
}

/// Removes a stale lock whose contents were `seen`, under the short-lived `<lock>.break`
/// lock, so that of many processes that all judged it stale only one removes it — and
/// none removes the fresh lock a faster one has created meanwhile.
fn break_stale(path: &Path, seen: &str) {
    let breaker = path.with_extension("lock.break");
    match create_exclusive(&breaker) {
        Ok(_) => {
            if fs::read_to_string(path).ok().as_deref() == Some(seen) {
                let _ = fs::remove_file(path);
            }
            let _ = fs::remove_file(&breaker);
        }
        Err(_) => {
            // Another process is breaking it. A breaker that crashed leaves the file: it is
            // stale after BREAK_STALE_MS.
            let abandoned = fs::metadata(&breaker)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_millis() as u64 > BREAK_STALE_MS);
            if abandoned {
                let _ = fs::remove_file(&breaker);
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// The lock file's contents if the lock is stale: older than [`STALE_LOCK_MS`], held by
/// a process that is gone on this host, or unreadable and older than [`BREAK_STALE_MS`]
/// (its creator died between creating and writing it).
fn stale_contents(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let stale = match serde_json::from_str::<LockInfo>(&text) {
        Ok(info) => {
            now_ms().saturating_sub(info.created_at) > STALE_LOCK_MS
                || (info.host == hostname() && info.pid != std::process::id() && !process_alive(info.pid))
        }
        Err(_) => fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_millis() as u64 > BREAK_STALE_MS),
    };
    stale.then_some(text)
}

/// Which store holds (or will hold) a credential, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreChoice {
    /// `keyring` or `file`.
    pub store: &'static str,
    /// Why this store, as a sentence (e.g. why the keyring was not usable).
    pub reason: String,
}

/// Where credentials go: which store to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorePreference {
    /// The keyring when it works; otherwise the file store, with a warning.
    Auto,
    /// Only the keyring: fail when it does not work.
    Keyring,
    /// Only the file store (an explicit opt-in: no warning).
    File,
}

#[derive(Serialize, Deserialize)]
struct KeyringPointer {
    schema_version: u32,
    store: String,
    service: String,
    account: String,
    issuer: String,
    client_id: String,
    profile: String,
}

/// The credential store for one app: keyring and files, under one config directory.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    preference: StorePreference,
}

impl Store {
    /// The store for `app`, in its config directory.
    pub fn new(app: &str, preference: StorePreference) -> Result<Store, Error> {
        Ok(Store { dir: config_dir(app)?, preference })
    }

    /// A store rooted at `dir` (tests, and apps with their own layout).
    pub fn at(dir: PathBuf, preference: StorePreference) -> Store {
        Store { dir, preference }
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn credentials_dir(&self) -> PathBuf {
        self.dir.join("credentials")
    }

    fn path(&self, key: &CredentialKey, ext: &str) -> PathBuf {
        self.credentials_dir().join(format!("{}.{ext}", key.file_stem()))
    }

    /// Takes the credential's lock (see the module docs).
    pub fn lock(&self, key: &CredentialKey) -> Result<LockGuard, Error> {
        ensure_private_dir(&self.dir)?;
        lock(&self.path(key, "lock"), LOCK_WAIT_MS)
    }

    /// Reads a credential, wherever it is. `Ok(None)` when there is none.
    ///
    /// # Errors
    /// `credential_corrupt`, `credential_newer_version` (the file is left untouched),
    /// keyring and IO errors.
    pub fn load(&self, key: &CredentialKey) -> Result<Option<(Credential, StoreChoice)>, Error> {
        let file = self.path(key, "json");
        match fs::read_to_string(&file) {
            Ok(text) => {
                let credential = Credential::from_json(&text).map_err(|mut e| {
                    e.message = format!("{} ({})", e.message, file.display());
                    e
                })?;
                return Ok(Some((credential, StoreChoice { store: "file", reason: format!("stored in {}", file.display()) })));
            }
            Err(e) if e.kind() == IoKind::NotFound => {}
            Err(e) => return Err(io_error("read", &file, &e)),
        }
        let pointer = self.path(key, "keyring");
        match fs::read_to_string(&pointer) {
            Ok(_) => {
                let text = keyring_backend::get(&keyring_service(&key.app), &key.file_stem())?;
                match text {
                    Some(text) => Ok(Some((
                        Credential::from_json(&text)?,
                        StoreChoice { store: "keyring", reason: "stored in the OS keyring".into() },
                    ))),
                    None => Err(Error::storage(
                        "keyring_entry_missing",
                        "The credential's keyring entry has disappeared (the keyring was reset or another tool removed it). Log in again.",
                        Hint::Reauthenticate,
                    )),
                }
            }
            Err(e) if e.kind() == IoKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &pointer, &e)),
        }
    }

    /// Writes a credential to the keyring or the file store, per the preference, and
    /// removes any copy in the other store. Returns where it went and why.
    pub fn save(&self, key: &CredentialKey, credential: &Credential) -> Result<StoreChoice, Error> {
        ensure_private_dir(&self.dir)?;
        let json = credential.to_json();
        let keyring_result = match self.preference {
            StorePreference::File => Err("file storage was chosen explicitly".to_string()),
            _ if cfg!(windows) && json.len() > KEYRING_MAX_BYTES => Err(format!(
                "the record ({} bytes) is larger than the Windows Credential Manager's {KEYRING_MAX_BYTES}-byte limit",
                json.len()
            )),
            _ => keyring_backend::set(&keyring_service(&key.app), &key.file_stem(), &json),
        };
        match keyring_result {
            Ok(()) => {
                let pointer = KeyringPointer {
                    schema_version: 1,
                    store: "keyring".into(),
                    service: keyring_service(&key.app),
                    account: key.file_stem(),
                    issuer: key.issuer.clone(),
                    client_id: key.client_id.clone(),
                    profile: key.profile.clone(),
                };
                write_atomic(&self.path(key, "keyring"), serde_json::to_string(&pointer).unwrap_or_default().as_bytes())?;
                remove_if_exists(&self.path(key, "json"))?;
                Ok(StoreChoice { store: "keyring", reason: "stored in the OS keyring".into() })
            }
            Err(why) if self.preference == StorePreference::Keyring => Err(Error::storage(
                "keyring_unavailable",
                format!("The OS keyring is not usable ({why}), and keyring-only storage was requested."),
                Hint::FixConfiguration,
            )),
            Err(why) => {
                let file = self.path(key, "json");
                write_atomic(&file, json.as_bytes())?;
                if self.path(key, "keyring").exists() {
                    let _ = keyring_backend::delete(&keyring_service(&key.app), &key.file_stem());
                    remove_if_exists(&self.path(key, "keyring"))?;
                }
                let reason = if self.preference == StorePreference::File {
                    format!("stored in {} (file storage chosen explicitly)", file.display())
                } else {
                    format!("stored in {} (mode 0600, not encrypted) because {why}", file.display())
                };
                Ok(StoreChoice { store: "file", reason })
            }
        }
    }

    /// Deletes a credential from both stores. Returns whether anything was there.
    pub fn delete(&self, key: &CredentialKey) -> Result<bool, Error> {
        let mut found = remove_if_exists(&self.path(key, "json"))?;
        let pointer = self.path(key, "keyring");
        if pointer.exists() {
            keyring_backend::delete(&keyring_service(&key.app), &key.file_stem())
                .map_err(|why| Error::storage("keyring_unavailable", format!("Could not delete the keyring entry: {why}."), Hint::RetryLater))?;
            remove_if_exists(&pointer)?;
            found = true;
        }
        Ok(found)
    }

    /// The profiles stored for (issuer, client_id), sorted.
    pub fn profiles(&self, issuer: &str, client_id: &str) -> Result<Vec<String>, Error> {
        let suffix = format!("@{}", server_key(issuer, client_id));
        let mut out = Vec::new();
        let entries = match fs::read_dir(self.credentials_dir()) {
            Ok(e) => e,
            Err(e) if e.kind() == IoKind::NotFound => return Ok(out),
            Err(e) => return Err(io_error("list", &self.credentials_dir(), &e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json").or_else(|| name.strip_suffix(".keyring"));
            if let Some(profile) = stem.and_then(|s| s.strip_suffix(&suffix)) {
                if !profile.starts_with('.') && !out.iter().any(|p| p == profile) {
                    out.push(profile.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// The active profile for (issuer, client_id), if one was chosen.
    pub fn active_profile(&self, issuer: &str, client_id: &str) -> Result<Option<String>, Error> {
        let path = self.dir.join("profiles.json");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == IoKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &path, &e)),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
            Error::storage("profiles_corrupt", format!("{} is not valid JSON; fix or delete it.", path.display()), Hint::FixConfiguration)
        })?;
        Ok(value["active"][server_key(issuer, client_id)].as_str().map(str::to_string))
    }

    /// Makes `profile` the active one for (issuer, client_id).
    pub fn set_active_profile(&self, issuer: &str, client_id: &str, profile: &str) -> Result<(), Error> {
        check_profile(profile)?;
        ensure_private_dir(&self.dir)?;
        let _guard = lock(&self.dir.join("profiles.lock"), LOCK_WAIT_MS)?;
        let path = self.dir.join("profiles.json");
        let mut value: serde_json::Value = fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| serde_json::json!({"schema_version": 1, "active": {}}));
        if !value["active"].is_object() {
            value["active"] = serde_json::json!({});
        }
        value["active"][server_key(issuer, client_id)] = serde_json::Value::String(profile.to_string());
        write_atomic(&path, serde_json::to_string_pretty(&value).unwrap_or_default().as_bytes())
    }
}

/// Checks that the OS keyring can be used now (for keyring-only storage).
///
/// # Errors
/// `keyring_unavailable`, saying why.
pub fn probe_keyring(app: &str) -> Result<(), Error> {
    keyring_backend::available(&keyring_service(app)).map_err(|why| {
        Error::storage(
            "keyring_unavailable",
            format!("Keyring-only storage was requested, but the OS keyring is not usable: {why}."),
            Hint::FixConfiguration,
        )
    })
}

fn remove_if_exists(path: &Path) -> Result<bool, Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == IoKind::NotFound => Ok(false),
        Err(e) => Err(io_error("delete", path, &e)),
    }
}

fn keyring_service(app: &str) -> String {
    format!("termauth:{app}")
}

/// The OS keyring, behind a tiny interface (`Err` carries the reason it is unusable).
#[cfg(feature = "keyring")]
mod keyring_backend {
    use termauth_core::{Error, Hint};

    fn entry(service: &str, account: &str) -> Result<keyring::Entry, String> {
        if std::env::var_os("TERMAUTH_NO_KEYRING").is_some() {
            return Err("TERMAUTH_NO_KEYRING is set".into());
        }
        keyring::Entry::new(service, account).map_err(describe)
    }

    fn describe(e: keyring::Error) -> String {
        let text = match (&e, keyring::Entry::store_status()) {
            // The platform store failed to start: its own error says why (e.g. no D-Bus
            // session bus, no Secret Service).
            (keyring::Error::NoDefaultStore, Err(init)) => format!("the OS keyring could not be opened: {init}"),
            _ => e.to_string(),
        };
        if text.contains("org.freedesktop.secrets") || text.contains("ServiceUnknown") || text.contains("DBus") || text.contains("D-Bus") {
            format!("no Secret Service is running on the session bus ({text})")
        } else {
            text
        }
    }

    pub fn set(service: &str, account: &str, secret: &str) -> Result<(), String> {
        entry(service, account)?.set_password(secret).map_err(describe)
    }

    pub fn get(service: &str, account: &str) -> Result<Option<String>, Error> {
        let e = entry(service, account).map_err(|why| {
            Error::storage("keyring_unavailable", format!("The OS keyring holds this credential but is not usable now: {why}."), Hint::RetryLater)
        })?;
        match e.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(Error::storage(
                "keyring_unavailable",
                format!("The OS keyring holds this credential but could not be read: {}. Unlock the keyring and try again.", describe(err)),
                Hint::RetryLater,
            )),
        }
    }

    pub fn available(service: &str) -> Result<(), String> {
        match entry(service, ".probe")?.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(describe(e)),
        }
    }

    pub fn delete(service: &str, account: &str) -> Result<(), String> {
        match entry(service, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(describe(e)),
        }
    }
}

#[cfg(not(feature = "keyring"))]
mod keyring_backend {
    use termauth_core::Error;
    pub fn set(_: &str, _: &str, _: &str) -> Result<(), String> {
        Err("this build has no keyring support".into())
    }
    pub fn get(_: &str, _: &str) -> Result<Option<String>, Error> {
        Ok(None)
    }
    pub fn delete(_: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    pub fn available(_: &str) -> Result<(), String> {
        Err("this build has no keyring support".into())
    }
}
