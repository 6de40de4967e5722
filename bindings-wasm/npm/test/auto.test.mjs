// The choice of `auto`'s login method comes from the core (termauth_core::auto); these check
// the binding's wiring, the core's own tests check the whole table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, autoMethodInCi, autoMethodInteractive } from '../dist/index.js';

const server = (endpoints) => ({ issuer: 'https://as.example', ...endpoints });
const both = server({ authorization_endpoint: 'https://as.example/a', device_authorization_endpoint: 'https://as.example/d' });

test('in CI: client credentials with a secret, else an error naming the variables; null elsewhere', () => {
  const ci = { ci: true, ssh: false, display: false };
  assert.equal(autoMethodInCi(ci, true, 'MYCLI_TOKEN', 'MYCLI_CLIENT_SECRET'), 'client_credentials');
  assert.throws(
    () => autoMethodInCi(ci, false, 'MYCLI_TOKEN', 'MYCLI_CLIENT_SECRET'),
    (e) => e instanceof UsageError && e.code === 'ci_needs_credentials' && /Set MYCLI_TOKEN to a token, or MYCLI_CLIENT_SECRET/.test(e.message),
  );
  assert.equal(autoMethodInCi({ ...ci, ci: false }, true, 'A', 'B'), null);
});

test('for a person: browser on a desktop, device over SSH, paste without a device endpoint', () => {
  assert.equal(autoMethodInteractive({ ci: false, ssh: false, display: true }, both), 'browser');
  assert.equal(autoMethodInteractive({ ci: false, ssh: true, display: true }, both), 'device');
  assert.equal(autoMethodInteractive({ ci: false, ssh: true, display: true }, server({ authorization_endpoint: 'https://as.example/a' })), 'paste');
  assert.throws(() => autoMethodInteractive({ ci: false, ssh: false, display: true }, server({})), (e) => e instanceof UsageError && e.code === 'no_interactive_method');
  assert.throws(() => autoMethodInteractive({ ci: false, ssh: false, display: true }, { issuer: 5 }), (e) => e instanceof UsageError && e.code === 'invalid_input');
});
