//! Measurements, not assertions (timings depend on the machine). Run:
//!
//! ```sh
//! cargo build -p termauth && cargo build --release -p termauth   # release is optional
//! cargo test -p termauth --test measure -- --ignored --nocapture --test-threads=1
//! ```

mod common;

use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use termauth::LoginMethod;

const RUNS: usize = 7;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
#[ignore = "measurement: --ignored --nocapture"]
fn measure_device_approval_to_token() {
    if rerun_without_browser("measure_device_approval_to_token") {
        return;
    }
    let idp = Idp::shared();
    let (mut shown, mut approved) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let (mut client, h) = client_with_approver(
            config(&idp.issuer, dir.path(), CLI_CLIENT, Some("openid offline_access")),
            Some("approve"),
            Browser::Follow("approve"),
        );
        client.login(LoginMethod::Device).unwrap();
        let done = Instant::now();
        h.join();
        let e = h.events.lock().unwrap();
        shown.push(done - e.shown_at.unwrap());
        approved.push(done - e.approved_at.unwrap());
    }
    eprintln!(
        "device flow (IdP interval 1 s, approval ~immediately after the code is shown), {RUNS} runs:\n  code shown -> token stored: median {:.0} ms {:?}\n  approval done -> token stored: median {:.0} ms {:?}",
        median_ms(shown.clone()),
        shown.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
        median_ms(approved.clone()),
        approved.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
    );
}

#[test]
#[ignore = "measurement: --ignored --nocapture"]
fn measure_loopback_redirect_to_token() {
    if rerun_without_browser("measure_loopback_redirect_to_token") {
        return;
    }
    let idp = Idp::shared();
    let (mut redirect, mut page, mut total) = (Vec::new(), Vec::new(), Vec::new());
    fn same(url: &str) -> String {
        url.to_string()
    }
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let (mut client, h) = client_with_approver(
            config(&idp.issuer, dir.path(), CLI_CLIENT, Some("openid offline_access")),
            None,
            Browser::Tamper(same),
        );
        let started = Instant::now();
        client.login(LoginMethod::Browser).unwrap();
        let done = Instant::now();
        h.join();
        let e = h.events.lock().unwrap();
        redirect.push(done - e.redirect_sent_at.unwrap());
        page.push(e.callback_answered_at.unwrap() - e.redirect_sent_at.unwrap());
        total.push(done - started);
    }
    eprintln!(
        "browser flow, {RUNS} runs:\n  redirect sent to the listener -> token stored: median {:.1} ms {:?}\n  redirect sent -> listener's page received: median {:.1} ms {:?}\n  login() total incl. discovery and the headless approver: median {:.0} ms",
        median_ms(redirect.clone()),
        redirect.iter().map(|d| (ms(*d) * 10.0).round() / 10.0).collect::<Vec<_>>(),
        median_ms(page.clone()),
        page.iter().map(|d| (ms(*d) * 10.0).round() / 10.0).collect::<Vec<_>>(),
        median_ms(total),
    );
}

#[test]
#[ignore = "measurement: --ignored --nocapture"]
fn measure_cold_token_wall_time() {
    let idp = Idp::shared();
    let dir = tempfile::tempdir().unwrap();
    let c = cli_password_login(dir.path(), &idp.issuer, "termauth-password", &["--scope", "openid offline_access"]);
    run(c, None, Duration::from_secs(20)).ok();
    let debug = PathBuf::from(BIN);
    let release = PathBuf::from(BIN.replace("/debug/", "/release/"));
    for (label, bin) in [("debug", debug), ("release", release)] {
        if !bin.exists() {
            eprintln!("{label}: {} not built (cargo build --release -p termauth)", bin.display());
            continue;
        }
        let mut times = Vec::new();
        for _ in 0..20 {
            let c = cli(dir.path());
            let mut cmd = std::process::Command::new(&bin);
            for (k, v) in c.get_envs() {
                match v {
                    Some(v) => cmd.env(k, v),
                    None => cmd.env_remove(k),
                };
            }
            cmd.arg("token").stdin(std::process::Stdio::null());
            let started = Instant::now();
            let out = cmd.output().unwrap(); // exact wall time: no polling
            times.push(started.elapsed());
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let mut sorted = times.clone();
        sorted.sort();
        eprintln!(
            "cold `termauth token` with a cached credential ({label}, 20 runs): median {:.2} ms, min {:.2} ms, max {:.2} ms",
            median_ms(times),
            ms(sorted[0]),
            ms(sorted[19])
        );
    }
}
