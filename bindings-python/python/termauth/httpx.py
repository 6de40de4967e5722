"""``termauth.httpx.Auth``: an ``httpx.Auth`` that attaches the termauth token, renews it
when due, and retries once after a forced renewal when the server answers 401.

    import httpx, termauth
    from termauth.httpx import Auth
    client = httpx.Client(auth=Auth(termauth.Client(app="mycli", issuer=..., client_id=...)))

Renewal is blocking IO (store lock, token request); under ``httpx.AsyncClient`` it runs
in the event loop's thread, like any sync auth.
"""

from __future__ import annotations

from typing import Any, Generator

import httpx

from ._client import Client
from ._errors import Error

__all__ = ["Auth"]


class Auth(httpx.Auth):
    """Bearer (or API-key header) authentication from a :class:`termauth.Client`."""

    requires_response_body = False

    def __init__(self, client: Client | None = None, **client_options: Any) -> None:
        self.client = client if client is not None else Client(**client_options)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        name, value = self.client.authorization_header()
        request.headers[name] = value
        response = yield request
        if response.status_code != 401:
            return
        try:
            name, fresh = self.client.authorization_header(force_refresh=True)
        except Error:
            return  # not renewable (API key, no refresh token): the 401 stands
        if fresh == value:
            return
        request.headers[name] = fresh
        yield request
