"""The playground's page API without a browser (the browser test is tests/browser): each control
turns into what Slack would send the real bot, and the state the page draws shows the bot's answer.
Runs wherever the README's test command runs, Chromium or not."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.devtools.playground import COMPLAINTS, Playground
from bot.devtools.walkthrough import OUTAGE

ALICE, BOB = "U0ALICE01", "U0BOB0001"


@pytest.fixture(scope="module")
def pg() -> Iterator[Playground]:
    playground = Playground()
    playground.start()
    yield playground
    playground.stop()


def call(pg: Playground, endpoint: str, **body: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        pg.url + "api/" + endpoint, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=15) as answer:
        return json.loads(answer.read())


def state(pg: Playground, viewer: str = ALICE) -> dict[str, Any]:
    with urllib.request.urlopen(f"{pg.url}api/state?viewer={viewer}", timeout=15) as answer:
        return json.loads(answer.read())


def until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)  # the bot's worker posts on its own schedule; we look again
    raise AssertionError(f"never saw {what}")


def card_of(pg: Playground, text: str) -> dict[str, Any] | None:
    for message in state(pg)["channels"][0]["messages"]:
        if text in json.dumps(message) and not message.get("thread_ts"):
            return message
    return None


def test_the_page_is_served_from_this_machine_only_with_nothing_from_elsewhere(pg: Playground):
    with urllib.request.urlopen(pg.url, timeout=15) as answer:
        page = answer.read().decode()
        policy = answer.headers["Content-Security-Policy"]
    assert pg.url.startswith("http://127.0.0.1:")
    assert "default-src 'self'" in policy
    assert "http://" not in page  # nothing from a CDN: it works offline
    assert "https://" not in page
    assert "<script src" not in page


def test_post_claim_command_and_skip_as_slack_would_send_them(pg: Playground):
    assert (
        call(
            pg,
            "post",
            user=ALICE,
            network="bluesky",
            handle="mira.bsky.social",
            text="@acme my order never came, 2 weeks",
        )["status"]
        == 200
    )
    card = until(lambda: card_of(pg, "my order never came"), "the card")
    cid = next(
        e["value"]
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Claim"
    )
    answer = call(
        pg,
        "click",
        user=ALICE,
        action={"action_id": "ft_claim", "value": cid, "block_id": f"card_{cid}", "channel": COMPLAINTS},
    )
    assert answer["status"] == 200
    until(lambda: "Claimed" in json.dumps(card_of(pg, "my order never came")), "the claim")

    # a second teammate's click on the same card is refused, privately, as Slack would show it
    call(
        pg,
        "click",
        user=BOB,
        action={"action_id": "ft_claim", "value": cid, "block_id": f"card_{cid}", "channel": COMPLAINTS},
    )
    assert until(lambda: state(pg, BOB)["private"], "Bob's private answer")

    answer = call(pg, "command", user=ALICE, line="/promise #" + cid + " refund status by tomorrow 5pm")
    assert answer["status"] == 200
    until(lambda: state(pg)["next_nag"], "a promise waiting for its nag")
    assert call(pg, "skip", user=ALICE, what="nag")["status"] == 200
    dm = until(lambda: state(pg)["dm"], "the nag in Alice's DMs")
    assert "refund status" in json.dumps(dm)
    assert state(pg)["skipped_s"] > 3600

    # App Home: opening the tab is Slack's app_home_opened event; the bot publishes Alice's view
    assert call(pg, "home", user=ALICE)["status"] == 200
    home = until(lambda: state(pg)["home"], "App Home")
    assert "refund status" in json.dumps(home)


def test_a_click_from_someone_not_in_the_team_is_refused(pg: Playground):
    request = urllib.request.Request(
        pg.url + "api/click",
        json.dumps({"user": "U0INTRUDE", "action": {}}).encode(),
        {"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == 400


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({"Content-Type": "application/json"}, b"[]", 400),
        ({"Content-Type": "application/json"}, b'{"user": "U0ALICE01", "action": [1]}', 400),
        ({"Content-Type": "text/plain"}, b'{"user": "U0ALICE01", "network": "x", "text": "hi"}', 403),
        (
            {"Content-Type": "application/json", "Origin": "https://evil.example"},
            b'{"user": "U0ALICE01", "network": "x", "text": "hi"}',
            403,
        ),
    ],
)
def test_bad_bodies_and_other_sites_are_refused(pg: Playground, headers: dict[str, str], body: bytes, code: int):
    """Found by review: a non-object body was a 500 with a traceback, and any web page open in the
    same browser could post through the playground (a text/plain POST with a foreign Origin)."""
    endpoint = "click" if b"action" in body or body == b"[]" else "post"
    request = urllib.request.Request(pg.url + "api/" + endpoint, body, headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == code


def test_a_name_rebound_to_this_machine_is_refused(pg: Playground):
    request = urllib.request.Request(pg.url + "api/state", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == 403


def incident_card(pg: Playground, having: str) -> dict[str, Any] | None:
    """The incident's card once it says ``having`` (another card may say it too)."""
    card = card_of(pg, "*Incident #")
    return card if card is not None and having in json.dumps(card) else None


def incident_button(card: dict[str, Any], label: str) -> dict[str, Any]:
    """What the page sends when ``label`` on a card is clicked: the button's ids and its block's."""
    for block in card["blocks"]:
        for element in block.get("elements") or [] if block["type"] == "actions" else []:
            if element.get("type") == "button" and element["text"]["text"] == label:
                ids = {"action_id": element["action_id"], "value": element["value"], "block_id": block["block_id"]}
                return ids | {"channel": COMPLAINTS}
    raise AssertionError(f"no {label} button on {json.dumps(card)[:300]}")


def test_the_sample_storm_is_one_incident_card_whose_buttons_work_from_the_page(pg: Playground):
    """The storm is eighteen customers in their own words: one incident card, none of theirs. Claim
    works on it; Post update opens its form; Resolve incident's form answers its submission with
    ``response_action: update`` and the preview, which the page shows in the same modal and submits."""
    assert call(pg, "storm", user=ALICE)["answer"]["posts"] == len(OUTAGE)
    card = until(lambda: card_of(pg, "*Incident #"), "the incident card")
    assert f"*{len(OUTAGE)} customers*" in json.dumps(card)
    others = [m for m in state(pg)["channels"][0]["messages"] if "*Incident #" not in json.dumps(m)]
    assert not [h for h, _ in OUTAGE if any(h in json.dumps(m) for m in others)], "a member got a card of its own"

    assert call(pg, "click", user=BOB, action=incident_button(card, "Claim"))["status"] == 200
    card = until(lambda: incident_card(pg, "*Claimed*"), "the incident claimed")
    assert call(pg, "click", user=ALICE, action=incident_button(card, "Post update"))["status"] == 200
    assert until(lambda: state(pg)["modal"], "the Post update form")["title"]["text"].startswith("Update #")
    call(pg, "close", user=ALICE)

    assert call(pg, "click", user=ALICE, action=incident_button(card, "Resolve incident"))["status"] == 200
    form = until(lambda: state(pg)["modal"], "the Resolve incident form")
    assert form["title"]["text"].startswith("Resolve incident")
    [field] = [b["block_id"] for b in form["blocks"] if b["type"] == "input"]

    # Step 1: the page sends what its form holds; the bot answers with the preview, which the page draws.
    template = "{name}, logins work again. Sorry for the trouble!"
    answer = call(pg, "submit", user=ALICE, values={field: {"type": "plain_text_input", "value": template}})
    assert answer["status"] == 200
    assert answer["answer"]["response_action"] == "update"
    confirm = state(pg)["modal"]
    assert confirm["title"]["text"] == "Check and send"
    assert confirm["id"] == form["id"], "the same modal, updated"
    # The playground's networks have no reply keys: the preview says so rather than showing texts.
    assert f"*{len(OUTAGE)}* cannot be from here" in json.dumps(confirm["blocks"])

    # Step 2: the preview has no field; submitting it sends, and the modal closes.
    answer = call(pg, "submit", user=ALICE, values={})
    assert answer["status"] == 200
    assert answer["answer"].get("response_action") is None, answer
    assert state(pg)["modal"] is None
    card = until(lambda: incident_card(pg, "Incident resolved"), "the incident resolved")
    until(
        lambda: any(
            m.get("thread_ts") == card["ts"] and "cannot be answered from here" in json.dumps(m)
            for m in state(pg)["channels"][0]["messages"]
        ),
        "the thread's line naming who to answer by hand",
        timeout=5,
    )
