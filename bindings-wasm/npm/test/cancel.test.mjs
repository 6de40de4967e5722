// Ctrl-C: the first SIGINT cancels the running session (it fails with `cancelled`, exit code
// 130 from the core's mapping), a second exits at once with 130 — in a real child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.mjs';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** A child doing a device login against a stub server; `tokenRequest` is `pending` (keep polling) or `hang` (never answers). */
function child(tokenRequest) {
  const script = `
import { Client, exitCode } from ${JSON.stringify(dist)};
import { createServer } from 'node:net';
// A server that accepts the token request and never answers.
const silent = createServer(() => {});
await new Promise((r) => silent.listen(0, '127.0.0.1', r));
silent.unref();
const server = { issuer: 'https://as.example', token_endpoint: 'https://as.example/token', device_authorization_endpoint: 'https://as.example/device' };
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const c = new Client({
  app: 'canceltest', issuer: server.issuer, clientId: 'cli', metadata: server, store: 'file', launchBrowser: false,
  configDir: ${JSON.stringify(join(tempDir(), 'config'))},
  fetch: async (url) => url.endsWith('/device')
    ? json(200, { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'https://as.example/d', expires_in: 600, interval: 1 })
    : ${tokenRequest === 'hang' ? "fetch('http://127.0.0.1:' + silent.address().port + '/', { method: 'POST' })" : "json(400, { error: 'authorization_pending' })"},
});
try {
  await c.login({ method: 'device', onPrompt: () => process.stdout.write('READY\\n') });
} catch (e) {
  console.error(e.code + ': ' + e.message);
  process.exitCode = exitCode(e);
}
`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const ready = new Promise((resolve) => p.stdout.on('data', (d) => String(d).includes('READY') && resolve()));
  const exit = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { p, ready, exit };
}

test('the first Ctrl-C cancels the login: the session fails with cancelled, exit code 130', async () => {
  const { p, ready, exit } = child('pending');
  await ready;
  await new Promise((r) => setTimeout(r, 200)); // waiting for approval now
  p.kill('SIGINT');
  const { code, stderr } = await exit;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /^cancelled: /m);
});

test('a second Ctrl-C exits at once with 130, even while a request hangs', async () => {
  const { p, ready, exit } = child('hang');
  await ready;
  await new Promise((r) => setTimeout(r, 1_300)); // the token request is out, and never answered
  p.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(p.exitCode, null, 'the first Ctrl-C waits for the request to end');
  p.kill('SIGINT');
  const { code, stderr } = await exit;
  assert.equal(code, 130, stderr);
  assert.doesNotMatch(stderr, /cancelled: /, 'exited at once, without the session finishing');
});
