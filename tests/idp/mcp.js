// A protected MCP server for termauth's tests, built with the official TypeScript SDK
// (@modelcontextprotocol/sdk): streamable HTTP at /mcp, stateless, behind the SDK's bearer
// middleware; tokens are checked by introspection at the bundled authorization server, and
// must carry this server as their audience (RFC 8707). Started by server.js with IDP_MCP=1,
// on its own port (its own origin, as a real resource server is).
//
//   POST /mcp                                  401 + Bearer challenge without a token
//   GET  /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata (the root one: 404)
//   tools: whoami (mcp:read), write_note (mcp:write: without it, 403 insufficient_scope)
//   POST /__test/scenario {"name": …}         how the metadata is served (see SCENARIOS)
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { z } from 'zod';

export const MCP_SCOPES = ['mcp:read', 'mcp:write'];

// How the protected resource metadata is served, for the discovery cases of the tests:
//   path        at the path-aware URL only, named in the challenge (the SDK's default)
//   root        at the root URL only, not named in the challenge (the well-known fallback)
//   html        an HTML page with 200 at the path-aware URL, the document at the root
//   foreign     a document naming another resource (must be refused)
const SCENARIOS = ['path', 'root', 'html', 'foreign'];

/**
 * Starts the MCP server on 127.0.0.1 (port 0) and returns its URL and a close function.
 * `introspect(token)` asks the authorization server about a token.
 */
export async function startMcp({ issuer, introspect }) {
  const app = express();
  const listener = app.listen(0, '127.0.0.1');
  await new Promise((resolve, reject) => {
    listener.once('listening', resolve);
    listener.once('error', reject);
  });
  const origin = `http://127.0.0.1:${listener.address().port}`;
  const resource = `${origin}/mcp`;
  const pathAware = `${origin}/.well-known/oauth-protected-resource/mcp`;
  const root = `${origin}/.well-known/oauth-protected-resource`;
  let scenario = 'path';

  const document = (named = resource) => ({
    resource: named,
    authorization_servers: [issuer],
    scopes_supported: MCP_SCOPES,
    bearer_methods_supported: ['header'],
    resource_name: 'termauth test MCP server',
  });

  app.use(express.json({ limit: '64kb' }));

  app.post('/__test/scenario', (req, res) => {
    const name = req.body?.name;
    if (!SCENARIOS.includes(name)) return res.status(400).json({ ok: false, error: `scenario is one of ${SCENARIOS.join(', ')}` });
    scenario = name;
    res.json({ ok: true, scenario });
  });

  app.get('/.well-known/oauth-protected-resource/mcp', (req, res) => {
    if (scenario === 'path') return res.json(document());
    if (scenario === 'foreign') return res.json(document('https://other.example/mcp'));
    if (scenario === 'html') return res.status(200).type('html').send('<!doctype html><title>app</title><div id=root></div>');
    res.status(404).json({ error: 'not_found' });
  });
  app.get('/.well-known/oauth-protected-resource', (req, res) => {
    if (scenario === 'root' || scenario === 'html') return res.json(document());
    res.status(404).json({ error: 'not_found' });
  });

  const verifier = {
    async verifyAccessToken(token) {
      const info = await introspect(token);
      if (!info.active) throw new InvalidTokenError('Token is not active');
      return {
        token,
        clientId: info.client_id,
        scopes: String(info.scope ?? '').split(' ').filter(Boolean),
        expiresAt: info.exp,
        resource: typeof info.aud === 'string' ? new URL(info.aud) : undefined,
        extra: { sub: info.sub },
      };
    },
  };
  // The challenge names the path-aware metadata URL in `path` and `foreign`; `root` and
  // `html` send no URL, so the client falls back to the well-known ones.
  const bearer = (req, res, next) =>
    requireBearerAuth({
      verifier,
      requiredScopes: ['mcp:read'],
      expectedResource: new URL(resource),
      resourceMetadataUrl: { path: pathAware, foreign: pathAware, html: undefined, root: undefined }[scenario],
    })(req, res, next);

  // Step-up (MCP authorization, "Scope Challenge Handling"): write_note needs mcp:write.
  const stepUp = (req, res, next) => {
    const call = req.body;
    if (call?.method === 'tools/call' && call.params?.name === 'write_note' && !req.auth.scopes.includes('mcp:write')) {
      res.set(
        'WWW-Authenticate',
        `Bearer error="insufficient_scope", scope="${MCP_SCOPES.join(' ')}", resource_metadata="${pathAware}", error_description="write_note needs mcp:write"`,
      );
      return res.status(403).json({ error: 'insufficient_scope', error_description: 'write_note needs mcp:write' });
    }
    next();
  };

  app.post('/mcp', bearer, stepUp, async (req, res) => {
    const server = new McpServer({ name: 'termauth-test-mcp', version: '1.0.0' });
    server.registerTool('whoami', { description: 'Who the token belongs to', inputSchema: {} }, async (_args, extra) => ({
      content: [{ type: 'text', text: JSON.stringify({ sub: extra.authInfo?.extra?.sub, scopes: extra.authInfo?.scopes, client_id: extra.authInfo?.clientId }) }],
    }));
    server.registerTool('write_note', { description: 'Needs mcp:write', inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: 'text', text: `noted: ${text}` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no SSE stream to open, no session to delete.
  app.all('/mcp', (req, res) => res.status(405).set('Allow', 'POST').json({ error: 'method_not_allowed' }));

  return {
    url: resource,
    close: () => new Promise((resolve) => {
      listener.close(resolve);
      listener.closeAllConnections?.();
    }),
  };
}
