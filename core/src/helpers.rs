//! Credential helpers: the protocols git, kubectl, docker and cargo speak to the programs
//! that hand them credentials, answered with the token a `get_token` session returned. One
//! store, every tool: a CLI built on termauth offers `git-credential`, `kube-credential`,
//! `docker-credential` and `cargo-credential` commands without knowing these protocols.
//!
//! Sans-IO like the rest of the core: the driver reads what the tool sent (standard input,
//! `KUBERNETES_EXEC_INFO`), runs `get_token` (with the helper's minimum remaining lifetime
//! as the refresh skew, so a token that would expire during a `git push` is renewed first),
//! and writes what these functions return. What a tool sends is checked here first: a
//! helper is pinned to one server ([`Pinned`]) and answers nothing for another, so a helper
//! line configured too broadly (`credential.helper` for every host) never hands the token to
//! a server it was not meant for.
//!
//! ```
//! use termauth_core::helpers::{GitRequest, Pinned};
//! let pinned = Pinned::new("git.example.com").unwrap();
//! let request = GitRequest::parse("protocol=https\nhost=git.example.com\n\n").unwrap();
//! assert!(pinned.admits_git(&request));
//! let answer = termauth_core::helpers::git_answer(&request, "oauth2", "tok-123", Some(1_700_000_000_000));
//! assert_eq!(answer, "username=oauth2\npassword=tok-123\npassword_expiry_utc=1700000000\n");
//! ```

use crate::{Error, Hint};
use serde_json::{Value, json};

/// The most a helper reads from the tool that runs it: git sends a few short lines, docker
/// one URL, cargo one JSON line per request.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The minimum remaining lifetime a helper asks of a token by default (5 minutes): a token
/// that would expire sooner is renewed before it is handed out (a clone or an image pull can
/// outlast a token that is about to expire).
pub const DEFAULT_MIN_LIFETIME_MS: u64 = 300_000;

fn invalid(what: &str, why: impl std::fmt::Display) -> Error {
    Error::usage("invalid_helper_request", format!("The {what} request is not valid: {why}."))
}

/// The server a helper answers for: an origin (`https://host[:port]`), or `http://` for a
/// loopback host only (a test server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinned {
    origin: String,
}

impl Pinned {
    /// `host[:port]` (https), or an `https://` URL, or an `http://` URL of a loopback host;
    /// only its origin counts.
    ///
    /// # Errors
    /// `invalid_helper_host` for anything else (a path is ignored, user information refused).
    pub fn new(host_or_url: &str) -> Result<Pinned, Error> {
        let refuse = || {
            Error::usage(
                "invalid_helper_host",
                // Not quoted: it may carry a password (`https://user:pw@host`).
                "The credential helper's server is not valid: give a host (`git.example.com`), or an https:// URL without user information (http:// only for a loopback test server).",
            )
            .with_hint(Hint::FixConfiguration)
        };
        let url = if host_or_url.contains("://") { host_or_url.to_string() } else { format!("https://{host_or_url}") };
        let parsed = crate::uri::parse(&url).map_err(|_| refuse())?;
        if parsed.scheme() == "http" && !crate::uri::is_loopback(&parsed) {
            return Err(refuse());
        }
        Ok(Pinned { origin: parsed.origin().ascii_serialization() })
    }

    /// The origin, `https://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether `url` (any URL; `sparse+` and a missing scheme, as docker writes registries,
    /// are understood) has this origin.
    pub fn admits_url(&self, url: &str) -> bool {
        let url = url.trim().strip_prefix("sparse+").unwrap_or(url.trim());
        let url = if url.contains("://") { url.to_string() } else { format!("https://{url}") };
        crate::uri::origin(&url).is_some_and(|o| o == self.origin)
    }

    /// Whether git asks for this server (its `protocol` and `host`, or its `url`).
    pub fn admits_git(&self, request: &GitRequest) -> bool {
        match (&request.protocol, &request.host) {
            (Some(protocol), Some(host)) => self.admits_url(&format!("{protocol}://{host}/")),
            _ => request.url.as_deref().is_some_and(|u| self.admits_url(u)),
        }
    }
}

// ---- git -------------------------------------------------------------------------------

/// A git credential request (git-credential(1) "INPUT/OUTPUT FORMAT"): `key=value` lines up
/// to a blank line or the end; `key[]=value` appends to a list, and an empty value clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitRequest {
    /// `https`, `http`, …
    pub protocol: Option<String>,
    /// `host[:port]`.
    pub host: Option<String>,
    /// The repository path, when git sends it (`credential.useHttpPath`).
    pub path: Option<String>,
    /// The user name in the remote URL, if any.
    pub username: Option<String>,
    /// A whole URL, which git may send instead of the parts.
    pub url: Option<String>,
    /// `capability[]`: what this git understands (`authtype`: bearer credentials, git 2.46).
    pub capabilities: Vec<String>,
    /// `wwwauth[]`: the server's `WWW-Authenticate` challenges, as git received them.
    pub www_authenticate: Vec<String>,
}

impl GitRequest {
    /// Parses what git writes on the helper's standard input.
    ///
    /// # Errors
    /// `invalid_helper_request`: more than [`MAX_REQUEST_BYTES`], a NUL, or a line without
    /// `=` (git never writes one).
    pub fn parse(input: &str) -> Result<GitRequest, Error> {
        if input.len() > MAX_REQUEST_BYTES {
            return Err(invalid("git credential", format!("it is longer than {MAX_REQUEST_BYTES} bytes")));
        }
        if input.contains('\0') {
            return Err(invalid("git credential", "it holds a NUL byte"));
        }
        let mut request = GitRequest::default();
        for line in input.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                break;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| invalid("git credential", "a line has no `=`"))?;
            let value = value.to_string();
            match key {
                "protocol" => request.protocol = Some(value),
                "host" => request.host = Some(value),
                "path" => request.path = Some(value),
                "username" => request.username = Some(value),
                "url" => request.url = Some(value),
                "capability[]" if value.is_empty() => request.capabilities.clear(),
                "capability[]" => request.capabilities.push(value),
                "wwwauth[]" if value.is_empty() => request.www_authenticate.clear(),
                "wwwauth[]" => request.www_authenticate.push(value),
                // password, wwwauth[], state[], … : nothing a token helper uses.
                _ => {}
            }
        }
        Ok(request)
    }

    /// Whether to answer with a bearer credential: this git takes one
    /// (`capability[]=authtype`, git 2.46) and the server asked for one (a `Bearer`
    /// challenge in `wwwauth[]`). Many git hosts take a token only as the Basic password, and
    /// a git that announces `authtype` does so to every helper, so the server decides.
    pub fn wants_bearer(&self) -> bool {
        let bearer = crate::challenge::bearer_challenge(self.www_authenticate.iter().map(String::as_str)).is_some();
        bearer && self.capabilities.iter().any(|c| c == "authtype")
    }
}

/// The answer to git's `get`: `username` and the token as `password` (what every git sends
/// as HTTP Basic), with `password_expiry_utc` (git 2.41) so git does not cache it past its
/// expiry; the token as a bearer `credential` instead when [`GitRequest::wants_bearer`].
/// `token` must have passed the core's token checks (no line break can reach git).
pub fn git_answer(request: &GitRequest, username: &str, token: &str, expires_at_ms: Option<u64>) -> String {
    let mut out = if request.wants_bearer() {
        format!("capability[]=authtype\nauthtype=Bearer\ncredential={token}\nephemeral=1\n")
    } else {
        format!("username={username}\npassword={token}\n")
    };
    if let Some(at) = expires_at_ms {
        out.push_str(&format!("password_expiry_utc={}\n", at / 1000));
    }
    out
}

/// The configuration line `setup-git` writes: `git config --global
/// credential.<origin>.helper <value>`; `program` and its arguments are quoted for git's
/// shell (`!` runs a shell command).
pub fn git_helper_value(program: &str, args: &[&str]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut value = format!("!{}", quote(program));
    for arg in args {
        value.push(' ');
        value.push_str(&quote(arg));
    }
    value
}

// ---- kubectl ---------------------------------------------------------------------------

/// What kubectl says about the call in `KUBERNETES_EXEC_INFO` (client.authentication.k8s.io).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeExecInfo {
    /// The API version to answer with (`client.authentication.k8s.io/v1` or `/v1beta1`).
    pub api_version: String,
    /// Whether the plugin may talk to the user (kubeconfig `interactiveMode` and a terminal).
    pub interactive: bool,
    /// The cluster's API server URL (`spec.cluster.server`), sent when the kubeconfig's exec
    /// entry has `provideClusterInfo: true`.
    pub cluster_server: Option<String>,
}

impl KubeExecInfo {
    /// Reads `KUBERNETES_EXEC_INFO`; absent (an older kubectl), `v1` and not interactive.
    ///
    /// # Errors
    /// `invalid_helper_request` for JSON that is not an ExecCredential of a known version.
    pub fn parse(exec_info: Option<&str>) -> Result<KubeExecInfo, Error> {
        const V1: &str = "client.authentication.k8s.io/v1";
        const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
        let Some(text) = exec_info.filter(|t| !t.trim().is_empty()) else {
            return Ok(KubeExecInfo { api_version: V1.into(), interactive: false, cluster_server: None });
        };
        if text.len() > MAX_REQUEST_BYTES {
            return Err(invalid("kubectl exec", format!("KUBERNETES_EXEC_INFO is longer than {MAX_REQUEST_BYTES} bytes")));
        }
        let v: Value = serde_json::from_str(text).map_err(|_| invalid("kubectl exec", "KUBERNETES_EXEC_INFO is not JSON"))?;
        let api_version = match v.get("apiVersion").and_then(Value::as_str) {
            Some(version @ (V1 | V1BETA1)) => version.to_string(),
            _ => return Err(invalid("kubectl exec", format!("the apiVersion is not {V1} or {V1BETA1}"))),
        };
        let interactive = v.pointer("/spec/interactive").and_then(Value::as_bool).unwrap_or(false);
        let cluster_server = v.pointer("/spec/cluster/server").and_then(Value::as_str).map(str::to_string);
        Ok(KubeExecInfo { api_version, interactive, cluster_server })
    }
}

/// The `ExecCredential` kubectl reads on the plugin's standard output, with the token and
/// its expiry (RFC 3339, so kubectl asks again before it expires).
pub fn kube_exec_credential(info: &KubeExecInfo, token: &str, expires_at_ms: Option<u64>) -> String {
    let mut status = json!({ "token": token });
    if let Some(at) = expires_at_ms {
        status["expirationTimestamp"] = rfc3339(at).into();
    }
    let credential = json!({ "apiVersion": info.api_version, "kind": "ExecCredential", "status": status });
    format!("{credential}\n")
}

/// Unix milliseconds as an RFC 3339 UTC timestamp, to the second.
fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // The civil date of a day count (Howard Hinnant's `civil_from_days`, for days >= 0).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

// ---- docker ----------------------------------------------------------------------------

/// What docker-credential-helpers' `get` prints when it has nothing for the server (docker
/// recognises the sentence; the helper then exits 1).
pub const DOCKER_NOT_FOUND: &str = "credentials not found in native keychain";

/// Reads the server URL docker writes on `get`'s and `erase`'s standard input.
///
/// # Errors
/// `invalid_helper_request`: empty, too long, or not one line.
pub fn docker_server_url(input: &str) -> Result<String, Error> {
    if input.len() > MAX_REQUEST_BYTES {
        return Err(invalid("docker credential", format!("it is longer than {MAX_REQUEST_BYTES} bytes")));
    }
    let url = input.trim();
    if url.is_empty() || url.contains(['\n', '\r', '\0']) {
        return Err(invalid("docker credential", "it is not one server URL"));
    }
    Ok(url.to_string())
}

/// The answer to docker's `get`: `{"ServerURL","Username","Secret"}` with the token as the
/// secret (the registry's token service receives it as the Basic password).
pub fn docker_answer(server_url: &str, username: &str, token: &str) -> String {
    format!("{}\n", json!({ "ServerURL": server_url, "Username": username, "Secret": token }))
}

/// The answer to docker's `list`: the pinned server and the user name, when logged in.
pub fn docker_list(pinned: &Pinned, username: Option<&str>) -> String {
    let mut list = serde_json::Map::new();
    if let Some(name) = username {
        list.insert(pinned.origin().to_string(), name.into());
    }
    format!("{}\n", Value::Object(list))
}

// ---- cargo -----------------------------------------------------------------------------

/// The first line a cargo credential provider writes: the protocol versions it speaks.
pub const CARGO_HELLO: &str = "{\"v\":[1]}";

/// One request of cargo's credential-provider protocol (version 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CargoRequest {
    /// `get`, `login`, `logout`, or a kind this version does not know.
    pub kind: String,
    /// The registry's index URL (`sparse+https://…/index/`).
    pub index_url: String,
    /// For `get`: `read`, `publish`, `yank`, `unyank` or `owners`.
    pub operation: Option<String>,
    /// The arguments configured after the provider's path (`credential-provider =
    /// ["termauth", "cargo-credential", "--for", "…"]`): cargo sends them in each request,
    /// not on the command line (which is only `--cargo-plugin`).
    pub args: Vec<String>,
}

impl CargoRequest {
    /// Parses one request line.
    ///
    /// # Errors
    /// `invalid_helper_request`: not JSON, version not 1, or no registry index URL.
    pub fn parse(line: &str) -> Result<CargoRequest, Error> {
        if line.len() > MAX_REQUEST_BYTES {
            return Err(invalid("cargo credential", format!("it is longer than {MAX_REQUEST_BYTES} bytes")));
        }
        let v: Value = serde_json::from_str(line).map_err(|_| invalid("cargo credential", "it is not JSON"))?;
        if v.get("v").and_then(Value::as_u64) != Some(1) {
            return Err(invalid("cargo credential", "its protocol version is not 1"));
        }
        let text = |pointer: &str| v.pointer(pointer).and_then(Value::as_str).map(str::to_string);
        Ok(CargoRequest {
            kind: text("/kind").ok_or_else(|| invalid("cargo credential", "it has no kind"))?,
            index_url: text("/registry/index-url").ok_or_else(|| invalid("cargo credential", "it has no registry index-url"))?,
            operation: text("/operation"),
            args: match v.get("args") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|a| a.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| invalid("cargo credential", "its args are not strings"))?,
                Some(_) => return Err(invalid("cargo credential", "its args are not a list")),
            },
        })
    }
}

/// The answer to a `get`: the token, cached by cargo until it expires (or for the session).
pub fn cargo_token(token: &str, expires_at_ms: Option<u64>) -> String {
    let ok = match expires_at_ms {
        Some(at) => {
            json!({ "kind": "get", "token": token, "cache": "expires", "expiration": at / 1000, "operation_independent": true })
        }
        None => json!({ "kind": "get", "token": token, "cache": "session", "operation_independent": true }),
    };
    json!({ "Ok": ok }).to_string()
}

/// A refusal in the protocol's words: `url-not-supported` (not the pinned registry: cargo
/// asks the next provider), `not-found` (nothing stored), `operation-not-supported`, or
/// `other` with a message (termauth's, e.g. why a login is needed).
pub fn cargo_error(kind: &str, message: Option<&str>) -> String {
    match message {
        Some(message) => json!({ "Err": { "kind": kind, "message": message } }).to_string(),
        None => json!({ "Err": { "kind": kind } }).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_servers() {
        let p = Pinned::new("git.example.com").unwrap();
        assert_eq!(p.origin(), "https://git.example.com");
        assert!(p.admits_url("https://GIT.example.com:443/x/y.git"));
        assert!(!p.admits_url("http://git.example.com/"));
        assert!(!p.admits_url("https://git.example.com.evil.test/"));
        assert!(!p.admits_url("https://git.example.com:8443/"));
        assert!(p.admits_url("sparse+https://git.example.com/index/"));
        assert!(p.admits_url("git.example.com"));
        assert!(Pinned::new("http://127.0.0.1:8080").is_ok());
        for bad in ["http://git.example.com", "https://user:pw@git.example.com", "", "git.example.com/\u{1b}[2J", "ftp://x"] {
            let e = Pinned::new(bad).unwrap_err();
            assert_eq!(e.code, "invalid_helper_host", "{bad:?}");
            assert!(!e.message.contains('\u{1b}') && !e.message.contains("pw@"), "{bad:?}: {}", e.message);
        }
    }

    #[test]
    fn git_requests_and_answers() {
        let r = GitRequest::parse(
            "protocol=https\nhost=git.example.com:8443\npath=a/b.git\ncapability[]=authtype\nwwwauth[]=Bearer\n\nignored=1\n",
        )
        .unwrap();
        assert_eq!(
            (r.protocol.as_deref(), r.host.as_deref(), r.path.as_deref()),
            (Some("https"), Some("git.example.com:8443"), Some("a/b.git"))
        );
        assert!(r.wants_bearer());
        assert_eq!(git_answer(&r, "oauth2", "t", None), "capability[]=authtype\nauthtype=Bearer\ncredential=t\nephemeral=1\n");
        // A git 2.46+ always announces authtype: a server that asks for Basic gets Basic.
        for challenges in ["wwwauth[]=Basic realm=\"git\"\n", "", "wwwauth[]=Bearerish\n"] {
            let basic = GitRequest::parse(&format!("protocol=https\nhost=h\ncapability[]=authtype\n{challenges}")).unwrap();
            assert!(!basic.wants_bearer(), "{challenges:?}");
            assert_eq!(git_answer(&basic, "oauth2", "t", None), "username=oauth2\npassword=t\n");
        }
        // A Bearer challenge after a Basic one on the same line (RFC 9110 §11.6.1) counts.
        let both = GitRequest::parse("capability[]=authtype\nwwwauth[]=Basic realm=\"a, b\", Bearer realm=\"git\"\n").unwrap();
        assert!(both.wants_bearer());
        let cleared = GitRequest::parse("capability[]=authtype\ncapability[]=\nwwwauth[]=Bearer\nprotocol=https\n").unwrap();
        assert!(!cleared.wants_bearer());
        assert!(Pinned::new("git.example.com:8443").unwrap().admits_git(&r));
        assert!(!Pinned::new("git.example.com").unwrap().admits_git(&r));
        let by_url = GitRequest::parse("url=https://git.example.com/x.git\n").unwrap();
        assert!(Pinned::new("git.example.com").unwrap().admits_git(&by_url));
        assert!(!Pinned::new("git.example.com").unwrap().admits_git(&GitRequest::default()));
        for hostile in ["protocol=https\0\n", "no equals sign\n"] {
            assert_eq!(GitRequest::parse(hostile).unwrap_err().code, "invalid_helper_request");
        }
        assert!(GitRequest::parse(&"a=b\n".repeat(20_000)).is_err());
        assert_eq!(
            git_helper_value("/usr/bin/termauth", &["git-credential", "--for", "it's"]),
            r"!'/usr/bin/termauth' 'git-credential' '--for' 'it'\''s'"
        );
    }

    #[test]
    fn kube_exec_credentials() {
        let info = KubeExecInfo::parse(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}"#,
        ))
        .unwrap();
        assert!(info.interactive && info.cluster_server.is_none());
        let with_cluster = KubeExecInfo::parse(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://k8s.example.com:6443"}}}"#,
        ))
        .unwrap();
        assert_eq!(with_cluster.cluster_server.as_deref(), Some("https://k8s.example.com:6443"));
        assert!(Pinned::new("k8s.example.com:6443").unwrap().admits_url(with_cluster.cluster_server.as_deref().unwrap()));
        let out: Value = serde_json::from_str(&kube_exec_credential(&info, "tok", Some(1_700_000_000_999))).unwrap();
        assert_eq!(
            out,
            json!({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok","expirationTimestamp":"2023-11-14T22:13:20Z"}})
        );
        assert_eq!(KubeExecInfo::parse(None).unwrap().api_version, "client.authentication.k8s.io/v1");
        assert!(!KubeExecInfo::parse(Some(r#"{"apiVersion":"client.authentication.k8s.io/v1beta1"}"#)).unwrap().interactive);
        for bad in ["{", r#"{"apiVersion":"v2"}"#] {
            assert_eq!(KubeExecInfo::parse(Some(bad)).unwrap_err().code, "invalid_helper_request");
        }
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799_000), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn docker_and_cargo() {
        assert_eq!(docker_server_url(" https://r.example.com/v2/ \n").unwrap(), "https://r.example.com/v2/");
        assert!(docker_server_url("a\nb").is_err() && docker_server_url("").is_err());
        let out: Value = serde_json::from_str(&docker_answer("r.example.com", "oauth2", "tok")).unwrap();
        assert_eq!(out, json!({"ServerURL":"r.example.com","Username":"oauth2","Secret":"tok"}));
        let p = Pinned::new("r.example.com").unwrap();
        assert_eq!(docker_list(&p, Some("oauth2")), "{\"https://r.example.com\":\"oauth2\"}\n");
        assert_eq!(docker_list(&p, None), "{}\n");

        let r = CargoRequest::parse(r#"{"v":1,"registry":{"index-url":"sparse+https://r.example.com/index/","name":"mine"},"kind":"get","operation":"read","args":["cargo-credential","--for","r.example.com"]}"#).unwrap();
        assert_eq!((r.kind.as_str(), r.operation.as_deref()), ("get", Some("read")));
        assert_eq!(r.args, ["cargo-credential", "--for", "r.example.com"]);
        assert!(CargoRequest::parse(r#"{"v":1,"kind":"get","registry":{"index-url":"x"},"args":[1]}"#).is_err());
        assert!(p.admits_url(&r.index_url));
        assert_eq!(
            cargo_token("t", Some(1_700_000_000_500)),
            r#"{"Ok":{"kind":"get","token":"t","cache":"expires","expiration":1700000000,"operation_independent":true}}"#
        );
        assert_eq!(cargo_error("url-not-supported", None), r#"{"Err":{"kind":"url-not-supported"}}"#);
        for bad in ["nope", r#"{"v":2,"kind":"get","registry":{"index-url":"x"}}"#, r#"{"v":1,"kind":"get"}"#] {
            assert_eq!(CargoRequest::parse(bad).unwrap_err().code, "invalid_helper_request");
        }
    }
}
