"""Mastodon: mentions of the brand account (and boosts of its posts), from its notifications.

``GET /api/v1/notifications?types[]=mention&types[]=reblog&types[]=quote&since_id=…`` pages from the newest back
to the cursor (the newest notification id stored), through ``Mastodon.py``. Status content is HTML;
it becomes plain text here (paragraphs and line breaks kept, entities unescaped, tags dropped,
links' hidden parts kept so a URL reads whole); a picture's description (alt text) is kept with it,
so a post that is only "@acme" and a photo of the broken screen keeps what the photo shows. A quote
of one of the brand's posts (Mastodon 4.5's ``quote`` notification) is read as a mention. The
status' ``visibility`` is kept on the record,
so a reply to a ``direct`` mention can itself be ``direct`` (``bot.networks.mastodon.reply``).

Faults, as for X: 429 waits until ``X-RateLimit-Reset`` (an ISO 8601 time); 5xx and dropped
connections raise to the worker's back-off with the cursor unmoved; a refused access token is ONE
alert, and the source retries every 15 minutes.
"""

from __future__ import annotations

import logging
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon import errors as m_errors

from bot.common.clock import Clock
from bot.intake import state
from bot.intake.inbox import RawPost
from bot.intake.posts import MalformedPost, parse_time
from bot.intake.source import SourceBase, SourceContext
from bot.networks.mastodon import settings as mastodon_settings

log = logging.getLogger(__name__)

SOURCE = "mastodon"
CREDENTIAL_RETRY_SECONDS = 900.0
CREDENTIALS_ALERT_KEY = "mastodon-credentials"
PAGE_SIZE = 40  # the API's maximum for notifications
BOOSTABLE = ("public", "unlisted")
TYPES = ("mention", "reblog", "quote")
"""``quote`` (Mastodon 4.5): someone quoted one of the brand's posts — often to complain about it.
Servers before 4.5 ignore a type they do not know."""


class _Text(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "blockquote", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in self._BLOCKS and self.parts and not "".join(self.parts[-2:]).endswith("\n\n"):
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(content: str) -> str:
    """Mastodon's status HTML → the words as written: ``<p>`` a blank line, ``<br>`` a line break,
    entities unescaped once, every tag dropped (an ``<a>``'s invisible URL parts are kept)."""
    parser = _Text()
    parser.feed(content or "")
    parser.close()
    text = "".join(parser.parts)
    lines = [line.rstrip() for line in text.replace("\r", "").split("\n")]
    out = "\n".join(lines)
    while "\n\n\n" in out:
        out = out.replace("\n\n\n", "\n\n")
    return out.strip()  # the parser already unescaped entities (convert_charrefs): not twice


MEDIA_WORDS = {"image": "image", "gifv": "GIF", "video": "video", "audio": "audio"}


def media_text(attachments: Any) -> str:
    """``[image: a cracked phone screen]`` per attachment — its description (alt text) is often the
    whole complaint, and a post with only a picture would otherwise read as a bare "@acme"."""
    lines = []
    for item in attachments or []:
        if not isinstance(item, dict):
            continue
        what = MEDIA_WORDS.get(str(item.get("type")), "attachment")
        description = " ".join(str(item.get("description") or "").split())
        lines.append(f"[{what}: {description}]" if description else f"[{what}]")
    return "\n".join(lines)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _followers(account: dict[str, Any]) -> int:
    value = account.get("followers_count", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def local_url(instance_url: str | None, status: dict[str, Any]) -> str | None:
    """The status as the brand's own instance shows it (``https://instance/@user@remote/ID``).

    Not the status' own ``url``: for a customer on another server that host is whatever the other
    server says (a link we cannot vouch for on a card), and the team is signed in on the brand's
    instance, where they can answer it.
    """
    acct = (status.get("account") or {}).get("acct")
    if not instance_url or not acct or status.get("id") is None:
        return status.get("url") or status.get("uri")
    return f"{instance_url.rstrip('/')}/@{acct}/{status.get('id')}"


def normalise(note: dict[str, Any], *, root: str | None = None, instance_url: str | None = None) -> dict[str, Any]:
    """One notification (``mention`` or ``reblog``) → a replay-format record. Only maps."""
    status = note.get("status") or {}
    if note.get("type") == "reblog":
        booster = note.get("account") or {}
        return {
            "id": f"boost-{booster.get('id')}-{status.get('id')}",  # one boost per account and status
            "text": f"boosted {local_url(instance_url, status)}",
            "author_id": _str(booster.get("id")),
            "author_handle": booster.get("acct"),
            "author_name": booster.get("display_name") or None,
            "followers": _followers(booster),
            "created_at": _iso(note.get("created_at")),
            "retweet_of": _str(status.get("id")),
            "url": None,
            "source": SOURCE,
        }
    account = status.get("account") or note.get("account") or {}
    text = html_to_text(str(status.get("content") or ""))
    media = media_text(status.get("media_attachments"))
    if media:
        text = f"{text}\n\n{media}" if text else media
    warning = status.get("spoiler_text")
    if warning:
        text = f"CW: {warning}\n\n{text}"
    own = _str(status.get("id"))
    parent = _str(status.get("in_reply_to_id"))
    return {
        "id": own,
        "text": text,
        "author_id": _str(account.get("id")),
        "author_handle": account.get("acct"),
        "author_name": account.get("display_name") or None,
        "followers": _followers(account),
        "created_at": _iso(status.get("created_at")),
        "lang": status.get("language"),
        "conversation_id": root or parent or own,
        "in_reply_to_id": parent,
        "url": local_url(instance_url, status),
        "visibility": status.get("visibility"),
        "source": SOURCE,
    }


class LastResponse:
    """Keeps the last HTTP response of a requests session: Mastodon.py's errors do not carry the
    headers (``X-RateLimit-Reset``) that say how long to wait."""

    def __init__(self, session: requests.Session) -> None:
        self.response: requests.Response | None = None
        session.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.response = response

    def reset_wait(self, now: datetime, default: float = 60.0) -> float:
        header = self.response.headers.get("X-RateLimit-Reset") if self.response is not None else None
        if not header:
            return default
        try:
            return max(1.0, (parse_time(header) - now).total_seconds() + 1.0)
        except MalformedPost:
            try:
                return max(1.0, float(header) - now.timestamp() + 1.0)
            except ValueError:
                return default


def make_client(base_url: str, access_token: str, *, timeout: float = 30.0) -> tuple[Mastodon, LastResponse]:
    """A Mastodon.py client that raises on 429 (we wait cooperatively, never inside a call)."""
    session = requests.Session()
    last = LastResponse(session)
    client = Mastodon(
        access_token=access_token,
        api_base_url=base_url.rstrip("/"),
        ratelimit_method="throw",
        request_timeout=timeout,
        session=session,
        version_check_mode="none",
    )
    return client, last


class MastodonPoller(SourceBase):
    def __init__(
        self,
        ctx: SourceContext,
        client: Mastodon,
        last: LastResponse,
        *,
        poll_seconds: float = 60.0,
        max_pages: int = 10,
        instance_url: str | None = None,
    ) -> None:
        super().__init__(ctx, name=f"{SOURCE}:notifications")
        self.instance_url = instance_url
        self.client = client
        self.last = last
        self.poll_seconds = poll_seconds
        self.max_pages = max_pages
        self.repeats_dropped = 0
        self._roots: dict[str, str] = {}

    def moved(self, session: Any) -> None:
        if state.clear_alert(session, CREDENTIALS_ALERT_KEY, self.ctx.clock.now()):
            log.warning("%s: Mastodon accepts our access token again; source resumed", self.name)

    def _credentials_failed(self, status: int) -> float:
        text = (
            f":warning: Followthrough cannot read Mastodon: the server refused our access token (HTTP {status}). "
            "The token was revoked, or lacks the read:notifications scope. Complaints from Mastodon are NOT being "
            "collected until MASTODON_ACCESS_TOKEN is fixed (Preferences → Development → your application); the "
            "bot retries every 15 minutes."
        )
        state.record_error(self.ctx.sessions, self.name, f"credentials refused (HTTP {status})", self.ctx.clock.now())
        if self.alert_once(CREDENTIALS_ALERT_KEY, text):
            log.error(
                "%s: Mastodon refused our access token (HTTP %d); source stopped, alert posted", self.name, status
            )
        else:
            log.warning("%s: Mastodon still refuses our access token (HTTP %d)", self.name, status)
        return CREDENTIAL_RETRY_SECONDS

    def _alert_gap(self, detail: str) -> None:
        at = self.ctx.clock.now()
        log.error("%s: fell behind: %s", self.name, detail)
        self.alert_once(
            f"gap:{self.name}:{at.isoformat()}",
            f":rotating_light: Followthrough fell behind on Mastodon ({self.name}): {detail} "
            "Some posts may never have reached this channel — check the brand account's notifications.",
        )

    def step(self) -> float:
        since = state.read_cursor(self.ctx.sessions, self.name)
        try:
            notes, newest, gap = self._read(since)
            posts = self.records(notes)
        except m_errors.MastodonUnauthorizedError as exc:
            return self._credentials_failed(_status(exc, 401))
        except m_errors.MastodonAPIError as exc:
            if _status(exc, 0) == 403:
                return self._credentials_failed(403)
            raise
        except m_errors.MastodonRatelimitError:
            wait = self.last.reset_wait(self.ctx.clock.now())
            log.warning("%s: rate limited by Mastodon; waiting %.0fs until the window resets", self.name, wait)
            state.record_error(
                self.ctx.sessions, self.name, f"rate limited; retry in {wait:.0f}s", self.ctx.clock.now()
            )
            return wait
        if gap:
            self._alert_gap(gap)
        self.store(posts, newest or since, also=self.moved)
        return self.poll_seconds

    def _read(self, since: str | None) -> tuple[list[dict[str, Any]], str | None, str | None]:
        kept: dict[str, dict[str, Any]] = {}
        newest: str | None = None
        max_id: str | None = None
        pages = 0
        while True:
            page = _notifications(self.client, since_id=since, max_id=max_id, limit=PAGE_SIZE)
            pages += 1
            items = [dict(n) for n in page or []]
            for note in items:
                note_id = _str(note.get("id")) or ""
                if since is not None and _older_or_same(note_id, since):
                    continue  # a server that ignores since_id, or a page repeated after a reconnect
                if newest is None or _older_or_same(newest, note_id):
                    newest = note_id
                if note_id in kept:
                    self.repeats_dropped += 1
                    continue
                kept[note_id] = note
            if not items or since is None:
                break  # first run: the newest page only, not the account's history
            oldest = min((_str(n.get("id")) or "" for n in items), key=_id_key)
            if max_id is not None and not _older_or_same(oldest, max_id):
                break  # no progress: never loop on a page that repeats
            max_id = oldest
            if pages >= self.max_pages:
                return (
                    _oldest_first(kept),
                    newest,
                    (
                        f"more than {len(kept)} new notifications in one poll; read {pages} pages and stopped. "
                        "Older ones in between were skipped."
                    ),
                )
        return _oldest_first(kept), newest, None

    def _root(self, status: dict[str, Any]) -> str | None:
        """The thread's first post (the conversation id): the first ancestor the server shows us."""
        parent = _str(status.get("in_reply_to_id"))
        if parent is None:
            return None
        if parent in self._roots:
            return self._roots[parent]
        try:
            context = self.client.status_context(status["id"])
        except m_errors.MastodonNotFoundError:
            return parent  # an ancestor we may not see: the parent is the best thread key we have
        ancestors = [dict(a) for a in (context.get("ancestors") or [])]
        root = _str(ancestors[0].get("id")) if ancestors else parent
        self._roots[parent] = root or parent
        return root

    def records(self, notes: list[dict[str, Any]]) -> list[RawPost]:
        out = []
        for note in notes:
            where = f"notification {_str(note.get('id'))}"
            try:
                status = dict(note.get("status") or {})
                if note.get("type") == "reblog" and status.get("visibility") not in BOOSTABLE:
                    continue  # a boost nobody else can see amplifies nothing
                note = {**note, "status": status, "account": dict(note.get("account") or {})}
                status["account"] = dict(status.get("account") or {})
                root = self._root(status) if note.get("type") in ("mention", "quote") else None
                out.append(RawPost(where, normalise(note, root=root, instance_url=self.instance_url)))
            except (m_errors.MastodonError, requests.RequestException):
                raise
            except Exception as exc:  # a shape no mapping expected: skip it, keep the source going
                self.skipped(where, f"{type(exc).__name__}: {exc}")
        return out


def _notifications(client: Any, **params: Any) -> Any:
    """Mentions and boosts, *including those the account's notification policy filtered* (Mastodon
    4.3: mentions from strangers, new accounts or private mentions can be set to "filter", and are
    then only listed with ``include_filtered=true`` — a first-time complainer would vanish).
    Mastodon.py's ``notifications()`` has no such parameter, so the request is made with its own
    request method; servers before 4.3 ignore the parameter."""
    query = {"types[]": list(TYPES), "include_filtered": "true"}
    query.update({k: v for k, v in params.items() if v is not None})
    return client._Mastodon__api_request("GET", "/api/v1/notifications", query)


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)  # Mastodon ids are numeric strings: longer is newer


def _older_or_same(a: str, b: str) -> bool:
    return _id_key(a) <= _id_key(b)


def _oldest_first(kept: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [kept[k] for k in sorted(kept, key=_id_key)]


def _status(exc: BaseException, default: int) -> int:
    args = getattr(exc, "args", ())
    return args[1] if len(args) > 1 and isinstance(args[1], int) else default


def instance_host(base_url: str) -> str:
    return urlsplit(base_url).netloc


def build_mastodon_source(settings: Any, ctx: SourceContext, clock: Clock | None = None) -> MastodonPoller | None:
    """The Mastodon source when MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN are set, else None."""
    mastodon = mastodon_settings.of(settings)
    if not mastodon.base_url or not mastodon.access_token:
        return None
    client, last = make_client(mastodon.base_url, mastodon.access_token.reveal())
    return MastodonPoller(ctx, client, last, poll_seconds=mastodon.poll_seconds, instance_url=mastodon.base_url)
