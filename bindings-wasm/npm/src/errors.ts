// Every error termauth throws is a TermauthError (an Error), one subclass per family.
import type { ErrorData, ErrorKind, Hint } from './types.js';

/** The base of every error termauth throws: the core's `Error` with its stable `code`. */
export class TermauthError extends Error {
  /** The family: usage, protocol, oauth, transport, interrupted, storage. */
  readonly kind: ErrorKind;
  /** A stable machine code (`invalid_grant`, `response_not_json`, `not_logged_in`, …). */
  readonly code: string;
  /** What the CLI should do: reauthenticate, retry_later, fix_configuration, fatal. */
  readonly hint: Hint;
  /** The HTTP status that caused it, if any. */
  readonly status: number | undefined;
  /** The OAuth `error` value, for oauth errors. */
  readonly error: string | undefined;
  /** The server's `error_description` (sanitised). */
  readonly errorDescription: string | undefined;
  /** The server's `error_uri`. */
  readonly errorUri: string | undefined;
  /** The sanitised start of a non-JSON response body. */
  readonly excerpt: string | undefined;
  /** The server's `Retry-After` on a 429 or 503 answer, as sent (delta-seconds or an HTTP date; sanitised): do not try again before it. */
  readonly retryAfter: string | undefined;

  constructor(data: ErrorData) {
    super(data.message);
    this.name = new.target.name;
    this.kind = data.kind;
    this.code = data.code;
    this.hint = data.hint;
    this.status = data.status;
    this.error = data.error;
    this.errorDescription = data.error_description;
    this.errorUri = data.error_uri;
    this.excerpt = data.excerpt;
    this.retryAfter = data.retry_after;
  }

  /** The error as the core's JSON shape (what other languages see). */
  toJSON(): ErrorData {
    const d: ErrorData = { kind: this.kind, code: this.code, message: this.message, hint: this.hint };
    if (this.status !== undefined) d.status = this.status;
    if (this.error !== undefined) d.error = this.error;
    if (this.errorDescription !== undefined) d.error_description = this.errorDescription;
    if (this.errorUri !== undefined) d.error_uri = this.errorUri;
    if (this.excerpt !== undefined) d.excerpt = this.excerpt;
    if (this.retryAfter !== undefined) d.retry_after = this.retryAfter;
    return d;
  }
}

/** The caller broke the driver contract or gave an unusable configuration. */
export class UsageError extends TermauthError {}
/** The server's response was malformed. */
export class ProtocolError extends TermauthError {}
/** The server answered with an OAuth error (`error` holds the RFC code). */
export class OAuthError extends TermauthError {}
/** No HTTP response could be had. */
export class TransportError extends TermauthError {}
/** Cancelled, or a local deadline passed. */
export class InterruptedError extends TermauthError {}
/** The credential store failed or holds an unreadable record. */
export class StorageError extends TermauthError {}

const classes: Record<ErrorKind, new (d: ErrorData) => TermauthError> = {
  usage: UsageError,
  protocol: ProtocolError,
  oauth: OAuthError,
  transport: TransportError,
  interrupted: InterruptedError,
  storage: StorageError,
};

/** The TermauthError subclass for an error JSON value. */
export function errorFrom(data: ErrorData): TermauthError {
  const C = classes[data.kind] ?? TermauthError;
  return new C(data);
}

/** Builds a TermauthError in the core's shape (driver-side errors: store, listener, …). */
export function makeError(kind: ErrorKind, code: string, message: string, hint: Hint): TermauthError {
  return errorFrom({ kind, code, message, hint });
}

export const usage = (code: string, message: string, hint: Hint = 'fix_configuration') =>
  makeError('usage', code, message, hint);
export const storage = (code: string, message: string, hint: Hint) => makeError('storage', code, message, hint);
