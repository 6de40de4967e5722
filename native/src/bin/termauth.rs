//! `termauth`: log in to an OAuth 2.0 / OpenID Connect server from the terminal, keep the
//! token fresh, print it for scripts. Run `termauth help`.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use termauth::store::{StorePreference, app_config_dir, write_atomic};
use termauth::{Client, Config, Error, Hint, LoginMethod, Presentation, Secret, SecretMethod};
use termauth_core::environment::env_name;
use termauth_core::texts;

const HELP: &str = "termauth — log in to an OAuth 2.0 / OpenID Connect server from the terminal

USAGE
  termauth <command> [options]

COMMANDS
  login      Log in and store the credential (keyring first, else a 0600 file)
  status     Show which token would be used, from where, and its state
  token      Print a valid access token, refreshing it if needed: $(termauth token)
  refresh    Renew the stored token now
  logout     Revoke the tokens at the server (refresh token first), then delete them here
  profiles   List the stored profiles; `termauth profiles use NAME` makes NAME active
  help       This text

LOGIN METHODS (default: chosen from the environment — CI: client credentials;
SSH or no display: device flow; desktop: browser)
  --device              OAuth device flow (RFC 8628): a code to enter on any device
  --browser             Browser login with a loopback redirect and PKCE (RFC 8252)
  --paste               Browser on another machine: paste the address it ends on
  --client-credentials  Machine login; the secret comes from TERMAUTH_CLIENT_SECRET
                        (or <APP>_CLIENT_SECRET), or stdin with --client-secret-stdin
  --password            Legacy password grant (explicit opt-in); --username NAME,
                        password from TERMAUTH_PASSWORD or stdin
  --with-token          Store an API key / personal access token read from stdin

OPTIONS
  --issuer URL          Issuer (env TERMAUTH_ISSUER; remembered after a login)
  --client-id ID        Client ID (env TERMAUTH_CLIENT_ID; remembered)
  --scope 'A B'         Scope to request (env TERMAUTH_SCOPE; remembered)
  --profile NAME        Profile (account) to use (env TERMAUTH_PROFILE)
  --app NAME            Config directory and keyring name (default: termauth)
  --port N              Fixed loopback port for --browser (e.g. with ssh -L)
  --header NAME         With --with-token: send it in this header, not Authorization: Bearer
  --prefix TEXT         With --header: text before the token (include any space)
  --store MODE          auto (default), keyring, or file
  --client-auth M       basic (default) or post, for confidential clients
  --client-secret-stdin Read the client secret from stdin
  --resource URI        RFC 8707 resource indicator (repeatable)
  --insecure-http       Allow http:// endpoints on non-loopback hosts (testing only)
  --json                Machine-readable output (login, status, logout, profiles)

Secrets are never taken from the command line (other users can read it with ps).

EXIT CODES
  0 ok   2 usage error   3 login required   4 try again later
  5 configuration problem   6 other failure   130 cancelled
";

struct Args {
    command: String,
    method: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    profile: Option<String>,
    app: String,
    port: Option<u16>,
    username: Option<String>,
    header: Option<String>,
    prefix: String,
    store: StorePreference,
    client_auth: SecretMethod,
    client_secret_stdin: bool,
    resource: Vec<String>,
    insecure_http: bool,
    json: bool,
    rest: Vec<String>,
}

fn usage(message: String) -> Error {
    Error::usage("cli_usage", format!("{message} (see `termauth help`)"))
}

fn parse(argv: Vec<String>) -> Result<Args, Error> {
    let mut a = Args {
        command: String::new(),
        method: None,
        issuer: None,
        client_id: None,
        scope: None,
        profile: None,
        app: std::env::var("TERMAUTH_APP").unwrap_or_else(|_| "termauth".into()),
        port: None,
        username: None,
        header: None,
        prefix: String::new(),
        store: StorePreference::Auto,
        client_auth: SecretMethod::Basic,
        client_secret_stdin: false,
        resource: Vec::new(),
        insecure_http: false,
        json: false,
        rest: Vec::new(),
    };
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, Error> {
            inline.clone().or_else(|| it.next()).ok_or_else(|| usage(format!("{flag} needs a value")))
        };
        match name.as_str() {
            "--with-token" | "--password" if inline.is_some() => return Err(secret_on_argv(&name)),
            "--device"
            | "--browser"
            | "--paste"
            | "--client-credentials"
            | "--client-secret-stdin"
            | "--insecure-http"
            | "--json"
            | "-h"
            | "--help"
                if inline.is_some() =>
            {
                return Err(usage(format!("{name} takes no value")));
            }
            "--device" | "--browser" | "--paste" | "--client-credentials" | "--password" | "--with-token" => {
                if let Some(m) = &a.method {
                    return Err(usage(format!("choose one login method, not both --{m} and {name}")));
                }
                a.method = Some(name.trim_start_matches("--").to_string());
            }
            "--issuer" => a.issuer = Some(value("--issuer")?),
            "--client-id" => a.client_id = Some(value("--client-id")?),
            "--scope" => a.scope = Some(value("--scope")?),
            "--profile" => a.profile = Some(value("--profile")?),
            "--app" => a.app = value("--app")?,
            "--port" => {
                let v = value("--port")?;
                a.port =
                    Some(v.parse().map_err(|_| usage(format!("--port needs a number from 1 to 65535, not `{}`", quoted(&v))))?);
            }
            "--username" => a.username = Some(value("--username")?),
            "--header" => a.header = Some(value("--header")?),
            "--prefix" => a.prefix = value("--prefix")?,
            "--store" => {
                a.store = match value("--store")?.as_str() {
                    "auto" => StorePreference::Auto,
                    "keyring" => StorePreference::Keyring,
                    "file" => StorePreference::File,
                    other => return Err(usage(format!("--store is auto, keyring or file, not `{}`", quoted(other)))),
                }
            }
            "--client-auth" => {
                a.client_auth = match value("--client-auth")?.as_str() {
                    "basic" => SecretMethod::Basic,
                    "post" => SecretMethod::Post,
                    other => return Err(usage(format!("--client-auth is basic or post, not `{}`", quoted(other)))),
                }
            }
            "--client-secret" => return Err(secret_on_argv("--client-secret")),
            "--client-secret-stdin" => a.client_secret_stdin = true,
            "--resource" => a.resource.push(value("--resource")?),
            "--insecure-http" => a.insecure_http = true,
            "--json" => a.json = true,
            "-h" | "--help" => a.command = "help".into(),
            s if s.starts_with('-') => return Err(usage(format!("unknown option `{}`", quoted(s)))),
            _ if a.command.is_empty() => a.command = arg,
            _ => a.rest.push(arg),
        }
    }
    if a.command.is_empty() {
        a.command = "help".into();
    }
    // `login --with-token VALUE` / `--password VALUE` (or `--with-token VALUE login`): the
    // value is a stray argument, and a secret. Only `profiles use NAME` takes arguments, and
    // a stray one is never quoted (it may be a secret).
    let takes = if a.command == "profiles" && a.rest.first().map(String::as_str) == Some("use") { 2 } else { 0 };
    let secret_flag = matches!(a.method.as_deref(), Some("with-token" | "password"));
    if secret_flag && (a.rest.len() > takes || !COMMANDS.contains(&a.command.as_str())) {
        return Err(secret_on_argv(&format!("--{}", a.method.as_deref().unwrap_or_default())));
    }
    if a.rest.len() > takes {
        return Err(usage(format!("`{}` takes no other arguments; the extra one was not used", quoted(&a.command))));
    }
    termauth_core::store::check_app(&a.app)?;
    Ok(a)
}

/// The commands (`run`'s arms).
const COMMANDS: [&str; 7] = ["help", "login", "status", "token", "refresh", "logout", "profiles"];

/// A command-line value as an error may quote it: controls and invisible characters made
/// visible, cut short.
fn quoted(value: &str) -> String {
    let shown = texts::shown(value);
    if shown.chars().count() > 60 { format!("{}…", shown.chars().take(60).collect::<String>()) } else { shown }
}

/// A secret-bearing flag given a value on the command line (exit 2), with where the secret
/// comes from instead.
fn secret_on_argv(flag: &str) -> Error {
    let instead = match flag {
        "--with-token" => "the token is read from standard input (`… | termauth login --with-token`)",
        "--password" => "the password comes from TERMAUTH_PASSWORD or standard input",
        _ => "the client secret comes from TERMAUTH_CLIENT_SECRET (or <APP>_CLIENT_SECRET) or --client-secret-stdin",
    };
    Error::usage("secret_on_command_line", texts::secret_on_command_line(flag, instead))
}

/// Removes the temporary files of `name` in `dir` (`termauth_core::store::is_temporary_of`)
/// that are over a minute old: left by a CLI killed while it wrote (a live writer renames
/// its file within milliseconds). `config.json` is written without a lock, so age tells a
/// leftover from another process's write in progress.
fn remove_old_temporaries(dir: &std::path::Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let old = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
        let leftover = entry.file_name().to_str().is_some_and(|n| termauth_core::store::is_temporary_of(n, name));
        if leftover && old.is_some_and(|age| age.as_secs() >= 60) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Login defaults remembered in `<config dir>/config.json` (no secrets).
fn remembered(app: &str) -> serde_json::Value {
    app_config_dir(app)
        .ok()
        .and_then(|d| std::fs::read_to_string(d.join("config.json")).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn pick(flag: &Option<String>, env: &str, saved: &serde_json::Value, key: &str) -> Option<String> {
    flag.clone().or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty())).or_else(|| saved[key].as_str().map(str::to_string))
}

fn read_stdin_secret(what: &str) -> Result<Secret, Error> {
    if std::io::stdin().is_terminal() {
        eprintln!("Paste the {what} and press Enter, then Ctrl-D:");
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::usage("stdin", format!("Could not read the {what} from standard input: {e}")))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::usage("stdin", format!("No {what} on standard input.")));
    }
    Ok(Secret::new(text))
}

fn config_from(a: &Args) -> Result<Config, Error> {
    let saved = remembered(&a.app);
    let issuer = pick(&a.issuer, "TERMAUTH_ISSUER", &saved, "issuer")
        .ok_or_else(|| usage("no issuer: pass --issuer URL (it is remembered after the first login)".into()))?;
    let client_id = pick(&a.client_id, "TERMAUTH_CLIENT_ID", &saved, "client_id")
        .ok_or_else(|| usage("no client ID: pass --client-id ID (it is remembered after the first login)".into()))?;
    let mut c = Config::new(a.app.clone(), issuer, client_id);
    c.scope = pick(&a.scope, "TERMAUTH_SCOPE", &saved, "scope");
    c.profile = a.profile.clone().or_else(|| std::env::var("TERMAUTH_PROFILE").ok().filter(|v| !v.is_empty()));
    c.store = a.store;
    c.secret_method = a.client_auth;
    c.redirect_port = a.port.unwrap_or(0);
    c.resource = a.resource.clone();
    c.allow_insecure_http = a.insecure_http;
    c.enable_password_grant = a.method.as_deref() == Some("password");
    if a.client_secret_stdin {
        c.client_secret = Some(read_stdin_secret("client secret")?);
    }
    Ok(c)
}

/// The configuration for commands that need a previous login: with no issuer or client
/// anywhere, nobody ever logged in here, which is "login required" (exit 3), not a usage error.
fn configured(a: &Args) -> Result<Config, Error> {
    config_from(a).map_err(|e| {
        if e.code == "cli_usage" && (e.message.starts_with("no issuer") || e.message.starts_with("no client ID")) {
            Error::storage(
                "not_logged_in",
                "Not logged in: no issuer is configured. Run `termauth login --issuer URL --client-id ID` first.",
                Hint::Reauthenticate,
            )
        } else {
            e
        }
    })
}

/// `<APP>_TOKEN`, when set: it wins, and needs no configuration at all.
fn env_token(app: &str) -> Option<String> {
    std::env::var(env_name(app, "TOKEN")).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

fn run(a: Args) -> Result<(), Error> {
    match a.command.as_str() {
        "help" => {
            print!("{HELP}");
            Ok(())
        }
        "login" => {
            let config = config_from(&a)?;
            let remember = serde_json::json!({
                "schema_version": 1, "issuer": config.issuer, "client_id": config.client_id, "scope": config.scope,
            });
            let method = match a.method.as_deref() {
                None => LoginMethod::Auto,
                Some("device") => LoginMethod::Device,
                Some("browser") => LoginMethod::Browser,
                Some("paste") => LoginMethod::Paste,
                Some("client-credentials") => LoginMethod::ClientCredentials,
                Some("password") => {
                    let username = a.username.clone().ok_or_else(|| usage("--password needs --username NAME".into()))?;
                    let password = match std::env::var("TERMAUTH_PASSWORD") {
                        Ok(p) if !p.is_empty() => Secret::new(p),
                        _ => read_stdin_secret("password")?,
                    };
                    LoginMethod::Password { username, password }
                }
                Some("with-token") => {
                    let presentation = match &a.header {
                        Some(name) => Presentation::Header { name: name.clone(), prefix: a.prefix.clone() },
                        None => Presentation::Bearer,
                    };
                    LoginMethod::Token { token: read_stdin_secret("token")?, presentation }
                }
                Some(other) => return Err(usage(format!("unknown login method {other}"))),
            };
            let mut client = Client::new(config)?;
            let report = client.login(method)?;
            if let Ok(dir) = app_config_dir(&a.app) {
                remove_old_temporaries(&dir, "config.json");
                let _ = write_atomic(
                    &dir.join("config.json"),
                    serde_json::to_string_pretty(&remember).unwrap_or_default().as_bytes(),
                );
            }
            if a.json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                eprintln!("{}", report.text);
            }
            Ok(())
        }
        "token" => {
            // `<APP>_TOKEN` wins, and needs no configuration at all.
            if let Some(token) = env_token(&a.app) {
                termauth_core::environment::check_app_token(&a.app, &token)?;
                println!("{token}");
                return Ok(());
            }
            let mut client = Client::new(configured(&a)?)?;
            let token = client.get_token()?;
            println!("{}", token.expose());
            Ok(())
        }
        "refresh" => {
            let mut client = Client::new(configured(&a)?)?;
            let report = client.refresh()?;
            eprintln!("{}", report.text.unwrap_or_default());
            Ok(())
        }
        "status" => {
            if env_token(&a.app).is_some() && config_from(&a).is_err() {
                let var = env_name(&a.app, "TOKEN");
                if a.json {
                    println!("{}", serde_json::json!({"source": "env", "env_var": var}));
                } else {
                    println!("{}", texts::status_env_only(&var));
                }
                return Ok(());
            }
            let mut client = Client::new(configured(&a)?)?;
            let s = client.status()?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
            } else {
                for line in &s.lines {
                    println!("{line}");
                }
            }
            match (&s.error, s.source.as_str()) {
                (Some(e), _) => Err(e.clone()),
                (None, "none") => Err(Error::storage("not_logged_in", "Not logged in.", Hint::Reauthenticate)),
                _ => Ok(()),
            }
        }
        "logout" => {
            let mut client = Client::new(configured(&a)?)?;
            let r = client.logout()?;
            if a.json {
                println!("{}", serde_json::to_string(&r).unwrap_or_default());
            } else {
                eprintln!("{}", r.text);
            }
            Ok(())
        }
        "profiles" => {
            let mut client = Client::new(config_from(&a)?)?;
            if a.rest.first().map(String::as_str) == Some("use") {
                let name = a.rest.get(1).ok_or_else(|| usage("`profiles use` needs a profile name".into()))?;
                client.use_profile(name)?;
                eprintln!("Active profile: {name}");
                return Ok(());
            }
            let list = client.profiles()?;
            if a.json {
                println!("{}", serde_json::to_string(&list).unwrap_or_default());
            } else if list.is_empty() {
                eprintln!("No stored profiles for this issuer and client.");
            } else {
                for p in list {
                    println!("{} {}", if p.active { "*" } else { " " }, p.name);
                }
            }
            Ok(())
        }
        other => Err(usage(format!("unknown command `{}`", quoted(other)))),
    }
}

fn exit_code(e: &Error) -> u8 {
    if e.code == "cli_usage" { 2 } else { e.exit_code() }
}

fn main() -> ExitCode {
    termauth::driver::install_ctrlc_handler();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // A command line that cannot be used is exit 2, whatever the reason.
    let result = match parse(argv) {
        Ok(args) => run(args).map_err(|e| (exit_code(&e), e)),
        Err(e) => Err((2, e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            eprintln!("{}", e.line("termauth"));
            ExitCode::from(code)
        }
    }
}
