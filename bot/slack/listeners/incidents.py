"""An incident card's own buttons: Post update and Resolve incident, each a form in two steps —
write the reply, then see three customers' texts as they will read it (and how many, by when, and
who cannot be answered from here) before anything is sent. Thin: parse, call
``bot.incidents.broadcast``, ack. Claim and Promise on the incident card are the complaint card's
own buttons (``cards``, ``promising``), pointed at the incident's anchor complaint."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.common.errors import DomainError, NotFound
from bot.incidents import broadcast, release, suggest
from bot.slack.deps import Requests
from bot.slack.ids import Action, BadReference, Field, View, parse_ref
from bot.slack.listeners.replying import ReplyDeps
from bot.slack.middleware import refuse, request_name, team_only
from bot.slack.responses import Ack, Respond, ephemeral, field_value
from bot.slack.views import incident_blocks
from bot.slack.views.fit import fit_view
from bot.store.engine import transaction
from bot.store.models import Incident

if TYPE_CHECKING:
    from slack_bolt import App


class IncidentDesk:
    def __init__(self, deps: ReplyDeps, requests: Requests) -> None:
        self.deps = deps
        self.requests = requests

    def opener(self, kind: str) -> Any:
        def handler(ack: Ack, body: dict[str, Any], respond: Respond, client: Any) -> None:
            incident_id = parse_ref(body["actions"][0].get("value"))
            with self.deps.sessions() as session:
                incident = session.get(Incident, incident_id)
                if incident is None:
                    raise NotFound(f"There is no incident #{incident_id}.")
                status, customers = incident.status, incident.customers
            ack()
            if status != "open":
                ephemeral(respond, f"Incident #{incident_id} is resolved already.")
                return
            client.views_open(
                trigger_id=body["trigger_id"], view=fit_view(incident_blocks.update_modal(incident_id, kind, customers))
            )

        return handler

    def previewer(self, kind: str) -> Any:
        """Step 1 submitted: the same form becomes the preview (Slack's ``response_action: update``)."""

        def handler(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            incident_id = parse_ref(view.get("private_metadata"))
            template = str(field_value(view["state"]["values"], Field.INCIDENT_TEMPLATE) or "")
            try:
                with self.deps.sessions() as session:
                    shown = broadcast.preview(
                        session,
                        incident_id,
                        template,
                        at=self.deps.clock.now(),
                        answerable=self.deps.reply_sources,
                        brand_handles=self.deps.brand_handles,
                    )
            except DomainError as exc:
                refuse(self.requests, request_name(body), f"refused: {exc}")
                ack(response_action="errors", errors={Field.INCIDENT_TEMPLATE.value: str(exc)[:150]})
                return
            confirm = incident_blocks.confirm_modal(
                incident_id,
                kind,
                broadcast.check_template(template),
                shown.examples,
                shown.reachable,
                len(shown.unreachable),
                shown.finish_by,
                shown.after,
            )
            ack(response_action="update", view=fit_view(confirm))

        return handler

    def send(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Step 2 submitted: store the update and every customer's reply (the view's id keys it, so
        a second press of Send adds nothing)."""
        user = body["user"]["id"]
        try:
            meta = json.loads(str(view.get("private_metadata") or ""))
            incident_id, kind, template = int(meta["incident"]), str(meta["kind"]), str(meta["template"])
            after = int(meta["after"]) if meta.get("after") is not None else None
        except (ValueError, KeyError, TypeError):
            raise BadReference(
                "That form does not say which incident it is for; use the incident card's buttons."
            ) from None
        if kind not in ("update", "resolve"):
            raise BadReference("That form does not say what to send.")
        try:
            with transaction(self.deps.sessions) as session:
                broadcast.send(
                    session,
                    incident_id,
                    template,
                    kind=kind,
                    user_id=user,
                    key=f"{view.get('id') or body.get('trigger_id')}:{kind}",
                    tz=self.deps.people.tz(user),
                    at=self.deps.clock.now(),
                    answerable=self.deps.reply_sources,
                    brand_handles=self.deps.brand_handles,
                    after=after,
                )
        except DomainError as exc:
            refuse(self.requests, request_name(body), f"refused: {exc}")
            # The step has no field to show it next to: the form says it instead of the preview.
            by = exc.by if isinstance(exc, broadcast.SentMeanwhile) else None
            ack(response_action="update", view=fit_view(incident_blocks.refused_modal(str(exc), sent_by=by)))
            return
        ack()

    def suggestion(self, decide: Any) -> Any:
        """Add to incident / Not part of it on a card the grouping left out: stored before the ack,
        the answer to the person who clicked (a second click says what happened the first time)."""

        def handler(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            complaint_id, incident_id = incident_blocks.parse_suggestion(body["actions"][0].get("value"))
            with transaction(self.deps.sessions) as session:
                said = decide(session, complaint_id, incident_id, user_id=body["user"]["id"], at=self.deps.clock.now())
            ack()
            ephemeral(respond, said)

        return handler

    def release(self, ack: Ack, body: dict[str, Any]) -> None:
        """Not an incident (the button asks Slack's confirm first): stored before the ack."""
        incident_id = parse_ref(body["actions"][0].get("value"))
        with transaction(self.deps.sessions) as session:
            release.release(session, incident_id, user_id=body["user"]["id"], at=self.deps.clock.now())
        ack()


def register(bolt: App, deps: ReplyDeps, requests: Requests) -> IncidentDesk:
    desk = IncidentDesk(deps, requests)
    team = [team_only(requests)]
    bolt.action(Action.INCIDENT_UPDATE, middleware=team)(desk.opener("update"))
    bolt.action(Action.INCIDENT_RESOLVE, middleware=team)(desk.opener("resolve"))
    bolt.view(View.INCIDENT_UPDATE, middleware=team)(desk.previewer("update"))
    bolt.view(View.INCIDENT_RESOLVE, middleware=team)(desk.previewer("resolve"))
    bolt.view(View.INCIDENT_CONFIRM, middleware=team)(desk.send)
    bolt.action(Action.INCIDENT_RELEASE, middleware=team)(desk.release)
    bolt.action(Action.INCIDENT_SUGGEST_ADD, middleware=team)(desk.suggestion(suggest.accept))
    bolt.action(Action.INCIDENT_SUGGEST_DISMISS, middleware=team)(desk.suggestion(suggest.dismiss))
    return desk
