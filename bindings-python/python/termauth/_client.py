"""The high-level client. Each call runs one session of termauth-core (``termauth.session``)
and executes its actions: HTTP (a transport), the loopback listener, a browser, pasted input,
the terminal (a :class:`termauth.UI`). Storage (credential and lock files, the OS keyring) is
done natively by the Rust storage code, so records and locks are every termauth CLI's. Every
decision and every sentence is the session's: this module decides nothing and writes no words.
"""

from __future__ import annotations

import os
import time

from . import _native
from ._errors import Error
from ._fast import CONFIG_KEYS, Lazy, now_ms, session_config
from ._ui import UI, SilentUI, StdinLines, TerminalUI, default_open_browser, trap_ctrl_c

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is the type checker's: a cached token loads nothing but this module
    import threading
    from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

    from . import _listener, session as _s
    from ._contract import Command, CommandGetToken
    from ._lock import CredentialLock
    from .session import AwaitRedirect, Done, LoginReport, LogoutReport, Outcome, ProfileInfo, Status, TokenReport

    T = TypeVar("T")
else:  # imported when first used: the session's dataclasses, the listener's sockets
    _s, _listener = Lazy("session"), Lazy("_listener")

__all__ = ["Client"]

_CANCEL = '{"type":"cancel"}'
# What a request interrupted by Ctrl-C is answered with (the session then ends `cancelled`).
_INTERRUPTED: Dict[str, Dict[str, Any]] = {
    "SendRequest": {"type": "transport_error", "kind": "other", "message": "interrupted"},
    "LaunchBrowser": {"type": "browser_launched", "launched": False},
    "Listen": {"type": "io_error", "message": "interrupted"},
}


def _of(outcome: Outcome, kind: Type[T]) -> T:
    if not isinstance(outcome, kind):
        raise Error(f"The session ended with {type(outcome).__name__}, not {kind.__name__}.", code="internal_error")
    return outcome


class _Run:
    """What one session's execution holds: the listener, the browser waiting for its page."""

    listener: Optional[_listener.LoopbackListener] = None
    browser: Any = None
    cancel_sent = False
    doing: Any = None  # the request being done, until its answer is handed to the session
    cancelled: Callable[[], bool]


class Client:
    """The termauth client for one (app, issuer, client_id).

    :param app: names the config directory, keyring service, ``<APP>_TOKEN``, ``<APP>_CLIENT_SECRET``.
    :param client_secret: for CI; default ``<APP>_CLIENT_SECRET``, then ``TERMAUTH_CLIENT_SECRET``.
    :param profile: the account; the active one (or ``default``) when ``None``.
    :param store: ``auto`` (keyring, else a 0600 file with a warning), ``keyring`` or ``file``.
    :param metadata: server metadata written by hand (dict); else discovery, cached a day.
    :param transport: ``"urllib"`` (default), ``"httpx"``, ``"requests"`` or a ``Transport``.
    :param timeout_ms: the overall deadline of each HTTP request, in milliseconds (default
        30 000): connecting, sending, the response's headers and its body together; a server
        still answering when it passes gives a :class:`termauth.TransportError` (timed out,
        hint ``retry_later``). Node's ``timeoutMs``. For a named transport; a ``Transport``
        object has its own (``UrllibTransport(timeout=seconds)``).
    :param ui: a :class:`termauth.UI`; default ``TerminalUI`` (``SilentUI`` if not ``interactive``).
    :param open_browser: ``callable(url) -> bool``, when the session asks; default :mod:`webbrowser`.
    :param read_line: paste input, ``callable(timeout_s) -> str | None``, ``EOFError`` at its end.
    :param cancel: a ``threading.Event`` that cancels the running command (as Ctrl-C does).

    The other keyword arguments are the core's ``SessionConfig`` members of the same name
    (``secret_method``, ``config_dir``, ``redirect_*``, ``lock_wait_ms``, ``launch_browser``,
    ``debug``: every HTTP exchange traced as a notice, secrets redacted, as ``TERMAUTH_DEBUG=1``
    does, …); ``None`` means the core's default.
    """

    def __init__(
        self, app: str, issuer: str, client_id: str, scope: Optional[str] = None, client_secret: Optional[str] = None,
        *, secret_method: Optional[str] = None, profile: Optional[str] = None, store: Optional[str] = None,
        config_dir: Optional[Union[str, "os.PathLike[str]"]] = None, metadata: Optional[Dict[str, Any]] = None,
        redirect_host: Optional[str] = None, redirect_port: Optional[int] = None, redirect_path: Optional[str] = None,
        redirect_uri: Optional[str] = None, resource: Sequence[str] = (), allow_insecure_http: Optional[bool] = None,
        enable_password_grant: Optional[bool] = None, refresh_skew_ms: Optional[int] = None,
        redirect_timeout_ms: Optional[int] = None, lock_wait_ms: Optional[int] = None,
        launch_browser: Optional[bool] = None, debug: Optional[bool] = None, interactive: bool = True,
        ui: Optional[UI] = None, transport: Any = None, timeout_ms: Optional[int] = None,
        open_browser: Optional[Callable[[str], bool]] = None,
        read_line: Optional[Callable[[float], Optional[str]]] = None, cancel: Optional[threading.Event] = None,
    ) -> None:
        self.app, self.issuer, self.client_id = app, issuer, client_id
        given = locals()
        self._config = session_config(app, issuer, client_id, {k: given[k] for k in CONFIG_KEYS})
        self.store_preference = store or "auto"
        self.ui: UI = ui if ui is not None else (TerminalUI() if interactive else SilentUI())
        self._transport_spec: Any = transport
        self._timeout_s: Optional[float] = None
        if timeout_ms is not None:  # (transport.py is imported only when needed: start-up time)
            from .transport import timeout_seconds
            self._timeout_s = timeout_seconds(timeout_ms, transport)
        self._transport: Any = None
        self._open_browser = open_browser or default_open_browser
        self._read_line = read_line
        self.cancel = cancel

    def __repr__(self) -> str:  # the configuration can hold a client secret: not shown
        return f"termauth.Client(app={self.app!r}, issuer={self.issuer!r}, client_id={self.client_id!r})"

    @property
    def transport(self) -> Any:
        if self._transport is None:
            from .transport import DEFAULT_TIMEOUT, make_transport

            self._transport = make_transport(self._transport_spec, self._timeout_s or DEFAULT_TIMEOUT)
        return self._transport

    # ------------------------------------------------------------------ the commands

    def login(self, method: str = "auto", *, username: Optional[str] = None, password: Optional[str] = None,
              token: Optional[str] = None, header: Optional[str] = None, prefix: str = "") -> LoginReport:
        """Logs in and stores the credential under the profile, which becomes the active one.
        ``method``: ``auto`` (CI → client credentials; desktop → browser; else device), ``device``,
        ``browser``, ``paste``, ``client_credentials``, ``password`` (``username=``, ``password=``;
        needs ``enable_password_grant=True``) or ``token`` (an API key: ``token=``, sent as a
        Bearer token or in ``header=`` after ``prefix=``)."""
        command: Any = {"op": "login", "method": method}  # (a Command, checked by the session)
        if username is not None or password is not None:
            command.update(username=username, password=password)
        if token is not None:
            command["token"] = token
            bearer = {"scheme": "bearer"}
            command["presentation"] = {"scheme": "header", "name": header, "prefix": prefix} if header else bearer
        return self._expect(command, _s.LoginReport)

    def get_token(self) -> str:
        """A valid access token (or key): ``<APP>_TOKEN`` when set, else the stored credential,
        renewed under its lock when due (a cached token is one native call). Raises
        :class:`termauth.StorageError` ``not_logged_in`` / ``login_required`` (hint
        ``reauthenticate``), or why an expired token cannot be renewed now."""
        return self._token(_native.get_token(self._config, now_ms()))

    def _token(self, got: Union[str, Tuple[_native.Session, str]]) -> str:
        """The token of a native ``get_token``: as is, or from the session it handed over."""
        return got if isinstance(got, str) else _of(self._carry_on(*got), _s.TokenReport).token

    def get_token_for(self, scope: Optional[str] = None, resource: Optional[List[str]] = None) -> TokenReport:
        """An access token limited to ``scope`` and/or for ``resource`` (RFC 8707), got by a
        refresh of the stored grant and not stored (the stored token stays the login's).
        Raises :class:`termauth.UsageError` ``scope_not_granted`` when the login's grant does
        not cover ``scope``, ``scoped_token_needs_refresh`` without a refresh token."""
        command: CommandGetToken = {"op": "get_token"}
        if scope is not None:
            command["scope"] = scope
        if resource:
            command["resource"] = list(resource)
        return self._expect(command, _s.TokenReport)

    def get_token_report(self) -> TokenReport:
        """Like :meth:`get_token`, with where the token came from, its header and expiry."""
        return self._expect({"op": "get_token"}, _s.TokenReport)

    def authorization_header(self, force_refresh: bool = False) -> Tuple[str, str]:
        """The header presenting the credential, ``(name, value)``: ``("Authorization",
        "Bearer …")`` or an API key's own header. ``force_refresh`` renews it first."""
        return self._expect({"op": "refresh"} if force_refresh else {"op": "get_token"}, _s.TokenReport).header

    def refresh(self) -> TokenReport:
        """Renews the stored credential now, whatever its expiry. Unlike :meth:`get_token`, a
        refused renewal is an error even while the current token is still valid."""
        return self._expect({"op": "refresh"}, _s.TokenReport)

    def logout(self) -> LogoutReport:
        """Revokes the stored tokens at the server (refresh token first, RFC 7009), then deletes
        the credential; offline, it still deletes and says the server copy was not revoked."""
        return self._expect({"op": "logout"}, _s.LogoutReport)

    def status(self) -> Status:
        """Which token :meth:`get_token` would use, from where, and in what state (no network;
        a store problem is reported in ``error``)."""
        return self._expect({"op": "status"}, _s.Status)

    def status_all(self) -> List[Status]:
        """The status of every credential stored for this app — each issuer, client and
        profile, ordered so — from the store alone (``<APP>_TOKEN`` is not consulted)."""
        return self._expect({"op": "status_all"}, _s.StatusAll).statuses

    def profiles(self) -> List[ProfileInfo]:
        """The stored profiles for this issuer and client."""
        return self._expect({"op": "profiles"}, list)

    def use_profile(self, profile: str) -> None:
        """Makes ``profile`` the active one; it must exist (log in with ``profile=`` first)."""
        self._run({"op": "use_profile", "profile": profile})

    @property
    def profile(self) -> str:
        """The profile in use: the configured one, else the active one, else ``default``."""
        return self.status().profile

    def metadata(self) -> Dict[str, Any]:
        """The server metadata: the configured one, else discovery (cached a day, shared)."""
        return self._expect({"op": "discover"}, dict)

    def lock(self) -> "CredentialLock":
        """Takes the credential's lock (the one renewals take, in every language), ``with`` it."""
        from ._lock import CredentialLock

        return CredentialLock(self, self._expect({"op": "lock"}, _s.Locked))

    # ------------------------------------------------------------------ the executor

    def _expect(self, command: Command, kind: Type[T]) -> T:
        return _of(self._run(command), kind)

    def _run(self, command: Command) -> Outcome:
        return self._carry_on(*_native.start(command, self._config, now_ms()))

    def _carry_on(self, session: _native.Session, action_json: str) -> Outcome:
        """Executes ``session`` from ``action_json`` (its current action) to its end. The first
        Ctrl-C cancels it (it ends cleanly: a held lock is released); a second one raises."""
        import json

        run, (ctrl_c, restore) = _Run(), trap_ctrl_c()
        run.cancelled = lambda: ctrl_c.is_set() or (self.cancel is not None and self.cancel.is_set())
        try:
            while True:
                try:
                    result = self._execute(session, _s.action_from_dict(json.loads(action_json)), run)
                    if isinstance(result, _s.Done):
                        return result.result
                    if run.cancelled() and not run.cancel_sent:
                        run.cancel_sent = True
                        session.handle_json(_CANCEL, now_ms())
                except KeyboardInterrupt:  # not trapped (another thread's or handler's Ctrl-C)
                    if run.cancel_sent:
                        raise
                    run.cancel_sent = True
                    session.handle_json(_CANCEL, now_ms())
                    answer = _INTERRUPTED.get(type(run.doing).__name__)
                    if answer is not None:
                        session.handle_json(json.dumps(dict(answer, id=run.doing.id)), now_ms())
                action_json = session.advance_json(now_ms())
        finally:
            restore()
            self.ui.clear()
            if run.browser is not None:
                run.browser.close()
            if run.listener is not None:
                run.listener.close()

    def _execute(self, session: _native.Session, action: Any, run: _Run) -> Optional[Done]:
        """Does what ``action`` asks; returns it when it is ``done``; raises ``failed``."""
        import json  # (like the session's classes: loaded by a session that runs, not at start-up)
        answer: Optional[Dict[str, Any]] = None
        run.doing = action
        if isinstance(action, _s.Done):
            return action
        if isinstance(action, _s.Failed):
            raise action.error
        if isinstance(action, _s.SendRequest):
            answer = self.transport.send(action).to_dict()
        elif isinstance(action, _s.WaitUntil):
            # Wake early only to hand a new Ctrl-C to the session: a wait it still asks for
            # after the cancel is one it will not cut short (storing issued tokens).
            while (run.cancel_sent or not run.cancelled()) and now_ms() < action.at_ms:
                if action.progress is not None:
                    self.ui.progress(now_ms(), action.progress)
                time.sleep(max(0, min(action.at_ms - now_ms(), 100)) / 1000)
        elif isinstance(action, _s.ShowUserCode):
            self.ui.show_user_code(action)
        elif isinstance(action, _s.ShowAuthorizationUrl):
            self.ui.show_authorization_url(action)
        elif isinstance(action, _s.Notice):
            self.ui.notice(action)
        elif isinstance(action, _s.LaunchBrowser):
            answer = {"type": "browser_launched", "id": action.id, "launched": bool(self._open_browser(action.url))}
        elif isinstance(action, _s.Listen):
            try:
                run.listener = _listener.LoopbackListener(action.host, action.port, action.not_found_html)
                answer = {"type": "listening", "id": action.id, "port": run.listener.port}
            except OSError as e:
                answer = {"type": "io_error", "id": action.id, "message": str(e) or type(e).__name__}
        elif isinstance(action, _s.AwaitRedirect):
            answer = self._await_redirect(action, run)
        elif isinstance(action, _s.AnswerBrowser):
            if run.browser is not None:
                _listener.respond(run.browser, action.status, action.html)
                run.browser = None
        else:  # await_response (a request handed out and not answered) or a storage primitive
            raise Error(f"Unexpected session action {action!r}.", code="internal_error")
        if answer is not None:
            session.handle_json(json.dumps(answer), now_ms())
        run.doing = None
        return None

    def _await_redirect(self, action: AwaitRedirect, run: _Run) -> Optional[Dict[str, Any]]:
        if action.source == "listener":
            if run.listener is None:
                raise Error("A redirect was awaited without a listener.", code="internal_error")
            got = run.listener.wait(_listener.url_path(action.redirect_uri), action.until_ms, run.cancelled, now_ms)
            if got is None:
                return None  # the deadline or a cancel: the session says which
            target, run.browser = got
            return {"type": "redirect", "url": target}
        read = self._read_line or StdinLines.shared()
        try:
            line = read(max(0, min(action.until_ms - now_ms(), 200)) / 1000)
        except EOFError:
            return {"type": "input_closed"}
        if line is None or not line.strip():
            return None
        return {"type": "redirect", "url": line.strip()}
