"""Replay: posts from a JSON-lines file, one post per line (format in the README).

For the demo, the tests, and importing exports from other tools. The file is followed like
``tail -F``: lines appended later are read on the next step; a new file at the same path (log
rotation) or a file cut shorter (truncation) is noticed — by its inode and size — and read from the
start; a file rewritten in place to the same length or longer is caught by a fingerprint of its
first bytes. The cursor (inode, byte offset, line number, fingerprint) is stored with the raw
lines it covers, so a restart resumes where it stopped.

A line that is not valid UTF-8 or JSON is logged with its line number and reason, counted, and
skipped; a line longer than 1 MB likewise (without reading it into memory whole). A last line
without its newline is left until it is complete, and not re-read while the file does not grow.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import IO

from bot.common import jsonsafe
from bot.intake import state
from bot.intake.inbox import RawPost
from bot.intake.source import SourceBase, SourceContext

log = logging.getLogger(__name__)

BATCH = 200
MAX_LINE = 1024 * 1024
HEAD = 4096  # bytes fingerprinted to notice a file rewritten in place


def _fingerprint(handle: IO[bytes], upto: int) -> str:
    handle.seek(0)
    head = handle.read(min(upto, HEAD))
    return hashlib.sha1(head, usedforsecurity=False).hexdigest()[:12]


class ReplaySource(SourceBase):
    def __init__(self, ctx: SourceContext, path: Path, *, idle_seconds: float = 1.0) -> None:
        digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:10]
        super().__init__(ctx, name=f"replay:{path.name[:40]}:{digest}")
        self.path = path
        self.idle_seconds = idle_seconds
        self.lines_read = 0
        self.reads = 0
        """How often the file was actually read (a waiting partial line must not be re-read)."""
        self._waiting_at: tuple[int, int, int] | None = None  # (inode, offset, size) of an unfinished line
        self._missing_logged = False
        self._handle: IO[bytes] | None = None

    def _cursor(self) -> tuple[int | None, int, int, str | None]:
        """(inode, byte offset, line number, fingerprint of the head) of the next unread line."""
        cursor = state.read_cursor(self.ctx.sessions, self.name)
        if not cursor:
            return None, 0, 0, None
        parts = cursor.split(":")
        if len(parts) == 2:  # written by an older version: offset and line only
            return None, int(parts[0]), int(parts[1]), None
        return int(parts[0]), int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else None

    def _save(self, posts: list[RawPost], handle: IO[bytes], inode: int, offset: int, line_no: int) -> None:
        self.store(posts, f"{inode}:{offset}:{line_no}:{_fingerprint(handle, offset)}")

    def _open(self) -> IO[bytes] | None:
        """The file being followed: kept open across steps, so lines written to it before it was
        rotated away are still read; the new file at the path is opened once the old one is done."""
        if self._handle is not None:
            return self._handle
        try:
            self._handle = self.path.open("rb")
        except FileNotFoundError:
            if not self._missing_logged:
                log.warning("%s: %s does not exist (yet); waiting for it", self.name, self.path)
                self._missing_logged = True
            return None
        self._missing_logged = False
        return self._handle

    def _path_inode(self) -> int | None:
        try:
            return self.path.stat().st_ino
        except FileNotFoundError:
            return None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def step(self) -> float:
        """Read up to BATCH complete new lines into the inbox; return 0 while there is more."""
        handle = self._open()
        if handle is None:
            return self.idle_seconds
        stat = os.fstat(handle.fileno())
        inode, offset, line_no, head = self._cursor()
        if inode is not None and inode != stat.st_ino:
            log.warning("%s: %s was replaced (rotated); reading the new file from the start", self.name, self.path)
            offset, line_no = 0, 0
        elif stat.st_size < offset or (head and offset and _fingerprint(handle, offset) != head):
            log.warning("%s: %s was truncated or rewritten; reading it again from the start", self.name, self.path)
            offset, line_no = 0, 0
            self._waiting_at = None
        if stat.st_size == offset or self._waiting_at == (stat.st_ino, offset, stat.st_size):
            if self._path_inode() != stat.st_ino:
                self.close()  # rotated, and the old file is read to its end: follow the new one
                return 0.0
            if inode is None or inode != stat.st_ino:
                self._save([], handle, stat.st_ino, offset, line_no)
            return self.idle_seconds
        handle.seek(offset)
        posts, offset, line_no, more = self._read(handle, stat.st_ino, offset, line_no, stat.st_size)
        self._save(posts, handle, stat.st_ino, offset, line_no)
        return 0.0 if more else self.idle_seconds

    def _read(
        self, handle: IO[bytes], inode: int, offset: int, line_no: int, size: int
    ) -> tuple[list[RawPost], int, int, bool]:
        self.reads += 1
        posts: list[RawPost] = []
        while len(posts) < BATCH:
            start = offset
            raw = handle.readline(MAX_LINE + 1)
            if not raw:
                return posts, offset, line_no, False
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                rest = self._skip_to_newline(handle)
                if rest is None:  # the long line is not finished yet
                    self._waiting_at = (inode, start, size)
                    return posts, start, line_no, False
                offset += len(raw) + rest
                line_no += 1
                self.skipped(f"line {line_no}", f"longer than {MAX_LINE:,} bytes")
                continue
            if not raw.endswith(b"\n"):
                self._waiting_at = (inode, start, size)  # still being written; not re-read until it grows
                return posts, start, line_no, False
            offset += len(raw)
            line_no += 1
            self.lines_read += 1
            post = self._parse_line(raw, line_no)
            if post is not None:
                posts.append(post)
        return posts, offset, line_no, True

    @staticmethod
    def _skip_to_newline(handle: IO[bytes]) -> int | None:
        """Bytes up to and including the next newline, read in chunks; None if the file ends first."""
        skipped = 0
        while True:
            chunk = handle.readline(MAX_LINE)
            if not chunk:
                return None
            skipped += len(chunk)
            if chunk.endswith(b"\n"):
                return skipped

    def _parse_line(self, raw: bytes, line_no: int) -> RawPost | None:
        if not raw.strip():
            return None
        try:
            record = jsonsafe.loads(raw.decode("utf-8"), max_depth=jsonsafe.RECORD_DEPTH)
        except UnicodeDecodeError:
            self.skipped(f"{self.path.name} line {line_no}", "not valid UTF-8")
            return None
        except ValueError as exc:
            self.skipped(f"{self.path.name} line {line_no}", f"not JSON ({getattr(exc, 'msg', exc)})")
            return None
        return RawPost(f"{self.path.name} line {line_no}", record)
