"""What ``followthrough triage import|train|eval`` do, without the argument parsing.

Each takes the database URL (and a file), prints what happened, and returns the exit code. They need
no Slack or X settings: a support lead can label posts and train on a laptop. Bad input (a missing
file, a malformed CSV, an unreachable or out-of-date database, too few labels) is one line naming
the problem and exit code 1 (2 for the database), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from bot.common.clock import Clock, SystemClock
from bot.config import mask_url
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.triage import explain, learning
from bot.triage.classify import Thresholds, Triage, threshold_for_recall
from bot.triage.learning import LabelFileError, Metrics, NotEnoughLabels

T = TypeVar("T")
BAD_INPUT = 1
BAD_DATABASE = 2


class _Stop(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def _engine(database_url: str) -> Iterator[Engine]:
    try:
        engine = make_engine(database_url)
    except Exception as exc:  # a malformed URL: SQLAlchemy's message names it
        raise _Stop(f"database URL {mask_url(database_url)} is not usable: {exc}", BAD_DATABASE) from None
    try:
        try:
            migrate.ensure_schema(engine)
        except migrate.SchemaOutOfDate as exc:
            raise _Stop(str(exc), BAD_DATABASE) from None
        except (OperationalError, DBAPIError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
            raise _Stop(f"cannot reach the database {mask_url(database_url)}: {reason}", BAD_DATABASE) from None
        yield engine
    finally:
        engine.dispose()


def _run(database_url: str, work: Callable[[Engine], int], out: TextIO) -> int:
    try:
        with _engine(database_url) as engine:
            return work(engine)
    except _Stop as stop:
        print(f"error: {stop}", file=out)
        return stop.code
    except (LabelFileError, NotEnoughLabels) as exc:
        print(f"error: {exc}", file=out)
        return BAD_INPUT
    except (OperationalError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        print(f"error: database {mask_url(database_url)} failed: {reason}", file=out)
        return BAD_DATABASE


def _transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    with make_sessionmaker(engine)() as session, session.begin():
        return work(session)


def import_labels_command(
    database_url: str, path: str | Path, *, clock: Clock | None = None, out: TextIO | None = None
) -> int:
    """Store a labels CSV (``text,is_complaint[,kind]``): all rows or, when any is bad, none."""
    out = out or sys.stdout
    at = (clock or SystemClock()).now()
    file = Path(path)

    def work(engine: Engine) -> int:
        rows = learning.read_labels(file)  # before touching the database: bad files change nothing
        count = _transaction(engine, lambda s: learning.import_labels(s, file, at))
        total = _transaction(engine, lambda s: len(learning.labels(s)))
        complaints = sum(r.is_complaint for r in rows)
        print(
            f"imported {count} labels from {file.name} ({complaints} complaints); {total} distinct posts labelled",
            file=out,
        )
        return 0

    return _run(database_url, work, out)


def train_command(
    database_url: str, *, clock: Clock | None = None, out: TextIO | None = None, target_recall: float | None = None
) -> int:
    """Fit a model on every stored label and store it as the next version."""
    out = out or sys.stdout
    at = (clock or SystemClock()).now()

    def work(engine: Engine) -> int:
        report = _transaction(engine, lambda s: learning.train(s, at, target_recall=target_recall))
        cv, rules = report.cross_validated, report.rules_only
        print(
            f"model v{report.version}: {report.label_count} labels, trained in {report.seconds:.1f} s; "
            f"its weight against the rules {report.weight:.2f}; threshold {report.threshold:.3f} "
            f"(chosen for complaint recall >= {report.target_recall:.2f})",
            file=out,
        )
        print(f"cross-validated: {_figures(cv)}", file=out)
        print(f"rules alone, same labels: {_figures(rules)}", file=out)
        return 0

    return _run(database_url, work, out)


def explain_command(database_url: str, text: str, *, lang: str | None = None, out: TextIO | None = None) -> int:
    """Why triage reads ``text`` as it does, with the newest stored model (and its labels) if any."""
    out = out or sys.stdout

    def work(engine: Engine) -> int:
        triage = _transaction(engine, lambda s: learning.load_triage(s, Triage()))
        rows = _transaction(engine, learning.labels) if triage.model is not None else []
        labelled = [(r.text, r.kind or ("complaint" if r.is_complaint else "not a complaint")) for r in rows]
        for line in explain.render(explain.explain(triage, text, lang, labelled)):
            print(line, file=out)
        return 0

    return _run(database_url, work, out)


def eval_command(
    database_url: str,
    path: str | Path,
    *,
    errors: int = 0,
    out: TextIO | None = None,
    thresholds: Thresholds | None = None,
    target: float | None = None,
) -> int:
    """How triage (with the newest stored model, if any) does on a labelled CSV; ``errors``: list that
    many misclassified rows, so a lead can see what it gets wrong, not only how often."""
    out = out or sys.stdout
    file = Path(path)

    def work(engine: Engine) -> int:
        rows = learning.read_labels(file)
        triage = _transaction(engine, lambda s: learning.load_triage(s, Triage(thresholds)))
        model = triage.model
        which = f"model v{getattr(model, 'version', '?')} blended with the rules" if model else "rules only"
        if model is None:
            _recall_costs(triage, rows, target, out)
        if errors:
            wrong = []
            for row in rows:
                verdict = triage.classify(row.text)
                if (verdict.kind.value == "complaint") != row.is_complaint:
                    wrong.append((row, verdict))
            print(f"{len(wrong)} of {len(rows)} misclassified; the first {min(errors, len(wrong))}:", file=out)
            for row, verdict in wrong[:errors]:
                said = "complaint" if row.is_complaint else "not a complaint"
                why = ", ".join(verdict.signals) or "no cue"
                print(
                    f"  labelled {said}, read as {verdict.kind.value} (score {verdict.score:+.2f}; {why}): "
                    f"{' '.join(row.text.split())[:160]}",
                    file=out,
                )
        m = learning.evaluate(triage, rows)
        print(f"{file.name}: {m.count} posts, {sum(r.is_complaint for r in rows)} complaints; {which}", file=out)
        print(f"accuracy {m.accuracy:.3f}", file=out)
        print(f"macro-F1 {m.macro_f1:.3f}", file=out)
        print(f"complaint precision {m.precision:.3f}", file=out)
        print(f"complaint recall {m.recall:.3f}", file=out)
        print(m.line(), file=out)
        return 0

    return _run(database_url, work, out)


def _recall_costs(triage: Triage, rows: list[Any], target: float | None, out: TextIO) -> None:
    """What each TRIAGE_RECALL_TARGET would cost on this file: the rules' threshold for it, and the
    recall and precision that threshold gives here (more recall costs precision: more cards)."""
    scored = [(triage.analyse(r.text), r.is_complaint) for r in rows]
    print("TRIAGE_RECALL_TARGET  threshold  recall  precision  (on this file, rules only)", file=out)
    for wanted in (0.70, 0.75, 0.80, 0.85, 0.90):
        threshold = threshold_for_recall(wanted)
        m = learning.metrics([t for _, t in scored], [a.score >= threshold or not a.readable for a, _ in scored])
        mark = "  ← set" if target is not None and abs(wanted - target) < 1e-9 else ""
        print(f"  {wanted:.2f}               {threshold:+.2f}     {m.recall:.3f}   {m.precision:.3f}{mark}", file=out)


def _figures(m: Metrics) -> str:
    return f"accuracy {m.accuracy:.3f}, macro-F1 {m.macro_f1:.3f}, precision {m.precision:.3f}, recall {m.recall:.3f}"


def add_parser(sub: Any) -> None:
    triage = sub.add_parser(
        "triage",
        help="triage labels and model",
        description="Seed labels from a team's history, train the model now, or measure triage on a labelled "
        "file. Runs against DATABASE_URL; needs no Slack or X settings.",
    )
    triage_sub = triage.add_subparsers(dest="triage_command", required=True, metavar="ACTION")
    imp = triage_sub.add_parser(
        "import-labels",
        help="store labels from a CSV (columns text,is_complaint[,kind])",
        description="Store labels from a CSV with columns text,is_complaint and optionally kind "
        "(complaint, question, praise, not_complaint). All rows or, when any is bad, none.",
    )
    imp.add_argument("file", help="the CSV file")
    triage_sub.add_parser(
        "train", help="train the model now on every stored label", description="Fit and store a new model version."
    )
    ev = triage_sub.add_parser(
        "eval",
        help="measure triage on a labelled CSV",
        description="Print accuracy, macro-F1, complaint precision and recall of today's triage (cues and the "
        "newest stored model) on FILE, ending with one line macro_f1=… recall=… precision=….",
    )
    ev.add_argument("file", help="the CSV file (text,is_complaint)")
    ev.add_argument(
        "--errors", type=int, default=0, metavar="N", help="also list the first N misclassified rows, with why"
    )
    ex = triage_sub.add_parser(
        "explain",
        help="say why triage reads a post as it does",
        description="Print the kind, the score against the threshold (or the model's probability), the "
        "language, each cue that fired with the words it matched and, when a model is trained, the nearest "
        "labelled posts.",
    )
    ex.add_argument("text", help="the post, in quotes")
    ex.add_argument("--lang", help="the language code the network gave (else it is detected)")


def main(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.logs import configure_logging

    settings = load_settings(mode=None, dotenv_path=args.env_file)
    configure_logging(settings.log_level, settings.secrets())
    if args.triage_command == "import-labels":
        return import_labels_command(settings.database_url, args.file)
    if args.triage_command == "train":
        return train_command(settings.database_url, target_recall=settings.triage_recall_target)
    if args.triage_command == "explain":
        return explain_command(settings.database_url, args.text, lang=args.lang)
    return eval_command(
        settings.database_url,
        args.file,
        errors=max(0, args.errors),
        thresholds=Thresholds(settings.triage_complaint_threshold, settings.triage_praise_threshold),
        target=settings.triage_recall_target,
    )
