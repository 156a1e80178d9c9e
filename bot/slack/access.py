"""Who may act on cards: members of SLACK_SUPPORT_USERGROUP, else of the complaints channel.

Membership is fetched from Slack and cached for a few minutes: a click must be answered within
3 seconds, and asking Slack on every click would spend most of that. If Slack cannot be reached
the last known list is used; with no list at all, the click is refused (fail closed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient

log = logging.getLogger(__name__)


class TeamAccess:
    def __init__(
        self,
        client: WebClient,
        *,
        usergroup: str | None,
        channel: str,
        ttl_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.usergroup = usergroup
        self.channel = channel
        self.ttl = ttl_seconds
        self.monotonic = monotonic
        self._members: frozenset[str] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    @property
    def who(self) -> str:
        return f"<!subteam^{self.usergroup}>" if self.usergroup else f"<#{self.channel}>"

    def allowed(self, user_id: str) -> bool:
        return user_id in self.members()

    def members(self) -> frozenset[str]:
        with self._lock:
            if self._members is None or self.monotonic() - self._fetched_at > self.ttl:
                try:
                    self._members = self._fetch()
                    self._fetched_at = self.monotonic()
                except Exception:
                    log.exception("could not refresh the support team's membership; using the last known list")
                    if self._members is None:
                        return frozenset()
            return self._members

    def _fetch(self) -> frozenset[str]:
        if self.usergroup:
            return frozenset(self.client.usergroups_users_list(usergroup=self.usergroup)["users"])
        members: set[str] = set()
        cursor = None
        while True:
            answer = self.client.conversations_members(channel=self.channel, cursor=cursor, limit=1000)
            members.update(answer["members"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return frozenset(members)
