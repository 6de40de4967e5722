// The high-level API: log in, get a fresh token, log out, status, profiles. Each call runs
// one core session (termauth_core::session, see session.ts) and executes its actions —
// HTTP (transport.ts), storage primitives (store.ts), the loopback listener, a browser,
// the terminal (ui.ts). Every decision, and every sentence shown, is the session's: the
// same executor as native/src/client.rs.
import { errorFrom, TermauthError } from './errors.js';
import { openBrowser, snapshot } from './environment.js';
import { randomSeed } from './flow.js';
import type { Arrival, LoopbackListener } from './listener.js';
import { LineReader } from './paste.js';
import { Session } from './session.js';
import { execute as executeStorage } from './store.js';
import { checkTimeout, environmentFetch, send, type FetchLike } from './transport.js';
import { Silent, Terminal, type Ui } from './ui.js';
import type { ClientOptions, CredentialLock, LoginOptions, Status } from './options.js';
import type {
  Credential, LoginReport, LogoutReport, ProfileInfo, ServerMetadata, SessionAction, SessionCommand, SessionConfig, SessionOutcome,
  StatusData, TokenReport,
} from './types.js';

/** What one run keeps between actions. */
interface Running {
  cancel?: AbortController; // made on first need (Node loads AbortController on first use): cancelOf
  cancelSent: boolean;
  listener?: LoopbackListener;
  browser?: Arrival;
  lines?: LineReader;
  stopSigint?: () => void;
}

const MAX_TIMER = 2 ** 31 - 1;
const cancelOf = (running: Running) => (running.cancel ??= new AbortController());

function sleepUntil(atMs: number, signal: AbortSignal | undefined, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(Math.max(0, atMs - Date.now()), maxMs, MAX_TIMER));
    signal?.addEventListener('abort', done, { once: true });
  });
}

const unexpected = (what: string) => errorFrom({ kind: 'usage', code: 'internal_error', message: `termauth: ${what}`, hint: 'fatal' });

/** The termauth client: `login`, `getToken`, `refresh`, `logout`, `status`, profiles. */
export class Client {
  /** The options, without `clientSecret` (kept privately, so printing a Client shows no secret). */
  readonly options: Readonly<Omit<ClientOptions, 'clientSecret'>>;
  #secret: string | undefined;
  #fetch: FetchLike | undefined;
  #ui: Ui | undefined;

  /**
   * @throws UsageError when the core refuses the options (`invalid_session_spec`, `invalid_profile`),
   * or `timeoutMs` is not a positive whole number (`invalid_timeout`).
   */
  constructor(options: ClientOptions) {
    const { clientSecret, ...rest } = options ?? ({} as ClientOptions);
    this.options = rest;
    this.#secret = clientSecret;
    this.#ui = options?.ui;
    checkTimeout(rest.timeoutMs);
    // The core checks the options now (no IO), so a bad one fails here, not at first use.
    Session.start({ command: { op: 'status' }, config: this.#config(), environment: {} }, new Uint8Array(32), 0).free();
  }

  get #terminal(): Ui {
    this.#ui ??= this.options.interactive === false ? new Silent() : new Terminal();
    return this.#ui;
  }

  #config(): SessionConfig {
    const o = this.options;
    return {
      app: o.app, issuer: o.issuer, client_id: o.clientId, scope: o.scope, client_secret: this.#secret,
      secret_method: o.secretMethod, profile: o.profile, store: o.store, config_dir: o.configDir, metadata: o.metadata,
      redirect_host: o.redirectHost, redirect_port: o.redirectPort, redirect_path: o.redirectPath, redirect_uri: o.redirectUri,
      resource: o.resource, allow_insecure_http: o.allowInsecureHttp, enable_password_grant: o.enablePasswordGrant,
      refresh_skew_ms: o.refreshSkewMs, redirect_timeout_ms: o.redirectTimeoutMs, lock_wait_ms: o.lockWaitMs, launch_browser: o.launchBrowser, debug: o.debug,
    };
  }

  /** Logs in (`auto` by default: the core picks from where the CLI runs) and stores the credential under the profile. */
  async login(options: LoginOptions = {}): Promise<LoginReport> {
    const { method = 'auto', username, password, token, presentation } = options;
    const name = method === 'clientCredentials' ? 'client_credentials' : method;
    const command = { op: 'login', method: name, username, password, token, presentation } as SessionCommand;
    return only(await this.#run(command, options), 'login');
  }

  /**
   * A valid access token (or key): `<APP>_TOKEN` when set; else the stored credential,
   * renewed under its cross-process lock when due.
   * @throws StorageError `not_logged_in` / `login_required` (hint reauthenticate), network and server errors.
   */
  async getToken(): Promise<string> {
    return (await this.getTokenReport()).token;
  }

  /** Like `getToken`, with where the token came from, its header, expiry and stored record. */
  async getTokenReport(): Promise<TokenReport> {
    return only(await this.#run({ op: 'get_token' }), 'token');
  }

  /**
   * An access token limited to `scope` and/or for `resource` (RFC 8707), got by a refresh of the stored grant and not
   * stored (the stored token stays the login's): for handing a narrower token to something that needs less.
   * @throws UsageError `scope_not_granted` when the login's grant does not cover `scope`, `scoped_token_needs_refresh` without a refresh token.
   */
  async getTokenFor(options: { scope?: string; resource?: string[] }): Promise<TokenReport> {
    const command: SessionCommand = {
      op: 'get_token',
      ...(options.scope !== undefined && { scope: options.scope }),
      ...(options.resource?.length && { resource: [...options.resource] }),
    };
    return only(await this.#run(command), 'token');
  }

  /** The stored credential `getToken` uses (renewed when due); undefined while `<APP>_TOKEN` supplies the token. */
  async getCredential(): Promise<Credential | undefined> {
    return (await this.getTokenReport()).credential;
  }

  /** Renews the stored credential now, whatever its expiry; a refused renewal is an error. `text` says so for the user. */
  async refresh(): Promise<TokenReport> {
    return only(await this.#run({ op: 'refresh' }), 'token');
  }

  /** Revokes at the server (refresh token first, RFC 7009), then deletes; offline it still deletes and says so. */
  async logout(): Promise<LogoutReport> {
    return only(await this.#run({ op: 'logout' }), 'logout');
  }

  /** Which token `getToken` would use, from where, and in what state (a store problem is in `error`). Reads the store only. */
  status(): Status {
    const outcome = this.#runSync({ op: 'status' });
    if (outcome.kind !== 'status') throw unexpected(`the session ended with \`${outcome.kind}\`, not \`status\``);
    const { kind: _outcome, ...status } = outcome;
    return statusFrom(status);
  }

  /** The status of every credential stored for this app — each issuer, client and profile, ordered so — from the store alone (`<APP>_TOKEN` is not consulted). */
  statusAll(): Status[] {
    return only(this.#runSync({ op: 'status_all' }), 'status_all').statuses.map(statusFrom);
  }

  /** The stored profiles for this issuer and client. Reads the store only. */
  profiles(): ProfileInfo[] {
    return only(this.#runSync({ op: 'profiles' }), 'profiles').profiles;
  }

  /** Makes `profile` the active one (it must have a stored credential). */
  async useProfile(profile: string): Promise<void> {
    only(await this.#run({ op: 'use_profile', profile }), 'profile_used');
  }

  /** The server metadata: configured, else cached (a day), else discovered (and cached). */
  async metadata(): Promise<ServerMetadata> {
    return only(await this.#run({ op: 'discover' }), 'metadata').metadata;
  }

  /**
   * Takes the credential's lock — the one renewals and logins take, in every language — for
   * a program that must not race termauth on this credential; `release()` it (or `using`).
   * Waits up to `lockWaitMs`.
   */
  async lock(): Promise<CredentialLock> {
    const { path, nonce } = only(await this.#run({ op: 'lock' }), 'locked');
    let held = true;
    const release = () => {
      if (held) only(this.#runSync({ op: 'unlock', nonce }), 'unlocked');
      held = false;
    };
    return { path, release, [Symbol.dispose]: release };
  }

  /** Runs one session to its end, executing its actions. */
  async #run(command: SessionCommand, login: LoginOptions = {}): Promise<SessionOutcome> {
    const spec = { command, config: this.#config(), environment: snapshot(this.options.app) };
    const session = Session.start(spec, randomSeed(), Date.now());
    const running: Running = { cancelSent: false };
    const stop = () => cancelOf(running).abort();
    login.signal?.addEventListener('abort', stop, { once: true });
    if (login.signal?.aborted) stop();
    try {
      return await this.#execute(session, running, login);
    } finally {
      login.signal?.removeEventListener('abort', stop);
      running.stopSigint?.();
      running.lines?.close();
      await running.listener?.close();
      this.#ui?.clear();
      session.free();
    }
  }

  /** Runs a session that only uses the store (status, profiles, unlock): its actions are storage primitives and notices. */
  #runSync(command: SessionCommand): SessionOutcome {
    const session = Session.start({ command, config: this.#config(), environment: snapshot(this.options.app) }, randomSeed(), Date.now());
    try {
      for (;;) {
        const action = session.poll(Date.now());
        const answer = executeStorage(action);
        if (answer) session.handle(answer, Date.now());
        else if (action.type === 'done') return action.result;
        else if (action.type === 'failed') throw errorFrom(action.error);
        else if (action.type === 'notice') this.#terminal.notice(action.level, action.text, action.code);
        else throw unexpected(`the session asked for \`${action.type}\` while only reading the store`);
      }
    } finally {
      session.free();
    }
  }

  /** Ctrl-C, once something may take a while: the first cancels the session, a second exits with 130. */
  #armSigint(running: Running): void {
    if (running.stopSigint || this.options.interactive === false) return;
    const onSigint = () => (running.cancel?.signal.aborted ? process.exit(130) : cancelOf(running).abort());
    process.on('SIGINT', onSigint);
    running.stopSigint = () => process.off('SIGINT', onSigint);
  }

  async #execute(session: Session, running: Running, login: LoginOptions): Promise<SessionOutcome> {
    for (;;) {
      if (running.cancel?.signal.aborted && !running.cancelSent) {
        running.cancelSent = true;
        session.handle({ type: 'cancel' }, Date.now());
      }
      const action: SessionAction = session.poll(Date.now());
      const answer = executeStorage(action);
      if (answer) {
        session.handle(answer, Date.now());
        continue;
      }
      switch (action.type) {
        case 'done':
          return action.result;
        case 'failed':
          throw errorFrom(action.error);
        case 'send_request':
          this.#armSigint(running);
          this.#fetch ??= this.options.fetch ?? environmentFetch({ warn: (text) => this.#terminal.notice('warning', text, 'proxy') });
          session.handle(await send(action, this.#fetch, this.options.timeoutMs), Date.now());
          break;
        case 'wait_until':
          this.#armSigint(running);
          // Wake early only to hand a new Ctrl-C to the session: a wait it still asks for
          // after the cancel is one it will not cut short (storing issued tokens).
          while (Date.now() < action.at_ms && (running.cancelSent || !running.cancel?.signal.aborted)) {
            if (action.progress) this.#terminal.progress(Date.now(), action.progress);
            await sleepUntil(action.at_ms, running.cancelSent ? undefined : cancelOf(running).signal, 100);
          }
          break;
        case 'launch_browser':
          session.handle({ type: 'browser_launched', id: action.id, launched: openBrowser(action.url) }, Date.now());
          break;
        case 'show_user_code':
          login.onPrompt?.(action);
          this.#terminal.showUserCode(action);
          break;
        case 'show_authorization_url':
          login.onPrompt?.(action);
          this.#terminal.showAuthorizationUrl(action);
          break;
        case 'notice':
          this.#terminal.notice(action.level, action.text, action.code);
          break;
        case 'listen': {
          // node:http is loaded only for a browser login: importing termauth stays cheap.
          const { LoopbackListener } = await import('./listener.js');
          try {
            running.listener = await LoopbackListener.bind(action.host, action.port, action.not_found_html);
            session.handle({ type: 'listening', id: action.id, port: running.listener.port }, Date.now());
          } catch (e) {
            session.handle({ type: 'io_error', id: action.id, message: e instanceof Error ? e.message : String(e) }, Date.now());
          }
          break;
        }
        case 'await_redirect': {
          this.#armSigint(running);
          const { signal } = cancelOf(running);
          if (action.source === 'listener') {
            if (!running.listener) throw unexpected('a redirect was awaited without a listener');
            const arrival = await running.listener.wait(action.redirect_uri, action.until_ms, signal);
            if (arrival) {
              running.browser = arrival;
              session.handle({ type: 'redirect', url: arrival.target }, Date.now());
            }
          } else {
            running.lines ??= new LineReader(login.input ?? process.stdin);
            const line = await running.lines.next(Math.max(0, action.until_ms - Date.now()), signal);
            if (line === null) session.handle({ type: 'input_closed' }, Date.now());
            else if (line !== undefined && line.trim() !== '') session.handle({ type: 'redirect', url: line.trim() }, Date.now());
          }
          break;
        }
        case 'answer_browser':
          running.browser?.answer(action.status, action.html);
          running.browser = undefined;
          break;
        default:
          throw unexpected(`the session asked for \`${action.type}\`, which this version cannot do`);
      }
    }
  }
}

/** A status of the session's, its errors as {@link TermauthError}s. */
function statusFrom(raw: StatusData): Status {
  const { error, problem, ...status } = raw;
  return { ...status, ...(error && { error: errorFrom(error) }), ...(problem && { problem: errorFrom(problem) }) };
}

/** The report of the expected kind, without the tag (a session of one command ends with that command's outcome). */

function only<K extends SessionOutcome['kind']>(outcome: SessionOutcome, kind: K): Omit<Extract<SessionOutcome, { kind: K }>, 'kind'> {
  if (outcome.kind !== kind) throw unexpected(`the session ended with \`${outcome.kind}\`, not \`${kind}\``);
  const { kind: _, ...report } = outcome as Extract<SessionOutcome, { kind: K }>;
  return report;
}
