"""``followthrough check``: is every dependency reachable and set up? One line each, ok or why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.store import migrate
from bot.store.db import make_engine


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok    ' if self.ok else 'FAILED'} {self.name}: {self.detail}"


def short_reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def check_database(settings: Settings) -> CheckResult:
    """Reachable and migrated. A SQLite file that does not exist yet, or is behind, is fine: ``run``
    creates and migrates SQLite itself (PostgreSQL is migrated by ``db upgrade``)."""
    name = f"database {settings.database_url_masked}"
    url = make_url(settings.database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database not in (None, "", ":memory:") and not Path(url.database).exists():
        if not Path(url.database).resolve().parent.is_dir():
            return CheckResult(name, False, f"the folder {Path(url.database).parent} does not exist")
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
    from slack_sdk.errors import SlackApiError

    from bot.app import make_slack_client

    if not settings.slack_bot_token:
        return CheckResult("slack", False, "SLACK_BOT_TOKEN is not set")
    try:
        answer = make_slack_client(settings).auth_test()
    except SlackApiError as exc:
        return CheckResult("slack", False, f"auth.test refused: {exc.response.get('error', 'unknown error')}")
    except Exception as exc:  # network errors of every shape: report, don't crash the check
        return CheckResult("slack", False, f"auth.test failed: {short_reason(exc)}")
    return CheckResult("slack", True, f"token valid for team {answer.get('team')} as {answer.get('user')}")


def check_x(settings: Settings) -> CheckResult:
    import tweepy

    from bot.networks.x.client import make_x_client

    if not settings.x_bearer_token:
        return CheckResult("x", True, "X_BEARER_TOKEN not set: X sources are off (replay only)")
    client = make_x_client(settings.x_bearer_token.reveal(), settings.x_api_url, timeout=15)
    try:
        if settings.x_user_id:
            answer = client.get_user(id=settings.x_user_id)
        elif settings.x_brand_handle:
            answer = client.get_user(username=settings.x_brand_handle)
        else:
            return CheckResult("x", False, "set X_USER_ID or X_BRAND_HANDLE so the brand account can be checked")
    except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
        return CheckResult("x", False, f"credentials refused ({exc.response.status_code}): bad, expired or unpaid")
    except Exception as exc:
        return CheckResult("x", False, f"unreachable: {short_reason(exc)}")
    if not answer.data:
        return CheckResult("x", False, "the brand account was not found")
    return CheckResult("x", True, f"credentials valid; brand account @{answer.data.username} ({answer.data.id})")


def check_socket_mode(settings: Settings) -> CheckResult:
    """The app-level token opens Socket Mode connections (``apps.connections.open``)."""
    from slack_sdk.errors import SlackApiError

    from bot.app import make_slack_client

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


def check_bluesky(settings: Settings) -> CheckResult:
    """The handle and app password log in (one createSession: Bluesky allows 30 per 5 minutes)."""
    from bot.common.clock import SystemClock
    from bot.networks.bluesky.client import BlueskyAuthError
    from bot.networks.bluesky.source import make_session

    if not settings.bluesky_handle:
        return CheckResult("bluesky", True, "BLUESKY_HANDLE not set: Bluesky is off")
    session = make_session(settings, SystemClock())
    try:
        did = session.did
    except BlueskyAuthError as exc:
        return CheckResult("bluesky", False, f"{exc}: create a new app password and set BLUESKY_APP_PASSWORD")
    except Exception as exc:
        return CheckResult("bluesky", False, f"{session.service_url} unreachable: {short_reason(exc)}")
    finally:
        session.close()
    return CheckResult("bluesky", True, f"app password valid; brand account @{settings.bluesky_handle} ({did})")


def check_mastodon(settings: Settings) -> CheckResult:
    """The token works, can read notifications, and the instance says how long a reply may be."""
    from mastodon import errors as m_errors

    from bot.networks.mastodon.source import make_client

    if not settings.mastodon_base_url or not settings.mastodon_access_token:
        return CheckResult("mastodon", True, "MASTODON_BASE_URL not set: Mastodon is off")
    client, _ = make_client(settings.mastodon_base_url, settings.mastodon_access_token.reveal(), timeout=15)
    try:
        me = client.me()
        client.notifications(types=["mention"], limit=1)
        instance = client.instance_v2()
    except m_errors.MastodonUnauthorizedError:
        return CheckResult("mastodon", False, "access token refused (401): revoked or mistyped MASTODON_ACCESS_TOKEN")
    except m_errors.MastodonAPIError as exc:
        status = exc.args[1] if len(exc.args) > 1 else "?"
        return CheckResult("mastodon", False, f"refused ({status}): the token needs the read and write:statuses scopes")
    except Exception as exc:
        return CheckResult("mastodon", False, f"{settings.mastodon_base_url} unreachable: {short_reason(exc)}")
    limit = ((instance.get("configuration") or {}).get("statuses") or {}).get("max_characters", "?")
    return CheckResult(
        "mastodon",
        True,
        f"token valid; brand account @{me.get('acct')} on {settings.mastodon_base_url}; "
        f"replies up to {limit} characters",
    )


def check_x_replies(settings: Settings) -> CheckResult:
    """Replying from the card: the brand account's OAuth 1.0a keys, tried with ``GET /2/users/me``."""
    import tweepy

    from bot.networks.x.reply import make_user_client

    if not settings.x_can_reply:
        return CheckResult(
            "x replies",
            True,
            "off: set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET to reply from the card "
            "(cards offer “Open on X” meanwhile)",
        )
    client = make_user_client(
        settings.x_api_key.reveal(),
        settings.x_api_secret.reveal(),
        settings.x_access_token.reveal(),
        settings.x_access_token_secret.reveal(),
        settings.x_api_url,
    )
    try:
        me = client.get_me(user_auth=True)
    except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
        return CheckResult("x replies", False, f"the brand's OAuth 1.0a keys were refused ({exc.response.status_code})")
    except Exception as exc:
        return CheckResult("x replies", False, f"unreachable: {short_reason(exc)}")
    if not me.data:
        return CheckResult("x replies", False, "X did not say whose keys these are")
    handle = str(me.data.username)
    if settings.x_brand_handle and handle.lower() != settings.x_brand_handle.lower():
        return CheckResult(
            "x replies", False, f"the keys belong to @{handle}, not the brand @{settings.x_brand_handle}"
        )
    return CheckResult("x replies", True, f"set up: replies are posted as @{handle}")


CHECKS: tuple[Callable[[Settings], CheckResult], ...] = (
    check_database,
    check_slack,
    check_x,
    check_x_replies,
    check_bluesky,
    check_mastodon,
)


def run_checks(settings: Settings, *, socket_mode: bool = False) -> list[CheckResult]:
    checks = (*CHECKS, check_socket_mode) if socket_mode else CHECKS
    return [check(settings) for check in checks]


def backlog_lines(settings: Settings) -> list[str]:
    """What needs a person: deliveries set aside (our bug) or dead (refused by Slack), and raw posts
    that could not be ingested — each with what to do. Empty when there is nothing to say."""
    from sqlalchemy import func, select

    from bot.delivery.worker import counts_by_status
    from bot.store.db import make_sessionmaker
    from bot.store.models import InboxItem

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
    from datetime import UTC, datetime, timedelta

    from bot.intake.state import source_statuses
    from bot.store.db import make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            statuses = source_statuses(
                session, now=datetime.now(UTC), silence=timedelta(hours=settings.x_silence_alert_hours)
            )
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()
    return [status.line() for status in statuses]
