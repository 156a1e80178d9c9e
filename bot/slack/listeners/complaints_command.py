"""``/complaints``: subcommands from a small registry that also writes the help. Replies are ephemeral.

Slash commands cannot run inside threads, so everything takes an explicit reference (``#42``,
``@handle``) rather than relying on where it was typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.intake.state import source_statuses
from bot.networks import label as network
from bot.reports import incidents as incident_report
from bot.reports import status as board
from bot.reports.slack_report import report_command
from bot.slack.deps import CommandDeps, Requests
from bot.slack.listeners.skipped_posts import move_command, skipped_message, triage_report
from bot.slack.middleware import team_only
from bot.slack.views.blocks import age, claim_line, cut, escape, handle, network_label, slack_date
from bot.slack.views.fit import fit_message, listed
from bot.slack.views.incident_list import incidents_text, members_text

if TYPE_CHECKING:
    from slack_bolt import App


@dataclass(frozen=True)
class Subcommand:
    name: str
    args: str
    help: str
    run: Callable[[CommandDeps, str, str, datetime], str | dict[str, Any]]
    """Returns the answer's text, or a whole message (``text`` and ``blocks``) for answers with buttons."""
    aliases: tuple[str, ...] = ()


def _promise_line(p: board.PromiseLine, now: datetime, *, owner: bool = True) -> str:
    late = f" — *{age(p.due_at, now)} overdue*" if p.due_at < now else ""
    who = f"<@{p.owner_id}> " if owner else ""
    what = cut(escape(p.text), 120)
    return f"• #{p.complaint_id} {who}“{what}” to {handle(p.customer)} by {slack_date(p.due_at)}{late}"


def desk_status(deps: CommandDeps, user: str, args: str, now: datetime) -> str:
    with deps.sessions() as session:
        c = board.counts(session, now)
        sources = source_statuses(session, now=now, silence=deps.silence)
    states = " · ".join(f"{name} {c.by_status.get(name, 0)}" for name in ("new", "claimed", "escalated", "resolved"))
    lines = [f"*Desk status*: {states}"]
    if c.folded:
        lines.append(f":busts_in_silhouette: {c.folded} more open complaint(s) folded into cards as “+N similar”")
    if c.oldest_unclaimed:
        lines.append(f":inbox_tray: {c.unclaimed} unclaimed; the oldest has waited {age(c.oldest_unclaimed, now)}")
    else:
        lines.append(":inbox_tray: Nothing unclaimed.")
    lines.append(
        f":alarm_clock: {c.overdue_promises} overdue promise(s)"
        + (" — `/complaints overdue`" if c.overdue_promises else "")
    )
    for s in sources:
        lines.append(f":satellite: {escape(s.line())}")
    return "\n".join(lines)


def mine(deps: CommandDeps, user: str, args: str, now: datetime) -> str:
    with deps.sessions() as session:
        claims = board.my_claims(session, user)
        promises = board.open_promises_of(session, user)
    promises.sort(key=lambda p: (p.due_at >= now, p.due_at))  # overdue first
    # Half the answer each, whole lines only, and how many did not fit: App Home has the rest.
    mine = listed(
        f"*Your promises ({len(promises)})*",
        [_promise_line(p, now, owner=False) for p in promises] or ["• none"],
        ANSWER_LIMIT // 2,
        "the rest are on the app's Home tab",
    )
    claimed = listed(
        f"*Your claims ({len(claims)})*",
        [claim_line(c, now) for c in claims] or ["• none"],
        ANSWER_LIMIT // 2 - 1,
        "the rest are on the app's Home tab",
    )
    return claimed + "\n" + mine


def overdue(deps: CommandDeps, user: str, args: str, now: datetime) -> str:
    with deps.sessions() as session:
        lines = board.overdue(session, now)
    if not lines:
        return ":white_check_mark: Nothing is overdue."
    return listed(
        f"*{len(lines)} overdue promise(s)*",
        [_promise_line(p, now) for p in lines],
        ANSWER_LIMIT,
        "the daily reminder lists them all, or `followthrough export --what promises`",
    )


def find(deps: CommandDeps, user: str, args: str, now: datetime) -> str:
    """``@jo`` on every network, each network's @jo apart; ``bluesky:@jo`` (or ``@jo bluesky``) one."""
    words = args.strip().split()
    who = words[0] if words else ""
    # The command's text is escaped (the manifest asks for it, so ``report person`` gets mentions):
    # a handle that is also someone's Slack name arrives as ``<@U…|jo>`` — the customer is ``@jo``.
    if escaped := re.match(r"^<@[UW][A-Z0-9]+\|([^>]+)>$", who):
        who = "@" + escaped.group(1)
    elif re.match(r"^<[@#!][^>]*>$", who):
        return (
            "That is a Slack mention, not a customer's handle. Try `/complaints find jo` or "
            "`/complaints find bluesky:jo.bsky.social` (without the @)."
        )
    source = words[1].lower() if len(words) > 1 else None
    if ":" in who and not who.startswith("@"):
        source, _, who = who.partition(":")
        source = source.lower()
    if not who.lstrip("@"):
        return "Whose history? `/complaints find @handle` (or `/complaints find <network>:@handle` for one network)"
    with deps.sessions() as session:
        histories = board.customer_histories(session, who, source)
    where = f" on {escape(network(source)[0])}" if source else ""
    if not histories:
        return f"No earlier complaints from {handle(who)}{where}."
    lines: list[str] = []
    if len(histories) > 1:
        lines.append(f"{handle(who)} is {len(histories)} different customers (one per network):")
    for history in histories:
        first = history[0]
        label = network_label(first.source)
        lines.append(f"*{label} {handle(first.author_handle)}: {len(history)} earlier post(s)* (newest first)")
        for c in history:
            ending = c.status
            if c.resolution_note:
                ending += f": {cut(escape(c.resolution_note), 120)}"
            lines.append(
                f"• #{c.id} {slack_date(c.posted_at, '{date_short}')} — “{cut(escape(c.text), 100)}” → {ending}"
            )
    return "\n".join(lines)


def incidents(deps: CommandDeps, user: str, args: str, now: datetime) -> str:
    asked = args.strip().lstrip("#")
    if asked:
        if not (asked.isascii() and asked.isdigit()) or len(asked) > 12:
            return "Which incident? `/complaints incidents` lists them; `/complaints incidents 7` shows #7's posts."
        with deps.sessions() as session:
            members = incident_report.members_to_check(session, int(asked))
        return members_text(members, int(asked), ANSWER_LIMIT)
    with deps.sessions() as session:
        found = incident_report.listing(session, now)
    return incidents_text(found, ANSWER_LIMIT)


ANSWER_LIMIT = 3900
"""A command's private answer (Slack's 4,000 for a text answer, and some room)."""


REGISTRY: list[Subcommand] = [
    Subcommand("status", "", "counts by state, the oldest unclaimed complaint, overdue promises, sources", desk_status),
    Subcommand("mine", "", "your claims and your promises, overdue first", mine, ("me", "my")),
    Subcommand("overdue", "", "every overdue promise, by due time", overdue, ("late",)),
    Subcommand(
        "find",
        "@handle [network]",
        "a customer's earlier complaints and how they ended, per network",
        find,
        ("history", "who"),
    ),
    Subcommand(
        "incidents",
        "",
        f"open incidents, then those resolved in the last {incident_report.RECENT.days} days: how many customers,"
        " who owns each, how the update to its customers stands; `incidents 7`: #7's posts least like it first",
        incidents,
        ("incident",),
    ),
    Subcommand("skipped", "", "posts of the last 24 h that got no card, with Card it and Praise", skipped_message),
    Subcommand("triage", "", "triage's quality on your team's labels, and what retraining changed", triage_report),
    Subcommand(
        "move",
        "#42 question",
        "say what a post is: complaint, question or praise; or `#42 incident 7`: part of that incident; "
        "`#42 out of incident 7`: not part of it; or `incident 8 into 7`: one outage split in two, made one",
        move_command,
    ),
    Subcommand(
        "report",
        "[week|month|person @x]",
        "promises kept on time, response times, complaints in (the chart comes by DM)",
        lambda deps, user, args, now: report_command(
            deps.sessions, user, args, now, deps.team_timezone, named=deps.access.named if deps.access else None
        ),
        ("stats",),
    ),
]


def help_text() -> str:
    lines = ["*`/complaints` — the desk at a glance*"]
    for sub in REGISTRY:
        usage = f"/complaints {sub.name}" + (f" {sub.args}" if sub.args else "")
        alias = f" (also: {', '.join(sub.aliases)})" if sub.aliases else ""
        lines.append(f"• `{usage}` — {sub.help}{alias}")
    lines.append("• `/complaints help` — this list")
    lines.append("To record a promise: `/promise #42 tomorrow 3pm call back about the refund`")
    return "\n".join(lines)


def dispatch(deps: CommandDeps, user: str, text: str, now: datetime) -> str | dict[str, Any]:
    word, _, rest = text.strip().partition(" ")
    word = word.lower()
    if word in ("", "help", "?"):
        return help_text()
    for sub in REGISTRY:
        if word == sub.name or word in sub.aliases:
            return sub.run(deps, user, rest, now)
    return f"I don't know `{escape(word[:30])}`.\n" + help_text()


def register(bolt: App, deps: CommandDeps, requests: Requests) -> None:
    def complaints_command(ack: Callable[..., Any], command: dict[str, Any]) -> None:
        user, text = command["user_id"], command.get("text") or ""
        reply = dispatch(deps, user, text, deps.clock.now())
        if isinstance(reply, dict):
            ack(response_type="ephemeral", **fit_message(reply))
            return
        ack(response_type="ephemeral", text=cut(reply, ANSWER_LIMIT))

    bolt.command("/complaints", middleware=[team_only(requests, "use this")])(complaints_command)
