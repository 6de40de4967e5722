// What the person at the terminal sees: the session's prompts, progress lines and notices,
// rendered (the same as native/src/ui.rs). The words are all the session's; this only
// draws them. Everything goes to stderr, so `$(mycli token)` captures only the token. Rich
// (QR code, spinner) on a terminal; plain lines otherwise.
import { load } from './builtins.js';
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

/** `m:ss` (termauth_core::texts::minutes_seconds). */
export function minutesSeconds(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The standard terminal UI. */
export class Terminal implements Ui {
  #frame = 0;
  #spinning = false;
  readonly rich: boolean;
  #out: NodeJS.WritableStream;

  /** Rich output when stderr is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`. */
  constructor(rich?: boolean, out: NodeJS.WritableStream = process.stderr) {
    this.#out = out;
    this.rich = rich ?? (!!process.stderr.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb');
  }

  #line(text: string): void {
    this.#out.write(text + '\n');
  }

  /** Prints a prompt: `lines`, the QR code (rich terminals only), `after`. */
  print(text: Prompt): void {
    this.clear();
    for (const line of text.lines) this.#line(line);
    const qr = this.rich && text.qr ? qrLines(text.qr.data) : null;
    if (qr && text.qr) {
      this.#line(text.qr.caption);
      for (const l of qr) this.#line(`  ${l}`);
    }
    for (const line of text.after ?? []) this.#line(line);
  }

  showUserCode(action: SessionShowUserCode): void {
    this.print(action.text);
  }

  showAuthorizationUrl(action: ShowAuthorizationUrl): void {
    this.print(action.text);
  }

  progress(nowMs: number, progress: Progress): void {
    if (!this.rich) return;
    this.#frame = (this.#frame + 1) % FRAMES.length;
    this.#spinning = true;
    const line = progress.text.replaceAll('{left}', minutesSeconds(progress.until_ms - nowMs));
    this.#out.write(`\r${FRAMES[this.#frame]} ${line} `);
  }

  notice(level: NoticeLevel, text: string): void {
    this.clear();
    this.#line(level === 'warning' ? `warning: ${text}` : text);
  }

  clear(): void {
    if (this.#spinning) {
      this.#out.write('\r\x1b[2K');
      this.#spinning = false;
    }
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
