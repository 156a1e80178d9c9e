"""Replay: posts from a JSON-lines file, one post per line (format in the README).

For the demo, the tests, and importing exports from other tools. The cursor is the byte offset of
the next unread line, stored with the posts it covers, so a restart resumes where it stopped. The
file is followed like ``tail -f``: lines appended later are read on the next step. A line that is
not valid UTF-8 or JSON, or not a valid post, is logged with its line number and reason, counted,
and skipped; a final line without a newline is left until it is complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from bot.domain.posts import MalformedPost, Post, post_from_record
from bot.sources import state
from bot.sources.x import SourceContext, _SourceBase

log = logging.getLogger(__name__)

BATCH = 200


class ReplaySource(_SourceBase):
    def __init__(self, ctx: SourceContext, path: Path, *, idle_seconds: float = 1.0) -> None:
        super().__init__(ctx)
        self.path = path
        self.idle_seconds = idle_seconds
        digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:10]
        self.name = f"replay:{path.name[:40]}:{digest}"
        self.lines_read = 0

    def _offset(self) -> tuple[int, int]:
        """(byte offset, line number) of the next unread line."""
        cursor = state.read_cursor(self.ctx.sessions, self.name)
        if not cursor:
            return 0, 0
        offset, line_no = cursor.split(":")
        return int(offset), int(line_no)

    def step(self) -> float:
        """Read up to BATCH complete new lines and ingest them; return 0 while there is more."""
        offset, line_no = self._offset()
        start_line = line_no
        posts: list[Post] = []
        with self.path.open("rb") as f:
            f.seek(offset)
            while len(posts) < BATCH:
                raw = f.readline()
                if not raw or not raw.endswith(b"\n"):
                    break  # end of file, or a line still being written
                offset += len(raw)
                line_no += 1
                self.lines_read += 1
                post = self._parse_line(raw, line_no)
                if post is not None:
                    posts.append(post)
            more = bool(raw) and raw.endswith(b"\n")
        if line_no != start_line:
            self._ingest(posts, f"{offset}:{line_no}")
        return 0.0 if more else self.idle_seconds

    def _parse_line(self, raw: bytes, line_no: int) -> Post | None:
        if not raw.strip():
            return None
        try:
            record = json.loads(raw.decode("utf-8"))
            return post_from_record(record, default_source="replay")
        except UnicodeDecodeError:
            reason = "not valid UTF-8"
        except ValueError as exc:  # JSONDecodeError and MalformedPost are both ValueErrors
            reason = str(exc) if isinstance(exc, MalformedPost) else f"not JSON ({exc.msg})"
        self.malformed += 1
        log.warning("%s: line %d skipped: %s", self.path.name, line_no, reason)
        return None
