"""No credential reaches any log at any level (#23, in part): the networks' clients are driven against
their stand-ins with the root logger at DEBUG — where oauthlib and requests_oauthlib log the OAuth
header and the keys by name, five lines a reply — and the captured log holds none of the secrets."""

from __future__ import annotations

import io
import logging
import re
from datetime import UTC, datetime

import pytest

from bot import logs
from bot.common.clock import FakeClock
from bot.networks.bluesky.client import BlueskySession
from bot.networks.mastodon.source import make_client as mastodon_client
from bot.networks.x.reply import make_user_client
from tests.support.bluesky_api import BlueskyStandIn
from tests.support.mastodon_api import MastodonStandIn
from tests.support.x_api import XStandIn

KEYS = {
    "api_key": "xk-3f9a7c1e5b2d",
    "api_secret": "xs-8d2b6f0a4c9e7b1d",
    "access_token": "99-at-5e1c9a3f7b2d",
    "access_secret": "xas-0c4e8a2f6b1d9e3a",
}
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:acmebrandacmebrandacmebr"


@pytest.fixture
def captured():
    """The bot's own logging set-up, its handler writing to a buffer, everything at DEBUG."""
    secrets = [*KEYS.values(), APP_PASSWORD, "masto-secret-token-7d1e"]
    logs.configure_logging("DEBUG", secrets)
    stream = io.StringIO()
    root = logging.getLogger()
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    yield stream, secrets
    logs.configure_logging("INFO")


def test_the_networks_clients_at_debug_leave_no_secret_in_the_log(captured):
    stream, secrets = captured
    with XStandIn() as x:
        x.set_brand("99", "AcmeHelp", **KEYS)
        me = make_user_client(KEYS["api_key"], KEYS["api_secret"], KEYS["access_token"], KEYS["access_secret"],
                              x.base_url).get_me(user_auth=True)  # fmt: skip
        assert me.data.username == "AcmeHelp"
    with MastodonStandIn(token="masto-secret-token-7d1e") as masto:
        masto.add_account("acmehelp", brand=True)
        client, _ = mastodon_client(masto.base_url, "masto-secret-token-7d1e", timeout=5)
        assert client.me()["acct"] == "acmehelp"
    with BlueskyStandIn() as bsky:
        bsky.add_account(DID, "acme.bsky.social", password=APP_PASSWORD)
        session = BlueskySession("acme.bsky.social", APP_PASSWORD, service_url=bsky.base_url,
                                 clock=FakeClock(datetime(2026, 3, 2, tzinfo=UTC)))  # fmt: skip
        assert session.did == DID
    log = stream.getvalue()
    assert "oauth" in log.lower()  # the OAuth libraries did log at DEBUG: the test looks at something
    for secret in secrets:
        assert secret not in log, secret
    # The request's signature in each form the libraries log it (the header, oauthlib's own line).
    assert 'oauth_signature="***"' in log or "oauth_signature" not in log
    assert not re.search(r"\bSignature: (?!\*\*\*)", log)
