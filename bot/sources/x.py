"""X sources: mentions polling (the default), recent search, and the filtered stream.

Each turns X's JSON into ``Post`` values and hands pages to the ingestor. What they share:
- the cursor (``since_id``) moves in the same transaction as the posts it covers;
- 429 waits until ``x-rate-limit-reset`` (no hot loop); network errors and 5xx back off;
- 401/403 stop the source with one clear log line and ONE alert in the complaints channel (kept in
  the database, so retries and restarts do not repeat it); the source retries every 15 minutes so
  that paying the bill or rotating the token brings it back without a restart;
- falling further behind than X lets one page back is said loudly, never skipped silently.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from bot.domain.clock import Clock
from bot.domain.ingest import Ingestor
from bot.domain.posts import MalformedPost, Post, post_from_record
from bot.sources import state
from bot.sources.x_client import make_x_client, route_session

log = logging.getLogger(__name__)

SOURCE = "x"  # one id space for every X mode: mentions, search and stream dedupe against each other
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
TWEET_FIELDS = ["created_at", "conversation_id", "lang", "referenced_tweets", "author_id", "entities"]
USER_FIELDS = ["username", "name", "public_metrics", "verified"]
MENTIONS_HORIZON = 800  # X returns only the latest 800 mentions
CREDENTIAL_RETRY_SECONDS = 900.0
CREDENTIALS_ALERT_KEY = "x-credentials"


def normalise(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> Post:
    """X API v2 tweet JSON (plus the ``includes.users`` map) → Post, or MalformedPost with a reason."""
    if not isinstance(tweet, dict):
        raise MalformedPost("tweet is not an object")
    author = users.get(str(tweet.get("author_id")), {})
    refs = {r.get("type"): r.get("id") for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}
    username = author.get("username")
    metrics = author.get("public_metrics") or {}
    record = {
        "id": tweet.get("id"),
        "text": tweet.get("text"),
        "author_id": tweet.get("author_id"),
        "author_handle": username or f"id{tweet.get('author_id')}",
        "author_name": author.get("name"),
        "followers": metrics.get("followers_count", 0) if isinstance(metrics, dict) else 0,
        "verified": author.get("verified", False),
        "created_at": tweet.get("created_at"),
        "lang": tweet.get("lang"),
        "conversation_id": tweet.get("conversation_id"),
        "in_reply_to_id": refs.get("replied_to"),
        "retweet_of": refs.get("retweeted"),
        "url": f"https://x.com/{username or 'i'}/status/{tweet.get('id')}",
        "source": SOURCE,
    }
    return post_from_record(record, default_source=SOURCE)


def users_by_id(includes: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    users = (includes or {}).get("users") or []
    return {str(u.get("id")): u for u in users if isinstance(u, dict)}


def reset_wait(response: requests.Response | None, now: datetime, default: float = 60.0) -> float:
    """Seconds until X's rate-limit window resets, from ``x-rate-limit-reset`` (epoch seconds)."""
    header = response.headers.get("x-rate-limit-reset") if response is not None else None
    try:
        return max(1.0, float(header) - now.timestamp() + 1.0) if header else default
    except ValueError:
        return default


@dataclass
class SourceContext:
    """What every source needs from the app, as plain dependencies."""

    sessions: Any  # sessionmaker[Session]
    ingestor: Ingestor
    clock: Clock
    alert_channel: str
    silence: timedelta = timedelta(hours=6)


class _SourceBase:
    name: str

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx
        self.malformed = 0
        self.ingested = 0
        self._quiet_logged = False

    def _ingest(self, posts: list[Post], cursor: str | None) -> None:
        at = self.ctx.clock.now()
        newest = max((p.created_at for p in posts), default=None)

        def move(session: Any) -> None:
            state.advance(session, self.name, at=at, cursor=cursor, last_post_at=newest)
            if state.clear_alert(session, CREDENTIALS_ALERT_KEY, at):
                log.warning("%s: X credentials work again; source resumed", self.name)

        results = self.ctx.ingestor.ingest_batch(self.ctx.sessions, posts, at=at, also=move)
        self.ingested += sum(1 for r in results if r.outcome != "duplicate")
        self._check_silence(newest, at)

    def _check_silence(self, newest: datetime | None, at: datetime) -> None:
        if newest is not None:
            self._quiet_logged = False
            return
        with self.ctx.sessions() as session:
            row = session.get(state.IngestCursor, self.name)
            last = (row.last_post_at or row.updated_at) if row else None
        if last and at - last >= self.ctx.silence and not self._quiet_logged:
            log.warning("%s: no posts for %s (since %s)", self.name, at - last, last.isoformat())
            self._quiet_logged = True

    def _credentials_failed(self, status: int) -> float:
        at = self.ctx.clock.now()
        text = (
            f":warning: Followthrough cannot read X: the API refused our credentials (HTTP {status}). "
            "The bearer token is wrong, expired, or the account is unpaid. Complaints from X are NOT being "
            "collected until X_BEARER_TOKEN is fixed; the bot retries every 15 minutes."
        )
        state.record_error(self.ctx.sessions, self.name, f"credentials refused (HTTP {status})", at)
        if state.raise_alert_once(
            self.ctx.sessions, CREDENTIALS_ALERT_KEY, text, channel=self.ctx.alert_channel, at=at
        ):
            log.error(
                "%s: X refused our credentials (HTTP %d); source stopped, alert posted. Fix X_BEARER_TOKEN.",
                self.name,
                status,
            )
        else:
            log.warning("%s: X still refuses our credentials (HTTP %d)", self.name, status)
        return CREDENTIAL_RETRY_SECONDS

    def _alert_gap(self, detail: str) -> None:
        at = self.ctx.clock.now()
        text = (
            f":rotating_light: Followthrough fell behind on X ({self.name}): {detail} "
            "Some posts may never have reached this channel — check the brand account's notifications on X."
        )
        log.error("%s: fell behind: %s", self.name, detail)
        state.raise_alert_once(
            self.ctx.sessions, f"gap:{self.name}:{at.isoformat()}", text, channel=self.ctx.alert_channel, at=at
        )

    def _parse(self, items: list[Any], users: dict[str, dict[str, Any]]) -> list[Post]:
        posts = []
        for item in items:
            try:
                posts.append(normalise(item, users))
            except MalformedPost as exc:
                self.malformed += 1
                ident = item.get("id") if isinstance(item, dict) else None
                log.warning("%s: skipped malformed record id=%s: %s", self.name, ident, exc)
        return posts


class XPoller(_SourceBase):
    """Mentions of the brand (``mode='mentions'``) or a recent-search query (``mode='search'``)."""

    def __init__(
        self,
        ctx: SourceContext,
        client: tweepy.Client,
        *,
        mode: str,
        user_id: str | None = None,
        query: str | None = None,
        poll_seconds: float = 60.0,
        max_pages: int = 10,
    ) -> None:
        super().__init__(ctx)
        if mode not in ("mentions", "search"):
            raise ValueError(mode)
        self.client = client
        self.mode = mode
        self.user_id = user_id
        self.query = query
        self.poll_seconds = poll_seconds
        self.max_pages = max_pages
        self.name = f"x:{mode}"

    def _call(self, since_id: str | None, token: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_results": 100,
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        if token:
            params["pagination_token" if self.mode == "mentions" else "next_token"] = token
        if self.mode == "mentions":
            return self.client.get_users_mentions(self.user_id, **params)  # type: ignore[return-value]
        return self.client.search_recent_tweets(self.query, **params)  # type: ignore[return-value]

    def step(self) -> float:
        """One poll: read every page newer than the cursor, ingest them with the cursor, oldest first."""
        since_id = state.read_cursor(self.ctx.sessions, self.name)
        try:
            pages, gap = self._read_pages(since_id)
        except tweepy.TooManyRequests as exc:
            wait = reset_wait(exc.response, self.ctx.clock.now())
            log.warning("%s: rate limited by X; waiting %.0fs until the window resets", self.name, wait)
            state.record_error(
                self.ctx.sessions, self.name, f"rate limited; retry in {wait:.0f}s", self.ctx.clock.now()
            )
            return wait
        except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
            return self._credentials_failed(exc.response.status_code)
        except tweepy.BadRequest as exc:
            if since_id and "since_id" in str(exc).lower():
                self._alert_gap(
                    f"X no longer accepts our cursor since_id={since_id} ({exc}); starting again from the newest posts."
                )
                self._forget_cursor()
                return 0.0
            raise
        newest_id: str | None = None
        users: dict[str, dict[str, Any]] = {}
        items: list[Any] = []
        for page in pages:
            meta = page.get("meta") or {}
            if newest_id is None and meta.get("newest_id"):
                newest_id = str(meta["newest_id"])  # the first page's newest_id is the next since_id
            users.update(users_by_id(page.get("includes")))
            data = page.get("data") or []
            if isinstance(data, list):
                items.extend(data)
        if gap:
            self._alert_gap(gap)
        posts = self._parse(items, users)
        posts.sort(key=lambda p: (len(p.id), p.id))  # oldest first: X ids grow with time
        self._ingest(posts, newest_id)
        return self.poll_seconds

    def _read_pages(self, since_id: str | None) -> tuple[list[dict[str, Any]], str | None]:
        pages: list[dict[str, Any]] = []
        token: str | None = None
        fetched = 0
        first_run = since_id is None
        while True:
            page = self._call(since_id, token)
            pages.append(page)
            meta = page.get("meta") or {}
            fetched += int(meta.get("result_count", 0) or 0)
            token = meta.get("next_token")
            if not token or first_run:
                # First run: the newest page only, rather than flooding the channel with history.
                break
            if len(pages) >= self.max_pages:
                return pages, (
                    f"more than {fetched} new posts in one poll; read {len(pages)} pages and stopped. "
                    "Posts older than those were skipped."
                )
        if since_id and self.mode == "mentions" and fetched >= MENTIONS_HORIZON:
            return pages, (
                f"{fetched} new mentions since the last poll, and X returns only the latest "
                f"{MENTIONS_HORIZON}: older mentions in between are out of reach."
            )
        return pages, None

    def _forget_cursor(self) -> None:
        with self.ctx.sessions() as session, session.begin():
            row = state.get_cursor(session, self.name, self.ctx.clock.now())
            row.cursor = None


class _Stream(tweepy.StreamingClient):
    """tweepy's stream, reporting to ``XStream`` and leaving reconnection policy to it."""

    def __init__(self, owner: XStream, bearer_token: str) -> None:
        super().__init__(bearer_token, return_type=dict, wait_on_rate_limit=False, max_retries=0)
        self.owner = owner
        self.last_response: requests.Response | None = None

        def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            self.last_response = response

        self.session.hooks["response"].append(remember)

    def on_data(self, raw_data: bytes) -> None:
        self.owner.on_line(raw_data)

    def on_request_error(self, status_code: int) -> None:
        self.owner.failed_status = status_code
        self.disconnect()

    def on_connection_error(self) -> None:
        self.disconnect()

    def on_closed(self, response: requests.Response) -> None:
        self.disconnect()

    def on_exception(self, exception: Exception) -> None:
        log.exception("x:stream: unexpected error in the stream", exc_info=exception)


class XStream(_SourceBase):
    """The filtered stream. One ``step`` is one connection; it returns the back-off before the next.

    Rules are synced at start (missing added, stale deleted). Posts repeated after a reconnect are
    dropped: a small in-memory set catches most cheaply, and ingest's (source, id) check catches all.
    """

    def __init__(
        self, ctx: SourceContext, bearer_token: str, rules: tuple[str, ...], *, api_url: str | None = None
    ) -> None:
        super().__init__(ctx)
        self.name = "x:stream"
        self.bearer_token = bearer_token
        self.rules = rules
        self.api_url = api_url
        self.failed_status: int | None = None
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.repeats_dropped = 0
        self.backoff = 0.0
        self.rules_synced = False
        self.current: _Stream | None = None
        self._lock = threading.Lock()

    def _new_client(self) -> _Stream:
        stream = _Stream(self, self.bearer_token)
        route_session(stream.session, self.api_url)
        return stream

    def sync_rules(self, stream: _Stream) -> None:
        answer = stream.get_rules()
        existing = {r["value"]: r["id"] for r in (answer.get("data") or [])}  # type: ignore[union-attr]
        missing = [tweepy.StreamRule(value) for value in self.rules if value not in existing]
        stale = [rule_id for value, rule_id in existing.items() if value not in self.rules]
        if missing:
            stream.add_rules(missing)
        if stale:
            stream.delete_rules(stale)
        log.info("x:stream: rules synced (%d added, %d removed)", len(missing), len(stale))
        self.rules_synced = True

    def on_line(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self.malformed += 1
            log.warning("x:stream: skipped a line that is not JSON: %s", exc)
            return
        if not isinstance(message, dict) or "data" not in message:
            if isinstance(message, dict) and message.get("errors"):
                log.warning("x:stream: X reported errors: %s", str(message["errors"])[:500])
            return
        posts = self._parse([message["data"]], users_by_id(message.get("includes")))
        fresh = [p for p in posts if p.id not in self.recent]
        self.repeats_dropped += len(posts) - len(fresh)
        for post in fresh:
            self.recent[post.id] = None
            if len(self.recent) > 10_000:
                self.recent.popitem(last=False)
        if fresh:
            self._ingest(fresh, None)

    def step(self) -> float:
        stream = self._new_client()
        with self._lock:
            self.current = stream
        self.failed_status = None
        try:
            if not self.rules_synced:
                self.sync_rules(stream)
            started = self.ctx.clock.now()
            stream.filter(expansions=EXPANSIONS, tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS)
        except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
            return self._credentials_failed(exc.response.status_code)
        except tweepy.TooManyRequests as exc:
            return reset_wait(exc.response, self.ctx.clock.now())
        finally:
            with self._lock:
                self.current = None
        status = self.failed_status
        if status in (401, 403):
            return self._credentials_failed(status)
        if status == 429:
            wait = reset_wait(stream.last_response, self.ctx.clock.now())
            log.warning("x:stream: rate limited; reconnecting in %.0fs", wait)
            return wait
        lived = self.ctx.clock.now() - started
        # Reconnect at once after a long healthy connection; back off (to 60 s) when drops come fast.
        self.backoff = 0.0 if lived > timedelta(seconds=60) else min(60.0, max(0.5, self.backoff * 2))
        if status:
            self.backoff = max(self.backoff, 5.0)
            log.warning("x:stream: HTTP %d from X; reconnecting in %.1fs", status, self.backoff)
        else:
            log.info("x:stream: disconnected; reconnecting in %.1fs", self.backoff)
        return self.backoff

    def stop(self) -> None:
        with self._lock:
            if self.current is not None:
                self.current.disconnect()


def make_client(bearer_token: str, api_url: str | None) -> tweepy.Client:
    client = make_x_client(bearer_token, api_url)
    client.return_type = dict
    return client


def resolve_brand_user_id(
    sessions: Any, client: tweepy.Client, handle: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> str:
    """Look the brand's numeric id up once from its handle, and keep it in the database."""
    name = f"x:brand:{handle.lower()}"
    cached = state.read_cursor(sessions, name)
    if cached:
        return cached
    answer = client.get_user(username=handle)
    data = answer.get("data") if isinstance(answer, dict) else None
    if not data:
        raise RuntimeError(f"X has no account @{handle} (X_BRAND_HANDLE)")
    with sessions() as session, session.begin():
        state.advance(session, name, at=now(), cursor=str(data["id"]))
    return str(data["id"])
