"""What ``followthrough check`` asks of X: the read credentials, and the reply keys."""

from __future__ import annotations

from typing import Any

import tweepy

from bot.common.health import CheckResult, short_reason
from bot.networks.x.client import make_x_client
from bot.networks.x.reply import make_user_client


def check_x(settings: Any) -> CheckResult:
    if not settings.x_bearer_token:
        return CheckResult("x", True, "X_BEARER_TOKEN not set: X sources are off (replay only)")
    client = make_x_client(settings.x_bearer_token.reveal(), settings.x_api_url, timeout=15)
    try:
        if settings.x_user_id:
            answer = client.get_user(id=settings.x_user_id)
        elif settings.x_brand_handle:
            answer = client.get_user(username=settings.x_brand_handle)
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
    if not settings.x_can_reply:
        return CheckResult(
            "x replies",
            True,
            "off: set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET to reply from the card "
            "(cards offer “Open on X” meanwhile)",
        )
    client = make_user_client(
        settings.x_api_key.reveal(),
        settings.x_api_secret.reveal(),
        settings.x_access_token.reveal(),
        settings.x_access_token_secret.reveal(),
        settings.x_api_url,
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
    if settings.x_brand_handle and handle.lower() != settings.x_brand_handle.lower():
        return CheckResult(
            "x replies", False, f"the keys belong to @{handle}, not the brand @{settings.x_brand_handle}"
        )
    return CheckResult("x replies", True, f"set up: replies are posted as @{handle}")
