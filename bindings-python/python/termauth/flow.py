"""The sans-IO layer: termauth-core's flows with typed actions and inputs.

One loop drives every flow (see ARCHITECTURE.md, "The driver contract")::

    flow = termauth.Flow.from_spec({"flow": "client_credentials", ...})
    while True:
        match flow.poll(now_ms()):
            case SendRequest() as req:
                flow.handle(send(req), now_ms())
            case WaitUntil(at_ms=t):
                sleep_until(t)
            case Done(result=r):
                break
            case Failed(error=e):
                raise e
            ...

Time is wall-clock Unix milliseconds passed in; ``WaitUntil`` is absolute. A refused input
raises a :class:`termauth.UsageError` and leaves the flow unchanged.

Actions and inputs are frozen dataclasses built from (and serialised back to) the exact
JSON the core speaks (``tests/vectors/README.md``); ``to_dict()`` gives that JSON value. The
raw JSON values are typed by the TypedDicts of :mod:`termauth._contract`, generated from the
core's Rust types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from . import _native
from ._errors import Error, from_dict

if TYPE_CHECKING:  # the JSON's TypedDicts: for the type checker only (importing them costs 10 ms)
    from . import _contract as contract

__all__ = [
    "Flow",
    "Action",
    "SendRequest",
    "ShowUserCode",
    "OpenBrowser",
    "Persist",
    "WaitUntil",
    "AwaitRedirect",
    "AwaitResponse",
    "Done",
    "Failed",
    "Input",
    "HttpResponse",
    "TransportFailure",
    "Redirect",
    "Cancel",
    "action_from_dict",
    "input_from_dict",
]

Header = Tuple[str, str]


# ---------------------------------------------------------------- actions (what poll returns)


@dataclass(frozen=True)
class SendRequest:
    """Send this HTTP request, then ``handle`` an :class:`HttpResponse` (or
    :class:`TransportFailure`) with the same ``id``."""

    id: int
    method: str
    url: str
    headers: List[Header]
    body: str

    def to_dict(self) -> Dict[str, Any]:
        return {
            "type": "send_request",
            "id": self.id,
            "method": self.method,
            "url": self.url,
            "headers": [[n, v] for n, v in self.headers],
            "body": self.body,
        }

    def __repr__(self) -> str:  # the body and Authorization can hold secrets
        return f"SendRequest(id={self.id}, method={self.method!r}, url={self.url!r})"


@dataclass(frozen=True)
class ShowUserCode:
    """Show the device flow's user code and where to enter it; poll again right away."""

    user_code: str
    verification_uri: str
    expires_at: int
    verification_uri_complete: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "type": "show_user_code",
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
        }
        if self.verification_uri_complete is not None:
            out["verification_uri_complete"] = self.verification_uri_complete
        out["expires_at"] = self.expires_at
        return out


@dataclass(frozen=True)
class OpenBrowser:
    """Open ``url`` (the authorization request) in a browser, or print it; poll again."""

    url: str
    redirect_uri: str

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "open_browser", "url": self.url, "redirect_uri": self.redirect_uri}


@dataclass(frozen=True)
class Persist:
    """Store this credential record (a dict in the core's record format); poll again."""

    credential: contract.Credential = field(repr=False)

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "persist", "credential": self.credential}

    def credential_json(self) -> str:
        return json.dumps(self.credential, separators=(",", ":"))


@dataclass(frozen=True)
class WaitUntil:
    """Nothing to do before ``at_ms`` (absolute Unix ms): sleep, then poll again."""

    at_ms: int

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "wait_until", "at_ms": self.at_ms}


@dataclass(frozen=True)
class AwaitRedirect:
    """Wait for the browser's redirect (listener or paste), then ``handle`` a :class:`Redirect`;
    poll again at ``until_ms`` at the latest."""

    redirect_uri: str
    until_ms: int

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "await_redirect", "redirect_uri": self.redirect_uri, "until_ms": self.until_ms}


@dataclass(frozen=True)
class AwaitResponse:
    """Request ``id`` was handed out but not answered yet."""

    id: int

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "await_response", "id": self.id}


@dataclass(frozen=True)
class Done:
    """The flow succeeded (terminal). ``result`` is the outcome, tagged by ``kind``:
    ``tokens``, ``metadata``, ``mcp_server``, ``registration``, ``introspection``,
    ``revoked`` or ``credential``."""

    result: contract.Outcome = field(repr=False)

    @property
    def kind(self) -> str:
        return str(self.result.get("kind"))

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "done", "result": self.result}


@dataclass(frozen=True)
class Failed:
    """The flow failed (terminal and sticky). ``error`` is a :class:`termauth.Error`."""

    error: Error

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "failed", "error": self.error.to_dict()}


Action = Union[SendRequest, ShowUserCode, OpenBrowser, Persist, WaitUntil, AwaitRedirect, AwaitResponse, Done, Failed]


def action_from_dict(d: contract.Action) -> Action:
    """The typed action for the core's action JSON value."""
    if d["type"] == "send_request":
        return SendRequest(d["id"], d["method"], d["url"], [(h[0], h[1]) for h in d["headers"]], d["body"])
    if d["type"] == "wait_until":
        return WaitUntil(d["at_ms"])
    if d["type"] == "show_user_code":
        return ShowUserCode(d["user_code"], d["verification_uri"], d["expires_at"], d.get("verification_uri_complete"))
    if d["type"] == "open_browser":
        return OpenBrowser(d["url"], d["redirect_uri"])
    if d["type"] == "persist":
        return Persist(d["credential"])
    if d["type"] == "await_redirect":
        return AwaitRedirect(d["redirect_uri"], d["until_ms"])
    if d["type"] == "await_response":
        return AwaitResponse(d["id"])
    if d["type"] == "done":
        return Done(d["result"])
    if d["type"] == "failed":
        return Failed(from_dict(d["error"]))
    raise Error(f"Unknown action type {d['type']!r} from the core.", code="internal_error")


# ---------------------------------------------------------------- inputs (what handle takes)


@dataclass(frozen=True)
class HttpResponse:
    """The answer to a :class:`SendRequest` (body decoded to text)."""

    id: int
    status: int
    headers: List[Header] = field(default_factory=list)
    body: str = field(default="", repr=False)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "type": "http_response",
            "id": self.id,
            "status": self.status,
            "headers": [[n, v] for n, v in self.headers],
            "body": self.body,
        }


@dataclass(frozen=True)
class TransportFailure:
    """A request got no HTTP response. ``kind``: ``dns``, ``connect``, ``tls``, ``timeout``, ``other``."""

    id: int
    kind: str
    message: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"type": "transport_error", "id": self.id, "kind": self.kind}
        if self.message is not None:
            out["message"] = self.message
        return out


@dataclass(frozen=True)
class Redirect:
    """The URL the browser came back to (full URL or the listener's request target)."""

    url: str

    def __repr__(self) -> str:
        # The query holds the authorization code and ``state``: never shown.
        before, sep, _ = self.url.partition("?")
        return f"Redirect(url={before + ('?***' if sep else '')!r})"

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "redirect", "url": self.url}


@dataclass(frozen=True)
class Cancel:
    """Stop the flow; it fails with ``cancelled``. Always accepted."""

    def to_dict(self) -> Dict[str, Any]:
        return {"type": "cancel"}


Input = Union[HttpResponse, TransportFailure, Redirect, Cancel]


def input_from_dict(d: contract.Input) -> Input:
    """The typed input for an input JSON value."""
    if "type" in d:
        if d["type"] == "http_response":
            return HttpResponse(d["id"], d["status"], [(h[0], h[1]) for h in d.get("headers", [])], d.get("body", ""))
        if d["type"] == "transport_error":
            return TransportFailure(d["id"], d["kind"], d.get("message"))
        if d["type"] == "redirect":
            return Redirect(d["url"])
        if d["type"] == "cancel":
            return Cancel()
    raise Error(f"Unknown input type {d.get('type')!r}.", code="invalid_input")


# ---------------------------------------------------------------- the flow


class Flow:
    """Any termauth-core flow (device, authorization code, client credentials, password,
    refresh, revocation, introspection, discovery, MCP discovery, registration, API key)."""

    __slots__ = ("_flow",)

    def __init__(self, native: _native.Flow) -> None:
        self._flow = native

    @classmethod
    def from_spec(cls, spec: Union[str, contract.FlowSpec], seed: Optional[bytes] = None) -> "Flow":
        """Starts a flow from a ``FlowSpec`` (JSON text or dict, tagged by ``flow``).

        ``seed`` (32 bytes) fixes the RNG (``state``, PKCE verifier, nonce) for tests; by
        default it comes from the OS. Raises :class:`termauth.UsageError` for a refused
        configuration (``invalid_flow_config``, ``insecure_endpoint``, ``pkce_plain_refused``, …).
        """
        text = spec if isinstance(spec, str) else json.dumps(spec)
        return cls(_native.Flow.from_spec(text, seed))

    def poll(self, now_ms: int) -> Action:
        """The next action at ``now_ms``."""
        return action_from_dict(json.loads(self._flow.poll_json(now_ms)))

    def handle(self, input: Union[Input, contract.Input], now_ms: int) -> None:
        """Feeds ``input`` at ``now_ms``. Raises :class:`termauth.UsageError` when refused
        (unknown or repeated id, flow finished, redirect to a wrong path, …); the flow is
        then unchanged."""
        d = input if isinstance(input, dict) else input.to_dict()
        self._flow.handle_json(json.dumps(d), now_ms)

    def __repr__(self) -> str:
        return "<termauth.Flow>"
