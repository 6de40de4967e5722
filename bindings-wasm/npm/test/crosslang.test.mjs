// The cross-language store round trip with the Rust CLI (target/debug/termauth), both ways,
// against the real IdP: same directory, file names, record format, profiles.json and lock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Client } from '../dist/index.js';
import { approveDevice, credentialPath, recordingUi, runRust, rustCli, startIdp, tempDir } from './helpers.mjs';

process.env.TERMAUTH_NO_KEYRING = '1';
let idp;
before(async () => {
  assert.ok(existsSync(rustCli), `build the Rust CLI first: cargo build -p termauth (${rustCli})`);
  idp = await startIdp();
});
after(async () => {
  await idp?.stop();
});

const SCOPE = 'openid offline_access api:read';

test('Node logs in → Rust reads, refreshes (rotation) → Node reads and refreshes → Rust reads → Rust logs out', async () => {
  const dir = tempDir();
  const env = { TERMAUTH_CONFIG_DIR: dir };
  const args = ['--issuer', idp.issuer, '--client-id', 'termauth-cli', '--scope', SCOPE];
  // The Node client finds the same directory through the same variable (<APP>_CONFIG_DIR).
  process.env.TERMAUTH_CONFIG_DIR = dir;
  try {
    const node = new Client({ app: 'termauth', issuer: idp.issuer, clientId: 'termauth-cli', scope: SCOPE, ui: recordingUi(), profile: 'work' });
    const approvals = [];
    const report = await node.login({ method: 'device', onPrompt: (a) => approvals.push(approveDevice(idp.issuer, a.user_code)) });
    await Promise.all(approvals);
    assert.equal(report.store.reason.split(' ')[2], credentialPath(dir, idp.issuer, 'termauth-cli', 'work'), 'the directory <APP>_CONFIG_DIR names');
    const nodeToken = await node.getToken();

    const status = await runRust(['status', '--json', ...args], env);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.equal(s.source, 'store');
    assert.equal(s.profile, 'work', 'profiles.json written by Node names the active profile');
    assert.equal(s.store.store, 'file');
    assert.equal(s.grant, 'device_code');

    const rustToken = await runRust(['token', ...args], env);
    assert.equal(rustToken.code, 0, rustToken.stderr);
    assert.equal(rustToken.stdout.trim(), nodeToken);

    const refreshed = await runRust(['refresh', ...args], env);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const afterRust = await node.getCredential();
    assert.notEqual(afterRust.tokens.access_token, nodeToken, 'Node reads the record Rust rotated');
    const nodeRenewed = (await node.refresh()).credential; // with the refresh token Rust received
    assert.notEqual(nodeRenewed.tokens.refresh_token, afterRust.tokens.refresh_token);

    const again = await runRust(['token', ...args], env);
    assert.equal(again.stdout.trim(), nodeRenewed.tokens.access_token, 'Rust reads the record Node rotated');

    const profiles = await runRust(['profiles', '--json', ...args], env);
    assert.deepEqual(JSON.parse(profiles.stdout), [{ name: 'work', active: true }]);

    const out = await runRust(['logout', '--json', ...args], env);
    assert.deepEqual(JSON.parse(out.stdout), { removed: true, revoked: true, text: 'Logged out: the tokens were revoked at the server and deleted here.' });
    assert.equal(node.status().source, 'none');
  } finally {
    delete process.env.TERMAUTH_CONFIG_DIR;
  }
});

test('Rust logs in → Node reads, renews and logs out; Node waits for the lock Rust holds, and the other way round', async () => {
  const dir = tempDir();
  const env = { TERMAUTH_CONFIG_DIR: dir, TERMAUTH_CLIENT_SECRET: 's3cr3t:with/special+chars' };
  const args = ['--issuer', idp.issuer, '--client-id', 'termauth-ci-basic', '--scope', 'api:read'];
  const login = await runRust(['login', '--client-credentials', '--json', ...args], env);
  assert.equal(login.code, 0, login.stderr);
  assert.equal(JSON.parse(login.stdout).store.store, 'file');
  const rustToken = (await runRust(['token', ...args], env)).stdout.trim();

  const node = new Client({
    app: 'termauth',
    configDir: dir,
    issuer: idp.issuer,
    clientId: 'termauth-ci-basic',
    clientSecret: 's3cr3t:with/special+chars',
    scope: 'api:read',
    ui: recordingUi(),
  });
  assert.equal(await node.getToken(), rustToken);
  const st = node.status();
  assert.equal(st.grant, 'client_credentials');
  assert.match(st.store.reason, /^stored in .*credentials\/default@[0-9a-f]{16}\.json$/);

  // Node's session holds the credential's lock while its renewal is in flight (the token
  // request is held back): Rust's refresh waits for it.
  const lockFile = credentialPath(dir, idp.issuer, 'termauth-ci-basic', 'default', 'lock');
  let letGo;
  const held = new Promise((r) => (letGo = r));
  let holding;
  const holdingNow = new Promise((r) => (holding = r));
  const slow = new Client({
    ...node.options,
    clientSecret: 's3cr3t:with/special+chars',
    fetch: async (url, init) => {
      holding();
      await held;
      return fetch(url, init);
    },
  });
  const nodeRefresh = slow.refresh();
  await holdingNow;
  const info = JSON.parse(readFileSync(lockFile, 'utf8'));
  assert.deepEqual(Object.keys(info), ['pid', 'host', 'created_at', 'nonce']);
  assert.equal(info.pid, process.pid);
  assert.equal(info.host, hostname());
  let rustDone = false;
  const rust = runRust(['refresh', ...args], env).then((r) => {
    rustDone = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(rustDone, false, 'Rust waits while Node holds the lock');
  letGo();
  const byNode = await nodeRefresh;
  assert.ok(!existsSync(lockFile) || JSON.parse(readFileSync(lockFile, 'utf8')).pid !== process.pid, 'Node released its lock');
  const r = await rust;
  assert.equal(r.code, 0, r.stderr);
  const renewedByRust = await node.getToken();
  assert.notEqual(renewedByRust, rustToken);
  assert.notEqual(renewedByRust, byNode.token, 'Rust renewed after Node, under the lock');

  // A stale lock left by a dead process on this host is taken over.
  const { writeFileSync } = await import('node:fs');
  writeFileSync(lockFile, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), created_at: Date.now(), nonce: 'dead' }));
  const renewedByNode = await node.refresh();
  assert.notEqual(renewedByNode.token, renewedByRust);
  assert.ok(!existsSync(lockFile), 'the stale lock was broken, and Node released its own');

  // Rust holds the lock (a long-running refresh is simulated by a live process's lock file).
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    writeFileSync(lockFile, JSON.stringify({ pid: sleeper.pid, host: hostname(), created_at: Date.now(), nonce: 'rust' }));
    let nodeDone = false;
    const pending = node.refresh().then(() => (nodeDone = true));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(nodeDone, false, 'Node waits while a live process holds the lock');
    const { unlinkSync } = await import('node:fs');
    unlinkSync(lockFile);
    await pending;
  } finally {
    sleeper.kill();
  }

  const out = await node.logout();
  assert.equal(out.removed, true);
  const status = await runRust(['status', '--json', ...args], env);
  assert.equal(JSON.parse(status.stdout).source, 'none');
});

test('Client.lock(): Node holds the credential lock of every language; Rust waits for its release', async () => {
  const dir = tempDir();
  const env = { TERMAUTH_CONFIG_DIR: dir, TERMAUTH_CLIENT_SECRET: 's3cr3t:with/special+chars' };
  const args = ['--issuer', idp.issuer, '--client-id', 'termauth-ci-basic', '--scope', 'api:read'];
  assert.equal((await runRust(['login', '--client-credentials', ...args], env)).code, 0);
  const node = new Client({ app: 'termauth', configDir: dir, issuer: idp.issuer, clientId: 'termauth-ci-basic', ui: recordingUi() });
  const guard = await node.lock();
  assert.equal(guard.path, credentialPath(dir, idp.issuer, 'termauth-ci-basic', 'default', 'lock'));
  assert.equal(JSON.parse(readFileSync(guard.path, 'utf8')).pid, process.pid);
  let rustDone = false;
  const rust = runRust(['refresh', ...args], env).then((r) => ((rustDone = true), r));
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(rustDone, false, 'Rust waits while Node holds the lock');
  guard.release();
  guard.release(); // idempotent
  assert.ok(!existsSync(guard.path));
  assert.equal((await rust).code, 0);
});

test('a record from a newer version is refused by Node as by Rust, and left untouched', async () => {
  const dir = tempDir();
  const node = new Client({ app: 'termauth', configDir: dir, issuer: idp.issuer, clientId: 'termauth-cli', ui: recordingUi() });
  const file = credentialPath(dir, idp.issuer, 'termauth-cli');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(dir, 'credentials'), { recursive: true, mode: 0o700 });
  const text = '{"schema_version":2,"kind":"oauth"}';
  writeFileSync(file, text, { mode: 0o600 });
  await assert.rejects(node.getToken(), (e) => e.code === 'credential_newer_version' && e.kind === 'storage');
  assert.equal(node.status().error.code, 'credential_newer_version');
  const rust = await runRust(['status', '--json', '--issuer', idp.issuer, '--client-id', 'termauth-cli'], { TERMAUTH_CONFIG_DIR: dir });
  assert.equal(JSON.parse(rust.stdout).error.code, 'credential_newer_version');
  assert.equal(readFileSync(file, 'utf8'), text);
});
