"""What runs around every Slack handler: the request log, the team check, and the one error policy.

- ``record_requests`` (global middleware) stores every request a person makes — who, when, what —
  before any handler runs, keyed by its trigger or event id, so a request Slack (or a double click)
  delivers twice is recognised and acted on once.
- ``team_only`` (listener middleware) lets only the support team act on cards and commands; anyone
  else gets a private refusal, and the refusal is audited.
- ``error_policy`` (``@app.error``) turns a typed refusal (``DomainError``) into a friendly private
  answer and anything unexpected into a logged traceback with a short reference the person can
  quote. Both are audited, under the same request names the log uses (``request_name``).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.common.errors import Conflict, DomainError
from bot.history import events
from bot.history import requests as request_log
from bot.history.events import EventKind
from bot.slack.deps import Requests
from bot.store.engine import transaction, unavailable
from bot.store.models import Complaint

log = logging.getLogger(__name__)

READ_ONLY = {("command", "/complaints"), ("event", "app_home_opened")}
"""Requests that only read: they are answered even when the request log cannot be written."""
_REF = re.compile(r"^\s*#?(\d{1,12})\b")
# Answers sent to a response_url after the ack go through here, so no ack waits on them.
_AFTER_ACK = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-reply")


@dataclass(frozen=True)
class RequestInfo:
    surface: str
    """action, view, command or event."""
    name: str
    """The request's name in the log and the audit: ``claim``, ``resolve``, ``/promise`` …"""
    user: str
    key: str | None
    ref: str | None
    """The complaint (or promise) number the request names, when it names one."""


def request_name(body: dict[str, Any]) -> RequestInfo:
    if body.get("command"):
        text = str(body.get("text") or "")
        match = _REF.match(text)
        return RequestInfo(
            "command",
            str(body["command"])[:64],
            str(body.get("user_id") or "?"),
            _key(body.get("trigger_id")),
            match.group(1) if match else None,
        )
    user = str((body.get("user") or {}).get("id") or "?") if isinstance(body.get("user"), dict) else "?"
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        action = action if isinstance(action, dict) else {}
        name = str(action.get("action_id") or "action").removeprefix("ft_")[:64]
        value = action.get("value")
        match = _REF.match(value) if isinstance(value, str) else None
        return RequestInfo("action", name, user, _key(body.get("trigger_id")), match.group(1) if match else None)
    if body.get("type") in ("view_submission", "view_closed"):
        view = body.get("view") if isinstance(body.get("view"), dict) else {}
        name = str(view.get("callback_id") or "view").removeprefix("ft_").removesuffix("_modal")[:64]
        metadata = view.get("private_metadata")
        match = _REF.match(metadata) if isinstance(metadata, str) else None
        return RequestInfo("view", name, user, _key(body.get("trigger_id")), match.group(1) if match else None)
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    return RequestInfo(
        "event",
        str(event.get("type") or body.get("type") or "request")[:64],
        str(event.get("user") or user),
        _key(body.get("event_id")),
        None,
    )


def _key(value: Any) -> str | None:
    return str(value)[:128] if isinstance(value, str) and value else None


def refuse(deps: Requests, info: RequestInfo, reason: str) -> None:
    """Audit a request that changed nothing, naming it as the request log does."""
    with transaction(deps.sessions) as session:
        complaint = int(info.ref) if info.ref else None
        if complaint is not None and session.get(Complaint, complaint) is None:
            complaint = None
        events.record(
            session,
            EventKind.REFUSED,
            actor=info.user,
            at=deps.clock.now(),
            complaint_id=complaint,
            note=reason[:500],
            details=events.Refused(action=info.name, reason=reason[:300]),
        )


def answer(body: dict[str, Any], respond: Callable[..., Any], text: str) -> BoltResponse:
    """The private answer to a request, in the shape its surface needs, as the ack itself."""
    if body.get("command"):
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    if body.get("type") == "view_submission":
        return BoltResponse(status=200, body={"response_action": "errors", "errors": {_first_input(body): text[:150]}})
    later(body, respond, text)
    return BoltResponse(status=200, body="")


def later(body: dict[str, Any], respond: Callable[..., Any], text: str) -> None:
    """Tell the person privately, after the ack (a response_url answer needs no 3-second race)."""
    if not body.get("response_url"):
        return

    def send() -> None:
        try:
            respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("could not send a private answer")

    _AFTER_ACK.submit(send)


def _first_input(body: dict[str, Any]) -> str:
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    values = (view.get("state") or {}).get("values") or {}
    return next(iter(values), "ft_error") if isinstance(values, dict) else "ft_error"


def record_requests(deps: Requests) -> Callable[..., Any]:
    """Store each request before it is handled; a repeated trigger or event id is acked and dropped."""

    def middleware(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        if not isinstance(body, dict) or body.get("type") == "url_verification":
            next()
            return None
        info = request_name(body)
        try:
            with transaction(deps.sessions) as session:
                added = request_log.record(
                    session,
                    key=info.key,
                    user=info.user,
                    surface=info.surface,
                    name=info.name,
                    ref=info.ref,
                    at=deps.clock.now(),
                )
        except SQLAlchemyError as exc:
            if (info.surface, info.name) not in READ_ONLY or not unavailable(exc):
                raise
            # Looking needs no write: the status and App Home still answer while the database
            # cannot take writes (they read what it has).
            log.warning("could not record %s %s (database unavailable); answering anyway", info.surface, info.name)
            next()
            return None
        if not added:
            log.info(
                "%s %s from %s delivered again (%s): already handled", info.surface, info.name, info.user, info.key
            )
            return BoltResponse(status=200, body="")
        next()
        return None

    return middleware


def team_only(deps: Requests, what: str = "act on complaint cards") -> Callable[..., Any]:
    """Listener middleware: only the support team gets past; others are refused privately."""

    def middleware(body: dict[str, Any], respond: Callable[..., Any], next: Callable[[], None]) -> BoltResponse | None:
        info = request_name(body)
        # A click says which organisation the person acts from (``user.team_id``): a Slack Connect
        # partner's is not ours, even if the team list were out of date.
        user = body.get("user")
        team = user.get("team_id") if isinstance(user, dict) else None
        if deps.access.allowed(info.user, team if isinstance(team, str) else None):
            next()
            return None
        text = deps.access.refusal(what)
        refuse(deps, info, "not in the support team" if text.startswith(":lock: Only") else "team list unavailable")
        return answer(body, respond, text)

    return middleware


def forget(deps: Requests, info: RequestInfo) -> None:
    """A request that failed on our side was not acted on: drop it from the request log, so that
    Slack's redelivery (or the person's retry of the same event) is handled, not ignored."""
    if info.key is None:
        return
    try:
        with transaction(deps.sessions) as session:
            request_log.forget(session, info.key)
    except Exception:
        log.warning("could not clear a failed request from the request log (%s)", info.key)


def _conflict_text(error: Conflict) -> str:
    if not error.owner_id:
        return str(error)
    return f"{str(error).rstrip('.')} by <@{error.owner_id}>."


def error_policy(deps: Requests) -> Callable[..., BoltResponse | None]:
    """The one error handler (``@app.error``) for every listener and middleware."""

    def on_error(
        error: Exception, body: dict[str, Any], context: Any, respond: Callable[..., Any]
    ) -> BoltResponse | None:
        info = request_name(body if isinstance(body, dict) else {})
        if isinstance(error, SQLAlchemyError) and unavailable(error):
            log.error("database unavailable during %s %s: %s", info.surface, info.name, type(error).__name__)
            text = (
                ":warning: That was *not saved*: Followthrough's database did not answer. "
                "Nothing changed — please try again in a minute."
            )
            forget(deps, info)
        elif isinstance(error, DomainError):
            text = _conflict_text(error) if isinstance(error, Conflict) else str(error)
            try:
                refuse(deps, info, f"{'conflict' if isinstance(error, Conflict) else 'refused'}: {error}")
            except Exception:
                log.exception("could not record a refused request")
        else:
            ref = uuid.uuid4().hex[:8]
            log.error("unexpected error in %s %s [ref %s]", info.surface, info.name, ref, exc_info=error)
            text = (
                f":warning: Something went wrong on our side (ref `{ref}`); it may not have been saved — "
                "check the card, and try again."
            )
            try:
                with transaction(deps.sessions) as session:
                    events.record(
                        session,
                        EventKind.FAILED,
                        actor=info.user,
                        at=deps.clock.now(),
                        note=f"ref {ref}",
                        details=events.Failed(action=info.name, ref=ref),
                    )
            except Exception:
                log.exception("could not record a failed request [ref %s]", ref)
            forget(deps, info)
        acked = context is not None and getattr(context.get("ack"), "response", None) is not None
        if acked:
            later(body, respond, text)
            return None
        return answer(body, respond, text)

    return on_error
