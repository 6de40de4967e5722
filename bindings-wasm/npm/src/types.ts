// The driver contract's JSON shapes, written once here and checked against the Rust types
// (core/src/*.rs) by test/types.test.mjs, which type-checks every action, input and spec of
// tests/vectors/*.json against these declarations and validates every action the wasm core
// produces at run time. See tests/vectors/README.md for the prose version.

/** Unix milliseconds (wall clock). */
export type Millis = number;

// ---------------------------------------------------------------- errors

export type ErrorKind = 'usage' | 'protocol' | 'oauth' | 'transport' | 'interrupted' | 'storage';
export type Hint = 'reauthenticate' | 'retry_later' | 'fix_configuration' | 'fatal';

/** `termauth_core::Error` as JSON. */
export interface ErrorData {
  kind: ErrorKind;
  code: string;
  message: string;
  hint: Hint;
  status?: number;
  error?: string;
  error_description?: string;
  error_uri?: string;
  excerpt?: string;
}

// ---------------------------------------------------------------- tokens and credentials

export interface TokenSet {
  access_token: string;
  token_type: 'Bearer' | 'DPoP';
  expires_at?: Millis;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
  extra?: { [member: string]: unknown };
}

export type Grant = 'device_code' | 'authorization_code' | 'client_credentials' | 'password';

export type Presentation = { scheme: 'bearer' } | { scheme: 'header'; name: string; prefix?: string };

export interface OAuthCredential {
  schema_version: number;
  updated_at: Millis;
  kind: 'oauth';
  issuer: string;
  client_id: string;
  grant: Grant;
  tokens: TokenSet;
  granted_scope?: string;
}

export interface ApiKeyCredential {
  schema_version: number;
  updated_at: Millis;
  kind: 'api_key';
  key: string;
  presentation?: Presentation;
}

/** A stored credential record (`termauth_core::Credential`). */
export type Credential = OAuthCredential | ApiKeyCredential;

// ---------------------------------------------------------------- server and client

/** RFC 8414 / OIDC server metadata (`termauth_core::ServerMetadata`); unknown members kept. */
export interface ServerMetadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  device_authorization_endpoint?: string;
  revocation_endpoint?: string;
  introspection_endpoint?: string;
  authorization_response_iss_parameter_supported?: boolean;
  code_challenge_methods_supported?: string[];
  grant_types_supported?: string[];
  [member: string]: unknown;
}

export type ClientAuth =
  | { method: 'none' }
  | { method: 'client_secret_basic'; client_secret: string }
  | { method: 'client_secret_post'; client_secret: string };

export interface OAuthClient {
  client_id: string;
  auth?: ClientAuth;
}

export interface TokenToSend {
  token: string;
  token_type_hint?: string;
}

// ---------------------------------------------------------------- flow specs

interface Endpointed {
  server: ServerMetadata;
  client: OAuthClient;
  allow_insecure_http?: boolean;
}

export interface DiscoverySpec {
  flow: 'discovery';
  issuer: string;
  document?: 'auto' | 'openid' | 'oauth';
  allow_insecure_http?: boolean;
}
export interface DeviceSpec extends Endpointed {
  flow: 'device';
  scope?: string;
  resource?: string[];
  clock_drift_margin_ms?: Millis;
}
export interface AuthorizationCodeSpec extends Endpointed {
  flow: 'authorization_code';
  scope?: string;
  redirect_port?: number;
  redirect_host?: string;
  redirect_path?: string;
  redirect_uri?: string;
  nonce?: boolean;
  resource?: string[];
  prompt?: string;
  login_hint?: string;
  extra_params?: { [name: string]: string };
  code_challenge_method?: string;
  redirect_timeout_ms?: Millis;
}
export interface ClientCredentialsSpec extends Endpointed {
  flow: 'client_credentials';
  scope?: string;
  resource?: string[];
}
export interface PasswordSpec extends Endpointed {
  flow: 'password';
  username: string;
  password: string;
  scope?: string;
  enable_password_grant?: boolean;
}
export interface RefreshSpec extends Endpointed {
  flow: 'refresh';
  credential: Credential;
  scope?: string;
  resource?: string[];
}
export interface RevocationSpec extends Endpointed {
  flow: 'revocation';
  tokens: TokenToSend[];
}
export interface IntrospectionSpec extends Endpointed {
  flow: 'introspection';
  token: TokenToSend;
}
export interface ApiKeySpec {
  flow: 'api_key';
  key: string;
  presentation?: Presentation;
}

/** The configuration of any flow (`termauth_core::FlowSpec`), tagged by `flow`. */
export type FlowSpec =
  | DiscoverySpec
  | DeviceSpec
  | AuthorizationCodeSpec
  | ClientCredentialsSpec
  | PasswordSpec
  | RefreshSpec
  | RevocationSpec
  | IntrospectionSpec
  | ApiKeySpec;

// ---------------------------------------------------------------- outcomes

export interface Introspection {
  active: boolean;
  [member: string]: unknown;
}

export type Outcome =
  | { kind: 'tokens'; tokens: TokenSet }
  | { kind: 'metadata'; metadata: ServerMetadata }
  | { kind: 'introspection'; introspection: Introspection }
  | { kind: 'revoked'; count: number }
  | { kind: 'credential'; credential: Credential };

// ---------------------------------------------------------------- actions and inputs

export type Header = [name: string, value: string];

export interface SendRequest {
  type: 'send_request';
  id: number;
  method: 'GET' | 'POST';
  url: string;
  headers: Header[];
  body: string;
}
export interface ShowUserCode {
  type: 'show_user_code';
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_at: Millis;
}
export interface OpenBrowser {
  type: 'open_browser';
  url: string;
  redirect_uri: string;
}
export interface Persist {
  type: 'persist';
  credential: Credential;
}
export interface WaitUntil {
  type: 'wait_until';
  at_ms: Millis;
}
export interface AwaitRedirect {
  type: 'await_redirect';
  redirect_uri: string;
  until_ms: Millis;
}
export interface AwaitResponse {
  type: 'await_response';
  id: number;
}
export interface Done {
  type: 'done';
  result: Outcome;
}
export interface Failed {
  type: 'failed';
  error: ErrorData;
}

/** What `poll` returns (`termauth_core::Action`), tagged by `type`. */
export type Action =
  | SendRequest
  | ShowUserCode
  | OpenBrowser
  | Persist
  | WaitUntil
  | AwaitRedirect
  | AwaitResponse
  | Done
  | Failed;

export type TransportErrorKind = 'dns' | 'connect' | 'tls' | 'timeout' | 'other';

export interface HttpResponseInput {
  type: 'http_response';
  id: number;
  status: number;
  headers?: Header[];
  body?: string;
}
export interface TransportErrorInput {
  type: 'transport_error';
  id: number;
  kind: TransportErrorKind;
  message?: string;
}
export interface RedirectInput {
  type: 'redirect';
  url: string;
}
export interface CancelInput {
  type: 'cancel';
}

/** What `handle` takes (`termauth_core::Input`), tagged by `type`. */
export type Input = HttpResponseInput | TransportErrorInput | RedirectInput | CancelInput;

// ---------------------------------------------------------------- lifecycle

/** `termauth_core::lifecycle::Decision`. */
export type Decision =
  | { decision: 'use' }
  | { decision: 'refresh'; still_valid: boolean }
  | { decision: 'reacquire'; still_valid: boolean }
  | { decision: 'relogin'; reason: string };

// ---------------------------------------------------------------- the session
// `termauth_core::session`: one command (login, get_token, refresh, logout, status,
// profiles, use_profile) as a sans-IO machine. The flow shapes above are reused where the
// session passes a flow's action through (`send_request`, `await_response`).

/** What to print for a prompt (`termauth_core::texts::Prompt`): `lines`, then the QR code
 * when the terminal can draw one, then `after`. */
export interface Prompt {
  lines: string[];
  qr?: { caption: string; data: string };
  after?: string[];
}

/** A progress line while waiting: `text` with `{left}` replaced by the time left until `until_ms`, as `m:ss`. */
export interface Progress {
  text: string;
  until_ms: Millis;
}

export type NoticeLevel = 'info' | 'warning';
export type RedirectSource = 'listener' | 'paste';
export type Platform = 'linux' | 'macos' | 'windows';

/** `auto`: keyring, else file with a warning; `keyring`: only the keyring; `file`: only files (no warning). */
export type StorePreference = 'auto' | 'keyring' | 'file';

/** Which store holds a credential, and why (a sentence). */
export interface StoreChoice {
  store: 'keyring' | 'file';
  reason: string;
}

/** `termauth_core::session::SessionConfig` as JSON (defaults when a member is absent). */
export interface SessionConfig {
  app: string;
  issuer: string;
  client_id: string;
  scope?: string;
  client_secret?: string;
  secret_method?: 'basic' | 'post';
  profile?: string;
  store?: StorePreference;
  config_dir?: string;
  metadata?: ServerMetadata;
  redirect_host?: string;
  redirect_port?: number;
  redirect_path?: string;
  redirect_uri?: string;
  resource?: string[];
  allow_insecure_http?: boolean;
  enable_password_grant?: boolean;
  refresh_skew_ms?: Millis;
  redirect_timeout_ms?: Millis;
  lock_wait_ms?: Millis;
  launch_browser?: boolean;
}

/** A login method as the session names it. */
export type SessionLoginMethod = 'auto' | 'device' | 'browser' | 'paste' | 'client_credentials' | 'password' | 'token';

/** What a session does (`termauth_core::session::Command`), tagged by `op`. */
export type SessionCommand =
  | { op: 'login'; method?: Exclude<SessionLoginMethod, 'password' | 'token'> }
  | { op: 'login'; method: 'password'; username: string; password: string }
  | { op: 'login'; method: 'token'; token: string; presentation?: Presentation }
  | { op: 'get_token' }
  | { op: 'refresh' }
  | { op: 'logout' }
  | { op: 'status' }
  | { op: 'profiles' }
  | { op: 'use_profile'; profile: string }
  | { op: 'discover' }
  | { op: 'lock' }
  | { op: 'unlock'; nonce: string };

/** The process a session runs in, as its driver observed it (`termauth_core::environment::Environment`). */
export interface Environment {
  platform?: Platform;
  host?: string;
  pid?: number;
  /** The variables named by `sessionVariables(app)` that are set. */
  vars?: { [name: string]: string };
}

/** A session's whole input (`termauth_core::session::SessionSpec`). */
export interface SessionSpec {
  command: SessionCommand;
  config: SessionConfig;
  environment: Environment;
}

export interface LaunchBrowser {
  type: 'launch_browser';
  id: number;
  url: string;
}
export interface SessionWaitUntil {
  type: 'wait_until';
  at_ms: Millis;
  progress?: Progress;
}
export interface SessionShowUserCode {
  type: 'show_user_code';
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_at: Millis;
  text: Prompt;
}
export interface ShowAuthorizationUrl {
  type: 'show_authorization_url';
  url: string;
  redirect_uri: string;
  text: Prompt;
}
export interface Listen {
  type: 'listen';
  id: number;
  host: string;
  port: number;
  not_found_html: string;
}
export interface SessionAwaitRedirect {
  type: 'await_redirect';
  redirect_uri: string;
  until_ms: Millis;
  source: RedirectSource;
}
export interface AnswerBrowser {
  type: 'answer_browser';
  status: number;
  html: string;
}
export interface Notice {
  type: 'notice';
  level: NoticeLevel;
  code: string;
  text: string;
}
export interface ReadFile {
  type: 'read_file';
  id: number;
  path: string;
}
export interface WriteFile {
  type: 'write_file';
  id: number;
  path: string;
  contents: string;
}
export interface RemoveFile {
  type: 'remove_file';
  id: number;
  path: string;
}
export interface ListDir {
  type: 'list_dir';
  id: number;
  path: string;
}
export interface CreateExclusive {
  type: 'create_exclusive';
  id: number;
  path: string;
  contents: string;
}
export interface ProcessAlive {
  type: 'process_alive';
  id: number;
  pid: number;
}
export interface KeyringGet {
  type: 'keyring_get';
  id: number;
  service: string;
  account: string;
}
export interface KeyringSet {
  type: 'keyring_set';
  id: number;
  service: string;
  account: string;
  value: string;
}
export interface KeyringDelete {
  type: 'keyring_delete';
  id: number;
  service: string;
  account: string;
}
export interface SessionDone {
  type: 'done';
  result: SessionOutcome;
}

/** The storage primitives a session asks for (what `store.ts` executes). */
export type StorageAction = ReadFile | WriteFile | RemoveFile | ListDir | CreateExclusive | ProcessAlive | KeyringGet | KeyringSet | KeyringDelete;

/** What `session.poll` returns (`termauth_core::session::Action`), tagged by `type`. */
export type SessionAction =
  | SendRequest
  | AwaitResponse
  | SessionWaitUntil
  | LaunchBrowser
  | SessionShowUserCode
  | ShowAuthorizationUrl
  | Listen
  | SessionAwaitRedirect
  | AnswerBrowser
  | Notice
  | StorageAction
  | SessionDone
  | Failed;

/** What `session.handle` takes (`termauth_core::session::Input`), tagged by `type`. */
export type SessionInput =
  | HttpResponseInput
  | TransportErrorInput
  | RedirectInput
  | { type: 'input_closed' }
  | CancelInput
  | { type: 'browser_launched'; id: number; launched: boolean }
  | { type: 'listening'; id: number; port: number }
  | { type: 'file_contents'; id: number; contents: string | null; modified_ms?: Millis }
  | { type: 'completed'; id: number }
  | { type: 'removed'; id: number; existed: boolean }
  | { type: 'dir_listing'; id: number; names: string[] }
  | { type: 'created'; id: number; created: boolean }
  | { type: 'process_status'; id: number; alive: boolean | null }
  | { type: 'keyring_value'; id: number; value: string | null }
  | { type: 'io_error'; id: number; message: string };

/** What `login` did. `text` is the sentence for the user. */
export interface LoginReport {
  method: 'device' | 'browser' | 'paste' | 'client_credentials' | 'password' | 'token';
  profile: string;
  store: StoreChoice;
  scope?: string;
  expires_at?: Millis;
  text: string;
}

/** A valid token (`getToken`, `refresh`). */
export interface TokenReport {
  /** `env`: `<APP>_TOKEN`; `store`: the stored credential. */
  source: 'env' | 'store';
  token: string;
  /** The header that presents it: `[name, value]`. */
  header: Header;
  expires_at?: Millis;
  /** The stored record it came from (absent for `<APP>_TOKEN`). */
  credential?: Credential;
  /** For `refresh`: the sentence saying it was renewed. */
  text?: string;
}

/** What `logout` did. `text` is the sentence for the user. */
export interface LogoutReport {
  removed: boolean;
  revoked: boolean;
  note?: string;
  text: string;
}

/** Where `getToken`'s token comes from, and its state (no secrets), as the core reports it. */
export interface StatusData {
  source: 'env' | 'store' | 'none';
  env_var: string;
  profile: string;
  issuer: string;
  client_id: string;
  store?: StoreChoice;
  kind?: 'oauth' | 'api_key';
  grant?: Grant;
  scope?: string;
  expires_at?: Millis;
  refreshable: boolean;
  decision?: Decision['decision'];
  error?: ErrorData;
}

export interface ProfileInfo {
  name: string;
  active: boolean;
}

/** What a finished session produced (`termauth_core::session::Outcome`), tagged by `kind`. */
export type SessionOutcome =
  | ({ kind: 'login' } & LoginReport)
  | ({ kind: 'token' } & TokenReport)
  | ({ kind: 'logout' } & LogoutReport)
  // The core writes `kind` twice for `status` (the outcome's tag, then the status's own
  // `kind`, the credential's kind); JSON.parse keeps the last. See Client.status.
  | ({ kind: 'status' | 'oauth' | 'api_key' } & Omit<StatusData, 'kind'>)
  | { kind: 'profiles'; profiles: ProfileInfo[] }
  | { kind: 'profile_used'; profile: string }
  | { kind: 'metadata'; metadata: ServerMetadata }
  | { kind: 'locked'; path: string; nonce: string }
  | { kind: 'unlocked'; released: boolean };
