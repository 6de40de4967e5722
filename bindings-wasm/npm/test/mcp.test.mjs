// MCP discovery (issue 14) against a real protected MCP server: the official TypeScript SDK
// behind its bearer middleware (tests/idp/mcp.js), the bundled oidc-provider as its
// authorization server. The same cases as native/tests/mcp.rs and bindings-python/tests/test_mcp.py.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Flow } from '../dist/index.js';
import { approveDevice, recordingUi, startIdp, tempDir } from './helpers.mjs';

process.env.TERMAUTH_NO_KEYRING = '1';

let idp;
before(async () => {
  idp = await startIdp(['--mcp']);
});
after(async () => {
  await idp?.stop();
});

/** Runs MCP discovery to its outcome: the `McpServer`, or throws the flow's error. */
async function discover(serverUrl, wwwAuthenticate = []) {
  const outcome = await run({ flow: 'mcp_discovery', server_url: serverUrl, www_authenticate: wwwAuthenticate });
  assert.equal(outcome.kind, 'mcp_server');
  return outcome.server;
}

/** Runs a flow that only sends requests to its outcome, or throws the flow's error. */
async function run(spec) {
  const flow = Flow.start(spec);
  try {
    for (;;) {
      const a = flow.poll(Date.now());
      if (a.type === 'send_request') {
        const r = await fetch(a.url, { method: a.method, headers: a.headers, body: a.method === 'GET' ? undefined : a.body });
        // fetch joins repeated headers with ", " (WWW-Authenticate too): the core's
        // challenge parser reads such a list (RFC 9110 §11.6.1).
        flow.handle({ type: 'http_response', id: a.id, status: r.status, headers: [...r.headers], body: await r.text() }, Date.now());
      } else if (a.type === 'done') return a.result;
      else if (a.type === 'failed') throw Object.assign(new Error(a.error.message), { code: a.error.code });
      else throw new Error(JSON.stringify(a));
    }
  } finally {
    flow.free();
  }
}

async function scenario(name) {
  const r = await fetch(`${new URL(idp.mcp).origin}/__test/scenario`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }),
  });
  assert.equal(r.status, 200);
}

test('MCP discovery finds the resource and its authorization server however the metadata is published', async () => {
  const origin = new URL(idp.mcp).origin;
  await scenario('path');
  let found = await discover(idp.mcp);
  assert.equal(found.resource, idp.mcp);
  assert.equal(found.resource_metadata_url, `${origin}/.well-known/oauth-protected-resource/mcp`);
  assert.deepEqual(found.authorization_servers, [idp.issuer]);
  assert.equal(found.metadata.issuer, idp.issuer);
  assert.ok(found.metadata.registration_endpoint, 'dynamic registration is advertised');
  assert.equal(found.scope, 'mcp:read offline_access');
  assert.equal(found.challenge.error, 'invalid_token');

  await scenario('root');
  found = await discover(idp.mcp);
  assert.equal(found.resource_metadata_url, `${origin}/.well-known/oauth-protected-resource`);
  assert.equal(found.challenge.resource_metadata, undefined);

  await scenario('html');
  found = await discover(idp.mcp);
  assert.equal(found.resource_metadata_url, `${origin}/.well-known/oauth-protected-resource`);

  await scenario('foreign');
  await assert.rejects(discover(idp.mcp), (e) => e.code === 'resource_mismatch' && e.message.includes('https://other.example/mcp'));

  await scenario('path');
  const challenge = `Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`;
  found = await discover(idp.mcp, [challenge]);
  assert.equal(found.scope, 'mcp:read mcp:write offline_access');
  assert.equal(found.challenge.error, 'insufficient_scope');
});

test('an MCP server URL that is not one says so', async () => {
  await assert.rejects(discover(`${idp.issuer}/mcp`), (e) => e.code === 'metadata_not_found' && e.message.includes('/.well-known/oauth-protected-resource/mcp (HTTP 404'));
  assert.throws(() => Flow.start({ flow: 'mcp_discovery', server_url: 'http://mcp.example.com/mcp' }), (e) => e.code === 'insecure_endpoint');
});

/** A JSON-RPC call to the MCP server with a token: { status, challenge, body }. */
async function call(token, body) {
  const r = await fetch(idp.mcp, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: r.status, challenge: r.headers.get('www-authenticate'), body: await r.json().catch(() => ({})) };
}
const tool = (name, args) => ({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } });

test('discovery, registration and a device login give a token the MCP server accepts; a 403 steps up', async () => {
  await scenario('path');
  const found = await discover(idp.mcp);
  assert.equal(found.registration_scope, 'mcp:read mcp:write offline_access');
  const { registration } = await run({
    flow: 'registration', server: found.metadata, client_name: 'termauth test',
    redirect_uris: ['http://127.0.0.1:8400/callback'], scope: found.registration_scope,
  });
  assert.ok(registration.grant_types.includes('urn:ietf:params:oauth:grant-type:device_code'));
  assert.equal(registration.token_endpoint_auth_method, 'none');

  const configDir = tempDir();
  const login = async (scope) => {
    const c = new Client({
      app: 'nodetest', issuer: idp.issuer, clientId: registration.client_id, scope, resource: [found.resource],
      metadata: found.metadata, configDir, ui: recordingUi(),
    });
    const approvals = [];
    await c.login({ method: 'device', onPrompt: (a) => approvals.push(approveDevice(idp.issuer, a.user_code)) });
    assert.equal((await Promise.all(approvals))[0].ok, true);
    return c.getToken();
  };
  let token = await login(found.scope);
  // The token is for the MCP server (RFC 8707): its audience, as the IdP says.
  const { introspection } = await run({
    flow: 'introspection',
    server: { issuer: idp.issuer, introspection_endpoint: `${idp.issuer}/token/introspection` },
    client: { client_id: 'termauth-ci-post', auth: { method: 'client_secret_post', client_secret: 'ci-post-secret' } },
    token: { token },
  });
  assert.equal(introspection.aud, idp.mcp);
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
  assert.equal((await call(token, init)).status, 200);
  const who = await call(token, tool('whoami', {}));
  assert.equal(who.status, 200);
  assert.ok(who.body.result.content[0].text.includes(registration.client_id));

  // write_note needs mcp:write: the 403's challenge, passed to discovery, asks for it.
  const denied = await call(token, tool('write_note', { text: 'hi' }));
  assert.equal(denied.status, 403);
  const stepped = await discover(idp.mcp, [denied.challenge]);
  assert.equal(stepped.scope, 'mcp:read mcp:write offline_access');
  token = await login(stepped.scope);
  const wrote = await call(token, tool('write_note', { text: 'hi' }));
  assert.deepEqual([wrote.status, wrote.body.result?.content[0].text], [200, 'noted: hi']);
});
