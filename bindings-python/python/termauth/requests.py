"""``termauth.requests.Auth``: a ``requests`` auth that attaches the termauth token, renews
it when due, and retries once after a forced renewal when the server answers 401.

    import requests, termauth
    from termauth.requests import Auth
    session = requests.Session()
    session.auth = Auth(termauth.Client(app="mycli", issuer=..., client_id=...))
"""

from __future__ import annotations

from typing import Any

import requests
import requests.auth

from ._client import Client
from ._errors import Error

__all__ = ["Auth"]


class Auth(requests.auth.AuthBase):
    """Bearer (or API-key header) authentication from a :class:`termauth.Client`."""

    def __init__(self, client: Client | None = None, **client_options: Any) -> None:
        self.client = client if client is not None else Client(**client_options)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        name, value = self.client.authorization_header()
        r.headers[name] = value
        r.register_hook("response", self._on_response)
        return r

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or getattr(request, "_termauth_retried", False):
            return response
        old = request.headers.get("Authorization")
        try:
            name, fresh = self.client.authorization_header(force_refresh=True)
        except Error:
            return response  # not renewable: the 401 stands
        if request.headers.get(name) == fresh or (name == "Authorization" and old == fresh):
            return response
        _ = response.content  # release the connection
        response.close()
        retry = request.copy()
        retry.headers[name] = fresh
        retry._termauth_retried = True  # type: ignore[attr-defined]
        connection = response.connection
        new = connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new
