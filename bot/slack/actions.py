"""Card buttons and modals. Thin: parse, check who is asking, call the domain, ack, answer.

Each click is stored (the state change and its audit event, or an audit event saying why nothing
changed) before the ack; the card re-render and the thread line go out through the outbox, driven
from stored state, after the ack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.domain import complaints
from bot.domain.errors import Conflict, DomainError, NotFound
from bot.domain.types import OPEN_STATUSES
from bot.slack import blocks
from bot.slack.access import TeamAccess
from bot.slack.errors import guarded
from bot.slack.ids import Action, Field, View, parse_ref
from bot.store.db import transaction
from bot.store.models import Complaint

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.app import Followthrough

log = logging.getLogger(__name__)

Respond = Callable[..., Any]


def _name(action: Action) -> str:
    """The audit name of a button: its action id without our prefix (``claim``, ``resolve`` …)."""
    return action.value.removeprefix("ft_")


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


class Desk:
    """The card handlers, bound to one assembled app."""

    def __init__(self, app: Followthrough, access: TeamAccess) -> None:
        self.app = app
        self.access = access
        self.tiers = dict(app.settings.escalation_tiers)

    # -- shared steps ----------------------------------------------------------------------------
    def guard(self, handler: Callable[..., None]) -> Callable[..., None]:
        """The error policy, storing any request that failed before it could store itself."""
        return guarded(handler, recorder=self.record_failure)

    def record_failure(self, body: dict[str, Any], ref: str) -> None:
        user = (body.get("user") or {}).get("id") or body.get("user_id") or "unknown"
        actions = body.get("actions") or [{}]
        what = actions[0].get("action_id") or (body.get("view") or {}).get("callback_id") or body.get("command")
        with transaction(self.app.sessions) as session:
            complaints.record_event(
                session,
                actor=str(user),
                action=f"error:{str(what or 'request')[:50]}",
                note=f"ref {ref}"[:500],
                at=self.app.clock.now(),
            )

    def record_click(self, user: str, action: str, complaint_id: int | None, outcome: str) -> None:
        """Persist a click that changed nothing (refused, conflict, opened a modal): who and when."""
        with transaction(self.app.sessions) as session:
            exists = complaint_id is not None and session.get(Complaint, complaint_id) is not None
            complaints.record_event(
                session,
                complaint_id=complaint_id if exists else None,
                actor=user,
                action=f"click:{action}",
                note=outcome,
                at=self.app.clock.now(),
            )

    def admit(self, user: str, action: str, complaint_id: int | None, respond: Respond) -> bool:
        if self.access.allowed(user):
            return True
        self.record_click(user, action, complaint_id, "refused: not in the support team")
        _ephemeral(respond, f":lock: Only the support team ({self.access.who}) can act on complaint cards.")
        return False

    def change(
        self,
        *,
        ack: Callable[..., Any],
        respond: Respond,
        user: str,
        action: str,
        complaint_id: int,
        apply: Callable[..., Complaint],
        **kwargs: Any,
    ) -> Complaint | None:
        """Store the change, then ack; on a conflict, store the click and tell the user why."""
        try:
            with transaction(self.app.sessions) as session:
                result = apply(session, complaint_id, user_id=user, at=self.app.clock.now(), **kwargs)
        except Conflict as exc:
            self.record_click(user, action, complaint_id, f"conflict: {exc}")
            ack()
            owner = f" by <@{exc.owner_id}>" if exc.owner_id else ""
            _ephemeral(respond, f"Nothing changed: complaint #{complaint_id} is already {exc.current_status}{owner}.")
            return None
        except DomainError:
            self.record_click(user, action, complaint_id, "refused")
            raise
        ack()
        return result

    @staticmethod
    def clicked(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return body["user"]["id"], body["actions"][0]

    # -- buttons -----------------------------------------------------------------------------------
    def simple(self, action: Action, apply: Callable[..., Complaint]) -> Callable[..., None]:
        def handler(ack: Callable[..., Any], body: dict[str, Any], respond: Respond) -> None:
            user, clicked = self.clicked(body)
            cid = parse_ref(clicked.get("value"))
            if not self.admit(user, _name(action), cid, respond):
                ack()
                return
            self.change(ack=ack, respond=respond, user=user, action=_name(action), complaint_id=cid, apply=apply)

        return self.guard(handler)

    def hand_over(self, ack: Callable[..., Any], body: dict[str, Any], respond: Respond) -> None:
        user, clicked = self.clicked(body)
        cid = parse_ref(clicked.get("block_id", "").removeprefix("card_"))
        to_user = clicked.get("selected_user") or ""
        if not self.admit(user, _name(Action.HAND_OVER), cid, respond):
            ack()
            return
        if to_user and not self.access.allowed(to_user):
            self.record_click(user, _name(Action.HAND_OVER), cid, f"refused: <@{to_user}> is not in the team")
            ack()
            _ephemeral(respond, f"<@{to_user}> is not in the support team, so cannot own complaint #{cid}.")
            return
        self.change(
            ack=ack,
            respond=respond,
            user=user,
            action=Action.HAND_OVER.value,
            complaint_id=cid,
            apply=complaints.hand_over,
            to_user=to_user,
        )

    def modal_opener(self, action: Action, build: Callable[[int, str], dict[str, Any]]) -> Callable[..., None]:
        def handler(ack: Callable[..., Any], body: dict[str, Any], respond: Respond, client: Any) -> None:
            user, clicked = self.clicked(body)
            cid = parse_ref(clicked.get("value"))
            if not self.admit(user, _name(action), cid, respond):
                ack()
                return
            with self.app.sessions() as session:
                complaint = session.get(Complaint, cid)
                if complaint is None:
                    raise NotFound(f"There is no complaint #{cid}.")
                if complaint.status not in [s.value for s in OPEN_STATUSES]:
                    ack()
                    _ephemeral(respond, f"Complaint #{cid} is already {complaint.status}.")
                    return
            self.record_click(user, _name(action), cid, "opened the form")
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=build(cid, user))

        return self.guard(handler)

    def resolve_form(self, complaint_id: int, _user: str) -> dict[str, Any]:
        with self.app.sessions() as session:
            return blocks.resolve_modal(complaint_id, complaints.open_promise_count(session, complaint_id))

    # -- modal submissions -------------------------------------------------------------------------
    def submission(self, action: str, field: Field, apply: Callable[..., Any]) -> Callable[..., None]:
        """A modal's submit: errors are shown next to ``field`` in the modal, which stays open."""

        def handler(ack: Callable[..., Any], body: dict[str, Any], respond: Respond, view: dict[str, Any]) -> None:
            user = body["user"]["id"]
            cid = parse_ref(view.get("private_metadata"))
            if not self.access.allowed(user):
                self.record_click(user, action, cid, "refused: not in the support team")
                ack(response_action="errors", errors={field.value: "Only the support team can do this."})
                return
            values = view["state"]["values"]
            try:
                with transaction(self.app.sessions) as session:
                    apply(session, cid, user, values)
            except DomainError as exc:
                self.record_click(user, action, cid, f"refused: {exc}")
                ack(response_action="errors", errors={field.value: str(exc)[:150]})
                return
            ack()

        return self.guard(handler)

    def apply_escalate(self, session: Any, cid: int, user: str, values: dict[str, Any]) -> None:
        tier = ((values.get(Field.TIER, {}).get(Field.TIER) or {}).get("selected_option") or {}).get("value")
        reason = (values.get(Field.REASON, {}).get(Field.REASON) or {}).get("value") or ""
        if tier not in self.tiers:
            raise DomainError("Pick one of the escalation tiers.")
        complaints.escalate(
            session,
            cid,
            user_id=user,
            tier=tier,
            reason=reason,
            at=self.app.clock.now(),
            channel=self.app.settings.slack_escalation_channel,
            contact=self.tiers[tier],
        )

    def apply_resolve(self, session: Any, cid: int, user: str, values: dict[str, Any]) -> None:
        note = (values.get(Field.NOTE, {}).get(Field.NOTE) or {}).get("value") or ""
        checked = (values.get(Field.CONFIRMED, {}).get(Field.CONFIRMED) or {}).get("selected_options") or []
        choice = (
            (values.get(Field.CLOSE_PROMISES, {}).get(Field.CLOSE_PROMISES) or {}).get("selected_option") or {}
        ).get("value", "open")
        if complaints.open_promise_count(session, cid) and Field.CLOSE_PROMISES not in values:
            raise DomainError("This complaint has open promises: reopen the form to say what happens to them.")
        complaints.resolve(
            session,
            cid,
            user_id=user,
            note=note,
            customer_confirmed=bool(checked),
            at=self.app.clock.now(),
            open_promises=choice,
        )


def register(bolt: App, app: Followthrough) -> Desk:
    access = TeamAccess(
        app.slack, usergroup=app.settings.slack_support_usergroup, channel=app.settings.slack_complaints_channel
    )
    app.extras["access"] = access
    desk = Desk(app, access)
    bolt.action(Action.CLAIM.value)(desk.simple(Action.CLAIM, complaints.claim))
    bolt.action(Action.UNCLAIM.value)(desk.simple(Action.UNCLAIM, complaints.unclaim))
    bolt.action(Action.DISMISS.value)(desk.simple(Action.DISMISS, complaints.dismiss))
    bolt.action(Action.REOPEN.value)(desk.simple(Action.REOPEN, complaints.reopen))
    bolt.action(Action.HAND_OVER.value)(desk.guard(desk.hand_over))
    bolt.action(Action.ESCALATE.value)(
        desk.modal_opener(Action.ESCALATE, lambda cid, _user: blocks.escalate_modal(cid, list(desk.tiers)))
    )
    bolt.action(Action.RESOLVE.value)(desk.modal_opener(Action.RESOLVE, desk.resolve_form))
    bolt.view(View.ESCALATE.value)(desk.submission("escalate", Field.REASON, desk.apply_escalate))
    bolt.view(View.RESOLVE.value)(desk.submission("resolve", Field.NOTE, desk.apply_resolve))
    return desk
