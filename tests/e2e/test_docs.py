"""The documentation cannot drift: every fenced shell command in README.md and docs/*.md is run as
written (in a scratch folder, against the Slack stand-in and a temporary SQLite database), or is in
``NOT_RUN`` with the reason it cannot be run here; and every relative link points at a file (and
heading) that exists.

A command added to the docs that is neither run successfully nor listed fails this test: that is
the point. Fenced blocks must say their language, so a shell command cannot hide in an unlabelled
block.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import post_from_record
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.triage.classify import Triage
from tests.e2e.helpers import ROOT
from tests.support.slack_api import SlackStandIn
from tests.support.x_api import XStandIn

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
NOT_SHELL = {"json", "text", "ini", "caddy", "nginx", "python", "yaml", "toml", "javascript"}

NOT_RUN: dict[str, str] = {
    'pip install -e ".[dev]"': "installs into the running environment; .ci/run runs it in a fresh one",
    "followthrough run": "runs until stopped; the real run is driven end to end by tests/e2e and tests/reliability",
    "python3 -m venv /opt/followthrough": "writes outside the scratch folder (/opt); a production install",
    "/opt/followthrough/bin/pip install .": "a production install into /opt",
    "/opt/followthrough/bin/pip install --upgrade .": "a production upgrade in /opt",
    "pipx install .": "installs for the user, outside the scratch folder",
    "sudo systemctl daemon-reload": "systemd on a production host",
    "sudo systemctl enable --now followthrough": "systemd on a production host",
    "sudo systemctl restart followthrough": "systemd on a production host",
    "journalctl -u followthrough -f": "follows a production journal for ever",
    'pg_dump --format=custom --file=followthrough.dump "postgresql://followthrough@db.example.com/followthrough"': (
        "a production PostgreSQL host (pg_dump/pg_restore are PostgreSQL's own tools)"
    ),
    'pg_restore --clean --if-exists --no-owner --dbname="postgresql://followthrough@db.example.com/followthrough" '
    "followthrough.dump": "restores over a production database",
    'python -c "from bot.store.engine import make_engine; from bot.store import migrate; '
    "e = make_engine('sqlite:////tmp/schema.db'); migrate.upgrade(e, replay=True); "
    "migrate.autogenerate(e, 'what changed')\"": ("writes a new migration file into bot/store/migrations"),
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python -m pytest": (
        "the whole suite on PostgreSQL: what CI runs (.ci/run); run here with --collect-only, see ADAPTED"
    ),
    "python bench/triage.py complaints.csv": "needs the labelled data set, which is not in the repository",
    'sig=$({ printf \'v1:%s:\' "$ts"; cat posts.json; } | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET_FACEBOOK" -hex '
    "| sed 's/^.* //')": (
        "one line of a sender's script: needs $ts from the line before and the secret in the sender's environment; "
        "tests/unit/test_webhook_signature.py checks the scheme against openssl"
    ),
    'curl -X POST https://bot.example.com/ingest/facebook -H "Content-Type: application/json" '
    '-H "X-Followthrough-Timestamp: $ts" -H "X-Followthrough-Signature: v1=$sig" --data-binary @posts.json': (
        "posts to a deployed bot; tests/e2e and tests/reliability send signed requests to the real webhook"
    ),
    **{
        f"python bench/{name}.py": "a long benchmark (minutes); its fast variant runs in tests/reliability"
        for name in (
            "crash",
            "failover",
            "wedge",
            "slack_faults",
            "x_faults",
            "load",
            "ingest",
            "desk_ack",
            "storm",
            "overdue_scan",
            "socket_mode",
            "big_requests",
            "membership_stall",
            "report_query",
            "export",
            "reply_faults",
            "network_faults",
            "webhook_load",
        )
    },
    "python bench/incidents.py": (
        "three synthetic days through ingest (two minutes); tests/e2e/test_incidents.py is its fast variant"
    ),
}
"""Commands this test does not run, each with why."""

ADAPTED: dict[str, tuple[str, str]] = {
    "python -m pytest": (
        "python -m pytest --collect-only -q tests/unit",
        "the whole suite is what runs this test; collecting proves the command and its configuration",
    ),
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python -m pytest": (
        "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python -m pytest --collect-only -q "
        "tests/integration/test_forget.py",
        "as above, with the PostgreSQL variable",
    ),
}
"""Commands run in a lighter form that still proves them, each with why."""

EXIT_CODES: dict[str, tuple[int, str]] = {
    "followthrough data forget @jo --source x": (2, "no terminal to confirm on and no --yes: refuses, changes nothing"),
}
"""Commands whose documented outcome here is not exit code 0."""

IN_CHECKOUT: dict[str, str] = {
    "python docs/images/render_card.py --html-only --out /tmp/card": "runs the checkout's script; writes to /tmp/card",
    "python bench/promise_detection.py": "runs the checkout's script on tests/data (under a second); writes nothing",
}
"""Commands that run in the checkout rather than the scratch folder, each with why (they change nothing in it)."""


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str


def fenced_blocks(path: Path) -> list[tuple[str, int, list[str]]]:
    """(language, first line number, lines) of every fenced block."""
    blocks, lang, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = re.match(r"^\s*```(.*)$", line)
        if fence and lang is None:
            lang, start, body = fence.group(1).strip(), number + 1, []
        elif fence:
            blocks.append((lang, start, body))
            lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, f"{path.name}: a fenced block opened at line {start - 1} is never closed"
    return blocks


def commands() -> list[Command]:
    out = []
    for path in DOCS:
        for lang, start, body in fenced_blocks(path):
            if lang not in SHELL:
                continue
            pending, first = "", start
            for offset, raw in enumerate(body):
                line = raw.strip()
                if not pending:
                    first = start + offset
                if line.endswith("\\"):
                    pending += line[:-1].rstrip() + " "
                    continue
                full = (pending + line).strip()
                pending = ""
                if full and not full.startswith("#"):
                    out.append(Command(path.relative_to(ROOT).as_posix(), first, full))
    return out


def without_comment(command: str) -> str:
    """The command as the allow-lists know it: a trailing ``# comment`` (outside quotes) dropped."""
    quote = None
    for i, ch in enumerate(command):
        if ch in "\"'" and quote in (None, ch):
            quote = None if quote == ch else ch
        elif ch == "#" and quote is None and i and command[i - 1] == " ":
            return command[:i].rstrip()
    return command


def test_every_fenced_block_says_its_language():
    for path in DOCS:
        for lang, start, _body in fenced_blocks(path):
            assert lang in SHELL | NOT_SHELL, f"{path.name}:{start - 1}: a fenced block needs a known language"


def test_every_allow_listed_command_is_still_in_the_docs():
    found = {without_comment(c.text) for c in commands()}
    assert not (set(NOT_RUN) - found), "NOT_RUN lists commands no longer in the docs"
    assert not (set(ADAPTED) - found), "ADAPTED lists commands no longer in the docs"
    assert not (set(EXIT_CODES) - found)
    assert not (set(IN_CHECKOUT) - found)


@pytest.fixture
def sandbox(tmp_path: Path):
    """A scratch folder with what the docs' commands read, a database with one customer (@jo, from the
    replay example in docs/networks.md), and the Slack stand-in for ``check``."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    engine = make_engine(f"sqlite:///{tmp_path / 'followthrough.db'}")
    migrate.upgrade(engine)
    replay_doc = ROOT / "docs" / "networks.md"
    [example] = [json.loads(body[0]) for lang, _s, body in fenced_blocks(replay_doc) if lang == "json"]
    post = post_from_record({**example, "source": "x"}, default_source="x", now=datetime.now(UTC))
    policy = IngestPolicy("C0COMPLAIN", None, frozenset(), frozenset({"acmehelp"}))
    Ingestor(Triage(), policy).ingest_batch(make_sessionmaker(engine), [post], at=datetime.now(UTC))
    engine.dispose()
    with SlackStandIn() as slack, XStandIn() as x:
        x.add_user("1000", "AcmeHelp")
        slack.socket_url = lambda: "ws://127.0.0.1:9/"  # `check` only asks for the URL
        env = {k: v for k, v in os.environ.items() if k in ("LANG", "TMPDIR", "SYSTEMROOT")}
        env.update(
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONPATH=str(ROOT),
            HOME=str(tmp_path),
            DATABASE_URL="sqlite:///followthrough.db",
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_APP_TOKEN="xapp-1-test-app-token",
            SLACK_SIGNING_SECRET="docs-test-secret",
            SLACK_COMPLAINTS_CHANNEL="C0COMPLAIN",
            SLACK_ESCALATION_CHANNEL="C0ESCALATE",
            X_API_URL=x.base_url,
            X_BEARER_TOKEN=x.token,
            X_BRAND_HANDLE="AcmeHelp",
        )
        yield tmp_path, env


@pytest.mark.timeout(900)  # the demo and a dozen CLI runs, one after another
def test_every_command_in_the_docs_runs_as_written(sandbox):
    folder, env = sandbox
    ran, failures = [], []
    for command in commands():
        key = without_comment(command.text)
        if key in NOT_RUN:
            continue
        text = ADAPTED[key][0] if key in ADAPTED else command.text
        cwd = ROOT if key in ADAPTED or key in IN_CHECKOUT else folder
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", text],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        expected = EXIT_CODES.get(key, (0, ""))[0]
        ran.append(key)
        if result.returncode != expected:
            failures.append(
                f"{command.doc}:{command.line}: `{command.text}` exited {result.returncode} (expected {expected})\n"
                f"{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
            )
    assert not failures, "\n\n".join(failures)
    # the ones that matter most really ran
    for must in ("followthrough demo", "followthrough check", "followthrough db upgrade", "python -m pytest"):
        assert must in ran, f"{must} was not run"
    assert any(k.startswith("followthrough data forget") and "--dry-run" in k for k in ran)
    assert (folder / ".env").exists()  # `cp .env.example .env` ran, in the scratch folder
    assert not (ROOT / ".env").exists() or (ROOT / ".env").stat().st_mtime < folder.stat().st_ctime


def test_forget_dry_run_in_the_docs_finds_the_readme_customer(sandbox):
    """The sandbox's customer is real: the documented dry run reports them, and changes nothing."""
    folder, env = sandbox
    [dry] = [c.text for c in commands() if c.text.startswith("followthrough data forget") and "--dry-run" in c.text]
    result = subprocess.run(["bash", "-c", dry], cwd=folder, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "complaints: 1 row(s) anonymised" in result.stdout
    assert "Dry run: nothing changed." in result.stdout


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    out: set[str] = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and (m := re.match(r"^#{1,6}\s+(.*)$", line)):
            out.add(slug(m.group(1)))
    return out


def test_every_relative_link_points_at_a_file_and_heading_that_exist():
    broken = []
    for path in DOCS:
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            if not resolved.exists():
                broken.append(f"{path.name}: {target} (no such file)")
            elif not resolved.is_relative_to(ROOT):
                broken.append(f"{path.name}: {target} (outside the repository)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{path.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_every_file_the_docs_name_exists():
    """A path like ``bot/desk/replies.py`` in the docs names a file that is there: the tree moves, and
    a map that sends a newcomer to a file that is gone is worse than none."""
    named = re.compile(r"(?<![\w/.])((?:bot|tests|bench|docs)/[\w/.-]+\.(?:py|toml|md|jsonl|png))")
    missing = []
    for path in DOCS:
        for name in named.findall(path.read_text()):
            if not (ROOT / name).exists():
                missing.append(f"{path.name}: {name}")
    assert not missing, "\n".join(missing)


def test_docs_name_no_file_outside_the_repository_and_no_particular_machine():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text, path.name
        assert not re.search(r"\b(this|the) \d+-core machine", text), path.name
