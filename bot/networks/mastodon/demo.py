"""``followthrough demo``'s Mastodon post: one mention read from the local stand-in through the real
source (Mastodon.py over HTTP, the status's HTML turned into text, the raw post written to the inbox)."""

from __future__ import annotations

from bot.intake.source import SourceContext
from bot.networks.mastodon.source import MastodonPoller, make_client
from bot.networks.mastodon.standin import MastodonStandIn


def read_sample(ctx: SourceContext) -> int:
    """One mention read into the inbox; returns how many posts were read."""
    with MastodonStandIn(domain="mastodon.example") as masto:
        now = ctx.clock.now().timestamp()
        masto.now = lambda: now
        masto.add_account("acmehelp", brand=True)
        tom = masto.add_account("tom", name="Tom K", followers=410, remote="fosstodon.example")
        masto.add_status(
            tom,
            '<p><span class="h-card"><a href="https://mastodon.example/@acmehelp" class="u-url mention">@<span>'
            "acmehelp</span></a></span> the app logs me out every time I open it &amp; support chat is down. "
            "Please fix!</p>",
        )
        client, last = make_client(masto.base_url, masto.token, timeout=10)
        mastodon = MastodonPoller(ctx, client, last)
        mastodon.step()
        return mastodon.read
