"""X sources: mentions polling (the default), recent search, and the filtered stream.

Each maps X's JSON to replay-format records (unescaping the text X sends HTML-escaped, exactly
once) and writes them raw to the inbox. What they share:
- the cursor (``since_id``) moves in the same transaction as the raw posts it covers;
- 429 waits until ``x-rate-limit-reset`` (no hot loop); network errors and 5xx back off;
- 401/403 stop the source with one clear log line and ONE alert in the complaints channel (kept in
  the database, so retries and restarts do not repeat it); the source retries every 15 minutes so
  that paying the bill or rotating the token brings it back without a restart;
- falling further behind than X lets one page back is said loudly, never skipped silently;
- the stream keeps what it received in memory while the database refuses writes, and writes it
  when the database is back (the stream does not send a post twice).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy
from sqlalchemy.exc import SQLAlchemyError

from bot.intake import state, usage
from bot.intake.inbox import RawPost
from bot.intake.source import SourceBase, SourceContext
from bot.networks.x.client import USAGE_CAP_PROBE_SECONDS, make_x_client, route_session, usage_capped
from bot.networks.x.prices import priced

log = logging.getLogger(__name__)

SOURCE = "x"  # one id space for every X mode: mentions, search and stream dedupe against each other
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
TWEET_FIELDS = ["created_at", "conversation_id", "lang", "referenced_tweets", "author_id", "entities", "note_tweet"]
"""``note_tweet``: a post over 280 characters is whole only there; ``text`` holds its first 280."""
USER_FIELDS = ["username", "name", "public_metrics", "verified"]
MENTIONS_HORIZON = 800  # X returns only the latest 800 mentions
CREDENTIAL_RETRY_SECONDS = 900.0
CREDENTIALS_ALERT_KEY = "x-credentials"
USAGE_CAP_ALERT_KEY = "x-usage-capped"


def unescape(text: str) -> str:
    """X API v2 sends post text HTML-escaped (``&amp;`` ``&lt;`` ``&gt;``, nothing else): undo it
    once, here, so the rest of the bot holds the words as written (Slack escaping comes later)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def normalise(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """X API v2 tweet JSON (plus the ``includes.users`` map) → a replay-format record.

    Only maps; validation happens when the inbox is drained, for every source alike.
    """
    author = users.get(str(tweet.get("author_id")), {})
    refs = {r.get("type"): r.get("id") for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}
    username = author.get("username") if isinstance(author, dict) else None
    metrics = author.get("public_metrics") or {} if isinstance(author, dict) else {}
    text = tweet.get("text")
    history = tweet.get("edit_history_tweet_ids")
    first = str(history[0]) if isinstance(history, list) and history else None
    note = tweet.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"].strip():
        text = note["text"]  # the whole post: ``text`` stops at 280 characters
    return {
        "id": tweet.get("id"),
        "text": unescape(text) if isinstance(text, str) else text,
        "author_id": tweet.get("author_id"),
        "author_handle": username or f"id{tweet.get('author_id')}",
        "author_name": author.get("name") if isinstance(author, dict) else None,
        "followers": metrics.get("followers_count", 0) if isinstance(metrics, dict) else 0,
        "verified": author.get("verified", False) if isinstance(author, dict) else False,
        "created_at": tweet.get("created_at"),
        "lang": tweet.get("lang"),
        "conversation_id": tweet.get("conversation_id"),
        "in_reply_to_id": refs.get("replied_to"),
        "retweet_of": refs.get("retweeted"),
        # Every earlier version: the first may never have been stored (edited before we polled).
        "edit_of": [str(v) for v in history if str(v) != str(tweet.get("id"))] if first else None,
        "url": f"https://x.com/{username or 'i'}/status/{tweet.get('id')}",
        "source": SOURCE,
    }


def users_by_id(includes: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    users = (includes or {}).get("users") or []
    return {str(u.get("id")): u for u in users if isinstance(u, dict)}


def tweets_by_id(includes: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The posts a page refers to (``expansions=referenced_tweets.id``): a retweet's original is here."""
    tweets = (includes or {}).get("tweets") or []
    return {str(t.get("id")): t for t in tweets if isinstance(t, dict)}


def reset_wait(response: requests.Response | None, now: datetime, default: float = 60.0) -> float:
    """Seconds until X's rate-limit window resets, from ``x-rate-limit-reset`` (epoch seconds)."""
    header = response.headers.get("x-rate-limit-reset") if response is not None else None
    try:
        return max(1.0, float(header) - now.timestamp() + 1.0) if header else default
    except ValueError:
        return default


class _XSource(SourceBase):
    """What the X sources share: credential alerts, falling behind, mapping pages to records."""

    def moved(self, session: Any) -> None:
        """Joins every successful write: X answering again ends a credentials or usage-cap incident."""
        if state.clear_alert(session, CREDENTIALS_ALERT_KEY, self.ctx.clock.now()):
            log.warning("%s: X credentials work again; source resumed", self.name)
        if state.clear_alert(session, USAGE_CAP_ALERT_KEY, self.ctx.clock.now()):
            log.warning("%s: X serves the app again (usage cap reset or credits added); source resumed", self.name)

    def _usage_capped(self, period: str) -> float:
        """The app's X credits are spent: ONE alert saying so and what to do, then a probe every 15
        minutes — waiting for a rate-limit reset would only repeat the refusal, silently."""
        text = (
            f":warning: X stopped serving Followthrough: the app's usage cap is reached ({period}). Complaints "
            "from X are NOT being collected, and replies on X wait, until the cap resets or credits are added "
            "in the X developer console (console.x.com → Billing). The bot checks every 15 minutes."
        )
        state.record_error(self.ctx.sessions, self.name, f"X usage cap reached ({period})", self.ctx.clock.now())
        if self.alert_once(USAGE_CAP_ALERT_KEY, text):
            log.error("%s: X usage cap reached (%s); source paused, alert posted", self.name, period)
        else:
            log.warning("%s: X usage cap still reached (%s)", self.name, period)
        return USAGE_CAP_PROBE_SECONDS

    def _credentials_failed(self, status: int) -> float:
        at = self.ctx.clock.now()
        text = (
            f":warning: Followthrough cannot read X: the API refused our credentials (HTTP {status}). "
            "The bearer token is wrong, expired, or the account is unpaid. Complaints from X are NOT being "
            "collected until X_BEARER_TOKEN is fixed; the bot retries every 15 minutes."
        )
        state.record_error(self.ctx.sessions, self.name, f"credentials refused (HTTP {status})", at)
        if self.alert_once(CREDENTIALS_ALERT_KEY, text):
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
        self.alert_once(f"gap:{self.name}:{at.isoformat()}", text)

    @staticmethod
    def billed(answer: dict[str, Any], *, owned: bool = False) -> dict[str, int]:
        """What X charges for this answer: every post in it (the page's and the ones it includes, a
        retweet's original) and every user included. ``owned``: the brand's own mentions read with
        its user-context keys, at the owned-read price."""
        data = answer.get("data")
        includes = answer.get("includes") or {}
        posts = (len(data) if isinstance(data, list) else 1 if isinstance(data, dict) else 0) + len(
            includes.get("tweets") or []
        )
        return {"post_read_owned" if owned else "post_read": posts, "user_read": len(includes.get("users") or [])}

    def bill(self, answer: dict[str, Any], *, owned: bool = False) -> None:
        """Count an answer in a transaction of its own (the pollers: a page read is billed whether or
        not its posts are stored after)."""
        try:
            usage.add(self.ctx.sessions, SOURCE, priced(**self.billed(answer, owned=owned)), at=self.ctx.clock.now())
        except SQLAlchemyError as exc:  # a count is worth less than the posts: never stop reading for it
            log.warning("%s: could not count X usage (%s)", self.name, type(exc).__name__)

    def records(
        self,
        items: list[Any],
        users: dict[str, dict[str, Any]],
        referenced: dict[str, dict[str, Any]] | None = None,
    ) -> list[RawPost]:
        """Records for ``items``; a retweet is preceded by its original when X included it, so a
        retweet of a post we never stored files the original author's complaint (the retweet then
        amplifies it) instead of one under the retweeter with "RT @…:" text. A retweet of a post
        stored already costs one duplicate record, dropped by ingest."""
        out = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                self.skipped(f"item {index} of a page", f"a post must be a JSON object, got {type(item).__name__}")
                continue
            try:
                record = normalise(item, users)
                original = (referenced or {}).get(str(record.get("retweet_of")))
                if record.get("retweet_of") and isinstance(original, dict):
                    out.append(RawPost(f"post {str(original.get('id'))[:40]}", normalise(original, users)))
                out.append(RawPost(f"post {str(item.get('id'))[:40]}", record))
            except Exception as exc:  # a shape no mapping expected: skip it, keep the source going
                self.skipped(f"post {str(item.get('id'))[:40]}", f"{type(exc).__name__}: {exc}")
        return out


class XPoller(_XSource):
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
        user_auth: bool = False,
    ) -> None:
        super().__init__(ctx, name=f"x:{mode}")
        self.user_auth = user_auth and mode == "mentions"
        """Mentions read with the brand's user-context keys (``client`` is then the user client):
        X bills them as owned reads, a fifth of the app-only price."""
        if mode not in ("mentions", "search"):
            raise ValueError(mode)
        self.client = client
        self.mode = mode
        self.user_id = user_id
        self.query = query
        self.poll_seconds = poll_seconds
        self.max_pages = max_pages

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
            if self.user_auth:
                params["user_auth"] = True
            return self.client.get_users_mentions(self.user_id, **params)  # type: ignore[return-value]
        return self.client.search_recent_tweets(self.query, **params)  # type: ignore[return-value]

    def step(self) -> float:
        """One poll: read every page newer than the cursor, ingest them with the cursor, oldest first."""
        since_id = state.read_cursor(self.ctx.sessions, self.name)
        try:
            pages, gap = self._read_pages(since_id)
        except tweepy.TooManyRequests as exc:
            if period := usage_capped(exc.response):
                return self._usage_capped(period)
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
                state.forget_cursor(self.ctx.sessions, self.name, self.ctx.clock.now())
                return 0.0
            raise
        newest_id: str | None = None
        users: dict[str, dict[str, Any]] = {}
        referenced: dict[str, dict[str, Any]] = {}
        items: list[Any] = []
        for page in pages:
            meta = page.get("meta") or {}
            if newest_id is None and meta.get("newest_id"):
                newest_id = str(meta["newest_id"])  # the first page's newest_id is the next since_id
            users.update(users_by_id(page.get("includes")))
            referenced.update(tweets_by_id(page.get("includes")))
            data = page.get("data") or []
            if isinstance(data, list):
                items.extend(data)
        if gap:
            self._alert_gap(gap)
        posts = self.records(items, users, referenced)
        posts.sort(key=lambda p: (len(str(p.record.get("id"))), str(p.record.get("id"))))  # oldest first
        self.store(posts, newest_id, also=self.moved)
        return self.poll_seconds

    def _read_pages(self, since_id: str | None) -> tuple[list[dict[str, Any]], str | None]:
        pages: list[dict[str, Any]] = []
        token: str | None = None
        fetched = 0
        first_run = since_id is None
        while True:
            page = self._call(since_id, token)
            self.bill(page, owned=self.user_auth)
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

    def on_keep_alive(self) -> None:
        self.owner.flush()  # X's keep-alive every 20 s: retry writes the database refused

    def on_request_error(self, status_code: int) -> None:
        self.owner.failed_status = status_code
        self.disconnect()

    def on_connection_error(self) -> None:
        self.disconnect()

    def on_closed(self, response: requests.Response) -> None:
        self.disconnect()

    def on_exception(self, exception: Exception) -> None:
        log.exception("x:stream: unexpected error in the stream", exc_info=exception)


class XStream(_XSource):
    """The filtered stream. One ``step`` is one connection; it returns the back-off before the next.

    Rules are synced at start (missing added, stale deleted). Posts repeated after a reconnect are
    dropped: a small in-memory set catches most cheaply, and ingest's (source, id) check catches all.
    What arrives while the database refuses writes waits in ``unsaved`` (bounded) and is written as
    soon as a write succeeds — on the next post, the next keep-alive, or the next connection.
    """

    MAX_UNSAVED = 100_000

    def __init__(
        self, ctx: SourceContext, bearer_token: str, rules: tuple[str, ...], *, api_url: str | None = None
    ) -> None:
        super().__init__(ctx, name="x:stream")
        self.unsaved: list[RawPost] = []
        self.unbilled: dict[str, int] = {}
        """X's charges for messages read and not yet counted: stored with the next posts stored."""
        self._write_failing = False
        self._retry_at = datetime.min.replace(tzinfo=UTC)
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
        if not raw.strip():
            self.flush()
            return
        try:
            message = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self.skipped("a stream line", f"not JSON: {exc}")
            return
        if not isinstance(message, dict) or "data" not in message:
            if isinstance(message, dict) and message.get("errors"):
                log.warning("x:stream: X reported errors: %s", str(message["errors"])[:500])
            return
        includes = message.get("includes")
        for item, n in self.billed(message).items():  # written with the posts, never on its own
            self.unbilled[item] = self.unbilled.get(item, 0) + n
        posts = self.records([message["data"]], users_by_id(includes), tweets_by_id(includes))
        fresh = [p for p in posts if str(p.record.get("id")) not in self.recent]
        self.repeats_dropped += len(posts) - len(fresh)
        for post in fresh:
            self.recent[str(post.record.get("id"))] = None
            if len(self.recent) > 10_000:
                self.recent.popitem(last=False)
        self.unsaved.extend(fresh)
        self.flush()

    def flush(self) -> bool:
        """Write what the stream received and the database has not taken yet. True if all written."""
        if not self.unsaved:
            return True
        now = self.ctx.clock.now()
        if self._write_failing and now < self._retry_at:
            return False  # not on every post while it is down: a write that waits blocks the stream
        batch = list(self.unsaved)
        counted = dict(self.unbilled)

        def also(session: Any) -> None:
            self.moved(session)
            usage.add_in(session, SOURCE, priced(**counted), at=now)

        try:
            self.store(batch, None, also=also)
        except SQLAlchemyError as exc:
            self._retry_at = now + timedelta(seconds=2)
            if not self._write_failing:
                log.error(
                    "x:stream: cannot store posts (%s); keeping them in memory until the database is back",
                    type(exc).__name__,
                )
            self._write_failing = True
            if len(self.unsaved) > self.MAX_UNSAVED:
                lost = len(self.unsaved) - self.MAX_UNSAVED
                del self.unsaved[:lost]
                log.error("x:stream: %d posts dropped: the database has refused writes for too long", lost)
            return False
        del self.unsaved[: len(batch)]
        for item, n in counted.items():
            self.unbilled[item] -= n
        if self._write_failing:
            log.warning("x:stream: the database takes writes again; %d kept post(s) stored", len(batch))
            self._write_failing = False
        return True

    def step(self) -> float:
        # Connect even while the database refuses writes: X sends each post once, so a stream that
        # waited for the database would lose what arrives meanwhile; it is kept in memory instead.
        self.flush()
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
            if period := usage_capped(exc.response):
                return self._usage_capped(period)
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
    with sessions() as session:
        cached = state.brand_account(session, SOURCE, handle)
    if cached:
        return cached
    answer = client.get_user(username=handle)
    data = answer.get("data") if isinstance(answer, dict) else None
    if not data:
        raise RuntimeError(f"X has no account @{handle} (X_BRAND_HANDLE)")
    with sessions() as session, session.begin():
        state.remember_brand_account(session, SOURCE, handle, str(data["id"]), now())
    return str(data["id"])
