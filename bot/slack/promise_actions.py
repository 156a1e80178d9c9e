"""Recording and closing promises from Slack: the card's Promise form, ``/promise``, and the nag DM's
Kept / Reschedule / Cancel buttons. Due times are read in the owner's Slack time zone."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.domain import promises
from bot.domain.due import MAX_AHEAD, BadDueTime, DueParser, split_when_what
from bot.domain.errors import Conflict, DomainError
from bot.domain.types import PromiseStatus
from bot.slack import blocks
from bot.slack.actions import Desk, _ephemeral, _name
from bot.slack.ids import Action, Field, View, parse_ref
from bot.slack.people import People
from bot.store.db import transaction
from bot.store.models import Promise

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.app import Followthrough

Ack = Callable[..., Any]
PROMISE_USAGE = (
    "Usage: `/promise #42 &lt;when&gt; &lt;what&gt;` — e.g. `/promise #42 tomorrow 3pm call back about the refund`, "
    "`/promise #7 friday send the replacement`, `/promise #9 in 2 hours check with the courier`."
)


def _value(values: dict[str, Any], field: Field, key: str = "value") -> Any:
    return (values.get(field.value, {}).get(field.value) or {}).get(key)


class PromiseDesk:
    def __init__(self, app: Followthrough, desk: Desk, people: People) -> None:
        self.app = app
        self.desk = desk
        self.people = people
        self.parser = DueParser(workday_end=app.settings.workday_end)

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
        return self.parser.parse(when, now=now, tz=self.people.tz(owner))

    # -- the card's Promise form ---------------------------------------------------------------------
    def open_form(self, complaint_id: int, user: str) -> dict[str, Any]:
        return blocks.promise_modal(complaint_id, user)

    def submit(self, ack: Ack, body: dict[str, Any], respond: Any, view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        cid = parse_ref(view.get("private_metadata"))
        values = view["state"]["values"]
        owner = _value(values, Field.OWNER, "selected_user") or user
        if not self.desk.access.allowed(user):
            self.desk.record_click(user, "promise", cid, "refused: not in the support team")
            ack(response_action="errors", errors={Field.WHAT.value: "Only the support team can record promises."})
            return
        if not self.desk.access.allowed(owner):
            ack(response_action="errors", errors={Field.OWNER.value: "Pick someone in the support team."})
            return
        now = self.app.clock.now()
        try:
            due = self._due_at(
                _value(values, Field.WHEN), _value(values, Field.WHEN_PICKED, "selected_date_time"), owner, now
            )
        except BadDueTime as exc:
            self.desk.record_click(user, "promise", cid, f"refused: {exc}")
            ack(response_action="errors", errors={Field.WHEN.value: str(exc)[:150]})
            return
        try:
            with transaction(self.app.sessions) as session:
                promises.create(
                    session,
                    cid,
                    owner_id=owner,
                    text=_value(values, Field.WHAT) or "",
                    due_at=due,
                    created_by=user,
                    at=now,
                )
        except DomainError as exc:
            self.desk.record_click(user, "promise", cid, f"refused: {exc}")
            ack(response_action="errors", errors={Field.WHAT.value: str(exc)[:150]})
            return
        ack()

    # -- /promise #42 tomorrow 3pm call back ---------------------------------------------------------
    def command(self, ack: Ack, body: dict[str, Any], respond: Any, command: dict[str, Any]) -> None:
        user, text = command["user_id"], (command.get("text") or "").strip()
        now = self.app.clock.now()
        match = re.match(r"^#?(\d{1,12})\s+(.+)$", text, re.DOTALL)
        cid = int(match.group(1)) if match else None
        self.desk.record_click(user, "command:/promise", cid, text[:500] or "(empty)")
        if not match:
            ack(response_type="ephemeral", text=f"I need a complaint number first. {PROMISE_USAGE}")
            return
        if not self.desk.access.allowed(user):
            ack(response_type="ephemeral", text=f":lock: Only the support team ({self.desk.access.who}) can do that.")
            return
        assert cid is not None
        try:
            due, what = split_when_what(match.group(2), self.parser, now=now, tz=self.people.tz(user))
            with transaction(self.app.sessions) as session:
                promises.create(session, cid, owner_id=user, text=what, due_at=due, created_by=user, at=now)
        except BadDueTime as exc:
            ack(response_type="ephemeral", text=f"{exc}\n{PROMISE_USAGE}")
            return
        except DomainError as exc:
            ack(response_type="ephemeral", text=str(exc))
            return
        ack(
            response_type="ephemeral",
            text=f":handshake: Promise recorded on #{cid}: “{blocks.escape(what)}” — due {blocks.slack_date(due)}. "
            "I'll remind you if it slips.",
        )

    # -- the nag DM's buttons ----------------------------------------------------------------------------
    def close_button(self, status: PromiseStatus, action: Action) -> Callable[..., None]:
        def handler(ack: Ack, body: dict[str, Any], respond: Any) -> None:
            user, clicked = Desk.clicked(body)
            pid = parse_ref(clicked.get("value"))
            if not self.desk.admit(user, _name(action), None, respond):
                ack()
                return
            try:
                with transaction(self.app.sessions) as session:
                    promise = promises.close(session, pid, user_id=user, status=status, at=self.app.clock.now())
            except Conflict as exc:
                self.desk.record_click(user, _name(action), None, f"conflict: {exc}")
                ack()
                _ephemeral(respond, str(exc))
                return
            ack()
            word = "kept :white_check_mark:" if status is PromiseStatus.KEPT else "cancelled"
            respond(
                replace_original=True,
                text=f"Promise “{blocks.escape(promise.text)}” on #{promise.complaint_id}: {word} (by <@{user}>).",
            )

        return self.desk.guard(handler)

    def open_reschedule(self, ack: Ack, body: dict[str, Any], respond: Any, client: Any) -> None:
        user, clicked = Desk.clicked(body)
        pid = parse_ref(clicked.get("value"))
        if not self.desk.admit(user, _name(Action.PROMISE_RESCHEDULE), None, respond):
            ack()
            return
        with self.app.sessions() as session:
            promise = session.get(Promise, pid)
            if promise is None or promise.status not in (PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value):
                ack()
                _ephemeral(respond, "That promise is already closed.")
                return
            text = promise.text
        self.desk.record_click(user, _name(Action.PROMISE_RESCHEDULE), None, f"opened the form for promise {pid}")
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=blocks.reschedule_modal(pid, text))

    def submit_reschedule(self, ack: Ack, body: dict[str, Any], respond: Any, view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        pid = parse_ref(view.get("private_metadata"))
        values = view["state"]["values"]
        if not self.desk.access.allowed(user):
            ack(response_action="errors", errors={Field.WHEN.value: "Only the support team can move promises."})
            return
        now = self.app.clock.now()
        with self.app.sessions() as session:
            promise = session.get(Promise, pid)
            owner = promise.owner_id if promise else user
        try:
            due = self._due_at(_value(values, Field.WHEN), None, owner, now)
        except BadDueTime as exc:
            ack(response_action="errors", errors={Field.WHEN.value: str(exc)[:150]})
            return
        try:
            with transaction(self.app.sessions) as session:
                promises.reschedule(
                    session, pid, user_id=user, due_at=due, reason=_value(values, Field.REASON) or "", at=now
                )
        except DomainError as exc:
            field = Field.REASON if "why" in str(exc).lower() else Field.WHEN
            ack(response_action="errors", errors={field.value: str(exc)[:150]})
            return
        ack()


def register(bolt: App, app: Followthrough, desk: Desk, people: People) -> None:
    pd = PromiseDesk(app, desk, people)
    bolt.action(Action.PROMISE.value)(desk.modal_opener(Action.PROMISE, pd.open_form))
    bolt.view(View.PROMISE.value)(desk.guard(pd.submit))
    bolt.command("/promise")(desk.guard(pd.command))
    bolt.action(Action.PROMISE_KEPT.value)(pd.close_button(PromiseStatus.KEPT, Action.PROMISE_KEPT))
    bolt.action(Action.PROMISE_CANCEL.value)(pd.close_button(PromiseStatus.CANCELLED, Action.PROMISE_CANCEL))
    bolt.action(Action.PROMISE_RESCHEDULE.value)(desk.guard(pd.open_reschedule))
    bolt.view(View.RESCHEDULE.value)(desk.guard(pd.submit_reschedule))
