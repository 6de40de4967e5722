// A malformed and hostile authorization server, one case per path: the corpus of issue 11.
//
//   node tests/hostile/server.js [--port 0] [--ready-file F]
//
// Every case is an issuer of its own, http://127.0.0.1:<port>/c/<case>, whose discovery,
// device authorization and token endpoints answer correctly unless the case makes one of
// them misbehave. GET /__cases lists the cases with what a client must end with: the
// login method the runner uses (`device` or `client_credentials`), the exit code and the
// error code. tests/hostile/run.py runs every case in every language.
//
// Binds 127.0.0.1 only. No dependencies.
'use strict';
const http = require('node:http');
const fs = require('node:fs');

const ESC = '\u001b';
const BEL = '\u0007';
const CSI8 = '\u009b';
const OSC_TITLE = `${ESC}]0;pwned${BEL}`;
const CLEAR = `${ESC}[2J${ESC}[H`;
const OSC8 = `${ESC}]8;;https://evil.example/${ESC}\\click here${ESC}]8;;${ESC}\\`;
const RLO = '\u202e';
const ZWSP = '\u200b';

const json = (status, body, headers = {}) => ({ status, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const raw = (status, contentType, body, headers = {}) => ({ status, headers: { 'content-type': contentType, ...headers }, body });
const goodToken = { access_token: 'at-good-0123456789', token_type: 'Bearer', expires_in: 3600 };
const withToken = (extra) => json(200, { ...goodToken, ...extra });
const deviceOk = (base, extra = {}) => json(200, {
  device_code: 'dc-1', user_code: 'WDJB-MJHT', verification_uri: `${base}/device`, expires_in: 600, interval: 1, ...extra,
});

// Each case: the endpoint that misbehaves (`discovery`, `device`, `token`), what it answers
// (a response, or a function of the base URL), the method the runner logs in with, and
// the expected exit code and error code.
const D = 'device';
const CC = 'client_credentials';
const cases = [
  // -- transport: the runner uses https:// for this issuer, on this plain-HTTP port. The
  // client's TLS handshake gets a plain-HTTP answer; the error must say so (exit 4).
  ['https_to_plain_http', 'tls', null, D, 4, 'transport_error'],
  // -- discovery
  ['discovery_html_200', 'discovery', raw(200, 'text/html', '<html><body>Welcome to the portal</body></html>'), D, 6, 'response_not_json'],
  ['discovery_html_502', 'discovery', raw(502, 'text/html', `<html><body>Bad Gateway ${OSC_TITLE}</body></html>`), D, 4, 'response_not_json'],
  ['discovery_json_array', 'discovery', json(200, '[1,2,3]'), D, 6, 'response_not_object'],
  ['discovery_deep_nesting', 'discovery', json(200, '['.repeat(100000) + ']'.repeat(100000)), D, 6, 'response_not_json'],
  ['discovery_invalid_utf8', 'discovery', { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) }, D, 6, null],
  ['discovery_huge', 'discovery', json(200, JSON.stringify({ issuer: 'x', pad: 'a'.repeat(600 * 1024) })), D, 6, 'response_too_large'],
  ['discovery_issuer_mismatch', 'discovery', (base) => json(200, { ...metadata(base), issuer: 'https://evil.example.com' }), D, 5, 'issuer_mismatch'],
  ['discovery_issuer_escape', 'discovery', (base) => json(200, { ...metadata(base), issuer: `${base}${OSC_TITLE}` }), D, 5, 'issuer_mismatch'],
  ['discovery_endpoint_escape', 'discovery', (base) => json(200, { ...metadata(base), device_authorization_endpoint: `${base}/device${CLEAR}` }), D, 5, 'invalid_endpoint'],
  ['discovery_endpoint_http_remote', 'discovery', (base) => json(200, { ...metadata(base), token_endpoint: 'http://as.example.com/token' }), CC, 5, 'insecure_endpoint'],
  ['discovery_endpoint_javascript', 'discovery', (base) => json(200, { ...metadata(base), device_authorization_endpoint: 'javascript:alert(1)' }), D, 5, null],
  ['discovery_endpoint_userinfo', 'discovery', (base) => json(200, { ...metadata(base), token_endpoint: 'https://user:hunter2@as.example.com/token' }), CC, 5, 'invalid_endpoint'],
  ['discovery_no_device_endpoint', 'discovery', (base) => { const m = metadata(base); delete m.device_authorization_endpoint; return json(200, m); }, D, 5, 'no_device_endpoint'],
  ['discovery_404', 'discovery', raw(404, 'text/plain', 'not found'), D, 5, 'metadata_not_found'],
  ['discovery_redirect', 'discovery', raw(302, 'text/html', '', { location: 'https://evil.example.com/' }), D, 6, null],
  ['discovery_closed', 'discovery', 'close', D, 4, 'transport_error'],
  ['discovery_short_body', 'discovery', 'short', D, 4, 'transport_error'],
  // -- device authorization response
  ['device_user_code_osc_title', 'device', (base) => deviceOk(base, { user_code: `WDJB${OSC_TITLE}-MJHT` }), D, 6, 'invalid_field'],
  ['device_user_code_clear', 'device', (base) => deviceOk(base, { user_code: `${CLEAR}FAKE-CODE` }), D, 6, 'invalid_field'],
  ['device_user_code_c1_csi', 'device', (base) => deviceOk(base, { user_code: `WDJB${CSI8}2J-MJHT` }), D, 6, 'invalid_field'],
  ['device_user_code_cr', 'device', (base) => deviceOk(base, { user_code: 'WDJB-MJHT\rFAKE-CODE' }), D, 6, 'invalid_field'],
  ['device_user_code_osc8', 'device', (base) => deviceOk(base, { user_code: OSC8 }), D, 6, 'invalid_field'],
  ['device_user_code_bidi', 'device', (base) => deviceOk(base, { user_code: `WDJB-${RLO}THJM` }), D, 6, 'invalid_field'],
  ['device_user_code_zero_width', 'device', (base) => deviceOk(base, { user_code: `WDJB${ZWSP}-MJHT` }), D, 6, 'invalid_field'],
  ['device_user_code_huge', 'device', (base) => deviceOk(base, { user_code: 'A'.repeat(10000) }), D, 6, 'invalid_field'],
  ['device_user_code_empty', 'device', (base) => deviceOk(base, { user_code: '' }), D, 6, null],
  ['device_user_code_number', 'device', (base) => deviceOk(base, { user_code: 12345678 }), D, 6, 'invalid_field'],
  ['device_uri_escape', 'device', (base) => deviceOk(base, { verification_uri: `${base}/device${ESC}[2J` }), D, 6, 'invalid_field'],
  ['device_uri_bidi', 'device', (base) => deviceOk(base, { verification_uri: `${base}/${RLO}ecived` }), D, 6, 'invalid_field'],
  ['device_uri_complete_osc8', 'device', (base) => deviceOk(base, { verification_uri_complete: `${base}/device?c=${OSC8}` }), D, 6, 'invalid_field'],
  ['device_uri_http_remote', 'device', (base) => deviceOk(base, { verification_uri: 'http://evil.example.com/device' }), D, 6, 'invalid_field'],
  ['device_uri_javascript', 'device', (base) => deviceOk(base, { verification_uri: 'javascript:alert(1)' }), D, 6, 'invalid_field'],
  ['device_uri_userinfo', 'device', (base) => deviceOk(base, { verification_uri: 'https://user:pw@evil.example.com/device' }), D, 6, 'invalid_field'],
  ['device_missing_device_code', 'device', (base) => { const r = JSON.parse(deviceOk(base).body); delete r.device_code; return json(200, r); }, D, 6, 'missing_field'],
  ['device_expires_in_zero', 'device', (base) => deviceOk(base, { expires_in: 0 }), D, 4, 'expired_token'],
  ['device_expires_in_below_interval', 'device', (base) => deviceOk(base, { expires_in: 3, interval: 5 }), D, 4, 'expired_token'],
  ['device_expires_in_negative', 'device', (base) => deviceOk(base, { expires_in: -5 }), D, 6, 'invalid_field'],
  ['device_expires_in_string', 'device', (base) => deviceOk(base, { expires_in: 'soon' }), D, 6, 'invalid_field'],
  ['device_expires_in_huge_float', 'device', (base) => json(200, deviceOk(base).body.replace('"expires_in":600', '"expires_in":1e400')), D, 6, null],
  ['device_error_escape_description', 'device', json(400, { error: 'invalid_client', error_description: `bad client ${OSC_TITLE}${CLEAR}` }), D, 5, 'invalid_client'],
  ['device_error_osc8_uri', 'device', json(400, { error: 'unauthorized_client', error_uri: `https://x.example/${OSC8}` }), D, 5, 'unauthorized_client'],
  ['device_error_unknown_code_escape', 'device', json(400, { error: `weird${ESC}[31m` }), D, 6, null],
  ['device_429_json', 'device', json(429, { error: 'invalid_request', error_description: 'rate limited' }, { 'retry-after': '30' }), D, 4, 'invalid_request'],
  ['device_429_html', 'device', raw(429, 'text/html', '<html>Too Many Requests</html>', { 'retry-after': '12' }), D, 4, 'response_not_json'],
  ['device_503_retry_date', 'device', json(503, { error: 'temporarily_unavailable' }, { 'retry-after': 'Wed, 21 Oct 2026 07:28:00 GMT' }), D, 4, 'temporarily_unavailable'],
  ['device_html_502', 'device', raw(502, 'text/html', `<html><body><h1>502 Bad Gateway</h1>${OSC_TITLE}</body></html>`), D, 4, 'response_not_json'],
  ['device_text_plain_escape', 'device', raw(500, 'text/plain', `upstream failed ${CLEAR}${OSC8}`), D, 4, 'response_not_json'],
  ['device_empty_200', 'device', raw(200, 'application/json', ''), D, 6, 'response_not_json'],
  ['device_closed', 'device', 'close', D, 4, 'transport_error'],
  // -- device flow polls (interval 1 s)
  ['poll_access_denied', 'token', json(400, { error: 'access_denied', error_description: `no ${OSC_TITLE}` }), D, 3, 'access_denied'],
  ['poll_expired_token', 'token', json(400, { error: 'expired_token' }), D, 3, 'expired_token'],
  // -- token responses (client credentials: the request is made at once)
  ['token_access_token_crlf', 'token', withToken({ access_token: 'at\r\nX-Injected: 1' }), CC, 6, 'invalid_token_syntax'],
  ['token_access_token_escape', 'token', withToken({ access_token: `at${OSC_TITLE}` }), CC, 6, 'invalid_token_syntax'],
  ['token_access_token_space', 'token', withToken({ access_token: 'at with space' }), CC, 6, 'invalid_token_syntax'],
  ['token_access_token_non_ascii', 'token', withToken({ access_token: 'at-caf\u00e9' }), CC, 6, 'invalid_token_syntax'],
  ['token_access_token_nul', 'token', withToken({ access_token: 'at\u0000x' }), CC, 6, 'invalid_token_syntax'],
  ['token_access_token_number', 'token', withToken({ access_token: 12345 }), CC, 6, 'invalid_field'],
  ['token_access_token_missing', 'token', json(200, { token_type: 'Bearer' }), CC, 6, 'missing_field'],
  ['token_refresh_token_newline', 'token', withToken({ refresh_token: 'rt\nx' }), CC, 6, 'invalid_token_syntax'],
  ['token_id_token_escape', 'token', withToken({ id_token: `eyJ.eyJ.${ESC}[2J` }), CC, 6, 'invalid_token_syntax'],
  ['token_form_crlf', 'token', raw(200, 'application/x-www-form-urlencoded', 'access_token=at%0D%0AX-Injected%3A+1&token_type=bearer'), CC, 6, 'invalid_token_syntax'],
  ['token_type_mac', 'token', withToken({ token_type: 'mac' }), CC, 6, 'token_type_unsupported'],
  ['token_type_escape', 'token', withToken({ token_type: `${OSC_TITLE}Bearer` }), CC, 6, 'token_type_unsupported'],
  ['token_expires_in_string', 'token', withToken({ expires_in: 'soon' }), CC, 6, 'invalid_field'],
  ['token_expires_in_negative', 'token', withToken({ expires_in: -1 }), CC, 6, 'invalid_field'],
  ['token_json_array', 'token', json(200, '[]'), CC, 6, 'response_not_object'],
  ['token_deep_nesting', 'token', json(200, '{"a":' + '['.repeat(100000) + ']'.repeat(100000) + '}'), CC, 6, 'response_not_json'],
  ['token_huge', 'token', json(200, JSON.stringify({ ...goodToken, pad: 'a'.repeat(600 * 1024) })), CC, 6, 'response_too_large'],
  ['token_html_with_secretish_words', 'token', raw(500, 'text/html', '<html>token=abc secret=def</html>'), CC, 4, 'response_not_json'],
  ['token_invalid_client_escape', 'token', json(401, { error: 'invalid_client', error_description: `wrong secret ${CLEAR}${CSI8}31m` }), CC, 5, 'invalid_client'],
  // 401 is client authentication failing, whatever the code (some servers answer a wrong
  // secret with unauthorized_client): a configuration problem (exit 5), worded as such.
  ['token_401_unauthorized_client', 'token', json(401, { error: 'unauthorized_client', error_description: 'Invalid client secret' }), CC, 5, 'unauthorized_client'],
  ['token_401_access_denied', 'token', json(401, { error: 'access_denied' }), CC, 5, 'access_denied'],
  ['token_invalid_scope_osc8', 'token', json(400, { error: 'invalid_scope', error_description: OSC8 }), CC, 5, 'invalid_scope'],
  ['token_429_json_unknown_code', 'token', json(429, { error: 'slow_your_roll' }, { 'retry-after': '7' }), CC, 4, 'slow_your_roll'],
  ['token_429_empty', 'token', raw(429, 'text/plain', '', { 'retry-after': '7' }), CC, 4, null],
  ['token_500_json_no_error', 'token', json(500, { message: 'oops' }), CC, 4, 'unexpected_status'],
  ['token_307_redirect', 'token', raw(307, 'text/html', '', { location: 'https://evil.example.com/token' }), CC, 6, 'response_not_json'],
  ['token_error_with_200', 'token', json(200, { error: 'invalid_grant' }), CC, 3, 'invalid_grant'],
  ['token_bom_json_ok', 'token', { status: 200, headers: { 'content-type': 'application/json' }, body: '\ufeff' + JSON.stringify(goodToken) }, CC, 0, null],
  ['token_scope_escape', 'token', withToken({ scope: `read ${OSC_TITLE} write` }), CC, 0, null],
  ['token_closed', 'token', 'close', CC, 4, 'transport_error'],
  ['token_short_body', 'token', 'short', CC, 4, 'transport_error'],
];

function metadata(base) {
  return {
    issuer: base,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    device_authorization_endpoint: `${base}/device_authorization`,
    revocation_endpoint: `${base}/revoke`,
    grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'client_credentials', 'authorization_code'],
    code_challenge_methods_supported: ['S256'],
  };
}

const byName = new Map(cases.map(([name, endpoint, answer, method, exit, code]) => [name, { endpoint, answer, method, exit, code }]));

function send(res, reply) {
  if (reply === 'close') {
    res.socket.destroy();
    return;
  }
  if (reply === 'short') {
    // Promises 1000 bytes, sends 10, closes: a body cut short.
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write('{"access_t');
    setTimeout(() => res.socket.destroy(), 50);
    return;
  }
  const body = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body, 'utf8');
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(body.length), connection: 'close' });
  res.end(body);
}

// Each request's body is read to its end before the answer: closing a connection whose
// request body is still unread makes the kernel send a reset, which can discard the answer
// before the client has read it (seen as "Peer disconnected" on a 200 KB answer under load).
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => route(req, res));
});

function route(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/__cases') {
    send(res, json(200, cases.map(([name, endpoint, , method, exit, code]) => ({ name, endpoint, method, exit, code }))));
    return;
  }
  // /c/<case>/<rest>, or RFC 8414's /.well-known/oauth-authorization-server/c/<case>.
  let m = url.pathname.match(/^\/c\/([a-z0-9_]+)(\/.*)?$/);
  let rest = m && (m[2] || '/');
  const inserted = url.pathname.match(/^\/\.well-known\/(oauth-authorization-server|openid-configuration)\/c\/([a-z0-9_]+)$/);
  if (inserted) {
    m = [null, inserted[2]];
    rest = `/.well-known/${inserted[1]}`;
  }
  const c = m && byName.get(m[1]);
  if (!c) {
    send(res, raw(404, 'text/plain', 'no such case'));
    return;
  }
  const base = `http://${req.headers.host}/c/${m[1]}`;
  const endpoint = rest.startsWith('/.well-known/') ? 'discovery'
    : rest === '/device_authorization' ? 'device'
      : rest === '/token' ? 'token' : 'other';
  const answer = (reply) => send(res, typeof reply === 'function' ? reply(base) : reply);
  if (endpoint === c.endpoint) {
    answer(c.answer);
  } else if (endpoint === 'discovery') {
    answer(json(200, metadata(base)));
  } else if (endpoint === 'device') {
    answer(deviceOk(base));
  } else if (endpoint === 'token') {
    answer(withToken({}));
  } else {
    answer(raw(404, 'text/plain', 'not found'));
  }
}

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
server.listen(Number(opt('--port', '0')), '127.0.0.1', () => {
  const info = JSON.stringify({ url: `http://127.0.0.1:${server.address().port}`, cases: cases.length });
  const ready = opt('--ready-file');
  if (ready) fs.writeFileSync(ready, info);
  else console.log(info);
});
