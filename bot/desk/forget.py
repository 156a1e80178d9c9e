"""Forgetting one customer, for data-protection requests (``followthrough data forget @handle --source S``).

Anonymise, not delete, what the team's numbers are made of: a complaint row stays with its status,
times, owner and priority, and a promise stays with its due time and outcome, so the daily reminder's
and the lead's reports (complaints handled, time to claim, promises kept on time) do not change
after the fact, and the team's audit trail (who claimed, who resolved, when) survives. Everything on
those rows that says who the customer is or what they wrote is replaced. Rows that exist only
because of the customer — their posts, their raw records in the inbox, triage labels made of their
words — are deleted.

Who "they" are is decided once, before anything changes (``identify``): the accounts stored under the
handle on that network (compared with Unicode case folding in Python, because SQLite's ``lower()``
folds ASCII only), their posts' ids and words, the notes the team wrote on their complaints, and the
phone numbers and e-mail addresses found in all of those. Their own rows lose all of it. Everyone
else's rows lose only what quotes them: ``@handle`` as a whole word (a handle that could be an
ordinary word, such as ``nobody``, is never matched bare), their full name, their ids, whole posts of
theirs, their phone numbers and addresses. Nobody found, nothing changed: a handle that matches no
account does not sweep anything.

Slack messages already posted are part of what is stored about them, so forgetting enqueues one
``FORGET_MESSAGE`` delivery per message that showed them (exactly once, through the outbox): their own
words in a thread or in #kudos are deleted (``chat.delete``); every other message (the escalation
notice, a nag, a daily reminder that listed them, a card of another customer who quoted them) is
re-rendered from the scrubbed state (``chat.update``), so the team keeps its record without them.

Table-driven: ``RULES`` names every table of the schema and says which of its rows are the
customer's and what happens to each column that could hold something of theirs. A table without a
rule makes ``forget`` refuse to run (and a test fail), and a test fails when a table has a column
named like personal data (author…, handle, text, note, payload …) that its rule does not mention, so
a table added later cannot be skipped silently. After the rules, a sweep looks through every text
and JSON column of every table for their handle, ids, name and words, and scrubs what it finds (a
daily reminder that listed them, a note on another card that named them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Table, Text, delete, false, or_, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.history import events
from bot.history.event_kinds import EventKind
from bot.outbox.kinds import SLACK, DeliveryKind
from bot.store.enums import DeliveryStatus
from bot.store.models import (
    AuditEvent,
    Base,
    CommitmentLabel,
    Complaint,
    Delivery,
    InboxItem,
    Incident,
    IncidentUpdate,
    Post,
    Promise,
    TriageLabel,
)

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


_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{6,22}\d(?![\w])")
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
PHONE_DIGITS = range(9, 16)
"""A phone number has 9 to 15 digits (E.164's most is 15); fewer is an order number or a time."""
_HANDLE_END = r"(?![\w-]|[.@]\w)"
"""After a handle: not more of a longer one (``@jo`` in ``@jo-smith``, ``@jo.bsky.social``, ``@jo@mastodon.social``)."""
_HANDLE_START = r"(?<![\w@./-])"


def fold(value: str) -> str:
    """How two spellings of a handle compare: Unicode case folding of the NFC form (``ÉmilieD``)."""
    return unicodedata.normalize("NFC", value).casefold()


def contacts_in(text: str) -> set[str]:
    """Phone numbers and e-mail addresses written in ``text``: what a team note copies from a post."""
    found = set()
    for match in _PHONE.finditer(text):
        value = match.group(0).strip()
        digits = re.sub(r"\D", "", value)
        if len(digits) in PHONE_DIGITS and not _DATE_LIKE.match(value):
            found.add(value)
    for match in _EMAIL.finditer(text):
        if not match.group(0).startswith("@"):
            found.add(match.group(0))
    return found


def _contact_pattern(contact: str) -> re.Pattern[str]:
    """A phone number however it is spaced (``+44 7700 900123``, ``+447700900123``, ``7700-900-123``
    after the same digits); an e-mail address as written, in any case."""
    if "@" in contact:
        return re.compile(rf"(?<![\w.+-]){re.escape(contact)}(?![\w-])", re.IGNORECASE)
    digits = re.sub(r"\D", "", contact)
    return re.compile(r"(?<![\w])\+?\(?" + r"[\s().-]{0,3}".join(digits) + r"(?![\w])")


def _could_be_a_word(handle: str) -> bool:
    """``nobody``, ``help``, ``jo``: a handle spelled like an ordinary word is matched only with its
    ``@`` in someone else's text."""
    return handle.isalpha()


@dataclass
class Customer:
    """Who is being forgotten, and everything that identifies them, gathered before anything changes."""

    source: str
    handle: str
    author_ids: set[str] = field(default_factory=set)
    handles: set[str] = field(default_factory=set)
    """Every spelling of the handle stored (``ÉmilieD``, ``émilied``), for their own rows."""
    names: set[str] = field(default_factory=set)
    complaint_ids: set[int] = field(default_factory=set)
    promise_ids: set[int] = field(default_factory=set)
    post_ids: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)
    """Their own words: posts, raw records."""
    notes: set[str] = field(default_factory=set)
    """What the team wrote about them: escalation and resolution notes, promises, replies to them."""
    contacts: set[str] = field(default_factory=set)
    """Phone numbers and e-mail addresses found in their words and in the team's notes about them."""
    _compiled: dict[bool, list[re.Pattern[str]]] = field(default_factory=dict, repr=False)

    @property
    def found(self) -> bool:
        return bool(self.author_ids)

    def patterns(self, *, own: bool) -> list[re.Pattern[str]]:
        """What to scrub from free text. On the customer's own rows: their handle with or without its
        ``@``, their names, ids, words, the team's notes about them and their contact details. On
        everyone else's rows only what quotes them: ``@handle`` (bare only when it cannot be an
        ordinary word), a full name of two words or more, ids long enough not to be a count, whole
        posts, phone numbers and e-mail addresses."""
        if own in self._compiled:
            return self._compiled[own]
        out: list[re.Pattern[str]] = []
        handles = sorted({self.handle, *self.handles}, key=len, reverse=True)
        for handle in handles:
            bare = own or not _could_be_a_word(fold(handle))
            at = "@?" if bare else "@"
            out.append(re.compile(rf"{_HANDLE_START}{at}{re.escape(handle)}{_HANDLE_END}", re.IGNORECASE))
        names = {n for n in self.names if own or len(n.split()) >= 2}
        ids = {w for w in self.author_ids | self.post_ids if len(w) >= (4 if own else 6)}
        out += [
            re.compile(rf"(?<![\w]){re.escape(w)}(?![\w])", re.IGNORECASE)
            for w in sorted(names | ids, key=len, reverse=True)
        ]
        out += [_contact_pattern(c) for c in sorted(self.contacts, key=len, reverse=True)]
        quoted = self.texts | self.notes if own else {t for t in self.texts if len(t) >= 12}
        out += [re.compile(re.escape(t), re.IGNORECASE) for t in sorted(quoted, key=len, reverse=True)]
        self._compiled[own] = out
        return out

    def folded_handles(self) -> frozenset[str]:
        return frozenset(fold(h) for h in {self.handle, *self.handles})

    def exact(self, *, own: bool) -> set[str]:
        """Values that are wholly an id of theirs (a JSON field holding just their post id)."""
        return {w for w in self.author_ids | self.post_ids if own or len(w) >= 6}


PERSON_KEY = re.compile(r"author|handle|customer|user|name|screen|account|who", re.IGNORECASE)
"""JSON keys whose value names a person: a value there that is wholly their handle is theirs, even
a handle spelled like a word (``"customer": "jo"`` in a daily reminder's lines)."""


def scrub(
    value: Any, patterns: list[re.Pattern[str]], exact: set[str] | None = None, handles: frozenset[str] = frozenset()
) -> Any:
    """``value`` with every match replaced, walking into JSON lists and objects."""
    if isinstance(value, str):
        if exact and value in exact:
            return FORGOTTEN
        for pattern in patterns:
            value = pattern.sub(FORGOTTEN, value)
        return value
    if isinstance(value, list):
        return [scrub(v, patterns, exact, handles) for v in value]
    if isinstance(value, dict):
        return {
            k: FORGOTTEN
            if handles and isinstance(v, str) and PERSON_KEY.search(k) and fold(v.strip().lstrip("@")) in handles
            else scrub(v, patterns, exact, handles)
            for k, v in value.items()
        }
    return value


Replacement = Callable[[Mapping[str, Any], Customer], Any]
"""Given the row (a mapping of its columns) and the customer, the column's value to store instead."""


def _const(value: Any) -> Replacement:
    return lambda _row, _c: value


def _if_set(column: str, value: Any) -> Replacement:
    return lambda row, _c: None if row[column] is None else value


def _scrubbed(column: str) -> Replacement:
    return lambda row, c: scrub(row[column], c.patterns(own=True), c.exact(own=True), c.folded_handles())


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
    """Every raw record: whose it is is decided in Python (``_inbox_is_theirs``), with Unicode case
    folding, which neither engine's ``lower()`` of a JSON text does the same way."""
    return InboxItem.id.is_not(None)


def _inbox_is_theirs(row: Any, c: Customer) -> bool:
    record = row.record if isinstance(row.record, dict) else {}
    if str(record.get("source") or c.source) != c.source:
        return False
    handle = fold(str(record.get("author_handle") or "").strip().lstrip("@"))
    return str(record.get("author_id")) in c.author_ids or handle == fold(c.handle)


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
    "api_usage": Rule(
        Action.NONE,
        unswept={"network": "a network's name", "item": "what was billed (post reads, replies)"},
        why="counts and costs of a network's paid API per month: no post, no person",
    ),
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
    "incidents": Rule(
        Action.ANONYMISE,
        rows=lambda c: Incident.id.in_(select(Complaint.incident_id).where(_in(Complaint.id, c.complaint_ids))),
        replace={"title": _scrubbed("title"), "profile": _scrubbed("profile"), "resolution": _scrubbed("resolution")},
        keeps={"resolved_by": "a team member", "owner_id": "a team member", "customers": "a count of customers"},
        why="an outage many customers posted about: its counts and times stay; their handle and words go",
    ),
    "incident_updates": Rule(
        Action.ANONYMISE,
        rows=lambda c: IncidentUpdate.incident_id.in_(
            select(Complaint.incident_id).where(_in(Complaint.id, c.complaint_ids))
        ),
        replace={"unreachable": _scrubbed("unreachable"), "template": _scrubbed("template")},
        keeps={"sent_by": "a team member", "customers": "a count of customers"},
        why="what the team told an incident's customers: the template stays; their handle goes from the lists",
    ),
    "incident_suggestions": Rule(
        Action.NONE,
        keeps={"decided_by": "a team member"},
        why="which card was offered to which incident, how near, and the team's answer: ids and a score, no words",
    ),
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


class SlackMode(StrEnum):
    DELETE = "delete"
    """Their own words (their reply in a card's thread, a kudos quoting them): nothing else in it."""
    EDIT = "edit"
    """Re-rendered from the scrubbed state: the team's record stays, without them."""


@dataclass(frozen=True)
class SlackMessage:
    channel: str
    ts: str
    kind: str
    mode: SlackMode


@dataclass
class ForgetReport:
    customer: Customer
    tables: list[TableReport]
    slack_messages: list[SlackMessage]
    """Messages already in Slack that showed them, each deleted or re-rendered by a delivery."""
    cards_refreshed: int = 0

    @property
    def found(self) -> bool:
        return self.customer.found

    def lines(self, *, dry_run: bool) -> list[str]:
        c = self.customer
        verb = "would be" if dry_run else "were"
        head = (
            f"@{c.handle} on {c.source}: {len(c.author_ids)} account id(s), {len(c.complaint_ids)} complaint(s), "
            f"{len(c.promise_ids)} promise(s)"
        )
        out = [head, f"rows that {verb} changed, per table:"]
        out += [t.line() for t in self.tables if t.rows] or ["  none"]
        deleted = [m for m in self.slack_messages if m.mode is SlackMode.DELETE]
        edited = [m for m in self.slack_messages if m.mode is SlackMode.EDIT]
        will = "would be" if dry_run else "will be"
        out.append(
            f"Slack: {self.cards_refreshed} card(s) {will} re-rendered without them; {len(deleted)} message(s) "
            f"{will} deleted and {len(edited)} edited by the running bot (channel ts kind):"
        )
        out += [f"  {m.mode.value} {m.channel} {m.ts} {m.kind}" for m in self.slack_messages] or ["  none"]
        return out


def identify(session: Session, source: str, handle: str) -> Customer:
    """Everything that says who they are, read before anything changes."""
    customer = Customer(source=source, handle=fold(handle.strip().lstrip("@")))
    wanted = customer.handle
    for model in (Complaint, Post):
        for author_id, stored in session.execute(
            select(model.author_id, model.author_handle).where(model.source == source).distinct()
        ):
            if fold(str(stored).lstrip("@")) == wanted:
                customer.author_ids.add(str(author_id))
                customer.handles.add(str(stored).lstrip("@"))
    raw = [row for row in session.scalars(select(InboxItem)) if isinstance(row.record, dict)]
    for row in raw:
        if _inbox_is_theirs(row, customer):
            record = row.record
            for value, into in (
                (record.get("author_id"), customer.author_ids),
                (record.get("text"), customer.texts),
                (record.get("id"), customer.post_ids),
                (str(record.get("author_handle") or "").strip().lstrip("@"), customer.handles),
                (record.get("author_name"), customer.names),
            ):
                if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                    into.add(str(value))
    ids = customer.author_ids
    if not ids:
        return customer
    for row in session.execute(
        select(
            Complaint.id,
            Complaint.external_id,
            Complaint.text,
            Complaint.author_name,
            Complaint.escalation_reason,
            Complaint.resolution_note,
        ).where(Complaint.source == source, _in(Complaint.author_id, ids))
    ):
        customer.complaint_ids.add(row.id)
        customer.post_ids.add(row.external_id)
        customer.texts.add(row.text)
        customer.notes |= {n for n in (row.escalation_reason, row.resolution_note) if n}
        if row.author_name:
            customer.names.add(row.author_name)
    for row in session.execute(
        select(Post.external_id, Post.text).where(Post.source == source, _in(Post.author_id, ids))
    ):
        customer.post_ids.add(row.external_id)
        customer.texts.add(row.text)
    for pid, text in session.execute(
        select(Promise.id, Promise.text).where(_in(Promise.complaint_id, customer.complaint_ids))
    ):
        customer.promise_ids.add(pid)
        customer.notes.add(text)
    customer.notes |= set(
        session.scalars(
            select(AuditEvent.note).where(
                _in(AuditEvent.complaint_id, customer.complaint_ids), AuditEvent.note.is_not(None)
            )
        )
    )
    for reply, found in session.execute(
        select(CommitmentLabel.reply_text, CommitmentLabel.text).where(
            _in(CommitmentLabel.complaint_id, customer.complaint_ids)
        )
    ):
        customer.notes |= {reply or "", found or ""}
    customer.texts = {t for t in customer.texts if t and t != FORGOTTEN}
    customer.notes = {n for n in customer.notes if n and n != FORGOTTEN and len(n) >= 4}
    for text in customer.texts | customer.notes:
        customer.contacts |= contacts_in(text)
    return customer


def _text_columns(table: Table) -> list[Any]:
    return [
        c
        for c in table.columns
        if not c.primary_key and isinstance(c.type, String | Text | JSON) and not c.foreign_keys
    ]


Changed = dict[str, set[tuple[Any, ...]]]
"""Table name → primary keys of the rows a forget changed."""


def _apply_rule(session: Session, name: str, rule: Rule, customer: Customer, changed: Changed) -> TableReport:
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
    exact = customer.exact(own=True)
    handles = customer.folded_handles()
    touched: set[str] = set()
    for r in rows:
        values: dict[str, Any] = {}
        for column_name, replacement in rule.replace.items():
            new = replacement(r, customer)
            if new != r[column_name]:
                values[column_name] = new
        for column in _text_columns(table):
            if column.name not in rule.replace:
                new = scrub(r[column.name], patterns, exact, handles)
                if new != r[column.name]:
                    values[column.name] = new
        if values:
            touched |= set(values)
            key = tuple(r[c.name] for c in pk)
            changed.setdefault(name, set()).add(key)
            session.execute(update(table).where(*(c == v for c, v in zip(pk, key, strict=True))).values(**values))
    report.columns = sorted(touched)
    return report


class _Row:
    """Attribute access over a result mapping, for ``Rule.match``."""

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._m = mapping

    def __getattr__(self, name: str) -> Any:
        return self._m[name]


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(f"{k} {_flat(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(_flat(v) for v in value)
    return str(value)


def _sweep(session: Session, customer: Customer, changed: Changed) -> list[TableReport]:
    """Every text and JSON column of every table, read in Python (so case folding is Unicode's on
    both engines): scrub what still names or quotes them, and only that."""
    patterns = customer.patterns(own=False)
    exact = customer.exact(own=False)
    handles = customer.folded_handles()
    if not patterns:
        return []
    anywhere = re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)
    loose = re.compile(  # the handle anywhere, bare: a JSON value may be wholly it (checked by scrub)
        "|".join(re.escape(h) for h in sorted({customer.handle, *customer.handles}, key=len, reverse=True)),
        re.IGNORECASE,
    )
    reports = []
    for name, table in sorted(Base.metadata.tables.items()):
        pk = list(table.primary_key.columns)
        rows = 0
        touched: set[str] = set()
        columns = [c for c in _text_columns(table) if c.name not in RULES[name].unswept]
        if not columns:
            continue
        result = session.execute(select(*pk, *columns).execution_options(yield_per=500))
        updates = []
        for row in result:
            key = tuple(row[: len(pk)])
            values = {}
            for column, old in zip(columns, row[len(pk) :], strict=True):
                if old is None:
                    continue
                flat = _flat(old)
                json_value = not isinstance(old, str)
                if not (
                    anywhere.search(flat)
                    or (exact and any(e in flat for e in exact))
                    or (json_value and loose.search(flat))
                ):
                    continue
                new = scrub(old, patterns, exact, handles)
                if new != old:
                    values[column.name] = new
            if values:
                updates.append((key, values))
        for key, values in updates:
            session.execute(update(table).where(*(c == v for c, v in zip(pk, key, strict=True))).values(**values))
            changed.setdefault(name, set()).add(key)
            rows += 1
            touched |= set(values)
        if rows:
            reports.append(TableReport(name, "scrubbed (named or quoted them)", rows, sorted(touched)))
    return reports


_NOT_EDITED = {
    DeliveryKind.CARD.value,  # cards are re-rendered by a card refresh
    DeliveryKind.CARD_UPDATE.value,
    DeliveryKind.REPORT.value,  # the lead's numbers and chart: no customer in them
    DeliveryKind.REPORT_CHART.value,
    DeliveryKind.REPLY.value,  # on the customer's network, not in Slack
    DeliveryKind.FORGET_MESSAGE.value,
}


def _posted(session: Session, where: ColumnElement[bool]) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery).where(
                where,
                Delivery.transport == SLACK,
                Delivery.remote_id.is_not(None),
                Delivery.remote_channel.is_not(None),
                Delivery.kind.not_in(sorted(_NOT_EDITED)),
            )
        )
    )


def _their_messages(session: Session, customer: Customer) -> dict[int, SlackMode]:
    """Messages on their own complaints, decided before their posts go: their words are deleted."""
    out: dict[int, SlackMode] = {}
    ids = customer.complaint_ids
    for row in _posted(session, or_(_in(Delivery.complaint_id, ids), _in(Delivery.card_of, ids))):
        payload = row.payload if isinstance(row.payload, dict) else {}
        own_words = row.kind == DeliveryKind.KUDOS.value or (
            row.kind == DeliveryKind.CUSTOMER_REPLY.value
            and str(payload.get("source")) == customer.source
            and str(payload.get("post_id")) in customer.post_ids
        )
        out[row.id] = SlackMode.DELETE if own_words else SlackMode.EDIT
    return out


def _quoting_messages(session: Session, changed: Changed) -> dict[int, SlackMode]:
    """Messages of other rows the forget changed (a card of someone who quoted them, a daily
    reminder that listed them): re-rendered from the scrubbed rows."""
    complaints = {key[0] for key in changed.get("complaints", set())}
    deliveries = {key[0] for key in changed.get("deliveries", set())}
    out = dict.fromkeys(
        (
            row.id
            for row in _posted(
                session,
                or_(
                    _in(Delivery.id, deliveries),
                    _in(Delivery.complaint_id, complaints),
                    _in(Delivery.card_of, complaints),
                ),
            )
        ),
        SlackMode.EDIT,
    )
    posts = {key[0] for key in changed.get("posts", set())}
    if posts:
        shown = {(s, e) for s, e in session.execute(select(Post.source, Post.external_id).where(_in(Post.id, posts)))}
        for row in _posted(session, Delivery.kind == DeliveryKind.CUSTOMER_REPLY.value):
            payload = row.payload if isinstance(row.payload, dict) else {}
            if (str(payload.get("source")), str(payload.get("post_id"))) in shown:
                out[row.id] = SlackMode.EDIT
    return out


def forget(session: Session, source: str, handle: str, *, at: datetime, actor: str = "data forget") -> ForgetReport:
    """Forget one customer inside the caller's transaction (roll it back for a dry run).

    Nobody found under that handle: nothing is changed at all (no sweep), so a mistyped or ordinary
    word (``@nobody``) cannot scrub other customers' words."""
    missing = missing_rules()
    if missing:
        raise MissingRule(f"no forget rule for table(s) {', '.join(missing)}: add one to bot/desk/forget.py RULES")
    customer = identify(session, source, handle)
    if not customer.found:
        return ForgetReport(customer, [], [])
    theirs = _their_messages(session, customer)
    # A pending line quoting one of their replies would look for a post that is about to go, and a
    # reply not sent yet would answer a post that is no longer theirs with a scrubbed text.
    session.execute(
        update(Delivery)
        .where(
            RULES["deliveries"].rows(customer),  # type: ignore[misc]
            Delivery.kind.in_([DeliveryKind.CUSTOMER_REPLY.value, DeliveryKind.REPLY.value]),
            Delivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.CLOSED.value, last_error="the customer's data was forgotten")
    )
    changed: Changed = {}
    tables = [_apply_rule(session, name, RULES[name], customer, changed) for name in sorted(RULES)]
    tables += _sweep(session, customer, changed)
    messages = {**_quoting_messages(session, changed), **theirs}
    cards = sorted(customer.complaint_ids | {key[0] for key in changed.get("complaints", set())})
    if cards:
        outbox.request_card_refreshes(session, dict.fromkeys(cards, 50), at=at)
    rows = {t.table: t.rows for t in tables if t.rows}
    event = events.record(
        session,
        EventKind.FORGOTTEN,
        actor=actor,
        at=at,
        details=events.Forgotten(source=source, rows=rows, slack_messages=len(messages), cards=len(cards)),
    )
    posted = []
    for delivery in session.scalars(select(Delivery).where(_in(Delivery.id, messages)).order_by(Delivery.id)):
        mode = messages[delivery.id]
        channel, ts = str(delivery.remote_channel), str(delivery.remote_id)
        outbox.enqueue(
            session,
            DeliveryKind.FORGET_MESSAGE,
            key=f"forget:{event.id}:{delivery.id}",
            channel=channel,
            at=at,
            payload={"delivery": delivery.id, "channel": channel, "ts": ts, "mode": mode.value},
        )
        posted.append(SlackMessage(channel, ts, delivery.kind, mode))
    session.flush()
    return ForgetReport(customer, tables, posted, cards_refreshed=len(cards))
