// The loopback redirect listener (RFC 8252 §7.3, §8.3), the same rules as
// native/src/listener.rs and bindings-python/python/termauth/_listener.py: binds a loopback
// address only, hands a GET on the exact callback path to the session and keeps its
// connection open until the session's `answer_browser` page is written to it, and answers
// everything else with the session's `not_found_html` (404, or 405 for other methods). The
// pages are the session's, escaped there.
//
// node:http serves connections concurrently, and parses a request only once its head is
// complete. What it cannot parse — a head cut by the peer's FIN, past 16 KiB or its 5 s —
// is closed unanswered, as in every termauth listener, and so is a request line that is
// not HTTP/1.x (RFC 9112 §3), which node:http would otherwise hand over.
//
// A complete callback that arrives while the session is busy (or before its first wait(),
// when the callback path is not known yet) is kept for its next wait(). At most
// MAX_CONNECTIONS connections neither answered nor handed to the session are kept (those
// still sending their head, and those callbacks): when one more arrives, the oldest of them
// is closed unanswered, as Rust and Python do, so a flood cannot push out the browser's
// redirect that arrives after it. Where node:http differs from them: it accepts
// connections even while the session is not waiting (Rust and Python accept only in
// wait(), leaving them to the kernel's backlog meanwhile), and it enforces the 5 s only
// when it checks its connections (every CHECK_EVERY_MS), so a head that is not complete in
// 5 s is dropped within 6 s (`server.maxConnections` is not used: it refuses the newest
// connection instead of dropping the oldest); and its 16 KiB (maxHeaderSize) is llhttp's
// count of the head, which leaves a few of its bytes out.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';

/** Connections kept at once that are not answered yet (Rust's and Python's 64); one more drops the oldest. */
export const MAX_CONNECTIONS = 64;

/** How long one connection may take to send its request line and headers. */
export const REQUEST_READ_MS = 5_000;

/** The most a request head may take (node:http's `maxHeaderSize`, see above). */
export const MAX_REQUEST_HEAD = 16 * 1024;

/** How often node:http looks for connections past REQUEST_READ_MS (its default, 30 s, would let them live 35 s). */
const CHECK_EVERY_MS = 1_000;

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

/** A complete request not answered yet. */
interface Incoming {
  socket: Socket;
  method: string;
  target: string;
  res: ServerResponse;
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
  /** The callback path, known from the first `wait()`; until then every request is kept. */
  #path: string | undefined;
  #waiting: ((a: Arrival) => void) | undefined;
  /** Connections neither answered nor handed to the session, oldest first. */
  #unanswered = new Set<Socket>();
  /** Complete requests kept for the next `wait()`, in arrival order (their connections are in #unanswered). */
  #kept: Incoming[] = [];

  private constructor(server: Server, port: number, notFoundHtml: string) {
    this.#server = server;
    this.port = port;
    this.#notFound = notFoundHtml;
    server.on('connection', (socket: Socket) => this.#onConnection(socket));
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
    const server = createServer({ maxHeaderSize: MAX_REQUEST_HEAD, connectionsCheckingInterval: CHECK_EVERY_MS });
    server.maxHeadersCount = 100;
    // Both from the connection's start (an idle connection included) until its head, and
    // its body if any, arrived.
    server.headersTimeout = REQUEST_READ_MS;
    server.requestTimeout = REQUEST_READ_MS;
    // A request node:http could not parse (a head cut short, too large, or too slow) is
    // closed unanswered rather than with its 400/408/431: nothing of it reaches the session
    // (RFC 9112 §8 lets a server close on an incomplete request).
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: ip, port, exclusive: true }, () => resolve());
    });
    const address = server.address();
    server.unref();
    return new LoopbackListener(server, typeof address === 'object' && address ? address.port : port, notFoundHtml);
  }

  #onConnection(socket: Socket): void {
    if (this.#unanswered.size >= MAX_CONNECTIONS) {
      // A flood: the oldest connection waits no more (a Set iterates in insertion order).
      const oldest = this.#unanswered.values().next().value;
      if (oldest) this.#drop(oldest);
    }
    this.#unanswered.add(socket);
    socket.once('close', () => this.#forget(socket));
  }

  /** Closes a connection unanswered. */
  #drop(socket: Socket): void {
    this.#forget(socket);
    socket.destroy();
  }

  #forget(socket: Socket): void {
    this.#unanswered.delete(socket);
    if (this.#kept.some((r) => r.socket === socket)) this.#kept = this.#kept.filter((r) => r.socket !== socket);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.httpVersionMajor !== 1) {
      // node:http takes `GET /callback?…` without a version as HTTP/0.9, and an
      // `HTTP/2.0` request line too: neither is an HTTP/1.x request, so neither is a redirect.
      this.#drop(req.socket);
      return;
    }
    const request: Incoming = { socket: req.socket, method: req.method ?? '', target: req.url ?? '', res };
    if (this.#path === undefined) {
      // Before the first wait() the callback path is not known: kept, as Rust leaves the
      // connection for its first wait() and Go's handler waits for the path.
      this.#kept.push(request);
      return;
    }
    if (!this.#isCallback(request)) {
      this.#answerNotFound(request);
      return;
    }
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting(this.#handOver(request));
    } else {
      this.#kept.push(request); // the session is busy: for its next wait()
    }
  }

  #isCallback(r: Incoming): boolean {
    return r.method === 'GET' && r.target.split('?')[0] === this.#path;
  }

  /** Answers a request that is not the callback with the not-found page (404, or 405 for another method). */
  #answerNotFound(r: Incoming): void {
    this.#unanswered.delete(r.socket);
    respond(r.res, r.method === 'GET' ? 404 : 405, this.#notFound);
  }

  /** A callback for the session: its connection is no longer the listener's to drop. */
  #handOver(r: Incoming): Arrival {
    this.#unanswered.delete(r.socket);
    return { target: r.target, answer: (status, html) => respond(r.res, status, html) };
  }

  /**
   * Waits for a GET on `redirectUri`'s path until `untilMs` or until `signal` aborts.
   * Resolves with the callback, or `undefined` (deadline or cancel: the session's next
   * poll says which). Other requests are answered with the not-found page meanwhile.
   */
  wait(redirectUri: string, untilMs: number, signal?: AbortSignal): Promise<Arrival | undefined> {
    this.#path = urlPath(redirectUri);
    // Requests kept before the path was known that are not the callback are answered now.
    for (const r of this.#kept) if (!this.#isCallback(r)) this.#answerNotFound(r);
    this.#kept = this.#kept.filter((r) => this.#isCallback(r));
    const first = this.#kept.shift();
    if (first) return Promise.resolve(this.#handOver(first));
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
    this.#kept = [];
    this.#unanswered.clear();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections?.();
    });
  }
}
