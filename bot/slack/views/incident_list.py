"""``/complaints incidents`` as Slack shows it: open incidents, then those resolved lately.

A pure builder like ``blocks``: plain values in (``bot.reports.incidents``), text out. An incident's
title is made of its customers' words, so it goes through ``inline`` (one line, no formatting, no
broadcast); everything else is ours. A command cannot ask Slack for a card's link, so each line
names its card by the anchor complaint's ``#id``, as the other lists do — the number ``/promise``
and ``/complaints move`` take.
"""

from __future__ import annotations

from bot.reports.incidents import IncidentLine, Listing, Members
from bot.slack.views.blocks import handle, inline, network_label, slack_date
from bot.slack.views.fit import listed

WHOLE = "`followthrough export --what incidents` lists them all"


def progress(line: IncidentLine) -> str:
    """The latest update's progress, and who it cannot reach from here."""
    latest = line.latest
    if latest is None:
        return "no update sent yet"
    what = "resolution" if latest.kind == "resolve" else "update"
    text = f"{what}: {latest.sent} of {latest.total} sent"
    if latest.unreachable:
        text += f" · :warning: {latest.unreachable} cannot be answered from here"
    return text


def incident_line(line: IncidentLine) -> str:
    """Two lines: what and how big; then when, who, where, and how telling the customers stands."""
    if line.status == "open":
        mark, status = ":rotating_light:", "open"
    else:
        mark = ":white_check_mark:"
        status = "resolved" + (f" {slack_date(line.resolved_at)}" if line.resolved_at else "")
        status += f" by <@{line.resolved_by}>" if line.resolved_by else ""
    nets = ", ".join(network_label(n) for n in line.networks) or "—"
    owner = f"<@{line.owner_id}>" if line.owner_id else "nobody yet" if line.status == "open" else "nobody"
    head = (
        f"{mark} *Incident #{line.id}* ({status}) · {inline(line.title, 80) or '(no common words)'}"
        f" · *{line.customers} customers*, {line.posts} posts · {nets}"
    )
    detail = [
        f"detected {slack_date(line.detected_at)}",
        f"owner {owner}",
        f"card #{line.anchor_id}",
        progress(line),
    ]
    return head + "\n      " + " · ".join(detail)


def incidents_text(listing: Listing, limit: int) -> str:
    """The command's answer, within ``limit`` characters: whole incidents only, the rest counted."""
    days = listing.recent.days
    if not listing.open_total and not listing.resolved_total:
        return (
            f":white_check_mark: No open incidents, and none resolved in the last {days} days. An incident "
            "opens by itself when many customers post about the same thing at once."
        )
    head = f"*Incidents*: {listing.open_total} open · {listing.resolved_total} resolved in the last {days} days"
    lines = [incident_line(i) for i in [*listing.open, *listing.resolved]]
    return listed(head, lines, limit, WHOLE, unlisted=listing.unread)


def members_text(members: Members | None, asked: int, limit: int) -> str:
    """``/complaints incidents 7``: its posts least like it first, each with the command that takes it out.
    Customers' words go through ``inline``: one line, no formatting, nobody pinged."""
    if members is None:
        return f"There is no incident #{asked}. `/complaints incidents` lists them."
    if members.merged_into is not None:
        return (
            f"Incident #{members.incident_id} was merged into incident #{members.merged_into}: its posts are "
            f"#{members.merged_into}'s now — `/complaints incidents {members.merged_into}`."
        )
    if members.status == "released":
        return f"Incident #{members.incident_id} was not an incident: its posts have their own cards again."
    if members.status != "open":
        return (
            f"Incident #{members.incident_id} is {members.status}: its customers had its last word, and its "
            f"posts stay with it. `followthrough export --what complaints` lists them."
        )
    head = (
        f"*Incident #{members.incident_id}* ({members.status}) · {inline(members.title, 80) or '(no common words)'}"
        f" · {members.customers} customers · its posts least like it first — an ordinary complaint the grouping "
        f"drew in would be here: `/complaints move #N out of incident {members.incident_id}`"
    )
    if not members.listed:
        return head + "\n_No post but the one its card was opened on._"
    lines = []
    for m in members.listed:
        also = f" (+{m.folded} folded)" if m.folded else ""
        lines.append(f"#{m.complaint_id} {handle(m.handle)} ({network_label(m.source)}){also}: {inline(m.text, 140)}")
    more = max(members.total - len(members.listed) - (1 if members.anchor_id is not None else 0), 0)
    return listed(head, lines, limit, "the rest read more like the incident; `followthrough export` lists all", more)
