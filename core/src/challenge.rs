//! The `Bearer` challenge of a `WWW-Authenticate` header (RFC 6750 §3, RFC 9728 §5.1).
//!
//! A response can carry several `WWW-Authenticate` lines, and one line several challenges
//! (`Negotiate, Bearer resource_metadata="…"`, RFC 9110 §11.6.1). The grammar — tokens,
//! quoted strings with backslash escapes, commas between challenges and between parameters
//! — is parsed by the `http-auth` crate; this module picks the first `Bearer` challenge and
//! the parameters termauth uses from it.

use http_auth::ChallengeParser;
use serde::Serialize;

/// The parameters of a `Bearer` challenge that an OAuth client acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BearerChallenge {
    /// Where the resource's protected resource metadata is (RFC 9728 §5.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_metadata: Option<String>,
    /// The scope the request needs (RFC 6750 §3; MCP's scope selection and step-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `invalid_request`, `invalid_token` or `insufficient_scope` (RFC 6750 §3.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server's words about the error (untrusted: sanitise before showing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// The first `Bearer` challenge in these `WWW-Authenticate` values, if any.
///
/// Scheme and parameter names are case-insensitive (RFC 9110 §11.1, §11.2); a parameter
/// given twice keeps its first value (RFC 6750 §3 says each MUST NOT appear more than
/// once). A line that stops parsing (a `token68` challenge such as `Negotiate abc==`, which
/// the parser does not take, or plain junk) still yields the challenges before the fault;
/// a challenge after it on the same line is lost, one on another line is not.
///
/// ```
/// use termauth_core::challenge::bearer_challenge;
/// let c = bearer_challenge(["Basic realm=\"git\", Bearer resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource\", scope=\"files:read\""]).unwrap();
/// assert_eq!(c.scope.as_deref(), Some("files:read"));
/// assert!(bearer_challenge(["Basic realm=\"x\""]).is_none());
/// ```
pub fn bearer_challenge<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<BearerChallenge> {
    values.into_iter().find_map(bearer_in_line)
}

/// The first Bearer challenge of one header value. After a fault (a `token68` challenge,
/// junk) parsing starts again after each later comma, so a Bearer challenge that follows a
/// `Negotiate <token68>` one on the same line is still found: fetch (Node) joins repeated
/// `WWW-Authenticate` lines into one with ", ".
fn bearer_in_line(value: &str) -> Option<BearerChallenge> {
    let mut start = 0;
    'line: loop {
        let rest = &value[start..];
        // The parser takes no leading whitespace (RFC 9110 §5.6.1 allows it in a list).
        for challenge in ChallengeParser::new(rest.trim_start()) {
            let Ok(challenge) = challenge else {
                // Resume after the next comma (past the fault's start: never inside a
                // quoted string that parsed).
                start += rest.find(',')? + 1;
                continue 'line;
            };
            if !challenge.scheme.eq_ignore_ascii_case("bearer") {
                continue;
            }
            let param =
                |name: &str| challenge.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_unescaped());
            return Some(BearerChallenge {
                resource_metadata: param("resource_metadata"),
                scope: param("scope"),
                error: param("error"),
                error_description: param("error_description"),
            });
        }
        return None; // the whole line parsed: no Bearer challenge in it
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_challenge_is_found_among_others_and_across_lines() {
        // After a Basic challenge on the same line (the comma grammar of RFC 9110 §11.6.1).
        let c = bearer_challenge(["Basic realm=\"a, b\", Bearer scope=\"s1 s2\", error=invalid_token"]).unwrap();
        assert_eq!((c.scope.as_deref(), c.error.as_deref()), (Some("s1 s2"), Some("invalid_token")));
        // On a second line; a token68 Negotiate line before it stops only itself.
        let c = bearer_challenge(["Negotiate YII=", "bearer RESOURCE_METADATA=\"https://r.example/m\""]).unwrap();
        assert_eq!(c.resource_metadata.as_deref(), Some("https://r.example/m"));
        // The same two joined by fetch into one line: parsing resumes after the comma.
        let c = bearer_challenge(["Negotiate YII=, Bearer resource_metadata=\"https://r.example/m\""]).unwrap();
        assert_eq!(c.resource_metadata.as_deref(), Some("https://r.example/m"));
        // A comma inside the quoted string of a challenge that parsed starts nothing.
        assert_eq!(bearer_challenge(["Basic realm=\"x, Bearer y=z\""]), None);
        // A bare scheme, escapes, a repeated parameter (the first wins).
        assert_eq!(bearer_challenge(["Bearer"]), Some(BearerChallenge::default()));
        let c = bearer_challenge([r#"Bearer error_description="say \"hi\"", scope=a, scope=b"#]).unwrap();
        assert_eq!((c.error_description.as_deref(), c.scope.as_deref()), (Some("say \"hi\""), Some("a")));
        // Not a Bearer challenge: `Bearerx`, DPoP, nothing.
        for none in [&["Bearerx realm=x"][..], &["DPoP algs=\"ES256\""], &[], &[""], &["\u{1b}[2J"]] {
            assert_eq!(bearer_challenge(none.iter().copied()), None, "{none:?}");
        }
    }
}
