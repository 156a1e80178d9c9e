"""App Home: your claims, your promises (overdue first), and the team's status — on open."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.reports import status
from bot.reports.slack_report import lead_section
from bot.slack.deps import HomeDeps
from bot.slack.views.blocks import SECTION_LIMIT, age, claim_line, cut, escape, handle, slack_date
from bot.slack.views.fit import fit_view, listed

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger(__name__)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}


def outsider_view(text: str) -> dict[str, Any]:
    """What someone outside the support team sees: why, and nothing of the desk."""
    return {
        "type": "home",
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Followthrough"}}, _section(text)],
    }


def home_view(deps: HomeDeps, user: str, now: datetime) -> dict[str, Any]:
    if deps.access is not None and not deps.access.allowed(user):
        return outsider_view(deps.access.refusal("see the desk here"))
    with deps.sessions() as session:
        claims = status.my_claims(session, user)
        promises = status.open_promises_of(session, user)
        counts = status.counts(session, now)
    promises.sort(key=lambda p: (p.due_at >= now, p.due_at))
    claim_lines = [claim_line(c, now) for c in claims] or ["Nothing claimed."]
    promise_lines = [
        f"• {':red_circle:' if p.due_at < now else ':hourglass_flowing_sand:'} #{p.complaint_id} "
        f"“{cut(escape(p.text), 100)}” to {handle(p.customer)} by {slack_date(p.due_at)}"
        for p in promises
    ] or ["No open promises."]
    team = " · ".join(f"{s} {counts.by_status.get(s, 0)}" for s in ("new", "claimed", "escalated", "resolved"))
    oldest = f"; oldest unclaimed {age(counts.oldest_unclaimed, now)}" if counts.oldest_unclaimed else ""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Followthrough"}},
            _section(listed(f"*Your promises ({len(promises)})*", promise_lines, SECTION_LIMIT, "`/complaints mine`")),
            {"type": "divider"},
            _section(listed(f"*Your claims ({len(claims)})*", claim_lines, SECTION_LIMIT, "`/complaints mine`")),
            {"type": "divider"},
            _section(f"*Team*: {team}{oldest} · {counts.overdue_promises} overdue promise(s)"),
            {"type": "divider"},
            _section(lead_section(deps.sessions, now, deps.team_timezone)),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Updated {slack_date(now)}"}]},
        ],
    }


def register(bolt: App, deps: HomeDeps) -> None:
    @bolt.event("app_home_opened")
    def on_home(event: dict[str, Any], client: Any) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user = event["user"]
        client.views_publish(user_id=user, view=fit_view(home_view(deps, user, deps.clock.now())))
