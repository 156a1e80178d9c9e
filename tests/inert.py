"""Checks shared by the hostile-input tests: nothing from outside pings or breaks formatting, and
every payload stays inside Block Kit's limits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

CORPUS: list[str] = json.loads((Path(__file__).parent / "corpus" / "hostile.json").read_text(encoding="utf-8"))

# Markup the bot itself writes: user and group mentions of team members, dates, links it built.
OURS = re.compile(
    r"<@[UW][A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>|<#C[A-Z0-9]+>|<!date\^\d+\^[^|<>]*\|[^<>]*>"
    r"|<https?://[^|<>\s]+\|(?:view post|read it all|open the card|view|#\d+)>"
)
ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
QUOTE_MARK = re.compile(r"(?m)^> ")  # our blockquote marker; outside ">" is always escaped to &gt;


def texts(payload: Any) -> list[str]:
    """Every mrkdwn/plain text string in a message or view payload, and its fallback ``text``."""
    found: list[str] = []

    def walk(node: Any, key: str | None = None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key == "text":
            found.append(node)

    walk(payload)
    return found


def assert_inert(payload: Any) -> None:
    for text in texts(payload):
        rest = QUOTE_MARK.sub("", OURS.sub("", text))
        assert "<" not in rest, f"unescaped < in {text[:200]!r}"
        assert ">" not in rest, f"unescaped > in {text[:200]!r}"
        assert not ENTITY.search(rest), f"bare & in {text[:200]!r}"


def assert_within_limits(payload: dict[str, Any], *, view: bool = False) -> None:
    blocks = payload.get("blocks") or []
    assert len(blocks) <= (100 if view else 50)
    if not view:
        assert len(payload.get("text", "")) <= 4000
    for block in blocks:
        if block.get("block_id"):
            assert len(block["block_id"]) <= 255
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e.get("text", "")) <= 3000 for e in block["elements"])
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75
                assert len(element.get("value", "")) <= 2000
            if element.get("action_id"):
                assert len(element["action_id"]) <= 255
    if view:
        assert len(payload["title"]["text"]) <= 24
        assert len(payload.get("private_metadata", "")) <= 3000
