// A/B cold start of two builds of the npm package (e.g. this checkout and a previous
// release's): `import` alone, and `import + new Client + getToken()` on a cached token, in
// interleaved rounds (each round runs every command once, in random order), with bare node
// as the floor. The ratio is per round, of the time over bare node.
//
//   node bench/node/ab.mjs --a . --b ../previous-checkout [--rounds 60]
//
// Both checkouts need `bash bindings-wasm/build.sh` run first (npm/dist).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({ options: { a: { type: 'string', default: '.' }, b: { type: 'string' }, rounds: { type: 'string', default: '60' } } });
if (!values.b) throw new Error('usage: node bench/node/ab.mjs --a CHECKOUT --b OTHER_CHECKOUT [--rounds N]');
const rounds = Number(values.rounds);
const issuer = 'https://login.example.com';
const dir = mkdtempSync(join(tmpdir(), 'termauth-ab-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const key = createHash('sha256').update(`${issuer}\ncli`).digest('hex').slice(0, 16);
const now = Date.now();
mkdirSync(join(dir, 'credentials'), { recursive: true, mode: 0o700 });
const record = { schema_version: 1, updated_at: now, kind: 'oauth', issuer, client_id: 'cli', grant: 'device_code',
  tokens: { access_token: 'at-cached', token_type: 'Bearer', expires_at: now + 86_400_000, refresh_token: 'rt', scope: 'openid' } };
writeFileSync(join(dir, 'credentials', `default@${key}.json`), JSON.stringify(record), { mode: 0o600 });
const pkg = (root) => pathToFileURL(resolve(root, 'bindings-wasm/npm/dist/index.js')).href;
const getToken = (root) => `import { Client } from '${pkg(root)}'; const c = new Client({ app: 'bench', issuer: '${issuer}', clientId: 'cli', configDir: ${JSON.stringify(dir)}, interactive: false }); if (await c.getToken() !== 'at-cached') process.exit(1);`;
const scripts = {
  node: '0',
  'A import': `import { Client } from '${pkg(values.a)}'; if (!Client) process.exit(1);`,
  'B import': `import { Client } from '${pkg(values.b)}'; if (!Client) process.exit(1);`,
  'A getToken': getToken(values.a),
  'B getToken': getToken(values.b),
};
const times = Object.fromEntries(Object.keys(scripts).map((k) => [k, []]));
for (let r = 0; r < rounds + 2; r++) {
  for (const name of Object.keys(scripts).sort(() => Math.random() - 0.5)) {
    const t0 = process.hrtime.bigint();
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', scripts[name]], { env: { ...process.env, TERMAUTH_NO_KEYRING: '1' } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (p.status !== 0) throw new Error(`${name}: ${p.stderr}`);
    if (r >= 2) times[name].push(ms); // two warm-up rounds
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`${rounds} interleaved rounds; A = ${resolve(values.a)}, B = ${resolve(values.b)}`);
for (const [name, xs] of Object.entries(times)) console.log(`  ${name.padEnd(12)} median ${median(xs).toFixed(1)} ms  min ${Math.min(...xs).toFixed(1)} ms`);
const over = (name) => times[name].map((x, i) => x - times.node[i]);
for (const what of ['import', 'getToken']) {
  const a = over(`A ${what}`), b = over(`B ${what}`);
  console.log(`  ${what}: A/B per-round ratio of the time over bare node: ${median(a.map((x, i) => x / b[i])).toFixed(2)}x`);
}
