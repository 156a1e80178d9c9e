"""Which hosts a source's post links may point to.

A post's ``url`` comes from outside (a replay file, a webhook); a card only turns it into a link
when it points at the network the post came from, so a crafted record can't put a phishing link
on a card under "view post".
"""

from __future__ import annotations

LINK_HOSTS: dict[str, tuple[str, ...]] = {
    "x": ("x.com", "twitter.com"),
    "bluesky": ("bsky.app",),
}
"""Each source's own hosts (subdomains included). Sources added later register theirs here; the
configured Mastodon instance and each webhook source's WEBHOOK_LINK_HOSTS_<SOURCE> are added at
start-up (``bot.sources.registry.register_link_hosts``)."""


def link_hosts(source: str) -> tuple[str, ...]:
    return LINK_HOSTS.get(source, ())
