//! The method `login("auto")` picks: a product rule rather than an OAuth one, kept here so
//! the Rust CLI, the npm, pip and C packages pick the same way from the same observations.
//!
//! The driver observes where it runs (environment variables: see `native/src/environment.rs`)
//! and asks in two steps, because the second needs the server metadata and CI must not
//! wait for the network to learn it cannot log in:
//!
//! ```
//! use termauth_core::auto::{AutoMethod, Surroundings, in_ci, interactive};
//! use termauth_core::ServerMetadata;
//!
//! let here = Surroundings { ci: false, ssh: true, display: true };
//! assert!(in_ci(&here, false, "MYCLI_TOKEN", "MYCLI_CLIENT_SECRET").is_none());
//! let metadata: ServerMetadata = serde_json::from_str(
//!     r#"{"issuer":"https://as.example","authorization_endpoint":"https://as.example/a",
//!         "device_authorization_endpoint":"https://as.example/d"}"#,
//! ).unwrap();
//! // Over SSH the browser would open on the wrong machine: the device flow.
//! assert_eq!(interactive(&here, &metadata).unwrap(), AutoMethod::Device);
//! ```

use crate::config::ServerMetadata;
use crate::error::Error;

/// Where the CLI runs, as its driver observed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Surroundings {
    /// A CI system (nobody at the terminal to approve a login).
    pub ci: bool,
    /// An SSH session (a browser would open on another machine, if at all).
    pub ssh: bool,
    /// A graphical browser can plausibly be opened (`$BROWSER`, a display, macOS, Windows).
    pub display: bool,
}

impl Surroundings {
    /// A browser opened here is in front of the user.
    pub fn desktop(&self) -> bool {
        self.display && !self.ssh
    }
}

/// A method `auto` can pick. Bindings name it with [`AutoMethod::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoMethod {
    /// The client credentials grant (CI with a client secret).
    ClientCredentials,
    /// The authorization code flow with the loopback redirect.
    Browser,
    /// The device authorization grant.
    Device,
    /// The authorization code flow with the redirect URL pasted back.
    Paste,
}

impl AutoMethod {
    /// The name every binding uses (`"client_credentials"`, `"browser"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AutoMethod::ClientCredentials => "client_credentials",
            AutoMethod::Browser => "browser",
            AutoMethod::Device => "device",
            AutoMethod::Paste => "paste",
        }
    }
}

/// Step one, before any request. In CI nobody can approve a login: client credentials when
/// a client secret is configured, else `ci_needs_credentials`, naming the app's token and
/// secret variables. `None` outside CI: fetch the metadata and call [`interactive`].
///
/// # Errors
/// `ci_needs_credentials` (usage).
pub fn in_ci(
    here: &Surroundings,
    has_client_secret: bool,
    token_variable: &str,
    secret_variable: &str,
) -> Option<Result<AutoMethod, Error>> {
    if !here.ci {
        return None;
    }
    if has_client_secret {
        return Some(Ok(AutoMethod::ClientCredentials));
    }
    // Every app also reads TERMAUTH_CLIENT_SECRET; name it once when the app is termauth.
    let also = if secret_variable == "TERMAUTH_CLIENT_SECRET" { "" } else { " (or TERMAUTH_CLIENT_SECRET)" };
    Some(Err(Error::usage(
        "ci_needs_credentials",
        format!(
            "This looks like CI, where nobody can approve a login. Set {token_variable} to a token, or {secret_variable}{also} for client credentials."
        ),
    )))
}

/// Step two, for a person: the browser on a desktop when the server has an authorization
/// endpoint; otherwise the device flow when it has a device authorization endpoint
/// (RFC 8628 was made for input-constrained and remote sessions); otherwise, away from a
/// desktop, the authorization code flow with the redirect pasted back.
///
/// # Errors
/// `no_interactive_method` (usage) when the server offers neither flow.
pub fn interactive(here: &Surroundings, metadata: &ServerMetadata) -> Result<AutoMethod, Error> {
    let authorize = metadata.authorization_endpoint.is_some();
    let device = metadata.device_authorization_endpoint.is_some();
    match (here.desktop(), device, authorize) {
        (true, _, true) => Ok(AutoMethod::Browser),
        (_, true, _) => Ok(AutoMethod::Device),
        (false, false, true) => Ok(AutoMethod::Paste),
        (_, false, false) => Err(Error::usage(
            "no_interactive_method",
            "The server offers neither the device flow nor the authorization code flow.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(authorize: bool, device: bool) -> ServerMetadata {
        let mut m = serde_json::json!({ "issuer": "https://as.example" });
        if authorize {
            m["authorization_endpoint"] = "https://as.example/authorize".into();
        }
        if device {
            m["device_authorization_endpoint"] = "https://as.example/device".into();
        }
        serde_json::from_value(m).unwrap()
    }

    #[test]
    fn ci_uses_client_credentials_or_says_which_variables_to_set() {
        let ci = Surroundings { ci: true, ssh: false, display: true };
        assert_eq!(in_ci(&ci, true, "A_TOKEN", "A_CLIENT_SECRET").unwrap().unwrap(), AutoMethod::ClientCredentials);
        let e = in_ci(&ci, false, "A_TOKEN", "A_CLIENT_SECRET").unwrap().unwrap_err();
        assert_eq!(e.code, "ci_needs_credentials");
        assert!(
            e.message.contains("Set A_TOKEN to a token, or A_CLIENT_SECRET (or TERMAUTH_CLIENT_SECRET) for"),
            "{}",
            e.message
        );
        let e = in_ci(&ci, false, "TERMAUTH_TOKEN", "TERMAUTH_CLIENT_SECRET").unwrap().unwrap_err();
        assert!(e.message.contains("or TERMAUTH_CLIENT_SECRET for client credentials."), "{}", e.message);
        assert!(in_ci(&Surroundings::default(), true, "A_TOKEN", "A_CLIENT_SECRET").is_none());
    }

    #[test]
    fn the_whole_table() {
        use AutoMethod::*;
        // (display, ssh, authorization endpoint, device endpoint) → method
        let table = [
            (true, false, true, true, Some(Browser)),
            (true, false, true, false, Some(Browser)),
            (true, false, false, true, Some(Device)),
            (true, true, true, true, Some(Device)),
            (false, false, true, true, Some(Device)),
            (false, false, true, false, Some(Paste)),
            (true, true, true, false, Some(Paste)),
            (false, false, false, true, Some(Device)),
            (true, false, false, false, None),
            (false, true, false, false, None),
        ];
        for (display, ssh, authorize, device, expected) in table {
            let here = Surroundings { ci: false, ssh, display };
            let got = interactive(&here, &metadata(authorize, device));
            match expected {
                Some(m) => assert_eq!(got.unwrap(), m, "{here:?} {authorize} {device}"),
                None => assert_eq!(got.unwrap_err().code, "no_interactive_method"),
            }
        }
    }
}
