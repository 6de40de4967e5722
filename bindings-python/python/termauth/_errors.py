"""termauth's exceptions: one base, :class:`Error`, and one subclass per family.

Every error carries the core's fields: a stable machine ``code``, the family (``kind``),
a sentence for the user (``message``), what the CLI should do (``hint``:
``reauthenticate``, ``retry_later``, ``fix_configuration`` or ``fatal``) and, when they
apply, the HTTP ``status``, the OAuth ``error`` / ``error_description`` / ``error_uri``
and a sanitised ``excerpt`` of a non-JSON body. Errors never carry secrets.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings here
    from typing import Any, Dict, Optional, Type

    from . import _contract

__all__ = [
    "Error",
    "UsageError",
    "ProtocolError",
    "OAuthError",
    "TransportError",
    "InterruptedError",
    "Cancelled",
    "StorageError",
    "from_json",
    "from_dict",
]

_OPTIONAL = ("status", "error", "error_description", "error_uri", "excerpt", "retry_after")

class Error(Exception):
    """The base of every termauth error.

    Attributes mirror the core's error record (see ``tests/vectors/README.md``).
    """

    kind: str = "usage"

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        kind: Optional[str] = None,
        hint: str = "fatal",
        status: Optional[int] = None,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        error_uri: Optional[str] = None,
        excerpt: Optional[str] = None,
        retry_after: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message: str = message
        self.code: str = code
        if kind is not None:
            self.kind = kind
        self.hint: str = hint
        self.status: Optional[int] = status
        self.error: Optional[str] = error
        self.error_description: Optional[str] = error_description
        self.error_uri: Optional[str] = error_uri
        self.excerpt: Optional[str] = excerpt
        #: The server's ``Retry-After`` on a 429 or 503 answer, as sent (delta-seconds or an
        #: HTTP date; sanitised): do not try again before it.
        self.retry_after: Optional[str] = retry_after

    @property
    def exit_code(self) -> int:
        """The exit code a CLI uses for this error: termauth-core's ``Error::exit_code``, the
        same in every language (3 log in again, 4 retry later, 5 fix the configuration, 6
        other, 130 cancelled)."""
        from . import _native

        return _native.exit_code(self.to_json())

    def line(self, program: str) -> str:
        """The one line a CLI prints for this error before exiting with :attr:`exit_code`:
        termauth-core's ``Error::line``, ``program: message [code]`` (the message says what
        to do), the same in every language."""
        from . import _native

        return _native.error_line(program, self.to_json())

    def to_dict(self) -> Dict[str, Any]:
        """The error as the core's JSON record (optional members omitted when absent)."""
        out: Dict[str, Any] = {"kind": self.kind, "code": self.code, "message": self.message, "hint": self.hint}
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def to_json(self) -> str:
        """The error as JSON text."""
        import json

        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, hint={self.hint!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Error) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.kind, self.code, self.message))

    def __reduce__(self) -> Any:
        return (from_dict, (self.to_dict(),))


class UsageError(Error):
    """The caller broke the driver contract, or the configuration is unusable."""

    kind = "usage"


class ProtocolError(Error):
    """The server's response was malformed (not JSON, missing member, too large, …)."""

    kind = "protocol"


class OAuthError(Error):
    """The server answered with an OAuth error (``invalid_grant``, ``access_denied``, …)."""

    kind = "oauth"


class TransportError(Error):
    """No HTTP response: DNS, connection, TLS, timeout."""

    kind = "transport"


class InterruptedError(Error):  # noqa: A001 - termauth.InterruptedError, on purpose
    """Stopped on this side: cancelled, or no redirect before the deadline."""

    kind = "interrupted"


class Cancelled(InterruptedError):
    """The login was cancelled (Ctrl-C or ``Input`` cancel)."""


class StorageError(Error):
    """The credential store: corrupt or newer record, keyring locked, lock timeout, not logged in."""

    kind = "storage"


_BY_KIND: Dict[str, Type[Error]] = {
    "usage": UsageError,
    "protocol": ProtocolError,
    "oauth": OAuthError,
    "transport": TransportError,
    "interrupted": InterruptedError,
    "storage": StorageError,
}


class cli_errors:  # noqa: N801 - a context manager, named like contextlib.suppress
    """Ends a CLI the way termauth's own CLI ends, instead of with a traceback: a
    :class:`termauth.Error` raised inside the ``with`` block (not logged in, access denied,
    Ctrl-C during a login, a server down, ...) becomes one line on standard error
    (:meth:`Error.line`) and ``SystemExit`` with its :attr:`Error.exit_code` (3 log in again,
    4 retry later, 5 fix the configuration, 6 other, 130 cancelled); a ``KeyboardInterrupt``
    outside a login exits with 130. Any other exception is a bug and goes on, with its
    traceback::

        import termauth

        with termauth.cli_errors("mycli"):
            client = termauth.Client("mycli", "https://login.example.com", "mycli")
            print(client.get_token())
    """

    def __init__(self, program: str) -> None:
        self.program = program

    def __enter__(self) -> "cli_errors":
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if isinstance(value, Error):
            import sys

            sys.stderr.write(value.line(self.program) + "\n")
            sys.stderr.flush()
            raise SystemExit(value.exit_code) from None
        if isinstance(value, KeyboardInterrupt):
            raise SystemExit(130) from None


def from_dict(record: _contract.Error) -> Error:
    """Builds the right :class:`Error` subclass from the core's error record."""
    kind = str(record.get("kind", "usage"))
    code = str(record.get("code", "error"))
    cls: Type[Error] = _BY_KIND.get(kind, Error)
    if cls is InterruptedError and code == "cancelled":
        cls = Cancelled
    return cls(
        str(record.get("message", code)),
        code=code,
        kind=kind,
        hint=str(record.get("hint", "fatal")),
        status=record.get("status"),
        error=record.get("error"),
        error_description=record.get("error_description"),
        error_uri=record.get("error_uri"),
        excerpt=record.get("excerpt"),
        retry_after=record.get("retry_after"),
    )


def from_json(text: str) -> Error:
    """Builds the right :class:`Error` subclass from the core's error JSON (used by ``_native``)."""
    import json

    return from_dict(json.loads(text))


def usage(code: str, message: str, hint: str = "fatal") -> UsageError:
    return UsageError(message, code=code, hint=hint)
