"""The composition root: everything the bot is made of is built here from a Settings object.

Tests, the demo and production build the same app; only the settings (a local Slack stand-in, a
replay file, a temporary database) and the injected clock differ. Nothing reads the environment.
Each Slack surface gets its own small dependency object (``bot.slack.deps``); the worker's loops
are assembled in ``bot.runtime`` from the pieces built here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import networks
from bot.common.clock import Clock, SystemClock
from bot.config import Settings
from bot.promises.due import DueParser
from bot.slack.access import TeamAccess
from bot.slack.deps import CardDeps, CommandDeps, HomeDeps, PromiseDeps, Requests, Surfaces
from bot.slack.listeners.replying import ReplyDeps
from bot.slack.people import People
from bot.store.engine import make_engine, make_request_sessionmaker, make_sessionmaker

log = logging.getLogger(__name__)


@dataclass
class Followthrough:
    """The assembled bot: the shared pieces, and the Slack listener when this process has one."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    slack: WebClient
    people: People
    bolt: App | None = None
    access: TeamAccess | None = None

    def close(self) -> None:
        """Stop the team-membership refresher and close the database's connections. Without it an
        assembled bot that is done with (the playground, the demo) left its refresher asking a Slack
        that was gone, every few minutes, for as long as the process lived."""
        if self.access is not None:
            self.access.stop()
        self.engine.dispose()


def make_slack_client(settings: Settings) -> WebClient:
    # retry_handlers=[]: slack_sdk by default re-sends a request once after a connection error. For
    # chat.postMessage a lost response plus that retry is a double post; our delivery worker
    # retries instead, after looking for the message it may already have posted.
    kwargs: dict[str, object] = {
        "token": settings.slack_bot_token.reveal() or None,
        "timeout": 10,
        "retry_handlers": [],
    }
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url
    return WebClient(**kwargs)  # type: ignore[arg-type]


def _no_unused_token_warning(record: logging.LogRecord) -> bool:
    """Bolt warns that SLACK_BOT_TOKEN "will be unused" whenever it is in the environment and a
    client is given — always, here, since our client carries the token (and no retries). Noise an
    operator would chase, so it is dropped."""
    return "will be unused" not in record.getMessage()


def surfaces(app: Followthrough, access: TeamAccess) -> Surfaces:
    s = app.settings
    sessions = make_request_sessionmaker(app.engine)  # PostgreSQL: lock and statement timeouts under 3 s
    return Surfaces(
        requests=Requests(sessions, app.clock, access),
        cards=CardDeps(
            sessions,
            app.clock,
            access,
            s.slack_escalation_channel,
            dict(s.escalation_tiers),
            networks.reply_sources(s),
            app.people.tz,
        ),
        promises=PromiseDeps(
            sessions,
            app.clock,
            access,
            app.people,
            DueParser(workday_end=s.workday_end, holidays=s.promise_holidays),
        ),
        commands=CommandDeps(
            sessions,
            app.clock,
            timedelta(hours=s.source_silence_alert_hours),
            s.slack_complaints_channel,
            s.slack_kudos_channel,
            team_timezone=s.team_timezone,
            access=access,
        ),
        home=HomeDeps(sessions, app.clock, team_timezone=s.team_timezone, access=access),
        replies=ReplyDeps(
            sessions,
            app.clock,
            access,
            app.people,
            DueParser(workday_end=s.workday_end, holidays=s.promise_holidays),
            networks.reply_sources(s),
            networks.reply_authors(s)[0],
        ),
    )


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    listener: bool = True,
) -> Followthrough:
    """Build the bot. ``listener=False`` skips the Bolt app (worker processes never receive events)."""
    engine = engine or make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    networks.register_link_hosts(settings)
    clock = clock or SystemClock()
    slack = make_slack_client(settings)
    app = Followthrough(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        slack=slack,
        people=People(sessions, slack, clock, settings.team_timezone),
    )
    if listener:
        from bot.slack import register

        app.access = TeamAccess(
            slack,
            usergroup=settings.slack_support_usergroup,
            channel=settings.slack_complaints_channel,
            allow_guests=settings.slack_team_allow_guests,
            allow_external=settings.slack_team_allow_external,
        )
        app.access.start()
        logging.getLogger("slack_bolt.App").addFilter(_no_unused_token_warning)
        app.bolt = App(
            client=slack,
            signing_secret=settings.slack_signing_secret.reveal(),
            # Socket Mode requests are not signed (Bolt skips the check for them); HTTP requests are
            # always verified — the verification middleware stays on in every mode.
            request_verification_enabled=True,
            process_before_response=False,
        )
        register(app.bolt, surfaces(app, app.access))
    return app
