// HTTP transport for the flows: global fetch (injectable), no redirects (an OAuth endpoint
// that redirects a POST is misconfigured, and following it could send secrets elsewhere),
// a timeout, and a cap on the response size. It makes no protocol decision: it turns a
// send_request action into an http_response or transport_error input.
import { createRequire } from 'node:module';
import type { Header, Input, SendRequest, TransportErrorKind } from './types.js';

/** The response limit of the core (`termauth_core::http::MAX_RESPONSE_BYTES`). */
export const MAX_RESPONSE_BYTES = 256 * 1024;

/** A fetch-compatible function (global fetch, undici's with a proxy agent, a test double). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy'];

function envAny(env: NodeJS.ProcessEnv, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

/**
 * The proxy for a request to `url`, by the Rust driver's rules (`native/src/transport.rs`),
 * so a CLI behaves the same whichever language it is written in: the first of
 * `HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, `all_proxy`, `HTTP_PROXY`, `http_proxy` that is
 * set, for every URL; none for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`) and for
 * hosts `NO_PROXY` / `no_proxy` names (`*`, a host, or a domain with or without its leading
 * dot; a `:port` in an entry is ignored). A proxy without a scheme is `http://`.
 *
 * ```ts
 * proxyFor('https://login.example.com/token', { HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '.internal' });
 * // → { url: 'http://proxy.corp:3128', variable: 'HTTPS_PROXY' }
 * ```
 */
export function proxyFor(url: string, env: NodeJS.ProcessEnv = process.env): { url: string; variable: string } | undefined {
  const proxy = envAny(env, PROXY_VARIABLES);
  if (!proxy) return undefined;
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
  if (host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1') return undefined;
  const noProxy = envAny(env, ['NO_PROXY', 'no_proxy']);
  const entries = (noProxy?.value ?? '').split(',').map((e) => e.trim().toLowerCase()).filter((e) => e !== '');
  for (const entry of entries) {
    const domain = (entry.split(':')[0] ?? '').replace(/^\.+/, '');
    if (entry === '*' || host === domain || host.endsWith(`.${domain}`)) return undefined;
  }
  return { url: proxy.value.includes('://') ? proxy.value : `http://${proxy.value}`, variable: proxy.name };
}

/** What the transport uses of undici. */
export interface UndiciLike {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  ProxyAgent: new (uri: string) => NonNullable<RequestInit['dispatcher']>;
}

/** undici (an optional dependency): Node's built-in fetch ignores proxy variables. */
function loadUndici(): UndiciLike | string {
  try {
    return createRequire(import.meta.url)('undici') as UndiciLike;
  } catch (e) {
    return (e as { code?: string }).code === 'MODULE_NOT_FOUND'
      ? 'the optional package undici is not installed'
      : `the optional package undici could not be loaded (${(e as Error).message})`;
  }
}

/**
 * The default transport: global `fetch`, or — when {@link proxyFor} gives a proxy —
 * undici's `fetch` through a `ProxyAgent` (Node's built-in fetch ignores `HTTPS_PROXY`).
 * Without undici the request goes direct, and if it fails the error says that the proxy
 * was not used and how to fix it. `load` is for tests.
 */
export function environmentFetch(env: NodeJS.ProcessEnv = process.env, load: () => UndiciLike | string = loadUndici): FetchLike {
  const agents = new Map<string, NonNullable<RequestInit['dispatcher']>>();
  let undici: UndiciLike | string | undefined;
  return async (url, init) => {
    const proxy = proxyFor(url, env);
    if (!proxy) return globalThis.fetch(url, init);
    undici ??= load();
    if (typeof undici === 'string') {
      const why = undici;
      return globalThis.fetch(url, init).catch((e: unknown) => {
        const err = e as { name?: string; code?: string; cause?: { code?: string } };
        throw Object.assign(
          // The note first: the core keeps the first 200 characters of a transport message.
          new Error(`${proxy.variable} is set but ${why}, so the proxy was not used (npm install undici): ${describe(e)}`),
          // errorKind still classifies it (by name and code).
          { name: err?.name ?? 'Error', code: err?.cause?.code ?? err?.code },
        );
      });
    }
    let agent = agents.get(proxy.url);
    if (agent === undefined) {
      agent = new undici.ProxyAgent(proxy.url);
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
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'connect';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
  if (/CERT|SSL|TLS|SELF_SIGNED/i.test(code)) return 'tls';
  return 'other';
}

function describe(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const cause = err?.cause?.message ?? err?.cause?.code;
  return cause ? `${err?.message ?? 'fetch failed'}: ${cause}` : String(err?.message ?? e);
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
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
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(all);
}

/** Sends `req` and returns the input to feed back to the flow. Never throws. */
export async function send(req: SendRequest, fetchImpl: FetchLike, timeoutMs = 30_000): Promise<Input> {
  try {
    const init: RequestInit = {
      method: req.method,
      headers: req.headers.map(([k, v]) => [k, v] as [string, string]),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    };
    if (req.method === 'POST') init.body = req.body;
    const res = await fetchImpl(req.url, init);
    const headers: Header[] = [];
    res.headers.forEach((value, name) => headers.push([name, value]));
    const body = await readCapped(res);
    return { type: 'http_response', id: req.id, status: res.status, headers, body };
  } catch (e) {
    return { type: 'transport_error', id: req.id, kind: errorKind(e), message: describe(e).slice(0, 200) };
  }
}
