// What the person at the terminal sees: the session's prompts, progress lines and notices,
// rendered (the same as native/src/ui.rs). The words are all the session's; this only
// draws them. Everything goes to stderr, so `$(mycli token)` captures only the token. Rich
// (QR code, spinner) on a terminal; plain lines otherwise.
import { load } from './builtins.js';
import * as wasm from './wasm.js';
import type { NoticeLevel, Progress, Prompt, SessionShowUserCode, ShowAuthorizationUrl } from './types.js';

/** The terminal front end (replaceable: pass `ui` to the Client). Render `action.text`; the other members are for custom UIs. */
export interface Ui {
  /** The device flow's code and where to enter it. */
  showUserCode(action: SessionShowUserCode): void;
  /** The authorization URL of a browser (or paste) login. */
  showAuthorizationUrl(action: ShowAuthorizationUrl): void;
  /** Called while waiting (at most every 100 ms). */
  progress(nowMs: number, progress: Progress): void;
  /** A notice (`warning`s are shown as such). */
  notice(level: NoticeLevel, text: string, code: string): void;
  /** Waiting is over. */
  clear(): void;
}

interface QrModel {
  addData(data: string): void;
  make(): void;
  getModuleCount(): number;
  isDark(row: number, col: number): boolean;
}

/** Renders `data` as a QR code with Unicode half blocks (two modules per character row), or null. */
export function qrLines(data: string): string[] | null {
  let qr: QrModel;
  try {
    // Loaded only when a QR code is shown, so importing termauth stays cheap.
    const qrcode = load('qrcode-generator') as (type: number, level: string) => QrModel;
    qr = qrcode(0, 'M');
    qr.addData(data);
    qr.make();
  } catch {
    return null;
  }
  const width = qr.getModuleCount();
  const dark = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < width && qr.isDark(y, x);
  const quiet = 2;
  const lines: string[] = [];
  for (let y = -quiet; y < width + quiet; y += 2) {
    let line = '';
    for (let x = -quiet; x < width + quiet; x++) {
      // Draw the light parts, so it scans on dark terminals too.
      const top = dark(x, y);
      const bottom = dark(x, y + 1);
      line += top && bottom ? ' ' : top ? '▄' : bottom ? '▀' : '█';
    }
    lines.push(line);
  }
  return lines;
}

/** The standard terminal UI. What fits the terminal, what is cut and what is erased after a
 * wait are termauth_core's decisions (`texts::layout`, `progress_frame`, `end_of_wait`);
 * this asks the terminal its size and writes what they return. */
export class Terminal implements Ui {
  #spinning = false;
  /** Rows to erase when the wait is over (the QR code). */
  #eraseRows = 0;
  readonly rich: boolean;
  #out: NodeJS.WritableStream & { columns?: number; rows?: number };

  /** Rich output when stderr is a terminal and `TERM` is not `dumb` (termauth prints no
   * colour, so `NO_COLOR` leaves the QR code and the countdown on). */
  constructor(rich?: boolean, out: NodeJS.WritableStream = process.stderr) {
    this.#out = out;
    this.rich = rich ?? (!!(out as { isTTY?: boolean }).isTTY && process.env.TERM !== 'dumb');
  }


  /** Prints a prompt: `lines`, `after`, and the QR code where it fits (`texts::layout`). */
  print(text: Prompt): void {
    this.clear(); // a previous prompt's QR code too
    const qr = this.rich && text.qr ? qrLines(text.qr.data) : null;
    const screen = [this.#out.columns ?? 0, this.#out.rows ?? 0, this.rich] as const;
    const laidOut = wasm.layoutPrompt(text.lines, text.after ?? [], text.qr?.caption, qr ?? undefined, ...screen);
    const layout = JSON.parse(laidOut) as { lines: string[]; erase_rows: number };
    this.#out.write(layout.lines.map((line) => line + '\n').join(''));
    this.#eraseRows = layout.erase_rows;
  }

  showUserCode(action: SessionShowUserCode): void {
    this.print(action.text);
  }

  showAuthorizationUrl(action: ShowAuthorizationUrl): void {
    this.print(action.text);
  }

  progress(nowMs: number, progress: Progress): void {
    if (!this.rich) return;
    this.#spinning = true;
    const frame = wasm.progressFrame(progress.text, progress.shorter ?? [], progress.until_ms, nowMs, this.#out.columns ?? 0, true);
    this.#out.write(frame);
  }

  notice(level: NoticeLevel, text: string): void {
    // After the wait (where the credential went) or, with `debug`, between polls: the QR
    // code goes first either way, as erasing it later would take this line too.
    this.clear();
    this.#out.write(`${level === 'warning' ? `warning: ${text}` : text}\n`);
  }

  clear(): void {
    this.#out.write(wasm.endOfWait(this.#spinning, this.#eraseRows));
    this.#spinning = false;
    this.#eraseRows = 0;
  }
}

/** A UI that shows nothing (library use without a terminal). */
export class Silent implements Ui {
  showUserCode(): void {}
  showAuthorizationUrl(): void {}
  progress(): void {}
  notice(): void {}
  clear(): void {}
}
