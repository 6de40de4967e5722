// Paste mode's input: the lines a user types (or a host writes) on a stream, one at a time,
// for the session's `await_redirect` with source `paste`. IO only: what a line means is the
// session's.
import type { Interface } from 'node:readline';

const MAX_TIMER = 2 ** 31 - 1;

/** Lines typed on an input stream, one promise at a time (paste mode). */
export class LineReader {
  #rl: Interface;
  #lines: (string | null)[] = [];
  #waiter: ((l: string | null) => void) | undefined;
  constructor(input: NodeJS.ReadableStream) {
    // node:readline is loaded only for paste mode: importing termauth stays cheap.
    const { createInterface } = process.getBuiltinModule('node:readline');
    this.#rl = createInterface({ input, terminal: false });
    this.#rl.on('line', (l) => this.#push(l));
    this.#rl.on('close', () => this.#push(null));
  }
  #push(l: string | null) {
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w(l);
    } else this.#lines.push(l);
  }
  /** The next line, null at end of input, undefined if none arrived before `ms` (or a cancel). */
  next(ms: number, signal: AbortSignal): Promise<string | null | undefined> {
    if (this.#lines.length) return Promise.resolve(this.#lines.shift()!);
    return new Promise((resolve) => {
      const finish = (v: string | null | undefined) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiter = undefined;
        resolve(v);
      };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.min(ms, MAX_TIMER));
      if (signal.aborted) return finish(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiter = (l) => finish(l);
    });
  }
  close() {
    this.#rl.close();
  }
}
