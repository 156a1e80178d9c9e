"""Bad settings: one clear line each, and never a secret (or a fragment of one) in it."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import pytest
from dotenv import dotenv_values
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from bot.config import Mode, Role, Secret, Settings, SettingsError, load_settings, mask_url
from bot.logs import redact

ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-secretbot",
    "SLACK_APP_TOKEN": "xapp-1-secretapp",
    "SLACK_SIGNING_SECRET": "shhh-signing",
    "SLACK_COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "SLACK_ESCALATION_CHANNEL": "C0ESCALATE",
    "X_BEARER_TOKEN": "AAAAsecretbearer",
    "X_BRAND_HANDLE": "@AcmeHelp",
}

ENCODING_ADVICE = "special characters in the password (@ : / ? # %) must be percent-encoded (e.g. @ as %40)"


def problems_for(env: dict[str, str], **kwargs: object) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_settings(env, dotenv_path=None, **kwargs)
    problems = info.value.problems
    assert all("\n" not in p for p in problems), problems
    return problems


def only_problem(env: dict[str, str], **kwargs: object) -> str:
    problems = problems_for(env, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


# --- 1. DATABASE_URL with an unencoded password -----------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        # make_url raises ValueError (the "port" is 'Horse99@db.example'): a traceback today.
        ("postgresql://admin:Tr0ub@dor:Horse99@db.example/prod", ("Tr0ub", "dor", "Horse99")),
        ("postgres://admin:Tr0ub@dor:Horse99@db.example/prod", ("Tr0ub", "dor", "Horse99")),
        # make_url "parses" these, with the password cut short and the rest taken for the host.
        ("postgresql+psycopg://admin:Tr0ub@dor@db.example/prod", ("Tr0ub", "dor")),
        ("postgresql://admin:Tr0ub@dor/x@db.example/prod", ("Tr0ub", "dor")),
        ("postgresql://admin:p@ss:w0rd?#1@db.example:5432/prod", ("ss:w0rd", "w0rd")),
    ],
)
def test_unencoded_special_characters_in_the_password_are_one_masked_problem(url: str, fragments: tuple[str, ...]):
    problem = only_problem({"DATABASE_URL": url}, mode=None)
    assert problem.startswith("DATABASE_URL=postgresql+psycopg://admin:***@")
    assert problem.endswith(f"is not a valid database URL: {ENCODING_ADVICE}")
    for fragment in fragments:
        assert fragment not in problem


def test_the_same_password_percent_encoded_is_accepted():
    s = load_settings({"DATABASE_URL": "postgresql://admin:Tr0ub%40dor%3AHorse99@db.example/prod"}, mode=None)
    parsed = make_url(s.database_url)
    assert (parsed.host, parsed.password) == ("db.example", "Tr0ub@dor:Horse99")
    assert "Horse99" not in s.database_url_masked


def test_a_port_that_is_not_a_number_is_a_problem_not_a_traceback():
    problem = only_problem({"DATABASE_URL": "postgresql://bot:pw123@db.example:54x2/prod"}, mode=None)
    assert problem.startswith("DATABASE_URL=postgresql+psycopg://bot:***@db.example")
    assert "port" in problem
    assert "pw123" not in problem


def test_a_user_password_without_host_does_not_show_the_password():
    problem = only_problem({"DATABASE_URL": "postgresql://admin:Tr0ubdor/prod"}, mode=None)
    assert "Tr0ubdor" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://admin:Tr0ub@dor:Horse99@db.example/prod",
        "postgresql+psycopg://admin:Tr0ub@dor@db.example/prod",
        "weird+x://admin:Tr0ub@dor:Horse99@h/d",
        "not a url://admin:Tr0ub@dor:Horse99@h/d",
    ],
)
def test_mask_url_never_shows_part_of_an_unencoded_password(url: str):
    for masked in (mask_url(url), Settings(database_url=url).database_url_masked):
        assert "admin:***@" in masked
        for fragment in ("Tr0ub", "dor", "Horse99"):
            assert fragment not in masked


# --- 2. a password in the query string --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u@h/db?password=s3cret",
        "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=s3cret",
        "postgresql+psycopg://u@h/db?PASSWORD=s3cret&application_name=bot",
        "postgresql+psycopg://u:other@h:5432/db?password=s3cret&sslpassword=s3cret",
    ],
)
def test_a_password_in_the_query_is_masked(url: str):
    for shown in (mask_url(url), Settings(database_url=url).database_url_masked, redact(f"cannot reach {url}: boom")):
        assert "s3cret" not in shown
        assert "other" not in shown
        assert "password=***" in shown.lower()
    assert "application_name=bot" in mask_url("postgresql+psycopg://u@h/db?password=s3cret&application_name=bot")


def test_redact_hides_a_libpq_conninfo_password():
    shown = redact("connection failed: host=db.example user=bot password=s3cret sslpassword=k3y dbname=prod")
    assert "s3cret" not in shown
    assert "k3y" not in shown
    assert "host=db.example" in shown
    assert "dbname=prod" in shown


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=20, max_size=20))
def test_redact_hides_every_oauth_signature_whatever_its_first_character(digest: bytes):
    """The four ways oauthlib and requests_oauthlib log a request's signature at DEBUG. A signature that
    begins with "/" or "+" is percent-encoded in the header ("%2F…"); CI once showed its "%" left in
    place of the value's first character because the separator pattern had swallowed it."""
    raw = base64.b64encode(digest).decode()
    quoted = quote(raw, safe="")
    lines = {
        f'Authorization: OAuth oauth_nonce="1", oauth_signature="{quoted}"': 'oauth_signature="***"',
        f"[('oauth_signature', '{raw}'), ('oauth_version', '1.0')]": "('oauth_signature', '***')",
        f"Normalized params: oauth_signature={quoted}&oauth_version=1.0": "oauth_signature=***&",
        f"Signature: {raw}": "Signature: ***",
    }
    for line, expected in lines.items():
        shown = redact(line)
        assert expected in shown, shown
        assert raw not in shown
        assert quoted not in shown


def test_redact_hides_all_of_an_unencoded_password():
    shown = redact("cannot reach postgresql+psycopg://admin:Tr0ub@dor:Horse99@db.example/prod: timeout")
    for fragment in ("Tr0ub", "dor", "Horse99"):
        assert fragment not in shown
    assert "admin:***@db.example/prod: timeout" in shown


# --- 3. secret-looking values are echoed as four characters at most ---------------------------

TOKEN = "xoxb-1234-5678-abcdefgh"
APP_TOKEN = "xapp-1-A0B1C2-hushhush"
RANDOM = "Zx81kQp2LmN0vB7cT4rY9sWd"  # 24 characters of [A-Za-z0-9], high entropy


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("PORT", TOKEN, "abcdefgh"),
        ("SLACK_POST_RATE", APP_TOKEN, "hushhush"),
        ("X_POLL_SECONDS", RANDOM, RANDOM[4:]),
        ("X_SILENCE_ALERT_HOURS", RANDOM, RANDOM[4:]),
        ("SOURCE_SILENCE_ALERT_HOURS", RANDOM, RANDOM[4:]),
        ("SCHEDULER_TICK_SECONDS", TOKEN, "abcdefgh"),
        ("TRIAGE_COMPLAINT_THRESHOLD", TOKEN, "abcdefgh"),
        ("SLACK_API_URL", TOKEN, "abcdefgh"),
        ("X_API_URL", RANDOM, RANDOM[4:]),
        ("SLACK_COMPLAINTS_CHANNEL", TOKEN, "abcdefgh"),
        ("SLACK_KUDOS_CHANNEL", RANDOM, RANDOM[4:]),
        ("SLACK_SUPPORT_USERGROUP", APP_TOKEN, "hushhush"),
        ("X_USER_ID", RANDOM, RANDOM[4:]),
        ("X_BRAND_HANDLE", RANDOM, RANDOM[4:]),
        ("X_MODE", TOKEN, "abcdefgh"),
        ("NAG_ESCALATION_CONTACT", TOKEN, "abcdefgh"),
        ("TEAM_TIMEZONE", TOKEN, "abcdefgh"),
        ("LOG_LEVEL", RANDOM, RANDOM[4:].upper()),
        ("DIGEST_TIME", TOKEN, "abcdefgh"),
        ("WORKDAY_END", RANDOM, RANDOM[4:]),
        ("NAG_QUIET_HOURS", TOKEN, "abcdefgh"),
        ("NAG_LADDER", f"0:dm,1h:{TOKEN}", "abcdefgh"),
        ("NAG_LADDER", f"{RANDOM}:dm", RANDOM[4:]),
        ("ESCALATION_TIERS", f"Tier 2={TOKEN}", "abcdefgh"),
        ("ESCALATION_TIERS", RANDOM * 4, RANDOM[4:]),
        ("DATABASE_URL", TOKEN, "abcdefgh"),
    ],
)
def test_a_secret_looking_value_is_never_echoed_in_full(name: str, value: str, secret: str):
    problem = only_problem({**GOOD, name: value})
    assert name in problem
    assert secret not in problem
    assert secret.lower() not in problem.lower()


def test_shown_value_keeps_four_characters_of_anything_that_may_be_secret():
    from bot.config import shown_value

    assert shown_value("PORT", TOKEN) == "'xoxb…'"
    assert shown_value("PORT", "xapp-1") == "'xapp…'"
    assert shown_value("PORT", RANDOM) == "'Zx81…'"
    assert shown_value("MY_API_KEY", "abc123") == "'abc1…'"
    assert shown_value("SOME_PASSWORD", "hunter2") == "'hunt…'"
    assert shown_value("TEAM_TIMEZONE", "Mars/Olympus") == "'Mars/Olympus'"
    assert shown_value("LOG_LEVEL", "a" * 30) == repr("a" * 30)  # long, but no entropy


def test_ordinary_values_are_still_echoed_in_full():
    problems = problems_for({**GOOD, "TEAM_TIMEZONE": "Mars/Olympus", "PORT": "eighty", "X_MODE": "firehose"})
    assert "TEAM_TIMEZONE='Mars/Olympus' is not an IANA time zone like Europe/London" in problems
    assert "PORT='eighty' is not a whole number" in problems
    assert "X_MODE='firehose' must be one of mentions, search, stream, mentions+search" in problems
    handle = only_problem({**GOOD, "X_BRAND_HANDLE": "way_too_long_handle_x"})  # long, but words, not a token
    assert handle == "X_BRAND_HANDLE='way_too_long_handle_x' must be an X handle like AcmeSupport"


# --- 4. placeholders from .env.example --------------------------------------------------------

PLACEHOLDER = "{} still holds the placeholder from .env.example; paste the real token"


def test_env_example_still_has_the_placeholders_these_tests_expect():
    example = dotenv_values(ROOT / ".env.example")
    assert example["SLACK_BOT_TOKEN"] == "xoxb-"
    assert example["SLACK_APP_TOKEN"] == "xapp-"
    assert not example["SLACK_SIGNING_SECRET"]  # empty: reported as "is not set"
    assert not example["X_BEARER_TOKEN"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-"),
        ("SLACK_BOT_TOKEN", "xoxb-..."),
        ("SLACK_BOT_TOKEN", "xoxb-…"),
        ("SLACK_BOT_TOKEN", "xoxb-your-token"),
        ("SLACK_BOT_TOKEN", "xoxb-your-bot-token-here"),
        ("SLACK_BOT_TOKEN", "xoxb-<bot token>"),
        ("SLACK_BOT_TOKEN", "xoxb-xxxxxxxx"),
        ("SLACK_APP_TOKEN", "xapp-"),
        ("SLACK_APP_TOKEN", "xapp-..."),
        ("SLACK_APP_TOKEN", "xapp-YOUR-APP-TOKEN"),
    ],
)
def test_a_placeholder_token_is_refused_as_unfilled(name: str, value: str):
    assert only_problem({**GOOD, name: value}) == PLACEHOLDER.format(name)


def test_a_copy_of_env_example_lists_what_is_left_to_fill_in(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text((ROOT / ".env.example").read_text())
    with pytest.raises(SettingsError) as info:
        load_settings({}, dotenv_path=dotenv)
    problems = info.value.problems
    assert PLACEHOLDER.format("SLACK_BOT_TOKEN") in problems
    assert PLACEHOLDER.format("SLACK_APP_TOKEN") in problems
    assert not any(p.startswith(("SLACK_BOT_TOKEN must", "SLACK_APP_TOKEN must")) for p in problems)


def test_a_placeholder_for_a_token_this_process_does_not_need_is_ignored(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text((ROOT / ".env.example").read_text())
    # `db upgrade` straight after copying .env.example: no Slack token is needed yet.
    assert not load_settings({}, mode=None, dotenv_path=dotenv).slack_bot_token
    # HTTP mode needs no app-level token, so the example's xapp- is as good as unset.
    env = {k: v for k, v in GOOD.items() if k != "SLACK_APP_TOKEN"}
    s = load_settings(env, mode=Mode.HTTP, dotenv_path=dotenv)
    assert s.slack_app_token == Secret("")


# --- 5. X_USER_ID= / X_BRAND_HANDLE= present but empty ----------------------------------------

MENTIONS_NEED_A_NAME = "X_USER_ID or X_BRAND_HANDLE must be set to read the brand's mentions"


@pytest.mark.parametrize(
    "named",
    [
        {"X_USER_ID": ""},
        {"X_USER_ID": "   "},
        {"X_BRAND_HANDLE": ""},
        {"X_BRAND_HANDLE": " \t"},
        {"X_USER_ID": "", "X_BRAND_HANDLE": ""},
    ],
)
def test_an_empty_brand_name_counts_as_missing(named: dict[str, str]):
    env = {k: v for k, v in GOOD.items() if k != "X_BRAND_HANDLE"} | named
    assert only_problem(env, role=Role.WORKER) == MENTIONS_NEED_A_NAME


def test_one_filled_brand_name_is_enough():
    env = {k: v for k, v in GOOD.items() if k != "X_BRAND_HANDLE"}
    assert (
        load_settings({**env, "X_USER_ID": "12345", "X_BRAND_HANDLE": ""}, dotenv_path=None).network("x").user_id
        == "12345"
    )
    assert (
        load_settings({**env, "X_USER_ID": " ", "X_BRAND_HANDLE": "Acme"}, dotenv_path=None).network("x").brand_handle
        == "Acme"
    )


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_x_user_id_is_refused_like_a_missing_one(empty: str):
    """``X_USER_ID=`` left blank in .env is not an id: without X_BRAND_HANDLE the mentions mode has
    no account to read, and the problem is the same one a missing X_USER_ID gives."""
    env = {k: v for k, v in GOOD.items() if k != "X_BRAND_HANDLE"}
    missing = only_problem(env)
    assert missing == "X_USER_ID or X_BRAND_HANDLE must be set to read the brand's mentions"
    assert only_problem({**env, "X_USER_ID": empty}) == missing
