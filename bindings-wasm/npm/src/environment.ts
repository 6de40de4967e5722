// What kind of place the CLI runs in (CI, SSH, a desktop) and opening a browser: the same
// rules as native/src/environment.rs.
import { load } from './builtins.js';
import type { Surroundings } from './flow.js';

const env = (name: string): string | undefined => process.env[name];

/** True under a CI system (the common markers). */
export function isCi(): boolean {
  return ['CI', 'GITHUB_ACTIONS', 'GITLAB_CI', 'BUILDKITE', 'JENKINS_URL', 'TF_BUILD', 'CIRCLECI', 'TRAVIS', 'TEAMCITY_VERSION', 'BITBUCKET_BUILD_NUMBER'].some(
    (v) => {
      const x = env(v);
      return x !== undefined && x !== '' && x !== 'false' && x !== '0';
    },
  );
}

/** True in an SSH session. */
export function isSsh(): boolean {
  return ['SSH_CONNECTION', 'SSH_CLIENT', 'SSH_TTY'].some((v) => env(v) !== undefined);
}

/** True when a graphical browser can plausibly be opened here. */
export function hasDisplay(): boolean {
  if (env('BROWSER')) return true;
  if (process.platform === 'darwin' || process.platform === 'win32') return !isSsh();
  return ['DISPLAY', 'WAYLAND_DISPLAY'].some((v) => !!env(v));
}

function trySpawn(program: string, args: string[]): boolean {
  try {
    // Loaded only when a browser is opened: importing termauth stays cheap.
    const { spawn } = load('node:child_process') as typeof import('node:child_process');
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
 * the URL), else the platform opener. Never throws: returns whether something started.
 */
export function openBrowser(url: string): boolean {
  const browsers = env('BROWSER');
  if (browsers !== undefined) {
    for (const entry of browsers.split(':').filter((s) => s.trim() !== '')) {
      let words = entry.split(/\s+/).filter((w) => w !== '');
      if (words.some((w) => w.includes('%s'))) words = words.map((w) => w.replaceAll('%s', url));
      else words.push(url);
      if (trySpawn(words[0]!, words.slice(1))) return true;
    }
    return false;
  }
  if (!hasDisplay()) return false;
  if (process.platform === 'darwin') return trySpawn('open', [url]);
  if (process.platform === 'win32') return trySpawn('rundll32', ['url.dll,FileProtocolHandler', url]);
  return trySpawn('xdg-open', [url]);
}

/** Where this process runs, for the choice of `auto`'s login method (`autoMethodInCi`). */
export function surroundings(): Surroundings {
  return { ci: isCi(), ssh: isSsh(), display: hasDisplay() };
}

/** A browser opened here is in front of the user (termauth_core::auto::Surroundings::desktop). */
export function desktop(here: Surroundings): boolean {
  return here.display && !here.ssh;
}
