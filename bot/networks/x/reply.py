"""The X transport: a reply to the customer's post, posted exactly once with the brand's OAuth 1.0a keys.

- ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id`` through tweepy (user context: X_API_KEY,
  X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET), routed by X_API_URL like the sources.
- Exactly once: an attempt after the first (its answer may have been lost, or the connection dropped
  after X posted it) first reads the brand's own recent posts (``GET /2/users/:id/tweets``, back to a
  few minutes before the first attempt) for a reply to the same post with the same text, and only
  posts if there is none. The worker's lease keeps two workers off one row.
- 429 → ``RetryLater`` until ``x-rate-limit-reset`` (the reply lane pauses); 5xx, timeouts and dropped
  connections → ``RetryLater`` with back-off; 400/401/403 → ``Undeliverable`` with X's reason, shown
  in the card's thread.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime, timedelta
from typing import Any

import requests
import tweepy

from bot.common.clock import Clock
from bot.networks.x.client import USAGE_CAP_PROBE_SECONDS, route_session, usage_capped
from bot.outbox.send_errors import RetryLater, Undeliverable
from bot.outbox.transport import Sent
from bot.store.models import Complaint, Delivery

log = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=5)
"""How far before the first attempt the brand's posts are read (clock skew between us and X)."""
MAX_PAGES = 5
_URL = re.compile(r"https?://\S+")


def make_user_client(
    api_key: str, api_secret: str, access_token: str, access_secret: str, api_url: str | None, timeout: float = 15.0
) -> tweepy.Client:
    """A tweepy client acting as the brand's account (OAuth 1.0a user context; these keys do not expire)."""
    client = tweepy.Client(
        consumer_key=api_key,
        consumer_secret=api_secret,
        access_token=access_token,
        access_token_secret=access_secret,
        wait_on_rate_limit=False,
    )
    route_session(client.session, api_url)
    original = client.session.request

    def request_with_timeout(method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", timeout)
        return original(method, url, **kwargs)

    client.session.request = request_with_timeout  # type: ignore[method-assign]
    return client


_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w{1,15})+\s*")


def _same_text(a: str, b: str) -> bool:
    """X shortens links (t.co), escapes &, < and >, and stores a reply with the @mention of the
    account it answers in front ("@jo Sorry…" for "Sorry…"): compare what is left."""

    def norm(text: str) -> str:
        return " ".join(_LEADING_MENTIONS.sub("", _URL.sub("", html.unescape(text))).split())

    return norm(a) == norm(b)


def _reason(exc: tweepy.HTTPException) -> str:
    said = "; ".join(str(m) for m in (exc.api_messages or [])[:2]) or (exc.response.reason or "")
    if exc.response.status_code == 403 and "not been mentioned" in said:
        return (
            "X answers from the API only posts that mention or quote the brand, and this one does not: "
            "open it on X and answer there"
        )
    return f"X refused the reply ({exc.response.status_code}): {said}"[:300]


class XReplyTransport:
    name = "x"

    def __init__(self, client: tweepy.Client, clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self._brand_id: str | None = None

    def send(self, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Sent:
        payload = row.payload or {}
        text = str(payload.get("text") or "")
        target = str(payload.get("in_reply_to") or (complaint.external_id if complaint else ""))
        if not text or not target:
            raise Undeliverable("the reply has no text or no post to answer")
        conversation = (complaint.conversation_id if complaint else None) or target
        if row.attempts > 1 and row.first_attempt_at is not None:
            found = self._call(lambda: self.find_posted(target, text, row.first_attempt_at))  # type: ignore[arg-type]
            if found:
                log.info("delivery %d: reply found on X after a lost answer; not posting again", row.id)
                return Sent(conversation, found)
        answer = self._call(lambda: self.client.create_tweet(text=text, in_reply_to_tweet_id=target, user_auth=True))
        return Sent(conversation, str(answer.data["id"]))

    def brand_id(self) -> str:
        if self._brand_id is None:
            me = self.client.get_me(user_auth=True)
            self._brand_id = str(me.data["id"])
        return self._brand_id

    def find_posted(self, target: str, text: str, first_attempt: datetime) -> str | None:
        """The brand's reply to ``target`` with this text, posted since just before the first attempt."""
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = self.client.get_users_tweets(
                self.brand_id(),
                start_time=first_attempt - LOOKBACK,
                max_results=100,
                tweet_fields=["referenced_tweets", "created_at", "conversation_id"],
                pagination_token=token,
                user_auth=True,
            )
            for tweet in page.data or []:
                refs = tweet.data.get("referenced_tweets") or []
                replied = any(r.get("type") == "replied_to" and str(r.get("id")) == target for r in refs)
                if replied and _same_text(str(tweet.text), text):
                    return str(tweet.id)
            token = (page.meta or {}).get("next_token")
            if not token:
                return None
        return None

    def _call(self, call: Any) -> Any:
        try:
            return call()
        except tweepy.TooManyRequests as exc:
            if period := usage_capped(exc.response):
                # Credits spent: the reply waits (the lane pauses) and is tried again in 15 minutes;
                # the source's alert says what to do.
                raise RetryLater(
                    USAGE_CAP_PROBE_SECONDS, f"X usage cap reached ({period}): waiting for it to reset", pause_lane=True
                ) from None
            reset = exc.response.headers.get("x-rate-limit-reset")
            wait = 60.0
            if reset and reset.isascii() and reset.isdigit():
                wait = max(1.0, float(reset) - self.clock.now().timestamp())
            raise RetryLater(
                wait, f"X rate limit: waiting {wait:.0f}s for x-rate-limit-reset", pause_lane=True
            ) from None
        except tweepy.TwitterServerError as exc:
            raise RetryLater(5.0, f"X answered {exc.response.status_code}") from None
        except (tweepy.BadRequest, tweepy.Unauthorized, tweepy.Forbidden, tweepy.NotFound) as exc:
            raise Undeliverable(_reason(exc)) from None
        except tweepy.HTTPException as exc:
            raise RetryLater(5.0, f"X answered {exc.response.status_code}") from None
        except (requests.ConnectionError, requests.Timeout, OSError) as exc:
            raise RetryLater(2.0, f"no answer from X: {type(exc).__name__}") from None
        except tweepy.TweepyException as exc:
            raise RetryLater(2.0, f"X: {type(exc).__name__}") from None
