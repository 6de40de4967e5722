"""termauth: log a person or a machine in from a Python CLI.

Every OAuth login method a CLI needs (device flow, browser with a loopback redirect and
PKCE, pasted redirect, client credentials, password on request, API keys), with the token
lifecycle done right: stored in the OS keyring or a 0600 file (the same records and lock as
the Rust ``termauth`` CLI), refreshed with rotation under a cross-process lock, revoked at
logout. All of it — the flows and the session above them (which method, when to renew,
the lock, every sentence shown) — is termauth-core, in Rust, through the native module,
which also does the storage IO; this package executes the session's actions (HTTP, the
loopback listener, the browser, the terminal)::

    import termauth
    auth = termauth.Client(app="mycli", issuer=issuer, client_id=client_id,
                           scope="openid offline_access")
    auth.login(method="device")   # | "browser" | "paste" | "client_credentials" | "password" | "token"
    token = auth.get_token()      # cached; refreshed under the lock when due
    auth.logout()                 # revokes, then forgets

Importing is cheap: submodules (and urllib, httpx, requests) load on first use; a Client
handing out a cached token loads only itself and the native module.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings here
    from typing import Any, Optional

from ._errors import (
    Cancelled,
    Error,
    InterruptedError,
    OAuthError,
    ProtocolError,
    StorageError,
    TransportError,
    UsageError,
    cli_errors,
)

__version__ = "0.1.0"

__all__ = [
    "Error",
    "UsageError",
    "ProtocolError",
    "OAuthError",
    "TransportError",
    "InterruptedError",
    "Cancelled",
    "StorageError",
    "Client",
    "CredentialLock",
    "Flow",
    "Session",
    "LoginReport",
    "LogoutReport",
    "TokenReport",
    "Status",
    "ProfileInfo",
    "UI",
    "TerminalUI",
    "SilentUI",
    "get_token",
    "exit_code",
    "cli_errors",
]

if TYPE_CHECKING:  # pragma: no cover
    from ._client import Client
    from ._lock import CredentialLock
    from ._ui import UI, SilentUI, TerminalUI
    from .flow import Flow
    from .session import LoginReport, LogoutReport, ProfileInfo, Session, Status, TokenReport

_LAZY = {
    "Client": "_client",
    "CredentialLock": "_lock",
    "LoginReport": "session",
    "LogoutReport": "session",
    "TokenReport": "session",
    "Status": "session",
    "ProfileInfo": "session",
    "Session": "session",
    "UI": "_ui",
    "TerminalUI": "_ui",
    "SilentUI": "_ui",
    "Flow": "flow",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'termauth' has no attribute {name!r}")
    # The submodule, relative to this package (``__import__``: importlib costs a few ms).
    value = getattr(__import__(module, globals(), None, (name,), 1), name)
    globals()[name] = value
    return value


def get_token(
    app: str,
    issuer: str,
    client_id: str,
    *,
    profile: Optional[str] = None,
    scope: Optional[str] = None,
    client_secret: Optional[str] = None,
    config_dir: Optional[str] = None,
    **options: Any,
) -> str:
    """A valid access token for (app, issuer, client_id): ``<APP>_TOKEN`` when set, else the
    stored credential, renewed under its lock when due. ``options`` are
    :class:`Client`'s keyword arguments.

    A cached token (valid, on disk or in the keyring) is one native call: no network, and
    nothing loaded but the native module. Raises :class:`StorageError` (``not_logged_in``,
    ``login_required``; hint ``reauthenticate``) when a login is needed.
    """
    from ._fast import get_token as fast

    options.update(profile=profile, scope=scope, client_secret=client_secret, config_dir=config_dir)
    return fast(app, issuer, client_id, options)


def exit_code(error: Error) -> int:
    """The exit code a CLI uses for ``error``: termauth-core's ``Error::exit_code``, the same
    in every language (3 log in again, 4 retry later, 5 fix the configuration, 6 other, 130
    cancelled). Also ``error.exit_code``."""
    return error.exit_code
