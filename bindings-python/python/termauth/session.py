"""The session, typed: termauth-core's machine for a whole command (log in, get a token
under the cross-process lock, refresh, log out, status, profiles), its actions and its
outcomes as dataclasses.

:class:`termauth.Client` runs sessions for you; use this module to drive one yourself (a
custom executor, a test)::

    s = Session.start(spec, seed=None, now_ms=now())   # spec: {"command", "config", "environment"}
    while True:
        action = s.advance(now())        # storage (files, locks, keyring) done natively
        if isinstance(action, Done):
            break
        ...                               # send the request, render the text, wait, listen

``poll``/``handle`` are the bare machine (every storage primitive comes back to you as a
:class:`StorageAction`); ``advance`` performs those with the Rust storage code and returns
the first action that is not storage. Every sentence a user reads is in the actions
(``text``, ``progress``, ``html``): an executor renders, it never writes words of its own.
The JSON shapes are those of ``tests/vectors/README.md``; the raw JSON values are typed by
the TypedDicts of :mod:`termauth._contract`, generated from the core's Rust types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from . import _native
from ._errors import Error, from_dict
from .flow import AwaitResponse, SendRequest

if TYPE_CHECKING:  # the JSON's TypedDicts: for the type checker only (importing them costs 10 ms)
    from . import _contract as contract

    # The JSON of a storage primitive.
    StorageJson = Union[
        contract.SessionActionReadFile, contract.SessionActionWriteFile, contract.SessionActionMakePrivate,
        contract.SessionActionRemoveFile, contract.SessionActionListDir, contract.SessionActionCreateExclusive, contract.SessionActionProcessAlive,
        contract.SessionActionKeyringGet, contract.SessionActionKeyringSet, contract.SessionActionKeyringDelete,
    ]

__all__ = [
    "Session",
    "Action",
    "Prompt",
    "QrCode",
    "Progress",
    "SendRequest",
    "AwaitResponse",
    "WaitUntil",
    "LaunchBrowser",
    "ShowUserCode",
    "ShowAuthorizationUrl",
    "Listen",
    "AwaitRedirect",
    "AnswerBrowser",
    "Notice",
    "StorageAction",
    "Done",
    "Failed",
    "LoginReport",
    "TokenReport",
    "LogoutReport",
    "Status",
    "StatusAll",
    "ProfileInfo",
    "ProfileUsed",
    "Locked",
    "Unlocked",
    "Outcome",
    "action_from_dict",
    "outcome_from_dict",
]


# ---------------------------------------------------------------- texts


@dataclass(frozen=True)
class QrCode:
    """A QR code to draw (when the terminal can), with the line that introduces it."""

    caption: str
    data: str


@dataclass(frozen=True)
class Prompt:
    """A block of text for the terminal: ``lines``, then the QR code if one can be drawn,
    then ``after``."""

    lines: List[str]
    qr: Optional[QrCode] = None
    after: List[str] = field(default_factory=list)

    @staticmethod
    def from_dict(d: contract.Prompt) -> "Prompt":
        qr = d.get("qr")
        return Prompt(list(d["lines"]), QrCode(qr["caption"], qr["data"]) if qr else None, list(d.get("after", [])))


@dataclass(frozen=True)
class Progress:
    """A line to show while waiting: ``text`` with ``{left}`` replaced by the time left until
    ``until_ms`` as ``m:ss`` (the terminal UI draws the longest form that fits)."""

    text: str
    until_ms: int
    #: Shorter forms of ``text`` for narrow terminals, longest first.
    shorter: List[str] = field(default_factory=list)


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class WaitUntil:
    """Nothing to do before ``at_ms`` (absolute Unix ms): sleep (showing ``progress``), then
    poll. A cancel may arrive meanwhile."""

    at_ms: int
    progress: Optional[Progress] = None


@dataclass(frozen=True)
class LaunchBrowser:
    """Open ``url`` in a browser; handle ``{"type": "browser_launched", "id", "launched"}``."""

    id: int
    url: str


@dataclass(frozen=True)
class ShowUserCode:
    """The device flow's code: render ``text`` (the other members are for custom UIs)."""

    user_code: str
    verification_uri: str
    expires_at: int
    text: Prompt
    verification_uri_complete: Optional[str] = None


@dataclass(frozen=True)
class ShowAuthorizationUrl:
    """A browser login's authorization URL: render ``text``."""

    url: str
    redirect_uri: str
    text: Prompt


@dataclass(frozen=True)
class Listen:
    """Start the loopback listener on ``host``:``port`` (0: any); handle ``listening`` with the
    bound port or ``io_error``. Other requests get ``not_found_html``."""

    id: int
    host: str
    port: int
    not_found_html: str = field(repr=False)


@dataclass(frozen=True)
class AwaitRedirect:
    """Wait for the browser's redirect from ``source`` (``listener`` or ``paste``) until
    ``until_ms``; handle ``redirect`` (or ``input_closed``), and poll at ``until_ms`` at the
    latest."""

    redirect_uri: str
    until_ms: int
    source: str


@dataclass(frozen=True)
class AnswerBrowser:
    """Answer the browser connection that delivered the redirect with this page."""

    status: int
    html: str = field(repr=False)


@dataclass(frozen=True)
class Notice:
    """Tell the user ``text`` (``level``: ``info`` or ``warning``; ``code`` is stable)."""

    level: str
    code: str
    text: str


@dataclass(frozen=True)
class StorageAction:
    """A storage primitive (``read_file``, ``write_file``, ``make_private``, ``remove_file``, ``list_dir``,
    ``create_exclusive``, ``process_alive``, ``keyring_get``/``set``/``delete``), as its JSON.
    :meth:`Session.advance` performs these natively; only :meth:`Session.poll` returns them."""

    type: str
    id: int
    data: "StorageJson" = field(repr=False)


@dataclass(frozen=True)
class Done:
    """The command succeeded (terminal and sticky)."""

    result: "Outcome"


@dataclass(frozen=True)
class Failed:
    """The command failed (terminal and sticky)."""

    error: Error


Action = Union[
    SendRequest, AwaitResponse, WaitUntil, LaunchBrowser, ShowUserCode, ShowAuthorizationUrl, Listen,
    AwaitRedirect, AnswerBrowser, Notice, StorageAction, Done, Failed,
]

_STORAGE = frozenset(
    ("read_file", "write_file", "make_private", "remove_file", "list_dir", "create_exclusive", "process_alive",
     "keyring_get", "keyring_set", "keyring_delete")
)


def action_from_dict(d: contract.SessionAction) -> Action:
    """The typed action for the session's action JSON value."""
    if d["type"] == "send_request":
        return SendRequest(d["id"], d["method"], d["url"], [(h[0], h[1]) for h in d["headers"]], d["body"])
    if d["type"] == "await_response":
        return AwaitResponse(d["id"])
    if d["type"] == "wait_until":
        p = d.get("progress")
        return WaitUntil(d["at_ms"], Progress(p["text"], p["until_ms"], list(p.get("shorter", []))) if p else None)
    if d["type"] == "launch_browser":
        return LaunchBrowser(d["id"], d["url"])
    if d["type"] == "show_user_code":
        return ShowUserCode(d["user_code"], d["verification_uri"], d["expires_at"], Prompt.from_dict(d["text"]),
                            d.get("verification_uri_complete"))
    if d["type"] == "show_authorization_url":
        return ShowAuthorizationUrl(d["url"], d["redirect_uri"], Prompt.from_dict(d["text"]))
    if d["type"] == "listen":
        return Listen(d["id"], d["host"], d["port"], d["not_found_html"])
    if d["type"] == "await_redirect":
        return AwaitRedirect(d["redirect_uri"], d["until_ms"], d["source"])
    if d["type"] == "answer_browser":
        return AnswerBrowser(d["status"], d["html"])
    if d["type"] == "notice":
        return Notice(d["level"], d["code"], d["text"])
    if d["type"] == "done":
        return Done(outcome_from_dict(d["result"]))
    if d["type"] == "failed":
        return Failed(from_dict(d["error"]))
    if d["type"] not in _STORAGE:
        raise Error(f"Unknown session action {d['type']!r} from the core.", code="internal_error")
    return StorageAction(d["type"], d["id"], d)


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class LoginReport:
    """What a login did: the method used, the profile written (now the active one), the
    store and why, the granted scope and expiry, ``account`` (who logged in, when an
    OpenID Connect server said: the ID token's email, preferred_username, name or sub) and
    ``text``, the sentence for the user."""

    method: str
    profile: str
    store: str
    store_reason: str
    scope: Optional[str] = None
    expires_at: Optional[int] = None
    text: str = ""
    account: Optional[str] = None


@dataclass(frozen=True)
class TokenReport:
    """A valid token (``get_token``, ``refresh``): where it came from (``env`` or ``store``),
    the token, the header presenting it (``(name, value)``), its expiry, the stored record
    (a dict; ``None`` for ``<APP>_TOKEN``) and, after ``refresh``, the sentence for the user."""

    source: str
    token: str = field(repr=False)
    header: Tuple[str, str] = field(repr=False)
    expires_at: Optional[int] = None
    credential: Optional[contract.Credential] = field(default=None, repr=False)
    text: Optional[str] = None


@dataclass(frozen=True)
class LogoutReport:
    """What logout did: deleted here, revoked at the server, why not, the sentence."""

    removed: bool
    revoked: bool
    note: Optional[str] = None
    text: str = ""


@dataclass(frozen=True)
class Status:
    """Where the token ``get_token`` returns comes from (``env``, ``store`` or ``none``), and
    its state. No secrets; a store problem is in ``error``. ``kind`` is the stored record's
    (``oauth`` or ``api_key``; the core's ``credential_kind``). ``problem`` says why no token
    can be had without logging in (``not_logged_in``, ``login_required``,
    ``missing_client_secret``, or the store problem), None when ``get_token`` would return
    one; when it is set, a CLI's ``status`` exits with ``problem.exit_code``. ``account`` is who is logged in, when the server said."""

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
    error: Optional[Error] = None
    problem: Optional[Error] = None
    account: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict (``error`` and ``problem`` as the core's error records)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["error"] = self.error.to_dict() if self.error is not None else None
        d["problem"] = self.problem.to_dict() if self.problem is not None else None
        return d


@dataclass(frozen=True)
class ProfileInfo:
    """One stored profile."""

    name: str
    active: bool


@dataclass(frozen=True)
class StatusAll:
    """``status_all``: the status of every stored credential, ordered by issuer, client and
    profile."""

    statuses: List[Status]


@dataclass(frozen=True)
class ProfileUsed:
    """``use_profile``: the profile now active."""

    profile: str


@dataclass(frozen=True)
class Locked:
    """``lock``: the credential's lock file, held until ``unlock`` with ``nonce``."""

    path: str
    nonce: str = field(repr=False)


@dataclass(frozen=True)
class Unlocked:
    """``unlock``: whether the lock still held the nonce and was removed."""

    released: bool


# ``discover`` ends with the server metadata as a dict, ``profiles`` with a list.
Outcome = Union[LoginReport, TokenReport, LogoutReport, Status, StatusAll, List[ProfileInfo], ProfileUsed,
                Dict[str, Any], Locked, Unlocked]


def _store(d: Optional[contract.StoreChoice]) -> Tuple[Optional[str], Optional[str]]:
    return (d["store"], d["reason"]) if d else (None, None)


def _status(d: Any) -> Status:
    store, reason = _store(d.get("store"))
    error_record, problem_record = d.get("error"), d.get("problem")
    error = from_dict(error_record) if error_record else None
    problem = from_dict(problem_record) if problem_record else None
    return Status(d["source"], d["env_var"], d["profile"], d["issuer"], d["client_id"], store, reason,
                  d.get("credential_kind"), d.get("grant"), d.get("scope"), d.get("expires_at"), d["refreshable"],
                  d.get("decision"), error, problem, d.get("account"))


def outcome_from_dict(d: contract.SessionOutcome) -> Outcome:
    """The typed outcome for a ``done`` action's ``result``."""
    if d["kind"] == "login":
        store, reason = _store(d["store"])
        return LoginReport(d["method"], d["profile"], store or "", reason or "", d.get("scope"), d.get("expires_at"),
                           d["text"], d.get("account"))
    if d["kind"] == "token":
        name, value = d["header"]
        return TokenReport(d["source"], d["token"], (name, value), d.get("expires_at"), d.get("credential"),
                           d.get("text"))
    if d["kind"] == "logout":
        return LogoutReport(d["removed"], d["revoked"], d.get("note"), d["text"])
    if d["kind"] == "status":
        return _status(d)
    if d["kind"] == "status_all":
        return StatusAll([_status(status) for status in d["statuses"]])
    if d["kind"] == "profiles":
        return [ProfileInfo(p["name"], p["active"]) for p in d["profiles"]]
    if d["kind"] == "profile_used":
        return ProfileUsed(d["profile"])
    if d["kind"] == "metadata":
        return dict(d["metadata"])
    if d["kind"] == "locked":
        return Locked(d["path"], d["nonce"])
    if d["kind"] == "unlocked":
        return Unlocked(d["released"])
    raise Error(f"Unknown session outcome {d['kind']!r} from the core.", code="internal_error")


# ---------------------------------------------------------------- the session


class Session:
    """One command run by the core's session (see the module docs)."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.Session) -> None:
        self._native = native

    @classmethod
    def start(cls, spec: Union[str, contract.SessionSpec], seed: Optional[bytes] = None, now_ms: int = 0) -> "Session":
        """Starts a session from a ``SessionSpec`` (``{"command", "config", "environment"}``,
        JSON text or dict; :func:`termauth._native.environment_json` gives this process's
        environment). ``seed`` (32 bytes) fixes its randomness for tests."""
        text = spec if isinstance(spec, str) else json.dumps(spec)
        return cls(_native.Session(text, seed, now_ms))

    def poll(self, now_ms: int) -> Action:
        """The next action (storage primitives included)."""
        return action_from_dict(json.loads(self._native.poll_json(now_ms)))

    def advance(self, now_ms: int) -> Action:
        """The next action that is not storage; storage primitives are performed natively."""
        return action_from_dict(json.loads(self._native.advance_json(now_ms)))

    def handle(self, input: contract.SessionInput, now_ms: int) -> None:
        """Feeds an input (its JSON value). Raises :class:`termauth.UsageError` when refused;
        the session is then unchanged. ``{"type": "cancel"}`` is always accepted."""
        self._native.handle_json(json.dumps(input), now_ms)

    @property
    def finished(self) -> bool:
        return self._native.finished

    def __repr__(self) -> str:
        return f"<termauth.Session finished={self.finished}>"
