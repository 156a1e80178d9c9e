"""``followthrough check`` reports Bluesky and Mastodon, against their stand-ins, as the real CLI."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import base_env, cli
from tests.support.bluesky_api import BlueskyStandIn
from tests.support.mastodon_api import MastodonStandIn
from tests.support.slack_api import SlackStandIn

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-test-token",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "SLACK_COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "SLACK_ESCALATION_CHANNEL": "C0ESCALATE",
}
DID = "did:plc:acmebrandacmebrandacmebr"


def test_check_reports_bluesky_and_mastodon_credentials(tmp_path: Path):
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", **SLACK)
    with SlackStandIn() as slack, BlueskyStandIn() as bsky, MastodonStandIn(max_characters=640) as masto:
        bsky.add_account(DID, "acme.bsky.social", password="abcd-efgh-ijkl-mnop")
        masto.add_account("acmehelp", brand=True)
        env.update(
            SLACK_API_URL=slack.base_url,
            BLUESKY_HANDLE="acme.bsky.social",
            BLUESKY_APP_PASSWORD="abcd-efgh-ijkl-mnop",
            BLUESKY_SERVICE_URL=bsky.base_url,
            MASTODON_BASE_URL=masto.base_url,
            MASTODON_ACCESS_TOKEN=masto.token,
        )
        good = cli("check", "--http", "--replay", env=env)
        assert good.returncode == 0, good.stdout
        assert f"ok     bluesky: app password valid; brand account @acme.bsky.social ({DID})" in good.stdout
        assert "ok     mastodon: token valid; brand account @acmehelp" in good.stdout
        assert "replies up to 640 characters" in good.stdout

        bad = cli(
            "check",
            "--http",
            "--replay",
            env={**env, "BLUESKY_APP_PASSWORD": "zzzz-revoked-pass", "MASTODON_ACCESS_TOKEN": "revoked-token-9"},
        )
        assert bad.returncode == 1
        assert (
            "FAILED bluesky: Bluesky refused the handle or app password (HTTP 401 AuthenticationRequired)" in bad.stdout
        )
        assert "FAILED mastodon: access token refused (401)" in bad.stdout
        assert "zzzz-revoked" not in bad.stdout + bad.stderr
        assert "revoked-token-9" not in bad.stdout + bad.stderr


def test_check_fails_when_the_mastodon_policy_drops_mentions(tmp_path: Path):
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", **SLACK)
    with SlackStandIn() as slack, MastodonStandIn() as masto:
        masto.add_account("acmehelp", brand=True)
        env.update(SLACK_API_URL=slack.base_url, MASTODON_BASE_URL=masto.base_url, MASTODON_ACCESS_TOKEN=masto.token)
        masto.state.policy["for_not_following"] = "filter"
        filtered = cli("check", "--http", "--replay", env=env)
        assert filtered.returncode == 0, filtered.stdout  # filtered mentions are read: nothing to fix
        masto.state.policy["for_new_accounts"] = "drop"
        dropped = cli("check", "--http", "--replay", env=env)
    assert dropped.returncode == 1
    line = next(line for line in dropped.stdout.splitlines() if "mastodon:" in line)
    assert line.startswith("FAILED mastodon: the brand account's notification policy drops mentions from new accounts")
    assert "“Filter” or “Accept”" in line
