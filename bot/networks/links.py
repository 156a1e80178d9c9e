"""Which hosts a source's post links may point to.

A post's ``url`` comes from outside (a replay file, a webhook); a card only turns it into a link
when it points at the network the post came from, so a crafted record can't put a phishing link
on a card under "view post".
"""

from __future__ import annotations

LINK_HOSTS: dict[str, tuple[str, ...]] = {}
"""Each source's own hosts (subdomains included), from its ``Network.link_hosts``; what only the
settings know — the brand's Mastodon instance, each webhook source's ``WEBHOOK_LINK_HOSTS_<SOURCE>`` —
is added at start-up (``bot.networks.register_link_hosts``)."""


def set_hosts(source: str, hosts: tuple[str, ...]) -> None:
    LINK_HOSTS[source] = tuple(hosts)


def link_hosts(source: str) -> tuple[str, ...]:
    return LINK_HOSTS.get(source, ())


def register_host(source: str, host: str) -> None:
    """Add a host configured at start-up (the brand's Mastodon instance: links go to its copy of a post)."""
    host = host.lower().split(":")[0]
    if host and host not in LINK_HOSTS.get(source, ()):
        LINK_HOSTS[source] = (*LINK_HOSTS.get(source, ()), host)
