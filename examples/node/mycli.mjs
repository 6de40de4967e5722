#!/usr/bin/env node
// A small CLI over the npm package `termauth`, written as a user of the package would.
//   MYCLI_ISSUER=https://login.example.com MYCLI_CLIENT_ID=mycli node mycli.mjs login --device
//   curl -H "Authorization: Bearer $(node mycli.mjs token)" https://api.example.com/me
// Every sentence it prints comes from termauth (the reports' `text`, errors' messages).
import { Client, TermauthError, exitCode } from 'termauth';

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
    case 'login':
      console.error((await auth.login({ method })).text);
      break;
    case 'token':
      console.log(await auth.getToken()); // cached; refreshed under the lock when due
      break;
    case 'refresh':
      console.error((await auth.refresh()).text);
      break;
    case 'status': {
      const status = auth.status();
      console.log(JSON.stringify(status, null, 2));
      if (status.problem) throw status.problem; // exit 3 when a login is needed, for scripts
      break;
    }
    case 'logout':
      console.error((await auth.logout()).text); // revokes (refresh token first), then forgets
      break;
    default:
      console.error('usage: mycli login [--device|--browser|--paste|--client-credentials] | token | refresh | status | logout');
      process.exitCode = 2;
  }
} catch (e) {
  if (!(e instanceof TermauthError)) throw e;
  console.error(`mycli: ${e.message}`);
  process.exitCode = exitCode(e); // 3 log in again, 4 retry later, 5 fix the configuration, 6 fatal, 130 cancelled
}
