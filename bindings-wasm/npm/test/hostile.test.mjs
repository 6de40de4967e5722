// Hostile input where this package shapes what reaches the user or the loopback listener:
// the renderer prints only the session's texts (never a server's raw user_code or URL), a
// server's escape sequences never reach the terminal, and a flood of forged redirects on the
// listener neither hangs the login nor piles up open connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { Client, Terminal } from '../dist/index.js';
import { MAX_QUEUED_CALLBACKS } from '../dist/listener.js';
import { tempDir } from './helpers.mjs';

/** A stream that keeps what is written to it. */
function capture() {
  const chunks = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { out, text: () => chunks.join('') };
}

// C0 controls (but newline), DEL and C1 controls: what a terminal may interpret.
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

test('the renderer prints the session\'s text, never the raw members beside it', () => {
  for (const rich of [false, true]) {
    const { out, text } = capture();
    const ui = new Terminal(rich, out);
    const evil = '\u001b[2J\u001b]0;pwned\u0007';
    ui.showUserCode({
      type: 'show_user_code',
      user_code: `AB${evil}CD`,
      verification_uri: `https://as.example/device${evil}`,
      verification_uri_complete: `https://as.example/device?c=${evil}`,
      expires_at: 0,
      text: { lines: ['line one', 'line two'], qr: { caption: 'scan:', data: 'https://as.example/d' }, after: ['after'] },
    });
    ui.showAuthorizationUrl({ type: 'show_authorization_url', url: `https://as.example/a${evil}`, redirect_uri: evil, text: { lines: ['open it'] } });
    ui.notice('warning', 'careful', 'code');
    ui.notice('info', 'fyi', 'code');
    const printed = text();
    assert.ok(!printed.includes('pwned') && !CONTROL.test(printed), JSON.stringify(printed));
    const lines = printed.split('\n');
    assert.deepEqual(lines.slice(0, 2), ['line one', 'line two']);
    if (rich) {
      assert.equal(lines[2], 'scan:');
      assert.ok(lines.slice(3, -5).every((l) => /^ {2}[█▀▄ ]+$/.test(l)), 'only the QR code between caption and after');
    } else {
      assert.equal(lines[2], 'after', 'no QR code on a plain terminal');
    }
    assert.deepEqual(lines.slice(-5), ['after', 'open it', 'warning: careful', 'fyi', '']);
  }
});

test('progress: {left} as m:ss on a rich terminal, nothing on a plain one', () => {
  const rich = capture();
  new Terminal(true, rich.out).progress(1_000, { text: 'Waiting… {left} left', until_ms: 62_500 });
  assert.equal(rich.text(), '\r⠙ Waiting… 1:01 left ');
  const plain = capture();
  new Terminal(false, plain.out).progress(1_000, { text: 'Waiting… {left} left', until_ms: 62_500 });
  assert.equal(plain.text(), '');
});

const server = {
  issuer: 'https://as.example',
  authorization_endpoint: 'https://as.example/authorize',
  token_endpoint: 'https://as.example/token',
  device_authorization_endpoint: 'https://as.example/device_authorization',
};
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** The spinner's frames (the session's progress line), then their clearing: the renderer's own controls. */
const SPINNER = /(\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for approval… \d+:\d\d left \(Ctrl-C to cancel\) )+\r\u001b\[2K/g;

/** A device login against a server whose user_code, verification URIs and error_description carry escape sequences. */
// `uris`: also put the escape sequences in the verification URIs (the core refuses those
// outright, before anything is shown); otherwise only in the user code (shown cleaned).
async function hostileDeviceLogin(rich, uris = false) {
  const evil = '\u001b[2J\u001b]0;pwned\u0007\u009b31m';
  const inUri = uris ? evil : '';
  const { out, text } = capture();
  const c = new Client({
    app: 'hostile',
    issuer: server.issuer,
    clientId: 'cli',
    metadata: server,
    configDir: tempDir(),
    store: 'file',
    ui: new Terminal(rich, out),
    launchBrowser: false,
    fetch: async (url) =>
      url.endsWith('/device_authorization')
        ? json(200, {
            device_code: 'dc',
            user_code: `WDJB${evil}MJHT`,
            verification_uri: `https://as.example/device${inUri}`,
            verification_uri_complete: `https://as.example/device?user_code=WDJB${inUri}`,
            expires_in: 600,
            interval: 1,
          })
        : json(400, { error: 'access_denied', error_description: `denied ${evil} by the user` }),
  });
  const prompts = [];
  const error = await c.login({ method: 'device', onPrompt: (a) => prompts.push(a) }).then(
    () => assert.fail('the login should fail'),
    (e) => e,
  );
  return { printed: text(), prompts, error };
}

test('with a hostile server, the terminal shows the session\'s prompt text and nothing else', async () => {
  for (const rich of [false, true]) {
    const { printed, prompts, error } = await hostileDeviceLogin(rich);
    assert.equal(error.code, 'access_denied');
    assert.equal(prompts.length, 1);
    const own = prompts.flatMap((p) => [...p.text.lines, ...(rich && p.text.qr ? [p.text.qr.caption] : []), ...(p.text.after ?? [])]);
    const rest = printed
      .replace(SPINNER, '') // the spinner (rich terminals), then its clearing
      .split('\n')
      .filter((l) => l !== '' && !own.includes(l) && !/^ {2}[█▀▄ ]+$/.test(l));
    assert.deepEqual(rest, [], 'nothing but the session\'s words');
    for (const line of own) assert.ok(printed.includes(`${line}\n`), line);
  }
  // And the error a CLI prints carries none of the server's controls.
  const { error } = await hostileDeviceLogin(false);
  assert.ok(!CONTROL.test(error.message) && !CONTROL.test(error.errorDescription ?? ''), JSON.stringify(error.message));
});

test('a server\'s escape sequences in user_code and verification_uri never reach the terminal', async () => {
  for (const rich of [false, true]) {
    const { printed, prompts } = await hostileDeviceLogin(rich);
    // The spinner (its carriage returns and the line clearing) is the renderer's own.
    assert.ok(!CONTROL.test(printed.replace(SPINNER, '')), `printed: ${JSON.stringify(printed)}`);
    assert.ok(!printed.includes('pwned\u0007'));
    assert.match(prompts[0].text.lines[0], /WDJB\uFFFD\[2J/, 'the core replaced the controls');
  }
});

test('a verification URI carrying escape sequences is refused before anything is shown', async () => {
  for (const rich of [false, true]) {
    const { printed, prompts, error } = await hostileDeviceLogin(rich, true);
    assert.equal(error.code, 'invalid_field');
    assert.equal(prompts.length, 0);
    assert.ok(!CONTROL.test(printed.replace(SPINNER, '')) && !CONTROL.test(error.message), JSON.stringify(error.message));
  }
});

function browserClient(fetchImpl) {
  return new Client({
    app: 'hostile',
    issuer: server.issuer,
    clientId: 'cli',
    metadata: server,
    configDir: tempDir(),
    store: 'file',
    interactive: false,
    launchBrowser: false,
    fetch: fetchImpl ?? (async () => json(200, { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 })),
  });
}

/** Starts a browser login; resolves its show_authorization_url action and the login's promise. */
async function startBrowserLogin(c) {
  let prompt;
  const shown = new Promise((resolve) => (prompt = resolve));
  const login = c.login({ method: 'browser', onPrompt: prompt });
  login.catch(() => {});
  return { action: await shown, login };
}

/** Sends `n` requests at once; each settles with its status and body, or as dropped. */
function flood(n, url, init = {}) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      fetch(url(i), { ...init, signal: AbortSignal.timeout(10_000) }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        (e) => ({ dropped: e.name !== 'TimeoutError', error: e.name }),
      ),
    ),
  );
}

test('a flood of requests on other paths and methods: each gets the session\'s not-found page, and the real redirect still logs in', async () => {
  const c = browserClient();
  const { action, login } = await startBrowserLogin(c);
  const callback = new URL(action.redirect_uri);
  const started = Date.now();
  const results = await flood(200, (i) => `${callback.origin}/${i % 3 ? 'favicon.ico' : `callback/${i}`}?code=x&state=%3Cscript%3E`);
  const posts = await flood(20, () => `${action.redirect_uri}?code=x`, { method: 'POST', body: 'x' });
  assert.ok(Date.now() - started < 9_000, 'nothing was held');
  assert.ok(results.every((r) => r.status === 404 && /This address only receives the login redirect/.test(r.body)), JSON.stringify(results[0]));
  assert.ok(posts.every((r) => r.status === 405));
  const state = new URL(action.url).searchParams.get('state');
  const real = await fetch(`${action.redirect_uri}?code=real&state=${state}`);
  assert.equal(real.status, 200);
  assert.match(await real.text(), /<h1>Login approved<\/h1>/);
  assert.equal((await login).method, 'browser');
  assert.equal(await c.getToken(), 'at-1');
});

test('a flood of forged redirects on the callback path: the first ends the login (state_mismatch, the flow\'s rule), the rest are dropped, none held', async () => {
  const c = browserClient();
  const { action, login } = await startBrowserLogin(c);
  const started = Date.now();
  const results = await flood(4 * MAX_QUEUED_CALLBACKS + 20, (i) => `${action.redirect_uri}?code=forged-${i}&state=%3Cscript%3Ealert(${i})%3C%2Fscript%3E`);
  assert.ok(Date.now() - started < 9_000, 'no forged request was held until the timeout');
  await assert.rejects(login, (e) => e.code === 'state_mismatch');
  const answered = results.filter((r) => 'status' in r);
  assert.equal(answered.length, 1, 'one callback reached the session; the others were dropped when it ended');
  assert.match(answered[0].body, /<h1>Login failed<\/h1>/);
  assert.ok(!answered[0].body.includes('<script>'));
  assert.ok(results.every((r) => 'status' in r || r.dropped), JSON.stringify(results.find((r) => !r.dropped && !('status' in r))));
  await assert.rejects(fetch(action.redirect_uri, { signal: AbortSignal.timeout(2_000) }), 'the listener is closed with the session');
});

test('a pasted address with escape sequences is refused with the session\'s words, and nothing raw is printed', async () => {
  const { out, text } = capture();
  const input = new PassThrough();
  const c = new Client({
    app: 'hostile',
    issuer: server.issuer,
    clientId: 'cli',
    metadata: server,
    configDir: tempDir(),
    store: 'file',
    ui: new Terminal(false, out),
    fetch: async () => json(200, { access_token: 'at-2', token_type: 'Bearer', expires_in: 3600 }),
  });
  const report = await c.login({
    method: 'paste',
    input,
    onPrompt: (a) => {
      const state = new URL(a.url).searchParams.get('state');
      input.write(`http://127.0.0.1:8400/\u001b[2Jevil\u0007?code=x\n`);
      input.write(`http://127.0.0.1:8400/callback?code=real&state=${state}\n`);
    },
  });
  assert.equal(report.method, 'paste');
  const printed = text();
  assert.match(printed, /^warning: .* Paste it again:$/m, 'the refusal, asking again');
  assert.ok(!CONTROL.test(printed), JSON.stringify(printed));
});
