"""Kill it anywhere: the real bot as a subprocess, ``kill -9``'d at random moments and restarted.

The bot runs in HTTP mode with a replay source against the local Slack stand-in, on a SQLite file
or PostgreSQL — on PostgreSQL optionally with a second worker process beside it (``workers=2``),
either of which may be killed. While it ingests the posts and delivers cards, clicks and ``/promise`` commands
arrive over signed HTTP. A killer ends the process (SIGKILL) at random times, sometimes from inside
Slack's handling of ``chat.postMessage`` (the post is made, the answer never arrives), sometimes
a few milliseconds after a click was sent; each time the bot is started again. At the end:
every post stored once, exactly one card per complaint, every acknowledged click's effect and every
acknowledged promise persisted, every due nag sent exactly once, the daily reminder once, and
nothing left pending (no delivery, no inbox row).

The traffic is bounded (``clicks`` requests the bot answered, every fifth a ``/promise … in 1
minute``), so what the bot is asked to send is known; the quiet period after the last kill is computed from it —
what is still pending at the configured post rate, the last promise's due time plus its ladder, a
killed worker's lease — and printed. When something is left pending, each row is listed with why it
has not gone (kind, attempts, lease or retry time, the lane's next turn, the last error).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.delivery.worker import LEASE
from bot.devtools.interactions import block_action, post_signed, slash_command
from bot.history.events import EventKind
from bot.slack.ids import Action
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import AuditEvent, Complaint, Delivery, InboxItem, Interaction, Lane, Promise
from bot.store.models import Post as PostRow
from tests.support.procs import free_port, wait_for_port
from tests.support.slack_api import SlackStandIn

SECRET = "crash-signing-secret"
CHANNEL, ESCALATION = "C0COMPLAIN", "C0ESCALATE"
TEAM = [f"U0TEAM{i:03d}" for i in range(6)]
LADDER = "0:dm,0.001:thread"  # at the due time, and 3.6 s later
LADDER_SECONDS = 3.6
POST_RATE = 40.0
PROMISE_IN = 60.0
"""``/promise #N in 1 minute …``: the shortest wait the due reader accepts (it refuses seconds)."""
PROMISES = 20
"""Promises are asked first (every other request) until this many were answered, while the kills go
on: made through to the traffic's end, the run waited a whole minute more for the last one to come
due. Counted by answers, not by requests: under load a start-up can take the first dozens of
requests (a run once asked all its promises of a fixed first sixty while the bot was down)."""


@dataclass
class CrashReport:
    posts_written: int = 0
    posts_stored: int = 0
    complaints: int = 0
    cards: int = 0
    missing_cards: list[int] = field(default_factory=list)
    doubled_cards: list[int] = field(default_factory=list)
    messages_doubled: int = 0
    doubled_kinds: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    clicks_acked: int = 0
    clicks_lost: int = 0
    promises_acked: int = 0
    promises_lost: int = 0
    nag_steps_due: int = 0
    nag_messages: int = 0
    nags_doubled: int = 0
    nags_missing: int = 0
    digests: int = 0
    left_pending: int = 0
    """Deliveries and inbox rows still pending when the run ended (must be 0)."""
    pending_rows: list[str] = field(default_factory=list)
    """Why each of them had not gone: kind, attempts, available_at (lease or retry), lane turn, error."""
    quiet_seconds: float = 0.0
    """How long the run waited after the last kill, at most: computed from what was still to send."""
    quiet_reason: str = ""
    seconds: float = 0.0
    lost_clicks: list[tuple[str, int, str]] = field(default_factory=list)
    bot_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.posts_stored == self.posts_written
            and not self.missing_cards
            and not self.doubled_cards
            and not self.messages_doubled
            and not self.clicks_lost
            and not self.promises_lost
            and not self.nags_doubled
            and not self.nags_missing
            and self.digests == 1
            and self.left_pending == 0
        )

    def lines(self) -> list[str]:
        return [
            f"kills: {sum(self.kills.values())} ({', '.join(f'{k} {v}' for k, v in sorted(self.kills.items()))}); "
            f"{self.seconds:.0f}s",
            f"posts written {self.posts_written}, stored once {self.posts_stored}; complaints {self.complaints}, "
            f"cards {self.cards}, missing {len(self.missing_cards)}, doubled {len(self.doubled_cards)}, "
            f"messages posted twice {self.messages_doubled} {dict(self.doubled_kinds) or ''}",
            f"clicks acknowledged {self.clicks_acked}, effect lost {self.clicks_lost}; /promise acknowledged "
            f"{self.promises_acked}, lost {self.promises_lost}",
            f"nag steps due {self.nag_steps_due}, sent {self.nag_messages}, doubled {self.nags_doubled}, "
            f"missing {self.nags_missing}; daily reminders {self.digests}; left pending {self.left_pending}",
            f"quiet period allowed {self.quiet_seconds:.0f}s ({self.quiet_reason})",
            *(f"PENDING {row}" for row in self.pending_rows[:40]),
            *(f"LOST CLICK {c}" for c in self.lost_clicks),
            *(f"bot: {line[:300]}" for line in (self.bot_errors if self.lost_clicks else [])),
        ]


def _replay_lines(n: int, rng: random.Random) -> list[str]:
    lines = []
    for i in range(n):
        r = rng.random()
        record: dict[str, Any] = {
            "id": str(100_000 + i),
            "author_id": str(i % 400),
            "author_handle": f"c{i % 400}",
            "created_at": "2026-03-02T08:00:00Z",
            "followers": rng.randrange(20_000),
        }
        if r < 0.55:
            record["text"] = f"@AcmeHelp order {i} never arrived and nobody replies, still waiting for a refund"
        elif r < 0.65 and i > 10:
            record["text"] = "RT: still waiting"
            record["retweet_of"] = str(100_000 + rng.randrange(i))
        elif r < 0.85:
            record["text"] = f"@AcmeHelp do you ship item {i} to Canada?"
        else:
            record["text"] = f"@AcmeHelp thank you, great service on order {i}!"
        lines.append(json.dumps(record))
    return lines


class Bot:
    """One bot process: the web listener with a worker (``run --http``), or a worker alone."""

    def __init__(self, env: dict[str, str], replay: Path, port: int | None, name: str = "bot") -> None:
        self.env, self.replay, self.port = env, replay, port
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.log = open(replay.with_name(f"{name}.log"), "ab")  # noqa: SIM115 - kept open across restarts

    def start(self) -> None:
        mode = ["--http"] if self.port is not None else ["--role", "worker"]
        with self.lock:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--env-file", os.devnull, "run", *mode, "--replay", str(self.replay)],
                env=self.env,
                cwd=self.replay.parent,
                stdout=self.log,
                stderr=self.log,
            )
        if self.port is not None:
            wait_for_port(self.port, self.proc)

    def kill(self) -> None:
        with self.lock:
            if self.proc and self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stop(self) -> None:
        with self.lock:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(30)
        self.log.close()


def run_crash_scenario(
    database_url: str,
    *,
    posts: int = 2000,
    kills: int = 20,
    seed: int = 1,
    clicks: int = 240,
    workers: int = 1,
) -> CrashReport:
    rng = random.Random(seed)
    report = CrashReport()
    started = time.monotonic()
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as slack:
        for user in TEAM:
            slack.add_user(user, user.lower(), channels=(CHANNEL,))
        replay = Path(tmp) / "posts.jsonl"
        lines = _replay_lines(posts, rng)
        replay.write_text("\n".join(lines) + "\n")
        report.posts_written = len(lines)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        digest_at = (datetime.now(UTC) + timedelta(seconds=80)).replace(second=0, microsecond=0)
        env.update(
            DATABASE_URL=database_url,
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN=slack.state.token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_COMPLAINTS_CHANNEL=CHANNEL,
            SLACK_ESCALATION_CHANNEL=ESCALATION,
            PORT=str(port),
            SCHEDULER_TICK_SECONDS="1",
            NAG_QUIET_HOURS="off",
            NAG_LADDER=LADDER,
            # One card per complaint is what this run counts; eighty customers waiting for a refund
            # at once would be one incident (its kill -9 run: tests/e2e/test_incidents.py).
            INCIDENT_MIN_AUTHORS="0",
            # The first reminder goes at the first DIGEST_TIME after the desk's first complaint: a
            # minute boundary 20–80 s from now, so it falls while the bots are being killed.
            DIGEST_TIME=digest_at.strftime("%H:%M"),
            SLACK_POST_RATE=str(POST_RATE),
            LOG_LEVEL="WARNING",
        )
        bots = [Bot(env, replay, port, "web")] + [Bot(env, replay, None, f"worker{i}") for i in range(1, workers)]
        for one in bots:
            one.start()

        def kill_all() -> None:
            for one in bots:
                one.kill()

        url = f"http://127.0.0.1:{port}/slack/events"
        acked_clicks: list[tuple[str, int, str]] = []
        acked_promises: list[str] = []
        stop = threading.Event()
        kill_on_post = threading.Event()
        killed_on_post = threading.Event()  # set once those processes are really gone

        def on_call(method: str, _body: dict[str, Any]) -> None:
            if method == "chat.postMessage" and kill_on_post.is_set():
                kill_on_post.clear()
                kill_all()  # Slack has made the post; whichever worker sent it never hears the answer
                report.kills["mid-post"] += 1
                killed_on_post.set()

        slack.on_call = on_call

        budget = threading.Semaphore(clicks)
        turns = itertools.count()
        last_promise = [time.monotonic()]

        def traffic() -> None:
            """``clicks`` requests the bot answered (every other a ``/promise`` until ``PROMISES`` were answered); a
            request that finds the bot down (killed, restarting) is not counted, so every run asks the same
            amount of work."""
            while not stop.is_set():
                with sessions() as s:
                    carded = s.scalars(select(Complaint.id).where(Complaint.slack_ts.is_not(None))).all()
                if not carded:
                    time.sleep(0.1)
                    continue
                if not budget.acquire(blocking=False):
                    return  # bounded traffic: what the bot must send is known
                time.sleep(rng.uniform(0.02, 0.12))  # a person's pace, roughly
                cid, user = rng.choice(carded), rng.choice(TEAM)
                if len(acked_promises) < PROMISES and next(turns) % 2 == 0:
                    token = uuid.uuid4().hex[:10]
                    form = slash_command(user, "/promise", f"#{cid} in 1 minute call back {token}")
                    sent_at = time.monotonic()
                    try:
                        status, raw, _ = post_signed(url, None, SECRET, form=form, timeout=5)
                    except (OSError, http.client.HTTPException):
                        budget.release()  # the bot was down: not an answered request
                        time.sleep(0.1)
                        continue
                    if status == 200 and "Promise recorded" in json.loads(raw or b"{}").get("text", ""):
                        acked_promises.append(token)
                        last_promise[0] = max(last_promise[0], sent_at)
                    continue
                action = rng.choice([Action.CLAIM, Action.UNCLAIM])
                try:
                    status, _, _ = post_signed(url, block_action(user, action, value=str(cid)), SECRET, timeout=5)
                except (OSError, http.client.HTTPException):
                    budget.release()
                    time.sleep(0.1)
                    continue
                if status == 200:
                    acked_clicks.append((user, cid, action.value.removeprefix("ft_")))

        clickers = [threading.Thread(target=traffic, daemon=True) for _ in range(3)]
        for w in clickers:
            w.start()
        for _ in range(kills):
            time.sleep(rng.uniform(0.5, 2.0))
            mode = rng.choice(["random", "mid-post", "mid-click"])
            victim = rng.choice(bots)  # with two workers: either one
            if mode == "mid-post":
                killed_on_post.clear()
                kill_on_post.set()
                if not killed_on_post.wait(5):
                    kill_on_post.clear()
                    if not killed_on_post.wait(1):  # nothing was being posted: kill anyway
                        victim.kill()
                        report.kills["random"] += 1
            elif mode == "mid-click":
                with sessions() as s:
                    carded = s.scalars(select(Complaint.id).where(Complaint.slack_ts.is_not(None)).limit(50)).all()
                if carded:
                    payload = block_action(rng.choice(TEAM), Action.CLAIM, value=str(rng.choice(carded)))
                    threading.Thread(target=_try, args=(url, payload, acked_clicks), daemon=True).start()
                    time.sleep(rng.uniform(0.0, 0.03))
                bots[0].kill()  # the one that answers clicks
                report.kills["mid-click"] += 1
            else:
                victim.kill()
                report.kills[f"random {victim.name}" if workers > 1 else "random"] += 1
            for one in bots:
                if one.proc is None or one.proc.poll() is not None:
                    one.start()
        stop.set()
        for w in clickers:
            w.join(10)

        # Let it finish: everything ingested, every card out, every nag step due has gone. The wait
        # allowed is what is left to do: the pending rows at the post rate (a row per turn, every one
        # on the complaints channel's lane at worst), a killed worker's lease, the last promise's due
        # time and ladder, and a start-up's worth of slack for each.
        pending_now = _pending(sessions)
        promise_wait = 0.0
        if acked_promises:
            promise_wait = max(0.0, last_promise[0] + PROMISE_IN + LADDER_SECONDS - time.monotonic())
        # ... and the daily reminder's minute: with the promises asked first, the run can be through
        # before it (it once ended with no reminder sent yet).
        digest_wait = max(0.0, (digest_at - datetime.now(UTC)).total_seconds())
        quiet = max(pending_now / POST_RATE + LEASE.total_seconds(), promise_wait, digest_wait) + 30.0
        report.quiet_seconds = quiet
        report.quiet_reason = (
            f"{pending_now} pending at {POST_RATE:.0f}/s + {LEASE.total_seconds():.0f}s lease, or the last promise's "
            f"due + ladder in {promise_wait:.0f}s, or the daily reminder in {digest_wait:.0f}s; the longest, + 30s"
        )
        deadline = time.monotonic() + quiet
        while time.monotonic() < deadline:
            with sessions() as s:
                stored = s.scalar(select(func.count()).select_from(PostRow))
                ladders = s.scalar(
                    select(func.count()).select_from(Promise).where(Promise.ladder_step < 2, Promise.status == "open")
                )
            reminded = any(m["text"].startswith("Daily reminder") for m in slack.channel_messages(CHANNEL))
            if stored == posts and not _pending(sessions) and not ladders and reminded:
                break
            time.sleep(0.5)
        for one in bots:
            one.stop()
        report.left_pending = _pending(sessions)
        report.pending_rows = _why_pending(sessions)

        with sessions() as s:
            report.posts_stored = s.scalar(select(func.count(func.distinct(PostRow.external_id)))) or 0
            rows = s.execute(select(Complaint.id, Complaint.kind, Complaint.duplicate_of, Complaint.slack_ts)).all()
            report.complaints = sum(1 for r in rows if r.kind == "complaint")
            # An acknowledged click left both its record (who, when, what) and its effect: the change,
            # or a refusal saying why nothing changed (someone else had claimed first).
            recorded = Counter(
                (i.user_id, int(i.ref), i.name)
                for i in s.scalars(
                    select(Interaction).where(Interaction.user_id.in_(TEAM), Interaction.ref.is_not(None))
                )
            )
            events = Counter(
                (
                    e.actor,
                    e.complaint_id,
                    (e.details or {}).get("action") if e.action == EventKind.REFUSED else e.action,
                )
                for e in s.scalars(select(AuditEvent).where(AuditEvent.actor.in_(TEAM)))
            )
            texts = set(s.scalars(select(Promise.text)))
            nag_rows = s.execute(
                select(Delivery.id, Delivery.promise_id, Delivery.payload).where(Delivery.kind.like("nag_%"))
            ).all()
            steps_due = s.scalar(select(func.sum(Promise.ladder_step))) or 0
            card_rows = dict(
                s.execute(select(Delivery.id, Delivery.complaint_id).where(Delivery.kind == "post_card")).all()
            )
        messages = [m for ch in list(slack.state.messages) for m in slack.channel_messages(ch)]
        outbox_ids = Counter((m.get("metadata") or {}).get("event_payload", {}).get("delivery_id") for m in messages)
        outbox_ids.pop(None, None)
        report.messages_doubled = sum(1 for count in outbox_ids.values() if count > 1)
        with sessions() as s:
            kinds = dict(s.execute(select(Delivery.id, Delivery.kind)).all())
        report.doubled_kinds = Counter(kinds.get(i, "?") for i, count in outbox_ids.items() if count > 1)
        cards: Counter[int] = Counter()
        for outbox_id, count in outbox_ids.items():
            if outbox_id in card_rows:
                cards[card_rows[outbox_id]] += count
        report.cards = len(cards)
        report.doubled_cards = [cid for cid, n in cards.items() if n > 1]
        report.missing_cards = [
            r.id for r in rows if r.kind == "complaint" and not r.duplicate_of and r.id not in cards
        ]
        acked = Counter(acked_clicks)
        report.clicks_acked = len(acked_clicks)
        report.clicks_lost = sum(max(0, n - min(events[key], recorded[key])) for key, n in acked.items())
        report.lost_clicks = [key for key, n in acked.items() if n > min(events[key], recorded[key])]
        log_text = "".join(p.read_text(errors="replace") for p in Path(tmp).glob("*.log"))
        if os.environ.get("CRASH_LOG_DIR"):  # keep the bots' logs for a person to read
            for log_file in Path(tmp).glob("*.log"):
                shutil.copy(log_file, Path(os.environ["CRASH_LOG_DIR"]) / log_file.name)
        report.bot_errors = [line for line in log_text.splitlines() if " ERROR " in line or "Error" in line][:40]
        report.promises_acked = len(acked_promises)
        report.promises_lost = sum(1 for token in acked_promises if not any(token in t for t in texts))
        per_step = Counter((r.promise_id, r.payload.get("step")) for r in nag_rows)
        report.nag_steps_due = int(steps_due)
        report.nags_doubled = sum(1 for n in per_step.values() if n > 1)
        report.nag_messages = sum(1 for r in nag_rows if outbox_ids.get(r.id))
        report.nags_missing = report.nag_steps_due - report.nag_messages
        report.digests = sum(1 for m in slack.channel_messages(CHANNEL) if m["text"].startswith("Daily reminder"))
    engine.dispose()
    report.seconds = time.monotonic() - started
    return report


def _pending(sessions: Any) -> int:
    with sessions() as s:
        deliveries = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending")) or 0
        inbox = s.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status == "pending")) or 0
    return deliveries + inbox


def _why_pending(sessions: Any) -> list[str]:
    """Each row still pending, with what holds it: its lease or retry time, its lane's next turn,
    whether it waits for a card, and its last error."""
    d, lane = Delivery.__table__.c, Lane.__table__.c
    with sessions() as s:
        rows = s.execute(
            select(d.id, d.kind, d.attempts, d.available_at, d.card_of, d.priority, d.last_error, lane.next_at)
            .outerjoin(Lane.__table__, lane.key == d.lane)
            .where(d.status == "pending")
            .order_by(d.id)
        ).all()
        cards = dict(s.execute(select(Complaint.id, Complaint.slack_ts)).all())
        inbox = s.scalars(select(InboxItem.id).where(InboxItem.status == "pending")).all()
    lines = [
        f"delivery {r.id} {r.kind} priority {r.priority} attempts {r.attempts} available_at {r.available_at} "
        f"lane next {r.next_at}"
        + (f" waits for card of #{r.card_of}" if r.card_of and not cards.get(r.card_of) else "")
        + (f" last error {r.last_error[:120]!r}" if r.last_error else "")
        for r in rows
    ]
    return lines + [f"inbox row {i} not ingested" for i in inbox]


def _try(url: str, payload: dict[str, Any], acked: list[tuple[str, int, str]]) -> None:
    """A click sent just before a kill: if it was acknowledged, its effect must have been stored."""
    try:
        status, _, _ = post_signed(url, payload, SECRET, timeout=5)
    except (OSError, http.client.HTTPException):
        return
    if status == 200:
        action = payload["actions"][0]
        acked.append((payload["user"]["id"], int(action["value"]), action["action_id"].removeprefix("ft_")))
