//! What a session knows about the process it runs in, passed in as data: the platform,
//! the host name and process id (for the lock), and the environment variables the session
//! reads. The driver collects them (`Environment::variable_names` says which); the core
//! never reads the environment itself, so every language reads the same variables the
//! same way and a test can run in any "place" by writing a map.
//!
//! ```
//! use termauth_core::environment::{Environment, Platform};
//! let names = Environment::variable_names("my-cli");
//! assert!(names.iter().any(|n| n == "MY_CLI_TOKEN"));
//! let env = Environment::from_lookup(Platform::Linux, "build-host", 4242, "my-cli", |name| {
//!     (name == "SSH_CONNECTION").then(|| "10.0.0.1 5555 10.0.0.2 22".to_string())
//! });
//! assert!(env.surroundings().ssh);
//! assert_eq!(env_name("straße", "TOKEN"), "STRASSE_TOKEN");
//! # use termauth_core::environment::env_name;
//! ```

use crate::auto::Surroundings;
use crate::json::{Object, ReadError, deserialize_via_value};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The operating system family: it decides the config directory and a few keyring rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Linux (and other Unix systems that follow the XDG base directories).
    #[default]
    Linux,
    /// macOS.
    Macos,
    /// Windows.
    Windows,
}

impl Platform {
    /// The path separator used in the paths the session hands out.
    pub fn separator(self) -> char {
        match self {
            Platform::Windows => '\\',
            _ => '/',
        }
    }
}

/// Variables whose presence (with a value other than empty, `false` or `0`) means a CI
/// system runs the CLI: nobody is at the terminal to approve a login.
pub const CI_VARIABLES: [&str; 10] = [
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "JENKINS_URL",
    "TF_BUILD",
    "CIRCLECI",
    "TRAVIS",
    "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER",
];

/// Variables set in an SSH session (any value, even empty).
pub const SSH_VARIABLES: [&str; 3] = ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"];

/// Variables that say a graphical browser can be opened on Linux.
pub const DISPLAY_VARIABLES: [&str; 2] = ["DISPLAY", "WAYLAND_DISPLAY"];

/// The variable of every app that holds a client secret when the app's own is not set.
pub const TERMAUTH_CLIENT_SECRET: &str = "TERMAUTH_CLIENT_SECRET";

/// Set (to anything) to keep termauth away from the OS keyring: credentials go to the
/// file store, which says so.
pub const TERMAUTH_NO_KEYRING: &str = "TERMAUTH_NO_KEYRING";

/// Set (and not `0`), every session traces its HTTP exchanges, redacted
/// (`SessionConfig::debug`).
pub const TERMAUTH_DEBUG: &str = "TERMAUTH_DEBUG";

/// `<APP>_<SUFFIX>`: the app name upper-cased with Unicode's rules (`straße` →
/// `STRASSE`, as JavaScript's `toUpperCase` and Python's `upper` do), with `-`, `.` and
/// space replaced by `_`. One function, so every language names the same variable.
pub fn env_name(app: &str, suffix: &str) -> String {
    let upper: String = app.to_uppercase().chars().map(|c| if matches!(c, '-' | '.' | ' ') { '_' } else { c }).collect();
    format!("{upper}_{suffix}")
}

/// The process the session runs in, as its driver observed it (see the module docs).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
// `schemars(default)`: a member the reader (`read`) fills in when absent, optional in the JSON Schema.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Environment {
    /// The operating system family.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub platform: Platform,
    /// This machine's host name (a lock names its holder's host, so a dead holder on this
    /// host can be recognised).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub host: String,
    /// This process's id.
    #[cfg_attr(feature = "schema", schemars(default))]
    pub pid: u32,
    /// The variables the session reads that are set (names from [`Environment::variable_names`]).
    #[cfg_attr(feature = "schema", schemars(default))]
    pub vars: BTreeMap<String, String>,
}

/// `Debug` names the variables that are set, never their values (a token or a client
/// secret may be among them).
impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("platform", &self.platform)
            .field("host", &self.host)
            .field("pid", &self.pid)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

deserialize_via_value!(Environment => Environment::read);

impl Environment {
    pub(crate) fn read(mut o: Object) -> Result<Self, ReadError> {
        Ok(Environment {
            platform: if o.has("platform") { o.variant("platform")? } else { Platform::Linux },
            host: o.str_or("host", "")?,
            pid: o.uint_or("pid", 0)?,
            vars: o.string_map("vars")?,
        })
    }

    /// The names of the variables a session for `app` reads. A driver looks each one up
    /// and passes those that are set.
    pub fn variable_names(app: &str) -> Vec<String> {
        Environment::names(app, true)
    }

    /// The names of the variables a session of `command` for `app` reads: those of
    /// [`Environment::variable_names`], less where the CLI runs (CI, SSH, display,
    /// `BROWSER`) for every command but a login, the only one that asks. For a driver that
    /// looks them up on every call (a cached token costs one lookup per name).
    pub fn variable_names_for(app: &str, command: &crate::session::Command) -> Vec<String> {
        Environment::names(app, matches!(command, crate::session::Command::Login(_)))
    }

    fn names(app: &str, surroundings: bool) -> Vec<String> {
        let mut names = vec![
            env_name(app, "TOKEN"),
            env_name(app, "CLIENT_SECRET"),
            env_name(app, "CONFIG_DIR"),
            TERMAUTH_CLIENT_SECRET.to_string(),
            TERMAUTH_NO_KEYRING.to_string(),
            TERMAUTH_DEBUG.to_string(),
            "XDG_CONFIG_HOME".to_string(),
            "HOME".to_string(),
            "APPDATA".to_string(),
        ];
        if surroundings {
            names.push("BROWSER".to_string());
            for name in CI_VARIABLES.iter().chain(&SSH_VARIABLES).chain(&DISPLAY_VARIABLES) {
                names.push(name.to_string());
            }
        }
        // App `termauth` reads TERMAUTH_CLIENT_SECRET once, not twice.
        let mut unique: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        unique
    }

    /// Collects the variables for `app` through `lookup` (`std::env::var(name).ok()`, a
    /// map in tests).
    pub fn from_lookup(
        platform: Platform,
        host: impl Into<String>,
        pid: u32,
        app: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Environment {
        Environment::from_names(platform, host, pid, Environment::variable_names(app), lookup)
    }

    /// Collects the variables `names` lists through `lookup` (names from
    /// [`Environment::variable_names_for`]).
    pub fn from_names(
        platform: Platform,
        host: impl Into<String>,
        pid: u32,
        names: Vec<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Environment {
        let mut vars = BTreeMap::new();
        for name in names {
            if let Some(value) = lookup(&name) {
                vars.insert(name, value);
            }
        }
        Environment { platform, host: host.into(), pid, vars }
    }

    /// A variable's value, when set.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A variable's value, when set and not blank.
    fn non_blank(&self, name: &str) -> Option<&str> {
        self.var(name).filter(|v| !v.trim().is_empty())
    }

    /// Where the CLI runs, for the choice of `login auto` ([`crate::auto`]).
    pub fn surroundings(&self) -> Surroundings {
        let ci = CI_VARIABLES.iter().any(|v| self.var(v).is_some_and(|x| !x.is_empty() && x != "false" && x != "0"));
        let ssh = SSH_VARIABLES.iter().any(|v| self.var(v).is_some());
        let display = if self.non_blank("BROWSER").is_some() {
            true
        } else if self.platform == Platform::Linux {
            DISPLAY_VARIABLES.iter().any(|v| self.var(v).is_some_and(|x| !x.is_empty()))
        } else {
            // macOS and Windows always have a browser in front of a local user.
            !ssh
        };
        Surroundings { ci, ssh, display }
    }

    /// `<APP>_TOKEN`, trimmed, when set and not blank: it wins over any stored credential
    /// (check it with [`check_app_token`] before use).
    pub fn app_token(&self, app: &str) -> Option<Secret> {
        self.non_blank(&env_name(app, "TOKEN")).map(|t| Secret::new(t.trim()))
    }

    /// The client secret from `<APP>_CLIENT_SECRET`, then `TERMAUTH_CLIENT_SECRET`.
    pub fn client_secret(&self, app: &str) -> Option<Secret> {
        [env_name(app, "CLIENT_SECRET"), TERMAUTH_CLIENT_SECRET.to_string()]
            .iter()
            .find_map(|name| self.var(name).filter(|v| !v.is_empty()))
            .map(Secret::new)
    }

    /// Whether `TERMAUTH_DEBUG` asks for the HTTP trace.
    pub fn debug(&self) -> bool {
        self.non_blank(TERMAUTH_DEBUG).is_some_and(|v| v.trim() != "0")
    }

    /// Whether `TERMAUTH_NO_KEYRING` keeps the keyring out.
    pub fn keyring_disabled(&self) -> bool {
        self.var(TERMAUTH_NO_KEYRING).is_some()
    }
}

/// Checks the token of `<APP>_TOKEN` by the rule of every token
/// ([`crate::token::token_syntax_error`]): it goes into an `Authorization` header and is
/// printed by `token` commands.
///
/// # Errors
/// `invalid_env_token`, naming the variable and the position, never the value.
pub fn check_app_token(app: &str, token: &str) -> Result<(), crate::Error> {
    match crate::token::token_syntax_error(token) {
        None => Ok(()),
        Some(position) => {
            Err(crate::Error::usage("invalid_env_token", crate::texts::invalid_env_token(&env_name(app, "TOKEN"), position)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Command, LoginMethod};

    /// Only a login asks where the CLI runs; every command reads the app's variables, the
    /// store's and the keyring switch.
    #[test]
    fn variables_by_command() {
        let all = Environment::variable_names("my-cli");
        let login = Environment::variable_names_for("my-cli", &Command::Login(LoginMethod::Auto));
        assert_eq!(login, all);
        for command in [Command::GetToken, Command::Refresh, Command::Status, Command::Logout] {
            let names = Environment::variable_names_for("my-cli", &command);
            for name in
                ["MY_CLI_TOKEN", "MY_CLI_CLIENT_SECRET", "MY_CLI_CONFIG_DIR", TERMAUTH_CLIENT_SECRET, TERMAUTH_NO_KEYRING, "HOME"]
            {
                assert!(names.iter().any(|n| n == name), "{command:?} reads {name}");
            }
            for name in CI_VARIABLES.iter().chain(&SSH_VARIABLES).chain(&DISPLAY_VARIABLES).chain(&["BROWSER"]) {
                assert!(!names.iter().any(|n| n == name), "{command:?} does not read {name}");
            }
            assert!(names.iter().all(|n| all.contains(n)));
        }
    }
}
