//! The session (`termauth_session_*`): one command — log in (with `auto` and the
//! fallbacks), get a token under the cross-process lock, refresh, log out, status,
//! profiles — as the core's sans-IO machine (`termauth_core::session`). A host executes its
//! actions: HTTP, the loopback listener, a browser, the terminal; the storage primitives
//! are this library's (`termauth_session_advance_json` runs them in place). Everything it
//! decides and every sentence it shows come from the core.
//!
//! ```text
//! spec = {"command": {...}, "config": {...}, "environment": termauth_environment_json(app)}
//! termauth_session_new(spec, seed = NULL, now) → session
//! loop:
//!   action = termauth_session_advance_json(session, now)     // storage done inside
//!   send_request → HTTP → handle_json(http_response | transport_error)
//!   listen → bind → handle_json(listening | io_error);  launch_browser → handle_json(browser_launched)
//!   show_user_code · show_authorization_url · notice · answer_browser → render / answer; loop
//!   wait_until → sleep (progress: a spinner);  await_redirect → handle_json(redirect | input_closed)
//!   done · failed → stop
//! ```
//!
//! The JSON of actions and inputs is `termauth_core::session`'s (documented with the
//! session vectors in `tests/vectors/session/`).

use crate::boundary::{
    NulStr, R, boundary, check_out, free_handle, handle_out, json_string, obj, obj_mut, owned, parse_json, put, rng_in, str_in,
    termauth_str, usage,
};
use crate::errors::{describe, termauth_error, termauth_status};
use std::ffi::c_char;
use termauth_core::environment::Environment;
use termauth_core::session::{Action, Command, Input, Outcome, Session, SessionConfig, SessionSpec};

/// A running session: see `termauth_session_new`.
pub struct termauth_session {
    session: Session,
    /// The last action handed out, as JSON (wiped when replaced: it may hold a token).
    action: Option<NulStr>,
}

impl termauth_session {
    fn show(&mut self, action: &Action) -> R<termauth_str> {
        self.keep(&json_string(action)?)
    }

    /// Hands out `text` as a view until the next call (wiped then).
    fn keep(&mut self, text: &str) -> R<termauth_str> {
        let kept = NulStr::new(text);
        let view = kept.view();
        self.action = Some(kept);
        Ok(view)
    }

    /// Polls, doing storage primitives here, until an action the host must do.
    fn next_action(&mut self, now_ms: u64) -> R<Action> {
        loop {
            let action = self.session.poll(now_ms);
            match crate::storage::execute(&action) {
                Some(answer) => self.session.handle(answer, now_ms)?,
                None => return Ok(action),
            }
        }
    }

    fn advance(&mut self, now_ms: u64) -> R<termauth_str> {
        let action = self.next_action(now_ms)?;
        self.show(&action)
    }
}

/// A session configuration parsed and checked once (the `config` member of a spec), for a
/// host that starts many sessions with it: see `termauth_session_start_prepared`.
pub struct termauth_session_config {
    config: SessionConfig,
}

/// Parses and checks `config_json` (a spec's `config`: `{"app":…,"issuer":…,"client_id":…}`
/// and the optional members) as a session would. On success `*out` is the configuration
/// (free it with `termauth_session_config_free`, which also drops its client secret). A
/// configuration that does not parse is a `USAGE` error `invalid_session_spec` naming the
/// member at fault; one a session refuses is that session's error (`invalid_issuer`, …).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_config_new(
    config_json: *const u8,
    config_len: usize,
    out: *mut *mut termauth_session_config,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let config = SessionConfig::from_json(unsafe { str_in(config_json, config_len, "config_json") }?)?;
        // Checked as a session starts (no IO happens before the first poll).
        let check = SessionSpec::new(Command::Status, config.clone(), Environment::default());
        Session::start(check, termauth_core::Rng::from_seed([0; 32]), 0)?;
        unsafe { handle_out(out, termauth_session_config { config }) };
        Ok(())
    })
}

/// Frees a session configuration (NULL is ignored), not while another thread starts a
/// session with it. Sessions already started with it do not need it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_config_free(config: *mut termauth_session_config) {
    unsafe { free_handle(config) }
}

/// Starts a session of `command_json` (a spec's `command`) with a prepared `config`, for
/// this process (its environment snapshot, the OS's randomness), and advances it as
/// `termauth_session_advance_json` does. On success `*out` is the new session and `*action`
/// its first action that is not storage (a view). `config` may be used by several threads
/// at once.
///
/// The token path: when `token` is not NULL and the session ended at once with a token
/// (`get_token` or `refresh`: the action `done` with a token result, as for a cached
/// credential), `*token` is the token (a view, like an action) and `*action` is empty (a
/// NULL view; the action's JSON is not made). Otherwise `*token` is empty and `*action` the
/// action. So a host's `token()` reads one string, not the whole report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_start_prepared(
    config: *const termauth_session_config,
    command_json: *const u8,
    command_len: usize,
    now_ms: u64,
    out: *mut *mut termauth_session,
    action: *mut termauth_str,
    token: *mut termauth_str,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        check_out(action, "action")?;
        let config = &unsafe { obj(config, "config") }?.config;
        let command = Command::from_json(unsafe { str_in(command_json, command_len, "command_json") }?)?;
        let environment = termauth::environment::snapshot_for(&config.app, &command);
        let spec = SessionSpec::new(command, config.clone(), environment);
        let mut s = termauth_session { session: Session::start(spec, termauth_core::Rng::from_os()?, now_ms)?, action: None };
        let next = s.next_action(now_ms)?;
        let (action_view, token_view) = match &next {
            Action::Done { result: Outcome::Token(report) } if !token.is_null() => {
                (termauth_str::NONE, s.keep(report.token.expose())?)
            }
            _ => (s.show(&next)?, termauth_str::NONE),
        };
        unsafe { put(action, action_view) };
        if !token.is_null() {
            unsafe { put(token, token_view) };
        }
        unsafe { handle_out(out, s) };
        Ok(())
    })
}

/// Starts a session from its spec (`{"command":…,"config":…,"environment":…}`, the
/// session vectors' `spec`). `seed` is 32 bytes for a reproducible RNG (tests), or NULL for
/// the OS's; `now_ms` is the wall clock (Unix ms). On success `*out` is the new session
/// (free it with `termauth_session_free`). A spec that does not parse is a `USAGE` error
/// `invalid_session_spec` naming the member at fault (never its value).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_new(
    spec_json: *const u8,
    spec_len: usize,
    seed: *const u8,
    now_ms: u64,
    out: *mut *mut termauth_session,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let spec = SessionSpec::from_json(unsafe { str_in(spec_json, spec_len, "spec_json") }?)?;
        let session = Session::start(spec, unsafe { rng_in(seed) }?, now_ms)?;
        unsafe { handle_out(out, termauth_session { session, action: None }) };
        Ok(())
    })
}

/// Starts a session for this process and advances it, in one call: `command_json` and
/// `config_json` are the spec's `command` and `config`; the environment is this process's
/// snapshot for the config's `app` (as `termauth_environment_json`), the randomness the
/// OS's. On success `*out` is the new session and `*action` the first action that is not
/// storage (a view, as `termauth_session_advance_json`): for a cached token, already
/// `done`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_start_json(
    command_json: *const u8,
    command_len: usize,
    config_json: *const u8,
    config_len: usize,
    now_ms: u64,
    out: *mut *mut termauth_session,
    action: *mut termauth_str,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        check_out(action, "action")?;
        let command = unsafe { str_in(command_json, command_len, "command_json") }?;
        let config = unsafe { str_in(config_json, config_len, "config_json") }?;
        // Parsed once with an empty environment, then given this process's (whose lookups
        // depend on the config's `app`).
        let mut spec = SessionSpec::from_json(&format!(r#"{{"command":{command},"config":{config},"environment":{{}}}}"#))?;
        spec.environment = termauth::environment::snapshot_for(&spec.config.app, &spec.command);
        let mut s = termauth_session { session: Session::start(spec, termauth_core::Rng::from_os()?, now_ms)?, action: None };
        let view = s.advance(now_ms)?;
        unsafe { put(action, view) };
        unsafe { handle_out(out, s) };
        Ok(())
    })
}

/// Frees a session (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_free(session: *mut termauth_session) {
    unsafe { free_handle(session) }
}

/// The next action at `now_ms`, as JSON, in `*out`: a view valid until the next poll,
/// handle, advance or free of this session (its bytes are wiped then: a `write_file` or
/// `done` action may hold a token). Call it until a waiting or terminal action.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_poll_json(
    session: *mut termauth_session,
    now_ms: u64,
    out: *mut termauth_str,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let s = unsafe { obj_mut(session, "session") }?;
        let action = s.session.poll(now_ms);
        let view = s.show(&action)?;
        unsafe { put(out, view) };
        Ok(())
    })
}

/// Feeds an input as JSON (`{"type":"http_response","id":1,…}`, `listening`,
/// `browser_launched`, `redirect`, `input_closed`, `cancel`, or a storage answer). A
/// refused input (`unknown_request_id`, `duplicate_response`, `unexpected_input`,
/// `session_finished`, …) is a `USAGE` error and leaves the session as it was.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_handle_json(
    session: *mut termauth_session,
    input_json: *const u8,
    input_len: usize,
    now_ms: u64,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        let s = unsafe { obj_mut(session, "session") }?;
        let text = unsafe { str_in(input_json, input_len, "input_json") }?;
        let input: Input = serde_json::from_str(text)
            .map_err(|e| usage("invalid_input", format!("The input JSON is not valid ({}).", describe(&e))))?;
        s.session.handle(input, now_ms)?;
        Ok(())
    })
}

/// Polls, and while the action is a storage primitive (files, lock files, processes,
/// keyring) performs it here with the Rust executor and hands the answer back; then writes
/// the first other action's JSON to `*out` (a view, as `termauth_session_poll_json`). So a
/// host never writes a credential file, a lock or a keyring entry itself.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_session_advance_json(
    session: *mut termauth_session,
    now_ms: u64,
    out: *mut termauth_str,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let s = unsafe { obj_mut(session, "session") }?;
        let view = s.advance(now_ms)?;
        unsafe { put(out, view) };
        Ok(())
    })
}

/// The environment snapshot a session of `app` reads (the `environment` member of its
/// spec), taken from this process: the platform, the host name, the process id and the
/// variables the session consults (`<APP>_TOKEN`, `<APP>_CLIENT_SECRET`,
/// `<APP>_CONFIG_DIR`, `TERMAUTH_*`, `HOME`, `XDG_CONFIG_HOME`, `BROWSER`, CI, SSH and
/// display variables). `*out` is an owned string (it may hold a token or a secret: free it
/// with `termauth_string_free`, which wipes it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_environment_json(
    app: *const u8,
    app_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let app = unsafe { str_in(app, app_len, "app") }?;
        let json = json_string(&termauth::environment::snapshot(app))?;
        unsafe { put(out, owned(&json)?) };
        Ok(())
    })
}

/// A `show_user_code` or `show_authorization_url` prompt (`prompt`: its `text` JSON) laid
/// out for a terminal (`screen`: `{"columns":…,"rows":…,"rich":…}`, 0 for unknown), its QR
/// code drawn where it fits: `{"lines":[…],"erase_rows":n}` (`*out`, owned). Print the
/// lines; when the wait is over, write what `termauth_end_of_wait` returns for `erase_rows`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_layout_json(
    prompt: *const u8,
    prompt_len: usize,
    screen: *const u8,
    screen_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let prompt: termauth_core::texts::Prompt =
            parse_json(unsafe { str_in(prompt, prompt_len, "prompt") }?, "invalid_prompt", "prompt")?;
        let screen = parse_json(unsafe { str_in(screen, screen_len, "screen") }?, "invalid_screen", "screen")?;
        let json = json_string(&termauth::ui::render_prompt(&prompt, screen))?;
        unsafe { put(out, owned(&json)?) };
        Ok(())
    })
}

/// What to write at `now_ms` to redraw a `wait_until` action's `progress` (JSON) in place on
/// `screen` (JSON, as for `termauth_layout_json`): `*out`, owned, empty when nothing is
/// drawn (not a rich terminal).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_progress_frame(
    progress: *const u8,
    progress_len: usize,
    now_ms: u64,
    screen: *const u8,
    screen_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let progress: termauth_core::session::Progress =
            parse_json(unsafe { str_in(progress, progress_len, "progress") }?, "invalid_progress", "progress")?;
        let screen = parse_json(unsafe { str_in(screen, screen_len, "screen") }?, "invalid_screen", "screen")?;
        let frame = termauth_core::texts::progress_frame(&progress, now_ms, screen);
        unsafe { put(out, owned(&frame)?) };
        Ok(())
    })
}

/// What to write when a wait is over (`*out`, owned): the progress line erased when one was
/// drawn (`spinning`), then the prompt's last `erase_rows` rows (its QR code).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_end_of_wait(
    spinning: bool,
    erase_rows: u32,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        unsafe { put(out, owned(&termauth_core::texts::end_of_wait(spinning, erase_rows))?) };
        Ok(())
    })
}

/// A QR code of `data` drawn with Unicode half blocks, as a JSON array of lines (`*out`,
/// owned), for a host that renders a `show_user_code` prompt's `qr` on a terminal: print
/// the caption, then each line. `null` when the data does not fit in a QR code.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_qr_lines_json(
    data: *const u8,
    data_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let data = unsafe { str_in(data, data_len, "data") }?;
        let json = json_string(&termauth::ui::qr_lines(data))?;
        unsafe { put(out, owned(&json)?) };
        Ok(())
    })
}
