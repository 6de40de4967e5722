"""The person's side: the session's texts rendered on the terminal, pasted lines read from
it, a browser opened. Everything is written to stderr (so ``$(mycli token)`` captures only
the token): rich on a terminal (QR code, spinner with a countdown), plain lines otherwise
(not a TTY, ``TERM=dumb``).

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

__all__ = ["UI", "TerminalUI", "SilentUI", "StdinLines", "default_open_browser", "trap_ctrl_c"]


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
    """The standard terminal UI on ``stream`` (stderr by default). What fits the terminal, what
    is cut and what is erased after a wait are termauth-core's decisions (``texts::layout``,
    ``progress_frame``, ``end_of_wait``); this asks the terminal its size and writes what they
    return."""

    def __init__(self, stream: Optional[IO[str]] = None, rich: Optional[bool] = None) -> None:
        self.stream: IO[str] = stream if stream is not None else sys.stderr
        if rich is None:
            # termauth prints no colour, so NO_COLOR leaves the QR code and countdown on
            isatty = getattr(self.stream, "isatty", None)
            rich = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
        self.rich = rich
        self._spinning = False
        self._erase_rows = 0  # rows to erase when the wait is over (the QR code)

    def _size(self) -> Tuple[int, int]:
        """The terminal's columns and rows, ``(0, 0)`` when unknown."""
        try:
            size = os.get_terminal_size(self.stream.fileno())
            return size.columns, size.lines
        except (AttributeError, OSError, ValueError):
            return 0, 0

    def _write(self, text: str) -> None:
        if text:
            self.stream.write(text)
            self.stream.flush()

    def _print(self, prompt: Prompt) -> None:
        from . import _native

        self.clear()  # a previous prompt's QR code too
        columns, rows = self._size() if self.rich else (0, 0)
        qr = (prompt.qr.caption, prompt.qr.data) if prompt.qr is not None else None
        lines, self._erase_rows = _native.layout(prompt.lines, qr, prompt.after, columns, rows, self.rich)
        self._write("".join(line + "\n" for line in lines))

    def show_user_code(self, action: ShowUserCode) -> None:
        self._print(action.text)

    def show_authorization_url(self, action: ShowAuthorizationUrl) -> None:
        self._print(action.text)

    def progress(self, now_ms: int, progress: Progress) -> None:
        if not self.rich:
            return
        from . import _native

        self._spinning = True
        self._write(_native.progress_frame(progress.text, progress.shorter, progress.until_ms, now_ms,
                                           self._size()[0], True))

    def notice(self, notice: Notice) -> None:
        # after the wait (where the credential went) or, with debug, between polls: the QR code
        # goes first either way, as erasing it later would take this line too
        self.clear()
        self._write(("warning: " if notice.level == "warning" else "") + notice.text + "\n")

    def clear(self) -> None:
        from . import _native

        self._write(_native.end_of_wait(self._spinning, self._erase_rows))
        self._spinning = False
        self._erase_rows = 0


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
