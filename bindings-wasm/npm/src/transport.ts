// HTTP transport for the flows: global fetch (injectable), no redirects (an OAuth endpoint
// that redirects a POST is misconfigured, and following it could send secrets elsewhere),
// a timeout, and a cap on the response size. It makes no protocol decision: it turns a
// send_request action into an http_response or transport_error input.
import { load } from './builtins.js';
import { usage } from './errors.js';
import { unwrap } from './flow.js';
import type { Header, Input, SendRequest, TransportErrorKind } from './types.js';
import * as wasm from './wasm.js';

/** The response limit of the core (`termauth_core::http::MAX_RESPONSE_BYTES`). */
export const MAX_RESPONSE_BYTES = 256 * 1024;

/** A fetch-compatible function (global fetch, undici's with a proxy agent, a test double). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The proxy for a request to `url`, by termauth-core's rule (`termauth_core::proxy`, the
 * same as the Rust CLI's): the first of `HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`,
 * `all_proxy`, `HTTP_PROXY`, `http_proxy` that is set, for every URL; none for loopback hosts
 * (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`) and for hosts `NO_PROXY` / `no_proxy`
 * names (`*`, a host or address, a domain with or without a leading `.` or `*.`). A proxy
 * without a scheme is `http://`; `socks5h://` is returned as `socks5://` (the proxy
 * resolves names). Throws UsageError `unsupported_proxy` for other schemes. The URL may
 * hold a password: do not print it.
 *
 * ```ts
 * proxyFor('https://login.example.com/token', { HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '.internal' });
 * // → { url: 'http://proxy.corp:3128', variable: 'HTTPS_PROXY' }
 * ```
 */
export function proxyFor(url: string, env: NodeJS.ProcessEnv = process.env): { url: string; variable: string } | undefined {
  // Only the proxy variables cross into the core (their names all end in "proxy").
  const vars = Object.fromEntries(Object.entries(env).filter(([name, value]) => /proxy$/i.test(name) && value !== undefined));
  return unwrap<{ url: string; variable: string } | null>(wasm.proxyFor(url, JSON.stringify(vars))) ?? undefined;
}

/** What the transport uses of undici. */
export interface UndiciLike {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  ProxyAgent: new (uri: string) => NonNullable<RequestInit['dispatcher']>;
}

/** undici (an optional dependency): Node's built-in fetch ignores proxy variables. */
function loadUndici(): UndiciLike | string {
  try {
    return load('undici') as UndiciLike;
  } catch (e) {
    return (e as { code?: string }).code === 'MODULE_NOT_FOUND'
      ? 'the optional package undici is not installed'
      : `the optional package undici could not be loaded (${(e as Error).message})`;
  }
}

/** Options of {@link environmentFetch}. */
export interface EnvironmentFetchOptions {
  /** The environment to read the proxy variables from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Told once when a proxy is configured but undici is missing (the Client's `ui.warn`). */
  warn?: (message: string) => void;
  /** Loads undici (tests). */
  load?: () => UndiciLike | string;
}

/**
 * The default transport: global `fetch`, or — when {@link proxyFor} gives a proxy (HTTP,
 * HTTPS or SOCKS5) — undici's `fetch` through a `ProxyAgent` (Node's built-in fetch ignores
 * the proxy variables). Without undici the request goes direct: `warn` says so once, and a
 * failure says so too. An unusable proxy setting fails the request, naming the variable.
 */
export function environmentFetch(options: EnvironmentFetchOptions = {}): FetchLike {
  const { env = process.env, warn, load = loadUndici } = options;
  const agents = new Map<string, NonNullable<RequestInit['dispatcher']>>();
  let undici: UndiciLike | string | undefined;
  let warned = false;
  return async (url, init) => {
    const proxy = proxyFor(url, env);
    if (!proxy) return globalThis.fetch(url, init);
    undici ??= load();
    if (typeof undici === 'string') {
      const note = `${proxy.variable} is set but ${undici}, so the proxy was not used (npm install undici)`;
      if (!warned) warn?.(`${note}; requests go direct`);
      warned = true;
      return globalThis.fetch(url, init).catch((e: unknown) => {
        const err = e as { name?: string; code?: string; cause?: { code?: string } };
        throw Object.assign(
          // The note first: the core keeps the first 200 characters of a transport message.
          new Error(`${note}: ${describe(e)}`),
          // errorKind still classifies it (by name and code).
          { name: err?.name ?? 'Error', code: err?.cause?.code ?? err?.code },
        );
      });
    }
    let agent = agents.get(proxy.url);
    if (agent === undefined) {
      try {
        agent = new undici.ProxyAgent(proxy.url);
      } catch {
        // Not undici's message: it could quote the URL, which may hold a password.
        throw new Error(`${proxy.variable} is not a valid proxy URL; fix it, or list this host in NO_PROXY`);
      }
      agents.set(proxy.url, agent);
    }
    return undici.fetch(url, { ...init, dispatcher: agent });
  };
}

function errorKind(e: unknown): TransportErrorKind {
  const err = e as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout';
  const code = err?.cause?.code ?? err?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  // Not ECONNRESET: a reset may come after the request was sent (the Rust transport agrees).
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'connect';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
  if (/CERT|SSL|TLS|SELF_SIGNED/i.test(code)) return 'tls';
  return 'other';
}

function describe(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const cause = err?.cause?.message ?? err?.cause?.code;
  return cause ? `${err?.message ?? 'fetch failed'}: ${cause}` : String(err?.message ?? e);
}

async function readCapped(res: Response, signal: AbortSignal): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  // At the deadline the body is cancelled, even from a fetch that ignored `signal` (the
  // connection is let go; `send` has answered with the timeout already).
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', cancel, { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_RESPONSE_BYTES) {
        await reader.cancel().catch(() => {});
        // Over the limit: hand the core an oversized body so it reports response_too_large.
        return ' '.repeat(MAX_RESPONSE_BYTES + 1);
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  if (signal.aborted) throw signal.reason;
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(all);
}

/**
 * Refuses a `timeoutMs` that is not a positive whole number of milliseconds (`invalid_timeout`),
 * as Python's `timeout_ms` and the C client's `request_timeout_ms` are refused; a fraction too, as
 * AbortSignal.timeout would throw on it at every request.
 */
export function checkTimeout(timeoutMs: number | undefined): void {
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) {
    throw usage('invalid_timeout', '`timeoutMs` must be a positive whole number of milliseconds.');
  }
}

/** The overall deadline of a request unless the Client's `timeoutMs` says otherwise: 30 s, as in every termauth language. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Sends `req` and returns the input to feed back to the flow. Never throws. `timeoutMs` is
 * the request's overall deadline — connecting, sending, the response's headers and its body
 * together: a server still answering when it passes (one that trickles its answer, or never
 * answers) gives a `timeout` transport error, even through a `fetchImpl` that ignores
 * `signal`.
 */
export async function send(req: SendRequest, fetchImpl: FetchLike, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Input> {
  try {
    // Node's timers hold at most 2^31 - 1 ms (24.8 days); a longer delay would fire at once.
    const signal = AbortSignal.timeout(Math.min(timeoutMs, 2 ** 31 - 1));
    const expired = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    const init: RequestInit = {
      method: req.method,
      headers: req.headers.map(([k, v]) => [k, v] as [string, string]),
      redirect: 'manual',
      signal,
    };
    if (req.method === 'POST') init.body = req.body;
    const exchange = async (): Promise<Input> => {
      const res = await fetchImpl(req.url, init);
      const headers: Header[] = [];
      res.headers.forEach((value, name) => headers.push([name, value]));
      const body = await readCapped(res, signal);
      return { type: 'http_response', id: req.id, status: res.status, headers, body };
    };
    return await Promise.race([exchange(), expired]);
  } catch (e) {
    return { type: 'transport_error', id: req.id, kind: errorKind(e), message: describe(e).slice(0, 200) };
  }
}
