"""Ingest: one post in, at most one new complaint out — in one transaction with its audit event and
its outbox row, so a crash anywhere neither drops the post nor announces it twice.

Rules, in order:
1. a post already seen (same source and id) is dropped — X repeats posts after stream reconnects
   and polling overlaps are possible;
2. the brand's own posts are remembered and set aside;
3. a retweet of a known complaint amplifies it (count and reach go up; the card is refreshed);
4. a reply from the same customer in the same conversation joins their open complaint (it will
   appear in that card's thread) instead of opening a new one;
5. anything else is triaged and stored; complaints get a card, praise goes to the kudos channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import outbox
from bot.domain.posts import Post, text_key
from bot.domain.triage import Triage, priority
from bot.domain.types import OPEN_STATUSES, Kind, OutboxStatus, PostRole, Status
from bot.store.models import AuditEvent, Complaint, Outbox
from bot.store.models import Post as PostRow


class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    OWN = "own"
    AMPLIFIED = "amplified"
    REPLY = "reply"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    complaint_id: int | None = None
    kind: Kind | None = None
    """What triage made of the post; None for duplicates, own posts and retweets of stored posts."""


@dataclass(frozen=True)
class IngestPolicy:
    """What ingest needs to know about the deployment, as plain values."""

    complaints_channel: str
    kudos_channel: str | None = None
    brand_ids: frozenset[str] = frozenset()
    brand_handles: frozenset[str] = frozenset()

    def is_brand(self, post: Post) -> bool:
        return post.author_id in self.brand_ids or post.author_handle.lower() in self.brand_handles


_INSERT_POST = insert(PostRow.__table__)
_INSERT_EVENT = insert(AuditEvent.__table__)
_INSERT_OUTBOX = insert(Outbox.__table__)
_INSERT_COMPLAINTS = insert(Complaint.__table__).returning(Complaint.__table__.c.id, sort_by_parameter_order=True)


_C = Complaint.__table__.c
_AMPLIFY = (
    update(Complaint.__table__)
    .where(_C.id == bindparam("cid"))
    .values(
        amplification_count=_C.amplification_count + bindparam("n"),
        amplification_reach=_C.amplification_reach + bindparam("reach"),
        updated_at=bindparam("at"),
    )
)
_RANKING = select(
    _C.id,
    _C.kind,
    _C.triage_score,
    _C.author_followers,
    _C.amplification_reach,
    _C.amplification_count,
    _C.repeat_contact,
    _C.author_verified,
)
_SET_PRIORITY = update(Complaint.__table__).where(_C.id == bindparam("cid")).values(priority=bindparam("rank"))
_COUNT_REPLY = (
    update(Complaint.__table__)
    .where(_C.id == bindparam("cid"))
    .values(reply_count=_C.reply_count + 1, updated_at=bindparam("at"))
)


class _Ref:
    """A complaint created in this batch: its row's values, and its id once inserted."""

    __slots__ = ("id", "params")

    def __init__(self, params: dict[str, Any]) -> None:
        self.id: int | None = None
        self.params = params

    def get(self) -> int:
        if self.id is None:
            raise RuntimeError("complaint not inserted yet")
        return self.id


def _resolve(value: Any) -> Any:
    return value.get() if isinstance(value, _Ref) else value


@dataclass
class _Batch:
    """Rows gathered while ingesting a batch, written with one executemany per table at the end.

    Ingest is the hot path (thousands of posts a second during a storm); the ORM's per-object flush
    cost four times what the rules themselves do. Complaints are inserted at once (their id is
    needed); ledger, audit and outbox rows wait for ``flush``. The maps let a post see what earlier
    posts of the same batch did (a retweet of a complaint that arrived one post earlier).
    """

    session: Session
    at: datetime
    ledger: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    complaint_of_post: dict[tuple[str, str], int | _Ref] = field(default_factory=dict)
    open_by_conversation: dict[tuple[str, str, str], int | _Ref] = field(default_factory=dict)
    repeat_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    pending_complaints: list[tuple[dict[str, Any], _Ref]] = field(default_factory=list)
    amplified: dict[int, list[int]] = field(default_factory=dict)  # stored complaint id -> [reposts, reach]

    def flush_complaints(self) -> None:
        """Insert the pending complaints in one statement; their refs get their ids."""
        if not self.pending_complaints:
            return
        rows = self.session.execute(_INSERT_COMPLAINTS, [params for params, _ in self.pending_complaints]).all()
        for (_, ref), row in zip(self.pending_complaints, rows, strict=True):
            ref.id = row[0]
        self.pending_complaints = []

    def flush_amplification(self) -> None:
        """Retweets of complaints stored earlier: add up their counts, re-rank, refresh the cards —
        a few set-based statements per batch instead of several per retweet (storms are retweets)."""
        if not self.amplified:
            return
        at = self.at
        self.session.execute(
            _AMPLIFY, [{"cid": cid, "n": n, "reach": reach, "at": at} for cid, (n, reach) in self.amplified.items()]
        )
        rows = self.session.execute(_RANKING.where(_C.id.in_(list(self.amplified)))).all()
        ranks = {r.id: Ingestor.rank(r._asdict()) for r in rows if r.kind == Kind.COMPLAINT.value}
        if ranks:
            self.session.execute(_SET_PRIORITY, [{"cid": cid, "rank": rank} for cid, rank in ranks.items()])
            outbox.request_card_refreshes(self.session, ranks, at=at)
        self.amplified = {}

    def flush(self) -> None:
        # Core table inserts with bound parameters: compiled once, cached, executemany'd.
        self.flush_complaints()
        self.flush_amplification()
        for rows in (self.ledger, self.events, self.deliveries):
            for row in rows:
                row["complaint_id"] = _resolve(row["complaint_id"])
        for row in self.deliveries:
            if row["dedupe_key"].endswith(":{id}"):
                row["dedupe_key"] = row["dedupe_key"].replace("{id}", str(row["complaint_id"]))
        if self.ledger:
            self.session.execute(_INSERT_POST, self.ledger)
        if self.events:
            self.session.execute(_INSERT_EVENT, self.events)
        if self.deliveries:
            self.session.execute(_INSERT_OUTBOX, self.deliveries)
        self.ledger, self.events, self.deliveries = [], [], []

    def preload_repeat_counts(self, posts: Sequence[Post]) -> None:
        by_source: dict[str, set[str]] = {}
        for post in posts:
            by_source.setdefault(post.source, set()).add(post.author_id)
        for source, authors in by_source.items():
            for key in authors:
                self.repeat_counts.setdefault((source, key), 0)
            ids = list(authors)
            for start in range(0, len(ids), 500):
                rows = self.session.execute(
                    select(Complaint.author_id, func.count())
                    .where(
                        Complaint.source == source,
                        Complaint.author_id.in_(ids[start : start + 500]),
                        Complaint.kind == Kind.COMPLAINT.value,
                    )
                    .group_by(Complaint.author_id)
                )
                for author_id, count in rows:
                    self.repeat_counts[(source, author_id)] = count

    def repeat_count(self, source: str, author_id: str) -> int:
        key = (source, author_id)
        if key not in self.repeat_counts:
            self.repeat_counts[key] = self.session.execute(
                select(func.count())
                .select_from(Complaint)
                .where(
                    Complaint.source == source,
                    Complaint.author_id == author_id,
                    Complaint.kind == Kind.COMPLAINT.value,
                )
            ).scalar_one()
        return self.repeat_counts[key]

    def event(self, complaint_id: int | _Ref, actor: str, action: str, **values: Any) -> None:
        row = {
            "complaint_id": complaint_id,
            "promise_id": None,
            "actor": actor,
            "action": action,
            "from_status": None,
            "to_status": None,
            "note": None,
            "details": None,
            "at": self.at,
        }
        row.update(values)
        self.events.append(row)

    def deliver(self, kind: str, dedupe_key: str, complaint_id: int | _Ref, **values: Any) -> None:
        row = {
            "kind": kind,
            "dedupe_key": dedupe_key,
            "channel": None,
            "complaint_id": complaint_id,
            "promise_id": None,
            "payload": {},
            "priority": 0,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "available_at": self.at,
            "slack_ts": None,
            "last_error": None,
            "created_at": self.at,
            "sent_at": None,
        }
        row.update(values)
        self.deliveries.append(row)


@dataclass(frozen=True)
class _Pending:
    outcome: Outcome
    complaint_id: int | _Ref | None = None
    kind: Kind | None = None


def _result(pending: _Pending) -> IngestResult:
    cid = pending.complaint_id
    return IngestResult(pending.outcome, None if cid is None else _resolve(cid), pending.kind)


class Ingestor:
    def __init__(self, triage: Triage, policy: IngestPolicy) -> None:
        self.triage = triage
        self.policy = policy

    def ingest_batch(
        self,
        sessions: sessionmaker[Session],
        posts: Sequence[Post],
        *,
        at: datetime,
        also: Callable[[Session], None] | None = None,
    ) -> list[IngestResult]:
        """Ingest ``posts`` in one transaction, together with ``also`` (e.g. moving the cursor).

        If another process ingested one of them at the same moment, the unique constraint stops us;
        the batch is then redone post by post under savepoints, so the other process's copy wins
        and nothing is doubled or lost.
        """
        try:
            with sessions() as session, session.begin():
                batch = _Batch(session, at)
                batch.preload_repeat_counts(posts)
                pending = self._ingest_all(batch, posts)
                batch.flush()
                if also:
                    also(session)
                return [_result(p) for p in pending]
        except IntegrityError:
            with sessions() as session, session.begin():
                results = []
                for post in posts:
                    try:
                        with session.begin_nested():
                            results.extend(_result(p) for p in self._ingest_all(_Batch(session, at), [post], True))
                    except IntegrityError:
                        results.append(IngestResult(Outcome.DUPLICATE))
                if also:
                    also(session)
                return results

    def ingest(self, session: Session, post: Post, *, at: datetime) -> IngestResult:
        """Ingest one post inside the caller's transaction."""
        return _result(self._ingest_all(_Batch(session, at), [post], flush_each=True)[0])

    def _ingest_all(self, batch: _Batch, posts: Sequence[Post], flush_each: bool = False) -> list[_Pending]:
        seen = self._known_ids(batch.session, posts)
        results = []
        for post in posts:
            key = (post.source, post.id)
            if key in seen:
                results.append(_Pending(Outcome.DUPLICATE))
                continue
            seen.add(key)
            results.append(self._one(batch, post))
            if flush_each:
                batch.flush()
        return results

    @staticmethod
    def _known_ids(session: Session, posts: Sequence[Post]) -> set[tuple[str, str]]:
        known: set[tuple[str, str]] = set()
        by_source: dict[str, list[str]] = {}
        for post in posts:
            by_source.setdefault(post.source, []).append(post.id)
        for source, ids in by_source.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = session.execute(
                    select(PostRow.external_id).where(PostRow.source == source, PostRow.external_id.in_(chunk))
                )
                known.update((source, r[0]) for r in rows)
        return known

    # -- the rules -------------------------------------------------------------------------------
    def _one(self, batch: _Batch, post: Post) -> _Pending:
        if self.policy.is_brand(post):
            self._ledger(batch, post, None, PostRole.OWN)
            return _Pending(Outcome.OWN)

        if post.retweet_of:
            target = batch.complaint_of_post.get((post.source, post.retweet_of))
            if target is None:
                target = batch.session.execute(
                    select(PostRow.complaint_id).where(
                        PostRow.source == post.source,
                        PostRow.external_id == post.retweet_of,
                        PostRow.complaint_id.is_not(None),
                    )
                ).scalar_one_or_none()
            if target is not None:
                return self._amplify(batch, post, target)

        if post.conversation_id and (post.in_reply_to_id or post.conversation_id != post.id):
            open_id = batch.open_by_conversation.get((post.source, post.conversation_id, post.author_id))
            if open_id is None:
                open_id = batch.session.execute(
                    select(Complaint.id)
                    .where(
                        Complaint.source == post.source,
                        Complaint.conversation_id == post.conversation_id,
                        Complaint.author_id == post.author_id,
                        Complaint.kind == Kind.COMPLAINT.value,
                        Complaint.status.in_([s.value for s in OPEN_STATUSES]),
                    )
                    .order_by(Complaint.id.desc())
                    .limit(1)
                ).scalar_one_or_none()
            if open_id is not None:
                return self._attach_reply(batch, post, open_id)

        return self._create(batch, post)

    def _ledger(self, batch: _Batch, post: Post, complaint_id: int | _Ref | None, role: PostRole) -> None:
        batch.ledger.append(
            {
                "source": post.source,
                "external_id": post.id,
                "complaint_id": complaint_id,
                "role": role.value,
                "author_id": post.author_id,
                "author_handle": post.author_handle,
                "text": post.text,
                "posted_at": post.created_at,
                "created_at": batch.at,
            }
        )
        if complaint_id is not None:
            batch.complaint_of_post[(post.source, post.id)] = complaint_id

    def _amplify(self, batch: _Batch, post: Post, target: int | _Ref) -> _Pending:
        self._ledger(batch, post, target, PostRole.RETWEET)
        batch.event(
            target,
            f"{post.source}:@{post.author_handle}",
            "amplified",
            details={"post": post.id, "followers": post.followers},
        )
        if isinstance(target, _Ref):
            # Created in this batch: adjust the row before it is written; its card is not posted yet.
            row = target.params
            row["amplification_count"] += 1
            row["amplification_reach"] += post.followers
            if row["kind"] == Kind.COMPLAINT.value:
                row["priority"] = self.rank(row)
            return _Pending(Outcome.AMPLIFIED, target, Kind(row["kind"]))
        counts = batch.amplified.setdefault(target, [0, 0])
        counts[0] += 1
        counts[1] += post.followers
        return _Pending(Outcome.AMPLIFIED, target, None)

    @staticmethod
    def rank(row: dict[str, Any]) -> int:
        return priority(
            row["kind"],
            row["triage_score"],
            followers=row["author_followers"],
            amplification_reach=row["amplification_reach"],
            amplification_count=row["amplification_count"],
            repeat_contact=row["repeat_contact"],
            verified=row["author_verified"],
        )

    def _attach_reply(self, batch: _Batch, post: Post, target: int | _Ref) -> _Pending:
        self._ledger(batch, post, target, PostRole.REPLY)
        if isinstance(target, _Ref):
            target.params["reply_count"] += 1
        else:
            batch.session.execute(_COUNT_REPLY, {"cid": target, "at": batch.at})
        batch.event(
            target,
            f"{post.source}:@{post.author_handle}",
            "customer_reply",
            note=post.text[:500],
            details={"post": post.id},
        )
        batch.deliver(
            outbox.THREAD_REPLY,
            f"reply:{post.source}:{post.id}",
            target,
            payload={"source": post.source, "post_id": post.id},
        )
        return _Pending(Outcome.REPLY, target, Kind.COMPLAINT)

    def _create(self, batch: _Batch, post: Post) -> _Pending:
        verdict = self.triage.classify(post.text)
        repeat = batch.repeat_count(post.source, post.author_id) if verdict.kind is Kind.COMPLAINT else 0
        rank = priority(
            verdict.kind, verdict.score, followers=post.followers, repeat_contact=repeat, verified=post.verified
        )
        conversation = post.conversation_id or post.id
        params = dict(
            source=post.source,
            external_id=post.id,
            author_id=post.author_id,
            author_handle=post.author_handle,
            author_name=post.author_name,
            author_followers=post.followers,
            author_verified=post.verified,
            text=post.text,
            url=post.url,
            posted_at=post.created_at,
            lang=post.lang,
            conversation_id=conversation,
            text_key=text_key(post.text),
            sentiment_compound=verdict.compound,
            sentiment_pos=verdict.pos,
            sentiment_neg=verdict.neg,
            sentiment_neu=verdict.neu,
            kind=verdict.kind.value,
            triage_score=verdict.score,
            triage_signals=list(verdict.signals),
            priority=rank,
            status=Status.NEW.value,
            repeat_contact=repeat,
            amplification_count=0,
            amplification_reach=0,
            reply_count=0,
            customer_confirmed=False,
            created_at=batch.at,
            updated_at=batch.at,
        )
        complaint_id = _Ref(params)
        batch.pending_complaints.append((params, complaint_id))
        self._ledger(batch, post, complaint_id, PostRole.ORIGINAL)
        batch.event(
            complaint_id,
            f"{post.source}:@{post.author_handle}",
            "ingested",
            to_status=Status.NEW.value,
            details={"kind": verdict.kind.value, "score": verdict.score, "signals": list(verdict.signals)},
        )
        if verdict.kind is Kind.COMPLAINT:
            batch.repeat_counts[(post.source, post.author_id)] = repeat + 1
            batch.open_by_conversation[(post.source, conversation, post.author_id)] = complaint_id
            batch.deliver(
                outbox.POST_CARD,
                "card:{id}",
                complaint_id,
                channel=self.policy.complaints_channel,
                priority=rank,
            )
        elif verdict.kind is Kind.PRAISE and self.policy.kudos_channel:
            batch.deliver(outbox.KUDOS, "kudos:{id}", complaint_id, channel=self.policy.kudos_channel)
        return _Pending(Outcome.CREATED, complaint_id, verdict.kind)
