"""Bringing answers in from a KoboToolbox or ODK Central export (issue 14, section 2).

:func:`plan_import` is the dry run: it reads nothing but the file, the cycle and its answers,
and says per row which organisation it is for, per column which question it answers (or why it
is ignored), and per cell what is rejected and why. :func:`run_import` stores a plan's rows
through the answer store's compare-and-set (:func:`surveys.answers.save_answers`, as the
questionnaire does), based on the answer versions the dry run saw: an answer changed since then
is reported, never overwritten. Each revision records the file and the row's instance id.

How exports name columns (the fixtures' README cites the pages):

- KoboToolbox, "XML values and headers": group path joined by ``/`` (``gov/policy/has_policy``),
  choice names as values; "Labels": question and choice labels instead. ``select_multiple``:
  one column of space-separated choices, and/or one column per option (``q/option``, ``1`` or
  ``0``). Metadata columns start with ``_`` (``_id``, ``_uuid``, ``_submission_time``,
  ``_validation_status``, ``_index``...) or are ``__version__``, ``meta/...``.
- ODK Central: group path joined by ``-`` (``gov-policy-has_policy``) or no group names;
  ``select_multiple`` as space-separated choices, plus ``q/option`` columns (``1``/``0``) when
  split; ``SubmissionDate`` first, then ``meta-instanceID``, ``KEY``, ``SubmitterID``,
  ``SubmitterName``, ``AttachmentsPresent``, ``AttachmentsExpected``, ``Status``,
  ``ReviewState``, ``DeviceID``, ``Edits``, ``FormVersion``.

Services take the session and flush; the view (or the CLI) commits once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlmodel import Session, col, select

from accounts.models import Organization, OrgKind, User
from accounts.services import audit
from rubrics.models import RubricVersion
from rubrics.schema import Question, Rubric
from rubrics.services import rubric_of
from rubrics.types import parse_date
from rubrics.xlsform import id_for_name
from surveys.answers import (
    DONT_KNOW,
    NOT_APPLICABLE,
    Origin,
    answers_of,
    is_blank,
    relevant_questions,
    same_value,
    save_answers,
    values_of,
)
from surveys.imports.reader import Table
from surveys.models import EDITABLE, Answer, Assessment, AssessmentCycle
from surveys.questionnaire.services import submit
from surveys.workflow import AssessmentError

MAX_NUMBER = 1e12  # the questionnaire's number field takes the same range
MAX_TEXT = 20_000

# Columns the tools add about a submission (not answers), by exact name.
METADATA_COLUMNS = frozenset(
    {
        # KoboToolbox (formpack's copy fields and auto fields)
        "_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
        "_submitted_by", "__version__", "_version", "_tags", "_index", "_parent_table_name",
        "_parent_index", "_attachments", "_geolocation", "_xform_id_string", "_duration",
        # ODK Central (the root table of its CSV export)
        "SubmissionDate", "KEY", "PARENT_KEY", "SubmitterID", "SubmitterName",
        "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID",
        "Edits", "FormVersion", "isValidated",
        # XLSForm metadata questions, without their group
        "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber",
        "username", "email", "audit", "instanceID", "instanceName", "deprecatedID",
    }
)  # fmt: skip
METADATA_PREFIXES = ("meta/", "meta-", "formhub/", "formhub-", "_")
# Where a row's instance id is, in the order tried.
INSTANCE_COLUMNS = ("KEY", "meta-instanceID", "meta/instanceID", "instanceID", "_uuid", "_id")

TRUE_CELLS = frozenset({"1", "true", "yes", "x"})
FALSE_CELLS = frozenset({"0", "false", "no", ""})


# --- what the dry run says ------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPlan:
    """One column of the file: what it is taken for."""

    index: int
    header: str
    kind: str  # "question" | "option" | "metadata" | "organization" | "ignored"
    question_id: str | None = None
    option_id: str | None = None
    note: Any = None  # why it is ignored (a lazy string)


@dataclass(frozen=True)
class CellProblem:
    """A cell that is not imported, and why (the message names the value)."""

    column: str
    value: str
    message: Any


@dataclass(frozen=True)
class Change:
    question_id: str
    old: Any
    new: Any


@dataclass
class RowPlan:
    number: int  # the row's line in the file (the header is line 1)
    instance: str | None
    key: str  # the organisation cell
    organization: Organization | None = None
    assessment: Assessment | None = None
    outcome: str = "rejected"  # "ready" | "unchanged" | "locked" | "rejected"
    reason: Any = None
    values: dict[str, Any] = field(default_factory=dict)  # relevant answers to store
    changes: list[Change] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # answered, but hidden by relevance
    problems: list[CellProblem] = field(default_factory=list)
    stored: dict[str, Answer] = field(default_factory=dict, repr=False)  # as the dry run read


@dataclass
class ImportPlan:
    file_name: str
    columns: list[ColumnPlan]
    organization_column: str | None
    rows: list[RowPlan]
    # The answer versions the dry run read, by "assessment id:question id" (None: no answer):
    # the import writes against them (compare-and-set), so what changed since is not lost.
    seen: dict[str, int | None] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return sum(row.outcome == outcome for row in self.rows)

    @property
    def problems(self) -> int:
        return sum(len(row.problems) for row in self.rows)

    @property
    def changes(self) -> int:
        return sum(len(row.changes) for row in self.rows)

    def columns_of(self, kind: str) -> list[ColumnPlan]:
        return [c for c in self.columns if c.kind == kind]


@dataclass
class RowResult:
    number: int
    organization: str
    saved: int = 0
    conflicts: list[str] = field(default_factory=list)  # question ids changed since the dry run
    submitted: bool = False
    missing: int = 0  # required answers missing, so it stays a draft
    refused: Any = None  # why nothing was stored (it was submitted meanwhile)


@dataclass
class ImportResult:
    rows: list[RowResult] = field(default_factory=list)

    @property
    def saved(self) -> int:
        return sum(r.saved for r in self.rows)

    @property
    def submitted(self) -> int:
        return sum(r.submitted for r in self.rows)

    @property
    def conflicts(self) -> int:
        return sum(len(r.conflicts) for r in self.rows)


# --- matching columns to questions --------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


class _Questions:
    """The rubric's questions and options, found by XLSForm name, id or label."""

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.by_id = {q.id: q for _, _, q in rubric.questions()}
        labels: dict[str, str | None] = {}
        for question in self.by_id.values():
            for text in question.label.values():
                key = _fold(text)
                labels[key] = None if labels.get(key, question.id) != question.id else question.id
        self.by_label = {k: v for k, v in labels.items() if v is not None}

    def named(self, name: str) -> str | None:
        name = name.strip()
        if not name:
            return None
        if name in self.by_id:
            return name
        code = id_for_name(name)
        return code if code in self.by_id else None

    def find(self, header: str) -> str | None:
        """The question a header names: its XLSForm name after any group path (``/`` for
        KoboToolbox, ``-`` for ODK Central), or its label (Kobo's "Labels" headers)."""
        for separator in ("/", "-"):
            parts = header.split(separator)
            for start in range(len(parts)):
                found = self.named(separator.join(parts[start:]))
                if found:
                    return found
        for candidate in (header, header.rsplit("/", 1)[-1]):
            found = self.by_label.get(_fold(candidate))
            if found:
                return found
        return None

    def option(self, question: Question, text: str) -> str | None:
        """The option id a cell names: the choice name, the option id or its label."""
        text = text.strip()
        ids = [o.id for o in question.options]
        if text in ids:
            return text
        code = id_for_name(text) if text else ""
        if code in ids:
            return code
        folded = _fold(text)
        for option in question.options:
            if any(_fold(label) == folded for label in option.label.values()):
                return option.id
        return None

    def level(self, question: Question, text: str) -> int | None:
        levels = {lv.level for lv in question.levels}
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if number.is_integer() and int(number) in levels:
            return int(number)
        folded = _fold(text)
        for lv in question.levels:
            if any(_fold(label) == folded for label in lv.descriptor.values()):
                return lv.level
        return None


def map_columns(
    rubric: Rubric, header: list[str], organization_column: str | None
) -> list[ColumnPlan]:
    """What each column is taken for."""
    questions = _Questions(rubric)
    plans: list[ColumnPlan] = []
    for index, name in enumerate(header):
        option_column = _option_column(questions, name)
        if option_column is not None:  # one column per option of a select_multiple
            pid, option = option_column
            if option is not None:
                plans.append(ColumnPlan(index, name, "option", pid, option))
            else:
                note = _("not an option of this question")
                plans.append(ColumnPlan(index, name, "ignored", pid, note=note))
            continue
        qid = questions.find(name) if name else None
        if name and name == organization_column and qid is None:
            plans.append(ColumnPlan(index, name, "organization"))
            continue
        if qid is not None:
            if questions.by_id[qid].type == "evidence":
                note = _("evidence files are not imported")
                plans.append(ColumnPlan(index, name, "ignored", qid, note=note))
            else:
                plans.append(ColumnPlan(index, name, "question", qid))
            continue
        if not name:
            plans.append(ColumnPlan(index, name, "ignored", note=_("no header")))
        elif name in METADATA_COLUMNS or name.startswith(METADATA_PREFIXES):
            plans.append(ColumnPlan(index, name, "metadata", note=_("about the submission")))
        else:
            plans.append(
                ColumnPlan(index, name, "ignored", note=_("not a question of this rubric"))
            )
    # A question with its own column takes its answer from it; its option columns repeat it.
    whole = {c.question_id for c in plans if c.kind == "question"}
    return [
        ColumnPlan(c.index, c.header, "ignored", c.question_id, c.option_id,
                   _("the question's own column gives the answer"))
        if c.kind == "option" and c.question_id in whole
        else c
        for c in plans
    ]  # fmt: skip


def _option_column(questions: _Questions, name: str) -> tuple[str, str | None] | None:
    """(question id, option id or None) when ``name`` is "path/option" of a select_multiple
    (Kobo's separate columns, Central's split columns); None when it is not."""
    if "/" not in name:
        return None
    path, choice = name.rsplit("/", 1)
    pid = questions.find(path)
    if pid is None or questions.by_id[pid].type != "multiple":
        return None
    return pid, questions.option(questions.by_id[pid], choice)


# --- matching rows to organisations -------------------------------------------------------------


def organisation_keys(session: Session) -> dict[str, Organization]:
    """Every NGO by its code, name, names in other languages and contact e-mail (folded)."""
    keys: dict[str, Organization] = {}
    orgs = session.exec(select(Organization).where(col(Organization.kind) == OrgKind.NGO)).all()
    for org in orgs:
        for text in (org.code, org.name, org.contact_email, *(org.names or {}).values()):
            if text:
                keys.setdefault(_fold(text), org)
    return keys


def guess_organization_column(
    header: list[str], rows: list[list[str]], keys: Mapping[str, Organization]
) -> str | None:
    """The column whose cells name the most organisations (a code, name or e-mail question)."""
    best, best_count = None, 0
    for index, name in enumerate(header):
        if not name:
            continue
        count = sum(_fold(_cell(row, index)) in keys for row in rows)
        if count > best_count:
            best, best_count = name, count
    return best


def _cell(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def _instance(header: list[str], row: list[str]) -> str | None:
    for name in INSTANCE_COLUMNS:
        if name in header:
            value = _cell(row, header.index(name)).strip()
            if value:
                return value[:128]
    return None


# --- the dry run ----------------------------------------------------------------------------------


def cycle_rubric(session: Session, cycle: AssessmentCycle) -> Rubric:
    version = session.get(RubricVersion, cycle.rubric_version_id)
    if version is None:  # pragma: no cover - foreign keys
        raise AssessmentError("cycle without rubric version")
    return rubric_of(version)


def plan_import(
    session: Session,
    cycle: AssessmentCycle,
    table: Table,
    *,
    file_name: str,
    organization_column: str | None = None,
) -> ImportPlan:
    """The dry run: what importing ``table`` into ``cycle`` would do. Changes nothing."""
    rubric = cycle_rubric(session, cycle)
    keys = organisation_keys(session)
    if organization_column not in table.header:
        organization_column = guess_organization_column(table.header, table.rows, keys)
    columns = map_columns(rubric, table.header, organization_column)
    questions = _Questions(rubric)
    assessments = {
        a.organization_id: a
        for a in session.exec(select(Assessment).where(col(Assessment.cycle_id) == cycle.id)).all()
    }
    plan = ImportPlan(file_name, columns, organization_column, [])
    org_index = table.header.index(organization_column) if organization_column else None
    first_row_of: dict[int, int] = {}
    for offset, row in enumerate(table.rows):
        key = _cell(row, org_index).strip() if org_index is not None else ""
        planned = RowPlan(number=offset + 2, instance=_instance(table.header, row), key=key)
        plan.rows.append(planned)
        values, planned.problems = _read_row(questions, columns, row)
        if org_index is None:
            planned.reason = _("no column names the organisations: choose one")
            continue
        org = keys.get(_fold(key)) if key else None
        if org is None:
            planned.reason = (
                _("no organisation has the code, name or e-mail “%(key)s”", key=key)
                if key
                else _("the organisation cell is empty")
            )
            continue
        planned.organization = org
        refused = _refused_upstream(table.header, row)
        if refused is not None:
            planned.reason = refused
            continue
        assessment = assessments.get(org.id)  # type: ignore[arg-type]
        if assessment is None:
            planned.reason = _("%(name)s does not take part in this cycle", name=org.name)
            continue
        if org.id in first_row_of:
            planned.reason = _(
                "row %(row)s of this file is already for %(name)s",
                row=first_row_of[org.id],
                name=org.name,
            )
            continue
        first_row_of[org.id] = planned.number  # type: ignore[index]
        planned.assessment = assessment
        stored = planned.stored = answers_of(session, assessment.id)  # type: ignore[arg-type]
        for qid in rubric_question_ids(rubric):
            answer = stored.get(qid)
            plan.seen[f"{assessment.id}:{qid}"] = answer.version if answer else None
        _plan_changes(planned, rubric, stored, values)
        if assessment.status not in EDITABLE:
            planned.outcome = "locked"
            planned.reason = _(
                "already %(status)s: never overwritten by an import",
                status=_(assessment.status.replace("_", " ")),
            )
        else:
            planned.outcome = "ready" if planned.changes else "unchanged"
    return plan


def _refused_upstream(header: list[str], row: list[str]) -> Any:
    """Why a submission the tool itself refused is not imported: rejected in ODK Central's
    review, or marked "not approved" in KoboToolbox's validation."""
    if "ReviewState" in header and _cell(row, header.index("ReviewState")).strip() == "rejected":
        return _("rejected in ODK Central's review")
    if "_validation_status" in header:
        status = _cell(row, header.index("_validation_status")).strip()
        if status in ("validation_status_not_approved", "Not approved"):
            return _("not approved in KoboToolbox's validation")
    return None


def rubric_question_ids(rubric: Rubric) -> list[str]:
    return [q.id for _, _, q in rubric.questions()]


def _plan_changes(
    planned: RowPlan, rubric: Rubric, stored: Mapping[str, Answer], values: Mapping[str, Any]
) -> None:
    relevant = relevant_questions(rubric, {**values_of(stored), **values})
    for qid, value in values.items():
        if not relevant.get(qid, True):
            planned.hidden.append(qid)
            continue
        planned.values[qid] = value
        answer = stored.get(qid)
        old = answer.value if answer else None
        if not same_value(value, old):
            planned.changes.append(Change(qid, old, value))


def _read_row(
    questions: _Questions, columns: list[ColumnPlan], row: list[str]
) -> tuple[dict[str, Any], list[CellProblem]]:
    """A row's answers by question id, and the cells that cannot be imported."""
    values: dict[str, Any] = {}
    problems: list[CellProblem] = []
    chosen: dict[str, list[str]] = {}  # select_multiple answers from their option columns
    for column in columns:
        text = _cell(row, column.index).strip()
        if column.kind == "question" and column.question_id:
            if not text:
                continue
            question = questions.by_id[column.question_id]
            value, problem = convert(questions, question, text)
            if problem is not None:
                problems.append(CellProblem(column.header, text, problem))
            elif not is_blank(value):
                values[question.id] = value
        elif column.kind == "option" and column.question_id and column.option_id:
            folded = text.casefold()
            picked = chosen.setdefault(column.question_id, [])
            if folded in TRUE_CELLS or (
                folded not in FALSE_CELLS
                and questions.option(questions.by_id[column.question_id], text) == column.option_id
            ):
                picked.append(column.option_id)
            elif folded not in FALSE_CELLS:
                problems.append(
                    CellProblem(column.header, text, _("neither 1 (chosen) nor 0 (not chosen)"))
                )
    for qid, picked in chosen.items():
        if picked:
            order = [o.id for o in questions.by_id[qid].options]
            values[qid] = sorted(set(picked), key=order.index)
    return values, problems


def convert(questions: _Questions, question: Question, text: str) -> tuple[Any, Any]:
    """A cell as the answer the questionnaire would store, or a problem that names it."""
    policy = questions.rubric.policy(question)
    if text == NOT_APPLICABLE and policy.allow_not_applicable:
        return NOT_APPLICABLE, None
    if text == DONT_KNOW and policy.allow_dont_know:
        return DONT_KNOW, None
    kind = question.type
    if kind == "maturity":
        level = questions.level(question, text)
        if level is None:
            levels = ", ".join(
                str(lv.level) for lv in sorted(question.levels, key=lambda v: v.level)
            )
            return None, _(
                "“%(value)s” is not a level of this question (%(levels)s)",
                value=text,
                levels=levels,
            )
        return level, None
    if kind in ("single", "yes_no"):
        option = questions.option(question, text)
        if option is None:
            return None, _invalid_option(question, text)
        return option, None
    if kind == "multiple":
        picked, unknown = _choices_in(questions, question, text.split())
        if unknown:
            return None, _invalid_option(question, " ".join(unknown))
        order = [o.id for o in question.options]
        return sorted(set(picked), key=order.index), None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return None, _("“%(value)s” is not a number", value=text)
        if not math.isfinite(number) or abs(number) > MAX_NUMBER:
            return None, _(
                "%(value)s is out of range (at most %(max)s either side of 0)",
                value=text,
                max="1,000,000,000,000",
            )
        return number, None
    if kind == "date":
        for candidate in (text, text[:10]):
            try:
                return parse_date(candidate).isoformat(), None
            except ValueError:
                continue
        return None, _("“%(value)s” is not a date (YYYY-MM-DD)", value=text)
    if kind == "text":
        if len(text) > MAX_TEXT:
            return None, _("longer than %(n)s characters", n="20,000")
        return text, None
    return None, _("this question's answers are not imported")  # pragma: no cover - evidence


def _choices_in(
    questions: _Questions, question: Question, words: list[str]
) -> tuple[list[str], list[str]]:
    """The options a space-separated select_multiple cell names, and the words that name none.
    Choice names have no spaces; Kobo's "Labels" export joins labels that may have some, so
    the longest run of words that is one option's label is taken first."""
    picked: list[str] = []
    unknown: list[str] = []
    start = 0
    while start < len(words):
        for end in range(len(words), start, -1):
            option = questions.option(question, " ".join(words[start:end]))
            if option is not None:
                picked.append(option)
                start = end
                break
        else:
            unknown.append(words[start])
            start += 1
    return picked, unknown


def _invalid_option(question: Question, text: str) -> Any:
    return _(
        "“%(value)s” is not an option code of this question (options: %(options)s)",
        value=text,
        options=", ".join(o.id for o in question.options),
    )


# --- the import ---------------------------------------------------------------------------------


def run_import(
    session: Session,
    cycle: AssessmentCycle,
    plan: ImportPlan,
    *,
    user: User | None,
    submit_complete: bool,
    seen: Mapping[str, int | None] | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportResult:
    """Store the plan's rows as drafts (and submit the complete ones if ``submit_complete``).

    ``seen``: the answer versions of the dry run the person confirmed (its :attr:`ImportPlan.seen`);
    an answer changed since is a conflict, left as it is and reported. Without it the plan's
    own versions are used. Rows that are locked (submitted) or rejected are never touched.
    """
    rubric = cycle_rubric(session, cycle)
    versions = plan.seen if seen is None else seen
    result = ImportResult()
    for row in plan.rows:
        if progress:
            progress(1)
        assessment = row.assessment
        if assessment is None or row.outcome not in ("ready", "unchanged"):
            continue
        done = RowResult(row.number, row.organization.name if row.organization else row.key)
        if row.outcome == "ready":
            base = {qid: versions.get(f"{assessment.id}:{qid}") for qid in row.values}
            try:
                saved = save_answers(
                    session,
                    assessment,
                    values=row.values,
                    base_versions=base,
                    user=user,
                    rubric=rubric,
                    stored=row.stored,  # read by the plan, in this transaction
                    origin=Origin(plan.file_name, row.instance),
                )
            except AssessmentError as exc:  # submitted since the dry run
                done.refused = str(exc)
                result.rows.append(done)
                continue
            done.saved = len(saved.saved)
            done.conflicts = [c.question_id for c in saved.conflicts]
        if submit_complete and assessment.status in EDITABLE and not done.conflicts:
            missing = submit(session, assessment, by=user)
            done.missing = len(missing)
            done.submitted = not missing
        if done.saved or done.submitted or done.conflicts or done.missing:
            result.rows.append(done)
    audit(
        session,
        actor=user,
        action="answers_imported",
        object_type="cycle",
        object_id=cycle.id,
        file=plan.file_name,
        rows=len(plan.rows),
        assessments=len([r for r in result.rows if r.saved]),
        answers=result.saved,
        submitted=result.submitted,
        conflicts=result.conflicts,
        rejected=plan.count("rejected"),
        locked=plan.count("locked"),
    )
    session.flush()
    return result
