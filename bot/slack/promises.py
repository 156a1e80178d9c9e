"""Recording and closing promises from Slack: the card's Promise form, ``/promise``, and the nag DM's
Kept / Reschedule / Cancel buttons. Due times are read in the owner's Slack time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.domain import limits
from bot.domain import promises as promise_service
from bot.domain.due import MAX_AHEAD, BadDueTime, split_when_what
from bot.domain.errors import DomainError
from bot.domain.types import PromiseStatus
from bot.slack import blocks
from bot.slack.cards import Cards, clicked
from bot.slack.deps import PromiseDeps, Requests
from bot.slack.ids import Action, Field, View, parse_ref
from bot.slack.middleware import refuse, request_name, team_only
from bot.slack.replies import Ack, Respond, ephemeral, field_value
from bot.store.db import transaction
from bot.store.models import Promise

if TYPE_CHECKING:
    from slack_bolt import App

PROMISE_USAGE = (
    "Usage: `/promise #42 &lt;when&gt; &lt;what&gt;` — e.g. `/promise #42 tomorrow 3pm call back about the refund`, "
    "`/promise #7 friday send the replacement`, `/promise #9 in 2 hours check with the courier`."
)


class PromiseDesk:
    def __init__(self, deps: PromiseDeps, requests: Requests) -> None:
        self.deps = deps
        self.requests = requests

    def _due_at(self, when: str | None, picked: Any, owner: str, now: datetime) -> datetime:
        if picked:
            due = datetime.fromtimestamp(int(picked), UTC)
            if due <= now:
                raise BadDueTime("The picked time has passed; pick a time ahead.")
            if due - now > MAX_AHEAD:
                raise BadDueTime("That is more than a year ahead; promise something nearer.")
            return due
        if not when or not when.strip():
            raise BadDueTime("Say when — type it (tomorrow 5pm, friday, in 2 hours, eod) or pick a date and time.")
        if len(when) > limits.DUE_TEXT:
            raise BadDueTime(f"Say when in at most {limits.DUE_TEXT} characters, e.g. tomorrow 5pm.")
        return self.deps.parser.parse(when, now=now, tz=self.deps.people.tz(owner))

    def _refused(self, body: dict[str, Any], exc: Exception) -> None:
        refuse(self.requests, request_name(body), f"refused: {exc}")

    # -- the card's Promise form ---------------------------------------------------------------------
    def open_form(self, complaint_id: int, user: str) -> dict[str, Any]:
        return blocks.promise_modal(complaint_id, user)

    def submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        cid = parse_ref(view.get("private_metadata"))
        values = view["state"]["values"]
        owner = field_value(values, Field.OWNER, "selected_user") or user
        if not self.deps.access.allowed(owner):
            self._refused(body, DomainError("the owner is not in the support team"))
            ack(response_action="errors", errors={Field.OWNER.value: "Pick someone in the support team."})
            return
        now = self.deps.clock.now()
        try:
            due = self._due_at(
                field_value(values, Field.WHEN),
                field_value(values, Field.WHEN_PICKED, "selected_date_time"),
                owner,
                now,
            )
        except BadDueTime as exc:
            self._refused(body, exc)
            ack(response_action="errors", errors={Field.WHEN.value: str(exc)[:150]})
            return
        try:
            with transaction(self.deps.sessions) as session:
                promise_service.create(
                    session,
                    cid,
                    owner_id=owner,
                    text=field_value(values, Field.WHAT) or "",
                    due_at=due,
                    created_by=user,
                    at=now,
                )
        except DomainError as exc:
            self._refused(body, exc)
            ack(response_action="errors", errors={Field.WHAT.value: str(exc)[:150]})
            return
        ack()

    # -- /promise #42 tomorrow 3pm call back ---------------------------------------------------------
    def command(self, ack: Ack, body: dict[str, Any], command: dict[str, Any]) -> None:
        user, text = command["user_id"], (command.get("text") or "").strip()
        now = self.deps.clock.now()
        match = re.match(r"^#?(\d{1,12})\s+(.+)$", text, re.DOTALL)
        if not match:
            self._refused(body, DomainError("no complaint number"))
            ack(response_type="ephemeral", text=f"I need a complaint number first. {PROMISE_USAGE}")
            return
        cid = int(match.group(1))
        try:
            due, what = split_when_what(match.group(2), self.deps.parser, now=now, tz=self.deps.people.tz(user))
            with transaction(self.deps.sessions) as session:
                promise_service.create(session, cid, owner_id=user, text=what, due_at=due, created_by=user, at=now)
        except BadDueTime as exc:
            self._refused(body, exc)
            ack(response_type="ephemeral", text=f"{exc}\n{PROMISE_USAGE}")
            return
        ack(
            response_type="ephemeral",
            text=f":handshake: Promise recorded on #{cid}: “{blocks.escape(what)}” — due {blocks.slack_date(due)}. "
            "I'll remind you if it slips.",
        )

    # -- the nag DM's buttons ----------------------------------------------------------------------------
    def close_button(self, status: PromiseStatus) -> Any:
        def handler(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            user, action = clicked(body)
            pid = parse_ref(action.get("value"))
            with transaction(self.deps.sessions) as session:
                promise = promise_service.close(session, pid, user_id=user, status=status, at=self.deps.clock.now())
            ack()
            word = "kept :white_check_mark:" if status is PromiseStatus.KEPT else "cancelled"
            respond(
                replace_original=True,
                text=f"Promise “{blocks.escape(promise.text)}” on #{promise.complaint_id}: {word} (by <@{user}>).",
            )

        return handler

    def open_reschedule(self, ack: Ack, body: dict[str, Any], respond: Respond, client: Any) -> None:
        _user, action = clicked(body)
        pid = parse_ref(action.get("value"))
        with self.deps.sessions() as session:
            promise = session.get(Promise, pid)
            owed = promise is not None and promise.status in promise_service.STILL_OWED
            text = promise.text if promise is not None else ""
        if not owed:  # answered outside the session: no network call while holding the database
            ack()
            ephemeral(respond, "That promise is already closed.")
            return
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=blocks.reschedule_modal(pid, text))

    def submit_reschedule(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        pid = parse_ref(view.get("private_metadata"))
        values = view["state"]["values"]
        now = self.deps.clock.now()
        with self.deps.sessions() as session:
            promise = session.get(Promise, pid)
            owner = promise.owner_id if promise else user
        try:
            due = self._due_at(field_value(values, Field.WHEN), None, owner, now)
            with transaction(self.deps.sessions) as session:
                promise_service.reschedule(
                    session, pid, user_id=user, due_at=due, reason=field_value(values, Field.REASON) or "", at=now
                )
        except DomainError as exc:
            self._refused(body, exc)
            field = Field.REASON if "why" in str(exc).lower() else Field.WHEN
            ack(response_action="errors", errors={field.value: str(exc)[:150]})
            return
        ack()


def register(bolt: App, deps: PromiseDeps, requests: Requests, cards: Cards) -> None:
    desk = PromiseDesk(deps, requests)
    team = [team_only(requests)]
    bolt.action(Action.PROMISE.value, middleware=team)(cards.modal_opener(desk.open_form))
    bolt.view(View.PROMISE.value, middleware=[team_only(requests, "record promises")])(desk.submit)
    bolt.command("/promise", middleware=[team_only(requests, "record promises")])(desk.command)
    bolt.action(Action.PROMISE_KEPT.value, middleware=team)(desk.close_button(PromiseStatus.KEPT))
    bolt.action(Action.PROMISE_CANCEL.value, middleware=team)(desk.close_button(PromiseStatus.CANCELLED))
    bolt.action(Action.PROMISE_RESCHEDULE.value, middleware=team)(desk.open_reschedule)
    bolt.view(View.RESCHEDULE.value, middleware=[team_only(requests, "move promises")])(desk.submit_reschedule)
