// Test helpers: the real IdP (tests/idp/server.js) and its headless approver.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const rustCli = join(root, 'target', 'debug', 'termauth');

/** Starts the IdP on a random port (`--mcp`: with its MCP server); resolves { issuer, mcp, local, stop }. */
export async function startIdp(args = []) {
  const child = spawn(process.execPath, [join(root, 'tests/idp/server.js'), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`IdP exited with ${code}`)));
  });
  const { issuer, port, mcp } = JSON.parse(line);
  return {
    issuer,
    /** The protected MCP server's URL (with `--mcp`). */
    mcp,
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

const tempDirs = [];
// Removed when the test file's process exits, pass or fail: every CI run makes thousands.
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'termauth-node-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
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

/** A UI that records what the session asked it to show (the session's own words). */
export function recordingUi() {
  const lines = [];
  const prompts = [];
  return {
    lines,
    prompts,
    showUserCode: (a) => (prompts.push(a), lines.push(`code ${a.user_code}`)),
    showAuthorizationUrl: (a) => (prompts.push(a), lines.push(`url ${a.text.lines.join(' | ')}`)),
    progress: () => {},
    notice: (level, text) => lines.push(`${level === 'warning' ? 'warn' : 'info'} ${text}`),
    clear: () => {},
  };
}

/** The store's key of (issuer, client_id), written out here to check the core's paths from outside. */
export function serverKey(issuer, clientId) {
  return createHash('sha256').update(`${issuer}\n${clientId}`).digest('hex').slice(0, 16);
}

/** A credential's file-store path (`<config dir>/credentials/<profile>@<key>.<ext>`). */
export function credentialPath(dir, issuer, clientId, profile = 'default', ext = 'json') {
  return join(dir, 'credentials', `${profile}@${serverKey(issuer, clientId)}.${ext}`);
}

/** Writes a record into the file store as the session would (0700 directory, 0600 file). */
export function writeRecord(dir, issuer, clientId, credential, profile = 'default') {
  mkdirSync(join(dir, 'credentials'), { recursive: true, mode: 0o700 });
  writeFileSync(credentialPath(dir, issuer, clientId, profile), JSON.stringify(credential), { mode: 0o600 });
}
