// The environment snapshot a session reads (its variables named by the core), and `auto`'s
// choice made by the session from it (termauth_core::auto; the session vectors check the
// whole table, these check the binding's wiring).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { Session, UsageError, exitCode, sessionVariables, snapshot, TermauthError } from '../dist/index.js';

test('sessionVariables: the core\'s list, with Unicode upper-casing of the app name', () => {
  const names = sessionVariables('my-cli');
  for (const n of ['MY_CLI_TOKEN', 'MY_CLI_CLIENT_SECRET', 'MY_CLI_CONFIG_DIR', 'TERMAUTH_CLIENT_SECRET', 'TERMAUTH_NO_KEYRING', 'HOME', 'XDG_CONFIG_HOME', 'BROWSER', 'CI', 'GITHUB_ACTIONS', 'SSH_CONNECTION', 'DISPLAY', 'WAYLAND_DISPLAY']) {
    assert.ok(names.includes(n), `${n} in ${names}`);
  }
  assert.ok(sessionVariables('straße').includes('STRASSE_TOKEN'));
});

test('snapshot: platform, host, pid and only the variables the session reads', () => {
  const env = snapshot('my-cli', { MY_CLI_TOKEN: 't', CI: 'true', PATH: '/bin', AWS_SECRET_ACCESS_KEY: 'no' });
  assert.deepEqual(env, { platform: 'linux', host: hostname(), pid: process.pid, vars: { MY_CLI_TOKEN: 't', CI: 'true' } });
});

/** Runs a login-auto session in `vars` with nothing stored, until it fails or asks for the network. */
function autoLogin(vars, config = {}) {
  const spec = {
    command: { op: 'login', method: 'auto' },
    config: {
      app: 'mycli',
      issuer: 'https://as.example',
      client_id: 'cli',
      store: 'file',
      metadata: { issuer: 'https://as.example', authorization_endpoint: 'https://as.example/a', token_endpoint: 'https://as.example/t', device_authorization_endpoint: 'https://as.example/d' },
      ...config,
    },
    environment: { platform: 'linux', host: 'h', pid: 1, vars: { HOME: '/home/u', ...vars } },
  };
  const s = Session.start(spec, '00'.repeat(32), 1_000);
  try {
    for (;;) {
      const a = s.poll(1_000);
      if (a.type === 'read_file') s.handle({ type: 'file_contents', id: a.id, contents: null }, 1_000);
      else if (a.type === 'browser_launched' || a.type === 'launch_browser') s.handle({ type: 'browser_launched', id: a.id, launched: false }, 1_000);
      else return a;
    }
  } finally {
    s.free();
  }
}

test('auto, decided by the session from the snapshot: CI with or without a secret, SSH, desktop', () => {
  const refused = autoLogin({ CI: 'true' });
  assert.equal(refused.type, 'failed');
  assert.equal(refused.error.code, 'ci_needs_credentials');
  assert.match(refused.error.message, /MYCLI_TOKEN.*MYCLI_CLIENT_SECRET/);
  const cc = autoLogin({ CI: 'true', MYCLI_CLIENT_SECRET: 's' });
  assert.equal(cc.type, 'send_request');
  assert.match(cc.body, /grant_type=client_credentials/);
  const device = autoLogin({ SSH_CONNECTION: '10.0.0.1 5 10.0.0.2 22', DISPLAY: ':0' });
  assert.equal(device.type, 'send_request');
  assert.equal(device.url, 'https://as.example/d');
  const desktop = autoLogin({ DISPLAY: ':0' });
  assert.equal(desktop.type, 'listen');
  assert.equal(desktop.host, '127.0.0.1');
});

test('exitCode: the core\'s mapping', () => {
  const e = (kind, code, hint) => new (class extends TermauthError {})({ kind, code, hint, message: 'm' });
  assert.equal(exitCode(e('interrupted', 'cancelled', 'fatal')), 130);
  assert.equal(exitCode(e('storage', 'not_logged_in', 'reauthenticate')), 3);
  assert.equal(exitCode(e('transport', 'connect', 'retry_later')), 4);
  assert.equal(exitCode(e('usage', 'invalid_profile', 'fix_configuration')), 5);
  assert.equal(exitCode(e('protocol', 'x', 'fatal')), 6);
  assert.equal(exitCode(new TypeError('a bug')), 1);
  assert.equal(exitCode('thrown string'), 1);
  assert.throws(() => Session.start({ command: { op: 'fly' }, config: {}, environment: {} }, undefined, 0), (x) => x instanceof UsageError && exitCode(x) === 5);
});
