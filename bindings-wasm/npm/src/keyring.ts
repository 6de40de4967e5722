// The OS keyring through the optional package @napi-rs/keyring (it wraps keyring-rs, the
// library the Rust driver uses: service `termauth:<app>`, account `<profile>@<key>`).
// Without it, or with TERMAUTH_NO_KEYRING set, every call reports why it is unusable and
// the file store is used, with the same warnings as the Rust driver.
import { load } from './builtins.js';

interface EntryLike {
  setPassword(secret: string): void;
  getPassword(): string | null | undefined;
  deletePassword?(): boolean;
  deleteCredential?(): boolean | void;
}
type EntryCtor = new (service: string, account: string) => EntryLike;

let loaded: { Entry?: EntryCtor; why?: string } | undefined;

function keyringModule(): { Entry?: EntryCtor; why?: string } {
  if (loaded) return loaded;
  try {
    const mod = load('@napi-rs/keyring') as { Entry: EntryCtor };
    loaded = { Entry: mod.Entry };
  } catch (e) {
    const code = (e as { code?: string }).code;
    loaded = {
      why:
        code === 'MODULE_NOT_FOUND'
          ? 'the optional package @napi-rs/keyring is not installed'
          : `the optional package @napi-rs/keyring could not be loaded (${(e as Error).message})`,
    };
  }
  return loaded;
}

function describe(e: unknown): string {
  const text = (e as Error)?.message ?? String(e);
  if (/org\.freedesktop\.secrets|ServiceUnknown|DBus|D-Bus/.test(text)) {
    return `no Secret Service is running on the session bus (${text})`;
  }
  return text;
}

function isNoEntry(e: unknown): boolean {
  return /no matching entry|NoEntry|not found/i.test((e as Error)?.message ?? '');
}

/** Opens an entry, or returns the reason the keyring is unusable. */
function entry(service: string, account: string): EntryLike | string {
  if (process.env.TERMAUTH_NO_KEYRING !== undefined) return 'TERMAUTH_NO_KEYRING is set';
  const { Entry, why } = keyringModule();
  if (!Entry) return why!;
  try {
    return new Entry(service, account);
  } catch (e) {
    return describe(e);
  }
}

/** Stores `secret`; returns null on success or the reason it failed. */
export function keyringSet(service: string, account: string, secret: string): string | null {
  const e = entry(service, account);
  if (typeof e === 'string') return e;
  try {
    e.setPassword(secret);
    return null;
  } catch (err) {
    return describe(err);
  }
}

/** `{value}` (null when there is no entry) or `{why}` when the keyring is unusable. */
export function keyringGet(service: string, account: string): { value: string | null } | { why: string; read: boolean } {
  const e = entry(service, account);
  if (typeof e === 'string') return { why: e, read: false };
  try {
    return { value: e.getPassword() ?? null };
  } catch (err) {
    if (isNoEntry(err)) return { value: null };
    return { why: describe(err), read: true };
  }
}

/** Deletes the entry (absent is fine); null on success or the reason it failed. */
export function keyringDelete(service: string, account: string): string | null {
  const e = entry(service, account);
  if (typeof e === 'string') return e;
  try {
    if (e.deleteCredential) e.deleteCredential();
    else e.deletePassword?.();
    return null;
  } catch (err) {
    return isNoEntry(err) ? null : describe(err);
  }
}
