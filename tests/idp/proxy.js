// A real forward proxy for the proxy tests of every language, listening on 127.0.0.1 only:
// HTTP (CONNECT tunnels and absolute-form requests, `GET http://host:port/path`) and
// SOCKS5 (RFC 1928: no authentication, CONNECT, IPv4 / domain / IPv6 addresses).
//
//   node proxy.js [--port N] [--socks-port N] [--map host=127.0.0.1 ...]
//
// Prints one JSON line when ready:
// {"proxy":"http://127.0.0.1:PORT","socks":"socks5://127.0.0.1:PORT"}. `--map` resolves a
// host name the machine does not know (the IdP's `--issuer-host`) to an address; any
// other host is refused with 502, so nothing leaves the machine. `GET /__proxy/log`
// (origin-form, i.e. asked of the HTTP proxy itself) answers the requests both carried so
// far: [{"method":"CONNECT","target":"idp.test:1234"}, {"method":"SOCKS5","target":"…"}, …].
import { createServer, request } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'socks-port': { type: 'string', default: '0' },
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

// SOCKS5 (RFC 1928): greeting → method 0 (no authentication); CONNECT request → reply,
// then the connection is a tunnel.
const socks = createTcpServer((client) => {
  let buf = Buffer.alloc(0);
  let stage = 'greeting';
  const fail = (code) => {
    client.end(Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]));
  };
  const onData = (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (stage === 'greeting') {
      if (buf.length < 2 || buf.length < 2 + buf[1]) return;
      const methods = buf.subarray(2, 2 + buf[1]);
      buf = buf.subarray(2 + buf[1]);
      if (!methods.includes(0)) {
        client.end(Buffer.from([5, 0xff]));
        return;
      }
      client.write(Buffer.from([5, 0]));
      stage = 'request';
    }
    if (stage !== 'request' || buf.length < 5) return;
    const atyp = buf[3];
    const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + buf[4] : -1;
    if (addrLen < 0) return fail(8); // address type not supported
    if (buf.length < 4 + addrLen + 2) return;
    const addr = buf.subarray(4, 4 + addrLen);
    const host = atyp === 1 ? [...addr].join('.') : atyp === 3 ? addr.subarray(1).toString('latin1')
      : addr.toString('hex').match(/.{4}/g).join(':');
    const port = buf.readUInt16BE(4 + addrLen);
    const rest = buf.subarray(4 + addrLen + 2);
    client.off('data', onData);
    stage = 'tunnel';
    log.push({ method: 'SOCKS5', target: `${host}:${port}` });
    const address = buf[1] === 1 ? resolve(host) : undefined;
    if (!address) return fail(buf[1] === 1 ? 4 : 7); // host unreachable / command not supported
    let connected = false;
    const upstream = connect(port, address, () => {
      connected = true;
      client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
      if (rest.length) upstream.write(rest);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => (connected ? client.destroy() : fail(5))); // 5: connection refused
    client.on('error', () => upstream.destroy());
  };
  client.on('data', onData);
  client.on('error', () => {});
});

await new Promise((ok, fail) => {
  server.once('error', fail);
  server.listen(Number(args.port), '127.0.0.1', ok);
});
await new Promise((ok, fail) => {
  socks.once('error', fail);
  socks.listen(Number(args['socks-port']), '127.0.0.1', ok);
});
process.stdout.write(`${JSON.stringify({
  proxy: `http://127.0.0.1:${server.address().port}`,
  socks: `socks5://127.0.0.1:${socks.address().port}`,
})}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections?.();
    socks.close();
    server.close(() => process.exit(0));
  });
}
