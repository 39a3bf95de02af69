"""Assessment operations: cycles, saving answers without losing any, submission and scoring.

Services take the session and flush; the view commits once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts.concurrency import StaleWrite, compare_and_set, insert_once
from accounts.models import Organization, User, utcnow
from rubrics.loader import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE
from rubrics.models import RubricVersion, VersionStatus
from rubrics.relevance import evaluate_relevance
from rubrics.schema import Question, Rubric
from rubrics.services import rubric_of
from surveys.models import (
    EDITABLE,
    Answer,
    AnswerRevision,
    Assessment,
    AssessmentCycle,
    Evidence,
    Source,
    Status,
    StatusChange,
)

NOT_APPLICABLE = NOT_APPLICABLE_VALUE
DONT_KNOW = DONT_KNOW_VALUE
MISSING_CODES = (NOT_APPLICABLE, DONT_KNOW)  # a tuple: answers may be lists (unhashable)


class AssessmentError(ValueError):
    """An operation the workflow refuses; the message is safe to show.

    Messages (here and in the subclasses of cycles, review and plan) are ``lazy_gettext``
    strings: ``str(exc)`` is in the language of the request that shows it, English elsewhere.
    """


# --- cycles -------------------------------------------------------------------------------------


def open_cycle(
    session: Session,
    *,
    code: str,
    name: str,
    version: RubricVersion,
    organizations: Iterable[Organization],
    opens_on: date | None = None,
    closes_on: date | None = None,
    by: User | None = None,
) -> AssessmentCycle:
    if version.status != VersionStatus.PUBLISHED:
        raise AssessmentError(_l("a cycle needs a published rubric version"))
    cycle = AssessmentCycle(
        code=code,
        name=name,
        rubric_version_id=version.id,  # type: ignore[arg-type]
        opens_on=opens_on,
        closes_on=closes_on,
        created_by_id=by.id if by else None,
    )
    session.add(cycle)
    session.flush()
    for org in organizations:
        if org.kind != "ngo":
            raise AssessmentError(_l("%(name)s is not an NGO", name=org.name))
        session.add(Assessment(cycle_id=cycle.id, organization_id=org.id))  # type: ignore[arg-type]
    session.flush()
    return cycle


def rubric_for(session: Session, assessment: Assessment) -> tuple[AssessmentCycle, Rubric]:
    cycle = session.get(AssessmentCycle, assessment.cycle_id)
    if cycle is None:  # pragma: no cover - foreign key
        raise AssessmentError("assessment without cycle")
    version = session.get(RubricVersion, cycle.rubric_version_id)
    if version is None:  # pragma: no cover - foreign key
        raise AssessmentError("cycle without rubric version")
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
) -> SaveResult:
    """Store changed answers. Nothing is overwritten silently, and saving twice changes nothing.

    ``base_versions`` gives, per question, the answer version the person's page was built from
    (None: there was no answer). A question whose stored answer has moved on since that version
    and now differs from what was posted becomes a :class:`Conflict` and is left untouched.
    A post equal to what is stored is a no-op (double clicks and retries store one change).
    """
    if source == Source.SELF and assessment.status not in EDITABLE:
        raise AssessmentError(
            _l(
                "this assessment is %(status)s and cannot be changed",
                status=_l(assessment.status.replace("_", " ")),
            )
        )
    comments = comments or {}
    stored = answers_of(session, assessment.id, source)  # type: ignore[arg-type]
    result = SaveResult()
    now = utcnow()
    for qid in sorted(set(values) | set(comments)):
        value = values.get(qid)
        comment = comments.get(qid)
        answer = stored.get(qid)
        current_value = answer.value if answer else None
        current_comment = answer.comment if answer else None
        new_value = value if qid in values else current_value
        new_comment = (comment or None) if qid in comments else current_comment
        if _same(new_value, current_value) and new_comment == current_comment:
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
            their_value = theirs.value if theirs else None
            their_comment = theirs.comment if theirs else None
            if _same(new_value, their_value) and new_comment == their_comment:
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
        session.add(
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
            )
        )
        result.saved.append(qid)
    if result.saved and source == Source.SELF:
        _, rubric = rubric_for(session, assessment)
        session.flush()
        assessment.progress = progress(rubric, values_of(answers_of(session, assessment.id)))  # type: ignore[arg-type]
        assessment.updated_at = now
        if assessment.status == Status.NOT_STARTED:
            change_status(session, assessment, Status.IN_PROGRESS, by=user)
    session.flush()
    return result


def save_page(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    *,
    values: Mapping[str, Any],
    comments: Mapping[str, str | None],
    base_versions: Mapping[str, int | None],
    user: User | None,
    take_theirs: Iterable[str] = (),
) -> SaveResult:
    """Save one questionnaire page as posted.

    Relevance is evaluated on what is stored merged with what was posted: answers (and
    comments) to questions that are hidden are ignored, so a page saved without JavaScript
    is as good as one saved with it. ``take_theirs`` lists questions whose conflict the person
    settled by taking the stored answer: what they posted for them is dropped.
    """
    stored = values_of(answers_of(session, assessment.id))  # type: ignore[arg-type]
    relevant = relevant_questions(rubric, {**stored, **values})
    dropped = set(take_theirs)

    def kept(qid: str) -> bool:
        return relevant.get(qid, True) and qid not in dropped

    return save_answers(
        session,
        assessment,
        values={qid: v for qid, v in values.items() if kept(qid)},
        comments={qid: c for qid, c in comments.items() if kept(qid)},
        base_versions=base_versions,
        user=user,
    )


def _same(a: Any, b: Any) -> bool:
    if is_blank(a) and is_blank(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


# --- progress and completeness -------------------------------------------------------------------


def relevant_questions(rubric: Rubric, values: Mapping[str, Any]) -> dict[str, bool]:
    return evaluate_relevance(rubric, {k: v for k, v in values.items() if not is_blank(v)})


def progress(rubric: Rubric, values: Mapping[str, Any]) -> float:
    """The answered share of the relevant questions that need an answer (0-1)."""
    relevant = relevant_questions(rubric, values)
    needed = [q.id for _, _, q in rubric.questions() if q.is_required and relevant.get(q.id, True)]
    if not needed:
        return 1.0
    return sum(not is_blank(values.get(qid)) for qid in needed) / len(needed)


@dataclass(frozen=True)
class Missing:
    page: int
    question: Question


def missing_answers(rubric: Rubric, values: Mapping[str, Any]) -> list[Missing]:
    """Required, relevant questions without an answer, with the page (domain) they are on."""
    relevant = relevant_questions(rubric, values)
    return [
        Missing(page, question)
        for page, domain in enumerate(rubric.domains)
        for indicator in domain.indicators
        for question in indicator.questions
        if question.is_required
        and relevant.get(question.id, True)
        and is_blank(values.get(question.id))
    ]


# --- workflow ------------------------------------------------------------------------------------


def change_status(
    session: Session,
    assessment: Assessment,
    to: Status,
    *,
    by: User | None,
    reason: str | None = None,
) -> None:
    from surveys.review import check_transition  # the one table of allowed moves

    check_transition(assessment.status, to)
    session.add(
        StatusChange(
            assessment_id=assessment.id,  # type: ignore[arg-type]
            from_status=assessment.status,
            to_status=to,
            reason=reason,
            changed_by_id=by.id if by else None,
        )
    )
    assessment.status = to
    assessment.updated_at = utcnow()
    session.flush()


def submit(session: Session, assessment: Assessment, *, by: User | None) -> list[Missing]:
    """Submit if complete; else return what is missing (and change nothing)."""
    if assessment.status not in EDITABLE:
        raise AssessmentError(
            _l(
                "this assessment is already %(status)s",
                status=_l(assessment.status.replace("_", " ")),
            )
        )
    _, rubric = rubric_for(session, assessment)
    missing = missing_answers(rubric, values_of(answers_of(session, assessment.id)))  # type: ignore[arg-type]
    if missing:
        return missing
    assessment.submitted_at = utcnow()
    change_status(session, assessment, Status.SUBMITTED, by=by)
    from surveys.scoring import score_assessments  # scoring reads answers through this module

    score_assessments(session, [assessment])
    return []


# --- history -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One change to one question: an answer revision, or an evidence file added or removed."""

    at: datetime
    question_id: str
    source: str
    who: str | None
    kind: str  # "answer" | "evidence_added" | "evidence_removed"
    old_value: Any = None
    new_value: Any = None
    old_comment: str | None = None
    new_comment: str | None = None
    version: int | None = None
    filename: str | None = None


def history(
    session: Session, assessment_id: int, *, question_id: str | None = None
) -> list[HistoryEntry]:
    """Every change to the assessment's answers (or one question's), newest first.

    Answers come from the append-only :class:`AnswerRevision`; files attached to questions
    come from :class:`Evidence` (an evidence question's answer already lists its files, so
    only attachments to other questions are listed as file events).
    """
    revisions = select(AnswerRevision).where(AnswerRevision.assessment_id == assessment_id)
    files = select(Evidence).where(Evidence.assessment_id == assessment_id)
    if question_id is not None:
        revisions = revisions.where(AnswerRevision.question_id == question_id)
        files = files.where(Evidence.question_id == question_id)
    changes = session.exec(revisions).all()
    assessment = session.get(Assessment, assessment_id)
    evidence_questions: set[str] = set()
    if assessment is not None:
        _, rubric = rubric_for(session, assessment)
        evidence_questions = {q.id for _, _, q in rubric.questions() if q.type == "evidence"}
    attached = [f for f in session.exec(files).all() if f.question_id not in evidence_questions]
    user_ids = {r.changed_by_id for r in changes} | {
        u for f in attached for u in (f.uploaded_by_id, f.deleted_by_id)
    }
    names = {
        u.id: u.name
        for u in session.exec(select(User).where(col(User.id).in_(user_ids - {None}))).all()
    }
    entries = [
        HistoryEntry(
            at=row.changed_at,
            question_id=row.question_id,
            source=row.source,
            who=names.get(row.changed_by_id),
            kind="answer",
            old_value=row.old_value,
            new_value=row.new_value,
            old_comment=row.old_comment,
            new_comment=row.new_comment,
            version=row.version,
        )
        for row in changes
    ]
    for item in attached:
        entries.append(
            HistoryEntry(
                at=item.uploaded_at,
                question_id=item.question_id,
                source=Source.SELF,
                who=names.get(item.uploaded_by_id),
                kind="evidence_added",
                filename=item.original_filename,
            )
        )
        if item.deleted_at is not None:
            entries.append(
                HistoryEntry(
                    at=item.deleted_at,
                    question_id=item.question_id,
                    source=Source.SELF,
                    who=names.get(item.deleted_by_id),
                    kind="evidence_removed",
                    filename=item.original_filename,
                )
            )
    entries.sort(key=lambda e: (_aware(e.at), e.version or 0), reverse=True)
    return entries


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC): make them comparable."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
