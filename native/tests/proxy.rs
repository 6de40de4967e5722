//! Proxies, end to end: the `termauth` CLI logs in through a real forward proxy
//! (tests/idp/proxy.js) to an IdP whose issuer names a host only that proxy resolves
//! (`IDP_ISSUER_HOST`), so a login that succeeds went through the proxy. The npm package
//! runs the same cases (bindings-wasm/npm/test/proxy.test.mjs).

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HOST: &str = "idp.termauth.test";
const BASIC_ID: &str = "termauth-ci-basic";
const BASIC_SECRET: &str = "s3cr3t:with/special+chars";

/// The proxy fixture as a child process; killed on drop.
struct Proxy {
    child: Child,
    url: String,
    socks: String,
}

impl Proxy {
    fn start() -> Proxy {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/idp/proxy.js");
        let mut child = Command::new("node")
            .args([script, "--map", &format!("{HOST}=127.0.0.1")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node tests/idp/proxy.js");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("proxy ready line");
        let ready: Value = serde_json::from_str(line.trim()).expect("proxy ready JSON");
        Proxy { child, url: ready["proxy"].as_str().unwrap().to_string(), socks: ready["socks"].as_str().unwrap().to_string() }
    }

    /// The targets it carried so far (`host:port` for CONNECT and SOCKS5, the URL otherwise).
    fn carried(&self) -> Vec<String> {
        let (status, log) = get(&format!("{}/__proxy/log", self.url));
        assert_eq!(status, 200);
        log.as_array().unwrap().iter().map(|e| e["target"].as_str().unwrap().to_string()).collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login(dir: &std::path::Path, issuer: &str, env: &[(&str, &str)]) -> Run {
    let mut c = cli(dir);
    c.env("TERMAUTH_CLIENT_SECRET", BASIC_SECRET).args([
        "login",
        "--client-credentials",
        "--insecure-http", // the issuer is plain http on a non-loopback name
        "--issuer",
        issuer,
        "--client-id",
        BASIC_ID,
        "--scope",
        "api:read",
    ]);
    for (k, v) in env {
        c.env(k, v);
    }
    run(c, None, Duration::from_secs(30))
}

#[test]
fn proxies_from_the_environment() {
    let idp = Idp::start_with(&[("IDP_ISSUER_HOST", HOST)]);
    assert!(idp.issuer.starts_with(&format!("http://{HOST}:")), "{}", idp.issuer);
    let proxy = Proxy::start();

    // Any proxy variable applies to every URL (termauth_core::proxy, shared with the npm
    // package); an HTTP proxy and a SOCKS5 one.
    for (variable, url) in [("HTTPS_PROXY", &proxy.url), ("http_proxy", &proxy.url), ("ALL_PROXY", &proxy.socks)] {
        let dir = tempfile::tempdir().unwrap();
        let before = proxy.carried().len();
        login(dir.path(), &idp.issuer, &[(variable, url)]).ok();
        let carried = proxy.carried()[before..].to_vec();
        assert!(!carried.is_empty() && carried.iter().all(|t| t.contains(HOST)), "{variable}: {carried:?}");
        let mut t = cli(dir.path());
        t.arg("token");
        assert!(!run(t, None, Duration::from_secs(20)).ok().is_empty());
    }

    // NO_PROXY naming the domain: direct, and the name does not resolve.
    let dir = tempfile::tempdir().unwrap();
    let before = proxy.carried().len();
    let r = login(dir.path(), &idp.issuer, &[("HTTPS_PROXY", &proxy.url), ("NO_PROXY", ".termauth.test")]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains(": the name does not resolve. Check the URL and the network ("), "{}", r.stderr);
    assert_eq!(proxy.carried().len(), before, "nothing went through the proxy");

    // A proxy scheme termauth cannot use: refused, naming the variable, not its password.
    let dir = tempfile::tempdir().unwrap();
    let r = login(dir.path(), &idp.issuer, &[("ALL_PROXY", "ftp://user:hunter2@127.0.0.1:21")]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("ALL_PROXY names a proxy with the scheme `ftp`"), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
}
