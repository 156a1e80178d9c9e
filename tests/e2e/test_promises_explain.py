"""``followthrough promises explain`` as operators run it: a subprocess with no Slack, X or database settings."""

from __future__ import annotations

import json

from tests.e2e.helpers import base_env, cli

NOW = ("--now", "2026-11-24T10:00:00Z", "--tz", "Europe/London")


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_reads_a_promise_argument_without_any_settings():
    result = cli("promises", "explain", "tomorrow 11.30 call back", *NOW, env=base_env())
    assert result.returncode == 0, result.stderr
    assert lines(result) == [{"due": "2026-11-25T11:30:00Z", "text": "call back", "ask": None, "error": None}]


def test_asks_with_the_readings():
    result = cli("promises", "explain", "tomorrow 2 vouchers to send", *NOW, env=base_env())
    out = lines(result)
    assert out[0]["ask"]
    assert out[0]["due"] is None
    assert [(o["due"], o["text"]) for o in out[1:]] == [
        ("2026-11-25T14:00:00Z", "vouchers to send"),
        ("2026-11-25T17:00:00Z", "2 vouchers to send"),
    ]


def test_locale_and_workday_end():
    us = cli("promises", "explain", "3/12 call", *NOW, "--locale", "en-US", env=base_env(WORKDAY_END="18:00"))
    assert lines(us)[0]["due"] == "2027-03-12T18:00:00Z"


def test_reply_lists_every_commitment():
    reply = "Thanks Jo. We'll call you back by 5pm tomorrow. Your refund will follow within 2 working days."
    result = cli("promises", "explain", reply, *NOW, "--reply", env=base_env())
    assert [(o["due"], o["ask"], o["error"]) for o in lines(result)] == [
        ("2026-11-25T17:00:00Z", None, None),
        ("2026-11-26T17:00:00Z", None, None),
    ]


def test_bad_input_is_one_json_line_not_a_traceback():
    result = cli("promises", "explain", "whenever", *NOW, env=base_env())
    assert result.returncode == 1
    assert "couldn't find when" in lines(result)[0]["error"]
    bad = cli("promises", "explain", "eod x", "--now", "yesterday", "--tz", "Europe/London", env=base_env())
    assert bad.returncode == 2
    assert "ISO-8601" in lines(bad)[0]["error"]
    assert "Traceback" not in bad.stderr
    bad_env = cli("promises", "explain", "eod x", *NOW, env=base_env(WORKDAY_END="5pm"))
    assert bad_env.returncode == 2
    assert "WORKDAY_END" in lines(bad_env)[0]["error"]


def test_quiet_hours_show_when_the_first_nag_would_go():
    env = base_env(NAG_QUIET_HOURS="20:00-08:00,weekends")
    [line] = lines(cli("promises", "explain", "tonight email the invoice", *NOW, env=env))
    assert (line["due"], line["first_nag"]) == ("2026-11-24T21:00:00Z", "2026-11-25T08:00:00Z")


def test_help():
    result = cli("promises", "explain", "--help", env=base_env())
    assert result.returncode == 0
    assert "--reply" in result.stdout


def test_the_examples_that_were_read_wrong_before_are_read_as_meant():
    """#21's examples, through the command line: a zone is the time's, never the promise's text; two
    promises in one reply are two lines; a Spanish reply is read; 12/5 with no locale is asked."""
    pst = lines(cli("promises", "explain", "3pm PST call back", *NOW, env=base_env()))
    assert pst == [{"due": "2026-11-24T23:00:00Z", "text": "call back", "ask": None, "error": None}]
    cet = lines(cli("promises", "explain", "15:00 CET call back", *NOW, env=base_env()))
    assert (cet[0]["due"], cet[0]["text"]) == ("2026-11-24T14:00:00Z", "call back")
    paris = lines(cli("promises", "explain", "Friday 10:00 Europe/Paris send the label", *NOW, env=base_env()))
    assert (paris[0]["due"], paris[0]["text"]) == ("2026-11-27T09:00:00Z", "send the label")
    pacific = lines(cli("promises", "explain", "10am Pacific call back", *NOW, env=base_env()))
    assert (pacific[0]["due"], pacific[0]["error"]) == ("2026-11-24T18:00:00Z", None)

    two = "@sam Our team will email you by end of day today, and a courier will collect the parcel on Thursday."
    out = lines(cli("promises", "explain", two, *NOW, "--reply", env=base_env()))
    assert [(o["due"], o["text"]) for o in out] == [
        ("2026-11-24T17:00:00Z", "email you"),
        ("2026-11-26T17:00:00Z", "a courier will collect the parcel"),
    ]
    allow = lines(cli("promises", "explain", "@sam Please allow 5-7 working days for the refund to show.", *NOW,
                      "--reply", env=base_env()))  # fmt: skip
    assert [(o["due"], o["text"]) for o in allow] == [
        ("2026-12-03T17:00:00Z", "the refund to show within 5-7 working days")
    ]
    spanish = lines(cli("promises", "explain", "Te llamaremos mañana a las 10.", *NOW, "--reply", env=base_env()))
    assert [o["due"] for o in spanish] == ["2026-11-25T10:00:00Z"]
    assert lines(cli("promises", "explain", "12/5 call back", *NOW, env=base_env()))[0]["ask"]
    fortnight = lines(cli("promises", "explain", "in a fortnight call back", *NOW, env=base_env()))
    assert fortnight[0]["due"] == "2026-12-08T17:00:00Z"
