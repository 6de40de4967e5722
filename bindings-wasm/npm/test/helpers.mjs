// Test helpers: the real IdP (tests/idp/server.js) and its headless approver.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const rustCli = join(root, 'target', 'debug', 'termauth');

/** Starts the IdP on a random port; resolves { issuer, stop }. */
export async function startIdp(args = []) {
  const child = spawn(process.execPath, [join(root, 'tests/idp/server.js'), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`IdP exited with ${code}`)));
  });
  const { issuer, port } = JSON.parse(line);
  return {
    issuer,
    /** The IdP on 127.0.0.1 (the issuer may name another host: `--issuer-host`). */
    local: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

export async function approveDevice(issuer, userCode, action = 'approve') {
  const r = await fetch(`${issuer}/__test/device`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_code: userCode, action }),
  });
  return r.json();
}

export async function authorize(issuer, url, followRedirect, action = 'approve') {
  const r = await fetch(`${issuer}/__test/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, action, follow_redirect: followRedirect }),
  });
  return r.json();
}

export function tempDir(prefix = 'termauth-node-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs the Rust CLI; resolves { code, stdout, stderr }. */
export function runRust(args, env = {}, input = '') {
  return new Promise((resolve) => {
    const child = spawn(rustCli, args, { env: { ...process.env, TERMAUTH_NO_KEYRING: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // the CLI may exit before reading stdin
    child.stdin.end(input);
    child.on('exit', (code) => resolve({ code, stdout, stderr, child }));
  });
}

/** A UI that records what it was asked to show. */
export function recordingUi() {
  const lines = [];
  return {
    lines,
    showUserCode: (p, opened) => lines.push(`code ${p.user_code} ${opened}`),
    showBrowser: (url, opened, paste) => lines.push(`browser ${opened} ${paste}`),
    tick: () => {},
    info: (l) => lines.push(`info ${l}`),
    warn: (l) => lines.push(`warn ${l}`),
    clear: () => {},
  };
}
