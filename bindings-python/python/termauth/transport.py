"""HTTP transports: turn a :class:`~termauth.flow.SendRequest` into an
:class:`~termauth.flow.HttpResponse` or a :class:`~termauth.flow.TransportFailure`.

* :class:`UrllibTransport` (default): the standard library, so termauth has no required
  dependency. Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``, …) as
  urllib does; CA certificates from the system (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured).
* :class:`HttpxTransport`, :class:`RequestsTransport`: when installed, with those
  libraries' own proxy and CA settings (``trust_env``, ``REQUESTS_CA_BUNDLE``, a session you pass).

Rules every transport follows (the same as the Rust one): redirects are never followed (an
OAuth endpoint that redirects a POST is misconfigured, and following could carry secrets
elsewhere); every status is a response, not an exception; the body is read up to one byte
past the core's 256 KiB limit so the core can report ``response_too_large``; bodies are
decoded as UTF-8 (invalid bytes replaced). The transport makes no OAuth decision.

Every request has an overall deadline, ``timeout`` seconds (30 by default; the Client's
``timeout_ms``): connecting, sending, the response's headers and its body together, as in
every termauth language. A peer that trickles its answer (a byte a second, forever) or never
answers gets a ``timeout`` transport failure when it passes. urllib, httpx and requests
only time out single reads, so the deadline is termauth's own:

* urllib: every step (the TCP connect, a proxy's tunnel, the TLS handshake, each send and
  each read of the response) may block only for what is left of the deadline.
* httpx, requests: the exchange runs in a worker thread; when the deadline passes the
  caller is answered ``timeout`` at once, and the sockets the exchange opened are shut
  down, which ends it. (A connection an httpx client reuses from its pool, or requests'
  connection before the response's headers, is not known to termauth: an exchange
  blocked there ends on the library's own per-read timeout, also ``timeout`` seconds.)
* Name resolution is the system resolver's, with its own timeouts.
"""

from __future__ import annotations

import contextvars
import http.client
import io
import socket
import threading
import time
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple, Union, cast

from .flow import HttpResponse, SendRequest, TransportFailure

__all__ = ["Transport", "UrllibTransport", "HttpxTransport", "RequestsTransport", "make_transport"]

# The core refuses bodies over 256 KiB; one more byte lets it say so.
BODY_CAP = 256 * 1024 + 1
DEFAULT_TIMEOUT = 30.0
USER_AGENT = "termauth-python/0.1.0"

Result = Union[HttpResponse, TransportFailure]


class Transport:
    """The transport interface: ``send(request) -> HttpResponse | TransportFailure``."""

    def send(self, request: SendRequest) -> Result:  # pragma: no cover - interface
        raise NotImplementedError


def _headers(request: SendRequest) -> List[Tuple[str, str]]:
    headers = list(request.headers)
    if not any(n.lower() == "user-agent" for n, _ in headers):
        headers.append(("User-Agent", USER_AGENT))
    return headers


def _classify(exc: BaseException) -> str:
    """dns / connect / tls / timeout / other, from an exception chain."""
    seen = 0
    e: Optional[BaseException] = exc
    while e is not None and seen < 8:
        seen += 1
        name = type(e).__name__.lower()
        if isinstance(e, socket.gaierror) or "nameresolution" in name or "gaierror" in str(e).lower():
            return "dns"
        if isinstance(e, (socket.timeout, TimeoutError)) or "timeout" in name:
            return "timeout"
        if "ssl" in name or "certificate" in str(e).lower():
            return "tls"
        if isinstance(e, ConnectionError) or "connect" in name:
            return "connect"
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            e = reason
            continue
        e = e.__cause__ or e.__context__
    return "other"


def _decode(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _timed_out(request_id: int, seconds: float) -> TransportFailure:
    return TransportFailure(request_id, "timeout", f"no complete response within {seconds:g} s")


class _Deadline:
    """The instant (monotonic) a request must be over by."""

    __slots__ = ("seconds", "_at")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def left(self) -> float:
        """The seconds left; ``socket.timeout`` once there are none."""
        left = self._at - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"no complete response within {self.seconds:g} s")
        return left


# ---------------------------------------------------------------- urllib, within a deadline
#
# urllib.request builds an http.client connection per request; these subclasses give each
# blocking step of it only what is left of the request's deadline (socket timeouts are per
# call, so a peer sending a byte at a time would otherwise never time out).


class _DeadlineReader(io.RawIOBase):
    """The response's reads from the socket, each bounded by what is left of the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._raw = sock.makefile("rb", buffering=0)  # a reference: closing the socket waits for it
        self._socket, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> Optional[int]:
        self._socket.settimeout(self._deadline.left())
        return self._raw.readinto(b)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineReads:
    """What ``http.client.HTTPResponse`` reads through (it only calls ``makefile``)."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._socket, self._deadline = sock, deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._socket, self._deadline))


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._deadline = deadline
        self._create_connection = self._connect_tcp

    def _connect_tcp(self, address: Tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        sock = socket.create_connection(address, self._deadline.left(), source_address)
        sock.settimeout(self._deadline.left())  # for a proxy's tunnel, the TLS handshake
        return sock

    def _tunnel(self) -> None:
        super()._tunnel()  # type: ignore[misc]
        if self.sock is not None:
            self.sock.settimeout(self._deadline.left())  # for the TLS handshake that follows

    def connect(self) -> None:
        super().connect()
        if self.sock is not None:
            self.sock.settimeout(self._deadline.left())

    def send(self, data: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._deadline.left())
        super().send(data)

    def response_class(self, sock: socket.socket, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:  # type: ignore[override]
        # The proxy tunnel's answer and the response, read within the deadline.
        return http.client.HTTPResponse(_DeadlineReads(sock, self._deadline), *args, **kwargs)  # type: ignore[arg-type]


class _HTTPSConnection(_HTTPConnection, http.client.HTTPSConnection):
    pass


class _Request(urllib.request.Request):
    def __init__(self, url: str, *, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.deadline = deadline


class _HTTPHandler(urllib.request.HTTPHandler):
    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> http.client.HTTPResponse:
        return super().do_open(cast(Any, _HTTPConnection), req, deadline=req.deadline, **kwargs)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> http.client.HTTPResponse:
        return super().do_open(cast(Any, _HTTPSConnection), req, deadline=req.deadline, **kwargs)


# ---------------------------------------------------------------- httpx and requests, within a deadline


def _socket_of(stream: Any) -> Any:
    """The socket of an httpcore network stream, or None."""
    get = getattr(stream, "get_extra_info", None)
    return get("socket") if get is not None else None


class _Sockets:
    """The sockets one exchange has opened; shut down when its deadline passes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        self._expired = False

    def add(self, sock: Any) -> None:
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if not self._expired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            self._expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # shutdown, not close: it wakes a read blocked in the exchange's thread, which closes.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _within(seconds: float, request_id: int, exchange: Callable[[_Sockets], Result]) -> Result:
    """``exchange(sockets)`` in a worker thread, waited for ``seconds`` at most: a timeout
    failure then, and the sockets it reported are shut down so that it ends too."""
    sockets = _Sockets()
    outcome: List[Result] = []
    done = threading.Event()
    context = contextvars.copy_context()  # the caller's context variables, for the library's hooks

    def run() -> None:
        try:
            outcome.append(context.run(exchange, sockets))
        except BaseException as exc:  # noqa: BLE001 - the exchange catches what it expects
            outcome.append(TransportFailure(request_id, _classify(exc), str(exc)[:300] or type(exc).__name__))
        finally:
            done.set()

    threading.Thread(target=run, name="termauth-request", daemon=True).start()
    try:
        if done.wait(seconds):
            return outcome[0]
    except BaseException:  # KeyboardInterrupt: the session drops this request
        sockets.expire()
        raise
    sockets.expire()
    return _timed_out(request_id, seconds)


class UrllibTransport(Transport):
    """The standard library transport (``urllib.request``), without redirects.

    :param timeout: the overall deadline of each request, in seconds (connect, send,
        headers and body together; default 30).
    :param context: an ``ssl.SSLContext`` for https (default: the system's CA certificates).
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, context: Any = None) -> None:
        self.timeout = timeout
        self._context = context
        self._opener: Any = None

    def _build(self) -> Any:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        handlers: List[Any] = [urllib.request.ProxyHandler(), NoRedirect(), _HTTPHandler(), _HTTPSHandler(context=self._context)]
        return urllib.request.build_opener(*handlers)

    def send(self, request: SendRequest) -> Result:
        import urllib.error

        if self._opener is None:
            self._opener = self._build()
        data = request.body.encode("utf-8") if request.method != "GET" else None
        deadline = _Deadline(self.timeout)
        req = _Request(request.url, data=data, method=request.method, deadline=deadline)
        for name, value in _headers(request):
            req.add_header(name, value)
        try:
            try:
                resp = self._opener.open(req, timeout=self.timeout)
            except urllib.error.HTTPError as err:  # 4xx/5xx/3xx are responses
                resp = err
            with resp:
                body = resp.read(BODY_CAP)
                missing = getattr(resp, "length", None)  # of the Content-Length, still unread
                if len(body) < BODY_CAP and isinstance(missing, int) and missing > 0:
                    # http.client returns a body cut short as it is: the connection closed early.
                    raise http.client.IncompleteRead(body, missing)
                status = resp.status if hasattr(resp, "status") and resp.status else resp.code
                headers = [(k, v) for k, v in resp.headers.items()]
            return HttpResponse(request.id, int(status), headers, _decode(body))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a TransportFailure
            kind = _classify(exc)
            if kind == "timeout":
                return _timed_out(request.id, self.timeout)
            return TransportFailure(request.id, kind, str(exc)[:300] or type(exc).__name__)


class HttpxTransport(Transport):
    """``httpx``: pass your own ``httpx.Client`` to reuse its proxies, CA bundle and pool.

    :param timeout: the overall deadline of each request, in seconds (default 30; it is also
        the per-phase timeout of the client made here; a client you pass keeps its own).
    """

    def __init__(self, client: Any = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        import httpx

        self._httpx = httpx
        self._client = client if client is not None else httpx.Client(timeout=timeout, follow_redirects=False)
        self.timeout = timeout

    def send(self, request: SendRequest) -> Result:
        return _within(self.timeout, request.id, lambda sockets: self._exchange(request, sockets))

    def _exchange(self, request: SendRequest, sockets: _Sockets) -> Result:
        httpx = self._httpx

        def trace(event: str, info: Dict[str, Any]) -> None:
            # httpcore's trace extension: the connections opened for this request.
            if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
                sockets.add(_socket_of(info.get("return_value")))

        try:
            with self._client.stream(
                request.method,
                request.url,
                headers=_headers(request),
                content=request.body.encode("utf-8") if request.method != "GET" else None,
                follow_redirects=False,
                extensions={"trace": trace},
            ) as resp:
                sockets.add(_socket_of(resp.extensions.get("network_stream")))  # a reused connection's too
                chunks: List[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= BODY_CAP:
                        break
                body = b"".join(chunks)[:BODY_CAP]
                headers = [(k, v) for k, v in resp.headers.multi_items()]
                return HttpResponse(request.id, resp.status_code, headers, _decode(body))
        except httpx.TimeoutException as exc:
            return TransportFailure(request.id, "timeout", str(exc)[:300] or "timed out")
        except httpx.ConnectError as exc:
            kind = _classify(exc)
            return TransportFailure(request.id, kind if kind != "other" else "connect", str(exc)[:300] or "connection failed")
        except Exception as exc:  # noqa: BLE001
            return TransportFailure(request.id, _classify(exc), str(exc)[:300] or type(exc).__name__)


class RequestsTransport(Transport):
    """``requests``: pass your own ``requests.Session`` to reuse its proxies and CA bundle.

    :param timeout: the overall deadline of each request, in seconds (default 30; also
        requests' connect and read timeouts).
    """

    def __init__(self, session: Any = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        import requests

        self._requests = requests
        self._session = session if session is not None else requests.Session()
        self.timeout = timeout

    def send(self, request: SendRequest) -> Result:
        return _within(self.timeout, request.id, lambda sockets: self._exchange(request, sockets))

    def _exchange(self, request: SendRequest, sockets: _Sockets) -> Result:
        requests = self._requests
        try:
            resp = self._session.request(
                request.method,
                request.url,
                headers=dict(_headers(request)),
                data=request.body.encode("utf-8") if request.method != "GET" else None,
                allow_redirects=False,
                timeout=self.timeout,
                stream=True,
            )
            try:
                # urllib3's connection, for the body's reads.
                sockets.add(getattr(getattr(resp.raw, "connection", None), "sock", None))
                body = resp.raw.read(BODY_CAP, decode_content=True) or b""
                headers = [(k, v) for k, v in resp.headers.items()]
                return HttpResponse(request.id, resp.status_code, headers, _decode(body))
            finally:
                resp.close()
        except requests.exceptions.Timeout as exc:
            return TransportFailure(request.id, "timeout", str(exc)[:300] or "timed out")
        except requests.exceptions.SSLError as exc:
            return TransportFailure(request.id, "tls", str(exc)[:300])
        except requests.exceptions.ConnectionError as exc:
            kind = _classify(exc)
            return TransportFailure(request.id, kind if kind in ("dns", "tls") else "connect", str(exc)[:300])
        except Exception as exc:  # noqa: BLE001
            return TransportFailure(request.id, _classify(exc), str(exc)[:300] or type(exc).__name__)


def timeout_seconds(timeout_ms: Any, transport: Any) -> Optional[float]:
    """``Client(timeout_ms=…)`` in seconds, ``None`` when not given. Raises
    :class:`termauth.UsageError` ``invalid_timeout`` for what is not a positive whole number of
    milliseconds, or a ``Transport`` object (it has its own timeout)."""
    from ._errors import usage

    if timeout_ms is None:
        return None
    if type(timeout_ms) is not int or timeout_ms <= 0:
        raise usage("invalid_timeout", "`timeout_ms` must be a positive whole number of milliseconds.", "fix_configuration")
    if transport is not None and not isinstance(transport, str):
        raise usage("invalid_timeout", "`timeout_ms` applies to a named transport; give a Transport object its own timeout.",
                    "fix_configuration")
    return float(timeout_ms) / 1000


def make_transport(spec: Union[str, Transport, None], timeout: float = DEFAULT_TIMEOUT) -> Transport:
    """``None``/``"urllib"``, ``"httpx"``, ``"requests"`` (with this overall deadline per
    request, in seconds), or a :class:`Transport` instance (as it is)."""
    if spec is None or spec == "urllib":
        return UrllibTransport(timeout)
    if spec == "httpx":
        return HttpxTransport(timeout=timeout)
    if spec == "requests":
        return RequestsTransport(timeout=timeout)
    if isinstance(spec, str):
        from ._errors import usage

        raise usage("invalid_transport", f"The transport is `urllib`, `httpx`, `requests` or an object, not `{spec}`.")
    return spec
