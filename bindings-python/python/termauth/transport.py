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
"""

from __future__ import annotations

import socket
from typing import Any, List, Optional, Tuple, Union

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


class UrllibTransport(Transport):
    """The standard library transport (``urllib.request``), without redirects."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, context: Any = None) -> None:
        self.timeout = timeout
        self._context = context
        self._opener: Any = None

    def _build(self) -> Any:
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        handlers: List[Any] = [urllib.request.ProxyHandler(), NoRedirect()]
        if self._context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self._context))
        return urllib.request.build_opener(*handlers)

    def send(self, request: SendRequest) -> Result:
        import urllib.error
        import urllib.request

        if self._opener is None:
            self._opener = self._build()
        data = request.body.encode("utf-8") if request.method != "GET" else None
        req = urllib.request.Request(request.url, data=data, method=request.method)
        for name, value in _headers(request):
            req.add_header(name, value)
        try:
            try:
                resp = self._opener.open(req, timeout=self.timeout)
            except urllib.error.HTTPError as err:  # 4xx/5xx/3xx are responses
                resp = err
            with resp:
                body = resp.read(BODY_CAP)
                status = resp.status if hasattr(resp, "status") and resp.status else resp.code
                headers = [(k, v) for k, v in resp.headers.items()]
            return HttpResponse(request.id, int(status), headers, _decode(body))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a TransportFailure
            return TransportFailure(request.id, _classify(exc), str(exc)[:300] or type(exc).__name__)


class HttpxTransport(Transport):
    """``httpx``: pass your own ``httpx.Client`` to reuse its proxies, CA bundle and pool."""

    def __init__(self, client: Any = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        import httpx

        self._httpx = httpx
        self._client = client if client is not None else httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, request: SendRequest) -> Result:
        httpx = self._httpx
        try:
            with self._client.stream(
                request.method,
                request.url,
                headers=_headers(request),
                content=request.body.encode("utf-8") if request.method != "GET" else None,
                follow_redirects=False,
            ) as resp:
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
    """``requests``: pass your own ``requests.Session`` to reuse its proxies and CA bundle."""

    def __init__(self, session: Any = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        import requests

        self._requests = requests
        self._session = session if session is not None else requests.Session()
        self.timeout = timeout

    def send(self, request: SendRequest) -> Result:
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


def make_transport(spec: Union[str, Transport, None]) -> Transport:
    """``None``/``"urllib"``, ``"httpx"``, ``"requests"``, or a :class:`Transport` instance."""
    if spec is None or spec == "urllib":
        return UrllibTransport()
    if spec == "httpx":
        return HttpxTransport()
    if spec == "requests":
        return RequestsTransport()
    if isinstance(spec, str):
        from ._errors import usage

        raise usage("invalid_transport", f"The transport is `urllib`, `httpx`, `requests` or an object, not `{spec}`.")
    return spec
