// The driver loop: runs any flow to completion with real IO. It is the one loop of the
// contract (poll, do what the action says, feed the result back, until done or failed) and
// contains no protocol decision: the same as native/src/driver.rs.
import { load } from './builtins.js';
import type { Interface } from 'node:readline';
import { errorFrom, makeError, usage } from './errors.js';
import { openBrowser } from './environment.js';
import type { Arrival, LoopbackListener } from './listener.js';
import { send, type FetchLike } from './transport.js';
import type { Action, Credential, Outcome } from './types.js';
import type { Flow } from './flow.js';
import type { Ui } from './ui.js';

/** Where the redirect of an authorization code flow comes from. */
export type RedirectSource =
  | { kind: 'listener'; listener: LoopbackListener }
  | { kind: 'paste'; input?: NodeJS.ReadableStream }
  | { kind: 'none' };

export interface RunOptions {
  fetch: FetchLike;
  ui: Ui;
  signal?: AbortSignal;
  /** Also open a browser at the device flow's verification URI (desktop sessions). */
  openBrowserForDevice?: boolean;
  /** Do not try to open a browser for the authorization code flow (paste mode). */
  noBrowser?: boolean;
  /** Called with the authorization URL / device prompt, for hosts that want it (tests, GUIs). */
  onPrompt?: (action: Action) => void;
  timeoutMs?: number;
}

const MAX_TIMER = 2 ** 31 - 1;

function sleepUntil(atMs: number, signal: AbortSignal | undefined, maxMs: number): Promise<void> {
  const ms = Math.min(Math.max(0, atMs - Date.now()), maxMs, MAX_TIMER);
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Lines typed on an input stream, one promise at a time (paste mode). */
class LineReader {
  #rl: Interface;
  #lines: (string | null)[] = [];
  #waiter: ((l: string | null) => void) | undefined;
  constructor(input: NodeJS.ReadableStream) {
    // node:readline is loaded only for paste mode: importing termauth stays cheap.
    const { createInterface } = load('node:readline') as typeof import('node:readline');
    this.#rl = createInterface({ input, terminal: false });
    this.#rl.on('line', (l) => this.#push(l));
    this.#rl.on('close', () => this.#push(null));
  }
  #push(l: string | null) {
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w(l);
    } else this.#lines.push(l);
  }
  /** The next line, null at end of input, undefined if none arrived before `ms`. */
  next(ms: number, signal?: AbortSignal): Promise<string | null | undefined> {
    if (this.#lines.length) return Promise.resolve(this.#lines.shift()!);
    return new Promise((resolve) => {
      const finish = (v: string | null | undefined) => {
        clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        this.#waiter = undefined;
        resolve(v);
      };
      const onAbort = () => finish(undefined);
      const t = setTimeout(() => finish(undefined), Math.min(ms, MAX_TIMER));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiter = (l) => finish(l);
    });
  }
  close() {
    this.#rl.close();
  }
}

function urlPath(uri: string): string {
  const rest = uri.includes('://') ? uri.split('://')[1]! : uri;
  const i = rest.indexOf('/');
  return i < 0 ? '/' : rest.slice(i).split(/[?#]/)[0]!;
}

/**
 * Runs `flow` until it finishes. `persist` stores each credential the flow emits.
 * @throws the flow's failure as a TermauthError, or the store's error from `persist`.
 */
export async function run(
  flow: Flow,
  redirect: RedirectSource,
  persist: (c: Credential) => void | Promise<void>,
  o: RunOptions,
): Promise<Outcome> {
  let pending: Action | undefined;
  let codeExpiresAt: number | undefined;
  let reader: LineReader | undefined;
  try {
    for (;;) {
      if (o.signal?.aborted) flow.handle({ type: 'cancel' }, Date.now());
      const action = pending ?? flow.poll(Date.now());
      pending = undefined;
      switch (action.type) {
        case 'send_request': {
          const input = await send(action, o.fetch, o.timeoutMs);
          flow.handle(input, Date.now());
          break;
        }
        case 'show_user_code': {
          codeExpiresAt = action.expires_at;
          o.onPrompt?.(action);
          const opened = !!o.openBrowserForDevice && openBrowser(action.verification_uri_complete ?? action.verification_uri);
          o.ui.showUserCode(action, opened);
          break;
        }
        case 'open_browser': {
          o.onPrompt?.(action);
          const paste = redirect.kind === 'paste';
          const opened = !paste && !o.noBrowser && openBrowser(action.url);
          o.ui.showBrowser(action.url, opened, paste);
          break;
        }
        case 'persist':
          await persist(action.credential);
          break;
        case 'wait_until': {
          const deadline = codeExpiresAt ?? action.at_ms;
          while (Date.now() < action.at_ms && !o.signal?.aborted) {
            o.ui.tick(Date.now(), deadline);
            await sleepUntil(action.at_ms, o.signal, 100);
          }
          break;
        }
        case 'await_redirect': {
          if (redirect.kind === 'listener') {
            const arrival: Arrival | undefined = await redirect.listener.wait(urlPath(action.redirect_uri), action.until_ms, o.signal);
            if (!arrival) break; // timeout or cancel: the next poll says which
            try {
              flow.handle({ type: 'redirect', url: arrival.target }, Date.now());
            } catch (e) {
              arrival.respond(400, 'Login failed', (e as Error).message);
              break;
            }
            const next = flow.poll(Date.now());
            if (next.type === 'failed') arrival.respond(200, 'Login failed', `${next.error.message} You can close this window.`);
            else arrival.respond(200, 'Login complete', 'You are logged in. You can close this window and return to the terminal.');
            pending = next;
          } else if (redirect.kind === 'paste') {
            reader ??= new LineReader(redirect.input ?? process.stdin);
            const line = await reader.next(Math.max(0, Math.min(action.until_ms - Date.now(), 200)), o.signal);
            if (line === undefined || (line !== null && line.trim() === '')) break;
            if (line === null) {
              flow.handle({ type: 'cancel' }, Date.now());
              throw makeError('interrupted', 'stdin_closed', 'Standard input closed before the redirect URL was pasted.', 'reauthenticate');
            }
            try {
              flow.handle({ type: 'redirect', url: line.trim() }, Date.now());
            } catch (e) {
              o.ui.warn(`${(e as Error).message} Paste it again:`);
            }
          } else {
            throw usage('no_redirect_source', 'This flow waits for a redirect but the driver has no listener or paste input.');
          }
          break;
        }
        case 'await_response':
          throw usage('internal_error', `Request ${action.id} was not answered by the driver.`);
        case 'done':
          o.ui.clear();
          return action.result;
        case 'failed':
          o.ui.clear();
          throw errorFrom(action.error);
      }
    }
  } finally {
    reader?.close();
  }
}
