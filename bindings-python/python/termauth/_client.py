"""The high-level client: log in, get a fresh token, log out, report status.

It behaves like the Rust ``termauth::Client`` (native/src/client.rs): the same method
choice, the same store (through the native module), the same lock / re-read / decide /
renew / write sequence, the same rotation-race re-read, the same texts. Every OAuth
decision comes from the core (flows and ``lifecycle``); this module moves bytes.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import Error, StorageError, storage, usage
from ._ui import UI, SilentUI, TerminalUI

__all__ = ["Client", "LoginReport", "LogoutReport", "Status", "ProfileInfo"]

DEFAULT_REDIRECT_TIMEOUT_MS = 300_000


from ._fast import env_name as _env_name
from ._fast import env_token as _env_token
from ._fast import now_ms as _now_ms


@dataclass
class LoginReport:
    """What a login did."""

    method: str
    profile: str
    store: str
    store_reason: str
    scope: Optional[str] = None
    expires_at: Optional[int] = None


@dataclass
class LogoutReport:
    """What logout did."""

    removed: bool
    revoked: bool
    note: Optional[str] = None


@dataclass
class Status:
    """Where the token ``get_token`` returns comes from, and its state."""

    source: str
    env_var: str
    profile: str
    issuer: str
    client_id: str
    store: Optional[str] = None
    store_reason: Optional[str] = None
    kind: Optional[str] = None
    grant: Optional[str] = None
    scope: Optional[str] = None
    expires_at: Optional[int] = None
    refreshable: bool = False
    decision: Optional[str] = None
    error: Optional[Error] = field(default=None)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["error"] = self.error.to_dict() if self.error is not None else None
        return d


@dataclass
class ProfileInfo:
    """One stored profile."""

    name: str
    active: bool


LOGIN_METHODS = ("auto", "device", "browser", "paste", "client_credentials", "password", "token")


class Client:
    """The termauth client for one (app, issuer, client_id).

    :param app: the application name: config directory, keyring service, ``<APP>_TOKEN``,
        ``<APP>_CLIENT_SECRET``, ``<APP>_CONFIG_DIR``.
    :param client_secret: for CI (client credentials); default ``<APP>_CLIENT_SECRET`` then
        ``TERMAUTH_CLIENT_SECRET``. Never take it from the command line.
    :param secret_method: ``basic`` (default) or ``post``.
    :param profile: the account; the active one (or ``default``) when ``None``.
    :param store: ``auto`` (keyring, else a 0600 file with a warning), ``keyring`` or ``file``.
    :param metadata: server metadata written by hand (dict); discovery otherwise (cached a day).
    :param transport: ``"urllib"`` (default), ``"httpx"``, ``"requests"`` or a
        :class:`termauth.transport.Transport`.
    :param ui: a :class:`termauth.TerminalUI` (default when ``interactive``) or your own.
    :param open_browser: ``callable(url) -> bool``; default :mod:`webbrowser` when a display exists.
    :param read_line: paste mode's input, ``callable(timeout_s) -> str | None``; default stdin.
    :param cancel: a ``threading.Event`` that cancels a running login when set.
    """

    def __init__(
        self,
        app: str,
        issuer: str,
        client_id: str,
        scope: Optional[str] = None,
        client_secret: Optional[str] = None,
        *,
        secret_method: str = "basic",
        profile: Optional[str] = None,
        store: str = "auto",
        config_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        redirect_host: str = "127.0.0.1",
        redirect_port: int = 0,
        redirect_path: str = "/callback",
        redirect_uri: Optional[str] = None,
        resource: Sequence[str] = (),
        allow_insecure_http: bool = False,
        enable_password_grant: bool = False,
        refresh_skew_ms: int = 60_000,
        redirect_timeout_ms: int = DEFAULT_REDIRECT_TIMEOUT_MS,
        interactive: bool = True,
        ui: Optional[UI] = None,
        transport: Any = None,
        open_browser: Optional[Callable[[str], bool]] = None,
        read_line: Optional[Callable[[float], Optional[str]]] = None,
        cancel: Optional[threading.Event] = None,
    ) -> None:
        if profile is not None:
            _native.check_profile(profile)
        if secret_method not in ("basic", "post"):
            raise usage("invalid_secret_method", f"secret_method is `basic` or `post`, not `{secret_method}`.")
        if client_secret is None:
            for var in (_env_name(app, "CLIENT_SECRET"), "TERMAUTH_CLIENT_SECRET"):
                if os.environ.get(var):
                    client_secret = os.environ[var]
                    break
        self.app = app
        self.issuer = issuer
        self.client_id = client_id
        self.scope = scope
        self._client_secret = client_secret
        self.secret_method = secret_method
        self._profile = profile
        self.store_preference = store
        self.store = _native.Store(app, store, None if config_dir is None else os.fspath(config_dir))
        self._metadata = metadata
        self.redirect_host = redirect_host
        self.redirect_port = redirect_port
        self.redirect_path = redirect_path
        self.redirect_uri = redirect_uri
        self.resource = list(resource)
        self.allow_insecure_http = allow_insecure_http
        self.enable_password_grant = enable_password_grant
        self.refresh_skew_ms = refresh_skew_ms
        self.redirect_timeout_ms = redirect_timeout_ms
        self.ui: UI = ui if ui is not None else (TerminalUI() if interactive else SilentUI())
        self._transport_spec = transport
        self._transport: Any = None
        self._open_browser = open_browser
        self._read_line = read_line
        self.cancel = cancel

    def __repr__(self) -> str:
        return f"termauth.Client(app={self.app!r}, issuer={self.issuer!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------ plumbing

    @property
    def transport(self) -> Any:
        if self._transport is None:
            from .transport import make_transport

            self._transport = make_transport(self._transport_spec)
        return self._transport

    @property
    def profile(self) -> str:
        """The profile in use: the configured one, else the active one, else ``default``."""
        if self._profile is not None:
            return self._profile
        return self.store.active_profile(self.issuer, self.client_id) or "default"

    def _key(self) -> Tuple[str, str, str]:
        return (self.issuer, self.client_id, self.profile)

    def _oauth_client(self) -> Dict[str, Any]:
        c: Dict[str, Any] = {"client_id": self.client_id}
        if self._client_secret is not None:
            method = "client_secret_basic" if self.secret_method == "basic" else "client_secret_post"
            c["auth"] = {"method": method, "client_secret": self._client_secret}
        return c

    def _driver(self, **options: Any) -> Any:
        from ._driver import Driver, default_open_browser

        return Driver(
            self.transport,
            self.ui,
            cancel=self.cancel,
            open_browser=self._open_browser or default_open_browser,
            read_line=self._read_line,
            **options,
        )

    def _run(
        self,
        spec: Dict[str, Any],
        key: Optional[Tuple[str, str, str]],
        redirect: Any = None,
        lock_held: bool = False,
        **options: Any,
    ) -> Tuple[Dict[str, Any], Optional[Tuple[str, str]]]:
        """Starts and drives a flow; persists its credential under ``key``. A login takes
        the credential's lock to write (a process refreshing the previous session under the
        lock must not overwrite it); a renewal already holds it (``lock_held``)."""
        from .flow import Flow, Persist

        flow = Flow.from_spec(spec)
        choice: List[Tuple[str, str]] = []

        def persist(p: Persist) -> None:
            if key is None:
                return
            if lock_held:
                choice.append(self.store.save(key[0], key[1], key[2], p.credential_json()))
                return
            with self.store.lock(*key):
                choice.append(self.store.save(key[0], key[1], key[2], p.credential_json()))

        outcome = self._driver(**options).run(flow, redirect, persist)
        return outcome, (choice[-1] if choice else None)

    def metadata(self) -> Dict[str, Any]:
        """The server metadata: the configured one, else discovery (cached for a day in
        ``<config dir>/metadata/<key>.json``, the same file as the Rust client)."""
        if self._metadata is not None:
            return self._metadata
        path = os.path.join(os.fspath(self.store.dir), "metadata", f"{_native.server_key(self.issuer, '')}.json")
        try:
            with open(path, encoding="utf-8") as f:
                cached = json.load(f)
            fresh = isinstance(cached.get("fetched_at"), int) and _now_ms() - cached["fetched_at"] < 86_400_000
            m = cached.get("metadata")
            if fresh and isinstance(m, dict) and m.get("issuer") == self.issuer:
                self._metadata = dict(m)
                return self._metadata
        except (OSError, ValueError, AttributeError):
            pass
        spec = {
            "flow": "discovery",
            "issuer": self.issuer,
            "document": "auto",
            "allow_insecure_http": self.allow_insecure_http,
        }
        outcome, _ = self._run(spec, None)
        metadata: Dict[str, Any] = dict(outcome["metadata"])
        try:
            _native.write_atomic(path, json.dumps({"fetched_at": _now_ms(), "metadata": metadata}).encode())
        except Error:
            pass
        self._metadata = metadata
        return metadata

    # ------------------------------------------------------------------ login

    def choose_method(self) -> str:
        """The method ``login("auto")`` uses (termauth-core's rule, the same in every language):
        CI → ``client_credentials`` (needs a secret); desktop → ``browser``; SSH or no display →
        ``device``; no device endpoint → ``paste``."""
        in_ci = _native.auto_method_in_ci(
            self._client_secret is not None, _env_name(self.app, "TOKEN"), _env_name(self.app, "CLIENT_SECRET")
        )
        if in_ci is not None:
            return in_ci
        return _native.auto_method_interactive(json.dumps(self.metadata()))

    def login(
        self,
        method: str = "auto",
        *,
        username: Optional[str] = None,
        password: Optional[str] = None,
        token: Optional[str] = None,
        header: Optional[str] = None,
        prefix: str = "",
    ) -> LoginReport:
        """Logs in with ``method`` and stores the credential under the current profile.

        ``method``: ``auto``, ``device``, ``browser``, ``paste``, ``client_credentials``,
        ``password`` (``username=``, ``password=``; needs ``enable_password_grant=True``) or
        ``token`` (an API key / personal access token: ``token=``, sent as ``Authorization:
        Bearer`` or in ``header=`` after ``prefix=``). Raises :class:`termauth.Error`.
        """
        from ._driver import PASTE

        if method not in LOGIN_METHODS:
            raise usage("invalid_method", f"The login method is one of {', '.join(LOGIN_METHODS)}, not `{method}`.")
        key = self._key()
        if method == "auto":
            method = self.choose_method()
        if method == "token":
            if token is None:
                raise usage("missing_token", "login(method='token') needs token=.")
            presentation: Dict[str, Any] = (
                {"scheme": "header", "name": header, "prefix": prefix} if header else {"scheme": "bearer"}
            )
            outcome, choice = self._run({"flow": "api_key", "key": token, "presentation": presentation}, key)
        elif method == "device":
            server = self.metadata()
            # Absent, as the core sees it (an empty string is present, and refused by the flow).
            if server.get("device_authorization_endpoint") is None:
                # What ``auto`` picks for a server without one: the browser, or paste away from a
                # desktop (or no_interactive_method, before saying anything).
                instead = "paste" if _native.auto_method_interactive(json.dumps(server)) == "paste" else "browser"
                self.ui.info("The server has no device authorization endpoint; using the browser login instead.")
                return self.login(instead)
            spec: Dict[str, Any] = {
                "flow": "device",
                "server": server,
                "client": self._oauth_client(),
                "scope": self.scope,
                "resource": self.resource,
                "allow_insecure_http": self.allow_insecure_http,
            }
            outcome, choice = self._run(_drop_none(spec), key, open_browser_for_device=_native.is_desktop())
        elif method in ("browser", "paste"):
            from ._listener import LoopbackListener

            paste = method == "paste"
            server = self.metadata()
            listener = None if paste else LoopbackListener(self.redirect_host, self.redirect_port)
            try:
                port = listener.port if listener else (self.redirect_port or 8400)
                if listener and self.redirect_port and _native.is_ssh():
                    self.ui.info(
                        f"Listening on {listener.host}:{port} for the login redirect. From your desktop, forward it "
                        f"with: ssh -L {port}:127.0.0.1:{port} <this host>"
                    )
                spec_ac: Dict[str, Any] = {
                    "flow": "authorization_code",
                    "server": server,
                    "client": self._oauth_client(),
                    "scope": self.scope,
                    "redirect_port": port,
                    "redirect_host": self.redirect_host,
                    "redirect_path": self.redirect_path,
                    "redirect_uri": self.redirect_uri,
                    "resource": self.resource,
                    "redirect_timeout_ms": self.redirect_timeout_ms,
                    "allow_insecure_http": self.allow_insecure_http,
                }
                outcome, choice = self._run(
                    _drop_none(spec_ac), key, redirect=PASTE if paste else listener, no_browser=paste
                )
            finally:
                if listener:
                    listener.close()
        elif method == "client_credentials":
            outcome, choice = self._run(self._client_credentials_spec(), key)
        else:  # password
            if username is None or password is None:
                raise usage("missing_password", "login(method='password') needs username= and password=.")
            spec_pw: Dict[str, Any] = {
                "flow": "password",
                "server": self.metadata(),
                "client": self._oauth_client(),
                "username": username,
                "password": password,
                "scope": self.scope,
                "enable_password_grant": self.enable_password_grant,
                "allow_insecure_http": self.allow_insecure_http,
            }
            outcome, choice = self._run(_drop_none(spec_pw), key)
        if choice is None:
            raise usage("internal_error", "The login produced no credential to store.")
        if choice[0] == "file" and self.store_preference == "auto":
            self.ui.warn(f"credential {choice[1]}")
        self.store.set_active_profile(key[0], key[1], key[2])
        tokens = outcome.get("tokens") if outcome.get("kind") == "tokens" else None
        return LoginReport(
            method=method,
            profile=key[2],
            store=choice[0],
            store_reason=choice[1],
            scope=tokens.get("scope") if tokens else None,
            expires_at=tokens.get("expires_at") if tokens else None,
        )

    def _client_credentials_spec(self) -> Dict[str, Any]:
        if self._client_secret is None:
            raise usage(
                "missing_client_secret",
                f"Client credentials need a client secret: set {_env_name(self.app, 'CLIENT_SECRET')} or "
                "TERMAUTH_CLIENT_SECRET (never pass it on the command line).",
            )
        spec: Dict[str, Any] = {
            "flow": "client_credentials",
            "server": self.metadata(),
            "client": self._oauth_client(),
            "scope": self.scope,
            "resource": self.resource,
            "allow_insecure_http": self.allow_insecure_http,
        }
        return _drop_none(spec)

    # ------------------------------------------------------------------ tokens

    def env_token(self) -> Optional[str]:
        """The token from ``<APP>_TOKEN``, if set."""
        return _env_token(self.app)

    def get_token(self) -> str:
        """A valid access token (or key): ``<APP>_TOKEN`` when set; else the stored
        credential, renewed under its lock when due.

        Raises :class:`termauth.StorageError` ``not_logged_in`` / ``login_required`` (hint
        ``reauthenticate``), or the network/server error when the token has expired and
        cannot be renewed now.
        """
        t = self.env_token()
        if t is not None:
            return t
        return _native.credential_secret(self._fresh_credential(False))

    def authorization_header(self, force_refresh: bool = False) -> Tuple[str, str]:
        """The header that presents the credential, ``(name, value)``: ``("Authorization",
        "Bearer …")`` or an API key's own header. ``force_refresh`` renews it first."""
        t = self.env_token()
        if t is not None:
            return ("Authorization", f"Bearer {t}")
        return _native.authorization_header(self._fresh_credential(force_refresh))

    def refresh(self) -> Dict[str, Any]:
        """Renews the stored credential now, whatever its expiry; returns the new record."""
        return dict(json.loads(self._fresh_credential(True)))

    def _not_logged_in(self) -> StorageError:
        return storage("not_logged_in", f"Not logged in. Run `{self.app} login` first.", "reauthenticate")

    def _load(self, key: Tuple[str, str, str]) -> Optional[str]:
        loaded = self.store.load(*key)
        return loaded[0] if loaded else None

    def _fresh_credential(self, force: bool) -> str:
        key = self._key()
        credential = self._load(key)
        if credential is None:
            raise self._not_logged_in()
        decision, _, reason = _native.decide(credential, _now_ms(), self.refresh_skew_ms)
        if decision == "use" and not force:
            return credential
        if decision == "relogin":
            raise storage("login_required", reason or "Log in again.", "reauthenticate")
        before = credential
        with self.store.lock(*key):
            # Re-read after locking: another process may have renewed it while we waited.
            credential = self._load(key)
            if credential is None:
                raise self._not_logged_in()
            decision, _, reason = _native.decide_locked(before, credential, _now_ms(), self.refresh_skew_ms, force)
            if decision == "use":
                return credential
            if decision == "relogin":
                raise storage("login_required", reason or "Log in again.", "reauthenticate")
            try:
                if decision == "refresh":
                    spec = {
                        "flow": "refresh",
                        "server": self.metadata(),
                        "client": self._oauth_client(),
                        "credential": json.loads(credential),
                        "resource": self.resource,
                        "allow_insecure_http": self.allow_insecure_http,
                    }
                    self._run(spec, key, lock_held=True)
                else:  # reacquire
                    self._run(self._client_credentials_spec(), key, lock_held=True)
            except Error as error:
                # RFC 6749 §10.4 rotation: if a process that does not honour the lock rotated
                # the refresh token first, the record now holds the new one. Re-read once.
                if error.kind == "oauth" and error.code == "invalid_grant":
                    again = self._load(key)
                    if again is not None and _native.renewed_elsewhere(credential, again, _now_ms()):
                        return again
                after, _, why = _native.after_renewal_failure(credential, error.to_json(), _now_ms())
                if after == "use":
                    self.ui.warn(
                        f"could not renew the token ({error.message}); using the current one until it expires"
                    )
                    return credential
                if after == "relogin":
                    raise storage("login_required", why or error.message, "reauthenticate") from error
                raise
            fresh = self._load(key)
            if fresh is None:
                raise self._not_logged_in()
            return fresh

    # ------------------------------------------------------------------ logout, status, profiles

    def logout(self) -> LogoutReport:
        """Revokes the stored tokens at the server (refresh token first, RFC 7009), then
        deletes the credential. Offline, it still deletes and says the server copy was not revoked."""
        key = self._key()
        note: Optional[str] = None
        revoked = False
        with self.store.lock(*key):
            try:
                loaded: Optional[str] = self._load(key)
                load_error: Optional[Error] = None
            except Error as e:
                loaded, load_error = None, e
            if loaded is not None:
                record = json.loads(loaded)
                if record.get("kind") == "oauth":
                    tokens = record["tokens"]
                    send: List[Dict[str, Any]] = []
                    if tokens.get("refresh_token"):
                        send.append({"token": tokens["refresh_token"], "token_type_hint": "refresh_token"})
                    send.append({"token": tokens["access_token"], "token_type_hint": "access_token"})
                    try:
                        server = self.metadata()
                        if not server.get("revocation_endpoint"):
                            raise usage("missing_endpoint", "The server has no revocation endpoint.")
                        self._run(
                            {
                                "flow": "revocation",
                                "server": server,
                                "client": self._oauth_client(),
                                "tokens": send,
                                "allow_insecure_http": self.allow_insecure_http,
                            },
                            None,
                        )
                        revoked = True
                    except Error as e:
                        note = f"The tokens were deleted here but not revoked at the server: {e.message}"
                else:
                    note = "The API key was deleted here; it is still valid at the server until you revoke it there."
            elif load_error is not None:
                note = f"The stored credential was unreadable ({load_error.message}); it was deleted."
            removed = self.store.delete(*key)
        return LogoutReport(removed=removed, revoked=revoked, note=note)

    def status(self) -> Status:
        """Which token ``get_token`` would use, from where, and in what state (no network)."""
        try:
            profile = self.profile
        except Error:
            profile = "default"
        st = Status(
            source="none",
            env_var=_env_name(self.app, "TOKEN"),
            profile=profile,
            issuer=self.issuer,
            client_id=self.client_id,
        )
        if self.env_token() is not None:
            st.source = "env"
            return st
        try:
            loaded = self.store.load(self.issuer, self.client_id, profile)
        except Error as e:
            st.error = e
            return st
        if loaded is None:
            return st
        text, st.store, st.store_reason = loaded
        st.source = "store"
        record = json.loads(text)
        if record.get("kind") == "oauth":
            tokens = record.get("tokens", {})
            st.kind = "oauth"
            st.grant = record.get("grant")
            st.scope = tokens.get("scope")
            st.expires_at = tokens.get("expires_at")
            st.refreshable = bool(tokens.get("refresh_token")) or (
                st.grant == "client_credentials" and self._client_secret is not None
            )
        else:
            st.kind = "api_key"
        st.decision = _native.decide(text, _now_ms(), self.refresh_skew_ms)[0]
        return st

    def profiles(self) -> List[ProfileInfo]:
        """The stored profiles for this issuer and client."""
        active = self.profile
        return [ProfileInfo(name=n, active=n == active) for n in self.store.profiles(self.issuer, self.client_id)]

    def use_profile(self, profile: str) -> None:
        """Makes ``profile`` the active one (for clients created without ``profile=``)."""
        self.store.set_active_profile(self.issuer, self.client_id, profile)


def _drop_none(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
