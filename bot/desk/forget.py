"""Forgetting one customer, for data-protection requests (``followthrough data forget @handle --source S``).

Anonymise, not delete, what the team's numbers are made of: a complaint row stays with its status,
times, owner and priority, and a promise stays with its due time and outcome, so the daily reminder's
and the lead's reports (complaints handled, time to claim, promises kept on time) do not change
after the fact, and the team's audit trail (who claimed, who resolved, when) survives. Everything on
those rows that says who the customer is or what they wrote is replaced. Rows that exist only
because of the customer — their posts, their raw records in the inbox, triage labels made of their
words — are deleted.

Table-driven: ``RULES`` names every table of the schema and says which of its rows are the
customer's and what happens to each column that could hold something of theirs. A table without a
rule makes ``forget`` refuse to run (and a test fail), and a test fails when a table has a column
named like personal data (author…, handle, text, note, payload …) that its rule does not mention, so
a table added later cannot be skipped silently. After the rules, a sweep looks through every text
and JSON column of every table for their handle, ids, name and words, and scrubs what it finds (a
daily reminder that listed them, a note on another card that named them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Table, Text, cast, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.outbox.kinds import DeliveryKind
from bot.store.enums import DeliveryStatus
from bot.store.models import (
    AuditEvent,
    Base,
    CommitmentLabel,
    Complaint,
    Delivery,
    InboxItem,
    Post,
    Promise,
    TriageLabel,
)

QUOTING = (DeliveryKind.CUSTOMER_REPLY, DeliveryKind.KUDOS, DeliveryKind.ESCALATION)
"""Messages that quote the customer and that a card refresh cannot rewrite."""
FORGOTTEN = "[forgotten]"
FORGOTTEN_ID = "forgotten"

PERSONAL_COLUMN = re.compile(
    r"author|handle|text|name|note|reason|payload|record|details|url|error|outcome|conversation|external|"
    r"signals|body|email|phone|address|customer|quote|reply|message|actor",
    re.IGNORECASE,
)
"""Column names that could hold something about a customer: each must be named in its table's rule."""


class Action(StrEnum):
    DELETE = "deleted"
    ANONYMISE = "anonymised"
    NONE = "nothing of a customer's"


@dataclass
class Customer:
    """Who is being forgotten, and everything that identifies them, gathered before anything changes."""

    source: str
    handle: str
    author_ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    complaint_ids: set[int] = field(default_factory=set)
    promise_ids: set[int] = field(default_factory=set)
    post_ids: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)

    def patterns(self, *, own: bool) -> list[re.Pattern[str]]:
        """What to scrub from free text. On the customer's own rows their handle and name go wherever
        they stand; ids only when long enough not to hit a time or a count (short ones go where they
        are a whole value). In the sweep over everyone else's rows, only needles long enough not to
        hit someone else by chance."""
        words = {w for w in {self.handle} | self.names if len(w) >= (1 if own else 4)}
        words |= {w for w in self.author_ids | self.post_ids if len(w) >= (4 if own else 6)}
        out = [
            re.compile(rf"(?<![\w])@?{re.escape(w)}(?![\w])", re.IGNORECASE)
            for w in sorted(words, key=len, reverse=True)
        ]
        out += [
            re.compile(re.escape(t), re.IGNORECASE)
            for t in sorted(self.texts, key=len, reverse=True)
            if own or len(t) >= 12
        ]
        return out

    def needles(self) -> list[str]:
        """Lower-case substrings a sweep looks for in SQL before the exact patterns decide."""
        raw = {self.handle, *(t for t in self.texts if len(t) >= 12)}
        raw |= {w for w in self.names if len(w) >= 4} | {w for w in self.author_ids | self.post_ids if len(w) >= 6}
        out = set()
        for n in raw:
            out.add(n.lower())
            out.add(json.dumps(n)[1:-1].lower())  # how it reads inside a JSON column
        return sorted(out)


def scrub(value: Any, patterns: list[re.Pattern[str]], exact: set[str] | None = None) -> Any:
    """``value`` with every match replaced, walking into JSON lists and objects."""
    if isinstance(value, str):
        if exact and value in exact:
            return FORGOTTEN
        for pattern in patterns:
            value = pattern.sub(FORGOTTEN, value)
        return value
    if isinstance(value, list):
        return [scrub(v, patterns, exact) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, patterns, exact) for k, v in value.items()}
    return value


Replacement = Callable[[Mapping[str, Any], Customer], Any]
"""Given the row (a mapping of its columns) and the customer, the column's value to store instead."""


def _const(value: Any) -> Replacement:
    return lambda _row, _c: value


def _if_set(column: str, value: Any) -> Replacement:
    return lambda row, _c: None if row[column] is None else value


def _scrubbed(column: str) -> Replacement:
    return lambda row, c: scrub(row[column], c.patterns(own=True), c.author_ids | c.post_ids)


@dataclass(frozen=True)
class Rule:
    action: Action
    rows: Callable[[Customer], ColumnElement[bool]] | None = None
    """Which rows are the customer's (or hold their data), as a WHERE clause."""
    replace: Mapping[str, Replacement] = field(default_factory=dict)
    """Anonymise: column → its new value. Every other text column of the row is scrubbed too."""
    keeps: Mapping[str, str] = field(default_factory=dict)
    """Columns whose names look personal but hold nothing of a customer's, and why."""
    why: str = ""
    match: Callable[[Any, Customer], bool] | None = None
    """A finer test in Python, for rows the WHERE clause can only narrow down (raw JSON records)."""
    unswept: Mapping[str, str] = field(default_factory=dict)
    """Columns the sweep leaves alone, and why: a source's position may be the id of the customer's
    post, but rewriting it would make the source skip or re-read posts."""


def _in(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    values = sorted(values)
    return column.in_(values) if values else false()


def _inbox_candidates(c: Customer) -> ColumnElement[bool]:
    text = func.lower(cast(InboxItem.record, Text))
    return or_(*(text.like(f"%{n}%") for n in [c.handle, *(i.lower() for i in c.author_ids)]))


def _inbox_is_theirs(row: Any, c: Customer) -> bool:
    record = row.record if isinstance(row.record, dict) else {}
    if str(record.get("source") or c.source) != c.source:
        return False
    handle = str(record.get("author_handle") or "").lstrip("@").lower()
    return str(record.get("author_id")) in c.author_ids or handle == c.handle


RULES: dict[str, Rule] = {
    "complaints": Rule(
        Action.ANONYMISE,
        rows=lambda c: _in(Complaint.id, c.complaint_ids),
        replace={
            "external_id": lambda row, _c: f"{FORGOTTEN_ID}-{row['id']}",  # unique per source, as the column must be
            "author_id": _const(FORGOTTEN_ID),
            "author_handle": _const(FORGOTTEN_ID),
            "author_name": _const(None),
            "author_followers": _const(0),
            "author_verified": _const(False),
            "text": _const(FORGOTTEN),
            "url": _const(None),
            "conversation_id": _const(None),
            "text_key": _const(None),
            "triage_signals": _const([]),
            "escalation_reason": _if_set("escalation_reason", FORGOTTEN),
            "resolution_note": _if_set("resolution_note", FORGOTTEN),
        },
        keeps={"customer_confirmed": "a yes/no the team ticked", "reply_count": "a count"},
        why="status, times, owner and priority stay, so counts and reports do not change",
    ),
    "posts": Rule(
        Action.DELETE,
        rows=lambda c: or_(
            (Post.source == c.source) & _in(Post.author_id, c.author_ids), _in(Post.complaint_id, c.complaint_ids)
        ),
        why="their posts, and replies and reposts attached to their complaints",
    ),
    "audit_events": Rule(
        Action.ANONYMISE,
        rows=lambda c: or_(_in(AuditEvent.complaint_id, c.complaint_ids), _in(AuditEvent.promise_id, c.promise_ids)),
        replace={"note": _if_set("note", FORGOTTEN), "details": _scrubbed("details"), "actor": _scrubbed("actor")},
        why="who did what and when stays (a customer as actor becomes [forgotten]); notes about them go",
    ),
    "promises": Rule(
        Action.ANONYMISE,
        rows=lambda c: _in(Promise.complaint_id, c.complaint_ids),
        replace={"text": _const(FORGOTTEN)},
        why="due time, owner and outcome stay, so promises kept on time still count",
    ),
    "deliveries": Rule(
        Action.ANONYMISE,
        rows=lambda c: or_(_in(Delivery.complaint_id, c.complaint_ids), _in(Delivery.card_of, c.complaint_ids)),
        replace={"payload": _scrubbed("payload"), "last_error": _scrubbed("last_error")},
        why="what was sent and when stays; the words in it go",
    ),
    "inbox": Rule(
        Action.DELETE,
        rows=_inbox_candidates,
        match=_inbox_is_theirs,
        unswept={"position": "a source's position, kept with each raw record"},
        why="their raw posts as the source read them (pending or set aside)",
    ),
    "triage_labels": Rule(
        Action.DELETE,
        rows=lambda c: or_(_in(TriageLabel.complaint_id, c.complaint_ids), _in(TriageLabel.text, c.texts)),
        why="labels are made of their words",
    ),
    "commitment_labels": Rule(
        Action.ANONYMISE,
        rows=lambda c: _in(CommitmentLabel.complaint_id, c.complaint_ids),
        replace={"reply_text": _scrubbed("reply_text"), "text": _scrubbed("text")},
        keeps={"decision": "what the team decided", "origin": "card or seen"},
        why="the team's decisions on promises found in its replies stay (labels); their handle and words go",
    ),
    "triage_models": Rule(
        Action.NONE,
        keeps={"params": "word weights over the whole team's labels, no texts", "metrics": "scores"},
        why="retrain after forgetting to drop their words' share of the weights",
    ),
    "interactions": Rule(
        Action.NONE,
        keeps={"name": "the action's name (claim, resolve)", "outcome": "the team's result, swept for their handle"},
        why="the team's requests: who clicked what, and when",
    ),
    "source_cursors": Rule(
        Action.NONE,
        keeps={"name": "the source's name", "last_error": "a source's last error, swept"},
        unswept={"cursor": "the source's position (since_id): a post id, but no person's data"},
        why="where each source got to",
    ),
    "source_alerts": Rule(Action.NONE, keeps={"text": "alerts about a source, swept"}, why="alerts about sources"),
    "brand_accounts": Rule(Action.NONE, keeps={"handle": "the brand's own account"}, why="the brand's own accounts"),
    "lanes": Rule(Action.NONE, why="rate-limit turns"),
    "complaint_facts": Rule(
        Action.NONE,
        keeps={"first_response_by": "a team member or the brand's account, swept"},
        why="times of the team's first answer, claim and resolve, so reports do not change",
    ),
    "promise_facts": Rule(
        Action.NONE,
        keeps={"outcome": "kept on time, kept late or broken", "outcome_at": "when it settled"},
        why="a promise's owner, times and outcome, so promises kept still count",
    ),
    "leases": Rule(Action.NONE, keeps={"name": "the work's name"}, why="which worker holds which work"),
    "job_runs": Rule(Action.NONE, keeps={"details": "a job's counters, swept"}, why="once-only jobs"),
    "slack_users": Rule(Action.NONE, keeps={"name": "team members, not customers"}, why="the team's Slack profiles"),
}


class MissingRule(RuntimeError):
    """A table holds rows nobody said how to forget: refuse rather than leave a customer behind."""


def missing_rules() -> list[str]:
    return sorted(set(Base.metadata.tables) - set(RULES))


def uncovered_columns() -> list[str]:
    """``table.column`` names that look personal but that no rule mentions (deleted rows cover all)."""
    out = []
    for name, table in sorted(Base.metadata.tables.items()):
        rule = RULES.get(name)
        if rule is None or rule.action is Action.DELETE:
            continue
        for column in table.columns:
            if (
                PERSONAL_COLUMN.search(column.name)
                and column.name not in rule.replace
                and column.name not in rule.keeps
            ):
                out.append(f"{name}.{column.name}")
    return out


@dataclass
class TableReport:
    table: str
    action: str
    rows: int
    columns: list[str] = field(default_factory=list)

    def line(self) -> str:
        cols = f" ({', '.join(self.columns)})" if self.columns else ""
        return f"  {self.table}: {self.rows} row(s) {self.action}{cols}"


@dataclass
class ForgetReport:
    customer: Customer
    tables: list[TableReport]
    slack_messages: list[tuple[str, str]]
    """(channel, ts) of messages already in Slack that showed the customer's words: delete them there."""
    cards_refreshed: int = 0

    @property
    def found(self) -> bool:
        return bool(self.customer.author_ids or any(t.rows for t in self.tables))

    def lines(self, *, dry_run: bool) -> list[str]:
        c = self.customer
        verb = "would be" if dry_run else "were"
        head = (
            f"@{c.handle} on {c.source}: {len(c.author_ids)} account id(s), {len(c.complaint_ids)} complaint(s), "
            f"{len(c.promise_ids)} promise(s)"
        )
        out = [head, f"rows that {verb} changed, per table:"]
        out += [t.line() for t in self.tables if t.rows] or ["  none"]
        if self.slack_messages:
            out.append(
                f"{len(self.slack_messages)} message(s) already in Slack quoted them; the card is re-rendered, "
                "delete these in Slack (channel ts):"
            )
            out += [f"  {channel} {ts}" for channel, ts in self.slack_messages]
        return out


def identify(session: Session, source: str, handle: str) -> Customer:
    customer = Customer(source=source, handle=handle.strip().lstrip("@").lower())
    h = customer.handle
    for model in (Complaint, Post):
        customer.author_ids |= set(
            session.scalars(
                select(model.author_id).where(model.source == source, func.lower(model.author_handle) == h).distinct()
            )
        )
    ids = customer.author_ids
    if not ids:
        # Only raw records (never ingested, or set aside): their ids come from the records themselves.
        for row in session.execute(select(InboxItem).where(_inbox_candidates(customer))).scalars():
            if _inbox_is_theirs(row, customer) and isinstance(row.record, dict):
                customer.author_ids.add(str(row.record.get("author_id")))
                customer.texts.add(str(row.record.get("text") or ""))
                customer.post_ids.add(str(row.record.get("id")))
        customer.author_ids.discard("None")
        customer.texts.discard("")
        return customer
    for row in session.execute(
        select(
            Complaint.id, Complaint.external_id, Complaint.text, Complaint.author_name, Complaint.conversation_id
        ).where(Complaint.source == source, _in(Complaint.author_id, ids))
    ):
        customer.complaint_ids.add(row.id)
        customer.post_ids.add(row.external_id)
        customer.texts.add(row.text)
        if row.author_name:
            customer.names.add(row.author_name)
    for row in session.execute(
        select(Post.external_id, Post.text).where(Post.source == source, _in(Post.author_id, ids))
    ):
        customer.post_ids.add(row.external_id)
        customer.texts.add(row.text)
    customer.promise_ids = set(
        session.scalars(select(Promise.id).where(_in(Promise.complaint_id, customer.complaint_ids)))
    )
    for row in session.execute(select(InboxItem).where(_inbox_candidates(customer))).scalars():
        if _inbox_is_theirs(row, customer) and isinstance(row.record, dict) and row.record.get("text"):
            customer.texts.add(str(row.record["text"]))
    customer.texts = {t for t in customer.texts if t and t != FORGOTTEN}
    return customer


def _text_columns(table: Table) -> list[Any]:
    return [
        c
        for c in table.columns
        if not c.primary_key and isinstance(c.type, String | Text | JSON) and not c.foreign_keys
    ]


def _apply_rule(session: Session, name: str, rule: Rule, customer: Customer) -> TableReport:
    table = Base.metadata.tables[name]
    report = TableReport(name, rule.action.value, 0)
    if rule.action is Action.NONE or rule.rows is None:
        return report
    pk = list(table.primary_key.columns)
    rows = session.execute(select(table).where(rule.rows(customer))).mappings().all()
    if rule.match is not None:
        rows = [r for r in rows if rule.match(_Row(r), customer)]
    report.rows = len(rows)
    if not rows:
        return report
    if rule.action is Action.DELETE:
        for r in rows:
            session.execute(delete(table).where(*(c == r[c.name] for c in pk)))
        return report
    patterns = customer.patterns(own=True)
    exact = customer.author_ids | customer.post_ids
    touched: set[str] = set()
    for r in rows:
        values: dict[str, Any] = {}
        for column_name, replacement in rule.replace.items():
            new = replacement(r, customer)
            if new != r[column_name]:
                values[column_name] = new
        for column in _text_columns(table):
            if column.name not in rule.replace:
                new = scrub(r[column.name], patterns, exact)
                if new != r[column.name]:
                    values[column.name] = new
        if values:
            touched |= set(values)
            session.execute(update(table).where(*(c == r[c.name] for c in pk)).values(**values))
    report.columns = sorted(touched)
    return report


class _Row:
    """Attribute access over a result mapping, for ``Rule.match``."""

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._m = mapping

    def __getattr__(self, name: str) -> Any:
        return self._m[name]


def _sweep(session: Session, customer: Customer) -> list[TableReport]:
    """Every text and JSON column of every table: scrub what still names them or quotes them."""
    needles = customer.needles()
    patterns = customer.patterns(own=False)
    exact = {w for w in customer.author_ids | customer.post_ids if len(w) >= 6}
    reports = []
    if not needles:
        return reports
    for name, table in sorted(Base.metadata.tables.items()):
        pk = list(table.primary_key.columns)
        changed = 0
        touched: set[str] = set()
        for column in _text_columns(table):
            if column.name in RULES[name].unswept:
                continue
            text = func.lower(cast(column, Text)) if isinstance(column.type, JSON) else func.lower(column)
            found = session.execute(select(*pk, column).where(or_(*(text.like(f"%{n}%") for n in needles)))).all()
            for row in found:
                old = row[-1]
                new = scrub(old, patterns, exact)
                if new != old:
                    session.execute(
                        update(table)
                        .where(*(c == v for c, v in zip(pk, row[:-1], strict=True)))
                        .values({column.name: new})
                    )
                    changed += 1
                    touched.add(column.name)
        if changed:
            reports.append(TableReport(name, "scrubbed (named or quoted them)", changed, sorted(touched)))
    return reports


def forget(session: Session, source: str, handle: str, *, at: datetime) -> ForgetReport:
    """Forget one customer inside the caller's transaction (roll it back for a dry run)."""
    missing = missing_rules()
    if missing:
        raise MissingRule(f"no forget rule for table(s) {', '.join(missing)}: add one to bot/desk/forget.py RULES")
    customer = identify(session, source, handle)
    posted = session.execute(
        select(Delivery.remote_channel, Delivery.remote_id, Delivery.kind).where(
            RULES["deliveries"].rows(customer),  # type: ignore[misc]
            Delivery.remote_id.is_not(None),
            Delivery.kind.in_(
                [DeliveryKind.CUSTOMER_REPLY.value, DeliveryKind.KUDOS.value, DeliveryKind.ESCALATION.value]
            ),
        )
    ).all()
    # A pending line quoting one of their replies would look for a post that is about to go.
    session.execute(
        update(Delivery)
        .where(
            RULES["deliveries"].rows(customer),  # type: ignore[misc]
            Delivery.kind == DeliveryKind.CUSTOMER_REPLY.value,
            Delivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.CLOSED.value, last_error="the customer's data was forgotten")
    )
    tables = [_apply_rule(session, name, RULES[name], customer) for name in sorted(RULES)]
    tables += _sweep(session, customer)
    refreshed = 0
    if customer.complaint_ids:
        outbox.request_card_refreshes(session, dict.fromkeys(sorted(customer.complaint_ids), 50), at=at)
        refreshed = len(customer.complaint_ids)
    session.flush()
    return ForgetReport(
        customer, tables, sorted({(str(ch), str(ts)) for ch, ts, _k in posted if ch}), cards_refreshed=refreshed
    )
