// Replays every tests/vectors/*.json through the wasm flows (tests/vectors/README.md) and
// checks each action the core returns against the runtime validator of src/types.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Flow, TermauthError } from '../dist/index.js';
import { checkAction, jsonEqual } from './validate.mjs';

const dir = fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('at least 40 vectors are present', () => {
  assert.ok(files.length >= 40, `only ${files.length} vectors in ${dir}`);
});

for (const file of files) {
  test(`vector ${file}`, () => {
    const v = JSON.parse(readFileSync(dir + file, 'utf8'));
    let flow;
    try {
      flow = Flow.start(v.spec, v.seed);
    } catch (e) {
      assert.ok(e instanceof TermauthError, `a start error must be a TermauthError, got ${e}`);
      assert.ok(v.expect_start_error, `unexpected start error ${e.kind}/${e.code}: ${e.message}`);
      assert.deepEqual({ kind: e.kind, code: e.code }, v.expect_start_error);
      return;
    }
    const f = flow;
    try {
    assert.ok(!v.expect_start_error, 'the flow started but a start error was expected');
    (v.steps ?? []).forEach((step, i) => {
      if ('poll' in step) {
        const action = f.poll(step.poll);
        checkAction(action);
        assert.ok(jsonEqual(action, step.expect), `step ${i}: expected ${JSON.stringify(step.expect)}\n got ${JSON.stringify(action)}`);
      } else if ('handle' in step) {
        let refused;
        try {
          f.handle(step.handle, step.now);
        } catch (e) {
          refused = e;
        }
        if (step.expect_error) {
          assert.ok(refused instanceof TermauthError, `step ${i}: input accepted, error ${JSON.stringify(step.expect_error)} expected`);
          assert.deepEqual({ kind: refused.kind, code: refused.code }, step.expect_error, `step ${i}`);
        } else {
          assert.equal(refused, undefined, `step ${i}: input refused: ${refused?.message}`);
        }
      } else {
        assert.fail(`step ${i} has neither poll nor handle`);
      }
    });
    } finally {
      f[Symbol.dispose]();
    }
  });
}
