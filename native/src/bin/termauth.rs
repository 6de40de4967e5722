//! `termauth`: log in to an OAuth 2.0 / OpenID Connect server from the terminal, keep the
//! token fresh, print it for scripts. Run `termauth help`.

use clap::{ArgGroup, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use termauth::store::{StorePreference, app_config_dir, write_atomic};
use termauth::{Client, Config, Error, Hint, LoginMethod, Presentation, Secret, SecretMethod};
use termauth_core::environment::env_name;
use termauth_core::texts;

/// After the options in `termauth --help` (and the man page).
const AFTER_HELP: &str = "LOGIN METHODS (default: chosen from the environment — CI: client credentials;
SSH or no display: device flow; desktop: browser): see `termauth login --help`.

Secrets are never taken from the command line (other users can read it with ps).

EXIT CODES
  0 ok   2 usage error   3 login required   4 try again later
  5 configuration problem   6 other failure   130 cancelled";

/// `termauth`'s command line, for clap: the parser, `--help`, completions and the man page.
#[derive(Parser)]
#[command(
    name = "termauth",
    version,
    about = "Log in to an OAuth 2.0 / OpenID Connect server from the terminal, keep the token fresh, print it for scripts",
    after_help = AFTER_HELP,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    common: Common,
    /// How cargo runs a credential provider: the protocol on stdin/stdout, each request
    /// carrying the configured arguments (`cargo-credential --for HOST …`).
    #[arg(long, hide = true)]
    cargo_plugin: bool,
}

/// The options every command takes (before or after its name).
#[derive(clap::Args)]
#[command(next_help_heading = "Options of every command")]
struct Common {
    /// Issuer (env TERMAUTH_ISSUER; remembered after a login)
    #[arg(long, global = true, value_name = "URL")]
    issuer: Option<String>,
    /// Client ID (env TERMAUTH_CLIENT_ID; remembered)
    #[arg(long, global = true, value_name = "ID")]
    client_id: Option<String>,
    /// Scope to request at login (env TERMAUTH_SCOPE; remembered per issuer and client); with
    /// `token`, the scope the token is limited to (the flag only)
    #[arg(long, global = true, value_name = "'A B'")]
    scope: Option<String>,
    /// Profile (account) to use (env TERMAUTH_PROFILE)
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    /// Config directory and keyring name
    #[arg(long, global = true, value_name = "NAME", env = "TERMAUTH_APP", hide_env_values = true, default_value = "termauth")]
    app: String,
    /// Where to store it: the keyring, else a 0600 file (auto); only one of them
    #[arg(long, global = true, value_name = "MODE", value_enum, default_value_t = Store::Auto)]
    store: Store,
    /// How a confidential client sends its secret: HTTP Basic, or in the form body
    #[arg(long, global = true, value_name = "M", value_enum, default_value_t = ClientAuth::Basic)]
    client_auth: ClientAuth,
    /// Read the client secret from stdin
    #[arg(long, global = true)]
    client_secret_stdin: bool,
    /// RFC 8707 resource indicator (repeatable)
    #[arg(long, global = true, value_name = "URI")]
    resource: Vec<String>,
    /// Allow http:// endpoints on non-loopback hosts (testing only)
    #[arg(long, global = true)]
    insecure_http: bool,
    /// Machine-readable output (login, status, logout, profiles)
    #[arg(long, global = true)]
    json: bool,
    /// Trace every HTTP exchange on stderr, tokens and secrets redacted (or TERMAUTH_DEBUG=1)
    #[arg(short, long, global = true)]
    verbose: bool,
}

/// `--store`.
#[derive(Clone, Copy, ValueEnum)]
enum Store {
    Auto,
    Keyring,
    File,
}

/// `--client-auth`: `client_secret_basic` or `client_secret_post`.
#[derive(Clone, Copy, ValueEnum)]
enum ClientAuth {
    Basic,
    Post,
}

/// `status --help`: what `--json` prints (termauth_core::session::Status, serialised).
const STATUS_JSON_FIELDS: &str = "\
JSON (--json): one object (with --all, an array of them); members without a value are left out.
  source           env (<APP>_TOKEN), store, or none
  env_var          the environment variable consulted for a token
  issuer           the issuer
  client_id        the client ID
  profile          the profile (account name)
  store            {store: keyring|file, reason}: where the credential is, and why there
  credential_kind  oauth or api_key
  grant            how the tokens were obtained: device_code, authorization_code,
                   client_credentials or password
  account          who is logged in (the ID token's email, preferred_username, name or sub)
  scope            the granted scope
  expires_at       when the access token expires (Unix milliseconds)
  refreshable      true when it can be renewed without a login (refresh token, or the
                   client secret for client credentials)
  decision         what `token` would do: use, refresh, reacquire or relogin
  error            a problem reading the store: {kind, code, message, hint, ...}
  problem          why no token can be had without a login (present: the exit status is
                   its exit code): not_logged_in, login_required, missing_client_secret,
                   or the store's error
  lines            the status as lines for a person
  token            with --show-token: the access token";

#[derive(Subcommand)]
enum Cmd {
    /// Log in and store the credential (keyring first, else a 0600 file)
    Login(LoginArgs),
    /// Show which token would be used, from where, and its state (exit 3: a login is needed)
    #[command(after_long_help = STATUS_JSON_FIELDS)]
    Status {
        /// Also print the token (renewed first if due), as `termauth token` would
        #[arg(long, conflicts_with = "all")]
        show_token: bool,
        /// Every stored credential: each issuer, client and profile (exit non-zero when one
        /// needs attention; with --json, an array)
        #[arg(long)]
        all: bool,
    },
    /// Print a valid access token, refreshing it if needed: $(termauth token). With --scope or
    /// --resource: a token limited to them, got by a refresh and not stored
    Token,
    /// Print who is logged in (from the server's ID token; exit 3 when a login is needed)
    Whoami,
    /// Renew the stored token now
    Refresh,
    /// Revoke the tokens at the server (refresh token first), then delete them here
    Logout,
    /// List the stored profiles; `termauth profiles use NAME` makes NAME active
    Profiles {
        #[command(subcommand)]
        action: Option<ProfilesCmd>,
    },
    /// Print the completion script for a shell: `termauth completion bash`
    Completion {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `termauth man > termauth.1`
    Man,
    /// Configure git to use termauth for a server's HTTPS remotes (as `gh auth setup-git`)
    SetupGit {
        /// The git server (`git.example.com`, or an https:// URL)
        #[arg(long, value_name = "HOST")]
        host: String,
        #[command(flatten)]
        helper: HelperArgs,
    },
    /// git's credential helper (git-credential(1)): `termauth setup-git` configures it
    GitCredential {
        /// What git asks: get, store or erase (only get answers)
        action: String,
        #[command(flatten)]
        helper: HelperArgs,
        /// The git server it answers for (others get nothing)
        #[arg(long = "for", value_name = "HOST")]
        server: String,
    },
    /// kubectl's exec credential plugin: prints an ExecCredential (client.authentication.k8s.io)
    KubeCredential {
        #[command(flatten)]
        helper: HelperArgs,
        /// The API server it answers for, checked against the cluster kubectl names (set
        /// `provideClusterInfo: true` in the kubeconfig's exec entry). Without it, every
        /// cluster whose context uses this kubeconfig user gets the token
        #[arg(long = "for", value_name = "HOST")]
        server: Option<String>,
    },
    /// docker's credential helper protocol (get, store, erase, list, version), for one registry
    DockerCredential {
        /// What docker asks
        action: String,
        #[command(flatten)]
        helper: HelperArgs,
        /// The registry it answers for (others: not found)
        #[arg(long = "for", value_name = "HOST")]
        server: String,
    },
    /// cargo's credential provider (protocol v1), for one registry: in .cargo/config.toml,
    /// credential-provider = ["termauth", "cargo-credential", "--for", "HOST"]
    CargoCredential {
        #[command(flatten)]
        helper: HelperArgs,
        /// The registry it answers for (others: url-not-supported)
        #[arg(long = "for", value_name = "HOST")]
        server: String,
    },
}

/// What every credential helper takes.
#[derive(clap::Args, Clone)]
struct HelperArgs {
    /// Renew a token that expires within this many seconds before handing it out
    #[arg(long, value_name = "SECONDS", default_value_t = termauth_core::helpers::DEFAULT_MIN_LIFETIME_MS / 1000)]
    min_lifetime: u64,
    /// The user name sent with the token where the tool sends one (git, docker)
    #[arg(long, value_name = "NAME", default_value = "oauth2")]
    username: String,
}

#[derive(Subcommand)]
enum ProfilesCmd {
    /// Make NAME the active profile (it must have a stored credential)
    Use {
        /// The profile
        name: String,
    },
}

/// How to log in: one method at most (none: chosen from the environment).
#[derive(clap::Args)]
#[command(group(ArgGroup::new("method").args(["device", "browser", "paste", "client_credentials", "password", "with_token"])))]
#[command(
    after_help = "Default: chosen from the environment — CI: client credentials; SSH or no display: device flow; desktop: browser."
)]
struct LoginArgs {
    /// OAuth device flow (RFC 8628): a code to enter on any device
    #[arg(long)]
    device: bool,
    /// Browser login with a loopback redirect and PKCE (RFC 8252)
    #[arg(long)]
    browser: bool,
    /// Browser on another machine: paste the address it ends on
    #[arg(long)]
    paste: bool,
    /// Machine login: secret from TERMAUTH_CLIENT_SECRET or --client-secret-stdin
    #[arg(long)]
    client_credentials: bool,
    /// Legacy password grant: --username, password from TERMAUTH_PASSWORD or stdin
    #[arg(long, requires = "username")]
    password: bool,
    /// Store an API key / personal access token read from stdin
    #[arg(long)]
    with_token: bool,
    /// Fixed loopback port for --browser (e.g. with ssh -L)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    port: Option<u16>,
    /// The user name, with --password
    #[arg(long, value_name = "NAME")]
    username: Option<String>,
    /// With --with-token: the header to send it in (not Authorization: Bearer)
    #[arg(long, value_name = "NAME", requires = "with_token")]
    header: Option<String>,
    /// With --header: text before the token (include any space)
    #[arg(long, value_name = "TEXT", requires = "header")]
    prefix: Option<String>,
}

/// What to do, as `run` reads it.
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
    verbose: bool,
    /// `profiles use NAME`: the profile.
    use_profile: Option<String>,
    /// `completion SHELL`.
    shell: Option<clap_complete::Shell>,
    /// `status --show-token`.
    show_token: bool,
    /// `status --all`.
    all: bool,
    /// A credential helper's request.
    helper: Option<Helper>,
}

/// A credential helper command: the tool's action, the server it is pinned to, its options.
struct Helper {
    action: String,
    server: String,
    args: HelperArgs,
}

fn usage(message: String) -> Error {
    Error::usage("cli_usage", format!("{message} (see `termauth help`)"))
}

/// The flags that must never be given a value on the command line.
const SECRET_FLAGS: [&str; 3] = ["--with-token", "--password", "--client-secret"];

fn parse(argv: Vec<String>) -> Result<Args, Error> {
    // A secret given to a flag (`--with-token=…`), or a --client-secret at all, is refused
    // before anything else reads the command line.
    for arg in &argv {
        let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
        if SECRET_FLAGS.contains(&name) && (arg.contains('=') || name == "--client-secret") {
            return Err(secret_on_argv(name));
        }
    }
    let cli = Cli::try_parse_from(std::iter::once("termauth".to_string()).chain(argv.iter().cloned()))
        .map_err(|e| command_line_error(&e, &argv))?;
    let c = cli.common;
    let mut a = Args {
        command: String::new(),
        method: None,
        issuer: c.issuer,
        client_id: c.client_id,
        scope: c.scope,
        profile: c.profile,
        app: c.app,
        port: None,
        username: None,
        header: None,
        prefix: String::new(),
        store: match c.store {
            Store::Auto => StorePreference::Auto,
            Store::Keyring => StorePreference::Keyring,
            Store::File => StorePreference::File,
        },
        client_auth: match c.client_auth {
            ClientAuth::Basic => SecretMethod::Basic,
            ClientAuth::Post => SecretMethod::Post,
        },
        client_secret_stdin: c.client_secret_stdin,
        resource: c.resource,
        insecure_http: c.insecure_http,
        json: c.json,
        verbose: c.verbose,
        use_profile: None,
        shell: None,
        show_token: false,
        all: false,
        helper: None,
    };
    a.command = match cli.command {
        None if cli.cargo_plugin => "cargo-plugin".into(),
        None => "help".into(),
        Some(Cmd::Login(l)) => {
            a.method = [
                (l.device, "device"),
                (l.browser, "browser"),
                (l.paste, "paste"),
                (l.client_credentials, "client-credentials"),
                (l.password, "password"),
                (l.with_token, "with-token"),
            ]
            .iter()
            .find(|(on, _)| *on)
            .map(|(_, name)| name.to_string());
            a.port = l.port;
            a.username = l.username;
            a.header = l.header;
            a.prefix = l.prefix.unwrap_or_default();
            "login".into()
        }
        Some(Cmd::Status { show_token, all }) => {
            a.show_token = show_token;
            a.all = all;
            "status".into()
        }
        Some(Cmd::Token) => "token".into(),
        Some(Cmd::Whoami) => "whoami".into(),
        Some(Cmd::Refresh) => "refresh".into(),
        Some(Cmd::Logout) => "logout".into(),
        Some(Cmd::Profiles { action }) => {
            a.use_profile = action.map(|ProfilesCmd::Use { name }| name);
            "profiles".into()
        }
        Some(Cmd::Completion { shell }) => {
            a.shell = Some(shell);
            "completion".into()
        }
        Some(Cmd::Man) => "man".into(),
        Some(Cmd::SetupGit { host, helper }) => {
            a.helper = Some(Helper { action: String::new(), server: host, args: helper });
            "setup-git".into()
        }
        Some(Cmd::GitCredential { action, helper, server }) => {
            a.helper = Some(Helper { action, server, args: helper });
            "git-credential".into()
        }
        Some(Cmd::KubeCredential { helper, server }) => {
            a.helper = Some(Helper { action: String::new(), server: server.unwrap_or_default(), args: helper });
            "kube-credential".into()
        }
        Some(Cmd::DockerCredential { action, helper, server }) => {
            a.helper = Some(Helper { action, server, args: helper });
            "docker-credential".into()
        }
        Some(Cmd::CargoCredential { helper, server }) => {
            a.helper = Some(Helper { action: String::new(), server, args: helper });
            "cargo-credential".into()
        }
    };
    termauth_core::store::check_app(&a.app)?;
    Ok(a)
}

/// A command line clap refused, as termauth's error (exit 2), or help and version (exit 0,
/// code `cli_help`). clap's own message quotes what was typed, and what was typed may be a
/// secret or hold terminal controls: the message is made here from the parts clap names,
/// a stray argument is never quoted, and a quoted option is made visible and cut short.
fn command_line_error(e: &clap::Error, argv: &[String]) -> Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return Error::usage("cli_help", e.render().to_string());
    }
    let first = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    let all = |kind| match e.get(kind) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let arg = first(ContextKind::InvalidArg).unwrap_or_default();
    let option = arg.split(' ').next().unwrap_or_default().trim_end_matches('=').to_string();
    // `login --with-token SECRET`, `--password SECRET login`, `token --with-token SECRET`:
    // the word after a secret flag was meant as its value.
    if let Some(flag) = argv.iter().find(|a| SECRET_FLAGS.contains(&a.as_str()))
        && matches!(e.kind(), ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand)
        && (!arg.starts_with('-') || arg == *flag)
    {
        return secret_on_argv(flag);
    }
    let value = first(ContextKind::InvalidValue).map(|v| quoted(&v)).unwrap_or_default();
    let message = match e.kind() {
        ErrorKind::UnknownArgument if arg.starts_with('-') => format!("unknown option `{}`", quoted(&arg)),
        ErrorKind::UnknownArgument => {
            "an extra argument was given and not used (it is not shown: it may be a secret)".to_string()
        }
        ErrorKind::InvalidSubcommand => {
            // Quoted only when it looks like a command name: a token pasted as the first word
            // (`termauth ghp_…`) is not repeated.
            let word = first(ContextKind::InvalidSubcommand).unwrap_or_default();
            if word.len() <= 20 && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                format!("unknown command `{word}`")
            } else {
                "unknown command (not shown: it may be a secret)".to_string()
            }
        }
        ErrorKind::InvalidValue if arg.is_empty() => "a value is missing".to_string(),
        ErrorKind::InvalidValue => {
            let valid = all(ContextKind::ValidValue);
            if valid.is_empty() {
                format!("{option} needs a value")
            } else {
                format!("{option} is {}, not `{value}`", one_of(&valid))
            }
        }
        ErrorKind::ValueValidation if option == "--port" => format!("--port needs a number from 1 to 65535, not `{value}`"),
        ErrorKind::ValueValidation => format!("{option} cannot be `{value}`"),
        ErrorKind::ArgumentConflict => {
            let prior = first(ContextKind::PriorArg).unwrap_or_default();
            format!("choose one, not both {prior} and {option}")
        }
        ErrorKind::MissingRequiredArgument => format!("{} is needed here", all(ContextKind::InvalidArg).join(" and ")),
        ErrorKind::TooManyValues | ErrorKind::NoEquals if argv.iter().any(|a| a.starts_with(&format!("{option}="))) => {
            format!("{option} takes no value")
        }
        ErrorKind::TooManyValues => format!("{option} takes one value"),
        ErrorKind::InvalidUtf8 => "the command line is not valid UTF-8".to_string(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "a command is missing".to_string(),
        _ => "the command line could not be read".to_string(),
    };
    let suggestion = first(ContextKind::SuggestedSubcommand)
        .or_else(|| first(ContextKind::SuggestedArg))
        .or_else(|| first(ContextKind::SuggestedValue))
        .map(|s| format!("; did you mean `{}`?", quoted(&s)))
        .unwrap_or_default();
    let command = argv.iter().find(|a| Cli::command().find_subcommand(a.as_str()).is_some());
    let help = command.map_or("termauth --help".to_string(), |c| format!("termauth {c} --help"));
    Error::usage("cli_usage", format!("{message}{suggestion} (see `{help}`)"))
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

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
    // The remembered scope belongs to the issuer and client it was used with: another
    // server's scope names would be refused there, or mean something else.
    let same_server =
        saved["issuer"].as_str() == Some(issuer.as_str()) && saved["client_id"].as_str() == Some(client_id.as_str());
    let saved_here = if same_server { &saved } else { &serde_json::Value::Null };
    let mut c = Config::new(a.app.clone(), issuer, client_id);
    c.scope = pick(&a.scope, "TERMAUTH_SCOPE", saved_here, "scope");
    c.profile = a.profile.clone().or_else(|| std::env::var("TERMAUTH_PROFILE").ok().filter(|v| !v.is_empty()));
    c.store = a.store;
    c.secret_method = a.client_auth;
    c.redirect_port = a.port.unwrap_or(0);
    c.resource = a.resource.clone();
    c.allow_insecure_http = a.insecure_http;
    c.debug = a.verbose;
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
            print!("{}", Cli::command().render_help());
            Ok(())
        }
        "completion" => {
            let shell = a.shell.ok_or_else(|| usage("`completion` needs a shell".into()))?;
            clap_complete::generate(shell, &mut Cli::command(), "termauth", &mut std::io::stdout());
            Ok(())
        }
        "man" => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| Error::usage("stdout", format!("Could not write the man page: {e}"))),
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
        "token" if a.scope.is_some() || !a.resource.is_empty() => {
            // A token limited to a scope or for a resource: a refresh asks for it (not stored).
            let mut client = Client::new(configured(&a)?)?;
            let report = client.get_token_for(a.scope.as_deref(), &a.resource)?;
            println!("{}", report.token.expose());
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
            // With nothing stored, `--all` is the configured server's status (not logged in).
            let all = if a.all { client.status_all()? } else { Vec::new() };
            if !all.is_empty() {
                if a.json {
                    println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
                } else {
                    let shown: Vec<String> = all.iter().map(|s| s.lines.join("\n")).collect();
                    println!("{}", shown.join("\n\n"));
                }
                return match all.into_iter().find_map(|s| s.problem) {
                    Some(problem) => Err(problem),
                    None => Ok(()),
                };
            }
            let s = client.status()?;
            // The token only when one can be had without a login (renewed first if due); the
            // status is printed even when getting it fails.
            let token = match (&s.problem, a.show_token) {
                (None, true) => Some(client.get_token()),
                _ => None,
            };
            let shown = token.as_ref().and_then(|t| t.as_ref().ok());
            if a.json {
                let mut json = serde_json::to_value(&s).unwrap_or_default();
                if let Some(token) = shown {
                    json["token"] = token.expose().into();
                }
                println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
            } else {
                for line in &s.lines {
                    println!("{line}");
                }
                if let Some(token) = shown {
                    println!("token:     {}", token.expose());
                }
            }
            if let Some(Err(e)) = token {
                return Err(e);
            }
            // A script learns from the exit status whether a login is needed.
            s.problem.map_or(Ok(()), Err)
        }
        "whoami" => {
            let s = Client::new(configured(&a)?)?.status()?;
            if let Some(problem) = s.problem {
                return Err(problem);
            }
            match (&s.account, a.json) {
                (_, true) => {
                    println!("{}", serde_json::json!({ "account": s.account, "issuer": s.issuer, "profile": s.profile }))
                }
                (Some(account), false) => println!("{account}"),
                (None, false) => eprintln!("{}", texts::account_unknown()),
            }
            Ok(())
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
            if let Some(name) = &a.use_profile {
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
        "cargo-plugin" => helpers::cargo_plugin(),
        "setup-git" | "git-credential" | "kube-credential" | "docker-credential" | "cargo-credential" => {
            helpers::run(&a, a.helper.as_ref().ok_or_else(|| usage("a helper command without its arguments".into()))?)
        }
        other => Err(usage(format!("unknown command `{}`", quoted(other)))),
    }
}

/// The credential helpers: each reads its tool's request, gets a token from the store (renewed
/// first if it would expire within `--min-lifetime`), and answers in the tool's protocol
/// (`termauth_core::helpers`). Standard output carries the protocol only; messages go to
/// standard error.
mod helpers {
    use super::{Args, Helper, configured, texts, usage};
    use std::io::{BufRead, Read, Write};
    use termauth::{Client, Error, LoginMethod};
    use termauth_core::helpers::{self as protocol, CargoRequest, GitRequest, KubeExecInfo, Pinned};

    pub(super) fn run(a: &Args, h: &Helper) -> Result<(), Error> {
        refuse_secret_stdin(a)?;
        match h.action.as_str() {
            _ if a.command == "setup-git" => setup_git(a, h),
            _ if a.command == "kube-credential" => kube(a, h),
            _ if a.command == "cargo-credential" => cargo(a, h),
            action if a.command == "git-credential" => git(a, h, action),
            action => docker(a, h, action),
        }
    }

    /// A helper's standard input is its tool's request: the client secret cannot come from it.
    fn refuse_secret_stdin(a: &Args) -> Result<(), Error> {
        if a.client_secret_stdin {
            return Err(usage(
                "a credential helper reads its tool's request on standard input: give the client secret in TERMAUTH_CLIENT_SECRET (or <APP>_CLIENT_SECRET) instead of --client-secret-stdin".into(),
            ));
        }
        Ok(())
    }

    /// A client whose renewals keep `--min-lifetime` in hand.
    fn client(a: &Args, h: &Helper) -> Result<Client, Error> {
        let mut config = configured(a)?;
        config.refresh_skew_ms = config.refresh_skew_ms.max(h.args.min_lifetime.saturating_mul(1000));
        Client::new(config)
    }

    /// The token, and the expiry to tell the tool (Unix ms): `--min-lifetime` before the
    /// token's own, so the tool asks again before the margin runs out (not before now).
    fn token(a: &Args, h: &Helper) -> Result<(termauth::Secret, Option<u64>), Error> {
        let report = client(a, h)?.get_token_report()?;
        Ok((report.token, tell_expiry(h, report.expires_at)))
    }

    fn tell_expiry(h: &Helper, expires_at: Option<u64>) -> Option<u64> {
        let margin = h.args.min_lifetime.saturating_mul(1000);
        expires_at.map(|at| at.saturating_sub(margin).max(termauth::driver::now_ms().min(at)))
    }

    fn stdin(what: &str) -> Result<String, Error> {
        let mut text = String::new();
        std::io::stdin()
            .take(protocol::MAX_REQUEST_BYTES as u64 + 1)
            .read_to_string(&mut text)
            .map_err(|e| Error::usage("stdin", format!("Could not read the {what} request from standard input: {e}")))?;
        Ok(text)
    }

    fn print(text: &str) -> Result<(), Error> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::usage("stdout", format!("Could not write the answer: {e}")))
    }

    /// git-credential(1): `get` answers for the pinned server only (nothing for another, so
    /// git asks its next helper); `store` and `erase` are git's to send and change nothing:
    /// the store is termauth's.
    fn git(a: &Args, h: &Helper, action: &str) -> Result<(), Error> {
        let pinned = Pinned::new(&h.server)?;
        let request = GitRequest::parse(&stdin("git credential")?)?;
        if action != "get" || !pinned.admits_git(&request) {
            return Ok(());
        }
        let (token, expires_at) = token(a, h)?;
        print(&protocol::git_answer(&request, &h.args.username, token.expose(), expires_at))
    }

    /// Sets `credential.<origin>.helper` in the user's git configuration (an empty value
    /// first, so helpers configured for every host are not asked for this one).
    fn setup_git(a: &Args, h: &Helper) -> Result<(), Error> {
        let pinned = Pinned::new(&h.server)?;
        // The helper line names the issuer, client and profile in use now (given, or
        // remembered from the last login), so a later login elsewhere does not change it.
        let config = configured(a)?;
        Client::new(config.clone())?; // checked now, not at git's first clone
        let program = std::env::current_exe()
            .map_err(|e| Error::usage("current_exe", format!("Could not find the termauth program: {e}")))?;
        let mut args = vec!["git-credential".to_string(), "--for".into(), pinned.origin().into(), "--app".into(), a.app.clone()];
        args.extend(["--issuer".to_string(), config.issuer.clone(), "--client-id".into(), config.client_id.clone()]);
        if let Some(profile) = &config.profile {
            args.extend(["--profile".to_string(), profile.clone()]);
        }
        // The options that make the helper behave as this login does.
        let store = match config.store {
            termauth::StorePreference::Auto => None,
            termauth::StorePreference::Keyring => Some("keyring"),
            termauth::StorePreference::File => Some("file"),
        };
        if let Some(store) = store {
            args.extend(["--store".to_string(), store.into()]);
        }
        if config.secret_method == termauth::SecretMethod::Post {
            args.extend(["--client-auth".to_string(), "post".into()]);
        }
        if config.allow_insecure_http {
            args.push("--insecure-http".into());
        }
        for resource in &config.resource {
            args.extend(["--resource".to_string(), resource.clone()]);
        }
        if h.args.username != "oauth2" {
            args.extend(["--username".to_string(), h.args.username.clone()]);
        }
        let default_min = termauth_core::helpers::DEFAULT_MIN_LIFETIME_MS / 1000;
        if h.args.min_lifetime != default_min {
            args.extend(["--min-lifetime".to_string(), h.args.min_lifetime.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let value = protocol::git_helper_value(&program.to_string_lossy(), &args);
        let key = format!("credential.{}.helper", pinned.origin());
        let git = |extra: &[&str]| -> Result<(), Error> {
            let status = std::process::Command::new("git")
                .args(["config", "--global"])
                .args(extra)
                .status()
                .map_err(|e| Error::usage("git_not_found", format!("Could not run git: {e}")))?;
            if status.success() {
                Ok(())
            } else {
                // The key only: the value holds what the command line said.
                Err(Error::usage("git_config", format!("`git config --global` could not set {} ({status}).", texts::shown(&key))))
            }
        };
        git(&["--replace-all", &key, ""])?;
        git(&["--add", &key, &value])?;
        eprintln!("git now asks termauth for {} credentials ({key}).", pinned.origin());
        Ok(())
    }

    /// kubectl's exec plugin: an ExecCredential on stdout. In interactive mode (kubeconfig
    /// `interactiveMode`, with a terminal) a login that is needed happens here, on stderr.
    fn kube(a: &Args, h: &Helper) -> Result<(), Error> {
        let info = KubeExecInfo::parse(std::env::var("KUBERNETES_EXEC_INFO").ok().as_deref())?;
        if !h.server.is_empty() {
            let pinned = Pinned::new(&h.server)?;
            match &info.cluster_server {
                Some(server) if pinned.admits_url(server) => {}
                Some(_) => {
                    return Err(Error::usage(
                        "helper_wrong_server",
                        format!("This kubectl cluster is not {}: termauth gives it no token.", pinned.origin()),
                    ));
                }
                None => {
                    return Err(Error::usage(
                        "helper_no_cluster_info",
                        "kube-credential --for needs to know the cluster: set `provideClusterInfo: true` in the kubeconfig's exec entry.",
                    ));
                }
            }
        }
        let (token, expires_at) = match token(a, h) {
            Err(e) if info.interactive && e.hint == termauth::Hint::Reauthenticate => {
                eprintln!("{}", e.message);
                let mut c = client(a, h)?;
                c.login(LoginMethod::Auto)?;
                let report = c.get_token_report()?;
                (report.token, tell_expiry(h, report.expires_at))
            }
            other => other?,
        };
        print(&protocol::kube_exec_credential(&info, token.expose(), expires_at))
    }

    /// docker-credential-helpers: `get` answers for the pinned registry (others: docker's
    /// "not found", exit 1); `erase` changes nothing (`termauth logout` does); `store` is
    /// refused (the token comes from `termauth login`); `list` names the pinned registry.
    fn docker(a: &Args, h: &Helper, action: &str) -> Result<(), Error> {
        let pinned = Pinned::new(&h.server)?;
        let not_found = || -> Result<(), Error> {
            print(&format!("{}\n", protocol::DOCKER_NOT_FOUND))?;
            std::process::exit(1)
        };
        match action {
            "get" => {
                let url = protocol::docker_server_url(&stdin("docker credential")?)?;
                if !pinned.admits_url(&url) {
                    return not_found();
                }
                match token(a, h) {
                    Ok((token, _)) => print(&protocol::docker_answer(&url, &h.args.username, token.expose())),
                    Err(e) if e.hint == termauth::Hint::Reauthenticate => {
                        eprintln!("{}", e.line("termauth"));
                        not_found()
                    }
                    Err(e) => Err(e),
                }
            }
            "erase" => {
                stdin("docker credential")?;
                Ok(())
            }
            "store" => {
                stdin("docker credential")?;
                Err(Error::usage(
                    "helper_store_refused",
                    format!(
                        "termauth keeps the token for {}: log in with `termauth login`, not `docker login`.",
                        pinned.origin()
                    ),
                ))
            }
            "list" => {
                let logged_in = client(a, h)?.status()?.problem.is_none();
                print(&protocol::docker_list(&pinned, logged_in.then_some(h.args.username.as_str())))
            }
            "version" => print(&format!("termauth {}\n", env!("CARGO_PKG_VERSION"))),
            other => {
                Err(usage(format!("docker-credential takes get, store, erase, list or version, not `{}`", super::quoted(other))))
            }
        }
    }

    /// `termauth cargo-credential` run by hand: what to configure instead.
    fn cargo(_: &Args, h: &Helper) -> Result<(), Error> {
        Pinned::new(&h.server)?;
        Err(Error::usage(
            "cargo_plugin_only",
            "cargo runs its credential providers itself: add credential-provider = [\"termauth\", \"cargo-credential\", \"--for\", \"HOST\"] to the registry in .cargo/config.toml.",
        ))
    }

    /// cargo's credential-provider protocol (`termauth --cargo-plugin`): the hello, then one
    /// answer per request line until cargo closes standard input. Each request carries the
    /// configured arguments, read as termauth's command line (`cargo-credential --for HOST
    /// [--issuer …]`).
    pub(super) fn cargo_plugin() -> Result<(), Error> {
        print(&format!("{}\n", protocol::CARGO_HELLO))?;
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().take(16 * protocol::MAX_REQUEST_BYTES as u64);
        loop {
            let mut line = String::new();
            match lines.read_line(&mut line) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(Error::usage("stdin", format!("Could not read cargo's request: {e}"))),
            }
            let answer = match CargoRequest::parse(line.trim_end()) {
                Err(e) => protocol::cargo_error("other", Some(&e.message)),
                Ok(r) => match super::parse(r.args.clone()) {
                    Ok(a) if a.client_secret_stdin => {
                        protocol::cargo_error("other", refuse_secret_stdin(&a).err().map(|e| e.message).as_deref())
                    }
                    Ok(a) if a.command == "cargo-credential" => match a.helper.as_ref().map(|h| (Pinned::new(&h.server), h)) {
                        Some((Ok(pinned), h)) => cargo_answer(&a, h, &pinned, &r),
                        Some((Err(e), _)) => protocol::cargo_error("other", Some(&e.message)),
                        None => protocol::cargo_error("other", None),
                    },
                    Ok(_) => protocol::cargo_error(
                        "other",
                        Some(
                            "configure the provider as credential-provider = [\"termauth\", \"cargo-credential\", \"--for\", \"HOST\"]",
                        ),
                    ),
                    Err(e) => protocol::cargo_error("other", Some(&e.message)),
                },
            };
            print(&format!("{answer}\n"))?;
        }
    }

    fn cargo_answer(a: &Args, h: &Helper, pinned: &Pinned, r: &CargoRequest) -> String {
        if !pinned.admits_url(&r.index_url) {
            return protocol::cargo_error("url-not-supported", None);
        }
        if r.kind != "get" {
            return protocol::cargo_error("operation-not-supported", None);
        }
        match token(a, h) {
            Ok((token, expires_at)) => protocol::cargo_token(token.expose(), expires_at),
            Err(e) if e.code == "not_logged_in" => protocol::cargo_error("not-found", None),
            Err(e) => protocol::cargo_error("other", Some(&e.message)),
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    if e.code == "cli_usage" { 2 } else { e.exit_code() }
}

fn main() -> ExitCode {
    termauth::driver::install_ctrlc_handler();
    // A command line that cannot be used is exit 2, whatever the reason (an argument that
    // is not UTF-8 included: it is not shown).
    let argv: Result<Vec<String>, _> = std::env::args_os().skip(1).map(std::ffi::OsString::into_string).collect();
    let parsed = argv.map_err(|_| usage("an argument is not valid UTF-8 (not shown)".into())).and_then(parse);
    let result = match parsed {
        Ok(args) => run(args).map_err(|e| (exit_code(&e), e)),
        Err(e) if e.code == "cli_help" => {
            print!("{}", e.message);
            return ExitCode::SUCCESS;
        }
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
