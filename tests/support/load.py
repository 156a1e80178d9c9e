"""Load: many people clicking at once against several web processes sharing one database.

Starts ``followthrough run --http --role web`` twice (and one ``--role worker``) on the given
database against the Slack stand-in, then ``users`` threads click Claim / Unclaim on random cards
and ask ``/complaints status``, alternating between the two processes as a load balancer would.
Latency is measured at the client, from sending to Slack's 200.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.devtools.interactions import block_action, post_signed, slash_command
from bot.slack.ids import Action
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint
from tests.support.procs import free_port, wait_for_port
from tests.support.slack_api import SlackStandIn

SECRET = "load-signing-secret"


@dataclass
class LoadReport:
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, min(len(ordered) - 1, round(p * len(ordered)) - 1))] if ordered else 0.0

    def lines(self) -> list[str]:
        return [
            f"requests={self.requests} in {self.seconds:.0f}s ({self.requests / max(self.seconds, 1e-9):.0f}/s) "
            f"errors={self.errors}",
            f"ack latency ms: p50={self.percentile(0.5):.0f} p90={self.percentile(0.9):.0f} "
            f"p99={self.percentile(0.99):.0f} max={self.percentile(1.0):.0f}",
        ]


def run_load(
    database_url: str,
    *,
    users: int = 50,
    seconds: float = 60.0,
    complaints: int = 300,
    seed: int = 1,
    think: tuple[float, float] = (0.2, 1.0),
) -> LoadReport:
    """``think``: each person's pause between clicks, uniform in this range (seconds); (0, 0) is a
    stress test with every user's next request sent the moment the last is answered."""
    team = [f"U0LOAD{i:03d}" for i in range(users)]
    source = f"load-{seed}-{time.time_ns()}"  # each run its own complaints, even on a reused database
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        rows = [
            Complaint(
                source=source,
                external_id=str(i),
                author_id=str(i),
                author_handle=f"c{i}",
                text=f"@AcmeHelp order {i} is late",
                posted_at=now,
                kind="complaint",
                status="new",
                priority=50,
                slack_channel="C0COMPLAIN",
                slack_ts=f"{int(now.timestamp())}.{i:06d}",
                created_at=now,
                updated_at=now,
            )
            for i in range(complaints)
        ]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
    engine.dispose()
    report = LoadReport()
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as slack:
        for user in team:
            slack.add_user(user, user.lower(), channels=("C0COMPLAIN",))
        (Path(tmp) / "empty.jsonl").write_text("")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            DATABASE_URL=database_url,
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN=slack.state.token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_COMPLAINTS_CHANNEL="C0COMPLAIN",
            SLACK_ESCALATION_CHANNEL="C0ESCALATE",
            LOG_LEVEL="WARNING",
            SLACK_POST_RATE="50",
        )
        ports = [free_port(), free_port()]
        log = open(Path(tmp) / "load.log", "wb")  # noqa: SIM115 - closed below
        try:
            for port in ports:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bot", "--env-file", os.devnull, "run", "--http", "--role", "web"],
                        env={**env, "PORT": str(port)},
                        cwd=tmp,
                        stdout=log,
                        stderr=log,
                    )
                )
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bot",
                        "--env-file",
                        os.devnull,
                        "run",
                        "--role",
                        "worker",
                        "--replay",
                        str(Path(tmp) / "empty.jsonl"),
                    ],
                    env=env,
                    cwd=tmp,
                    stdout=log,
                    stderr=log,
                )
            )
            for port, proc in zip(ports, procs, strict=False):
                wait_for_port(port, proc)
            lock = threading.Lock()
            start = time.monotonic()
            deadline = start + seconds

            def user_loop(index: int) -> None:
                local = random.Random(seed * 1000 + index)
                user = team[index]
                n = 0
                while time.monotonic() < deadline:
                    url = f"http://127.0.0.1:{ports[n % 2]}/slack/events"
                    n += 1
                    r = local.random()
                    try:
                        if r < 0.1:
                            status, _, took = post_signed(
                                url, None, SECRET, timeout=10, form=slash_command(user, "/complaints", "status")
                            )
                        else:
                            action = Action.CLAIM if r < 0.6 else Action.UNCLAIM
                            payload = block_action(user, action, value=str(local.choice(ids)))
                            status, _, took = post_signed(url, payload, SECRET, timeout=10)
                    except OSError:
                        status, took = 0, 10.0
                    with lock:
                        report.requests += 1
                        report.latencies_ms.append(took * 1000)
                        if status != 200:
                            report.errors += 1
                    if think[1] > 0:
                        time.sleep(local.uniform(*think))  # a person reading before the next click

            threads = [threading.Thread(target=user_loop, args=(i,)) for i in range(users)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            report.seconds = time.monotonic() - start
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            log.close()
    return report
