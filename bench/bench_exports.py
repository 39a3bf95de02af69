"""Benchmark of the data exports (issue 11, section 3): time and peak memory through the app's
export code, each beside a plain baseline of the same run.

A synthetic cycle of N assessments x 50 maturity questions (5 domains x 2 indicators x 5
questions, every answer stored, scores of every level) is written to a real SQLite file
(migrated by Alembic). The export reads it as an admin would (the permissions scope of a real
principal), chunk by chunk (``reports.data_exports``). Figures:

- CSV: the streamed export (database reads, coding, neutralising, writing) beside the floor of
  the same run: a plain select of every row it reads (assessments, answers, scores; the driver's
  cursor, no scope, no pivot) plus a raw ``csv.writer`` over the export's rows already in
  memory. Target (issue 11): within 3x of that (a raw ``csv.writer`` of the same rows, fetched
  by a plain select). Also shown: the writer alone (no database read at all), and a plain
  export that reads every answer in one select, pivots them in dicts and writes with
  ``csv.writer`` (what one writes first; not at 100,000, where it holds every answer).
- XLSX: the export (openpyxl write-only, to a temporary file) beside a bare openpyxl write-only
  loop over rows already in memory.
- SPSS: the .sav export (one data frame, written by pyreadstat), time only.
- Memory: the peak traced by ``tracemalloc`` while exporting the two sizes: flat for the
  streamed CSV and XLSX (one chunk at a time), growing for the plain export.

Default: 1,000 and 2,000 assessments (50,000 and 100,000 answers; the export reads 500
assessments at a time, so both sizes take several chunks), about a minute.
``python -m bench.bench_exports --full``: 10,000 and 100,000 assessments (5 million answers,
seeded by INSERT ... SELECT in the database; a few minutes and about 1 GB of disk); XLSX and
SPSS are timed at 10,000, the CSV's peak memory traced at both sizes.
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
        codes = [("overall", "bench-fifty")] + [
            (level, c)
            for d in rubric.domains
            for level, c in [("domain", d.id), *(("indicator", i.id) for i in d.indicators)]
        ]
        _bulk_answers(conn, int(cycle.id or 0), questions)
        _bulk_scores(conn, int(cycle.id or 0), int(version.id or 0), codes)
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


STAMP = "2026-12-07 12:00:00.000000"  # updated_at / computed_at of the seeded rows


def _bulk_answers(conn: Any, cycle_id: int, questions: list[str]) -> None:
    """Every answer of every assessment, made by the database in one INSERT ... SELECT (5
    million rows in seconds, where inserts of Python rows take minutes). The level is a
    pseudo-random 1-4 of (assessment, question) (a Lehmer step: deterministic); "not
    applicable" replaces level 4 on the first question of each indicator, so the missing codes
    are exercised."""
    conn.exec_driver_sql("CREATE TEMP TABLE bench_question (k INTEGER, id TEXT, first INTEGER)")
    conn.exec_driver_sql(
        "INSERT INTO bench_question VALUES (?, ?, ?)",
        [(k, q, int(q.endswith("0"))) for k, q in enumerate(questions)],
    )
    conn.exec_driver_sql(
        "INSERT INTO answer (assessment_id, source, question_id, value, version, updated_at) "
        "SELECT id, 'self', question, CASE WHEN level = 4 AND first THEN '\"__na__\"' "
        "ELSE CAST(level AS TEXT) END, 1, ? FROM ("
        "  SELECT a.id AS id, q.id AS question, q.first AS first,"
        "   ((((a.id * 7919 + q.k * 104729) % 1000003) * 48271) % 2147483647) % 4 + 1 AS level"
        "  FROM assessment a, bench_question q WHERE a.cycle_id = ? ORDER BY a.id, q.k)",
        (STAMP, cycle_id),
    )
    conn.exec_driver_sql("DROP TABLE bench_question")


def _bulk_scores(conn: Any, cycle_id: int, version_id: int, codes: list[tuple[str, str]]) -> None:
    conn.exec_driver_sql("CREATE TEMP TABLE bench_unit (k INTEGER, level TEXT, code TEXT)")
    conn.exec_driver_sql(
        "INSERT INTO bench_unit VALUES (?, ?, ?)",
        [(k, level, code) for k, (level, code) in enumerate(codes)],
    )
    conn.exec_driver_sql(
        "INSERT INTO score (assessment_id, rubric_version_id, source, level, code, score,"
        " coverage, computed_at) SELECT a.id, ?, 'self', u.level, u.code, 50.0, 1.0, ?"
        " FROM assessment a, bench_unit u WHERE a.cycle_id = ? ORDER BY a.id, u.k",
        (version_id, STAMP, cycle_id),
    )
    conn.exec_driver_sql("DROP TABLE bench_unit")


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


def plain_select(engine: sa.Engine, plan: data_exports.ExportPlan) -> int:
    """The floor of reading: every row the wide export reads (its assessments with their
    organisation and cycle, their answers, their scores), by plain selects fetched through the
    driver's cursor, without the permissions scope, pivoting or coding; rows are counted and
    dropped (nothing held)."""
    cycle = plan.filters.cycle_id
    count = 0
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for sql, args in (
            (
                "SELECT a.id, o.code, o.name, o.country, o.org_type, c.code, a.status"
                " FROM assessment a JOIN organization o ON o.id = a.organization_id"
                " JOIN assessment_cycle c ON c.id = a.cycle_id WHERE a.cycle_id = ?"
                " ORDER BY a.id",
                (cycle,),
            ),
            (
                "SELECT n.assessment_id, n.question_id, n.value FROM answer n"
                " JOIN assessment a ON a.id = n.assessment_id"
                " WHERE a.cycle_id = ? AND n.source = 'self'",
                (cycle,),
            ),
            (
                "SELECT s.assessment_id, s.source, s.level, s.code, s.score, s.coverage"
                " FROM score s JOIN assessment a ON a.id = s.assessment_id"
                " WHERE a.cycle_id = ? AND s.rubric_version_id = ?",
                (cycle, plan.score_version_id),
            ),
        ):
            cursor = raw.execute(sql, args)
            while block := cursor.fetchmany(10_000):
                count += len(block)
    return count


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

                def select(engine: sa.Engine = engine, plan: Any = plan) -> int:
                    return plain_select(engine, plan)

                again = 3 if n <= 10_000 else 1  # the best of three: a shared, noisy machine
                t_csv, t_select = timed(export_csv, again), timed(select, again)
                t_floor = timed(floor, again)
                base = t_select + t_floor
                yield (
                    f"CSV, {n:,} assessments ({answers:,} answers)",
                    f"{t_csv * 1000:.0f} ms; plain select {t_select * 1000:.0f} ms + bare "
                    f"csv.writer {t_floor * 1000:.0f} ms = {base * 1000:.0f} ms "
                    f"({t_csv / base:.2f}x, target < 3x); bare csv.writer alone "
                    f"{t_csv / t_floor:.1f}x",
                )
                if n <= 10_000:  # it holds every answer in dicts: minutes and GBs at 100,000
                    t_plain = timed(plain)
                    yield (
                        "  beside a plain select+pivot+csv.writer",
                        f"{t_plain * 1000:.0f} ms ({t_csv / t_plain:.2f}x)",
                    )
                # openpyxl is slow (a bare loop too): timed once, at the smaller size.
                if n == min(sizes):
                    t_xlsx, t_bare = timed(export_xlsx), timed(bare_xlsx)
                    yield (
                        f"XLSX, {n:,} assessments",
                        f"{t_xlsx * 1000:.0f} ms; bare openpyxl write-only "
                        f"{t_bare * 1000:.0f} ms ({t_xlsx / t_bare:.2f}x)",
                    )
                    yield f"SPSS .sav, {n:,} assessments", f"{timed(export_sav) * 1000:.0f} ms"
                del rows
                memory["csv"].append(peak(export_csv))
                if not full:  # traced, openpyxl and the in-memory plain export take minutes
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
