"""A tweepy client that can be pointed at another host (a local stand-in, a proxy).

tweepy hard-codes ``https://api.twitter.com``. Rather than copy or patch tweepy, we mount a requests
transport adapter on its session that rewrites the scheme and host of each outgoing request. The
real tweepy code path (parameters, paging, errors) runs unchanged; only the wire goes elsewhere.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter

X_HOSTS = ("https://api.twitter.com", "https://api.x.com")


class RerouteAdapter(HTTPAdapter):
    """Send every request to ``target`` (scheme, host and optional path prefix), keeping its path."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        parts = urlsplit(target)
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        parts = urlsplit(request.url)
        request.url = urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))
        return super().send(request, **kwargs)


def route_session(session: requests.Session, api_url: str | None) -> None:
    if api_url:
        adapter = RerouteAdapter(api_url)
        for host in X_HOSTS:
            session.mount(host, adapter)


def make_x_client(bearer_token: str, api_url: str | None = None, timeout: float = 30.0) -> tweepy.Client:
    """A tweepy v2 client. Rate limits are handled by our sources (wait_on_rate_limit would block
    a thread silently for up to 15 minutes; we prefer to log, record and wait cooperatively)."""
    client = tweepy.Client(bearer_token=bearer_token, wait_on_rate_limit=False)
    route_session(client.session, api_url)
    # tweepy passes no timeout to requests; a hung connection must not freeze a source forever.
    original = client.session.request

    def request_with_timeout(method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", timeout)
        return original(method, url, **kwargs)

    client.session.request = request_with_timeout  # type: ignore[method-assign]
    return client


USAGE_CAP_PROBE_SECONDS = 900.0
"""While the app's X credits are spent, one probe every 15 minutes: no rate-limit reset will help."""


def usage_capped(response: requests.Response | None) -> str | None:
    """The period X names when a 429 means the app's usage cap is reached (credits spent), not a
    rate limit: its problem ``type`` ends in ``usage-capped`` (docs.x.com, "Usage cap exceeded")."""
    if response is None:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if str(body.get("type", "")).endswith("usage-capped") or body.get("title") == "UsageCapExceeded":
        return str(body.get("period") or "this period")
    return None
