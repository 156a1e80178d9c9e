"""Block Kit's limits, and the one place every outgoing message and view is fitted to them.

Slack refuses a whole message or view for one field over its limit (``invalid_blocks``), and a
refused card, nag or modal is worse than a shortened one. So every payload the bot sends — posted
by the delivery worker, answered to a command or a click, opened as a modal, published as App Home —
passes through ``fit_message`` or ``fit_view`` last: text a person reads is cut with a visible "…",
a list too long for its container keeps what fits and ends with "…and N more" (a builder that knows
the command showing the whole list says so first), and what must not be cut — a button's value, a
form's private metadata, an id, a link — raises ``Unfittable``, because a cut value would be read
back wrong: that is a bug in the builder, set aside by the worker with its traceback.

The limits are Slack's (api.slack.com/reference/block-kit), the same ones the Slack stand-in checks.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.slack.views.blocks import cut

Json = dict[str, Any]

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
"""A message's ``text`` (Slack truncates beyond it)."""
MESSAGE_BLOCK_TEXT = 12_000
"""About the most text Slack takes across one message's blocks (``msg_blocks_too_long`` beyond)."""
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2000
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
ID = 255
"""``action_id``, ``block_id``, ``callback_id``, ``external_id``."""
OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
PLACEHOLDER = 150
LABEL = 2000
HINT = 2000
VIEW_TITLE = 24
VIEW_BUTTON = 24
"""A modal's submit and close buttons."""
PRIVATE_METADATA = 3000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
ALT_TEXT = 2000


class Unfittable(ValueError):
    """A value that cannot be shortened without being read back wrong is over its limit."""


def _text(obj: Any, limit: int) -> None:
    """Cut a text object (``{"type": "mrkdwn"|"plain_text", "text": …}``) in place."""
    if isinstance(obj, dict) and isinstance(obj.get("text"), str) and len(obj["text"]) > limit:
        obj["text"] = cut(obj["text"], limit)


def _exact(value: Any, limit: int, what: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        raise Unfittable(f"{what} is {len(value)} characters (Slack's limit is {limit})")


def _more(n: int, what: str = "") -> Json:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {n} more{what}"}]}


def _confirm(confirm: Any) -> None:
    if isinstance(confirm, dict):
        _text(confirm.get("title"), CONFIRM_TITLE)
        _text(confirm.get("text"), CONFIRM_TEXT)
        _text(confirm.get("confirm"), CONFIRM_BUTTON)
        _text(confirm.get("deny"), CONFIRM_BUTTON)


def _option(option: Any) -> None:
    if isinstance(option, dict):
        _text(option.get("text"), OPTION_TEXT)
        _text(option.get("description"), OPTION_DESCRIPTION)
        _exact(option.get("value"), OPTION_VALUE, "an option's value")


def _element(element: Any) -> None:
    if not isinstance(element, dict):
        return
    _exact(element.get("action_id"), ID, "an action_id")
    kind = element.get("type")
    if kind == "button":
        _text(element.get("text"), BUTTON_TEXT)
        _exact(element.get("value"), BUTTON_VALUE, "a button's value")
        _exact(element.get("url"), URL, "a button's link")
    elif kind in ("mrkdwn", "plain_text"):
        _text(element, CONTEXT_TEXT)
    elif kind == "image":
        _exact(element.get("image_url"), URL, "an image's link")
        if isinstance(element.get("alt_text"), str):
            element["alt_text"] = cut(element["alt_text"], ALT_TEXT)
    _text(element.get("placeholder"), PLACEHOLDER)
    _confirm(element.get("confirm"))
    options = element.get("options")
    if isinstance(options, list):
        del options[OPTIONS:]
        for option in options:
            _option(option)
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            _text(group.get("label"), OPTION_TEXT)
            for option in group.get("options") or []:
                _option(option)
    _option(element.get("initial_option"))


def _block(block: Any) -> None:
    if not isinstance(block, dict):
        return
    _exact(block.get("block_id"), ID, "a block_id")
    kind = block.get("type")
    if kind == "section":
        _text(block.get("text"), SECTION_TEXT)
        fields = block.get("fields")
        if isinstance(fields, list):
            del fields[SECTION_FIELDS:]
            for field in fields:
                _text(field, FIELD_TEXT)
        _element(block.get("accessory"))
    elif kind == "header":
        _text(block.get("text"), HEADER_TEXT)
    elif kind == "context":
        elements = block.get("elements")
        if isinstance(elements, list):
            del elements[CONTEXT_ELEMENTS:]
            for element in elements:
                _element(element)
    elif kind == "actions":
        elements = block.get("elements")
        if isinstance(elements, list):
            del elements[ACTIONS_ELEMENTS:]
            for element in elements:
                _element(element)
    elif kind == "input":
        _text(block.get("label"), LABEL)
        _text(block.get("hint"), HINT)
        _element(block.get("element"))
    elif kind == "image":
        _element({**block, "type": "image"})
        if isinstance(block.get("alt_text"), str):
            block["alt_text"] = cut(block["alt_text"], ALT_TEXT)


def _blocks(blocks: Any, limit: int) -> list[Any]:
    if not isinstance(blocks, list):
        return blocks
    if len(blocks) > limit:
        hidden = len(blocks) - (limit - 1)
        blocks = [*blocks[: limit - 1], _more(hidden, f" (not shown: Slack shows {limit} blocks at most)")]
    for block in blocks:
        _block(block)
    return blocks


def _readable(block: Json) -> list[Json]:
    """The text objects a block shows (what counts against a message's total)."""
    found = []
    for key in ("text",):
        if isinstance(block.get(key), dict):
            found.append(block[key])
    found += [f for f in block.get("fields") or [] if isinstance(f, dict)]
    if block.get("type") == "context":
        found += [e for e in block.get("elements") or [] if isinstance(e, dict) and "text" in e]
    return found


def _total(blocks: list[Any]) -> int:
    return sum(len(t.get("text") or "") for b in blocks if isinstance(b, dict) for t in _readable(b))


def fit_message(payload: Json) -> Json:
    """A message (``text`` and ``blocks``) Slack will take; a copy, the builder's payload untouched."""
    out = copy.deepcopy(payload)
    if isinstance(out.get("text"), str) and len(out["text"]) > MESSAGE_TEXT:
        out["text"] = cut(out["text"], MESSAGE_TEXT)
    if "blocks" in out:
        out["blocks"] = _blocks(out["blocks"], MESSAGE_BLOCKS)
        # Over the message's total: the longest text is cut, then the next, until it fits.
        while isinstance(out["blocks"], list) and _total(out["blocks"]) > MESSAGE_BLOCK_TEXT:
            texts = [t for b in out["blocks"] if isinstance(b, dict) for t in _readable(b)]
            longest = max(texts, key=lambda t: len(t.get("text") or ""))
            excess = _total(out["blocks"]) - MESSAGE_BLOCK_TEXT
            longest["text"] = cut(longest["text"], max(1, len(longest["text"]) - excess - 1))
    return out


def fit_view(view: Json) -> Json:
    """A modal or App Home view Slack will take; a copy."""
    out = copy.deepcopy(view)
    _text(out.get("title"), VIEW_TITLE)
    _text(out.get("submit"), VIEW_BUTTON)
    _text(out.get("close"), VIEW_BUTTON)
    _exact(out.get("private_metadata"), PRIVATE_METADATA, "a view's private_metadata")
    _exact(out.get("callback_id"), ID, "a view's callback_id")
    _exact(out.get("external_id"), ID, "a view's external_id")
    out["blocks"] = _blocks(out.get("blocks") or [], VIEW_BLOCKS)
    return out


def listed(head: str, lines: list[str], limit: int, whole: str, unlisted: int = 0) -> str:
    """``head`` and as many whole lines as fit in ``limit`` characters; the rest are counted, with the
    command that shows them all (``whole``), rather than cut off mid-line with no word of how many.
    ``unlisted``: more that exist but were never read (a builder reads no more than can be shown)."""
    out = head
    for i, line in enumerate(lines):
        more = f"\n…and {len(lines) - i + unlisted} more — {whole}"
        if len(out) + 1 + len(line) + len(more) > limit:
            return out + more
        out += "\n" + line
    # Room for this was kept while the last line was added (its count was at least as long).
    return out + (f"\n…and {unlisted} more — {whole}" if unlisted else "")
