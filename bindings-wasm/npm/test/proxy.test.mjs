// Proxies: the rules of proxyFor (the Rust driver's), and logins through a real forward
// proxy (tests/idp/proxy.js) to an IdP whose issuer names a host only that proxy resolves,
// so a request that skipped the proxy could not succeed.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Client, TransportError, UsageError, proxyFor, environmentFetch } from '../dist/index.js';
import { approveDevice, recordingUi, root, startIdp, tempDir } from './helpers.mjs';

process.env.TERMAUTH_NO_KEYRING = '1';
const HOST = 'idp.termauth.test';
const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
const saved = Object.fromEntries(PROXY_VARIABLES.map((v) => [v, process.env[v]]));

let idp;
let proxy;
before(async () => {
  for (const v of PROXY_VARIABLES) delete process.env[v];
  idp = await startIdp(['--issuer-host', HOST]);
  const child = spawn(process.execPath, [join(root, 'tests/idp/proxy.js'), '--map', `${HOST}=127.0.0.1`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`proxy exited with ${code}`)));
  });
  const ready = JSON.parse(line);
  proxy = { url: ready.proxy, socks: ready.socks, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
});
after(async () => {
  await Promise.all([idp?.stop(), proxy?.stop()]);
  for (const [v, value] of Object.entries(saved)) if (value !== undefined) process.env[v] = value;
});
afterEach(() => {
  for (const v of PROXY_VARIABLES) delete process.env[v];
});

const carried = async () => (await (await fetch(`${proxy.url}/__proxy/log`)).json()).map((e) => e.target);

const cli = (extra = {}) =>
  new Client({
    app: 'proxytest',
    issuer: idp.issuer,
    clientId: 'termauth-ci-basic',
    clientSecret: 's3cr3t:with/special+chars',
    scope: 'api:read',
    allowInsecureHttp: true, // the issuer is plain http on a non-loopback name
    configDir: tempDir(),
    ui: recordingUi(),
    ...extra,
  });

test('proxyFor: the rule of termauth_core::proxy — order, loopback never, NO_PROXY, schemes', () => {
  const env = { HTTP_PROXY: 'http://h:1', HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: ' .internal, exact.example:8443 [2001:db8::5]:443', PATH: '/bin' };
  assert.deepEqual(proxyFor('https://login.example.com/token', env), { url: 'http://proxy.corp:3128', variable: 'HTTPS_PROXY' });
  assert.deepEqual(proxyFor('http://x.example/', { all_proxy: 'socks5h://s:1', http_proxy: 'http://h:1' }), { url: 'socks5://s:1', variable: 'all_proxy' });
  for (const url of ['http://127.0.0.1:9/x', 'http://localhost:1/', 'http://app.localhost:8080/', 'http://[::1]:5/', 'https://a.b.internal/x', 'https://sub.exact.example/', 'https://[2001:db8::5]/']) {
    assert.equal(proxyFor(url, env), undefined, url);
  }
  for (const url of ['https://notinternal/', 'https://exact.example.org/', 'https://example.com./']) {
    assert.notEqual(proxyFor(url, env), undefined, url);
  }
  assert.equal(proxyFor('https://x.example/', { HTTPS_PROXY: 'p:1', NO_PROXY: '*:443' }), undefined);
  assert.equal(proxyFor('https://x.example/', { HTTPS_PROXY: '   ' }), undefined, 'a blank variable is unset');
  assert.throws(
    () => proxyFor('https://x.example/', { ALL_PROXY: 'ftp://u:hunter2@p:21' }),
    (e) => e instanceof UsageError && e.code === 'unsupported_proxy' && /ALL_PROXY/.test(e.message) && !/hunter2/.test(e.message),
  );
});

// The IdP's host resolves only inside the proxy, so a login that succeeds went through it;
// the proxy's log shows it (one CONNECT per connection: undici tunnels and keeps it alive).
test('client credentials through HTTPS_PROXY: carried by the proxy', async () => {
  process.env.HTTPS_PROXY = proxy.url;
  const before = (await carried()).length;
  const c = cli();
  const report = await c.login({ method: 'clientCredentials' });
  assert.equal(report.scope, 'api:read');
  assert.ok(await c.getToken());
  const targets = (await carried()).slice(before);
  assert.ok(targets.length >= 1 && targets.every((t) => t.includes(`${HOST}:`)), JSON.stringify(targets));
});

test('device login through http_proxy (approved on 127.0.0.1, polled through the proxy)', async () => {
  process.env.http_proxy = proxy.url;
  const before = (await carried()).length;
  const c = cli({ clientId: 'termauth-cli', clientSecret: undefined, scope: 'openid offline_access api:read' });
  const approvals = [];
  const report = await c.login({ method: 'device', onPrompt: (a) => approvals.push(approveDevice(idp.local, a.user_code)) });
  assert.equal((await Promise.all(approvals))[0].ok, true);
  assert.equal(report.method, 'device');
  const targets = (await carried()).slice(before);
  assert.ok(targets.length >= 1 && targets.every((t) => t.includes(`${HOST}:`)), JSON.stringify(targets));
});

test('client credentials through a SOCKS5 proxy (ALL_PROXY)', async () => {
  process.env.ALL_PROXY = proxy.socks;
  const before = (await carried()).length;
  const c = cli();
  assert.equal((await c.login({ method: 'clientCredentials' })).scope, 'api:read');
  const targets = (await carried()).slice(before);
  assert.ok(targets.length >= 1 && targets.every((t) => t.startsWith(`${HOST}:`)), JSON.stringify(targets));
});

test('an unusable proxy setting fails the login, naming the variable and not its password', async () => {
  process.env.HTTPS_PROXY = 'ftp://user:hunter2@127.0.0.1:21';
  await assert.rejects(cli().login({ method: 'clientCredentials' }), (e) => {
    assert.ok(e instanceof TransportError, String(e));
    assert.match(e.message, /HTTPS_PROXY names a proxy with the scheme `ftp`/);
    assert.doesNotMatch(e.message, /hunter2/);
    return true;
  });
});

test('NO_PROXY naming the host: the request goes direct, and the unknown name fails as a DNS error', async () => {
  process.env.HTTPS_PROXY = proxy.url;
  process.env.NO_PROXY = `.termauth.test`;
  const before = (await carried()).length;
  await assert.rejects(cli().login({ method: 'clientCredentials' }), (e) => e instanceof TransportError && /^Could not find https?:\/\/idp\.termauth\.test(:\d+)?: the name does not resolve\. Check the URL and the network \(fetch failed/.test(e.message));
  assert.equal((await carried()).length, before, 'nothing went through the proxy');
});

test('without undici the request goes direct, and its failure says the proxy was not used and what to do', async () => {
  const env = { HTTPS_PROXY: proxy.url };
  const warnings = [];
  const withoutUndici = environmentFetch({ env, load: () => 'the optional package undici is not installed', warn: (m) => warnings.push(m) });
  const c = cli({ fetch: withoutUndici });
  await assert.rejects(c.login({ method: 'clientCredentials' }), (e) => {
    assert.ok(e instanceof TransportError, String(e));
    assert.match(e.message, /: the name does not resolve\. Check the URL and the network \(HTTPS_PROXY is set but the optional package undici is not installed, so the proxy was not used \(npm install undici\): fetch failed: getaddrinfo ENOTFOUND idp\.termauth\.test\)/);
    return true;
  });
  assert.deepEqual(warnings, ['HTTPS_PROXY is set but the optional package undici is not installed, so the proxy was not used (npm install undici); requests go direct']);
  // Loopback is direct anyway, and works.
  const local = await withoutUndici(`${idp.local}/.well-known/openid-configuration`, { method: 'GET' });
  assert.equal(local.status, 200);
  assert.equal(warnings.length, 1, 'said once');
});
