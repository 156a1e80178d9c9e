"""The one normalised shape every source produces, and the checks a record must pass to become one.

Validation lives here, not in each source, so a malformed record from a replay file and from X's
API is refused for the same reasons, worded the same way in the log.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_TEXT_CHARS = 25_000  # X's longest posts (Premium) are 25,000 characters
MAX_ID_CHARS = 64
MAX_FOLLOWERS = 10**12
EARLIEST = datetime(2006, 3, 21, tzinfo=UTC)  # the first post on Twitter: nothing real is older
FUTURE_SLACK = timedelta(days=1)
LIMITS = {"author_handle": 320, "author_name": 640, "url": 2048, "lang": 35, "source": 32}
"""The longest each field may be — what the networks allow (a Bluesky handle is a domain name, up to
253 characters; a Mastodon account ``user@domain``; a Bluesky display name 640 bytes; a BCP 47 tag 35),
and the width of its column (bot/store/models.py). Anything longer is refused with its reason, never
cut: a cut handle is someone else's, and a cut link goes somewhere else."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEXTUAL = (str, int)


class MalformedPost(ValueError):
    """A record that cannot become a Post; the message is the reason, fit for a log line."""


@dataclass(frozen=True)
class Post:
    source: str
    id: str
    text: str
    author_id: str
    author_handle: str
    created_at: datetime
    author_name: str | None = None
    followers: int = 0
    verified: bool = False
    url: str | None = None
    lang: str | None = None
    conversation_id: str | None = None
    in_reply_to_id: str | None = None
    retweet_of: str | None = None
    edit_of: tuple[str, ...] = ()
    """The earlier versions' ids, oldest first, when this post is an edit (X gives each edit a new
    id): ingest updates what it stored for any of them instead of filing the edit as a new complaint."""


def _text_field(record: Mapping[str, Any], name: str, *, required: bool, limit: int) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise MalformedPost(f"missing {name}")
        return None
    if type(value) is str:  # the usual case, first: every drained record passes here ten times
        value = value.strip()
    elif isinstance(value, bool) or not isinstance(value, _TEXTUAL):
        raise MalformedPost(f"{name} must be a string, got {type(value).__name__}")
    else:
        value = str(value).strip()
    if not value:
        if required:
            raise MalformedPost(f"empty {name}")
        return None
    if len(value) > limit:
        raise MalformedPost(f"{name} is {len(value)} characters (limit {limit})")
    if _CONTROL.search(value):  # a NUL is refused by PostgreSQL and kept by SQLite: refused on both
        raise MalformedPost(f"{name} contains a control character")
    _check_unicode(name, value)
    return value


def _required(record: Mapping[str, Any], name: str, limit: int) -> str:
    value = _text_field(record, name, required=True, limit=limit)
    if value is None:  # _text_field raises first; this keeps the type checker honest
        raise MalformedPost(f"missing {name}")
    return value


def _check_unicode(name: str, value: str) -> None:
    if value.isascii():  # no surrogate can hide in ASCII, and the test is a flag read
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedPost(f"{name} is not valid Unicode (lone surrogate)") from None


def parse_time(value: Any) -> datetime:
    """ISO 8601; a value without an offset is taken as UTC (X always sends ``Z``)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise MalformedPost(f"created_at {value!r} is not an ISO 8601 time") from None
    else:
        raise MalformedPost("missing created_at" if value in (None, "") else "created_at must be a string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise MalformedPost(f"created_at {str(value)[:40]!r} is out of range") from None


def _reference(record: Mapping[str, Any], name: str) -> str | None:
    """An id naming another post: one too long to be a real id is dropped, not the whole post."""
    try:
        return _text_field(record, name, required=False, limit=MAX_ID_CHARS)
    except MalformedPost:
        return None


def post_from_record(record: Any, *, default_source: str, now: datetime | None = None) -> Post:
    """Validate a replay/API-shaped mapping (see README, 'Replay format') and build a Post.

    Bounds keep every value storable on every engine, because one value a column cannot hold
    (followers 10^20 in a BIGINT, a year-9999 time that overflows on conversion, a 60-character
    handle in VARCHAR(64) after escaping …) used to fail the whole batch again and again: followers
    0..10^12, ``created_at`` between 2006-03-21 and ``now`` + 1 day, strings no longer than ``LIMITS``.
    """
    if not isinstance(record, Mapping):
        raise MalformedPost(f"a post must be a JSON object, got {type(record).__name__}")
    post_id = _required(record, "id", MAX_ID_CHARS)
    text = record.get("text")
    if text is None:
        raise MalformedPost("missing text")
    if not isinstance(text, str):
        raise MalformedPost(f"text must be a string, got {type(text).__name__}")
    text = _CONTROL.sub("", text).strip()
    if not text:
        raise MalformedPost("empty text")
    if len(text) > MAX_TEXT_CHARS:
        raise MalformedPost(f"text is {len(text)} characters (limit {MAX_TEXT_CHARS})")
    _check_unicode("text", text)
    author_id = _required(record, "author_id", MAX_ID_CHARS)
    handle = _required(record, "author_handle", 10**9).lstrip("@")  # measured without its "@"
    if len(handle) > LIMITS["author_handle"]:
        raise MalformedPost(f"author_handle is {len(handle)} characters (limit {LIMITS['author_handle']})")
    if not handle:
        raise MalformedPost("empty author_handle")
    followers = record.get("followers", 0)
    if followers is None:
        followers = 0
    if isinstance(followers, bool) or not isinstance(followers, int) or not 0 <= followers <= MAX_FOLLOWERS:
        raise MalformedPost(f"followers must be a whole number from 0 to {MAX_FOLLOWERS:,}")
    created = parse_time(record.get("created_at"))
    latest = (now or datetime.now(UTC)) + FUTURE_SLACK
    if not EARLIEST <= created <= latest:
        raise MalformedPost(f"created_at {created.isoformat()} is before 2006-03-21 or more than a day ahead")
    verified = record.get("verified", False)
    source = _text_field(record, "source", required=False, limit=LIMITS["source"]) or default_source
    url = _text_field(record, "url", required=False, limit=LIMITS["url"])
    return Post(
        source=source,
        id=post_id,
        text=text,
        author_id=author_id,
        author_handle=handle,
        created_at=created,
        author_name=_text_field(record, "author_name", required=False, limit=LIMITS["author_name"]),
        followers=followers,
        verified=bool(verified) if isinstance(verified, bool) else False,
        url=url,
        lang=_text_field(record, "lang", required=False, limit=LIMITS["lang"]),
        conversation_id=_reference(record, "conversation_id"),
        in_reply_to_id=_reference(record, "in_reply_to_id"),
        retweet_of=_reference(record, "retweet_of"),
        edit_of=_edit_of(record, post_id),
    )


def _edit_of(record: Mapping[str, Any], post_id: str) -> tuple[str, ...]:
    """``edit_of``: one id or a list of them (a malformed entry is dropped, not the post)."""
    value = record.get("edit_of")
    values = value if isinstance(value, list) else [value]
    ids = []
    for item in values[:20]:
        found = _reference({"edit_of": item}, "edit_of")
        if found is not None and found != post_id and found not in ids:
            ids.append(found)
    return tuple(ids)


_RT_PREFIX = re.compile(r"^\s*rt\s+@\w+:?\s*", re.IGNORECASE)
_NOISE = re.compile(r"https?://\S+|@\w+|[^\w]+")


def text_key(text: str) -> str:
    """A key equal for near-duplicates: the same words after dropping retweet prefixes, links,
    mentions, case and punctuation. Storms of copied or retweeted text collapse by it."""
    words = _RT_PREFIX.sub("", text).lower().replace("'", "").replace("\u2019", "")
    normal = _NOISE.sub(" ", words).split()
    return hashlib.sha1(" ".join(normal).encode(), usedforsecurity=False).hexdigest()[:16]
