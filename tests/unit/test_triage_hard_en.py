"""#26's hard English cases (written before the rules were changed for them): each kind right at
least 90% of the time — and the rules behind them hold as properties, in both directions."""

from __future__ import annotations

import pytest

from bot.triage.classify import Kind, Triage
from tests.support.triage_hard import score


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


def test_each_kind_of_hard_case_is_right_at_least_nine_times_in_ten(triage: Triage):
    accuracy, wrong = score(triage)
    assert set(accuracy) == {"praise_person", "praise_problem_words", "sarcasm", "negation", "questions"}
    low = {category: round(value, 3) for category, value in accuracy.items() if value < 0.9}
    assert not low, (low, wrong)


@pytest.mark.parametrize(
    ("solved", "ongoing"),
    [
        (
            "@AcmeHelp Lindsey sorted my problem in five minutes, thank you!",
            "@AcmeHelp nobody has sorted my problem, still waiting",
        ),
        (
            "@AcmeHelp Marcus fixed my broken router today, great service",
            "@AcmeHelp my router is still broken, nobody fixed it",
        ),
        ("@AcmeHelp the refund came through today, thanks", "@AcmeHelp the refund still hasn't come through"),
        (
            "@AcmeHelp thanks to Ben for sorting out the double charge",
            "@AcmeHelp you still haven't sorted the double charge on my card",
        ),
    ],
)
def test_a_problem_told_as_solved_is_thanks_and_the_same_problem_ongoing_is_a_complaint(
    triage: Triage, solved: str, ongoing: str
):
    assert triage.classify(solved).kind is Kind.PRAISE
    assert triage.classify(ongoing).kind is Kind.COMPLAINT


@pytest.mark.parametrize(
    ("denied", "said"),
    [
        ("@AcmeHelp no complaints here, delivery was fine", "@AcmeHelp I have complaints about the delivery"),
        ("@AcmeHelp no issues at all with my order", "@AcmeHelp lots of issues with my order, it's broken"),
        ("@AcmeHelp can't fault the service", "@AcmeHelp the service is at fault, terrible"),
        ("@AcmeHelp never had a problem with you", "@AcmeHelp I have a problem with my bill, charged twice"),
    ],
)
def test_a_problem_said_not_to_exist_is_not_a_complaint(triage: Triage, denied: str, said: str):
    assert triage.classify(denied).kind is Kind.PRAISE
    assert triage.classify(said).kind is Kind.COMPLAINT


@pytest.mark.parametrize(
    "text",
    [
        "@AcmeHelp how do I go about fixing this? my tax code is wrong and I'm being overcharged",
        "@AcmeHelp my order has arrived at the store but I was told to collect it myself, I paid for delivery",
        "@AcmeHelp the engineer said it needs to be replaced after 5 years. Not a happy customer!",
    ],
)
def test_fix_words_that_do_not_tell_a_fix_are_never_read_as_thanks(triage: Triage, text: str):
    """Found on the dev data after the first version of these rules: asking how to fix, an arrival
    that is the problem, a replacement still needed."""
    verdict = triage.classify(text)
    assert verdict.kind is not Kind.PRAISE
    assert "fixed" not in verdict.signals


@pytest.mark.parametrize(
    "text",
    [
        "@AcmeHelp no one has resolved the issue with my account and I can't log in",
        "@AcmeHelp my parcel arrived today smashed to pieces and half the items missing",
        "@AcmeHelp nobody fixed my broken boiler, 3 weeks without heating",
        "@AcmeHelp you refunded the wrong amount, I was charged twice",
        "@AcmeHelp you replaced the wrong part and my washing machine is broken",
        "@AcmeHelp you cancelled my order and refunded the wrong card, nobody answers",
        "@AcmeHelp engineer says nothing wrong with my line, but it drops every evening",
        "@AcmeHelp Marcus fixed my router but now the wifi drops again",
    ],
)
def test_a_fix_that_did_not_fix_it_is_still_a_complaint(triage: Triage, text: str):
    """Found by review: "nobody fixed", "the wrong part", "arrived smashed", "but now … again" read
    as solved made real complaints other or praise. A fix that did not happen subtracts nothing."""
    assert triage.classify(text).kind is Kind.COMPLAINT
