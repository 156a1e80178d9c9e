"""What Slack says about people, cached in the database: above all their time zone.

Due times are read, and quiet hours kept, in each person's own zone (``users.info`` ``tz``). The
answer is cached for a day in ``slack_users`` so a modal submission does not wait on Slack; if
Slack cannot be asked, the team's zone is used and the fact logged.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.store.models import SlackUser

log = logging.getLogger(__name__)
FRESH = timedelta(hours=24)


class People:
    def __init__(self, sessions: sessionmaker[Session], client: WebClient, clock: Clock, default_tz: str) -> None:
        self.sessions = sessions
        self.client = client
        self.clock = clock
        self.default_tz = default_tz
        self._locales: dict[str, tuple[str | None, datetime]] = {}
        """Locales are kept in memory (a day), not in ``slack_users``: a column would need a migration."""

    def tz(self, user_id: str) -> str:
        now = self.clock.now()
        with self.sessions() as session:
            cached = session.get(SlackUser, user_id)
            if cached and cached.tz and now - cached.fetched_at < FRESH:
                return cached.tz
        try:
            user = self.client.users_info(user=user_id, include_locale=True)["user"]
        except Exception as exc:
            log.warning(
                "users.info for %s failed (%s); using %s",
                user_id,
                type(exc).__name__,
                cached.tz if cached and cached.tz else self.default_tz,
            )
            return cached.tz if cached and cached.tz else self.default_tz
        tz = user.get("tz") or self.default_tz
        self._locales[user_id] = (user.get("locale"), now)
        with self.sessions() as session, session.begin():
            row = session.get(SlackUser, user_id) or SlackUser(user_id=user_id, fetched_at=now)
            row.tz, row.name, row.fetched_at = tz, user.get("real_name") or user.get("name"), now
            session.add(row)
        return tz

    def locale(self, user_id: str) -> str | None:
        """The person's Slack locale (``en-US``, ``en-GB``…), which decides day/month order; None when
        Slack cannot say, and then an ambiguous date is asked about rather than guessed."""
        now = self.clock.now()
        cached = self._locales.get(user_id)
        if cached and now - cached[1] < FRESH:
            return cached[0]
        try:
            user = self.client.users_info(user=user_id, include_locale=True)["user"]
        except Exception as exc:
            log.warning("users.info (locale) for %s failed (%s)", user_id, type(exc).__name__)
            return cached[0] if cached else None
        self._locales[user_id] = (user.get("locale"), now)
        return user.get("locale")
