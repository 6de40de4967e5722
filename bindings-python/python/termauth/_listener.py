"""The loopback redirect listener (RFC 8252 §7.3, §8.3), with the Rust listener's rules:
binds a loopback address only (never 0.0.0.0), answers ``GET`` on the exact callback path,
404 for other paths (405 for other methods), serves one small page whose every shown text
is HTML-escaped (by the same Rust function), and takes one callback only.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import time
from typing import Callable, Optional, Tuple

from . import _native
from ._errors import usage

__all__ = ["LoopbackListener", "respond"]

_MAX_REQUEST = 16 * 1024


def respond(conn: socket.socket, status: str, title: str, message: str) -> None:
    """Writes a small HTML page (everything shown is escaped) and closes."""
    t, m = _native.html_escape(title), _native.html_escape(message)
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{t}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:4em auto;max-width:36em;line-height:1.5}</style>"
        f"</head><body><h1>{t}</h1><p>{m}</p></body></html>"
    ).encode("utf-8")
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    try:
        conn.sendall(head + body)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


class LoopbackListener:
    """A bound loopback listener; ``wait()`` returns the callback's request target."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        bare = host.strip("[]")
        if bare == "localhost":
            bare = "127.0.0.1"
        try:
            ip = ipaddress.ip_address(bare)
        except ValueError:
            raise usage("listener_bind", f"`{bare}` is not a loopback IP address.") from None
        if not ip.is_loopback:
            raise usage("listener_bind", "The redirect listener only binds loopback addresses (RFC 8252 §8.3).")
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.bind((str(ip), port))
            sock.listen(8)
        except OSError as e:
            sock.close()
            raise usage(
                "listener_bind",
                f"Could not listen on {host}:{port} for the browser's redirect ({e}). "
                "Choose another port, or use the device login.",
                hint="fix_configuration",
            ) from None
        sock.setblocking(False)
        self._sock = sock
        self.host = host
        self.port: int = sock.getsockname()[1]
        self._done = False

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "LoopbackListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(
        self, path: str, until_ms: int, cancelled: Callable[[], bool], now_ms: Callable[[], int]
    ) -> Optional[Tuple[str, socket.socket]]:
        """Waits for ``GET <path>[?query]`` until ``until_ms`` or ``cancelled()``.

        Returns ``(request_target, connection)`` (answer it with :func:`respond`), or ``None``.
        After one callback the listener takes no more.
        """
        while not self._done:
            if cancelled() or now_ms() >= until_ms:
                return None
            left = max(0.0, min(0.1, (until_ms - now_ms()) / 1000))
            ready, _, _ = select.select([self._sock], [], [], left)
            if not ready:
                continue
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                continue
            target = self._read_request(conn, path)
            if target is not None:
                self._done = True
                return target, conn
        return None

    @staticmethod
    def _read_request(conn: socket.socket, path: str) -> Optional[str]:
        conn.setblocking(True)
        conn.settimeout(5)
        data = b""
        deadline = time.monotonic() + 5
        try:
            while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < _MAX_REQUEST:
                if time.monotonic() > deadline:
                    break
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        line = data.split(b"\n", 1)[0].decode("latin-1").strip()
        parts = line.split()
        method = parts[0] if parts else ""
        target = parts[1] if len(parts) > 1 else ""
        if method == "GET" and target.split("?", 1)[0] == path:
            return target
        status = "404 Not Found" if method == "GET" else "405 Method Not Allowed"
        respond(conn, status, "Not found", "This address only receives the login redirect.")
        return None
