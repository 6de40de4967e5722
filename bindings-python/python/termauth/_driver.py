"""The driver loop: runs any flow to completion with real IO.

It is the one loop of the contract: poll, do what the action says (send, show, open,
persist, sleep, listen, read a pasted line), feed the result back, until ``Done`` or
``Failed``. It makes no protocol decision (the Rust ``termauth::driver`` is the model).
Ctrl-C (``KeyboardInterrupt``) or a set ``cancel`` event feeds ``Cancel`` to the flow, which
then fails with :class:`termauth.Cancelled`.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional, Union

from ._errors import Error, InterruptedError, usage
from ._listener import LoopbackListener, respond
from ._ui import UI
from .flow import (
    AwaitRedirect,
    AwaitResponse,
    Cancel,
    Done,
    Failed,
    Flow,
    OpenBrowser,
    Persist,
    Redirect,
    SendRequest,
    ShowUserCode,
    WaitUntil,
)
from .transport import Transport

__all__ = ["Driver", "now_ms", "default_open_browser", "StdinLines", "PASTE"]

ReadLine = Callable[[float], Optional[str]]
PASTE = "paste"


def now_ms() -> int:
    """Wall-clock Unix milliseconds (expiry is persisted, so not monotonic)."""
    return time.time_ns() // 1_000_000


def default_open_browser(url: str) -> bool:
    """Opens ``url`` with :mod:`webbrowser` when a graphical browser is plausible here
    (``$BROWSER`` set, or a display); never a console browser in the terminal."""
    from . import _native

    if not (os.environ.get("BROWSER") or _native.has_display()):
        return False
    try:
        import webbrowser

        return bool(webbrowser.open(url))
    except Exception:  # noqa: BLE001 - opening a browser never fails the login
        return False


class StdinLines:
    """Reads standard input lines on a daemon thread, so waiting for a pasted URL can time
    out and be cancelled. Call it with a timeout (s): a line, ``None`` (nothing yet); raises
    ``EOFError`` when stdin is closed."""

    _instance: Optional["StdinLines"] = None

    def __init__(self) -> None:
        self._q: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._pump, name="termauth-stdin", daemon=True).start()

    @classmethod
    def shared(cls) -> "StdinLines":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _pump(self) -> None:
        while True:
            try:
                line = sys.stdin.readline()
            except Exception:  # noqa: BLE001
                line = ""
            if not line:
                self._q.put(None)
                return
            self._q.put(line)

    def __call__(self, timeout: float) -> Optional[str]:
        try:
            line = self._q.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self._q.put(None)  # stays closed
            raise EOFError
        return line


def _url_path(uri: str) -> str:
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    i = rest.find("/")
    if i < 0:
        return "/"
    return rest[i:].split("?", 1)[0].split("#", 1)[0]


class Driver:
    """Runs flows with a transport, a UI and a cancel event."""

    def __init__(
        self,
        transport: Transport,
        ui: UI,
        *,
        cancel: Optional[threading.Event] = None,
        open_browser: Callable[[str], bool] = default_open_browser,
        open_browser_for_device: bool = False,
        no_browser: bool = False,
        read_line: Optional[ReadLine] = None,
    ) -> None:
        self.transport = transport
        self.ui = ui
        self.cancel = cancel
        self.open_browser = open_browser
        self.open_browser_for_device = open_browser_for_device
        self.no_browser = no_browser
        self.read_line = read_line

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def run(
        self,
        flow: Flow,
        redirect: Union[LoopbackListener, str, None] = None,
        persist: Optional[Callable[[Persist], None]] = None,
    ) -> Dict[str, Any]:
        """Runs ``flow`` until it finishes; ``persist`` stores each credential it emits.
        Returns the outcome (``Done.result``); raises the flow's :class:`termauth.Error`."""
        pending: Any = None
        code_expires_at: Optional[int] = None
        while True:
            try:
                if self._cancelled():
                    flow.handle(Cancel(), now_ms())
                action = pending if pending is not None else flow.poll(now_ms())
                pending = None
                if isinstance(action, SendRequest):
                    flow.handle(self.transport.send(action), now_ms())
                elif isinstance(action, WaitUntil):
                    deadline = code_expires_at if code_expires_at is not None else action.at_ms
                    while not self._cancelled():
                        t = now_ms()
                        if t >= action.at_ms:
                            break
                        self.ui.tick(t, deadline)
                        time.sleep(min(action.at_ms - t, 100) / 1000)
                elif isinstance(action, ShowUserCode):
                    code_expires_at = action.expires_at
                    opened = self.open_browser_for_device and self.open_browser(
                        action.verification_uri_complete or action.verification_uri
                    )
                    self.ui.show_user_code(action, opened)
                elif isinstance(action, OpenBrowser):
                    paste = redirect == PASTE
                    opened = (not paste) and (not self.no_browser) and self.open_browser(action.url)
                    self.ui.show_browser(action.url, opened, paste)
                elif isinstance(action, Persist):
                    if persist is not None:
                        persist(action)
                elif isinstance(action, AwaitRedirect):
                    pending = self._await_redirect(flow, action, redirect)
                elif isinstance(action, AwaitResponse):
                    raise usage("internal_error", f"Request {action.id} was not answered by the driver.")
                elif isinstance(action, Done):
                    self.ui.clear()
                    return action.result
                elif isinstance(action, Failed):
                    self.ui.clear()
                    raise action.error
            except KeyboardInterrupt:
                # Ctrl-C: the flow fails with `cancelled` at the next poll (nothing is
                # persisted after a cancel; stores are only ever written atomically).
                pending = None
                flow.handle(Cancel(), now_ms())

    def _await_redirect(self, flow: Flow, action: AwaitRedirect, redirect: Union[LoopbackListener, str, None]) -> Any:
        if isinstance(redirect, LoopbackListener):
            got = redirect.wait(_url_path(action.redirect_uri), action.until_ms, self._cancelled, now_ms)
            if got is None:
                return None  # timeout or cancel: the next poll says which
            target, conn = got
            try:
                flow.handle(Redirect(target), now_ms())
            except Error as e:
                respond(conn, "400 Bad Request", "Login failed", e.message)
                return None
            nxt = flow.poll(now_ms())
            if isinstance(nxt, Failed):
                respond(conn, "200 OK", "Login failed", f"{nxt.error.message} You can close this window.")
            else:
                respond(
                    conn,
                    "200 OK",
                    "Login complete",
                    "You are logged in. You can close this window and return to the terminal.",
                )
            return nxt
        if redirect == PASTE:
            read = self.read_line or StdinLines.shared()
            wait = max(0, action.until_ms - now_ms())
            try:
                line = read(min(wait, 200) / 1000)
            except EOFError:
                flow.handle(Cancel(), now_ms())
                raise InterruptedError(
                    "Standard input closed before the redirect URL was pasted.",
                    code="stdin_closed",
                    hint="reauthenticate",
                ) from None
            if line is None or not line.strip():
                return None
            try:
                flow.handle(Redirect(line.strip()), now_ms())
            except Error as e:
                self.ui.warn(f"{e.message} Paste it again:")
            return None
        raise usage(
            "no_redirect_source", "This flow waits for a redirect but the driver has no listener or paste input."
        )
