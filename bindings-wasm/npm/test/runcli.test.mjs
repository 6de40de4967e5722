// runCli / describeError: a CLI's main function ends as termauth's own CLI ends — one line on
// stderr (the core's `program: message [code]`) and the core's exit code — in a real child
// process; a bug (any other error) keeps its stack trace. The same cases as Python's
// test_cli_errors_*.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError, errorFrom } from '../dist/index.js';
import { tempDir } from './helpers.mjs';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Runs `body` (the inside of an async main) under runCli(program) in a child node. */
function run(program, body) {
  const script = `
import { Client, runCli, errorFrom } from ${JSON.stringify(dist)};
await runCli(${JSON.stringify(program)}, async () => { ${body} });
`;
  const env = { ...process.env, TERMAUTH_NO_KEYRING: '1' };
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
}

test('not logged in: one line and exit 3, no stack trace', () => {
  const dir = join(tempDir(), 'config');
  const r = run('mycli', `
    const c = new Client({ app: 'mycli', issuer: 'https://login.example.com', clientId: 'mycli', configDir: ${JSON.stringify(dir)}, store: 'file' });
    console.log(await c.getToken());`);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stderr, 'mycli: Not logged in. Run `mycli login` first. [not_logged_in]\n');
  assert.equal(r.stdout, '');
});

test('cancelled: exit 130', () => {
  const r = run('mycli', `throw errorFrom({ kind: 'interrupted', code: 'cancelled', message: 'The login was cancelled.', hint: 'fatal' });`);
  assert.equal(r.status, 130);
  assert.equal(r.stderr, 'mycli: The login was cancelled. [cancelled]\n');
});

test('a program name with terminal escapes is shown, not obeyed', () => {
  const r = run('my\u001b]0;owned\u0007cli', `throw errorFrom({ kind: 'oauth', code: 'access_denied', message: 'The request was denied.', hint: 'reauthenticate' });`);
  assert.equal(r.status, 3);
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stderr), JSON.stringify(r.stderr));
  assert.match(r.stderr, /^my.*cli: The request was denied\. \[access_denied\]\n$/);
});

test('any other error is a bug: thrown on, with its stack', () => {
  const r = run('mycli', `throw new TypeError('boom');`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /TypeError: boom\n\s+at /);
});

test('describeError: the line and the exit code, undefined for what is not a TermauthError', () => {
  const e = errorFrom({ kind: 'transport', code: 'timeout', message: 'The server did not answer in time.', hint: 'retry_later' });
  assert.deepEqual(describeError(e, 'mycli'), { line: 'mycli: The server did not answer in time. [timeout]', exitCode: 4 });
  assert.equal(describeError(new Error('x'), 'mycli'), undefined);
  assert.equal(describeError('text', 'mycli'), undefined);
});
