"""Answering a customer on Mastodon: ``status_post(in_reply_to_id=…)``, once, as privately as asked.

- Visibility: the reply has the visibility of the status it answers — a ``direct`` mention is
  answered ``direct``, a followers-only one ``private``; never wider. The status is fetched at send
  time (it may have been deleted), and the reply starts with the author's ``@acct`` (a direct reply
  without it would reach nobody).
- Length: the instance's own limit (``/api/v2/instance``: ``configuration.statuses.max_characters``,
  500 on mastodon.social), counted as Mastodon counts (``StatusLengthValidator``): grapheme clusters
  (a family emoji or a flag is one), a URL 23, a mention its local part.
- Exactly once: the ``Idempotency-Key`` header is derived from the delivery key, so a retry after a
  lost answer returns the status already made (Mastodon keeps keys for an hour); a retry also looks
  through the thread for the brand's reply first, which covers retries later than that.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import regex
from mastodon import Mastodon
from mastodon import errors as m_errors

from bot.common.clock import Clock
from bot.networks.mastodon import settings as mastodon_settings
from bot.networks.mastodon.source import LastResponse, html_to_text, make_client
from bot.outbox.send_errors import RetryLater, Undeliverable
from bot.outbox.transport import Sent
from bot.store.models import Complaint, Delivery

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 500
URL_LENGTH = 23
VISIBILITIES = ("public", "unlisted", "private", "direct")
_URL = re.compile(r"https?://\S+")
_GRAPHEME = regex.compile(r"\X")
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@\w+)@[\w.-]+\w")
_MENTION = re.compile(r"(?<![\w@])@[\w.-]+(?:@[\w.-]+\w)?")


def counted_length(text: str) -> int:
    """Characters as Mastodon counts them against the limit: user-perceived characters (grapheme
    clusters — Ruby's ``each_grapheme_cluster``), not code points: "👩‍👩‍👧" is one, not five."""
    text = _URL.sub("x" * URL_LENGTH, text)
    return len(_GRAPHEME.findall(_REMOTE_MENTION.sub(r"\1", text)))


def idempotency_key(row: Delivery) -> str:
    return hashlib.sha256(f"followthrough:{row.key}".encode()).hexdigest()[:40]


def _same_words(a: str, b: str) -> bool:
    """Equal after dropping mentions and spacing (the server renders a remote mention by its local part)."""

    def norm(text: str) -> str:
        return " ".join(_MENTION.sub(" ", text).split())

    return norm(a) == norm(b)


class MastodonTransport:
    name = "mastodon"

    def __init__(self, client: Mastodon, last: LastResponse, clock: Clock) -> None:
        self.client = client
        self.last = last
        self.clock = clock
        self._limit: int | None = None
        self._me: str | None = None

    def limit(self) -> int:
        if self._limit is None:
            try:
                instance = self.client.instance_v2()
            except m_errors.MastodonNotFoundError:  # a server without /api/v2/instance (before Mastodon 4.0)
                instance = {}
            statuses = ((instance or {}).get("configuration") or {}).get("statuses") or {}
            value = statuses.get("max_characters")
            self._limit = value if isinstance(value, int) and value > 0 else DEFAULT_LIMIT
        return self._limit

    def send(self, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Sent:
        payload: dict[str, Any] = row.payload or {}
        text = str(payload.get("text") or "").strip()
        if not text:
            raise Undeliverable("the reply is empty")
        target = str(payload.get("in_reply_to") or (complaint.external_id if complaint else "") or "")
        if complaint is None or complaint.source != "mastodon" or not target:
            raise Undeliverable("a Mastodon reply needs the Mastodon status it answers")
        try:
            status = self.client.status(target)
            visibility = status.get("visibility") if status.get("visibility") in VISIBILITIES else "direct"
            acct = str((status.get("account") or {}).get("acct") or "")
            if acct and f"@{acct}".lower() not in text.lower():
                text = f"@{acct} {text}"
            limit = self.limit()
            length = counted_length(text)
            if length > limit:
                raise Undeliverable(f"the reply is {length} characters; this Mastodon instance allows {limit}")
            if row.attempts > 1:
                already = self._already_posted(target, text)
                if already:
                    log.info("delivery %d: the reply was already posted (a lost answer); not posting again", row.id)
                    return Sent("mastodon", already)
            posted = self.client.status_post(
                text,
                in_reply_to_id=target,
                visibility=visibility,
                idempotency_key=idempotency_key(row),
                language=complaint.lang or None,
            )
        except m_errors.MastodonRatelimitError:
            raise RetryLater(self.last.reset_wait(self.clock.now()), "rate limited by Mastodon") from None
        except m_errors.MastodonNotFoundError:
            raise Undeliverable("the customer's status is gone (deleted, or no longer visible to the brand)") from None
        except m_errors.MastodonUnauthorizedError:
            raise RetryLater(900, "Mastodon refused our access token; fix MASTODON_ACCESS_TOKEN") from None
        except (m_errors.MastodonNetworkError, m_errors.MastodonServerError) as exc:
            raise RetryLater(30, f"Mastodon did not answer: {type(exc).__name__}") from None
        except m_errors.MastodonAPIError as exc:
            args = getattr(exc, "args", ())
            status_code = args[1] if len(args) > 1 else 0
            if status_code == 403:
                raise RetryLater(900, "Mastodon refused the reply (HTTP 403); check the token's write scope") from None
            raise Undeliverable(f"Mastodon refused the reply: {args[3] if len(args) > 3 else exc}") from None
        return Sent("mastodon", str(posted.get("id")))

    def _already_posted(self, target: str, text: str) -> str | None:
        if self._me is None:
            self._me = str(self.client.me().get("id"))
        context = self.client.status_context(target)
        for reply in context.get("descendants") or []:
            if (
                str((reply.get("account") or {}).get("id")) == self._me
                and str(reply.get("in_reply_to_id")) == target
                and _same_words(html_to_text(str(reply.get("content") or "")), text)
            ):
                return str(reply.get("id"))
        return None


def build_mastodon_transport(settings: Any, clock: Clock) -> MastodonTransport | None:
    mastodon = mastodon_settings.of(settings)
    if not mastodon.base_url or not mastodon.access_token:
        return None
    client, last = make_client(mastodon.base_url, mastodon.access_token.reveal())
    return MastodonTransport(client, last, clock)
