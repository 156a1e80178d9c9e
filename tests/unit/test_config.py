"""Settings: every problem reported at once, per mode; secrets never shown."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import Mode, Role, SettingsError, load_settings, mask_url, parse_quiet_hours

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-secretbot",
    "SLACK_APP_TOKEN": "xapp-1-secretapp",
    "SLACK_SIGNING_SECRET": "shhh-signing",
    "SLACK_COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "SLACK_ESCALATION_CHANNEL": "C0ESCALATE",
    "X_BEARER_TOKEN": "AAAAsecretbearer",
    "X_BRAND_HANDLE": "@AcmeHelp",
}


def load(env: dict[str, str], **kwargs) -> object:
    return load_settings(env, dotenv_path=None, **kwargs)


def test_good_settings_load_with_defaults():
    s = load(GOOD)
    assert s.slack_complaints_channel == "C0COMPLAIN"
    assert s.network("x").brand_handle == "AcmeHelp"
    assert s.database_url == "sqlite:///followthrough.db"
    assert s.team_timezone == "UTC"
    assert s.digest_time == time(9, 0)
    assert s.scheduler_tick_seconds == 30
    assert s.nag_quiet_hours.start == time(20, 0)
    assert s.nag_quiet_hours.end == time(8, 0)
    assert s.nag_quiet_hours.weekends is True


def test_every_problem_is_listed_in_one_error():
    env = {
        "SLACK_BOT_TOKEN": "not-a-bot-token",
        "SLACK_COMPLAINTS_CHANNEL": "#complaints",
        "TEAM_TIMEZONE": "Mars/Olympus",
        "DIGEST_TIME": "9am",
        "SCHEDULER_TICK_SECONDS": "soon",
        "NAG_QUIET_HOURS": "nights",
        "DATABASE_URL": "mysql://u:hunter2@db/x",
    }
    with pytest.raises(SettingsError) as info:
        load(env)
    problems = info.value.problems
    rendered = info.value.render()
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_COMPLAINTS_CHANNEL",
        "SLACK_ESCALATION_CHANNEL",
        "X_BEARER_TOKEN",
        "TEAM_TIMEZONE",
        "DIGEST_TIME",
        "SCHEDULER_TICK_SECONDS",
        "NAG_QUIET_HOURS",
        "DATABASE_URL",
    ):
        assert any(p.startswith(name) or name in p for p in problems), name
    assert "hunter2" not in rendered
    assert len(problems) >= 10


def test_mode_decides_which_slack_secret_is_required():
    socket_env = {k: v for k, v in GOOD.items() if k != "SLACK_SIGNING_SECRET"}
    assert load(socket_env, mode=Mode.SOCKET).slack_app_token
    with pytest.raises(SettingsError) as info:
        load(socket_env, mode=Mode.HTTP)
    assert [p for p in info.value.problems if "SLACK_SIGNING_SECRET" in p]

    http_env = {k: v for k, v in GOOD.items() if k != "SLACK_APP_TOKEN"}
    assert load(http_env, mode=Mode.HTTP).slack_signing_secret
    with pytest.raises(SettingsError) as info:
        load(http_env, mode=Mode.SOCKET)
    assert [p for p in info.value.problems if "SLACK_APP_TOKEN" in p]


def test_worker_and_replay_need_no_listener_or_x_credentials():
    env = {k: GOOD[k] for k in ("SLACK_BOT_TOKEN", "SLACK_COMPLAINTS_CHANNEL", "SLACK_ESCALATION_CHANNEL")}
    s = load(env, role=Role.WORKER, replay=True)
    assert not s.network("x").bearer_token
    with pytest.raises(SettingsError) as info:
        load(env, role=Role.WORKER, replay=False)
    assert any("X_BEARER_TOKEN" in p for p in info.value.problems)


def test_db_commands_need_no_slack_settings():
    s = load({"DATABASE_URL": "postgres://u:p@h/db"}, mode=None)
    assert s.database_url == "postgresql+psycopg://u:p@h/db"


def test_secrets_are_masked_in_repr():
    s = load({**GOOD, "DATABASE_URL": "postgresql+psycopg://bot:topsecretpw@db/prod"})
    shown = repr(s) + str(s)
    for secret in ("secretbot", "secretapp", "shhh-signing", "secretbearer", "topsecretpw"):
        assert secret not in shown
    assert "bot:***@db/prod" in shown
    assert s.slack_bot_token.reveal() == "xoxb-1-2-secretbot"


def test_dotenv_is_read_but_real_environment_wins(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("TEAM_TIMEZONE=Europe/London\nDIGEST_TIME=10:30\n")
    s = load_settings({**GOOD, "TEAM_TIMEZONE": "America/New_York"}, dotenv_path=dotenv)
    assert s.team_timezone == "America/New_York"
    assert s.digest_time == time(10, 30)


@pytest.mark.parametrize(
    ("text", "start", "end", "weekends"),
    [
        ("20:00-08:00,weekends", time(20), time(8), True),
        ("weekends", None, None, True),
        ("22:30-07:00", time(22, 30), time(7), False),
        ("off", None, None, False),
    ],
)
def test_quiet_hours(text, start, end, weekends):
    q = parse_quiet_hours(text)
    assert (q.start, q.end, q.weekends) == (start, end, weekends)


@pytest.mark.parametrize("bad", ["20:00", "25:00-08:00", "nights", "08:00-08:00"])
def test_bad_quiet_hours_rejected(bad):
    with pytest.raises(ValueError, match=r"\S"):
        parse_quiet_hours(bad)


def test_mask_url_hides_password_even_when_unparseable():
    assert mask_url("postgresql+psycopg://u:pw@h:5432/d") == "postgresql+psycopg://u:***@h:5432/d"
    assert "pw" not in mask_url("weird://u:pw@h/d")


def test_slack_api_url_gets_trailing_slash():
    assert load({**GOOD, "SLACK_API_URL": "http://127.0.0.1:9/api"}).slack_api_url == "http://127.0.0.1:9/api/"


def test_escalation_tiers():
    s = load({**GOOD, "ESCALATION_TIERS": "Tier 2=S0TIER02; Comms lead=U0COMMS1;Legal"})
    assert s.escalation_tiers == (("Tier 2", "S0TIER02"), ("Comms lead", "U0COMMS1"), ("Legal", None))
    assert load(GOOD).escalation_tiers[0] == ("Tier 2", None)
    with pytest.raises(SettingsError, match="not a user group"):
        load({**GOOD, "ESCALATION_TIERS": "Tier 2=#tier2"})


def test_nag_ladder_and_workday_end():
    s = load({**GOOD, "NAG_LADDER": "0:dm, 2h:thread, 8:escalate", "WORKDAY_END": "18:30"})
    assert s.nag_ladder == ((0.0, "dm"), (2.0, "thread"), (8.0, "escalate"))
    assert s.workday_end == time(18, 30)
    assert load(GOOD).nag_ladder[-1] == (24.0, "escalate")
    with pytest.raises(SettingsError) as info:
        load({**GOOD, "NAG_LADDER": "1h:dm,0:thread", "NAG_ESCALATION_CONTACT": "#boss"})
    assert any("increase" in p for p in info.value.problems)
    assert any("NAG_ESCALATION_CONTACT" in p for p in info.value.problems)


def test_the_slack_stand_in_grants_exactly_the_scopes_the_manifest_asks_for():
    """The stand-in refuses a method whose scope the app lacks (as Slack does); it must know the
    manifest's real list, or a missing scope (im:history once) passes every test and fails in Slack."""
    import re
    from pathlib import Path

    from bot.devtools.slack_api import MANIFEST_SCOPES

    manifest = (Path(__file__).resolve().parents[2] / "slack-manifest.yml").read_text()
    bot_scopes = manifest.split("bot:", 1)[1].split("settings:", 1)[0]
    assert set(re.findall(r"^\s+-\s+([a-z_:.]+)", bot_scopes, re.M)) == MANIFEST_SCOPES


def test_more_escalation_tiers_than_a_slack_select_holds_are_refused():
    from bot.config import SettingsError, load_settings

    tiers = ";".join(f"Tier {i}" for i in range(101))
    with pytest.raises(SettingsError) as info:
        load_settings({"ESCALATION_TIERS": tiers}, mode=None, dotenv_path=None)
    assert "at most 100" in info.value.render()


def test_the_apps_messages_tab_is_on_and_read_only():
    """Nags (with Kept / Reschedule / Cancel) and the report's chart go to the person's DM with the app:
    with the Messages tab off, Slack hides that conversation once they leave it, and they cannot get
    back to them. On, and read-only: nobody types to the bot there."""
    manifest = (Path(__file__).resolve().parents[2] / "slack-manifest.yml").read_text()
    app_home = manifest.split("app_home:", 1)[1].split("bot_user:", 1)[0]
    settings = dict(line.strip().split(": ", 1) for line in app_home.strip().splitlines())
    assert settings == {
        "home_tab_enabled": "true",
        "messages_tab_enabled": "true",
        "messages_tab_read_only_enabled": "true",
    }


def test_the_complaints_usage_hint_names_every_subcommand_within_slacks_limit():
    """Slack shows the manifest's usage hint as people type /complaints: the only place they learn a
    subcommand exists without asking for help. It once named six of the nine (no skipped, triage or
    move). Slack's manifest schema allows 1,000 characters."""
    import re

    from bot.slack.listeners.complaints_command import REGISTRY

    manifest = (Path(__file__).resolve().parents[2] / "slack-manifest.yml").read_text()
    command = manifest.split("- command: /complaints", 1)[1].split("- command:", 1)[0]
    hint = re.search(r'usage_hint: "([^"]*)"', command)
    assert hint is not None
    named = {part.split()[0] for part in hint.group(1).split(" | ")}
    assert named == {sub.name for sub in REGISTRY} | {"help"}
    assert len(hint.group(1)) <= 1000


def test_the_recall_target_sets_the_rules_threshold_unless_one_is_given():
    """#26's knob: TRIAGE_RECALL_TARGET picks the rules' threshold measured to keep that recall;
    an explicit TRIAGE_COMPLAINT_THRESHOLD wins; out of range is refused."""
    from bot.triage.classify import threshold_for_recall

    default = load({**GOOD})
    assert default.triage_recall_target == 0.80
    assert default.triage_complaint_threshold == threshold_for_recall(0.80) == 0.55
    more = load({**GOOD, "TRIAGE_RECALL_TARGET": "0.85"})
    assert more.triage_complaint_threshold == 0.20 < default.triage_complaint_threshold
    between = load({**GOOD, "TRIAGE_RECALL_TARGET": "0.775"})
    assert 0.55 < between.triage_complaint_threshold < 1.0
    assert (
        load({**GOOD, "TRIAGE_RECALL_TARGET": "0.85", "TRIAGE_COMPLAINT_THRESHOLD": "1.3"}).triage_complaint_threshold
        == 1.3
    )
    with pytest.raises(SettingsError, match="TRIAGE_RECALL_TARGET"):
        load({**GOOD, "TRIAGE_RECALL_TARGET": "1.5"})


def test_incident_settings_are_read_checked_and_said_by_check():
    from bot.checks import check_incidents

    s = load({**GOOD, "INCIDENT_MIN_AUTHORS": "40", "INCIDENT_WINDOW_MINUTES": "20"})
    assert (s.incident_min_authors, s.incident_window_minutes) == (40, 20)
    line = check_incidents(s).line()
    assert "40 customers on one topic within 20 min" in line
    assert "answered by hand" in line  # X is read but its reply keys are not set
    assert check_incidents(load({**GOOD, "INCIDENT_MIN_AUTHORS": "0"})).detail.startswith("off")
    assert check_incidents(load({**GOOD, "INCIDENT_MIN_AUTHORS": "3"})).warn
    with pytest.raises(SettingsError) as caught:
        load({**GOOD, "INCIDENT_MIN_AUTHORS": "many", "INCIDENT_WINDOW_MINUTES": "0"})
    assert "INCIDENT_MIN_AUTHORS" in str(caught.value)
    assert "INCIDENT_WINDOW_MINUTES" in str(caught.value)


def test_incident_suggestions_are_said_by_check_and_a_missing_model_is_a_warning(monkeypatch):
    from bot.checks import check_incidents
    from bot.incidents import semantic

    assert "offered to it (margin 0.03)" in check_incidents(load(GOOD)).line()
    off = check_incidents(load({**GOOD, "INCIDENT_SUGGEST_MARGIN": "1"}))
    assert "no suggestions" in off.line()
    assert load({**GOOD, "INCIDENT_SUGGEST_MARGIN": "0.2"}).incident_suggest_margin == 0.2
    assert "joins it by itself from margin 0.06" in check_incidents(load(GOOD)).line()
    ask_only = load({**GOOD, "INCIDENT_JOIN_MARGIN": "1"})
    assert ask_only.incident_join_margin == 1.0
    assert "joins it by itself" not in check_incidents(ask_only).line()
    with pytest.raises(SettingsError, match="INCIDENT_JOIN_MARGIN"):
        load({**GOOD, "INCIDENT_JOIN_MARGIN": "2"})
    with pytest.raises(SettingsError, match="INCIDENT_SUGGEST_MARGIN"):
        load({**GOOD, "INCIDENT_SUGGEST_MARGIN": "2"})
    monkeypatch.setattr(semantic, "TOKENIZER", semantic.TOKENIZER.with_name("gone.json"))
    missing = check_incidents(load({**GOOD, "INCIDENT_MIN_AUTHORS": "40"}))
    assert missing.warn
    assert "suggestions for cards it leaves out are off: the tokenizer file gone.json is missing" in missing.line()
