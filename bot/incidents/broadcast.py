"""Telling every customer of an incident: one template, one reply per customer, paced, exactly once.

``send`` (the Post update and Resolve incident forms) stores, in the form's transaction: the update
(template, sender, how many customers, who cannot be reached and why, when the last reply goes),
and one delivery row per customer keyed ``incident:<update>:<customer's complaint>`` — so a form
sent twice, a worker killed mid-send, or a retry after a lost answer never doubles a reply (the
network transports look before re-sending, as for any reply). Each row carries its own time from
``pacing.plan``: within the network's write limits, counting the replies already sent or planned.

Texts: ``{name}`` and ``{handle}`` are filled per customer, and on X no two texts may be the same
(X refuses a duplicate of the account's recent posts): a customer whose text would repeat one
already planned — or sent in the last day — gets one of a few phrasings, and a reference if even
those repeat. Who cannot be answered from here is listed in the incident's thread: a network
whose write keys are not set, an X post that does not mention the brand (X refuses API replies
to those), a customer forgotten since.

Resolve incident also resolves every member (as Resolve resolves folded copies: in one statement,
an event each), the anchor through the one resolve path (its promises are closed by it).
Progress is a line in the incident's thread at the start, every ``PROGRESS_EVERY`` replies and at
the end ("120 of 300 answered, the rest by 17:40"), written in the transaction that marks the
reply sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common import limits
from bot.common.errors import Conflict, DomainError, NotFound
from bot.desk import complaints, reach
from bot.desk.replies import DUPLICATE_WINDOW, REPLY_LANE
from bot.history import events
from bot.history.events import EventKind
from bot.incidents import pacing
from bot.incidents.detect import redraw_own_card, withdraw_offers
from bot.outbox.kinds import DeliveryKind
from bot.promises import lifecycle as promises
from bot.store.bulk import insert_rows
from bot.store.enums import OPEN_STATUSES, DeliveryStatus, PromiseStatus, Status
from bot.store.models import AuditEvent, Complaint, Delivery, Incident, IncidentUpdate, Promise

PROGRESS_EVERY = 50
LINE_PRIORITY = 100
PLACEHOLDERS = ("{name}", "{handle}")
FORGOTTEN = "forgotten"
REPLY_PRIORITY = 60
"""Below a reply a person wrote on one card (90): an agent's answer is not held up by a batch."""
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
VARIANTS = (
    "{text}",
    "Hi {name}, {text}",
    "{text} Thanks for bearing with us.",
    "Hello {name}: {text}",
    "Update: {text}",
    "{text} Thanks for your patience.",
)
"""Phrasings tried in turn when a customer's text would repeat one already planned on X. Those
that greet by name are skipped when the template names the customer itself ("Sam, fixed now"
must not become "Hi Sam, Sam, fixed now")."""


@dataclass(frozen=True)
class Customer:
    complaint_id: int
    source: str
    author_id: str
    handle: str
    name: str
    post_id: str
    post_text: str


@dataclass(frozen=True)
class Planned:
    customer: Customer
    text: str
    at: datetime


@dataclass(frozen=True)
class Preview:
    """What the confirm step shows: three rendered examples, how many will be answered and by when,
    and who cannot be."""

    examples: list[tuple[str, str]]
    """(customer's handle, the text they would get)."""
    reachable: int
    unreachable: list[dict[str, str]]
    finish_by: dict[str, datetime]
    after: int = 0
    """The incident's last update when the preview was made: Send refuses if another went since."""
    """Per network, when the last reply would go."""


def check_template(template: str) -> str:
    template = limits.within(template.strip(), limits.INCIDENT_UPDATE, "The update")
    if len(template) < 3:
        raise DomainError("Write the update the customers will get, e.g. “{name}, logins work again — sorry!”")
    unknown = [p for p in _PLACEHOLDER.findall(template) if p not in PLACEHOLDERS]
    if unknown:
        raise DomainError(f"Unknown placeholder {unknown[0]}: use {{name}} or {{handle}}.")
    return template


def customers(session: Session, incident_id: int, brand_handles: dict[str, str] | None = None) -> list[Customer]:
    """Each customer of the incident once, answered on their latest post in it that the network
    takes a reply to: on X, a customer's follow-up without the brand's @mention cannot be answered
    through the API, their first post with it can (``brand_handles`` says whose mention counts)."""
    rows = session.execute(
        select(
            Complaint.id,
            Complaint.source,
            Complaint.author_id,
            Complaint.author_handle,
            Complaint.author_name,
            Complaint.external_id,
            Complaint.text,
        )
        .where(Complaint.incident_id == incident_id)
        .order_by(Complaint.posted_at, Complaint.id)
    ).all()
    latest: dict[tuple[str, str], Customer] = {}
    for r in rows:
        name = first_name(r.author_name)
        customer = Customer(r.id, r.source, r.author_id, r.author_handle, name, r.external_id, r.text)
        before = latest.get((r.source, r.author_id))
        # A later post replaces an earlier one, unless only the earlier one can be answered.
        if before is None or _answerable_post(customer, brand_handles) or not _answerable_post(before, brand_handles):
            latest[(r.source, r.author_id)] = customer
    return sorted(latest.values(), key=lambda c: c.complaint_id)


def _answerable_post(c: Customer, brand_handles: dict[str, str] | None) -> bool:
    handle = (brand_handles or {}).get(c.source)
    return not reach.reply_warning(c.source, c.post_text, frozenset({handle.lower()}) if handle else frozenset())


_NAME = re.compile(r"[^\W\d_][^\W\d_'\-]*(?:['\-][^\W\d_]+)*")
NAME_FALLBACK = "there"
"""What {name} becomes when the display name has no plain first name ("Hi there, …")."""


def first_name(display_name: str | None) -> str:
    """The first word of a display name, if it is a plain name (letters, an apostrophe or hyphen
    inside): the brand's public reply must never carry a customer's "@elonmusk", "#ad" or link
    chosen as a display name to mention, tag or advertise through the brand's account."""
    words = (display_name or "").split()
    if words and (match := _NAME.fullmatch(words[0])) and len(match.group()) <= 30:
        return match.group()
    return NAME_FALLBACK


def render(template: str, customer: Customer) -> str:
    return template.replace("{name}", customer.name).replace("{handle}", f"@{customer.handle}")


def _sorted_out(
    people: list[Customer], answerable: frozenset[str], brand_handles: dict[str, str]
) -> tuple[list[Customer], list[dict[str, str]]]:
    reachable, unreachable = [], []
    for c in people:
        why = None
        if c.author_id == FORGOTTEN or c.handle == FORGOTTEN:
            why = "forgotten at their request"
        elif not reach.answers(c.source) or c.source not in answerable:
            why = f"no reply keys for {reach.label(c.source)}: answer there"
        else:
            handle = brand_handles.get(c.source)
            warning = reach.reply_warning(c.source, c.post_text, frozenset({handle.lower()}) if handle else frozenset())
            if warning:
                why = "their post does not mention the brand, so X refuses an API reply: answer on X"
        if why:
            unreachable.append({"handle": c.handle, "source": c.source, "why": why, "post": c.post_id})
        else:
            reachable.append(c)
    return reachable, unreachable


def _recent_texts(session: Session, source: str, at: datetime) -> set[str]:
    rows = session.execute(
        select(Delivery.payload).where(
            Delivery.kind == DeliveryKind.REPLY.value,
            Delivery.transport == source,
            Delivery.created_at >= at - DUPLICATE_WINDOW,
        )
    ).scalars()
    return {_norm(str((p or {}).get("text") or "")) for p in rows}


_LEADING_MENTIONS = re.compile(r"^(?:\s*@[\w.\-]+)+\s*")
_URL = re.compile(r"https?://\S+")


def _norm(text: str) -> str:
    """How X compares two posts for its duplicate rule: without the @mentions in front (a template
    starting with {handle} is the same words to X for every customer) and links (shortened anew)."""
    return " ".join(_URL.sub("", _LEADING_MENTIONS.sub("", text)).split()).casefold()


def _earlier_times(session: Session, source: str, at: datetime) -> list[datetime]:
    """Replies on ``source`` sent, or planned, in the longest window before and after ``at``."""
    longest = max(w.period for w in pacing.limits_of(source))
    rows = session.execute(
        select(Delivery.status, Delivery.sent_at, Delivery.available_at, Delivery.created_at).where(
            Delivery.kind == DeliveryKind.REPLY.value,
            Delivery.transport == source,
            Delivery.created_at >= at - longest - timedelta(days=1),
            Delivery.status.in_([DeliveryStatus.SENT.value, DeliveryStatus.PENDING.value]),
        )
    ).all()
    out = []
    for status, sent_at, available_at, _created in rows:
        when = sent_at if status == DeliveryStatus.SENT.value else max(available_at, at)
        if when is not None and when > at - longest:
            out.append(when)
    return out


def plan(
    session: Session,
    incident_id: int,
    template: str,
    *,
    at: datetime,
    answerable: frozenset[str],
    brand_handles: dict[str, str],
) -> tuple[list[Planned], list[dict[str, str]]]:
    """Each reachable customer's text and time, and who cannot be reached and why."""
    reachable, unreachable = _sorted_out(customers(session, incident_id, brand_handles), answerable, brand_handles)
    out: list[Planned] = []
    by_source: dict[str, list[Customer]] = {}
    for c in reachable:
        by_source.setdefault(c.source, []).append(c)
    for source, people in sorted(by_source.items()):
        times = pacing.plan(source, len(people), now=at, earlier=_earlier_times(session, source, at))
        used = _recent_texts(session, source, at) if source == "x" else set()
        for customer, when in zip(people, times, strict=True):
            text = render(template, customer)
            if source == "x":
                text = _distinct(text, customer, used, named="{name}" in template)
            try:
                reach.check_reply(text, source)
            except DomainError as exc:
                raise DomainError(
                    f"For {customer.handle} on {reach.label(source)} the update is too long: {exc}"
                ) from None
            out.append(Planned(customer, text, when))
    return out, unreachable


def _distinct(text: str, customer: Customer, used: set[str], *, named: bool = False) -> str:
    """A text not yet used on X: the template's, then each phrasing, then with a reference."""
    for variant in VARIANTS:
        if named and "{name}" in variant:
            continue
        candidate = variant.format(text=text, name=customer.name)
        if _norm(candidate) not in used:
            used.add(_norm(candidate))
            return candidate
    candidate = f"{text} (ref {customer.complaint_id})"
    used.add(_norm(candidate))
    return candidate


def preview(
    session: Session,
    incident_id: int,
    template: str,
    *,
    at: datetime,
    answerable: frozenset[str],
    brand_handles: dict[str, str],
) -> Preview:
    template = check_template(template)
    planned, unreachable = plan(
        session, incident_id, template, at=at, answerable=answerable, brand_handles=brand_handles
    )
    finish: dict[str, datetime] = {}
    for p in planned:
        finish[p.customer.source] = max(finish.get(p.customer.source, p.at), p.at)
    # Three examples: different customers, networks first, so the form shows what each network gets.
    examples: list[Planned] = []
    for p in planned:
        if len(examples) < 3 and all(e.customer.source != p.customer.source for e in examples):
            examples.append(p)
    for p in planned:
        if len(examples) < 3 and p not in examples:
            examples.append(p)
    last = session.scalar(select(func.max(IncidentUpdate.id)).where(IncidentUpdate.incident_id == incident_id))
    return Preview([(p.customer.handle, p.text) for p in examples], len(planned), unreachable, finish, int(last or 0))


class SentMeanwhile(Conflict):
    """A colleague's update went out between this one's preview and its Send."""

    def __init__(self, message: str, *, by: str) -> None:
        super().__init__(message)
        self.by = by


def _local(at: datetime, tz: str) -> str:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%H:%M")


def send(
    session: Session,
    incident_id: int,
    template: str,
    *,
    kind: str,
    user_id: str,
    key: str,
    tz: str,
    at: datetime,
    answerable: frozenset[str],
    brand_handles: dict[str, str],
    after: int | None = None,
) -> IncidentUpdate:
    """Store the update and one reply per reachable customer (see the module's docstring).
    ``kind``: ``update`` or ``resolve``. The same ``key`` (the form's) again returns the first.
    ``after``: the last update the sender's preview knew of; one sent since (a colleague's, while
    this one was being written) refuses this one — every customer would get two replies."""
    incident = session.execute(select(Incident).where(Incident.id == incident_id).with_for_update()).scalar()
    if incident is None:
        raise NotFound(f"There is no incident #{incident_id}.")
    # After the lock: the same form sent twice at once waits here, then finds the first one's update.
    existing = session.scalar(select(IncidentUpdate).where(IncidentUpdate.key == key))
    if existing is not None:
        return existing
    if incident.status != "open":
        raise Conflict(f"Incident #{incident_id} is resolved already.")
    if after is not None:
        since = session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id, IncidentUpdate.id > after)
            .order_by(IncidentUpdate.id)
            .limit(1)
        ).first()
        if since is not None:
            raise SentMeanwhile(
                f"Another update went to these customers at {_local(since.created_at, tz)} while you were "
                "writing this one, so nothing was sent: each would have had two replies. Read it in the "
                "incident's thread, then use Post update again if they need another.",
                by=since.sent_by,
            )
    template = check_template(template)
    planned, unreachable = plan(
        session, incident_id, template, at=at, answerable=answerable, brand_handles=brand_handles
    )
    finish = max((p.at for p in planned), default=None)
    row = IncidentUpdate(
        incident_id=incident_id,
        key=key,
        kind=kind,
        template=template,
        sent_by=user_id,
        customers=len(planned),
        unreachable=unreachable,
        finish_by=finish,
        created_at=at,
    )
    session.add(row)
    session.flush()
    insert_rows(
        session,
        Delivery.__table__,
        [
            outbox.row(
                DeliveryKind.REPLY,
                transport=p.customer.source,
                key=f"incident:{row.id}:{p.customer.complaint_id}",
                at=p.at,
                lane=REPLY_LANE.format(source=p.customer.source),
                complaint_id=p.customer.complaint_id,
                card_of=incident.anchor_id,
                payload={
                    "text": p.text,
                    "sender": user_id,
                    "tz": tz,
                    "source": p.customer.source,
                    "in_reply_to": p.customer.post_id,
                    "customer": p.customer.handle,
                    "closing": kind == "resolve",
                    "incident": incident_id,
                    "update": row.id,
                },
                priority=REPLY_PRIORITY,
            )
            | {"incident_update": row.id}
            for p in planned
        ],
    )
    events.record(
        session,
        EventKind.INCIDENT_RESOLVED if kind == "resolve" else EventKind.INCIDENT_UPDATE,
        actor=user_id,
        at=at,
        complaint_id=incident.anchor_id,
        note=template[:500],
        details=events.IncidentEvent(incident_id, incident.customers, incident.posts, row.id),
    )
    progress_line(session, incident, row, sent=0, failed=0, at=at, key=f"incident-start:{row.id}")
    if kind == "resolve":
        _resolve_members(session, incident, user_id=user_id, note=template, at=at)
    incident.owner_id = incident.owner_id or _anchor_owner(session, incident)
    incident.updated_at = at
    outbox.request_card_refresh(session, incident.anchor_id, at=at, priority=LINE_PRIORITY)
    return row


def _anchor_owner(session: Session, incident: Incident) -> str | None:
    return session.scalar(select(Complaint.owner_id).where(Complaint.id == incident.anchor_id))


def _resolve_members(session: Session, incident: Incident, *, user_id: str, note: str, at: datetime) -> None:
    """Every member resolved with the incident; the anchor through the one resolve path (its
    promises — the incident's — are closed as kept: the update that resolves it is the follow-up);
    promises made on members' own cards closed likewise, and those cards re-drawn resolved."""
    anchor = session.get(Complaint, incident.anchor_id)
    if anchor is not None and anchor.status in [s.value for s in OPEN_STATUSES]:
        complaints.resolve(
            session,
            anchor.id,
            user_id=user_id,
            note=f"Incident #{incident.id} resolved: {note}"[: limits.RESOLUTION_NOTE],
            customer_confirmed=False,
            at=at,
            open_promises=PromiseStatus.KEPT.value,
        )
    members = session.execute(
        select(Complaint.id, Complaint.status, Complaint.slack_ts, Complaint.slack_channel).where(
            Complaint.incident_id == incident.id,
            Complaint.id != incident.anchor_id,
            Complaint.status.in_([s.value for s in OPEN_STATUSES]),
        )
    ).all()
    owed = (
        session.scalars(
            select(Promise.complaint_id)
            .where(Promise.complaint_id.in_([m.id for m in members]), Promise.status == PromiseStatus.OPEN.value)
            .distinct()
        ).all()
        if members
        else []
    )
    for complaint_id in owed:
        # A promise someone made on a member's own card (before the incident was found) is kept by
        # the resolution every customer gets — closed through the one path, its reminders dropped.
        promises.close_open_on(
            session,
            complaint_id,
            status=PromiseStatus.KEPT,
            user_id=user_id,
            at=at,
            why=f"incident #{incident.id} resolved",
        )
    for member in members:
        if member.slack_ts:
            # Its own card, posted before the incident was found, shows it resolved too.
            redraw_own_card(session, member.id, member.slack_channel, key=f"incident-resolved:{member.id}", at=at)
    ids = [m.id for m in members]
    for start in range(0, len(ids), 500):
        session.execute(
            update(Complaint)
            .where(Complaint.id.in_(ids[start : start + 500]), Complaint.status.in_([s.value for s in OPEN_STATUSES]))
            .values(
                status=Status.RESOLVED.value,
                resolved_by=user_id,
                resolved_at=at,
                resolution_note=f"resolved with incident #{incident.id}",
                updated_at=at,
            )
            .execution_options(synchronize_session=False)
        )
    insert_rows(
        session,
        AuditEvent.__table__,
        [
            events.row(
                EventKind.RESOLVED,
                actor=events.SYSTEM,
                at=at,
                complaint_id=m.id,
                from_status=m.status,
                to_status=Status.RESOLVED.value,
                details=events.Resolved(with_card=incident.anchor_id),
            )
            for m in members
        ],
    )
    incident.status = "resolved"
    withdraw_offers(session, incident.id, at=at)
    incident.resolved_at = at
    incident.resolved_by = user_id
    incident.resolution = note


# -- progress, in the transaction that marks each reply sent ------------------------------------------


def progress_line(
    session: Session,
    incident: Incident,
    update_row: IncidentUpdate,
    *,
    sent: int,
    failed: int,
    at: datetime,
    key: str,
    done: int | None = None,
) -> None:
    # The card's progress line follows the thread's (at the start, every PROGRESS_EVERY, the end).
    outbox.request_card_refresh(session, incident.anchor_id, at=at, priority=LINE_PRIORITY)
    outbox.enqueue_on_card(
        session,
        DeliveryKind.INCIDENT_LINE,
        complaint_id=incident.anchor_id,
        key=key,
        at=at,
        payload={
            "incident": incident.id,
            "update": update_row.id,
            "kind": update_row.kind,
            "sender": update_row.sent_by,
            "sent": sent,
            "failed": failed,
            "done": done,
            "total": update_row.customers,
            "finish_by": update_row.finish_by.isoformat() if update_row.finish_by else None,
            "unreachable": update_row.unreachable[:50] if key.startswith("incident-start") else [],
            "unreachable_count": len(update_row.unreachable),
            "failed_handles": _failed_handles(session, update_row.id)
            if failed and done is not None and done >= update_row.customers
            else [],
        },
        priority=LINE_PRIORITY,
    )


def _failed_handles(session: Session, update_id: int) -> list[dict[str, str]]:
    rows = session.execute(
        select(Delivery.payload, Delivery.last_error).where(
            Delivery.incident_update == update_id,
            Delivery.status.in_([DeliveryStatus.DEAD.value, DeliveryStatus.SET_ASIDE.value]),
        )
    ).all()
    return [{"handle": str((p or {}).get("customer") or ""), "why": (e or "")[:120]} for p, e in rows[:50]]


def after_reply(session: Session, row: Delivery, *, at: datetime) -> None:
    """One incident reply sent or failed for good: count, and say so in the thread at milestones.

    The update's row is locked first: two workers finishing its last two replies at once (X's and
    Bluesky's lanes) would each count the other's as still pending, and neither would say it is
    done. Rows withdrawn meanwhile (a customer forgotten, the card gone) count as done too."""
    update_id = (row.payload or {}).get("update")
    if update_id is None:
        return
    update_row = session.execute(
        select(IncidentUpdate).where(IncidentUpdate.id == int(update_id)).with_for_update()
    ).scalar()
    if update_row is None:
        return
    incident = session.get(Incident, update_row.incident_id)
    if incident is None:
        return
    counts = dict(
        session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.incident_update == update_row.id)
            .group_by(Delivery.status)
        ).all()
    )
    sent = int(counts.get(DeliveryStatus.SENT.value, 0))
    failed = int(counts.get(DeliveryStatus.DEAD.value, 0)) + int(counts.get(DeliveryStatus.SET_ASIDE.value, 0))
    done = update_row.customers - int(counts.get(DeliveryStatus.PENDING.value, 0))
    if sent and incident.first_update_at is None:
        incident.first_update_at = at
    if done >= update_row.customers:
        key = f"incident-done:{update_row.id}"
        progress_line(session, incident, update_row, sent=sent, failed=failed, done=done, at=at, key=key)
    else:
        mark = done // PROGRESS_EVERY * PROGRESS_EVERY
        if mark:
            progress_line(
                session,
                incident,
                update_row,
                sent=sent,
                failed=failed,
                done=done,
                at=at,
                key=f"incident-progress:{update_row.id}:{mark}",
            )
