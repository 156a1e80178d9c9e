"""Settings: one typed, validated object built from the environment.

Why one object: every part of the bot (Slack listener, X sources, poster, scheduler) reads its
configuration from here, so a mistake is found once, at start-up, and reported together with every
other mistake — an operator fixing a deploy wants the whole list, not one error per restart.
Nothing here runs at import time; ``load_settings`` is called by the CLI (the composition root).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, time
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot import networks
from bot.common.envfile import load_dotenv_into
from bot.common.secret import Secret
from bot.common.settings_reader import Reader, masked, may_be_secret, shown_value
from bot.promises.due import parse_holidays
from bot.promises.quiet import QuietHours
from bot.triage.classify import DEFAULT_RECALL_TARGET, threshold_for_recall

DEFAULT_DATABASE_URL = "sqlite:///followthrough.db"


_ENCODING_ADVICE = "special characters in the password (@ : / ? # %) must be percent-encoded (e.g. @ as %40)"
_QUERY_PASSWORD = re.compile(r"(?i)([?&]\w*password=)[^&#]*")
# Up to the *last* @: an unencoded @ in the password must not leave the password's tail on show.
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
# No @ at all: whatever follows the first colon may be a password that lost its @host.
_AFTER_FIRST_COLON = re.compile(r"(://[^:/@?#]*:)[^/?#]*")


def _has_unencoded_at(url: str) -> bool:
    """Whether an @ beyond the userinfo separator shows a password that was pasted without encoding.

    make_url splits at the first @ and either fails on the rest (a "port" like ``Horse99@db``) or,
    worse, takes the password's tail for the host. An @ is rare enough in a host, port, database
    name or option, and %40 works there too, that any second @ is treated as this mistake.
    """
    _, sep, rest = url.partition("://")
    return bool(sep) and not rest.startswith("/") and rest.count("@") > 1


def _mask_unparsed(url: str) -> str:
    masked, found = _USERINFO_PASSWORD.subn(r"\1***@", url, count=1)
    return masked if found else _AFTER_FIRST_COLON.sub(r"\1***", url, count=1)


def mask_url(url: str) -> str:
    """Show a database URL with its password replaced, for error messages and logs.

    A URL that make_url cannot split reliably is masked by pattern instead, erring towards hiding
    too much; a password passed as a query option (``?password=``, ``?sslpassword=``) is hidden too.
    """
    masked: str | None = None
    if not _has_unencoded_at(url):
        try:
            masked = make_url(url).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            masked = None
    return _QUERY_PASSWORD.sub(r"\1***", masked if masked is not None else _mask_unparsed(url))


class Mode(StrEnum):
    """How Slack reaches us: Socket Mode needs no public URL; HTTP mode scales behind a load balancer."""

    SOCKET = "socket"
    HTTP = "http"


class Role(StrEnum):
    """Which parts of the bot a process runs, for split deployments (Procfile web / worker)."""

    WEB = "web"
    WORKER = "worker"
    ALL = "all"


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with. Built only by ``load_settings`` (or tests)."""

    slack_bot_token: Secret = field(default_factory=lambda: Secret(""))
    slack_app_token: Secret = field(default_factory=lambda: Secret(""))
    slack_signing_secret: Secret = field(default_factory=lambda: Secret(""))
    slack_api_url: str | None = None
    slack_complaints_channel: str = ""
    slack_escalation_channel: str = ""
    slack_kudos_channel: str | None = None
    slack_support_usergroup: str | None = None
    slack_team_allow_guests: bool = False
    slack_team_allow_external: bool = False
    """People from another organisation in a Slack Connect channel may act on cards."""
    slack_post_rate: float = 1.0

    networks: dict[str, Any] = field(default_factory=networks.default_settings)
    """Each network's own section by name (``bot/networks/<name>/settings.py``); read it with ``network``."""
    sources: tuple[str, ...] = ()
    """SOURCES as given; empty: every configured source (``bot.networks.selected``)."""
    source_silence_alert_hours: float = 6.0
    """Hours without any post before a source is reported quiet."""
    follow_up_days: int = 7
    incident_min_authors: int = 15
    """Distinct customers posting on one topic within the window that make an incident; 0: never."""
    incident_window_minutes: int = 30
    incident_suggest_margin: float = 0.03
    """How much nearer to an incident than to ordinary complaints a left-out card must read for its
    card to suggest the incident (``bot/incidents/suggest.py``); 1: never."""
    incident_join_margin: float = 0.06
    """From this margin on, a left-out post joins the incident by itself (its card says so, and who
    disagrees takes it out); 1: never — every such post is only suggested."""

    database_url: str = DEFAULT_DATABASE_URL

    team_timezone: str = "UTC"
    digest_time: time = time(9, 0)
    report_time: time = time(9, 0)
    """When the weekly report goes out on Mondays, team time."""
    slack_report_channel: str | None = None
    """Where the weekly report goes; the complaints channel when unset."""
    scheduler_tick_seconds: int = 30
    nag_quiet_hours: QuietHours = field(default_factory=lambda: QuietHours(time(20, 0), time(8, 0), weekends=True))

    escalation_tiers: tuple[tuple[str, str | None], ...] = (("Tier 2", None), ("Tier 3", None), ("Comms lead", None))
    workday_end: time = time(17, 0)
    promise_holidays: frozenset[date] = frozenset()
    nag_ladder: tuple[tuple[float, str], ...] = ((0.0, "dm"), (1.0, "thread"), (4.0, "channel"), (24.0, "escalate"))
    nag_escalation_contact: str | None = None

    triage_recall_target: float = DEFAULT_RECALL_TARGET
    """Complaint recall triage aims at: the rules' threshold follows it, and a trained model's
    threshold is chosen to keep it on cross-validated labels."""
    triage_complaint_threshold: float = field(default_factory=lambda: threshold_for_recall(DEFAULT_RECALL_TARGET))
    triage_praise_threshold: float = 0.5
    triage_retrain_time: time | None = time(2, 0)
    """Local time of the nightly retraining (team time zone); None: only after every 100 new labels."""

    port: int = 3000
    log_level: str = "INFO"

    def secrets(self) -> list[str]:
        """Every secret value set (Slack's, each network's, the database password): the log redacts them."""
        found = [v.reveal() for v in (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret) if v]
        for section in self.networks.values():
            for f in fields(section):
                value = getattr(section, f.name)
                if isinstance(value, Secret) and value:
                    found.append(value.reveal())
                elif f.name == "secrets":  # the webhook's (source, secret) pairs
                    found.extend(secret.reveal() for _, secret in value)
        password = make_url(self.database_url).password if "://" in self.database_url else None
        if password:
            found.append(str(password))
        return found

    def network(self, name: str) -> Any:
        """One network's section (its package's ``settings.of`` gives it typed)."""
        return self.networks[name]

    def with_network(self, name: str, **changes: Any) -> Settings:
        """A copy with some of one network's settings changed (tests, tools)."""
        sections = {**self.networks, name: replace(self.networks[name], **changes)}
        return replace(self, networks=sections)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.team_timezone)

    @property
    def report_channel(self) -> str:
        return self.slack_report_channel or self.slack_complaints_channel

    @property
    def database_url_masked(self) -> str:
        return mask_url(self.database_url)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "database_url":
                value = self.database_url_masked
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"


class SettingsError(Exception):
    """Raised with every problem found, so start-up can print them all at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"Followthrough cannot start: {len(self.problems)} setting problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        lines.append("Set these in the environment or in .env (see .env.example).")
        return "\n".join(lines)


_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day like 09:00")
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet_hours(text: str) -> QuietHours:
    """Read ``20:00-08:00,weekends`` / ``weekends`` / ``20:00-08:00`` / ``off``."""
    text = text.strip().lower()
    if text in ("off", "none", ""):
        return QuietHours(None, None, weekends=False)
    start = end = None
    weekends = False
    for part in (p.strip() for p in text.split(",")):
        if part == "weekends":
            weekends = True
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = parse_hhmm(a), parse_hhmm(b)
            if start == end:
                raise ValueError(f"{part!r} is an empty window")
        else:
            raise ValueError(f"{part!r} is neither HH:MM-HH:MM nor 'weekends'")
    return QuietHours(start, end, weekends)


LADDER_STEPS = ("dm", "thread", "channel", "escalate")


def parse_ladder(text: str) -> tuple[tuple[float, str], ...]:
    """``0:dm,1h:thread,4h:channel,24h:escalate``: hours after the due time, and what happens."""
    steps: list[tuple[float, str]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        offset, _, kind = part.partition(":")
        offset = offset.strip().lower().removesuffix("h")
        if kind.strip() not in LADDER_STEPS:
            raise ValueError(f"{part!r}: the step must be one of {', '.join(LADDER_STEPS)}")
        try:
            hours = float(offset)
        except ValueError:
            raise ValueError(f"{part!r}: {offset!r} is not a number of hours") from None
        if hours < 0 or (steps and hours <= steps[-1][0]):
            raise ValueError(f"{part!r}: offsets must start at 0 or more and increase")
        steps.append((hours, kind.strip()))
    if not steps:
        raise ValueError("no steps")
    return tuple(steps)


# What .env.example ships (``xoxb-``) and the usual ways of writing "fill me in" after the prefix.
_PLACEHOLDER_TAIL = re.compile(
    r"(?:[xX*.…-]*|<[^>]*>|(?:your|my|paste|insert|enter|replace)\b.*|changeme|change-me|placeholder|token)",
    re.IGNORECASE,
)

_Fields = dict[str, Any]


@dataclass(frozen=True)
class _Duties:
    """What this process will do, which decides whether a setting is required or only checked."""

    mode: Mode | None
    listens: bool
    works: bool

    @classmethod
    def of(cls, mode: Mode | None, role: Role) -> _Duties:
        slack = mode is not None
        return cls(
            mode=mode, listens=slack and role in (Role.WEB, Role.ALL), works=slack and role in (Role.WORKER, Role.ALL)
        )

    @property
    def uses_slack(self) -> bool:
        return self.mode is not None


def _slack_token(r: Reader, name: str, prefix: str, why: str | None, wrong_kind: str) -> Secret:
    """Read a Slack token; ``why`` is None when this process can run without it.

    A placeholder left from .env.example counts as unset: reported when the token is needed, and
    otherwise ignored, so a fresh copy of .env.example does not block ``db upgrade`` or HTTP mode.
    """
    value = r.raw(name)
    if value is not None and value.startswith(prefix) and _PLACEHOLDER_TAIL.fullmatch(value[len(prefix) :]):
        if why is not None:
            r.problems.append(f"{name} still holds the placeholder from .env.example; paste the real token")
        return Secret("")
    if why is not None:
        value = r.require(name, why)
    if value and not value.startswith(prefix):
        r.problems.append(wrong_kind)
    return Secret(value or "")


def _slack_settings(r: Reader, duties: _Duties) -> _Fields:
    values: _Fields = {}
    values["slack_bot_token"] = _slack_token(
        r,
        "SLACK_BOT_TOKEN",
        "xoxb-",
        "the bot's xoxb- token" if duties.uses_slack else None,
        "SLACK_BOT_TOKEN must be a bot token starting with xoxb-",
    )
    values["slack_app_token"] = _slack_token(
        r,
        "SLACK_APP_TOKEN",
        "xapp-",
        "Socket Mode needs the app-level xapp- token; or use --http"
        if duties.listens and duties.mode is Mode.SOCKET
        else None,
        "SLACK_APP_TOKEN must be an app-level token starting with xapp-",
    )
    if duties.listens and duties.mode is Mode.HTTP:
        secret = r.require("SLACK_SIGNING_SECRET", "HTTP mode verifies every request with it")
    else:
        secret = r.raw("SLACK_SIGNING_SECRET")
    values["slack_signing_secret"] = Secret(secret or "")
    api_url = r.url("SLACK_API_URL")
    values["slack_api_url"] = (api_url.rstrip("/") + "/") if api_url else None

    channel_hint = "is not a channel ID (it starts with C or G; in Slack: channel details → bottom)"
    posts = duties.listens or duties.works
    for name, key, required in (
        ("SLACK_COMPLAINTS_CHANNEL", "slack_complaints_channel", True),
        ("SLACK_ESCALATION_CHANNEL", "slack_escalation_channel", True),
        ("SLACK_KUDOS_CHANNEL", "slack_kudos_channel", False),
        ("SLACK_REPORT_CHANNEL", "slack_report_channel", False),
    ):
        value = r.require(name, "the channel ID the bot posts to") if required and posts else r.raw(name)
        value = r.pattern(name, value, _CHANNEL_ID, channel_hint)
        values[key] = value if value is not None or not required else ""
    values["slack_post_rate"] = r.number("SLACK_POST_RATE", 1.0, 0.1, 100.0)
    values["slack_support_usergroup"] = r.pattern(
        "SLACK_SUPPORT_USERGROUP",
        r.raw("SLACK_SUPPORT_USERGROUP"),
        _USERGROUP_ID,
        "is not a user group ID (it starts with S)",
    )
    for name, key in (
        ("SLACK_TEAM_ALLOW_GUESTS", "slack_team_allow_guests"),
        ("SLACK_TEAM_ALLOW_EXTERNAL", "slack_team_allow_external"),
    ):
        answer = (r.raw(name) or "no").lower()
        if answer not in ("yes", "no", "true", "false", "1", "0"):
            r.problems.append(f"{name}={shown_value(name, answer)} must be yes or no")
        values[key] = answer in ("yes", "true", "1")
    return values


_CONTACT_ID = re.compile(r"^[SUW][A-Z0-9]{6,}$")


MAX_TIERS = 100  # options a Slack select may hold


def _escalation_tier_settings(r: Reader) -> _Fields:
    """An empty or wholly invalid list keeps the default tiers, so the Escalate button always has one."""
    tiers_raw = r.raw("ESCALATION_TIERS")
    if not tiers_raw:
        return {}
    tiers: list[tuple[str, str | None]] = []
    for part in (p.strip() for p in tiers_raw.split(";") if p.strip()):
        name, _, contact = (x.strip() for x in part.partition("="))
        if not name or len(name) > 75:
            shown = shown_value("ESCALATION_TIERS", part)
            r.problems.append(f"ESCALATION_TIERS: {shown} needs a name of 1–75 characters")
        elif contact and not _CONTACT_ID.match(contact):
            shown = shown_value("ESCALATION_TIERS", contact)
            r.problems.append(f"ESCALATION_TIERS: {shown} is not a user group (S…) or user (U…) ID")
        else:
            tiers.append((name, contact or None))
    if len(tiers) > MAX_TIERS:
        r.problems.append(
            f"ESCALATION_TIERS has {len(tiers)} tiers; the Escalate form's list holds at most {MAX_TIERS} "
            "(Slack's limit)"
        )
        return {}
    if len({name for name, _ in tiers}) != len(tiers):
        r.problems.append("ESCALATION_TIERS names a tier twice; each tier needs its own name")
        return {}
    return {"escalation_tiers": tuple(tiers)} if tiers else {}


def _desk_settings(r: Reader) -> _Fields:
    """What holds for every network: when a source counts as quiet, how long a resolved complaint
    takes the customer's next posts. ``X_SILENCE_ALERT_HOURS`` is the old name, still read."""
    name = "SOURCE_SILENCE_ALERT_HOURS" if r.raw("SOURCE_SILENCE_ALERT_HOURS") is not None else "X_SILENCE_ALERT_HOURS"
    return {
        "source_silence_alert_hours": r.number(name, 6.0, 0.1, 24 * 30),
        "follow_up_days": r.integer("FOLLOW_UP_DAYS", 7, 0, 90),
        "incident_min_authors": r.integer("INCIDENT_MIN_AUTHORS", 15, 0, 100_000),
        "incident_window_minutes": r.integer("INCIDENT_WINDOW_MINUTES", 30, 1, 24 * 60),
        "incident_suggest_margin": r.number("INCIDENT_SUGGEST_MARGIN", 0.03, 0.0, 1.0),
        "incident_join_margin": r.number("INCIDENT_JOIN_MARGIN", 0.06, 0.0, 1.0),
    }


def _database_url_problem(url: str) -> str | None:
    if _has_unencoded_at(url):
        return f"is not a valid database URL: {_ENCODING_ADVICE}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "is not a database URL (e.g. sqlite:///followthrough.db or postgresql+psycopg://user:pass@host/db)"
    except ValueError:  # make_url's int() of the port
        return (
            "is not a valid database URL: the port must be a number (e.g. postgresql+psycopg://user:pass@host:5432/db)"
        )
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        return "must be sqlite:///FILE or postgresql+psycopg://…"
    return None


def _database_settings(r: Reader) -> _Fields:
    db_url = r.raw("DATABASE_URL") or DEFAULT_DATABASE_URL
    if db_url.startswith(("postgres://", "postgresql://")):
        # Hosting platforms hand out postgres:// URLs; we always drive PostgreSQL through psycopg 3.
        db_url = "postgresql+psycopg://" + db_url.split("://", 1)[1]
    problem = _database_url_problem(db_url)
    if problem:
        shown = mask_url(db_url)
        if "://" not in db_url and may_be_secret("DATABASE_URL", db_url):
            shown = masked(db_url)  # not a URL at all, so mask_url found no password to hide
        r.problems.append(f"DATABASE_URL={shown} {problem}")
    return {"database_url": db_url}


def _schedule_settings(r: Reader) -> _Fields:
    """The team's clock and the nag ladder: when reminders go out and to whom."""
    values: _Fields = {}
    tz_name = r.raw("TEAM_TIMEZONE") or "UTC"
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        r.problems.append(
            f"TEAM_TIMEZONE={shown_value('TEAM_TIMEZONE', tz_name)} is not an IANA time zone like Europe/London"
        )
        tz_name = "UTC"
    values["team_timezone"] = tz_name
    digest = r.raw("DIGEST_TIME")
    if digest:
        try:
            values["digest_time"] = parse_hhmm(digest)
        except ValueError as exc:
            r.refused("DIGEST_TIME", digest, exc, "a time of day like 09:00")
    report = r.raw("REPORT_TIME")
    if report:
        try:
            values["report_time"] = parse_hhmm(report)
        except ValueError as exc:
            r.refused("REPORT_TIME", report, exc, "a time of day like 09:00")
    values["scheduler_tick_seconds"] = r.integer("SCHEDULER_TICK_SECONDS", 30, 1, 3600)
    quiet = r.raw("NAG_QUIET_HOURS")
    if quiet is not None:
        try:
            values["nag_quiet_hours"] = parse_quiet_hours(quiet)
        except ValueError as exc:
            r.refused("NAG_QUIET_HOURS", quiet, exc, "a quiet-hours window", " (e.g. 20:00-08:00,weekends or off)")

    workday = r.raw("WORKDAY_END")
    if workday:
        try:
            values["workday_end"] = parse_hhmm(workday)
        except ValueError as exc:
            r.refused("WORKDAY_END", workday, exc, "a time of day like 17:00")
    holidays = r.raw("PROMISE_HOLIDAYS")
    if holidays:
        try:
            values["promise_holidays"] = parse_holidays(holidays)
        except ValueError as exc:
            r.refused(
                "PROMISE_HOLIDAYS", holidays, exc, "dates that are not working days", " (e.g. 2026-12-25,2026-12-28)"
            )
    ladder = r.raw("NAG_LADDER")
    if ladder:
        try:
            values["nag_ladder"] = parse_ladder(ladder)
        except ValueError as exc:
            r.refused("NAG_LADDER", ladder, exc, "a nag ladder", " (e.g. 0:dm,1h:thread,4h:channel,24h:escalate)")
    values["nag_escalation_contact"] = r.pattern(
        "NAG_ESCALATION_CONTACT",
        r.raw("NAG_ESCALATION_CONTACT"),
        _CONTACT_ID,
        "is not a user (U…) or user group (S…) ID",
    )
    return values


def _triage_settings(r: Reader) -> _Fields:
    return {
        "triage_recall_target": (target := r.number("TRIAGE_RECALL_TARGET", DEFAULT_RECALL_TARGET, 0.5, 0.99)),
        # An explicit threshold wins; otherwise the one that keeps the recall asked for.
        "triage_complaint_threshold": r.number("TRIAGE_COMPLAINT_THRESHOLD", threshold_for_recall(target), -10, 10),
        "triage_praise_threshold": r.number("TRIAGE_PRAISE_THRESHOLD", 0.5, -1, 1),
        **_retrain_time(r),
    }


def _retrain_time(r: Reader) -> _Fields:
    raw = r.raw("TRIAGE_RETRAIN_TIME")
    if not raw:
        return {}
    if raw.strip().lower() == "off":
        return {"triage_retrain_time": None}
    try:
        return {"triage_retrain_time": parse_hhmm(raw)}
    except ValueError as exc:
        r.refused("TRIAGE_RETRAIN_TIME", raw, exc, "a time of day like 02:00 (or off)")
        return {}


def _process_settings(r: Reader) -> _Fields:
    port = r.integer("PORT", 3000, 1, 65_535)
    level = (r.raw("LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        r.problems.append(f"LOG_LEVEL={shown_value('LOG_LEVEL', level)} must be DEBUG, INFO, WARNING or ERROR")
        level = "INFO"
    return {"port": port, "log_level": level}


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    mode: Mode | None = Mode.SOCKET,
    role: Role = Role.ALL,
    replay: bool = False,
    dotenv_path: Path | None = Path(".env"),
) -> Settings:
    """Build and validate settings for what this process will actually do.

    ``mode`` says how Slack reaches us (None: no Slack listener, e.g. ``db upgrade``); ``role`` says
    which parts run; ``replay`` means posts come from a file rather than X. Only the settings those
    parts need are required, but every value that is given is checked.
    """
    merged: dict[str, str] = dict(os.environ if env is None else env)
    load_dotenv_into(merged, dotenv_path)
    r = Reader(merged)
    duties = _Duties.of(mode, role)
    # A dict display runs left to right, so problems keep the order of .env.example's sections.
    values: _Fields = {
        **_slack_settings(r, duties),
        **_escalation_tier_settings(r),
        **networks.read_settings(r, works=duties.works, replay=replay),
        **_desk_settings(r),
        **_database_settings(r),
        **_schedule_settings(r),
        **_triage_settings(r),
        **_process_settings(r),
    }
    if r.problems:
        raise SettingsError(r.problems)
    return Settings(**values)
