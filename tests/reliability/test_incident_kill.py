"""Resolve incident with the real bot ``kill -9``'d mid-send (#24): one reply per customer, all texts
distinct, none doubled, none lost.

``tests/e2e/test_incidents.py`` kills its worker in-process (an exception raised at the X transport).
Here the bot runs as its own processes — ``followthrough run --http --replay …`` as ``test_crash``
runs it, on PostgreSQL with a second worker (``run --role worker``) beside it — against the X and
Slack stand-ins, and the kill is a SIGKILL of every bot process, sent from inside the X stand-in's
handling of ``POST /2/tweets`` while the replies go out: mostly once X has made the post (its answer
never arrives: the reply must not go twice), once before (it must still go). The bot is started
again each time. A storm of customers on X (and a few ordinary complaints among it) is read from the
replay file; Claim, and Resolve incident (Preview, then Send), are signed HTTP requests.

Two things a bot process does not let a test inject, and what stands in for them:
- the clock. Replies are paced within X's limits (one every 4.5 s) and a killed worker's row comes
  back after its 30 s lease, so each life runs on the machine's clock shifted ahead (``SystemClock``
  patched before the CLI starts), as the e2e test advances its fake clock between lives: after the
  first kill past the last planned reply, after each later one past the lease. The X stand-in's
  clock moves with it (its write limits, and the times the transport reads back when it looks for
  a reply it may have sent).
- start-up. A fresh ``python -m bot`` spent about 2 s importing before the first line of ``main``
  (1.7 s of it atproto, since asked only when Bluesky can reply); five starts of each process made
  this test 15 s on SQLite and 22 s on PostgreSQL. So each life is forked from one process that has
  imported the bot (``_zygote``) and runs the CLI's ``main`` from its arguments on: settings,
  schema check, Slack check, app, listener and worker loops. The kill is of that process; the
  fresh-process starts are ``test_crash``'s.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import func, select

from bot.delivery.worker import LEASE
from bot.devtools.interactions import block_action, post_signed, view_submission
from bot.slack.ids import Action, Field
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint, Delivery, Incident, IncidentUpdate
from tests.support.failover import _wait
from tests.support.incident_storm import BACKGROUND, LOGIN
from tests.support.procs import free_port, wait_for_port
from tests.support.slack_api import SlackStandIn
from tests.support.x_api import _LEADING_MENTIONS as LEADING_MENTIONS
from tests.support.x_api import XStandIn

ROOT = Path(__file__).resolve().parents[2]
SECRET = "incident-kill-signing-secret"
CHANNEL, ESCALATION = "C0COMPLAIN", "C0ESCALATE"
ALICE = "U0ALICE01"
BRAND_ID, BRAND = "99", "AcmeHelp"
STORM = 40
"""Customers writing about the login outage: the incident's customers are those detection groups
(all or nearly all; one it leaves out is an ordinary complaint with its own card)."""
NAMES = ("Sam Smith", "Alex Jones", "Jo Brown", "🦄 unicorn", "@acme_fan")
"""Their display names: ten or so share each first name ("there" for the last two), so the texts
differ only as the bot makes them differ (other phrasings, then a reference)."""
UNRELATED = (0, 1, 5, 12)
"""Ordinary complaints among the storm (``BACKGROUND``'s wordings): each must keep its own card."""
MADE, NOT_MADE = True, False
KILLS = ((1, MADE), (10, NOT_MADE), (20, MADE), (30, MADE))
"""When every bot process is killed: as X takes its n-th reply, after making the post (its answer
never arrives: the reply must not be posted again), or before (the reply must still be posted)."""
TEMPLATE = "{name}, logins work again — sorry for the trouble this morning."


class KillingX(XStandIn):
    """The X stand-in with a hook, ``on_post(n, made)``, run as it takes its n-th post: before making
    it (``made`` False; the hook returning True drops the request) and after, before answering."""

    on_post: Callable[[int, bool], bool] | None = None

    def _create_tweet(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.on_post is not None and self.on_post(len(self._posted_at) + 1, NOT_MADE):
            return 503, {"title": "Service Unavailable", "detail": "the sender died", "status": 503}  # never read
        status, answer = super()._create_tweet(body)
        if status == 201 and self.on_post is not None:
            self.on_post(len(self._posted_at), MADE)
        return status, answer


class Bots:
    """The bot's processes (``web``: ``run --http``; ``w1``: ``run --role worker``), each life forked
    from the zygote on a clock ``ahead`` of the machine's; ``kill`` is SIGKILL, returning once they
    are gone (the zygote ignores SIGCHLD: the kernel reaps them at once)."""

    def __init__(self, env: dict[str, str], replay: Path, port: int, workers: int) -> None:
        common = ["--env-file", os.devnull, "run", "--replay", str(replay)]
        self.argv = {"web": [*common, "--http"]} | {f"w{i}": [*common, "--role", "worker"] for i in range(1, workers)}
        self.log = replay.with_name("bots.log")
        self.port = port
        self.pids: dict[str, int] = {}
        self.lock = threading.Lock()
        with self.log.open("ab") as errors:
            self.zygote = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.test_incident_kill"],
                env=env,
                cwd=replay.parent,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )

    def start(self, ahead: float) -> None:
        assert self.zygote.stdin is not None
        assert self.zygote.stdout is not None
        with self.lock:
            for name, argv in self.argv.items():
                self.zygote.stdin.write(json.dumps([ahead, str(self.log), argv]) + "\n")
                self.zygote.stdin.flush()
                answer = self.zygote.stdout.readline()
                assert answer.strip().isdigit(), f"the zygote did not fork: {answer!r} (see {self.log})"
                self.pids[name] = int(answer)
            wait_for_port(self.port)  # a kill meanwhile waits: it must not find the listener half-started

    def kill(self) -> None:
        with self.lock:
            for pid in self.pids.values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                _wait(lambda pid=pid: not _alive(pid), 10, step=0.005)
            self.pids.clear()

    def close(self) -> None:
        self.kill()
        if self.zygote.stdin is not None:
            self.zygote.stdin.close()
        self.zygote.wait(10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _storm(x: XStandIn, now: datetime) -> tuple[list[str], list[str], list[str]]:
    """The outage's customers' posts on X (and in the replay file the bot reads), ordinary complaints
    among them: the replay lines, the customers' post ids, the ordinary complaints' post ids."""
    rng = random.Random(24)
    lines, storm, ordinary = [], [], []

    def add(post_id: str, author: str, text: str, name: str) -> None:
        at = now - timedelta(seconds=rng.uniform(60, 1200))
        x.add_user(author, f"{author}_h")
        x.add_tweet(post_id, text, author, created_at=at.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        record = {"id": post_id, "source": "x", "text": text, "author_id": author, "author_handle": f"{author}_h",
                  "author_name": name, "created_at": at.isoformat(), "followers": 100}  # fmt: skip
        lines.append(json.dumps(record))

    for n in range(STORM):
        storm.append(f"{9000 + n}")
        add(f"{9000 + n}", f"{50000 + n}", f"@{BRAND} {rng.choice(LOGIN)}", NAMES[n % len(NAMES)])
    for n in UNRELATED:
        ordinary.append(f"{8000 + n}")
        text = BACKGROUND[n].format(n=n + 3, item="lamp", city="York", month="May")
        add(f"{8000 + n}", f"{60000 + n}", f"@{BRAND} {text}", f"Name{n} Surname")
    rng.shuffle(lines)
    return lines, storm, ordinary


@pytest.mark.timeout(120)
def test_kill_9_mid_send_of_an_incident_resolution_answers_every_customer_once(db_url: str):
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as slack, KillingX() as x:
        shift = [0.0]
        x.now = lambda: datetime.now(UTC).timestamp() + shift[0]
        keys = x.set_brand(BRAND_ID, BRAND)
        slack.add_user(ALICE, "alice", channels=(CHANNEL,))
        replay = Path(tmp) / "posts.jsonl"
        lines, storm, ordinary = _storm(x, datetime.now(UTC))
        replay.write_text("\n".join(lines) + "\n")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            keys,
            PYTHONPATH=str(ROOT),
            DATABASE_URL=db_url,
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN=slack.state.token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_COMPLAINTS_CHANNEL=CHANNEL,
            SLACK_ESCALATION_CHANNEL=ESCALATION,
            SLACK_POST_RATE="100",
            X_API_URL=x.base_url,
            X_USER_ID=BRAND_ID,
            X_BRAND_HANDLE=BRAND,
            INCIDENT_MIN_AUTHORS="10",
            INCIDENT_WINDOW_MINUTES="30",
            DIGEST_TIME=(datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M"),
            PORT=str(port),
            LOG_LEVEL="WARNING",
        )
        bots = Bots(env, replay, port, workers=2 if db_url.startswith("postgresql") else 1)  # importing meanwhile
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        url = f"http://127.0.0.1:{port}/slack/events"
        sent_ack = threading.Event()
        killed = threading.Event()
        kills: list[tuple[int, bool]] = []

        def on_post(n: int, made: bool) -> bool:
            if (n, made) not in KILLS or (n, made) in kills:
                return False
            sent_ack.wait(10)  # the first reply may beat Send's answer to the test: X is slow then
            bots.kill()  # whichever process sent it never hears of it
            kills.append((n, made))
            killed.set()
            return True

        x.on_post = on_post

        def state() -> tuple[Incident | None, int, int]:
            """The incident, the posts stored, the deliveries pending."""
            with sessions() as s:
                found = s.scalars(select(Incident)).first()
                stored = s.scalar(select(func.count()).select_from(Complaint))
                pending = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending"))
            return found, stored or 0, pending or 0

        def anchor_ts() -> str:
            with sessions() as s:
                return s.scalar(select(Complaint.slack_ts).join(Incident, Incident.anchor_id == Complaint.id)) or ""

        try:
            bots.start(0.0)

            def settled() -> bool:
                found, stored, pending = state()
                return found is not None and stored == len(lines) and not pending

            _until(
                settled, 30, lambda: f"the storm read, its incident and cards (incident, stored, pending): {state()}"
            )
            incident, _, _ = state()
            assert incident is not None
            with sessions() as s:
                members = s.scalars(select(Complaint.external_id).where(Complaint.incident_id == incident.id)).all()
            assert set(members) <= set(storm), "no ordinary complaint is part of the incident"
            assert len(members) > max(n for n, _ in KILLS), "enough customers for the kills"
            customers = len(members)
            status, _, _ = post_signed(url, block_action(ALICE, Action.CLAIM, value=str(incident.anchor_id)), SECRET)
            assert status == 200
            opened = len(slack.state.views)
            click = block_action(ALICE, Action.INCIDENT_RESOLVE, value=str(incident.id), trigger_id=slack.trigger_id())
            status, _, _ = post_signed(url, click, SECRET)
            assert status == 200
            assert slack.wait_for(lambda: len(slack.state.views) > opened, 10), "the Resolve incident form opened"
            form = slack.state.views[opened]
            values = {Field.INCIDENT_TEMPLATE: {"value": TEMPLATE}}
            status, raw, _ = post_signed(url, view_submission(ALICE, form, values), SECRET)  # Preview
            assert status == 200, raw
            answer = json.loads(raw)
            assert answer["response_action"] == "update"
            confirm = {**answer["view"], "id": form["id"]}  # Slack keeps the view's id across the update
            assert json.dumps(confirm["blocks"]).count("logins work again") == 3, "three rendered examples"
            status, raw, _ = post_signed(url, view_submission(ALICE, confirm, {}), SECRET)  # Send
            assert (status, raw) in ((200, b""), (200, b"{}")), raw
            sent_ack.set()
            with sessions() as s:
                [update] = s.scalars(select(IncidentUpdate)).all()
            assert update.customers == customers
            assert update.finish_by is not None

            # After each kill the bot starts again, its clock moved on: after the first, past the
            # last planned reply (every reply is due); after each, past the dead row's lease.
            for n in range(len(KILLS)):
                assert killed.wait(30), f"kill {n + 1} of {len(KILLS)}: X took {len(x._posted_at)} replies"
                killed.clear()
                if n == 0:
                    shift[0] += (update.finish_by - update.created_at).total_seconds()
                shift[0] += LEASE.total_seconds() + 1
                bots.start(shift[0])

            def finished() -> bool:
                thread = [json.dumps(m["blocks"]) for m in slack.thread(CHANNEL, anchor_ts())]
                return any("Resolution sent:" in line for line in thread) and not state()[2]

            _until(finished, 30, lambda: f"the resolution sent: X took {len(x._posted_at)}, pending {state()[2]}")
        finally:
            bots.close()

        assert kills == list(KILLS)
        replies = [t for t in x.state.tweets if t.get("author_id") == BRAND_ID]
        by_target = Counter(r["id"] for t in replies for r in t["referenced_tweets"] if r["type"] == "replied_to")
        missing = sorted(set(members) - set(by_target))
        assert not missing, f"never answered: {missing}"
        assert set(by_target) == set(members), "nobody else answered"
        doubled = {target: n for target, n in by_target.items() if n > 1}
        assert not doubled, f"answered twice across the kills: {doubled}"
        words = [LEADING_MENTIONS.sub("", t["text"]) for t in replies]  # as X compares them
        assert len(set(words)) == len(words) == customers, "no two texts the same on X"

        with sessions() as s:
            rows = s.scalars(select(Delivery).where(Delivery.incident_update == update.id)).all()
            cards = dict(s.execute(select(Complaint.external_id, Complaint.slack_ts)).all())
            carded = s.scalar(
                select(func.count())
                .select_from(Complaint)
                .where(Complaint.slack_ts.is_not(None), Complaint.incident_id.is_(None))
            )
            owner = s.scalar(select(Complaint.owner_id).where(Complaint.id == incident.anchor_id))
            open_members = s.scalar(
                select(func.count())
                .select_from(Complaint)
                .where(Complaint.incident_id == incident.id, Complaint.status != "resolved")
            )
        assert owner == ALICE, "the incident was claimed"
        assert open_members == 0, "every member resolved with the incident"
        assert len(rows) == customers
        assert Counter(r.status for r in rows) == {"sent": customers}, [
            (r.key, r.status, r.last_error) for r in rows if r.status != "sent"
        ]
        assert sorted(r.remote_id for r in rows) == sorted(t["id"] for t in replies), "each row names its post"
        # The rows the kills cut off were tried again: posted if X had not made them, found if it had.
        assert sum(1 for r in rows if r.attempts > 1) >= len(KILLS)
        assert all(cards[p] for p in ordinary), "each ordinary complaint has its card"
        anchor = next(p for p in members if cards[p])
        assert not [p for p in members if cards[p] and p != anchor], "no member of the incident has a card of its own"
        top = [m for m in slack.channel_messages(CHANNEL) if not m.get("thread_ts")]
        assert sum("Incident #" in json.dumps(m["blocks"]) for m in top) == 1, "one incident card"
        assert len(top) == 1 + carded, "a card each for the incident and the rest, no other"
        [card] = [m for m in top if m["ts"] == anchor_ts()]
        assert "Incident resolved" in json.dumps(card["blocks"])
        thread = [json.dumps(m["blocks"]) for m in slack.thread(CHANNEL, card["ts"])]
        done = f"Resolution sent: *{customers} of {customers}* customers answered"
        assert [line for line in thread if "Resolution sent:" in line] == [line for line in thread if done in line]
        assert sum(done in line and "could not be" not in line for line in thread) == 1
    engine.dispose()


def _until(predicate: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    """Wait, bounded, for what the bot's processes do (``failover``'s wait, saying what did not come)."""
    try:
        _wait(predicate, timeout)
    except AssertionError:
        raise AssertionError(f"{what()}: not within {timeout:.0f}s") from None


# -- the zygote: the bot imported once, each life forked from it ----------------------------------------

PRELOAD = (
    "bot.cli",
    "bot.cli.run",
    "bot.app",
    "bot.runtime",
    "bot.web",
    "bot.checks",
    "bot.networks.replay.source",
    "bot.networks.x.wiring",
    "bot.networks.bluesky.wiring",
    "bot.networks.mastodon.wiring",
)
"""What a start imports (only sparing the time: a module left out is imported by the life itself)."""


def _zygote() -> None:
    """Import the bot, then fork a life for each line read (``[seconds ahead, log file, argv]``),
    answering with its pid; end when the input ends."""
    for name in PRELOAD:
        importlib.import_module(name)
    importlib.import_module("bot.triage.classify").Triage()  # its regular expressions land in re's cache
    assert threading.active_count() == 1, "nothing may run beside the fork"
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the lives: a killed one is gone
    while line := sys.stdin.readline():
        ahead, log, argv = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _life(float(ahead), log, argv)
        print(pid, flush=True)
    os._exit(0)  # nothing to clean up: the lives are the test's to end


def _life(ahead: float, log: str, argv: list[str]) -> NoReturn:
    """The CLI's ``main`` with ``argv``, its ``SystemClock`` ``ahead`` seconds ahead of the machine's."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        random.seed()
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        from bot.cli import main
        from bot.common import clock

        shifted = timedelta(seconds=ahead)
        clock.SystemClock.now = lambda _self: datetime.now(UTC) + shifted  # type: ignore[method-assign]
        sys.argv = ["followthrough", *argv]
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    _zygote()
