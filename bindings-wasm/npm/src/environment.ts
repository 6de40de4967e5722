// What a session needs to know about this process (the same snapshot as
// native/src/environment.rs), and opening a browser. The core decides with the snapshot
// (CI, SSH, display, `<APP>_TOKEN`, the config directory…); this only observes.
import { sessionVariables } from './session.js';
import type { Environment, Platform } from './types.js';

/** This process's platform, as the core names it. */
export function platform(): Platform {
  return process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'macos' : 'linux';
}

/** This machine's host name (named in lock files; the same as the Rust driver's on Linux). */
export function hostname(): string {
  return process.getBuiltinModule('node:os').hostname();
}

const variableNames = new Map<string, string[]>();

/**
 * The environment snapshot a session of `app` reads: the platform, this host and process,
 * and the variables `sessionVariables(app)` names that are set in `env`.
 */
export function snapshot(app: string, env: NodeJS.ProcessEnv = process.env): Environment {
  let names = variableNames.get(app);
  if (names === undefined) variableNames.set(app, (names = sessionVariables(app)));
  const vars: { [name: string]: string } = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) vars[name] = value;
  }
  return { platform: platform(), host: hostname(), pid: process.pid, vars };
}

function trySpawn(program: string, args: string[]): boolean {
  try {
    // Loaded only when a browser is opened: importing termauth stays cheap.
    const { spawn } = process.getBuiltinModule('node:child_process');
    const child = spawn(program, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return child.pid !== undefined;
  } catch {
    return false;
  }
}

/**
 * Tries to open `url` in a browser: `$BROWSER` (a `:`-separated list; `%s` is replaced by
 * the URL), else the platform opener (xdg-open, open, rundll32). Never throws: returns
 * whether something started. The session asks for it only where a browser can be opened.
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const browsers = env.BROWSER;
  if (browsers !== undefined) {
    for (const entry of browsers.split(':').filter((s) => s.trim() !== '')) {
      let words = entry.split(/\s+/).filter((w) => w !== '');
      if (words.some((w) => w.includes('%s'))) words = words.map((w) => w.replaceAll('%s', url));
      else words.push(url);
      if (trySpawn(words[0]!, words.slice(1))) return true;
    }
    return false;
  }
  if (process.platform === 'darwin') return trySpawn('open', [url]);
  if (process.platform === 'win32') return trySpawn('rundll32', ['url.dll,FileProtocolHandler', url]);
  return trySpawn('xdg-open', [url]);
}
