// The storage primitives a session asks for — read_file, write_file, make_private, remove_file, list_dir,
// create_exclusive, process_alive and the keyring calls — done with node:fs and the
// optional keyring. The same semantics as native/src/storage.rs; IO only: what to read,
// write or lock, and what it means (paths, formats, lock staleness), is the session's
// (termauth_core::store). A failure is answered with `io_error` carrying the OS's text.
import { fs, randomBytes } from './builtins.js';
import { keyringDelete, keyringGet, keyringSet } from './keyring.js';
import type { SessionAction, SessionInput } from './types.js';

/** Files the session reads are small (records, pointers, locks, profiles, metadata); a larger one is refused rather than read. */
export const MAX_FILE_BYTES = 1024 * 1024;

// Not an ESM import of node:path: that builds its module namespace (see builtins.ts).
const { dirname, basename, join } = process.getBuiltinModule('node:path');
const isCode = (e: unknown, code: string) => (e as { code?: string } | null)?.code === code;
const text = (e: unknown) => (e instanceof Error ? e.message : String(e));
const windows = process.platform === 'win32';

/**
 * Performs `action` if it is a storage primitive and returns the session's answer;
 * `undefined` for any other action. Synchronous: the primitives are short, and the
 * cached `getToken` path stays free of promise hops.
 */
export function execute(action: SessionAction): SessionInput | undefined {
  const id = (action as { id?: number }).id ?? 0;
  try {
    switch (action.type) {
      case 'read_file': {
        const read = readFile(action.path);
        if (!read) return { type: 'file_contents', id, contents: null };
        const answer: SessionInput = { type: 'file_contents', id, contents: read.contents, modified_ms: read.modifiedMs };
        if (read.mode !== undefined) Object.assign(answer, { mode: read.mode, owned: read.owned });
        return answer;
      }
      case 'make_private':
        makePrivate(action.path);
        return { type: 'completed', id };
      case 'write_file':
        writeAtomic(action.path, action.contents);
        return { type: 'completed', id };
      case 'remove_file':
        return { type: 'removed', id, existed: removeFile(action.path) };
      case 'list_dir':
        return { type: 'dir_listing', id, names: listDir(action.path) };
      case 'create_exclusive':
        return { type: 'created', id, created: createExclusive(action.path, action.contents) };
      case 'process_alive':
        return { type: 'process_status', id, alive: processAlive(action.pid) };
      case 'keyring_get':
        return { type: 'keyring_value', id, value: keyringGet(action.service, action.account) };
      case 'keyring_set':
        keyringSet(action.service, action.account, action.value);
        return { type: 'completed', id };
      case 'keyring_delete':
        keyringDelete(action.service, action.account);
        return { type: 'completed', id };
      default:
        return undefined;
    }
  } catch (e) {
    return { type: 'io_error', id, message: text(e) };
  }
}

/** The effective user id (POSIX); `undefined` where there is none (Windows). */
const userId = (): number | undefined => (typeof process.geteuid === 'function' ? process.geteuid() : undefined);

/**
 * The file's text, modification time (Unix ms) and, on POSIX, its permission bits and whether
 * it (a symlink's target) belongs to this user; `undefined` when it does not exist.
 */
export function readFile(path: string): { contents: string; modifiedMs: number; mode?: number; owned?: boolean } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined;
    throw e;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (stat.size > MAX_FILE_BYTES) throw new Error(`it is larger than ${MAX_FILE_BYTES} bytes`);
    // Read to the end, but never more than the cap plus one byte (the file may grow meanwhile).
    const chunk = Buffer.allocUnsafe(Math.min(stat.size, MAX_FILE_BYTES) + 1);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, MAX_FILE_BYTES + 1 - total), null);
      if (n === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, n)));
      total += n;
      if (total > MAX_FILE_BYTES) throw new Error(`it is larger than ${MAX_FILE_BYTES} bytes`);
    }
    let contents: string;
    try {
      contents = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    } catch {
      throw new Error('it is not UTF-8 text');
    }
    const uid = userId();
    if (windows || uid === undefined) return { contents, modifiedMs: Math.floor(stat.mtimeMs) };
    return { contents, modifiedMs: Math.floor(stat.mtimeMs), mode: stat.mode & 0o777, owned: stat.uid === uid };
  } finally {
    fs.closeSync(fd);
  }
}

/** Takes the group's and others' permissions away (`chmod go-rwx`); nothing on Windows. */
function makePrivate(path: string): void {
  if (windows) return;
  fs.chmodSync(path, fs.statSync(path).mode & 0o700);
}

/**
 * Creates `dir` (and parents) with mode 0700, and tightens it if it is group- or world-accessible.
 * What is written there must stay the user's: `dir` must belong to the user, and every directory
 * above it (symlinks resolved) to the user or root (`/tmp`, `/home`); otherwise (a config directory
 * that is a symlink into another user's directory, say) nothing is created or written — that user
 * could read or replace it.
 */
function ensurePrivateDir(dir: string): void {
  if (windows) {
    fs.mkdirSync(dir, { recursive: true });
    return;
  }
  const uid = userId();
  const foreign = (path: string, owner: number) =>
    new Error(`the directory ${path} belongs to another user (uid ${owner}); termauth keeps credentials only in the user's own directories`);
  // Where a symlink leads is what matters: every real ancestor must be the user's or root's
  // (anyone else could rename or replace what is below), checked before anything is created.
  if (uid !== undefined) {
    let existing = dir;
    while (!fs.existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    for (let a = fs.realpathSync(existing); ; a = dirname(a)) {
      const owner = fs.statSync(a).uid;
      if (owner !== uid && owner !== 0) throw foreign(a, owner);
      if (dirname(a) === a) break;
    }
  }
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.statSync(dir);
  if (uid !== undefined && stat.uid !== uid) throw foreign(dir, stat.uid);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** `O_CREAT|O_EXCL|O_WRONLY` with mode 0600: an existing file or symlink of that name is never followed. */
function openExclusive(path: string): number {
  return fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
}

function writeAllAndSync(fd: number, contents: string): void {
  const bytes = Buffer.from(contents, 'utf8');
  let at = 0;
  while (at < bytes.length) at += fs.writeSync(fd, bytes, at, bytes.length - at);
  fs.fsyncSync(fd);
}

/** 24 random hex digits: a temporary file's name is never shared by two writers. */
function randomSuffix(): string {
  const bytes = randomBytes(12);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Writes `contents` to `path` atomically: a temporary file in the same directory created
 * exclusively with mode 0600, fsync, rename over `path`, fsync the directory (0700,
 * created if needed).
 */
export function writeAtomic(path: string, contents: string): void {
  const dir = dirname(path);
  ensurePrivateDir(dir);
  const tmp = join(dir, `.${basename(path)}.${randomSuffix()}.tmp`);
  try {
    const fd = openExclusive(tmp);
    try {
      writeAllAndSync(fd, contents);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw e;
  }
  if (!windows) {
    // Best effort, as in the Rust driver: the rename is durable once the directory is.
    try {
      const d = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(d);
      } finally {
        fs.closeSync(d);
      }
    } catch {
      /* a file system that cannot fsync a directory */
    }
  }
}

/** Deletes a file; whether it existed. */
function removeFile(path: string): boolean {
  try {
    fs.unlinkSync(path);
    return true;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return false;
    throw e;
  }
}

/** A directory's entry names; empty when it does not exist. */
function listDir(path: string): string[] {
  try {
    return fs.readdirSync(path);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return [];
    throw e;
  }
}

/** Creates `path` only if it does not exist (its directory 0700), writes `contents`, fsyncs; `false` when it existed. */
function createExclusive(path: string, contents: string): boolean {
  ensurePrivateDir(dirname(path));
  let fd: number;
  try {
    fd = openExclusive(path);
  } catch (e) {
    if (isCode(e, 'EEXIST')) return false;
    throw e;
  }
  try {
    // A holder that dies between creating and writing leaves an empty lock, which the
    // session judges stale after a while.
    writeAllAndSync(fd, contents);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Whether process `pid` lives: known on Linux (`/proc`), unknown (null) elsewhere. */
function processAlive(pid: number): boolean | null {
  return process.platform === 'linux' ? fs.existsSync(`/proc/${pid}`) : null;
}
