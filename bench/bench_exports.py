"""Benchmark of the data exports (issue 11, section 3): time and peak memory through the app's
export code, each beside a plain baseline of the same run.

A synthetic cycle of N assessments x 50 maturity questions (5 domains x 2 indicators x 5
questions, every answer stored, scores of every level) is written to a real SQLite file
(migrated by Alembic). The export reads it as an admin would (the permissions scope of a real
principal), chunk by chunk (``reports.data_exports``). Figures:

- CSV: the streamed export (database reads, coding, neutralising, writing) beside (a) a plain
  export that reads every answer in one select, pivots them in dicts and writes with
  ``csv.writer`` (what one writes first), and (b) the floor: ``csv.writer`` alone on rows already
  in memory. Target (issue 11): within 3x of a raw ``csv.writer`` of the same rows.
- XLSX: the export (openpyxl write-only, to a temporary file) beside a bare openpyxl write-only
  loop over rows already in memory.
- SPSS: the .sav export (one data frame, written by pyreadstat), time only.
- Memory: the peak traced by ``tracemalloc`` while exporting N and 5N assessments: flat for the
  streamed CSV and XLSX (one chunk at a time), growing for the plain export.

Default: 1,000 and 2,000 assessments (50,000 and 100,000 answers; the export reads 500
assessments at a time, so both sizes take several chunks), about a minute.
``python -m bench.bench_exports --full``: 10,000 and 100,000 assessments (5 million answers;
several minutes and about 1 GB of disk), with the XLSX export's memory too.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Flask
from sqlmodel import col

from accounts import services as accounts
from accounts.models import Organization, Role
from accounts.permissions import load_principal, visible_assessments
from reports import data_exports
from rubrics import services as rubric_services
from rubrics.schema import parse_rubric
from surveys.models import Answer, Assessment, AssessmentCycle, Score, Status
from webapp import create_app
from webapp.extensions import db
from webapp.migrate import upgrade_database

SIZES = (1_000, 2_000)
FULL_SIZES = (10_000, 100_000)  # the sizes issue 11 names
SEED = 20261207
PASSWORD = "bench-password-1234"  # noqa: S105 (a throwaway account in a temporary file)


def _rubric() -> Any:
    level = [{"level": k, "descriptor": {"en": f"Level {k}"}} for k in range(1, 5)]
    domains = [
        {
            "id": f"D{d}",
            "label": {"en": f"Domain {d}", "el": f"Τομέας {d}"},
            "indicators": [
                {
                    "id": f"D{d}I{i}",
                    "label": {"en": f"Indicator {d}.{i}"},
                    "questions": [
                        {
                            "id": f"q{d}{i}{q}",
                            "type": "maturity",
                            "label": {"en": f"Question {d}.{i}.{q}"},
                            "levels": level,
                        }
                        for q in range(5)
                    ],
                }
                for i in range(2)
            ],
        }
        for d in range(5)
    ]
    return parse_rubric(
        {"id": "bench-fifty", "title": {"en": "Fifty questions"}, "languages": ["en", "el"],
         "missing": {"allow_not_applicable": True}, "domains": domains}
    )  # fmt: skip


def build(n: int, folder: Path) -> tuple[Flask, data_exports.ExportPlan]:
    """The app over a fresh SQLite file with one cycle of ``n`` assessments; the export plan
    of an admin."""
    url = f"sqlite:///{folder / f'exports-{n}.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    rubric = _rubric()
    questions = [q.id for _d, _i, q in rubric.questions()]
    rng = np.random.default_rng(SEED)
    with app.app_context():
        upgrade_database(url)
        session = db.session
        version = rubric_services.store_rubric(session, rubric)
        rubric_services.publish(session, version)
        admin = accounts.create_user(session, email="a@bench.test", name="A", password=PASSWORD)
        accounts.add_membership(session, user=admin, role=Role.ADMIN)
        cycle = AssessmentCycle(code="bench", name="Bench", rubric_version_id=version.id)
        session.add(cycle)
        session.flush()
        conn = session.connection()
        conn.execute(
            sa.insert(Organization),
            [{"code": f"ngo-{k}", "name": f"=NGO {k}", "kind": "ngo", "country": "GR"}
             for k in range(n)],
        )  # fmt: skip
        org_ids = conn.execute(
            sa.select(col(Organization.id)).where(col(Organization.kind) == "ngo")
        ).scalars()
        conn.execute(
            sa.insert(Assessment),
            [{"cycle_id": cycle.id, "organization_id": o, "status": Status.SUBMITTED}
             for o in org_ids],
        )  # fmt: skip
        ids = list(conn.execute(sa.select(col(Assessment.id))).scalars())
        levels = rng.integers(1, 5, size=(n, len(questions))).tolist()
        block = 20_000
        rows: list[dict[str, Any]] = []
        for a, answers in zip(ids, levels, strict=True):
            for q, value in zip(questions, answers, strict=True):
                # Some "not applicable" answers (a fifth of the first question of each
                # indicator), so the missing codes are exercised.
                stored = "__na__" if value == 4 and q.endswith("0") else value
                rows.append(
                    {"assessment_id": a, "source": "self", "question_id": q, "value": stored}
                )
            if len(rows) >= block:
                conn.execute(sa.insert(Answer), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(Answer), rows)
        codes = [("overall", "bench-fifty")] + [
            (level, c)
            for d in rubric.domains
            for level, c in [("domain", d.id), *(("indicator", i.id) for i in d.indicators)]
        ]
        scores = [
            {"assessment_id": a, "rubric_version_id": version.id, "source": "self",
             "level": level, "code": c, "score": 50.0, "coverage": 1.0}
            for a in ids for level, c in codes
        ]  # fmt: skip
        for start in range(0, len(scores), block):
            conn.execute(sa.insert(Score), scores[start : start + block])
        session.commit()
        principal = load_principal(session, admin.id)
        words = data_exports.Words(
            not_applicable="Not applicable", dont_know="Don't know", statuses={}, identity={},
            self_score="Score: %(label)s", verified_score="Verified: %(label)s",
            self_coverage="Coverage: %(label)s", verified_coverage="Verified coverage: %(label)s",
        )  # fmt: skip
        plan = data_exports.ExportPlan(
            filters=data_exports.ExportFilters(cycle_id=int(cycle.id or 0)),
            scope=visible_assessments(principal, Assessment.organization_id, Assessment.cycle_id),
            rubric=rubric,
            rubric_label="bench-fifty v1",
            score_rubric=rubric,
            score_version_id=int(version.id or 0),
            score_label="bench-fifty v1",
            language="en",
            words={"en": words, "el": words},
        )
    return app, plan


def plain_csv(engine: sa.Engine, plan: data_exports.ExportPlan) -> bytes:
    """The export as one writes it first: every answer and score in one select each, pivoted
    in dicts, then ``csv.writer`` (all rows in memory)."""
    questions = [q.id for _d, _i, q in plan.rubric.questions()]
    with engine.connect() as conn:
        heads = conn.execute(
            sa.select(col(Assessment.id), col(Organization.code), col(Organization.name))
            .join(Organization, col(Organization.id) == col(Assessment.organization_id))
            .where(col(Assessment.cycle_id) == plan.filters.cycle_id)
            .order_by(col(Assessment.id))
        ).all()
        answers: dict[int, dict[str, Any]] = {}
        for a, q, v in conn.execute(
            sa.select(col(Answer.assessment_id), col(Answer.question_id), col(Answer.value))
        ):
            answers.setdefault(a, {})[q] = v
        scores: dict[int, dict[str, Any]] = {}
        for a, code, s in conn.execute(
            sa.select(col(Score.assessment_id), col(Score.code), col(Score.score))
        ):
            scores.setdefault(a, {})[code] = s
    codes = sorted({c for row in scores.values() for c in row})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["assessment_id", "organisation", "name", *questions, *codes])
    for a, code, name in heads:
        got, scored = answers.get(a, {}), scores.get(a, {})
        writer.writerow(
            [a, code, name, *(got.get(q) for q in questions), *(scored.get(c) for c in codes)]
        )
    return out.getvalue().encode()


def timed(work: Callable[[], Any], repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def peak(work: Callable[[], Any]) -> float:
    """The peak of memory traced while ``work`` runs, in MB."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def drain(stream: Iterator[bytes]) -> int:
    return sum(len(block) for block in stream)


def run(full: bool = False) -> Iterator[tuple[str, str]]:
    sizes = FULL_SIZES if full else SIZES
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as folder:
        built = {n: build(n, Path(folder)) for n in sizes}
        memory: dict[str, list[float]] = {"csv": [], "xlsx": [], "plain": []}
        for n, (app, plan) in built.items():
            answers = n * 50
            with app.app_context():
                engine = db.engine
                rows = list(data_exports.wide_rows(engine, plan, "codes"))
                header = data_exports.header(plan, "wide")

                def export_csv(engine: sa.Engine = engine, plan: Any = plan) -> int:
                    return drain(data_exports.csv_stream(engine, plan))

                def plain(engine: sa.Engine = engine, plan: Any = plan) -> bytes:
                    return plain_csv(engine, plan)

                def floor(rows: list[list[Any]] = rows, header: list[str] = header) -> None:
                    writer = csv.writer(io.StringIO())
                    writer.writerow(header)
                    writer.writerows(rows)

                def export_xlsx(engine: sa.Engine = engine, plan: Any = plan) -> None:
                    with tempfile.NamedTemporaryFile(suffix=".xlsx") as target:
                        data_exports.write_xlsx(engine, plan, "wide", target.name)

                def bare_xlsx(rows: list[list[Any]] = rows, header: list[str] = header) -> None:
                    from openpyxl import Workbook

                    book = Workbook(write_only=True)
                    sheet = book.create_sheet("data")
                    sheet.append(header)
                    for row in rows:
                        sheet.append(row)
                    with tempfile.NamedTemporaryFile(suffix=".xlsx") as target:
                        book.save(target.name)

                def export_sav(engine: sa.Engine = engine, plan: Any = plan) -> None:
                    handle, path = tempfile.mkstemp(suffix=".sav")
                    os.close(handle)
                    try:
                        data_exports.write_statistical(engine, plan, "sav", path)
                    finally:
                        with contextlib.suppress(OSError):
                            os.remove(path)

                t_csv, t_plain, t_floor = timed(export_csv), timed(plain), timed(floor, 3)
                yield (
                    f"CSV, {n:,} assessments ({answers:,} answers)",
                    f"{t_csv * 1000:.0f} ms; plain select+csv {t_plain * 1000:.0f} ms "
                    f"({t_csv / t_plain:.2f}x); bare csv.writer {t_floor * 1000:.0f} ms "
                    f"({t_csv / t_floor:.1f}x, target < 3x)",
                )
                # openpyxl is slow (a bare loop too): timed once, at the smaller default size.
                if n == (max(sizes) if full else min(sizes)):
                    t_xlsx, t_bare = timed(export_xlsx), timed(bare_xlsx)
                    yield (
                        f"XLSX, {n:,} assessments",
                        f"{t_xlsx * 1000:.0f} ms; bare openpyxl write-only "
                        f"{t_bare * 1000:.0f} ms ({t_xlsx / t_bare:.2f}x)",
                    )
                if n == min(sizes):
                    yield f"SPSS .sav, {n:,} assessments", f"{timed(export_sav) * 1000:.0f} ms"
                del rows
                memory["csv"].append(peak(export_csv))
                if full:  # traced, openpyxl takes three times as long
                    memory["xlsx"].append(peak(export_xlsx))
                memory["plain"].append(peak(plain))
                db.engine.dispose()
        small, large = sizes
        for kind, label in (("csv", "CSV (streamed)"), ("xlsx", "XLSX (write-only)"),
                            ("plain", "plain select+csv (baseline)")):  # fmt: skip
            if not memory[kind]:
                continue
            low, high = memory[kind]
            yield (
                f"peak memory, {label}",
                f"{low:.1f} MB at {small:,}, {high:.1f} MB at {large:,} ({high / low:.2f}x "
                f"for {large // small}x the rows)",
            )


if __name__ == "__main__":
    started = time.perf_counter()
    for label, figure in run(full="--full" in sys.argv[1:]):
        print(f"  {label:<48} {figure}", flush=True)
    print(f"  ({time.perf_counter() - started:.1f} s)")
