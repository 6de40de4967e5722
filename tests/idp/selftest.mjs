// Self-test of the termauth test IdP. Run: node --test tests/idp/selftest.mjs
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));
const DEVICE_GT = 'urn:ietf:params:oauth:grant-type:device_code';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startIdp(env = {}, extraArgs = []) {
  const child = spawn(process.execPath, [SERVER, '--port', '0', ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`IdP did not start:\n${stderr}`)), 10000);
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) { clearTimeout(timer); resolve(buf.slice(0, nl)); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`IdP exited ${code}:\n${stderr}`)); });
  });
  const ready = JSON.parse(line);
  return {
    ...ready,
    child,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}

async function form(url, params, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

async function control(idp, path, payload) {
  const res = await fetch(`${idp.issuer}/__test/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: await res.json() };
}

// RFC 6749 §2.3.1: form-urlencode id and secret, then base64
const basic = (id, secret) => `Basic ${Buffer.from(
  `${encodeURIComponent(id).replace(/%20/g, '+')}:${encodeURIComponent(secret).replace(/%20/g, '+')}`,
).toString('base64')}`;

const CI_BASIC = { id: 'termauth-ci-basic', secret: 's3cr3t:with/special+chars' };
const CI_POST = { id: 'termauth-ci-post', secret: 'ci-post-secret' };

async function deviceAuthorize(idp, scope = 'openid profile email offline_access') {
  const r = await form(`${idp.issuer}/device/auth`, { client_id: 'termauth-cli', scope });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const pollToken = (idp, deviceCode) => form(`${idp.issuer}/token`, {
  grant_type: DEVICE_GT, device_code: deviceCode, client_id: 'termauth-cli',
});

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

describe('termauth test IdP', () => {
  let idp;
  before(async () => { idp = await startIdp(); });
  after(async () => { await idp?.stop(); });

  test('ready line and discovery', async () => {
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(idp.issuer, `http://127.0.0.1:${idp.port}`);
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const d = await res.json();
    assert.equal(d.issuer, idp.issuer);
    assert.equal(d.device_authorization_endpoint, `${idp.issuer}/device/auth`);
    assert.equal(d.revocation_endpoint, `${idp.issuer}/token/revocation`);
    assert.equal(d.introspection_endpoint, `${idp.issuer}/token/introspection`);
    assert.equal(d.token_endpoint, `${idp.issuer}/token`);
    assert.equal(d.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    for (const gt of ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GT, 'password']) {
      assert.ok(d.grant_types_supported.includes(gt), gt);
    }
    const h = await fetch(`${idp.issuer}/__test/health`);
    assert.deepEqual((await h.json()).ok, true);
  });

  test('device flow: approve -> tokens incl. refresh_token; refresh rotates', async () => {
    const da = await deviceAuthorize(idp);
    assert.equal(da.interval, 1);
    assert.equal(da.verification_uri, `${idp.issuer}/device`);
    assert.ok(da.verification_uri_complete.startsWith(`${idp.issuer}/device?user_code=`));
    const pending = await pollToken(idp, da.device_code);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');

    const ap = await control(idp, 'device', { user_code: da.user_code, action: 'approve', login: 'alice' });
    assert.equal(ap.status, 200, JSON.stringify(ap.body));
    assert.equal(ap.body.ok, true);

    const tok = await pollToken(idp, da.device_code);
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.equal(tok.body.token_type, 'Bearer');
    assert.ok(tok.body.access_token);
    assert.ok(tok.body.refresh_token);
    assert.ok(tok.body.id_token);
    assert.equal(tok.body.scope, 'openid profile email offline_access');

    const me = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${tok.body.access_token}` } });
    assert.equal(me.status, 200, `${me.headers.get("www-authenticate")} ${await me.clone().text()}`);
    assert.equal((await me.json()).sub, 'alice');

    const r1 = await form(`${idp.issuer}/token`, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, client_id: 'termauth-cli' });
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.notEqual(r1.body.refresh_token, tok.body.refresh_token);
    const old = await form(`${idp.issuer}/token`, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, client_id: 'termauth-cli' });
    assert.equal(old.status, 400);
    assert.equal(old.body.error, 'invalid_grant');

    // device code is single use; replaying it also revokes the whole grant
    const again = await pollToken(idp, da.device_code);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
    const r2 = await form(`${idp.issuer}/token`, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token, client_id: 'termauth-cli' });
    assert.equal(r2.body.error, 'invalid_grant');
  });

  test('device flow: deny -> access_denied', async () => {
    const da = await deviceAuthorize(idp);
    const dn = await control(idp, 'device', { user_code: da.user_code, action: 'deny' });
    assert.equal(dn.status, 200, JSON.stringify(dn.body));
    const tok = await pollToken(idp, da.device_code);
    assert.equal(tok.status, 400);
    assert.equal(tok.body.error, 'access_denied');
  });

  test('device flow: unknown user code -> approver error', async () => {
    const r = await control(idp, 'device', { user_code: 'BCDF-GHJK', action: 'approve' });
    assert.equal(r.status, 400);
    assert.equal(r.body.ok, false);
    assert.match(r.body.error_description, /incorrect/);
  });

  test('device flow: slow_down when polling too fast, success after waiting', async () => {
    const on = await control(idp, 'slow_down', { enabled: true });
    assert.equal(on.status, 200);
    try {
      const da = await deviceAuthorize(idp);
      const p1 = await pollToken(idp, da.device_code);
      assert.equal(p1.body.error, 'authorization_pending');
      const p2 = await pollToken(idp, da.device_code); // immediately: too fast
      assert.equal(p2.status, 400);
      assert.equal(p2.body.error, 'slow_down');
      await control(idp, 'device', { user_code: da.user_code, action: 'approve' });
      await sleep(6100); // interval is now 1 + 5 = 6 s
      const p4 = await pollToken(idp, da.device_code);
      assert.equal(p4.status, 200, JSON.stringify(p4.body));
      assert.ok(p4.body.access_token);
    } finally {
      await control(idp, 'slow_down', { enabled: false });
    }
  });

  test('slow_down enabled for a single device_code via control endpoint', async () => {
    const da = await deviceAuthorize(idp);
    const other = await deviceAuthorize(idp);
    const on = await control(idp, 'slow_down', { device_code: da.device_code, enabled: true });
    assert.deepEqual(on.body, { ok: true, global: false, codes: 1 });
    assert.equal((await pollToken(idp, da.device_code)).body.error, 'authorization_pending');
    const fast = await pollToken(idp, da.device_code);
    assert.equal(fast.status, 400);
    assert.equal(fast.body.error, 'slow_down');
    // other codes are unaffected
    assert.equal((await pollToken(idp, other.device_code)).body.error, 'authorization_pending');
    assert.equal((await pollToken(idp, other.device_code)).body.error, 'authorization_pending');
    await control(idp, 'slow_down', { device_code: da.device_code, enabled: false });
    assert.equal((await pollToken(idp, da.device_code)).body.error, 'authorization_pending');
  });

  test('auth code + PKCE S256 on a random loopback port; refresh rotation', async () => {
    // a real loopback listener, as a CLI would open
    let hits = 0;
    const cb = createServer((req, res) => { hits += 1; res.end('ok'); });
    await new Promise((r) => cb.listen(0, '127.0.0.1', r));
    try {
      const redirectUri = `http://127.0.0.1:${cb.address().port}/callback`;
      const { verifier, challenge } = pkce();
      const state = randomBytes(8).toString('hex');
      const url = new URL(`${idp.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: 'termauth-cli',
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid profile offline_access',
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      const a = await control(idp, 'authorize', { url: url.href, action: 'approve', follow_redirect: false });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      const redirect = new URL(a.body.redirect);
      assert.equal(`${redirect.origin}${redirect.pathname}`, redirectUri);
      assert.equal(redirect.searchParams.get('state'), state);
      assert.equal(redirect.searchParams.get('iss'), idp.issuer);
      const code = redirect.searchParams.get('code');
      assert.ok(code);
      assert.equal(hits, 0);

      // wrong verifier fails
      const bad = await form(`${idp.issuer}/token`, {
        grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'termauth-cli', code_verifier: pkce().verifier,
      });
      assert.equal(bad.body.error, 'invalid_grant');
      // a failed PKCE check does not consume the code: the right verifier still works

      const tok = await form(`${idp.issuer}/token`, {
        grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'termauth-cli', code_verifier: verifier,
      });
      assert.equal(tok.status, 200, JSON.stringify(tok.body));
      assert.ok(tok.body.access_token);
      assert.ok(tok.body.id_token);
      assert.ok(tok.body.refresh_token, 'offline_access must yield a refresh token without prompt=consent');

      const r1 = await form(`${idp.issuer}/token`, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, client_id: 'termauth-cli' });
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      assert.ok(r1.body.refresh_token);
      assert.notEqual(r1.body.refresh_token, tok.body.refresh_token);
      const old = await form(`${idp.issuer}/token`, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, client_id: 'termauth-cli' });
      assert.equal(old.status, 400);
      assert.equal(old.body.error, 'invalid_grant');

      // follow_redirect reaches the loopback listener
      const p2 = pkce();
      url.searchParams.set('code_challenge', p2.challenge);
      const f = await control(idp, 'authorize', { url: url.href, action: 'approve', follow_redirect: true });
      assert.equal(f.status, 200, JSON.stringify(f.body));
      assert.equal(f.body.callback_status, 200);
      assert.equal(hits, 1);
    } finally {
      cb.close();
    }
  });

  test('auth code: IPv6 loopback redirect with random port accepted', async () => {
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'termauth-cli', response_type: 'code', redirect_uri: 'http://[::1]:54321/callback',
      scope: 'openid', code_challenge: pkce().challenge, code_challenge_method: 'S256',
    }).toString();
    const a = await control(idp, 'authorize', { url: url.href, action: 'approve' });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.ok(a.body.redirect.startsWith('http://[::1]:54321/callback?code='));
  });

  test('auth code: deny -> error=access_denied with iss', async () => {
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'termauth-cli', response_type: 'code', redirect_uri: 'http://127.0.0.1:40001/callback',
      scope: 'openid offline_access', state: 'xyz', code_challenge: pkce().challenge, code_challenge_method: 'S256',
    }).toString();
    const a = await control(idp, 'authorize', { url: url.href, action: 'deny' });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const q = new URL(a.body.redirect).searchParams;
    assert.equal(q.get('error'), 'access_denied');
    assert.equal(q.get('state'), 'xyz');
    assert.equal(q.get('iss'), idp.issuer);
  });

  test('auth code: PKCE is required; plain is rejected', async () => {
    const base = {
      client_id: 'termauth-cli', response_type: 'code', redirect_uri: 'http://127.0.0.1:40002/callback', scope: 'openid',
    };
    for (const extra of [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }]) {
      const url = new URL(`${idp.issuer}/auth`);
      url.search = new URLSearchParams({ ...base, ...extra }).toString();
      const a = await control(idp, 'authorize', { url: url.href, action: 'approve' });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(new URL(a.body.redirect).searchParams.get('error'), 'invalid_request');
    }
  });

  test('client_credentials: client_secret_basic (form-urlencoded secret) and client_secret_post', async () => {
    const b = await form(`${idp.issuer}/token`, { grant_type: 'client_credentials', scope: 'api:read api:write' }, {
      authorization: basic(CI_BASIC.id, CI_BASIC.secret),
    });
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.ok(b.body.access_token);
    assert.equal(b.body.scope, 'api:read api:write');
    assert.equal(b.body.token_type, 'Bearer');

    // raw (non-urlencoded) secret in Basic must fail: '+' decodes to ' '
    const raw = await form(`${idp.issuer}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, {
      authorization: `Basic ${Buffer.from(`${CI_BASIC.id}:${CI_BASIC.secret}`).toString('base64')}`,
    });
    assert.equal(raw.status, 401);
    assert.equal(raw.body.error, 'invalid_client');

    const p = await form(`${idp.issuer}/token`, {
      grant_type: 'client_credentials', scope: 'api:read', client_id: CI_POST.id, client_secret: CI_POST.secret,
    });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.scope, 'api:read');

    // RFC 8707 resource -> audience
    const r = await form(`${idp.issuer}/token`, {
      grant_type: 'client_credentials', scope: 'api:read', resource: `${idp.issuer}/api`, client_id: CI_POST.id, client_secret: CI_POST.secret,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const i = await form(`${idp.issuer}/token/introspection`, { token: r.body.access_token }, { authorization: basic(CI_BASIC.id, CI_BASIC.secret) });
    assert.equal(i.body.active, true);
    assert.equal(i.body.aud, `${idp.issuer}/api`);
    assert.equal(i.body.client_id, CI_POST.id);
  });

  test('password grant: good and bad credentials', async () => {
    const good = await form(`${idp.issuer}/token`, {
      grant_type: 'password', username: 'alice', password: 'wonderland', client_id: 'termauth-password', scope: 'openid offline_access api:read',
    });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.ok(good.body.access_token);
    assert.ok(good.body.refresh_token);
    const bad = await form(`${idp.issuer}/token`, {
      grant_type: 'password', username: 'alice', password: 'nope', client_id: 'termauth-password',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_grant');
    const r = await form(`${idp.issuer}/token`, { grant_type: 'refresh_token', refresh_token: good.body.refresh_token, client_id: 'termauth-password' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.access_token);
  });

  test('revocation then introspection shows active:false', async () => {
    const da = await deviceAuthorize(idp);
    await control(idp, 'device', { user_code: da.user_code, action: 'approve' });
    const tok = (await pollToken(idp, da.device_code)).body;
    const auth = { authorization: basic(CI_BASIC.id, CI_BASIC.secret) };

    const i1 = await form(`${idp.issuer}/token/introspection`, { token: tok.access_token }, auth);
    assert.equal(i1.status, 200);
    assert.equal(i1.body.active, true);
    assert.equal(i1.body.client_id, 'termauth-cli');
    assert.equal(i1.body.sub, 'alice');

    const rv = await form(`${idp.issuer}/token/revocation`, { token: tok.access_token, client_id: 'termauth-cli' });
    assert.equal(rv.status, 200);
    const i2 = await form(`${idp.issuer}/token/introspection`, { token: tok.access_token }, auth);
    assert.deepEqual(i2.body, { active: false });
    // oidc-provider revokes all tokens of the grant, so the refresh token is dead too
    const i2r = await form(`${idp.issuer}/token/introspection`, { token: tok.refresh_token }, auth);
    assert.deepEqual(i2r.body, { active: false });

    const rv2 = await form(`${idp.issuer}/token/revocation`, { token: tok.refresh_token, token_type_hint: 'refresh_token', client_id: 'termauth-cli' });
    assert.equal(rv2.status, 200);
    const i3 = await form(`${idp.issuer}/token/introspection`, { token: tok.refresh_token }, auth);
    assert.deepEqual(i3.body, { active: false });
  });
});

describe('short TTLs (separate IdP instance)', () => {
  let idp;
  const dir = mkdtempSync(join(tmpdir(), 'termauth-idp-'));
  const readyFile = join(dir, 'ready.json');
  before(async () => {
    idp = await startIdp({ IDP_DEVICE_CODE_TTL: '1', IDP_ACCESS_TOKEN_TTL: '1' }, ['--ready-file', readyFile]);
  });
  after(async () => { await idp?.stop(); rmSync(dir, { recursive: true, force: true }); });

  test('--ready-file holds the same JSON as the stdout line', () => {
    assert.deepEqual(JSON.parse(readFileSync(readyFile, 'utf8')), { issuer: idp.issuer, port: idp.port });
  });

  test('expired device code -> expired_token', async () => {
    const da = await deviceAuthorize(idp);
    assert.equal(da.expires_in, 1);
    await sleep(2100);
    const r = await pollToken(idp, da.device_code);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'expired_token');
  });

  test('expired access token -> introspection active:false', async () => {
    const c = await form(`${idp.issuer}/token`, {
      grant_type: 'client_credentials', scope: 'api:read', client_id: CI_POST.id, client_secret: CI_POST.secret,
    });
    assert.equal(c.body.expires_in, 1);
    await sleep(2100);
    const i = await form(`${idp.issuer}/token/introspection`, { token: c.body.access_token, client_id: CI_POST.id, client_secret: CI_POST.secret });
    assert.deepEqual(i.body, { active: false });
  });

  test('SIGTERM exits cleanly', async () => {
    const code = await idp.stop();
    assert.equal(code, 0);
  });
});
