// Low level, sans-IO: the core's flows as JS classes. No network, no clock, no files:
// `poll(nowMs)` says what to do, `handle(input, nowMs)` feeds back what happened.
import { randomBytes } from './builtins.js';
import * as wasm from './wasm.js';
import { errorFrom, usage } from './errors.js';
import type { Action, Credential, Decision, ErrorData, FlowSpec, HttpResponseInput, Input, TokenSet } from './types.js';

type Envelope<T> = { ok: T; error?: undefined } | { ok?: undefined; error: ErrorData };

/** The `ok` value of a core envelope, or throws its error as a TermauthError subclass. */
export function unwrap<T>(text: string): T {
  const env = JSON.parse(text) as Envelope<T>;
  if (env.error) throw errorFrom(env.error);
  return env.ok as T;
}

/** 32 bytes from the OS's CSPRNG: the seed of a flow's or a session's RNG (state, PKCE verifier, nonce, lock nonces). */
export function randomSeed(): Uint8Array {
  return randomBytes(32);
}

export function seedBytes(seed: Uint8Array | string | undefined): Uint8Array {
  if (seed === undefined) return randomSeed();
  if (typeof seed === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(seed)) throw usage('invalid_seed', 'An RNG seed must be exactly 64 hexadecimal digits (32 bytes).');
    return Uint8Array.from(seed.match(/../g)!.map((h) => parseInt(h, 16)));
  }
  return seed;
}

/**
 * A running flow (device, authorization code, client credentials, password, refresh,
 * revocation, introspection, discovery, MCP discovery, registration, API key), driven by `poll` / `handle`.
 *
 * Its wasm memory is freed by `free()` (or `using flow = Flow.start(…)`); a finalizer frees
 * it too if you forget.
 */
export class Flow {
  #inner: wasm.WasmFlow | undefined;

  private constructor(inner: wasm.WasmFlow) {
    this.#inner = inner;
  }

  /**
   * Starts a flow. `seed` (32 bytes or 64 hex digits) makes its random values
   * reproducible (tests, vectors); by default it comes from the OS (`randomSeed`).
   * @throws UsageError for a configuration the core refuses (`invalid_flow_config`, `insecure_endpoint`, …)
   */
  static start(spec: FlowSpec | string, seed?: Uint8Array | string): Flow {
    const text = typeof spec === 'string' ? spec : JSON.stringify(spec);
    let inner: wasm.WasmFlow;
    try {
      inner = wasm.startFlow(text, seedBytes(seed));
    } catch (thrown) {
      if (typeof thrown === 'string') throw errorFrom(JSON.parse(thrown) as ErrorData);
      throw thrown;
    }
    return new Flow(inner);
  }

  #flow(): wasm.WasmFlow {
    if (!this.#inner) throw usage('flow_freed', 'This flow was freed; start a new one.');
    return this.#inner;
  }

  /** The next action (drain until a waiting or terminal action). `done`/`failed` are sticky. */
  poll(nowMs: number): Action {
    return JSON.parse(this.#flow().poll(nowMs)) as Action;
  }

  /**
   * Feeds what happened. A refused input (unknown id, input after the end, wrong redirect
   * path) throws a UsageError and leaves the flow unchanged.
   */
  handle(input: Input, nowMs: number): void {
    const error = this.#flow().handle(JSON.stringify(input), nowMs);
    if (error !== '') throw errorFrom(JSON.parse(error) as ErrorData);
  }

  /** Frees the wasm memory now. Idempotent. */
  free(): void {
    const inner = this.#inner;
    this.#inner = undefined;
    inner?.free();
  }

  /** `using flow = Flow.start(…)` frees it at the end of the block. */
  [Symbol.dispose](): void {
    this.free();
  }
}

/** Validates and normalises a stored record (throws StorageError `credential_corrupt` / `credential_newer_version`). */
export function parseCredential(text: string): Credential {
  return unwrap<Credential>(wasm.parseCredential(text));
}

/** The lifecycle decision for a record at `nowMs` (pure; from the core). */
export function decide(credential: Credential | string, nowMs: number, refreshSkewMs?: number): Decision {
  const text = typeof credential === 'string' ? credential : JSON.stringify(credential);
  // Without a skew the core's default applies (it reads NaN as "none given").
  return unwrap<Decision>(wasm.decide(text, nowMs, refreshSkewMs ?? NaN));
}

/** The header that presents a credential: `[name, value]`, e.g. `['Authorization', 'Bearer …']`. */
export function authorizationHeader(credential: Credential): [string, string] {
  const h = unwrap<{ name: string; value: string }>(wasm.authorizationHeader(JSON.stringify(credential)));
  return [h.name, h.value];
}

/** A PKCE pair (S256, RFC 7636) from a seed (random by default). */
export function pkcePair(seed?: Uint8Array | string): { code_verifier: string; code_challenge: string; code_challenge_method: 'S256' } {
  return unwrap(wasm.pkcePair(seedBytes(seed)));
}

/** `BASE64URL(SHA256(verifier))`. */
export function pkceChallenge(verifier: string): string {
  return wasm.pkceChallenge(verifier);
}

/** Parses a token endpoint response (RFC 6749 §5.1/§5.2); throws OAuthError / ProtocolError. */
export function parseTokenResponse(
  response: Omit<HttpResponseInput, 'type' | 'id'> & { id?: number },
  requestedScope: string | undefined,
  nowMs: number,
): TokenSet {
  return unwrap<TokenSet>(wasm.parseTokenResponse(JSON.stringify(response), requestedScope, nowMs));
}

/** The termauth-core version inside the wasm module. */
export function coreVersion(): string {
  return wasm.coreVersion();
}
