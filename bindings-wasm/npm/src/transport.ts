// HTTP transport for the flows: global fetch (injectable), no redirects (an OAuth endpoint
// that redirects a POST is misconfigured, and following it could send secrets elsewhere),
// a timeout, and a cap on the response size. It makes no protocol decision: it turns a
// send_request action into an http_response or transport_error input.
import type { Header, Input, SendRequest, TransportErrorKind } from './types.js';

/** The response limit of the core (`termauth_core::http::MAX_RESPONSE_BYTES`). */
export const MAX_RESPONSE_BYTES = 256 * 1024;

/** A fetch-compatible function (global fetch, undici's with a proxy agent, a test double). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

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
