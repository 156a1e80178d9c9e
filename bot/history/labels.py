"""Triage labels: each team decision on a post (claim, escalate, "not a complaint", "card it" …) stored
as what the post was, for the triage model to learn from.

Kept beside the events rather than with the learning code: the desk and the promises write a label
in the same transaction as the decision, and the model is trained far above them (in the worker).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.enums import Kind
from bot.store.models import LABEL_KINDS, Complaint, TriageLabel


def label_kind(kind: str | Kind, is_complaint: bool | None = None) -> tuple[str, bool]:
    value = str(kind).strip().lower().replace(" ", "_").replace("-", "_")
    if value not in LABEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LABEL_KINDS)} (got {kind!r})")
    complaint = value == Kind.COMPLAINT.value
    if is_complaint is not None and is_complaint != complaint:
        raise ValueError(f"kind {value!r} contradicts is_complaint={int(is_complaint)}")
    return value, complaint


def record_label(
    session: Session, text: str, kind: str | Kind, source: str, at: datetime, complaint_id: int | None = None
) -> TriageLabel:
    """Store one person's verdict on a post (``source``: the click or import it came from)."""
    if not text or not text.strip():
        raise ValueError("a label needs the post's text")
    value, complaint = label_kind(kind)
    label = TriageLabel(
        text=text, kind=value, is_complaint=complaint, source=source[:64], complaint_id=complaint_id, created_at=at
    )
    session.add(label)
    session.flush()
    return label


def card_kind(kind: str) -> Kind:
    """The label a card's buttons give: a question card stays a question, anything else on the board
    (a complaint, a needs-a-look card) was treated as a complaint."""
    return Kind.QUESTION if kind == Kind.QUESTION.value else Kind.COMPLAINT


def label_post(
    session: Session, complaint_id: int, kind: str | Kind | None, source: str, at: datetime
) -> TriageLabel | None:
    """Store what a person's decision on complaint ``complaint_id`` says it is; ``kind`` None: what its
    card says (``card_kind``). Nothing is stored for a post without text (there is nothing to learn)."""
    row = session.execute(select(Complaint.text, Complaint.kind).where(Complaint.id == complaint_id)).one_or_none()
    if row is None or not (row.text or "").strip():
        return None
    return record_label(session, row.text, kind if kind is not None else card_kind(row.kind), source, at, complaint_id)
