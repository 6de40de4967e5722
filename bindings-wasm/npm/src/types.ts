// The driver contract's JSON shapes under the package's names. The shapes themselves are
// generated from the Rust types (core/tests/schema.rs writes tests/vectors/schema/
// termauth.schema.json, scripts/gen_contract.py turns it into ./contract.ts); this file only
// names them and adds what is not part of the JSON contract. test/types.test.mjs type-checks
// every action, input and spec of tests/vectors against these declarations.
//
// The core reads some shapes more leniently than it writes them (a member it defaults may be
// absent). contract.ts has both, the read one as `<Name>Input`; where one name here serves
// both directions (`ServerMetadata`, `Presentation`), it is the read shape, which every
// written value also satisfies.
import type * as C from './contract.js';

/** Every generated shape under its schema name (`contract.DeviceConfig`, `contract.SessionActionReadFile`, …). */
export type * as contract from './contract.js';

/** Unix milliseconds (wall clock). */
export type Millis = number;

// ---------------------------------------------------------------- errors

export type ErrorKind = C.ErrorKind;
export type Hint = C.Hint;
/** `termauth_core::Error` as JSON. */
export type ErrorData = C.Error;

// ---------------------------------------------------------------- tokens and credentials

/** The token set the core writes (`token_type` is `Bearer` or `DPoP` for tokens it obtained). */
export type TokenSet = C.TokenSet;
export type Grant = C.Grant;
/** How an API key is sent (`prefix` defaults to `""`). */
export type Presentation = C.PresentationInput;
export type OAuthCredential = C.CredentialOauth;
export type ApiKeyCredential = C.CredentialApiKey;
/** A stored credential record (`termauth_core::Credential`) as the core writes it. */
export type Credential = C.Credential;
/** A credential record as the core reads it (members it defaults may be absent). */
export type CredentialInput = C.CredentialInput;

// ---------------------------------------------------------------- server and client

/** RFC 8414 / OIDC server metadata (`termauth_core::ServerMetadata`); unknown members kept. */
export type ServerMetadata = C.ServerMetadataInput;
export type ClientAuth = C.ClientAuth;
export type OAuthClient = C.Client;
export type TokenToSend = C.TokenToSend;

// ---------------------------------------------------------------- flow specs

export type DiscoverySpec = C.FlowSpecDiscovery;
/** From an MCP server's URL to its resource and authorization server (RFC 9728, MCP authorization). */
export type McpDiscoverySpec = C.FlowSpecMcpDiscovery;
/** Dynamic client registration of a native app (RFC 7591). */
export type RegistrationSpec = C.FlowSpecRegistration;
export type DeviceSpec = C.FlowSpecDevice;
export type AuthorizationCodeSpec = C.FlowSpecAuthorizationCode;
export type ClientCredentialsSpec = C.FlowSpecClientCredentials;
export type PasswordSpec = C.FlowSpecPassword;
export type RefreshSpec = C.FlowSpecRefresh;
export type RevocationSpec = C.FlowSpecRevocation;
export type IntrospectionSpec = C.FlowSpecIntrospection;
export type ApiKeySpec = C.FlowSpecApiKey;
/** The configuration of any flow (`termauth_core::FlowSpec`), tagged by `flow`. */
export type FlowSpec = C.FlowSpec;

// ---------------------------------------------------------------- outcomes

export type Introspection = C.Introspection;
/** What MCP discovery found (`termauth_core::flows::McpServer`). */
export type McpServer = C.McpServer;
/** A `Bearer` challenge's parameters (`termauth_core::challenge::BearerChallenge`). */
export type BearerChallenge = C.BearerChallenge;
/** A client registered by dynamic registration (`termauth_core::flows::ClientRegistration`). */
export type ClientRegistration = C.ClientRegistration;
/** What a finished flow produced (`termauth_core::Outcome`), tagged by `kind`. */
export type Outcome = C.Outcome;

// ---------------------------------------------------------------- actions and inputs

/** An HTTP header: `[name, value]`. */
export type Header = C.HttpRequest['headers'][number];

export type SendRequest = C.ActionSendRequest;
export type ShowUserCode = C.ActionShowUserCode;
export type OpenBrowser = C.ActionOpenBrowser;
export type Persist = C.ActionPersist;
export type WaitUntil = C.ActionWaitUntil;
export type AwaitRedirect = C.ActionAwaitRedirect;
export type AwaitResponse = C.ActionAwaitResponse;
export type Done = C.ActionDone;
export type Failed = C.ActionFailed;
/** What `poll` returns (`termauth_core::Action`), tagged by `type`. */
export type Action = C.Action;

export type TransportErrorKind = C.TransportErrorKind;
export type HttpResponseInput = C.InputHttpResponse;
export type TransportErrorInput = C.InputTransportError;
export type RedirectInput = C.InputRedirect;
export type CancelInput = C.InputCancel;
/** What `handle` takes (`termauth_core::Input`), tagged by `type`. */
export type Input = C.Input;

// ---------------------------------------------------------------- lifecycle

/** `termauth_core::lifecycle::Decision` (what `decide` returns; not part of the session contract). */
export type Decision =
  | { decision: 'use' }
  | { decision: 'refresh'; still_valid: boolean }
  | { decision: 'reacquire'; still_valid: boolean }
  | { decision: 'relogin'; reason: string };

// ---------------------------------------------------------------- the session
// `termauth_core::session`: one command (login, get_token, refresh, logout, status,
// profiles, use_profile, discover, lock, unlock) as a sans-IO machine.

/** What to print for a prompt (`termauth_core::texts::Prompt`): `lines`, then the QR code
 * when the terminal can draw one, then `after`. */
export type Prompt = C.Prompt;
/** A progress line while waiting: `text` with `{left}` replaced by the time left until `until_ms`, as `m:ss`. */
export type Progress = C.Progress;
export type NoticeLevel = C.NoticeLevel;
export type RedirectSource = C.RedirectSource;
export type Platform = C.Platform;
/** `auto`: keyring, else file with a warning; `keyring`: only the keyring; `file`: only files (no warning). */
export type StorePreference = C.StorePreference;
/** Which store holds a credential, and why (a sentence). */
export type StoreChoice = C.StoreChoice;

/** `termauth_core::session::SessionConfig` as JSON (defaults when a member is absent). */
export type SessionConfig = C.SessionConfig;
/** What a session does (`termauth_core::session::Command`), tagged by `op`. */
export type SessionCommand = C.Command;
/** A login method as the session names it. */
export type SessionLoginMethod = NonNullable<Extract<SessionCommand, { op: 'login' }>['method']>;
/** The process a session runs in, as its driver observed it (`termauth_core::environment::Environment`). */
export type Environment = C.Environment;
/** A session's whole input (`termauth_core::session::SessionSpec`). */
export type SessionSpec = C.SessionSpec;

export type LaunchBrowser = C.SessionActionLaunchBrowser;
export type SessionWaitUntil = C.SessionActionWaitUntil;
export type SessionShowUserCode = C.SessionActionShowUserCode;
export type ShowAuthorizationUrl = C.SessionActionShowAuthorizationUrl;
export type Listen = C.SessionActionListen;
export type SessionAwaitRedirect = C.SessionActionAwaitRedirect;
export type AnswerBrowser = C.SessionActionAnswerBrowser;
export type Notice = C.SessionActionNotice;
export type ReadFile = C.SessionActionReadFile;
export type WriteFile = C.SessionActionWriteFile;
export type RemoveFile = C.SessionActionRemoveFile;
export type ListDir = C.SessionActionListDir;
export type CreateExclusive = C.SessionActionCreateExclusive;
export type ProcessAlive = C.SessionActionProcessAlive;
export type KeyringGet = C.SessionActionKeyringGet;
export type KeyringSet = C.SessionActionKeyringSet;
export type KeyringDelete = C.SessionActionKeyringDelete;
export type SessionDone = C.SessionActionDone;

/** The storage primitives a session asks for (what `store.ts` executes). */
export type StorageAction = ReadFile | WriteFile | RemoveFile | ListDir | CreateExclusive | ProcessAlive | KeyringGet | KeyringSet | KeyringDelete;

/** What `session.poll` returns (`termauth_core::session::Action`), tagged by `type`. */
export type SessionAction = C.SessionAction;
/** What `session.handle` takes (`termauth_core::session::Input`), tagged by `type`. */
export type SessionInput = C.SessionInput;

/** What `login` did. `text` is the sentence for the user. */
export type LoginReport = C.LoginReport;
/** A valid token (`getToken`, `refresh`). */
export type TokenReport = C.TokenReport;
/** What `logout` did. `text` is the sentence for the user. */
export type LogoutReport = C.LogoutReport;
/** Where `getToken`'s token comes from, and its state (no secrets), as the core reports it. */
export type StatusData = C.Status;
export type ProfileInfo = C.ProfileInfo;
/** What a finished session produced (`termauth_core::session::Outcome`), tagged by `kind`. */
export type SessionOutcome = C.SessionOutcome;
