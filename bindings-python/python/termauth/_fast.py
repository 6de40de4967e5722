"""The cached path of ``termauth.get_token``: one native call (the core's session, with the
Rust storage code) and nothing imported but the native module. Which profile, which file,
whether the token is still good: all the session's. ``None`` of it is decided here."""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings here
    from typing import Any, Dict, Mapping

from . import _native

# The members of the core's SessionConfig a Client takes as keyword arguments (same names).
CONFIG_KEYS = (
    "scope", "client_secret", "secret_method", "profile", "store", "config_dir", "metadata", "redirect_host",
    "redirect_port", "redirect_path", "redirect_uri", "resource", "allow_insecure_http", "enable_password_grant",
    "refresh_skew_ms", "redirect_timeout_ms", "lock_wait_ms", "launch_browser", "debug",
)


def now_ms() -> int:
    """Wall-clock Unix milliseconds (expiry is persisted, so not monotonic)."""
    return time.time_ns() // 1_000_000


class Lazy:
    """A submodule of this package, imported when one of its names is first used (what start-up
    does not need stays unloaded: a cached token needs none of the session's dataclasses)."""

    def __init__(self, module: str) -> None:
        self.module = module

    def __getattr__(self, name: str) -> Any:
        value = self.__dict__[name] = getattr(__import__(self.module, globals(), None, (name,), 1), name)
        return value


def session_config(app: str, issuer: str, client_id: str, options: Mapping[str, Any]) -> Dict[str, Any]:
    """The core's ``SessionConfig`` (as a dict) for these :class:`termauth.Client` arguments;
    ``None`` means the core's default."""
    config: Dict[str, Any] = {"app": app, "issuer": issuer, "client_id": client_id}
    for key in CONFIG_KEYS:
        value = options.get(key)
        if value is not None:
            config[key] = value
    if "config_dir" in config:
        config["config_dir"] = os.fspath(config["config_dir"])
    if "resource" in config:
        config["resource"] = list(config["resource"])
    return config


def get_token(app: str, issuer: str, client_id: str, options: Dict[str, Any]) -> str:
    """``termauth.get_token``: the session's answer in one native call when only storage is
    needed; otherwise the same session carried on by a :class:`termauth.Client`."""
    got = _native.get_token(session_config(app, issuer, client_id, options), now_ms())
    if isinstance(got, str):
        return got
    from ._client import Client

    return Client(app, issuer, client_id, **options)._token(got)
