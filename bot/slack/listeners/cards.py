"""Card buttons and their forms. Thin: parse, call the domain, ack.

By the time a handler runs, the request is stored and the person is known to be in the team
(``bot.slack.middleware``). Each change is stored with its audit event before the ack; the card
re-render and the thread line go out through the delivery rows the domain wrote, after the ack.
Refusals (``DomainError``) go to the one error policy, except in forms, where the message belongs
next to the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.common.errors import DomainError, NotFound
from bot.desk import complaints, replies
from bot.slack.deps import CardDeps, Requests
from bot.slack.ids import Action, Field, View, parse_ref
from bot.slack.middleware import refuse, request_name, team_only
from bot.slack.responses import Ack, Respond, ephemeral, field_value
from bot.slack.views import blocks, reply_blocks
from bot.slack.views.fit import fit_view
from bot.store.engine import transaction
from bot.store.enums import OPEN_STATUSES
from bot.store.models import Complaint

if TYPE_CHECKING:
    from slack_bolt import App


def clicked(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return body["user"]["id"], body["actions"][0]


class Cards:
    def __init__(self, deps: CardDeps) -> None:
        self.deps = deps

    def now(self) -> Any:
        return self.deps.clock.now()

    # -- buttons -----------------------------------------------------------------------------------
    def simple(self, apply: Callable[..., Complaint]) -> Callable[..., None]:
        """Claim, Unclaim, Not a complaint, Reopen: one conditional change, stored before the ack."""

        def handler(ack: Ack, body: dict[str, Any]) -> None:
            user, action = clicked(body)
            cid = parse_ref(action.get("value"))
            with transaction(self.deps.sessions) as session:
                apply(session, cid, user_id=user, at=self.now())
            ack()

        return handler

    def hand_over(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        user, action = clicked(body)
        cid = parse_ref(action.get("block_id", "").removeprefix("card_"))
        to_user = action.get("selected_user") or ""
        if to_user and not self.deps.access.allowed(to_user):
            raise DomainError(f"<@{to_user}> is not in the support team, so cannot own complaint #{cid}.")
        with transaction(self.deps.sessions) as session:
            complaints.hand_over(session, cid, user_id=user, to_user=to_user, at=self.now())
        ack()

    def modal_opener(self, build: Callable[[int, str], dict[str, Any]]) -> Callable[..., None]:
        def handler(ack: Ack, body: dict[str, Any], respond: Respond, client: Any) -> None:
            user, action = clicked(body)
            cid = parse_ref(action.get("value"))
            with self.deps.sessions() as session:
                complaint = session.get(Complaint, cid)
                if complaint is None:
                    raise NotFound(f"There is no complaint #{cid}.")
                status = complaint.status
            if status not in [s.value for s in OPEN_STATUSES]:
                ack()
                ephemeral(respond, f"Complaint #{cid} is already {status}.")
                return
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=fit_view(build(cid, user)))

        return handler

    def resolve_form(self, complaint_id: int, _user: str) -> dict[str, Any]:
        with self.deps.sessions() as session:
            view = blocks.resolve_modal(complaint_id, complaints.open_promise_count(session, complaint_id))
            complaint = session.get(Complaint, complaint_id)
            if complaint is not None and complaint.source in self.deps.reply_sources:
                view["blocks"].insert(1, reply_blocks.closing_reply_block(complaint.author_handle))
            return view

    def escalate_form(self, complaint_id: int, _user: str) -> dict[str, Any]:
        return blocks.escalate_modal(complaint_id, list(self.deps.tiers))

    # -- form submissions --------------------------------------------------------------------------
    def submission(self, field: Field, apply: Callable[..., Any], requests: Requests) -> Callable[..., None]:
        """A form's submit: a refusal is shown next to ``field`` and the form stays open."""

        def handler(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            user = body["user"]["id"]
            cid = parse_ref(view.get("private_metadata"))
            form = Form(str(view.get("id") or ""), self.deps.tz_of(user))  # the zone before the transaction
            try:
                with transaction(self.deps.sessions) as session:
                    apply(session, cid, user, view["state"]["values"], form)
            except DomainError as exc:
                refuse(requests, request_name(body), f"refused: {exc}")
                ack(response_action="errors", errors={field.value: str(exc)[:150]})
                return
            ack()

        return handler

    def apply_escalate(self, session: Any, cid: int, user: str, values: dict[str, Any], _form: Form) -> None:
        tier = (field_value(values, Field.TIER, "selected_option") or {}).get("value")
        reason = field_value(values, Field.REASON) or ""
        if tier not in self.deps.tiers:
            raise DomainError("Pick one of the escalation tiers.")
        complaints.escalate(
            session,
            cid,
            user_id=user,
            tier=tier,
            reason=reason,
            at=self.now(),
            channel=self.deps.escalation_channel,
            contact=self.deps.tiers[tier],
        )

    def apply_resolve(self, session: Any, cid: int, user: str, values: dict[str, Any], form: Form) -> None:
        note = field_value(values, Field.NOTE) or ""
        checked = field_value(values, Field.CONFIRMED, "selected_options") or []
        choice = (field_value(values, Field.CLOSE_PROMISES, "selected_option") or {}).get("value", "open")
        if complaints.open_promise_count(session, cid) and Field.CLOSE_PROMISES not in values:
            raise DomainError("This complaint has open promises: reopen the form to say what happens to them.")
        closing = _closing_reply(values)
        if closing:
            # Stored with the resolution, in its transaction: sent once through the Reply path.
            # Keyed by the card and the form: the same Resolve sent twice asks for one closing reply.
            replies.request_reply(
                session, cid, text=closing, user_id=user, tz=form.tz, key=f"resolve:{cid}:view:{form.view_id}",
                at=self.now(), closing=True,
            )  # fmt: skip
        complaints.resolve(
            session,
            cid,
            user_id=user,
            note=note,
            customer_confirmed=bool(checked),
            at=self.now(),
            open_promises=choice,
        )


@dataclass(frozen=True)
class Form:
    """The submitted form's own id (stable across a second click on its button) and the sender's zone."""

    view_id: str
    tz: str


def _closing_reply(values: dict[str, Any]) -> str:
    return str(field_value(values, Field.CLOSING_REPLY) or "").strip()


def register(bolt: App, deps: CardDeps, requests: Requests) -> Cards:
    cards = Cards(deps)
    team = [team_only(requests)]
    for action, apply in (
        (Action.CLAIM, complaints.claim),
        (Action.UNCLAIM, complaints.unclaim),
        (Action.DISMISS, complaints.dismiss),
        (Action.REOPEN, complaints.reopen),
    ):
        bolt.action(action.value, middleware=team)(cards.simple(apply))
    bolt.action(Action.HAND_OVER.value, middleware=team)(cards.hand_over)
    bolt.action(Action.ESCALATE.value, middleware=team)(cards.modal_opener(cards.escalate_form))
    bolt.action(Action.RESOLVE.value, middleware=team)(cards.modal_opener(cards.resolve_form))
    bolt.view(View.ESCALATE.value, middleware=team)(cards.submission(Field.REASON, cards.apply_escalate, requests))
    bolt.view(View.RESOLVE.value, middleware=team)(cards.submission(Field.NOTE, cards.apply_resolve, requests))
    return cards
