// The OS keyring shared by the Rust CLI (keyring-rs) and this package (@napi-rs/keyring):
// a credential stored in the keyring by one is used by the other, both ways, on a real
// Secret Service. Runs only under bindings-wasm/keyring-test.sh (a private D-Bus session
// with gnome-keyring); skipped elsewhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../dist/index.js';
import { rustCli, startIdp, tempDir } from './helpers.mjs';

const enabled = process.env.TERMAUTH_KEYRING_TEST === '1';
const skip = enabled ? false : 'needs a Secret Service: run bindings-wasm/keyring-test.sh';
const CLIENT = 'termauth-ci-basic';
const SECRET = 's3cr3t:with/special+chars';

let idp;
before(async () => {
  if (!enabled) return;
  delete process.env.TERMAUTH_NO_KEYRING;
  idp = await startIdp();
});
after(async () => {
  await idp?.stop();
});

/** Runs the Rust CLI with the keyring enabled. */
function rust(args, dir) {
  const env = { ...process.env, TERMAUTH_CONFIG_DIR: dir, TERMAUTH_CLIENT_SECRET: SECRET };
  delete env.TERMAUTH_NO_KEYRING;
  return new Promise((resolve) => {
    const child = spawn(rustCli, [...args, '--issuer', idp.issuer, '--client-id', CLIENT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout: stdout.trim(), stderr }));
  });
}

function nodeClient(dir) {
  process.env.TERMAUTH_CONFIG_DIR = dir;
  return new Client({ app: 'termauth', issuer: idp.issuer, clientId: CLIENT, scope: 'api:read', clientSecret: SECRET, interactive: false });
}

/** The record is in the keyring: a pointer file without the token, no file-store record. */
function assertInKeyring(dir, token) {
  const files = readdirSync(join(dir, 'credentials'));
  assert.ok(files.some((f) => f.endsWith('.keyring')), `a keyring pointer in ${files}`);
  assert.ok(!files.some((f) => f.endsWith('.json')), `no file-store record in ${files}`);
  const pointer = files.find((f) => f.endsWith('.keyring'));
  assert.ok(!readFileSync(join(dir, 'credentials', pointer), 'utf8').includes(token), 'the pointer holds no secret');
}

test('Rust logs in to the keyring → Node reads the same token from it', { skip }, async () => {
  const dir = tempDir();
  const login = await rust(['login', '--client-credentials', '--scope', 'api:read'], dir);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stderr, /OS keyring/);
  const rustToken = (await rust(['token'], dir)).stdout;
  assertInKeyring(dir, rustToken);
  const node = nodeClient(dir);
  assert.equal(node.status().store.store, 'keyring');
  assert.equal(await node.getToken(), rustToken);
  assert.deepEqual(await node.logout(), { removed: true, revoked: true, text: 'Logged out: the tokens were revoked at the server and deleted here.' });
  assert.equal((await rust(['status'], dir)).code, 3, 'Node deleted the Rust-made keyring entry');
});

test('Node logs in to the keyring → Rust reads the same token from it', { skip }, async () => {
  const dir = tempDir();
  const node = nodeClient(dir);
  const report = await node.login({ method: 'clientCredentials' });
  assert.equal(report.store.store, 'keyring', JSON.stringify(report));
  const nodeToken = await node.getToken();
  assertInKeyring(dir, nodeToken);
  const status = await rust(['status', '--json'], dir);
  assert.equal(JSON.parse(status.stdout).store.store, 'keyring', status.stderr);
  assert.equal((await rust(['token'], dir)).stdout, nodeToken);
  const logout = await rust(['logout'], dir);
  assert.equal(logout.code, 0, logout.stderr);
  assert.equal(node.status().source, 'none', 'Rust deleted the Node-made keyring entry');
  assert.ok(!existsSync(join(dir, 'credentials', readdirSync(join(dir, 'credentials')).find((f) => f.endsWith('.keyring')) ?? 'none')));
});
