// The Node built-ins the package uses at start-up, taken from process.getBuiltinModule
// (Node 20.16+) rather than an ESM `import`. An ESM import of a built-in makes Node build its
// module namespace, which runs every lazy getter of the module: for node:fs that loads the
// streams and fs/promises (2 ms of a cold start, bench/node). `createRequire` (for the
// optional packages) would load node:module and the source-map support on every start:
// it is made on first use. bindings-wasm/build.sh does the same for the wasm-bindgen glue's
// read of the .wasm. Load nothing else here at import time: a built-in that `getToken` does
// not need (node:http loads the streams and net) costs more than it saves.

let requireHere: NodeJS.Require | undefined;

/**
 * CommonJS `require`, relative to this package, made on first use: for what is loaded only
 * when needed (the optional packages undici and @napi-rs/keyring, qrcode-generator), so
 * importing termauth stays cheap.
 */
export function load(id: string): unknown {
  requireHere ??= process.getBuiltinModule('node:module').createRequire(import.meta.url);
  return requireHere(id);
}

/** node:fs (every command reads the store). node:http and node:net are imported by the
 * loopback listener, which is itself imported only when a browser login starts. */
export const fs = process.getBuiltinModule('node:fs');

/**
 * `n` bytes from the operating system's CSPRNG. On Unix, read from /dev/urandom with
 * node:fs (already loaded): the first use of `globalThis.crypto` loads Node's WebCrypto,
 * 2–3 ms of every cold start (and node:crypto costs as much), while a session needs its
 * seed before it knows whether it will use it. Elsewhere, or if the device cannot be read,
 * crypto.getRandomValues.
 */
export function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  if (process.platform !== 'win32') {
    let fd: number | undefined;
    try {
      fd = fs.openSync('/dev/urandom', 'r');
      let at = 0;
      while (at < n) {
        const got = fs.readSync(fd, bytes, at, n - at, null);
        if (got <= 0) break;
        at += got;
      }
      if (at === n) return bytes;
    } catch {
      /* no such device here: the portable source below */
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  return globalThis.crypto.getRandomValues(bytes);
}
