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
