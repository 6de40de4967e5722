//! The process's surroundings, observed for the session (which decides with them), and
//! opening a browser.

use std::process::Stdio;
use termauth_core::environment::{Environment, Platform};
use termauth_core::session::Command;

/// This build's platform.
pub fn platform() -> Platform {
    if cfg!(windows) {
        Platform::Windows
    } else if cfg!(target_os = "macos") {
        Platform::Macos
    } else {
        Platform::Linux
    }
}

/// This machine's host name (named in lock files), read once per process.
pub fn hostname() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|s| s.trim().to_string())
            .or_else(|_| std::env::var("COMPUTERNAME"))
            .unwrap_or_default()
    })
    .clone()
}

/// The environment snapshot a session of `app` reads: the platform, this host and
/// process, and the variables [`Environment::variable_names`] lists.
pub fn snapshot(app: &str) -> Environment {
    Environment::from_lookup(platform(), hostname(), std::process::id(), app, |name| std::env::var(name).ok())
}

/// The snapshot a session of `command` for `app` reads: as [`snapshot`], with only the
/// variables [`Environment::variable_names_for`] lists (a cached token looks up a third
/// of them).
pub fn snapshot_for(app: &str, command: &Command) -> Environment {
    let names = Environment::variable_names_for(app, command);
    Environment::from_names(platform(), hostname(), std::process::id(), names, |name| std::env::var(name).ok())
}

/// Tries to open `url` in a browser: `$BROWSER` (a `:`-separated list; `%s` is replaced by
/// the URL), else the platform opener. Never fails: returns whether something started.
pub fn open_browser(url: &str) -> bool {
    let spawn = |program: &str, args: &[&str]| -> bool {
        std::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .is_ok()
    };
    if let Ok(browsers) = std::env::var("BROWSER") {
        for entry in browsers.split(':').filter(|s| !s.trim().is_empty()) {
            let mut words: Vec<String> = entry.split_whitespace().map(str::to_string).collect();
            if words.iter().any(|w| w.contains("%s")) {
                for w in &mut words {
                    *w = w.replace("%s", url);
                }
            } else {
                words.push(url.to_string());
            }
            let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
            if spawn(&words[0], &args) {
                return true;
            }
        }
        return false;
    }
    if cfg!(target_os = "macos") {
        spawn("open", &[url])
    } else if cfg!(windows) {
        spawn("rundll32", &["url.dll,FileProtocolHandler", url])
    } else {
        spawn("xdg-open", &[url])
    }
}
