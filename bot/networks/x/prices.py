"""X's pay-per-use prices, in one place: change them here when X does (console.x.com → Billing shows
today's). These are April 2026's, as docs.x.com/x-api/getting-started/pricing listed them.

An "owned read" is a post of the brand's own account read with the brand's user-context keys (its
mentions, with X_API_KEY … X_ACCESS_TOKEN_SECRET set): five times cheaper than the same read with the
app-only bearer token.
"""

from __future__ import annotations

PRICES_AS_OF = "April 2026"
PRICES: dict[str, float] = {
    "post_read": 0.005,  # with the app-only bearer token (search, stream, mentions without the user keys)
    "post_read_owned": 0.001,
    "user_read": 0.010,
    "post_create": 0.015,
    "post_create_link": 0.200,
}
WORDS = {
    "post_read": "post reads",
    "post_read_owned": "owned post reads",
    "user_read": "user reads",
    "post_create": "replies",
    "post_create_link": "replies with a link",
}


def priced(**counts: int) -> dict[str, tuple[int, float]]:
    """``priced(post_read=3)`` → ``{"post_read": (3, 0.005)}``, for ``bot.intake.usage.add``."""
    return {item: (n, PRICES[item]) for item, n in counts.items()}
