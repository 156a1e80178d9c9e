"""Once four weeks of posts exist, a topic must also be four times what that hour of the week usually
brings on it: a desk that hears twenty login complaints every Monday at nine has no outage when it
hears twenty again — and has one when it hears eighty. Before four weeks, fifteen customers suffice.
Real ingest, real SQLite files and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.incidents.detect import IncidentPolicy
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.store.engine import make_sessionmaker
from bot.store.models import Incident
from bot.triage.classify import Triage
from tests.support.incident_storm import LOGIN

MONDAY_9 = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def _storm(prefix: str, customers: int, at: datetime, seed: int) -> list[Post]:
    rng = random.Random(seed)
    return [
        Post(
            source="x",
            id=f"{prefix}-{n}",
            text="@AcmeHelp " + rng.choice(LOGIN),
            author_id=f"{prefix}{n}",
            author_handle=f"{prefix}{n}",
            created_at=at + timedelta(minutes=rng.uniform(0, 20)),
        )
        for n in range(customers)
    ]


def _incidents(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Incident)) or 0)


def _history(ingestor: Ingestor, sessions: sessionmaker[Session], per_week: int) -> None:
    """``per_week`` login complaints in the same half hour of each of the last four Mondays."""
    for weeks in range(4, 0, -1):
        at = MONDAY_9 - timedelta(weeks=weeks)
        ingestor.ingest_batch(sessions, _storm(f"w{weeks}", per_week, at, weeks), at=at + timedelta(minutes=25))


def test_a_usual_monday_is_no_outage_and_four_times_it_is(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    quiet = Ingestor(Triage(), IngestPolicy("C0", incidents=IncidentPolicy(enabled=False)))
    _history(quiet, sessions, per_week=20)  # recorded before incident mode: the desk's usual Mondays
    ingestor = Ingestor(Triage(), IngestPolicy("C0"))
    ingestor.ingest_batch(sessions, _storm("now", 20, MONDAY_9, 7), at=MONDAY_9 + timedelta(minutes=25))
    assert _incidents(sessions) == 0, "twenty, as every Monday: no outage"
    ingestor.ingest_batch(sessions, _storm("more", 70, MONDAY_9, 8), at=MONDAY_9 + timedelta(minutes=26))
    assert _incidents(sessions) == 1, "ninety: four times the usual"


def test_without_four_weeks_of_history_fifteen_customers_are_an_incident(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    ingestor = Ingestor(Triage(), IngestPolicy("C0"))
    ingestor.ingest_batch(sessions, _storm("now", 20, MONDAY_9, 7), at=MONDAY_9 + timedelta(minutes=25))
    assert _incidents(sessions) == 1
