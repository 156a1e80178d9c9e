"""The brand's Bluesky session, shared by the Bluesky source and the Bluesky reply transport.

Why a wrapper around ``atproto.Client``: the SDK logs in and refreshes its access token before it
expires by *its* clock, but three things are ours to decide —
- the clock (injected, so tests move time instead of sleeping);
- what happens when the server says the token has expired anyway (clock skew, a PDS restart): we
  refresh once, and if the refresh token is refused too, log in again — never in a loop, because
  ``com.atproto.server.createSession`` is limited to 30 per 5 minutes and 300 a day per account;
- a refused app password (revoked, mistyped) is one clear ``BlueskyAuthError`` for the caller to
  alert about, not a traceback on every poll.

Requests go through the SDK's typed parameter models (so they are checked against the lexicons) and
answers come back as plain JSON, which the source maps to replay records.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from atproto import Client
from atproto_client import exceptions as at_errors
from atproto_client.models.common import XrpcError
from atproto_client.request import Request

from bot.common.clock import Clock

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"
POST_COLLECTION = "app.bsky.feed.post"
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})


class BlueskyAuthError(Exception):
    """The server refused the brand account's handle or app password."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"Bluesky refused the handle or app password (HTTP {status} {code})")
        self.status = status
        self.code = code


def error_code(exc: BaseException) -> str:
    """The XRPC ``error`` name of a failed call (``ExpiredToken``, ``RecordNotFound``…), or ''."""
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    if isinstance(content, XrpcError):
        return content.error or ""
    if isinstance(content, dict):
        return str(content.get("error") or "")
    return ""


def status_of(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    return int(getattr(response, "status_code", 0) or 0)


def reset_wait(exc: BaseException, now: datetime, default: float = 60.0) -> float:
    """Seconds until the rate-limit window resets: ``ratelimit-reset`` (epoch seconds, the IETF
    draft headers Bluesky sends), else ``retry-after`` (seconds or an HTTP date)."""
    response = getattr(exc, "response", None)
    headers = {str(k).lower(): str(v) for k, v in (getattr(response, "headers", None) or {}).items()}
    try:
        if headers.get("ratelimit-reset"):
            return max(1.0, float(headers["ratelimit-reset"]) - now.timestamp() + 1.0)
        retry = headers.get("retry-after")
        if retry:
            if retry.strip().isdigit():
                return max(1.0, float(retry))
            return max(1.0, (parsedate_to_datetime(retry) - now).total_seconds() + 1.0)
    except (ValueError, TypeError, OverflowError):
        pass
    return default


def _clocked_client(clock: Clock, base_url: str, timeout: float) -> Client:
    class ClockedClient(Client):
        def get_current_time(self) -> datetime:  # the SDK decides when to refresh by this clock
            return clock.now().astimezone(UTC)

    return ClockedClient(base_url, request=Request(timeout=timeout))


class BlueskySession:
    """One logged-in client for the brand account. Thread-safe: calls take turns."""

    def __init__(
        self,
        handle: str,
        app_password: str,
        *,
        service_url: str | None,
        clock: Clock,
        timeout: float = 30.0,
    ) -> None:
        self.handle = handle
        self._password = app_password
        self.service_url = (service_url or DEFAULT_SERVICE).rstrip("/")
        self.clock = clock
        self.timeout = timeout
        self._client: Client | None = None
        self._lock = threading.RLock()
        self.logins = 0
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"BlueskySession(handle={self.handle!r}, service_url={self.service_url!r})"

    # -- the session -------------------------------------------------------------------------------
    @property
    def did(self) -> str:
        with self._lock:
            client = self._logged_in()
            assert client._session is not None
            return client._session.did

    def _logged_in(self) -> Client:
        if self._client is not None and self._client._session is not None:
            return self._client
        client = _clocked_client(self.clock, self.service_url, self.timeout)
        try:
            client.login(self.handle, self._password, fetch_bsky_profile=False)
        except (at_errors.UnauthorizedError, at_errors.BadRequestError) as exc:
            code = error_code(exc)
            if isinstance(exc, at_errors.UnauthorizedError) or code in ("AuthenticationRequired", "AccountTakedown"):
                raise BlueskyAuthError(status_of(exc), code or "Unauthorized") from None
            raise
        self.logins += 1
        log.info("bluesky: logged in as %s", self.handle)
        self._client = client
        return client

    def _renew(self) -> Client:
        """The server refused our access token: refresh it, or log in again if that is refused too."""
        client = self._client
        if client is not None and client._session is not None:
            try:
                client._refresh_and_set_session()
                self.refreshes += 1
                log.info("bluesky: access token refreshed")
                return client
            except (at_errors.UnauthorizedError, at_errors.BadRequestError) as exc:
                log.warning("bluesky: refresh refused (%s); logging in again", error_code(exc) or status_of(exc))
        self._client = None
        return self._logged_in()

    def _call(self, invoke: str, nsid: str, params: Any = None, data: Any = None, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            client = self._logged_in()
            for attempt in (1, 2):
                try:
                    method = client.invoke_query if invoke == "query" else client.invoke_procedure
                    response = method(nsid, params=params, data=data, **kwargs)
                    content = response.content
                    return content if isinstance(content, dict) else {}
                except (at_errors.UnauthorizedError, at_errors.BadRequestError) as exc:
                    expired = error_code(exc) in TOKEN_ERRORS or isinstance(exc, at_errors.UnauthorizedError)
                    if attempt == 2 or not expired:
                        raise
                    client = self._renew()
                except at_errors.LoginRequiredError:
                    if attempt == 2:
                        raise
                    client = self._renew()
            raise AssertionError("unreachable")

    def query(self, nsid: str, params: Any = None) -> dict[str, Any]:
        return self._call("query", nsid, params=params)

    def procedure(self, nsid: str, data: Any) -> dict[str, Any]:
        return self._call("procedure", nsid, data=data)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.request.close()
                self._client = None


# -- identifiers ---------------------------------------------------------------------------------------
def split_uri(uri: Any) -> tuple[str, str, str] | None:
    """``at://did/collection/rkey`` → (did, collection, rkey); None for anything else."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def post_id(uri: Any) -> str | None:
    """Our id for a Bluesky post: ``did/rkey``. The full AT URI (70 characters for a did:plc) does
    not fit the 64-character id columns; the collection is always ``app.bsky.feed.post``."""
    parts = split_uri(uri)
    if parts is None or parts[1] != POST_COLLECTION:
        return None
    return f"{parts[0]}/{parts[2]}"


def uri_of(post: str) -> str:
    did, _, rkey = post.rpartition("/")
    return f"at://{did}/{POST_COLLECTION}/{rkey}"


def post_url(author: str, rkey: str) -> str:
    """The public web address of a post; ``author`` may be a handle or a DID."""
    return f"https://bsky.app/profile/{author}/post/{rkey}"
