"""The composition root: everything the bot is made of is built here from a Settings object.

Tests, the demo and production build the same app; only the settings (a local Slack stand-in, a
replay file, a temporary database) and the injected clock differ. Nothing reads the environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.domain.clock import Clock, SystemClock
from bot.store.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)


@dataclass
class Followthrough:
    """The assembled bot. Handlers, workers and tests reach every dependency through it."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    slack: WebClient
    bolt: App | None = None
    extras: dict[str, object] = field(default_factory=dict)


def make_slack_client(settings: Settings) -> WebClient:
    # retry_handlers=[]: slack_sdk by default re-sends a request once after a connection error. For
    # chat.postMessage a lost response plus that retry is a double post; our outbox retries instead,
    # after looking for the message it may already have posted.
    kwargs: dict[str, object] = {
        "token": settings.slack_bot_token.reveal() or None,
        "timeout": 10,
        "retry_handlers": [],
    }
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url
    return WebClient(**kwargs)  # type: ignore[arg-type]


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    listener: bool = True,
) -> Followthrough:
    """Build the bot. ``listener=False`` skips the Bolt app (worker processes never receive events)."""
    engine = engine or make_engine(settings.database_url)
    app = Followthrough(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
        slack=make_slack_client(settings),
    )
    if listener:
        from bot.slack import register

        app.bolt = App(
            client=app.slack,
            signing_secret=settings.slack_signing_secret.reveal(),
            # Socket Mode requests are not signed (Bolt skips the check for them); HTTP requests are
            # always verified — the verification middleware stays on in every mode.
            request_verification_enabled=True,
            process_before_response=False,
        )
        register(app.bolt, app)
    return app
