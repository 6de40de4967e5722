"""The loopback redirect listener (RFC 8252 §7.3, §8.3), by the rules every termauth
listener follows: it binds a loopback address only (never 0.0.0.0), serves connections
concurrently, gives each request 5 s and 16 KiB (a client that trickles bytes or sends
nothing is dropped, and holds up no one), hands a ``GET`` on the exact callback path to
the session and holds that connection until the session's ``answer_browser`` page, and
answers every other request with the session's ``not_found_html`` (404, or 405 for
another method). The pages are the session's, escaped there.

A request is parsed only once its head is complete and its request line is HTTP/1.x
(RFC 9112 §2.2, §3). A connection that closes, fills 16 KiB or runs out of time before
that, or sends another request line, is closed unanswered: it never reaches the session.
"""

from __future__ import annotations

import ipaddress
import os
import re
import selectors
import socket
import time
from typing import Callable, Dict, List, Literal, Optional, Tuple, Union

__all__ = ["LoopbackListener", "parse_head", "respond", "url_path"]

MAX_REQUEST = 16 * 1024
REQUEST_SECONDS = 5.0
MAX_CONNECTIONS = 64
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


def url_path(uri: str) -> str:
    """The path of a redirect URI (``http://127.0.0.1:8400/callback`` → ``/callback``)."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    i = rest.find("/")
    return "/" if i < 0 else rest[i:].split("?", 1)[0].split("#", 1)[0]


# request-line = method SP request-target SP HTTP-version (RFC 9112 §3): a method that is a
# token (RFC 9110 §5.6.2), a target of visible ASCII characters, the version HTTP/1.x.
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/1\.[0-9]")

Head = Union[Literal["incomplete", "not HTTP/1.x"], Tuple[str, str]]


def parse_head(data: bytes) -> Head:
    """Where a request head read so far stands: ``(method, request_target)`` once it is
    complete, ``"incomplete"`` until then, ``"not HTTP/1.x"`` as soon as its request line
    is complete and is not one (an HTTP/0.9 ``GET /path`` without a version included).

    The head is the request line and the header fields, each ended by CRLF, then an empty
    line (RFC 9112 §2.1); a bare LF is taken as a line end and empty lines before the
    request line are skipped (RFC 9112 §2.2)."""
    request: Optional[Tuple[str, str]] = None
    for line in data.split(b"\n")[:-1]:  # the last piece has no line end yet
        line = line[:-1] if line.endswith(b"\r") else line
        if request is None:
            if not line:
                continue
            m = _REQUEST_LINE.fullmatch(line)
            if m is None:
                return "not HTTP/1.x"
            request = (m[1].decode("ascii"), m[2].decode("ascii"))
        elif not line:
            return request
    return "incomplete"


def respond(conn: socket.socket, status: int, html: str) -> None:
    """Writes ``html`` as a page with this status, then closes the connection."""
    body = html.encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")
    try:
        conn.settimeout(2)
        conn.sendall(head + body)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


class _Pending:
    __slots__ = ("conn", "data", "deadline")

    def __init__(self, conn: socket.socket, deadline: float) -> None:
        self.conn = conn
        self.data = b""
        self.deadline = deadline


class LoopbackListener:
    """A bound loopback listener. Raises :class:`OSError` (its text says why) when it cannot
    bind, or when ``host`` is not a loopback address."""

    def __init__(self, host: str, port: int, not_found_html: str) -> None:
        bare = host.strip("[]")
        try:
            ip = ipaddress.ip_address("127.0.0.1" if bare == "localhost" else bare)
        except ValueError:
            raise OSError(f"`{bare}` is not a loopback IP address") from None
        if not ip.is_loopback:
            raise OSError("the redirect listener only binds loopback addresses (RFC 8252 §8.3)")
        sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        try:
            # A fixed port (for `ssh -L`) can be bound again right after a login, while the
            # last callback's connection is in TIME_WAIT, as Rust, Go and Node allow.
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((str(ip), port))
            sock.listen(MAX_CONNECTIONS)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self._not_found = not_found_html
        self._selector = selectors.DefaultSelector()
        self._selector.register(sock, selectors.EVENT_READ)
        self._pending: Dict[int, _Pending] = {}
        self.port: int = sock.getsockname()[1]

    def close(self) -> None:
        """Stops listening and drops every connection not yet answered."""
        for p in list(self._pending.values()):
            self._drop(p)
        try:
            self._selector.close()
        finally:
            self._sock.close()

    def __enter__(self) -> "LoopbackListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drop(self, p: _Pending) -> None:
        self._pending.pop(p.conn.fileno(), None)
        try:
            self._selector.unregister(p.conn)
        except (KeyError, ValueError):
            pass
        try:
            p.conn.close()
        except OSError:
            pass

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self._pending) >= MAX_CONNECTIONS:  # a flood: the oldest waits no more
                self._drop(min(self._pending.values(), key=lambda p: p.deadline))
            conn.setblocking(False)
            p = _Pending(conn, time.monotonic() + REQUEST_SECONDS)
            self._pending[conn.fileno()] = p
            self._selector.register(conn, selectors.EVENT_READ, p)

    def _read(self, p: _Pending, path: str) -> Optional[str]:
        """Reads what ``p`` has sent; the callback's request target once its request is
        complete, after answering (and dropping) any other request."""
        if p.conn.fileno() < 0 or self._pending.get(p.conn.fileno()) is not p:
            return None  # dropped earlier in this round
        try:
            chunk = p.conn.recv(min(4096, MAX_REQUEST - len(p.data)))
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            chunk = b""
        p.data += chunk
        head = parse_head(p.data)
        if head == "incomplete" and chunk and len(p.data) < MAX_REQUEST:
            return None
        if not isinstance(head, tuple):
            # Closed (or reset) or 16 KiB before the head was complete, or not HTTP/1.x:
            # what arrived is not parsed and the connection is closed unanswered (RFC 9112
            # §8 lets a server close on an incomplete request; no 400 for a bad request
            # line, RFC 9112 §3: it is no browser, and nothing of it reaches the session).
            self._drop(p)
            return None
        self._pending.pop(p.conn.fileno(), None)
        self._selector.unregister(p.conn)
        method, target = head
        if method == "GET" and target.split("?", 1)[0] == path:
            return target
        respond(p.conn, 404 if method == "GET" else 405, self._not_found)
        return None

    def wait(self, path: str, until_ms: int, cancelled: Callable[[], bool],
             now_ms: Callable[[], int]) -> Optional[Tuple[str, socket.socket]]:
        """Serves connections until a ``GET <path>[?query]`` arrives, ``until_ms`` passes or
        ``cancelled()``. Returns ``(request_target, connection)`` — answer it with
        :func:`respond` — or ``None``."""
        while not cancelled():
            left = (until_ms - now_ms()) / 1000
            if left <= 0:
                return None
            now = time.monotonic()
            for p in [p for p in self._pending.values() if p.deadline <= now]:
                self._drop(p)
            events: List[Tuple[selectors.SelectorKey, int]] = self._selector.select(min(left, 0.1))
            for key, _ in events:
                if key.fileobj is self._sock:
                    self._accept()
                    continue
                target = self._read(key.data, path)
                if target is not None:
                    conn: socket.socket = key.data.conn
                    conn.setblocking(True)
                    return target, conn
        return None
