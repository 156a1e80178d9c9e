"""Logging set-up with a filter that keeps secrets out of every log line.

Tokens leak into logs through exception messages and debug output of HTTP clients we do not
control, so redaction happens on the formatted record, not by trusting each call site.
"""

from __future__ import annotations

import logging
import re
import sys

_SECRET_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9%._~+/=-]+"),
    # Greedy to the last @ of the word: a password pasted with an unencoded @ is hidden whole.
    re.compile(r"(?i)(://[^:/@\s]*:)\S*(@)"),
    # A password as a URL query option (?password=, &sslpassword=) or in a libpq conninfo string.
    re.compile(r"(?i)(\b\w*password=)(?:'[^']*'|[^&#\s]+)"),
]


MAX_LINE = 2000
"""A log line longer than this is cut: no request body, however large, can fill the disk."""
_RESPONSE_URL = re.compile(r"(https://hooks\.slack\.com/)[^\s'\",}]+")


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(r"\1***\2", text)
        elif pattern.groups == 1:
            text = pattern.sub(r"\1***", text)
        else:
            text = pattern.sub("***", text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = _RESPONSE_URL.sub(r"\1***", redact(super().format(record)))
        if len(text) > MAX_LINE and not record.exc_info:
            text = f"{text[:MAX_LINE]}… ({len(text) - MAX_LINE:,} more characters)"
        return text


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "waitress.queue"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
    # slack_sdk logs an ERROR for every failed request before raising it; the code that called it
    # says what failed and what happens next (a retry, a refusal), in one line of its own.
    logging.getLogger("slack_sdk.web.base_client").setLevel(logging.DEBUG if level == "DEBUG" else logging.CRITICAL)
    # Alembic narrates every start-up at INFO ("setup plugin …"); only a migration problem matters.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
