"""The command line as operators meet it: clear failures, working db commands, a running web process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.devtools.walkthrough import OUTAGE
from tests.e2e.helpers import ROOT, base_env, cli, free_port, wait_for_port
from tests.support.slack_api import SlackStandIn

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-test-token",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "SLACK_COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "SLACK_ESCALATION_CHANNEL": "C0ESCALATE",
}


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        ((), "Followthrough"),
        (("run",), "Socket Mode by default"),
        (("check",), "ok/FAILED"),
        (("db",), "schema"),
        (("db", "upgrade"), "latest schema"),
        (("db", "downgrade"), "REVISION"),
        (("db", "current"), "revisions"),
        (("demo",), "stand-in"),
    ],
)
def test_every_subcommand_has_help(args, expect):
    result = cli(*args, "--help", env=base_env())
    assert result.returncode == 0
    assert expect in result.stdout


def test_missing_settings_listed_at_once_without_traceback():
    result = cli("run", env=base_env(DATABASE_URL="postgresql://bot:pw123@db/x"))
    assert result.returncode == 2
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_COMPLAINTS_CHANNEL", "X_BEARER_TOKEN"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert "pw123" not in result.stderr


def test_python_dash_m_and_console_script_are_the_same():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("followthrough")), "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "run" in result.stdout


CTRL_C_DURING_IMPORT = """
import os, runpy, signal, sys

class CtrlC:
    # A real SIGINT to this process at the moment the command line starts importing SQLAlchemy: the
    # second or so a person who typed the wrong command has to press Ctrl-C in.
    def find_spec(self, name, path=None, target=None):
        if name == "sqlalchemy":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["followthrough", "--env-file", os.devnull, "check"]
runpy.run_module("bot", run_name="__main__")
"""


def test_ctrl_c_while_the_command_line_loads_is_one_line_not_a_traceback(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_DURING_IMPORT], env=base_env(), cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "Followthrough stopped: interrupted (Ctrl-C).\n"


def test_the_console_script_starts_where_python_dash_m_does():
    """The Ctrl-C above is caught in ``bot.__main__``; a console script pointing elsewhere would skip it."""
    script = Path(sys.executable).with_name("followthrough").read_text()
    assert "from bot.__main__ import main" in script


def test_db_upgrade_current_downgrade_on_sqlite(tmp_path: Path):
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}")
    before = cli("db", "current", env=env)
    assert before.returncode == 1
    assert "current: none (there is no database at" in before.stdout
    assert not (tmp_path / "ft.db").exists()  # looking does not create it
    up = cli("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    assert "latest" in up.stdout
    assert cli("db", "current", env=env).returncode == 0
    refused = cli("db", "downgrade", "base", env=env)  # no terminal to ask on: nothing is dropped
    assert refused.returncode == 2
    assert "--yes" in refused.stdout
    assert cli("db", "current", env=env).returncode == 0
    unknown = cli("db", "downgrade", "9999", env=env)
    assert unknown.returncode == 3
    [line] = unknown.stderr.strip().splitlines()
    assert "there is no schema revision '9999'; known: 0001, 0002, 0003" in line
    assert "Traceback" not in unknown.stderr
    down = cli("db", "downgrade", "base", "--yes", env=env)
    assert down.returncode == 0, down.stderr
    assert cli("db", "current", env=env).returncode == 1


def test_unreachable_database_is_one_clear_line_with_password_masked():
    url = f"postgresql+psycopg://bot:sekrit@127.0.0.1:{free_port()}/nope?connect_timeout=2"
    result = cli("db", "upgrade", env=base_env(DATABASE_URL=url))
    assert result.returncode == 3
    assert "cannot reach database postgresql+psycopg://bot:***@127.0.0.1" in result.stderr
    assert "sekrit" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
def test_run_refuses_an_out_of_date_postgres_schema(pg_url: str):
    result = cli("run", "--http", "--role", "web", env=base_env(DATABASE_URL=pg_url, **SLACK))
    assert result.returncode == 3
    assert "followthrough db upgrade" in result.stderr


def test_check_reports_each_dependency(tmp_path: Path):
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", **SLACK)
    with SlackStandIn() as slack:
        env["SLACK_API_URL"] = slack.base_url
        first = cli("check", "--http", "--replay", env=env)  # a fresh install: no database file yet
        assert first.returncode == 0, first.stdout
        assert "ok     database" in first.stdout
        assert "will be created and migrated on first run" in first.stdout
        assert not (tmp_path / "ft.db").exists()  # check creates nothing
        assert "ok     slack: token valid" in first.stdout

        assert cli("db", "upgrade", env=env).returncode == 0
        second = cli("check", "--http", "--replay", env=env)
        assert second.returncode == 0, second.stdout
        assert "ok     database" in second.stdout
        assert "ok     x: X_BEARER_TOKEN not set: X is not read" in second.stdout
        assert "sources: none has run yet" in second.stdout

        bad = cli("check", "--http", "--replay", env={**env, "SLACK_BOT_TOKEN": "xoxb-revoked"})
        assert bad.returncode == 1
        assert "FAILED slack: auth.test refused: invalid_auth" in bad.stdout
        assert "xoxb-revoked" not in bad.stdout + bad.stderr
    assert slack.calls_to("auth.test")


def test_check_compares_granted_scopes_with_the_manifest_and_each_channels_membership(tmp_path: Path):
    """An installation from before ``files:write``, and a private report channel nobody invited the
    app to: both fail one line each, saying what to do (the report used to be lost silently)."""
    from bot.slack.manifest import MANIFEST_SCOPES

    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}",
        SLACK_REPORT_CHANNEL="C0REPORTS",
        SLACK_KUDOS_CHANNEL="C0KUDOS",
        **SLACK,
    )
    with SlackStandIn() as slack:
        env["SLACK_API_URL"] = slack.base_url
        good = cli("check", "--http", "--replay", env=env)
        assert "ok     slack: token valid for team Followthrough Test as followthrough, with every scope" in good.stdout
        assert "ok     slack channels: a member of 4 channel(s)" in good.stdout
    with SlackStandIn(scopes=MANIFEST_SCOPES - {"files:write"}) as slack:
        env["SLACK_API_URL"] = slack.base_url
        slack.close_channel("C0REPORTS", private=True)
        slack.close_channel("C0KUDOS", private=False)
        bad = cli("check", "--http", "--replay", env=env)
        assert bad.returncode == 1
        assert (
            "FAILED slack: token valid for team Followthrough Test as followthrough, but without the scope(s) "
            in bad.stdout
        )
        assert "files:write that slack-manifest.yml asks for" in bad.stdout
        line = next(x for x in bad.stdout.splitlines() if "slack channels" in x)
        assert line.startswith("FAILED slack channels:")
        assert "SLACK_KUDOS_CHANNEL=C0KUDOS: the app is not a member — /invite it there" in line
        assert "SLACK_REPORT_CHANNEL=C0REPORTS: the app cannot see it (a private channel it is not in?)" in line
        assert "SLACK_COMPLAINTS_CHANNEL" not in line


def test_run_http_serves_health_and_stops_on_sigterm(tmp_path: Path):
    replay = tmp_path / "empty.jsonl"
    replay.write_text("")
    port = free_port()
    with SlackStandIn() as slack:
        env = base_env(
            DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", SLACK_API_URL=slack.base_url, PORT=str(port), **SLACK
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--env-file", "/dev/null", "run", "--http", "--replay", str(replay)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_port(port, proc)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                assert answer.status == 200
                assert json.loads(answer.read()) == {"ok": True}
            unsigned = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=b"{}", method="POST")
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(unsigned, timeout=5)
            assert info.value.code == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 0, stderr
        assert "xoxb-test-token" not in stderr
        assert (tmp_path / "ft.db").exists()  # SQLite was migrated by run itself


@pytest.fixture
def stand_in():
    with SlackStandIn() as slack:
        yield slack


def test_run_with_replay_ingests_the_file(tmp_path: Path, stand_in: SlackStandIn):
    import time

    from sqlalchemy import create_engine, text

    replay = tmp_path / "posts.jsonl"
    lines = [
        {
            "id": str(i),
            "text": f"@AcmeHelp still waiting for refund {i}",
            "author_id": str(i),
            "author_handle": f"c{i}",
            "created_at": "2026-03-01T12:00:00Z",
        }
        for i in range(30)
    ]
    replay.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n")
    db = tmp_path / "ft.db"
    env = base_env(DATABASE_URL=f"sqlite:///{db}", SLACK_API_URL=stand_in.base_url, **SLACK)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--env-file", "/dev/null", "run", "--role", "worker", "--replay", str(replay)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        stored = 0
        while time.monotonic() < deadline and stored < 30:
            if db.exists():
                engine = create_engine(f"sqlite:///{db}")
                try:
                    with engine.connect() as conn:
                        stored = conn.execute(text("SELECT count(*) FROM complaints")).scalar_one()
                except Exception:
                    stored = 0  # not migrated yet
                finally:
                    engine.dispose()
            time.sleep(0.1)  # polling another process's progress; no clock of ours is involved
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    assert stored == 30
    assert proc.returncode == 0, stderr
    assert "line 31 skipped: not JSON" in stderr


def test_check_says_what_a_new_team_would_trip_over(tmp_path: Path):
    """The first week's surprises (#25): a broken promise that would reach nobody, which sources are
    really read, a database that would vanish or cannot be written, an --env-file that is not there."""
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", **SLACK)
    with SlackStandIn() as slack:
        env["SLACK_API_URL"] = slack.base_url
        defaults = cli("check", "--http", env={**env, "WEBHOOK_SECRET_FACEBOOK": "s" * 32})
        assert defaults.returncode == 0, defaults.stdout
        assert "WARN   escalation: a broken promise is posted in C0ESCALATE mentioning nobody" in defaults.stdout
        assert "ok     reading: webhook (facebook)" in defaults.stdout
        assert "X sources are off" not in defaults.stdout

        named = cli(
            "check", "--http", env={**env, "NAG_ESCALATION_CONTACT": "S0TIER2AB", "WEBHOOK_SECRET_HELPDESK": "h" * 32}
        )
        assert "ok     escalation: a broken promise goes to C0ESCALATE, mentioning the group S0TIER2AB" in named.stdout
        assert "ok     reading: webhook (helpdesk)" in named.stdout

        nothing = cli("check", "--http", "--replay", env=env)
        assert "WARN   reading: no network is set up: only posts from `run --replay FILE` are read" in nothing.stdout

        for url, why in (
            ("sqlite:///", "no file named"),
            ("sqlite:///:memory:", "in memory"),
            (f"sqlite:///{tmp_path}", "is a folder"),
            (f"sqlite:///{tmp_path / 'missing' / 'ft.db'}", "does not exist"),
        ):
            refused = cli("check", "--http", "--replay", env={**env, "DATABASE_URL": url})
            assert refused.returncode == 1, url
            assert why in refused.stdout, (url, refused.stdout)

    missing = cli("--env-file", str(tmp_path / "nope.env"), "check", env=env)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"Followthrough cannot start: --env-file {tmp_path / 'nope.env'} does not exist"
    version = cli("--version", env=env)
    assert version.returncode == 0
    assert version.stdout.startswith("followthrough ")


def test_check_reports_x_credentials(tmp_path: Path):
    from tests.support.x_api import XStandIn

    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", **SLACK)
    assert cli("db", "upgrade", env=env).returncode == 0
    with SlackStandIn() as slack, XStandIn() as x:
        x.add_user("1000", "AcmeHelp")
        env.update(
            SLACK_API_URL=slack.base_url, X_API_URL=x.base_url, X_BRAND_HANDLE="AcmeHelp", X_BEARER_TOKEN=x.token
        )
        good = cli("check", "--http", env=env)
        assert good.returncode == 0, good.stdout
        assert "ok     x: credentials valid; brand account @AcmeHelp (1000)" in good.stdout
        bad = cli("check", "--http", env={**env, "X_BEARER_TOKEN": "expired-token"})
        assert bad.returncode == 1
        assert "FAILED x: credentials refused (401)" in bad.stdout
        assert "expired-token" not in bad.stdout + bad.stderr
        assert "ok     x usage: X API this month: nothing yet; mentions read with the bearer token" in good.stdout
        from tests.support.x_api import XFault

        x.inject(XFault(429, path="/2/users/by/username", mode="usage-capped"))
        capped = cli("check", "--http", env=env)
        assert capped.returncode == 1
        assert "FAILED x: X's usage cap is reached (Monthly)" in capped.stdout
        assert "console.x.com" in capped.stdout


@pytest.mark.parametrize(("flags", "answer"), [((), "HTTP 200"), (("--socket",), "acked over Socket Mode")])
def test_demo_runs_with_no_credentials_and_exits_0(tmp_path: Path, flags: tuple[str, ...], answer: str):
    result = cli("demo", *flags, env=base_env(), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "=== #complaints ===" in out
    assert f"-> alice claims: {answer}" in out
    assert f"-> bob resolves: {answer}" in out
    assert "Traceback" not in result.stderr
    assert "+2 similar" in out
    assert " d ago" not in out  # the sample is dated to the minutes before the run, not months back
    assert "=== #kudos ===" in out
    assert "@tier-2-oncall Complaint #1" in out

    # The login outage among the sample: one incident card, claimed through its own Claim button,
    # and not one card for any of its customers.
    assert "-> the login outage: incident #1 (login" in out
    assert f"-> bob claims incident #1: {answer}" in out
    complaints = out.split("=== #complaints ===", 1)[1].split("=== #escalations ===", 1)[0]
    cards = [card for card in complaints.strip("\n").split("\n\n") if card.strip()]
    [incident] = [card for card in cards if "*Incident #" in card]
    assert f"*{len(OUTAGE)} customers*" in incident
    assert "*Claimed* by @bob" in incident
    assert "[Post update]  [Resolve incident]" in incident
    others = "\n".join(card for card in cards if card is not incident)
    assert len(cards) > 5, complaints  # the ordinary complaints still have their cards
    assert not [handle for handle, _ in OUTAGE if f"@{handle}" in others], "a member got a card of its own"


def test_a_second_worker_on_one_sqlite_file_is_refused_in_one_line(tmp_path: Path, stand_in: SlackStandIn):
    replay = tmp_path / "empty.jsonl"
    replay.write_text("")
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", SLACK_API_URL=stand_in.base_url, **SLACK)
    args = [sys.executable, "-m", "bot", "--env-file", "/dev/null", "run", "--role", "worker", "--replay", str(replay)]
    first = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = tmp_path / "ft.db.worker.lock"
        for _ in range(300):  # the first worker takes the lock once its schema is ready
            if lock.exists() and lock.read_text().startswith("pid"):
                break
            first.wait(timeout=0.1) if first.poll() is not None else subprocess.run(["sleep", "0.1"], check=False)
        second = cli("run", "--role", "worker", "--replay", str(replay), env=env, cwd=tmp_path)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=20)
    assert second.returncode == 3
    [line] = second.stderr.strip().splitlines()
    assert "a worker is already running" in line
    assert "SQLite supports one worker process" in line
    assert "Traceback" not in second.stderr
    assert first.returncode == 0


def test_check_reports_deliveries_set_aside_and_posts_skipped(tmp_path: Path):
    from datetime import UTC, datetime

    from bot.store import migrate
    from bot.store.engine import make_engine, make_sessionmaker
    from bot.store.models import Delivery, InboxItem

    url = f"sqlite:///{tmp_path / 'ft.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as s, s.begin():
        s.add(
            Delivery(
                kind="alert",
                transport="slack",
                key="alert:x:1",
                lane="post:C1",
                channel="C1",
                payload={},
                priority=0,
                status="set_aside",
                attempts=1,
                available_at=now,
                created_at=now,
            )
        )
        s.add(
            InboxItem(
                stream="replay:x", position="line 3", record={}, status="skipped", error="missing id", received_at=now
            )
        )
    engine.dispose()
    with SlackStandIn() as slack:
        result = cli(
            "check", "--http", "--replay", env=base_env(DATABASE_URL=url, SLACK_API_URL=slack.base_url, **SLACK)
        )
    assert "SET ASIDE 1 delivery(ies)" in result.stdout
    assert "SKIPPED 1 raw post(s)" in result.stdout


def test_a_database_url_with_unencoded_password_characters_is_one_clear_message(tmp_path: Path):
    url = "postgresql://admin:Tr0ub@dor:Horse99@db.example/prod"
    for args in (("check", "--http"), ("run", "--http"), ("db", "upgrade")):
        result = cli(*args, env=base_env(DATABASE_URL=url, **SLACK))
        assert result.returncode == 2, (args, result.stderr)
        assert "must be percent-encoded" in result.stderr
        for fragment in ("Tr0ub", "dor:", "Horse99"):
            assert fragment not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_run_stops_in_one_line_when_slack_refuses_or_cannot_be_reached(tmp_path: Path):
    replay = tmp_path / "empty.jsonl"
    replay.write_text("")
    base = {"DATABASE_URL": f"sqlite:///{tmp_path / 'ft.db'}", **SLACK, "SLACK_APP_TOKEN": "xapp-1-test-app-token"}

    def run(**changes: str) -> subprocess.CompletedProcess:
        return cli("run", "--replay", str(replay), env=base_env(**{**base, **changes}))

    with SlackStandIn() as slack:
        revoked = run(SLACK_API_URL=slack.base_url, SLACK_BOT_TOKEN="xoxb-revoked")
        wrong_app = run(SLACK_API_URL=slack.base_url, SLACK_APP_TOKEN="xapp-1-wrong")
    unreachable = run(SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")
    for result, words in (
        (revoked, "slack: auth.test refused: invalid_auth"),
        (wrong_app, "socket mode: apps.connections.open refused the app token: invalid_auth"),
        (unreachable, "slack: auth.test failed"),
    ):
        assert result.returncode == 3, result.stderr
        [line] = [x for x in result.stderr.strip().splitlines() if x.strip()]
        assert line.startswith("Followthrough cannot start: ")
        assert words in line
        assert "xoxb-revoked" not in result.stderr
        assert "xapp-1-wrong" not in result.stderr


@pytest.mark.parametrize("port", ["busy", "-1", "99999"])
def test_run_http_on_a_port_it_cannot_use_stops_at_once_with_one_line(tmp_path: Path, port: str):
    """It used to log a thread traceback and keep running with no web server (busy, -1), or say it
    listened on 99999 and serve on a random port."""
    import socket as sockets

    replay = tmp_path / "empty.jsonl"
    replay.write_text("")
    holder = sockets.socket()
    holder.bind(("0.0.0.0", 0))  # noqa: S104 - the same interface the bot listens on
    holder.listen()
    number = str(holder.getsockname()[1]) if port == "busy" else port
    try:
        with SlackStandIn() as slack:
            env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}", SLACK_API_URL=slack.base_url, **SLACK)
            result = cli("run", "--http", "--replay", str(replay), "--port", number, env=env, timeout=30)
    finally:
        holder.close()
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "port" in line]
    assert len(lines) == 1, result.stderr
    assert number in lines[0]
    assert ("cannot listen" in lines[0]) if port == "busy" else ("is not a TCP port" in lines[0])
