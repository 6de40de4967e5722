"""termauth: log a person or a machine in from a Python CLI.

Every OAuth login method a CLI needs (device flow, browser with a loopback redirect and
PKCE, pasted redirect, client credentials, password on request, API keys), with the token
lifecycle done right: stored in the OS keyring or a 0600 file (the same records and lock as
the Rust ``termauth`` CLI), refreshed with rotation under a cross-process lock, revoked at
logout. The protocol is termauth-core (Rust, through the native module); this package is
its driver::

    import termauth
    auth = termauth.Client(app="mycli", issuer=issuer, client_id=client_id,
                           scope="openid offline_access")
    auth.login(method="device")   # | "browser" | "paste" | "client_credentials" | "password" | "token"
    token = auth.get_token()      # cached; refreshed under the lock when due
    auth.logout()                 # revokes, then forgets

Importing is cheap: submodules (and urllib, httpx, requests) load on first use.
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
    "Flow",
    "Store",
    "LoginReport",
    "LogoutReport",
    "Status",
    "ProfileInfo",
    "TerminalUI",
    "SilentUI",
    "get_token",
]

if TYPE_CHECKING:  # pragma: no cover
    from ._client import Client, LoginReport, LogoutReport, ProfileInfo, Status
    from ._native import Store
    from ._ui import SilentUI, TerminalUI
    from .flow import Flow

_LAZY = {
    "Client": "._client",
    "LoginReport": "._client",
    "LogoutReport": "._client",
    "Status": "._client",
    "ProfileInfo": "._client",
    "TerminalUI": "._ui",
    "SilentUI": "._ui",
    "Flow": ".flow",
    "Store": "._native",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'termauth' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
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
    stored credential, renewed under its lock when due.

    The cached path (a fresh token on disk or in the keyring) makes no network request and
    loads nothing but the native module. Raises :class:`StorageError` (``not_logged_in``,
    ``login_required``; hint ``reauthenticate``) when a login is needed.
    """
    from ._fast import fast_token

    token = fast_token(app, issuer, client_id, profile, config_dir, options.get("store", "auto"))
    if token is not None:
        return token
    from ._client import Client

    return Client(
        app=app,
        issuer=issuer,
        client_id=client_id,
        profile=profile,
        scope=scope,
        client_secret=client_secret,
        config_dir=config_dir,
        **options,
    ).get_token()
