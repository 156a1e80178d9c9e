"""Block Kit builders: pure functions from stored state to message payloads. No I/O, no Slack client.

The card is a function of the complaint's state: after every change it is rebuilt whole and sent
with ``chat.update``, never patched. Outside text (the customer's post, names, handles) is escaped
here and only here, in the blocks and in the notification fallback ``text`` alike, so a tweet
containing ``<!channel>`` or ``<@U123>`` shows those characters and pings nobody.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.history.event_kinds import SYSTEM
from bot.networks import label as network
from bot.networks.links import link_hosts
from bot.slack.ids import Action, Field, View
from bot.store.enums import Kind, Status

SECTION_LIMIT = 3000
DIGEST_TEXT_BUDGET = 8000  # of Slack's ~12,000 characters a message: the rest for due-today and status
FALLBACK_LIMIT = 3900
BUTTON_TEXT_LIMIT = 75
BLOCKS_LIMIT = 50
QUOTE_LIMIT = 2600

Json = dict[str, Any]


_BROADCAST = re.compile(r"(?<![\w@])@(channel|here|everyone)\b", re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_FORMATTING = str.maketrans("", "", "*_~`")


def escape(text: str | None) -> str:
    """Make any text not written by the bot inert in Slack mrkdwn — the customer's and the team's alike.

    ``&``, ``<`` and ``>`` are Slack's control characters (so ``<!channel>`` shows as text); a bare
    ``@channel`` / ``@here`` / ``@everyone`` word gets a full-width at sign, which reads the same and
    pings nobody even where Slack would link names.
    """
    if not text:
        return ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "\uff20" + m.group(1), text)


def _visible(ch: str) -> bool:
    """Control and invisible format characters (zero-width, bidi overrides) can disguise text."""
    return unicodedata.category(ch) not in ("Cc", "Cf")


def inline(text: str | None, limit: int = 100, *, keep_underscores: bool = False) -> str:
    """A one-line outside field (display name, handle, source name): one line, no Slack formatting.

    A display name with a newline and ``*Resolved*`` in it must not read like a line of ours.
    Handles keep ``_`` (``@acme_help`` is the handle; a single underscore formats nothing).
    """
    if not text:
        return ""
    flat = " ".join(_LINE_BREAKS.sub(" ", "".join(ch for ch in text if ch in "\n\r" or _visible(ch))).split())
    drop = "*~`" if keep_underscores else "*_~`"
    return cut(escape(flat.translate(str.maketrans("", "", drop))), limit)


def handle(text: str | None) -> str:
    """``@handle``, made safe as a one-line field."""
    visible = "".join(ch for ch in (text or "") if unicodedata.category(ch) != "Cf")  # then "@" is first
    return "@" + inline(visible.lstrip("@"), 64, keep_underscores=True)


def cut(text: str, limit: int) -> str:
    """Cut to ``limit`` characters with a visible ellipsis, never inside an escape sequence or one of
    our own ``<…>`` tokens (mentions, dates, links): half a token would break the formatting of
    everything after it. Outside text has no raw ``<`` (it is escaped first), so every ``<`` is ours."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    lt = head.rfind("<")
    if lt != -1 and ">" not in head[lt:]:
        head = head[:lt]
    return head.rstrip() + "…"


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """The customer's words as a Slack quote, escaped and cut; every line is quoted (any line break
    Slack honours counts), so no line of theirs can step out of the quote and pass for ours."""
    clean = "".join(ch for ch in text if ch == "\n" or _visible(ch) or ch in "\r\v\f\x1c\x1d\x1e\x85")
    lines = _LINE_BREAKS.split(cut(escape(clean), limit)) or [""]
    return "\n".join("&gt; " + line for line in lines)


def slack_date(when: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A date Slack renders in each viewer's own time zone (with a UTC fallback)."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def followers(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 10_000:
        return f"{n // 1000}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return str(n)


def safe_url(url: str | None) -> str | None:
    """A URL from Slack itself (a permalink): https, printable ASCII, no Slack control characters."""
    if not url or not url.startswith("https://"):
        return None
    if not url.isascii() or any(not ch.isprintable() or ch in "<>|` " for ch in url):
        return None
    return url.replace("&", "&amp;")


def post_link(url: str | None, source: str) -> str | None:
    """A post's own link, only to its network's hosts (x.com / twitter.com for X).

    Anything else — another host, a look-alike, an invisible character — is not made a link."""
    link = safe_url(url)
    if link is None or url is None:
        return None
    host = _agreed_host(url)
    if host is None or not any(host == h or host.endswith("." + h) for h in link_hosts(source)):
        return None
    return link


def _agreed_host(url: str) -> str | None:
    """The host, when a browser (WHATWG URL parsing) and Python's ``urlsplit`` read the same one.

    They differ on ``https://evil.example\\@facebook.com/``: a browser treats ``\\`` as ``/`` and goes
    to evil.example, while urlsplit sees user info and the host facebook.com. So: no backslash, no
    user info, no percent-encoding in the authority, and both readings equal."""
    rest = url[len("https://") :]
    if "\\" in url or not url.startswith("https://"):
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority or "%" in authority or not authority:
        return None
    whatwg = authority.rsplit(":", 1)[0] if re.search(r":\d*$", authority) else authority
    whatwg = whatwg.lower().rstrip(".")
    try:
        python = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return None
    return whatwg if whatwg and whatwg == python else None


def shown_url(url: str | None, source: str) -> str:
    """How a post's URL appears: a link to its own network, else inert text (in code, so Slack
    does not turn it into a link either)."""
    link = post_link(url, source)
    if link:
        return f"<{link}|view post>"
    if not url:
        return ""
    plain = "".join(ch for ch in url if _visible(ch) and ch not in "`\n")
    return f"`{cut(escape(plain), 200)}`"


@dataclass(frozen=True)
class CardState:
    """Everything a card shows, as plain values (built from the stored complaint)."""

    id: int
    kind: str
    status: str
    priority: int
    text: str
    author_name: str | None
    author_handle: str
    author_followers: int
    url: str | None
    posted_at: datetime
    owner_id: str | None = None
    claimed_at: datetime | None = None
    escalation_tier: str | None = None
    escalation_reason: str | None = None
    escalated_by: str | None = None
    resolution_note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    customer_confirmed: bool = False
    amplification_count: int = 0
    amplification_reach: int = 0
    duplicate_count: int = 0
    reply_count: int = 0
    repeat_contact: int = 0
    source: str = ""
    """The network the post came from (``Network.name``)."""
    promises: tuple[PromiseView, ...] = ()
    first_response_seconds: float | None = None
    can_reply: bool = False
    """The brand's write keys for this network are set: the card offers Reply, else "Open on <network>"."""
    needs_look: str | None = None
    """The language of a post triage could not read (its card says so), else None."""
    edited_at: datetime | None = None
    """When the customer last edited the post (the card shows the latest words)."""


@dataclass(frozen=True)
class PromiseView:
    id: int
    owner_id: str
    text: str
    due_at: datetime
    status: str
    reschedule_count: int = 0


def card_state(complaint: Any, promises: Sequence[Any] = ()) -> CardState:
    """From a ``Complaint`` row (or anything with the same attributes)."""
    return CardState(
        id=complaint.id,
        kind=complaint.kind,
        status=complaint.status,
        priority=complaint.priority,
        text=complaint.text,
        author_name=complaint.author_name,
        author_handle=complaint.author_handle,
        author_followers=complaint.author_followers,
        url=complaint.url,
        posted_at=complaint.posted_at,
        owner_id=complaint.owner_id,
        claimed_at=complaint.claimed_at,
        escalation_tier=complaint.escalation_tier,
        escalation_reason=complaint.escalation_reason,
        escalated_by=complaint.escalated_by,
        resolution_note=complaint.resolution_note,
        resolved_by=complaint.resolved_by,
        resolved_at=complaint.resolved_at,
        customer_confirmed=complaint.customer_confirmed,
        amplification_count=complaint.amplification_count,
        amplification_reach=complaint.amplification_reach,
        duplicate_count=complaint.duplicate_count or 0,
        reply_count=complaint.reply_count,
        repeat_contact=complaint.repeat_contact,
        source=complaint.source,
        needs_look=_needs_look(getattr(complaint, "triage_signals", None)),
        edited_at=getattr(complaint, "edited_at", None),
        promises=tuple(
            PromiseView(
                p.promise_id if hasattr(p, "promise_id") else p.id,
                p.owner_id,
                p.text,
                p.due_at,
                p.status,
                p.reschedule_count,
            )
            for p in promises
        ),
    )


def _button(text: str, action: Action, value: str, style: str | None = None) -> Json:
    button: Json = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:BUTTON_TEXT_LIMIT], "emoji": True},
        "action_id": action.value,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def state_line(c: CardState) -> str:
    if c.status == Status.NEW:
        return ":new: *New* — nobody owns this yet"
    if c.status == Status.CLAIMED:
        when = f" {slack_date(c.claimed_at)}" if c.claimed_at else ""
        return f":raising_hand: *Claimed* by <@{c.owner_id}>{when}"
    if c.status == Status.ESCALATED:
        who = f" by <@{c.escalated_by}>" if c.escalated_by else ""
        reason = f": {inline(c.escalation_reason, 500)}" if c.escalation_reason else ""
        owner = f" · owner <@{c.owner_id}>" if c.owner_id else ""
        return f":arrow_double_up: *Escalated* to {escape(c.escalation_tier)}{who}{reason}{owner}"
    if c.status == Status.RESOLVED:
        who = f" by <@{c.resolved_by}>" if c.resolved_by else ""
        when = f" {slack_date(c.resolved_at)}" if c.resolved_at else ""
        confirmed = " · customer confirmed" if c.customer_confirmed else ""
        note = f"\n_{cut(escape(c.resolution_note), 1000)}_" if c.resolution_note else ""
        return f":white_check_mark: *Resolved*{who}{when}{confirmed}{note}"
    return (
        f":no_entry_sign: *Not a complaint* (marked by <@{c.resolved_by}>)"
        if c.resolved_by
        else (":no_entry_sign: *Not a complaint*")
    )


def card_actions(c: CardState) -> list[Json]:
    ref = str(c.id)
    if c.status == Status.NEW:
        return _with_answer(
            c,
            [
                _button("Claim", Action.CLAIM, ref, "primary"),
                _button("Escalate", Action.ESCALATE, ref),
                _button("Resolve", Action.RESOLVE, ref),
                _button("Promise", Action.PROMISE, ref),
                _button("Not a complaint", Action.DISMISS, ref),
            ],
        )
    if c.status in (Status.CLAIMED, Status.ESCALATED):
        hand_over: Json = {
            "type": "users_select",
            "action_id": Action.HAND_OVER.value,
            "placeholder": {"type": "plain_text", "text": "Hand over to…"},
        }
        buttons = [_button("Resolve", Action.RESOLVE, ref, "primary"), _button("Promise", Action.PROMISE, ref)]
        if c.status == Status.CLAIMED:
            buttons.append(_button("Escalate", Action.ESCALATE, ref))
        buttons += [_button("Unclaim", Action.UNCLAIM, ref), hand_over]
        return _with_answer(c, buttons)
    return _with_answer(c, [_button("Reopen", Action.REOPEN, ref)])


def reply_or_open(complaint_id: int, source: str, url: str | None, can_reply: bool) -> Json | None:
    """The card's answer button: Reply when the brand's write keys are set, else a link to the post."""
    if can_reply:
        return _button("Reply", Action.REPLY, str(complaint_id))
    link = post_link(url, source)
    if not link:
        return None
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": f"Open on {network(source)[0]}"},
        "action_id": Action.OPEN_POST.value,
        "url": link.replace("&amp;", "&"),
        "value": str(complaint_id),
    }


def first_response(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes = int(seconds // 60)
    if minutes < 60:
        return f":stopwatch: first response {minutes} min"
    if minutes < 48 * 60:
        return f":stopwatch: first response {minutes // 60} h {minutes % 60:02d} min"
    return f":stopwatch: first response {minutes // 1440} d"


def _with_answer(c: CardState, buttons: list[Json]) -> list[Json]:
    """Reply (or a link to the post when replying is not set up) joins the card's buttons."""
    if c.status == Status.DISMISSED:
        return buttons
    answer = reply_or_open(c.id, c.source, c.url, c.can_reply)
    if answer is None:
        return buttons
    return [*buttons[:1], answer, *buttons[1:]]


def _needs_look(signals: Sequence[str] | None) -> str | None:
    if not signals or "needs a look" not in signals:
        return None
    return next((s.removeprefix("language ") for s in signals if s.startswith("language ")), "?")


def card_fallback(c: CardState) -> str:
    """The notification text: short, escaped, never a ping."""
    label = "Complaint" if c.kind == Kind.COMPLAINT else c.kind.capitalize()
    return cut(f"{label} #{c.id} from {handle(c.author_handle)}: {inline(c.text, 300)}", 300)


def network_label(source: str) -> str:
    """``:butterfly: Bluesky``: where the post is (and where the answer goes)."""
    name, icon = network(source)
    return f"{icon} {inline(name, 32)}"


QUESTION_QUOTE_LIMIT = 600


def build_card(c: CardState, now: datetime) -> Json:
    if c.kind == Kind.QUESTION:
        return build_question_card(c, now)
    name = inline(c.author_name) or inline(c.author_handle, keep_underscores=True)
    who = f"*{name}* ({handle(c.author_handle)} · {followers(c.author_followers)} followers)"
    icon = ":rotating_light:" if c.priority >= 70 else ":warning:" if c.priority >= 45 else ":speech_balloon:"
    header = f"{icon} *Complaint #{c.id}* · priority {c.priority} · {network_label(c.source)} · {who}"
    link = post_link(c.url, c.source)
    text = quote(c.text)
    if text.endswith("…") and link:
        text += f" <{link}|read it all>"
    context = [f"posted {slack_date(c.posted_at)} ({age(c.posted_at, now)} ago)"]
    if c.edited_at is not None:
        context[0] += f", :pencil2: edited {slack_date(c.edited_at)}"
    if c.url:
        context.append(shown_url(c.url, c.source))
    if c.amplification_count:
        context.append(f":loudspeaker: {c.amplification_count} reposts, reach {followers(c.amplification_reach)}")
    if c.duplicate_count:
        context.append(f":busts_in_silhouette: +{c.duplicate_count} similar")
    if c.reply_count:
        context.append(f":speech_balloon: {c.reply_count} customer replies in thread")
    if c.repeat_contact:
        context.append(f":repeat: {c.repeat_contact} earlier complaint(s) from this customer")
    if c.first_response_seconds is not None:
        context.append(first_response(c.first_response_seconds) or "")
    if c.needs_look:
        context.append(f":globe_with_meridians: needs a look · {inline(c.needs_look, 8)}")
    blocks: list[Json] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(header, SECTION_LIMIT)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(" · ".join(context), 2000)}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(state_line(c), SECTION_LIMIT)}},
    ]
    if c.promises:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(promise_lines(c, now), SECTION_LIMIT)}}
        )
    blocks.append({"type": "actions", "block_id": f"card_{c.id}", "elements": card_actions(c)})
    return {"text": card_fallback(c), "blocks": blocks[:BLOCKS_LIMIT]}


def build_question_card(c: CardState, now: datetime) -> Json:
    """A question's card: compact, because nothing went wrong yet and the board is for complaints
    first — who asks and what in one section, one line of context, and the complaint card's buttons
    (a question needs an owner and an answer just the same). No priority, reach or repeat-contact
    lines: its band already ranks it below every complaint; a new card's "nobody owns this yet"
    is said by its Claim button."""
    name = inline(c.author_name) or inline(c.author_handle, keep_underscores=True)
    header = f":grey_question: *Question #{c.id}* · {network_label(c.source)} · *{name}* ({handle(c.author_handle)})"
    link = post_link(c.url, c.source)
    text = quote(c.text, QUESTION_QUOTE_LIMIT)
    if text.endswith("…") and link:
        text += f" <{link}|read it all>"
    context = [f"asked {slack_date(c.posted_at)} ({age(c.posted_at, now)} ago)"]
    if c.edited_at is not None:
        context[0] += f", :pencil2: edited {slack_date(c.edited_at)}"
    if c.url:
        context.append(shown_url(c.url, c.source))
    if c.needs_look:
        context.append(f":globe_with_meridians: needs a look · {inline(c.needs_look, 8)}")
    if c.first_response_seconds is not None:
        context.append(first_response(c.first_response_seconds) or "")
    if c.status != Status.NEW:
        context.append(state_line(c))
    blocks: list[Json] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(f"{header}\n{text}", SECTION_LIMIT)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(" · ".join(context), 2000)}]},
    ]
    if c.promises:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(promise_lines(c, now), SECTION_LIMIT)}}
        )
    blocks.append({"type": "actions", "block_id": f"card_{c.id}", "elements": card_actions(c)})
    return {"text": card_fallback(c), "blocks": blocks}


def claim_line(c: Any, now: datetime) -> str:
    """One claimed complaint in a list (``/complaints mine``, App Home); its age is the customer's wait."""
    waiting = age(min(c.posted_at, c.created_at), now)
    return f"• #{c.id} {handle(c.author_handle)} — {c.status}, waiting {waiting}: “{cut(escape(c.text), 80)}”"


def promise_lines(c: CardState, now: datetime) -> str:
    lines = []
    for p in sorted(c.promises, key=lambda p: p.due_at)[:10]:
        late = p.due_at < now
        mark = ":red_circle:" if late or p.status == "broken" else ":hourglass_flowing_sand:"
        moved = f" (moved {p.reschedule_count}×)" if p.reschedule_count else ""
        state = " — *broken*" if p.status == "broken" else " — *overdue*" if late else ""
        lines.append(
            f"{mark} <@{p.owner_id}> promised “{cut(escape(p.text), 200)}” by {slack_date(p.due_at)}{moved}{state}"
        )
    more = max(0, len(c.promises) - 10)
    where = " — `/complaints overdue` lists the overdue ones, `/complaints mine` each owner's"
    text = "*Promises*\n" + "\n".join(lines)
    while len(text) + 100 > SECTION_LIMIT and len(lines) > 1:  # whole lines only, and say how many went
        lines.pop()
        more += 1
        text = "*Promises*\n" + "\n".join(lines)
    return text + (f"\n…and {more} more{where}" if more > 0 else "")


def build_kudos(c: CardState) -> Json:
    name = inline(c.author_name) or inline(c.author_handle, keep_underscores=True)
    who = f"*{name}* ({handle(c.author_handle)})"
    text = f":tada: Praise from {who}\n{quote(c.text, 2000)}" + (f"\n{shown_url(c.url, c.source)}" if c.url else "")
    return {
        "text": cut(f"Praise from {handle(c.author_handle)}: {inline(c.text, 300)}", 300),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}],
    }


def build_customer_reply(
    author: str, text: str, url: str | None = None, *, source: str, folded_from: int | None = None
) -> Json:
    """A customer's reply in the card's thread. ``folded_from``: the reply belongs to another
    complaint folded into this card (``+N similar``), so it says whose it is."""
    whose = f" (complaint #{folded_from}, folded into this card)" if folded_from else ""
    body = f":speech_balloon: {handle(author)}{whose} replied:\n{quote(text, 2500)}" + (
        f"\n{shown_url(url, source)}" if url else ""
    )
    return {
        "text": cut(f"{handle(author)} replied: {inline(text, 300)}", 300),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(body, SECTION_LIMIT)}}],
    }


def build_note(text: str) -> Json:
    """A one-line audit note for a card's thread. ``text`` is our own mrkdwn (outside parts pre-escaped)."""
    return {
        "text": cut(text, FALLBACK_LIMIT),
        "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, 2900)}]}],
    }


def build_alert(text: str) -> Json:
    return {
        "text": cut(text, FALLBACK_LIMIT),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}],
    }


def build_escalation_notice(c: CardState, tier: str, contact: str | None, permalink: str | None) -> Json:
    mention = contact_mention(contact)
    link = f" <{safe_url(permalink)}|open the card>" if safe_url(permalink) else ""
    reason = "\n" + quote(c.escalation_reason, 1500) if c.escalation_reason else ""
    text = (
        f":arrow_double_up: {mention + ' ' if mention else ''}Complaint #{c.id} from {handle(c.author_handle)} "
        f"escalated to *{escape(tier)}* by <@{c.escalated_by}>.{link}{reason}"
    )
    return {
        "text": cut(f"Complaint #{c.id} escalated to {escape(tier)}", 300),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}],
    }


def contact_mention(contact: str | None) -> str:
    """A configured escalation contact (ours, not outside text): user group S…, user U…/W…."""
    if not contact:
        return ""
    if contact.startswith("S"):
        return f"<!subteam^{contact}>"
    if contact[0] in "UW":
        return f"<@{contact}>"
    return ""


def escalate_modal(complaint_id: int, tiers: Sequence[str]) -> Json:
    options = [{"text": {"type": "plain_text", "text": t[:75]}, "value": t[:75]} for t in tiers]
    return {
        "type": "modal",
        "callback_id": View.ESCALATE.value,
        "private_metadata": str(complaint_id),
        "title": {"type": "plain_text", "text": f"Escalate #{complaint_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Escalate"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": Field.TIER.value,
                "label": {"type": "plain_text", "text": "Escalate to"},
                "element": {
                    "type": "static_select",
                    "action_id": Field.TIER.value,
                    "options": options,
                    "initial_option": options[0],
                },
            },
            {
                "type": "input",
                "block_id": Field.REASON.value,
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.REASON.value,
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
    }


def resolve_modal(complaint_id: int, open_promises: int = 0) -> Json:
    blocks: list[Json] = [
        {
            "type": "input",
            "block_id": Field.NOTE.value,
            "label": {"type": "plain_text", "text": "Resolution note"},
            "hint": {"type": "plain_text", "text": "What was done for the customer? The team reads this later."},
            "element": {
                "type": "plain_text_input",
                "action_id": Field.NOTE.value,
                "multiline": True,
                "min_length": 3,
                "max_length": 2000,
            },
        },
        {
            "type": "input",
            "block_id": Field.CONFIRMED.value,
            "optional": True,
            "label": {"type": "plain_text", "text": "Customer"},
            "element": {
                "type": "checkboxes",
                "action_id": Field.CONFIRMED.value,
                "options": [
                    {"text": {"type": "plain_text", "text": "The customer confirmed it is resolved"}, "value": "yes"}
                ],
            },
        },
    ]
    if open_promises:
        blocks.append(
            {
                "type": "input",
                "block_id": Field.CLOSE_PROMISES.value,
                "label": {"type": "plain_text", "text": f"{open_promises} open promise(s)"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": Field.CLOSE_PROMISES.value,
                    "options": [
                        {"text": {"type": "plain_text", "text": "Mark them kept"}, "value": "kept"},
                        {"text": {"type": "plain_text", "text": "Cancel them"}, "value": "cancelled"},
                        {"text": {"type": "plain_text", "text": "Leave them open"}, "value": "open"},
                    ],
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": View.RESOLVE.value,
        "private_metadata": str(complaint_id),
        "title": {"type": "plain_text", "text": f"Resolve #{complaint_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


NOTE_TEMPLATES = {
    "promise": ":handshake: <@{actor}> recorded a promise for <@{owner_id}>: “{text}” by {due}",
    "promise_kept": ":white_check_mark: <@{actor}> marked the promise “{text}” kept",
    "promise_cancelled": ":x: <@{actor}> cancelled the promise “{text}”",
    "promise_rescheduled": ":calendar: <@{actor}> moved the promise “{text}” to {due} (moved {count}×): {reason}",
    "claim": ":raising_hand: <@{actor}> claimed this",
    "unclaim": ":leftwards_arrow_with_hook: <@{actor}> unclaimed this — it is back on the board",
    "hand_over": ":handshake: <@{actor}> handed this over to <@{owner_id}>",
    "escalate": ":arrow_double_up: <@{actor}> escalated this to *{escalation_tier}*",
    "resolve": ":white_check_mark: <@{actor}> resolved this",
    "dismiss": ":no_entry_sign: <@{actor}> marked this as not a complaint",
    "reopen": ":arrows_counterclockwise: <@{actor}> reopened this and owns it now",
    "reclassify": ":label: <@{actor}> moved this to *{kind}*",
    "incident_release": ":leftwards_arrow_with_hook: <@{actor}> said this is not an incident: its {customers} "
    "customers have their own cards again",
    "incident_joined": ":inbox_tray: <@{actor}> added #{complaint} ({handle}) to this incident: they get its next "
    "update and its resolution",
    "incident_merged": ":twisted_rightwards_arrows: <@{actor}> merged incident #{incident} into this one: "
    "{customers} more customers get its next update and its resolution",
    "incident_left": ":outbox_tray: <@{actor}> took #{complaint} ({handle}) out of this incident: not part of this "
    "outage, it has its own card again",
}


def format_note(payload: dict[str, Any]) -> str:
    """One line for the card's thread from a stored note (who did what, when, with what note)."""
    detail = {k: escape(str(v)) for k, v in (payload.get("detail") or {}).items()}
    if "due" in detail:
        with contextlib.suppress(ValueError):
            detail["due"] = slack_date(datetime.fromisoformat(str(payload["detail"]["due"])))
    template = NOTE_TEMPLATES.get(str(payload.get("action")), ":memo: <@{actor}>: {action}")
    if payload.get("action") == "hand_over" and detail.get("owner_id") == str(payload.get("actor", "")):
        template = ":handshake: <@{actor}> took this over"
    if payload.get("actor") == SYSTEM:  # the bot itself: named, not a mention of a user that does not exist
        template = template.replace("<@{actor}>", "Followthrough")
    values = {"actor": str(payload.get("actor", "")), "action": escape(str(payload.get("action", ""))), **detail}
    try:
        line = template.format(**values)
    except (KeyError, IndexError, ValueError):
        who = "Followthrough" if values["actor"] == SYSTEM else f"<@{values['actor']}>"
        line = f":memo: {who}: {values['action']}"
    if detail.get("previous_owner"):
        line += f" (it was <@{detail['previous_owner']}>'s)"
    when = payload.get("at")
    if when:
        with contextlib.suppress(ValueError):
            line += f" · {slack_date(datetime.fromisoformat(str(when)))}"
    if payload.get("note"):
        line += "\n" + quote(str(payload["note"]), 1500)
    if detail.get("customer_confirmed") == "True":
        line += " · customer confirmed"
    return line


def promise_modal(complaint_id: int, owner_id: str) -> Json:
    return {
        "type": "modal",
        "callback_id": View.PROMISE.value,
        "private_metadata": str(complaint_id),
        "title": {"type": "plain_text", "text": f"Promise on #{complaint_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Record promise"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": Field.WHAT.value,
                "label": {"type": "plain_text", "text": "What did we promise the customer?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": Field.WHAT.value,
                    "max_length": 500,
                    "placeholder": {"type": "plain_text", "text": "Call back about the refund"},
                },
            },
            {
                "type": "input",
                "block_id": Field.WHEN.value,
                "optional": True,
                "label": {"type": "plain_text", "text": "By when?"},
                "hint": {
                    "type": "plain_text",
                    "text": "tomorrow 5pm, friday, in 2 hours, eod, March 5 10am — in the owner's time zone",
                },
                "element": {"type": "plain_text_input", "action_id": Field.WHEN.value, "max_length": 80},
            },
            {
                "type": "input",
                "block_id": Field.WHEN_PICKED.value,
                "optional": True,
                "label": {"type": "plain_text", "text": "…or pick a date and time"},
                "element": {"type": "datetimepicker", "action_id": Field.WHEN_PICKED.value},
            },
            {
                "type": "input",
                "block_id": Field.OWNER.value,
                "label": {"type": "plain_text", "text": "Who will do it?"},
                "element": {"type": "users_select", "action_id": Field.OWNER.value, "initial_user": owner_id},
            },
        ],
    }


def reschedule_modal(promise_id: int, text: str) -> Json:
    return {
        "type": "modal",
        "callback_id": View.RESCHEDULE.value,
        "private_metadata": str(promise_id),
        "title": {"type": "plain_text", "text": "Move a promise"},
        "submit": {"type": "plain_text", "text": "Move it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"“{cut(escape(text), 500)}”"}},
            {
                "type": "input",
                "block_id": Field.WHEN.value,
                "label": {"type": "plain_text", "text": "New time"},
                "hint": {"type": "plain_text", "text": "tomorrow 5pm, friday, in 2 hours, eod"},
                "element": {"type": "plain_text_input", "action_id": Field.WHEN.value, "max_length": 80},
            },
            {
                "type": "input",
                "block_id": Field.REASON.value,
                "label": {"type": "plain_text", "text": "Why is it moving?"},
                "element": {"type": "plain_text_input", "action_id": Field.REASON.value, "max_length": 500},
            },
        ],
    }


def build_nag(
    kind: str,
    promise: PromiseView,
    c: CardState,
    now: datetime,
    *,
    contact: str | None = None,
    permalink: str | None = None,
) -> Json:
    """One step of the nag ladder for an overdue promise."""
    what = f"“{cut(escape(promise.text), 300)}”"
    customer = handle(c.author_handle)
    link = f" <{safe_url(permalink)}|open the card>" if safe_url(permalink) else ""
    late = age(promise.due_at, now)
    if kind == "dm":
        text = (
            f":alarm_clock: Your promise to {customer} on complaint #{c.id} was due {slack_date(promise.due_at)}:"
            f" {what}.{link}\nDid it happen?"
        )
        ref = str(promise.id)
        return {
            "text": cut(f"Your promise on complaint #{c.id} is due", 300),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}},
                {
                    "type": "actions",
                    "block_id": f"promise_{promise.id}",
                    "elements": [
                        _button("Kept", Action.PROMISE_KEPT, ref, "primary"),
                        _button("Reschedule", Action.PROMISE_RESCHEDULE, ref),
                        _button("Cancel", Action.PROMISE_CANCEL, ref, "danger"),
                    ],
                },
            ],
        }
    if kind == "thread":
        text = (
            f":alarm_clock: <@{promise.owner_id}> the promise {what} was due {slack_date(promise.due_at)} ({late} ago)."
        )
    elif kind == "channel":
        text = (
            f":warning: Overdue promise: <@{promise.owner_id}> promised {customer} {what} by "
            f"{slack_date(promise.due_at)} on complaint #{c.id} — {late} overdue.{link}"
        )
    else:
        text = (
            f":rotating_light: {contact_mention(contact) + ' ' if contact_mention(contact) else ''}"
            f"Broken promise: <@{promise.owner_id}> promised {customer} {what} by {slack_date(promise.due_at)} "
            f"on complaint #{c.id} — {late} overdue, now marked broken.{link}"
        )
    return {
        "text": cut(f"Overdue promise on complaint #{c.id}", 300),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}],
    }


def _mrkdwn(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _digest_card_ref(line: dict[str, Any], permalinks: dict[int, str]) -> str:
    url = permalinks.get(int(line["complaint_id"]))
    ref = f"#{line['complaint_id']}"
    return f"<{url}|{ref}>" if url and safe_url(url) else ref


def _digest_overdue(overdue: list[dict[str, Any]], permalinks: dict[int, str], now: datetime) -> list[Json]:
    """Overdue promises grouped by owner, while the message's text budget lasts.

    Slack refuses a message whose blocks hold more than about 12,000 characters of text (five owners
    with fifteen promises each pass that): owners are listed while the budget lasts, and the rest
    summed up in one line that says where the whole list is."""
    if not overdue:
        return [_mrkdwn(":white_check_mark: Nothing is overdue.")]
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for line in overdue:
        by_owner.setdefault(line["owner_id"], []).append(line)
    out = [_mrkdwn(f":red_circle: *{len(overdue)} overdue promise(s)*")]
    budget, shown, owners = DIGEST_TEXT_BUDGET, 0, 0
    for owner, lines in by_owner.items():
        items = [
            f"• {_digest_card_ref(x, permalinks)} “{cut(escape(x['text']), 120)}” to {handle(x['customer'])} — due "
            f"{slack_date(datetime.fromisoformat(x['due_at']))}, {age(datetime.fromisoformat(x['due_at']), now)} ago"
            + (" (broken)" if x["status"] == "broken" else "")
            for x in lines[:15]
        ]
        extra = f"\n…and {len(lines) - 15} more" if len(lines) > 15 else ""
        text = cut(f"<@{owner}>\n" + "\n".join(items) + extra, SECTION_LIMIT)
        if len(text) > budget or len(out) + 1 >= BLOCKS_LIMIT - 6:
            break
        budget -= len(text)
        shown += len(lines)
        owners += 1
        out.append(_mrkdwn(text))
    if shown < len(overdue):
        out.append(
            _mrkdwn(
                f"…and {len(overdue) - shown} more overdue promise(s) of {len(by_owner) - owners} more "
                "owner(s): `/complaints overdue` lists them all."
            )
        )
    return out


def _digest_due_today(due_today: list[dict[str, Any]], permalinks: dict[int, str]) -> list[Json]:
    if not due_today:
        return []
    items = [
        f"• {_digest_card_ref(x, permalinks)} <@{x['owner_id']}> “{cut(escape(x['text']), 100)}” by "
        f"{slack_date(datetime.fromisoformat(x['due_at']))}"
        for x in due_today[:20]
    ]
    heading = f":hourglass_flowing_sand: *Due today ({len(due_today)})*\n"
    return [_mrkdwn(cut(heading + "\n".join(items), SECTION_LIMIT))]


def _digest_board(report: dict[str, Any], now: datetime) -> Json:
    counts = report.get("counts") or {}
    unclaimed = counts.get("unclaimed", 0)
    oldest = counts.get("oldest_unclaimed")
    status = f":inbox_tray: *Unclaimed: {unclaimed}*"
    if unclaimed and oldest:
        status += f", the oldest waiting {age(datetime.fromisoformat(oldest), now)}"
    skipped = int(report.get("skipped") or 0)
    if skipped:
        status += f"\n:mag: *{skipped} post(s) got no card* in the last 24 h — `/complaints skipped` to review them"
    return _mrkdwn(status)


def _digest_yesterday(y: dict[str, Any]) -> list[Json]:
    if not y:
        return []
    median = y.get("median_minutes_to_claim")
    claim = f"{median:.0f} min" if median is not None else "—"
    text = (
        f"Yesterday ({y['day']}): {y['new']} new · {y['resolved']} resolved · median time to claim {claim} · "
        f"promises kept on time {y['kept_on_time']}, late {y['kept_late']}, broken {y['broken']}"
    )
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]


def build_digest(report: dict[str, Any], permalinks: dict[int, str], now: datetime) -> Json:
    """The daily overdue reminder from a stored report (see bot.reports.status.Digest)."""
    overdue = report.get("overdue") or []
    out: list[Json] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Daily reminder · {report['day']}"}},
        *_digest_overdue(overdue, permalinks, now),
        *_digest_due_today(report.get("due_today") or [], permalinks),
        _digest_board(report, now),
        *_digest_yesterday(report.get("yesterday") or {}),
    ]
    unclaimed = (report.get("counts") or {}).get("unclaimed", 0)
    text = f"Daily reminder {report['day']}: {len(overdue)} overdue promise(s), {unclaimed} unclaimed complaint(s)"
    return {"text": text, "blocks": out[:BLOCKS_LIMIT]}


HEADS_UP_TEMPLATES = {
    "unclaim": "<@{actor}> unclaimed complaint #{id}, which you had claimed; it is back on the board.",
    "hand_over": "<@{actor}> handed complaint #{id}, which you had claimed, over to <@{to_user}>.",
    "promise_kept": "<@{actor}> marked your promise “{text}” on complaint #{id} kept.",
    "promise_cancelled": "<@{actor}> cancelled your promise “{text}” on complaint #{id}.",
    "promise_rescheduled": "<@{actor}> moved your promise “{text}” on complaint #{id} to {due}: {reason}",
}


def build_heads_up(payload: dict[str, Any], complaint_id: int, permalink: str | None) -> Json:
    """The private note to someone whose claim or promise a teammate changed (see domain/heads_up.py)."""
    action = str(payload.get("action"))
    values = {k: cut(escape(str(v)), 300) for k, v in payload.items()}
    values["id"] = str(complaint_id)
    if action == "hand_over" and payload.get("to_user") == payload.get("actor"):
        template = "<@{actor}> took over complaint #{id}, which you had claimed."
    else:
        template = HEADS_UP_TEMPLATES.get(action, "<@{actor}> changed complaint #{id}, which was yours.")
    if "due" in payload:
        with contextlib.suppress(ValueError):
            values["due"] = slack_date(datetime.fromisoformat(str(payload["due"])))
    if payload.get("why") == "resolved":
        template = template.rstrip(".") + " when resolving the complaint."
    try:
        text = ":information_source: " + template.format(**values)
    except (KeyError, IndexError, ValueError):
        text = f":information_source: <@{values.get('actor', '')}> changed complaint #{complaint_id}, which was yours."
    link = safe_url(permalink)
    if link:
        text += f" <{link}|open the card>"
    return {
        "text": cut(f"A teammate changed complaint #{complaint_id}, which was yours", 300),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}],
    }
