// The loopback redirect listener (RFC 8252 §7.3, §8.3), the same rules as
// native/src/listener.rs: binds a loopback address only, answers GET on the exact callback
// path, 404/405 to everything else, one small page that HTML-escapes what it shows, and
// stops after one callback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { usage } from './errors.js';

/** Escapes text for HTML element content and attribute values. */
export function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Writes a small HTML page (everything shown is escaped) and closes. */
export function respond(res: ServerResponse, status: number, title: string, message: string): void {
  const body =
    `<!doctype html><html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title>` +
    `<style>body{font-family:system-ui,sans-serif;margin:4em auto;max-width:36em;line-height:1.5}</style>` +
    `</head><body><h1>${htmlEscape(title)}</h1><p>${htmlEscape(message)}</p></body></html>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    Connection: 'close',
  });
  res.end(body);
}

function isLoopback(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith('127.');
  if (isIP(ip) === 6) return ip === '::1' || ip === '0:0:0:0:0:0:0:1';
  return false;
}

/** A callback that arrived: its request target, and the response to answer it with. */
export interface Arrival {
  target: string;
  response: ServerResponse;
  /** Answers the browser with the small escaped page. */
  respond(status: number, title: string, message: string): void;
}

/** A bound loopback listener. */
export class LoopbackListener {
  readonly host: string;
  readonly port: number;
  #server: Server;
  #waiting: { path: string; resolve: (a: Arrival) => void } | undefined;
  #queued: Arrival[] = [];

  private constructor(server: Server, host: string, port: number) {
    this.#server = server;
    this.host = host;
    this.port = port;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
  }

  /**
   * Binds `host` (`127.0.0.1`, `[::1]`/`::1`, or `localhost` meaning 127.0.0.1) on `port`
   * (0 = a random free port).
   * @throws UsageError `listener_bind` when the port is taken or the host is not loopback.
   */
  static async bind(host: string, port: number): Promise<LoopbackListener> {
    const bare = host.replace(/^\[/, '').replace(/\]$/, '');
    const ip = bare === 'localhost' ? '127.0.0.1' : bare;
    if (isIP(ip) === 0) throw usage('listener_bind', `\`${bare}\` is not a loopback IP address.`);
    if (!isLoopback(ip)) throw usage('listener_bind', 'The redirect listener only binds loopback addresses (RFC 8252 §8.3).');
    const server = createServer();
    server.maxHeadersCount = 100;
    server.headersTimeout = 5_000;
    server.requestTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: Error) =>
        reject(
          usage(
            'listener_bind',
            `Could not listen on ${host}:${port} for the browser's redirect (${e.message}). Choose another port, or use the device login.`,
          ),
        ),
      );
      server.listen({ host: ip, port, exclusive: true }, () => resolve());
    });
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    server.unref();
    return new LoopbackListener(server, host, bound);
  }

  #path: string | undefined;

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '';
    const path = target.split('?')[0];
    const wanted = this.#waiting?.path ?? this.#path;
    if (req.method === 'GET' && wanted !== undefined && path === wanted) {
      const arrival: Arrival = { target, response: res, respond: (s, t, m) => respond(res, s, t, m) };
      const w = this.#waiting;
      if (w) {
        this.#waiting = undefined;
        w.resolve(arrival);
      } else if (this.#queued.length === 0) {
        // One callback may wait for the next wait(); more are refused at once, so a flood
        // of requests cannot pile up open sockets.
        this.#queued.push(arrival);
      } else {
        respond(res, 409, 'Busy', 'A login redirect is already being processed.');
      }
      return;
    }
    respond(res, req.method === 'GET' ? 404 : 405, 'Not found', 'This address only receives the login redirect.');
  }

  /**
   * Waits for a GET on `path` until `untilMs` or until `signal` aborts. Resolves with the
   * callback, or `undefined` (deadline or cancel: the flow's next poll says which).
   */
  wait(path: string, untilMs: number, signal?: AbortSignal): Promise<Arrival | undefined> {
    this.#path = path;
    const queued = this.#queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const finish = (a: Arrival | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#waiting?.resolve === done) this.#waiting = undefined;
        resolve(a);
      };
      const done = (a: Arrival) => finish(a);
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.max(0, untilMs - Date.now()));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return finish(undefined);
      this.#waiting = { path, resolve: done };
    });
  }

  /** Stops listening. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections?.();
    });
  }
}
