"""Labels and models in a real database (SQLite file and PostgreSQL), the CLI commands, and the
migration that makes room for questions without losing anything."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from bot.cli.triage import eval_command, explain_command, import_labels_command, train_command
from bot.common.clock import FakeClock
from bot.history import labels
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.enums import Kind
from bot.store.models import Complaint, TriageLabel, TriageModel
from bot.triage import learning
from bot.triage.classify import Triage
from tests.unit.test_triage_learning import synthetic

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def write_labels(path: Path, rows: list[learning.LabelRow]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "is_complaint", "kind"])
        for r in rows:
            w.writerow([r.text, int(r.is_complaint), r.kind])
    return path


def complaint_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "source": "x", "external_id": "1", "author_id": "1", "author_handle": "a", "author_followers": 0,
        "author_verified": False, "text": "t", "posted_at": AT, "sentiment_compound": 0, "sentiment_pos": 0,
        "sentiment_neg": 0, "sentiment_neu": 0, "kind": "complaint", "triage_score": 0, "triage_signals": [],
        "priority": 0, "status": "new", "customer_confirmed": False, "amplification_count": 0,
        "amplification_reach": 0, "reply_count": 0, "repeat_contact": 0, "created_at": AT, "updated_at": AT,
    }  # fmt: skip
    row.update(values)
    return row


def test_labels_train_store_and_load_a_model(migrated: Engine, tmp_path: Path):
    sessions = make_sessionmaker(migrated)
    rows = synthetic(150)
    with sessions() as s, s.begin():
        cid = s.execute(Complaint.__table__.insert().returning(Complaint.id), complaint_row()).scalar_one()
        labels.record_label(s, "@Acme my app keeps crashing", Kind.COMPLAINT, "click:claim", AT, complaint_id=cid)
        labels.record_label(s, "@Acme do you ship to Canada?", "question", "click:not_a_complaint", AT)
        assert learning.import_labels(s, write_labels(tmp_path / "l.csv", rows), AT) == 150
    with sessions() as s, s.begin():
        report = learning.train(s, AT)
    assert (report.version, report.label_count) == (1, 152)
    assert report.cross_validated.recall >= learning.TARGET_RECALL
    with sessions() as s:
        kinds = dict(s.execute(select(TriageLabel.kind, func.count()).group_by(TriageLabel.kind)).all())
        assert kinds == {"complaint": 76, "not_complaint": 75, "question": 1}
        model = learning.current_model(s)
        assert model is not None
        assert model.version == 1
        assert model.label_count == 152
        assert model.threshold == pytest.approx(report.threshold)
        raw = s.execute(text("SELECT params, metrics FROM triage_models")).one()
    # Stored as JSON text (a dict on PostgreSQL's json type): data, not a pickle.
    params = raw[0] if isinstance(raw[0], dict) else json.loads(raw[0])
    assert params["format"] == learning.FORMAT
    assert isinstance(raw[1] if isinstance(raw[1], dict) else json.loads(raw[1]), dict)
    assert not any(isinstance(v, bytes | bytearray | memoryview) for v in raw)

    # The stored model predicts what the freshly fitted scikit-learn model predicts.
    base = Triage()
    with sessions() as s:
        stored = learning.labels(s)
    fitted = learning.fit([base.analyse(r.text) for r in stored], [r.is_complaint for r in stored])
    probe = [base.analyse(t) for t in ("@Acme my phone is broken again", "@Acme thanks, lovely app", "@Acme")]
    assert [model.complaint_probability(a) for a in probe] == pytest.approx(fitted.sklearn_probability(probe), abs=1e-9)

    with sessions() as s:
        triage = learning.load_triage(s, base)
    verdict = triage.classify("@Acme my router never turned up, ugh")
    assert verdict.kind is Kind.COMPLAINT
    assert verdict.probability is not None


def test_each_training_stores_the_next_version_and_the_newest_is_used(migrated: Engine, tmp_path: Path):
    sessions = make_sessionmaker(migrated)
    with sessions() as s, s.begin():
        learning.import_labels(s, write_labels(tmp_path / "a.csv", synthetic(60)), AT)
        learning.train(s, AT)
    with sessions() as s, s.begin():
        learning.import_labels(s, write_labels(tmp_path / "b.csv", synthetic(80, seed=5)), AT + timedelta(hours=1))
        learning.train(s, AT + timedelta(hours=1))
    with sessions() as s:
        assert s.scalars(select(TriageModel.version).order_by(TriageModel.version)).all() == [1, 2]
        model = learning.current_model(s)
        assert model is not None
        assert model.version == 2


def test_the_latest_label_of_a_post_wins(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    with sessions() as s, s.begin():
        labels.record_label(s, "@Acme  where is my order", "complaint", "import:a.csv", AT)
        labels.record_label(s, "@Acme where is my order ", "question", "click:not_a_complaint", AT + timedelta(1))
    with sessions() as s:
        [row] = learning.labels(s)
    assert (row.kind, row.is_complaint) == ("question", False)


def test_no_model_until_trained_and_too_few_labels_fail_clearly(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    with sessions() as s:
        assert learning.current_model(s) is None
        assert learning.load_triage(s).model is None
    with sessions() as s, s.begin():
        for row in synthetic(12):
            labels.record_label(s, row.text, row.kind, "click", AT)
    with sessions() as s, s.begin(), pytest.raises(learning.NotEnoughLabels, match="have 12"):
        learning.train(s, AT)


def test_label_kinds_are_checked_by_the_database(migrated: Engine):
    with pytest.raises(IntegrityError), migrated.begin() as conn:
        conn.execute(
            TriageLabel.__table__.insert(),
            {"text": "t", "kind": "bogus", "is_complaint": False, "source": "x", "created_at": AT},
        )
    with pytest.raises(ValueError, match="kind must be one of"), make_sessionmaker(migrated)() as s:
        labels.record_label(s, "t", "bogus", "click", AT)


def test_a_deleted_complaint_keeps_its_labels(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    with sessions() as s, s.begin():
        cid = s.execute(Complaint.__table__.insert().returning(Complaint.id), complaint_row()).scalar_one()
        labels.record_label(s, "t", "complaint", "click", AT, complaint_id=cid)
    with migrated.begin() as conn:
        conn.execute(Complaint.__table__.delete())
    with sessions() as s:
        label = s.scalars(select(TriageLabel)).one()
        assert label.complaint_id is None
        assert label.text == "t"


def test_questions_are_stored_as_complaints_kind(migrated: Engine):
    with migrated.begin() as conn:
        conn.execute(Complaint.__table__.insert(), complaint_row(kind="question"))
    with pytest.raises(IntegrityError), migrated.begin() as conn:
        conn.execute(Complaint.__table__.insert(), complaint_row(kind="bogus", external_id="2"))


def test_upgrading_to_0004_keeps_every_row_and_constraint(engine: Engine):
    """On SQLite the complaints table is rebuilt: with foreign keys on, dropping the old table would
    cascade to posts, deliveries, events and promises."""
    migrate.upgrade(engine, "0003")
    at = AT.replace(tzinfo=None).isoformat(" ")
    with engine.begin() as conn:
        conn.execute(Complaint.__table__.insert(), complaint_row(id=7, kind="other"))
        conn.execute(
            text(
                "INSERT INTO posts (source, external_id, complaint_id, role, author_id, author_handle, text, "
                "posted_at, created_at) VALUES ('x', 'p1', 7, 'original', '1', 'a', 't', :at, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO promises (id, complaint_id, owner_id, text, due_at, status, reschedule_count, "
                "ladder_step, created_by, created_at) VALUES (3, 7, 'U1', 'call back', :at, 'open', 0, 0, 'U1', :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text("INSERT INTO audit_events (complaint_id, actor, action, at) VALUES (7, 'U1', 'claimed', :at)"),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (kind, transport, key, complaint_id, card_of, lane, payload, priority, status, "
                "attempts, available_at, created_at) VALUES ('post_card', 'slack', 'card:7', 7, NULL, 'post:C1', '{}', "
                "5, 'pending', 0, :at, :at)"
            ),
            {"at": at},
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        for table in ("complaints", "posts", "promises", "audit_events", "deliveries"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1, table
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE complaints SET kind = 'question' WHERE id = 7"))
    for bad in ("kind = 'bogus'", "status = 'bogus'"):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(f"UPDATE complaints SET {bad} WHERE id = 7"))

    migrate.downgrade(engine, "0003")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT kind FROM complaints")).scalar_one() == "other"
        assert conn.execute(text("SELECT count(*) FROM posts")).scalar_one() == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE complaints SET kind = 'question' WHERE id = 7"))


# --- the CLI's three commands -----------------------------------------------------------------


def test_import_train_eval_commands(db_url: str, migrated: Engine, tmp_path: Path):
    out = io.StringIO()
    labels = write_labels(tmp_path / "labels.csv", synthetic(120))
    held_out = write_labels(tmp_path / "held.csv", synthetic(40, seed=11))
    clock = FakeClock(AT)

    assert eval_command(db_url, held_out, out=out) == 0
    assert "rules only" in out.getvalue()
    assert import_labels_command(db_url, labels, clock=clock, out=out) == 0
    assert "imported 120 labels from labels.csv (60 complaints)" in out.getvalue()
    assert train_command(db_url, clock=clock, out=out) == 0
    assert "model v1: 120 labels" in out.getvalue()
    out.truncate(0)
    out.seek(0)
    assert eval_command(db_url, held_out, out=out) == 0
    lines = out.getvalue().splitlines()
    assert "model v1 blended with the rules" in lines[0]
    assert [line.split()[0] for line in lines[1:5]] == ["accuracy", "macro-F1", "complaint", "complaint"]
    last = dict(kv.split("=") for kv in lines[-1].split())
    assert set(last) == {"macro_f1", "recall", "precision"}
    assert float(last["recall"]) > 0.5


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("bad.csv", "text,label\nhi,1\n", "missing column is_complaint"),
        ("rows.csv", "text,is_complaint\nok,1\nfine,perhaps\n", "line 3: is_complaint must be 1 or 0"),
    ],
)
def test_commands_say_what_is_wrong_with_a_file_in_one_line(
    sqlite_url: str, tmp_path: Path, name: str, content: str | None, message: str
):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    for command in (import_labels_command, eval_command):
        out = io.StringIO()
        assert command(sqlite_url, path, out=out) == 1
        printed = out.getvalue().strip()
        assert printed.startswith("error: ")
        assert message in printed
        assert "\n" not in printed
        assert "Traceback" not in printed
    engine = make_engine(sqlite_url)
    try:
        with make_sessionmaker(engine)() as s:
            assert s.scalar(select(func.count()).select_from(TriageLabel)) == 0
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_commands_refuse_an_out_of_date_postgresql(pg_url: str, tmp_path: Path):
    out = io.StringIO()
    assert train_command(pg_url, out=out) == 2
    assert "followthrough db upgrade" in out.getvalue()
    assert out.getvalue().count("\n") == 1


def test_training_with_too_few_labels_is_one_line(sqlite_url: str):
    out = io.StringIO()
    assert train_command(sqlite_url, out=out) == 1
    assert out.getvalue().strip() == (
        "error: need at least 40 labels, 10 of them complaints and 10 not: have 0 (0 complaints, 0 not)"
    )


def test_an_unreachable_database_is_one_line_with_the_password_masked(tmp_path: Path):
    out = io.StringIO()
    code = eval_command("postgresql+psycopg://u:hunter2@127.0.0.1:1/x", tmp_path / "x.csv", out=out)
    assert code == 2
    printed = out.getvalue().strip()
    assert printed.startswith("error: cannot reach the database")
    assert "hunter2" not in printed
    assert "\n" not in printed


def test_explain_says_why_and_eval_lists_what_it_got_wrong(db_url: str, migrated: Engine, tmp_path: Path):
    """A lead can question triage (#25): which cues fired with the words they matched, the score
    against the threshold; with a model, its probability and the nearest labelled posts. ``eval
    --errors N`` lists misclassified rows with their signals, not only totals."""
    out = io.StringIO()
    assert explain_command(db_url, "@AcmeHelp my refund never arrived and nobody answers", out=out) == 0
    said = out.getvalue()
    assert "kind: complaint" in said
    assert "(rules only)" in said
    assert "cues that fired:" in said
    assert "refund" in said
    assert "nearest labelled posts" not in said  # no model: nothing learnt from labels yet

    labels = write_labels(tmp_path / "labels.csv", synthetic(120))
    clock = FakeClock(AT)
    assert import_labels_command(db_url, labels, clock=clock, out=out) == 0
    assert train_command(db_url, clock=clock, out=out) == 0
    out = io.StringIO()
    assert explain_command(db_url, synthetic(120)[0].text, out=out) == 0
    said = out.getvalue()
    assert "complaint probability" in said
    assert "nearest labelled posts (what the model learnt from):" in said
    assert "  1.00 " in said  # the same text was labelled: the nearest is itself

    tricky = tmp_path / "tricky.csv"
    tricky.write_text(
        "text,is_complaint\n"
        '"@AcmeHelp my parcel never arrived, third week",1\n'
        '"@AcmeHelp love the new app, thanks!",0\n'
        '"@AcmeHelp ok",1\n'
    )
    out = io.StringIO()
    assert eval_command(db_url, tricky, errors=5, out=out) == 0
    lines = out.getvalue().splitlines()
    wrong = [line for line in lines if line.startswith("  labelled ")]
    assert lines[0].endswith("misclassified; the first " + str(len(wrong)) + ":")
    assert any("labelled complaint, read as" in line and "@AcmeHelp ok" in line for line in wrong)


def test_eval_prints_what_each_recall_target_costs(db_url: str, migrated: Engine, tmp_path: Path):
    """#26's knob, seen from the command line: with no model yet, ``triage eval`` prints each
    TRIAGE_RECALL_TARGET's threshold and the recall and precision it gives on the file."""
    out = io.StringIO()
    assert eval_command(db_url, write_labels(tmp_path / "h.csv", synthetic(40, seed=11)), out=out, target=0.8) == 0
    costs = [line for line in out.getvalue().splitlines() if line.startswith("  0.")]
    assert [line.split()[0] for line in costs] == ["0.70", "0.75", "0.80", "0.85", "0.90"]
    assert costs[2].endswith("← set")
    recalls = [float(line.split()[2]) for line in costs]
    assert recalls == sorted(recalls)  # a higher target never cards fewer complaints
