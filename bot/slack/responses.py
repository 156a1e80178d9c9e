"""Small helpers every surface shares: private answers and reading a form's values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack.ids import Field

Ack = Callable[..., Any]
Respond = Callable[..., Any]


def ephemeral(respond: Respond, text: str) -> None:
    """A private answer to the person who clicked, leaving the card as it is."""
    respond(text=text, response_type="ephemeral", replace_original=False)


def field_value(values: dict[str, Any], field: Field, key: str = "value") -> Any:
    """One input's value from a submitted form (block id and action id are the same in our forms)."""
    block = values.get(field.value)
    element = block.get(field.value) if isinstance(block, dict) else None
    return element.get(key) if isinstance(element, dict) else None
