"""X assembled from the settings: its reading loops, its reply transport, and how X counts a reply."""

from __future__ import annotations

import logging
from typing import Any

import tweepy
from twitter_text import parse_tweet

from bot.common.clock import Clock
from bot.common.tasks import Task
from bot.intake.source import SourceContext
from bot.networks.network import Sources
from bot.networks.x import settings as x_settings
from bot.networks.x.reply import XReplyTransport, make_user_client
from bot.networks.x.source import XPoller, XStream, make_client, resolve_brand_user_id

log = logging.getLogger(__name__)

LIMIT = 280


def sources(s: Any, ctx: SourceContext) -> Sources:
    """The pollers (mentions, search) or the filtered stream ``X_MODE`` asks for. The brand's user id
    is looked up from its handle when it is not set, and returned: ingest tells its posts by it."""
    x = x_settings.of(s)
    if not x.bearer_token:
        return Sources()
    client = make_client(x.bearer_token.reveal(), x.api_url)
    user_id = x.user_id
    if user_id is None and x.brand_handle and "mentions" in x.mode:
        user_id = resolve_brand_user_id(ctx.sessions, client, x.brand_handle, ctx.clock.now)
    tasks: list[Task] = []
    if "mentions" in x.mode:
        # With the brand's own keys set, its mentions are read as the brand: X bills those as owned
        # reads ($0.001 a post against $0.005 with the bearer token).
        owned = x.can_reply
        reader = make_client_as_brand(s) if owned else client
        poller = XPoller(ctx, reader, mode="mentions", user_id=user_id, poll_seconds=x.poll_seconds, user_auth=owned)
        tasks.append(Task(poller.name, poller.step))
    if "search" in x.mode:
        searcher = XPoller(ctx, client, mode="search", query=x.query, poll_seconds=x.poll_seconds)
        tasks.append(Task(searcher.name, searcher.step))
    if x.mode == "stream":
        stream = XStream(ctx, x.bearer_token.reveal(), x.stream_rules, api_url=x.api_url)
        tasks.append(Task(stream.name, stream.step, error_backoff=1.0, max_backoff=60.0, stop=stream.stop))
    return Sources(tasks, frozenset({user_id}) if user_id else frozenset())


def make_client_as_brand(s: Any) -> tweepy.Client:
    """The brand's user-context client, answering with dicts as the sources read them."""
    client = reply_client(s)
    client.return_type = dict
    return client


def reply_client(s: Any) -> tweepy.Client:
    """The brand account's X client (OAuth 1.0a user context), routed by X_API_URL like the sources."""
    x = x_settings.of(s)
    return make_user_client(
        x.api_key.reveal(),
        x.api_secret.reveal(),
        x.access_token.reveal(),
        x.access_token_secret.reveal(),
        x.api_url,
    )


def transport(s: Any, clock: Clock) -> XReplyTransport | None:
    x = x_settings.of(s)
    return XReplyTransport(reply_client(s), clock) if x.can_reply else None


def weighted_length(text: str) -> int:
    """X's count: URLs 23, CJK and emoji 2, most else 1 (twitter-text's v3 configuration)."""
    return int(parse_tweet(text).weightedLength)


def reply_limit(text: str) -> str | None:
    n = weighted_length(text)
    if n > LIMIT:
        return f"{n}/{LIMIT} (links count 23, Chinese/Japanese/Korean characters and emoji 2). Cut {n - LIMIT}"
    return None
