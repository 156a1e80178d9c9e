"""What Slack sends for a button click or a modal submission, signed as Slack signs it.

Used by the tests, the demo and the benchmarks to drive the running app over real HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

TEAM_ID = "T0FOLLOW"


def new_trigger_id() -> str:
    """Slack gives every interaction a fresh trigger id; the bot keys its request log by it."""
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"


def sign(body: bytes, timestamp: int, secret: str) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def block_action(
    user: str,
    action_id: str,
    *,
    value: str | None = None,
    block_id: str | None = None,
    selected_user: str | None = None,
    channel: str = "C0COMPLAIN",
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or f"card_{value}",
        "type": "users_select" if selected_user else "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    if selected_user:
        action["selected_user"] = selected_user
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0FOLLOW",
        "team": {"id": TEAM_ID, "domain": "followthrough-test"},
        "channel": {"id": channel, "name": "complaints"},
        "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
        "trigger_id": trigger_id or new_trigger_id(),
        "actions": [action],
    }
    if response_url:
        payload["response_url"] = response_url
    return payload


def _view_id(view: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(view, sort_keys=True, default=str).encode(), usedforsecurity=False)
    return "V" + digest.hexdigest()[:10].upper()


def view_submission(
    user: str, view: dict[str, Any], values: dict[str, Any], trigger_id: str | None = None
) -> dict[str, Any]:
    """``values``: {block_id: element state}; block and action ids are the same in our modals."""
    state = {block: {block: value} for block, value in values.items()}
    return {
        "type": "view_submission",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0FOLLOW",
        "team": {"id": TEAM_ID, "domain": "followthrough-test"},
        "trigger_id": trigger_id or new_trigger_id(),
        # The view's own id: each opened modal has one, kept by views.update and response_action
        # update. A view handed back without it (a response_action's) gets one from its content: the
        # same form submitted twice is one view, two people's forms are two (one constant id for all
        # made two colleagues' updates look like one form sent twice).
        "view": {"id": _view_id(view), **view, "team_id": TEAM_ID, "state": {"values": state}},
    }


def post_signed(
    url: str,
    payload: dict[str, Any] | None,
    secret: str,
    *,
    form: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes, float]:
    """POST as Slack does: form-encoded (``payload=`` JSON, or a slash command's fields), signed.
    Returns (status, body, seconds until the answer)."""
    if json_body is not None:  # the Events API posts JSON
        body, content_type = json.dumps(json_body).encode(), "application/json"
    else:
        fields = form if form is not None else {"payload": json.dumps(payload)}
        body, content_type = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    ts = int(time.time()) if timestamp is None else timestamp
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature or sign(body, ts, secret),
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read(), time.perf_counter() - started
    except urllib.error.HTTPError as err:
        return err.code, err.read(), time.perf_counter() - started


def slash_command(user: str, command: str, text: str, *, response_url: str | None = None) -> dict[str, str]:
    return {
        "token": "unused",
        "team_id": TEAM_ID,
        "team_domain": "followthrough-test",
        "channel_id": "C0COMPLAIN",
        "channel_name": "complaints",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0FOLLOW",
        "response_url": response_url or "",
        "trigger_id": new_trigger_id(),
    }


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "unused",
        "team_id": TEAM_ID,
        "api_app_id": "A0FOLLOW",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
    }
