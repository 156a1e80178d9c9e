"""The signed webhook: any other channel (Facebook, Instagram, a helpdesk, email) posts to
``/ingest/<source>`` with an HMAC signature. Each ``WEBHOOK_SECRET_<SOURCE>`` is one source, named
as its sender chooses. See ``docs/networks.md`` for the contract."""

from __future__ import annotations

from typing import Any

from bot.networks.network import Command, Network, lazy
from bot.networks.webhook.settings import WebhookSettings, of, set_up_in

KNOWN_SOURCES: dict[str, tuple[str, str]] = {
    "facebook": ("Facebook", ":blue_book:"),
    "instagram": ("Instagram", ":camera_with_flash:"),
    "email": ("Email", ":email:"),
}
"""How a card names webhook sources people commonly set up (others show their own name)."""


def _hosts(s: Any) -> dict[str, tuple[str, ...]]:
    """``WEBHOOK_LINK_HOSTS_<SOURCE>``: where that source's post links may point (none: shown unlinked)."""
    return {name: tuple(hosts) for name, hosts in of(s).link_hosts}


NETWORK = Network(
    name="webhook",
    label="Webhook",
    emoji=":globe_with_meridians:",
    settings=WebhookSettings,
    set_up_in=set_up_in,
    settings_hosts=_hosts,
    configured=lambda s: bool(of(s).secrets),
    sources=lazy("bot.networks.webhook.wiring:sources"),
    commands=(Command("webhook", lazy("bot.networks.webhook.cli:add_parser"), lazy("bot.networks.webhook.cli:main")),),
)
