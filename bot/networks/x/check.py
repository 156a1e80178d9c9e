"""What ``followthrough check`` asks of X: the read credentials, and the reply keys."""

from __future__ import annotations

from typing import Any

import tweepy

from bot.common.health import CheckResult, short_reason
from bot.networks.x import settings as x_settings
from bot.networks.x.client import make_x_client
from bot.networks.x.reply import make_user_client


def check_x(settings: Any) -> CheckResult:
    x = x_settings.of(settings)
    if not x.bearer_token:
        return CheckResult("x", True, "X_BEARER_TOKEN not set: X sources are off (replay only)")
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
