"""The lead's view in Slack: ``/complaints report`` and App Home's "this week so far" section.

The command answers privately at once with the numbers; the chart cannot ride on a private
(ephemeral) answer, so it is queued as a report delivery to the asker's direct conversation with
the app — stored first, like every other message, so it arrives once even across a restart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")


class Unclear(ValueError):
    """A plain name more than one person goes by: the message says who they could be."""


def find_person(session: Session, text: str, named: Callable[[str], list[str]] | None = None) -> str | None:
    """A user id from a mention however Slack sends it: escaped (``<@U…|bob>``, the manifest asks
    for it), a bare member id, or a plain name ("@Bob J", "bob") matched on the team's display, real
    and user names, then on names Followthrough has cached. Several people by that name: ``Unclear``."""
    text = text.strip()
    if match := _MENTION.search(text):
        return match.group(1)
    if _USER_ID.match(text):
        return text
    name = " ".join(text.lstrip("@").split())
    if not name:
        return None
    found = named(name) if named is not None else []
    if not found:
        found = sorted(
            set(session.scalars(select(SlackUser.user_id).where(func.lower(SlackUser.name) == name.lower())))
        )
    if len(found) > 1:
        who = " or ".join(f"<@{u}>" for u in found[:5])
        raise Unclear(f"`{name[:40]}` could be {who}: name them with their @mention.")
    return found[0] if found else None


def report_command(
    sessions: sessionmaker[Session],
    user: str,
    args: str,
    now: datetime,
    tz: str,
    key: str | None = None,
    named: Callable[[str], list[str]] | None = None,
) -> str:
    words = args.split()
    scope = (words[0].lower() if words else "week").removesuffix("ly")
    person: str | None = None
    if scope in ("person", "user", "for"):
        who = args.strip().partition(" ")[2].strip()  # the whole rest: "@Bob J" is one person
        try:
            with sessions() as session:
                person = find_person(session, who, named) if who else user
        except Unclear as exc:
            return f"{exc}\n{USAGE}"
        if person is None:
            return f"I can't tell who `{who[:40]}` is (not a support team member I know by that name).\n{USAGE}"
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
