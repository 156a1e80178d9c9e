"""The bot's HTTP server taking the signed webhook, and senders that sign the way a relay would.

Shared by the webhook tests (``tests/e2e/test_webhook.py``, ``tests/reliability/test_webhook_load.py``)
and ``bench/webhook_load.py``: the real app (``create_app``) behind waitress on 127.0.0.1, a real
database, and HTTP requests signed per the contract in ``bot.networks.webhook.server``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import resource
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from waitress.server import create_server

from bot import networks
from bot.app import Followthrough, create_app
from bot.common.clock import Clock, SystemClock
from bot.config import Secret, Settings
from bot.intake.inbox import InboxDrain
from bot.networks.webhook.server import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.networks.webhook.settings import WebhookSettings
from bot.runtime import build_ingestor
from bot.store import migrate
from bot.store.models import Complaint, InboxItem
from bot.store.models import Post as PostRow
from bot.web import MAX_BODY, make_wsgi_app, serve_in_background

SECRETS = {"facebook": "fb-secret-0123456789abcdef", "helpdesk": "hd-secret-0123456789abcdef"}
COMPLAINTS = "C0COMPLAIN"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float = 0.0


class WebhookServer:
    """The app serving /ingest/<source> (Slack arrives elsewhere: ``slack_events=False``)."""

    def __init__(
        self,
        database_url: str,
        *,
        clock: Clock | None = None,
        secrets: dict[str, str] | None = None,
        threads: int = 16,
        **settings: Any,
    ) -> None:
        secrets = SECRETS if secrets is None else secrets
        self.secrets = secrets
        self.settings = Settings(
            slack_complaints_channel=COMPLAINTS,
            slack_escalation_channel="C0ESCALATE",
            database_url=database_url,
            networks=networks.settings_with(
                webhook=WebhookSettings(secrets=tuple((name, Secret(value)) for name, value in secrets.items()))
            ),
            **settings,
        )
        self.clock = clock or SystemClock()
        self.app: Followthrough = create_app(self.settings, clock=self.clock, listener=False)
        migrate.upgrade(self.app.engine)
        wsgi = make_wsgi_app(self.app, slack_events=False)
        self.wsgi_ingest = wsgi.ingest  # type: ignore[attr-defined]
        self.server = create_server(
            wsgi,
            host="127.0.0.1",
            port=0,
            threads=threads,
            max_request_body_size=MAX_BODY,
        )
        self.port: int = self.server.effective_port  # type: ignore[union-attr]
        self.thread = serve_in_background(self.server, "webhook-http")
        self.drainer = InboxDrain(self.app.sessions, build_ingestor(self.app), self.clock)

    def close(self) -> None:
        self.server.close()
        self.server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        self.app.engine.dispose()

    # -- sending ---------------------------------------------------------------------------------
    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def post(
        self,
        source: str,
        body: bytes | Any,
        *,
        secret: str | None = None,
        timestamp: str | None = None,
        signature: str | None = None,
        conn: http.client.HTTPConnection | None = None,
        method: str = "POST",
    ) -> Answer:
        """Send ``body`` (bytes as they are; anything else as JSON), signed with ``source``'s secret
        at the clock's time unless told otherwise."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        ts = timestamp if timestamp is not None else str(int(self.clock.now().timestamp()))
        key = secret if secret is not None else self.secrets.get(source, "no-secret-for-this-source")
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: ts}
        headers[SIGNATURE_HEADER] = signature if signature is not None else sign(key, ts, data)
        own = conn is None
        conn = conn or self.connect()
        started = time.perf_counter()
        try:
            # refused before the whole body was sent (413): the answer is still there to read
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.request(method, f"/ingest/{source}", body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            if own:
                conn.close()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"raw": raw.decode(errors="replace")}
        return Answer(response.status, parsed, time.perf_counter() - started)

    # -- looking -------------------------------------------------------------------------------
    def commits(self) -> int:
        """Inbox transactions the webhook's group writer made (requests answered per commit)."""
        return self.wsgi_ingest.writer.commits

    def drain(self) -> int:
        return self.drainer.drain()

    def stored(self, source: str) -> int:
        with self.app.sessions() as session:
            return session.scalar(select(func.count()).select_from(PostRow).where(PostRow.source == source)) or 0

    def inbox_rows(self) -> int:
        with self.app.sessions() as session:
            return session.scalar(select(func.count()).select_from(InboxItem)) or 0

    def complaints(self, source: str) -> list[Complaint]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Complaint).where(Complaint.source == source).order_by(Complaint.id)))


def record(n: int, *, source: str | None = None, at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """A replay-format post; ``n`` makes the id, the author and the words differ (no folding)."""
    when = at or datetime.now(UTC) - timedelta(minutes=1)
    body = {
        "id": f"c{n}",
        "text": f"@AcmeHelp order {n} never arrived and nobody answers, ticket {n * 7919 % 100003}",
        "author_id": f"u{n}",
        "author_handle": f"customer{n}",
        "created_at": when.isoformat().replace("+00:00", "Z"),
        "followers": n % 500,
    }
    if source is not None:
        body["source"] = source
    body.update(extra)
    return body


# -- the load scenario ----------------------------------------------------------------------------
@dataclass
class LoadReport:
    posts: int
    requests: int
    retries: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    stored: int = 0
    inbox_rows: int = 0
    commits: int = 0
    server_cpu: float = 0.0
    """CPU seconds the bot's process used while the senders ran: the figure the machine's load
    does not change much (the wall-clock ones above it do)."""
    drained_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def lines(self) -> list[str]:
        return [
            f"{self.posts:,} posts in {self.requests:,} requests (+{self.retries} retries of sent bodies) "
            f"from concurrent senders in {self.seconds:.2f} s",
            f"sustained: {self.rate:,.0f} posts/s accepted (202 = stored in the inbox)",
            f"latency: p50 {self.percentile(50) * 1000:.0f} ms, p99 {self.percentile(99) * 1000:.0f} ms, "
            f"max {max(self.latencies, default=0) * 1000:.0f} ms",
            f"statuses: {dict(sorted(self.statuses.items()))}; {self.commits} group commits",
            f"the bot's CPU: {self.server_cpu:.2f} s ({self.server_cpu / max(self.posts, 1) * 1e6:.0f} µs a post, "
            f"{self.server_cpu / max(self.requests, 1) * 1000:.1f} ms a request) — a ceiling of "
            f"{self.posts / self.server_cpu if self.server_cpu else 0:,.0f} posts/s per free core",
            f"after the drain: {self.stored:,} posts stored (expected {self.posts:,}), "
            f"{self.inbox_rows} inbox rows left, drain {self.drained_seconds:.1f} s",
        ]


def _sender_process(
    port: int,
    secrets: dict[str, str],
    queues: list[list[bytes]],
    retry_share: float,
    seed: int,
    barrier: Any,
    results: Any,
) -> None:
    """One sending machine: a thread per sender, each with its own keep-alive connection."""
    lock = threading.Lock()
    out: dict[str, Any] = {"latencies": [], "statuses": {}, "requests": 0, "retries": 0, "failures": [], "end": 0.0}

    def sender(mine: list[bytes], seed: int) -> None:
        local = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        sent: list[bytes] = []
        todo = list(mine)
        attempts = 0
        while todo and attempts < len(mine) * 3 + 100:
            attempts += 1
            retry = bool(sent) and local.random() < retry_share
            body = local.choice(sent) if retry else todo[0]
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: ts,
                SIGNATURE_HEADER: sign(secrets["facebook"], ts, body),
            }
            started = time.perf_counter()
            try:
                conn.request("POST", "/ingest/facebook", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError as exc:
                status = -1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                out["failures"].append(f"{type(exc).__name__}")
            took = time.perf_counter() - started
            with lock:
                out["requests"] += 1
                out["retries"] += retry
                out["latencies"].append(took)
                out["statuses"][status] = out["statuses"].get(status, 0) + 1
            if status == 202 and not retry:
                sent.append(todo.pop(0))  # a failed body stays first in line: a real sender sends it again
        conn.close()

    threads = [threading.Thread(target=sender, args=(q, seed + i)) for i, q in enumerate(queues)]
    barrier.wait()  # every sending process is up (imports done) before the clock starts
    out["start"] = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["end"] = time.time()
    results.put(out)


def run_webhook_load(
    database_url: str,
    *,
    senders: int = 50,
    posts: int = 10_000,
    largest: int = 50,
    retry_share: float = 0.05,
    seed: int = 13,
    threads: int = 16,
    processes: int = 2,
) -> LoadReport:
    """``senders`` concurrent senders (threads spread over ``processes`` sending processes, as
    separate machines would be) post ``posts`` posts, 1–``largest`` a request, to /ingest/facebook;
    a ``retry_share`` of requests re-send a body already sent and answered (a sender retrying after
    a lost response). Then the inbox is drained: every post must be stored exactly once."""
    import multiprocessing

    rng = random.Random(seed)
    server = WebhookServer(database_url, threads=threads)
    try:
        batches: list[bytes] = []
        n = 0
        while n < posts:
            size = min(rng.randint(1, largest), posts - n)
            batches.append(json.dumps([record(i) for i in range(n, n + size)]).encode())
            n += size
        queues: list[list[bytes]] = [batches[i::senders] for i in range(senders)]
        ctx = multiprocessing.get_context("spawn")
        barrier, queue = ctx.Barrier(processes), ctx.Queue()
        procs = [
            ctx.Process(
                target=_sender_process,
                args=(server.port, server.secrets, queues[p::processes], retry_share, seed + 1000 * p, barrier, queue),
            )
            for p in range(processes)
        ]
        for proc in procs:
            proc.start()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        results = [queue.get(timeout=600) for _ in procs]
        after = resource.getrusage(resource.RUSAGE_SELF)
        for proc in procs:
            proc.join()
        seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
        report = LoadReport(posts=posts, requests=0, retries=0, seconds=seconds)
        report.server_cpu = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        for r in results:
            report.requests += r["requests"]
            report.retries += r["retries"]
            report.latencies += r["latencies"]
            for status, count in r["statuses"].items():
                report.statuses[status] = report.statuses.get(status, 0) + count
        drained = time.perf_counter()
        server.drain()
        report.drained_seconds = time.perf_counter() - drained
        report.stored = server.stored("facebook")
        with server.app.sessions() as session:
            report.inbox_rows = (
                session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status != "skipped")) or 0
            )
        report.commits = server.commits()
        return report
    finally:
        server.close()
