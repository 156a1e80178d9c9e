"""``followthrough demo``: the real bot, end to end, with nothing but this machine.

A local Slack stand-in, a temporary SQLite database and a bundled replay of a dozen posts
(complaints, praise, a retweet storm, copies of one post, a reply in a thread, a hostile
``<!channel>`` text), with a small login outage among them: eighteen customers in their own words
within five minutes, which ingest makes one incident card. The real ingest, poster and HTTP app
run; one card is clicked through claim → escalate → resolve and the incident is claimed, with
signed requests, and the transcript shows what each channel would show.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from waitress.server import create_server

from bot import networks
from bot.app import create_app
from bot.config import Secret, Settings
from bot.devtools.interactions import block_action, post_signed, view_submission
from bot.devtools.slack_api import SlackStandIn
from bot.devtools.socket_standin import SocketModeStandIn
from bot.intake.inbox import InboxDrain
from bot.runtime import build_deliverer, build_ingestor, source_context
from bot.slack.ids import Action, Field
from bot.socket_mode import SocketMode
from bot.store import migrate
from bot.store.models import Complaint, Incident
from bot.web import make_wsgi_app, serve_in_background

SAMPLE = Path(__file__).with_name("sample_replay.jsonl")
SECRET = "demo-signing-secret"
COMPLAINTS, ESCALATION, KUDOS = "C0COMPLAIN", "C0ESCALATE", "C0KUDOS00"
PEOPLE = {"U0ALICE01": "alice", "U0BOB0001": "bob", "S0TIER002": "tier-2-oncall"}
OUTAGE = (
    ("hana_s", "can't log in, the app just shows an error"),
    ("rob_m", "is login down? nothing works"),
    ("ines_v", "the sign-in screen just spins"),
    ("tariq_a", "login failing on my phone too"),
    ("bea_l", "unable to sign in, my password is right"),
    ("omar_f", "Login keeps failing with error 503!!"),
    ("lucy_c", "locked out of my account, login won't work"),
    ("dev_p", "anyone else unable to log in right now?"),
    ("marta_g", "your login is down and I need my account"),
    ("finn_o", "signing in gives me a blank screen"),
    ("aiko_t", "stuck on the login screen"),
    ("paul_d", "log-in failing, is it just me"),
    ("zara_k", "can't get past login, session error"),
    ("ben_w", "cannot login at all. outage?"),
    ("chloe_r", "sign in button does nothing"),
    ("sven_h", "login page won't load, error again"),
    ("nadia_b", "why can't I log into my account??"),
    ("joe_y", "logging in impossible, password not accepted"),
)
"""A login outage as customers tell it: eighteen (more than ``INCIDENT_MIN_AUTHORS``, 15), each in
their own words, within five minutes — so the demo shows one incident card and none of theirs. The
wordings share the words an outage's posts share ("login", "error", "account"): eighteen posts
that each added two words of their own would be too few for their topic to hold them all."""


def plain(text: str) -> str:
    """Slack mrkdwn as a reader sees it: mentions by name, dates by fallback, links by label."""
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<@(\w+)>", lambda m: "@" + PEOPLE.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!subteam\^(\w+)>", lambda m: "@" + PEOPLE.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render(message: dict[str, Any], indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for block in message.get("blocks") or []:
        if block["type"] == "section":
            lines += plain(block["text"]["text"]).splitlines()
        elif block["type"] == "context":
            lines += plain(" ".join(e.get("text", "") for e in block["elements"])).splitlines()
        elif block["type"] == "actions":
            labels = [e["text"]["text"] if e["type"] == "button" else "[Hand over to…]" for e in block["elements"]]
            lines.append("  ".join(f"[{label}]" if not label.startswith("[") else label for label in labels))
    return [indent + line for line in lines or [plain(message.get("text", ""))]]


def transcript(slack: SlackStandIn) -> str:
    out: list[str] = []
    for channel, title in ((COMPLAINTS, "#complaints"), (ESCALATION, "#escalations"), (KUDOS, "#kudos")):
        out.append(f"=== {title} ===")
        messages = slack.channel_messages(channel)
        for message in (m for m in messages if not m.get("thread_ts")):
            out += render(message)
            for reply in (m for m in messages if m.get("thread_ts") == message["ts"]):
                out += render(reply, indent="      ↳ ")
            out.append("")
    return "\n".join(out)


def dated_now(sample: Path, dest: Path, now: datetime, *, newest_ago: timedelta = timedelta(minutes=3)) -> Path:
    """The sample posts moved in time so the newest was posted ``newest_ago`` before ``now`` (their
    spacing kept): a demo run in December must not show cards "279 d ago" from March."""
    records = [json.loads(line) for line in sample.read_text().splitlines() if line.strip()]
    times = [datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")) for r in records]
    shift = now - newest_ago - max(times)
    with dest.open("w") as out:
        for record, at in zip(records, times, strict=True):
            record["created_at"] = (at + shift).astimezone(UTC).isoformat().replace("+00:00", "Z")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return dest


def add_outage(replay: Path, now: datetime, *, over: timedelta = timedelta(minutes=5)) -> int:
    """``OUTAGE``'s posts appended to the (dated) replay, spread evenly over ``over`` and ending a
    minute before ``now``, as the sample's own posts are dated to the minutes before the run."""
    first = now - timedelta(minutes=1) - over
    step = over / (len(OUTAGE) - 1)
    with replay.open("a") as out:
        for n, (handle, text) in enumerate(OUTAGE):
            record = {
                "id": str(1950 + n),
                "text": f"@AcmeHelp {text}",
                "author_id": str(550 + n),
                "author_handle": handle,
                "followers": 60 + 37 * n,
                "created_at": (first + n * step).isoformat().replace("+00:00", "Z"),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(OUTAGE)


def outage_line(incident: Incident | None, customers: int) -> str:
    """What the demo says of its outage: the incident ingest made of it — or, plainly, that it made
    none (a change to topic grouping can do that, and the transcript would then show its cards)."""
    if incident is None:
        return f"-> the login outage: {customers} customers, but no incident was found: each got a card of their own"
    minutes = round((incident.latest_post_at - incident.first_post_at).total_seconds() / 60)
    return (
        f"-> the login outage: incident #{incident.id} ({incident.title}), {incident.customers} customers "
        f"in {minutes} minutes — one card for them all, none of their own"
    )


def run_demo(*, socket: bool = False) -> int:
    """``socket``: the clicks arrive as Socket Mode envelopes (the default mode) instead of signed HTTP."""
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as slack:
        for user in ("U0ALICE01", "U0BOB0001"):
            slack.add_user(user, PEOPLE[user], tz="Europe/London", channels=(COMPLAINTS,))
        settings = Settings(
            slack_bot_token=Secret(slack.state.token),
            slack_app_token=Secret(slack.state.app_token),
            slack_signing_secret=Secret(SECRET),
            slack_api_url=slack.base_url,
            slack_complaints_channel=COMPLAINTS,
            slack_escalation_channel=ESCALATION,
            slack_kudos_channel=KUDOS,
            networks=networks.demo_settings(),
            escalation_tiers=(("Tier 2", "S0TIER002"), ("Comms lead", None)),
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
        )
        app = create_app(settings)
        migrate.upgrade(app.engine)
        sample = dated_now(SAMPLE, Path(tmp) / "sample.jsonl", app.clock.now())
        outage = add_outage(sample, app.clock.now())
        replay = networks.replay_source(source_context(app), sample)
        while replay.step() == 0.0:  # 0.0: more lines are waiting; read them all before clicking
            continue
        replay.close()
        networks.demo_samples(source_context(app))  # one mention each from the Bluesky and Mastodon stand-ins
        InboxDrain(app.sessions, build_ingestor(app), app.clock).drain()
        poster = build_deliverer(app, unpaced=True)  # the stand-in has no rate limit to respect
        poster.drain()

        server = create_server(make_wsgi_app(app), host="127.0.0.1", port=0, threads=4)
        serve_in_background(server, "demo-http")
        url = f"http://127.0.0.1:{server.effective_port}/slack/events"  # type: ignore[union-attr]
        stand_in: SocketModeStandIn | None = None
        connection: SocketMode | None = None
        if socket:
            assert app.bolt is not None
            stand_in = SocketModeStandIn().start().attach(slack)
            connection = SocketMode(app.bolt, slack.state.app_token)
            connection.connect()

        def act(payload: dict[str, Any]) -> str:
            if stand_in is None:
                status, _, _ = post_signed(url, payload, SECRET)
                return f"HTTP {status}"
            ack = stand_in.ack(stand_in.send("interactive", payload, accepts_response_payload=True))
            return f"acked over Socket Mode in {ack.seconds * 1000:.0f} ms" if ack else "NOT ACKED"

        try:
            with app.sessions() as session:
                top = session.scalars(
                    select(Complaint)
                    .where(Complaint.slack_ts.is_not(None), Complaint.incident_id.is_(None))
                    .order_by(Complaint.priority.desc())
                ).first()
                assert top is not None
                cid = top.id
                incident = session.scalars(select(Incident).order_by(Incident.id)).first()
            ref = str(cid)
            steps: list[tuple[str, str, Action, str, dict[str, Any] | None]] = [
                ("alice claims", "U0ALICE01", Action.CLAIM, ref, None),
                (
                    "alice escalates to Tier 2",
                    "U0ALICE01",
                    Action.ESCALATE,
                    ref,
                    {
                        Field.TIER: {"type": "static_select", "selected_option": {"value": "Tier 2"}},
                        Field.REASON: {"type": "plain_text_input", "value": "Refund stuck in finance for 3 weeks"},
                    },
                ),
                (
                    "bob resolves",
                    "U0BOB0001",
                    Action.RESOLVE,
                    ref,
                    {
                        Field.NOTE: {"type": "plain_text_input", "value": "Refund issued today; Dana confirmed by DM"},
                        Field.CONFIRMED: {"type": "checkboxes", "selected_options": [{"value": "yes"}]},
                    },
                ),
            ]
            print(
                f"Followthrough demo: {replay.lines_read} posts replayed, {outage} of them a login outage; "
                f"clicking through complaint #{cid}.\n"
            )
            print(outage_line(incident, outage))
            if incident is not None:
                # Claim on the incident card is the complaint card's own button, on the incident's anchor.
                steps.append(
                    (f"bob claims incident #{incident.id}", "U0BOB0001", Action.CLAIM, str(incident.anchor_id), None)
                )
            for label, user, action, value, form in steps:
                views_before = len(slack.state.views)
                answer = act(block_action(user, action, value=value, trigger_id=slack.trigger_id()))
                if form is not None:
                    slack.wait_for(lambda n=views_before: len(slack.state.views) > n)
                    answer = act(view_submission(user, slack.state.views[-1], form))
                poster.drain()
                print(f"-> {label}: {answer}")
            print()
            print(transcript(slack))
        finally:
            if connection is not None:
                connection.close()
            if stand_in is not None:
                stand_in.stop()
            server.close()
            app.close()
    return 0
