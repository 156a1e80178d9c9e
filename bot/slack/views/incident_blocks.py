"""An incident as Slack shows it: its card, its thread's progress lines, the update forms.

Pure builders like ``blocks``: plain values in, Block Kit out; every outside word through
``blocks``' escaping (a customer's post quoted, handles shown without pinging anyone).

The card's Claim and Promise buttons are the complaint card's own, pointed at the incident's anchor
complaint (whose card row carries the incident's card): one owner, one promise with the usual nag
ladder, and the same handlers. Post update and Resolve incident are the incident's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.slack.ids import Action, Field, View, parse_ref
from bot.slack.views import blocks
from bot.slack.views.blocks import (
    SECTION_LIMIT,
    CardState,
    Json,
    cut,
    escape,
    followers,
    handle,
    inline,
    network_label,
    quote,
    slack_date,
)
from bot.store.enums import Status

SAMPLE_QUOTE = 280
DEFAULT_TEMPLATE = "Hi {name}, thanks for your patience: {what}"


@dataclass(frozen=True)
class Sample:
    handle: str
    source: str
    text: str


@dataclass(frozen=True)
class IncidentView:
    id: int
    status: str
    title: str
    customers: int
    posts: int
    reach: int
    networks: tuple[str, ...]
    first_post_at: datetime
    latest_post_at: datetime
    detected_at: datetime
    samples: tuple[Sample, ...] = ()
    progress: str | None = None
    """How the latest update stands ("120 of 300 answered, the rest by 17:40")."""
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    updates: int = 0
    anchor: CardState | None = field(default=None)


def build_incident_card(v: IncidentView, now: datetime) -> Json:
    """The incident's card: what, how many, since when, how the team stands, and its buttons."""
    a = v.anchor
    nets = ", ".join(network_label(n) for n in v.networks) or "—"
    header = (
        f":rotating_light: *Incident #{v.id}* · {inline(v.title, 120)} · *{v.customers} customers*, "
        f"{v.posts} posts · reach {followers(v.reach)} · {nets}"
    )
    context = [
        f"first post {slack_date(v.first_post_at)}",
        f"latest {slack_date(v.latest_post_at)}",
        f"detected {slack_date(v.detected_at)}",
        "members get no cards of their own: their replies come to this thread",
        f"a card that belongs here: `/complaints move #N incident {v.id}`; "
        f"another incident that is this outage: `/complaints move incident N into {v.id}`; "
        f"its posts least like it: `/complaints incidents {v.id}`",
    ]
    out: list[Json] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(header, SECTION_LIMIT)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(" · ".join(context), 2000)}]},
    ]
    if v.samples:
        lines = [
            f"{handle(s.handle)} ({network_label(s.source)}):\n{quote(s.text, SAMPLE_QUOTE)}" for s in v.samples[:3]
        ]
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": cut("\n".join(lines), SECTION_LIMIT)}})
    if v.status == "resolved":
        who = f" by <@{v.resolved_by}>" if v.resolved_by else ""
        when = f" {slack_date(v.resolved_at)}" if v.resolved_at else ""
        text = f":white_check_mark: *Incident resolved*{who}{when}"
        if v.resolution:
            # The template as sent, its placeholders shown as what they stood for.
            shown = v.resolution.replace("{name}", "‹name›").replace("{handle}", "‹@handle›")
            text += f"\n_{cut(escape(shown), 1000)}_"
    elif a is not None:
        text = blocks.state_line(a)
    else:
        text = ":new: *New* — nobody owns this yet"
    if v.progress:
        text += f"\n:outbox_tray: {v.progress}"
    out.append({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}})
    if a is not None and a.promises:
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": cut(blocks.promise_lines(a, now), 3000)}})
    actions = incident_actions(v)
    if actions:
        out.append({"type": "actions", "block_id": f"card_{a.id if a else v.id}", "elements": actions})
    return {"text": cut(f"Incident #{v.id}: {inline(v.title, 120)} — {v.customers} customers", 3000), "blocks": out}


def incident_actions(v: IncidentView) -> list[Json]:
    if v.status != "open" or v.anchor is None:
        return []
    a = v.anchor
    ref, incident = str(a.id), str(v.id)
    update = blocks._button("Post update", Action.INCIDENT_UPDATE, incident)
    resolve = blocks._button("Resolve incident", Action.INCIDENT_RESOLVE, incident)
    release: Json = {
        **blocks._button("Not an incident", Action.INCIDENT_RELEASE, incident),
        # Slack asks before it sends the click: undoing the grouping is not undone by a second click.
        "confirm": {
            "title": {"type": "plain_text", "text": "Not an incident?"},
            "text": {
                "type": "plain_text",
                "text": f"Its {v.customers} customers get their own cards back, and this topic opens no incident "
                "again today.",
            },
            "confirm": {"type": "plain_text", "text": "Give them their cards"},
            "deny": {"type": "plain_text", "text": "Keep the incident"},
        },
    }
    if v.updates:
        release = {}  # the customers were told it is one incident: Resolve it instead
    if a.status == Status.NEW:
        return [
            blocks._button("Claim", Action.CLAIM, ref, "primary"),
            blocks._button("Promise", Action.PROMISE, ref),
            update,
            resolve,
            *([release] if release else []),
        ]
    hand_over: Json = {
        "type": "users_select",
        "action_id": Action.HAND_OVER.value,
        "placeholder": {"type": "plain_text", "text": "Hand over to…"},
    }
    return [
        blocks._button("Promise", Action.PROMISE, ref),
        update,
        resolve,
        *([release] if release else []),
        blocks._button("Unclaim", Action.UNCLAIM, ref),
        hand_over,
    ]


def suggestion_blocks(complaint_id: int, incident_id: int, title: str) -> list[Json]:
    """What a card the grouping left out shows when it reads like an open incident: the question,
    and the two answers (``bot.incidents.suggest``)."""
    value = f"{complaint_id}:{incident_id}"
    return [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f":mag: This may be part of *incident #{incident_id}* ({blocks.inline(title, 80)}): "
                    "it reads like that incident's posts in other words. Add it, and this customer gets the "
                    "incident's updates and its resolution.",
                }
            ],
        },
        {
            "type": "actions",
            "block_id": f"ft_suggest_{complaint_id}_{incident_id}",
            "elements": [
                blocks._button(f"Add to incident #{incident_id}", Action.INCIDENT_SUGGEST_ADD, value, "primary"),
                blocks._button("Not part of it", Action.INCIDENT_SUGGEST_DISMISS, value),
            ],
        },
    ]


def parse_suggestion(value: str | None) -> tuple[int, int]:
    """A suggestion button's value: ``<complaint>:<incident>``."""
    left, _, right = str(value or "").partition(":")
    return parse_ref(left), parse_ref(right)


def member_line(incident_id: int, permalink: str | None) -> str:
    """The line a card posted before its incident was found gets."""
    where = f"<{permalink}|its card>" if permalink else "its card"
    return f":rotating_light: part of *incident #{incident_id}* — handled on {where}; this customer's replies go there"


def progress_text(payload: dict[str, Any]) -> str:
    """An update's progress, as its thread line and the card say it."""
    total, sent, failed = int(payload.get("total") or 0), int(payload.get("sent") or 0), int(payload.get("failed") or 0)
    # Done: sent, failed for good, or withdrawn (a customer forgotten meanwhile) — all but the pending.
    done = int(payload["done"]) if payload.get("done") is not None else sent + failed
    finish = payload.get("finish_by")
    what = "resolution" if payload.get("kind") == "resolve" else "update"
    if total == 0:
        return f"The {what} reaches nobody from here: every customer must be answered on their network."
    if done >= total:
        text = f"{what.capitalize()} sent: *{sent} of {total}* customers answered"
        if failed:
            text += f", {failed} could not be"
        if done - sent - failed > 0:
            text += f", {done - sent - failed} withdrawn"
        return text
    rest = f", the rest by {slack_date(datetime.fromisoformat(finish), '{time}')}" if finish else ""
    if sent == 0 and failed == 0:
        return f"Sending the {what} to *{total}* customers, paced within each network's limits{rest}"
    return f"*{sent} of {total}* customers answered{rest}" + (f" ({failed} could not be)" if failed else "")


def build_incident_line(payload: dict[str, Any]) -> Json:
    """A line in the incident's thread: an update starting (with who cannot be answered from here),
    its progress, its end (with who could not be answered and why)."""
    text = f":outbox_tray: {progress_text(payload)}"
    if payload.get("sender") and not payload.get("sent") and not payload.get("failed"):
        text += f" — sent by <@{payload['sender']}>"
    unreachable: Sequence[dict[str, str]] = payload.get("unreachable") or []
    count = int(payload.get("unreachable_count") or 0)
    if unreachable:
        names = ", ".join(
            f"{handle(u.get('handle'))} ({network_label(str(u.get('source')))}: {inline(u.get('why'), 80)})"
            for u in unreachable[:25]
        )
        more = f" …and {count - 25} more" if count > 25 else ""
        text += f"\n:warning: {count} customer(s) cannot be answered from here: {names}{more}"
    failed: Sequence[dict[str, str]] = payload.get("failed_handles") or []
    if failed:
        names = ", ".join(f"{handle(f.get('handle'))} ({inline(f.get('why'), 100)})" for f in failed[:15])
        text += f"\n:x: Not answered: {names}"
    return {
        "text": cut(text, 3000),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}],
    }


def update_modal(incident_id: int, kind: str, customers: int, initial: str = "") -> Json:
    """Write the update (step 1 of 2: the next step shows three rendered examples before sending)."""
    resolving = kind == "resolve"
    return {
        "type": "modal",
        "callback_id": View.INCIDENT_RESOLVE.value if resolving else View.INCIDENT_UPDATE.value,
        "private_metadata": str(incident_id),
        "title": {
            "type": "plain_text",
            "text": (f"Resolve incident #{incident_id}" if resolving else f"Update #{incident_id}")[:24],
        },
        "submit": {"type": "plain_text", "text": "Preview"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"Every customer of incident #{incident_id} ({customers}) gets this reply on their own "
                        "network, once each, paced within the network's limits. "
                        + ("Every complaint in the incident is resolved with it." if resolving else "")
                    ),
                },
            },
            {
                "type": "input",
                "block_id": Field.INCIDENT_TEMPLATE.value,
                "label": {"type": "plain_text", "text": "Reply to every customer"},
                "hint": {
                    "type": "plain_text",
                    "text": "{name}: first name, {handle}: their @handle. On X no two texts are the same.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.INCIDENT_TEMPLATE.value,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 1000,
                    **({"initial_value": initial} if initial else {}),
                },
            },
        ],
    }


def confirm_modal(
    incident_id: int,
    kind: str,
    template: str,
    examples: Sequence[tuple[str, str]],
    reachable: int,
    unreachable: int,
    finish_by: dict[str, datetime],
    after: int = 0,
) -> Json:
    """Step 2: three customers' texts as they will read them, how many, by when; Send. To change the
    words, Cancel and write them again: what is sent is what was previewed. ``after``: the last
    update the preview knew of (Send refuses if a colleague's went since)."""
    resolving = kind == "resolve"
    shown = "\n".join(f"{handle(h)}:\n{quote(t, 600)}" for h, t in examples) or "_nobody can be answered from here_"
    finish = ", ".join(f"{network_label(n)} by {slack_date(t, '{time}')}" for n, t in sorted(finish_by.items()))
    summary = f"*{reachable}* customer(s) will be answered" + (f" ({finish})" if finish else "")
    if unreachable:
        summary += f"; *{unreachable}* cannot be from here (listed in the incident's thread)"
    return {
        "type": "modal",
        "callback_id": View.INCIDENT_CONFIRM.value,
        # The template travels with the form, so what is sent is exactly what was previewed.
        # ``ensure_ascii=False``: escaped, a template in Japanese or with emoji is six times longer and
        # would not fit Slack's 3,000 characters of metadata.
        "private_metadata": json.dumps(
            {"incident": incident_id, "kind": kind, "template": template, "after": after},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        "title": {"type": "plain_text", "text": "Check and send"},
        "submit": {"type": "plain_text", "text": "Resolve and send" if resolving else "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(summary, SECTION_LIMIT)}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": cut("*Three of them will read:*\n" + shown, SECTION_LIMIT)},
            },
        ],
    }


def refused_modal(why: str, *, sent_by: str | None = None) -> Json:
    """What the Send step shows when nothing was sent (the incident resolved meanwhile, a text too
    long, a colleague's update sent meanwhile: ``sent_by``, shown by name — a mention in a form
    notifies nobody)."""
    text = f":warning: {escape(why)}"
    if sent_by and USER_ID.fullmatch(sent_by):
        text += f"\nIt was sent by <@{sent_by}>."
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Not sent"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}],
    }


USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
