"""Block Kit for the customer side of the loop: brand replies in the thread, promises found in them,
and the Reply form. Pure builders; outside text (the reply, the customer's handle) is escaped here."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.desk.replies import ReplyWarning
from bot.networks import UNNAMED
from bot.networks import label as network_label
from bot.slack.ids import Action, Field, View
from bot.slack.views.blocks import SECTION_LIMIT, Json, cut, escape, handle, inline, post_link, quote, slack_date


def _button(text: str, action: str, value: str, style: str | None = None) -> Json:
    button: Json = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action, "value": value}
    if style:
        button["style"] = style
    return button


def public_reply_line(payload: dict[str, Any]) -> Json:
    source = str(payload.get("source") or UNNAMED)
    network = network_label(source)[0]
    sender = payload.get("sender")
    if payload.get("failed"):
        who = f" from <@{sender}>" if sender else ""
        body = (
            f":warning: The reply{who} was *not* posted on {network}: {escape(str(payload.get('reason') or ''))}\n"
            f"{quote(str(payload.get('text') or ''), 1500)}"
        )
        return {
            "text": cut(f"Reply not posted on {network}", 300),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(body, SECTION_LIMIT)}}],
        }
    if payload.get("delayed"):
        who = f" from <@{sender}>" if sender else ""
        when = ""
        with contextlib.suppress(TypeError, ValueError):
            when = f" — trying again {slack_date(datetime.fromisoformat(str(payload.get('until'))), '{time}')}"
        body = (
            f":hourglass_flowing_sand: The reply{who} is not on {network} yet: "
            f"{escape(str(payload.get('reason') or ''))}{when}. It will be posted once, not twice."
        )
        return {
            "text": cut(f"Reply delayed on {network}", 300),
            "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": cut(body, 2900)}]}],
        }
    link = post_link(payload.get("url"), source)
    by = f" — sent by <@{sender}> from this card" if sender else ""
    view = f" · <{link}|view on {network}>" if link else ""
    body = (
        f":leftwards_arrow_with_hook: {handle(payload.get('handle'))} replied (on {network}){by}{view}\n"
        f"{quote(str(payload.get('text') or ''), 2500)}"
    )
    return {
        "text": cut(
            f"↩ {handle(payload.get('handle'))} replied (on {network}): {inline(payload.get('text'), 200)}", 300
        ),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(body, SECTION_LIMIT)}}],
    }


def commitment_line(label: Any, owner: str | None, now: datetime) -> Json:
    """A promise found in a reply: what it says, its due time, and the buttons for its state."""
    what = cut(escape(label.text), 300)
    due = slack_date(label.due_at, "{date_short_pretty} {time}") if label.due_at else "no time read"
    ref = f"label:{label.id}"
    buttons: list[Json] = []
    if label.decision in ("tracked", "auto_tracked", "changed"):
        who = {"auto_tracked": " (nobody answered within the hour)"}.get(label.decision, "")
        text = f":dart: Tracking: {what} — due {due}{who}"
        if owner:
            text += f" · owner <@{owner}>"
        buttons = [
            _button("Change time", Action.COMMIT_CHANGE, ref),
            _button("Not a promise", Action.COMMIT_NOT_PROMISE, ref),
        ]
    elif label.decision == "proposed":
        to = f"<@{owner}>" if owner else "Anyone on the team"
        ask = f"\n_{escape(label.ask)}_" if label.ask else ""
        text = (
            f":mag: {to}: the brand's reply on this post reads like a promise — {what} — due {due}.{ask}\n"
            "Track it? Untouched, it is tracked in an hour."
        )
        buttons = [
            _button("Track", Action.COMMIT_TRACK, ref, "primary"),
            _button("Change time", Action.COMMIT_CHANGE, ref),
            _button("Not a promise", Action.COMMIT_NOT_PROMISE, ref),
        ]
    elif label.decision == "rejected":
        by = f" by <@{label.decided_by}>" if label.decided_by else ""
        text = f":heavy_multiplication_x: Not a promise{by}: {what}"
    else:
        text = f":grey_question: Not tracked: {what} (due {due}) — nobody owned the complaint or the time had passed"
    blocks: list[Json] = [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"commitment_{label.id}", "elements": buttons})
    return {"text": cut(f"Promise: {inline(label.text, 200)}", 300), "blocks": blocks}


def reply_modal(
    complaint_id: int,
    customer: str,
    source: str,
    draft: str | None = None,
    *,
    warnings: Sequence[ReplyWarning] = (),
    writing: Sequence[tuple[str, datetime]] = (),
    now: datetime | None = None,
    refused: str | None = None,
    post_url: str | None = None,
) -> Json:
    """The Reply form; with ``warnings`` (after a first Send) it says what to know and offers "Send
    anyway"; ``writing``: others who opened Reply on this card minutes ago (two answers to one customer);
    ``refused``: why the network will not take a reply from the API to this post, said first, with the
    post's link ("Open on X") so the agent can answer there instead."""
    network = network_label(source)[0]
    initial = draft if draft is not None else f"@{customer.lstrip('@')} "
    notes: list[Json] = []
    if refused:
        note: Json = {"type": "section", "text": {"type": "mrkdwn", "text": cut(f":no_entry: {escape(refused)}", 3000)}}
        link = post_link(post_url, source)
        if link:
            note["accessory"] = {
                "type": "button",
                "text": {"type": "plain_text", "text": f"Open on {network}"[:75]},
                "action_id": Action.OPEN_POST.value,
                "url": link.replace("&amp;", "&"),
                "value": "reply-form",
            }
        notes.append(note)
    for who, since in writing[:3]:
        minutes = max(1, round(((now or since) - since).total_seconds() / 60))
        notes.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f":writing_hand: <@{who}> opened Reply on this card {minutes} min ago."}
                ],
            }
        )
    checks: list[Json] = []
    if warnings:
        lines = "\n".join(f"• {'<@' + w.who + '> ' if w.who else ''}{escape(w.text)}" for w in warnings[:5])
        checks = [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": cut(f":warning: *Before it goes out:*\n{lines}", 3000)},
            },
            {
                "type": "input",
                "block_id": Field.SEND_ANYWAY,
                "optional": True,
                "label": {"type": "plain_text", "text": "Send it as it is?"},
                "element": {
                    "type": "checkboxes",
                    "action_id": Field.SEND_ANYWAY,
                    "options": [{"text": {"type": "plain_text", "text": "Send anyway"}, "value": "yes"}],
                },
            },
        ]
    return {
        "type": "modal",
        "callback_id": View.REPLY,
        "private_metadata": str(complaint_id),
        "title": {"type": "plain_text", "text": f"Reply on {network}"[:24]},
        "submit": {"type": "plain_text", "text": "Send reply"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            *notes,
            *checks,
            {
                "type": "input",
                "block_id": Field.REPLY_TEXT,
                "label": {"type": "plain_text", "text": f"Public reply to {handle(customer)}"[:2000]},
                "hint": {
                    "type": "plain_text",
                    "text": "Everyone can read it. 280 on X (links count 23). Promises in it are tracked as yours.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.REPLY_TEXT,
                    "multiline": True,
                    "max_length": 3000,
                    "initial_value": initial[:3000],
                },
            },
        ],
    }


def change_time_modal(label_id: int, text: str) -> Json:
    return {
        "type": "modal",
        "callback_id": View.COMMIT_CHANGE,
        "private_metadata": f"label:{label_id}",
        "title": {"type": "plain_text", "text": "Change the time"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"“{cut(escape(text), 500)}”"}},
            {
                "type": "input",
                "block_id": Field.COMMIT_WHEN,
                "label": {"type": "plain_text", "text": "Due"},
                "hint": {"type": "plain_text", "text": "tomorrow 5pm, friday, in 2 hours, eod — in your time zone"},
                "element": {"type": "plain_text_input", "action_id": Field.COMMIT_WHEN, "max_length": 80},
            },
        ],
    }


def closing_reply_block(customer: str) -> Json:
    """For the Resolve form: an optional public reply asking the customer to confirm."""
    return {
        "type": "input",
        "block_id": Field.CLOSING_REPLY,
        "optional": True,
        "label": {"type": "plain_text", "text": "Closing reply to the customer (optional, public)"},
        "hint": {"type": "plain_text", "text": "Sent as a reply to their post. Leave empty to send nothing."},
        "element": {
            "type": "plain_text_input",
            "action_id": Field.CLOSING_REPLY,
            "multiline": True,
            "max_length": 3000,
            "placeholder": {
                "type": "plain_text",
                "text": f"@{customer.lstrip('@')} we think this is sorted — can you confirm it's working now?"[:150],
            },
        },
    }
