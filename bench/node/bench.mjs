#!/usr/bin/env node
// Benchmarks of the npm package `termauth` (not tests): figures and ratios, side by side with
// openid-client 6 and oauth4webapi 3 (dev dependencies of bindings-wasm/npm).
//
//   bash bindings-wasm/build.sh && node bench/node/bench.mjs [--runs 30]
//
// 1. Cold start: a fresh `node` process that imports termauth and reads a cached token
//    (Client.getToken on a stored, valid credential) vs one that only imports oauth4webapi,
//    or openid-client, each as time over bare `node -e 0`. Interleaved rounds (every command
//    once per round, in random order), so a machine busy with something else slows all alike;
//    medians of the per-round differences. The target: termauth ≤ 1.00× oauth4webapi.
// 2. Per operation (in-process, warm): a PKCE pair, an authorization URL, parsing a token
//    response — termauth (wasm core) vs oauth4webapi (pure JS).
// 3. The .wasm size, raw and gzipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = join(root, 'bindings-wasm', 'npm');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 30;
const req = createRequire(join(pkg, 'package.json'));
const resolveEsm = (name) => {
  // openid-client and oauth4webapi are ESM-only: find their entry from package.json exports.
  const dir = join(pkg, 'node_modules', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const exp = manifest.exports?.['.'] ?? manifest.exports;
  const entry = typeof exp === 'string' ? exp : exp?.import?.default ?? exp?.import ?? exp?.default ?? manifest.main;
  return pathToFileURL(join(dir, typeof entry === 'string' ? entry : entry.default)).href;
};
void req;
const termauthUrl = pathToFileURL(join(pkg, 'dist', 'index.js')).href;
const openidUrl = resolveEsm('openid-client');
const o4wUrl = resolveEsm('oauth4webapi');

const termauth = await import(termauthUrl);
const oauth = await import(o4wUrl);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => `${ms.toFixed(1)} ms`;

// ------------------------------------------------------------------ 1. cold start
const dir = mkdtempSync(join(tmpdir(), 'termauth-bench-'));
const issuer = 'https://login.example.com';
{
  // The record a login would have stored (the file store: credentials/<profile>@<key>.json,
  // <key> = the first 16 hex digits of SHA-256(issuer "\n" client_id)).
  const now = Date.now();
  const key = createHash('sha256').update(`${issuer}\ncli`).digest('hex').slice(0, 16);
  mkdirSync(join(dir, 'credentials'), { recursive: true, mode: 0o700 });
  const record = {
    schema_version: 1, updated_at: now, kind: 'oauth', issuer, client_id: 'cli', grant: 'device_code',
    tokens: { access_token: 'at-cached', token_type: 'Bearer', expires_at: now + 86_400_000, refresh_token: 'rt', scope: 'openid' },
  };
  writeFileSync(join(dir, 'credentials', `default@${key}.json`), JSON.stringify(record), { mode: 0o600 });
}
// Every command but the floor is an ESM `-e` script run the same way: like with like.
const scripts = {
  'node -e 0 (the floor)': ['-e', '0'],
  'termauth: import + getToken (cached)': ['--input-type=module', '-e', `import { Client } from ${JSON.stringify(termauthUrl)};
const c = new Client({ app: 'bench', issuer: ${JSON.stringify(issuer)}, clientId: 'cli', configDir: ${JSON.stringify(dir)}, interactive: false });
if (await c.getToken() !== 'at-cached') process.exit(1);`],
  'oauth4webapi 3: import only': ['--input-type=module', '-e', `import * as o from ${JSON.stringify(o4wUrl)}; if (!o.discoveryRequest) process.exit(1);`],
  'openid-client 6: import only': ['--input-type=module', '-e', `import * as client from ${JSON.stringify(openidUrl)}; if (!client.discovery) process.exit(1);`],
};
const names = Object.keys(scripts);
const wall = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < runs + 3; round++) {
  for (const name of [...names].sort(() => Math.random() - 0.5)) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, scripts[name], { stdio: 'pipe', env: { ...process.env, TERMAUTH_NO_KEYRING: '1' } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    if (round >= 3) wall[name].push(ms); // three warm-up rounds (file cache)
  }
}
rmSync(dir, { recursive: true, force: true });
const floor = names[0];
const over = (name) => median(wall[name].map((ms, i) => ms - wall[floor][i]));
console.log(`\n== cold start: a fresh node process, ${runs} interleaved rounds after 3 warm-up rounds (wall clock per process)`);
for (const name of names) {
  const extra = name === floor ? '' : `  +${fmt(over(name))} over node (median of the rounds' differences)`;
  console.log(`${name.padEnd(40)} median ${fmt(median(wall[name])).padStart(9)}  min ${fmt(Math.min(...wall[name])).padStart(9)}${extra}`);
}
const ta = over('termauth: import + getToken (cached)');
const o4w = over('oauth4webapi 3: import only');
const oc = over('openid-client 6: import only');
console.log(`termauth import + getToken / oauth4webapi import, time over bare node: ${(ta / o4w).toFixed(2)}×  (target ≤ 1.00×)`);
console.log(`termauth import + getToken / openid-client import, time over bare node: ${(ta / oc).toFixed(2)}×`);

// ------------------------------------------------------------------ 2. per operation
async function perOp(fn, minMs = 400) {
  for (let i = 0; i < 200; i++) await fn(); // warm up (JIT, wasm tier-up)
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n; // µs per op
}
const as = {
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  code_challenge_methods_supported: ['S256'],
};
const client = { client_id: 'cli', token_endpoint_auth_method: 'none' };
const tokenBody = JSON.stringify({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, scope: 'api:read', refresh_token: 'rt-1' });
const authSpec = {
  flow: 'authorization_code',
  server: { issuer, authorization_endpoint: as.authorization_endpoint, token_endpoint: as.token_endpoint, code_challenge_methods_supported: ['S256'] },
  client: { client_id: 'cli' },
  scope: 'openid offline_access',
  redirect_port: 8400,
};
const ops = {
  'PKCE pair (verifier + S256 challenge)': [
    () => termauth.pkcePair(),
    async () => {
      const v = oauth.generateRandomCodeVerifier();
      return oauth.calculatePKCECodeChallenge(v);
    },
  ],
  'authorization URL (state, PKCE, nonce)': [
    () => {
      const f = termauth.Flow.start(authSpec);
      const a = f.poll(Date.now());
      f.free();
      return a.url;
    },
    async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(as.authorization_endpoint);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', client.client_id);
      url.searchParams.set('redirect_uri', 'http://127.0.0.1:8400/callback');
      url.searchParams.set('scope', 'openid offline_access');
      url.searchParams.set('state', oauth.generateRandomState());
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
      url.searchParams.set('code_challenge_method', 'S256');
      url.searchParams.set('nonce', oauth.generateRandomNonce());
      return url.href;
    },
  ],
  'parse a token response': [
    () => termauth.parseTokenResponse({ status: 200, headers: [['content-type', 'application/json']], body: tokenBody }, 'api:read', Date.now()),
    () =>
      oauth.processClientCredentialsResponse(
        as,
        client,
        new Response(tokenBody, { status: 200, headers: { 'content-type': 'application/json' } }),
      ),
  ],
};
console.log('\n== per operation, in process, warm (µs per op; lower is better)');
for (const [name, [ta2, js]] of Object.entries(ops)) {
  const a = await perOp(ta2);
  const b = await perOp(js);
  console.log(`${name.padEnd(40)} termauth ${a.toFixed(2).padStart(7)} µs   oauth4webapi ${b.toFixed(2).padStart(7)} µs   ratio ${(a / b).toFixed(2)}×  (target ≤ 2×)`);
}

// ------------------------------------------------------------------ 3. size
const wasm = readFileSync(join(pkg, 'wasm', 'termauth_wasm_bg.wasm'));
const bundle = readFileSync(join(pkg, 'dist', 'index.js'));
console.log('\n== size');
const gz = gzipSync(wasm, { level: 9 }).length;
console.log(`termauth_wasm_bg.wasm  ${wasm.length} bytes raw (${(wasm.length / 545_000).toFixed(2)}× the 545 KB = 545,000-byte budget), ${gz} bytes zlib -9 (${(gz / 230_000).toFixed(2)}× the 230 KB budget, which build.sh measures with gzip -9)`);
console.log(`dist/index.js          ${(bundle.length / 1024).toFixed(1)} KB (the whole package a cached getToken loads, wasm-bindgen glue included)`);
try {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkg, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [info] = JSON.parse(out);
  console.log(`npm tarball            ${(info.size / 1024).toFixed(1)} KB packed, ${(info.unpackedSize / 1024).toFixed(1)} KB unpacked, ${info.entryCount} files`);
} catch {
  /* npm not available */
}
