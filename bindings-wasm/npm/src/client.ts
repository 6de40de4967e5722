// The high-level API: log in, get a fresh token, log out, report status. The same behaviour
// as native/src/client.rs; every OAuth decision comes from the wasm core (flows,
// lifecycle.decide, after_renewal_failure), this file only does IO around it.
import { fs } from './builtins.js';
import { join } from 'node:path';
import { desktop, isSsh, surroundings } from './environment.js';
import { storage, usage, TermauthError } from './errors.js';
import { afterRenewalFailure, autoMethodInCi, autoMethodInteractive, decide, decideLocked, Flow, randomSeed, renewedElsewhere } from './flow.js';
import { run, type RedirectSource } from './driver.js';
import {
  checkProfile,
  envName,
  serverKey,
  sortKeys,
  Store,
  writeAtomic,
  type CredentialKey,
  type StoreChoice,
  type StorePreference,
} from './store.js';
import { environmentFetch, type FetchLike } from './transport.js';
import { Silent, Terminal, type Ui } from './ui.js';
import type { Action, Credential, Decision, FlowSpec, Grant, OAuthClient, Outcome, Presentation, ServerMetadata, TokenToSend } from './types.js';

/** Configuration of a {@link Client}. */
export interface ClientOptions {
  /** The application name: config directory, keyring service, `<APP>_TOKEN` variable. */
  app: string;
  /** The issuer (discovery runs against it unless `metadata` is given). */
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
  /** The config directory; the platform's (or `<APP>_CONFIG_DIR`) when absent. */
  configDir?: string;
  /** Server metadata written by hand; discovery (cached a day) when absent. */
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
  /** Renew this long before expiry (default 60 000 ms). */
  refreshSkewMs?: number;
  /** Show prompts on stderr (default true); false for silent library use. */
  interactive?: boolean;
  /**
   * The transport. By default global `fetch`, through the proxy the environment names
   * (`HTTPS_PROXY`, `NO_PROXY`, …; see `proxyFor`) with the optional package undici.
   * Inject one for custom CAs, other proxy setups, tests.
   */
  fetch?: FetchLike;
  /** Replace the terminal UI. */
  ui?: Ui;
  /** Per-request timeout (default 30 s). */
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
  /** Cancels the login (default: the first Ctrl-C while it runs). */
  signal?: AbortSignal;
  /** Paste mode: where the pasted URL is read from (default stdin). */
  input?: NodeJS.ReadableStream;
  /** Called with `show_user_code` / `open_browser` actions (tests, GUIs, custom UIs). */
  onPrompt?: (action: Action) => void;
}

export interface LoginReport {
  method: 'device' | 'browser' | 'paste' | 'client_credentials' | 'password' | 'token';
  profile: string;
  store: StoreChoice;
  scope?: string;
  expires_at?: number;
}

export interface LogoutReport {
  removed: boolean;
  revoked: boolean;
  note?: string;
}

export interface Status {
  source: 'env' | 'store' | 'none';
  env_var: string;
  profile: string;
  issuer: string;
  client_id: string;
  store?: StoreChoice;
  kind?: 'oauth' | 'api_key';
  grant?: Grant;
  scope?: string;
  expires_at?: number;
  refreshable: boolean;
  decision?: Decision['decision'];
  error?: TermauthError;
}

export interface ProfileInfo {
  name: string;
  active: boolean;
}

function notLoggedIn(app: string): TermauthError {
  return storage('not_logged_in', `Not logged in. Run \`${app} login\` first.`, 'reauthenticate');
}

function relogin(reason: string): TermauthError {
  return storage('login_required', reason, 'reauthenticate');
}

const DEFAULT_REDIRECT_TIMEOUT_MS = 300_000;

/** The termauth client: `login`, `getToken`, `logout`, `status`, profiles. */
export class Client {
  /** The options, without `clientSecret` (kept privately, so printing a Client shows no secret). */
  readonly options: Readonly<Omit<ClientOptions, 'clientSecret'>>;
  readonly store: Store;
  #metadata: ServerMetadata | undefined;
  #secret: string | undefined;
  #fetch: FetchLike;
  #ui: Ui | undefined;

  constructor(options: ClientOptions) {
    if (!options || typeof options.app !== 'string' || !options.app) throw usage('invalid_options', 'Client needs an `app` name.');
    if (typeof options.issuer !== 'string' || typeof options.clientId !== 'string') {
      throw usage('invalid_options', 'Client needs `issuer` and `clientId` strings.');
    }
    if (options.profile !== undefined) checkProfile(options.profile);
    const { clientSecret: _secret, ...rest } = options;
    this.options = rest;
    this.#metadata = options.metadata;
    this.#secret =
      options.clientSecret ??
      ([envName(options.app, 'CLIENT_SECRET'), 'TERMAUTH_CLIENT_SECRET'].map((v) => process.env[v]).find((s) => !!s) || undefined);
    this.store = options.configDir ? new Store(options.configDir, options.store ?? 'auto') : Store.forApp(options.app, options.store ?? 'auto');
    this.#fetch = options.fetch ?? environmentFetch({ warn: (message) => this.#uiImpl.warn(message) });
    this.#ui = options.ui;
  }

  get #uiImpl(): Ui {
    this.#ui ??= this.options.interactive === false ? new Silent() : new Terminal();
    return this.#ui;
  }

  /** The profile in use: the configured one, else the active one, else `default`. */
  profile(): string {
    return this.options.profile ?? this.store.activeProfile(this.options.issuer, this.options.clientId) ?? 'default';
  }

  #key(): CredentialKey {
    return { app: this.options.app, issuer: this.options.issuer, clientId: this.options.clientId, profile: this.profile() };
  }

  #oauthClient(): OAuthClient {
    const s = this.#secret;
    if (s === undefined) return { client_id: this.options.clientId, auth: { method: 'none' } };
    return {
      client_id: this.options.clientId,
      auth: { method: this.options.secretMethod === 'post' ? 'client_secret_post' : 'client_secret_basic', client_secret: s },
    };
  }

  #insecure(): boolean {
    return !!this.options.allowInsecureHttp;
  }

  async #drive(
    spec: FlowSpec,
    key: CredentialKey | undefined,
    redirect: RedirectSource = { kind: 'none' },
    extra: {
      signal?: AbortSignal;
      openBrowserForDevice?: boolean;
      noBrowser?: boolean;
      onPrompt?: (a: Action) => void;
      /** The caller already holds the credential's lock (a renewal); a login takes it to write. */
      lockHeld?: boolean;
    } = {},
  ): Promise<{ outcome: Outcome; choice: StoreChoice | undefined }> {
    let choice: StoreChoice | undefined;
    const { lockHeld, ...runExtra } = extra;
    const flow = Flow.start(spec, randomSeed());
    try {
      const outcome = await run(
        flow,
        redirect,
        async (c) => {
          if (!key) return;
          if (lockHeld) {
            choice = this.store.save(key, c);
            return;
          }
          // A login takes the lock only to write: a process refreshing the previous session
          // under the lock must not overwrite the new login.
          const guard = await this.store.lock(key);
          try {
            choice = this.store.save(key, c);
          } finally {
            guard.release();
          }
        },
        { fetch: this.#fetch, ui: this.#uiImpl, timeoutMs: this.options.timeoutMs, ...runExtra },
      );
      return { outcome, choice };
    } finally {
      flow.free();
    }
  }

  /** The server metadata: the configured one, else discovery (cached a day in `<config dir>/metadata/`). */
  async metadata(): Promise<ServerMetadata> {
    if (this.#metadata) return this.#metadata;
    const path = join(this.store.dir, 'metadata', `${serverKey(this.options.issuer, '')}.json`);
    try {
      const v = JSON.parse(fs.readFileSync(path, 'utf8')) as { fetched_at?: unknown; metadata?: ServerMetadata };
      const fresh = typeof v.fetched_at === 'number' && Date.now() - v.fetched_at < 86_400_000;
      if (fresh && v.metadata && v.metadata.issuer === this.options.issuer) {
        this.#metadata = v.metadata;
        return v.metadata;
      }
    } catch {
      /* no cache */
    }
    const { outcome } = await this.#drive({ flow: 'discovery', issuer: this.options.issuer, document: 'auto', allow_insecure_http: this.#insecure() }, undefined);
    if (outcome.kind !== 'metadata') throw usage('internal_error', 'Discovery did not return metadata.');
    try {
      writeAtomic(path, JSON.stringify(sortKeys({ fetched_at: Date.now(), metadata: outcome.metadata })));
    } catch {
      /* a cache only */
    }
    this.#metadata = outcome.metadata;
    return outcome.metadata;
  }

  /** Chooses a method for `auto` (the core's rule): CI → client credentials; desktop → browser; else device; paste without a device endpoint. */
  async chooseMethod(): Promise<Exclude<LoginMethod, 'auto'>> {
    const here = surroundings();
    const variables = [envName(this.options.app, 'TOKEN'), envName(this.options.app, 'CLIENT_SECRET')] as const;
    if (autoMethodInCi(here, this.#secret !== undefined, ...variables) !== null) return 'clientCredentials';
    return autoMethodInteractive(here, await this.metadata());
  }

  /** Logs in with `method` and stores the credential under the current profile. */
  async login(options: LoginOptions = {}): Promise<LoginReport> {
    const ownSignal = !options.signal;
    const controller = new AbortController();
    let presses = 0;
    const onSigint = () => {
      // The first Ctrl-C cancels the login cleanly (stores are only written atomically); a second exits.
      if (++presses > 1) process.exit(130);
      controller.abort();
    };
    if (ownSignal && this.options.interactive !== false) process.on('SIGINT', onSigint);
    try {
      return await this.#login({ ...options, signal: options.signal ?? controller.signal });
    } finally {
      if (ownSignal) process.off('SIGINT', onSigint);
    }
  }

  async #login(options: LoginOptions): Promise<LoginReport> {
    const key = this.#key();
    const method = options.method === undefined || options.method === 'auto' ? await this.chooseMethod() : options.method;
    const signal = options.signal;
    const onPrompt = options.onPrompt;
    let name: LoginReport['method'];
    let result: { outcome: Outcome; choice: StoreChoice | undefined };
    switch (method) {
      case 'token': {
        if (!options.token) throw usage('missing_token', 'The token login needs `token` (an API key or personal access token).');
        result = await this.#drive({ flow: 'api_key', key: options.token, presentation: options.presentation ?? { scheme: 'bearer' } }, key);
        name = 'token';
        break;
      }
      case 'device': {
        const server = await this.metadata();
        // Absent, as the core sees it (an empty string is present, and refused by the flow).
        if (server.device_authorization_endpoint === undefined || server.device_authorization_endpoint === null) {
          // What `auto` picks for a server without one: the browser, or paste away from a
          // desktop (or no_interactive_method, before saying anything).
          const method = autoMethodInteractive(surroundings(), server) === 'paste' ? 'paste' : 'browser';
          this.#uiImpl.info('The server has no device authorization endpoint; using the browser login instead.');
          return this.#login({ ...options, method });
        }
        const spec: FlowSpec = {
          flow: 'device',
          server,
          client: this.#oauthClient(),
          allow_insecure_http: this.#insecure(),
          clock_drift_margin_ms: 0,
        };
        if (this.options.scope !== undefined) spec.scope = this.options.scope;
        if (this.options.resource?.length) spec.resource = this.options.resource;
        result = await this.#drive(spec, key, { kind: 'none' }, { signal, onPrompt, openBrowserForDevice: desktop(surroundings()) });
        name = 'device';
        break;
      }
      case 'browser':
      case 'paste': {
        const paste = method === 'paste';
        const server = await this.metadata();
        const host = this.options.redirectHost ?? '127.0.0.1';
        const wantedPort = this.options.redirectPort ?? 0;
        const listener = paste ? undefined : await (await import('./listener.js')).LoopbackListener.bind(host, wantedPort);
        try {
          const port = listener ? listener.port : wantedPort === 0 ? 8400 : wantedPort;
          if (listener && wantedPort !== 0 && isSsh()) {
            this.#uiImpl.info(
              `Listening on ${listener.host}:${listener.port} for the login redirect. From your desktop, forward it with: ssh -L ${listener.port}:127.0.0.1:${listener.port} <this host>`,
            );
          }
          const spec: FlowSpec = {
            flow: 'authorization_code',
            server,
            client: this.#oauthClient(),
            redirect_port: port,
            redirect_host: host,
            redirect_path: this.options.redirectPath ?? '/callback',
            redirect_timeout_ms: DEFAULT_REDIRECT_TIMEOUT_MS,
            allow_insecure_http: this.#insecure(),
          };
          if (this.options.scope !== undefined) spec.scope = this.options.scope;
          if (this.options.redirectUri !== undefined) spec.redirect_uri = this.options.redirectUri;
          if (this.options.resource?.length) spec.resource = this.options.resource;
          const source: RedirectSource = listener ? { kind: 'listener', listener } : { kind: 'paste', input: options.input };
          result = await this.#drive(spec, key, source, { signal, onPrompt, noBrowser: paste });
        } finally {
          await listener?.close();
        }
        name = paste ? 'paste' : 'browser';
        break;
      }
      case 'clientCredentials': {
        result = await this.#drive(await this.#clientCredentialsSpec(), key, { kind: 'none' }, { signal });
        name = 'client_credentials';
        break;
      }
      case 'password': {
        if (options.username === undefined || options.password === undefined) {
          throw usage('missing_password', 'The password login needs `username` and `password`.');
        }
        const spec: FlowSpec = {
          flow: 'password',
          server: await this.metadata(),
          client: this.#oauthClient(),
          username: options.username,
          password: options.password,
          enable_password_grant: !!this.options.enablePasswordGrant,
          allow_insecure_http: this.#insecure(),
        };
        if (this.options.scope !== undefined) spec.scope = this.options.scope;
        result = await this.#drive(spec, key, { kind: 'none' }, { signal });
        name = 'password';
        break;
      }
      default:
        throw usage('invalid_method', `Unknown login method \`${String(method)}\`: use device, browser, paste, clientCredentials, password or token.`);
    }
    const store = result.choice;
    if (!store) throw usage('internal_error', 'The login produced no credential to store.');
    if (store.store === 'file' && (this.options.store ?? 'auto') === 'auto') this.#uiImpl.warn(`credential ${store.reason}`);
    await this.store.setActiveProfile(this.options.issuer, this.options.clientId, key.profile);
    const report: LoginReport = { method: name, profile: key.profile, store };
    if (result.outcome.kind === 'tokens') {
      if (result.outcome.tokens.scope !== undefined) report.scope = result.outcome.tokens.scope;
      if (result.outcome.tokens.expires_at !== undefined) report.expires_at = result.outcome.tokens.expires_at;
    }
    return report;
  }

  async #clientCredentialsSpec(): Promise<FlowSpec> {
    if (this.#secret === undefined) {
      throw usage(
        'missing_client_secret',
        `Client credentials need a client secret: set ${envName(this.options.app, 'CLIENT_SECRET')} or TERMAUTH_CLIENT_SECRET (never pass it on the command line).`,
      );
    }
    const spec: FlowSpec = {
      flow: 'client_credentials',
      server: await this.metadata(),
      client: this.#oauthClient(),
      allow_insecure_http: this.#insecure(),
    };
    if (this.options.scope !== undefined) spec.scope = this.options.scope;
    if (this.options.resource?.length) spec.resource = this.options.resource;
    return spec;
  }

  /** The token from `<APP>_TOKEN`, if set. */
  envToken(): string | undefined {
    const t = process.env[envName(this.options.app, 'TOKEN')]?.trim();
    return t ? t : undefined;
  }

  /**
   * A valid access token (or key): `<APP>_TOKEN` when set; else the stored credential,
   * renewed under its lock when due.
   * @throws StorageError `not_logged_in` / `login_required` (hint reauthenticate), network and server errors.
   */
  async getToken(): Promise<string> {
    const t = this.envToken();
    if (t !== undefined) return t;
    const c = await this.#fresh(false);
    return c.kind === 'oauth' ? c.tokens.access_token : c.key;
  }

  /** The fresh stored credential (renewed when due). */
  getCredential(): Promise<Credential> {
    return this.#fresh(false);
  }

  /** Renews the stored credential now, whatever its expiry. */
  refresh(): Promise<Credential> {
    return this.#fresh(true);
  }

  #skew(): number {
    return this.options.refreshSkewMs ?? 60_000;
  }

  async #fresh(force: boolean): Promise<Credential> {
    const key = this.#key();
    const first = this.store.load(key);
    if (!first) throw notLoggedIn(this.options.app);
    const d0 = decide(first.credential, Date.now(), this.#skew());
    if (d0.decision === 'use' && !force) return first.credential;
    if (d0.decision === 'relogin') throw relogin(d0.reason);
    const guard = await this.store.lock(key);
    try {
      // Re-read after locking: another process may have renewed it while we waited.
      const again = this.store.load(key);
      if (!again) throw notLoggedIn(this.options.app);
      const credential = again.credential;
      const decision = decideLocked(first.credential, credential, Date.now(), this.#skew(), force);
      if (decision.decision === 'use') return credential;
      if (decision.decision === 'relogin') throw relogin(decision.reason);
      try {
        if (decision.decision === 'refresh') await this.#runRefresh(key, credential);
        else await this.#drive(await this.#clientCredentialsSpec(), key, { kind: 'none' }, { lockHeld: true });
        const renewed = this.store.load(key);
        if (!renewed) throw notLoggedIn(this.options.app);
        return renewed.credential;
      } catch (e) {
        if (!(e instanceof TermauthError)) throw e;
        // RFC 6749 §10.4 rotation: a process that does not honour the lock may have rotated
        // the refresh token first; the record then holds the new one. Re-read once.
        if (e.kind === 'oauth' && e.code === 'invalid_grant') {
          const latest = this.store.load(key);
          if (latest && renewedElsewhere(credential, latest.credential, Date.now())) {
            return latest.credential;
          }
        }
        const after = afterRenewalFailure(credential, e, Date.now());
        if (after.decision === 'use') {
          this.#uiImpl.warn(`could not renew the token (${e.message}); using the current one until it expires`);
          return credential;
        }
        if (after.decision === 'relogin') throw relogin(after.reason);
        throw e;
      }
    } finally {
      guard.release();
    }
  }

  async #runRefresh(key: CredentialKey, credential: Credential): Promise<void> {
    const spec: FlowSpec = {
      flow: 'refresh',
      server: await this.metadata(),
      client: this.#oauthClient(),
      credential,
      allow_insecure_http: this.#insecure(),
    };
    if (this.options.resource?.length) spec.resource = this.options.resource;
    await this.#drive(spec, key, { kind: 'none' }, { lockHeld: true });
  }

  /**
   * Revokes the stored tokens at the server (refresh token first, RFC 7009), then deletes
   * the credential. Offline, it still deletes and says the server copy was not revoked.
   */
  async logout(): Promise<LogoutReport> {
    const key = this.#key();
    const guard = await this.store.lock(key);
    try {
      let loaded: ReturnType<Store['load']>;
      let loadError: TermauthError | undefined;
      try {
        loaded = this.store.load(key);
      } catch (e) {
        if (!(e instanceof TermauthError)) throw e;
        loadError = e;
      }
      let note: string | undefined;
      let revoked = false;
      if (loaded) {
        const c = loaded.credential;
        if (c.kind === 'oauth') {
          const list: TokenToSend[] = [];
          if (c.tokens.refresh_token !== undefined) list.push({ token: c.tokens.refresh_token, token_type_hint: 'refresh_token' });
          list.push({ token: c.tokens.access_token, token_type_hint: 'access_token' });
          try {
            const server = await this.metadata();
            if (!server.revocation_endpoint) throw usage('missing_endpoint', 'The server has no revocation endpoint.');
            await this.#drive({ flow: 'revocation', server, client: this.#oauthClient(), tokens: list, allow_insecure_http: this.#insecure() }, undefined);
            revoked = true;
          } catch (e) {
            if (!(e instanceof TermauthError)) throw e;
            note = `The tokens were deleted here but not revoked at the server: ${e.message}`;
          }
        } else {
          note = 'The API key was deleted here; it is still valid at the server until you revoke it there.';
        }
      } else if (loadError) {
        note = `The stored credential was unreadable (${loadError.message}); it was deleted.`;
      }
      const removed = this.store.delete(key);
      const report: LogoutReport = { removed, revoked };
      if (note !== undefined) report.note = note;
      return report;
    } finally {
      guard.release();
    }
  }

  /** Which token `getToken` would use, from where, and in what state. */
  status(): Status {
    let profile = 'default';
    try {
      profile = this.profile();
    } catch {
      /* default */
    }
    const status: Status = {
      source: 'none',
      env_var: envName(this.options.app, 'TOKEN'),
      profile,
      issuer: this.options.issuer,
      client_id: this.options.clientId,
      refreshable: false,
    };
    if (this.envToken() !== undefined) {
      status.source = 'env';
      return status;
    }
    try {
      const loaded = this.store.load(this.#key());
      if (loaded) {
        const c = loaded.credential;
        status.source = 'store';
        status.store = loaded.choice;
        if (c.kind === 'oauth') {
          status.kind = 'oauth';
          status.grant = c.grant;
          if (c.tokens.scope !== undefined) status.scope = c.tokens.scope;
          if (c.tokens.expires_at !== undefined) status.expires_at = c.tokens.expires_at;
          status.refreshable = c.tokens.refresh_token !== undefined || (c.grant === 'client_credentials' && this.#secret !== undefined);
        } else status.kind = 'api_key';
        status.decision = decide(c, Date.now(), this.#skew()).decision;
      }
    } catch (e) {
      if (!(e instanceof TermauthError)) throw e;
      status.error = e;
    }
    return status;
  }

  /** The stored profiles for this issuer and client. */
  profiles(): ProfileInfo[] {
    const active = this.profile();
    return this.store.profiles(this.options.issuer, this.options.clientId).map((name) => ({ name, active: name === active }));
  }

  /** Makes `profile` the active one. */
  useProfile(profile: string): Promise<void> {
    return this.store.setActiveProfile(this.options.issuer, this.options.clientId, profile);
  }
}

