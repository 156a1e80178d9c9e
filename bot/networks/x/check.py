"""What ``followthrough check`` asks of X: the read credentials, and the reply keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.common.health import CheckResult, short_reason
from bot.networks.x import settings as x_settings


def check_x(settings: Any) -> CheckResult:
    x = x_settings.of(settings)
    if not x.bearer_token:
        return CheckResult("x", True, "X_BEARER_TOKEN not set: X is not read")
    import tweepy  # only when X is set up: a check of a desk without X does not load its SDK

    from bot.networks.x.client import make_x_client, usage_capped

    client = make_x_client(x.bearer_token.reveal(), x.api_url, timeout=15)
    try:
        if x.user_id:
            answer = client.get_user(id=x.user_id)
        elif x.brand_handle:
            answer = client.get_user(username=x.brand_handle)
        else:
            return CheckResult("x", False, "set X_USER_ID or X_BRAND_HANDLE so the brand account can be checked")
    except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
        return CheckResult("x", False, f"credentials refused ({exc.response.status_code}): bad, expired or unpaid")
    except tweepy.TooManyRequests as exc:
        if period := usage_capped(exc.response):
            return CheckResult(
                "x",
                False,
                f"X's usage cap is reached ({period}): nothing is read or replied on X until it resets or "
                "credits are added (console.x.com → Billing)",
            )
        return CheckResult("x", True, "credentials not checked: rate limited by X right now (try again in 15 min)")
    except Exception as exc:
        return CheckResult("x", False, f"unreachable: {short_reason(exc)}")
    if not answer.data:
        return CheckResult("x", False, "the brand account was not found")
    return CheckResult("x", True, f"credentials valid; brand account @{answer.data.username} ({answer.data.id})")


def check_x_replies(settings: Any) -> CheckResult:
    """Replying from the card: the brand account's OAuth 1.0a keys, tried with ``GET /2/users/me``."""
    x = x_settings.of(settings)
    if not x.can_reply:
        return CheckResult(
            "x replies",
            True,
            "off: set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET to reply from the card "
            "(cards offer “Open on X” meanwhile)",
        )
    import tweepy

    from bot.networks.x.reply import make_user_client

    client = make_user_client(
        x.api_key.reveal(),
        x.api_secret.reveal(),
        x.access_token.reveal(),
        x.access_token_secret.reveal(),
        x.api_url,
    )
    try:
        me = client.get_me(user_auth=True)
    except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
        return CheckResult("x replies", False, f"the brand's OAuth 1.0a keys were refused ({exc.response.status_code})")
    except Exception as exc:
        return CheckResult("x replies", False, f"unreachable: {short_reason(exc)}")
    if not me.data:
        return CheckResult("x replies", False, "X did not say whose keys these are")
    handle = str(me.data.username)
    if x.brand_handle and handle.lower() != x.brand_handle.lower():
        return CheckResult("x replies", False, f"the keys belong to @{handle}, not the brand @{x.brand_handle}")
    return CheckResult("x replies", True, f"set up: replies are posted as @{handle}")


def check_x_usage(settings: Any) -> CheckResult:
    """This month's X reads and replies and their cost, as counted in the database."""
    x = x_settings.of(settings)
    if not x.bearer_token:
        return CheckResult("x usage", True, "X is not set up: nothing to pay")
    from sqlalchemy import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.networks.x.usage import month_line
    from bot.store.engine import make_engine, make_sessionmaker

    owned = (
        "mentions read with the brand's keys (owned reads)"
        if x.can_reply
        else (
            "mentions read with the bearer token; set the four reply keys to read them "
            "as owned reads, a fifth the price"
        )
    )
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return CheckResult("x usage", True, f"nothing counted yet (no database yet); {owned}")  # never create it
    try:
        engine = make_engine(settings.database_url)
        try:
            with make_sessionmaker(engine)() as session:
                line = month_line(session, datetime.now(UTC))
        finally:
            engine.dispose()
    except SQLAlchemyError:
        return CheckResult("x usage", True, f"nothing counted yet (the database is not ready); {owned}")
    return CheckResult("x usage", True, f"{line or 'X API this month: nothing yet'}; {owned}")
