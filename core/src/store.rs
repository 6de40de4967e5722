//! The store's rules, the same for every language: where credentials live, what the files
//! hold, and when a lock is abandoned. Pure functions over data; the session
//! ([`crate::session`]) performs them through its driver's storage primitives.
//!
//! ```text
//! <config dir>/                      $XDG_CONFIG_HOME/<app> (Linux), ~/Library/Application Support/<app>
//!                                    (macOS), %APPDATA%\<app> (Windows); <APP>_CONFIG_DIR overrides. 0700.
//!   credentials/                     0700
//!     <profile>@<key>.json           a file-store record (a Credential's JSON), 0600
//!     <profile>@<key>.keyring        a pointer to a keyring entry (no secret):
//!                                    {"schema_version":1,"store":"keyring","service":…,"account":…,
//!                                     "issuer":…,"client_id":…,"profile":…}
//!     <profile>@<key>.lock           the credential's lock; <profile>@<key>.lock.break breaks it
//!   profiles.json                    {"schema_version":1,"active":{"<key>":"<profile>"}} (profiles.lock)
//!   metadata/<issuer key>.json       {"fetched_at":<ms>,"metadata":{…}}: discovery, cached a day
//! ```
//!
//! `<key>` is the first 16 hex digits of SHA-256(`issuer` "\n" `client_id`); a profile is
//! 1–64 of `[A-Za-z0-9._-]`, not starting with a dot. Keyring entries use service
//! `termauth:<app>` and account `<profile>@<key>`.
//!
//! ```
//! use termauth_core::store::{server_key, CredentialKey};
//! let key = CredentialKey::new("mycli", "https://as.example", "cli", "default");
//! assert_eq!(key.file_stem(), format!("default@{}", server_key("https://as.example", "cli")));
//! assert_eq!(server_key("https://as.example", "cli").len(), 16);
//! ```

use crate::config::ServerMetadata;
use crate::environment::{Environment, Platform, env_name};
use crate::error::{Error, Hint};
use crate::texts;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A lock older than this is abandoned. It exceeds the longest hold: a discovery and a
/// refresh, each bounded by the drivers' 30 s request deadline.
pub const STALE_LOCK_MS: u64 = 120_000;
/// How long a session waits for another process's lock before giving up (longer than
/// [`STALE_LOCK_MS`], so a waiter outlives an abandoned lock).
pub const LOCK_WAIT_MS: u64 = 150_000;
/// A lock file still empty or unparseable after this long, or a `.break` file this old,
/// was left by a process that died mid-way.
pub const BREAK_STALE_MS: u64 = 10_000;
/// The first and the longest pause between two attempts at a busy lock.
pub const LOCK_RETRY_MS: (u64, u64) = (10, 200);
/// Windows Credential Manager refuses secrets above 2,560 bytes; larger records go to the
/// file store there, which says why.
pub const KEYRING_MAX_BYTES: usize = 2_560;
/// Discovered metadata is used for a day before it is fetched again.
pub const METADATA_MAX_AGE_MS: u64 = 86_400_000;
/// The keyring account used to check that the keyring works, before a keyring-only login.
pub const KEYRING_PROBE_ACCOUNT: &str = ".probe";

/// Where credentials go: which store to try.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StorePreference {
    /// The keyring when it works; otherwise the file store, with a warning that says why.
    #[default]
    Auto,
    /// Only the keyring: fail when it does not work.
    Keyring,
    /// Only the file store (an explicit opt-in: no warning).
    File,
}

/// Which store holds a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The OS keyring.
    Keyring,
    /// A 0600 file in the config directory.
    File,
}

/// Which store holds (or will hold) a credential, and why, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreChoice {
    /// The store.
    pub store: StoreKind,
    /// Why this store (e.g. why the keyring was not usable).
    pub reason: String,
}

/// The first 16 hex digits of SHA-256(`issuer` "\n" `client_id`).
pub fn server_key(issuer: &str, client_id: &str) -> String {
    let digest = Sha256::digest(format!("{issuer}\n{client_id}").as_bytes());
    let mut out = String::with_capacity(16);
    for b in digest.iter().take(8) {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    out
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
    if ok { Ok(()) } else { Err(Error::usage("invalid_profile", texts::invalid_profile(profile))) }
}

/// Checks an application name: it names the config directory (one path component under
/// the platform's config directory), the keyring service and the environment variables.
///
/// # Errors
/// `invalid_app` when it is empty, longer than 64 characters, starts with a dot (`.`,
/// `..`, hidden), or holds a path separator (`/`, `\`), a `:` (a Windows drive or stream),
/// whitespace or a control or invisible character.
pub fn check_app(app: &str) -> Result<(), Error> {
    let ok = !app.is_empty()
        && app.chars().count() <= 64
        && !app.starts_with('.')
        && !app.chars().any(|c| matches!(c, '/' | '\\' | ':') || c.is_whitespace() || crate::error::is_unsafe_for_terminal(c));
    if ok { Ok(()) } else { Err(Error::usage("invalid_app", texts::invalid_app(app))) }
}

/// The keyring service of `app`'s entries.
pub fn keyring_service(app: &str) -> String {
    format!("termauth:{app}")
}

/// Identifies one credential: (app, issuer, client_id, profile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialKey {
    /// The application name (config directory and keyring service).
    pub app: String,
    /// The issuer.
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// The profile (account) name.
    pub profile: String,
}

impl CredentialKey {
    /// A key.
    pub fn new(
        app: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        profile: impl Into<String>,
    ) -> Self {
        CredentialKey { app: app.into(), issuer: issuer.into(), client_id: client_id.into(), profile: profile.into() }
    }

    /// The 16-hex-digit key of (issuer, client_id).
    pub fn server_key(&self) -> String {
        server_key(&self.issuer, &self.client_id)
    }

    /// `<profile>@<key>`: the base name of the files and the keyring account.
    pub fn file_stem(&self) -> String {
        format!("{}@{}", self.profile, self.server_key())
    }

    /// The keyring service.
    pub fn keyring_service(&self) -> String {
        keyring_service(&self.app)
    }

    /// The keyring pointer file's contents: where the record is, and no secret.
    pub fn keyring_pointer(&self) -> String {
        #[derive(Serialize)]
        struct KeyringPointer<'a> {
            schema_version: u32,
            store: &'static str,
            service: String,
            account: String,
            issuer: &'a str,
            client_id: &'a str,
            profile: &'a str,
        }
        let pointer = KeyringPointer {
            schema_version: 1,
            store: "keyring",
            service: self.keyring_service(),
            account: self.file_stem(),
            issuer: &self.issuer,
            client_id: &self.client_id,
            profile: &self.profile,
        };
        serde_json::to_string(&pointer).unwrap_or_default()
    }
}

/// The config directory of `app`: `<APP>_CONFIG_DIR`, else the platform's (see the module
/// docs).
///
/// # Errors
/// `no_config_dir` when the variables it is built from are not set.
pub fn config_dir(env: &Environment, app: &str) -> Result<String, Error> {
    let override_variable = env_name(app, "CONFIG_DIR");
    if let Some(dir) = env.var(&override_variable).filter(|v| !v.is_empty()) {
        return Ok(dir.to_string());
    }
    let sep = env.platform.separator();
    let non_empty = |name: &str| env.var(name).filter(|v| !v.is_empty());
    let base = match env.platform {
        Platform::Windows => non_empty("APPDATA").map(str::to_string),
        Platform::Macos => non_empty("HOME").map(|h| join(sep, h, "Library/Application Support")),
        Platform::Linux => {
            non_empty("XDG_CONFIG_HOME").map(str::to_string).or_else(|| non_empty("HOME").map(|h| join(sep, h, ".config")))
        }
    };
    base.map(|b| join(sep, &b, app))
        .ok_or_else(|| Error::storage("no_config_dir", texts::no_config_dir(&override_variable), Hint::FixConfiguration))
}

/// `base` + separator + `name`, without doubling a separator `base` ends with.
pub(crate) fn join(sep: char, base: &str, name: &str) -> String {
    let name = if sep == '\\' { name.replace('/', "\\") } else { name.to_string() };
    if base.ends_with(sep) || base.ends_with('/') { format!("{base}{name}") } else { format!("{base}{sep}{name}") }
}

/// The paths of one config directory (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorePaths {
    /// The config directory.
    pub dir: String,
    sep: char,
}

impl StorePaths {
    /// The paths under `dir`, joined with `platform`'s separator.
    pub fn new(dir: impl Into<String>, platform: Platform) -> Self {
        StorePaths { dir: dir.into(), sep: platform.separator() }
    }

    fn under(&self, name: &str) -> String {
        join(self.sep, &self.dir, name)
    }

    /// `credentials/`.
    pub fn credentials_dir(&self) -> String {
        self.under("credentials")
    }

    /// `credentials/<name>`: an entry a listing of the directory named.
    pub fn credentials_entry(&self, name: &str) -> String {
        join(self.sep, &self.credentials_dir(), name)
    }

    /// `credentials/<stem>.<extension>` (`json`, `keyring` or `lock`).
    pub fn credential_file(&self, key: &CredentialKey, extension: &str) -> String {
        join(self.sep, &self.credentials_dir(), &format!("{}.{extension}", key.file_stem()))
    }

    /// `profiles.json`.
    pub fn profiles_file(&self) -> String {
        self.under("profiles.json")
    }

    /// `profiles.lock`: serialises changes of the active profile.
    pub fn profiles_lock(&self) -> String {
        self.under("profiles.lock")
    }

    /// `metadata/<key of the issuer>.json`.
    pub fn metadata_cache(&self, issuer: &str) -> String {
        join(self.sep, &self.under("metadata"), &format!("{}.json", server_key(issuer, "")))
    }
}

/// Whether `candidate`, a name in a directory listing, is a temporary file of a
/// `write_file` of `name` in that directory. The driver contract (ARCHITECTURE.md, "The
/// driver contract") has `write_file` write `.<name>.<random>.tmp` beside `name` and rename
/// it over `name`; a writer killed between the two leaves it behind, holding a whole
/// record.
pub fn is_temporary_of(candidate: &str, name: &str) -> bool {
    candidate
        .strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|random| !random.is_empty() && !random.contains(['/', '\\']))
}

/// The file that guards a lock while a stale one is broken: `<lock>.break`.
pub fn lock_break_path(lock: &str) -> String {
    format!("{lock}.break")
}

/// What a lock file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host.
    pub host: String,
    /// When it was taken (Unix ms).
    pub created_at: u64,
    /// Random; identifies this holder, so release never removes someone else's lock.
    pub nonce: String,
}

impl LockInfo {
    /// The lock file's contents.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A lock file's contents, when they are a complete lock. (Read from a `Value`, not
    /// through the derive: its error path formats floats, 14 KB of the `.wasm`.)
    pub fn parse(contents: &str) -> Option<LockInfo> {
        let v: Value = serde_json::from_str(contents).ok()?;
        Some(LockInfo {
            pid: u32::try_from(v.get("pid")?.as_u64()?).ok()?,
            host: v.get("host")?.as_str()?.to_string(),
            created_at: v.get("created_at")?.as_u64()?,
            nonce: v.get("nonce").and_then(Value::as_str).unwrap_or_default().to_string(),
        })
    }
}

/// What a session may conclude about a lock file another holder created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockJudgement {
    /// Its holder is gone or it is too old: break it (under `<lock>.break`).
    Stale,
    /// Someone holds it: wait and try again.
    Held,
    /// Its holder is a process of this host: ask whether this pid is alive, then judge
    /// again with the answer.
    AskIfAlive(u32),
}

/// Judges a lock file another holder created: the pure staleness rule (see ARCHITECTURE.md,
/// "The lock"). `modified_ms` is the file's modification time; `alive` the answer to
/// [`LockJudgement::AskIfAlive`] (`None` before asking, or when the platform cannot tell).
///
/// ```
/// use termauth_core::store::{judge_lock, LockInfo, LockJudgement};
/// let lock = LockInfo { pid: 7, host: "h".into(), created_at: 1_000, nonce: "n".into() }.to_json();
/// assert_eq!(judge_lock(&lock, Some(1_000), 2_000, "h", 8, None, false), LockJudgement::AskIfAlive(7));
/// assert_eq!(judge_lock(&lock, Some(1_000), 2_000, "h", 8, Some(false), true), LockJudgement::Stale);
/// assert_eq!(judge_lock(&lock, Some(1_000), 2_000, "other", 8, None, false), LockJudgement::Held);
/// assert_eq!(judge_lock(&lock, Some(1_000), 200_000, "other", 8, None, false), LockJudgement::Stale);
/// assert_eq!(judge_lock("", Some(1_000), 5_000, "h", 8, None, false), LockJudgement::Held);
/// assert_eq!(judge_lock("", Some(1_000), 20_000, "h", 8, None, false), LockJudgement::Stale);
/// ```
pub fn judge_lock(
    contents: &str,
    modified_ms: Option<u64>,
    now_ms: u64,
    host: &str,
    pid: u32,
    alive: Option<bool>,
    asked: bool,
) -> LockJudgement {
    match LockInfo::parse(contents) {
        Some(info) => {
            if now_ms.saturating_sub(info.created_at) > STALE_LOCK_MS {
                return LockJudgement::Stale;
            }
            if info.host == host && info.pid != pid {
                if !asked {
                    return LockJudgement::AskIfAlive(info.pid);
                }
                // Unknown (a platform that cannot tell) counts as alive: the age rule decides.
                if alive == Some(false) {
                    return LockJudgement::Stale;
                }
            }
            LockJudgement::Held
        }
        // Empty or partial: its creator died between creating and writing it, or is
        // writing it right now.
        None => match modified_ms {
            Some(m) if now_ms.saturating_sub(m) > BREAK_STALE_MS => LockJudgement::Stale,
            _ => LockJudgement::Held,
        },
    }
}

/// Whether a `<lock>.break` file modified at `modified_ms` was abandoned by a breaker that
/// died.
pub fn break_abandoned(modified_ms: Option<u64>, now_ms: u64) -> bool {
    modified_ms.is_some_and(|m| now_ms.saturating_sub(m) > BREAK_STALE_MS)
}

/// The active profile for (issuer, client_id) in a `profiles.json` text.
///
/// # Errors
/// `profiles_corrupt` when the file is not JSON.
pub fn active_profile(profiles_json: &str, path: &str, issuer: &str, client_id: &str) -> Result<Option<String>, Error> {
    let value: Value = serde_json::from_str(profiles_json)
        .map_err(|_| Error::storage("profiles_corrupt", texts::profiles_corrupt(path), Hint::FixConfiguration))?;
    Ok(value.get("active").and_then(|a| a.get(server_key(issuer, client_id))).and_then(Value::as_str).map(str::to_string))
}

/// `profiles.json` with `profile` active for (issuer, client_id); the other servers'
/// entries (and members a newer termauth added) are kept. An unreadable file is replaced.
/// The text is the same whatever JSON map the build uses: `schema_version`, `active`, then
/// any other member, each object sorted by key.
pub fn with_active_profile(profiles_json: Option<&str>, issuer: &str, client_id: &str, profile: &str) -> String {
    #[derive(Serialize)]
    struct Profiles {
        schema_version: Value,
        active: BTreeMap<String, Value>,
        #[serde(flatten)]
        rest: BTreeMap<String, Value>,
    }
    // Filled by `insert`, not `collect()` (collecting sorts first: more code in the `.wasm`).
    fn members(value: Option<Value>) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        if let Some(Value::Object(map)) = value {
            for (k, v) in map {
                out.insert(k, v);
            }
        }
        out
    }
    let mut rest = members(profiles_json.and_then(|t| serde_json::from_str::<Value>(t).ok()));
    let schema_version = rest.remove("schema_version").unwrap_or_else(|| Value::from(1));
    let mut active = members(rest.remove("active"));
    active.insert(server_key(issuer, client_id), Value::String(profile.to_string()));
    serde_json::to_string_pretty(&Profiles { schema_version, active, rest }).unwrap_or_default()
}

/// The profiles stored for (issuer, client_id), from the names in `credentials/`, sorted.
pub fn profiles_in(names: &[String], issuer: &str, client_id: &str) -> Vec<String> {
    let suffix = format!("@{}", server_key(issuer, client_id));
    // A set: sorted and without duplicates, with no sort routine in the `.wasm`.
    let mut out = std::collections::BTreeSet::new();
    for name in names {
        let stem = name.strip_suffix(".json").or_else(|| name.strip_suffix(".keyring"));
        if let Some(profile) = stem.and_then(|s| s.strip_suffix(&suffix))
            && check_profile(profile).is_ok()
        {
            out.insert(profile.to_string());
        }
    }
    out.into_iter().collect()
}

/// Cached metadata from a `metadata/<key>.json` text, when it is younger than
/// [`METADATA_MAX_AGE_MS`] and names `issuer`.
pub fn cached_metadata(text: &str, issuer: &str, now_ms: u64) -> Option<ServerMetadata> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let fetched_at = value.get("fetched_at")?.as_u64()?;
    if now_ms.saturating_sub(fetched_at) >= METADATA_MAX_AGE_MS || fetched_at > now_ms {
        return None;
    }
    let metadata = ServerMetadata::try_from(value.get_mut("metadata")?.take()).ok()?;
    (metadata.issuer == issuer).then_some(metadata)
}

/// The contents of a metadata cache file.
pub fn metadata_cache_contents(metadata: &ServerMetadata, now_ms: u64) -> String {
    #[derive(Serialize)]
    struct Cached<'a> {
        fetched_at: u64,
        metadata: &'a ServerMetadata,
    }
    serde_json::to_string(&Cached { fetched_at: now_ms, metadata }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn temporary_files_of_a_name() {
        let name = "default@0ecc52fbfee4ce26.json";
        assert!(is_temporary_of(".default@0ecc52fbfee4ce26.json.a1B2c3.tmp", name));
        for other in [
            "default@0ecc52fbfee4ce26.json",
            ".default@0ecc52fbfee4ce26.json.tmp",
            ".default@0ecc52fbfee4ce26.json..tmp",
            ".default@0ecc52fbfee4ce26.jsonx.a.tmp",
            ".default@0ecc52fbfee4ce26.keyring.a.tmp",
            ".work@0ecc52fbfee4ce26.json.a.tmp",
            "default@0ecc52fbfee4ce26.json.a.tmp",
            ".default@0ecc52fbfee4ce26.json.a.tmp.b",
        ] {
            assert!(!is_temporary_of(other, name), "{other}");
        }
    }

    use super::*;

    #[test]
    fn server_key_is_the_documented_digest() {
        // sha256("https://as.example\ncli") starts with these 8 bytes (checked with sha256sum).
        let full = Sha256::digest(b"https://as.example\ncli");
        let hex: String = full.iter().take(8).map(|b| format!("{b:02x}")).collect();
        assert_eq!(server_key("https://as.example", "cli"), hex);
    }

    #[test]
    fn config_dirs() {
        let env = |platform, vars: &[(&str, &str)]| Environment {
            platform,
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Environment::default()
        };
        assert_eq!(config_dir(&env(Platform::Linux, &[("HOME", "/home/u")]), "app").unwrap(), "/home/u/.config/app");
        assert_eq!(config_dir(&env(Platform::Linux, &[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x/")]), "app").unwrap(), "/x/app");
        assert_eq!(
            config_dir(&env(Platform::Macos, &[("HOME", "/Users/u")]), "app").unwrap(),
            "/Users/u/Library/Application Support/app"
        );
        assert_eq!(
            config_dir(&env(Platform::Windows, &[("APPDATA", r"C:\Users\u\AppData\Roaming")]), "app").unwrap(),
            r"C:\Users\u\AppData\Roaming\app"
        );
        assert_eq!(config_dir(&env(Platform::Linux, &[("HOME", "/h"), ("MY_APP_CONFIG_DIR", "/o")]), "my.app").unwrap(), "/o");
        assert_eq!(config_dir(&env(Platform::Linux, &[]), "app").unwrap_err().code, "no_config_dir");
        let paths = StorePaths::new(r"C:\d", Platform::Windows);
        let key = CredentialKey::new("a", "https://as", "c", "p");
        assert_eq!(paths.credential_file(&key, "json"), format!(r"C:\d\credentials\p@{}.json", key.server_key()));
    }

    #[test]
    fn profiles_file_round_trip() {
        let text = with_active_profile(None, "https://as", "c", "work");
        assert_eq!(active_profile(&text, "p", "https://as", "c").unwrap().as_deref(), Some("work"));
        let text = with_active_profile(Some(&text), "https://other", "c", "home");
        assert_eq!(active_profile(&text, "p", "https://as", "c").unwrap().as_deref(), Some("work"));
        assert!(with_active_profile(Some("{not json"), "https://as", "c", "x").contains("\"x\""));
        assert_eq!(active_profile("{", "p", "https://as", "c").unwrap_err().code, "profiles_corrupt");
    }

    #[test]
    fn profile_listing() {
        let k = server_key("https://as", "c");
        let names: Vec<String> = [
            format!("b@{k}.json"),
            format!("a@{k}.keyring"),
            format!("a@{k}.json"),
            format!("b@{k}.lock"),
            format!(".b@{k}.json.x.tmp"),
            "c@0000000000000000.json".into(),
        ]
        .into_iter()
        .collect();
        assert_eq!(profiles_in(&names, "https://as", "c"), vec!["a", "b"]);
    }
}
