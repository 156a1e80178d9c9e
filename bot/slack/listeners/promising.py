"""Recording and closing promises from Slack: the card's Promise form, ``/promise``, and the nag DM's
Kept / Reschedule / Cancel buttons. Due times are read in the owner's Slack time zone."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.common import limits
from bot.common.errors import DomainError
from bot.promises import lifecycle as promise_service
from bot.promises.due import MAX_AHEAD, BadDueTime, Reading, say_due
from bot.slack.deps import PromiseDeps, Requests
from bot.slack.ids import Action, Field, View, parse_ref
from bot.slack.listeners.cards import Cards, clicked
from bot.slack.middleware import refuse, request_name, team_only
from bot.slack.responses import Ack, Respond, ephemeral, field_value
from bot.slack.views import blocks
from bot.slack.views.fit import fit_message, fit_view
from bot.store.engine import transaction
from bot.store.enums import PromiseStatus
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
        people = self.deps.people
        return self.deps.parser.parse(when, now=now, tz=people.tz(owner), locale=people.locale(owner))

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
        tz = self.deps.people.tz(user)
        reading = self.deps.parser.read(match.group(2), now=now, tz=tz, locale=self.deps.people.locale(user))
        if reading.error:
            self._refused(body, BadDueTime(reading.error))
            ack(response_type="ephemeral", text=f"{reading.error}\n{PROMISE_USAGE}")
            return
        longest = max((len(o.what) for o in reading.options), default=len(reading.what or ""))
        if longest > promise_service.MAX_TEXT:  # before asking: the question would carry it in its buttons
            too_long = DomainError(
                f"Keep the promise under {promise_service.MAX_TEXT} characters (this one is {longest}); "
                "details belong in the thread."
            )
            self._refused(body, too_long)
            ack(response_type="ephemeral", text=f"{too_long}\n{PROMISE_USAGE}")
            return
        if reading.ask:
            refuse(self.requests, request_name(body), f"asked: {reading.ask}")
            ack(response_type="ephemeral", **fit_message(_ask_message(cid, match.group(2), reading, now=now, tz=tz)))
            return
        due, what = reading.options[0].due, reading.what
        try:
            with transaction(self.deps.sessions) as session:
                promise_service.create(session, cid, owner_id=user, text=what, due_at=due, created_by=user, at=now)
        except DomainError as exc:
            self._refused(body, exc)
            ack(response_type="ephemeral", text=f"{exc}\n{PROMISE_USAGE}")
            return
        ack(response_type="ephemeral", text=_recorded(cid, what, due, now=now, tz=tz, typed=reading.zone))

    def pick(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """A reading chosen from /promise's question: recorded once, however often it is clicked."""
        user, action = clicked(body)
        ack()
        if action.get("action_id") == Action.PROMISE_PICK_CANCEL.value:
            respond(replace_original=True, text="Not recorded. Type `/promise` again when you know the time.")
            return
        try:
            choice = _parse_choice(action.get("value"))
        except ValueError as exc:
            self._refused(body, exc)
            ephemeral(respond, "That button is out of date; type `/promise` again.")
            return
        now = self.deps.clock.now()
        tz = self.deps.people.tz(user)
        due = datetime.fromtimestamp(choice["d"], UTC)
        asked = datetime.fromtimestamp(choice["a"], UTC)
        try:
            with transaction(self.deps.sessions) as session:
                promise_service.create_once(
                    session, choice["c"], owner_id=user, text=choice["w"], due_at=due, asked_at=asked, at=now
                )
        except DomainError as exc:
            self._refused(body, exc)
            ephemeral(respond, f"{exc}\n{PROMISE_USAGE}")
            return
        typed = (choice["z"][0], choice["z"][1]) if choice.get("z") else None
        respond(replace_original=True, text=_recorded(choice["c"], choice["w"], due, now=now, tz=tz, typed=typed))

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
        client.views_open(trigger_id=body["trigger_id"], view=fit_view(blocks.reschedule_modal(pid, text)))

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
            field = Field.REASON if exc.field == "reason" else Field.WHEN
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
    for pick in (Action.PROMISE_PICK, Action.PROMISE_PICK_OTHER, Action.PROMISE_PICK_THIRD, Action.PROMISE_PICK_CANCEL):
        bolt.action(pick.value, middleware=[team_only(requests, "record promises")])(desk.pick)
    bolt.view(View.RESCHEDULE.value, middleware=[team_only(requests, "move promises")])(desk.submit_reschedule)


def _recorded(cid: int, what: str, due: datetime, *, now: datetime, tz: str, typed: tuple[str, str] | None) -> str:
    said = say_due(due, now=now, tz=tz, typed=typed)
    return f":handshake: Promise recorded on #{cid}: “{blocks.escape(what)}” — due {said}. I'll remind you if it slips."


def _ask_message(cid: int, said: str, reading: Reading, *, now: datetime, tz: str) -> dict[str, Any]:
    """What was read and one button per reading, plus Cancel: an unsure reading is never saved silently."""
    asked = int(now.timestamp())
    buttons = []
    picks = (Action.PROMISE_PICK, Action.PROMISE_PICK_OTHER, Action.PROMISE_PICK_THIRD)
    for action, option in zip(picks, reading.options, strict=False):
        when = say_due(option.due, now=now, tz=tz).split(" your time")[0]
        label = f"{when} · {option.label or option.what}"
        choice: dict[str, Any] = {"c": cid, "d": int(option.due.timestamp()), "w": option.what, "a": asked}
        if reading.zone and not option.label:
            choice["z"] = list(reading.zone)
        value = json.dumps(choice, ensure_ascii=False)  # 2,000 characters, not bytes: keep accents whole
        buttons.append(
            {
                "type": "button",
                "action_id": action.value,
                "text": {"type": "plain_text", "text": label if len(label) <= 75 else label[:74] + "…"},
                "value": value[:2000],
            }
        )
    buttons[0]["style"] = "primary"
    buttons.append(
        {
            "type": "button",
            "action_id": Action.PROMISE_PICK_CANCEL.value,
            "text": {"type": "plain_text", "text": "Cancel"},
            "value": str(cid),
        }
    )
    room = max(80, (2400 - len(reading.ask)) // max(1, len(reading.options)) - 80)  # the section's 3,000
    lines = [
        f"• {say_due(o.due, now=now, tz=tz)}{' (' + o.label + ')' if o.label else ''}: "
        f"“{blocks.cut(blocks.escape(o.what), room)}”"
        for o in reading.options
    ]
    text = f"{reading.ask} (#{cid}, “{blocks.escape(said[:200])}”)"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f":thinking_face: {text}\n" + "\n".join(lines)}},
            {"type": "actions", "block_id": "ft_promise_pick", "elements": buttons},
        ],
    }


def _parse_choice(value: str | None) -> dict[str, Any]:
    try:
        choice = json.loads(value or "")
        cid, due, what, asked = int(choice["c"]), int(choice["d"]), str(choice["w"]), int(choice["a"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("not a promise reading") from exc
    if not (0 < cid < 10**12 and 0 < due < 10**11 and 0 < asked < 10**11 and what.strip()):
        raise ValueError("not a promise reading")
    zone = choice.get("z")
    if zone is not None and not (
        isinstance(zone, list) and len(zone) == 2 and all(isinstance(z, str) and len(z) <= 64 for z in zone)
    ):
        raise ValueError("not a promise reading")
    if zone is not None:
        try:
            ZoneInfo(zone[1])
        except (ValueError, KeyError, ZoneInfoNotFoundError) as exc:
            raise ValueError("not a promise reading") from exc
    return {"c": cid, "d": due, "w": what, "a": asked, "z": zone}
