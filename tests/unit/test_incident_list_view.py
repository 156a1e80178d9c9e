"""``/complaints incidents``' builder: an incident's title is its customers' words, so it stays inert
and on its line; a long list keeps whole incidents and counts the rest, including those never read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.reports.incidents import IncidentLine, Listing, Progress
from bot.slack.listeners.complaints_command import ANSWER_LIMIT
from bot.slack.views.incident_list import incidents_text
from tests.inert import CORPUS, assert_inert

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def line(n: int, title: str = "login, error", *, status: str = "open", **kw: object) -> IncidentLine:
    values: dict[str, object] = dict(
        id=n,
        status=status,
        title=title,
        customers=40,
        posts=44,
        networks=("x", "bluesky"),
        detected_at=NOW - timedelta(hours=n),
        anchor_id=1000 + n,
        owner_id="U0ALICE01",
        resolved_at=NOW if status == "resolved" else None,
        resolved_by="U0BOB0001" if status == "resolved" else None,
        latest=Progress("update", 12, 38, 2),
    )
    values.update(kw)
    return IncidentLine(**values)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.one_of(
        st.sampled_from(CORPUS),
        st.text(alphabet=st.sampled_from("<>&!@#*_~`|^\\\n\r \u2028\u200b\u202e"), max_size=300),
        st.text(max_size=300),
    )
)
def test_a_hostile_title_is_inert_and_stays_on_its_line(title):
    answer = incidents_text(Listing(open=[line(1, title)], open_total=1), ANSWER_LIMIT)
    assert_inert({"text": answer})
    assert answer.count("\n") == 2, "the heading, then two lines per incident: the title adds none"
    assert not re.search(r"(?<![\w@])@(channel|here|everyone)\b", answer, re.IGNORECASE), "nobody pinged"
    assert "card #1001" in answer


def test_a_long_list_keeps_whole_incidents_and_counts_the_rest_even_those_never_read():
    listing = Listing(
        open=[line(n, "login, error " * 10) for n in range(1, 31)],
        resolved=[line(100 + n, status="resolved") for n in range(5)],
        open_total=45,  # fifteen open incidents beyond those read
        resolved_total=5,
    )
    answer = incidents_text(listing, ANSWER_LIMIT)
    assert len(answer) <= ANSWER_LIMIT
    shown = re.findall(r"\*Incident #(\d+)\*", answer)
    assert shown == [str(n) for n in range(1, len(shown) + 1)], "open first, in the order read, none cut"
    assert 5 <= len(shown) < 30
    more = re.search(r"…and (\d+) more — `followthrough export --what incidents` lists them all$", answer)
    assert more is not None, answer[-200:]
    assert int(more.group(1)) == 50 - len(shown)


def test_every_incident_read_fits_and_the_unread_are_still_counted():
    listing = Listing(open=[line(1)], resolved=[line(2, status="resolved")], open_total=1, resolved_total=40)
    answer = incidents_text(listing, ANSWER_LIMIT)
    assert re.findall(r"\*Incident #(\d+)\*", answer) == ["1", "2"]
    assert answer.endswith("\n…and 39 more — `followthrough export --what incidents` lists them all")


def test_no_update_yet_and_nobody_owning_it_are_said():
    fresh = line(7, owner_id=None, latest=None)
    answer = incidents_text(Listing(open=[fresh], open_total=1), ANSWER_LIMIT)
    assert "owner nobody yet" in answer
    assert "no update sent yet" in answer
    assert "cannot be answered" not in answer
