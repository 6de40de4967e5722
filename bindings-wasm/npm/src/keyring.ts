// The OS keyring through the optional package @napi-rs/keyring (it wraps keyring-rs, the
// library the Rust driver uses). The session names the service and account, decides when
// the keyring is used at all (TERMAUTH_NO_KEYRING, the store preference) and what a failure
// means; these three primitives only call it, and throw an Error saying why it is unusable.
import { load } from './builtins.js';

interface EntryLike {
  setPassword(secret: string): void;
  getPassword(): string | null | undefined;
  deletePassword?(): boolean;
  deleteCredential?(): boolean | void;
}
type EntryCtor = new (service: string, account: string) => EntryLike;

let loaded: EntryCtor | Error | undefined;

/** The package's Entry class, loaded on first use (importing termauth stays cheap). */
function entryClass(): EntryCtor {
  if (loaded === undefined) {
    try {
      loaded = (load('@napi-rs/keyring') as { Entry: EntryCtor }).Entry;
    } catch (e) {
      loaded = new Error(
        (e as { code?: string }).code === 'MODULE_NOT_FOUND'
          ? 'the optional package @napi-rs/keyring is not installed'
          : `the optional package @napi-rs/keyring could not be loaded (${(e as Error).message})`,
      );
    }
  }
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

/** The platform's error, named for what it usually means (as the Rust driver words it). */
function describe(e: unknown): Error {
  const text = (e as Error)?.message ?? String(e);
  if (/org\.freedesktop\.secrets|ServiceUnknown|DBus|D-Bus/.test(text)) {
    return new Error(`no Secret Service is running on the session bus (${text})`);
  }
  return new Error(text);
}

const isNoEntry = (e: unknown) => /no matching entry|NoEntry|not found/i.test((e as Error)?.message ?? '');

function entry(service: string, account: string): EntryLike {
  const Entry = entryClass();
  try {
    return new Entry(service, account);
  } catch (e) {
    throw describe(e);
  }
}

/** The entry's value; null when there is none. */
export function keyringGet(service: string, account: string): string | null {
  const e = entry(service, account);
  try {
    return e.getPassword() ?? null;
  } catch (err) {
    if (isNoEntry(err)) return null;
    throw describe(err);
  }
}

/** Stores `value`. */
export function keyringSet(service: string, account: string, value: string): void {
  const e = entry(service, account);
  try {
    e.setPassword(value);
  } catch (err) {
    throw describe(err);
  }
}

/** Deletes the entry (absent is fine). */
export function keyringDelete(service: string, account: string): void {
  const e = entry(service, account);
  try {
    if (e.deleteCredential) e.deleteCredential();
    else e.deletePassword?.();
  } catch (err) {
    if (!isNoEntry(err)) throw describe(err);
  }
}
