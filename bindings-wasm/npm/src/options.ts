// The options of the Client (types only): `ClientOptions` is the core's `SessionConfig` in
// camelCase, plus what the executor itself uses (transport, UI, timeouts).
import type { TermauthError } from './errors.js';
import type { FetchLike } from './transport.js';
import type { Ui } from './ui.js';
import type { Presentation, ServerMetadata, SessionShowUserCode, ShowAuthorizationUrl, StatusData, StorePreference } from './types.js';

/** Configuration of a {@link Client} (the core's `SessionConfig`, in camelCase). */
export interface ClientOptions {
  /** The application name: config directory, keyring service, `<APP>_TOKEN` variable. */
  app: string;
  /** The issuer (discovery runs against it, cached a day, unless `metadata` is given). */
  issuer: string;
  clientId: string;
  scope?: string;
  /** A client secret (CI). Default: `<APP>_CLIENT_SECRET`, then `TERMAUTH_CLIENT_SECRET`. */
  clientSecret?: string;
  /** How the secret is sent: HTTP Basic (default) or in the form body. */
  secretMethod?: 'basic' | 'post';
  /** The profile; the active one (or `default`) when absent. */
  profile?: string;
  store?: StorePreference;
  /** The config directory; `<APP>_CONFIG_DIR` or the platform's when absent. */
  configDir?: string;
  /** Server metadata written by hand. */
  metadata?: ServerMetadata;
  redirectHost?: string;
  /** The loopback redirect port (0 = random; fix it for `ssh -L` forwarding). */
  redirectPort?: number;
  redirectPath?: string;
  /** A complete redirect URI for paste mode (default: the loopback one). */
  redirectUri?: string;
  /** RFC 8707 resource indicators. */
  resource?: string[];
  /** Allow plain-http endpoints on non-loopback hosts (tests only). */
  allowInsecureHttp?: boolean;
  /** Allow the legacy password grant. */
  enablePasswordGrant?: boolean;
  /** Renew this long before expiry (the core's default when absent). */
  refreshSkewMs?: number;
  /** How long a browser login waits for the redirect (the core's default when absent). */
  redirectTimeoutMs?: number;
  /** How long to wait for another process's lock on the credential (the core's default when absent). */
  lockWaitMs?: number;
  /** Whether a browser may be opened (default true; false: URLs are only printed). */
  launchBrowser?: boolean;
  /** Trace every HTTP exchange as a notice (code `http_trace`), secrets redacted; `TERMAUTH_DEBUG=1` does the same. */
  debug?: boolean;
  /** Show prompts on stderr and cancel on Ctrl-C (default true); false for silent library use. */
  interactive?: boolean;
  /** The transport (default: global `fetch` through the environment's proxy; see `environmentFetch`). */
  fetch?: FetchLike;
  /** Replace the terminal UI. */
  ui?: Ui;
  /**
   * The overall deadline of each HTTP request, in milliseconds (default 30 000): connecting,
   * sending, the response's headers and its body together. A server still answering when it
   * passes (one that trickles its answer, or never answers) fails the command with a
   * `TransportError` (timed out, hint `retry_later`, exit code 4), whatever `fetch` is used.
   * Anything but a positive whole number is refused when the Client is constructed
   * (`UsageError` `invalid_timeout`). Python's `timeout_ms`, Go's `RequestTimeout`, Rust's
   * `Client::set_request_timeout`.
   */
  timeoutMs?: number;
}

export type LoginMethod = 'auto' | 'device' | 'browser' | 'paste' | 'clientCredentials' | 'password' | 'token';

export interface LoginOptions {
  method?: LoginMethod;
  /** `password`: the username and password. */
  username?: string;
  password?: string;
  /** `token`: the API key / personal access token, and how it is sent. */
  token?: string;
  presentation?: Presentation;
  /** Cancels the login (besides the first Ctrl-C). */
  signal?: AbortSignal;
  /** Paste mode: where the pasted URL is read from (default stdin). */
  input?: NodeJS.ReadableStream;
  /** Called with `show_user_code` / `show_authorization_url` actions (tests, GUIs, custom UIs). */
  onPrompt?: (action: SessionShowUserCode | ShowAuthorizationUrl) => void;
}

/**
 * `status()`: the core's status, with its `error` and `problem` as TermauthErrors. `problem`
 * says why no token can be had without logging in (`not_logged_in`, `login_required`,
 * `missing_client_secret`, or the store problem); absent when `getToken` would return one.
 * When it is set, a CLI's `status` exits with `exitCode(status.problem)` (3 for a login).
 */
export type Status = Omit<StatusData, 'error' | 'problem'> & { error?: TermauthError; problem?: TermauthError };


/** The credential's lock, held by this process until `release()` (idempotent). */
export interface CredentialLock {
  /** The lock file. */
  readonly path: string;
  /** Releases the lock if it is still this holder's (a lock broken as stale and taken by another process is left alone). */
  release(): void;
  [Symbol.dispose](): void;
}
