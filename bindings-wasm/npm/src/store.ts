// Credential stores: the OS keyring first, a protected file otherwise, and the lock that
// serialises refreshes across processes and languages. Byte-compatible with
// native/src/store.rs (see ARCHITECTURE.md, "The store"):
//
//   <config dir>/                 $XDG_CONFIG_HOME/<app> | ~/Library/Application Support/<app> | %APPDATA%\<app>;
//                                 <APP>_CONFIG_DIR overrides. 0700.
//     credentials/                0700
//       <profile>@<key>.json      file-store record (0600, temp + fsync + rename + dir fsync)
//       <profile>@<key>.keyring   keyring pointer (no secret)
//       <profile>@<key>.lock      O_CREAT|O_EXCL lock: {"pid","host","created_at","nonce"}; stale
//                                 after 120 s or when its process is gone on this host; broken
//                                 only under <profile>@<key>.lock.break (O_EXCL); released only
//                                 by the holder whose nonce it carries
//     profiles.json               {"schema_version":1,"active":{"<key>":"<profile>"}}
//
// <key> = first 16 hex digits of SHA-256(issuer "\n" client_id).
import { fs } from './builtins.js';
import { join, dirname, basename } from 'node:path';
import { storage, usage, TermauthError } from './errors.js';
import { parseCredential } from './flow.js';
import * as wasm from './wasm.js';
import { keyringDelete, keyringGet, keyringSet } from './keyring.js';
import type { Credential } from './types.js';

/** A lock older than this is abandoned: longer than a discovery plus a refresh, each bounded by a 30 s timeout. */
export const STALE_LOCK_MS = 120_000;
/** How long to wait for another process's lock before giving up (outlives an abandoned lock). */
export const LOCK_WAIT_MS = 150_000;
/** An unparseable lock file, or a `.break` file, this old was left by a process that died mid-way. */
export const BREAK_STALE_MS = 10_000;
/** Windows Credential Manager's limit; larger records go to the file store there. */
export const KEYRING_MAX_BYTES = 2_560;

/** Which store holds a credential, and why (a sentence). */
export interface StoreChoice {
  store: 'keyring' | 'file';
  reason: string;
}

/** `auto`: keyring, else file with a warning; `keyring`: only the keyring; `file`: only files (no warning). */
export type StorePreference = 'auto' | 'keyring' | 'file';

/** Identifies one credential. */
export interface CredentialKey {
  app: string;
  issuer: string;
  clientId: string;
  profile: string;
}

/** The first 16 hex digits of SHA-256(issuer "\n" client_id). */
export function serverKey(issuer: string, clientId: string): string {
  return wasm.serverKey(issuer, clientId);
}

/** `<profile>@<key>`: the base name of the files and the keyring account. */
export function fileStem(key: CredentialKey): string {
  return `${key.profile}@${serverKey(key.issuer, key.clientId)}`;
}

/** Checks a profile name: 1–64 of `[A-Za-z0-9._-]`, not starting with a dot. */
export function checkProfile(profile: string): void {
  if (!(profile.length >= 1 && profile.length <= 64 && !profile.startsWith('.') && /^[A-Za-z0-9._-]+$/.test(profile))) {
    throw usage('invalid_profile', `\`${profile}\` is not a valid profile name: use 1 to 64 letters, digits, \`.\`, \`_\` or \`-\`.`);
  }
}

/** `<APP>_<SUFFIX>` (upper case; `-`, `.`, space become `_`). */
export function envName(app: string, suffix: string): string {
  return `${app.toUpperCase().replace(/[-. ]/g, '_')}_${suffix}`;
}

/** The platform config directory for `app`. */
export function configDir(app: string): string {
  const variable = `${app.toUpperCase().replace(/[-.]/g, '_')}_CONFIG_DIR`;
  const override = process.env[variable];
  if (override) return override;
  let base: string | undefined;
  if (process.platform === 'win32') base = process.env.APPDATA;
  else if (process.platform === 'darwin') base = process.env.HOME && join(process.env.HOME, 'Library/Application Support');
  else base = process.env.XDG_CONFIG_HOME || (process.env.HOME && join(process.env.HOME, '.config'));
  if (!base) {
    throw storage('no_config_dir', `Cannot find a config directory (no HOME or XDG_CONFIG_HOME); set ${variable}.`, 'fix_configuration');
  }
  return join(base, app);
}

function ioError(what: string, path: string, e: unknown): TermauthError {
  return storage(
    'store_io',
    `Could not ${what} ${path}: ${(e as Error).message}. Check the directory's permissions and free space.`,
    'fix_configuration',
  );
}

const isCode = (e: unknown, code: string) => (e as { code?: string })?.code === code;

/** Creates `dir` (and parents) with mode 0700; tightens a group/world-accessible one. */
function ensurePrivateDir(dir: string): void {
  if (process.platform === 'win32') {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw ioError('create', dir, e);
    }
    return;
  }
  if (!fs.existsSync(dir)) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioError('create', dir, e);
    }
  }
  let mode: number;
  try {
    mode = fs.statSync(dir).mode;
  } catch (e) {
    throw ioError('read', dir, e);
  }
  if ((mode & 0o077) !== 0) {
    try {
      fs.chmodSync(dir, 0o700);
    } catch (e) {
      throw ioError('protect', dir, e);
    }
  }
}

/** Writes `text` to `path` atomically: temp file (0600) + fsync + rename + dir fsync. */
export function writeAtomic(path: string, text: string): void {
  const dir = dirname(path);
  ensurePrivateDir(dir);
  // A random name created exclusively ('wx'): an existing file or symlink of that name is
  // never followed or reused, and two writers never share a temporary file.
  const tmp = join(dir, `.${basename(path)}.${randomBytesHex(12)}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
    if (process.platform !== 'win32') {
      try {
        const d = fs.openSync(dir, 'r');
        try {
          fs.fsyncSync(d);
        } finally {
          fs.closeSync(d);
        }
      } catch {
        /* best effort, like the Rust store */
      }
    }
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw ioError('write', path, e);
  }
}

function hostname(): string {
  for (const p of ['/proc/sys/kernel/hostname', '/etc/hostname']) {
    try {
      return fs.readFileSync(p, 'utf8').trim();
    } catch {
      /* next */
    }
  }
  return process.env.COMPUTERNAME ?? '';
}

function processAlive(pid: number): boolean {
  if (process.platform === 'linux') return fs.existsSync(`/proc/${pid}`);
  return true; // unknown: rely on the age rule
}

/** The lock file's contents if the lock is stale (see the header comment), else undefined. */
function staleContents(path: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return undefined; // vanished or unreadable: just retry
  }
  let info: { pid?: unknown; host?: unknown; created_at?: unknown } | undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object') info = v as typeof info;
  } catch {
    info = undefined;
  }
  let stale: boolean;
  if (info && typeof info.pid === 'number' && typeof info.host === 'string' && typeof info.created_at === 'number') {
    stale =
      Date.now() - info.created_at > STALE_LOCK_MS ||
      (info.host === hostname() && info.pid !== process.pid && !processAlive(info.pid));
  } else {
    // Empty or partial: its writer died between create and write, or is just there.
    try {
      stale = Date.now() - fs.statSync(path).mtimeMs > BREAK_STALE_MS;
    } catch {
      stale = false;
    }
  }
  return stale ? text : undefined;
}

function createExclusive(path: string): number {
  return fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
}

/**
 * Removes a stale lock whose contents were `seen`, under the short-lived `<lock>.break`
 * lock, so that of many takers that judged it stale only one removes it, and none removes
 * the fresh lock a faster one created meanwhile.
 */
function breakStale(path: string, seen: string): Promise<void> | void {
  const breaker = `${path}.break`;
  let fd: number;
  try {
    fd = createExclusive(breaker);
  } catch {
    let abandoned = false;
    try {
      abandoned = Date.now() - fs.statSync(breaker).mtimeMs > BREAK_STALE_MS;
    } catch {
      /* gone */
    }
    if (abandoned) {
      try {
        fs.unlinkSync(breaker);
      } catch {
        /* someone else did */
      }
      return;
    }
    return sleep(5);
  }
  fs.closeSync(fd);
  try {
    if (fs.readFileSync(path, 'utf8') === seen) fs.unlinkSync(path);
  } catch {
    /* gone already */
  } finally {
    try {
      fs.unlinkSync(breaker);
    } catch {
      /* ignore */
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A held lock; `release()` (or `using`) deletes the file if it still carries this holder's nonce. */
export class LockGuard {
  #path: string | undefined;
  #nonce: string;
  constructor(path: string, nonce: string) {
    this.#path = path;
    this.#nonce = nonce;
  }
  release(): void {
    const p = this.#path;
    this.#path = undefined;
    if (!p) return;
    try {
      const info = JSON.parse(fs.readFileSync(p, 'utf8')) as { nonce?: unknown };
      if (info.nonce === this.#nonce) fs.unlinkSync(p);
    } catch {
      /* gone, or not ours any more */
    }
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

/** Takes the lock file at `path`, waiting up to `waitMs`. @throws StorageError `store_locked`, `store_io` */
export async function lock(path: string, waitMs = LOCK_WAIT_MS): Promise<LockGuard> {
  ensurePrivateDir(dirname(path));
  const started = Date.now();
  let delay = 10;
  for (;;) {
    let fd: number;
    try {
      fd = createExclusive(path);
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw ioError('create the lock', path, e);
      const seen = staleContents(path);
      if (seen !== undefined) {
        await breakStale(path, seen);
        continue;
      }
      if (Date.now() - started >= waitMs) {
        throw storage(
          'store_locked',
          `Another process has held the credential lock ${path} for too long. If no other termauth process is running, delete that file.`,
          'retry_later',
        );
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
      continue;
    }
    const nonce = randomBytesHex(12);
    try {
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), created_at: Date.now(), nonce }));
      fs.fsyncSync(fd);
    } catch {
      /* the lock is held even if its note is incomplete */
    } finally {
      fs.closeSync(fd);
    }
    return new LockGuard(path, nonce);
  }
}

function randomBytesHex(n: number): string {
  const bytes = new Uint8Array(n);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function removeIfExists(path: string): boolean {
  try {
    fs.unlinkSync(path);
    return true;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return false;
    throw ioError('delete', path, e);
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined;
    throw ioError('read', path, e);
  }
}

/** A copy with object members sorted, as serde_json writes a `Value` (for files the Rust side writes). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export function keyringService(app: string): string {
  return `termauth:${app}`;
}

/** The credential store for one app: keyring and files under one config directory. */
export class Store {
  readonly dir: string;
  readonly preference: StorePreference;

  constructor(dir: string, preference: StorePreference = 'auto') {
    this.dir = dir;
    this.preference = preference;
  }

  /** The store for `app`, in its config directory. */
  static forApp(app: string, preference: StorePreference = 'auto'): Store {
    return new Store(configDir(app), preference);
  }

  #credentialsDir(): string {
    return join(this.dir, 'credentials');
  }

  path(key: CredentialKey, ext: 'json' | 'keyring' | 'lock'): string {
    return join(this.#credentialsDir(), `${fileStem(key)}.${ext}`);
  }

  /** Takes the credential's lock. */
  lock(key: CredentialKey): Promise<LockGuard> {
    ensurePrivateDir(this.dir);
    return lock(this.path(key, 'lock'), LOCK_WAIT_MS);
  }

  /** Reads a credential, wherever it is; undefined when there is none. */
  load(key: CredentialKey): { credential: Credential; choice: StoreChoice } | undefined {
    const file = this.path(key, 'json');
    const text = readIfExists(file);
    if (text !== undefined) {
      let credential: Credential;
      try {
        credential = parseCredential(text);
      } catch (e) {
        if (e instanceof TermauthError) {
          throw storage(e.code, `${e.message} (${file})`, e.hint);
        }
        throw e;
      }
      return { credential, choice: { store: 'file', reason: `stored in ${file}` } };
    }
    const pointer = this.path(key, 'keyring');
    if (readIfExists(pointer) === undefined) return undefined;
    const got = keyringGet(keyringService(key.app), fileStem(key));
    if ('why' in got) {
      throw storage(
        'keyring_unavailable',
        got.read
          ? `The OS keyring holds this credential but could not be read: ${got.why}. Unlock the keyring and try again.`
          : `The OS keyring holds this credential but is not usable now: ${got.why}.`,
        'retry_later',
      );
    }
    if (got.value === null) {
      throw storage(
        'keyring_entry_missing',
        'The credential\'s keyring entry has disappeared (the keyring was reset or another tool removed it). Log in again.',
        'reauthenticate',
      );
    }
    return { credential: parseCredential(got.value), choice: { store: 'keyring', reason: 'stored in the OS keyring' } };
  }

  /** Writes a credential to the keyring or the file store, per the preference, removing any other copy. */
  save(key: CredentialKey, credential: Credential): StoreChoice {
    ensurePrivateDir(this.dir);
    // The core's own serialization (compact, members in the Rust order) is what is stored.
    const json = JSON.stringify(credential);
    let why: string | null;
    if (this.preference === 'file') why = 'file storage was chosen explicitly';
    else if (process.platform === 'win32' && Buffer.byteLength(json) > KEYRING_MAX_BYTES) {
      why = `the record (${Buffer.byteLength(json)} bytes) is larger than the Windows Credential Manager's ${KEYRING_MAX_BYTES}-byte limit`;
    } else why = keyringSet(keyringService(key.app), fileStem(key), json);
    if (why === null) {
      const pointer = {
        schema_version: 1,
        store: 'keyring',
        service: keyringService(key.app),
        account: fileStem(key),
        issuer: key.issuer,
        client_id: key.clientId,
        profile: key.profile,
      };
      writeAtomic(this.path(key, 'keyring'), JSON.stringify(pointer));
      removeIfExists(this.path(key, 'json'));
      return { store: 'keyring', reason: 'stored in the OS keyring' };
    }
    if (this.preference === 'keyring') {
      throw storage('keyring_unavailable', `The OS keyring is not usable (${why}), and keyring-only storage was requested.`, 'fix_configuration');
    }
    const file = this.path(key, 'json');
    writeAtomic(file, json);
    if (fs.existsSync(this.path(key, 'keyring'))) {
      keyringDelete(keyringService(key.app), fileStem(key));
      removeIfExists(this.path(key, 'keyring'));
    }
    const reason =
      this.preference === 'file'
        ? `stored in ${file} (file storage chosen explicitly)`
        : `stored in ${file} (mode 0600, not encrypted) because ${why}`;
    return { store: 'file', reason };
  }

  /** Deletes a credential from both stores; whether anything was there. */
  delete(key: CredentialKey): boolean {
    let found = removeIfExists(this.path(key, 'json'));
    const pointer = this.path(key, 'keyring');
    if (fs.existsSync(pointer)) {
      const why = keyringDelete(keyringService(key.app), fileStem(key));
      if (why !== null) throw storage('keyring_unavailable', `Could not delete the keyring entry: ${why}.`, 'retry_later');
      removeIfExists(pointer);
      found = true;
    }
    return found;
  }

  /** The profiles stored for (issuer, clientId), sorted. */
  profiles(issuer: string, clientId: string): string[] {
    const suffix = `@${serverKey(issuer, clientId)}`;
    let names: string[];
    try {
      names = fs.readdirSync(this.#credentialsDir());
    } catch (e) {
      if (isCode(e, 'ENOENT')) return [];
      throw ioError('list', this.#credentialsDir(), e);
    }
    const out: string[] = [];
    for (const name of names) {
      const stem = name.endsWith('.json') ? name.slice(0, -5) : name.endsWith('.keyring') ? name.slice(0, -8) : undefined;
      if (stem === undefined || !stem.endsWith(suffix)) continue;
      const profile = stem.slice(0, -suffix.length);
      if (!profile.startsWith('.') && !out.includes(profile)) out.push(profile);
    }
    // Rust sorts by bytes; so does this comparison (no locale).
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The active profile for (issuer, clientId), if one was chosen. */
  activeProfile(issuer: string, clientId: string): string | undefined {
    const path = join(this.dir, 'profiles.json');
    const text = readIfExists(path);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw storage('profiles_corrupt', `${path} is not valid JSON; fix or delete it.`, 'fix_configuration');
    }
    const active = (value as { active?: Record<string, unknown> } | null)?.active?.[serverKey(issuer, clientId)];
    return typeof active === 'string' ? active : undefined;
  }

  /** Makes `profile` the active one for (issuer, clientId). */
  async setActiveProfile(issuer: string, clientId: string, profile: string): Promise<void> {
    checkProfile(profile);
    ensurePrivateDir(this.dir);
    const guard = await lock(join(this.dir, 'profiles.lock'), LOCK_WAIT_MS);
    try {
      const path = join(this.dir, 'profiles.json');
      let value: { [k: string]: unknown; active?: unknown } = { schema_version: 1, active: {} };
      try {
        const parsed = JSON.parse(fs.readFileSync(path, 'utf8')) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) value = parsed as typeof value;
      } catch {
        /* absent or unreadable: start over, as the Rust store does */
      }
      if (!value.active || typeof value.active !== 'object' || Array.isArray(value.active)) value.active = {};
      (value.active as Record<string, string>)[serverKey(issuer, clientId)] = profile;
      writeAtomic(path, JSON.stringify(sortKeys(value), null, 2));
    } finally {
      guard.release();
    }
  }
}
