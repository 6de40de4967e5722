// Every login method, refresh with rotation, revocation and logout against the real
// authorization server in tests/idp (oidc-provider), approved unattended by its headless
// approver. Keyring off (TERMAUTH_NO_KEYRING=1): the file store, as the Rust tests do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Flow, OAuthError, StorageError, TermauthError, exitCode } from '../dist/index.js';
import { approveDevice, authorize, credentialPath, recordingUi, serverKey, startIdp, tempDir, writeRecord } from './helpers.mjs';

process.env.TERMAUTH_NO_KEYRING = '1';
delete process.env.CI; // choose-method tests below set it explicitly
let idp;
before(async () => {
  idp = await startIdp();
});
after(async () => {
  await idp?.stop();
});

const cli = (extra = {}) =>
  new Client({
    app: 'nodetest',
    issuer: idp.issuer,
    clientId: 'termauth-cli',
    scope: 'openid offline_access api:read',
    configDir: tempDir(),
    ui: recordingUi(),
    ...extra,
  });

async function deviceLogin(c) {
  const approvals = [];
  const report = await c.login({
    method: 'device',
    onPrompt: (a) => approvals.push(approveDevice(idp.issuer, a.user_code)),
  });
  const approved = await Promise.all(approvals);
  assert.equal(approved[0].ok, true, JSON.stringify(approved));
  return report;
}

async function introspect(token) {
  const flow = Flow.start({
    flow: 'introspection',
    server: { issuer: idp.issuer, introspection_endpoint: `${idp.issuer}/token/introspection` },
    client: { client_id: 'termauth-ci-post', auth: { method: 'client_secret_post', client_secret: 'ci-post-secret' } },
    token: { token },
  });
  try {
    for (;;) {
      const a = flow.poll(Date.now());
      if (a.type === 'send_request') {
        const r = await fetch(a.url, { method: a.method, headers: a.headers, body: a.body });
        flow.handle({ type: 'http_response', id: a.id, status: r.status, headers: [...r.headers], body: await r.text() }, Date.now());
      } else if (a.type === 'done' && a.result.kind === 'introspection') return a.result.introspection;
      else throw new Error(JSON.stringify(a));
    }
  } finally {
    flow.free();
  }
}

test('device login: stored in a 0600 file that says why, token served from the cache', async () => {
  const c = cli();
  const report = await deviceLogin(c);
  assert.equal(report.method, 'device');
  assert.equal(report.store.store, 'file');
  assert.match(report.store.reason, /mode 0600, not encrypted\) because TERMAUTH_NO_KEYRING is set/);
  assert.match(report.scope, /offline_access/);
  assert.ok(c.options.ui.lines.some((l) => l.startsWith('warn credential stored in')), 'the file store is announced');
  // who logged in: the ID token's claims (scope openid), in the report and in status
  assert.ok(report.account, 'an account');
  // where it went is said once: by the warning above, not again in the report's sentence
  assert.ok(report.text.startsWith(`Logged in as ${report.account} (method: device, profile: default, token expires in `), report.text);
  assert.match(report.text, /, token expires in \d+m\d\ds\)\.$/);
  const dir = c.options.configDir;
  const file = credentialPath(dir, idp.issuer, 'termauth-cli');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'credentials')).mode & 0o777, 0o700);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const token = await c.getToken();
  assert.equal(token, JSON.parse(readFileSync(file, 'utf8')).tokens.access_token);
  assert.equal((await introspect(token)).active, true);
  const s = c.status();
  assert.equal(s.source, 'store');
  assert.equal(s.decision, 'use');
  assert.equal(s.grant, 'device_code');
  assert.equal(s.refreshable, true);
  assert.equal(s.problem, undefined, 'a CLI\'s status exits 0');
  assert.equal(s.account, report.account);
  assert.deepEqual(c.profiles(), [{ name: 'default', active: true }]);
  assert.equal(JSON.parse(readFileSync(join(dir, 'profiles.json'), 'utf8')).active[serverKey(idp.issuer, 'termauth-cli')], 'default');
  assert.deepEqual(readdirSync(join(dir, 'credentials')), [`default@${serverKey(idp.issuer, 'termauth-cli')}.json`], 'no lock or temporary file left');
});

test('metadata(): discovered once, then from the cache in the config directory', async () => {
  const c = cli();
  const m = await c.metadata();
  assert.equal(m.issuer, idp.issuer);
  assert.ok(m.device_authorization_endpoint);
  const cache = readdirSync(join(c.options.configDir, 'metadata'));
  assert.equal(cache.length, 1);
  const offline = new Client({ ...c.options, fetch: async () => { throw new TypeError('fetch failed'); } });
  assert.deepEqual(await offline.metadata(), m, 'served from the cache without a request');
});

test('device login denied: OAuthError access_denied, nothing stored', async () => {
  const c = cli();
  await assert.rejects(
    c.login({ method: 'device', onPrompt: (a) => void approveDevice(idp.issuer, a.user_code, 'deny') }),
    (e) => e instanceof OAuthError && e.code === 'access_denied' && e.hint === 'reauthenticate',
  );
  assert.equal(c.status().source, 'none');
  await assert.rejects(c.getToken(), (e) => e instanceof StorageError && e.code === 'not_logged_in');
});

test('browser login: loopback listener on 127.0.0.1, PKCE, iss checked, the session\'s page', async () => {
  const c = cli();
  let callback;
  const report = await c.login({
    method: 'browser',
    onPrompt: (a) => {
      assert.equal(a.type, 'show_authorization_url');
      assert.match(a.redirect_uri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      assert.match(a.url, /code_challenge_method=S256/);
      callback = authorize(idp.issuer, a.url, true);
    },
  });
  const r = await callback;
  assert.equal(r.callback_status, 200);
  assert.match(r.callback_body, /<h1>Login approved<\/h1>/);
  assert.equal(report.method, 'browser');
  assert.equal(c.status().grant, 'authorization_code');
  assert.equal((await introspect(await c.getToken())).active, true);
});

test('paste login: the pasted redirect URL (with whitespace) is exchanged', async () => {
  const c = cli();
  const input = new PassThrough();
  const report = await c.login({
    method: 'paste',
    input,
    onPrompt: async (a) => {
      const r = await authorize(idp.issuer, a.url, false);
      input.write('\n');
      input.write(`  ${r.redirect}  \n`);
    },
  });
  assert.equal(report.method, 'paste');
  assert.ok(c.options.ui.lines.some((l) => /^url Open this URL in a browser to log in: \|.*\| After approving, .* paste it here, then press Enter:$/.test(l)), c.options.ui.lines.join('\n'));
  assert.equal(c.status().grant, 'authorization_code');
});

test('client credentials (basic, special characters; and post): reacquired when due', async () => {
  const basic = cli({ clientId: 'termauth-ci-basic', clientSecret: 's3cr3t:with/special+chars', scope: 'api:read' });
  const r1 = await basic.login({ method: 'clientCredentials' });
  assert.equal(r1.method, 'client_credentials');
  assert.equal(r1.scope, 'api:read');
  const t1 = await basic.getToken();
  assert.equal(basic.status().refreshable, true);
  const renewed = await basic.refresh();
  assert.notEqual(renewed.token, t1);
  assert.equal(renewed.credential.tokens.access_token, renewed.token);
  assert.match(renewed.text, /^Token renewed; it expires in /);
  const post = cli({ clientId: 'termauth-ci-post', clientSecret: 'ci-post-secret', secretMethod: 'post', scope: 'api:write' });
  assert.equal((await post.login({ method: 'clientCredentials' })).scope, 'api:write');
  const bad = cli({ clientId: 'termauth-ci-basic', clientSecret: 'wrong', scope: 'api:read' });
  await assert.rejects(bad.login({ method: 'clientCredentials' }), (e) => e instanceof OAuthError && e.code === 'invalid_client' && e.status === 401);
});

test('debug: each HTTP exchange traced as a notice, no token and no client secret in it (issue 13)', async () => {
  const secret = 's3cr3t:with/special+chars';
  const c = cli({ clientId: 'termauth-ci-basic', clientSecret: secret, scope: 'api:read', debug: true });
  await c.login({ method: 'clientCredentials' });
  const token = await c.getToken();
  const traces = c.options.ui.lines.filter((l) => l.startsWith('info -> ') || l.startsWith('info <- '));
  assert.ok(traces.some((t) => t.startsWith('info -> POST ') && t.includes('grant_type=client_credentials')), traces.join('\n'));
  assert.ok(traces.some((t) => t.startsWith('info <- 200') && t.includes('access_token: [redacted]')), traces.join('\n'));
  const all = traces.join('\n');
  for (const s of [token, secret, Buffer.from(`termauth-ci-basic:${encodeURIComponent(secret)}`).toString('base64')]) assert.ok(!all.includes(s), 'a secret in the trace');
});

test('password grant (explicit opt-in) and its refusal without it', async () => {
  const c = cli({ clientId: 'termauth-password', enablePasswordGrant: true, scope: 'openid offline_access' });
  const r = await c.login({ method: 'password', username: 'alice', password: 'wonderland' });
  assert.equal(r.method, 'password');
  assert.equal(c.status().grant, 'password');
  await assert.rejects(
    c.login({ method: 'password', username: 'alice', password: 'nope' }),
    (e) => e instanceof OAuthError && e.code === 'invalid_grant',
  );
  const off = cli({ clientId: 'termauth-password', scope: 'openid' });
  await assert.rejects(off.login({ method: 'password', username: 'alice', password: 'wonderland' }), (e) => e.code === 'password_grant_disabled');
  // A token limited to a scope within the grant: a refresh, not stored.
  const stored = await c.getToken();
  const narrow = await c.getTokenFor({ scope: 'openid' });
  assert.notEqual(narrow.token, stored);
  assert.equal(await c.getToken(), stored, 'the stored token is the login\'s');
  await assert.rejects(c.getTokenFor({ scope: 'api:admin' }), (e) => e.code === 'scope_not_granted' && /`api:admin` was not granted/.test(e.message));
  // A resource (RFC 8707) goes to the server, which names what it refuses; blank asks are getToken.
  await assert.rejects(c.getTokenFor({ resource: ['https://unknown.example/'] }), (e) => e.code === 'invalid_target');
  assert.equal((await c.getTokenFor({ scope: ' ', resource: [] })).token, stored);
  process.env.NODETEST_TOKEN = 'from-env';
  try {
    await assert.rejects(c.getTokenFor({ scope: 'openid' }), (e) => e.code === 'scoped_token_from_env');
  } finally {
    delete process.env.NODETEST_TOKEN;
  }
});

test('API key / personal access token: stored, served, not refreshable', async () => {
  const c = cli();
  const r = await c.login({ method: 'token', token: '  pat_123  ', presentation: { scheme: 'header', name: 'X-API-Key' } });
  assert.equal(r.method, 'token');
  assert.equal(await c.getToken(), 'pat_123');
  assert.equal(c.status().credential_kind, 'api_key');
  await assert.rejects(c.refresh(), (e) => e.code === 'not_refreshable');
  await assert.rejects(c.login({ method: 'token', token: 'has space' }), (e) => e.code === 'invalid_api_key');
  const out = await c.logout();
  const note = 'The API key was deleted here; it is still valid at the server until you revoke it there.';
  assert.deepEqual(out, { removed: true, revoked: false, note, text: `Logged out here. ${note}` });
});

test('refresh with rotation; a replayed refresh token keeps serving the valid access token', async () => {
  const c = cli();
  await deviceLogin(c);
  const before = c.status();
  const c0 = await c.getCredential();
  const c1 = (await c.refresh()).credential;
  assert.notEqual(c1.tokens.refresh_token, c0.tokens.refresh_token, 'rotated');
  assert.notEqual(c1.tokens.access_token, c0.tokens.access_token);
  assert.equal(c1.grant, 'device_code');
  assert.equal(await c.getToken(), c1.tokens.access_token);
  // Due for renewal (expired in the store): getToken refreshes under the lock.
  writeRecord(c.options.configDir, idp.issuer, 'termauth-cli', { ...c1, tokens: { ...c1.tokens, expires_at: Date.now() - 1 } });
  const t2 = await c.getToken();
  assert.notEqual(t2, c1.tokens.access_token);
  assert.ok(!existsSync(credentialPath(c.options.configDir, idp.issuer, 'termauth-cli', 'default', 'lock')), 'lock released');
  assert.equal(before.decision, 'use');
});

test('invalid_grant with an expired access token: login_required (hint reauthenticate)', async () => {
  const c = cli();
  await deviceLogin(c);
  const cred = await c.getCredential();
  await c.logout(); // revokes the whole grant at the server
  // Put back the revoked credential, already expired.
  const put = (c2) => writeRecord(c.options.configDir, idp.issuer, 'termauth-cli', c2);
  put({ ...cred, tokens: { ...cred.tokens, expires_at: Date.now() - 1000 } });
  await assert.rejects(c.getToken(), (e) => e instanceof StorageError && e.code === 'login_required' && e.hint === 'reauthenticate');
  assert.equal(c.status().refreshable, false, 'the dead refresh token is no longer kept');
  // Still valid access token (issued an hour ago, 30 s left: due for renewal): served
  // despite the failed refresh, with a warning.
  put({ ...cred, updated_at: Date.now() - 3600_000, tokens: { ...cred.tokens, expires_at: Date.now() + 30_000 } });
  assert.equal(await c.getToken(), cred.tokens.access_token);
  assert.ok(c.options.ui.lines.some((l) => l.startsWith('warn could not renew the token')));
});

test('logout revokes (refresh token first) then deletes; offline logout still deletes', async () => {
  const c = cli();
  await deviceLogin(c);
  const cred = await c.getCredential();
  assert.deepEqual(await c.logout(), { removed: true, revoked: true, text: 'Logged out: the tokens were revoked at the server and deleted here.' });
  assert.equal((await introspect(cred.tokens.access_token)).active, false);
  const after = c.status();
  assert.equal(after.source, 'none');
  // status for scripts: the problem, with the CLI's exit code (3: log in)
  assert.ok(after.problem instanceof StorageError);
  assert.equal(after.problem.code, 'not_logged_in');
  assert.equal(exitCode(after.problem), 3);
  assert.match(after.problem.message, /login/);
  assert.deepEqual(await c.logout(), { removed: false, revoked: false, text: 'Nothing to log out of: no stored credential for this profile.' });

  const offline = cli();
  await deviceLogin(offline);
  const down = new Client({ ...offline.options, fetch: async () => { throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }); } });
  const r = await down.logout();
  assert.equal(r.removed, true);
  assert.equal(r.revoked, false);
  assert.match(r.note, /^The tokens were deleted here but not revoked at the server: Could not connect to http:\/\/127\.0\.0\.1:\d+ \(refused or reset\)\. Check the address, the port and the network/);
});

test('profiles: two accounts side by side, the active one is used', async () => {
  const dir = tempDir();
  const work = cli({ configDir: dir, profile: 'work' });
  await deviceLogin(work);
  const home = cli({ configDir: dir, profile: 'home' });
  await deviceLogin(home);
  const plain = cli({ configDir: dir });
  assert.deepEqual(plain.profiles(), [{ name: 'home', active: true }, { name: 'work', active: false }]);
  // every stored credential: the two profiles, and another client's
  await cli({ configDir: dir, clientId: 'termauth-other' }).login({ method: 'token', token: 'pat-other' });
  assert.deepEqual(
    plain.statusAll().map((s) => [s.client_id, s.profile, s.source]),
    [['termauth-cli', 'home', 'store'], ['termauth-cli', 'work', 'store'], ['termauth-other', 'default', 'store']],
  );
  await plain.useProfile('work');
  assert.equal(plain.status().profile, 'work');
  assert.equal(await plain.getToken(), await work.getToken());
  await assert.rejects(plain.useProfile('../x'), (e) => e.code === 'invalid_profile');
  await assert.rejects(plain.useProfile('nobody'), (e) => e.code === 'unknown_profile' && /stored: home, work/.test(e.message));
  assert.throws(() => cli({ profile: '../x' }), (e) => e.code === 'invalid_profile', 'refused when the client is made');
});

test('<APP>_TOKEN wins over the store, and status says so', async () => {
  const c = cli();
  process.env.NODETEST_TOKEN = 'from-env';
  try {
    assert.equal(await c.getToken(), 'from-env');
    assert.equal(c.status().source, 'env');
  } finally {
    delete process.env.NODETEST_TOKEN;
  }
});

test('auto: CI with a secret uses client credentials; CI without one is refused', async () => {
  process.env.CI = 'true';
  try {
    const ok = cli({ clientId: 'termauth-ci-basic', clientSecret: 's3cr3t:with/special+chars', scope: 'api:read' });
    assert.equal((await ok.login()).method, 'client_credentials');
    await assert.rejects(cli().login(), (e) => e instanceof TermauthError && e.code === 'ci_needs_credentials');
  } finally {
    delete process.env.CI;
  }
});
