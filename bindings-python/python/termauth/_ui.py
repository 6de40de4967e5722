"""What the person at the terminal sees. Everything goes to stderr (so ``$(mycli token)``
captures only the token): rich on a terminal (QR code, spinner with a countdown), plain
lines otherwise (not a TTY, ``NO_COLOR``, ``TERM=dumb``). The same texts as the Rust CLI.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Optional

from .flow import ShowUserCode

__all__ = ["UI", "TerminalUI", "SilentUI"]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _mmss(ms: int) -> str:
    s = max(0, ms) // 1000
    return f"{s // 60}:{s % 60:02d}"


class UI:
    """The terminal front end the driver talks to. Subclass it to customise (or to approve
    logins in tests)."""

    def show_user_code(self, prompt: ShowUserCode, browser_opened: bool) -> None:
        """Show the device code and where to enter it."""

    def show_browser(self, url: str, opened: bool, paste: bool) -> None:
        """Tell the user a browser is (or should be) opened at ``url``."""

    def tick(self, now_ms: int, until_ms: int) -> None:
        """Called while waiting (about every 100 ms); ``until_ms`` is the deadline."""

    def info(self, line: str) -> None:
        """A line of information."""

    def warn(self, line: str) -> None:
        """A warning."""

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

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def show_user_code(self, prompt: ShowUserCode, browser_opened: bool) -> None:
        self._line(f"To log in, open {prompt.verification_uri} and enter the code: {prompt.user_code}")
        if prompt.verification_uri_complete:
            self._line(f"Or open this link, which includes the code: {prompt.verification_uri_complete}")
            if self.rich:
                from . import _native

                lines = _native.qr_lines(prompt.verification_uri_complete)
                if lines:
                    self._line("Or scan this QR code with your phone:")
                    for row in lines:
                        self._line("  " + row)
        if browser_opened:
            self._line("(A browser window was opened for you.)")

    def show_browser(self, url: str, opened: bool, paste: bool) -> None:
        if opened:
            self._line(f"Opening your browser to log in. If it did not open, visit:\n  {url}")
        else:
            self._line(f"Open this URL in a browser to log in:\n  {url}")
        if paste:
            self._line(
                "After approving, the browser goes to an address that may fail to load; "
                "copy that whole address and paste it here, then press Enter:"
            )

    def tick(self, now_ms: int, until_ms: int) -> None:
        if not self.rich:
            return
        self._frame = (self._frame + 1) % len(_FRAMES)
        self._spinning = True
        self.stream.write(
            f"\r{_FRAMES[self._frame]} Waiting for approval… {_mmss(until_ms - now_ms)} left (Ctrl-C to cancel) "
        )
        self.stream.flush()

    def info(self, line: str) -> None:
        self.clear()
        self._line(line)

    def warn(self, line: str) -> None:
        self.clear()
        self._line(f"warning: {line}")

    def clear(self) -> None:
        if self._spinning:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._spinning = False
