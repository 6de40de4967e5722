// What the person at the terminal sees, the same as native/src/ui.rs. Everything goes to
// stderr, so `$(mycli token)` captures only the token. Rich (QR code, spinner) on a
// terminal; plain lines otherwise.
import { load } from './builtins.js';
import type { ShowUserCode } from './types.js';

/** The terminal front end (replaceable: pass `ui` to the Client). */
export interface Ui {
  showUserCode(prompt: ShowUserCode, browserOpened: boolean): void;
  showBrowser(url: string, opened: boolean, paste: boolean): void;
  /** Called while waiting (at most every 100 ms): `untilMs` is the deadline. */
  tick(nowMs: number, untilMs: number): void;
  info(line: string): void;
  warn(line: string): void;
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

function mmss(ms: number): string {
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

  constructor(rich?: boolean, out: NodeJS.WritableStream = process.stderr) {
    this.#out = out;
    this.rich =
      rich ??
      (!!process.stderr.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb');
  }

  #line(text: string): void {
    this.#out.write(text + '\n');
  }

  showUserCode(p: ShowUserCode, browserOpened: boolean): void {
    this.#line(`To log in, open ${p.verification_uri} and enter the code: ${p.user_code}`);
    if (p.verification_uri_complete) {
      this.#line(`Or open this link, which includes the code: ${p.verification_uri_complete}`);
      if (this.rich) {
        const lines = qrLines(p.verification_uri_complete);
        if (lines) {
          this.#line('Or scan this QR code with your phone:');
          for (const l of lines) this.#line(`  ${l}`);
        }
      }
    }
    if (browserOpened) this.#line('(A browser window was opened for you.)');
  }

  showBrowser(url: string, opened: boolean, paste: boolean): void {
    if (opened) this.#line(`Opening your browser to log in. If it did not open, visit:\n  ${url}`);
    else this.#line(`Open this URL in a browser to log in:\n  ${url}`);
    if (paste) {
      this.#line(
        'After approving, the browser goes to an address that may fail to load; copy that whole address and paste it here, then press Enter:',
      );
    }
  }

  tick(nowMs: number, untilMs: number): void {
    if (!this.rich) return;
    this.#frame = (this.#frame + 1) % FRAMES.length;
    this.#spinning = true;
    this.#out.write(`\r${FRAMES[this.#frame]} Waiting for approval… ${mmss(untilMs - nowMs)} left (Ctrl-C to cancel) `);
  }

  info(line: string): void {
    this.clear();
    this.#line(line);
  }

  warn(line: string): void {
    this.clear();
    this.#line(`warning: ${line}`);
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
  showBrowser(): void {}
  tick(): void {}
  info(): void {}
  warn(): void {}
  clear(): void {}
}
