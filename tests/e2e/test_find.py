"""``/complaints find`` reads handles as people do (issue 10 §6): case-insensitive with Unicode case
folding, and blind to zero-width characters — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from bot.store.fold import fold
from bot.store.models import Complaint
from tests.support.harness import TEAM, Desk

ALICE = TEAM[0]


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    yield d
    d.close()


def stored_as(desk: Desk, handle: str) -> int:
    cid = desk.complaint(post_card=False)
    with desk.app.sessions() as s, s.begin():
        s.execute(update(Complaint).where(Complaint.id == cid).values(author_handle=handle))
    return cid


def found(desk: Desk, query: str) -> str:
    return json.loads(desk.command(ALICE, "/complaints", f"find {query}")[1])["text"]


@pytest.mark.parametrize(
    ("stored", "queries"),
    [
        ("ÉMILIE_Ü", ["@émilie_ü", "émilie_Ü", "@ÉMILIE_Ü"]),
        ("Straße", ["@STRASSE", "strasse", "@straße"]),
        ("ΟΔΥΣΣΕΑΣ", ["@οδυσσεας", "οδυσσεασ"]),
        ("e\u200bmilie", ["@emilie", "@EMILIE", "@e\u200dmil\u2060ie"]),
        ("AcmeFan", ["@acme\u200bfan", "\ufeff@ACMEFAN", "acmefan\u200e"]),
    ],
)
def test_handles_match_with_unicode_case_folding_and_without_invisible_characters(
    desk: Desk, stored: str, queries: list[str]
):
    cid = stored_as(desk, stored)
    other = stored_as(desk, "someone_else")
    for query in queries:
        answer = found(desk, query)
        assert f"#{cid} " in answer, (query, answer)
        assert f"#{other} " not in answer


def test_a_handle_slack_escaped_as_a_mention_is_still_the_customers(desk: Desk):
    """The command's text is escaped (the manifest's ``should_escape: true``): a handle that is also a
    Slack user's name arrives as ``<@U…|jo>``. A bare mention or a channel is answered with examples."""
    cid = stored_as(desk, "jo")
    assert f"#{cid} " in found(desk, "<@U0JOJOJO1|jo>")
    assert found(desk, "<@U0JOJOJO1>").startswith("That is a Slack mention, not a customer's handle.")
    assert found(desk, "<#C0COMPLAIN|complaints>").startswith("That is a Slack mention")


def test_a_different_handle_is_not_found(desk: Desk):
    stored_as(desk, "émilie")
    assert found(desk, "@emilie").startswith("No earlier complaints")  # an accent is a different letter
    assert found(desk, "@émili").startswith("No earlier complaints")  # and no prefix matching


def test_fold_is_casefold_without_invisibles():
    assert fold("Stra\u00dfe\u200b") == "strasse"
    assert fold("\u202eABC\u2066") == "abc"
