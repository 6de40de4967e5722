// A runtime validator of the JSON shapes declared in src/types.ts: every member's type, no
// unknown members (except where the Rust type keeps every other member: token `extra`,
// server metadata, introspection). Used on every action the wasm core produces in the tests.
import assert from 'node:assert/strict';

const isInt = (x) => Number.isSafeInteger(x) && x >= 0;
const str = (x) => typeof x === 'string';
const bool = (x) => typeof x === 'boolean';
const obj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

function shape(value, where, required, optional = {}, open = false) {
  assert.ok(obj(value), `${where}: not an object`);
  for (const [k, check] of Object.entries(required)) {
    assert.ok(k in value, `${where}: missing ${k}`);
    check(value[k], `${where}.${k}`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (k in required) continue;
    if (k in optional) optional[k](v, `${where}.${k}`);
    else assert.ok(open, `${where}: unknown member ${k}`);
  }
}
const t = (pred, name) => (v, where) => assert.ok(pred(v), `${where}: not ${name}: ${JSON.stringify(v)}`);
const S = t(str, 'a string');
const I = t(isInt, 'a safe non-negative integer');
const B = t(bool, 'a boolean');
const oneOf = (...vals) => t((v) => vals.includes(v), vals.join('|'));
const arrayOf = (check) => (v, where) => {
  assert.ok(Array.isArray(v), `${where}: not an array`);
  v.forEach((x, i) => check(x, `${where}[${i}]`));
};
const header = (v, where) => {
  assert.ok(Array.isArray(v) && v.length === 2 && str(v[0]) && str(v[1]), `${where}: not a [name, value] pair`);
};
const any = () => {};
const openObj = (v, where) => assert.ok(obj(v), `${where}: not an object`);

export const kinds = ['usage', 'protocol', 'oauth', 'transport', 'interrupted', 'storage'];
export function checkError(e, where = 'error') {
  shape(
    e,
    where,
    { kind: oneOf(...kinds), code: S, message: S, hint: oneOf('reauthenticate', 'retry_later', 'fix_configuration', 'fatal') },
    { status: I, error: S, error_description: S, error_uri: S, excerpt: S, retry_after: S },
  );
}
export function checkTokens(v, where = 'tokens') {
  shape(v, where, { access_token: S, token_type: oneOf('Bearer', 'DPoP') }, { expires_at: I, refresh_token: S, scope: S, id_token: S, extra: openObj });
}
const presentation = (v, where) => {
  if (v?.scheme === 'bearer') shape(v, where, { scheme: S });
  else shape(v, where, { scheme: oneOf('header'), name: S }, { prefix: S });
};
export function checkCredential(c, where = 'credential') {
  if (c?.kind === 'oauth') {
    shape(
      c,
      where,
      { schema_version: I, updated_at: I, kind: S, issuer: S, client_id: S, grant: oneOf('device_code', 'authorization_code', 'client_credentials', 'password'), tokens: checkTokens },
      { granted_scope: S },
    );
  } else {
    shape(c, where, { schema_version: I, updated_at: I, kind: oneOf('api_key'), key: S }, { presentation, issuer: S, client_id: S });
  }
}
export function checkMetadata(m, where = 'metadata') {
  shape(
    m,
    where,
    { issuer: S },
    {
      authorization_endpoint: S,
      token_endpoint: S,
      device_authorization_endpoint: S,
      revocation_endpoint: S,
      introspection_endpoint: S,
      authorization_response_iss_parameter_supported: B,
      code_challenge_methods_supported: arrayOf(S),
      grant_types_supported: arrayOf(S),
    },
    true,
  );
}
export function checkMcpServer(m, where = 'server') {
  shape(
    m,
    where,
    { server_url: S, resource: S, resource_metadata_url: S, authorization_servers: arrayOf(S), metadata: checkMetadata },
    {
      scope: S,
      registration_scope: S,
      challenge: (v, w) => shape(v, w, {}, { resource_metadata: S, scope: S, error: S, error_description: S }),
    },
  );
}
function checkOutcome(o, where) {
  switch (o?.kind) {
    case 'tokens':
      return shape(o, where, { kind: S, tokens: checkTokens });
    case 'metadata':
      return shape(o, where, { kind: S, metadata: checkMetadata });
    case 'introspection':
      return shape(o, where, { kind: S, introspection: (v, w) => shape(v, w, { active: B }, {}, true) });
    case 'mcp_server':
      return shape(o, where, { kind: S, server: checkMcpServer });
    case 'registration':
      return shape(o, where, {
        kind: S,
        registration: (v, w) =>
          shape(
            v,
            w,
            { issuer: S, client_id: S, token_endpoint_auth_method: S, redirect_uris: arrayOf(S), grant_types: arrayOf(S), registered_at: I },
            { client_secret: S, client_secret_expires_at: I, registration_access_token: S, registration_client_uri: S },
          ),
      });
    case 'revoked':
      return shape(o, where, { kind: S, count: I });
    case 'credential':
      return shape(o, where, { kind: S, credential: checkCredential });
    default:
      assert.fail(`${where}: unknown outcome kind ${o?.kind}`);
  }
}

/** Asserts that `a` is an `Action` as declared in src/types.ts. */
export function checkAction(a, where = 'action') {
  switch (a?.type) {
    case 'send_request':
      return shape(a, where, { type: S, id: I, method: oneOf('GET', 'POST'), url: S, headers: arrayOf(header), body: S });
    case 'show_user_code':
      return shape(a, where, { type: S, user_code: S, verification_uri: S, expires_at: I }, { verification_uri_complete: S });
    case 'open_browser':
      return shape(a, where, { type: S, url: S, redirect_uri: S });
    case 'persist':
      return shape(a, where, { type: S, credential: checkCredential });
    case 'wait_until':
      return shape(a, where, { type: S, at_ms: I });
    case 'await_redirect':
      return shape(a, where, { type: S, redirect_uri: S, until_ms: I });
    case 'await_response':
      return shape(a, where, { type: S, id: I });
    case 'done':
      return shape(a, where, { type: S, result: checkOutcome });
    case 'failed':
      return shape(a, where, { type: S, error: checkError });
    default:
      assert.fail(`${where}: unknown action type ${a?.type}`);
  }
}
// ---------------------------------------------------------------- the session (src/types.ts, "the session")
const N = (check) => (v, where) => (v === null ? undefined : check(v, where));
const prompt = (v, where) =>
  shape(v, where, { lines: arrayOf(S) }, { qr: (q, w) => shape(q, w, { caption: S, data: S }), after: arrayOf(S) });
const storeChoice = (v, where) => shape(v, where, { store: oneOf('keyring', 'file'), reason: S });
function checkStatus(o, where, kind) {
  return shape(
    o,
    where,
    { ...kind, source: oneOf('env', 'store', 'none'), env_var: S, profile: S, issuer: S, client_id: S, refreshable: B, lines: arrayOf(S) },
    { store: storeChoice, credential_kind: oneOf('oauth', 'api_key'), grant: oneOf('device_code', 'authorization_code', 'client_credentials', 'password'), account: S, scope: S, expires_at: I, decision: oneOf('use', 'refresh', 'reacquire', 'relogin'), error: checkError, problem: checkError },
  );
}
function checkSessionOutcome(o, where) {
  switch (o?.kind) {
    case 'login':
      return shape(o, where, { kind: S, method: oneOf('device', 'browser', 'paste', 'client_credentials', 'password', 'token'), profile: S, store: storeChoice, text: S }, { scope: S, expires_at: I, account: S });
    case 'token':
      return shape(o, where, { kind: S, source: oneOf('env', 'store'), token: S, header }, { expires_at: I, renew_at: I, credential: checkCredential, text: S });
    case 'logout':
      return shape(o, where, { kind: S, removed: B, revoked: B, text: S }, { note: S });
    case 'status':
      return checkStatus(o, where, { kind: S });
    case 'status_all':
      return shape(o, where, { kind: S, statuses: arrayOf((s, w) => checkStatus(s, w, {})) });
    case 'profiles':
      return shape(o, where, { kind: S, profiles: arrayOf((p, w) => shape(p, w, { name: S, active: B })) });
    case 'profile_used':
      return shape(o, where, { kind: S, profile: S });
    case 'metadata':
      return shape(o, where, { kind: S, metadata: checkMetadata });
    case 'locked':
      return shape(o, where, { kind: S, path: S, nonce: S });
    case 'unlocked':
      return shape(o, where, { kind: S, released: B });
    default:
      assert.fail(`${where}: unknown session outcome kind ${o?.kind}`);
  }
}

/** Asserts that `a` is a `SessionAction` as declared in src/types.ts. */
export function checkSessionAction(a, where = 'action') {
  const withId = (members, optional) => shape(a, where, { type: S, id: I, ...members }, optional);
  switch (a?.type) {
    case 'send_request':
    case 'await_response':
    case 'failed':
      return checkAction(a, where);
    case 'wait_until':
      return shape(a, where, { type: S, at_ms: I }, { progress: (p, w) => shape(p, w, { text: S, until_ms: I }, { shorter: arrayOf(S) }) });
    case 'await_redirect':
      return shape(a, where, { type: S, redirect_uri: S, until_ms: I, source: oneOf('listener', 'paste') });
    case 'launch_browser':
      return withId({ url: S });
    case 'show_user_code':
      return shape(a, where, { type: S, user_code: S, verification_uri: S, expires_at: I, text: prompt }, { verification_uri_complete: S });
    case 'show_authorization_url':
      return shape(a, where, { type: S, url: S, redirect_uri: S, text: prompt });
    case 'listen':
      return withId({ host: S, port: I, not_found_html: S });
    case 'answer_browser':
      return shape(a, where, { type: S, status: I, html: S });
    case 'notice':
      return shape(a, where, { type: S, level: oneOf('info', 'warning'), code: S, text: S });
    case 'read_file':
    case 'make_private':
    case 'remove_file':
    case 'list_dir':
      return withId({ path: S });
    case 'write_file':
    case 'create_exclusive':
      return withId({ path: S, contents: S });
    case 'process_alive':
      return withId({ pid: I });
    case 'keyring_get':
    case 'keyring_delete':
      return withId({ service: S, account: S });
    case 'keyring_set':
      return withId({ service: S, account: S, value: S });
    case 'done':
      return shape(a, where, { type: S, result: checkSessionOutcome });
    default:
      assert.fail(`${where}: unknown session action type ${a?.type}`);
  }
}
void N;

/** Exact JSON value equality (tests/vectors/README.md): member order ignored, array order kept, no `true == 1`. */
export function jsonEqual(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return jsonEqual(ka, kb) && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return typeof a === typeof b && a === b;
}

void any;
