"""Data exports for researchers (issue 11, section 3): the assessments of one cycle as CSV,
XLSX, SPSS (.sav) or Stata (.dta), wide (one row per assessment) or long (one row per answer),
with a codebook.

How the data are coded (the codebook says it per variable):

- one column per question, named by its stable code; a ``multiple`` question also gets one
  0/1 column per option (``<question>.<option>``);
- "not applicable" and "don't know" are coded apart from each other and from an unanswered
  question (an empty cell): the tokens ``not_applicable`` and ``dont_know`` in CSV and XLSX
  (or their labels in the chosen language), the user-missing values -97 and -98 in SPSS, the
  extended missing values ``.a`` and ``.b`` in Stata, each with its value label;
- in CSV and XLSX a choice is written as its option id (``codes``) or its label in the chosen
  language (``labels``); in SPSS and Stata as its position (1, 2, ...) with value labels;
- then the stored scores (0-100) and coverage (0-1) of the overall result, each domain and
  each indicator, self-assessed and verified, under the chosen rubric version.

Text that people typed (names, labels, answers) may begin with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, which a spreadsheet would run as a formula: in CSV and XLSX every
such cell and header is prefixed with ``'`` (OWASP, "CSV Injection"); numbers are written as
numbers and never touched.

Memory and the database: assessments are read in chunks of :data:`CHUNK` by keyset (``id >
last``), each chunk on its own short connection that is closed before the chunk's rows are
written, so a download never holds a transaction open while the client reads (a transaction
left open would block e.g. a ``TRUNCATE``, and on SQLite a checkpoint), and 100,000 rows never
sit in memory at once. The price: chunks are not one snapshot; an answer saved during the
download may or may not be in it, as with any page read twice. CSV is streamed as it is made;
XLSX is written by openpyxl's write-only workbook to a temporary file, then streamed. SPSS and
Stata files are written whole by pyreadstat from one data frame (it cannot append): their
memory grows with the number of rows (about 8 bytes per numeric cell).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from accounts.models import Organization
from rubrics.codebook import SharedIndicator, shared_value
from rubrics.schema import Question, Rubric
from rubrics.types import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE, Shown, display, is_blank
from surveys.models import Answer, Assessment, AssessmentCycle, Score, Source, Status

CHUNK = 500  # assessments read per connection
NA, DK = "not_applicable", "dont_know"  # the tokens of CSV and XLSX (and of the long format)
SAV_MISSING = {NA: -97.0, DK: -98.0}  # SPSS user-missing values
DTA_MISSING = {NA: "a", DK: "b"}  # Stata extended missing values .a and .b
SHAPES = ("wide", "long")
VALUE_MODES = ("codes", "labels")
FORMATS = ("csv", "xlsx", "sav", "dta")
SCORED = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED)
STATUS_FILTERS: dict[str, tuple[str, ...] | None] = {
    "": None,  # every status, not started included
    "scored": tuple(SCORED),
    "verified": (Status.VERIFIED,),
}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
}


class Missing(str):
    """An answer that is not a value: not applicable or don't know (its token)."""


NOT_APPLICABLE, DONT_KNOW = Missing(NA), Missing(DK)
_MISSING_OF = {NOT_APPLICABLE_VALUE: NOT_APPLICABLE, DONT_KNOW_VALUE: DONT_KNOW}


# --- neutralising spreadsheet formulas -----------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 refuses (openpyxl raises on them): dropped from XLSX cells.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never runs it: a leading ``=``, ``+``, ``-``,
    ``@``, tab or carriage return gets a ``'`` before it (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cell(value: Any) -> Any:
    """A value for CSV or XLSX: strings neutralised, numbers as they are, None empty."""
    if isinstance(value, str):
        return neutralise(value)
    return value


# --- what is exported ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """The interface's words in one language (the view translates them)."""

    not_applicable: str
    dont_know: str
    statuses: Mapping[str, str]
    identity: Mapping[str, str]  # label of each identity column, by its name
    self_score: str  # "Self-assessed score: %(label)s"
    verified_score: str
    self_coverage: str
    verified_coverage: str


@dataclass(frozen=True)
class ExportFilters:
    cycle_id: int
    status: str = ""
    country: str = ""
    org_type: str = ""
    focus_area: str = ""


@dataclass(frozen=True)
class Column:
    """One column of the wide table."""

    name: str  # the CSV / XLSX header: a stable code
    var: str  # the SPSS / Stata variable name
    kind: str  # id | answer | option | score | coverage | band
    storage: str  # number | text | code (a number with value labels in SPSS and Stata)
    labels: Mapping[str, str]  # the variable's label, by language
    domain: str = ""
    indicator: str = ""
    question: Question | None = None
    option: str = ""  # a multiple question's option (its 0/1 column)
    level: str = ""  # a score's level: overall | domain | indicator
    weight: float | None = None
    value_labels: Mapping[str, Mapping[float, str]] = field(default_factory=dict)  # by language
    shared_indicator: str = ""  # the codebook indicator the question measures (its code)


IDENTITY = (
    ("assessment_id", "number"),
    ("organisation", "text"),
    ("organisation_name", "text"),
    ("country", "text"),
    ("organisation_type", "text"),
    ("cycle", "text"),
    ("status", "text"),
    ("rubric_version", "text"),
    ("scores_version", "text"),
)
LONG_HEADER = (
    "assessment_id",
    "organisation",
    "organisation_name",
    "country",
    "cycle",
    "status",
    "rubric_version",
    "source",
    "domain",
    "indicator",
    "question",
    "question_type",
    "value",
    "value_label",
    "missing",
)


@dataclass(frozen=True)
class ExportPlan:
    """Everything an export needs, read before the response starts: no request, no session.

    ``scope`` is the viewer's :func:`accounts.permissions.visible_assessments` clause, built by
    the view: every select below is filtered by it."""

    filters: ExportFilters
    scope: Any
    rubric: Rubric  # the cycle's pinned version: its questions
    rubric_label: str  # "code v3"
    score_rubric: Rubric  # the version the scores are read under: its domains and indicators
    score_version_id: int
    score_label: str
    language: str
    words: Mapping[str, Words]  # by language; words[language] is the chosen one
    values: str = "codes"  # codes | labels (CSV, XLSX)
    chunk: int = CHUNK
    shared: Mapping[str, SharedIndicator] = field(default_factory=dict)  # the codebook, by code

    @property
    def word(self) -> Words:
        return self.words[self.language]


# --- variable names for SPSS and Stata -----------------------------------------------------------

# Stata's reserved names and SPSS's reserved keywords (compared without case: SPSS ignores it).
_RESERVED = frozenset(
    ("_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n",
     "_pi", "_pred", "_rc", "_skip", "strl", "using", "with",
     "all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to")
)  # fmt: skip


def variable_names(names: Sequence[str]) -> list[str]:
    """Names both SPSS and Stata accept, one per column, distinct without case: letters,
    digits and ``_``, not starting with a digit, at most 32 characters."""
    taken: set[str] = set()
    found = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "v"
        if base[0].isdigit():
            base = "v" + base
        base = base[:32]
        if base.lower() in _RESERVED or re.fullmatch(r"str\d+", base.lower()):
            base = base[:31] + "_"
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            suffix = f"_{n}"
            candidate = base[: 32 - len(suffix)] + suffix
        taken.add(candidate.lower())
        found.append(candidate)
    return found


# --- the columns ---------------------------------------------------------------------------------


def _level_labels(rubric: Rubric, question: Question, language: str) -> dict[float, str]:
    names = {lv.level: rubric.text(lv.label, language) for lv in rubric.scale.levels}
    found: dict[float, str] = {}
    for level in question.levels:
        text = rubric.text(level.descriptor, language)
        name = names.get(level.level)
        found[float(level.level)] = f"{level.level} {name}: {text}" if name else text
    return found


def columns(plan: ExportPlan) -> list[Column]:
    """The wide table's columns: identity, one per question (and per option of a multiple
    question), then the scores and coverage of each level, self-assessed and verified."""
    rubric, languages = plan.rubric, list(plan.words)
    word_of = plan.words
    out: list[tuple[str, str, str, dict[str, str], dict[str, Any]]] = []
    for name, storage in IDENTITY:
        labels = {lang: word_of[lang].identity.get(name, name) for lang in languages}
        out.append((name, "id", storage, labels, {}))
    for domain, indicator, question in rubric.questions():
        labels = {lang: rubric.text(question.label, lang) for lang in languages}
        where = {"domain": domain.id, "indicator": indicator.id, "weight": question.weight}
        storage = {
            "maturity": "code", "single": "code", "yes_no": "code", "multiple": "text",
            "number": "number",
        }.get(question.type, "text")  # fmt: skip
        value_labels: dict[str, dict[float, str]] = {}
        if question.type == "maturity":
            value_labels = {lang: _level_labels(rubric, question, lang) for lang in languages}
        elif question.type in ("single", "yes_no"):
            value_labels = {
                lang: {
                    float(i + 1): rubric.text(o.label, lang) for i, o in enumerate(question.options)
                }
                for lang in languages
            }
        out.append(
            (question.id, "answer", storage, labels,
             {**where, "question": question, "value_labels": value_labels,
              "shared_indicator": question.indicator or ""})
        )  # fmt: skip
        if question.type == "multiple":
            for option in question.options:
                option_labels = {
                    lang: f"{labels[lang]}: {rubric.text(option.label, lang)}" for lang in languages
                }
                out.append(
                    (f"{question.id}.{option.id}", "option", "code", option_labels,
                     {**where, "question": question, "option": option.id})
                )  # fmt: skip
    score_rubric = plan.score_rubric
    units: list[tuple[str, str, str, str, Mapping[str, str], float]] = [
        ("overall", "overall", "", "", score_rubric.title, 1.0)
    ]
    for domain in score_rubric.domains:
        units.append((domain.id, "domain", domain.id, "", domain.label, domain.weight))
    for domain in score_rubric.domains:
        for indicator in domain.indicators:
            units.append(
                (indicator.id, "indicator", domain.id, indicator.id, indicator.label,
                 indicator.weight)
            )  # fmt: skip
    for source in (Source.SELF, Source.VERIFIED):
        for code, level, domain_id, indicator_id, label, weight in units:
            for kind in ("score", "coverage"):
                template = {
                    (Source.SELF, "score"): "self_score",
                    (Source.SELF, "coverage"): "self_coverage",
                    (Source.VERIFIED, "score"): "verified_score",
                    (Source.VERIFIED, "coverage"): "verified_coverage",
                }[(source, kind)]
                labels = {
                    lang: getattr(word_of[lang], template)
                    % {"label": score_rubric.text(label, lang)}
                    for lang in languages
                }
                out.append(
                    (f"{kind}.{source}.{code}", kind, "number", labels,
                     {"domain": domain_id, "indicator": indicator_id, "weight": weight,
                      "level": level})
                )  # fmt: skip
    names = variable_names([name for name, *_rest in out])
    found = []
    for (name, kind, storage, labels, extra), var in zip(out, names, strict=True):
        found.append(Column(name=name, var=var, kind=kind, storage=storage, labels=labels, **extra))
    return found


# --- reading the data, chunk by chunk ------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """One chunk of assessments (by id), with their answers and scores."""

    rows: list[tuple[Any, ...]]  # id, org code, org name, country, org type, cycle code, status
    answers: dict[int, dict[str, Any]]  # assessment id -> question id -> value (self)
    verified_answers: dict[int, dict[str, Any]]
    scores: dict[int, dict[tuple[str, str, str], tuple[float | None, float | None]]]


def _where(plan: ExportPlan) -> list[Any]:
    filters = plan.filters
    clauses: list[Any] = [plan.scope, col(Assessment.cycle_id) == filters.cycle_id]
    statuses = STATUS_FILTERS.get(filters.status)
    if statuses is not None:
        clauses.append(col(Assessment.status).in_(statuses))
    if filters.country:
        clauses.append(col(Organization.country) == filters.country)
    if filters.org_type:
        clauses.append(col(Organization.org_type) == filters.org_type)
    if filters.focus_area:
        # A JSON list of enum values (no quotes inside), as the dashboard filters it.
        text = sa.cast(col(Organization.focus_areas), sa.Text)
        clauses.append(text.like(f'%"{filters.focus_area}"%'))
    return clauses


def _assessments(plan: ExportPlan) -> Any:
    return (
        sa.select(
            col(Assessment.id),
            col(Organization.code),
            col(Organization.name),
            col(Organization.country),
            col(Organization.org_type),
            col(AssessmentCycle.code),
            col(Assessment.status),
        )
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .join(AssessmentCycle, col(AssessmentCycle.id) == col(Assessment.cycle_id))
        .where(*_where(plan))
    )


def count_rows(connection: Any, plan: ExportPlan) -> int:
    """How many assessments the export holds (for the audit log)."""
    inner = _assessments(plan).subquery()
    return int(connection.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())


def _plain_rows(connection: Any, statement: Any) -> list[tuple[Any, ...]]:
    """The rows of a select of plain columns (integers, text, floats: no type to convert) as
    the driver's tuples, without building a SQLAlchemy row for each (a quarter of the
    export's time on 100,000 answers)."""
    result = connection.execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


@dataclass(frozen=True)
class RawChunk:
    """One chunk as the database gives it: the driver's tuples, nothing decoded."""

    rows: list[tuple[Any, ...]]  # id, org code, org name, country, org type, cycle code, status
    answers: list[tuple[Any, ...]]  # assessment id, source, question id, value as JSON text
    scores: list[tuple[Any, ...]]  # assessment id, source, level, code, score, coverage


def raw_chunks(
    engine: Engine, plan: ExportPlan, sources: Sequence[str] = (Source.SELF, Source.VERIFIED)
) -> Iterator[RawChunk]:
    """The plan's assessments by ascending id, :attr:`ExportPlan.chunk` at a time, with their
    answers (of ``sources``) and scores; each chunk read on a connection of its own, closed
    (its transaction ended) before it is yielded."""
    last = 0
    while True:
        # reading=True: a plain BEGIN on SQLite, never BEGIN IMMEDIATE (webapp.database), so
        # a download never holds the write lock, even for a moment.
        with engine.connect().execution_options(reading=True) as connection:
            rows = _plain_rows(
                connection,
                _assessments(plan)
                .where(col(Assessment.id) > last)
                .order_by(col(Assessment.id))
                .limit(plan.chunk),
            )
            if not rows:
                return
            first, last = int(rows[0][0]), int(rows[-1][0])
            # The ids of this chunk are a range of the scoped select: its answers and scores
            # are read by that range and the same scope (no list of ids in the SQL).
            in_chunk = [*_where(plan), col(Assessment.id).between(first, last)]
            stored = _plain_rows(
                connection,
                sa.select(
                    col(Answer.assessment_id),
                    col(Answer.source),
                    col(Answer.question_id),
                    sa.cast(col(Answer.value), sa.Text),
                )
                .join(Assessment, col(Assessment.id) == col(Answer.assessment_id))
                .join(Organization, col(Organization.id) == col(Assessment.organization_id))
                .where(*in_chunk, col(Answer.source).in_([str(s) for s in sources])),
            )
            stored_scores = _plain_rows(
                connection,
                sa.select(
                    col(Score.assessment_id),
                    col(Score.source),
                    col(Score.level),
                    col(Score.code),
                    col(Score.score),
                    col(Score.coverage),
                )
                .join(Assessment, col(Assessment.id) == col(Score.assessment_id))
                .join(Organization, col(Organization.id) == col(Assessment.organization_id))
                .where(*in_chunk, col(Score.rubric_version_id) == plan.score_version_id),
            )
        chunk = RawChunk(rows, stored, stored_scores)
        del rows, stored, stored_scores
        yield chunk
        del chunk  # the next chunk is read without this one (memory: one chunk at a time)


class _Decoder:
    """JSON text -> value through a small cache: most answers are one of a few values (a level,
    an option id), and decoding each row again costs a third of an export's time."""

    def __init__(self, limit: int = 10_000) -> None:
        self.decoded: dict[str, Any] = {}
        self.limit = limit

    def __call__(self, text: str | None) -> Any:
        if text is None:
            return None
        try:
            return self.decoded[text]
        except KeyError:
            value = json.loads(text)
            if len(self.decoded) < self.limit and not isinstance(value, list | dict):
                self.decoded[text] = value
            return value


def read_chunks(engine: Engine, plan: ExportPlan) -> Iterator[Chunk]:
    """:func:`raw_chunks` with the answers decoded and grouped by assessment (the long format
    reads these)."""
    decode = _Decoder()
    for raw in raw_chunks(engine, plan):
        answers: dict[int, dict[str, Any]] = {}
        verified: dict[int, dict[str, Any]] = {}
        for assessment_id, source, question_id, text in raw.answers:
            target = verified if source == Source.VERIFIED else answers
            target.setdefault(assessment_id, {})[question_id] = decode(text)
        scores: dict[int, dict[tuple[str, str, str], tuple[float | None, float | None]]] = {}
        for assessment_id, source, level, code, score, coverage in raw.scores:
            key = (str(source), str(level), "overall" if level == "overall" else str(code))
            scores.setdefault(assessment_id, {})[key] = (score, coverage)
        chunk = Chunk([tuple(r) for r in raw.rows], answers, verified, scores)
        del raw, answers, verified, scores
        yield chunk
        del chunk


# --- coding the answers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Coder:
    """How a question's answers become cells, for one target: ``codes`` or ``labels`` (CSV,
    XLSX) or ``stat`` (SPSS, Stata: choices by position). A table for the values a question
    can take (levels, option ids, N/A, don't know); anything else is read by its type."""

    question: Question
    table: dict[Any, Any]
    fallback: Callable[[Any], Any]
    options: tuple[str, ...] = ()  # a multiple question's option ids, for its 0/1 columns

    def __call__(self, value: Any) -> Any:
        try:
            return self.table[value]
        except (KeyError, TypeError):  # a list (multiple) is not hashable
            return self.fallback(value)

    def dummies(self, value: Any) -> list[Any]:
        if isinstance(value, list | tuple):
            chosen = {str(v) for v in value}
            return [1 if option in chosen else 0 for option in self.options]
        if isinstance(value, str) and value in _MISSING_OF:
            return [_MISSING_OF[value]] * len(self.options)
        if isinstance(value, str) and value.strip():
            chosen = set(value.split())
            return [1 if option in chosen else 0 for option in self.options]
        return [None] * len(self.options)


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return None if value is None else str(value)


def make_coder(question: Question, rubric: Rubric, target: str, plan: ExportPlan) -> Coder:
    words = plan.word
    missing: dict[Any, Any] = {
        NOT_APPLICABLE_VALUE: words.not_applicable if target == "labels" else NOT_APPLICABLE,
        DONT_KNOW_VALUE: words.dont_know if target == "labels" else DONT_KNOW,
        None: None,
        "": None,
    }
    language = plan.language

    def shown(value: Any) -> Any:
        if is_blank(value):
            return None
        text = display(question, rubric, value, language)
        return None if isinstance(text, Shown) else text

    table: dict[Any, Any] = dict(missing)
    fallback: Callable[[Any], Any] = shown
    kind = question.type
    if kind == "maturity":
        for level in question.levels:
            code = level.level if target != "labels" else shown(level.level)
            table[level.level] = table[str(level.level)] = code
    elif kind in ("single", "yes_no"):
        for i, option in enumerate(question.options):
            table[option.id] = {
                "codes": option.id,
                "labels": rubric.text(option.label, language),
                "stat": i + 1,
            }[target]
    elif kind == "multiple":
        if target != "labels":

            def fallback(value: Any) -> Any:
                if isinstance(value, list | tuple):
                    return " ".join(str(v) for v in value) or None
                return None if is_blank(value) else str(value)

    elif kind == "number":
        fallback = _number
    if kind in ("maturity", "single", "yes_no"):
        # A stored value the rubric no longer names (it should not happen): written as it is.
        plain = fallback

        def fallback(value: Any) -> Any:
            found = plain(value)
            return found if target == "labels" or found is None else str(value)

    options = tuple(o.id for o in question.options) if kind == "multiple" else ()
    return Coder(question, table, fallback, options)


def _same(text: str) -> str:
    return text  # a Missing token stays one (SPSS and Stata code it apart)


def _row_builder(
    plan: ExportPlan, target: str, cell: Callable[[str], str] | None = None
) -> Callable[[RawChunk], Iterator[list[Any]]]:
    """The function that turns a chunk into the wide table's rows (plain Python values;
    :class:`Missing` for N/A and don't know; every text through ``cell``, e.g. neutralised).

    Each row starts empty and each stored answer is written into its columns: an answer is
    coded once per distinct (question, stored JSON text), not once per row, since most answers
    are one of a few values (a level, an option id)."""
    rubric = plan.rubric
    keep: Callable[[str], str] = cell or _same
    place: dict[str, tuple[int, Coder]] = {}
    width = len(IDENTITY)
    for _d, _i, question in rubric.questions():
        coder = make_coder(question, rubric, target, plan)
        place[question.id] = (width, coder)
        width += 1 + len(coder.options)
    score_place: dict[tuple[str, str, str], int] = {}
    for source in (Source.SELF, Source.VERIFIED):
        for level, code in [
            ("overall", "overall"),
            *(("domain", d.id) for d in plan.score_rubric.domains),
            *(("indicator", i.id) for d in plan.score_rubric.domains for i in d.indicators),
        ]:
            score_place[(str(source), level, code)] = width  # the score; its coverage next
            width += 2
    statuses = plan.word.statuses if target == "labels" else {}
    rubric_label, score_label = keep(plan.rubric_label), keep(plan.score_label)
    decode = _Decoder()
    coded: dict[tuple[str, str | None], tuple[int, tuple[Any, ...]]] = {}

    def shown(value: Any) -> Any:
        return keep(value) if isinstance(value, str) else value

    def cells_of(question_id: str, text: str | None) -> tuple[int, tuple[Any, ...]]:
        start, coder = place[question_id]
        value = decode(text)
        found = [coder(value)]
        if coder.options:
            found.extend(coder.dummies(value))
        cells = (start, tuple(shown(v) for v in found))
        if len(coded) < 100_000:  # free text may all differ: the cache stays bounded
            coded[(question_id, text)] = cells
        return cells

    def build(chunk: RawChunk) -> Iterator[list[Any]]:
        blank: list[Any] = [None] * width
        rows: dict[int, list[Any]] = {}
        for assessment_id, code, name, country, org_type, cycle, status in chunk.rows:
            row = blank.copy()
            row[: len(IDENTITY)] = (
                assessment_id, shown(code), shown(name), shown(country or None),
                shown(org_type or None), shown(cycle), shown(statuses.get(status, status)),
                rubric_label, score_label,
            )  # fmt: skip
            rows[assessment_id] = row
        for assessment_id, _source, question_id, text in chunk.answers:
            found = rows.get(assessment_id)
            if found is None or question_id not in place:
                continue  # an answer to a question this version does not have
            try:
                start, cells = coded[(question_id, text)]
            except KeyError:
                start, cells = cells_of(question_id, text)
            if len(cells) == 1:
                found[start] = cells[0]
            else:
                found[start : start + len(cells)] = cells
        for assessment_id, source, level, code, score, coverage in chunk.scores:
            found = rows.get(assessment_id)
            at = score_place.get((source, level, "overall" if level == "overall" else code))
            if found is not None and at is not None:
                found[at], found[at + 1] = score, coverage
        yield from rows.values()  # in the chunk's order: ascending id

    return build


def wide_rows(
    engine: Engine, plan: ExportPlan, target: str, *, cell: Callable[[str], str] | None = None
) -> Iterator[list[Any]]:
    """The wide table's rows (self-assessed answers; scores self-assessed and verified)."""
    build = _row_builder(plan, target, cell)
    for chunk in raw_chunks(engine, plan, (Source.SELF,)):
        yield from build(chunk)
        del chunk  # not kept while the next one is read


def long_rows(engine: Engine, plan: ExportPlan, target: str = "codes") -> Iterator[list[Any]]:
    """One row per stored answer (self-assessed, then verified), in the rubric's order."""
    rubric = plan.rubric
    placed = [(d.id, i.id, q) for d, i, q in rubric.questions()]
    codes = {q.id: make_coder(q, rubric, "codes", plan) for _d, _i, q in placed}
    labels = {q.id: make_coder(q, rubric, "labels", plan) for _d, _i, q in placed}
    word = plan.word
    missing_label = {NA: word.not_applicable, DK: word.dont_know}
    statuses = plan.word.statuses if target == "labels" else {}
    for chunk in read_chunks(engine, plan):
        for assessment_id, code, name, country, _type, cycle, status in chunk.rows:
            head = [
                assessment_id, code, name, country or None, cycle,
                statuses.get(status, status), plan.rubric_label,
            ]  # fmt: skip
            for source, stored in (
                (Source.SELF, chunk.answers.get(assessment_id)),
                (Source.VERIFIED, chunk.verified_answers.get(assessment_id)),
            ):
                if not stored:
                    continue
                for domain, indicator, question in placed:
                    if question.id not in stored:
                        continue
                    value = stored[question.id]
                    coded = codes[question.id](value)
                    is_missing = isinstance(coded, Missing)
                    label = missing_label[coded] if is_missing else labels[question.id](value)
                    yield [
                        *head, str(source), domain, indicator, question.id, question.type,
                        str(coded) if is_missing else coded, label,
                        str(coded) if is_missing else ("unanswered" if coded is None else None),
                    ]  # fmt: skip
        del chunk  # not kept while the next one is read


# --- CSV and XLSX --------------------------------------------------------------------------------


def header(plan: ExportPlan, shape: str) -> list[str]:
    return list(LONG_HEADER) if shape == "long" else [c.name for c in columns(plan)]


def _rows(
    engine: Engine, plan: ExportPlan, shape: str, cell: Callable[[str], str]
) -> Iterator[list[Any]]:
    """The rows of ``shape``, every text through ``cell``."""
    if shape == "long":
        return (
            [cell(v) if isinstance(v, str) else v for v in row]
            for row in long_rows(engine, plan, plan.values)
        )
    return wide_rows(engine, plan, plan.values, cell=cell)


class _Buffer:
    """A file-like sink for csv.writer that hands back what was written since the last call."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> bytes:
        text = "".join(self.parts)
        self.parts.clear()
        return text.encode("utf-8")


def csv_stream(
    engine: Engine, plan: ExportPlan, shape: str = "wide", *, batch: int = 200
) -> Iterator[bytes]:
    """The export as CSV, in UTF-8 with a byte-order mark (so that Excel reads Greek), a few
    hundred rows per block."""
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header(plan, shape)])
    yield b"\xef\xbb\xbf" + buffer.take()
    pending = 0
    for row in _rows(engine, plan, shape, neutralise):
        writer.writerow(row)
        pending += 1
        if pending >= batch:
            yield buffer.take()
            pending = 0
    if pending:
        yield buffer.take()


def codebook_rows(plan: ExportPlan) -> Iterator[list[Any]]:
    """The codebook: one row per variable, then one per value it can take (levels, options
    with their scores, the missing codes), each label in every language of the rubric."""
    languages = list(plan.words)
    yield [
        "variable", "sav_dta_variable", "rubric_version", "kind", "domain", "indicator",
        "question_type", "weight", "value", "sav_dta_value", "score",
        *(f"label_{lang}" for lang in languages), "shared_indicator", "shared_value",
    ]  # fmt: skip
    rubric = plan.rubric

    def missing_rows(column: Column) -> Iterator[list[Any]]:
        numeric = column.storage in ("code", "number")
        for token in (NA, DK):
            stat = f"SPSS {SAV_MISSING[token]:g}, Stata .{DTA_MISSING[token]}" if numeric else token
            words = [
                getattr(plan.words[lang], "not_applicable" if token == NA else "dont_know")
                for lang in languages
            ]
            yield [column.name, column.var, "", "", "", "", "", "", token, stat, "", *words, "", ""]

    for column in columns(plan):
        question = column.question
        version = plan.score_label if column.kind in ("score", "coverage") else plan.rubric_label
        yield [
            column.name, column.var, version if column.kind != "id" else "",
            f"{column.kind} ({column.level})" if column.level else column.kind,
            column.domain, column.indicator, question.type if question else "",
            column.weight, "", "", "", *(column.labels[lang] for lang in languages),
            column.shared_indicator, "",
        ]  # fmt: skip
        if question is None or column.kind == "option":
            continue
        shared = plan.shared.get(question.indicator or "") if plan.shared else None

        def on_scale(
            answer: Any, question: Question = question, shared: SharedIndicator | None = shared
        ) -> Any:
            """The answer's value on its shared indicator's scale (the pooled export's)."""
            if shared is None:
                return ""
            found = shared_value(question, rubric, shared, answer)
            if not isinstance(found, float):
                return ""
            return int(found) if found.is_integer() else found

        if question.type == "maturity":
            for level in question.levels:
                yield [
                    column.name, column.var, "", "", "", "", "", "", level.level, level.level,
                    level.level,
                    *(column.value_labels[lang][float(level.level)] for lang in languages),
                    column.shared_indicator, on_scale(level.level),
                ]  # fmt: skip
        elif question.options:
            for i, option in enumerate(question.options):
                yield [
                    column.name, column.var, "", "", "", "", "", "", option.id,
                    i + 1 if question.type != "multiple" else f"{column.name}.{option.id} = 1",
                    option.score,
                    *(rubric.text(option.label, lang) for lang in languages),
                    column.shared_indicator, on_scale(option.id),
                ]  # fmt: skip
        elif question.type == "number" and question.number is not None:
            number = question.number
            for band in number.bands:
                yield [
                    column.name, column.var, "", "", "", "", "", "",
                    f"{band.min:g}..{band.max:g}", "", band.score,
                    *("" for _lang in languages), column.shared_indicator, "",
                ]  # fmt: skip
            if number.method == "linear":
                yield [
                    column.name, column.var, "", "", "", "", "", "",
                    f"{number.low:g}..{number.high:g}", "",
                    f"{rubric.scale.min}..{rubric.scale.max}", *("" for _lang in languages),
                    column.shared_indicator, "",
                ]  # fmt: skip
        yield from missing_rows(column)


def codebook_csv(plan: ExportPlan) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in codebook_rows(plan):
        writer.writerow([_cell(v) for v in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(_ILLEGAL_XML.sub("", value))
    return value


def write_xlsx(engine: Engine, plan: ExportPlan, shape: str, target: Any) -> None:
    """The export as an XLSX workbook (a ``data`` sheet and a ``codebook`` sheet), written by
    openpyxl's write-only workbook, which keeps rows on disk, not in memory."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    data.append([_xlsx_cell(h) for h in header(plan, shape)])
    for row in _rows(engine, plan, shape, _xlsx_cell):
        data.append(row)
    sheet = book.create_sheet("codebook")
    for row in codebook_rows(plan):
        sheet.append([_xlsx_cell(v) for v in row])
    book.save(target)


# --- SPSS and Stata ------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def write_statistical(engine: Engine, plan: ExportPlan, kind: str, path: str) -> None:
    """The wide table as an SPSS ``.sav`` or a Stata ``.dta`` file at ``path``, with variable
    labels, value labels and N/A / don't know as missing values of their own."""
    import pandas as pd
    import pyreadstat

    cols = columns(plan)
    values: list[list[Any]] = [[] for _c in cols]
    for row in wide_rows(engine, plan, "stat"):
        for store, value in zip(values, row, strict=True):
            store.append(value)
    language = plan.language
    frame: dict[str, Any] = {}
    missing_used: dict[str, set[str]] = {}
    for column, store in zip(cols, values, strict=True):
        numeric = column.storage in ("code", "number") and all(
            v is None or isinstance(v, Missing | int | float) for v in store
        )
        if numeric:
            used = {str(v) for v in store if isinstance(v, Missing)}
            if used:
                missing_used[column.var] = used
            if kind == "sav" or not used:
                codes = SAV_MISSING if kind == "sav" else {}
                frame[column.var] = pd.array(
                    [math.nan if v is None else codes.get(v, v) for v in store], dtype="float64"
                )
            else:  # Stata: numbers with the letters of its extended missing values
                frame[column.var] = pd.Series(
                    [
                        math.nan
                        if v is None
                        else DTA_MISSING[v]
                        if isinstance(v, Missing)
                        else float(v)  # floats: pyreadstat then takes float value labels
                        for v in store
                    ],
                    dtype=object,
                )
        else:
            frame[column.var] = pd.Series(
                ["" if v is None else str(v) for v in store], dtype=object
            )
        store.clear()
    df = pd.DataFrame(frame)
    word = plan.word
    limit = 80 if kind == "dta" else 255
    variable_labels: dict[str, str | None] = {c.var: _clip(c.labels[language], limit) for c in cols}
    value_labels: dict[str, dict[Any, str]] = {}
    for column in cols:
        numeric = df[column.var].dtype != object or column.var in missing_used
        if not numeric:
            continue
        found: dict[Any, str] = {}
        for value, text in column.value_labels.get(language, {}).items():
            found[value] = _clip(text, 120)
        if column.storage == "code" or column.var in missing_used:
            for token, text in ((NA, word.not_applicable), (DK, word.dont_know)):
                found[SAV_MISSING[token] if kind == "sav" else DTA_MISSING[token]] = _clip(
                    text, 120
                )
        if found:
            value_labels[column.var] = found
    label = _clip(f"{plan.rubric_label} ({plan.language})", 80)
    if kind == "sav":
        missing_ranges: dict[str, list[Any]] = {
            c.var: [SAV_MISSING[NA], SAV_MISSING[DK]]
            for c in cols
            if c.storage == "code" or c.var in missing_used
            if df[c.var].dtype != object
        }
        pyreadstat.write_sav(
            df,
            path,
            file_label=label,
            column_labels=variable_labels,
            variable_value_labels=value_labels,
            missing_ranges=missing_ranges,
        )
    else:
        pyreadstat.write_dta(
            df,
            path,
            file_label=label,
            column_labels=variable_labels,
            variable_value_labels=value_labels,
            # Both letters are declared wherever they are labelled (pyreadstat requires it).
            missing_user_values={
                var: ["a", "b"] for var, found in value_labels.items() if "a" in found
            },
        )


# --- files streamed from disk --------------------------------------------------------------------


def file_stream(
    build: Callable[[str], None], suffix: str, block: int = 64 * 1024
) -> Iterator[bytes]:
    """Build a file with ``build(path)`` in a temporary folder, stream it in blocks, then delete
    it (also when the client goes away: the generator's ``finally``)."""
    handle, path = tempfile.mkstemp(suffix=suffix, prefix="evaluator-export-")
    os.close(handle)
    try:
        build(path)
        with open(path, "rb") as made:
            while data := made.read(block):
                yield data
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)


def export_stream(engine: Engine, plan: ExportPlan, kind: str, shape: str) -> Iterable[bytes]:
    """The export's bytes, as an iterable a response can stream."""
    if kind == "csv":
        return csv_stream(engine, plan, shape)
    if kind == "xlsx":
        return file_stream(lambda path: write_xlsx(engine, plan, shape, path), ".xlsx")
    if kind in ("sav", "dta"):
        return file_stream(lambda path: write_statistical(engine, plan, kind, path), f".{kind}")
    raise ValueError(f"kind: unknown export format {kind!r}")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filename(*parts: str, extension: str) -> str:
    """A download name from codes people chose: ASCII letters, digits, dot, dash, underscore."""
    cleaned = [_UNSAFE.sub("-", part).strip("-.") for part in parts]
    return "-".join(part for part in cleaned if part)[:150] + "." + extension
