//! The storage primitives a session asks for (`read_file`, `write_file`, `remove_file`,
//! `list_dir`, `create_exclusive`, `process_alive`, `keyring_get` / `keyring_set` /
//! `keyring_delete`), done with the OS: files and the OS keyring. This is IO only — what
//! to read, write or lock, and what it means, is the session's (`termauth_core::store`).
//! The Python package and the C ABI (hence Go) run the same primitives through this module.
//!
//! ```no_run
//! use termauth::storage;
//! use termauth_core::session::{Action, Input};
//! let answer = storage::execute(&Action::ReadFile { id: 1, path: "/tmp/absent".into() });
//! assert!(matches!(answer, Some(Input::FileContents { contents: None, .. })));
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind as IoKind, Read, Write};
use std::path::Path;
use std::time::UNIX_EPOCH;
use termauth_core::Secret;
use termauth_core::session::{Action, Input};

/// Files the session reads are small (records, pointers, locks, profiles, metadata); a
/// larger one is refused rather than read into memory.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Performs `action` if it is a storage primitive and returns the session's answer;
/// `None` for any other action.
pub fn execute(action: &Action) -> Option<Input> {
    let (id, result) = match action {
        Action::ReadFile { id, path } => (
            *id,
            read_file(Path::new(path)).map(|read| match read {
                Some(f) => Input::FileContents {
                    id: *id,
                    contents: Some(Secret::new(f.contents)),
                    modified_ms: f.modified_ms,
                    mode: f.mode,
                    owned: f.owned,
                },
                None => Input::FileContents { id: *id, contents: None, modified_ms: None, mode: None, owned: None },
            }),
        ),
        Action::MakePrivate { id, path } => (*id, make_private(Path::new(path)).map(|()| Input::Completed { id: *id })),
        Action::WriteFile { id, path, contents } => {
            (*id, write_atomic(Path::new(path), contents.expose().as_bytes()).map(|()| Input::Completed { id: *id }))
        }
        Action::RemoveFile { id, path } => (*id, remove_file(Path::new(path)).map(|existed| Input::Removed { id: *id, existed })),
        Action::ListDir { id, path } => (*id, list_dir(Path::new(path)).map(|names| Input::DirListing { id: *id, names })),
        Action::CreateExclusive { id, path, contents } => {
            (*id, create_exclusive(Path::new(path), contents.as_bytes()).map(|created| Input::Created { id: *id, created }))
        }
        Action::ProcessAlive { id, pid } => (*id, Ok(Input::ProcessStatus { id: *id, alive: process_alive(*pid) })),
        Action::KeyringGet { id, service, account } => (
            *id,
            keyring_backend::get(service, account).map(|value| Input::KeyringValue { id: *id, value: value.map(Secret::new) }),
        ),
        Action::KeyringSet { id, service, account, value } => {
            (*id, keyring_backend::set(service, account, value.expose()).map(|()| Input::Completed { id: *id }))
        }
        Action::KeyringDelete { id, service, account } => {
            (*id, keyring_backend::delete(service, account).map(|()| Input::Completed { id: *id }))
        }
        _ => return None,
    };
    Some(result.unwrap_or_else(|message| Input::IoError { id, message }))
}

fn text(e: &std::io::Error) -> String {
    e.to_string()
}

/// A file read: its text, its modification time (Unix ms) and, on Unix, its permission
/// bits and whether it belongs to the user running this process.
struct FileRead {
    contents: String,
    modified_ms: Option<u64>,
    mode: Option<u32>,
    owned: Option<bool>,
}

/// The effective user id of this process.
#[cfg(unix)]
fn user_id() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// The permission bits and whether `metadata`'s file (a symlink's target) is the user's.
fn mode_and_owner(metadata: &fs::Metadata) -> (Option<u32>, Option<bool>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (Some(metadata.mode() & 0o777), Some(metadata.uid() == user_id()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        (None, None)
    }
}

/// The file's text, modification time, mode and owner (of what was opened, so of a
/// symlink's target); `None` when it does not exist.
fn read_file(path: &Path) -> Result<Option<FileRead>, String> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(None),
        Err(e) => return Err(text(&e)),
    };
    let metadata = file.metadata().map_err(|e| text(&e))?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(format!("it is larger than {MAX_FILE_BYTES} bytes"));
    }
    let modified_ms = metadata.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64);
    // Room for the whole file and one byte more: read_to_end then reads it at once and sees
    // the end with a second read (from an empty Vec it probes in 32-byte steps).
    let mut bytes = Vec::with_capacity(metadata.len() as usize + 1);
    Read::by_ref(&mut file).take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| text(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // It grew between the size check and the read.
        return Err(format!("it is larger than {MAX_FILE_BYTES} bytes"));
    }
    let contents = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    let (mode, owned) = mode_and_owner(&metadata);
    Ok(Some(FileRead { contents, modified_ms, mode, owned }))
}

/// Takes the group's and others' permissions away (`chmod go-rwx`); nothing off Unix.
fn make_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(|e| text(&e))?.permissions().mode();
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700)).map_err(|e| text(&e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates `dir` (and parents) with mode 0700 on Unix, and tightens it if it is group- or
/// world-accessible. What is written there must stay the user's: `dir` must belong to the
/// user, and every directory above it (symlinks resolved) to the user or root (`/tmp`,
/// `/home`); otherwise (a config directory that is a symlink into another user's
/// directory, say) nothing is created or written — that user could read or replace it.
fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let foreign = |path: &Path, uid: u32| {
            format!(
                "the directory {} belongs to another user (uid {uid}); termauth keeps credentials only in the user's own directories",
                path.display()
            )
        };
        // Where a symlink leads is what matters: every real ancestor must be the user's or
        // root's (anyone else could rename or replace what is below), checked before
        // anything is created.
        let existing = dir.ancestors().find(|a| !a.as_os_str().is_empty() && a.exists()).unwrap_or(Path::new("."));
        let real = fs::canonicalize(existing).map_err(|e| text(&e))?;
        for ancestor in real.ancestors() {
            let m = fs::metadata(ancestor).map_err(|e| text(&e))?;
            let owned = m.uid() == user_id();
            if !owned && m.uid() != 0 {
                return Err(foreign(ancestor, m.uid()));
            }
        }
        if !dir.exists() {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| text(&e))?;
        }
        let metadata = fs::metadata(dir).map_err(|e| text(&e))?;
        if metadata.uid() != user_id() {
            return Err(foreign(dir, metadata.uid()));
        }
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| text(&e))?;
        }
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).map_err(|e| text(&e))?;
    Ok(())
}

fn new_exclusive(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A random suffix for temporary files (the OS's randomness; never shared by two writers).
fn random_suffix() -> String {
    termauth_core::Rng::from_os().map(|mut r| r.token(12)).unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        format!("{}-{nanos}", std::process::id())
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory created
/// exclusively with mode 0600 (an existing file or symlink of that name is never followed),
/// fsync, rename over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("record");
    let tmp = dir.join(format!(".{name}.{}.tmp", random_suffix()));
    let result = (|| {
        let mut f = new_exclusive(&tmp)?;
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
        return Err(text(&e));
    }
    Ok(())
}

fn remove_file(path: &Path) -> Result<bool, String> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == IoKind::NotFound => Ok(false),
        Err(e) => Err(text(&e)),
    }
}

fn list_dir(path: &Path) -> Result<Vec<String>, String> {
    let entries = match fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(text(&e)),
    };
    Ok(entries.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect())
}

/// `O_CREAT|O_EXCL` with mode 0600, then the contents, fsynced; `false` when it exists.
fn create_exclusive(path: &Path, contents: &[u8]) -> Result<bool, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_private_dir(dir)?;
    }
    match new_exclusive(path) {
        Ok(mut f) => {
            // A holder that dies between creating and writing leaves an empty lock, which
            // the session judges stale after BREAK_STALE_MS.
            f.write_all(contents).and_then(|()| f.sync_all()).map_err(|e| text(&e))?;
            Ok(true)
        }
        Err(e) if e.kind() == IoKind::AlreadyExists => Ok(false),
        Err(e) => Err(text(&e)),
    }
}

/// Whether process `pid` lives: known on Linux (`/proc`), unknown elsewhere.
fn process_alive(pid: u32) -> Option<bool> {
    cfg!(target_os = "linux").then(|| Path::new(&format!("/proc/{pid}")).exists())
}

/// The OS keyring (keyring-core with the platform's store: Secret Service, Keychain,
/// Credential Manager). `Err` carries why it cannot be used, as the platform says it.
#[cfg(any(feature = "keyring", feature = "keyring-libdbus"))]
mod keyring_backend {
    use keyring_core::{Entry, Error};
    use std::sync::LazyLock;

    /// The platform store, set up once (as the `keyring` crate's v1 mode does).
    static STORE: LazyLock<Result<(), Error>> = LazyLock::new(|| {
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        let store = apple_native_keyring_store::keychain::Store::new()?;
        #[cfg(target_os = "windows")]
        let store = windows_native_keyring_store::Store::new()?;
        // Secret Service: over libdbus when that feature is on, else over zbus.
        #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android")), feature = "keyring-libdbus"))]
        let store = dbus_secret_service_keyring_store::Store::new()?;
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android")),
            not(feature = "keyring-libdbus")
        ))]
        let store = zbus_secret_service_keyring_store::Store::new()?;
        #[cfg(any(windows, all(unix, not(any(target_os = "ios", target_os = "android")))))]
        {
            keyring_core::set_default_store(store);
            Ok(())
        }
        #[cfg(not(any(windows, all(unix, not(any(target_os = "ios", target_os = "android"))))))]
        Err(Error::NoDefaultStore)
    });

    fn entry(service: &str, account: &str) -> Result<Entry, String> {
        if let Err(init) = &*STORE {
            return Err(describe(&format!("the OS keyring could not be opened: {init}")));
        }
        Entry::new(service, account).map_err(|e| describe(&e.to_string()))
    }

    fn describe(text: &str) -> String {
        // The Secret Service stores word a missing session bus or service differently (zbus:
        // "no secret service provider or dbus session found"; libdbus: "DBus error: …"): one
        // sentence for both, the store's own words in brackets.
        let lower = text.to_ascii_lowercase();
        if ["org.freedesktop.secrets", "serviceunknown", "dbus", "d-bus"].iter().any(|s| lower.contains(s)) {
            format!("no Secret Service is running on the session bus ({text})")
        } else {
            text.to_string()
        }
    }

    pub fn get(service: &str, account: &str) -> Result<Option<String>, String> {
        match entry(service, account)?.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(&e.to_string())),
        }
    }

    pub fn set(service: &str, account: &str, secret: &str) -> Result<(), String> {
        entry(service, account)?.set_password(secret).map_err(|e| describe(&e.to_string()))
    }

    pub fn delete(service: &str, account: &str) -> Result<(), String> {
        match entry(service, account)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(describe(&e.to_string())),
        }
    }
}

#[cfg(not(any(feature = "keyring", feature = "keyring-libdbus")))]
mod keyring_backend {
    const NONE: &str = "this build of termauth has no keyring support";
    pub fn get(_: &str, _: &str) -> Result<Option<String>, String> {
        Err(NONE.into())
    }
    pub fn set(_: &str, _: &str, _: &str) -> Result<(), String> {
        Err(NONE.into())
    }
    pub fn delete(_: &str, _: &str) -> Result<(), String> {
        Err(NONE.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_locks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/record.json");
        let p = path.to_string_lossy().to_string();
        assert!(matches!(
            execute(&Action::ReadFile { id: 1, path: p.clone() }),
            Some(Input::FileContents { contents: None, .. })
        ));
        assert!(matches!(
            execute(&Action::WriteFile { id: 2, path: p.clone(), contents: Secret::new("{}") }),
            Some(Input::Completed { id: 2 })
        ));
        let Some(Input::FileContents { contents: Some(c), modified_ms: Some(_), .. }) =
            execute(&Action::ReadFile { id: 3, path: p.clone() })
        else {
            panic!("read back")
        };
        assert_eq!(c.expose(), "{}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        let lock = dir.path().join("a/b/x.lock").to_string_lossy().to_string();
        let create = |id| execute(&Action::CreateExclusive { id, path: lock.clone(), contents: "l".into() });
        assert!(matches!(create(4), Some(Input::Created { created: true, .. })));
        assert!(matches!(create(5), Some(Input::Created { created: false, .. })));
        let Some(Input::DirListing { mut names, .. }) =
            execute(&Action::ListDir { id: 6, path: dir.path().join("a/b").to_string_lossy().into() })
        else {
            panic!("list")
        };
        names.sort();
        assert_eq!(names, vec!["record.json", "x.lock"]);
        assert!(matches!(execute(&Action::RemoveFile { id: 7, path: lock.clone() }), Some(Input::Removed { existed: true, .. })));
        assert!(matches!(execute(&Action::RemoveFile { id: 8, path: lock }), Some(Input::Removed { existed: false, .. })));
        assert!(matches!(
            execute(&Action::ProcessAlive { id: 9, pid: std::process::id() }),
            Some(Input::ProcessStatus { alive: Some(true), .. })
        ));
        assert!(execute(&Action::AwaitResponse { id: 1 }).is_none());
    }

    #[test]
    fn a_huge_file_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        fs::write(&path, vec![b' '; MAX_FILE_BYTES as usize + 1]).unwrap();
        let answer = execute(&Action::ReadFile { id: 1, path: path.to_string_lossy().into() });
        assert!(matches!(answer, Some(Input::IoError { message, .. }) if message.contains("larger than")));
    }
}
