#!/usr/bin/env node
// A small CLI over the npm package `termauth`, written as a user of the package would.
//   MYCLI_ISSUER=https://login.example.com MYCLI_CLIENT_ID=mycli node mycli.mjs login --device
//   curl -H "Authorization: Bearer $(node mycli.mjs token)" https://api.example.com/me
import { Client, TermauthError } from 'termauth';

const [command = 'help', ...flags] = process.argv.slice(2);
const auth = new Client({
  // The client secret (CI) comes from MYCLI_CLIENT_SECRET, the directory from MYCLI_CONFIG_DIR.
  app: 'mycli',
  issuer: process.env.MYCLI_ISSUER ?? 'https://login.example.com',
  clientId: process.env.MYCLI_CLIENT_ID ?? 'mycli',
  scope: process.env.MYCLI_SCOPE ?? 'openid offline_access',
});
const method = { '--device': 'device', '--browser': 'browser', '--paste': 'paste', '--client-credentials': 'clientCredentials' }[flags[0]] ?? 'auto';

try {
  switch (command) {
    case 'login': {
      const r = await auth.login({ method });
      console.error(`Logged in (${r.method}, profile ${r.profile}; ${r.store.reason}).`);
      break;
    }
    case 'token':
      console.log(await auth.getToken()); // cached; refreshed under the lock when due
      break;
    case 'status':
      console.log(JSON.stringify(auth.status(), null, 2));
      break;
    case 'logout': {
      const r = await auth.logout(); // revokes (refresh token first), then forgets
      console.error(r.removed ? `Logged out${r.revoked ? ' and revoked' : ''}.` : 'Not logged in.');
      break;
    }
    default:
      console.error('usage: mycli login [--device|--browser|--paste|--client-credentials] | token | status | logout');
      process.exitCode = 2;
  }
} catch (e) {
  if (!(e instanceof TermauthError)) throw e;
  console.error(`mycli: ${e.message}`);
  process.exitCode = { reauthenticate: 3, retry_later: 4, fix_configuration: 5, fatal: 6 }[e.hint];
}
