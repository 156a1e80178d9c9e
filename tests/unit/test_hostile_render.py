"""Property tests: whatever a customer (or an agent) types, what we send Slack is inert and fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.listeners.complaints_command import help_text
from bot.slack.views import blocks
from tests.inert import CORPUS, assert_inert, assert_within_limits

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
hostile = st.one_of(
    st.sampled_from(CORPUS),
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from("<>&!@#*_~`|^\\\n \u200b\u202e"), max_size=400),
    st.lists(st.sampled_from(CORPUS), min_size=1, max_size=6).map(" ".join),
    st.text(min_size=2900, max_size=6000),
)
small = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def state(text: str, name: str, handle: str, **kw) -> blocks.CardState:
    values = dict(
        id=42,
        kind="complaint",
        status="new",
        priority=70,
        text=text,
        author_name=name,
        author_handle=handle,
        author_followers=1234,
        url="https://x.com/c/status/1",
        posted_at=NOW,
    )
    values.update(kw)
    return blocks.CardState(**values)


@small
@given(
    text=hostile,
    name=hostile,
    handle=hostile,
    note=hostile,
    tier=hostile,
    status=st.sampled_from(["new", "claimed", "escalated", "resolved", "dismissed"]),
    kind=st.sampled_from(["complaint", "question"]),
)
def test_cards_in_every_state_are_inert_and_fit(text, name, handle, note, tier, status, kind):
    promise = blocks.PromiseView(1, "U0ALICE01", note, NOW + timedelta(hours=1), "open", 2)
    c = state(
        text,
        name,
        handle,
        status=status,
        kind=kind,
        owner_id="U0ALICE01",
        claimed_at=NOW,
        escalation_tier=tier,
        escalation_reason=note,
        escalated_by="U0BOB0001",
        resolution_note=note,
        resolved_by="U0BOB0001",
        resolved_at=NOW,
        promises=(promise,) * 12,
        amplification_count=3,
        duplicate_count=2,
        reply_count=1,
    )
    for payload in (
        blocks.build_card(c, NOW),
        blocks.build_kudos(c),
        blocks.build_customer_reply(handle, text, source="x"),
        blocks.build_escalation_notice(c, tier, "S0TIER002", "https://slack.test/archives/C1/p1"),
    ):
        assert_inert(payload)
        assert_within_limits(payload)


@small
@given(text=hostile, note=hostile, action=st.sampled_from([*blocks.NOTE_TEMPLATES, "weird"]))
def test_thread_notes_are_inert(text, note, action):
    payload = blocks.build_note(
        blocks.format_note(
            {
                "action": action,
                "actor": "U0ALICE01",
                "at": NOW.isoformat(),
                "note": note,
                "detail": {
                    "owner_id": "U0BOB0001",
                    "escalation_tier": text,
                    "text": text,
                    "due": NOW.isoformat(),
                    "reason": note,
                    "count": 2,
                    "customer_confirmed": True,
                },
            }
        )
    )
    assert_inert(payload)
    assert_within_limits(payload)


@small
@given(text=hostile, handle=hostile, kind=st.sampled_from(["dm", "thread", "channel", "escalate"]))
def test_nags_and_the_daily_reminder_are_inert(text, handle, kind):
    promise = blocks.PromiseView(7, "U0ALICE01", text, NOW - timedelta(hours=3), "open")
    c = state(text, handle, handle)
    assert_inert(blocks.build_nag(kind, promise, c, NOW, contact="S0TIER002", permalink="https://slack.test/x"))
    line = {
        "promise_id": 7,
        "complaint_id": 42,
        "owner_id": "U0ALICE01",
        "text": text,
        "due_at": (NOW - timedelta(hours=2)).isoformat(),
        "status": "open",
        "reschedule_count": 0,
        "customer": handle,
        "channel": "C1",
        "ts": "1.1",
    }
    report = {
        "day": "2026-03-02",
        "overdue": [line] * 30,
        "due_today": [line] * 30,
        "counts": {"unclaimed": 3, "oldest_unclaimed": NOW.isoformat()},
        "yesterday": {
            "day": "2026-03-01",
            "new": 1,
            "resolved": 1,
            "median_minutes_to_claim": 3.0,
            "kept_on_time": 1,
            "kept_late": 0,
            "broken": 0,
        },
    }
    digest = blocks.build_digest(report, {42: "https://slack.test/archives/C1/p1"}, NOW)
    assert_inert(digest)
    assert_within_limits(digest)


@small
@given(text=hostile)
def test_forms_fit(text):
    for view in (
        blocks.escalate_modal(99999999, ["Tier 2", "Comms lead"]),
        blocks.resolve_modal(99999999, 3),
        blocks.promise_modal(99999999, "U0ALICE01"),
        blocks.reschedule_modal(99999999, text),
    ):
        assert_inert(view)
        assert_within_limits(view, view=True)


def test_the_help_is_inert():
    assert_inert({"text": help_text()})
