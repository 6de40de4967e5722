"""The credential lock a host holds itself (:meth:`termauth.Client.lock`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .session import Locked, Unlocked

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["CredentialLock"]


class CredentialLock:
    """A held credential lock (:meth:`Client.lock`); released by :meth:`release` or ``with``."""

    def __init__(self, client: Client, locked: Locked) -> None:
        self._client, self.path, self._nonce = client, locked.path, locked.nonce

    def release(self) -> bool:
        """Releases the lock (once); whether it was still ours and was removed."""
        nonce, self._nonce = self._nonce, ""
        return bool(nonce) and self._client._expect({"op": "unlock", "nonce": nonce}, Unlocked).released

    def __enter__(self) -> "CredentialLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
