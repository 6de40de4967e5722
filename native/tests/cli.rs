//! The `termauth` command line (issue 13, item 6): `--version`, each command's own help,
//! completion scripts that a real shell loads, the man page, suggestions for typos, and
//! command-line errors that never echo what may be a secret or a terminal control.

mod common;

use common::{cli, run};
use std::process::Command;
use std::time::Duration;

fn termauth(args: &[&str]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cli(dir.path());
    c.args(args);
    run(c, None, Duration::from_secs(10))
}

#[test]
fn version_and_help_per_command() {
    let v = termauth(&["--version"]);
    assert_eq!(v.ok(), format!("termauth {}", env!("CARGO_PKG_VERSION")));
    let top = termauth(&["--help"]).ok();
    assert!(top.contains("EXIT CODES") && top.contains("completion"), "{top}");
    assert_eq!(termauth(&["help"]).ok(), top, "`termauth help` is `termauth --help`");
    assert_eq!(termauth(&[]).ok(), top, "no command: the help, exit 0");
    let login = termauth(&["login", "--help"]).ok();
    assert!(login.starts_with("Log in and store the credential"), "{login}");
    assert!(login.contains("--device") && login.contains("--with-token") && login.contains("--issuer"), "{login}");
    assert_eq!(termauth(&["help", "login"]).ok(), login);
    let status = termauth(&["status", "--help"]).ok();
    assert!(status.starts_with("Show which token") && !status.contains("--device"), "{status}");
}

#[test]
fn suggestions_for_typos() {
    for (args, suggestion) in
        [(&["stauts"][..], "did you mean `status`?"), (&["login", "--stroe", "file"], "did you mean `--store`?")]
    {
        let r = termauth(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(suggestion) && r.stderr.contains("[cli_usage]"), "{args:?}: {}", r.stderr);
    }
    let r = termauth(&["login", "--store", "nope"]);
    assert!(r.stderr.contains("--store is auto, keyring or file, not `nope` (see `termauth login --help`)"), "{}", r.stderr);
}

/// clap's own messages quote what was typed: termauth's never quote a stray argument (a
/// token pasted in the wrong place) and show a quoted option's controls as visible text.
#[test]
fn command_line_errors_show_no_secret_and_no_control() {
    // A stray argument (a token pasted in the wrong place) is never quoted.
    // A token pasted as the first word is an unknown command: not repeated either.
    let pat = "hunter2_0123456789abcdefghijABCDEFGHIJ0123";
    let r = termauth(&[pat]);
    assert!(r.code == 2 && r.stderr.contains("unknown command (not shown") && !r.stderr.contains("hunter2"), "{r:?}");
    for args in [&["login", "--device", "hunter2-secret"][..], &["status", "hunter2-secret"], &["token", "a", "hunter2-secret"]] {
        let r = termauth(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains("[cli_usage]") && r.stderr.contains("not shown"), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("hunter2") && r.stdout.is_empty(), "{args:?} echoed the stray argument: {}", r.stderr);
    }
    // What names the mistake (an unknown command or option, a bad value) is quoted, its
    // terminal controls made visible.
    for args in [
        &["\u{1b}[2Jfrob"][..],
        &["token", "--\u{1b}]0;title\u{7}"],
        &["login", "--store", "\u{1b}[31mred"],
        &["completion", "\u{9b}2J"],
    ] {
        let r = termauth(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains("[cli_usage]"), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.chars().any(|c| c.is_control() && c != '\n'), "{args:?}: {:?}", r.stderr);
    }
}

#[test]
fn completion_scripts_load_in_their_shells() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = termauth(&["completion", shell]).ok();
        assert!(script.contains("termauth") && script.contains("login"), "{shell}: {script}");
    }
    // bash, the one shell here: the script completes the commands and a command's options.
    let script = termauth(&["completion", "bash"]).ok();
    let complete = |words: &str, cword: usize| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("termauth.bash");
        std::fs::write(&file, &script).unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _termauth termauth \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\"",
                file.display()
            ))
            .output()
            .expect("bash");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let commands = complete("termauth lo", 1);
    assert_eq!(commands, "login logout", "commands");
    let options = complete("termauth login --dev", 2);
    assert_eq!(options, "--device", "login options");
}

#[test]
fn man_page() {
    let page = termauth(&["man"]).ok();
    assert!(page.contains(".TH termauth 1"), "{page}");
    for word in ["login", "status", "token", "logout", "completion", "EXIT CODES"] {
        assert!(page.contains(word), "the man page names {word}");
    }
}
