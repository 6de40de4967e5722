// Replays every tests/vectors/session/*.json through the wasm session (tests/vectors/README.md,
// "Session vectors"): `Session.start(spec, seed, start)`, then each step's `poll` compared by
// exact JSON equality and each `handle` accepted or refused as written. Every action is also
// checked against the runtime validator of src/types.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Session, TermauthError } from '../dist/index.js';
import { checkSessionAction, jsonEqual } from './validate.mjs';

const dir = fileURLToPath(new URL('../../../tests/vectors/session/', import.meta.url));
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

test('at least 30 session vectors are present', () => {
  assert.ok(files.length >= 30, `only ${files.length} session vectors in ${dir}`);
});

for (const file of files) {
  test(`session vector ${file}`, () => {
    const v = JSON.parse(readFileSync(dir + file, 'utf8'));
    assert.equal(typeof v.start, 'number', 'the vector has a start time');
    let session;
    try {
      session = Session.start(v.spec, v.seed, v.start);
    } catch (e) {
      assert.ok(e instanceof TermauthError, `a start error must be a TermauthError, got ${e}`);
      assert.ok(v.expect_start_error, `unexpected start error ${e.kind}/${e.code}: ${e.message}`);
      assert.deepEqual({ kind: e.kind, code: e.code }, v.expect_start_error);
      return;
    }
    const s = session;
    try {
    assert.ok(!v.expect_start_error, 'the session started but a start error was expected');
    assert.ok(v.steps.length > 0, 'a vector that starts has steps');
    v.steps.forEach((step, i) => {
      if ('poll' in step) {
        const action = s.poll(step.poll);
        checkSessionAction(action, `step ${i}`);
        assert.ok(jsonEqual(action, step.expect), `step ${i}: expected ${JSON.stringify(step.expect)}\n got ${JSON.stringify(action)}`);
      } else if ('handle' in step) {
        let refused;
        try {
          s.handle(step.handle, step.now);
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
      s.free();
    }
  });
}

