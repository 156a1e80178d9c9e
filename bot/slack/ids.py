"""Every action, view and block id the bot uses, defined once: builders and handlers share them."""

from __future__ import annotations

from enum import StrEnum

from bot.common.errors import DomainError


class Action(StrEnum):
    CLAIM = "ft_claim"
    UNCLAIM = "ft_unclaim"
    HAND_OVER = "ft_hand_over"
    ESCALATE = "ft_escalate"
    RESOLVE = "ft_resolve"
    DISMISS = "ft_dismiss"
    REOPEN = "ft_reopen"
    PROMISE = "ft_promise"
    PROMISE_KEPT = "ft_promise_kept"
    PROMISE_RESCHEDULE = "ft_promise_reschedule"
    PROMISE_CANCEL = "ft_promise_cancel"
    CARD_IT = "ft_card_it"
    PRAISE_IT = "ft_praise_it"
    PROMISE_PICK = "ft_promise_pick"
    PROMISE_PICK_OTHER = "ft_promise_pick_2"
    PROMISE_PICK_THIRD = "ft_promise_pick_3"
    PROMISE_PICK_CANCEL = "ft_promise_pick_cancel"
    REPLY = "ft_reply"
    OPEN_POST = "ft_open_post"
    """The card's link to the post when replying from the card is not set up (a URL button)."""
    COMMIT_TRACK = "ft_commit_track"
    COMMIT_CHANGE = "ft_commit_change"
    COMMIT_NOT_PROMISE = "ft_commit_not_promise"
    INCIDENT_UPDATE = "ft_incident_update"
    INCIDENT_RESOLVE = "ft_incident_resolve"
    INCIDENT_RELEASE = "ft_incident_release"
    INCIDENT_SUGGEST_ADD = "ft_incident_suggest_add"
    INCIDENT_SUGGEST_DISMISS = "ft_incident_suggest_dismiss"


class View(StrEnum):
    ESCALATE = "ft_escalate_modal"
    RESOLVE = "ft_resolve_modal"
    PROMISE = "ft_promise_modal"
    RESCHEDULE = "ft_reschedule_modal"
    REPLY = "ft_reply_modal"
    COMMIT_CHANGE = "ft_commit_change_modal"
    INCIDENT_UPDATE = "ft_incident_update_modal"
    INCIDENT_RESOLVE = "ft_incident_resolve_modal"
    INCIDENT_CONFIRM = "ft_incident_confirm_modal"


class Field(StrEnum):
    """Block and action ids of modal inputs (block_id == action_id for simplicity)."""

    TIER = "ft_tier"
    REPLY_TEXT = "ft_reply_text"
    COMMIT_WHEN = "ft_commit_when"
    CLOSING_REPLY = "ft_closing_reply"
    SEND_ANYWAY = "ft_send_anyway"
    REASON = "ft_reason"
    NOTE = "ft_note"
    CONFIRMED = "ft_confirmed"
    CLOSE_PROMISES = "ft_close_promises"
    WHAT = "ft_what"
    WHEN = "ft_when"
    WHEN_PICKED = "ft_when_picked"
    OWNER = "ft_owner"
    INCIDENT_TEMPLATE = "ft_incident_template"


METADATA_EVENT = "followthrough_message"
"""Message metadata event type: every message we post carries our outbox id, so a post whose
response was lost can be found in the channel instead of being posted twice."""


class BadReference(DomainError, ValueError):
    """A button value or form metadata that names no complaint or promise: only a forged request or a
    message from another app sends one, but the person still gets a private answer, not an error."""


def parse_ref(value: str | None) -> int:
    """A complaint reference from a button value or private_metadata: '42' or '#42'."""
    if not isinstance(value, str) or not value.strip():
        raise BadReference("That button or form does not say which complaint it is for; use the card's own buttons.")
    text = value.strip().lstrip("#")
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise BadReference("That button or form does not name a complaint Followthrough knows; use the card's buttons.")
    return int(text)
