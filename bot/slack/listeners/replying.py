"""Answering the customer from the card: Reply (a form, X's length rule checked before anything is
stored), "Open on X" when replying is not set up, and the buttons on promises found in replies
(Track / Change time / Not a promise). Thin: parse, call ``bot.desk.replies``, ack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.common.errors import DomainError, NotFound
from bot.desk import reach, replies
from bot.networks import label as network_label
from bot.promises.due import DueParser
from bot.slack.access import TeamAccess
from bot.slack.deps import Requests
from bot.slack.ids import Action, Field, View, parse_ref
from bot.slack.middleware import refuse, request_name, team_only
from bot.slack.people import People
from bot.slack.responses import Ack, Respond, ephemeral, field_value
from bot.slack.views import reply_blocks as rb
from bot.slack.views.fit import fit_view
from bot.store.engine import transaction
from bot.store.models import CommitmentLabel, Complaint

if TYPE_CHECKING:
    from slack_bolt import App


@dataclass(frozen=True)
class ReplyDeps:
    sessions: sessionmaker[Session]
    clock: Clock
    access: TeamAccess
    people: People
    parser: DueParser
    reply_sources: frozenset[str]
    """Networks whose write keys are set (``x`` when X_API_KEY … X_ACCESS_TOKEN_SECRET are)."""
    brand_handles: dict[str, str] = field(default_factory=dict)
    """The brand's handle on each network, for what the network checks before it accepts a reply."""


_OPENED_BY = Action.REPLY.removeprefix("ft_")
"""How the request log names a click on Reply (``bot.slack.middleware.request_name``)."""


def _label_ref(value: str | None) -> int:
    text = (value or "").removeprefix("label:")
    if not text.isascii() or not text.isdigit() or len(text) > 12:  # "²" is a digit to isdigit
        raise NotFound("That promise suggestion is not known.")
    return int(text)


class ReplyDesk:
    def __init__(self, deps: ReplyDeps, requests: Requests) -> None:
        self.deps = deps
        self.requests = requests

    # -- Reply -----------------------------------------------------------------------------------------
    def open_reply(self, ack: Ack, body: dict[str, Any], respond: Respond, client: Any) -> None:
        cid = parse_ref(body["actions"][0].get("value"))
        with self.deps.sessions() as session:
            complaint = session.get(Complaint, cid)
            if complaint is None:
                raise NotFound(f"There is no complaint #{cid}.")
            source, customer = complaint.source, complaint.author_handle
            url = complaint.url or reach.post_url(source, customer, complaint.external_id)
            brand = self.deps.brand_handles.get(source)
            refused = reach.reply_warning(
                source, complaint.text or "", frozenset({brand.lower()}) if brand else frozenset()
            )
            writing = replies.writing_now(
                session, cid, user_id=body["user"]["id"], at=self.deps.clock.now(), opened_by=_OPENED_BY
            )
        ack()
        if source not in self.deps.reply_sources:
            ephemeral(respond, f"Replying on {network_label(source)[0]} is not set up (see `followthrough check`).")
            return
        view = rb.reply_modal(
            cid, customer, source, writing=writing, now=self.deps.clock.now(), refused=refused, post_url=url
        )
        client.views_open(trigger_id=body["trigger_id"], view=fit_view(view))

    def submit_reply(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Checked, then stored once: the first submit shows what the sender should know (the form
        stays open with "Send anyway"); the key is the card and the form, so a second click on Send,
        or Slack sending the submission again, stores nothing new."""
        user = body["user"]["id"]
        cid = parse_ref(view.get("private_metadata"))
        values = view["state"]["values"]
        text = str(field_value(values, Field.REPLY_TEXT) or "")
        anyway = bool(field_value(values, Field.SEND_ANYWAY, "selected_options"))
        tz = self.deps.people.tz(user)  # before the transaction: it may ask Slack
        now = self.deps.clock.now()
        key = f"card:{cid}:view:{view.get('id')}"
        try:
            with self.deps.sessions() as session:
                repeated = replies.requested(session, key)
            if repeated:  # the same form again: stored already, nothing to check or add
                ack()
                return
            if not anyway:
                with self.deps.sessions() as session:
                    complaint = session.get(Complaint, cid)
                    if complaint is None:
                        raise NotFound(f"There is no complaint #{cid}.")
                    source, customer = complaint.source, complaint.author_handle
                    replies.check_text(text, source)
                    warnings = replies.checks_before_reply(
                        session, cid, text=text, user_id=user, at=now, brand_handle=self.deps.brand_handles.get(source)
                    )
                if warnings:
                    refuse(self.requests, request_name(body), f"warned: {warnings[0].text[:200]}")
                    ack(
                        response_action="update",
                        view=rb.reply_modal(cid, customer, source, draft=text, warnings=warnings, now=now),
                    )
                    return
            with transaction(self.deps.sessions) as session:
                replies.request_reply(session, cid, text=text, user_id=user, tz=tz, key=key, at=now)
        except DomainError as exc:
            refuse(self.requests, request_name(body), f"refused: {exc}")
            ack(response_action="errors", errors={Field.REPLY_TEXT: str(exc)[:150]})
            return
        ack()

    def open_post(self, ack: Ack) -> None:
        """ "Open on X" is a link: Slack still tells us it was clicked; nothing to do but answer."""
        ack()

    # -- promises found in replies ----------------------------------------------------------------------
    def track(self, ack: Ack, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        label_id = _label_ref(body["actions"][0].get("value"))
        with transaction(self.deps.sessions) as session:
            replies.track(session, label_id, user_id=user, at=self.deps.clock.now())
        ack()

    def not_a_promise(self, ack: Ack, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        label_id = _label_ref(body["actions"][0].get("value"))
        with transaction(self.deps.sessions) as session:
            replies.not_a_promise(session, label_id, user_id=user, at=self.deps.clock.now())
        ack()

    def open_change(self, ack: Ack, body: dict[str, Any], respond: Respond, client: Any) -> None:
        label_id = _label_ref(body["actions"][0].get("value"))
        with self.deps.sessions() as session:
            label = session.get(CommitmentLabel, label_id)
            text = label.text if label else ""
            decided = label is None or label.decision == replies.NOT_A_PROMISE
        ack()
        if decided:
            ephemeral(respond, "That was marked not a promise.")
            return
        client.views_open(trigger_id=body["trigger_id"], view=fit_view(rb.change_time_modal(label_id, text)))

    def submit_change(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        label_id = _label_ref(view.get("private_metadata"))
        now = self.deps.clock.now()
        tz = self.deps.people.tz(user)
        try:
            when = str(field_value(view["state"]["values"], Field.COMMIT_WHEN) or "")
            due = self.deps.parser.parse(when, now=now, tz=tz)
            with transaction(self.deps.sessions) as session:
                replies.change_time(session, label_id, user_id=user, due_at=due, at=now)
        except DomainError as exc:
            refuse(self.requests, request_name(body), f"refused: {exc}")
            ack(response_action="errors", errors={Field.COMMIT_WHEN: str(exc)[:150]})
            return
        ack()


def register(bolt: App, deps: ReplyDeps, requests: Requests) -> ReplyDesk:
    desk = ReplyDesk(deps, requests)
    team = [team_only(requests)]
    bolt.action(Action.REPLY, middleware=team)(desk.open_reply)
    bolt.action(Action.OPEN_POST)(desk.open_post)
    bolt.view(View.REPLY, middleware=team)(desk.submit_reply)
    bolt.action(Action.COMMIT_TRACK, middleware=team)(desk.track)
    bolt.action(Action.COMMIT_NOT_PROMISE, middleware=team)(desk.not_a_promise)
    bolt.action(Action.COMMIT_CHANGE, middleware=team)(desk.open_change)
    bolt.view(View.COMMIT_CHANGE, middleware=team)(desk.submit_change)
    return desk
