// The storage primitives (src/store.ts), with the semantics of native/src/storage.rs: what
// the session asks for, done with node:fs — 0600 files in 0700 directories, atomic writes
// through exclusive temporary files, the 1 MiB read cap, modification times, O_EXCL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execute, MAX_FILE_BYTES } from '../dist/store.js';
import { tempDir } from './helpers.mjs';

const mode = (p) => statSync(p).mode & 0o777;

test('files and locks: read, atomic write (0600 in 0700), list, exclusive create, remove, process_alive', () => {
  const dir = tempDir();
  const path = join(dir, 'a', 'b', 'record.json');
  assert.deepEqual(execute({ type: 'read_file', id: 1, path }), { type: 'file_contents', id: 1, contents: null });
  assert.deepEqual(execute({ type: 'write_file', id: 2, path, contents: '{"é":1}' }), { type: 'completed', id: 2 });
  const read = execute({ type: 'read_file', id: 3, path });
  assert.equal(read.contents, '{"é":1}');
  assert.equal(read.modified_ms, Math.floor(statSync(path).mtimeMs));
  assert.equal(mode(path), 0o600);
  assert.equal(mode(join(dir, 'a', 'b')), 0o700);
  assert.equal(mode(join(dir, 'a')), 0o700);
  // Overwriting replaces the file and leaves no temporary file behind.
  execute({ type: 'write_file', id: 4, path, contents: 'second' });
  assert.equal(readFileSync(path, 'utf8'), 'second');
  const lock = join(dir, 'a', 'b', 'x.lock');
  assert.deepEqual(execute({ type: 'create_exclusive', id: 5, path: lock, contents: 'l' }), { type: 'created', id: 5, created: true });
  assert.equal(mode(lock), 0o600);
  assert.equal(readFileSync(lock, 'utf8'), 'l');
  assert.deepEqual(execute({ type: 'create_exclusive', id: 6, path: lock, contents: 'other' }), { type: 'created', id: 6, created: false });
  assert.equal(readFileSync(lock, 'utf8'), 'l', 'an existing lock is left as it is');
  const listed = execute({ type: 'list_dir', id: 7, path: join(dir, 'a', 'b') });
  assert.deepEqual(listed.names.sort(), ['record.json', 'x.lock']);
  assert.deepEqual(execute({ type: 'list_dir', id: 8, path: join(dir, 'none') }), { type: 'dir_listing', id: 8, names: [] });
  assert.deepEqual(execute({ type: 'remove_file', id: 9, path: lock }), { type: 'removed', id: 9, existed: true });
  assert.deepEqual(execute({ type: 'remove_file', id: 10, path: lock }), { type: 'removed', id: 10, existed: false });
  assert.deepEqual(execute({ type: 'process_alive', id: 11, pid: process.pid }), { type: 'process_status', id: 11, alive: true });
  assert.deepEqual(execute({ type: 'process_alive', id: 12, pid: 2 ** 22 + 12345 }), { type: 'process_status', id: 12, alive: false });
  assert.equal(execute({ type: 'await_response', id: 1 }), undefined, 'not a storage primitive');
});

test('the modification time is the file\'s, in Unix ms (the lock\'s staleness reads it)', () => {
  const path = join(tempDir(), 'old.lock');
  writeFileSync(path, '');
  utimesSync(path, 1_700_000_000, 1_700_000_000.5);
  assert.equal(execute({ type: 'read_file', id: 1, path }).modified_ms, 1_700_000_000_500);
});

test('a file over 1 MiB is refused, not read; one of exactly 1 MiB is read; not UTF-8 is refused', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'big'), Buffer.alloc(MAX_FILE_BYTES + 1, 0x20));
  assert.deepEqual(execute({ type: 'read_file', id: 1, path: join(dir, 'big') }), { type: 'io_error', id: 1, message: `it is larger than ${MAX_FILE_BYTES} bytes` });
  writeFileSync(join(dir, 'max'), Buffer.alloc(MAX_FILE_BYTES, 0x20));
  assert.equal(execute({ type: 'read_file', id: 2, path: join(dir, 'max') }).contents.length, MAX_FILE_BYTES);
  writeFileSync(join(dir, 'latin1'), Buffer.from([0x7b, 0xe9, 0x7d]));
  assert.deepEqual(execute({ type: 'read_file', id: 3, path: join(dir, 'latin1') }), { type: 'io_error', id: 3, message: 'it is not UTF-8 text' });
  writeFileSync(join(dir, 'empty'), '');
  assert.equal(execute({ type: 'read_file', id: 4, path: join(dir, 'empty') }).contents, '');
});

test('a group- or world-accessible directory is tightened to 0700', () => {
  const dir = join(tempDir(), 'loose');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  execute({ type: 'write_file', id: 1, path: join(dir, 'f'), contents: 'x' });
  assert.equal(mode(dir), 0o700);
});

test('a temporary file is created exclusively: a planted symlink is neither followed nor left behind', () => {
  const dir = tempDir();
  const target = join(dir, 'victim');
  writeFileSync(target, 'untouched');
  // Every name the writer could pick is random; plant links with the fixed parts anyway.
  for (let i = 0; i < 5; i++) symlinkSync(target, join(dir, `.record.json.planted${i}.tmp`));
  execute({ type: 'write_file', id: 1, path: join(dir, 'record.json'), contents: 'new' });
  assert.equal(readFileSync(target, 'utf8'), 'untouched');
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.tmp') && !n.includes('planted')).length, 0, 'no temporary file left');
});

test('failures are io_error answers with the OS\'s words (never thrown), and a failed write leaves nothing', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'file'), 'x');
  const under = join(dir, 'file', 'child.json'); // a path under a regular file
  for (const action of [
    { type: 'read_file', id: 1, path: under },
    { type: 'write_file', id: 2, path: under, contents: 'x' },
    { type: 'create_exclusive', id: 3, path: under, contents: 'x' },
    { type: 'list_dir', id: 4, path: join(dir, 'file') },
    { type: 'remove_file', id: 5, path: dir },
  ]) {
    const answer = execute(action);
    assert.equal(answer.type, 'io_error', JSON.stringify(answer));
    assert.equal(answer.id, action.id);
    assert.match(answer.message, /^E[A-Z]+: /);
  }
  assert.deepEqual(readdirSync(dir), ['file']);
});

// Issue 11: what the session needs to take nothing on trust (the same as native/src/storage.rs).
test('read_file reports the mode and the owner; make_private takes the group\'s and others\' access away', () => {
  const dir = tempDir();
  const path = join(dir, 'credentials', 'record.json');
  execute({ type: 'write_file', id: 1, path, contents: '{}' });
  chmodSync(path, 0o644);
  const read = execute({ type: 'read_file', id: 2, path });
  assert.equal(read.mode, 0o644);
  assert.equal(read.owned, true);
  assert.deepEqual(execute({ type: 'make_private', id: 3, path }), { type: 'completed', id: 3 });
  assert.equal(mode(path), 0o600);
  assert.equal(execute({ type: 'make_private', id: 4, path: join(dir, 'none') }).type, 'io_error');
});

test('another user\'s files and directories: reported as not owned; nothing is written into their directory', { skip: process.geteuid?.() !== 0 && 'needs root to make another user\'s files' }, () => {
  const NOBODY = 65534;
  const dir = tempDir();
  const path = join(dir, 'record.json');
  writeFileSync(path, '{}', { mode: 0o600 });
  chownSync(path, NOBODY, NOBODY);
  assert.equal(execute({ type: 'read_file', id: 1, path }).owned, false);
  // A config directory that is a symlink into another user's directory.
  const theirs = tempDir();
  chownSync(theirs, NOBODY, NOBODY);
  const link = join(tempDir(), 'config');
  symlinkSync(theirs, link);
  for (const target of [join(link, 'profiles.json'), join(link, 'credentials', 'record.json')]) {
    const answer = execute({ type: 'write_file', id: 2, path: target, contents: '{"secret":1}' });
    assert.equal(answer.type, 'io_error', target);
    assert.match(answer.message, /belongs to another user/);
  }
  assert.equal(execute({ type: 'create_exclusive', id: 3, path: join(link, 'x.lock'), contents: 'l' }).type, 'io_error');
  assert.deepEqual(readdirSync(theirs), [], 'nothing was written into their directory');
  // A symlink to a directory of ours inside another user's directory: the real parent counts.
  const outer = tempDir();
  const mine = join(outer, 'mine');
  mkdirSync(mine);
  chownSync(outer, NOBODY, NOBODY);
  const link2 = join(tempDir(), 'config');
  symlinkSync(mine, link2);
  const answer = execute({ type: 'write_file', id: 4, path: join(link2, 'credentials', 'record.json'), contents: '{}' });
  assert.equal(answer.type, 'io_error');
  assert.match(answer.message, /belongs to another user/);
  assert.deepEqual(readdirSync(mine), []);
});
