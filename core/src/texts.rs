//! Every sentence termauth shows a person, in one place, so the Rust CLI and the Node,
//! Python, C and Go packages print the same words. Drivers render (colour, a QR code, a
//! spinner); they never write a sentence of their own.
//!
//! Anything a server sent is cleaned here before it reaches a text ([`shown`]): a control
//! character (C0, DEL, C1 — ESC and CSI among them) or a bidirectional override becomes
//! U+FFFD, so a hostile user code or verification URI cannot move the cursor, clear the
//! screen, retitle the terminal, plant a hyperlink or display reversed.

use crate::error::sanitize;
use crate::flow::UserCodePrompt;
use serde::{Deserialize, Serialize};

/// A block of text for the terminal: lines, an optional QR code, more lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Prompt {
    /// Lines to print first.
    pub lines: Vec<String>,
    /// A QR code to draw when the terminal can show one (wide enough, not redirected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<QrCode>,
    /// Lines to print after the QR code (or after `lines` when none is drawn).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
}

/// A QR code with the line that introduces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct QrCode {
    /// Printed above the code.
    pub caption: String,
    /// What the code encodes.
    pub data: String,
}

/// The most characters of one piece of outside text (a URL, a code, a scope) shown on a
/// terminal; the rest is cut with an ellipsis. Authorization URLs with PKCE, state, scopes
/// and resources stay far below it.
const MAX_SHOWN_CHARS: usize = 4096;

/// `text` as it may be shown on a terminal: control, line-separator and invisible format
/// characters ([`crate::error::is_unsafe_for_terminal`]) replaced by U+FFFD, so that what
/// was hidden is visible and nothing can move the cursor or rewrite the screen; at most
/// [`MAX_SHOWN_CHARS`] characters.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_SHOWN_CHARS));
    for (count, c) in text.chars().enumerate() {
        if count == MAX_SHOWN_CHARS {
            out.push('…');
            break;
        }
        out.push(if crate::error::is_unsafe_for_terminal(c) { '\u{FFFD}' } else { c });
    }
    out
}

/// The device flow's instructions (RFC 8628 §3.3). `browser_here`: a browser could be
/// opened on this machine but was not, so the user hears of the browser login, which needs
/// no code to be carried from one device to another.
pub fn user_code(prompt: &UserCodePrompt, browser_opened: bool, browser_here: bool, app: &str) -> Prompt {
    let mut lines =
        vec![format!("To log in, open {} and enter the code: {}", shown(&prompt.verification_uri), shown(&prompt.user_code))];
    let qr = prompt.verification_uri_complete.as_ref().map(|complete| {
        lines.push(format!("Or open this link, which includes the code: {}", shown(complete)));
        QrCode { caption: "Or scan this QR code with your phone:".into(), data: shown(complete) }
    });
    let after = if browser_opened {
        vec!["(A browser window was opened for you.)".to_string()]
    } else if browser_here {
        vec![format!("(A browser can be opened on this machine: `{app} login --browser` logs in without a code.)")]
    } else {
        Vec::new()
    };
    Prompt { lines, qr, after }
}

/// The authorization URL of a browser login: opened for the user, or to open by hand
/// (`paste`: the browser is elsewhere and the user pastes back where it ends).
pub fn authorization_url(url: &str, opened: bool, paste: bool) -> Prompt {
    let url = shown(url);
    let mut lines = if opened {
        vec!["Opening your browser to log in. If it did not open, visit:".to_string(), format!("  {url}")]
    } else {
        vec!["Open this URL in a browser to log in:".to_string(), format!("  {url}")]
    };
    if paste {
        lines.push(
            "After approving, the browser goes to an address that may fail to load; copy that whole address and paste it here, then press Enter:"
                .to_string(),
        );
    }
    Prompt { lines, qr: None, after: Vec::new() }
}

/// The progress line while the device flow waits for `user_code` to be entered, longest
/// first: `text` and its `shorter` forms for narrow terminals. `{left}` stays for the
/// renderer ([`progress_line`]): the time left as `m:ss`. The code is in every form, so a
/// terminal too small for the instructions above still shows it (RFC 8628 §3.3.1: the user
/// needs the code for the whole wait). `trouble` says why the last poll got no answer
/// (polling goes on, with backoff).
pub fn waiting_for_approval(user_code: &str, trouble: Option<&str>) -> (String, Vec<String>) {
    let code = shown(user_code);
    match trouble {
        None => (
            format!("Waiting for approval of code {code}… {{left}} left (Ctrl-C to cancel)"),
            vec![
                format!("Waiting for code {code}… {{left}} left"),
                format!("Code {code}, {{left}} left"),
                format!("{code} {{left}}"),
            ],
        ),
        Some(why) => (
            format!("Code {code}: {why}; still trying… {{left}} left (Ctrl-C to cancel)"),
            vec![
                format!("Code {code}: server trouble, retrying… {{left}} left"),
                format!("Code {code}, retrying, {{left}} left"),
                format!("{code} {{left}} (retrying)"),
            ],
        ),
    }
}

/// The progress line's note when a poll got no answer: `the server cannot be reached
/// (connection failed)`, `the server answered 503`.
pub fn poll_trouble(what: &str) -> String {
    format!("the server cannot be reached ({what})")
}

/// The progress line's note when a poll got a server error.
pub fn poll_server_error(status: u16) -> String {
    format!("the server answered HTTP {status}")
}

// ---- drawing on a terminal ----------------------------------------------------------
//
// Drivers ask the terminal its size and write what these functions return. What fits,
// what is cut and what is erased afterwards is decided here, once for every language.

/// The terminal a driver draws on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Screen {
    /// Its width in columns; 0 when unknown.
    #[serde(default)]
    pub columns: u32,
    /// Its height in rows; 0 when unknown.
    #[serde(default)]
    pub rows: u32,
    /// A terminal that takes cursor movement (standard error is a TTY and `TERM` is not
    /// `dumb`): the progress line redraws in place and a QR code may be drawn. Colour plays
    /// no part (termauth uses none), so `NO_COLOR` changes nothing here.
    #[serde(default)]
    pub rich: bool,
}

impl Screen {
    /// The size assumed for a terminal that does not say (the VT100's).
    const ASSUMED: (u32, u32) = (80, 24);

    fn size(&self) -> (u32, u32) {
        let (columns, rows) = Self::ASSUMED;
        (if self.columns == 0 { columns } else { self.columns }, if self.rows == 0 { rows } else { self.rows })
    }
}

/// A prompt laid out for a screen ([`layout`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Layout {
    /// The lines to print, in order.
    pub lines: Vec<String>,
    /// How many rows at the end of `lines` to erase once the wait is over ([`end_of_wait`]):
    /// the QR code, of no use after the login and a screenful of scrollback.
    pub erase_rows: u32,
}

/// How many columns `text` takes on a terminal (wide East Asian characters take two,
/// combining marks none).
pub fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// How many columns `c` takes (control characters: none; they never reach a text, [`shown`]).
fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// How many rows `line` takes on a terminal `columns` wide (it wraps).
fn rows_of(line: &str, columns: u32) -> u32 {
    let width = display_width(line) as u32;
    width.div_ceil(columns.max(1)).max(1)
}

/// `prompt` laid out for `screen`: its lines, then those after the QR code, then the QR
/// code last (`qr`: its rows as drawn by the driver's QR encoder) — only on a rich terminal
/// where all of it fits with the progress line below it, in width and height. A QR code cut
/// at the edge, or one that pushes the instructions off the top, cannot be used; the code and
/// the link are always printed, so nothing is lost without it.
pub fn layout(prompt: &Prompt, qr: Option<&[String]>, screen: Screen) -> Layout {
    let (columns, rows) = screen.size();
    let mut lines: Vec<String> = prompt.lines.iter().chain(prompt.after.iter()).cloned().collect();
    let mut erase_rows = 0;
    if let (true, Some(code), Some(drawn)) = (screen.rich, &prompt.qr, qr) {
        const INDENT: &str = "  ";
        let width = drawn.iter().map(|row| display_width(row)).max().unwrap_or(0) + INDENT.len();
        let above: u32 = lines.iter().map(|line| rows_of(line, columns)).sum();
        let block = rows_of(&code.caption, columns) + drawn.len() as u32;
        // Below the last column: a line that fills it wraps on some terminals.
        if !drawn.is_empty() && (width as u32) < columns && above + block < rows {
            lines.push(code.caption.clone());
            lines.extend(drawn.iter().map(|row| format!("{INDENT}{row}")));
            erase_rows = block;
        }
    }
    Layout { lines, erase_rows }
}

/// Spinner frames, one every 100 ms.
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Carriage return, then erase the line (ECMA-48 EL 2).
const ERASE_LINE: &str = "\r\u{1b}[2K";

/// What to write at `now_ms` to redraw the progress line in place: a spinner, then the
/// longest of `progress`'s forms that fits on one row (cut with `…` when none does), so it
/// never wraps — a wrapped line cannot be redrawn and would scroll the code away. Empty on a
/// terminal that is not rich: there, progress is not drawn.
pub fn progress_frame(progress: &crate::session::Progress, now_ms: u64, screen: Screen) -> String {
    if !screen.rich {
        return String::new();
    }
    let (columns, _) = screen.size();
    // One column for the spinner, one after it, and the last column left empty.
    let room = (columns as usize).saturating_sub(3);
    let left = minutes_seconds(progress.until_ms.saturating_sub(now_ms));
    let forms = std::iter::once(&progress.text).chain(progress.shorter.iter()).map(|form| form.replace("{left}", &left));
    let mut chosen = String::new();
    for form in forms {
        let fits = display_width(&form) <= room;
        chosen = form;
        if fits {
            break;
        }
    }
    let spinner = SPINNER[(now_ms / 100 % SPINNER.len() as u64) as usize];
    format!("{ERASE_LINE}{spinner} {}", cut_to_width(&chosen, room))
}

/// `text` cut to `width` columns, ending in `…` when cut.
fn cut_to_width(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// What to write when a wait is over: the progress line erased when one is drawn
/// (`spinning`), then the last `erase_rows` rows printed ([`Layout::erase_rows`]) erased, the
/// cursor left where they began (ECMA-48 CUU, then ED 0).
pub fn end_of_wait(spinning: bool, erase_rows: u32) -> String {
    let mut out = String::new();
    if spinning {
        out.push_str(ERASE_LINE);
    }
    if erase_rows > 0 {
        out.push_str(&format!("\u{1b}[{erase_rows}A\u{1b}[J"));
    }
    out
}

/// `m:ss`.
pub fn minutes_seconds(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A pasted address the flow refused; the user is asked again.
pub fn paste_again(why: &str) -> String {
    format!("{why} Paste it again:")
}

/// Standard input ended before the redirect URL was pasted.
pub const STDIN_CLOSED: &str = "Standard input closed before the redirect URL was pasted.";

/// No scope was configured and the server is an OpenID Connect provider.
pub fn default_scope(scope: &str, app: &str) -> String {
    format!("Asking for the scope \"{scope}\" (this OpenID Connect server lists it; `{app} login --scope ...` asks for another).")
}

/// A token for a scope or resource was asked while `<APP>_TOKEN` supplies the token.
pub fn scoped_token_from_env(variable: &str) -> String {
    format!(
        "{variable} is set, and its token is used as it is: it cannot be limited to a scope or resource. Unset it to get such a token from the stored login."
    )
}

/// A token for a scope or resource was asked of a credential that cannot be refreshed.
pub fn scoped_token_needs_refresh(app: &str) -> String {
    format!(
        "A token for a scope or resource is got by refreshing the login, and this credential has no refresh token (an API key, or a login without offline access). Log in with the scope or resource you need (`{app} login --scope ...`), then ask for the token without them."
    )
}

/// The login was granted less than it asked for (RFC 6749 §3.3).
pub fn scope_narrowed(missing: &str, granted: &str) -> String {
    format!(
        "The server did not grant the scope \"{}\" (granted: \"{}\"); what needs it will be refused. Ask the server's administrator, or log in with the scopes granted.",
        shown(missing),
        shown(granted)
    )
}

/// An explicit device login against a server without a device endpoint.
pub fn no_device_endpoint(app: &str) -> String {
    format!(
        "The server has no device authorization endpoint (RFC 8628), so the device login cannot be used with it. Log in with the browser instead (`{app} login --browser`, or `--paste` when the browser is on another machine), or let termauth choose (`{app} login`)."
    )
}

/// A fixed loopback port over SSH: how to forward it.
pub fn ssh_forward(host: &str, port: u16) -> String {
    format!(
        "Listening on {host}:{port} for the login redirect. From your desktop, forward it with: ssh -L {port}:127.0.0.1:{port} <this host>"
    )
}

/// The loopback page after the redirect was accepted.
pub const PAGE_APPROVED_TITLE: &str = "Login approved";
/// Its body.
pub const PAGE_APPROVED: &str = "The login was approved. You can close this window and return to the terminal.";
/// The loopback page after the redirect was refused or carried an error.
pub const PAGE_FAILED_TITLE: &str = "Login failed";

/// The page the loopback listener answers the browser with (everything escaped).
pub fn loopback_page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:4em auto;max-width:36em;line-height:1.5}}</style>\
         </head><body><h1>{t}</h1><p>{m}</p></body></html>",
        t = html_escape(title),
        m = html_escape(message)
    )
}

/// The page for any other request the loopback listener receives (404 / 405).
pub fn loopback_not_found_page() -> String {
    loopback_page("Not found", "This address only receives the login redirect.")
}

/// `message` followed by "You can close this window." (a failed login's page).
pub fn page_failed(message: &str) -> String {
    format!("{message} You can close this window.")
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A time relative to `now_ms`: `in 59m59s`, `in 2h05m`, `expired 3m02s ago`.
pub fn relative_time(at_ms: u64, now_ms: u64) -> String {
    let (ahead, ms) = if at_ms >= now_ms { (true, at_ms - now_ms) } else { (false, now_ms - at_ms) };
    let s = ms / 1000;
    let human = if s >= 3600 { format!("{}h{:02}m", s / 3600, (s % 3600) / 60) } else { format!("{}m{:02}s", s / 60, s % 60) };
    if ahead { format!("in {human}") } else { format!("expired {human} ago") }
}

/// After a login; `account` is who logged in, when the server said ([`crate::Credential::account`]).
/// `store_reason` is `None` when a warning already said where the credential went: the
/// store decision is told once.
pub fn logged_in(
    account: Option<&str>,
    method: &str,
    profile: &str,
    store_reason: Option<&str>,
    expires_at: Option<u64>,
    now_ms: u64,
) -> String {
    let store = store_reason.map(|reason| format!(", {reason}")).unwrap_or_default();
    let expiry = expires_at.map(|t| format!(", token expires {}", relative_time(t, now_ms))).unwrap_or_default();
    let who = account.map(|a| format!(" as {a}")).unwrap_or_default();
    format!("Logged in{who} (method: {method}, profile: {profile}{store}{expiry}).")
}

/// `message` naming the login command: unchanged when it already does; its first "log in
/// again" followed by `` (`app login`) ``; else `Run `app login` to log in again.` after it.
pub fn naming_login_command(message: &str, app: &str) -> String {
    let command = format!("`{app} login`");
    if message.contains(&command) {
        return message.to_string();
    }
    for phrase in ["Log in again", "log in again"] {
        if let Some(at) = message.find(phrase) {
            let end = at + phrase.len();
            return format!("{} ({command}){}", &message[..end], &message[end..]);
        }
    }
    let message = message.trim_end();
    let stop = if message.ends_with(['.', ')', '!', '?']) { "" } else { "." };
    format!("{message}{stop} Run {command} to log in again.")
}

/// `whoami` when the credential names nobody.
pub fn account_unknown() -> &'static str {
    "Logged in, but the server did not say as whom (no OpenID Connect ID token: log in with the scope `openid` to see it)."
}

/// After an explicit refresh.
pub fn renewed(expires_at: Option<u64>, now_ms: u64) -> String {
    match expires_at {
        Some(t) => format!("Token renewed; it expires {}.", relative_time(t, now_ms)),
        None => "Token renewed; the server did not say when it expires.".to_string(),
    }
}

/// The loopback listener could not start.
pub fn listen_failed(host: &str, port: u16, why: &str) -> String {
    if port == 0 {
        format!("Could not listen on {host} for the login redirect: {}.", sanitize(why, 200))
    } else {
        format!(
            "Could not listen on {host}:{port} for the login redirect: {}. Choose another port, or free this one.",
            sanitize(why, 200)
        )
    }
}

/// A loopback host that is not a loopback address.
pub fn listener_host(host: &str) -> String {
    format!(
        "The redirect host `{}` is not a loopback address: use 127.0.0.1, [::1] or localhost (RFC 8252 §7.3).",
        sanitize(host, 100)
    )
}

/// The lines of `status` for a person (a CLI prints them; `--json` prints the status).
pub fn status_lines(status: &crate::session::Status, now_ms: u64) -> Vec<String> {
    let mut lines = vec![
        format!("issuer:    {}", shown(&status.issuer)),
        format!("client:    {}", shown(&status.client_id)),
        format!("profile:   {}", shown(&status.profile)),
    ];
    match status.source.as_str() {
        "env" => {
            lines.push(format!("source:    environment variable {} (it wins over stored credentials)", shown(&status.env_var)))
        }
        "store" => {
            if let Some(store) = &status.store {
                let kind = match store.store {
                    crate::store::StoreKind::Keyring => "keyring",
                    crate::store::StoreKind::File => "file",
                };
                lines.push(format!("source:    stored credential ({kind} — {})", store.reason));
            }
            let via = status.grant.map(|g| format!(" via {}", g.grant_type())).unwrap_or_default();
            lines.push(format!("kind:      {}{via}", status.credential_kind.as_deref().unwrap_or("?")));
            if let Some(account) = &status.account {
                lines.push(format!("account:   {account}"));
            }
            if let Some(scope) = &status.scope {
                lines.push(format!("scope:     {}", shown(scope)));
            }
            let expires =
                status.expires_at.map(|t| relative_time(t, now_ms)).unwrap_or_else(|| "unknown (not given by the server)".into());
            lines.push(format!("expires:   {expires}"));
            lines.push(format!("renewable: {}", if status.refreshable { "yes" } else { "no" }));
            lines.push(format!("next:      {}", status.decision.as_deref().unwrap_or("?")));
        }
        _ => lines.push("source:    none — not logged in (log in first)".to_string()),
    }
    // The store's problem, or why a login is needed (not for "not logged in": the source
    // line says it).
    if let Some(e) = status.problem.as_ref().filter(|e| e.code != "not_logged_in") {
        lines.push(format!("problem:   {}", e.message));
    }
    lines
}

/// `status` when only `<APP>_TOKEN` is set and nothing is configured.
pub fn status_env_only(variable: &str) -> String {
    format!("source:    environment variable {variable} (it wins over stored credentials)")
}

/// Not logged in.
pub fn not_logged_in(app: &str) -> String {
    format!("Not logged in. Run `{app} login` first.")
}

/// A client-credentials login without a secret.
pub fn missing_client_secret(secret_variable: &str) -> String {
    format!(
        "Client credentials need a client secret: set {secret_variable}{} (never pass it on the command line).",
        or_termauth_secret(secret_variable)
    )
}

/// " or TERMAUTH_CLIENT_SECRET", unless the app's own variable is that one.
pub fn or_termauth_secret(secret_variable: &str) -> &'static str {
    if secret_variable == crate::environment::TERMAUTH_CLIENT_SECRET { "" } else { " or TERMAUTH_CLIENT_SECRET" }
}

/// A password login without a username or password.
pub const MISSING_PASSWORD: &str = "The password login needs a username and a password.";

/// A renewal failed but the current token is still valid.
pub fn renewal_failed_using_current(why: &str) -> String {
    format!("could not renew the token ({why}); using the current one until it expires")
}

/// An explicit refresh the server refused: the grant is gone.
pub fn refresh_refused(app: &str, why: &str) -> String {
    format!("{why}. The stored refresh token no longer works; run `{app} login` to log in again.")
}

/// The credential went to the file store although the keyring was preferred.
pub fn stored_in_file_warning(reason: &str) -> String {
    format!("credential {reason}")
}

/// Where a record went: the keyring.
pub const STORED_IN_KEYRING: &str = "stored in the OS keyring";

/// Where a record went: a file, chosen explicitly.
pub fn stored_in_file_explicitly(path: &str) -> String {
    format!("stored in {path} (file storage chosen explicitly)")
}

/// Where a record went: a file, because the keyring could not be used.
pub fn stored_in_file_because(path: &str, why: &str) -> String {
    format!("stored in {path} (mode 0600, not encrypted) because {why}")
}

/// Where a record is (when read back).
pub fn stored_in(path: &str) -> String {
    format!("stored in {path}")
}

/// Why the keyring was skipped: file storage was chosen.
pub const FILE_CHOSEN: &str = "file storage was chosen explicitly";

/// Why the keyring was skipped: `TERMAUTH_NO_KEYRING`.
pub const KEYRING_DISABLED: &str = "TERMAUTH_NO_KEYRING is set";

/// Why the keyring was skipped: a record too large for Windows Credential Manager.
pub fn keyring_too_small(bytes: usize) -> String {
    format!(
        "the record ({bytes} bytes) is larger than the Windows Credential Manager's {}-byte limit",
        crate::store::KEYRING_MAX_BYTES
    )
}

/// Keyring-only storage, and the keyring does not work.
pub fn keyring_required(why: &str) -> String {
    format!("The OS keyring is not usable ({why}), and keyring-only storage was requested.")
}

/// The keyring holds the record but cannot be opened now.
pub fn keyring_unreadable(why: &str) -> String {
    format!("The OS keyring holds this credential but could not be read: {why}. Unlock the keyring and try again.")
}

/// The keyring entry a pointer names is gone.
pub const KEYRING_ENTRY_MISSING: &str =
    "The credential's keyring entry has disappeared (the keyring was reset or another tool removed it). Log in again.";

/// The keyring entry could not be deleted.
pub fn keyring_delete_failed(why: &str) -> String {
    format!("Could not delete the keyring entry: {why}.")
}

/// A file operation failed.
pub fn store_io(what: &str, path: &str, why: &str) -> String {
    format!("Could not {what} {path}: {}. Check the directory's permissions and free space.", sanitize(why, 300))
}

/// The lock stayed busy for [`crate::store::LOCK_WAIT_MS`].
pub fn store_locked(path: &str) -> String {
    format!(
        "Another process has held the credential lock {path} for too long. If no other termauth process is running, delete that file."
    )
}

/// No config directory can be found.
pub fn no_config_dir(variable: &str) -> String {
    format!("Cannot find a config directory (no HOME or XDG_CONFIG_HOME); set {variable}.")
}

/// `profiles.json` is broken.
pub fn profiles_corrupt(path: &str) -> String {
    format!("{path} is not valid JSON; fix or delete it.")
}

/// A secret given on the command line, where other users can read it (`ps`, `/proc`) and the
/// shell keeps it in its history: refused, and never quoted.
pub fn secret_on_command_line(flag: &str, instead: &str) -> String {
    format!(
        "{flag} takes no value on the command line: {instead}. The value you typed was not used; it may now be in your shell history and was visible to other users of this machine while the command ran, so if it is a real secret, revoke or rotate it."
    )
}

/// A login that would replace a record a newer termauth wrote.
pub fn login_over_newer_record(path: &str, app: &str) -> String {
    format!(
        "{} was written by a newer termauth, so this login did not replace it. Upgrade termauth, or run `{app} logout` to delete it and log in again.",
        shown(path)
    )
}

/// A credential file that belongs to another user.
pub fn credential_not_owned(path: &str) -> String {
    format!(
        "The credential file {} belongs to another user, so termauth will not use it. Remove it (or the link to it), then log in again.",
        shown(path)
    )
}

/// A credential file that the group or others may write.
pub fn credential_writable_by_others(path: &str, mode: u32) -> String {
    format!(
        "The credential file {} can be written by other users (mode {mode:04o}), so its token may not be yours; termauth will not use it. Remove it, then log in again.",
        shown(path)
    )
}

/// A credential file others could read, now made private.
pub fn credential_made_private(path: &str, mode: u32, app: &str) -> String {
    format!(
        "The credential file {} could be read by other users (mode {mode:04o}); it is now private (0600). If someone may have read it, run `{app} logout` to revoke the token, then log in again.",
        shown(path)
    )
}

/// `<APP>_TOKEN` holding what no token may.
pub fn invalid_env_token(variable: &str, position: usize) -> String {
    format!(
        "{variable} has a character other than printable ASCII at character {position} (a space, a line break or a control character), which would break the Authorization header; set it to the token alone."
    )
}

/// An issuer URL with `user:password@`.
pub fn issuer_with_user_information() -> String {
    "The issuer URL contains user information (user:password@), which termauth never stores or shows; give the issuer without it."
        .to_string()
}

/// A bad application name.
pub fn invalid_app(app: &str) -> String {
    format!(
        "`{}` is not a valid application name: use 1 to 64 characters without `/`, `\\`, `:`, spaces or control characters, not starting with `.` (it names the config directory).",
        sanitize(app, 80)
    )
}

/// An issuer or client ID that is empty or holds a control, invisible or (for the issuer)
/// whitespace character; the value is not quoted (it may be anything).
pub fn invalid_identifier(what: &str) -> String {
    format!("The {what} is empty or contains a control, invisible or whitespace character; give it as the server publishes it.")
}

/// A resource indicator that is not an absolute URI without a fragment (RFC 8707 §2).
pub fn invalid_resource(position: usize) -> String {
    format!(
        "Resource indicator {position} is not an absolute URI without a fragment (RFC 8707 §2), such as https://api.example.com/."
    )
}

/// A bad profile name.
pub fn invalid_profile(profile: &str) -> String {
    format!("`{}` is not a valid profile name: use 1 to 64 letters, digits, `.`, `_` or `-`.", sanitize(profile, 80))
}

/// `profiles use` with a name that has no credential.
pub fn unknown_profile(profile: &str, known: &[String]) -> String {
    let list = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    format!(
        "There is no profile `{profile}` for this issuer and client (stored: {list}). Log in with --profile {profile} to create it."
    )
}

/// Logout: revoked at the server and deleted.
pub const LOGGED_OUT_REVOKED: &str = "Logged out: the tokens were revoked at the server and deleted here.";
/// Logout with nothing stored.
pub const NOTHING_TO_LOG_OUT: &str = "Nothing to log out of: no stored credential for this profile.";

/// Logout that deleted without revoking.
pub fn logged_out_here(note: &str) -> String {
    format!("Logged out here. {note}")
}

/// Logout could not revoke.
pub fn not_revoked(why: &str) -> String {
    format!("The tokens were deleted here but not revoked at the server: {why}")
}

/// Logout of a server without a revocation endpoint.
pub const NO_REVOCATION_ENDPOINT: &str =
    "The tokens were deleted here; the server has no revocation endpoint (RFC 7009), so they stay valid there until they expire.";

/// Logout of an API key.
pub const API_KEY_NOT_REVOKED: &str = "The API key was deleted here; it is still valid at the server until you revoke it there.";

/// Logout of an unreadable record.
pub fn unreadable_deleted(why: &str) -> String {
    format!("The stored credential was unreadable ({why}); it was deleted.")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "log in again" names the command, once.
    #[test]
    fn naming_the_login_command() {
        let cases = [
            (
                "The access token has expired and there is no refresh token. Log in again.",
                "The access token has expired and there is no refresh token. Log in again (`mycli login`).",
            ),
            ("No refresh token; log in again to renew it.", "No refresh token; log in again (`mycli login`) to renew it."),
            ("Not logged in. Run `mycli login` first.", "Not logged in. Run `mycli login` first."),
            (
                "The session ended (server said: invalid_grant)",
                "The session ended (server said: invalid_grant) Run `mycli login` to log in again.",
            ),
            ("Gone", "Gone. Run `mycli login` to log in again."),
        ];
        for (message, named) in cases {
            assert_eq!(naming_login_command(message, "mycli"), named);
        }
    }

    #[test]
    fn pages_escape_everything() {
        let page = loopback_page("<t>", "a \"b\" & 'c' <script>\u{1b}[2J");
        assert!(!page.contains("<script>"));
        assert!(!page.contains('\u{1b}'));
        assert!(
            page.contains("&lt;script&gt;")
                && page.contains("&quot;b&quot;")
                && page.contains("&amp;")
                && page.contains("&#39;c&#39;")
        );
    }

    #[test]
    fn hostile_server_text_is_not_a_terminal_command() {
        let prompt = UserCodePrompt {
            user_code: "AB\u{1b}]0;pwned\u{7}CD\u{9b}2J\rFAKE".into(),
            verification_uri: "https://as.example/\u{1b}]8;;https://evil/\u{1b}\\dev".into(),
            verification_uri_complete: Some("https://as.example/d?c=\u{1b}[2J".into()),
            expires_at: 0,
        };
        let text = user_code(&prompt, false, false, "mycli");
        for line in text.lines.iter().chain(text.after.iter()).chain(text.qr.iter().map(|q| &q.data)) {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert!(text.lines[0].contains("AB\u{FFFD}]0;pwned\u{FFFD}CD\u{FFFD}2J\u{FFFD}FAKE"), "{:?}", text.lines[0]);
        assert!(!authorization_url("https://a/\u{1b}[2J", false, true).lines.iter().any(|l| l.chars().any(char::is_control)));
    }

    fn device_prompt(code: &str) -> (UserCodePrompt, Prompt) {
        let prompt = UserCodePrompt {
            user_code: code.into(),
            verification_uri: "http://127.0.0.1:33423/device".into(),
            verification_uri_complete: Some(format!("http://127.0.0.1:33423/device?user_code={code}")),
            expires_at: 600_000,
        };
        let text = user_code(&prompt, false, false, "mycli");
        (prompt, text)
    }

    /// A stand-in QR code of `modules` × `modules` (the real encoders live in the drivers).
    fn qr_rows(modules: usize) -> Vec<String> {
        vec!["█".repeat(modules + 4); (modules + 4).div_ceil(2)]
    }

    #[test]
    fn the_qr_code_is_drawn_only_where_it_fits() {
        let (_, text) = device_prompt("WDJB-MJHT");
        let qr = qr_rows(29); // version 3: 33 columns with the quiet zone, 17 rows
        let at = |columns, rows, rich| layout(&text, Some(&qr), Screen { columns, rows, rich });
        let wide = at(80, 24, true);
        assert_eq!(wide.erase_rows, 1 + 17, "the caption and the code's rows");
        assert_eq!(wide.lines.len(), 2 + 1 + 17);
        assert!(wide.lines[2].starts_with("Or scan"), "{:?}", wide.lines);
        assert_eq!(at(0, 0, true), wide, "an unknown size is taken as 80 × 24");
        for (columns, rows, why) in [(30, 24, "too narrow"), (35, 60, "the last column stays empty"), (80, 20, "too short")] {
            let narrow = at(columns, rows, true);
            assert_eq!((narrow.lines.len(), narrow.erase_rows), (2, 0), "{why}");
        }
        assert_eq!(at(120, 60, false).lines.len(), 2, "not on a plain stream");
        assert_eq!(layout(&text, None, Screen { columns: 120, rows: 60, rich: true }).lines.len(), 2, "no encoder");
        // The instructions wrap at 40 columns: their rows count against the height.
        let (_, long) = device_prompt(&"W".repeat(200));
        assert_eq!(layout(&long, Some(&qr), Screen { columns: 40, rows: 24, rich: true }).erase_rows, 0);
    }

    #[test]
    fn the_progress_line_fits_every_width_and_keeps_the_code() {
        let (text, shorter) = waiting_for_approval("WDJB-MJHT", None);
        let progress = crate::session::Progress { text, shorter, until_ms: 900_000 };
        for columns in [12, 20, 30, 40, 80, 120] {
            let frame = progress_frame(&progress, 1_000, Screen { columns, rows: 24, rich: true });
            let line = frame.strip_prefix("\r\u{1b}[2K").expect("erases the line first");
            assert!(display_width(line) < columns as usize, "{columns}: {line:?}");
            assert_eq!(line.contains("WDJB-MJHT"), columns >= 20, "{columns}: {line:?}");
            assert_eq!(line.contains("14:59"), columns >= 20, "{columns}: {line:?}");
        }
        let wide = progress_frame(&progress, 1_000, Screen { columns: 120, rows: 24, rich: true });
        assert!(wide.ends_with("Waiting for approval of code WDJB-MJHT… 14:59 left (Ctrl-C to cancel)"), "{wide:?}");
        assert_eq!(progress_frame(&progress, 1_000, Screen { columns: 120, rows: 24, rich: false }), "");
        // Wide characters count twice; a hostile code is cut, never wrapped.
        let (text, shorter) = waiting_for_approval(&"漢".repeat(40), Some(&poll_trouble("connection failed")));
        let progress = crate::session::Progress { text, shorter, until_ms: 900_000 };
        for columns in [30, 40, 80] {
            let frame = progress_frame(&progress, 0, Screen { columns, rows: 24, rich: true });
            assert!(display_width(&frame["\r\u{1b}[2K".len()..]) < columns as usize, "{columns}: {frame:?}");
            assert!(frame.ends_with('…'), "{frame:?}");
        }
    }

    #[test]
    fn an_outage_is_on_the_progress_line() {
        let (text, shorter) = waiting_for_approval("WDJB-MJHT", Some(&poll_server_error(503)));
        assert_eq!(text, "Code WDJB-MJHT: the server answered HTTP 503; still trying… {left} left (Ctrl-C to cancel)");
        assert!(shorter.iter().all(|form| form.contains("WDJB-MJHT") && form.contains("retrying")), "{shorter:?}");
    }

    #[test]
    fn the_end_of_a_wait_erases_the_spinner_then_the_qr_code() {
        assert_eq!(end_of_wait(false, 0), "");
        assert_eq!(end_of_wait(true, 0), "\r\u{1b}[2K");
        assert_eq!(end_of_wait(true, 18), "\r\u{1b}[2K\u{1b}[18A\u{1b}[J");
    }

    #[test]
    fn a_device_login_where_a_browser_opens_names_the_browser_login() {
        let (prompt, _) = device_prompt("WDJB-MJHT");
        let text = user_code(&prompt, false, true, "mycli");
        assert_eq!(text.after, ["(A browser can be opened on this machine: `mycli login --browser` logs in without a code.)"]);
        assert_eq!(user_code(&prompt, true, true, "mycli").after, ["(A browser window was opened for you.)"]);
    }

    #[test]
    fn countdown() {
        assert_eq!(minutes_seconds(0), "0:00");
        assert_eq!(minutes_seconds(61_999), "1:01");
        assert_eq!(minutes_seconds(900_000), "15:00");
    }
}
