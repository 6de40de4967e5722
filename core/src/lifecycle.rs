//! The token lifecycle decision: pure, so every driver behaves the same.
//!
//! A driver reads the stored record, asks [`decide`], and does what it says. When a
//! renewal fails it asks [`after_renewal_failure`] whether the old access token can still
//! be served. Locking, re-reading and writing are the driver's IO (see ARCHITECTURE.md,
//! "Cross-process refresh").

use crate::credential::{Credential, CredentialData, Grant};
use crate::error::{Error, ErrorKind};
use serde::{Deserialize, Serialize};

/// Tunables of the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Renew this long before `expires_at`, so a token is never sent in its last moments
    /// (clock skew, request latency). Default 60 000 ms; capped at half the token's
    /// lifetime.
    pub refresh_skew_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { refresh_skew_ms: 60_000 }
    }
}

/// What to do with a stored credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Use the access token (or key) as it is.
    Use,
    /// Run the refresh grant (RFC 6749 §6) with the stored refresh token.
    /// `still_valid`: the current access token can be served if the refresh fails.
    Refresh {
        /// The current access token has not expired yet.
        still_valid: bool,
    },
    /// Run the client credentials grant again (there is no refresh token in that grant,
    /// RFC 6749 §4.4.3); the driver supplies the client secret.
    Reacquire {
        /// The current access token has not expired yet.
        still_valid: bool,
    },
    /// The credential cannot be renewed: the user must log in again.
    Relogin {
        /// Why, as a sentence.
        reason: String,
    },
}

impl Decision {
    /// The decision's name: `use`, `refresh`, `reacquire` or `relogin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Use => "use",
            Decision::Refresh { .. } => "refresh",
            Decision::Reacquire { .. } => "reacquire",
            Decision::Relogin { .. } => "relogin",
        }
    }
}

/// Decides what to do with `credential` at `now_ms`.
///
/// ```
/// use termauth_core::{Credential, lifecycle::{decide, Decision, Policy}};
/// let c = Credential::from_json(r#"{"schema_version":1,"updated_at":0,"kind":"oauth",
///   "issuer":"https://as","client_id":"cli","grant":"device_code",
///   "tokens":{"access_token":"a","token_type":"Bearer","expires_at":100000,"refresh_token":"r"}}"#).unwrap();
/// assert_eq!(decide(&c, 0, &Policy::default()), Decision::Use);
/// assert_eq!(decide(&c, 50_000, &Policy::default()), Decision::Refresh { still_valid: true });
/// assert_eq!(decide(&c, 100_000, &Policy::default()), Decision::Refresh { still_valid: false });
/// ```
pub fn decide(credential: &Credential, now_ms: u64, policy: &Policy) -> Decision {
    let (grant, tokens) = match &credential.data {
        CredentialData::ApiKey { .. } => return Decision::Use,
        CredentialData::OAuth { grant, tokens, .. } => (grant, tokens),
    };
    let (Some(expires_at), Some(renew_at)) = (tokens.expires_at, renew_at(credential, policy)) else {
        // No expiry given by the server: use it until a request is refused.
        return Decision::Use;
    };
    if now_ms < renew_at {
        return Decision::Use;
    }
    let still_valid = now_ms < expires_at;
    if *grant == Grant::ClientCredentials {
        return Decision::Reacquire { still_valid };
    }
    if tokens.refresh_token.is_some() {
        return Decision::Refresh { still_valid };
    }
    if still_valid {
        // Nothing to renew with yet; serve it for its last moments.
        return Decision::Use;
    }
    Decision::Relogin { reason: "The access token has expired and there is no refresh token. Log in again.".to_string() }
}

/// When `credential` becomes due for renewal: `refresh_skew_ms` before it expires, the
/// skew never exceeding half the token's lifetime (as written: `updated_at` is when the
/// tokens were stored), so a token that lives less than the skew is not renewed on every
/// use. `None` when nothing expires (API keys, tokens without `expires_in`). A host that
/// caches the token itself (an `oauth2.TokenSource`) asks again at this time.
pub fn renew_at(credential: &Credential, policy: &Policy) -> Option<u64> {
    let CredentialData::OAuth { tokens, .. } = &credential.data else { return None };
    let expires_at = tokens.expires_at?;
    let lifetime = expires_at.saturating_sub(credential.updated_at);
    Some(expires_at.saturating_sub(policy.refresh_skew_ms.min(lifetime / 2)))
}

/// True when `current` is not the record `before` and has not expired at `now_ms`: another
/// process renewed the credential meanwhile (while this one waited for the lock, or rotated
/// the refresh token under this one's feet — RFC 6749 §10.4), so `current` is to be used.
pub fn renewed_elsewhere(before: &Credential, current: &Credential, now_ms: u64) -> bool {
    let current_valid = match &current.data {
        CredentialData::OAuth { tokens, .. } => !tokens.is_expired(now_ms),
        CredentialData::ApiKey { .. } => true,
    };
    current != before && current_valid
}

/// The decision after taking the credential's lock and re-reading it (see ARCHITECTURE.md,
/// "Cross-process refresh"): `before` was read before locking, `current` after.
/// [`Decision::Use`] (of `current`) when it was [renewed elsewhere](renewed_elsewhere)
/// — even if its whole lifetime is inside the refresh skew —, else [`decide`], or
/// [`decide_forced`] for a forced renewal of a usable record.
///
/// # Errors
/// Those of [`decide_forced`].
pub fn decide_locked(
    before: &Credential,
    current: &Credential,
    now_ms: u64,
    policy: &Policy,
    force: bool,
) -> Result<Decision, Error> {
    if !force && renewed_elsewhere(before, current, now_ms) {
        return Ok(Decision::Use);
    }
    match decide(current, now_ms, policy) {
        Decision::Use if force => decide_forced(current, now_ms),
        d => Ok(d),
    }
}

/// What a forced renewal (`termauth refresh`, `Client::refresh`) should do, whatever the
/// expiry: [`Decision::Refresh`] with a refresh token, [`Decision::Reacquire`] for client
/// credentials.
///
/// # Errors
/// `no_refresh_token` (hint: reauthenticate) for OAuth tokens without a refresh token,
/// `not_refreshable` for API keys.
pub fn decide_forced(credential: &Credential, now_ms: u64) -> Result<Decision, Error> {
    match &credential.data {
        CredentialData::OAuth { grant: Grant::ClientCredentials, tokens, .. } => {
            Ok(Decision::Reacquire { still_valid: !tokens.is_expired(now_ms) })
        }
        CredentialData::OAuth { tokens, .. } if tokens.refresh_token.is_some() => {
            Ok(Decision::Refresh { still_valid: !tokens.is_expired(now_ms) })
        }
        CredentialData::OAuth { .. } => {
            Err(Error::usage("no_refresh_token", "This credential has no refresh token; log in again to renew it.")
                .with_hint(crate::Hint::Reauthenticate))
        }
        CredentialData::ApiKey { .. } => Err(Error::usage(
            "not_refreshable",
            "API keys and personal access tokens cannot be refreshed; store a new one instead.",
        )),
    }
}

/// After a renewal attempt failed with `error`: can the current token still be served?
///
/// Returns [`Decision::Use`] when the access token is still valid at `now_ms` (a refresh
/// that failed for any reason, even `invalid_grant`, does not invalidate an unexpired
/// access token), otherwise [`Decision::Relogin`] for errors that need a new login, and
/// the error itself for transient failures, so the caller can report "try again later".
///
/// # Errors
/// Returns `error` back when the token has expired and the failure is not one that a new
/// login would fix (network down, server error).
pub fn after_renewal_failure(credential: &Credential, error: &Error, now_ms: u64) -> Result<Decision, Error> {
    let valid = match &credential.data {
        CredentialData::ApiKey { .. } => true,
        CredentialData::OAuth { tokens, .. } => !tokens.is_expired(now_ms),
    };
    if valid {
        return Ok(Decision::Use);
    }
    match error.hint {
        crate::Hint::Reauthenticate => Ok(Decision::Relogin { reason: error.message.clone() }),
        _ if error.kind == ErrorKind::OAuth && error.code == "invalid_grant" => {
            Ok(Decision::Relogin { reason: error.message.clone() })
        }
        _ => Err(error.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hint;

    fn oauth(grant: &str, expires_at: Option<u64>, refresh: bool) -> Credential {
        let mut tokens = serde_json::json!({"access_token": "a", "token_type": "Bearer"});
        if let Some(e) = expires_at {
            tokens["expires_at"] = e.into();
        }
        if refresh {
            tokens["refresh_token"] = "r".into();
        }
        let v = serde_json::json!({"schema_version": 1, "updated_at": 0, "kind": "oauth", "issuer": "https://as",
            "client_id": "c", "grant": grant, "tokens": tokens});
        Credential::from_json(&v.to_string()).unwrap()
    }

    #[test]
    fn decisions() {
        let p = Policy { refresh_skew_ms: 10 };
        assert_eq!(decide(&oauth("device_code", None, false), 5, &p), Decision::Use);
        assert_eq!(decide(&oauth("device_code", Some(100), true), 89, &p), Decision::Use);
        assert_eq!(decide(&oauth("device_code", Some(100), true), 90, &p), Decision::Refresh { still_valid: true });
        assert_eq!(decide(&oauth("device_code", Some(100), true), 100, &p), Decision::Refresh { still_valid: false });
        assert_eq!(decide(&oauth("client_credentials", Some(100), false), 95, &p), Decision::Reacquire { still_valid: true });
        assert_eq!(decide(&oauth("device_code", Some(100), false), 95, &p), Decision::Use);
        assert!(matches!(decide(&oauth("device_code", Some(100), false), 100, &p), Decision::Relogin { .. }));
    }

    #[test]
    fn skew_is_capped_at_half_the_lifetime() {
        // Stored at 0, lives 3 s: with a 60 s skew it would be renewed at every use.
        let short = oauth("device_code", Some(3_000), true);
        let p = Policy::default();
        assert_eq!(decide(&short, 1_000, &p), Decision::Use);
        assert_eq!(decide(&short, 1_500, &p), Decision::Refresh { still_valid: true });
    }

    #[test]
    fn after_the_lock() {
        let p = Policy::default();
        let due = oauth("device_code", Some(100_000), true); // stored at 0, due from 50 s
        let mut renewed = oauth("device_code", Some(160_000), true);
        renewed.updated_at = 157_000; // 3 s left of a 3 s lifetime: inside the skew
        assert_eq!(decide_locked(&due, &due, 60_000, &p, false).unwrap(), Decision::Refresh { still_valid: true });
        assert_eq!(decide_locked(&due, &renewed, 158_000, &p, false).unwrap(), Decision::Use);
        assert!(renewed_elsewhere(&due, &renewed, 158_000));
        assert!(!renewed_elsewhere(&due, &renewed, 160_000), "expired meanwhile");
        assert!(!renewed_elsewhere(&due, &due, 60_000), "unchanged");
        assert_eq!(decide_locked(&due, &due, 1_000, &p, true).unwrap(), Decision::Refresh { still_valid: true });
    }

    #[test]
    fn forced() {
        assert_eq!(decide_forced(&oauth("device_code", Some(100), true), 5).unwrap(), Decision::Refresh { still_valid: true });
        assert_eq!(
            decide_forced(&oauth("client_credentials", Some(100), false), 200).unwrap(),
            Decision::Reacquire { still_valid: false }
        );
        assert_eq!(decide_forced(&oauth("device_code", Some(100), false), 5).unwrap_err().code, "no_refresh_token");
    }

    #[test]
    fn renewal_failure() {
        let valid = oauth("device_code", Some(100), true);
        let grant = Error::oauth("invalid_grant", None, None, Some(400));
        let down = Error::transport("connection failed", None);
        assert_eq!(after_renewal_failure(&valid, &grant, 50).unwrap(), Decision::Use);
        assert_eq!(after_renewal_failure(&valid, &down, 50).unwrap(), Decision::Use);
        assert!(matches!(after_renewal_failure(&valid, &grant, 100).unwrap(), Decision::Relogin { .. }));
        assert_eq!(after_renewal_failure(&valid, &down, 100).unwrap_err().hint, Hint::RetryLater);
    }
}
