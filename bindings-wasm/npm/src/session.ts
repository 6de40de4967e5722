// Low level, sans-IO: the core's session (termauth_core::session) as a JS class — one
// command (login, get_token, refresh, logout, status, profiles, use_profile) whose every
// decision and sentence is the core's. `poll(nowMs)` says what to do (HTTP, a storage
// primitive, a prompt, a wait…), `handle(input, nowMs)` feeds back what happened. The
// `Client` is an executor of these actions; write your own to run a session elsewhere.
import * as wasm from './wasm.js';
import { errorFrom, TermauthError, usage } from './errors.js';
import { seedBytes } from './flow.js';
import type { ErrorData, SessionAction, SessionInput, SessionSpec } from './types.js';

/** A running session. Free its wasm memory with `free()` (or `using`); a finalizer frees it too. */
export class Session {
  #inner: wasm.WasmSession | undefined;

  private constructor(inner: wasm.WasmSession) {
    this.#inner = inner;
  }

  /**
   * Starts a session at `nowMs` (wall clock). `seed` (32 bytes or 64 hex digits) makes its
   * random values reproducible (vectors); by default it comes from the OS (`randomSeed`).
   * @throws UsageError for a spec the core refuses (`invalid_session_spec`, `invalid_profile`, …)
   */
  static start(spec: SessionSpec | string, seed: Uint8Array | string | undefined, nowMs: number): Session {
    const text = typeof spec === 'string' ? spec : JSON.stringify(spec);
    let inner: wasm.WasmSession;
    try {
      inner = wasm.startSession(text, seedBytes(seed), nowMs);
    } catch (thrown) {
      if (typeof thrown === 'string') throw errorFrom(JSON.parse(thrown) as ErrorData);
      throw thrown;
    }
    return new Session(inner);
  }

  #session(): wasm.WasmSession {
    if (!this.#inner) throw usage('session_freed', 'This session was freed; start a new one.');
    return this.#inner;
  }

  /** The next action. `done` / `failed` are terminal and sticky. */
  poll(nowMs: number): SessionAction {
    return JSON.parse(this.#session().poll(nowMs)) as SessionAction;
  }

  /** Feeds what happened. A refused input throws a UsageError and leaves the session unchanged. */
  handle(input: SessionInput, nowMs: number): void {
    const error = this.#session().handle(JSON.stringify(input), nowMs);
    if (error !== '') throw errorFrom(JSON.parse(error) as ErrorData);
  }

  /** Whether the session has finished (`done` or `failed`). */
  get finished(): boolean {
    return this.#session().isFinished();
  }

  /** Frees the wasm memory now. Idempotent. */
  free(): void {
    const inner = this.#inner;
    this.#inner = undefined;
    inner?.free();
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/** The environment variables a session for `app` reads (`Environment::variable_names`). */
export function sessionVariables(app: string): string[] {
  return JSON.parse(wasm.sessionVariables(app)) as string[];
}

/**
 * The process exit code for an error, from the core (`Error::exit_code`): 130 cancelled,
 * 3 log in again, 4 retry later, 5 fix the configuration, 6 fatal; 1 for anything that is
 * not a TermauthError (a bug).
 */
export function exitCode(error: unknown): number {
  return error instanceof TermauthError ? wasm.exitCode(JSON.stringify(error.toJSON())) : 1;
}

/**
 * What a CLI prints for an error and exits with: `line` is the core's
 * `program: message [code]` (`Error::line`, the message saying what to do), `exitCode` as
 * {@link exitCode}. `undefined` for anything that is not a TermauthError (a bug: let it throw).
 */
export function describeError(error: unknown, program: string): { line: string; exitCode: number } | undefined {
  if (!(error instanceof TermauthError)) return undefined;
  const json = JSON.stringify(error.toJSON());
  const line = wasm.errorLine(program, json);
  return line === undefined ? undefined : { line, exitCode: wasm.exitCode(json) };
}

/**
 * Runs a CLI's main function and ends it as termauth's own CLI ends: a TermauthError (not
 * logged in, access denied, Ctrl-C during a login, a server down, …) becomes one line on
 * standard error and `process.exitCode` (3 log in again, 4 retry later, 5 fix the
 * configuration, 6 other, 130 cancelled); any other error is thrown on, with its stack.
 *
 * ```js
 * import { Client, runCli } from 'termauth';
 * await runCli('mycli', async () => {
 *   const client = new Client({ app: 'mycli', issuer: 'https://login.example.com', clientId: 'mycli' });
 *   console.log(await client.getToken());
 * });
 * ```
 */
export async function runCli(program: string, main: () => unknown): Promise<void> {
  try {
    await main();
  } catch (error) {
    const described = describeError(error, program);
    if (described === undefined) throw error;
    process.stderr.write(`${described.line}\n`);
    process.exitCode = described.exitCode;
  }
}
