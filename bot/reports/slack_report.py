"""The lead's view in Slack: ``/complaints report`` and App Home's "this week so far" section.

The command answers privately at once with the numbers; the chart cannot ride on a private
(ephemeral) answer, so it is queued as a report delivery to the asker's direct conversation with
the app — stored first, like every other message, so it arrives once even across a restart.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.outbox.kinds import DeliveryKind
from bot.reports import metrics, weekly
from bot.reports.metrics import Unit
from bot.store.models import SlackUser

USAGE = (
    "Try `/complaints report` (this week so far), `/complaints report month` (the last four weeks), "
    "`/complaints report person @alice` or `/complaints report person U0123ABCD` (one person; "
    "a member ID is in their profile → ⋯ → Copy member ID)."
)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")


def find_person(session: Session, word: str) -> str | None:
    """A user id from an escaped mention, a bare member id, or a name Followthrough has seen."""
    if match := _MENTION.match(word):
        return match.group(1)
    if _USER_ID.match(word):
        return word
    name = word.lstrip("@").strip().lower()
    if not name:
        return None
    found = session.scalars(select(SlackUser.user_id).where(func.lower(SlackUser.name) == name)).all()
    return found[0] if len(found) == 1 else None


def report_command(
    sessions: sessionmaker[Session], user: str, args: str, now: datetime, tz: str, key: str | None = None
) -> str:
    words = args.split()
    scope = (words[0].lower() if words else "week").removesuffix("ly")
    person: str | None = None
    if scope in ("person", "user", "for"):
        with sessions() as session:
            person = find_person(session, words[1]) if len(words) > 1 else user
        if person is None:
            return f"I can't tell who `{words[1][:40]}` is (I know only people who have used Followthrough).\n{USAGE}"
        scope = "week"
    elif scope not in ("week", "month"):
        return f"I don't know the report `{scope[:20]}`.\n{USAGE}"
    with sessions() as session:
        report = weekly.payload(session, now=now, tz=tz, scope=scope, person=person, complete_weeks=False)
    with sessions() as session, session.begin():
        outbox.enqueue(
            session,
            DeliveryKind.REPORT,
            key=f"report:ask:{user}:{key or now.isoformat()}",
            at=now,
            channel=user,
            payload=report,
            priority=60,
        )
    return weekly.text(report) + "\n_The chart is on its way to your direct messages with me._"


def _trend(name: str, now_value: Any, before: Any, shown: str, *, lower_is_better: bool = False) -> str:
    if now_value is None:
        return f"{name}: –"
    if before is None or now_value == before:
        return f"{name}: {shown} (→ last week {'–' if before is None else 'the same'})"
    up = now_value > before
    better = up != lower_is_better
    emoji = ":arrow_up:" if up else ":arrow_down:"
    return f"{name}: {shown} {emoji} {'better' if better else 'worse'} than last week"


def _volume(now_count: int, before: int) -> str:
    """Complaints in: more or fewer is neither better nor worse for the team, so it says which."""
    if now_count == before:
        return f"Complaints in: {now_count} (→ as many as last week)"
    emoji, word = (":arrow_up:", "more") if now_count > before else (":arrow_down:", "fewer")
    return f"Complaints in: {now_count} {emoji} {word} than last week ({before})"


def lead_section(sessions: sessionmaker[Session], now: datetime, tz: str) -> str:
    """This week so far against last week, with arrows (and words, for screen readers)."""
    with sessions() as session:
        report = metrics.compute(session, metrics.last_periods(now, 2, Unit.WEEK, tz), unit=Unit.WEEK, tz=tz, now=now)
    before, current = report.team
    lines = [
        f"*The lead's view — {report.periods[-1].label} so far*",
        _volume(current.complaints_in, before.complaints_in),
        _trend("Promises kept on time", current.kept_rate, before.kept_rate, weekly.percent(current.kept_rate)),
        _trend(
            "First response (median)",
            current.first_response_median_s,
            before.first_response_median_s,
            weekly.duration(current.first_response_median_s),
            lower_is_better=True,
        ),
        f"Promises: {current.promises_made} made · {current.kept_on_time} kept on time · {current.kept_late} late"
        f" · {current.broken} broken · {current.rescheduled} reschedule(s) · `/complaints report` for more",
    ]
    return "\n".join(lines)
