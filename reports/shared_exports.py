"""The export "by shared indicator": answers of different rubrics (different cycles, versions,
networks) that measure the same indicators of the codebook, pooled on each indicator's scale.

Long (:func:`long_rows`): one row per assessment x shared indicator its rubric measures: the
organisation, cycle, status and rubric version, the indicator, the question that measures it,
the answer as stored and its value on the indicator's scale, self-assessed and verified. Wide
(:func:`wide_rows`): one row per assessment, two columns per indicator (``CODE`` and
``CODE.verified``).

A value is the answer mapped by the question's ``indicator_map`` (or taken as it is: a level
that is a value of the scale, a yes/no on a binary indicator, a number on a count, proportion
or percentage indicator); an answer without a counterpart (an option mapped to null, a number
off the scale) is empty with ``missing = unmapped``; not applicable and don't know keep their
tokens, as in the other exports.

Which assessments: exactly those of the other exports, through the viewer's
:func:`accounts.permissions.visible_assessments` clause (the view builds it), read in chunks of
:data:`reports.data_exports.CHUNK` on short connections of their own.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from accounts.models import Organization
from reports.data_exports import CHUNK, STATUS_FILTERS, _Buffer, _xlsx_cell, neutralise
from rubrics.codebook import Codebook, SharedIndicator, shared_value
from rubrics.models import RubricRecord, RubricVersion
from rubrics.schema import Question, Rubric, parse_rubric
from rubrics.types import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE
from surveys.models import Answer, Assessment, AssessmentCycle, Source

IDENTITY = (
    "assessment_id",
    "organisation",
    "organisation_name",
    "country",
    "cycle",
    "status",
    "rubric_version",
)
LONG_HEADER = (
    *IDENTITY,
    "indicator",
    "question",
    "answer",
    "value",
    "value_label",
    "missing",
    "verified_answer",
    "verified_value",
    "verified_missing",
)
MISSING_TOKENS = ("not_applicable", "dont_know")


@dataclass(frozen=True)
class SharedPlan:
    """What a pooled export holds: the viewer's scope, the codebook, filters, the language of
    the value labels."""

    scope: Any
    codebook: Codebook
    language: str = "en"
    status: str = ""  # a key of STATUS_FILTERS
    cycle_ids: tuple[int, ...] = ()  # empty: every cycle in scope
    indicators: tuple[str, ...] = ()  # empty: every indicator
    chunk: int = CHUNK


@dataclass(frozen=True)
class Measured:
    """One rubric version's questions that measure shared indicators, in codebook order."""

    label: str  # "code vN"
    rubric: Rubric
    links: tuple[tuple[SharedIndicator, Question], ...]


def _where(plan: SharedPlan) -> list[Any]:
    clauses: list[Any] = [plan.scope]
    statuses = STATUS_FILTERS.get(plan.status)
    if statuses is not None:
        clauses.append(col(Assessment.status).in_(statuses))
    if plan.cycle_ids:
        clauses.append(col(Assessment.cycle_id).in_(plan.cycle_ids))
    return clauses


def _assessments(plan: SharedPlan) -> Any:
    return (
        sa.select(
            col(Assessment.id),
            col(Organization.code),
            col(Organization.name),
            col(Organization.country),
            col(AssessmentCycle.code),
            col(Assessment.status),
            col(AssessmentCycle.rubric_version_id),
        )
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .join(AssessmentCycle, col(AssessmentCycle.id) == col(Assessment.cycle_id))
        .where(*_where(plan))
    )


def _measured(connection: Any, plan: SharedPlan, version_ids: set[int]) -> dict[int, Measured]:
    """The measuring questions of each rubric version in ``version_ids``."""
    if not version_ids:
        return {}
    rows = connection.execute(
        sa.select(
            col(RubricVersion.id),
            col(RubricRecord.code),
            col(RubricVersion.number),
            col(RubricVersion.content),
        )
        .join(RubricRecord, col(RubricRecord.id) == col(RubricVersion.rubric_id))
        .where(col(RubricVersion.id).in_(sorted(version_ids)))
    ).all()
    order = {indicator.code: i for i, indicator in enumerate(plan.codebook.indicators)}
    wanted = set(plan.indicators)
    found: dict[int, Measured] = {}
    for version_id, code, number, content in rows:
        rubric = parse_rubric(content)
        links = []
        for _d, _i, question in rubric.questions():
            indicator = plan.codebook.get(question.indicator or "")
            if indicator is None or (wanted and indicator.code not in wanted):
                continue  # not measuring, or an indicator the codebook no longer has
            links.append((indicator, question))
        links.sort(key=lambda link: order[link[0].code])
        found[int(version_id)] = Measured(f"{code} v{number}", rubric, tuple(links))
    return found


def measured_indicators(engine: Engine, plan: SharedPlan) -> list[SharedIndicator]:
    """The indicators measured by the rubric versions of the assessments in the plan's scope
    (the wide table's columns), in codebook order."""
    with engine.connect().execution_options(reading=True) as connection:
        inner = _assessments(plan).subquery()
        version_ids = {
            int(v)
            for v in connection.execute(sa.select(inner.c.rubric_version_id).distinct()).scalars()
        }
        measured = _measured(connection, plan, version_ids)
    codes = {indicator.code for m in measured.values() for indicator, _q in m.links}
    return [indicator for indicator in plan.codebook.indicators if indicator.code in codes]


@dataclass(frozen=True)
class Pooled:
    """One assessment x shared indicator."""

    head: tuple[Any, ...]  # the identity columns
    indicator: SharedIndicator
    question: Question
    answers: Mapping[str, Any]  # source -> stored value (absent: never answered)
    values: Mapping[str, Any]  # source -> value on the scale, a missing token, or None


def pooled(engine: Engine, plan: SharedPlan) -> Iterator[Pooled]:
    """Every assessment x shared indicator of the plan, by assessment id then codebook order."""
    last = 0
    measured: dict[int, Measured] = {}
    while True:
        with engine.connect().execution_options(reading=True) as connection:
            rows = connection.execute(
                _assessments(plan)
                .where(col(Assessment.id) > last)
                .order_by(col(Assessment.id))
                .limit(plan.chunk)
            ).all()
            if not rows:
                return
            first, last = int(rows[0][0]), int(rows[-1][0])
            new = {int(r[6]) for r in rows} - set(measured)
            measured.update(_measured(connection, plan, new))
            question_ids = sorted(
                {q.id for m in measured.values() for _indicator, q in m.links} or {""}
            )
            stored = connection.execute(
                sa.select(
                    col(Answer.assessment_id),
                    col(Answer.source),
                    col(Answer.question_id),
                    sa.cast(col(Answer.value), sa.Text),
                )
                .join(Assessment, col(Assessment.id) == col(Answer.assessment_id))
                .join(Organization, col(Organization.id) == col(Assessment.organization_id))
                .where(
                    *_where(plan),
                    col(Assessment.id).between(first, last),
                    col(Answer.question_id).in_(question_ids),
                )
            ).all()
        answers: dict[int, dict[tuple[str, str], Any]] = {}
        for assessment_id, source, question_id, text in stored:
            value = None if text is None else json.loads(text)
            answers.setdefault(int(assessment_id), {})[(str(source), str(question_id))] = value
        for assessment_id, org, name, country, cycle, status, version_id in rows:
            found = measured.get(int(version_id))
            if found is None:
                continue
            mine = answers.get(int(assessment_id), {})
            head = (int(assessment_id), org, name, country or None, cycle, status, found.label)
            for indicator, question in found.links:
                given: dict[str, Any] = {}
                values: dict[str, Any] = {}
                for source in (Source.SELF, Source.VERIFIED):
                    key = (str(source), question.id)
                    if key in mine:
                        given[str(source)] = mine[key]
                        values[str(source)] = shared_value(
                            question, found.rubric, indicator, mine[key]
                        )
                yield Pooled(head, indicator, question, given, values)


def _answer_text(value: Any) -> Any:
    """A stored answer as the other exports write its code (N/A and don't know as tokens)."""
    if isinstance(value, list | tuple):
        return " ".join(map(str, value)) or None
    if value == NOT_APPLICABLE_VALUE:
        return "not_applicable"
    if value == DONT_KNOW_VALUE:
        return "dont_know"
    return None if value == "" else value


def _missing(pooled_row: Pooled, source: str) -> str | None:
    """Why a value is empty: not answered, N/A, don't know, or no counterpart on the scale."""
    if source not in pooled_row.answers:
        return "unanswered" if source == Source.SELF else None
    value = pooled_row.values.get(source)
    if isinstance(value, str):
        return value
    if value is None:
        stored = pooled_row.answers[source]
        return "unanswered" if stored in (None, "", []) else "unmapped"
    return None


def _number(value: Any) -> Any:
    """A scale value as a number people read: 3 rather than 3.0."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return None


def _label(indicator: SharedIndicator, value: Any, codebook: Codebook, language: str) -> Any:
    if not isinstance(value, float):
        return None
    for level in indicator.scale.values():
        if level.value == value:
            return codebook.text(level.label, language)
    return None


def long_rows(engine: Engine, plan: SharedPlan) -> Iterator[list[Any]]:
    """One row per assessment x shared indicator (see :data:`LONG_HEADER`)."""
    for row in pooled(engine, plan):
        self_value = row.values.get(Source.SELF)
        verified_value = row.values.get(Source.VERIFIED)
        yield [
            *row.head,
            row.indicator.code,
            row.question.id,
            _answer_text(row.answers.get(Source.SELF)),
            _number(self_value),
            _label(row.indicator, self_value, plan.codebook, plan.language),
            _missing(row, Source.SELF),
            _answer_text(row.answers.get(Source.VERIFIED)),
            _number(verified_value),
            _missing(row, Source.VERIFIED),
        ]


def wide_header(indicators: list[SharedIndicator]) -> list[str]:
    columns = list(IDENTITY)
    for indicator in indicators:
        columns += [indicator.code, f"{indicator.code}.verified"]
    return columns


def wide_rows(
    engine: Engine, plan: SharedPlan, indicators: list[SharedIndicator]
) -> Iterator[list[Any]]:
    """One row per assessment measuring at least one indicator: its value on each indicator's
    scale (or a missing token), self-assessed and verified; empty where its rubric does not
    measure the indicator."""
    position = {indicator.code: i for i, indicator in enumerate(indicators)}
    current: list[Any] = []
    for row in pooled(engine, plan):
        if not current or row.head[0] != current[0]:
            if current:
                yield current
            current = [*row.head, *([None] * (2 * len(indicators)))]
        at = len(IDENTITY) + 2 * position[row.indicator.code]
        for offset, source in enumerate((Source.SELF, Source.VERIFIED)):
            value = row.values.get(source)
            current[at + offset] = _number(value) if isinstance(value, float) else None
            if current[at + offset] is None:
                missing = _missing(row, source)
                current[at + offset] = missing if missing in MISSING_TOKENS else None
    if current:
        yield current


def rows_of(engine: Engine, plan: SharedPlan, shape: str) -> tuple[list[str], Iterator[list[Any]]]:
    if shape == "wide":
        indicators = measured_indicators(engine, plan)
        return wide_header(indicators), wide_rows(engine, plan, indicators)
    return list(LONG_HEADER), long_rows(engine, plan)


def csv_stream(engine: Engine, plan: SharedPlan, shape: str, batch: int = 200) -> Iterator[bytes]:
    """The pooled export as CSV (UTF-8 with a byte-order mark, formulas neutralised)."""
    header, rows = rows_of(engine, plan, shape)
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    yield b"\xef\xbb\xbf" + buffer.take()
    pending = 0
    for row in rows:
        writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
        pending += 1
        if pending >= batch:
            yield buffer.take()
            pending = 0
    if pending:
        yield buffer.take()


def write_xlsx(engine: Engine, plan: SharedPlan, shape: str, target: Any) -> None:
    """The pooled export as XLSX: a ``data`` sheet and the ``indicators`` it pools."""
    from openpyxl import Workbook

    from reports.codebook_files import codebook_rows

    header, rows = rows_of(engine, plan, shape)
    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    data.append([_xlsx_cell(h) for h in header])
    for row in rows:
        data.append([_xlsx_cell(v) for v in row])
    sheet = book.create_sheet("indicators")
    for row in codebook_rows(plan.codebook):
        sheet.append([_xlsx_cell(v) for v in row])
    book.save(target)
