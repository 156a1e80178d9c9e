"""Triage recognises complaints that VADER calls neutral, and ranks by severity and reach."""

from __future__ import annotations

import pytest

from bot.store.enums import Kind
from bot.triage.classify import Thresholds, Triage, load_cues, priority


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


@pytest.mark.parametrize(
    "text",
    [
        "@AcmeAir still waiting for my refund",
        "@AcmeTech i cant find a driver for my card",
        "@AcmeBank third time I've called about this charge, nobody has called back",
        "@AcmeMail my parcel hasn't arrived and it's been two weeks",
        "@AcmeTel no signal in my area since Monday. what is going on?",
        "@AcmeShop I was charged twice for the same order, please sort it out",
    ],
)
def test_neutral_toned_complaints_are_complaints(triage: Triage, text: str):
    verdict = triage.classify(text)
    assert verdict.kind is Kind.COMPLAINT, verdict


@pytest.mark.parametrize(
    "text",
    [
        "@AcmeAir thank you so much, the crew were amazing today!",
        "@AcmeShop love the new collection, great job",
    ],
)
def test_praise(triage: Triage, text: str):
    assert triage.classify(text).kind is Kind.PRAISE


@pytest.mark.parametrize(
    "text",
    [
        "@AcmeShop do you ship to Canada?",
        "@AcmeAir what time does boarding start for the 9am flight",
    ],
)
def test_plain_questions_are_questions(triage: Triage, text: str):
    assert triage.classify(text).kind is Kind.QUESTION


@pytest.mark.parametrize(
    "text",
    [
        "Watching the game with @AcmeCola tonight",
        "sunny afternoon at the beach with the family",
    ],
)
def test_chat_is_other(triage: Triage, text: str):
    assert triage.classify(text).kind is Kind.OTHER


def test_vader_signal_is_recorded_with_cues(triage: Triage):
    verdict = triage.classify("@AcmeAir this is the worst service, still waiting for a refund!!!")
    assert verdict.compound < 0
    assert {"negative tone", "waiting", "money", "dissatisfaction", "intensifiers"} <= set(verdict.signals)
    assert verdict.score > 3


def test_html_entities_are_unescaped_before_matching(triage: Triage):
    assert triage.classify("@Acme I&#39;m still waiting &amp; nobody has replied").kind is Kind.COMPLAINT


def test_threshold_is_a_setting():
    strict = Triage(Thresholds(complaint=50.0))
    assert strict.classify("@AcmeAir still waiting for my refund").kind is not Kind.COMPLAINT


def test_cue_file_is_well_formed():
    config, cues = load_cues()
    assert {"sentiment", "structure", "cue"} <= set(config)
    assert len(cues) > 40
    assert {c.group for c in cues} >= {"waiting", "money", "broken", "dissatisfaction", "praise"}


def test_priority_grows_with_reach_severity_and_repeat_contact():
    base = priority(Kind.COMPLAINT, 2.0, followers=100)
    assert priority(Kind.COMPLAINT, 2.0, followers=1_000_000) > base
    assert priority(Kind.COMPLAINT, 5.0, followers=100) > base
    assert priority(Kind.COMPLAINT, 2.0, followers=100, repeat_contact=2) > base
    assert priority(Kind.COMPLAINT, 2.0, followers=100, amplification_count=40, amplification_reach=90_000) > base
    assert priority(Kind.OTHER, 9.0, followers=10**9) <= 30 < base
    assert priority(Kind.COMPLAINT, 100.0, followers=10**12, repeat_contact=50, verified=True) == 100


@pytest.mark.parametrize("followers", [0, 10, 1_000, 1_000_000, 10**12])
def test_questions_rank_below_complaints_of_the_same_reach_and_above_zero(followers: int):
    question = priority(Kind.QUESTION, 9.0, followers=followers)
    assert 0 < question < priority(Kind.COMPLAINT, 0.0, followers=followers)
    assert question > priority(Kind.OTHER, 9.0, followers=followers)
    assert question > priority(Kind.PRAISE, 9.0, followers=followers)


def test_questions_rank_by_reach():
    assert priority(Kind.QUESTION, 0.0, followers=1_000_000) > priority(Kind.QUESTION, 0.0, followers=10)
