"""Render docs/images/card.png: a complaint card and its thread, as Slack would show them.

The messages are built by the bot's own Block Kit builders (``bot/slack/views/blocks.py``) for a sample
complaint, then drawn as HTML that looks like Slack and screenshotted with headless Chromium, so the
picture in the README changes when the card does. Redo it with:

    python docs/images/render_card.py              # writes docs/images/card.png
    python docs/images/render_card.py --html-only  # writes docs/images/card.html instead

Needs ``chromium`` (or ``chromium-browser`` / ``google-chrome``) on PATH for the PNG.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.slack.views import blocks

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 3, 3, 11, 40, tzinfo=UTC)
POSTED = NOW - timedelta(hours=2, minutes=15)
PEOPLE = {"U0ALICE01": "alice", "U0BOB0001": "bob", "S0TIER002": "tier-2-oncall"}
EMOJI = {
    "rotating_light": "🚨",
    "bird": "🐦",
    "butterfly": "🦋",
    "elephant": "🐘",
    "stopwatch": "⏱️",
    "warning": "⚠️",
    "speech_balloon": "💬",
    "loudspeaker": "📢",
    "busts_in_silhouette": "👥",
    "repeat": "🔁",
    "new": "🆕",
    "raising_hand": "🙋",
    "arrow_double_up": "⏫",
    "white_check_mark": "✅",
    "handshake": "🤝",
    "hourglass_flowing_sand": "⏳",
    "red_circle": "🔴",
    "no_entry_sign": "🚫",
}


def sample() -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The card of a claimed complaint with a promise, and its thread, built by the real builders."""
    promise = blocks.PromiseView(
        7, "U0ALICE01", "call back about the refund", NOW.replace(hour=16, minute=0), "open", 0
    )
    card = blocks.CardState(
        id=42,
        kind="complaint",
        status="claimed",
        priority=74,
        text="@AcmeHelp charged twice for order 1182 and still waiting for my refund since Monday. Third time I ask!!",
        author_name="Dana Reyes",
        author_handle="dana_r",
        author_followers=12_400,
        url="https://x.com/dana_r/status/1790001",
        posted_at=POSTED,
        owner_id="U0ALICE01",
        claimed_at=NOW - timedelta(hours=2),
        amplification_count=3,
        amplification_reach=8_100,
        reply_count=1,
        repeat_contact=1,
        promises=(promise,),
    )
    at = NOW - timedelta(hours=2)
    thread = [
        (
            "followthrough",
            blocks.build_note(blocks.format_note({"action": "claim", "actor": "U0ALICE01", "at": at.isoformat()})),
        ),
        (
            "followthrough",
            blocks.build_customer_reply(
                "dana_r",
                "It's order 1182, both charges on the 28th.",
                "https://x.com/dana_r/status/1790007",
                source="x",
            ),
        ),
        (
            "followthrough",
            blocks.build_note(
                blocks.format_note(
                    {
                        "action": "promise",
                        "actor": "U0ALICE01",
                        "at": (at + timedelta(minutes=20)).isoformat(),
                        "detail": {"owner_id": "U0ALICE01", "text": promise.text, "due": promise.due_at.isoformat()},
                    }
                )
            ),
        ),
    ]
    return blocks.build_card(card, NOW), thread


def mrkdwn(text: str) -> str:
    """Slack mrkdwn to HTML, enough for what the bot writes."""
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<@(\w+)>", lambda m: "\0m" + PEOPLE.get(m.group(1), m.group(1)) + "\0e", text)
    text = re.sub(r"<!subteam\^(\w+)>", lambda m: "\0m" + PEOPLE.get(m.group(1), m.group(1)) + "\0e", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", "\0a\\2\0e", text)
    text = re.sub(r"<(https?://[^>]+)>", "\0a\\1\0e", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = html.escape(text)
    text = (
        text.replace("\0m", '<span class="mention">@').replace("\0a", '<span class="link">').replace("\0e", "</span>")
    )
    text = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w])_([^_\n]+)_(?![\w])", r"<i>\1</i>", text)
    lines = []
    for line in text.split("\n"):
        lines.append(f'<div class="quote">{line[5:]}</div>' if line.startswith("&gt; ") else f"<div>{line}</div>")
    return "".join(lines)


def render_blocks(message: dict[str, Any]) -> str:
    out = []
    for block in message["blocks"]:
        if block["type"] == "section":
            out.append(f'<div class="section">{mrkdwn(block["text"]["text"])}</div>')
        elif block["type"] == "context":
            out.append(f'<div class="context">{"".join(mrkdwn(e["text"]) for e in block["elements"])}</div>')
        elif block["type"] == "actions":
            items = []
            for e in block["elements"]:
                if e["type"] == "button":
                    style = " primary" if e.get("style") == "primary" else ""
                    items.append(f'<span class="button{style}">{html.escape(e["text"]["text"])}</span>')
                else:
                    items.append(f'<span class="select">{html.escape(e["placeholder"]["text"])} ▾</span>')
            out.append(f'<div class="actions">{"".join(items)}</div>')
    return "".join(out)


def message(who: str, time: str, body: str) -> str:
    return (
        f'<div class="msg"><div class="avatar">F</div><div><div class="who"><b>{who}</b> '
        f'<span class="app">APP</span> <span class="time">{time}</span></div>{body}</div></div>'
    )


CSS = """
body { font-family: Lato, 'Helvetica Neue', Arial, sans-serif; font-size: 15px; color: #1d1c1d; margin: 0;
       background: #fff; width: 1180px; }
.wrap { display: flex; }
.pane { flex: 1; padding: 12px 0; }
.pane + .pane { border-left: 1px solid #ddd; }
.head { font-weight: 900; font-size: 17px; padding: 6px 20px 12px; border-bottom: 1px solid #ddd; }
.msg { display: flex; padding: 10px 20px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #1d3557; color: #fff; font-weight: 900;
          display: flex; align-items: center; justify-content: center; margin-right: 10px; flex: none; }
.app { font-size: 10px; background: #e8e8e8; color: #616061; padding: 1px 3px; border-radius: 2px; }
.time { color: #616061; font-size: 12px; }
.section { margin: 4px 0; line-height: 1.45; }
.context { color: #616061; font-size: 13px; margin: 4px 0; }
.quote { border-left: 4px solid #ddd; padding-left: 10px; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
.link { color: #1264a3; }
.actions { margin-top: 8px; }
.button, .select { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px;
                   margin: 0 6px 6px 0; font-weight: 700; font-size: 13px; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.select { font-weight: 400; color: #616061; }
"""


def page() -> str:
    card, thread = sample()
    left = message("followthrough", "9:25 AM", render_blocks(card))
    right = "".join(
        message(who, t, render_blocks(m))
        for (who, m), t in zip(thread, ("9:40 AM", "9:52 AM", "10:00 AM"), strict=True)
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body><div class='wrap'>"
        f"<div class='pane'><div class='head'># complaints</div>{left}</div>"
        f"<div class='pane'><div class='head'>Thread <span class='time'># complaints</span></div>{right}</div>"
        "</div></body></html>"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html-only", action="store_true", help="write card.html, not the PNG")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write to (default: docs/images)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.html_only:
        page_path = args.out / "card.html"
        page_path.write_text(page(), encoding="utf-8")
        print(f"wrote {page_path}")
        return 0
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        print("no chromium on PATH: install it (apt-get install -y chromium) or use --html-only", file=sys.stderr)
        return 1
    png = args.out / "card.png"
    with tempfile.TemporaryDirectory() as profile:
        page_path = Path(profile) / "card.html"
        page_path.write_text(page(), encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                "--window-size=1180,370",
                f"--screenshot={png}",
                page_path.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
