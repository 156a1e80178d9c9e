"""The lead's numbers, computed in SQL from the typed events on SQLite and PostgreSQL alike.

Every number is bucketed by the time of the event it measures (a claim counts in the week it was
made; a complaint in the week it arrived), in periods of the team's local days or Monday-started
weeks. Bucketing is a ``CASE`` over the periods' UTC boundaries computed here, so it is exact across
daylight-saving changes and needs no time-zone support from the engine. Counts are grouped in SQL;
for durations only the seconds column is fetched (neither engine shares a percentile function) and
the median and 90th percentile (nearest rank) are taken here.

The firsts and the promise outcomes are read from the facts tables (``bot/history/facts.py``), kept
with the events in the same transaction, so a period costs a range read of its own rows however
many events came before it; reopens and reschedules (a few per hundred) are read from the events.

Each number is attributed to a person and a network (``complaints.source``):

- complaints in: when stored (``created_at``); per person: not attributed (see ``claimed``);
- first response: the first event of a ``FIRST_RESPONSE_KINDS`` kind on a complaint, measured from
  when the customer started waiting; its actor is the responder;
- time to claim: the first claim, by its claimer; time to resolve: the first resolve by a person
  (folded copies resolved with their card are not counted), by its resolver;
- reopened: reopen events by a person, attributed to whoever had resolved it;
- promises (by their owner): made, rescheduled (how often, and how many promises), and one outcome
  per promise — its latest kept or broken event, so a promise broken and then kept late counts once,
  as kept late. Cancelled promises have no outcome. Kept rate = on time ÷ (on time + late + broken).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from bot.history.event_kinds import SYSTEM, EventKind
from bot.history.facts import FIRST_RESPONSE_KINDS
from bot.store import dialect
from bot.store.enums import Kind, PromiseStatus
from bot.store.models import AuditEvent, Complaint, ComplaintFacts, Promise, PromiseFacts

__all__ = ["FIRST_RESPONSE_KINDS", "Metrics", "Report", "Unit", "compute", "weekly"]
TEAM = ("team", "")


class Unit(StrEnum):
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime


@dataclass
class Metrics:
    complaints_in: int = 0
    claimed: int = 0
    first_responses: int = 0
    first_response_median_s: float | None = None
    first_response_p90_s: float | None = None
    claim_median_s: float | None = None
    claim_p90_s: float | None = None
    resolved: int = 0
    resolve_median_s: float | None = None
    resolve_p90_s: float | None = None
    reopened: int = 0
    promises_made: int = 0
    kept_on_time: int = 0
    kept_late: int = 0
    rescheduled: int = 0
    """Reschedule events: how often promises moved."""
    rescheduled_promises: int = 0
    """How many distinct promises moved."""
    broken: int = 0

    @property
    def kept_rate(self) -> float | None:
        settled = self.kept_on_time + self.kept_late + self.broken
        return self.kept_on_time / settled if settled else None


@dataclass(frozen=True)
class OldestOpen:
    promise_id: int
    complaint_id: int
    owner_id: str
    created_at: datetime
    due_at: datetime


@dataclass
class Report:
    unit: Unit
    tz: str
    periods: list[Period]
    as_of: datetime
    groups: dict[tuple[str, str], list[Metrics]] = field(default_factory=dict)
    """("team", ""), ("person", user id), ("network", source) → one ``Metrics`` per period."""
    oldest_open: dict[tuple[str, str], OldestOpen] = field(default_factory=dict)
    """The oldest promise still owed now, per group (see ``oldest_open``)."""

    @property
    def team(self) -> list[Metrics]:
        return self.groups[TEAM]

    def of(self, kind: str) -> dict[str, list[Metrics]]:
        return {key: rows for (k, key), rows in self.groups.items() if k == kind}


def period_start(day: date, unit: Unit) -> date:
    return day - timedelta(days=day.weekday()) if unit is Unit.WEEK else day


def periods(start: date, count: int, unit: Unit, tz: str) -> list[Period]:
    """``count`` consecutive local days or weeks (from Monday) starting at ``start``."""
    zone = ZoneInfo(tz)
    step = timedelta(days=7 if unit is Unit.WEEK else 1)
    first = period_start(start, unit)
    out = []
    for i in range(count):
        day = first + i * step
        label = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}" if unit is Unit.WEEK else day.isoformat()
        out.append(
            Period(
                label,
                datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC),
                datetime.combine(day + step, time(0), tzinfo=zone).astimezone(UTC),
            )
        )
    return out


def last_periods(now: datetime, count: int, unit: Unit, tz: str) -> list[Period]:
    """The ``count`` periods ending with the one ``now`` falls in (so the last one is "so far")."""
    today = now.astimezone(ZoneInfo(tz)).date()
    step = timedelta(days=7 if unit is Unit.WEEK else 1)
    return periods(period_start(today, unit) - (count - 1) * step, count, unit, tz)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1): always one of the measured values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _bucket(column: Any, spans: list[Period]) -> ColumnElement[int]:
    if len(spans) == 1:
        return literal(0)
    return case(*[(column < p.end, i) for i, p in enumerate(spans[:-1])], else_=len(spans) - 1)


def _in_range(column: Any, spans: list[Period]) -> ColumnElement[bool]:
    return and_(column >= spans[0].start, column < spans[-1].end)


FIRSTS = (
    # (name in Metrics, its count field, the facts' columns)
    ("first_response", "first_responses", "first_response"),
    ("claim", "claimed", "first_claim"),
    ("resolve", "resolved", "first_resolve"),
)


def _waits_in(session: Session, column: str, spans: list[Period]) -> Any:
    """The seconds waited of every complaint whose first (answer, claim or resolve) falls in
    ``spans``, as one comma-separated list per period, actor and network: a range read of one covering
    index of ``complaint_facts``, with no row per complaint crossing into Python (a million complaints
    make 150 000 of them in eight weeks). Neither engine shares an ordered aggregate or a percentile
    function with the other, so the lists are sorted here."""
    table = ComplaintFacts.__table__
    at, by, waited = table.c[f"{column}_at"], table.c[f"{column}_by"], table.c[f"{column}_s"]
    bucket = _bucket(at, spans)
    values = dialect.joined_text(session, waited)
    return select(bucket, by, table.c.source, values).where(_in_range(at, spans)).group_by(bucket, by, table.c.source)


class _Tally:
    """The sums and the lists of waits for each group (the team, each person, each network) and period.

    Kept apart from the queries so ``compute`` reads as the list of what is counted."""

    def __init__(self, periods: int, person: str | None) -> None:
        self.person = person
        self.groups: dict[tuple[str, str], list[Metrics]] = defaultdict(lambda: [Metrics() for _ in range(periods)])
        _ = self.groups[TEAM]  # the team row exists even when nothing happened
        self.durations: dict[tuple[str, str, int, str], list[float]] = defaultdict(list)
        self.counted: dict[str, str] = {}

    def _counts_for(self, actor: str | None) -> bool:
        return actor is not None and actor != SYSTEM and (self.person is None or actor == self.person)

    def add(self, bucket: int, actor: str | None, source: str | None, name: str, value: int) -> None:
        keys = [TEAM]
        if self._counts_for(actor):
            keys.append(("person", str(actor)))
        if source is not None:
            keys.append(("network", source))
        for key in keys:
            metrics = self.groups[key][bucket]
            setattr(metrics, name, getattr(metrics, name) + value)

    def waited(self, bucket: int, actor: str | None, source: str, name: str, values: list[float]) -> None:
        self.durations[("team", "", bucket, name)].extend(values)
        self.durations[("network", source, bucket, name)].extend(values)
        if self._counts_for(actor):
            self.durations[("person", str(actor), bucket, name)].extend(values)

    def finish(self) -> dict[tuple[str, str], list[Metrics]]:
        """Counts, medians and 90th percentiles of the waits, into their groups' metrics."""
        for (kind, key, b, name), values in self.durations.items():
            metrics = self.groups[(kind, key)][b]
            values.sort()
            setattr(metrics, self.counted[name], len(values))
            setattr(metrics, f"{name}_median_s", median(values))
            setattr(metrics, f"{name}_p90_s", percentile(values, 0.9))
        return dict(self.groups)


def compute(
    session: Session,
    spans: list[Period],
    *,
    unit: Unit,
    tz: str,
    now: datetime,
    person: str | None = None,
) -> Report:
    """Every number for every period in ``spans``, for the team, each person and each network.

    ``person`` narrows the per-person work to one user (``/complaints report person @x``); the team
    and network rows are always computed.
    """
    tally = _Tally(len(spans), person)
    for b, source, count in _complaints_in(session, spans):
        tally.add(b, None, source, "complaints_in", count)
    for name, count_name, column in FIRSTS:
        tally.counted[name] = count_name
        for b, actor, source, joined in session.execute(_waits_in(session, column, spans)):
            tally.waited(b, actor, source, name, list(map(float, joined.split(","))))
    for b, actor, source in _reopens(session, spans):
        tally.add(b, actor, source, "reopened", 1)
    for b, owner, source, count in _promises_made(session, spans):
        tally.add(b, owner, source, "promises_made", count)
    seen: set[tuple[int, int]] = set()
    for b, pid, owner, source in _reschedules(session, spans):
        tally.add(b, owner, source, "rescheduled", 1)
        if (b, pid) not in seen:  # how often (every event) and how many promises (moved twice is one)
            seen.add((b, pid))
            tally.add(b, owner, source, "rescheduled_promises", 1)
    for b, outcome, owner, source, count in _outcomes(session, spans):
        tally.add(b, owner, source, outcome, count)
    report = Report(unit, tz, spans, min(now, spans[-1].end), tally.finish())
    report.oldest_open = oldest_open(session, person=person)
    return report


def _complaints_in(session: Session, spans: list[Period]) -> Any:
    bucket = _bucket(Complaint.created_at, spans)
    return session.execute(
        select(bucket, Complaint.source, func.count())
        .where(Complaint.kind == Kind.COMPLAINT.value, _in_range(Complaint.created_at, spans))
        .group_by(bucket, Complaint.source)
    )


def _reopens(session: Session, spans: list[Period]) -> Any:
    """Each reopen, attributed to whoever resolved the complaint last before it."""
    resolve = aliased(AuditEvent)
    resolver = (
        select(resolve.actor)
        .where(
            resolve.complaint_id == AuditEvent.complaint_id,
            resolve.action == EventKind.RESOLVED.value,
            resolve.at <= AuditEvent.at,
        )
        .order_by(resolve.at.desc(), resolve.id.desc())
        .limit(1)
        .correlate(AuditEvent)
        .scalar_subquery()
    )
    return session.execute(
        select(_bucket(AuditEvent.at, spans), resolver, Complaint.source)
        .select_from(AuditEvent)
        .join(Complaint, Complaint.id == AuditEvent.complaint_id)
        .where(
            AuditEvent.action == EventKind.REOPENED.value,
            AuditEvent.actor != SYSTEM,
            _in_range(AuditEvent.at, spans),
        )
    )


def _promises_made(session: Session, spans: list[Period]) -> Any:
    """Promises made, by their owner (the facts' copy of it: a promise's owner never changes)."""
    bucket = _bucket(PromiseFacts.made_at, spans)
    return session.execute(
        select(bucket, PromiseFacts.owner_id, PromiseFacts.source, func.count())
        .where(_in_range(PromiseFacts.made_at, spans))
        .group_by(bucket, PromiseFacts.owner_id, PromiseFacts.source)
    )


def _reschedules(session: Session, spans: list[Period]) -> Any:
    bucket = _bucket(AuditEvent.at, spans).label("b")
    return session.execute(
        select(bucket, AuditEvent.promise_id, PromiseFacts.owner_id, PromiseFacts.source)
        .select_from(AuditEvent)
        .join(PromiseFacts, PromiseFacts.promise_id == AuditEvent.promise_id)
        .where(AuditEvent.action == EventKind.PROMISE_RESCHEDULED.value, _in_range(AuditEvent.at, spans))
    )


def _outcomes(session: Session, spans: list[Period]) -> Any:
    """Each promise's latest closing event, if it falls in the period and is not a cancel."""
    bucket = _bucket(PromiseFacts.outcome_at, spans)
    return session.execute(
        select(bucket, PromiseFacts.outcome, PromiseFacts.owner_id, PromiseFacts.source, func.count())
        .where(_in_range(PromiseFacts.outcome_at, spans), PromiseFacts.outcome.is_not(None))
        .group_by(bucket, PromiseFacts.outcome, PromiseFacts.owner_id, PromiseFacts.source)
    )


def oldest_open(session: Session, *, person: str | None = None) -> dict[tuple[str, str], OldestOpen]:
    """The oldest promise still owed now (open, or broken and not yet kept), for the team, each owner
    and each network. Now, not at the end of a past period: the lead acts on what is owed today,
    and the current state is a few index probes, where a past one would be a scan of every promise.

    Nothing here reads every owed promise (there are 100 000 at a million promises): owners are found
    by skipping from one to the next in ``ix_promises_status_owner_created``, which also holds each
    owner's oldest; networks are few and found the same way in the complaints' (source, author) index,
    and each network's oldest is the first match walking the owed promises oldest first."""
    owed = [PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]
    out: dict[tuple[str, str], OldestOpen] = {}
    firsts: dict[tuple[str, str], datetime] = {}

    def keep(key: tuple[str, str], first: Any) -> None:
        if first is not None and (key not in firsts or _utc(first) < firsts[key]):
            firsts[key] = _utc(first)

    for status in owed:
        keep(TEAM, session.execute(select(func.min(Promise.created_at)).where(Promise.status == status)).scalar())
        if person is not None:
            keep(
                ("person", person),
                session.execute(
                    select(func.min(Promise.created_at)).where(Promise.status == status, Promise.owner_id == person)
                ).scalar(),
            )
            continue
        after: str | None = None
        while True:  # the next owner with a promise of this status, and (same index) its oldest
            step = select(Promise.owner_id, Promise.created_at).where(Promise.status == status)
            if after is not None:
                step = step.where(Promise.owner_id > after)
            found = session.execute(step.order_by(Promise.owner_id, Promise.created_at).limit(1)).first()
            if found is None:
                break
            after, first = found
            keep(("person", after), first)
    networks: list[str] = []
    while True:
        step = select(Complaint.source)
        if networks:
            step = step.where(Complaint.source > networks[-1])
        found = session.execute(step.order_by(Complaint.source).limit(1)).scalar()
        if found is None:
            break
        networks.append(found)
    for network in networks:
        for status in owed:
            keep(
                ("network", network),
                session.execute(
                    select(Promise.created_at)
                    .join(Complaint, Complaint.id == Promise.complaint_id)
                    # an expression on purpose: matched row by row as the owed promises are walked
                    # oldest first, never by the source index (every complaint of the network)
                    .where(Promise.status == status, func.coalesce(Complaint.source, Complaint.source) == network)
                    .order_by(Promise.created_at)
                    .limit(1)
                ).scalar(),
            )
    for (label, group), first in firsts.items():
        lookup = select(Promise.id, Promise.complaint_id, Promise.owner_id, Promise.created_at, Promise.due_at).where(
            Promise.created_at == first, Promise.status.in_(owed)
        )
        if label == "person":
            lookup = lookup.where(Promise.owner_id == group)
        elif label == "network":
            lookup = lookup.join(Complaint, Complaint.id == Promise.complaint_id).where(Complaint.source == group)
        found = session.execute(lookup.order_by(Promise.id).limit(1)).first()
        if found is not None:
            pid, cid, owner, created, due = found
            out[(label, group)] = OldestOpen(pid, cid, owner, _utc(created), _utc(due))
    return out


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def weekly(session: Session, *, now: datetime, tz: str, weeks: int = 8, person: str | None = None) -> Report:
    """The last ``weeks`` weeks, the current one so far included."""
    return compute(session, last_periods(now, weeks, Unit.WEEK, tz), unit=Unit.WEEK, tz=tz, now=now, person=person)


def daily_complaints(session: Session, spans: list[Period]) -> list[int]:
    """Complaints in per period only: the chart's daily bars, without the rest of the work."""
    bucket = _bucket(Complaint.created_at, spans)
    counts = [0] * len(spans)
    for b, count in session.execute(
        select(bucket, func.count())
        .where(Complaint.kind == Kind.COMPLAINT.value, _in_range(Complaint.created_at, spans))
        .group_by(bucket)
    ):
        counts[b] = count
    return counts
