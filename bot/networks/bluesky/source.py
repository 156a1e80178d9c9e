"""Bluesky: mentions, replies, quotes and reposts of the brand, from the brand's notifications.

``app.bsky.notification.listNotifications`` pages from the newest backwards and has no "since"
parameter, so the durable cursor is the ``indexedAt`` (and URI) of the newest notification stored: each poll
reads pages until it reaches notifications at or before it (at most ``max_pages``, then says so
loudly), and stores what is newer together with the new cursor, in one transaction. Notifications
at exactly the cursor's time are read again and dropped by ingest's (source, id) check, so a
repeated page — after a reconnect, or a page boundary that moved — doubles nothing.

What is kept: ``mention``, ``reply`` and ``quote`` become posts (the thread root, from the post's
``reply.root``, is the conversation id); ``repost`` becomes amplification of the reposted post,
like a retweet. Authors' display names and follower counts come from ``app.bsky.actor.getProfiles``
(a notification carries a ``profileView``, which has no counts).

Faults, as for X: 429 waits until ``ratelimit-reset``; 5xx and dropped connections raise to the
worker's back-off with the cursor unmoved; a refused app password is ONE alert (kept in the
database), and the source retries every 15 minutes until the password works again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from atproto import models
from atproto_client import exceptions as at_errors

from bot.intake import state
from bot.intake.inbox import RawPost
from bot.intake.posts import EARLIEST, FUTURE_SLACK, MalformedPost, parse_time
from bot.intake.source import SourceBase, SourceContext
from bot.networks.bluesky import settings as bluesky_settings
from bot.networks.bluesky.client import BlueskyAuthError, BlueskySession, post_id, post_url, reset_wait, split_uri

log = logging.getLogger(__name__)

SOURCE = "bluesky"
READ_REASONS = ("mention", "reply", "quote", "repost")
CREDENTIAL_RETRY_SECONDS = 900.0
CREDENTIALS_ALERT_KEY = "bluesky-credentials"
PROFILES_PER_CALL = 25  # app.bsky.actor.getProfiles: actors maxLength 25
LINK_FEATURE = "app.bsky.richtext.facet#link"


def _text(record: dict[str, Any]) -> str:
    """The post's words as the author meant them: links whole (a client shows "example.com/ord…" and
    keeps the full address in a link facet), then what its pictures show (their alt text), so a
    post that is only a screenshot of the error is not an empty post."""
    text = record.get("text") if isinstance(record.get("text"), str) else ""
    text = expand_links(text, record.get("facets"))
    media = embed_text(record.get("embed"))
    if media:
        return f"{text}\n\n{media}" if text.strip() else media
    return text


def expand_links(text: str, facets: Any) -> str:
    """Each link facet's visible text replaced by its ``uri`` (facets index UTF-8 bytes, not characters)."""
    if not isinstance(facets, list) or not text:
        return text
    data = text.encode("utf-8")
    links = []
    for facet in facets:
        index = facet.get("index") if isinstance(facet, dict) else None
        features = facet.get("features") if isinstance(facet, dict) else None
        if not isinstance(index, dict) or not isinstance(features, list):
            continue
        start, end = index.get("byteStart"), index.get("byteEnd")
        uri = next(
            (f.get("uri") for f in features if isinstance(f, dict) and f.get("$type") == LINK_FEATURE),
            None,
        )
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data) and isinstance(uri, str):
            links.append((start, end, uri))
    applied_from = len(data) + 1
    for start, end, uri in sorted(set(links), reverse=True):
        if end > applied_from:
            continue  # overlaps a range already rewritten (a repeated or crafted facet): skip it
        applied_from = start
        try:
            shown = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            continue  # a range that cuts a character: not a range this client made; keep the text
        if shown != uri and uri.startswith(("https://", "http://")):
            data = data[:start] + uri.encode("utf-8") + data[end:]
    return data.decode("utf-8")


def embed_text(embed: Any) -> str:
    """``[image: alt]`` per picture (``[image]`` without alt), ``[video: alt]``; a quote with media
    (``recordWithMedia``) gives its media's; a link card its address."""
    if not isinstance(embed, dict):
        return ""
    kind = str(embed.get("$type", ""))
    if kind == "app.bsky.embed.recordWithMedia":
        return embed_text(embed.get("media"))
    if kind == "app.bsky.embed.images":
        lines = []
        for image in embed.get("images") or []:
            alt = " ".join(str((image or {}).get("alt") or "").split()) if isinstance(image, dict) else ""
            lines.append(f"[image: {alt}]" if alt else "[image]")
        return "\n".join(lines)
    if kind == "app.bsky.embed.video":
        alt = " ".join(str(embed.get("alt") or "").split())
        return f"[video: {alt}]" if alt else "[video]"
    if kind == "app.bsky.embed.external":
        uri = (embed.get("external") or {}).get("uri") if isinstance(embed.get("external"), dict) else None
        return f"[link: {uri}]" if isinstance(uri, str) and uri else ""
    return ""


def created_time(declared: Any, indexed: Any) -> Any:
    """When the post was made: the client's ``createdAt`` — unless it cannot be read, is before X and
    Bluesky existed, or is more than a day after the server indexed it (a wrong clock, or a post
    dated ahead on purpose), when the server's ``indexedAt`` is used. The AppView sorts the same way;
    a post dated next year used to be refused, and lost."""
    try:
        seen = parse_time(indexed)
    except MalformedPost:
        return declared or indexed
    try:
        claimed = parse_time(declared)
    except MalformedPost:
        return indexed
    if claimed > seen + FUTURE_SLACK or claimed < EARLIEST:
        return indexed
    return declared


def normalise(note: dict[str, Any], profiles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One ``listNotifications`` notification (+ the authors' profiles) → a replay-format record.

    Only maps; validation happens when the inbox is drained, as for every source.
    """
    author = note.get("author") if isinstance(note.get("author"), dict) else {}
    did = str(author.get("did") or "")
    profile = profiles.get(did, {})
    handle = profile.get("handle") or author.get("handle") or did
    name = profile.get("displayName") or author.get("displayName") or None
    followers = profile.get("followersCount", 0)
    record = note.get("record") if isinstance(note.get("record"), dict) else {}
    parts = split_uri(note.get("uri"))
    rkey = parts[2] if parts else ""
    common = {
        "author_id": did,
        "author_handle": handle,
        "author_name": name,
        "followers": followers if isinstance(followers, int) else 0,
        "created_at": created_time(record.get("createdAt"), note.get("indexedAt")),
        "source": SOURCE,
    }
    if note.get("reason") == "repost":
        subject = note.get("reasonSubject") or (record.get("subject") or {}).get("uri")
        target = post_id(subject)
        target_parts = split_uri(subject)
        shown = post_url(target_parts[0], target_parts[2]) if target_parts else str(subject)
        return {
            **common,
            "id": f"{did}/repost/{rkey}",
            "text": f"reposted {shown}",
            "retweet_of": target,
            "url": None,  # a repost has no page of its own
        }
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
    root = post_id((reply.get("root") or {}).get("uri")) if reply else None
    parent = post_id((reply.get("parent") or {}).get("uri")) if reply else None
    own = post_id(note.get("uri"))
    langs = record.get("langs")
    return {
        **common,
        "id": own,
        "text": _text(record),
        "lang": langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        "conversation_id": root or own,
        "in_reply_to_id": parent,
        "url": post_url(handle, rkey),
    }


class BlueskyPoller(SourceBase):
    """The brand's notifications, polled."""

    def __init__(
        self,
        ctx: SourceContext,
        session: BlueskySession,
        *,
        poll_seconds: float = 60.0,
        page_size: int = 50,
        max_pages: int = 10,
    ) -> None:
        super().__init__(ctx, name=f"{SOURCE}:notifications")
        self.session = session
        self.poll_seconds = poll_seconds
        self.page_size = page_size
        self.max_pages = max_pages
        self.repeats_dropped = 0

    # -- health ----------------------------------------------------------------------------------
    def moved(self, session: Any) -> None:
        if state.clear_alert(session, CREDENTIALS_ALERT_KEY, self.ctx.clock.now()):
            log.warning("%s: Bluesky accepts our app password again; source resumed", self.name)

    def _credentials_failed(self, exc: BlueskyAuthError) -> float:
        text = (
            f":warning: Followthrough cannot read Bluesky: the server refused the brand account's handle or app "
            f"password (HTTP {exc.status} {exc.code}). The app password was revoked or mistyped. Complaints from "
            "Bluesky are NOT being collected until BLUESKY_HANDLE / BLUESKY_APP_PASSWORD are fixed (Bluesky → "
            "Settings → Privacy and security → App passwords); the bot retries every 15 minutes."
        )
        state.record_error(
            self.ctx.sessions, self.name, f"credentials refused (HTTP {exc.status})", self.ctx.clock.now()
        )
        if self.alert_once(CREDENTIALS_ALERT_KEY, text):
            log.error("%s: Bluesky refused our app password; source stopped, alert posted", self.name)
        else:
            log.warning("%s: Bluesky still refuses our app password", self.name)
        return CREDENTIAL_RETRY_SECONDS

    def _alert_gap(self, detail: str) -> None:
        at = self.ctx.clock.now()
        text = (
            f":rotating_light: Followthrough fell behind on Bluesky ({self.name}): {detail} "
            "Some posts may never have reached this channel — check the brand account's notifications on Bluesky."
        )
        log.error("%s: fell behind: %s", self.name, detail)
        self.alert_once(f"gap:{self.name}:{at.isoformat()}", text)

    # -- reading ---------------------------------------------------------------------------------
    def step(self) -> float:
        cursor = state.read_cursor(self.ctx.sessions, self.name)
        since_text, _, since_uri = (cursor or "").partition("|")
        since = _when(since_text)
        try:
            notes, newest, gap = self._read(since, since_uri)
            profiles = self._profiles(notes)
        except BlueskyAuthError as exc:
            return self._credentials_failed(exc)
        except at_errors.RateLimitExceededError as exc:
            wait = reset_wait(exc, self.ctx.clock.now())
            log.warning("%s: rate limited by Bluesky; waiting %.0fs until the window resets", self.name, wait)
            state.record_error(
                self.ctx.sessions, self.name, f"rate limited; retry in {wait:.0f}s", self.ctx.clock.now()
            )
            return wait
        if gap:
            self._alert_gap(gap)
        posts = self.records(notes, profiles)
        self.store(posts, newest or cursor, also=self.moved)
        return self.poll_seconds

    def _read(self, since: datetime | None, since_uri: str = "") -> tuple[list[dict[str, Any]], str | None, str | None]:
        """Pages from the newest back to ``since``: the notifications to keep (oldest first), the new
        cursor (``indexedAt|uri`` of the newest seen), and what was missed if we stopped early.

        The notification the cursor names is not read again; others at exactly its time are (rare,
        and ingest drops what it already has)."""
        kept: dict[str, dict[str, Any]] = {}
        newest: datetime | None = since
        newest_uri = since_uri
        page_cursor: str | None = None
        pages = 0
        while True:
            # ``priority=False``: a brand that turned on "priority notifications" would otherwise hear
            # only from accounts it follows — never from a customer.
            params = models.AppBskyNotificationListNotifications.Params(
                limit=self.page_size, cursor=page_cursor, reasons=list(READ_REASONS), priority=False
            )
            page = self.session.query("app.bsky.notification.listNotifications", params)
            pages += 1
            items = page.get("notifications") if isinstance(page.get("notifications"), list) else []
            reached = False
            for note in items:
                if not isinstance(note, dict):
                    self.skipped("a notification", f"must be a JSON object, got {type(note).__name__}")
                    continue
                at = _when(note.get("indexedAt"))
                if at is None:
                    self.skipped(f"notification {str(note.get('uri'))[:60]}", "missing or unreadable indexedAt")
                    continue
                if newest is None or at > newest:
                    newest, newest_uri = at, str(note.get("uri") or "")
                if since is not None and (at < since or (at == since and note.get("uri") == since_uri)):
                    reached = True
                    continue
                if note.get("reason") not in READ_REASONS:
                    continue
                uri = str(note.get("uri"))
                if uri in kept:
                    self.repeats_dropped += 1
                    continue
                kept[uri] = note
            previous, page_cursor = page_cursor, page.get("cursor") if isinstance(page.get("cursor"), str) else None
            if page_cursor is not None and page_cursor == previous:
                # The server answered the same page again: never loop on it, and keep the cursor
                # where it was, so the next poll reads the rest (ingest drops what repeats).
                log.warning("%s: the server repeated a page; the rest is read on the next poll", self.name)
                return _oldest_first(kept), None, None
            # The AppView filters reasons after reading each page: a page can be empty while older
            # mentions remain behind its cursor (a timestamp). Stop at the stored cursor, not at an
            # empty page — a mention behind two thousand likes was lost there.
            behind = _when(page_cursor) if page_cursor else None
            if behind is not None and since is not None and behind < since:
                reached = True
            if reached or not page_cursor or since is None:
                break  # first run (no cursor yet): the newest page only, not the account's history
            if pages >= self.max_pages:
                return (
                    _oldest_first(kept),
                    _cursor(newest, newest_uri),
                    f"more than {len(kept)} new notifications in one poll; read {pages} pages and stopped. "
                    "Older ones in between were skipped.",
                )
        return _oldest_first(kept), _cursor(newest, newest_uri), None

    def _profiles(self, notes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        dids = sorted(
            {str(n["author"]["did"]) for n in notes if isinstance(n.get("author"), dict) and n["author"].get("did")}
        )
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(dids), PROFILES_PER_CALL):
            params = models.AppBskyActorGetProfiles.Params(actors=dids[start : start + PROFILES_PER_CALL])
            answer = self.session.query("app.bsky.actor.getProfiles", params)
            for profile in answer.get("profiles") or []:
                if isinstance(profile, dict) and profile.get("did"):
                    out[str(profile["did"])] = profile
        return out

    def records(self, notes: list[dict[str, Any]], profiles: dict[str, dict[str, Any]]) -> list[RawPost]:
        out = []
        for note in notes:
            where = f"notification {str(note.get('uri'))[:80]}"
            try:
                record = normalise(note, profiles)
            except Exception as exc:  # a shape no mapping expected: skip it, keep the source going
                self.skipped(where, f"{type(exc).__name__}: {exc}")
                continue
            if not record.get("id"):
                self.skipped(where, "not a post URI (at://did/app.bsky.feed.post/rkey)")
                continue
            out.append(RawPost(where, record))
        return out

    def close(self) -> None:
        self.session.close()


def _when(value: Any) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except MalformedPost:
        return None


def _cursor(at: datetime | None, uri: str) -> str | None:
    return f"{at.isoformat()}|{uri}"[:160] if at else None


def _oldest_first(kept: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(kept.values(), key=lambda n: _when(n.get("indexedAt")) or datetime.min.replace(tzinfo=UTC))


def make_session(settings: Any, clock: Any) -> BlueskySession:
    bluesky = bluesky_settings.of(settings)
    return BlueskySession(
        bluesky.handle,
        bluesky.app_password.reveal(),
        service_url=bluesky.service_url,
        clock=clock,
    )


def build_bluesky_source(settings: Any, ctx: SourceContext) -> BlueskyPoller | None:
    """The Bluesky source when BLUESKY_HANDLE and BLUESKY_APP_PASSWORD are set, else None.

    Nothing is sent at build time: a wrong password is the source's one alert, not a failed start.
    """
    bluesky = bluesky_settings.of(settings)
    if not bluesky.handle or not bluesky.app_password:
        return None
    return BlueskyPoller(ctx, make_session(settings, ctx.clock), poll_seconds=bluesky.poll_seconds)
