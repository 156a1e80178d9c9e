"""What ``followthrough check`` asks of Bluesky: the handle and app password log in."""

from __future__ import annotations

from typing import Any

from bot.common.clock import SystemClock
from bot.common.health import CheckResult, short_reason
from bot.networks.bluesky import settings as bluesky_settings


def check_bluesky(settings: Any) -> CheckResult:
    """The handle and app password log in (one createSession: Bluesky allows 30 per 5 minutes)."""
    bluesky = bluesky_settings.of(settings)
    if not bluesky.handle:
        return CheckResult("bluesky", True, "BLUESKY_HANDLE not set: Bluesky is off")
    # Only now: the atproto SDK takes about 1.5 s to import, paid by every `check` of a desk without Bluesky.
    from bot.networks.bluesky.client import BlueskyAuthError
    from bot.networks.bluesky.source import make_session

    session = make_session(settings, SystemClock())
    try:
        did = session.did
    except BlueskyAuthError as exc:
        return CheckResult("bluesky", False, f"{exc}: create a new app password and set BLUESKY_APP_PASSWORD")
    except Exception as exc:
        return CheckResult("bluesky", False, f"{session.service_url} unreachable: {short_reason(exc)}")
    finally:
        session.close()
    return CheckResult("bluesky", True, f"app password valid; brand account @{bluesky.handle} ({did})")
