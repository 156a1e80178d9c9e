"""What ``followthrough check`` asks of Mastodon: the token, its scopes, the instance's reply length."""

from __future__ import annotations

from typing import Any

from bot.common.health import CheckResult, short_reason
from bot.networks.mastodon import settings as mastodon_settings


def check_mastodon(settings: Any) -> CheckResult:
    """The token works, can read notifications, and the instance says how long a reply may be."""
    mastodon = mastodon_settings.of(settings)
    if not mastodon.base_url or not mastodon.access_token:
        return CheckResult("mastodon", True, "MASTODON_BASE_URL not set: Mastodon is off")
    from mastodon import errors as m_errors  # only when it is set up: Mastodon.py takes ~0.5 s to import

    from bot.networks.mastodon.source import make_client

    client, _ = make_client(mastodon.base_url, mastodon.access_token.reveal(), timeout=15)
    try:
        me = client.me()
        client.notifications(types=["mention"], limit=1)
        instance = client.instance_v2()
    except m_errors.MastodonUnauthorizedError:
        return CheckResult("mastodon", False, "access token refused (401): revoked or mistyped MASTODON_ACCESS_TOKEN")
    except m_errors.MastodonAPIError as exc:
        status = exc.args[1] if len(exc.args) > 1 else "?"
        return CheckResult("mastodon", False, f"refused ({status}): the token needs the read and write:statuses scopes")
    except Exception as exc:
        return CheckResult("mastodon", False, f"{mastodon.base_url} unreachable: {short_reason(exc)}")
    limit = ((instance.get("configuration") or {}).get("statuses") or {}).get("max_characters", "?")
    dropped = _dropped(client)
    if dropped:
        return CheckResult(
            "mastodon",
            False,
            f"the brand account's notification policy drops mentions from {', '.join(dropped)}: those customers are "
            "never seen. In Mastodon: Notifications → filter settings (⚙), set them to “Filter” or “Accept” "
            "(filtered mentions are read too)",
        )
    return CheckResult(
        "mastodon",
        True,
        f"token valid; brand account @{me.get('acct')} on {mastodon.base_url}; replies up to {limit} characters",
    )


_WHO = {
    "for_not_following": "people the account does not follow",
    "for_not_followers": "people who do not follow it",
    "for_new_accounts": "new accounts",
    "for_private_mentions": "unsolicited private mentions",
    "for_limited_accounts": "accounts limited by moderators",
}


def _dropped(client: Any) -> list[str]:
    """Who the account's notification policy (Mastodon 4.3) drops outright; [] before 4.3."""
    try:
        policy = client._Mastodon__api_request("GET", "/api/v2/notifications/policy")
    except Exception:  # an older server (404) or a token without the scope: nothing to say
        return []
    return [who for key, who in _WHO.items() if (policy or {}).get(key) == "drop"]
