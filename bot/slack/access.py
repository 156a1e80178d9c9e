"""Who may act on cards: the people in SLACK_SUPPORT_USERGROUP, else in the complaints channel.

The list is refreshed off the request path, by a background thread, every minute: a click must be
answered within 3 seconds and never waits on ``conversations.members`` (a slow Slack once made
clicks wait with it). Removing someone from the channel or the group revokes their access at the
next refresh. Only people count: bots, apps and deactivated accounts never do, guests only when
SLACK_TEAM_ALLOW_GUESTS says so, and people from another organisation in a Slack Connect channel
(their ``team_id`` is not ours, nor their Enterprise Grid organisation) only when
SLACK_TEAM_ALLOW_EXTERNAL says so — so nothing can be handed over to the bot or owned by it, and a
partner's staff in a shared channel cannot claim or resolve the brand's complaints.

If Slack cannot be asked, the last good list is kept for as long as that lasts: a request reaches
us only through Slack, so while Slack cannot tell us who is in the team, nobody new can ask either,
and locking the team out of the cards they are working on helps nobody. After ``STALE_AFTER`` a
warning is logged every refresh. Before any list was ever fetched, access fails closed with a
message saying why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60.0
STALE_AFTER = 15 * 60.0
PERSON_TTL = 5 * 60.0
"""How long what ``users.info`` said about a person (bot? deactivated? guest?) is trusted."""
UNREADABLE = frozenset({"user_not_found", "user_not_visible"})
"""``users.info`` errors that mean "this member cannot be read", not "Slack is failing"."""


def fold_name(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class Person:
    is_person: bool
    guest: bool
    checked_at: float
    external: bool = False
    """Of another organisation (Slack Connect)."""


class TeamAccess:
    def __init__(
        self,
        client: WebClient,
        *,
        usergroup: str | None,
        channel: str,
        allow_guests: bool = False,
        allow_external: bool = False,
        refresh_seconds: float = REFRESH_SECONDS,
        stale_after: float = STALE_AFTER,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.usergroup = usergroup
        self.channel = channel
        self.allow_guests = allow_guests
        self.allow_external = allow_external
        self._home: tuple[str | None, str | None] | None = None
        """Our workspace's team id and Enterprise Grid organisation (``auth.test``), read once."""
        self.refresh_seconds = refresh_seconds
        self.stale_after = stale_after
        self.monotonic = monotonic
        self._members: frozenset[str] | None = None
        self._fetched_at = float("-inf")
        self._people: dict[str, Person] = {}
        self._names: dict[str, frozenset[str]] = {}
        """Each member's names as Slack shows them (display, real, user name), folded: ``named``."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def who(self) -> str:
        return f"<!subteam^{self.usergroup}>" if self.usergroup else f"<#{self.channel}>"

    # -- answering a request: never asks Slack ---------------------------------------------------------
    def allowed(self, user_id: str, team_id: str | None = None) -> bool:
        """``team_id``: the team the request says the person belongs to (a Slack Connect user acting
        from their own workspace); refused when it is not ours, unless external people are allowed."""
        members = self._members
        if members is None:
            return False
        if team_id and not self.allow_external and self._home is not None and team_id != self._home[0]:
            return False
        return user_id in members

    def named(self, name: str) -> list[str]:
        """Team members whose display, real or user name is ``name`` (case and spacing aside): how a
        plain "@Bob J" typed in a command is found, since Slack does not turn it into a mention."""
        wanted = fold_name(name.lstrip("@"))
        members = self._members or frozenset()
        return sorted(u for u, names in self._names.items() if u in members and wanted in names)

    def refusal(self, what: str) -> str:
        """Why ``allowed`` said no, for the person refused."""
        if self._members is None:
            return (
                ":lock: Followthrough could not yet ask Slack who is in the support team, so nobody can "
                f"{what} for now. Try again in a minute; if it lasts, an admin should run `followthrough check`."
            )
        return f":lock: Only the support team ({self.who}) can {what}."

    # -- the refresher -------------------------------------------------------------------------------
    def start(self) -> None:
        """Fetch the list once now (start-up, not a request), then keep it fresh in the background."""
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="team-access", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            self.refresh()

    def refresh(self) -> bool:
        """Ask Slack again; keep the last list if it cannot answer. True if the list is fresh now."""
        try:
            members = self._fetch()
        except Exception as exc:
            age = self.monotonic() - self._fetched_at
            stale = self._members is not None and age > self.stale_after
            (log.error if stale else log.warning)(
                "could not refresh the support team's membership (%s); %s",
                type(exc).__name__,
                f"keeping the last good list, from {age / 60:.0f} min ago"
                if self._members is not None
                else "nobody can act yet",
            )
            return False
        self._members = members
        self._fetched_at = self.monotonic()
        return True

    def _fetch(self) -> frozenset[str]:
        if self._home is None:
            answer = self.client.auth_test()
            self._home = (answer.get("team_id"), answer.get("enterprise_id"))
        if self.usergroup:
            ids = list(self.client.usergroups_users_list(usergroup=self.usergroup)["users"])
        else:
            ids = []
            cursor = None
            while True:
                answer = self.client.conversations_members(channel=self.channel, cursor=cursor, limit=1000)
                ids += answer["members"]
                cursor = (answer.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        return frozenset(user for user in ids if self._counts(user))

    def _counts(self, user_id: str) -> bool:
        person = self._people.get(user_id)
        if person is None or self.monotonic() - person.checked_at > PERSON_TTL:
            try:
                user = self.client.users_info(user=user_id)["user"]
            except SlackApiError as exc:
                if exc.response.get("error") not in UNREADABLE:
                    raise  # Slack is failing (rate limit, outage): keep the last list, try again later
                # One member Slack will not show us (an information barrier, a Slack Connect account)
                # must not lock the whole team out: that one does not count, the others do.
                log.warning("support team member %s skipped: Slack says %s", user_id, exc.response.get("error"))
                self._people[user_id] = Person(False, False, self.monotonic())
                return False
            is_person = not (user.get("is_bot") or user.get("is_app_user") or user.get("deleted"))
            guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
            person = self._people[user_id] = Person(is_person, guest, self.monotonic(), self._external(user))
            profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
            names = (user.get("real_name"), user.get("name"), profile.get("display_name"), profile.get("real_name"))
            self._names[user_id] = frozenset(fold_name(n) for n in names if isinstance(n, str) and n.strip())
            if person.external and not self.allow_external:
                log.info("support team member %s skipped: of another organisation (Slack Connect)", user_id)
        return (
            person.is_person
            and (self.allow_guests or not person.guest)
            and (self.allow_external or not person.external)
        )

    def _external(self, user: dict[str, object]) -> bool:
        """Of another organisation: not our workspace, and not our Enterprise Grid organisation."""
        team, enterprise = self._home or (None, None)
        theirs = user.get("team_id")
        if not team or not theirs or theirs == team:
            return False
        grid = user.get("enterprise_user")
        return not (enterprise and isinstance(grid, dict) and grid.get("enterprise_id") == enterprise)
