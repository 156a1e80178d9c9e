"""``followthrough webhook sign --source S FILE``: the curl line that sends FILE to /ingest/S, signed.

For trying the webhook by hand and for checking a relay's signing against ours. The secret is read
from ``WEBHOOK_SECRET_<S>`` (the environment, then the .env file) and never printed: the line
carries only the signature, which is valid for this body for 5 minutes.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from bot.common.envfile import load_dotenv_into
from bot.networks.webhook.settings import SECRET_PREFIX, SOURCE_NAME

EXIT_CONFIG = 2


def add_parser(sub: Any) -> None:
    hook = sub.add_parser(
        "webhook",
        help="signed webhook helpers",
        description="Helpers for the signed webhook (POST /ingest/<source>).",
    )
    hook_sub = hook.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    sign = hook_sub.add_parser(
        "sign",
        help="print the curl command that sends FILE, signed, to /ingest/SOURCE",
        description="Print a curl command that posts FILE (one post or a JSON array of posts in the replay format) "
        "to /ingest/SOURCE with a fresh signature (valid for 5 minutes). The secret comes from "
        "WEBHOOK_SECRET_<SOURCE> and is never printed.",
    )
    sign.add_argument("--source", required=True, help="the webhook source, as in WEBHOOK_SECRET_<SOURCE>")
    sign.add_argument("--url", default=None, help="the bot's base URL (default: http://localhost:$PORT)")
    sign.add_argument("file", type=Path, metavar="FILE")


def _env(env_file: Path | None) -> dict[str, str]:
    merged = dict(os.environ)
    load_dotenv_into(merged, env_file)
    return merged


def main(args: argparse.Namespace) -> int:
    from bot.networks.webhook.server import MAX_BODY, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    source = args.source.strip().lower()
    if not SOURCE_NAME.match(source):
        print("webhook sign: --source must be 1–32 of a-z, 0-9, _ and -", file=sys.stderr)
        return EXIT_CONFIG
    env = _env(getattr(args, "env_file", None))
    variable = SECRET_PREFIX + source.upper()
    secret = (env.get(variable) or "").strip()
    if not secret:
        print(f"webhook sign: {variable} is not set (in the environment or the .env file)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        body = args.file.read_bytes()
    except OSError as exc:
        print(f"webhook sign: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CONFIG
    if len(body) > MAX_BODY:
        print(f"webhook sign: {args.file} is over {MAX_BODY:,} bytes; the bot would refuse it (413)", file=sys.stderr)
        return EXIT_CONFIG
    timestamp = str(int(time.time()))
    base = (args.url or f"http://localhost:{env.get('PORT') or 3000}").rstrip("/")
    line = [
        "curl",
        "-sS",
        "-X",
        "POST",
        f"{base}/ingest/{source}",
        "-H",
        "Content-Type: application/json",
        "-H",
        f"{TIMESTAMP_HEADER}: {timestamp}",
        "-H",
        f"{SIGNATURE_HEADER}: {sign(secret, timestamp, body)}",
        "--data-binary",
        f"@{args.file}",
    ]
    print(" ".join(shlex.quote(part) for part in line))
    print("# valid for 5 minutes; the signature covers the file's exact bytes", file=sys.stderr)
    return 0
