// Malformed responses and bad inputs give typed errors (TermauthError subclasses), never a
// wasm trap; the loopback listener's rules; deterministic freeing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Client,
  Flow,
  ProtocolError,
  TransportError,
  UsageError,
  StorageError,
  OAuthError,
  TermauthError,
  parseTokenResponse,
  parseCredential,
  pkcePair,
  pkceChallenge,
  decide,
  authorizationHeader,
} from '../dist/index.js';
import { LoopbackListener } from '../dist/listener.js';
import { recordingUi, tempDir } from './helpers.mjs';

const server = { issuer: 'https://as.example', token_endpoint: 'https://as.example/token' };
const ccClient = (fetchImpl) =>
  new Client({ app: 'errtest', issuer: 'https://as.example', clientId: 'ci', clientSecret: 's', metadata: server, configDir: tempDir(), fetch: fetchImpl, ui: recordingUi() });
const answer = (status, body, type = 'application/json') => async () => new Response(body, { status, headers: { 'content-type': type } });

test('HTML 502 page from a proxy: ProtocolError response_not_json with status, excerpt and hint', async () => {
  const c = ccClient(answer(502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'text/html'));
  await assert.rejects(c.login({ method: 'clientCredentials' }), (e) => {
    assert.ok(e instanceof ProtocolError && e instanceof TermauthError && e instanceof Error);
    assert.equal(e.code, 'response_not_json');
    assert.equal(e.status, 502);
    assert.equal(e.hint, 'retry_later');
    assert.match(e.excerpt, /502 Bad Gateway/);
    assert.equal(e.name, 'ProtocolError');
    return true;
  });
});

test('missing access_token, expires_in not a number, JSON array, empty body, oversized body: typed protocol errors', async () => {
  const cases = [
    [answer(200, '{"token_type":"Bearer"}'), 'missing_field'],
    [answer(200, '{"access_token":"a","token_type":"Bearer","expires_in":"soon"}'), 'invalid_field'],
    [answer(200, '[1,2]'), 'response_not_object'],
    [answer(200, ''), 'response_not_json'],
    [answer(200, '{"access_token":"a","token_type":"mac"}'), 'token_type_unsupported'],
    [answer(200, JSON.stringify({ access_token: 'a', token_type: 'Bearer', pad: 'x'.repeat(300_000) })), 'response_too_large'],
  ];
  for (const [f, code] of cases) {
    await assert.rejects(ccClient(f).login({ method: 'clientCredentials' }), (e) => e instanceof ProtocolError && e.code === code);
  }
});

test('an OAuth error response is an OAuthError with error, description and status', async () => {
  const c = ccClient(answer(400, '{"error":"invalid_scope","error_description":"no such scope"}'));
  await assert.rejects(c.login({ method: 'clientCredentials' }), (e) => {
    assert.ok(e instanceof OAuthError);
    assert.equal(e.error, 'invalid_scope');
    assert.equal(e.errorDescription, 'no such scope');
    assert.equal(e.status, 400);
    assert.equal(e.hint, 'fix_configuration');
    assert.deepEqual(Object.keys(e.toJSON()).sort(), ['code', 'error', 'error_description', 'hint', 'kind', 'message', 'status']);
    return true;
  });
});

test('transport failures are TransportErrors (connect, timeout, dns)', async () => {
  const fail = (cause) => async () => {
    throw Object.assign(new TypeError('fetch failed'), { cause });
  };
  await assert.rejects(ccClient(fail({ code: 'ECONNREFUSED' })).login({ method: 'clientCredentials' }), (e) => e instanceof TransportError && /^Could not connect to https:\/\/as\.example \(refused or reset\)/.test(e.message));
  await assert.rejects(ccClient(fail({ code: 'ENOTFOUND' })).login({ method: 'clientCredentials' }), (e) => e instanceof TransportError && /^Could not find https:\/\/as\.example: the name does not resolve/.test(e.message));
  const timeout = async () => {
    throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  };
  await assert.rejects(ccClient(timeout).login({ method: 'clientCredentials' }), (e) => e instanceof TransportError && /timed out/.test(e.message));
});

test('garbage fed to the low-level API: UsageErrors, and the flow survives', () => {
  const flow = Flow.start({ flow: 'client_credentials', server, client: { client_id: 'ci', auth: { method: 'client_secret_basic', client_secret: 's' } } });
  const req = flow.poll(0);
  assert.equal(req.type, 'send_request');
  for (const bad of [{ type: 'nope' }, { type: 'http_response' }, { type: 'http_response', id: -1, status: 200 }, { type: 'http_response', id: 1, status: 1e9 }, null]) {
    assert.throws(() => flow.handle(bad, 0), (e) => e instanceof UsageError && e.code === 'invalid_input');
  }
  assert.throws(() => flow.handle({ type: 'http_response', id: 99, status: 200 }, 0), (e) => e instanceof UsageError && e.code === 'unknown_request_id');
  assert.throws(() => flow.handle({ type: 'redirect', url: 'x' }, 0), (e) => e.code === 'unexpected_input');
  flow.handle({ type: 'http_response', id: req.id, status: 200, headers: [['content-type', 'application/json']], body: '{"access_token":"at","token_type":"bearer","expires_in":60}' }, NaN);
  assert.equal(flow.poll(-5).type, 'persist');
  const done = flow.poll(Infinity);
  assert.equal(done.type, 'done');
  assert.equal(done.result.tokens.token_type, 'Bearer');
  flow.free();
  flow.free(); // idempotent
  assert.throws(() => flow.poll(0), (e) => e instanceof UsageError && e.code === 'flow_freed');
  assert.throws(() => Flow.start('{not json'), (e) => e instanceof UsageError && e.code === 'invalid_flow_config');
  assert.throws(() => Flow.start({ flow: 'device', server, client: { client_id: 'c' } }), (e) => e.code === 'missing_endpoint');
  assert.throws(() => Flow.start({ flow: 'api_key', key: 'k' }, new Uint8Array(3)), (e) => e.code === 'invalid_seed');
  assert.throws(() => Flow.start({ flow: 'api_key', key: 'k' }, 'zz'), (e) => e.code === 'invalid_seed');
});

test('Symbol.dispose frees deterministically', () => {
  const flow = Flow.start({ flow: 'api_key', key: 'k' });
  flow[Symbol.dispose]();
  assert.throws(() => flow.poll(0), (e) => e.code === 'flow_freed');
});

test('helpers: PKCE (RFC 7636 App. B), token response parsing, credentials, decisions', () => {
  assert.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  const p = pkcePair('00'.repeat(32));
  assert.equal(p.code_verifier.length, 43);
  assert.equal(p.code_challenge, pkceChallenge(p.code_verifier));
  assert.notEqual(pkcePair().code_verifier, pkcePair().code_verifier);
  const t = parseTokenResponse({ status: 200, headers: [['content-type', 'application/json']], body: '{"access_token":"a","token_type":"Bearer","expires_in":10,"x":1}' }, 'api', 1000);
  assert.deepEqual(t, { access_token: 'a', token_type: 'Bearer', expires_at: 11000, scope: 'api', extra: { x: 1 } });
  assert.throws(() => parseTokenResponse({ status: 400, body: '{"error":"invalid_grant"}' }, undefined, 0), (e) => e instanceof OAuthError && e.code === 'invalid_grant');
  assert.throws(() => parseTokenResponse('nope', undefined, 0), (e) => e instanceof UsageError);
  assert.throws(() => parseCredential('{"schema_version":1,"updated_at":0,"kind":"api_key","key":12345}'), (e) => {
    assert.ok(e instanceof StorageError && e.code === 'credential_corrupt');
    assert.ok(!e.message.includes('12345'), 'no value quoted');
    return true;
  });
  const c = parseCredential('{"schema_version":1,"updated_at":0,"kind":"oauth","issuer":"https://as","client_id":"c","grant":"device_code","tokens":{"access_token":"a","token_type":"Bearer","expires_at":100000,"refresh_token":"r"}}');
  assert.deepEqual(decide(c, 0), { decision: 'use' });
  assert.deepEqual(decide(c, 50_000), { decision: 'refresh', still_valid: true });
  assert.deepEqual(authorizationHeader(c), ['Authorization', 'Bearer a']);
});

test('loopback listener: loopback only, GET on the exact path, the given pages, the connection kept until answered', async () => {
  const notFound = '<!doctype html><p>not here</p>';
  await assert.rejects(LoopbackListener.bind('0.0.0.0', 0, notFound), /only binds loopback addresses/);
  await assert.rejects(LoopbackListener.bind('example.com', 0, notFound), /is not a loopback IP address/);
  const l = await LoopbackListener.bind('127.0.0.1', 0, notFound);
  try {
    await assert.rejects(LoopbackListener.bind('127.0.0.1', l.port, notFound), (e) => e.code === 'EADDRINUSE');
    const waiting = l.wait(`http://127.0.0.1:${l.port}/callback`, Date.now() + 5000);
    const base = `http://127.0.0.1:${l.port}`;
    const favicon = await fetch(`${base}/favicon.ico`);
    assert.equal(favicon.status, 404);
    assert.equal(await favicon.text(), notFound);
    assert.equal((await fetch(`${base}/callback?code=x`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/callbackx?code=x`)).status, 404);
    let answered = false;
    const got = fetch(`${base}/callback?code=x&state=s`).then((r) => ((answered = true), r));
    const arrival = await waiting;
    assert.equal(arrival.target, '/callback?code=x&state=s');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(answered, false, 'the browser waits for the session\'s page');
    arrival.answer(200, '<p>the session\'s page</p>');
    const page = await got;
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(await page.text(), "<p>the session's page</p>");
    assert.equal(await l.wait(`${base}/callback`, Date.now() + 50), undefined, 'deadline');
    const ac = new AbortController();
    const cancelled = l.wait(`${base}/callback`, Date.now() + 10_000, ac.signal);
    ac.abort();
    assert.equal(await cancelled, undefined, 'cancel');
  } finally {
    await l.close();
  }
});

test('a login cancelled by the signal fails with InterruptedError cancelled', async () => {
  const c = new Client({
    app: 'errtest',
    issuer: 'http://127.0.0.1:9',
    clientId: 'c',
    configDir: tempDir(),
    ui: recordingUi(),
    metadata: { issuer: 'http://127.0.0.1:9', authorization_endpoint: 'http://127.0.0.1:9/auth', token_endpoint: 'http://127.0.0.1:9/token' },
  });
  const ac = new AbortController();
  const p = c.login({ method: 'browser', signal: ac.signal, onPrompt: () => setTimeout(() => ac.abort(), 100) });
  await assert.rejects(p, (e) => e.kind === 'interrupted' && e.code === 'cancelled' && e.name === 'InterruptedError');
});
