"""Triage in Slack: ``/complaints skipped`` (what got no card, with Card it / Praise), ``/complaints
triage`` (how good triage is on the team's own labels) and ``/complaints move #42 question`` (or
``incident 7``: a customer of an outage the grouping missed, ``bot.incidents.membership``).

Thin, like every surface: parse, call the domain (``bot.intake.skipped``, ``bot.triage.learning``),
answer. The clicks pass the same middleware as card buttons (stored with who and when, team only).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.incidents import membership, merge, suggest
from bot.intake import skipped
from bot.slack.deps import CommandDeps, Requests
from bot.slack.ids import Action, parse_ref
from bot.slack.listeners.cards import clicked
from bot.slack.middleware import team_only
from bot.slack.responses import Ack, Respond, ephemeral
from bot.slack.views.blocks import _button, escape, handle, inline, quote, slack_date
from bot.store.engine import transaction
from bot.store.enums import Kind
from bot.triage import learning

if TYPE_CHECKING:
    from slack_bolt import App

SHOWN = 20
"""Posts listed at once: two blocks each, under Block Kit's 50 blocks a message."""
Json = dict[str, Any]


def skipped_message(deps: CommandDeps, user: str, args: str, now: datetime) -> Json:
    with deps.sessions() as session:
        posts, total = skipped.recent(session, now, limit=SHOWN)
        offers = suggest.open_offers(session, [p.complaint_id for p in posts])
    if not posts:
        return {"text": ":white_check_mark: Nothing left off the board in the last 24 hours is waiting for a look."}
    more = f"; the newest {len(posts)} here" if total > len(posts) else ""
    head = f"*{total} post(s) got no card in the last 24 h* (newest first{more}). Card what needs the team: "
    head += "each click teaches triage."
    out: list[Json] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    for p in posts:
        lang = f" · {inline(p.lang, 8)}" if p.lang else ""
        line = (
            f"#{p.complaint_id} {handle(p.author_handle)} · {slack_date(p.posted_at)}{lang}\n"
            f"{quote(p.text, 500)}\n_{escape(p.reason)}_"
        )
        offer = offers.get(p.complaint_id)
        if offer is not None:
            line += (
                f"\n:mag: reads like *incident #{offer.incident_id}* ({inline(offer.title, 80)}): "
                "Add it, and this customer gets the incident's updates and its resolution"
            )
        out.append(
            {"type": "section", "block_id": f"skipped_{p.complaint_id}", "text": {"type": "mrkdwn", "text": line}}
        )
        cid = str(p.complaint_id)
        buttons: list[Json] = [
            _button("Card it", Action.CARD_IT, cid, None if offer else "primary"),
            _button("Praise", Action.PRAISE_IT, cid),
        ]
        if offer is not None:  # the one primary button of the block
            add = f"Add to incident #{offer.incident_id}"
            buttons.insert(0, _button(add, Action.INCIDENT_SUGGEST_ADD, f"{cid}:{offer.incident_id}", "primary"))
        out.append({"type": "actions", "block_id": f"skipped_actions_{p.complaint_id}", "elements": buttons})
    return {"text": f"{total} post(s) got no card in the last 24 h", "blocks": out}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def triage_report(deps: CommandDeps, user: str, args: str, now: datetime) -> str:
    with deps.sessions() as session:
        q = learning.quality(session)
    kinds = " · ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(q.by_kind.items())) or "none yet"
    lines = [f"*Triage on your team's labels*: {q.labels_now} label(s) ({kinds})"]
    if q.version is None:
        lines.append(
            "No model trained yet: triage runs on its built-in cues. It trains each night and after every "
            f"{learning.RETRAIN_EVERY} new labels once there are {learning.MIN_LABELS} "
            f"({learning.MIN_PER_CLASS} complaints and {learning.MIN_PER_CLASS} not)."
        )
        return "\n".join(lines)
    assert q.trained_at is not None
    lines.append(
        f"Model v{q.version}, trained {slack_date(q.trained_at)} on {q.label_count} label(s): "
        f"cross-validated macro-F1 *{_pct(q.macro_f1)}*, complaint recall *{_pct(q.recall)}* "
        f"(targets ≥ {_pct(q.target_recall)}), precision {_pct(q.precision)}; the cues alone on the same labels: "
        f"macro-F1 {_pct(q.rules_macro_f1)}"
    )
    p = q.previous
    if p is None:
        lines.append("The first model: nothing to compare with yet.")
    else:

        def delta(now_value: float | None, before: float | None) -> str:
            if now_value is None or before is None:
                return "—"
            return f"{now_value - before:+.3f}"

        lines.append(
            f"Since v{p['version']} ({slack_date(p['trained_at'])}, {p['label_count']} labels): "
            f"+{q.label_count - int(p['label_count'])} label(s), macro-F1 {delta(q.macro_f1, p['macro_f1'])}, "
            f"recall {delta(q.recall, p['recall'])}, threshold {p['threshold']:.2f} → {q.threshold:.2f}"
        )
    return "\n".join(lines)


def move_command(deps: CommandDeps, user: str, args: str, now: datetime) -> str:
    words = args.split()
    usage = (
        "Which post, and to what? `/complaints move #42 question` (complaint, question or praise), or "
        "`/complaints move #42 incident 7` for a customer of an outage the grouping missed, "
        "`/complaints move #42 out of incident 7` for an ordinary complaint it drew in, or "
        "`/complaints move incident 8 into 7` for one outage the grouping split in two"
    )
    lowered = [w.lower() for w in words]
    if len(words) in (2, 5) and lowered[1] == "out" and (len(words) == 2 or lowered[2:4] == ["of", "incident"]):
        # "#42 out" or "#42 out of incident 7" (any case but the post's reference)
        try:
            cid = parse_ref(words[0])
            named = parse_ref(words[4]) if len(words) == 5 else None
        except ValueError:
            return usage
        with transaction(deps.sessions) as session:
            return membership.take_out(session, cid, named, user_id=user, at=now, channel=deps.complaints_channel)
    if len(words) == 4 and words[0].lower() == "incident" and words[2].lower() == "into":
        try:
            source, target = parse_ref(words[1]), parse_ref(words[3])
        except ValueError:
            return usage
        with transaction(deps.sessions) as session:
            return merge.merge(session, source, target, user_id=user, at=now)
    if len(words) == 3 and words[1].lower() == "incident":
        try:
            cid, incident_id = parse_ref(words[0]), parse_ref(words[2])
        except ValueError:
            return usage
        with transaction(deps.sessions) as session:
            return membership.add_to_incident(session, cid, incident_id, user_id=user, at=now)
    if len(words) != 2:
        return usage
    try:
        cid = parse_ref(words[0])
        kind = Kind(words[1].lower().rstrip("."))
    except ValueError:
        return usage
    if kind not in skipped.MOVABLE:
        return usage
    with transaction(deps.sessions) as session:
        return skipped.move(
            session, cid, kind, user_id=user, at=now, channel=deps.complaints_channel, kudos_channel=deps.kudos_channel
        )


class SkippedButtons:
    def __init__(self, deps: CommandDeps) -> None:
        self.deps = deps

    def card_it(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        user, action = clicked(body)
        cid = parse_ref(action.get("value"))
        with transaction(self.deps.sessions) as session:
            done = skipped.card_it(
                session, cid, user_id=user, at=self.deps.clock.now(), channel=self.deps.complaints_channel
            )
        ack()
        channel = self.deps.complaints_channel
        text = f":white_check_mark: #{cid} gets a card in <#{channel}>." if done else f"#{cid} has a card already."
        ephemeral(respond, text)

    def praise(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        user, action = clicked(body)
        cid = parse_ref(action.get("value"))
        kudos = self.deps.kudos_channel
        with transaction(self.deps.sessions) as session:
            done = skipped.praise_it(session, cid, user_id=user, at=self.deps.clock.now(), kudos_channel=kudos)
        ack()
        if not done:
            ephemeral(respond, f"#{cid} was reviewed already.")
        else:
            ephemeral(respond, f":tada: #{cid} marked praise" + (f", on its way to <#{kudos}>." if kudos else "."))


def register(bolt: App, deps: CommandDeps, requests: Requests) -> None:
    buttons = SkippedButtons(deps)
    team = [team_only(requests)]
    bolt.action(Action.CARD_IT.value, middleware=team)(buttons.card_it)
    bolt.action(Action.PRAISE_IT.value, middleware=team)(buttons.praise)
