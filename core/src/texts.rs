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

/// The device flow's instructions (RFC 8628 §3.3).
pub fn user_code(prompt: &UserCodePrompt, browser_opened: bool) -> Prompt {
    let mut lines =
        vec![format!("To log in, open {} and enter the code: {}", shown(&prompt.verification_uri), shown(&prompt.user_code))];
    let qr = prompt.verification_uri_complete.as_ref().map(|complete| {
        lines.push(format!("Or open this link, which includes the code: {}", shown(complete)));
        QrCode { caption: "Or scan this QR code with your phone:".into(), data: shown(complete) }
    });
    let after = if browser_opened { vec!["(A browser window was opened for you.)".to_string()] } else { Vec::new() };
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

/// The spinner line while the device flow waits; `{left}` is replaced by the driver with
/// the time left as `m:ss` ([`minutes_seconds`]).
pub const WAITING_FOR_APPROVAL: &str = "Waiting for approval… {left} left (Ctrl-C to cancel)";

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
pub fn logged_in(
    account: Option<&str>,
    method: &str,
    profile: &str,
    store_reason: &str,
    expires_at: Option<u64>,
    now_ms: u64,
) -> String {
    let expiry = expires_at.map(|t| format!(", token expires {}", relative_time(t, now_ms))).unwrap_or_default();
    let who = account.map(|a| format!(" as {a}")).unwrap_or_default();
    format!("Logged in{who} (method: {method}, profile: {profile}, {store_reason}{expiry}).")
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
        let text = user_code(&prompt, false);
        for line in text.lines.iter().chain(text.after.iter()).chain(text.qr.iter().map(|q| &q.data)) {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert!(text.lines[0].contains("AB\u{FFFD}]0;pwned\u{FFFD}CD\u{FFFD}2J\u{FFFD}FAKE"), "{:?}", text.lines[0]);
        assert!(!authorization_url("https://a/\u{1b}[2J", false, true).lines.iter().any(|l| l.chars().any(char::is_control)));
    }

    #[test]
    fn countdown() {
        assert_eq!(minutes_seconds(0), "0:00");
        assert_eq!(minutes_seconds(61_999), "1:01");
        assert_eq!(minutes_seconds(900_000), "15:00");
    }
}
