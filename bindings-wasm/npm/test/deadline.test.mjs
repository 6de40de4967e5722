// The overall deadline of an HTTP request (connect, sending, the response's headers and its
// body together), the Client's `timeoutMs`: a peer on 127.0.0.1 that trickles the headers
// one byte every 200 ms forever, one that sends whole headers and then trickles a
// 100000-byte body, and one that accepts the connection and never answers. Each gives the
// transport error every language gives (kind `transport`, timed out, exit code 4) within the
// deadline and a margin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Client, TransportError, UsageError, exitCode } from '../dist/index.js';
import { tempDir } from './helpers.mjs';

const DEADLINE_MS = 1500;
const MARGIN_MS = 2000;
const TRICKLE_MS = 200;

/** A server on 127.0.0.1 (node:net) that never completes a response; resolves { issuer, close }. */
async function slowPeer(mode) {
  const sockets = new Set();
  const timers = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (mode === 'silent') return; // the connection stays open, unanswered
    let pending;
    if (mode === 'headers') {
      pending = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Trickle: ');
    } else {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
      pending = Buffer.alloc(0);
    }
    const filler = mode === 'headers' ? 'a' : ' ';
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      const byte = pending.length > 0 ? pending.subarray(0, 1) : filler;
      pending = pending.subarray(1);
      socket.write(byte);
    }, TRICKLE_MS);
    timers.add(timer);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    issuer: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// The default transport, and an injected fetch that ignores `signal` (the deadline is the
// transport's own, not fetch's).
const transports = {
  'the default fetch': undefined,
  'a fetch that ignores signal': (url, init) => globalThis.fetch(url, { ...init, signal: undefined }),
};

for (const [label, fetch] of Object.entries(transports))
for (const mode of ['headers', 'body', 'silent']) {
  test(`timeoutMs bounds the whole request (${label}): a peer that ${mode === 'silent' ? 'never answers' : `trickles its ${mode}`}`, async () => {
    const peer = await slowPeer(mode);
    try {
      const c = new Client({
        app: 'termauth',
        issuer: peer.issuer,
        clientId: 'deadline',
        configDir: tempDir(),
        store: 'file',
        interactive: false,
        timeoutMs: DEADLINE_MS,
        ...(fetch ? { fetch } : {}),
      });
      const start = performance.now();
      const err = await c.metadata().then(
        () => assert.fail('a peer that never completes its answer'),
        (e) => e,
      );
      const elapsed = performance.now() - start;
      console.log(`Node timeoutMs 1500 (${label}), peer ${mode}: ${err.constructor.name} ${err.code} after ${(elapsed / 1000).toFixed(2)} s`);
      assert.ok(err instanceof TransportError, String(err));
      assert.equal(err.kind, 'transport');
      assert.equal(err.code, 'transport_error');
      assert.equal(err.hint, 'retry_later');
      assert.match(err.message, /timed out/);
      assert.equal(exitCode(err), 4);
      assert.ok(elapsed >= DEADLINE_MS - 100 && elapsed < DEADLINE_MS + MARGIN_MS, `${elapsed} ms`);
    } finally {
      await peer.close();
    }
  });
}

test('timeoutMs must be a positive whole number of milliseconds: anything else is refused when the Client is made', () => {
  const options = { app: 'termauth', issuer: 'https://login.example.com', clientId: 'x', configDir: tempDir(), interactive: false };
  for (const bad of [0, -1, -0, 1.5, NaN, Infinity, -Infinity, 2 ** 53, '30', true, null]) {
    assert.throws(
      () => new Client({ ...options, timeoutMs: bad }),
      (e) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.equal(e.code, 'invalid_timeout');
        assert.equal(e.hint, 'fix_configuration');
        assert.equal(e.message, '`timeoutMs` must be a positive whole number of milliseconds.');
        assert.equal(exitCode(e), 5);
        return true;
      },
      String(bad),
    );
  }
  for (const good of [undefined, 1, 1500, 30_000, 2 ** 31]) new Client({ ...options, timeoutMs: good });
});

test('a timeoutMs past what a Node timer holds (2^31 - 1 ms) does not fire at once', async () => {
  const peer = await slowPeer('silent');
  try {
    const c = new Client({
      app: 'termauth', issuer: peer.issuer, clientId: 'deadline', configDir: tempDir(), store: 'file', interactive: false,
      timeoutMs: 2 ** 32,
    });
    const outcome = await Promise.race([c.metadata().then(() => 'answered', (e) => e), new Promise((r) => setTimeout(() => r('still waiting'), 500))]);
    assert.equal(outcome, 'still waiting');
  } finally {
    await peer.close();
  }
});
