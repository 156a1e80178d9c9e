"""What each Slack surface is given: the few collaborators it uses, and nothing else.

Handlers used to reach everything through one ``Followthrough`` object (settings, engine, client,
a bag of extras); a handler's real needs were invisible and every test had to build the whole bot.
Each surface now receives one small frozen dependency object, built once by the composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.promises.due import DueParser
from bot.slack.access import TeamAccess
from bot.slack.people import People


@dataclass(frozen=True)
class Requests:
    """For the middleware that records every request and the error policy."""

    sessions: sessionmaker[Session]
    clock: Clock
    access: TeamAccess


@dataclass(frozen=True)
class CardDeps:
    sessions: sessionmaker[Session]
    clock: Clock
    access: TeamAccess
    escalation_channel: str
    tiers: dict[str, str | None]
    """Escalation tier name → the user group or person to mention."""
    reply_sources: frozenset[str] = frozenset()
    """Networks the brand can reply on: the Resolve form then offers a closing reply."""
    tz_of: Callable[[str], str] = lambda _user: "UTC"
    """A person's time zone (Slack's): the closing reply's promises are read in the sender's."""


@dataclass(frozen=True)
class PromiseDeps:
    sessions: sessionmaker[Session]
    clock: Clock
    access: TeamAccess
    people: People
    parser: DueParser


@dataclass(frozen=True)
class CommandDeps:
    sessions: sessionmaker[Session]
    clock: Clock
    silence: timedelta
    """How long without posts before a source is reported quiet."""
    complaints_channel: str = ""
    """Where a post carded from ``/complaints skipped`` or ``move`` gets its card."""
    kudos_channel: str | None = None
    team_timezone: str = "UTC"
    """Weeks and days in reports are the team's."""
    access: TeamAccess | None = None
    """The team's names, for a person named in plain text (``report person @Bob J``)."""


@dataclass(frozen=True)
class HomeDeps:
    sessions: sessionmaker[Session]
    clock: Clock
    team_timezone: str = "UTC"
    access: TeamAccess | None = None
    """Who may see the desk: anyone else opening the App Home gets the same answer as a command."""


@dataclass(frozen=True)
class Surfaces:
    requests: Requests
    cards: CardDeps
    promises: PromiseDeps
    commands: CommandDeps
    home: HomeDeps
    replies: Any = None
    """``bot.slack.listeners.replying.ReplyDeps``: answering the customer from the card."""
