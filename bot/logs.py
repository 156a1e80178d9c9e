"""Logging set-up with a filter that keeps secrets out of every log line.

Tokens leak into logs through exception messages and debug output of HTTP clients we do not
control, so redaction happens on the formatted record, not by trusting each call site.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_SECRET_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9%._~+/=-]+"),
    # Greedy to the last @ of the word: a password pasted with an unencoded @ is hidden whole.
    re.compile(r"(?i)(://[^:/@\s]*:)\S*(@)"),
    # A password as a URL query option (?password=, &sslpassword=) or in a libpq conninfo string.
    re.compile(r"(?i)(\b\w*password=)(?:'[^']*'|[^&#\s]+)"),
    # OAuth 1.0a as oauthlib and requests_oauthlib log it at DEBUG: the Authorization header, each
    # oauth_* parameter, and the client's keys by name ("client_key: …", "('oauth_token', '…')").
    re.compile(r"(OAuth\s+)[^\n'\"]+"),
    # The separator is matched lazily: a value that starts percent-encoded ("%2F…", a signature
    # beginning with "/") is hidden from its first character, the "%" included.
    re.compile(r"(?i)(oauth_(?:consumer_key|token|signature|nonce|verifier|callback)\W{1,6}?)[^\s'\",&)]+"),
    # oauthlib's own "Signature: …" line (with PLAINTEXT signing that value is the two secrets).
    re.compile(r"(\bSignature:\s+)\S+"),
    re.compile(
        r"(?i)((?:client_key|client_secret|resource_owner_key|resource_owner_secret|consumer_key|consumer_secret|"
        r"token_secret|access_token|access_secret|api_key|api_secret|app_password|refresh_jwt|access_jwt)"
        r"[\"']?\s*[:=,]\s*[\"']?)[^\s'\",&)]+"
    ),
]


MAX_LINE = 2000
"""A log line longer than this is cut: no request body, however large, can fill the disk."""
_RESPONSE_URL = re.compile(r"(https://hooks\.slack\.com/)[^\s'\",}]+")


_KNOWN: list[str] = []
"""The configured secrets themselves (``configure_logging(secrets=…)``): whatever a library logs them
inside, they are replaced, longest first."""


def redact(text: str) -> str:
    for secret in _KNOWN:
        if secret in text:
            text = text.replace(secret, "***")
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


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """``secrets``: every configured token, key and password — kept out of every line at any level."""
    _KNOWN[:] = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)
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
