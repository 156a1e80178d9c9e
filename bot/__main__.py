"""``python -m bot`` and the ``followthrough`` console script both start here.

Why not ``bot.cli:main`` directly: importing the command line loads SQLAlchemy, Alembic and Slack,
about a second; a Ctrl-C in that second (or before ``run`` has set its own handler) raised
KeyboardInterrupt out of an import and printed a traceback. This module imports nothing heavy, so
it can turn that into one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

INTERRUPTED = 130
"""The shell's code for a command ended by Ctrl-C (128 + SIGINT)."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from bot.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        print("Followthrough stopped: interrupted (Ctrl-C).", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
