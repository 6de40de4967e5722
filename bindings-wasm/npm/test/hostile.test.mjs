// Hostile input where this package shapes what reaches the user or the loopback listener:
// the renderer prints only the session's texts (never a server's raw user_code or URL), a
// server's escape sequences never reach the terminal, and a flood of forged redirects on the
// listener neither hangs the login nor piles up open connections.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { Client, Terminal } from '../dist/index.js';
import { LoopbackListener, MAX_CONNECTIONS, REQUEST_READ_MS } from '../dist/listener.js';
import { authorize, recordingUi, startIdp, tempDir } from './helpers.mjs';

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
    // The renderer's own control: the second prompt first erases the first one's QR code.
    const printed = text().replace(/\u001b\[\d+A\u001b\[J/g, '');
    assert.ok(!printed.includes('pwned') && !CONTROL.test(printed), JSON.stringify(printed));
    const lines = printed.split('\n');
    assert.deepEqual(lines.slice(0, 2), ['line one', 'line two']);
    assert.equal(lines[2], 'after');
    if (rich) {
      assert.equal(lines[3], 'scan:', 'the QR code last (an unknown size is taken as 80 × 24)');
      assert.ok(lines.slice(4, -4).every((l) => /^ {2}[█▀▄ ]+$/.test(l)), 'only the QR code between caption and the next prompt');
    } else {
      assert.equal(lines[3], 'open it', 'no QR code on a plain terminal');
    }
    assert.deepEqual(lines.slice(-4), ['open it', 'warning: careful', 'fyi', '']);
  }
});

test('progress: {left} as m:ss on a rich terminal, redrawn in place, the longest form that fits; nothing on a plain one', () => {
  const progress = { text: 'Waiting for code WDJB-MJHT… {left} left', shorter: ['WDJB-MJHT {left}'], until_ms: 62_500 };
  const rich = capture();
  new Terminal(true, rich.out).progress(1_000, progress);
  assert.equal(rich.text(), '\r\u001b[2K⠋ Waiting for code WDJB-MJHT… 1:01 left');
  const narrow = capture();
  narrow.out.columns = 30;
  new Terminal(true, narrow.out).progress(1_000, progress);
  assert.equal(narrow.text(), '\r\u001b[2K⠋ WDJB-MJHT 1:01', 'the whole line would wrap at 30 columns');
  const plain = capture();
  new Terminal(false, plain.out).progress(1_000, progress);
  assert.equal(plain.text(), '');
});

test('the end of a wait erases the progress line and the QR code, not the instructions', () => {
  const { out, text } = capture();
  out.columns = 80;
  out.rows = 40;
  const ui = new Terminal(true, out);
  ui.print({ lines: ['enter the code: WDJB-MJHT'], qr: { caption: 'scan:', data: 'https://as.example/d' } });
  ui.progress(1_000, { text: 'WDJB-MJHT {left}', until_ms: 62_500 });
  const before = text().split('\n');
  const qrRows = before.length - 2; // the caption and the code's rows, after the instructions
  ui.clear();
  assert.ok(text().endsWith(`\r\u001b[2K\u001b[${qrRows}A\u001b[J`), JSON.stringify(text().slice(-20)));
});

const server = {
  issuer: 'https://as.example',
  authorization_endpoint: 'https://as.example/authorize',
  token_endpoint: 'https://as.example/token',
  device_authorization_endpoint: 'https://as.example/device_authorization',
};
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** The spinner's frames (the session's progress line), then their clearing and the QR code's: the renderer's own controls. */
const SPINNER = /(\r\u001b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for approval of code WDJB-MJHT… \d+:\d\d left \(Ctrl-C to cancel\))+\r\u001b\[2K(\u001b\[\d+A\u001b\[J)?/g;

/**
 * A device login against a server with escape sequences in its error_description (the login
 * gets as far as the prompt, then is denied) and, with `inCode` / `inUris`, in its user code
 * or verification URIs (the core refuses those outright, before anything is shown).
 */
async function hostileDeviceLogin(rich, { inCode = false, inUris = false } = {}) {
  const evil = '\u001b[2J\u001b]0;pwned\u0007\u009b31m';
  const inUri = inUris ? evil : '';
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
            user_code: inCode ? `WDJB${evil}MJHT` : 'WDJB-MJHT',
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
    for (const where of [{ inCode: true }, { inUris: true }, { inCode: true, inUris: true }]) {
      const { printed, prompts, error } = await hostileDeviceLogin(rich, where);
      assert.equal(error.code, 'invalid_field', JSON.stringify(where));
      assert.equal(prompts.length, 0, 'refused before anything is shown');
      assert.ok(!CONTROL.test(printed) && !printed.includes('pwned'), `printed: ${JSON.stringify(printed)}`);
      assert.ok(!CONTROL.test(error.message) && !error.message.includes('pwned'), error.message);
    }
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

test('a flood of forged redirects on the callback path: each is refused or dropped, none is held, none ends the login, and the real redirect still logs in', async () => {
  const c = browserClient();
  const { action, login } = await startBrowserLogin(c);
  const started = Date.now();
  const results = await flood(2 * MAX_CONNECTIONS + 20, (i) => `${action.redirect_uri}?code=forged-${i}&state=%3Cscript%3Ealert(${i})%3C%2Fscript%3E`);
  assert.ok(Date.now() - started < 9_000, 'no forged request was held until the timeout');
  const answered = results.filter((r) => 'status' in r);
  assert.ok(answered.length >= 1, 'the forged callbacks that reached the session were answered');
  for (const r of answered) {
    assert.equal(r.status, 400);
    assert.match(r.body, /does not belong to the current login/);
    assert.ok(!r.body.includes('<script>'));
  }
  assert.ok(results.every((r) => 'status' in r || r.dropped), JSON.stringify(results.find((r) => !r.dropped && !('status' in r))));
  const state = new URL(action.url).searchParams.get('state');
  const real = await fetch(`${action.redirect_uri}?code=real&state=${state}`);
  assert.equal(real.status, 200);
  assert.match(await real.text(), /<h1>Login approved<\/h1>/);
  assert.equal((await login).method, 'browser');
  await assert.rejects(fetch(action.redirect_uri, { signal: AbortSignal.timeout(2_000) }), 'the listener is closed with the session');
});

/** A connection to `port` that sends `bytes`; `closed` resolves with what came back once the listener closes it. */
async function sendOn(port, bytes) {
  const socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  const got = [];
  const closed = new Promise((resolve) => {
    socket.on('data', (d) => got.push(d));
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
  });
  if (bytes) socket.write(bytes);
  return { socket, closed };
}

const callbackRequest = (query) => `GET /callback?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

test('while the session is busy, a flood of forged redirects cannot push out the browser\'s: the oldest connections are dropped', async () => {
  const l = await LoopbackListener.bind('127.0.0.1', 0, 'not found');
  const uri = `http://127.0.0.1:${l.port}/callback`;
  const sockets = [];
  try {
    assert.equal(await l.wait(uri, Date.now() + 10), undefined); // the path is known; then the session is busy
    const extra = 16;
    const forged = [];
    for (let i = 0; i < MAX_CONNECTIONS + extra; i++) forged.push(await sendOn(l.port, callbackRequest(`code=forged-${i}&state=x`)));
    sockets.push(...forged.map((f) => f.socket));
    // The 16 oldest made room for the newer ones: closed unanswered.
    assert.deepEqual(await Promise.all(forged.slice(0, extra).map((f) => f.closed)), Array(extra).fill(''));
    const real = await sendOn(l.port, callbackRequest('code=real&state=s'));
    sockets.push(real.socket);
    assert.equal(await forged[extra].closed, '', 'the browser\'s connection dropped the oldest');
    // The session waits again: every callback kept reaches it, the browser's included.
    const targets = [];
    for (let a = await l.wait(uri, Date.now() + 1_000); a; a = await l.wait(uri, Date.now() + 500)) {
      targets.push(a.target);
      a.answer(a.target.includes('real') ? 200 : 400, a.target.includes('real') ? 'approved' : 'refused');
    }
    const expected = forged.slice(extra + 1).map((_, i) => `/callback?code=forged-${extra + 1 + i}&state=x`);
    assert.deepEqual(targets.filter((t) => t.includes('forged')).sort(), expected.sort());
    assert.ok(targets.includes('/callback?code=real&state=s'), 'the browser\'s redirect was dropped');
    assert.match(await real.closed, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\napproved$/);
  } finally {
    for (const s of sockets) s.destroy();
    await l.close();
  }
});

test('an idle connection is closed unanswered within 6 s; requests sent before the first wait() are kept for it', async () => {
  const l = await LoopbackListener.bind('127.0.0.1', 0, 'not found');
  const sockets = [];
  try {
    const start = performance.now();
    const idle = await sendOn(l.port, ''); // no byte, no FIN
    const early = await sendOn(l.port, callbackRequest('code=early&state=s'));
    const favicon = await sendOn(l.port, 'GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    sockets.push(idle.socket, early.socket, favicon.socket);
    assert.equal(await idle.closed, '');
    const took = performance.now() - start;
    console.log(`an idle connection was closed after ${took.toFixed(0)} ms`);
    assert.ok(took >= REQUEST_READ_MS - 100 && took < 8_000, `closed after ${took.toFixed(0)} ms`);
    // The session's first wait(), past the idle connection's 5 s: the complete requests
    // were kept, the callback for the session and the other for its not-found page.
    const a = await l.wait(`http://127.0.0.1:${l.port}/callback`, Date.now() + 1_000);
    assert.equal(a?.target, '/callback?code=early&state=s');
    a.answer(200, 'approved');
    assert.match(await early.closed, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\napproved$/);
    assert.match(await favicon.closed, /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*\r\n\r\nnot found$/);
  } finally {
    for (const s of sockets) s.destroy();
    await l.close();
  }
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

// RFC 8252 §8.3: any local program can connect to the loopback listener. Idle connections
// must not delay the browser's redirect (the listener serves connections concurrently), and
// a request whose head never completes, or whose request line is not HTTP/1.x (RFC 9112 §3),
// is dropped unparsed: it cannot touch the login. Against the real IdP (tests/idp).
describe('a local program beside the loopback listener', () => {
  let idp;
  before(async () => {
    idp = await startIdp();
  });
  after(async () => {
    await idp?.stop();
  });

  /** A connection to the listener, open. */
  const open = (port) =>
    new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });

  /** Sends `bytes` (then FIN when `fin`); resolves what the listener sent back before closing (at most 3 s). */
  async function sendThenRead(port, bytes, fin) {
    const s = await open(port);
    return new Promise((resolve, reject) => {
      const got = [];
      const timer = setTimeout(() => reject(new Error('the listener kept the connection open')), 3_000);
      s.on('data', (d) => got.push(d));
      s.on('error', () => {}); // a reset is a close too
      s.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(got).toString('latin1'));
      });
      if (fin) s.end(bytes);
      else s.write(bytes);
    });
  }

  /**
   * A browser login whose listener first meets `neighbour` (given the listener's port; the
   * sockets it returns stay open until the redirect is answered). Then the user approves and
   * the browser sends the redirect, timed: the login must complete, the redirect answered
   * within 1 s of sending it (0.3-16 ms measured). Resolves that time in ms.
   */
  async function browserLoginBeside(neighbour) {
    const c = new Client({
      app: 'hostile',
      issuer: idp.issuer,
      clientId: 'termauth-cli',
      scope: 'openid offline_access',
      configDir: tempDir(),
      store: 'file',
      ui: recordingUi(),
      launchBrowser: false,
    });
    let browser;
    // The browser's part failing cancels the login, which would otherwise wait for its redirect.
    const cancel = new AbortController();
    const login = c.login({
      method: 'browser',
      signal: cancel.signal,
      onPrompt: (a) => {
        browser = (async () => {
          const held = await neighbour(Number(new URL(a.redirect_uri).port));
          try {
            const { redirect } = await authorize(idp.issuer, a.url, false);
            const sent = performance.now();
            const r = await fetch(redirect, { signal: AbortSignal.timeout(10_000) });
            const page = { status: r.status, body: await r.text() };
            return { page, took: performance.now() - sent };
          } finally {
            for (const s of held) s.destroy();
          }
        })();
        browser.catch(() => cancel.abort());
      },
    });
    const report = await login.catch(async (e) => {
      await browser; // its failure says why
      throw e;
    });
    const { page, took } = await browser;
    assert.equal(report.method, 'browser');
    assert.equal(c.status().grant, 'authorization_code');
    assert.equal(page.status, 200);
    assert.match(page.body, /<h1>Login approved<\/h1>/);
    assert.ok(took < 1_000, `the redirect was answered after ${took.toFixed(0)} ms: connections were served one at a time`);
    return took;
  }

  test('50 idle connections do not delay the browser\'s redirect', async () => {
    // Fifty connections that never send a byte, each allowed 5 s: served one after the other
    // they would hold the redirect for minutes.
    const took = await browserLoginBeside((port) => Promise.all(Array.from({ length: 50 }, () => open(port))));
    console.log(`with 50 idle connections open, the redirect was answered in ${took.toFixed(1)} ms`);
  });

  test('a half-sent request line, then FIN, is dropped unparsed: the real redirect still logs in', async () => {
    const took = await browserLoginBeside(async (port) => {
      // No HTTP version and no line end: the head never completed, so nothing is parsed.
      const got = await sendThenRead(port, 'GET /callback?code=x&state=y', true);
      assert.equal(got, '', 'a half-sent request was answered');
      return [];
    });
    console.log(`after a half-sent request line, the redirect was answered in ${took.toFixed(1)} ms`);
  });

  test('a request line without an HTTP version is dropped unparsed: the real redirect still logs in', async () => {
    const took = await browserLoginBeside(async (port) => {
      const got = await sendThenRead(port, 'GET /callback?code=x&state=y\r\n\r\n', false);
      assert.equal(got, '', 'a request without a version was answered');
      return [];
    });
    console.log(`after a request line without a version, the redirect was answered in ${took.toFixed(1)} ms`);
  });
});
