// The package as a user gets it: `npm pack`, installed into a temp dir with the example CLI
// (examples/node), used through ESM `import` and CommonJS `require`, against the real IdP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, startIdp, tempDir } from './helpers.mjs';

const pkg = join(root, 'bindings-wasm', 'npm');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let idp;
let app;
before(async () => {
  idp = await startIdp();
  const packDir = tempDir('termauth-pack-');
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', packDir], { cwd: pkg, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  app = tempDir('termauth-user-');
  cpSync(join(root, 'examples', 'node'), app, { recursive: true });
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(packDir, info.filename)], { cwd: app, stdio: 'pipe' });
  app = { dir: app, info };
});
after(async () => {
  await idp?.stop();
});

function run(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: app.dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the tarball holds the ESM build, the .d.ts files and the optimised .wasm, and no install scripts', () => {
  const files = app.info.files.map((f) => f.path).sort();
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/types.d.ts', 'wasm/termauth_wasm_bg.wasm', 'wasm/termauth_wasm.d.ts', 'package.json']) {
    assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  }
  // The wasm-bindgen glue is bundled into dist/index.js; a second copy would be a second module instance.
  assert.ok(!files.includes('wasm/termauth_wasm.js'), 'the glue only inside dist/index.js');
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('src/')), 'no tests or sources');
  const manifest = JSON.parse(readFileSync(join(app.dir, 'node_modules', 'termauth', 'package.json'), 'utf8'));
  const scripts = Object.keys(manifest.scripts ?? {});
  assert.ok(!scripts.some((s) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(s)), 'no install scripts');
  assert.ok(existsSync(join(app.dir, 'node_modules', 'qrcode-generator')));
});

test('the example CLI: client-credentials login, token, status, logout (ESM import)', async () => {
  const env = {
    MYCLI_ISSUER: idp.issuer,
    MYCLI_CLIENT_ID: 'termauth-ci-basic',
    MYCLI_SCOPE: 'api:read',
    MYCLI_CLIENT_SECRET: 's3cr3t:with/special+chars',
    MYCLI_CONFIG_DIR: tempDir(),
    TERMAUTH_NO_KEYRING: '1',
  };
  const login = await run(['mycli.mjs', 'login', '--client-credentials'], env);
  assert.equal(login.code, 0, login.stderr);
  // the store decision once: the warning, not again in the sentence after it
  assert.match(login.stderr, /^warning: credential stored in .* because TERMAUTH_NO_KEYRING is set\n(?!.*TERMAUTH_NO_KEYRING)Logged in \(method: client_credentials, profile: default, token expires in \d+m\d\ds\)\.$/m);
  assert.match(login.stderr, /^warning: credential stored in/m, 'the file store warning');
  const token = await run(['mycli.mjs', 'token'], env);
  assert.equal(token.code, 0, token.stderr);
  assert.ok(token.stdout.trim().length > 10);
  assert.equal(token.stderr, '', 'nothing but the token on a cached read');
  const status = JSON.parse((await run(['mycli.mjs', 'status'], env)).stdout);
  assert.equal(status.source, 'store');
  assert.equal(status.credential_kind, 'oauth');
  const refresh = await run(['mycli.mjs', 'refresh'], env);
  assert.equal(refresh.code, 0, refresh.stderr);
  assert.match(refresh.stderr, /^Token renewed; it expires in /);
  const out = await run(['mycli.mjs', 'logout'], env);
  assert.equal(out.stderr, 'Logged out: the tokens were revoked at the server and deleted here.\n');
  const none = await run(['mycli.mjs', 'token'], env);
  assert.equal(none.code, 3, 'login required → exit 3');
  assert.equal(none.stderr, 'mycli: Not logged in. Run `mycli login` first.\n');
});

test('require() works (Node >= 20.19, exports default/require condition)', async () => {
  const r = await run(['require-example.cjs'], {});
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function');
});

test('undici comes with the package; without it a proxied request goes direct, with a warning and a failure that say so', async () => {
  const undici = join(app.dir, 'node_modules', 'undici');
  assert.ok(existsSync(undici), 'the optional dependency is installed by default');
  rmSync(undici, { recursive: true, force: true }); // as `npm install --omit=optional` leaves it
  const script = join(app.dir, 'no-undici.mjs');
  writeFileSync(
    script,
    `import { environmentFetch } from 'termauth';
const warnings = [];
const f = environmentFetch({ warn: (m) => warnings.push(m) });
try { await f('https://idp.termauth.test/token', { method: 'GET' }); } catch (e) { console.log(JSON.stringify({ warnings, message: e.message })); }
`,
  );
  const r = await run([script], { HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' });
  assert.equal(r.code, 0, r.stderr);
  const { warnings, message } = JSON.parse(r.stdout);
  assert.deepEqual(warnings, ['HTTPS_PROXY is set but the optional package undici is not installed, so the proxy was not used (npm install undici); requests go direct']);
  assert.match(message, /^HTTPS_PROXY is set but the optional package undici is not installed, so the proxy was not used \(npm install undici\): fetch failed/);
});
