// The TypeScript declarations (src/types.ts, shipped as dist/types.d.ts) against the Rust
// types: every action, input and spec written in tests/vectors/*.json must type-check as
// `Action`, `Input` and `FlowSpec` (object literals: unknown members are errors too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const vectors = fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));

test('every vector action, input and spec type-checks against the declared unions', () => {
  const actions = [];
  const inputs = [];
  const specs = [];
  for (const f of readdirSync(vectors).filter((f) => f.endsWith('.json')).sort()) {
    const v = JSON.parse(readFileSync(join(vectors, f), 'utf8'));
    if (!v.expect_start_error) specs.push(v.spec);
    for (const s of v.steps ?? []) {
      if ('poll' in s) actions.push(s.expect);
      if ('handle' in s) inputs.push(s.handle);
    }
  }
  // Long bodies are irrelevant to the types; keep the file small.
  const trim = (k, v) => (typeof v === 'string' && v.length > 200 ? v.slice(0, 200) : v);
  const dir = mkdtempSync(join(tmpdir(), 'termauth-types-'));
  try {
    const src =
      `import type { Action, Input, FlowSpec } from ${JSON.stringify(join(pkg, 'dist', 'index.js'))};\n` +
      `export const actions: Action[] = ${JSON.stringify(actions, trim, 1)};\n` +
      `export const inputs: Input[] = ${JSON.stringify(inputs, trim, 1)};\n` +
      `export const specs: FlowSpec[] = ${JSON.stringify(specs, trim, 1)};\n` +
      // And the negative case: an unknown action type must not type-check.
      `// @ts-expect-error unknown action type\nexport const bad: Action = { type: 'teleport' };\n`;
    writeFileSync(join(dir, 'vectors.ts'), src);
    const tsc = join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(pkg, 'node_modules', '@types'), join(dir, 'vectors.ts')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc refused the vectors:\n${e.stdout}${e.stderr}`);
    }
    assert.ok(actions.length > 200 && inputs.length > 100 && specs.length > 50, `${actions.length} actions, ${inputs.length} inputs, ${specs.length} specs`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every session vector action, input and spec type-checks against SessionAction, SessionInput and SessionSpec', () => {
  const dir = join(vectors, 'session');
  const actions = [];
  const inputs = [];
  const specs = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const v = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    if (!v.expect_start_error) specs.push(v.spec);
    for (const s of v.steps ?? []) {
      if ('poll' in s) actions.push(s.expect);
      if ('handle' in s) inputs.push(s.handle);
    }
  }
  const trim = (k, v) => (typeof v === 'string' && v.length > 200 ? v.slice(0, 200) : v);
  const tmp = mkdtempSync(join(tmpdir(), 'termauth-types-'));
  try {
    const src =
      `import type { SessionAction, SessionInput, SessionSpec } from ${JSON.stringify(join(pkg, 'dist', 'index.js'))};\n` +
      `export const actions: SessionAction[] = ${JSON.stringify(actions, trim, 1)};\n` +
      `export const inputs: SessionInput[] = ${JSON.stringify(inputs, trim, 1)};\n` +
      `export const specs: SessionSpec[] = ${JSON.stringify(specs, trim, 1)};\n` +
      `// @ts-expect-error unknown action type\nexport const bad: SessionAction = { type: 'teleport' };\n` +
      `// @ts-expect-error a storage answer without its id\nexport const badInput: SessionInput = { type: 'completed' };\n`;
    writeFileSync(join(tmp, 'session.ts'), src);
    const tsc = join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(pkg, 'node_modules', '@types'), join(tmp, 'session.ts')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc refused the session vectors:\n${e.stdout}${e.stderr}`);
    }
    assert.ok(actions.length > 500 && inputs.length > 300 && specs.length >= 30, `${actions.length} actions, ${inputs.length} inputs, ${specs.length} specs`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
