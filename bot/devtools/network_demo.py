"""Sample posts from Bluesky and Mastodon for ``followthrough demo``, read through the real sources.

Each network's stand-in runs on 127.0.0.1 just long enough for its source to read one poll, so the
demo's cards come from the same code path as production: the atproto SDK and Mastodon.py talking
HTTP, mapping the network's JSON, and writing raw posts to the inbox.
"""

from __future__ import annotations

from bot.intake.source import SourceContext
from bot.networks.bluesky.client import BlueskySession
from bot.networks.bluesky.source import BlueskyPoller
from bot.networks.bluesky.standin import BlueskyStandIn
from bot.networks.mastodon.source import MastodonPoller, make_client
from bot.networks.mastodon.standin import MastodonStandIn

BRAND_DID = "did:plc:acmehelpacmehelpacmehelp"
PASSWORD = "demo-demo-demo-demo"


def read_network_samples(ctx: SourceContext) -> int:
    """One mention on each network, read into the inbox; returns how many posts were read."""
    with BlueskyStandIn() as bsky, MastodonStandIn(domain="mastodon.example") as masto:
        now = ctx.clock.now().timestamp()
        bsky.now = masto.now = lambda: now
        bsky.add_account(BRAND_DID, "acmehelp.bsky.social", name="Acme Help", password=PASSWORD)
        bsky.add_account("did:plc:demodemodemodemodemodemo", "rosa.bsky.social", name="Rosa M", followers=2_300)
        bsky.add_post(
            "did:plc:demodemodemodemodemodemo",
            "@acmehelp.bsky.social my order #A-4471 says delivered but nothing came. Third time this month!",
            created_at=ctx.clock.now().isoformat(),
        )
        masto.add_account("acmehelp", brand=True)
        tom = masto.add_account("tom", name="Tom K", followers=410, remote="fosstodon.example")
        masto.add_status(
            tom,
            '<p><span class="h-card"><a href="https://mastodon.example/@acmehelp" class="u-url mention">@<span>'
            "acmehelp</span></a></span> the app logs me out every time I open it &amp; support chat is down. "
            "Please fix!</p>",
        )
        session = BlueskySession("acmehelp.bsky.social", PASSWORD, service_url=bsky.base_url, clock=ctx.clock)
        bluesky = BlueskyPoller(ctx, session)
        bluesky.step()
        session.close()
        client, last = make_client(masto.base_url, masto.token, timeout=10)
        mastodon = MastodonPoller(ctx, client, last)
        mastodon.step()
        return bluesky.read + mastodon.read
