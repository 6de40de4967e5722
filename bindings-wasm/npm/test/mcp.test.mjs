// MCP discovery (issue 14) against a real protected MCP server: the official TypeScript SDK
// behind its bearer middleware (tests/idp/mcp.js), the bundled oidc-provider as its
// authorization server. The same cases as native/tests/mcp.rs and bindings-python/tests/test_mcp.py.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Flow } from '../dist/index.js';
import { startIdp } from './helpers.mjs';

let idp;
before(async () => {
  idp = await startIdp(['--mcp']);
});
after(async () => {
  await idp?.stop();
});

/** Runs MCP discovery to its outcome: the `McpServer`, or throws the flow's error. */
async function discover(serverUrl, wwwAuthenticate = []) {
  const flow = Flow.start({ flow: 'mcp_discovery', server_url: serverUrl, www_authenticate: wwwAuthenticate });
  try {
    for (;;) {
      const a = flow.poll(Date.now());
      if (a.type === 'send_request') {
        const r = await fetch(a.url, { method: a.method, headers: a.headers, body: a.method === 'GET' ? undefined : a.body });
        // fetch joins repeated headers with ", " (WWW-Authenticate too): the core's
        // challenge parser reads such a list (RFC 9110 §11.6.1).
        flow.handle({ type: 'http_response', id: a.id, status: r.status, headers: [...r.headers], body: await r.text() }, Date.now());
      } else if (a.type === 'done' && a.result.kind === 'mcp_server') return a.result.server;
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
