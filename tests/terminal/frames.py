#!/usr/bin/env python3
"""What a person sees during a device login, in every language, on terminals 30, 40, 80 and
120 columns wide (issue 13): each login program (tests/probes.py) runs on a real pseudo
terminal of that size against the bundled IdP, and everything it writes goes through pyte, a
VT100 screen, as a terminal would draw it. The harness approves the code after a few seconds
of waiting and checks, on every screen the program drew:

  - the user code is on screen for the whole wait (RFC 8628 §3.3.1), however narrow;
  - at most one progress line is on screen: it is redrawn in place, never wrapped;
  - a QR code only where it fits, whole; after the login none is left on screen;
  - the screen while waiting is the same in every language, and the same as the snapshot
    in tests/terminal/snapshots/ (the code, the port and the countdown normalised).

    .venv/bin/python tests/terminal/frames.py [--languages rust,python,node,go,c]
    TERMAUTH_GENERATE=1 ... rewrites the snapshots.

Needs what scripts/test.sh builds (as tests/hostile/run.py) and pyte in the venv.
"""
import argparse
import concurrent.futures
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
import urllib.error
import urllib.request

import pyte

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from probes import login_programs  # noqa: E402
from ready_server import start_node_server, work_dir  # noqa: E402

APP = "frames"
CLIENT = "termauth-cli"
SIZES = [(30, 24), (40, 24), (80, 24), (120, 40)]
SNAPSHOTS = os.path.join(ROOT, "tests/terminal/snapshots")
WAIT_S = 3.0  # of progress frames before the harness approves
BOUND_S = 60
QR = re.compile(r"[█▀▄]{6,}")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
CODE = re.compile(rb"enter the code: ([A-Z0-9-]{4,})\r?\n")


def fail(message):
    sys.exit(f"terminal/frames.py: {message}")


def normalised(lines, code, port):
    """The screen with what changes from run to run replaced: the code and the IdP's port
    (also where a line wraps inside them), the countdown, the spinner's frame and the QR
    code's modules (its size stays)."""
    text = "\n".join(line.rstrip() for line in lines)
    for value, placeholder in ((code, "X" * len(code)), (str(port), "P" * len(str(port)))):
        wrapped = "\n?".join(re.escape(c) for c in value)
        text = re.sub(wrapped, lambda m: "".join("\n" if c == "\n" else placeholder[0] for c in m.group(0)), text)
    out = []
    for line in text.split("\n"):
        line = re.sub(r"\b\d+:\d\d\b", "M:SS", line)
        line = re.sub(f"[{SPINNER}]", "*", line)
        if re.fullmatch(r"  ██[█▀▄ ]*██", line):  # the quiet zone, drawn light, on both sides
            line = f"  [a QR code row, {len(line.strip())} columns]"
        out.append(line)
    while out and not out[-1]:
        out.pop()
    # From the instructions on: what comes before depends on the program's configuration
    # (the C example asks for a scope, so it has no default-scope notice).
    starts = [i for i, line in enumerate(out) if line.startswith("To log in")]
    return out[starts[0]:] if starts else out


def visible(screen):
    return [screen.display[y] for y in range(screen.lines)]


def run(language, argv, columns, rows, issuer, port, env):
    """Runs argv on a pty of columns × rows; returns (problems, the waiting screen)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal's size first, then the program
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    problems, raw, code, waiting_since, waiting_screen, approved = [], b"", None, None, None, False
    started = time.monotonic()
    status = None
    while True:
        if time.monotonic() - started > BOUND_S:
            os.kill(pid, signal.SIGKILL)
            problems.append(f"still running after {BOUND_S} s")
        ready, _, _ = select.select([fd], [], [], 0.1)
        chunk = b""
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the program exited and its terminal closed
                chunk = b""
            if not chunk:
                break
            raw += chunk
            stream.feed(chunk)
        shown = visible(screen)
        if code is None and (m := CODE.search(raw)):
            code, waiting_since = m.group(1).decode(), time.monotonic()
        if code is not None and not approved:
            text = "\n".join(shown)
            if code not in text.replace("\n", ""):
                problems.append(f"the code is not on screen: {shown}")
            progress_lines = [line for line in shown if line[:1] in SPINNER and line[:1] != " "]
            if len(progress_lines) > 1:
                problems.append(f"{len(progress_lines)} progress lines on screen: {progress_lines}")
            if time.monotonic() - waiting_since > WAIT_S and any(line[:1] in SPINNER for line in shown):
                waiting_screen = normalised(shown, code, port)
                request = urllib.request.Request(
                    f"{issuer}/__test/device", data=json.dumps({"user_code": code, "action": "approve"}).encode(),
                    headers={"content-type": "application/json"})
                try:
                    urllib.request.urlopen(request).read()
                except urllib.error.HTTPError as e:
                    problems.append(f"the IdP did not approve {code}: {e.read()[:300]!r}")
                approved = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        problems.append(f"exit {os.waitstatus_to_exitcode(status)}: {visible(screen)}")
    if code is None:
        problems.append(f"no code was shown: {raw[-400:]!r}")
    elif waiting_screen is None:
        problems.append("no progress line was drawn while waiting")
    final = visible(screen)
    if any(QR.search(line) for line in final):
        problems.append(f"a QR code is left on screen after the login: {final}")
    return [f"{language} {columns}x{rows}: {p}" for p in problems[:3]], waiting_screen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--languages", default="rust,python,node,go,c")
    args = ap.parse_args()
    work = work_dir("termauth-frames-")
    try:
        idp, issuer = start_node_server(ROOT, "tests/idp/server.js", work, "issuer")
    except RuntimeError as e:
        fail(str(e))
    try:
        port = int(issuer.rsplit(":", 1)[1].strip("/"))
        try:
            programs = login_programs(ROOT, work, APP, CLIENT)
        except RuntimeError as e:
            fail(str(e))
        languages = args.languages.split(",")
        jobs = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for language in languages:
                for columns, rows in SIZES:
                    config_dir = os.path.join(work, "config", language, f"{columns}x{rows}")
                    env = {k: v for k, v in os.environ.items()
                           if not k.startswith(("TERMAUTH_", "HOSTILE_", "EXAMPLE_", "CI", "SSH_", "HTTP", "HTTPS",
                                                "ALL_PROXY", "NO_PROXY", "DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "NO_COLOR",
                                                "COLUMNS", "LINES", "GITHUB_", "GITLAB_"))}
                    env.update({"FRAMES_CONFIG_DIR": config_dir, "EXAMPLE_CONFIG_DIR": config_dir,
                                "XDG_CONFIG_HOME": config_dir,
                                "TERMAUTH_NO_KEYRING": "1", "TERM": "xterm-256color"})
                    argv = programs[language]("device", issuer)
                    jobs.append(((language, columns, rows),
                                 pool.submit(run, language, argv, columns, rows, issuer, port, env)))
            results = {key: job.result() for key, job in jobs}
        problems = [p for found, _ in results.values() for p in found]
        generate = os.environ.get("TERMAUTH_GENERATE") == "1"
        for columns, rows in SIZES:
            path = os.path.join(SNAPSHOTS, f"{columns}x{rows}.txt")
            screens = {language: results[(language, columns, rows)][1] for language in languages}
            if generate and screens.get(languages[0]) is not None:
                os.makedirs(SNAPSHOTS, exist_ok=True)
                with open(path, "w") as f:
                    f.write("\n".join(screens[languages[0]]) + "\n")
            try:
                with open(path) as f:
                    expected = f.read().rstrip("\n").split("\n")
            except FileNotFoundError:
                problems.append(f"no snapshot {path} (TERMAUTH_GENERATE=1 writes it)")
                continue
            for language, screen in screens.items():
                if screen is not None and screen != expected:
                    problems.append(f"{language} {columns}x{rows}: the waiting screen differs from {os.path.relpath(path, ROOT)}:\n"
                                    + "\n".join(f"    | {line}" for line in screen))
        if problems:
            fail(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))
        print(f"terminal frames: {len(languages)} languages × {len(SIZES)} sizes: the code on screen for the whole wait, "
              "one progress line, QR codes only where they fit and gone after the login, the same screen everywhere")
    finally:
        idp.terminate()
        idp.wait()


if __name__ == "__main__":
    main()
