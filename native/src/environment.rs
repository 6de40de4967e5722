//! What kind of place the CLI runs in: CI, SSH, a desktop; and opening a browser.

use std::process::{Command, Stdio};

/// True under a CI system (the common markers).
pub fn is_ci() -> bool {
    ["CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD", "CIRCLECI", "TRAVIS", "TEAMCITY_VERSION", "BITBUCKET_BUILD_NUMBER"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "false" && x != "0"))
}

/// Where this process runs, for [`termauth_core::auto`] (the choice of `login auto`).
pub fn surroundings() -> termauth_core::auto::Surroundings {
    termauth_core::auto::Surroundings { ci: is_ci(), ssh: is_ssh(), display: has_display() }
}

/// True in an SSH session.
pub fn is_ssh() -> bool {
    ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"].iter().any(|v| std::env::var_os(v).is_some())
}

/// True when a graphical browser can plausibly be opened here.
pub fn has_display() -> bool {
    if std::env::var_os("BROWSER").is_some_and(|b| !b.is_empty()) {
        return true;
    }
    if cfg!(any(target_os = "macos", windows)) {
        return !is_ssh();
    }
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// Tries to open `url` in a browser: `$BROWSER` (a `:`-separated list; `%s` is replaced by
/// the URL), else the platform opener. Never fails: returns whether something started.
pub fn open_browser(url: &str) -> bool {
    let spawn = |program: &str, args: &[&str]| -> bool {
        Command::new(program)
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
    if !has_display() {
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
