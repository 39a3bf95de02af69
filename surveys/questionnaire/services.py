"""The questionnaire's operations: saving a page, what is missing, submission, the history.

Services take the session and flush; the view commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts.lists import (
    DESC,
    AnySelect,
    ListPage,
    ListSpec,
    ListState,
    contains,
    mapped,
    page_of,
)
from accounts.models import User, utcnow
from rubrics.schema import Question, Rubric
from surveys.answers import (
    SaveResult,
    answers_of,
    is_blank,
    relevant_questions,
    rubric_for,
    save_answers,
    values_of,
)
from surveys.evidence.models import Evidence
from surveys.models import EDITABLE, Answer, AnswerRevision, Assessment, Source, Status
from surveys.scoring import score_assessments
from surveys.workflow import AssessmentError, change_status


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
    stored: Mapping[str, Answer] | None = None,
) -> SaveResult:
    """Save one questionnaire page as posted.

    Relevance is evaluated on what is stored merged with what was posted: answers (and
    comments) to questions that are hidden are ignored, so a page saved without JavaScript
    is as good as one saved with it. ``take_theirs`` lists questions whose conflict the person
    settled by taking the stored answer: what they posted for them is dropped. ``stored``: the
    assessment's answers if the caller has just read them (one select fewer).
    """
    if stored is None:
        stored = answers_of(session, assessment.id)  # type: ignore[arg-type]
    relevant = relevant_questions(rubric, {**values_of(stored), **values})
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
        stored=stored,
        rubric=rubric,
    )


# --- completeness and submission ----------------------------------------------------------------


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


@dataclass(frozen=True)
class SheetRow:
    """One relevant question with its answer as people read it (None when unanswered)."""

    question: Question
    answer: str | None
    comment: str | None
    missing: bool


@dataclass(frozen=True)
class SheetSection:
    page: int
    label: str
    rows: list[SheetRow]

    @property
    def missing(self) -> int:
        return sum(row.missing for row in self.rows)


def answer_sheet(
    rubric: Rubric,
    answers: Mapping[str, Answer],
    language: str,
    show: Callable[[Question, Any], str],
) -> list[SheetSection]:
    """Every relevant question of every section with its answer, for reading before submitting
    (and after). ``answers`` maps question ids to stored answers (``value``, ``comment``);
    ``show`` writes out a value. Questions hidden by relevance are left out, as on the pages."""
    values = values_of(answers)
    relevant = relevant_questions(rubric, values)
    missing = {m.question.id for m in missing_answers(rubric, values)}
    sections = []
    for page, domain in enumerate(rubric.domains):
        rows = []
        for indicator in domain.indicators:
            for question in indicator.questions:
                if not relevant.get(question.id, True):
                    continue
                stored = answers.get(question.id)
                value = values.get(question.id)
                rows.append(
                    SheetRow(
                        question=question,
                        answer=None if is_blank(value) else show(question, value),
                        comment=(stored.comment or None) if stored else None,
                        missing=question.id in missing,
                    )
                )
        sections.append(SheetSection(page, rubric.text(domain.label, language), rows))
    return sections


def missing_per_section(rubric: Rubric, values: Mapping[str, Any]) -> list[int]:
    """How many required, relevant questions are still unanswered in each section (domain)."""
    counts = [0] * len(rubric.domains)
    for missing in missing_answers(rubric, values):
        counts[missing.page] += 1
    return counts


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
    score_assessments(session, [assessment])
    return []


# --- history -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerEvent:
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
    imported_from: str | None = None  # the file an imported answer came from, and its row
    import_instance: str | None = None


def history(
    session: Session, assessment_id: int, *, question_id: str | None = None
) -> list[AnswerEvent]:
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
    evidence_questions = _evidence_questions(session, assessment_id)
    attached = [f for f in session.exec(files).all() if f.question_id not in evidence_questions]
    user_ids = {r.changed_by_id for r in changes} | {
        u for f in attached for u in (f.uploaded_by_id, f.deleted_by_id)
    }
    names = {
        u.id: u.name
        for u in session.exec(select(User).where(col(User.id).in_(user_ids - {None}))).all()
    }
    entries = [
        AnswerEvent(
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
            imported_from=row.imported_from,
            import_instance=row.import_instance,
        )
        for row in changes
    ]
    for item in attached:
        entries.append(
            AnswerEvent(
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
                AnswerEvent(
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


def _evidence_questions(session: Session, assessment_id: int) -> set[str]:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        return set()
    _, rubric = rubric_for(session, assessment)
    return {q.id for _, _, q in rubric.questions() if q.type == "evidence"}


def history_events(
    session: Session, assessment_id: int, *, question_id: str | None = None
) -> sa.Subquery:
    """Every change of :func:`history` as one select (answer revisions, files attached and
    removed, united), so that the history is sorted, filtered and paged in the database:
    columns ``kind``, ``ref`` (the revision's or the file's id), ``at``, ``question_id``,
    ``source``, ``by_id`` and ``version``."""
    skipped = sorted(_evidence_questions(session, assessment_id))
    revisions: AnySelect = sa.select(
        sa.literal("answer").label("kind"),
        col(AnswerRevision.id).label("ref"),
        col(AnswerRevision.changed_at).label("at"),
        col(AnswerRevision.question_id).label("question_id"),
        col(AnswerRevision.source).label("source"),
        col(AnswerRevision.changed_by_id).label("by_id"),
        col(AnswerRevision.version).label("version"),
    ).where(col(AnswerRevision.assessment_id) == assessment_id)
    files = [col(Evidence.assessment_id) == assessment_id]
    if skipped:
        files.append(col(Evidence.question_id).not_in(skipped))
    if question_id is not None:
        revisions = revisions.where(col(AnswerRevision.question_id) == question_id)
        files.append(col(Evidence.question_id) == question_id)
    added = sa.select(
        sa.literal("evidence_added"),
        col(Evidence.id),
        col(Evidence.uploaded_at),
        col(Evidence.question_id),
        sa.literal(Source.SELF.value),
        col(Evidence.uploaded_by_id),
        sa.null(),
    ).where(*files)
    removed = sa.select(
        sa.literal("evidence_removed"),
        col(Evidence.id),
        col(Evidence.deleted_at),
        col(Evidence.question_id),
        sa.literal(Source.SELF.value),
        col(Evidence.deleted_by_id),
        sa.null(),
    ).where(*files, col(Evidence.deleted_at).is_not(None))
    return sa.union_all(revisions, added, removed).subquery("events")


HISTORY_SOURCES = (Source.SELF.value, Source.VERIFIED.value)


def history_spec(events: sa.Subquery) -> ListSpec:
    """The answer history: newest first by default; sorted by when, who or question;
    searched by the person's name or the question's id; filtered by self-assessment or
    verification."""
    return ListSpec(
        sorts={
            "when": (events.c.at, events.c.version),
            "who": col(User.name),
            "question": events.c.question_id,
        },
        default_sort="when",
        default_dir=DESC,
        filters={"source": HISTORY_SOURCES},
        tiebreak=(events.c.kind, events.c.ref.desc()),
    )


def history_page(session: Session, events: sa.Subquery, state: ListState) -> ListPage[AnswerEvent]:
    """One page of the history (``events``: :func:`history_events`) in ``state``: the page's
    rows are read in SQL, then only their revisions and files are loaded."""
    query = sa.select(events, col(User.name)).outerjoin(User, col(User.id) == events.c.by_id)
    if state.q:
        query = query.where(contains(state.q, col(User.name), events.c.question_id))
    if state.get("source"):
        query = query.where(events.c.source == state.get("source"))
    found = page_of(session, query, state)
    revision_ids = [row.ref for row in found.rows if row.kind == "answer"]
    file_ids = [row.ref for row in found.rows if row.kind != "answer"]
    revisions = {
        r.id: r
        for r in session.exec(
            select(AnswerRevision).where(col(AnswerRevision.id).in_(revision_ids))
        ).all()
    }
    files = {
        f.id: f for f in session.exec(select(Evidence).where(col(Evidence.id).in_(file_ids))).all()
    }
    entries: list[AnswerEvent] = []
    for row in found.rows:
        common = {"at": row.at, "question_id": row.question_id, "source": row.source}
        if row.kind == "answer":
            r = revisions[row.ref]
            entries.append(
                AnswerEvent(
                    **common,
                    who=row.name,
                    kind="answer",
                    old_value=r.old_value,
                    new_value=r.new_value,
                    old_comment=r.old_comment,
                    new_comment=r.new_comment,
                    version=r.version,
                    imported_from=r.imported_from,
                    import_instance=r.import_instance,
                )
            )
        else:
            entries.append(
                AnswerEvent(
                    **common, who=row.name, kind=row.kind, filename=files[row.ref].original_filename
                )
            )
    return mapped(found, entries)


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC): make them comparable."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
