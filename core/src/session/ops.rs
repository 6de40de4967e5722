//! The session's operations, each the sequence it is: login, get a token, refresh, log
//! out, status, profiles; and the store operations they share (load, save, delete, the
//! lock, the active profile, the metadata cache). Every decision is here or in the pure
//! modules it calls (`lifecycle`, `auto`, `store`, `texts`).

use super::Operation;
use super::io::{Arrival, Io, IoFailure};
use super::{
    Action, Command, LoginMethod, LoginReport, LogoutReport, NoticeLevel, Outcome, ProfileInfo, Progress, RedirectSource,
    SecretMethod, SessionConfig, SessionSpec, Status, TokenReport, TokenSource,
};
use crate::auto::{self, AutoMethod};
use crate::config::{Client, ClientAuth, ServerMetadata};
use crate::credential::{Credential, CredentialData, Grant};
use crate::environment::{Environment, env_name};
use crate::error::{Error, ErrorKind, Hint};
use crate::flow::{Action as FlowAction, Flow, Input as FlowInput, Outcome as FlowOutcome};
use crate::flows::api_key::ApiKeyConfig;
use crate::flows::{
    AuthorizationCodeConfig, ClientCredentialsConfig, DeviceConfig, DiscoveryConfig, MetadataDocument, PasswordConfig,
    RefreshConfig, RevocationConfig, TokenToSend,
};
use crate::lifecycle::{Decision, Policy, after_renewal_failure, decide, decide_locked, renewed_elsewhere};
use crate::rng::Rng;
use crate::secret::Secret;
use crate::spec::FlowSpec;
use crate::store::{
    self, CredentialKey, KEYRING_MAX_BYTES, KEYRING_PROBE_ACCOUNT, LOCK_RETRY_MS, LockInfo, LockJudgement, StoreChoice,
    StoreKind, StorePaths, StorePreference,
};
use crate::texts;

/// The future that runs `spec`'s command to its outcome. Each command is its own boxed
/// future, so a short command (a cached `get_token`) never runs — and a WebAssembly engine
/// that compiles functions on first use never compiles — the code of the others.
pub(super) fn start(io: Io, spec: SessionSpec, rng: Rng) -> Operation {
    let SessionSpec { command, config, environment } = spec;
    if config.debug || environment.debug() {
        io.set_trace();
    }
    let client_secret = config.client_secret.clone().or_else(|| environment.client_secret(&config.app));
    let app = config.app.clone();
    let logging_in = matches!(command, Command::Login(_));
    let mut ctx = Ctx { io, config, env: environment, rng, client_secret, metadata: None, profile: None, paths: None };
    let operation: Operation = match command {
        Command::Login(method) => Box::pin(async move { login(&mut ctx, method).await }),
        Command::GetToken => Box::pin(async move { get_token(&mut ctx, false).await }),
        Command::GetTokenFor { scope, resource } => Box::pin(async move { scoped_token(&mut ctx, scope, resource).await }),
        Command::Refresh => Box::pin(async move { get_token(&mut ctx, true).await }),
        Command::Logout => Box::pin(async move { logout(&mut ctx).await }),
        Command::Status => Box::pin(async move { status(&mut ctx, true).await }),
        Command::StatusAll => Box::pin(async move { status_all(&mut ctx).await }),
        Command::Profiles => Box::pin(async move { profiles(&mut ctx).await.map(|profiles| Outcome::Profiles { profiles }) }),
        Command::UseProfile { profile } => Box::pin(async move { use_profile(&mut ctx, profile).await }),
        Command::Discover => Box::pin(async move { metadata(&mut ctx).await.map(|metadata| Outcome::Metadata { metadata }) }),
        Command::Lock => Box::pin(async move {
            let path = lock_file(&mut ctx).await?;
            let held = acquire(&mut ctx, &path, true).await?;
            Ok(Outcome::Locked { path: held.path, nonce: held.nonce })
        }),
        Command::Unlock { nonce } => Box::pin(async move {
            let path = lock_file(&mut ctx).await?;
            Ok(Outcome::Unlocked { released: release(&mut ctx, Held { path, nonce }).await })
        }),
    };
    if logging_in {
        return operation;
    }
    // Every other command's "log in again" names the command that does it.
    Box::pin(async move { operation.await.map_err(|e| e.naming_login(&app)) })
}

/// The credential's lock file.
async fn lock_file(ctx: &mut Ctx) -> Result<String, Error> {
    let key = ctx.key().await?;
    Ok(ctx.paths()?.credential_file(&key, "lock"))
}

/// What one operation works with.
struct Ctx {
    io: Io,
    config: SessionConfig,
    env: Environment,
    rng: Rng,
    client_secret: Option<Secret>,
    /// The metadata once known (configured, cached or discovered).
    metadata: Option<ServerMetadata>,
    /// The profile once resolved.
    profile: Option<String>,
    paths: Option<StorePaths>,
}

impl Ctx {
    fn now(&self) -> u64 {
        self.io.now()
    }

    fn notice(&self, level: NoticeLevel, code: &str, text: String) {
        self.io.emit(Action::Notice { level, code: code.to_string(), text });
    }

    fn paths(&mut self) -> Result<StorePaths, Error> {
        if let Some(p) = &self.paths {
            return Ok(p.clone());
        }
        let dir = match &self.config.config_dir {
            Some(dir) => dir.clone(),
            None => store::config_dir(&self.env, &self.config.app)?,
        };
        let paths = StorePaths::new(dir, self.env.platform);
        self.paths = Some(paths.clone());
        Ok(paths)
    }

    fn policy(&self) -> Policy {
        Policy { refresh_skew_ms: self.config.refresh_skew_ms }
    }

    fn oauth_client(&self) -> Client {
        let auth = match (&self.client_secret, self.config.secret_method) {
            (None, _) => ClientAuth::None,
            (Some(s), SecretMethod::Basic) => ClientAuth::ClientSecretBasic { client_secret: s.clone() },
            (Some(s), SecretMethod::Post) => ClientAuth::ClientSecretPost { client_secret: s.clone() },
        };
        Client { client_id: self.config.client_id.clone(), auth }
    }

    /// A flow's own RNG, drawn from the session's (so vectors stay byte-exact).
    fn flow_rng(&mut self) -> Rng {
        let mut seed = [0u8; 32];
        self.rng.fill(&mut seed);
        Rng::from_seed(seed)
    }

    /// The profile: the configured one, else the active one, else `default`.
    async fn key(&mut self) -> Result<CredentialKey, Error> {
        let profile = match (&self.profile, &self.config.profile) {
            (Some(p), _) | (None, Some(p)) => p.clone(),
            (None, None) => active_profile(self).await?.unwrap_or_else(|| "default".to_string()),
        };
        self.profile = Some(profile.clone());
        Ok(CredentialKey::new(&self.config.app, &self.config.issuer, &self.config.client_id, profile))
    }

    fn not_logged_in(&self) -> Error {
        Error::storage("not_logged_in", texts::not_logged_in(&self.config.app), Hint::Reauthenticate)
    }
}

fn relogin(reason: String) -> Error {
    Error::storage("login_required", reason, Hint::Reauthenticate)
}

fn store_io(what: &str, path: &str, why: &IoFailure) -> Error {
    Error::storage("store_io", texts::store_io(what, path, why), Hint::FixConfiguration)
}

fn internal(what: &str) -> Error {
    Error::usage("internal_error", format!("{what}; please report this as a bug."))
}

// ---- the store -----------------------------------------------------------------------

/// A record and where it was found.
struct Loaded {
    credential: Credential,
    choice: StoreChoice,
}

/// How `Credential::from_json`'s errors begin.
const STORED_CREDENTIAL: &str = "The stored credential";

/// Reads a credential: the file store, then the keyring through its pointer.
async fn load(ctx: &mut Ctx, key: &CredentialKey) -> Result<Option<Loaded>, Error> {
    let paths = ctx.paths()?;
    let file = paths.credential_file(key, "json");
    match ctx.io.read_file_with_owner(&file).await {
        Ok(Some(read)) => {
            check_private(ctx, &file, read.mode, read.owned).await?;
            let text = read.contents;
            let credential = Credential::from_json(text.expose()).map_err(|mut e| {
                // The file named in the sentence, not after it (the sentence ends with
                // what to do, which `naming_login` completes with the login command).
                e.message = match e.message.strip_prefix(STORED_CREDENTIAL) {
                    Some(rest) => format!("{STORED_CREDENTIAL} in {file}{rest}"),
                    None => format!("{} ({file})", e.message),
                };
                e
            })?;
            return Ok(Some(Loaded {
                credential,
                choice: StoreChoice { store: StoreKind::File, reason: texts::stored_in(&file) },
            }));
        }
        Ok(None) => {}
        Err(why) => return Err(store_io("read", &file, &why)),
    }
    let pointer = paths.credential_file(key, "keyring");
    match ctx.io.read_file(&pointer).await {
        Ok(None) => return Ok(None),
        Ok(Some(_)) => {}
        Err(why) => return Err(store_io("read", &pointer, &why)),
    }
    let unusable = |why: &str| Error::storage("keyring_unavailable", texts::keyring_unreadable(why), Hint::RetryLater);
    if ctx.env.keyring_disabled() {
        return Err(unusable(texts::KEYRING_DISABLED));
    }
    match ctx.io.keyring_get(key.keyring_service(), key.file_stem()).await {
        Ok(Some(text)) => Ok(Some(Loaded {
            credential: Credential::from_json(text.expose())?,
            choice: StoreChoice { store: StoreKind::Keyring, reason: texts::STORED_IN_KEYRING.to_string() },
        })),
        Ok(None) => Err(Error::storage("keyring_entry_missing", texts::KEYRING_ENTRY_MISSING, Hint::Reauthenticate)),
        Err(why) => Err(unusable(&why)),
    }
}

/// A credential file is the user's alone (the rule `ssh` has for its keys):
/// - owned by another user (through a symlink, say): refused — its tokens would act for
///   someone else, or that user could replace them;
/// - writable by the group or others: refused — anyone could have put their token there;
/// - readable by them: made private at once (`make_private`), and a warning says the token
///   may have been read and how to revoke it.
async fn check_private(ctx: &mut Ctx, path: &str, mode: Option<u32>, owned: Option<bool>) -> Result<(), Error> {
    if owned == Some(false) {
        return Err(Error::storage("credential_not_owned", texts::credential_not_owned(path), Hint::FixConfiguration));
    }
    let Some(mode) = mode else { return Ok(()) };
    if mode & 0o022 != 0 {
        return Err(Error::storage(
            "credential_writable_by_others",
            texts::credential_writable_by_others(path, mode),
            Hint::FixConfiguration,
        ));
    }
    if mode & 0o044 != 0 {
        ctx.io.make_private(path).await.map_err(|why| store_io("protect", path, &why))?;
        ctx.notice(NoticeLevel::Warning, "credential_made_private", texts::credential_made_private(path, mode, &ctx.config.app));
    }
    Ok(())
}

/// Removes the temporary files of `names` in `dir` that writers killed between writing and
/// renaming left behind ([`store::is_temporary_of`]). Called only under the lock that every
/// writer of those names holds, so none of them is a live writer's. What cannot be removed
/// stays for the next write: this is hygiene, not the command's success.
async fn remove_leftovers(ctx: &mut Ctx, dir: &str, names: &[String]) {
    let Ok(listing) = ctx.io.list_dir(dir).await else { return };
    let leftovers = listing.iter().filter(|entry| names.iter().any(|name| store::is_temporary_of(entry, name)));
    let paths: Vec<String> = leftovers.map(|entry| store::join(ctx.env.platform.separator(), dir, entry)).collect();
    for path in paths {
        let _ = ctx.io.remove_file(&path).await;
    }
}

/// The names of a credential's files in the credentials directory (record and pointer).
fn credential_names(key: &CredentialKey) -> [String; 2] {
    let stem = key.file_stem();
    [format!("{stem}.json"), format!("{stem}.keyring")]
}

/// Writes a credential to the keyring or the file store, per the preference, and removes
/// any copy in the other store (and what killed writers of either left behind). Called
/// under the credential's lock.
async fn save(ctx: &mut Ctx, key: &CredentialKey, credential: &Credential) -> Result<StoreChoice, Error> {
    let paths = ctx.paths()?;
    remove_leftovers(ctx, &paths.credentials_dir(), &credential_names(key)).await;
    let record = paths.credential_file(key, "json");
    let pointer = paths.credential_file(key, "keyring");
    let json = credential.to_json();
    let preference = ctx.config.store;
    let keyring_result = if preference == StorePreference::File {
        Err(texts::FILE_CHOSEN.to_string())
    } else if ctx.env.keyring_disabled() {
        Err(texts::KEYRING_DISABLED.to_string())
    } else if ctx.env.platform == crate::environment::Platform::Windows && json.len() > KEYRING_MAX_BYTES {
        Err(texts::keyring_too_small(json.len()))
    } else {
        ctx.io.keyring_set(key.keyring_service(), key.file_stem(), json.clone()).await
    };
    match keyring_result {
        Ok(()) => {
            ctx.io.write_file(&pointer, key.keyring_pointer()).await.map_err(|why| store_io("write", &pointer, &why))?;
            ctx.io.remove_file(&record).await.map_err(|why| store_io("delete", &record, &why))?;
            Ok(StoreChoice { store: StoreKind::Keyring, reason: texts::STORED_IN_KEYRING.to_string() })
        }
        Err(why) if preference == StorePreference::Keyring => {
            Err(Error::storage("keyring_unavailable", texts::keyring_required(&why), Hint::FixConfiguration))
        }
        Err(why) => {
            ctx.io.write_file(&record, json).await.map_err(|e| store_io("write", &record, &e))?;
            // A record that was in the keyring before: forget it there.
            if ctx.io.remove_file(&pointer).await.map_err(|e| store_io("delete", &pointer, &e))? {
                let _ = ctx.io.keyring_delete(key.keyring_service(), key.file_stem()).await;
            }
            let reason = if preference == StorePreference::File {
                texts::stored_in_file_explicitly(&record)
            } else {
                texts::stored_in_file_because(&record, &why)
            };
            Ok(StoreChoice { store: StoreKind::File, reason })
        }
    }
}

/// Deletes a credential from both stores, with what killed writers left behind; whether
/// anything was there. Called under the credential's lock.
async fn delete(ctx: &mut Ctx, key: &CredentialKey) -> Result<bool, Error> {
    let paths = ctx.paths()?;
    remove_leftovers(ctx, &paths.credentials_dir(), &credential_names(key)).await;
    let record = paths.credential_file(key, "json");
    let pointer = paths.credential_file(key, "keyring");
    let mut found = ctx.io.remove_file(&record).await.map_err(|why| store_io("delete", &record, &why))?;
    let has_pointer = ctx.io.read_file(&pointer).await.map_err(|why| store_io("read", &pointer, &why))?.is_some();
    if has_pointer {
        let deleted = if ctx.env.keyring_disabled() {
            Err(texts::KEYRING_DISABLED.to_string())
        } else {
            ctx.io.keyring_delete(key.keyring_service(), key.file_stem()).await
        };
        deleted.map_err(|why| Error::storage("keyring_unavailable", texts::keyring_delete_failed(&why), Hint::RetryLater))?;
        ctx.io.remove_file(&pointer).await.map_err(|why| store_io("delete", &pointer, &why))?;
        found = true;
    }
    Ok(found)
}

/// A lock this session holds.
struct Held {
    path: String,
    nonce: String,
}

/// Takes the lock file at `path` (ARCHITECTURE.md, "The lock"): create it exclusively; if
/// it exists, judge it; break a stale one under `<lock>.break`; otherwise wait and retry,
/// up to `lock_wait_ms` ([`crate::store::LOCK_WAIT_MS`] by default). `cancellable`: whether a cancel ends the wait (not while tokens
/// that were just issued wait to be stored).
async fn acquire(ctx: &mut Ctx, path: &str, cancellable: bool) -> Result<Held, Error> {
    let nonce = ctx.rng.token(12);
    let started = ctx.now();
    let mut delay = LOCK_RETRY_MS.0;
    let mut broke_before = false;
    loop {
        let info = LockInfo { pid: ctx.env.pid, host: ctx.env.host.clone(), created_at: ctx.now(), nonce: nonce.clone() };
        match ctx.io.create_exclusive(path, info.to_json()).await {
            Ok(true) => return Ok(Held { path: path.to_string(), nonce }),
            Ok(false) => {}
            Err(why) => return Err(store_io("create the lock", path, &why)),
        }
        // Released meanwhile (read finds nothing): wait a little and try again, like a held one.
        let seen = ctx.io.read_file(path).await.map_err(|why| store_io("read", path, &why))?;
        let mut stale = false;
        if let Some((contents, modified_ms)) = seen {
            let (host, pid) = (ctx.env.host.clone(), ctx.env.pid);
            let mut judgement = store::judge_lock(contents.expose(), modified_ms, ctx.now(), &host, pid, None, false);
            if let LockJudgement::AskIfAlive(holder) = judgement {
                let alive = ctx.io.process_alive(holder).await;
                judgement = store::judge_lock(contents.expose(), modified_ms, ctx.now(), &host, pid, alive, true);
            }
            if judgement == LockJudgement::Stale {
                break_stale(ctx, path, contents.expose()).await?;
                stale = true;
            }
        }
        if stale && !broke_before {
            broke_before = true;
            continue; // broken (or being broken): try again at once, the first time
        }
        if cancellable && ctx.io.cancelled() {
            return Err(Error::cancelled());
        }
        // Every other way round the loop ends here: a lock that cannot be broken (its
        // `.break` held forever) or cannot be taken fails after the wait, never loops on.
        if ctx.now().saturating_sub(started) >= ctx.config.lock_wait_ms {
            return Err(Error::storage("store_locked", texts::store_locked(path), Hint::RetryLater));
        }
        let at = ctx.now() + delay;
        if !ctx.io.wait_until(at, None, cancellable).await {
            return Err(Error::cancelled());
        }
        delay = (delay * 2).min(LOCK_RETRY_MS.1);
    }
}

/// Removes a stale lock whose contents were `seen`, under `<lock>.break`, so that of many
/// sessions that judged it stale only one removes it, and none removes the fresh lock a
/// faster one created meanwhile.
async fn break_stale(ctx: &mut Ctx, path: &str, seen: &str) -> Result<(), Error> {
    let breaker = store::lock_break_path(path);
    let info = LockInfo { pid: ctx.env.pid, host: ctx.env.host.clone(), created_at: ctx.now(), nonce: String::new() };
    match ctx.io.create_exclusive(&breaker, info.to_json()).await {
        Ok(true) => {
            let current = ctx.io.read_file(path).await.ok().flatten();
            if current.is_some_and(|(c, _)| c.expose() == seen) {
                let _ = ctx.io.remove_file(path).await;
            }
            let _ = ctx.io.remove_file(&breaker).await;
            Ok(())
        }
        Ok(false) => {
            // Someone else is breaking it; a breaker that died leaves its file, abandoned
            // after BREAK_STALE_MS.
            let modified = ctx.io.read_file(&breaker).await.ok().flatten().and_then(|(_, m)| m);
            if store::break_abandoned(modified, ctx.now()) {
                let _ = ctx.io.remove_file(&breaker).await;
            } else {
                let at = ctx.now() + 5;
                ctx.io.wait_until(at, None, false).await;
            }
            Ok(())
        }
        Err(why) => Err(store_io("create the lock", &breaker, &why)),
    }
}

/// Releases a lock, only if it still holds this session's nonce; whether it did.
async fn release(ctx: &mut Ctx, held: Held) -> bool {
    if let Ok(Some((contents, _))) = ctx.io.read_file(&held.path).await
        && LockInfo::parse(contents.expose()).is_some_and(|info| info.nonce == held.nonce)
    {
        return ctx.io.remove_file(&held.path).await.unwrap_or(false);
    }
    false
}

async fn active_profile(ctx: &mut Ctx) -> Result<Option<String>, Error> {
    let path = ctx.paths()?.profiles_file();
    match ctx.io.read_file(&path).await {
        Ok(None) => Ok(None),
        Ok(Some((text, _))) => match store::active_profile(text.expose(), &path, &ctx.config.issuer, &ctx.config.client_id)? {
            // The name becomes part of a path and is shown: the rules of a configured one.
            Some(profile) if store::check_profile(&profile).is_err() => {
                Err(Error::storage("profiles_corrupt", texts::profiles_corrupt(&path), Hint::FixConfiguration))
            }
            active => Ok(active),
        },
        Err(why) => Err(store_io("read", &path, &why)),
    }
}

async fn set_active_profile(ctx: &mut Ctx, profile: &str) -> Result<(), Error> {
    store::check_profile(profile)?;
    let paths = ctx.paths()?;
    let held = acquire(ctx, &paths.profiles_lock(), false).await?;
    remove_leftovers(ctx, &paths.dir, &["profiles.json".to_string()]).await;
    let path = paths.profiles_file();
    let current = ctx.io.read_file(&path).await.ok().flatten();
    let text =
        store::with_active_profile(current.as_ref().map(|(t, _)| t.expose()), &ctx.config.issuer, &ctx.config.client_id, profile);
    let written = ctx.io.write_file(&path, text).await.map_err(|why| store_io("write", &path, &why));
    release(ctx, held).await;
    written
}

async fn stored_profiles(ctx: &mut Ctx) -> Result<Vec<String>, Error> {
    let dir = ctx.paths()?.credentials_dir();
    let names = ctx.io.list_dir(&dir).await.map_err(|why| store_io("list", &dir, &why))?;
    Ok(store::profiles_in(&names, &ctx.config.issuer, &ctx.config.client_id))
}

/// The server metadata: configured, else cached (a day), else discovered (and cached).
async fn metadata(ctx: &mut Ctx) -> Result<ServerMetadata, Error> {
    if let Some(m) = ctx.metadata.clone().or_else(|| ctx.config.metadata.clone()) {
        ctx.metadata = Some(m.clone());
        return Ok(m);
    }
    let cache = ctx.paths().ok().map(|p| p.metadata_cache(&ctx.config.issuer));
    if let Some(cache) = &cache {
        // Whoever can write the cache chooses the endpoints tokens and secrets are sent to:
        // one that is another user's, or that others may write, is not believed (the
        // document is discovered again, and the cache rewritten 0600).
        let trusted = |f: &super::io::FileRead| f.owned != Some(false) && f.mode.is_none_or(|m| m & 0o022 == 0);
        if let Ok(Some(read)) = ctx.io.read_file_with_owner(cache).await.map(|f| f.filter(trusted))
            && let Some(m) = store::cached_metadata(read.contents.expose(), &ctx.config.issuer, ctx.now())
        {
            ctx.metadata = Some(m.clone());
            return Ok(m);
        }
    }
    let spec = FlowSpec::Discovery(DiscoveryConfig {
        issuer: ctx.config.issuer.clone(),
        document: MetadataDocument::Auto,
        allow_insecure_http: ctx.config.allow_insecure_http,
    });
    let FlowOutcome::Metadata { metadata } = run_flow(ctx, spec, Mode::NoRedirect).await?.0 else {
        return Err(internal("Discovery did not return metadata"));
    };
    if let Some(cache) = &cache {
        // A cache only: a failed write costs a discovery next time, nothing more.
        let _ = ctx.io.write_file(cache, store::metadata_cache_contents(&metadata, ctx.now())).await;
    }
    ctx.metadata = Some(metadata.clone());
    Ok(metadata)
}

// ---- running a flow -----------------------------------------------------------------

/// How a flow's redirect arrives, and whether its device code may open a browser.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    NoRedirect,
    Device { open_browser: bool },
    Listener,
    Paste,
}

/// Runs a flow to its end; returns its outcome and the credential it asked to persist.
async fn run_flow(ctx: &mut Ctx, spec: FlowSpec, mode: Mode) -> Result<(FlowOutcome, Option<Credential>), Error> {
    let mut flow = spec.start(ctx.flow_rng())?;
    let mut pending: Option<FlowAction> = None;
    // The code being waited for and when it expires, and why the last poll got no answer.
    let mut waiting: Option<(String, u64)> = None;
    let mut trouble: Option<String> = None;
    let mut persisted = None;
    loop {
        if ctx.io.cancelled() {
            let _ = flow.handle(FlowInput::Cancel, ctx.now());
        }
        let action = pending.take().unwrap_or_else(|| flow.poll(ctx.now()));
        match action {
            FlowAction::SendRequest(request) => {
                let input = ctx.io.http(request).await;
                // A driver that aborts the request in flight on Ctrl-C answers it with a
                // transport error: that is the cancel, not a network failure. A response
                // that did arrive is handled (tokens issued are still stored).
                let aborted = ctx.io.cancelled() && matches!(input, FlowInput::TransportError { .. });
                trouble = poll_trouble(&input);
                flow.handle(if aborted { FlowInput::Cancel } else { input }, ctx.now())?;
            }
            FlowAction::ShowUserCode(prompt) => {
                waiting = Some((prompt.user_code.clone(), prompt.expires_at));
                let open = matches!(mode, Mode::Device { open_browser: true }) && ctx.config.launch_browser;
                let url = prompt.verification_uri_complete.as_deref().unwrap_or(&prompt.verification_uri);
                let opened = open && ctx.io.launch_browser(url).await;
                let browser_here = ctx.config.launch_browser && ctx.env.surroundings().display;
                let text = texts::user_code(&prompt, opened, browser_here, &ctx.config.app);
                ctx.io.emit(Action::ShowUserCode { prompt, text });
            }
            FlowAction::OpenBrowser { url, redirect_uri } => {
                let paste = mode == Mode::Paste;
                // Only where a browser can be opened at all (a display, or `BROWSER`).
                let can_open = !paste && ctx.config.launch_browser && ctx.env.surroundings().display;
                let opened = can_open && ctx.io.launch_browser(&url).await;
                let text = texts::authorization_url(&url, opened, paste);
                ctx.io.emit(Action::ShowAuthorizationUrl { url, redirect_uri, text });
            }
            FlowAction::Persist { credential } => persisted = Some(credential),
            FlowAction::WaitUntil { at_ms } => {
                let progress = waiting.as_ref().map(|(user_code, until_ms)| {
                    let (text, shorter) = texts::waiting_for_approval(user_code, trouble.as_deref());
                    Progress { text, shorter, until_ms: *until_ms }
                });
                ctx.io.wait_until(at_ms, progress, true).await;
            }
            FlowAction::AwaitRedirect { redirect_uri, until_ms } => {
                let source = match mode {
                    Mode::Listener => RedirectSource::Listener,
                    Mode::Paste => RedirectSource::Paste,
                    _ => return Err(internal("A flow without a redirect source waited for a redirect")),
                };
                match ctx.io.redirect(redirect_uri, until_ms, source).await {
                    Arrival::Url(url) => match flow.handle(FlowInput::Redirect { url }, ctx.now()) {
                        Err(refused) => match source {
                            RedirectSource::Listener => answer_browser(ctx, 400, texts::PAGE_FAILED_TITLE, &refused.message),
                            RedirectSource::Paste => {
                                ctx.notice(NoticeLevel::Warning, &refused.code, texts::paste_again(&refused.message))
                            }
                        },
                        Ok(()) => {
                            let next = flow.poll(ctx.now());
                            if source == RedirectSource::Listener {
                                match &next {
                                    FlowAction::Failed { error } => {
                                        answer_browser(ctx, 200, texts::PAGE_FAILED_TITLE, &texts::page_failed(&error.message))
                                    }
                                    _ => answer_browser(ctx, 200, texts::PAGE_APPROVED_TITLE, texts::PAGE_APPROVED),
                                }
                            }
                            pending = Some(next);
                        }
                    },
                    Arrival::Closed => {
                        let _ = flow.handle(FlowInput::Cancel, ctx.now());
                        return Err(Error::interrupted("stdin_closed", texts::STDIN_CLOSED, Hint::Reauthenticate));
                    }
                    Arrival::Nothing => {} // the deadline or a cancel: the flow's next poll says which
                }
            }
            FlowAction::AwaitResponse { .. } => return Err(internal("A flow request was left unanswered")),
            FlowAction::Done { result } => return Ok((result, persisted)),
            FlowAction::Failed { error } => return Err(error),
        }
    }
}

/// Why a request got no usable answer, for the progress line while the device flow polls
/// on with backoff (RFC 8628 §3.5): no response, or a server error. `None` for an answer.
fn poll_trouble(input: &FlowInput) -> Option<String> {
    match input {
        FlowInput::TransportError { kind, .. } => Some(texts::poll_trouble(kind.as_str())),
        FlowInput::HttpResponse(response) if response.status >= 500 => Some(texts::poll_server_error(response.status)),
        _ => None,
    }
}

fn answer_browser(ctx: &Ctx, status: u16, title: &str, message: &str) {
    ctx.io.emit(Action::AnswerBrowser { status, html: texts::loopback_page(title, message) });
}

// ---- login ----------------------------------------------------------------------------

async fn login(ctx: &mut Ctx, method: LoginMethod) -> Result<Outcome, Error> {
    let key = ctx.key().await?;
    if ctx.config.store == StorePreference::Keyring {
        // Fail before the user approves anything, not after the tokens are issued.
        let probe = if ctx.env.keyring_disabled() {
            Err(texts::KEYRING_DISABLED.to_string())
        } else {
            ctx.io.keyring_get(key.keyring_service(), KEYRING_PROBE_ACCOUNT.to_string()).await.map(|_| ())
        };
        probe.map_err(|why| Error::storage("keyring_unavailable", texts::keyring_required(&why), Hint::FixConfiguration))?;
    }
    let here = ctx.env.surroundings();
    let method = match method {
        LoginMethod::Auto => {
            let token_variable = env_name(&ctx.config.app, "TOKEN");
            let secret_variable = env_name(&ctx.config.app, "CLIENT_SECRET");
            let chosen = match auto::in_ci(&here, ctx.client_secret.is_some(), &token_variable, &secret_variable) {
                Some(decided) => decided?,
                None => auto::interactive(&here, &metadata(ctx).await?)?,
            };
            match chosen {
                AutoMethod::ClientCredentials => LoginMethod::ClientCredentials,
                AutoMethod::Browser => LoginMethod::Browser,
                AutoMethod::Device => LoginMethod::Device,
                AutoMethod::Paste => LoginMethod::Paste,
            }
        }
        m => m,
    };
    let mut config = ctx.config.clone();
    // What the user asked for: a default core chose itself is not theirs to be warned about
    // (a server may list offline_access and still not grant it to this client).
    let asked_scope = config.scope.clone();
    let person = matches!(method, LoginMethod::Device | LoginMethod::Browser | LoginMethod::Paste | LoginMethod::Password { .. });
    if config.scope.is_none()
        && person
        && let Some(scope) = metadata(ctx).await?.default_scope()
    {
        ctx.notice(NoticeLevel::Info, "default_scope", texts::default_scope(&scope, &ctx.config.app));
        config.scope = Some(scope);
    }
    let (outcome, credential) = match &method {
        LoginMethod::Auto => return Err(internal("`auto` was not resolved")),
        LoginMethod::Token { token, presentation } => {
            let spec = FlowSpec::ApiKey(ApiKeyConfig { key: token.clone(), presentation: presentation.clone() });
            run_flow(ctx, spec, Mode::NoRedirect).await?
        }
        LoginMethod::Device => {
            let server = metadata(ctx).await?;
            if server.device_authorization_endpoint.is_none() {
                // The device flow was asked for by name (`auto` never picks it for such
                // a server): switching to another method behind the user's back would
                // end somewhere they did not choose (a paste prompt in a script, say).
                return Err(Error::usage("no_device_endpoint", texts::no_device_endpoint(&ctx.config.app)));
            }
            let spec = FlowSpec::Device(DeviceConfig {
                server,
                client: ctx.oauth_client(),
                scope: config.scope,
                resource: config.resource,
                clock_drift_margin_ms: 0,
                allow_insecure_http: config.allow_insecure_http,
            });
            run_flow(ctx, spec, Mode::Device { open_browser: here.desktop() }).await?
        }
        LoginMethod::Browser | LoginMethod::Paste => {
            let paste = method == LoginMethod::Paste;
            let server = metadata(ctx).await?;
            let port = if paste {
                // Paste mode listens nowhere: the browser's redirect fails to load and
                // the user copies its address instead.
                if config.redirect_port == 0 { 8400 } else { config.redirect_port }
            } else {
                check_listener_host(&config.redirect_host)?;
                let port = ctx.io.listen(&config.redirect_host, config.redirect_port).await.map_err(|why| {
                    Error::usage("listen_failed", texts::listen_failed(&config.redirect_host, config.redirect_port, &why))
                })?;
                if config.redirect_port != 0 && here.ssh {
                    ctx.notice(NoticeLevel::Info, "ssh_forward", texts::ssh_forward(&config.redirect_host, port));
                }
                port
            };
            let spec = FlowSpec::AuthorizationCode(AuthorizationCodeConfig {
                server,
                client: ctx.oauth_client(),
                scope: config.scope,
                redirect_port: Some(port),
                redirect_host: config.redirect_host,
                redirect_path: config.redirect_path,
                redirect_uri: config.redirect_uri,
                nonce: None,
                resource: config.resource,
                prompt: None,
                login_hint: None,
                extra_params: Default::default(),
                code_challenge_method: None,
                redirect_timeout_ms: config.redirect_timeout_ms,
                allow_insecure_http: config.allow_insecure_http,
            });
            run_flow(ctx, spec, if paste { Mode::Paste } else { Mode::Listener }).await?
        }
        LoginMethod::ClientCredentials => {
            let spec = client_credentials_spec(ctx).await?;
            run_flow(ctx, spec, Mode::NoRedirect).await?
        }
        LoginMethod::Password { username, password } => {
            let spec = FlowSpec::Password(PasswordConfig {
                server: metadata(ctx).await?,
                client: ctx.oauth_client(),
                username: username.clone(),
                password: password.clone(),
                scope: config.scope,
                resource: config.resource,
                enable_password_grant: config.enable_password_grant,
                allow_insecure_http: config.allow_insecure_http,
            });
            run_flow(ctx, spec, Mode::NoRedirect).await?
        }
    };
    let mut credential = match (credential, outcome) {
        (Some(c), _) | (None, FlowOutcome::Credential { credential: c }) => c,
        _ => return Err(internal("The login produced no credential to store")),
    };
    // An API key's record names its server too (an OAuth record has it from its flow).
    if let CredentialData::ApiKey { issuer, client_id, .. } = &mut credential.data {
        (*issuer, *client_id) = (Some(ctx.config.issuer.clone()), Some(ctx.config.client_id.clone()));
    }
    // A login takes the lock only to write: a process renewing the previous session under
    // the lock must not overwrite the new login with a refresh of the old one.
    let lock_path = ctx.paths()?.credential_file(&key, "lock");
    let held = acquire(ctx, &lock_path, false).await?;
    let saved = match newer_record_in_the_way(ctx, &key).await {
        Some(refused) => Err(refused),
        None => save(ctx, &key, &credential).await,
    };
    release(ctx, held).await;
    let store = saved?;
    // RFC 6749 §3.3: the server may grant less than asked, and says so in `scope`.
    if let (Some(asked), Some(granted)) = (&asked_scope, credential.tokens().and_then(|t| t.scope.as_deref())) {
        let missing = crate::token::scopes_missing(asked, granted);
        if !missing.is_empty() {
            ctx.notice(NoticeLevel::Warning, "scope_narrowed", texts::scope_narrowed(&missing.join(" "), granted));
        }
    }
    let warned = store.store == StoreKind::File && ctx.config.store == StorePreference::Auto;
    if warned {
        ctx.notice(NoticeLevel::Warning, "stored_in_file", texts::stored_in_file_warning(&store.reason));
    }
    set_active_profile(ctx, &key.profile).await?;
    let (scope, expires_at) = match credential.tokens() {
        Some(t) => (t.scope.clone(), t.expires_at),
        None => (None, None),
    };
    let method = method.as_str().to_string();
    let account = credential.account();
    let told = (!warned).then_some(store.reason.as_str());
    let text = texts::logged_in(account.as_deref(), &method, &key.profile, told, expires_at, ctx.now());
    Ok(Outcome::Login(LoginReport { method, profile: key.profile, store, scope, expires_at, account, text }))
}

/// A stored record a newer termauth wrote is not replaced by a login of this one (it may
/// hold what this version cannot read back, and the newer version is still in use): the
/// refusal says to upgrade, or to log out (which deletes it) and log in again.
async fn newer_record_in_the_way(ctx: &mut Ctx, key: &CredentialKey) -> Option<Error> {
    // In the file store or the keyring (behind its pointer): what `load` reads.
    match load(ctx, key).await {
        Err(e) if e.code == "credential_newer_version" => {
            let record = ctx.paths().ok()?.credential_file(key, "json");
            Some(Error::storage(
                "credential_newer_version",
                texts::login_over_newer_record(&record, &ctx.config.app),
                Hint::FixConfiguration,
            ))
        }
        _ => None,
    }
}

/// RFC 8252 §7.3 / §8.3: the listener binds a loopback IP literal (or `localhost`, bound
/// as 127.0.0.1), never a name DNS resolves or every interface.
fn check_listener_host(host: &str) -> Result<(), Error> {
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let loopback = host == "localhost" || literal.parse::<core::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback { Ok(()) } else { Err(Error::usage("invalid_redirect_host", texts::listener_host(host))) }
}

/// Client credentials without a client secret (from the configuration or the environment).
fn missing_client_secret(ctx: &Ctx) -> Error {
    let variable = env_name(&ctx.config.app, "CLIENT_SECRET");
    Error::usage("missing_client_secret", texts::missing_client_secret(&variable))
}

async fn client_credentials_spec(ctx: &mut Ctx) -> Result<FlowSpec, Error> {
    if ctx.client_secret.is_none() {
        return Err(missing_client_secret(ctx));
    }
    Ok(FlowSpec::ClientCredentials(ClientCredentialsConfig {
        server: metadata(ctx).await?,
        client: ctx.oauth_client(),
        scope: ctx.config.scope.clone(),
        resource: ctx.config.resource.clone(),
        allow_insecure_http: ctx.config.allow_insecure_http,
    }))
}

// ---- get a token, refresh ---------------------------------------------------------------

fn token_report(ctx: &Ctx, credential: Credential, text: Option<String>) -> Outcome {
    Outcome::Token(TokenReport {
        source: TokenSource::Store,
        token: credential.secret().clone(),
        header: credential.authorization_header(),
        expires_at: credential.tokens().and_then(|t| t.expires_at),
        renew_at: crate::lifecycle::renew_at(&credential, &ctx.policy()),
        credential: Some(credential),
        text,
    })
}

/// `get_token` (`force` false) and `refresh` (`force` true): ARCHITECTURE.md,
/// "Cross-process refresh". Read → decide → lock → re-read → decide again (use a record
/// another process renewed meanwhile) → renew → save → unlock.
async fn get_token(ctx: &mut Ctx, force: bool) -> Result<Outcome, Error> {
    if !force && let Some(token) = ctx.env.app_token(&ctx.config.app) {
        crate::environment::check_app_token(&ctx.config.app, token.expose())?;
        let header = ("Authorization".to_string(), Secret::new(format!("Bearer {}", token.expose())));
        return Ok(Outcome::Token(TokenReport {
            source: TokenSource::Env,
            token,
            header,
            expires_at: None,
            renew_at: None,
            credential: None,
            text: None,
        }));
    }
    let key = ctx.key().await?;
    let Some(first) = load(ctx, &key).await? else { return Err(ctx.not_logged_in()) };
    match decide(&first.credential, ctx.now(), &ctx.policy()) {
        Decision::Use if !force => return Ok(token_report(ctx, first.credential, None)),
        Decision::Relogin { reason } => return Err(relogin(reason)),
        _ => {}
    }
    let lock_path = ctx.paths()?.credential_file(&key, "lock");
    let held = acquire(ctx, &lock_path, true).await?;
    let result = renew_locked(ctx, &key, &first.credential, force).await;
    release(ctx, held).await;
    result
}

/// The part of [`get_token`] under the lock.
async fn renew_locked(ctx: &mut Ctx, key: &CredentialKey, before: &Credential, force: bool) -> Result<Outcome, Error> {
    let Some(current) = load(ctx, key).await? else { return Err(ctx.not_logged_in()) };
    let current = current.credential;
    let renewed = match decide_locked(before, &current, ctx.now(), &ctx.policy(), force)? {
        Decision::Use => return Ok(token_report(ctx, current, None)),
        Decision::Relogin { reason } => return Err(relogin(reason)),
        Decision::Refresh { .. } => {
            let spec = refresh_spec(ctx, &current).await;
            match spec {
                Ok(spec) => run_flow(ctx, spec, Mode::NoRedirect).await,
                Err(e) => Err(e),
            }
        }
        Decision::Reacquire { .. } => match client_credentials_spec(ctx).await {
            Ok(spec) => run_flow(ctx, spec, Mode::NoRedirect).await,
            Err(e) => Err(e),
        },
    };
    let error = match renewed {
        Ok((_, Some(credential))) => {
            save(ctx, key, &credential).await?;
            let text = force.then(|| texts::renewed(credential.tokens().and_then(|t| t.expires_at), ctx.now()));
            return Ok(token_report(ctx, credential, text));
        }
        Ok((_, None)) => return Err(internal("The renewal produced no credential")),
        Err(error) => error,
    };
    let dead_grant = error.is_oauth("invalid_grant");
    if dead_grant {
        // RFC 6749 §10.4 rotation: a process that does not honour the lock may have
        // rotated the refresh token first; the record then holds the new one. Re-read once.
        if let Some(again) = load(ctx, key).await?
            && renewed_elsewhere(&current, &again.credential, ctx.now())
        {
            return Ok(token_report(ctx, again.credential, None));
        }
        // The refresh token is dead: keep it no longer, so the next use does not send it
        // again, and `status` says a login is needed once the access token expires.
        if let Some(without) = without_refresh_token(&current) {
            save(ctx, key, &without).await?;
        }
    }
    if error.kind == ErrorKind::Interrupted {
        // Ctrl-C during the renewal: stop, even if the current token would still do.
        return Err(error);
    }
    if force {
        // An explicit refresh reports its failure; serving the current token is for `token`.
        return Err(if dead_grant {
            let mut e = relogin(texts::refresh_refused(&ctx.config.app, error.message.trim_end_matches('.')));
            e.status = error.status;
            e
        } else {
            error
        });
    }
    match after_renewal_failure(&current, &error, ctx.now())? {
        Decision::Use => {
            ctx.notice(NoticeLevel::Warning, "renewal_failed", texts::renewal_failed_using_current(&error.message));
            Ok(token_report(ctx, current, None))
        }
        Decision::Relogin { reason } => Err(relogin(reason)),
        _ => Err(error),
    }
}

/// `get_token` with a scope or resources: a refresh that asks for them (RFC 6749 §6, RFC
/// 8707 §2.2), under the lock. The token it gets is returned, not stored: the stored one
/// stays the login's, for every caller that asks for no scope. A refresh token the server
/// rotated (RFC 6749 §10.4) is the grant's from then on, so it is saved with the stored token.
async fn scoped_token(ctx: &mut Ctx, scope: Option<String>, resource: Vec<String>) -> Result<Outcome, Error> {
    // Blank members ask for nothing: that is `get_token`.
    let scope = scope.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let resource: Vec<String> = resource.into_iter().filter(|r| !r.trim().is_empty()).collect();
    if scope.is_none() && resource.is_empty() {
        return get_token(ctx, false).await;
    }
    // `<APP>_TOKEN` is used as it is: it cannot be limited, and serving it for a scope
    // would hand out a token that may not be.
    if ctx.env.app_token(&ctx.config.app).is_some() {
        let variable = env_name(&ctx.config.app, "TOKEN");
        return Err(Error::usage("scoped_token_from_env", texts::scoped_token_from_env(&variable)));
    }
    let key = ctx.key().await?;
    let Some(first) = load(ctx, &key).await? else { return Err(ctx.not_logged_in()) };
    // Exactly the stored token's scope, and no resource: the stored token is that token.
    let current = first.credential.tokens().and_then(|t| t.scope.as_deref());
    if let (Some(asked), Some(current), true) = (&scope, current, resource.is_empty())
        && crate::token::scopes_missing(asked, current).is_empty()
        && crate::token::scopes_missing(current, asked).is_empty()
    {
        return get_token(ctx, false).await;
    }
    // The configured resources, as every refresh of this client sends them, unless others are asked for.
    let resource = if resource.is_empty() { ctx.config.resource.clone() } else { resource };
    if first.credential.tokens().and_then(|t| t.refresh_token.as_ref()).is_none() {
        return Err(Error::usage("scoped_token_needs_refresh", texts::scoped_token_needs_refresh(&ctx.config.app)));
    }
    crate::config::check_resources(&resource)?;
    let lock_path = ctx.paths()?.credential_file(&key, "lock");
    let held = acquire(ctx, &lock_path, true).await?;
    let result = scoped_token_locked(ctx, &key, scope, resource).await;
    release(ctx, held).await;
    result
}

/// The part of [`scoped_token`] under the lock.
async fn scoped_token_locked(
    ctx: &mut Ctx,
    key: &CredentialKey,
    scope: Option<String>,
    resource: Vec<String>,
) -> Result<Outcome, Error> {
    let Some(current) = load(ctx, key).await? else { return Err(ctx.not_logged_in()) };
    let mut kept = current.credential;
    let spec = FlowSpec::Refresh(RefreshConfig {
        server: metadata(ctx).await?,
        client: ctx.oauth_client(),
        credential: kept.clone(),
        scope,
        resource,
        allow_insecure_http: ctx.config.allow_insecure_http,
    });
    let scoped = match run_flow(ctx, spec, Mode::NoRedirect).await {
        Ok((_, Some(scoped))) => scoped,
        Ok((_, None)) => return Err(internal("The refresh produced no credential")),
        Err(e) if e.is_oauth("invalid_grant") => {
            // The refresh token is dead, as for `get_token`: it is not kept to be sent again.
            if let Some(without) = without_refresh_token(&kept) {
                save(ctx, key, &without).await?;
            }
            let mut refused = relogin(texts::refresh_refused(&ctx.config.app, e.message.trim_end_matches('.')));
            refused.status = e.status;
            return Err(refused);
        }
        Err(e) => return Err(e),
    };
    let rotated = scoped.tokens().and_then(|t| t.refresh_token.clone());
    if let CredentialData::OAuth { tokens, .. } = &mut kept.data
        && rotated.is_some()
        && tokens.refresh_token != rotated
    {
        tokens.refresh_token = rotated;
        save(ctx, key, &kept).await?;
    }
    Ok(token_report(ctx, scoped, None))
}

async fn refresh_spec(ctx: &mut Ctx, credential: &Credential) -> Result<FlowSpec, Error> {
    Ok(FlowSpec::Refresh(RefreshConfig {
        server: metadata(ctx).await?,
        client: ctx.oauth_client(),
        credential: credential.clone(),
        scope: None,
        resource: ctx.config.resource.clone(),
        allow_insecure_http: ctx.config.allow_insecure_http,
    }))
}

/// `credential` without its refresh token, if it had one.
fn without_refresh_token(credential: &Credential) -> Option<Credential> {
    let mut copy = credential.clone();
    match &mut copy.data {
        CredentialData::OAuth { tokens, .. } if tokens.refresh_token.is_some() => {
            tokens.refresh_token = None;
            Some(copy)
        }
        _ => None,
    }
}

// ---- logout, status, profiles -----------------------------------------------------------

/// Revokes at the server (refresh token first, RFC 7009 §2.1: revoking it may revoke the
/// access tokens of the grant too), then deletes. Offline, it still deletes and says so.
async fn logout(ctx: &mut Ctx) -> Result<Outcome, Error> {
    let key = ctx.key().await?;
    let lock_path = ctx.paths()?.credential_file(&key, "lock");
    let held = acquire(ctx, &lock_path, true).await?;
    let result = logout_locked(ctx, &key).await;
    release(ctx, held).await;
    result
}

async fn logout_locked(ctx: &mut Ctx, key: &CredentialKey) -> Result<Outcome, Error> {
    let mut note = None;
    let mut revoked = false;
    match load(ctx, key).await {
        Ok(Some(loaded)) => match &loaded.credential.data {
            CredentialData::OAuth { tokens, .. } => {
                let mut list = Vec::new();
                if let Some(rt) = &tokens.refresh_token {
                    list.push(TokenToSend { token: rt.clone(), token_type_hint: Some("refresh_token".into()) });
                }
                list.push(TokenToSend { token: tokens.access_token.clone(), token_type_hint: Some("access_token".into()) });
                match revoke(ctx, list).await {
                    Ok(true) => revoked = true,
                    Ok(false) => note = Some(texts::NO_REVOCATION_ENDPOINT.to_string()),
                    Err(e) => note = Some(texts::not_revoked(&e.message)),
                }
            }
            CredentialData::ApiKey { .. } => note = Some(texts::API_KEY_NOT_REVOKED.to_string()),
        },
        Ok(None) => {}
        Err(e) => note = Some(texts::unreadable_deleted(&e.message)),
    }
    let removed = delete(ctx, key).await?;
    let text = match (removed, revoked, &note) {
        (false, _, _) => texts::NOTHING_TO_LOG_OUT.to_string(),
        (true, true, _) => texts::LOGGED_OUT_REVOKED.to_string(),
        (true, false, note) => texts::logged_out_here(note.as_deref().unwrap_or_default()),
    };
    Ok(Outcome::Logout(LogoutReport { removed, revoked, note, text }))
}

/// Revokes `tokens`; `Ok(false)` when the server has no revocation endpoint.
async fn revoke(ctx: &mut Ctx, tokens: Vec<TokenToSend>) -> Result<bool, Error> {
    let server = metadata(ctx).await?;
    if server.revocation_endpoint.is_none() {
        return Ok(false);
    }
    let spec = FlowSpec::Revocation(RevocationConfig {
        server,
        client: ctx.oauth_client(),
        tokens,
        allow_insecure_http: ctx.config.allow_insecure_http,
    });
    run_flow(ctx, spec, Mode::NoRedirect).await.map(|_| true)
}

/// `status_all`: every credential in the store (record files and keyring pointers, each
/// naming its issuer and client), each with the status `status` gives it.
async fn status_all(ctx: &mut Ctx) -> Result<Outcome, Error> {
    let paths = ctx.paths()?;
    let dir = paths.credentials_dir();
    let names = ctx.io.list_dir(&dir).await.map_err(|why| store_io("list", &dir, &why))?;
    // Sorted and without duplicates by binary insertion (a BTreeSet of these costs the
    // WebAssembly module 8 KB).
    let mut found: Vec<(String, String, String)> = Vec::new();
    for name in &names {
        let Some((profile, server)) =
            name.strip_suffix(".json").or_else(|| name.strip_suffix(".keyring")).and_then(|stem| stem.rsplit_once('@'))
        else {
            continue;
        };
        if store::check_profile(profile).is_err() {
            continue;
        }
        let path = paths.credentials_entry(name);
        // Unreadable or not a record: left out here; `status` for its issuer says why.
        let Ok(Some(text)) = ctx.io.read_file(&path).await else { continue };
        let Ok(record) = serde_json::from_str::<serde_json::Value>(text.0.expose()) else { continue };
        // A record that does not name its server (an API key stored before they did) is the
        // configured server's when its file name says so.
        // The file's name must be that server's (a record's issuer can differ from the
        // configured one it was stored under, with metadata written by hand).
        let configured = store::server_key(&ctx.config.issuer, &ctx.config.client_id);
        let named = match (record["issuer"].as_str(), record["client_id"].as_str()) {
            (Some(issuer), Some(client_id)) if store::server_key(issuer, client_id) == server => Some((issuer, client_id)),
            _ if server == configured => Some((ctx.config.issuer.as_str(), ctx.config.client_id.as_str())),
            _ => None,
        };
        if let Some((issuer, client_id)) = named {
            let entry = (issuer.to_string(), client_id.to_string(), profile.to_string());
            if let Err(at) = found.binary_search(&entry) {
                found.insert(at, entry);
            }
        }
    }
    let configured = (ctx.config.issuer.clone(), ctx.config.client_id.clone(), ctx.profile.clone(), ctx.client_secret.clone());
    let mut statuses = Vec::new();
    for (issuer, client_id, profile) in found {
        // The client secret is the configured client's: another client's status is judged without it.
        let same_client = (issuer.as_str(), client_id.as_str()) == (configured.0.as_str(), configured.1.as_str());
        ctx.client_secret = if same_client { configured.3.clone() } else { None };
        (ctx.config.issuer, ctx.config.client_id, ctx.profile) = (issuer, client_id, Some(profile));
        if let Outcome::Status(status) = status(ctx, false).await? {
            statuses.push(*status);
        }
    }
    (ctx.config.issuer, ctx.config.client_id, ctx.profile, ctx.client_secret) = configured;
    Ok(Outcome::StatusAll { statuses })
}

/// `status`; `consult_env`: whether `<APP>_TOKEN` counts (it does for the configured server).
async fn status(ctx: &mut Ctx, consult_env: bool) -> Result<Outcome, Error> {
    let mut status = Status {
        source: "none".into(),
        env_var: env_name(&ctx.config.app, "TOKEN"),
        profile: "default".into(),
        issuer: ctx.config.issuer.clone(),
        client_id: ctx.config.client_id.clone(),
        store: None,
        credential_kind: None,
        grant: None,
        account: None,
        scope: None,
        expires_at: None,
        refreshable: false,
        decision: None,
        error: None,
        problem: None,
        lines: Vec::new(),
    };
    if consult_env && ctx.env.app_token(&ctx.config.app).is_some() {
        status.source = "env".into();
        status.lines = texts::status_lines(&status, ctx.now());
        return Ok(Outcome::Status(Box::new(status)));
    }
    let loaded = match ctx.key().await {
        Ok(key) => {
            status.profile = key.profile.clone();
            load(ctx, &key).await
        }
        Err(e) => Err(e),
    };
    match loaded {
        Ok(Some(Loaded { credential, choice })) => {
            status.source = "store".into();
            status.store = Some(choice);
            match &credential.data {
                CredentialData::OAuth { grant, tokens, .. } => {
                    status.credential_kind = Some("oauth".into());
                    status.grant = Some(*grant);
                    status.account = credential.account();
                    status.scope = tokens.scope.clone();
                    status.expires_at = tokens.expires_at;
                    status.refreshable =
                        tokens.refresh_token.is_some() || (*grant == Grant::ClientCredentials && ctx.client_secret.is_some());
                }
                CredentialData::ApiKey { .. } => status.credential_kind = Some("api_key".into()),
            }
            let decision = decide(&credential, ctx.now(), &ctx.policy());
            status.decision = Some(decision.as_str().to_string());
            match decision {
                Decision::Relogin { reason } => status.problem = Some(relogin(reason).naming_login(&ctx.config.app)),
                // An expired client-credentials token is got again only with the secret.
                Decision::Reacquire { still_valid: false } if ctx.client_secret.is_none() => {
                    status.problem = Some(missing_client_secret(ctx));
                }
                _ => {}
            }
        }
        Ok(None) => status.problem = Some(ctx.not_logged_in()),
        Err(e) if e.kind == ErrorKind::Storage || e.kind == ErrorKind::Usage => {
            status.problem = Some(e.clone().naming_login(&ctx.config.app));
            status.error = Some(e);
        }
        Err(e) => return Err(e),
    }
    status.lines = texts::status_lines(&status, ctx.now());
    Ok(Outcome::Status(Box::new(status)))
}

async fn profiles(ctx: &mut Ctx) -> Result<Vec<ProfileInfo>, Error> {
    let active = ctx.key().await?.profile;
    Ok(stored_profiles(ctx).await?.into_iter().map(|name| ProfileInfo { active: name == active, name }).collect())
}

async fn use_profile(ctx: &mut Ctx, profile: String) -> Result<Outcome, Error> {
    store::check_profile(&profile)?;
    let known = stored_profiles(ctx).await?;
    if !known.contains(&profile) {
        return Err(Error::usage("unknown_profile", texts::unknown_profile(&profile, &known)));
    }
    set_active_profile(ctx, &profile).await?;
    Ok(Outcome::ProfileUsed { profile })
}
