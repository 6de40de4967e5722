// A real HTTP forward proxy for the proxy tests of every language: CONNECT tunnels and
// absolute-form requests (`GET http://host:port/path`), listening on 127.0.0.1 only.
//
//   node proxy.js [--port N] [--map host=127.0.0.1 ...]
//
// Prints one JSON line when ready: {"proxy":"http://127.0.0.1:PORT"}. `--map` resolves a
// host name the machine does not know (the IdP's `--issuer-host`) to an address; any
// other host is refused with 502, so nothing leaves the machine. `GET /__proxy/log`
// (origin-form, i.e. asked of the proxy itself) answers the requests it carried so far:
// [{"method":"CONNECT","target":"idp.test:1234"}, {"method":"POST","target":"http://…"}].
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    map: { type: 'string', multiple: true, default: [] },
  },
});

const hosts = new Map();
for (const m of args.map) {
  const [name, address] = m.split('=');
  if (!name || !address) {
    console.error(`invalid --map ${m} (host=address expected)`);
    process.exit(2);
  }
  hosts.set(name.toLowerCase(), address);
}

/** The address of a mapped host, or of a loopback one; undefined for anything else. */
function resolve(host) {
  const h = host.toLowerCase();
  if (hosts.has(h)) return hosts.get(h);
  if (h === '127.0.0.1' || h === 'localhost') return '127.0.0.1';
  return undefined;
}

const log = [];

const server = createServer((req, res) => {
  if (req.url === '/__proxy/log') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(log));
    return;
  }
  let target;
  try {
    target = new URL(req.url);
  } catch {
    res.writeHead(400).end('a proxy request needs an absolute URL\n');
    return;
  }
  log.push({ method: req.method, target: req.url });
  const address = resolve(target.hostname);
  if (!address || target.protocol !== 'http:') {
    res.writeHead(502).end(`this test proxy does not reach ${target.host}\n`);
    return;
  }
  const upstream = request(
    { host: address, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (e) => res.headersSent ? res.destroy() : res.writeHead(502).end(`${e.message}\n`));
  req.pipe(upstream);
});

server.on('connect', (req, socket, head) => {
  log.push({ method: 'CONNECT', target: req.url });
  const [host, port] = [req.url.slice(0, req.url.lastIndexOf(':')), Number(req.url.slice(req.url.lastIndexOf(':') + 1))];
  const address = resolve(host.replace(/^\[|\]$/g, ''));
  if (!address || !port) {
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    return;
  }
  const upstream = connect(port, address, () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});

await new Promise((ok, fail) => {
  server.once('error', fail);
  server.listen(Number(args.port), '127.0.0.1', ok);
});
process.stdout.write(`${JSON.stringify({ proxy: `http://127.0.0.1:${server.address().port}` })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
  });
}
