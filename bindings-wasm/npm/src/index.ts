// termauth for Node CLIs: every OAuth login method with the token lifecycle done right,
// over termauth-core compiled to WebAssembly.
//
//   import { Client } from 'termauth';
//   const auth = new Client({ app: 'mycli', issuer, clientId, scope });
//   await auth.login({ method: 'device' });
//   const token = await auth.getToken();
//   await auth.logout();
export * from './types.js';
export {
  TermauthError,
  UsageError,
  ProtocolError,
  OAuthError,
  TransportError,
  InterruptedError,
  StorageError,
  errorFrom,
} from './errors.js';
export {
  Flow,
  randomSeed,
  parseCredential,
  decide,
  authorizationHeader,
  pkcePair,
  pkceChallenge,
  parseTokenResponse,
  coreVersion,
} from './flow.js';
export { Session, sessionVariables, exitCode, describeError, runCli } from './session.js';
export { Client } from './client.js';
export type { ClientOptions, CredentialLock, LoginMethod, LoginOptions, Status } from './options.js';
export { send, proxyFor, environmentFetch, MAX_RESPONSE_BYTES } from './transport.js';
export type { EnvironmentFetchOptions, FetchLike, UndiciLike } from './transport.js';
export { Terminal, Silent, qrLines } from './ui.js';
export type { Ui } from './ui.js';
export { openBrowser, snapshot } from './environment.js';
