"""Which hosts a source's post links may point to.

A post's ``url`` comes from outside (a replay file, a webhook); a card only turns it into a link
when it points at the network the post came from, so a crafted record can't put a phishing link
on a card under "view post".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

LINK_HOSTS: dict[str, tuple[str, ...]] = {
    "x": ("x.com", "twitter.com"),
    "bluesky": ("bsky.app",),
}
"""Each source's own hosts (subdomains included). Sources added later register theirs here; the
configured Mastodon instance and each webhook source's WEBHOOK_LINK_HOSTS_<SOURCE> are added at
start-up (``bot.networks.registry.register_link_hosts``)."""


def link_hosts(source: str) -> tuple[str, ...]:
    return LINK_HOSTS.get(source, ())


def register_host(source: str, host: str) -> None:
    """Add a host configured at start-up (the brand's Mastodon instance: links go to its copy of a post)."""
    host = host.lower().split(":")[0]
    if host and host not in LINK_HOSTS.get(source, ()):
        LINK_HOSTS[source] = (*LINK_HOSTS.get(source, ()), host)


def register_network_link_hosts(settings: Any) -> None:
    """Cards may link to the brand's Mastodon instance (its copy of each status)."""
    if settings.mastodon_base_url:
        register_host("mastodon", urlsplit(settings.mastodon_base_url).netloc)
