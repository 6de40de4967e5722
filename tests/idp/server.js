#!/usr/bin/env node
// termauth test IdP: oidc-provider on 127.0.0.1 plus /__test/ control endpoints.
// stdout carries exactly one line (the ready JSON); all logging goes to stderr.

import { randomUUID, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

// oidc-provider prints NOTICEs with console.info (stdout). Keep stdout clean.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

// RS256 signing key for id_tokens, fresh per run; generated on the libuv
// threadpool while the modules load.
const keyPromise = promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
const [{ default: Provider, errors }, approver] = await Promise.all([
  import('oidc-provider'),
  import('./approver.js'),
]);

// ---------------------------------------------------------------- options
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.IDP_PORT || '0' },
    'ready-file': { type: 'string' },
    'access-token-ttl': { type: 'string' },
    'device-code-ttl': { type: 'string' },
    'device-interval': { type: 'string' },
    'slow-down': { type: 'boolean' },
    // The host name in the issuer (default 127.0.0.1; it still listens on 127.0.0.1 only):
    // proxy tests give a name only their proxy resolves, since loopback is never proxied.
    'issuer-host': { type: 'string', default: process.env.IDP_ISSUER_HOST || '127.0.0.1' },
    // Also start the protected MCP server (tests/idp/mcp.js); its URL is in the ready line.
    mcp: { type: 'boolean', default: ['1', 'true'].includes(process.env.IDP_MCP ?? '') },
  },
});

function intOpt(flag, env, dflt, min = 1) {
  const raw = flag ?? process.env[env];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`invalid value for ${env}: ${raw} (integer >= ${min} expected)`);
    process.exit(2);
  }
  return n;
}

const PORT = intOpt(args.port, 'IDP_PORT', 0, 0);
const ACCESS_TOKEN_TTL = intOpt(args['access-token-ttl'], 'IDP_ACCESS_TOKEN_TTL', 3600);
const REFRESH_TOKEN_TTL = intOpt(undefined, 'IDP_REFRESH_TOKEN_TTL', 14 * 24 * 3600);
const DEVICE_CODE_TTL = intOpt(args['device-code-ttl'], 'IDP_DEVICE_CODE_TTL', 600);
const DEVICE_INTERVAL = intOpt(args['device-interval'], 'IDP_DEVICE_INTERVAL', 1);
const SLOW_DOWN_INCREMENT = intOpt(undefined, 'IDP_SLOW_DOWN_INCREMENT', 5);
const slowDown = {
  global: args['slow-down'] || process.env.IDP_SLOW_DOWN === '1' || process.env.IDP_SLOW_DOWN === 'true',
  codes: new Set(), // device_codes with enforcement enabled individually
  polls: new Map(), // device_code -> { interval (s), last (ms) }
};

// ---------------------------------------------------------------- listen first (issuer needs the port)
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
if (!/^[a-z0-9.-]+$/i.test(args['issuer-host'])) {
  console.error(`invalid value for IDP_ISSUER_HOST: ${args['issuer-host']} (a host name expected)`);
  process.exit(2);
}
const issuer = `http://${args['issuer-host']}:${port}`;
const API_RESOURCE = `${issuer}/api`;
// Where the approver connects for the issuer's origin (they differ with --issuer-host).
const reach = { [new URL(issuer).origin]: `http://127.0.0.1:${port}` };
const API_SCOPES = 'api:read api:write';

// ---------------------------------------------------------------- the MCP server (--mcp, IDP_MCP=1)
// A protected MCP server on its own port (tests/idp/mcp.js), whose tokens this server issues
// with the MCP server's URL as their audience (RFC 8707). It checks them by introspection as
// the confidential client `termauth-mcp-server`.
const MCP_INTROSPECTION = { id: 'termauth-mcp-server', secret: 'mcp-introspection-secret' };
const mcp = args.mcp
  ? await (await import('./mcp.js')).startMcp({
    issuer,
    async introspect(token) {
      const basic = Buffer.from(`${MCP_INTROSPECTION.id}:${MCP_INTROSPECTION.secret}`).toString('base64');
      const response = await fetch(`http://127.0.0.1:${port}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
        body: new URLSearchParams({ token }),
      });
      return response.json();
    },
  })
  : undefined;
const MCP_SCOPES = 'mcp:read mcp:write';

// ---------------------------------------------------------------- accounts
const USERS = {
  alice: {
    password: 'wonderland',
    claims: {
      name: 'Alice Liddell',
      given_name: 'Alice',
      family_name: 'Liddell',
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
    },
  },
};

async function findAccount(ctx, sub) {
  // devInteractions accept any login; unknown logins get synthetic claims.
  const user = USERS[sub];
  return {
    accountId: sub,
    async claims() {
      return user ? { sub, ...user.claims } : { sub, preferred_username: sub, name: sub };
    },
  };
}

// ---------------------------------------------------------------- keys
const { privateKey } = await keyPromise;
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'termauth-idp-rs256', use: 'sig', alg: 'RS256' };

// ---------------------------------------------------------------- configuration
const GT_DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

const configuration = {
  clients: [
    {
      client_id: 'termauth-cli',
      client_name: 'termauth CLI (test)',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: [GT_DEVICE, 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback'],
      scope: `openid profile email offline_access ${API_SCOPES} ${MCP_SCOPES}`,
    },
    {
      client_id: MCP_INTROSPECTION.id,
      client_secret: MCP_INTROSPECTION.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'termauth-ci-basic',
      client_secret: 's3cr3t:with/special+chars',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: API_SCOPES,
    },
    {
      client_id: 'termauth-ci-post',
      client_secret: 'ci-post-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: API_SCOPES,
    },
    {
      client_id: 'termauth-password',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['password', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      scope: `openid profile email offline_access ${API_SCOPES}`,
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'RS256' },
  responseTypes: ['code', 'none'],
  clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomUUID()] },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'api:read', 'api:write', 'mcp:read', 'mcp:write'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: {
      enabled: true,
      // Confidential (authenticated) clients may introspect any token; a
      // public client only its own (oidc-provider's default behaviour,
      // spelled out here so it is explicit and silences the notice).
      async allowedPolicy(ctx, client, token) {
        if (client.clientAuthMethod === 'none' && token.clientId !== client.clientId) return false;
        return true;
      },
    },
    clientCredentials: { enabled: true },
    // RFC 7591 dynamic registration, open (no initial access token), as MCP clients expect.
    registration: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async defaultResource(ctx, client, oneOf) {
        return oneOf || undefined;
      },
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator === API_RESOURCE) {
          return {
            scope: API_SCOPES,
            audience: API_RESOURCE,
            accessTokenTTL: ACCESS_TOKEN_TTL,
            accessTokenFormat: 'opaque',
          };
        }
        if (mcp && resourceIndicator === mcp.url) {
          return { scope: MCP_SCOPES, audience: mcp.url, accessTokenTTL: ACCESS_TOKEN_TTL, accessTokenFormat: 'opaque' };
        }
        throw new errors.InvalidTarget(`unknown resource; this server knows only ${[API_RESOURCE, mcp?.url].filter(Boolean).join(' and ')}`);
      },
    },
    rpInitiatedLogout: { enabled: true },
  },
  // RFC 8252 loopback redirects: oidc-provider ignores the port for native
  // clients' http loopback redirect_uris (verified in selftest).
  pkce: { required: () => true },
  rotateRefreshToken: () => true,
  async issueRefreshToken(ctx, client, source) {
    return client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access');
  },
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || ACCESS_TOKEN_TTL,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    DeviceCode: DEVICE_CODE_TTL,
    IdToken: 3600,
    RefreshToken: REFRESH_TOKEN_TTL,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  clientBasedCORS: () => false,
  renderError(ctx, out) {
    ctx.type = 'html';
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><html><head><title>oops! something went wrong</title></head><body><h1>oops! something went wrong</h1><pre>${Object.entries(out).map(([k, v]) => `<strong>${esc(k)}</strong>: ${esc(v)}`).join('\n')}</pre></body></html>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

// ---------------------------------------------------------------- resource owner password grant (not in oidc-provider)
provider.registerGrantType('password', async (ctx) => {
  const { username, password } = ctx.oidc.params;
  const { client } = ctx.oidc;
  if (!username || !password) {
    throw new errors.InvalidRequest('missing required parameter(s) (username, password)');
  }
  const user = Object.hasOwn(USERS, username) ? USERS[username] : undefined;
  if (!user || user.password !== password) {
    throw new errors.InvalidGrant('invalid username or password');
  }
  const requested = (ctx.oidc.params.scope || 'openid').split(' ').filter(Boolean);
  const allowed = new Set(client.scope.split(' '));
  for (const s of requested) {
    if (!allowed.has(s)) throw new errors.InvalidScope('requested scope is not allowed', s);
  }
  const scope = requested.join(' ');

  const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();

  const at = new provider.AccessToken({
    accountId: username, client, grantId, gty: 'password', scope,
  });
  const accessToken = await at.save();

  const body = {
    access_token: accessToken,
    token_type: at.tokenType,
    expires_in: at.expiration,
    scope,
  };

  if (requested.includes('offline_access') && client.grantTypeAllowed('refresh_token')) {
    const rt = new provider.RefreshToken({
      accountId: username,
      client,
      grantId,
      gty: 'password',
      scope,
      rotations: 0,
      authTime: Math.floor(Date.now() / 1000),
      expiresWithSession: false,
    });
    body.refresh_token = await rt.save();
  }
  ctx.body = body;
}, ['username', 'password', 'scope']);

// ---------------------------------------------------------------- helpers for the middleware
async function readRaw(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function oauthError(ctx, status, error, description) {
  ctx.status = status;
  ctx.set('cache-control', 'no-store');
  ctx.body = { error, error_description: description };
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

// ---------------------------------------------------------------- /__test/ control endpoints
const tokenCounts = new Map(); // grant_type -> { requests, issued } (GET /__test/counts)

async function controlEndpoints(ctx) {
  const route = ctx.path.slice('/__test/'.length);
  if (route === 'health' && ctx.method === 'GET') {
    return json(ctx, 200, { ok: true, issuer });
  }
  if (route === 'counts' && ctx.method === 'GET') {
    // Token endpoint requests by grant type, and how many got tokens (cross-process races).
    return json(ctx, 200, { ok: true, token: Object.fromEntries(tokenCounts) });
  }
  if (!['device', 'authorize', 'slow_down', 'health', 'counts'].includes(route)) {
    return json(ctx, 404, { ok: false, error: 'not_found', error_description: `unknown control endpoint ${ctx.path}` });
  }
  if (ctx.method !== 'POST') {
    return json(ctx, 405, { ok: false, error: 'method_not_allowed', error_description: `${ctx.method} ${ctx.path} is not supported` });
  }
  let body;
  try {
    const raw = await readRaw(ctx.req);
    body = raw ? JSON.parse(raw) : {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('JSON object expected');
  } catch (err) {
    return json(ctx, 400, { ok: false, error: 'invalid_json', error_description: err.message });
  }
  try {
    switch (route) {
      case 'device': {
        const result = await approver.device({
          issuer, userCode: body.user_code, action: body.action ?? 'approve', login: body.login ?? 'alice', reach,
        });
        return json(ctx, 200, result);
      }
      case 'authorize': {
        const result = await approver.authorize({
          url: body.url,
          action: body.action ?? 'approve',
          login: body.login ?? 'alice',
          followRedirect: body.follow_redirect === true,
          reach,
        });
        return json(ctx, 200, { ok: true, ...result });
      }
      case 'slow_down': {
        if (typeof body.enabled !== 'boolean') {
          return json(ctx, 400, { ok: false, error: 'invalid_request', error_description: '"enabled" (boolean) is required' });
        }
        if (body.device_code !== undefined) {
          if (body.enabled) slowDown.codes.add(String(body.device_code));
          else slowDown.codes.delete(String(body.device_code));
        } else {
          slowDown.global = body.enabled;
          if (!body.enabled) slowDown.codes.clear();
        }
        return json(ctx, 200, { ok: true, global: slowDown.global, codes: slowDown.codes.size });
      }
      default:
        return json(ctx, 404, { ok: false, error: 'not_found', error_description: `unknown control endpoint ${ctx.path}` });
    }
  } catch (err) {
    if (err instanceof approver.ApproverError) {
      return json(ctx, 400, { ok: false, error: 'approver_failed', error_description: err.message, detail: err.detail });
    }
    console.error(err);
    return json(ctx, 500, { ok: false, error: 'server_error', error_description: err.message });
  }
}

provider.use(async (ctx, next) => {
  // Control endpoints (exist only in this test fixture).
  if (ctx.path === '/__test' || ctx.path.startsWith('/__test/')) {
    return controlEndpoints(ctx);
  }

  // Auth-code flow: oidc-provider drops offline_access unless prompt=consent
  // is present. Add it so native clients get refresh tokens without special
  // prompts (the approver answers the consent page anyway).
  if (ctx.method === 'GET' && ctx.path === '/auth') {
    const q = new URLSearchParams(ctx.querystring);
    const scopes = (q.get('scope') || '').split(' ');
    const prompts = (q.get('prompt') || '').split(' ').filter(Boolean);
    if (scopes.includes('offline_access') && !prompts.includes('consent') && !prompts.includes('none')) {
      q.set('prompt', [...prompts, 'consent'].join(' '));
      ctx.querystring = q.toString();
    }
  }

  // RFC 8628 §3.5 slow_down enforcement on the token endpoint.
  if (ctx.method === 'POST' && ctx.path === '/token' && (slowDown.global || slowDown.codes.size)
      && ctx.is('application/x-www-form-urlencoded')) {
    const raw = await readRaw(ctx.req);
    ctx.req.body = raw; // oidc-provider falls back to req.body once the stream is consumed
    const params = new URLSearchParams(raw);
    const code = params.get('device_code');
    if (params.get('grant_type') === GT_DEVICE && code && (slowDown.global || slowDown.codes.has(code))) {
      const now = Date.now();
      const st = slowDown.polls.get(code);
      if (st && now - st.last < st.interval * 1000) {
        st.interval += SLOW_DOWN_INCREMENT;
        st.last = now;
        return oauthError(ctx, 400, 'slow_down', `polling too fast; wait at least ${st.interval}s between requests`);
      }
      slowDown.polls.set(code, { interval: st?.interval ?? DEVICE_INTERVAL, last: now });
    }
  }

  await next();

  if (ctx.method === 'POST' && ctx.path === '/token') {
    const grant = String(ctx.oidc?.params?.grant_type ?? 'unknown');
    const c = tokenCounts.get(grant) ?? { requests: 0, issued: 0 };
    c.requests += 1;
    if (ctx.status === 200) c.issued += 1;
    tokenCounts.set(grant, c);
  }

  // RFC 8628 §3.2: oidc-provider omits "interval"; add it.
  if (ctx.method === 'POST' && ctx.path === '/device/auth' && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object' && ctx.body.device_code) {
    ctx.body = { ...ctx.body, interval: DEVICE_INTERVAL };
  }
});

server.on('request', provider.callback());

// ---------------------------------------------------------------- ready line + shutdown
const ready = JSON.stringify(mcp ? { issuer, port, mcp: mcp.url } : { issuer, port });
if (args['ready-file']) {
  // written before the stdout line, so whoever sees the line also sees the file
  const tmp = `${args['ready-file']}.${process.pid}.tmp`;
  writeFileSync(tmp, `${ready}\n`);
  renameSync(tmp, args['ready-file']);
}
process.stdout.write(`${ready}\n`);
console.error(`termauth test IdP listening on ${issuer}`);

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`received ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
