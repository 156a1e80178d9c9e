"""``followthrough demo``'s Bluesky post: one mention read from the local stand-in through the real
source (the atproto SDK over HTTP, the network's JSON mapped, the raw post written to the inbox)."""

from __future__ import annotations

from bot.intake.source import SourceContext
from bot.networks.bluesky.client import BlueskySession
from bot.networks.bluesky.source import BlueskyPoller
from bot.networks.bluesky.standin import BlueskyStandIn

BRAND_DID = "did:plc:acmehelpacmehelpacmehelp"
PASSWORD = "demo-demo-demo-demo"


def read_sample(ctx: SourceContext) -> int:
    """One mention read into the inbox; returns how many posts were read."""
    with BlueskyStandIn() as bsky:
        now = ctx.clock.now().timestamp()
        bsky.now = lambda: now
        bsky.add_account(BRAND_DID, "acmehelp.bsky.social", name="Acme Help", password=PASSWORD)
        bsky.add_account("did:plc:demodemodemodemodemodemo", "rosa.bsky.social", name="Rosa M", followers=2_300)
        bsky.add_post(
            "did:plc:demodemodemodemodemodemo",
            "@acmehelp.bsky.social my order #A-4471 says delivered but nothing came. Third time this month!",
            created_at=ctx.clock.now().isoformat(),
        )
        session = BlueskySession("acmehelp.bsky.social", PASSWORD, service_url=bsky.base_url, clock=ctx.clock)
        bluesky = BlueskyPoller(ctx, session)
        bluesky.step()
        session.close()
        return bluesky.read
