"""The person's side: the session's texts rendered on the terminal, pasted lines read from
it, a browser opened. Everything is written to stderr (so ``$(mycli token)`` captures only
the token): rich on a terminal (QR code, spinner with a countdown), plain lines otherwise
(not a TTY, ``NO_COLOR``, ``TERM=dumb``).

The words are the session's (termauth-core's ``texts``, the same in every language): this
module only draws them — it adds no sentence, and substitutes nothing but ``{left}``.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # every Client builds a UI, a cached token's too: at start-up this module
    # imports nothing more (queue, signal and threading load when they are used)
    import queue
    import threading
    from typing import IO, Any, Callable, Optional, Tuple

    from .session import Notice, Progress, Prompt, ShowAuthorizationUrl, ShowUserCode

__all__ = ["UI", "TerminalUI", "SilentUI", "StdinLines", "default_open_browser", "trap_ctrl_c", "minutes_seconds"]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def minutes_seconds(ms: int) -> str:
    """``m:ss`` (the value of ``{left}`` in a progress line)."""
    s = max(0, ms) // 1000
    return f"{s // 60}:{s % 60:02d}"


class UI:
    """The front end the client talks to. Subclass it to render differently (or to approve
    logins in tests); every method gets the session's action, text included."""

    def show_user_code(self, action: ShowUserCode) -> None:
        """The device code and where to enter it (render ``action.text``)."""

    def show_authorization_url(self, action: ShowAuthorizationUrl) -> None:
        """A browser login's URL (render ``action.text``)."""

    def progress(self, now_ms: int, progress: Progress) -> None:
        """Called while waiting (about every 100 ms)."""

    def notice(self, notice: Notice) -> None:
        """Something to tell the user (``notice.level``: ``info`` or ``warning``)."""

    def clear(self) -> None:
        """Waiting is over."""


class SilentUI(UI):
    """Shows nothing (library use without a terminal)."""


class TerminalUI(UI):
    """The standard terminal UI on ``stream`` (stderr by default)."""

    def __init__(self, stream: Optional[IO[str]] = None, rich: Optional[bool] = None) -> None:
        self.stream: IO[str] = stream if stream is not None else sys.stderr
        if rich is None:
            isatty = getattr(self.stream, "isatty", None)
            rich = bool(isatty and isatty()) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        self.rich = rich
        self._frame = 0
        self._spinning = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _print(self, prompt: Prompt) -> None:
        self.clear()
        out = [line + "\n" for line in prompt.lines]
        if self.rich and prompt.qr is not None:
            from . import _native

            rows = _native.qr_lines(prompt.qr.data)
            if rows:
                out.append(prompt.qr.caption + "\n")
                out.extend("  " + row + "\n" for row in rows)
        out.extend(line + "\n" for line in prompt.after)
        self._write("".join(out))

    def show_user_code(self, action: ShowUserCode) -> None:
        self._print(action.text)

    def show_authorization_url(self, action: ShowAuthorizationUrl) -> None:
        self._print(action.text)

    def progress(self, now_ms: int, progress: Progress) -> None:
        if not self.rich:
            return
        self._frame = (self._frame + 1) % len(_FRAMES)
        self._spinning = True
        line = progress.text.replace("{left}", minutes_seconds(progress.until_ms - now_ms))
        self._write(f"\r{_FRAMES[self._frame]} {line} ")

    def notice(self, notice: Notice) -> None:
        self.clear()
        self._write(("warning: " if notice.level == "warning" else "") + notice.text + "\n")

    def clear(self) -> None:
        if self._spinning:
            self._spinning = False
            self._write("\r\x1b[2K")


def default_open_browser(url: str) -> bool:
    """Opens ``url`` as every termauth executor does: ``BROWSER`` (a ``:``-separated list of
    commands; ``%s`` is replaced by the URL, else it is appended; an empty ``BROWSER`` opens
    nothing), else the platform's opener (``open``, ``rundll32``, ``xdg-open``). Started
    detached, with standard streams to ``/dev/null``, never waited for; ``True`` when a
    program started. (The session only asks where a browser can be opened.)"""
    import subprocess

    def spawn(argv: "list[str]") -> bool:
        try:
            subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=(os.name != "nt"), close_fds=True)
            return True
        except (OSError, ValueError):
            return False

    browsers = os.environ.get("BROWSER")
    if browsers is not None:
        for entry in (e for e in browsers.split(":") if e.strip()):
            words = entry.split()
            if any("%s" in w for w in words):
                words = [w.replace("%s", url) for w in words]
            else:
                words.append(url)
            if words and spawn(words):
                return True
        return False
    if sys.platform == "darwin":
        return spawn(["open", url])
    if os.name == "nt":
        return spawn(["rundll32", "url.dll,FileProtocolHandler", url])
    return spawn(["xdg-open", url])


class StdinLines:
    """Standard input lines read on a daemon thread, so waiting for a pasted URL can time out
    and be cancelled. Called with a timeout (s): a line, or ``None``; raises ``EOFError``
    once standard input is closed."""

    _shared: Optional["StdinLines"] = None

    def __init__(self) -> None:
        import queue
        import threading

        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._pump, name="termauth-stdin", daemon=True).start()

    @classmethod
    def shared(cls) -> "StdinLines":
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def _pump(self) -> None:
        while True:
            try:
                line = sys.stdin.readline()
            except Exception:  # noqa: BLE001 - a closed or broken stdin is "closed"
                line = ""
            self._lines.put(line or None)
            if not line:
                return

    def __call__(self, timeout: float) -> Optional[str]:
        import queue

        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self._lines.put(None)  # stays closed
            raise EOFError
        return line


def trap_ctrl_c() -> Tuple[threading.Event, Callable[[], None]]:
    """While a command runs in the main thread with Python's own SIGINT handler on: the first
    Ctrl-C sets the event it returns, ``pressed`` (the client then cancels the session, which
    ends cleanly, a held lock released) instead of interrupting whatever runs; a second one
    raises ``KeyboardInterrupt``. Returns ``pressed`` and the function that puts the previous
    handler back."""
    import signal
    import threading

    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return pressed, lambda: None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return pressed, lambda: None

    def on_ctrl_c(signum: int, frame: Any) -> None:
        if pressed.is_set():
            raise KeyboardInterrupt
        pressed.set()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return pressed, restore
