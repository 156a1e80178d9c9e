"""Ingest: one post in, at most one new complaint out — in one transaction with its audit event and
its outbox row, so a crash anywhere neither drops the post nor announces it twice.

Rules, in order:
1. a post already seen (same source and id) is dropped — X repeats posts after stream reconnects
   and polling overlaps are possible;
2. the brand's own posts are remembered and set aside;
3. an edit of a stored post (X gives each edit a new id) takes that version's place: a complaint's
   own post edited updates its text and card ("edited"), an edited reply is a thread line again,
   the brand's own edit is set aside; an edit of a post never stored goes on as a new post;
4. a retweet of a known complaint amplifies it (count and reach go up; the card is refreshed);
5. a reply from the same customer in the same conversation joins their open complaint (it will
   appear in that card's thread) instead of opening a new one;
6. anything else is triaged and stored; complaints get a card, praise goes to the kudos channel —
   except a complaint whose text matches an open one from the last day on the same network (a storm
   of copies; the same words on another network are another customer's, answered there): it is
   folded into that one's card (``+N similar``) here, as a stored fact, and gets no card of its own.
   Whatever later belongs to a folded complaint (its customer's reply, a retweet) shows on that card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import String, bindparam, case, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.desk import follow_up, replies
from bot.history import events
from bot.history.events import EventKind
from bot.incidents.detect import Detector, IncidentPolicy
from bot.intake.posts import Post, text_key
from bot.outbox.kinds import DeliveryKind, lane_for
from bot.store import dialect
from bot.store.bulk import insert_rows
from bot.store.engine import autoflush
from bot.store.enums import OPEN_STATUSES, DeliveryStatus, Kind, PostRole, Status
from bot.store.models import AuditEvent, Complaint, Delivery
from bot.store.models import Post as PostRow
from bot.store.types import UTCDateTime
from bot.triage.classify import Triage, priority
from bot.triage.learning import ModelReloader

FOLD_WINDOW = timedelta(hours=24)
"""A complaint folds into an open one with the same text created within this window."""
OPEN = [s.value for s in OPEN_STATUSES]


class Outcome(StrEnum):
    CREATED = "created"
    FOLDED = "folded"
    DUPLICATE = "duplicate"
    OWN = "own"
    AMPLIFIED = "amplified"
    REPLY = "reply"
    EDITED = "edited"


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
    follow_up_days: int = 0
    """For this many days after a complaint is resolved, its customer's next posts attach to it."""
    team_timezone: str = "UTC"
    """Due times in brand replies seen on a network are read in the owner's zone, else this one."""
    incidents: IncidentPolicy = field(default_factory=IncidentPolicy)
    """When many customers posting on one topic become one incident (``bot.incidents.detect``)."""

    def is_brand(self, post: Post) -> bool:
        return post.author_id in self.brand_ids or post.author_handle.lower() in self.brand_handles


_C = Complaint.__table__.c
_P = PostRow.__table__.c
# The batch's look-ups, built once: a statement built per call (ORM attributes, a fresh IN list)
# cost more in SQLAlchemy's coercion and cache-key work than SQLite spent answering it.
_IDS = bindparam("ids", expanding=True)
_SOURCE = bindparam("source", type_=String())
_KNOWN = select(_P.external_id).where(_P.source == _SOURCE, _P.external_id.in_(_IDS))
_RETWEETED = (
    select(_P.external_id, _P.complaint_id, _C.duplicate_of, _P.role)
    .join_from(PostRow.__table__, Complaint.__table__, _C.id == _P.complaint_id)
    .where(_P.source == _SOURCE, _P.external_id.in_(_IDS))
)
_PRIMARY_CANDIDATES = select(_C.source, _C.text_key, _C.id, _C.kind, _C.duplicate_of, _C.status, _C.created_at).where(
    _C.text_key.in_(_IDS), _C.created_at >= bindparam("since", type_=UTCDateTime())
)
_LOCK_OPEN = select(_C.id).where(_C.id.in_(_IDS), _C.status.in_(OPEN)).with_for_update()
_DUPLICATE_OF = select(_C.duplicate_of).where(_C.id == bindparam("cid"))
_COMPLAINT_KIND = Kind.COMPLAINT.value
_REPEATS = (
    select(_C.author_id, func.count())
    .where(_C.source == _SOURCE, _C.author_id.in_(_IDS), _C.kind == _COMPLAINT_KIND)
    .group_by(_C.author_id)
)
_REPEAT = (
    select(func.count())
    .select_from(Complaint.__table__)
    .where(_C.source == _SOURCE, _C.author_id == bindparam("author", type_=String()), _C.kind == _COMPLAINT_KIND)
)
_OPEN_IN_CONVERSATION = (
    select(_C.id)
    .where(
        _C.source == _SOURCE,
        _C.conversation_id == bindparam("conversation", type_=String()),
        _C.author_id == bindparam("author", type_=String()),
        _C.kind == _COMPLAINT_KIND,
        _C.status.in_(OPEN),
    )
    .order_by(_C.id.desc())
    .limit(1)
)
_VERSION = select(_P.complaint_id, _P.role).where(
    _P.source == _SOURCE, _P.external_id == bindparam("version", type_=String())
)
_VERSIONS = select(_P.external_id, _P.complaint_id, _P.role).where(_P.source == _SOURCE, _P.external_id.in_(_IDS))
_KIND_AND_TEXT = select(_C.kind, _C.text, _C.text_key).where(_C.id == bindparam("cid"))
_EDIT = (
    update(Complaint.__table__)
    .where(_C.id == bindparam("cid"))
    .values(
        text=bindparam("text"),
        text_key=case((_C.text_key.is_(None), None), else_=bindparam("key")),
        edited_at=bindparam("edited"),
        updated_at=bindparam("at"),
    )
)
_MAX_ID = select(func.coalesce(func.max(_C.id), 0))
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('complaints', 'id')) FROM generate_series(1, :n)")
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
).where(_C.id.in_(_IDS))
# Only ever up: a card's priority is the highest of what it carries (its own post with its reposts,
# the copies folded into it), whatever order or batches those arrived in.
_SET_PRIORITY = (
    update(Complaint.__table__)
    .where(_C.id == bindparam("cid"))
    .values(priority=case((_C.priority < bindparam("rank"), bindparam("rank")), else_=_C.priority))
)
_COUNT_REPLY = (
    update(Complaint.__table__)
    .where(_C.id == bindparam("cid"))
    .values(reply_count=_C.reply_count + 1, updated_at=bindparam("at"))
)
_FOLD_INTO = (
    update(Complaint.__table__)
    .where(_C.id == bindparam("cid"))
    .values(
        duplicate_count=_C.duplicate_count + bindparam("n"),
        amplification_reach=_C.amplification_reach + bindparam("reach"),
        priority=case((_C.priority < bindparam("rank"), bindparam("rank")), else_=_C.priority),
        updated_at=bindparam("at"),
    )
)
_D = Delivery.__table__.c
_RAISE_CARD = (
    update(Delivery.__table__)
    .where(_D.key == bindparam("card_key"), _D.status == DeliveryStatus.PENDING.value, _D.priority < bindparam("rank"))
    .values(priority=bindparam("rank"))
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


def _reserve_ids(session: Session, n: int) -> list[int]:
    """``n`` fresh complaint ids. PostgreSQL: from the table's sequence, so concurrent writers never
    collide. SQLite: past the largest id — safe because every transaction there holds the write
    lock from its start (``BEGIN IMMEDIATE``), so nobody else can insert meanwhile."""
    if dialect.is_postgres(session):
        return list(session.scalars(_NEXT_IDS, {"n": n}))
    autoflush(session)
    start = session.scalar(_MAX_ID)
    return list(range(int(start or 0) + 1, int(start or 0) + 1 + n))


def _resolve_if_known(value: int | _Ref | None) -> int | _Ref | None:
    """A stored id, or a batch row's id once inserted (else the row itself)."""
    if isinstance(value, _Ref):
        return value.id if value.id is not None else value
    return value


def _same(a: int | _Ref, b: int | _Ref) -> bool:
    """Whether two references (stored ids, or rows of this batch) name one complaint."""
    if a is b:
        return True
    first = a.id if isinstance(a, _Ref) else a
    second = b.id if isinstance(b, _Ref) else b
    return first is not None and first == second


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
    primaries: dict[tuple[str, str], int | _Ref] = field(default_factory=dict)  # (source, text key) -> open unfolded
    folded: dict[int, list[int]] = field(default_factory=dict)  # primary id -> [copies, reach, top rank]
    folded_into: dict[int, int] = field(default_factory=dict)  # stored complaint id -> its primary
    refresh: dict[int, int] = field(default_factory=dict)  # stored complaint id -> priority of its refresh
    text_keys: dict[int, str] = field(default_factory=dict)  # id(post) -> its near-duplicate key
    resolved: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, author) -> complaint to follow up
    card_requests: list[tuple[int | _Ref, str]] = field(default_factory=list)  # this batch's cards, not yet known by id
    requested_cards: dict[int, str] = field(default_factory=dict)  # complaint id -> channel its card is requested in
    roles: dict[tuple[str, str], PostRole] = field(default_factory=dict)  # this batch's posts -> their role
    created: list[_Ref] = field(default_factory=list)  # this batch's posts but praise: incident candidates

    def flush_complaints(self) -> None:
        """Insert the pending complaints in one statement; their refs get their ids.

        The ids are reserved first and inserted explicitly: an INSERT … RETURNING whose rows must
        come back in parameter order runs row by row on SQLite, which cost more than triage.
        """
        if not self.pending_complaints:
            return
        ids = _reserve_ids(self.session, len(self.pending_complaints))
        for (params, ref), cid in zip(self.pending_complaints, ids, strict=True):
            params["id"] = ref.id = cid
        insert_rows(self.session, Complaint.__table__, [params for params, _ in self.pending_complaints])
        self.pending_complaints = []

    def flush_amplification(self) -> None:
        """Retweets of complaints stored earlier: add up their counts — a few set-based statements
        per batch instead of several per retweet (storms are retweets). Re-ranked in ``rerank``."""
        if not self.amplified:
            return
        at = self.at
        self.session.execute(
            _AMPLIFY, [{"cid": cid, "n": n, "reach": reach, "at": at} for cid, (n, reach) in self.amplified.items()]
        )
        self.amplified = {}

    def rerank(self, ids: set[int]) -> None:
        """Rank again, from the rows as they are now, the cards whose reach grew this batch (reposts,
        folded copies) and refresh them. After both kinds of growth, and only ever up: a card's
        priority is then the same whatever batches its reposts and copies arrived in."""
        if not ids:
            return
        rows = self.session.execute(_RANKING, {"ids": sorted(ids)}).all()
        ranks = {r.id: Ingestor.rank(r._asdict()) for r in rows if r.kind == Kind.COMPLAINT.value}
        if ranks:
            self.session.execute(_SET_PRIORITY, [{"cid": cid, "rank": rank} for cid, rank in ranks.items()])
            self.session.execute(
                _RAISE_CARD, [{"card_key": outbox.card_key(cid), "rank": rank} for cid, rank in ranks.items()]
            )
            for cid, rank in ranks.items():
                self.refresh[cid] = max(rank, self.refresh.get(cid, 0))

    def flush_folding(self) -> None:
        """Copies folded into stored cards this batch: the cards count them, take their reach and the
        higher priority, and a card still waiting to be posted moves up the queue."""
        if not self.folded:
            return
        at = self.at
        self.session.execute(
            _FOLD_INTO,
            [
                {"cid": cid, "n": n, "reach": reach, "rank": rank, "at": at}
                for cid, (n, reach, rank) in self.folded.items()
            ],
        )
        self.session.execute(
            _RAISE_CARD, [{"card_key": outbox.card_key(cid), "rank": rank} for cid, (_, _, rank) in self.folded.items()]
        )
        for cid, (_, _, rank) in self.folded.items():
            self.refresh[cid] = max(rank, self.refresh.get(cid, 0))
        self.folded = {}

    def flush(self) -> None:
        # Core table inserts with bound parameters: compiled once, cached, executemany'd. New rows
        # first: the updates after them (a copy folded into a card created in this very batch)
        # must find the card's delivery row.
        self.flush_complaints()
        for rows in (self.ledger, self.events, self.deliveries):
            for row in rows:
                row["complaint_id"] = _resolve(row["complaint_id"])
        for row in self.deliveries:
            row["card_of"] = _resolve(row["card_of"])
            if row["key"].endswith(":{id}"):
                row["key"] = row["key"].replace("{id}", str(row["complaint_id"]))
        insert_rows(self.session, PostRow.__table__, self.ledger)
        insert_rows(self.session, AuditEvent.__table__, self.events)
        insert_rows(self.session, Delivery.__table__, self.deliveries)
        self.ledger, self.events, self.deliveries = [], [], []
        grown = set(self.amplified) | set(self.folded)
        self.flush_amplification()
        self.flush_folding()
        self.rerank(grown)
        if self.refresh:
            outbox.request_card_refreshes(self.session, self.refresh, at=self.at)
        self.refresh = {}

    def preload_retweeted(self, posts: Sequence[Post]) -> None:
        """The complaints that this batch's retweets amplify, and the cards those are shown on, in one
        query per source instead of two per retweet (storms are mostly retweets)."""
        by_source: dict[str, set[str]] = {}
        for post in posts:
            if post.retweet_of:
                by_source.setdefault(post.source, set()).add(post.retweet_of)
        for source, ids in by_source.items():
            wanted = list(ids)
            for start in range(0, len(wanted), 500):
                autoflush(self.session)
                rows = self.session.execute(_RETWEETED, {"source": source, "ids": wanted[start : start + 500]})
                for external_id, complaint_id, duplicate_of, role in rows:
                    self.roles.setdefault((source, external_id), PostRole(role))
                    self.complaint_of_post.setdefault((source, external_id), complaint_id)
                    self.folded_into[complaint_id] = duplicate_of or complaint_id

    def preload_primaries(self, keys: set[tuple[str, str]]) -> None:
        """The open, unfolded complaints (of the last day) that copies in this batch would fold into.

        Only complaints carry a text key, and the (text key, created) index finds the last day's in
        one range; the other conditions are checked here on the few rows that returns.
        """
        wanted_keys = {k for k in keys if k not in self.primaries}  # per network: (source, text key)
        wanted = sorted({key for _, key in wanted_keys})
        since = self.at - FOLD_WINDOW
        candidates: dict[tuple[str, str], list[int]] = {}
        for start in range(0, len(wanted), 500):
            autoflush(self.session)
            rows = self.session.execute(_PRIMARY_CANDIDATES, {"ids": wanted[start : start + 500], "since": since})
            for source, key, cid, kind, duplicate_of, status, created_at in rows:
                if (source, key) not in wanted_keys:
                    continue  # the same words on another network: another customer, another card
                if kind == Kind.COMPLAINT.value and duplicate_of is None and status in OPEN and created_at >= since:
                    candidates.setdefault((source, key), []).append(cid)
        if not candidates:
            return
        ids = sorted({cid for cids in candidates.values() for cid in cids})
        # A copy folded into a card that can never be posted (dead, set aside) would be invisible.
        targets = outbox.card_targets(self.session, ids)
        usable = {cid for cid in ids if targets[cid].usable}
        if usable and dialect.is_postgres(self.session):
            # Lock the chosen cards until this batch commits: a Resolve racing this ingest waits, and
            # then its cascade sees (and resolves) the copies folded in here. (SQLite's writers are
            # serialised by BEGIN IMMEDIATE already.)
            autoflush(self.session)
            still_open = self.session.scalars(_LOCK_OPEN, {"ids": sorted(usable)}).all()
            usable = set(still_open)
        for key, cids in candidates.items():
            good = sorted(cid for cid in cids if cid in usable)
            if good:
                self.primaries[key] = good[0]

    def key_of(self, post: Post) -> str:
        """The post's near-duplicate key, computed once per post."""
        key = self.text_keys.get(id(post))
        if key is None:
            key = self.text_keys[id(post)] = text_key(post.text)
        return key

    def primary_of(self, complaint_id: int | _Ref) -> int | _Ref:
        """The complaint whose card carries ``complaint_id``: the one it was folded into, or itself."""
        if isinstance(complaint_id, _Ref):
            return complaint_id.params.get("duplicate_of") or complaint_id
        if complaint_id not in self.folded_into:
            autoflush(self.session)
            self.folded_into[complaint_id] = (
                self.session.execute(_DUPLICATE_OF, {"cid": complaint_id}).scalar() or complaint_id
            )
        return self.folded_into[complaint_id]

    def preload_repeat_counts(self, posts: Sequence[Post]) -> None:
        by_source: dict[str, set[str]] = {}
        for post in posts:
            by_source.setdefault(post.source, set()).add(post.author_id)
        for source, authors in by_source.items():
            for key in authors:
                self.repeat_counts.setdefault((source, key), 0)
            ids = list(authors)
            for start in range(0, len(ids), 500):
                autoflush(self.session)
                rows = self.session.execute(_REPEATS, {"source": source, "ids": ids[start : start + 500]})
                for author_id, count in rows:
                    self.repeat_counts[(source, author_id)] = count

    def repeat_count(self, source: str, author_id: str) -> int:
        key = (source, author_id)
        if key not in self.repeat_counts:
            autoflush(self.session)
            self.repeat_counts[key] = self.session.execute(
                _REPEAT, {"source": source, "author": author_id}
            ).scalar_one()
        return self.repeat_counts[key]

    def event(self, complaint_id: int | _Ref, actor: str, kind: EventKind, **values: Any) -> None:
        self.events.append(events.row(kind, actor=actor, at=self.at, complaint_id=complaint_id, **values))

    def requested_card(self, card: int) -> str | None:
        """The channel of ``card``'s card when this batch requested it (the row is not written yet, so
        the database cannot say): rows for that card wait for it like any pending card's."""
        if self.card_requests:
            waiting = []
            for cid, channel in self.card_requests:
                if isinstance(cid, _Ref) and cid.id is None:
                    waiting.append((cid, channel))
                else:
                    self.requested_cards[_resolve(cid)] = channel
            self.card_requests = waiting
        return self.requested_cards.get(card)

    def deliver(self, kind: DeliveryKind, key: str, complaint_id: int | _Ref, channel: str, **values: Any) -> None:
        if kind is DeliveryKind.CARD:
            self.card_requests.append((complaint_id, channel))
        self.deliveries.append(
            outbox.row(
                kind,
                key=key,
                at=self.at,
                lane=lane_for(kind, channel),
                channel=channel,
                complaint_id=complaint_id,
                **values,
            )
        )

    def deliver_on_card(
        self, kind: DeliveryKind, key: str, complaint_id: int | _Ref, channel: str, **values: Any
    ) -> None:
        """A row for the card carrying ``complaint_id``; closed at once if that card can never exist."""
        card = self.primary_of(complaint_id)
        status, reason = DeliveryStatus.PENDING, None
        if not isinstance(card, _Ref):
            target = outbox.card_target(self.session, card)
            card = target.complaint_id  # an incident's member: the incident's card
            channel = target.channel or channel
            requested = None if target.usable or target.status is not None else self.requested_card(card)
            if requested is not None:
                channel = requested
            elif not target.usable:
                status, reason = DeliveryStatus.CLOSED, f"the card of #{card} cannot be posted ({target.status})"
        self.deliveries.append(
            outbox.row(
                kind,
                key=key,
                at=self.at,
                lane=lane_for(kind, channel),
                complaint_id=complaint_id,
                card_of=card,
                status=status,
                last_error=reason,
                **values,
            )
        )


@dataclass(frozen=True)
class _Pending:
    outcome: Outcome
    complaint_id: int | _Ref | None = None
    kind: Kind | None = None


def _result(pending: _Pending) -> IngestResult:
    cid = pending.complaint_id
    return IngestResult(pending.outcome, None if cid is None else _resolve(cid), pending.kind)


class Ingestor:
    def __init__(self, triage: Triage, policy: IngestPolicy, models: ModelReloader | None = None) -> None:
        self.triage = triage
        self.policy = policy
        self.models = models
        """When given, each batch triages with the newest stored model (see ``ModelReloader``)."""
        self.detector = Detector(policy.incidents, policy.complaints_channel)

    def _finish(self, batch: _Batch) -> None:
        """Write the batch, then group its new complaints into incidents — in the same transaction,
        so a storm's members never get cards of their own and a crash keeps both or neither."""
        batch.flush()
        if batch.created:
            created, batch.created = [ref.params for ref in batch.created], []
            self.detector.detect(batch.session, created, at=batch.at)

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
                self._finish(batch)
                if also:
                    also(session)
                return [_result(p) for p in pending]
        except IntegrityError:
            with sessions() as session, session.begin():
                results = []
                for post in posts:
                    try:
                        with session.begin_nested():
                            one = _Batch(session, at)
                            results.extend(_result(p) for p in self._ingest_all(one, [post], True))
                            self._finish(one)
                    except IntegrityError:
                        results.append(IngestResult(Outcome.DUPLICATE))
                if also:
                    also(session)
                return results

    def ingest(self, session: Session, post: Post, *, at: datetime) -> IngestResult:
        """Ingest one post inside the caller's transaction."""
        batch = _Batch(session, at)
        result = _result(self._ingest_all(batch, [post], flush_each=True)[0])
        self._finish(batch)
        return result

    def ingest_in(self, session: Session, posts: Sequence[Post], *, at: datetime) -> list[IngestResult]:
        """Ingest ``posts`` inside the caller's transaction (the inbox drain's)."""
        batch = _Batch(session, at)
        batch.preload_repeat_counts(posts)
        pending = self._ingest_all(batch, posts)
        self._finish(batch)
        return [_result(p) for p in pending]

    def _ingest_all(self, batch: _Batch, posts: Sequence[Post], flush_each: bool = False) -> list[_Pending]:
        self.detector.lock(batch.session)
        if self.models is not None:
            self.triage = self.models.current(batch.session, batch.at)
        seen = self._known_ids(batch.session, posts)
        batch.preload_retweeted(posts)
        batch.preload_primaries({(p.source, batch.key_of(p)) for p in posts if not p.retweet_of})
        if self.policy.follow_up_days:
            authors: dict[str, set[str]] = {}
            for post in posts:
                if not post.retweet_of:
                    authors.setdefault(post.source, set()).add(post.author_id)
            batch.resolved = follow_up.recently_resolved_many(
                batch.session, authors, at=batch.at, days=self.policy.follow_up_days
            )
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
                autoflush(session)
                rows = session.execute(_KNOWN, {"source": source, "ids": chunk})
                known.update((source, r[0]) for r in rows)
        return known

    # -- the rules -------------------------------------------------------------------------------
    def _one(self, batch: _Batch, post: Post) -> _Pending:
        if post.edit_of and (edited := self._edit(batch, post)) is not None:
            return edited

        if self.policy.is_brand(post):
            return self._brand_post(batch, post)

        if post.retweet_of:
            if self._role_of(batch, post.source, post.retweet_of) is PostRole.OWN:
                # "RT @brand: …" is the brand's words passed on — even a reply of the brand's in a
                # complaint's thread: it neither files a complaint nor amplifies the customer's.
                self._ledger(batch, post, None, PostRole.RETWEET)
                return _Pending(Outcome.OWN)
            target = batch.complaint_of_post.get((post.source, post.retweet_of))
            if target is not None:
                return self._amplify(batch, post, target)

        if post.conversation_id and (post.in_reply_to_id or post.conversation_id != post.id):
            open_id = batch.open_by_conversation.get((post.source, post.conversation_id, post.author_id))
            if open_id is None:
                autoflush(batch.session)
                open_id = batch.session.execute(
                    _OPEN_IN_CONVERSATION,
                    {"source": post.source, "conversation": post.conversation_id, "author": post.author_id},
                ).scalar_one_or_none()
            if open_id is not None:
                return self._attach_reply(batch, post, open_id)

        resolved = batch.resolved.get((post.source, post.author_id))
        if resolved is not None:
            return self._follow_up(batch, post, resolved)

        return self._create(batch, post)

    def _brand_post(self, batch: _Batch, post: Post) -> _Pending:
        """The brand's own post: set aside — unless it answers a complaint's conversation, when it
        shows in that card's thread, sets its first response time, and its promises are proposed."""
        target = None
        if post.conversation_id and (post.in_reply_to_id or post.conversation_id != post.id):
            batch.flush()  # a complaint created earlier in this batch must be findable
            target = replies.conversation_complaint(batch.session, post.source, post.conversation_id)
        self._ledger(batch, post, target, PostRole.OWN)
        if target is None:
            return _Pending(Outcome.OWN)
        batch.flush()
        replies.seen_on_network(
            batch.session,
            target,
            source=post.source,
            post_id=post.id,
            text=post.text,
            handle=post.author_handle,
            posted_at=post.created_at,
            at=batch.at,
            team_tz=self.policy.team_timezone,
        )
        return _Pending(Outcome.OWN, target)

    def _follow_up(self, batch: _Batch, post: Post, complaint_id: int) -> _Pending:
        """The customer posted again within FOLLOW_UP_DAYS of their complaint's resolution."""
        verdict = self.triage.classify(post.text, post.lang)
        self._ledger(batch, post, complaint_id, PostRole.REPLY)
        batch.session.execute(_COUNT_REPLY, {"cid": complaint_id, "at": batch.at})
        batch.deliver_on_card(
            DeliveryKind.CUSTOMER_REPLY,
            f"reply:{post.source}:{post.id}",
            complaint_id,
            self.policy.complaints_channel,
            payload={"source": post.source, "post_id": post.id},
        )
        batch.flush()
        follow_up.follow_up(
            batch.session,
            complaint_id,
            post_id=post.id,
            actor=self._actor(post),
            text=post.text,
            outcome=follow_up.outcome_of(verdict.kind, verdict.compound),
            at=batch.at,
        )
        # The customer's next posts in this batch join it too (a reopened one as "attached").
        return _Pending(Outcome.REPLY, complaint_id, Kind.COMPLAINT)

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
        batch.roles[(post.source, post.id)] = role
        if complaint_id is not None:
            batch.complaint_of_post[(post.source, post.id)] = complaint_id

    @staticmethod
    def _role_of(batch: _Batch, source: str, post_id: str) -> PostRole | None:
        """How a post already ingested (in this batch or before) was filed; None if never seen."""
        role = batch.roles.get((source, post_id))
        if role is None:
            autoflush(batch.session)
            row = batch.session.execute(_VERSION, {"source": source, "version": post_id}).first()
            role = PostRole(row.role) if row is not None else None
        return role

    def _edit(self, batch: _Batch, post: Post) -> _Pending | None:
        """``post`` is a new version of a stored post (any of ``post.edit_of``, newest first); None when
        no version was stored — or when the edit turns a post that was not a complaint into one —
        and the edit is then ingested as any post is (triaged; a card if it is a complaint)."""
        found = self._stored_version(batch, post)
        if found is None:
            return None
        target, role = found
        if role is PostRole.REPLY and target is not None:
            return self._attach_reply(batch, post, target)  # the edited words, in the thread again
        if role is not PostRole.ORIGINAL or target is None:
            self._ledger(batch, post, target, role)  # the brand's own edit, an edited retweet: set aside
            return _Pending(Outcome.OWN if role is PostRole.OWN else Outcome.DUPLICATE, target)
        key = batch.key_of(post)
        if isinstance(target, _Ref) and target.id is None:
            row_params = target.params  # created in this batch: its card is not posted yet
            stored_kind, before, old_key = row_params["kind"], row_params["text"], row_params["text_key"]
        else:
            batch.flush()
            stored_kind, before, old_key = batch.session.execute(_KIND_AND_TEXT, {"cid": _resolve(target)}).one()
        if stored_kind != Kind.COMPLAINT.value and self.triage.classify(post.text, post.lang).kind is Kind.COMPLAINT:
            # "love you guys" edited into "my order never arrived": a complaint now, with its own card
            # (the first version's praise has gone to #kudos already).
            return None
        self._ledger(batch, post, target, PostRole.ORIGINAL)  # this version opened the complaint too
        if isinstance(target, _Ref) and target.id is None:
            target.params.update(text=post.text, edited_at=post.created_at, updated_at=batch.at)
            if old_key is not None:
                target.params["text_key"] = key
            kind = Kind(stored_kind)
        else:
            cid = _resolve(target)
            batch.session.execute(
                _EDIT, {"cid": cid, "text": post.text, "key": key, "edited": post.created_at, "at": batch.at}
            )
            card = _resolve(batch.primary_of(cid))
            batch.refresh[card] = batch.refresh.get(card, 0)
            kind = None
        if old_key is not None and old_key != key:
            # Copies of the new words fold into this card from now on; of the old words, no longer.
            if batch.primaries.get((post.source, old_key)) is target or batch.primaries.get(
                (post.source, old_key)
            ) == _resolve_if_known(target):
                del batch.primaries[(post.source, old_key)]
            batch.primaries.setdefault((post.source, key), target)
        batch.event(target, self._actor(post), EventKind.EDITED, note=before[:500], details=events.Edited(post.id))
        return _Pending(Outcome.EDITED, target, kind)

    @staticmethod
    def _stored_version(batch: _Batch, post: Post) -> tuple[int | _Ref | None, PostRole] | None:
        """The complaint and role of the newest earlier version stored (in this batch or before)."""
        for version in reversed(post.edit_of):
            role = batch.roles.get((post.source, version))
            if role is not None:
                return batch.complaint_of_post.get((post.source, version)), role
        autoflush(batch.session)
        rows = {
            external_id: (complaint_id, PostRole(role))
            for external_id, complaint_id, role in batch.session.execute(
                _VERSIONS, {"source": post.source, "ids": list(post.edit_of)}
            )
        }
        for version in reversed(post.edit_of):
            if version in rows:
                return rows[version]
        return None

    @staticmethod
    def _actor(post: Post) -> str:
        return f"{post.source}:@{post.author_handle}"

    def _amplify(self, batch: _Batch, post: Post, target: int | _Ref) -> _Pending:
        self._ledger(batch, post, target, PostRole.RETWEET)
        batch.event(target, self._actor(post), EventKind.AMPLIFIED, details=events.Amplified(post.id, post.followers))
        card = batch.primary_of(target)  # a retweet of a folded copy amplifies the card it shows on
        if isinstance(card, _Ref) and card.id is None:
            # Created in this batch and not written yet: adjust the row; its card is not posted yet.
            row = card.params
            row["amplification_count"] += 1
            row["amplification_reach"] += post.followers
            if row["kind"] == Kind.COMPLAINT.value:
                row["priority"] = max(row["priority"], self.rank(row))
            return _Pending(Outcome.AMPLIFIED, target, Kind(row["kind"]))
        counts = batch.amplified.setdefault(_resolve(card), [0, 0])
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
        card = batch.primary_of(target)
        folded = not _same(card, target)
        for cid in (target, card) if folded else (target,):
            if isinstance(cid, _Ref) and cid.id is None:
                cid.params["reply_count"] += 1  # not written yet: its card is not posted yet either
            else:
                batch.session.execute(_COUNT_REPLY, {"cid": _resolve(cid), "at": batch.at})
                batch.refresh.setdefault(_resolve(cid), 0)
        batch.event(
            target,
            self._actor(post),
            EventKind.CUSTOMER_REPLY,
            note=post.text[:500],
            details=events.CustomerReply(post.id, _resolve(card) if folded else None),
        )
        batch.deliver_on_card(
            DeliveryKind.CUSTOMER_REPLY,
            f"reply:{post.source}:{post.id}",
            target,
            self.policy.complaints_channel,
            payload={"source": post.source, "post_id": post.id},
        )
        return _Pending(Outcome.REPLY, target, Kind.COMPLAINT)

    def _create(self, batch: _Batch, post: Post) -> _Pending:
        verdict = self.triage.classify(post.text, post.lang)
        repeat = batch.repeat_count(post.source, post.author_id) if verdict.kind is Kind.COMPLAINT else 0
        rank = priority(
            verdict.kind, verdict.score, followers=post.followers, repeat_contact=repeat, verified=post.verified
        )
        conversation = post.conversation_id or post.id
        key = batch.key_of(post)
        primary = batch.primaries.get((post.source, key)) if verdict.kind is Kind.COMPLAINT else None
        if isinstance(primary, _Ref) and primary.id is None:
            batch.flush_complaints()  # the copy's row must name its primary's id
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
            lang=post.lang or verdict.language,  # the network's code, else the one triage detected
            conversation_id=conversation,
            text_key=key if verdict.kind is Kind.COMPLAINT else None,  # only complaints are ever folded
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
            duplicate_of=_resolve(primary) if primary is not None else None,
            duplicate_count=0,
            customer_confirmed=False,
            edited_at=None,
            incident_id=None,
            created_at=batch.at,
            updated_at=batch.at,
        )
        complaint_id = _Ref(params)
        batch.pending_complaints.append((params, complaint_id))
        self._ledger(batch, post, complaint_id, PostRole.ORIGINAL)
        batch.event(
            complaint_id,
            self._actor(post),
            EventKind.INGESTED,
            to_status=Status.NEW.value,
            details=events.Ingested(verdict.kind.value, verdict.score, list(verdict.signals)),
        )
        if verdict.kind is not Kind.PRAISE:
            batch.created.append(complaint_id)
        if verdict.kind is Kind.COMPLAINT:
            batch.repeat_counts[(post.source, post.author_id)] = repeat + 1
            batch.open_by_conversation[(post.source, conversation, post.author_id)] = complaint_id
            if primary is not None:
                into = _resolve(primary)
                batch.event(complaint_id, events.SYSTEM, EventKind.FOLDED, details=events.Folded(into))
                counts = batch.folded.setdefault(into, [0, 0, 0])
                counts[0] += 1
                counts[1] += post.followers
                counts[2] = max(counts[2], rank)
                return _Pending(Outcome.FOLDED, complaint_id, verdict.kind)
            batch.primaries[(post.source, key)] = complaint_id
            batch.deliver(DeliveryKind.CARD, "card:{id}", complaint_id, self.policy.complaints_channel, priority=rank)
        elif verdict.kind is Kind.QUESTION:
            # A question needs an answer as much as a complaint does: a card, in its own lower band.
            batch.deliver(DeliveryKind.CARD, "card:{id}", complaint_id, self.policy.complaints_channel, priority=rank)
        elif verdict.kind is Kind.PRAISE and self.policy.kudos_channel:
            batch.deliver(DeliveryKind.KUDOS, "kudos:{id}", complaint_id, self.policy.kudos_channel)
        return _Pending(Outcome.CREATED, complaint_id, verdict.kind)
