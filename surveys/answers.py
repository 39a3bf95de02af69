"""The answer store, shared by the questionnaire (self-assessment) and the review (verified
ratings): reading answers, saving them without losing any (stale saves become conflicts), and
what is relevant and how far along an assessment is.

Services take the session and flush; the view commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts.concurrency import StaleWrite, compare_and_set, insert_once
from accounts.models import User, utcnow
from rubrics.loader import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE
from rubrics.models import RubricVersion
from rubrics.relevance import evaluate_relevance
from rubrics.schema import Rubric
from rubrics.services import rubric_of
from surveys.models import (
    EDITABLE,
    Answer,
    AnswerRevision,
    Assessment,
    AssessmentCycle,
    Source,
    Status,
)
from surveys.workflow import AssessmentError, change_status

NOT_APPLICABLE = NOT_APPLICABLE_VALUE
DONT_KNOW = DONT_KNOW_VALUE
MISSING_CODES = (NOT_APPLICABLE, DONT_KNOW)  # a tuple: answers may be lists (unhashable)


def rubric_for(session: Session, assessment: Assessment) -> tuple[AssessmentCycle, Rubric]:
    """The assessment's cycle and rubric, in one select (the rubric is parsed once per content:
    :func:`rubrics.services.rubric_of`)."""
    row = session.exec(
        select(AssessmentCycle, RubricVersion)
        .join(RubricVersion, col(RubricVersion.id) == col(AssessmentCycle.rubric_version_id))
        .where(col(AssessmentCycle.id) == assessment.cycle_id)
    ).first()
    if row is None:  # pragma: no cover - foreign keys
        raise AssessmentError("assessment without cycle or rubric version")
    cycle, version = row
    return cycle, rubric_of(version)


# --- answers ------------------------------------------------------------------------------------


def answers_of(
    session: Session, assessment_id: int, source: Source = Source.SELF
) -> dict[str, Answer]:
    rows = session.exec(
        select(Answer).where(Answer.assessment_id == assessment_id, Answer.source == source)
    ).all()
    return {row.question_id: row for row in rows}


def values_of(answers: Mapping[str, Answer]) -> dict[str, Any]:
    return {qid: answer.value for qid, answer in answers.items()}


@dataclass(frozen=True)
class Conflict:
    """A save based on a stale version: both values, so the person can choose."""

    question_id: str
    yours: Any
    theirs: Any
    their_version: int
    changed_by_id: int | None
    your_comment: str | None = None
    their_comment: str | None = None


@dataclass
class SaveResult:
    saved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # Every answer of the assessment (this source) as stored after the save, by question id:
    # callers read versions and relevance from it instead of selecting the answers again.
    answers: dict[str, Answer] = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """Where changes came from when not typed into a page: an imported file (its name) and the
    row's instance id, recorded with each revision (issue 14)."""

    file: str
    instance: str | None = None


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def save_answers(
    session: Session,
    assessment: Assessment,
    *,
    values: Mapping[str, Any],
    base_versions: Mapping[str, int | None],
    user: User | None,
    comments: Mapping[str, str | None] | None = None,
    source: Source = Source.SELF,
    stored: Mapping[str, Answer] | None = None,
    rubric: Rubric | None = None,
    origin: Origin | None = None,
) -> SaveResult:
    """Store changed answers. Nothing is overwritten silently, and saving twice changes nothing.

    ``base_versions`` gives, per question, the answer version the person's page was built from
    (None: there was no answer). A question whose stored answer has moved on since that version
    and now differs from what was posted becomes a :class:`Conflict` and is left untouched.
    A post equal to what is stored is a no-op (double clicks and retries store one change).

    ``stored`` (the answers as just read by the caller, :func:`answers_of`) and ``rubric`` (the
    assessment's) spare a select each when the caller has them already; the compare-and-set
    still guards every write, so answers read a moment earlier are as safe as answers read here.
    ``origin``: the file the values were imported from, kept with each revision.
    """
    if source == Source.SELF and assessment.status not in EDITABLE:
        raise AssessmentError(
            _l(
                "this assessment is %(status)s and cannot be changed",
                status=_l(assessment.status.replace("_", " ")),
            )
        )
    comments = comments or {}
    if stored is None:
        stored = answers_of(session, assessment.id, source)  # type: ignore[arg-type]
    result = SaveResult(answers=dict(stored))
    revisions: list[AnswerRevision] = []
    now = utcnow()
    for qid in sorted(set(values) | set(comments)):
        value = values.get(qid)
        comment = comments.get(qid)
        answer = stored.get(qid)
        current_value = answer.value if answer else None
        current_comment = answer.comment if answer else None
        new_value = value if qid in values else current_value
        new_comment = (comment or None) if qid in comments else current_comment
        if same_value(new_value, current_value) and new_comment == current_comment:
            result.unchanged.append(qid)
            continue
        base = base_versions.get(qid)
        current_version = answer.version if answer else None
        written: dict[str, Any] = {
            "value": new_value,
            "comment": new_comment,
            "updated_by_id": user.id if user else None,
            "updated_at": now,
        }
        try:
            if current_version != base:  # stale already: no need to try
                raise StaleWrite(answer, yours=written, seen=base)
            if answer is None:
                answer = Answer(
                    assessment_id=assessment.id,  # type: ignore[arg-type]
                    source=source,
                    question_id=qid,
                    **written,
                )
                insert_once(
                    session,
                    answer,
                    key={"assessment_id": assessment.id, "source": source, "question_id": qid},
                )
            else:
                compare_and_set(session, answer, seen=base, values=written)
        except StaleWrite as lost:
            theirs: Answer | None = lost.current
            if theirs is not None:
                result.answers[qid] = theirs
            their_value = theirs.value if theirs else None
            their_comment = theirs.comment if theirs else None
            if same_value(new_value, their_value) and new_comment == their_comment:
                result.unchanged.append(qid)  # someone stored the same meanwhile
                continue
            result.conflicts.append(
                Conflict(
                    qid,
                    new_value,
                    their_value,
                    theirs.version if theirs else 0,
                    theirs.updated_by_id if theirs else None,
                    new_comment,
                    their_comment,
                )
            )
            continue
        result.answers[qid] = answer
        # Written together after the loop, in one statement, rather than one INSERT each.
        revisions.append(
            AnswerRevision(
                assessment_id=assessment.id,  # type: ignore[arg-type]
                source=source,
                question_id=qid,
                old_value=current_value,
                new_value=new_value,
                old_comment=current_comment,
                new_comment=new_comment,
                version=answer.version,
                changed_by_id=user.id if user else None,
                imported_from=origin.file[:255] if origin else None,
                import_instance=(origin.instance or "")[:128] or None if origin else None,
            )
        )
        result.saved.append(qid)
    if revisions:  # one executemany: nothing reads the revisions' ids back
        session.execute(
            sa.insert(AnswerRevision), [r.model_dump(exclude={"id"}) for r in revisions]
        )
    if result.saved and source == Source.SELF:
        if rubric is None:
            _, rubric = rubric_for(session, assessment)
        assessment.progress = progress(rubric, values_of(result.answers))
        assessment.updated_at = now
        if assessment.status == Status.NOT_STARTED:
            change_status(session, assessment, Status.IN_PROGRESS, by=user)
    session.flush()
    return result


def same_value(a: Any, b: Any) -> bool:
    if is_blank(a) and is_blank(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


# --- relevance and progress ---------------------------------------------------------------------


def relevant_questions(rubric: Rubric, values: Mapping[str, Any]) -> dict[str, bool]:
    return evaluate_relevance(rubric, {k: v for k, v in values.items() if not is_blank(v)})


def progress(rubric: Rubric, values: Mapping[str, Any]) -> float:
    """The answered share of the relevant questions that need an answer (0-1)."""
    relevant = relevant_questions(rubric, values)
    needed = [q.id for _, _, q in rubric.questions() if q.is_required and relevant.get(q.id, True)]
    if not needed:
        return 1.0
    return sum(not is_blank(values.get(qid)) for qid in needed) / len(needed)
