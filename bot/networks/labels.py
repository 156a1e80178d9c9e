"""How a card names the network a post came from: a display name and a standard Slack emoji.

Why on every card: the team answers on the customer's network, and the same handle on two networks
is two different people; ``@jo`` alone does not say where to look. Sources without an entry (a
webhook source with its own name) show their name as given and a globe.
"""

from __future__ import annotations

NETWORKS: dict[str, tuple[str, str]] = {
    "x": ("X", ":bird:"),
    "bluesky": ("Bluesky", ":butterfly:"),
    "mastodon": ("Mastodon", ":elephant:"),
    "replay": ("Replay", ":page_facing_up:"),
    "facebook": ("Facebook", ":blue_book:"),
    "instagram": ("Instagram", ":camera_with_flash:"),
    "email": ("Email", ":email:"),
}
DEFAULT_ICON = ":globe_with_meridians:"


def network(source: str) -> tuple[str, str]:
    """(display name, emoji) of a source; the name is outside text for unknown sources — escape it."""
    return NETWORKS.get(source, (source, DEFAULT_ICON))
