"""HTTP GET for the limit system (URL limit files, ip-cidr-list-url, url-fetch), with an
optional local bind address and a bounded timeout."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter


class _BindAdapter(HTTPAdapter):
    def __init__(self, bind: str, **kwargs):
        self._bind = bind
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._bind, 0)
        return super().init_poolmanager(*args, **kwargs)


def http_get(
    url: str,
    *,
    bind: str | None = None,
    timeout: float = 10.0,
    headers: dict | None = None,
    params: dict | None = None,
    verify: bool = True,
    allow_redirects: bool = True,
) -> requests.Response:
    """GET ``url``; raises requests' exceptions on transport failure."""
    with requests.Session() as session:
        if bind:
            adapter = _BindAdapter(bind)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        return session.get(
            url,
            headers=headers,
            params=params,
            timeout=timeout,
            verify=verify,
            allow_redirects=allow_redirects,
        )
