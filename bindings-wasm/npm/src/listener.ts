// The loopback redirect listener (RFC 8252 §7.3, §8.3), the same rules as
// native/src/listener.rs: binds a loopback address only, hands a GET on the exact callback
// path to the session and keeps its connection open until the session's `answer_browser`
// page is written to it, and answers everything else with the session's `not_found_html`
// (404, or 405 for other methods). The pages are the session's, escaped there.
//
// node:http serves connections concurrently, and parses a request only once its head is
// complete. What it cannot parse — a head cut by the peer's FIN, past 16 KiB or its 5 s —
// is closed unanswered, as in every termauth listener, and so is a request line that is
// not HTTP/1.x (RFC 9112 §3), which node:http would otherwise hand over.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';

/** Callbacks kept for the next `wait()` while the session is busy; more are dropped unanswered. */
export const MAX_QUEUED_CALLBACKS = 8;

/** Writes an HTML page with this status and closes the connection. */
export function respond(res: ServerResponse, status: number, html: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    Connection: 'close',
  });
  res.end(html);
}

/** A callback that arrived: its request target (`/callback?code=…`), and its connection. */
export interface Arrival {
  target: string;
  /** Answers the browser with the session's page (once). */
  answer(status: number, html: string): void;
}

/** The path of a redirect URI (`http://127.0.0.1:8400/callback` → `/callback`). */
export function urlPath(uri: string): string {
  const rest = uri.includes('://') ? uri.slice(uri.indexOf('://') + 3) : uri;
  const i = rest.indexOf('/');
  return i < 0 ? '/' : rest.slice(i).split(/[?#]/)[0]!;
}

function loopbackIp(host: string): string | Error {
  const bare = host.replace(/^\[/, '').replace(/\]$/, '');
  const ip = bare === 'localhost' ? '127.0.0.1' : bare;
  // The reasons are the Rust listener's, handed to the session as the io_error's text.
  if (isIP(ip) === 0) return new Error(`\`${bare}\` is not a loopback IP address`);
  const loopback = isIP(ip) === 4 ? ip.startsWith('127.') : ip === '::1' || ip === '0:0:0:0:0:0:0:1';
  return loopback ? ip : new Error('the redirect listener only binds loopback addresses (RFC 8252 §8.3)');
}

/** A bound loopback listener. */
export class LoopbackListener {
  readonly port: number;
  #server: Server;
  #notFound: string;
  #path: string | undefined;
  #waiting: ((a: Arrival) => void) | undefined;
  #queued: Arrival[] = [];

  private constructor(server: Server, port: number, notFoundHtml: string) {
    this.#server = server;
    this.port = port;
    this.#notFound = notFoundHtml;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
  }

  /**
   * Binds `host` (`127.0.0.1`, `[::1]`/`::1`, or `localhost` meaning 127.0.0.1) on `port`
   * (0 = a random free port). `notFoundHtml` answers every other request.
   * @throws Error why it could not bind (the OS's words), or that the host is not loopback.
   */
  static async bind(host: string, port: number, notFoundHtml: string): Promise<LoopbackListener> {
    const ip = loopbackIp(host);
    if (ip instanceof Error) throw ip;
    const server = createServer({ maxHeaderSize: 16 * 1024 });
    server.maxHeadersCount = 100;
    server.headersTimeout = 5_000;
    server.requestTimeout = 5_000;
    // A request node:http could not parse (a head cut short, too large, or too slow) is
    // closed unanswered rather than with its 400/408/431: nothing of it reaches the session.
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: ip, port, exclusive: true }, () => resolve());
    });
    const address = server.address();
    server.unref();
    return new LoopbackListener(server, typeof address === 'object' && address ? address.port : port, notFoundHtml);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.httpVersionMajor !== 1) {
      // node:http takes `GET /callback?…` without a version as HTTP/0.9, and an
      // `HTTP/2.0` request line too: neither is an HTTP/1.x request, so neither is a redirect.
      res.destroy();
      return;
    }
    const target = req.url ?? '';
    if (req.method !== 'GET' || this.#path === undefined || target.split('?')[0] !== this.#path) {
      respond(res, req.method === 'GET' ? 404 : 405, this.#notFound);
      return;
    }
    const arrival: Arrival = { target, answer: (status, html) => respond(res, status, html) };
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting(arrival);
    } else if (this.#queued.length < MAX_QUEUED_CALLBACKS) {
      this.#queued.push(arrival);
    } else {
      // A flood: the connection is dropped rather than kept open.
      res.destroy();
    }
  }

  /**
   * Waits for a GET on `redirectUri`'s path until `untilMs` or until `signal` aborts.
   * Resolves with the callback, or `undefined` (deadline or cancel: the session's next
   * poll says which). Other requests are answered with the not-found page meanwhile.
   */
  wait(redirectUri: string, untilMs: number, signal?: AbortSignal): Promise<Arrival | undefined> {
    this.#path = urlPath(redirectUri);
    const queued = this.#queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const finish = (a: Arrival | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#waiting === finish) this.#waiting = undefined;
        resolve(a);
      };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.min(Math.max(0, untilMs - Date.now()), 2 ** 31 - 1));
      if (signal?.aborted) return finish(undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting = finish;
    });
  }

  /** Stops listening and closes every connection (a callback never answered included). */
  close(): Promise<void> {
    this.#queued = [];
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections?.();
    });
  }
}
