"""The cached path of ``termauth.get_token``: imports nothing but the native module, so a
CLI that runs ``get_token()`` before every command pays almost nothing."""

from __future__ import annotations

import os
import time
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings here
    from typing import Optional

from . import _native


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def env_name(app: str, suffix: str) -> str:
    return app.upper().replace("-", "_").replace(".", "_").replace(" ", "_") + "_" + suffix


def env_token(app: str) -> Optional[str]:
    t = os.environ.get(env_name(app, "TOKEN"), "").strip()
    return t or None


def fast_token(
    app: str,
    issuer: str,
    client_id: str,
    profile: Optional[str] = None,
    config_dir: Optional[str] = None,
    store: str = "auto",
) -> Optional[str]:
    """``<APP>_TOKEN``, or a stored credential whose lifecycle decision is ``use``.
    ``None`` means "take the slow path" (renew under the lock, or raise the right error)."""
    t = env_token(app)
    if t is not None:
        return t
    try:
        s = _native.Store(app, store, config_dir)
        if profile is None:
            profile = s.active_profile(issuer, client_id) or "default"
        loaded = s.load(issuer, client_id, profile)
        if loaded is None:
            return None
        if _native.decide(loaded[0], now_ms())[0] == "use":
            return _native.credential_secret(loaded[0])
    except Exception:  # noqa: BLE001 - termauth.Error: the slow path reports it properly
        return None
    return None
