// node drop-target-feature.mjs IN.wasm OUT.wasm FEATURE
//
// Copies a WebAssembly module, leaving FEATURE out of its `target_features` custom section
// (the features the compiler was told it may use, which wasm-bindgen reads). Nothing else
// changes (a module without FEATURE is copied as it is). bindings-wasm/build.sh drops
// `multivalue`: wasm-bindgen then returns strings through linear memory instead of as
// multi-value results, and Node 20's V8 calls every export through its generic JS-to-wasm
// wrapper instead of compiling a wrapper per multi-value signature with TurboFan when the
// module is compiled (bench/node). Not `-C target-feature=-multivalue` for rustc instead:
// the prebuilt std's objects carry the feature, and the linker writes the union of all
// objects' features (checked: the section still lists +multivalue with that flag).
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, feature] = process.argv.slice(2);
if (!input || !output || !feature) throw new Error('usage: node drop-target-feature.mjs IN.wasm OUT.wasm FEATURE');
const bytes = readFileSync(input);

function uleb(at) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}
function leb(n) {
  const out = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}
const name = (s) => Buffer.concat([leb(Buffer.byteLength(s)), Buffer.from(s)]);

if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error(`${input} is not a WebAssembly module`);
const parts = [bytes.subarray(0, 8)];
for (let at = 8; at < bytes.length; ) {
  const start = at;
  const id = bytes[at++];
  let size;
  [size, at] = uleb(at);
  const end = at + size;
  if (id === 0) {
    const [length, nameAt] = uleb(at);
    if (bytes.subarray(nameAt, nameAt + length).toString() === 'target_features') {
      let [count, p] = uleb(nameAt + length);
      const kept = [];
      for (let i = 0; i < count; i++) {
        const prefix = bytes[p++];
        let l;
        [l, p] = uleb(p);
        const f = bytes.subarray(p, p + l).toString();
        p += l;
        if (f !== feature) kept.push(Buffer.concat([Buffer.from([prefix]), name(f)]));
      }
      const body = Buffer.concat([name('target_features'), leb(kept.length), ...kept]);
      parts.push(Buffer.from([0]), leb(body.length), body);
      at = end;
      continue;
    }
  }
  parts.push(bytes.subarray(start, end));
  at = end;
}
writeFileSync(output, Buffer.concat(parts));
