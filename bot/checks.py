"""``followthrough check``: is every dependency reachable and set up? One line each, ok or why not."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot import networks
from bot.app import make_slack_client
from bot.common.health import CheckResult, short_reason
from bot.config import Settings
from bot.delivery.worker import counts_by_status
from bot.incidents import semantic
from bot.intake.state import source_statuses
from bot.slack.manifest import MANIFEST_SCOPES
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import InboxItem


def check_database(settings: Settings) -> CheckResult:
    """Reachable and migrated. A SQLite file that does not exist yet, or is behind, is fine: ``run``
    creates and migrates SQLite itself (PostgreSQL is migrated by ``db upgrade``)."""
    name = f"database {settings.database_url_masked}"
    url = make_url(settings.database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database in (None, ""):
        return CheckResult(
            name, False, "no file named: a database in memory loses everything at exit (sqlite:///followthrough.db)"
        )
    if sqlite and url.database == ":memory:":
        return CheckResult(
            name, False, "in memory: everything is lost at exit (use a file, sqlite:///followthrough.db)"
        )
    if sqlite and Path(url.database).is_dir():
        return CheckResult(name, False, f"{url.database} is a folder, not a database file")
    if sqlite and url.database not in (None, "", ":memory:") and not Path(url.database).exists():
        folder = Path(url.database).resolve().parent
        if not folder.is_dir():
            return CheckResult(name, False, f"the folder {Path(url.database).parent} does not exist")
        if not os.access(folder, os.W_OK):
            return CheckResult(name, False, f"the folder {Path(url.database).parent} is not writable by this user")
        return CheckResult(name, True, "will be created and migrated on first run")
    try:
        engine = make_engine(settings.database_url)
        try:
            state = migrate.schema_state(engine)
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        return CheckResult(name, False, f"unreachable: {short_reason(exc)}")
    if not state.up_to_date and sqlite:
        return CheckResult(name, True, f"schema at {state.current or 'empty'}; `run` migrates it to {state.head}")
    if not state.up_to_date:
        return CheckResult(
            name, False, f"schema at {state.current or 'empty'}, needs {state.head}: run `followthrough db upgrade`"
        )
    return CheckResult(name, True, f"reachable, schema at {state.head}")


def check_slack(settings: Settings) -> CheckResult:
    if not settings.slack_bot_token:
        return CheckResult("slack", False, "SLACK_BOT_TOKEN is not set")
    try:
        answer = make_slack_client(settings).auth_test()
    except SlackApiError as exc:
        return CheckResult("slack", False, f"auth.test refused: {exc.response.get('error', 'unknown error')}")
    except Exception as exc:  # network errors of every shape: report, don't crash the check
        return CheckResult("slack", False, f"auth.test failed: {short_reason(exc)}")
    who = f"token valid for team {answer.get('team')} as {answer.get('user')}"
    header = {k.lower(): v for k, v in (answer.headers or {}).items()}.get("x-oauth-scopes")
    if header is None:
        return CheckResult("slack", True, f"{who}; Slack did not say which scopes it granted")
    missing = sorted(MANIFEST_SCOPES - {s.strip() for s in str(header).split(",") if s.strip()})
    if missing:
        return CheckResult(
            "slack",
            False,
            f"{who}, but without the scope(s) {', '.join(missing)} that slack-manifest.yml asks for: "
            "update the app from the manifest and reinstall it to the workspace",
        )
    return CheckResult("slack", True, f"{who}, with every scope the manifest asks for")


def check_slack_channels(settings: Settings) -> CheckResult:
    """The app is a member of every channel it posts to: a private channel it was never invited to
    refuses every post (the report, an escalation) with ``channel_not_found``."""
    if not settings.slack_bot_token:
        return CheckResult("slack channels", False, "SLACK_BOT_TOKEN is not set")
    wanted = {
        "SLACK_COMPLAINTS_CHANNEL": settings.slack_complaints_channel,
        "SLACK_ESCALATION_CHANNEL": settings.slack_escalation_channel,
        "SLACK_KUDOS_CHANNEL": settings.slack_kudos_channel,
        "SLACK_REPORT_CHANNEL": settings.slack_report_channel,
    }
    client = make_slack_client(settings)
    problems, fine = [], []
    for name, channel in wanted.items():
        if not channel:
            continue
        try:
            info = client.conversations_info(channel=channel)["channel"]
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown error")
            why = "the app cannot see it (a private channel it is not in?)" if error == "channel_not_found" else error
            problems.append(f"{name}={channel}: {why} — /invite the app there")
            continue
        except Exception as exc:
            return CheckResult("slack channels", False, f"conversations.info failed: {short_reason(exc)}")
        if info.get("is_archived"):
            problems.append(f"{name}={channel}: archived")
        elif not info.get("is_member"):
            problems.append(f"{name}={channel}: the app is not a member — /invite it there")
        else:
            fine.append(name)
    if problems:
        return CheckResult("slack channels", False, "; ".join(problems))
    return CheckResult("slack channels", True, f"a member of {len(fine)} channel(s): {', '.join(fine)}")


def check_escalation(settings: Settings) -> CheckResult:
    """Where a broken promise goes: the ladder's last rung names a contact (NAG_ESCALATION_CONTACT,
    else the first ESCALATION_TIERS contact) in the escalation channel. With none, the notice is
    posted mentioning nobody — the one message that must reach someone would reach no one."""
    if not any(kind == "escalate" for _, kind in settings.nag_ladder):
        return CheckResult("escalation", True, "NAG_LADDER has no escalate rung: broken promises are not escalated")
    contact = settings.nag_escalation_contact or next((c for _, c in settings.escalation_tiers if c), None)
    channel = settings.slack_escalation_channel
    if contact is None:
        return CheckResult(
            "escalation",
            True,
            f"a broken promise is posted in {channel} mentioning nobody: set NAG_ESCALATION_CONTACT to a user "
            "(U…) or user group (S…), or give a tier a contact (ESCALATION_TIERS=Tier 2:S0123ABCD,…)",
            warn=True,
        )
    where = f"a DM to <{contact}>" if contact[0] in "UW" else f"{channel}, mentioning the group {contact}"
    return CheckResult("escalation", True, f"a broken promise goes to {where}")


def check_sources(settings: Settings) -> CheckResult:
    """What is read: the selected networks (and the webhook's sources), or a warning that nothing is."""
    chosen = networks.selected(settings)
    shown = []
    for name in chosen:
        if name == "webhook":
            hooks = networks.ingest_sources(settings)
            shown.append(f"webhook ({', '.join(hooks)})" if hooks else "webhook")
        else:
            shown.append(networks.label(name)[0])
    if not shown:
        return CheckResult(
            "reading",
            True,
            "no network is set up: only posts from `run --replay FILE` are read (see docs/networks.md)",
            warn=True,
        )
    return CheckResult("reading", True, ", ".join(shown))


def check_incidents(settings: Settings) -> CheckResult:
    """When a topic becomes one incident, and what answering its customers depends on: the networks
    whose reply keys are set (the others' customers are listed to be answered by hand)."""
    if settings.incident_min_authors <= 0:
        return CheckResult("incidents", True, "off (INCIDENT_MIN_AUTHORS=0): every post is its own card")
    answers = sorted(networks.reply_sources(settings))
    reading = [n for n in networks.selected(settings) if n != "webhook"]
    replied = ", ".join(networks.label(n)[0] for n in answers) or "no network"
    detail = (
        f"{settings.incident_min_authors} customers on one topic within {settings.incident_window_minutes} min "
        f"make an incident (and 4× the usual for that hour of the week once 4 weeks of posts exist); "
        f"its updates are answered on {replied}"
    )
    unanswered = [networks.label(n)[0] for n in reading if n not in answers]
    if settings.incident_suggest_margin >= 1.0:
        detail += "; no suggestions for cards it leaves out (INCIDENT_SUGGEST_MARGIN=1)"
    elif (problem := semantic.missing()) is not None:
        detail += f"; suggestions for cards it leaves out are off: {problem}"
    else:
        margin, join = settings.incident_suggest_margin, settings.incident_join_margin
        detail += f"; a card it leaves out that reads like an open incident is offered to it (margin {margin:g})"
        if join < 1.0:
            detail += f", and joins it by itself from margin {join:g}"
    off = settings.incident_suggest_margin < 1.0 and semantic.missing() is not None
    if settings.incident_min_authors < 5:
        return CheckResult(
            "incidents",
            True,
            detail + f": {settings.incident_min_authors} is few — ordinary busy hours will look like outages",
            warn=True,
        )
    if unanswered:
        return CheckResult(
            "incidents",
            True,
            detail + f"; customers on {', '.join(unanswered)} will have to be answered by hand (no reply keys)",
            warn=True,
        )
    return CheckResult("incidents", True, detail, warn=off)


def check_socket_mode(settings: Settings) -> CheckResult:
    """The app-level token opens Socket Mode connections (``apps.connections.open``)."""
    if not settings.slack_app_token:
        return CheckResult("socket mode", False, "SLACK_APP_TOKEN is not set (or use --http)")
    try:
        make_slack_client(settings).apps_connections_open(app_token=settings.slack_app_token.reveal())
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error")
        return CheckResult("socket mode", False, f"apps.connections.open refused the app token: {error}")
    except Exception as exc:
        return CheckResult("socket mode", False, f"apps.connections.open failed: {short_reason(exc)}")
    return CheckResult("socket mode", True, "the app-level token can open connections")


CHECKS: tuple[Callable[[Settings], CheckResult], ...] = (
    check_database,
    check_slack,
    check_slack_channels,
    check_escalation,
    check_sources,
    check_incidents,
    *networks.checks(),
)
"""The database and Slack, then each network's own lines (``Network.checks``), in the registry's order."""


def run_checks(settings: Settings, *, socket_mode: bool = False) -> list[CheckResult]:
    checks = (*CHECKS, check_socket_mode) if socket_mode else CHECKS
    return [check(settings) for check in checks]


def backlog_lines(settings: Settings) -> list[str]:
    """What needs a person: deliveries set aside (our bug) or dead (refused by Slack), and raw posts
    that could not be ingested — each with what to do. Empty when there is nothing to say."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            deliveries = counts_by_status(session)
            skipped = session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status == "skipped"))
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()
    lines = [f"deliveries: {deliveries.get('pending', 0)} pending, {deliveries.get('sent', 0)} sent"]
    if deliveries.get("set_aside"):
        lines.append(
            f"SET ASIDE {deliveries['set_aside']} delivery(ies): Followthrough's own code failed on them (the log "
            "has each traceback); they wait for a fix and are not retried"
        )
    if deliveries.get("dead"):
        lines.append(f"DEAD {deliveries['dead']} delivery(ies): Slack refused them for good (the log says why)")
    if skipped:
        lines.append(f"SKIPPED {skipped} raw post(s) that could not be ingested (kept in the inbox with the reason)")
    return lines


def source_lines(settings: Settings) -> list[str]:
    """Each source's health (last post, quiet, last error), from the database; empty if unreachable."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            statuses = source_statuses(
                session, now=datetime.now(UTC), silence=timedelta(hours=settings.source_silence_alert_hours)
            )
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()
    return [status.line() for status in statuses]
