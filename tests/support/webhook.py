"""The bot's HTTP server taking the signed webhook, and senders that sign the way a relay would.

Shared by the webhook tests (``tests/e2e/test_webhook.py``, ``tests/reliability/test_webhook_load.py``)
and ``bench/webhook_load.py``: the real app (``create_app``) behind waitress on 127.0.0.1, a real
database, and HTTP requests signed per the contract in ``bot.webhook``.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from waitress.server import create_server

from bot.app import Followthrough, create_app
from bot.config import Secret, Settings
from bot.domain.clock import Clock, SystemClock
from bot.runtime import build_ingestor
from bot.sources.inbox import InboxDrain
from bot.store import migrate
from bot.store.models import Complaint, InboxItem
from bot.store.models import Post as PostRow
from bot.web import MAX_BODY, make_wsgi_app
from bot.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

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
            webhook_secrets=tuple((name, Secret(value)) for name, value in secrets.items()),
            **settings,
        )
        self.clock = clock or SystemClock()
        self.app: Followthrough = create_app(self.settings, clock=self.clock, listener=False)
        migrate.upgrade(self.app.engine)
        self.server = create_server(
            make_wsgi_app(self.app, slack_events=False),
            host="127.0.0.1",
            port=0,
            threads=threads,
            max_request_body_size=MAX_BODY,
        )
        self.port: int = self.server.effective_port  # type: ignore[union-attr]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
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
    drained_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def lines(self) -> list[str]:
        return [
            f"{self.posts:,} posts in {self.requests:,} requests (+{self.retries} retries of sent bodies) "
            f"from concurrent senders in {self.seconds:.2f} s",
            f"sustained: {self.rate:,.0f} posts/s accepted (202 = stored in the inbox)",
            f"latency: p50 {self.percentile(50) * 1000:.0f} ms, p99 {self.percentile(99) * 1000:.0f} ms, "
            f"max {max(self.latencies, default=0) * 1000:.0f} ms",
            f"statuses: {dict(sorted(self.statuses.items()))}",
            f"after the drain: {self.stored:,} posts stored (expected {self.posts:,}), "
            f"{self.inbox_rows} inbox rows left, drain {self.drained_seconds:.1f} s",
        ]


def run_webhook_load(
    database_url: str,
    *,
    senders: int = 50,
    posts: int = 10_000,
    largest: int = 50,
    retry_share: float = 0.05,
    seed: int = 13,
    threads: int = 16,
    on_server: Callable[[WebhookServer], None] | None = None,
) -> LoadReport:
    """``senders`` threads post ``posts`` posts (1–``largest`` a request) to /ingest/facebook; a
    ``retry_share`` of requests re-send a body already sent and answered (a sender retrying after a
    lost response). Then the inbox is drained and every post must be stored exactly once."""
    rng = random.Random(seed)
    server = WebhookServer(database_url, threads=threads)
    try:
        if on_server:
            on_server(server)
        batches: list[bytes] = []
        n = 0
        while n < posts:
            size = min(rng.randint(1, largest), posts - n)
            batches.append(json.dumps([record(i) for i in range(n, n + size)]).encode())
            n += size
        queues: list[list[bytes]] = [batches[i::senders] for i in range(senders)]
        lock = threading.Lock()
        report = LoadReport(posts=posts, requests=0, retries=0, seconds=0.0)
        failures: list[str] = []

        def sender(mine: list[bytes], seed: int) -> None:
            local = random.Random(seed)
            conn = server.connect()
            sent: list[bytes] = []
            todo = list(mine)
            retries = 0
            while todo:
                if sent and local.random() < retry_share:
                    body, retry = local.choice(sent), True
                else:
                    body, retry = todo.pop(0), False
                answer = server.post("facebook", body, conn=conn)
                with lock:
                    report.requests += 1
                    report.retries += retry
                    report.latencies.append(answer.seconds)
                    report.statuses[answer.status] = report.statuses.get(answer.status, 0) + 1
                if answer.status != 202:
                    failures.append(f"{answer.status} {answer.body}")
                    if not retry:
                        todo.insert(0, body)  # a real sender sends it again
                    retries += 1
                    if retries > 100:
                        return
                    continue
                if not retry:
                    sent.append(body)
            conn.close()

        workers = [threading.Thread(target=sender, args=(q, seed + i)) for i, q in enumerate(queues)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        report.seconds = time.perf_counter() - started
        drained = time.perf_counter()
        server.drain()
        report.drained_seconds = time.perf_counter() - drained
        report.stored = server.stored("facebook")
        with server.app.sessions() as session:
            report.inbox_rows = (
                session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status != "skipped")) or 0
            )
        if failures:
            report.statuses[-1] = len(failures)
        return report
    finally:
        server.close()
