"""External verification: an evaluator's review (the status moves it makes are in
:mod:`surveys.workflow`).

The review
----------
An evaluator assigned to the cycle (or an admin) starts the review, then goes indicator by
indicator: for every scored question they see the NGO's self-rating, comment and evidence, and
set a *verified* rating (an :class:`~surveys.models.Answer` with ``source="verified"``; the form
starts from the self-rating), and writes a note on the indicator
(:class:`~surveys.review.models.IndicatorReview`, whose ``agreed`` flag says whether every
verified rating equals the self-rating). Completing the review scores the verified answers next
to the self ones; **a question without a verified rating takes the self-rating**: it is copied
into a verified answer when the review completes, so that the verified record is complete and
scored like the self one, and both are kept.

Services take the session and flush; the view commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from accounts.concurrency import StaleWrite, compare_and_set, insert_once
from accounts.models import User, utcnow
from accounts.services import audit
from rubrics.schema import Indicator, Question, Rubric
from surveys import answers as store
from surveys.evidence.services import live_evidence
from surveys.models import Assessment, Score, Source, Status
from surveys.questionnaire.fields import display_answer
from surveys.review.models import IndicatorReview
from surveys.scoring import score_assessments
from surveys.workflow import (
    AssessmentError,
    TransitionError,
    check_transition,
    status_label,
    transition,
)

NOTE_MAX = 5000


# --- review actions -------------------------------------------------------------------------------


def _audit(
    session: Session, assessment: Assessment, action: str, by: User | None, **detail: Any
) -> None:
    audit(
        session,
        actor=by,
        action=action,
        object_type="assessment",
        object_id=assessment.id,
        organization_id=assessment.organization_id,
        **detail,
    )


def start_review(session: Session, assessment: Assessment, *, by: User | None) -> None:
    transition(session, assessment, Status.IN_REVIEW, by=by)
    _audit(session, assessment, "review_started", by)


def return_assessment(
    session: Session, assessment: Assessment, *, reason: str, by: User | None
) -> None:
    """Send the assessment back to the NGO, with the reasons they will see on its overview."""
    transition(session, assessment, Status.RETURNED, by=by, reason=reason)
    _audit(session, assessment, "review_returned", by, reason=reason[:2000])


def complete_review(session: Session, assessment: Assessment, *, by: User | None) -> None:
    """Verify the assessment and score its verified answers.

    Questions without a verified rating take the self-rating (copied as verified answers), so
    that the verified scores cover the same questions as the self ones. Self scores are kept.
    """
    check_transition(assessment.status, Status.VERIFIED)
    assessment_id: int = assessment.id  # type: ignore[assignment]
    own = store.answers_of(session, assessment_id, Source.SELF)
    verified = store.answers_of(session, assessment_id, Source.VERIFIED)
    fill = {
        qid: answer.value
        for qid, answer in own.items()
        if not store.is_blank(answer.value)
        and (qid not in verified or store.is_blank(verified[qid].value))
    }
    if fill:
        store.save_answers(
            session,
            assessment,
            values=fill,
            base_versions={qid: verified[qid].version if qid in verified else None for qid in fill},
            user=by,
            source=Source.VERIFIED,
        )
    transition(session, assessment, Status.VERIFIED, by=by)
    score_assessments(session, [assessment], Source.VERIFIED)
    _audit(session, assessment, "review_completed", by)


@dataclass
class IndicatorSaveResult:
    answers: store.SaveResult
    review: IndicatorReview
    note_conflict: str | None = None  # the note saved meanwhile by someone else, if any
    saved_note: bool = False

    @property
    def conflicts(self) -> bool:
        return bool(self.answers.conflicts) or self.note_conflict is not None


def find_indicator(rubric: Rubric, indicator_id: str) -> Indicator | None:
    for domain in rubric.domains:
        for indicator in domain.indicators:
            if indicator.id == indicator_id:
                return indicator
    return None


def rated_questions(indicator: Indicator) -> list[Question]:
    """The questions an evaluator gives a verified rating: the scored ones."""
    return [q for q in indicator.questions if q.scored]


def save_indicator_review(
    session: Session,
    assessment: Assessment,
    indicator_id: str,
    *,
    values: Mapping[str, Any],
    base_versions: Mapping[str, int | None],
    note: str | None,
    note_version: int | None,
    by: User | None,
) -> IndicatorSaveResult:
    """Store the verified ratings of one indicator's questions and the note on it.

    ``values`` and ``base_versions`` are as for :func:`surveys.answers.save_answers` (stale
    ratings become conflicts); ``note_version`` is the :class:`IndicatorReview` version the page
    was built from (None: there was none). Only questions of the indicator that are scored and
    relevant are stored.
    """
    if assessment.status != Status.IN_REVIEW:
        raise TransitionError(
            _l(
                "This assessment is %(status)s: ratings can be verified only while it is in "
                "review.",
                status=status_label(assessment.status),
            )
        )
    _, rubric = store.rubric_for(session, assessment)
    indicator = find_indicator(rubric, indicator_id)
    if indicator is None:
        raise AssessmentError(_l("The rubric has no indicator %(id)s.", id=indicator_id))
    assessment_id: int = assessment.id  # type: ignore[assignment]
    rated = {q.id for q in rated_questions(indicator)}
    values = {qid: v for qid, v in values.items() if qid in rated}
    merged = effective_verified(session, assessment_id) | values
    relevant = store.relevant_questions(rubric, merged)
    values = {qid: v for qid, v in values.items() if relevant.get(qid, True)}
    answers = store.save_answers(
        session,
        assessment,
        values=values,
        base_versions={qid: base_versions.get(qid) for qid in values},
        user=by,
        source=Source.VERIFIED,
    )

    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise AssessmentError(_l("Keep the note under %(max)s characters.", max=NOTE_MAX))
    review = indicator_reviews(session, assessment_id).get(indicator_id)
    agreed = _agrees(session, assessment_id, indicator)
    result = IndicatorSaveResult(answers, review)  # type: ignore[arg-type]
    written: dict[str, Any] = {
        "note": note,
        "agreed": agreed,
        "reviewed_by_id": by.id if by else None,
        "reviewed_at": utcnow(),
    }
    try:
        if review is None:
            review = IndicatorReview(
                assessment_id=assessment_id, indicator_id=indicator_id, **written
            )
            insert_once(
                session, review, key={"assessment_id": assessment_id, "indicator_id": indicator_id}
            )
            result.saved_note = note is not None
        elif review.version != note_version and review.note != note:
            raise StaleWrite(review, yours=written, seen=note_version)
        elif review.note != note or review.agreed != agreed or answers.saved:
            saved_note = review.note != note
            compare_and_set(session, review, seen=review.version, values=written)
            result.saved_note = saved_note
    except StaleWrite as lost:
        review = lost.current
        if review is None:  # pragma: no cover - reviews are never deleted
            raise
        if review.note != note:
            result.note_conflict = review.note or ""
        if review.agreed != agreed:  # the ratings were saved: keep the flag true to them
            try:
                compare_and_set(session, review, seen=review.version, values={"agreed": agreed})
            except StaleWrite as again:
                review = again.current  # a third save meanwhile computed the flag itself
    result.review = review
    session.flush()
    return result


@dataclass
class IndicatorPageOutcome:
    """What saving a posted indicator review page did: ``errors`` per question (and ``note``),
    the conflicts in ``saved``, and the versions the page should now be based on."""

    saved: IndicatorSaveResult
    errors: dict[str, list[str]]
    base_versions: dict[str, int]  # the verified answers' versions now, by question id
    note_version: int

    @property
    def conflicts(self) -> dict[str, store.Conflict]:
        return {c.question_id: c for c in self.saved.answers.conflicts}

    @property
    def ok(self) -> bool:
        return not self.errors and not self.saved.conflicts


def save_indicator_page(
    session: Session,
    assessment: Assessment,
    indicator_id: str,
    *,
    values: Mapping[str, Any],
    base_versions: Mapping[str, int | None],
    errors: Mapping[str, list[str]],
    note: str | None,
    note_errors: list[str],
    note_version: int | None,
    by: User | None,
) -> IndicatorPageOutcome:
    """Save a posted indicator review page: the valid ratings, and the note unless it is
    invalid (then the stored note stays). Flushes; the caller commits."""
    assessment_id: int = assessment.id  # type: ignore[assignment]
    if note_errors:  # an invalid note is not saved; the ratings are
        stored = indicator_reviews(session, assessment_id).get(indicator_id)
        note = stored.note if stored else None
        note_version = stored.version if stored else None
    saved = save_indicator_review(
        session,
        assessment,
        indicator_id,
        values=values,
        base_versions=base_versions,
        note=note,
        note_version=note_version,
        by=by,
    )
    found = {qid: list(messages) for qid, messages in errors.items()}
    if note_errors:
        found["note"] = list(note_errors)
    verified = store.answers_of(session, assessment_id, Source.VERIFIED)
    return IndicatorPageOutcome(
        saved,
        found,
        {qid: answer.version for qid, answer in verified.items()},
        saved.review.version,
    )


def _agrees(session: Session, assessment_id: int, indicator: Indicator) -> bool:
    own = store.values_of(store.answers_of(session, assessment_id, Source.SELF))
    verified = effective_verified(session, assessment_id)
    return all(
        store.same_value(verified.get(q.id), own.get(q.id)) for q in rated_questions(indicator)
    )


def effective_verified(session: Session, assessment_id: int) -> dict[str, Any]:
    """The verified values, with the self value where there is no verified one."""
    own = store.values_of(store.answers_of(session, assessment_id, Source.SELF))
    verified = store.values_of(store.answers_of(session, assessment_id, Source.VERIFIED))
    return own | {qid: v for qid, v in verified.items() if not store.is_blank(v)}


def indicator_reviews(session: Session, assessment_id: int) -> dict[str, IndicatorReview]:
    rows = session.exec(
        select(IndicatorReview).where(IndicatorReview.assessment_id == assessment_id)
    ).all()
    return {row.indicator_id: row for row in rows}


# --- what people see ------------------------------------------------------------------------------


def describe(rubric: Rubric, question: Question, value: Any, language: str) -> str | None:
    """An answer as people read it (:func:`surveys.questionnaire.fields.display_answer`); None
    when there is no answer."""
    if store.is_blank(value):
        return None
    return display_answer(question, rubric, language, value)


@dataclass(frozen=True)
class EvidenceLink:
    id: int
    name: str


def evidence_by_question(session: Session, assessment_id: int) -> dict[str, list[EvidenceLink]]:
    """The evidence files attached to the assessment (and not removed), by question."""
    return {
        qid: [EvidenceLink(item.id, item.original_filename) for item in items]  # type: ignore[arg-type]
        for qid, items in live_evidence(session, assessment_id).items()
    }


@dataclass(frozen=True)
class QuestionView:
    question: Question
    label: str
    rated: bool  # gets a verified rating
    own: str | None  # the self-rating, as people read it
    own_comment: str | None
    verified: str | None  # the verified rating (None: none given)
    changed: bool  # the verified rating differs from the self-rating
    evidence: list[EvidenceLink]


@dataclass(frozen=True)
class IndicatorView:
    id: str
    label: str
    domain: str
    questions: list[QuestionView]
    review: IndicatorReview | None
    own_score: float | None
    verified_score: float | None


def indicator_views(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    language: str,
    *,
    with_verified: bool,
) -> list[IndicatorView]:
    """Every indicator with its questions' self (and, ``with_verified``, verified) ratings."""
    assessment_id: int = assessment.id  # type: ignore[assignment]
    own = store.answers_of(session, assessment_id, Source.SELF)
    verified = store.answers_of(session, assessment_id, Source.VERIFIED) if with_verified else {}
    evidence = evidence_by_question(session, assessment_id)
    reviews = indicator_reviews(session, assessment_id) if with_verified else {}
    own_scores = indicator_scores(session, assessment, Source.SELF)
    verified_scores = (
        indicator_scores(session, assessment, Source.VERIFIED) if with_verified else {}
    )
    views = []
    for domain in rubric.domains:
        for indicator in domain.indicators:
            questions = []
            for question in indicator.questions:
                mine = own.get(question.id)
                theirs = verified.get(question.id)
                own_value = mine.value if mine else None
                verified_value = theirs.value if theirs else None
                questions.append(
                    QuestionView(
                        question=question,
                        label=rubric.text(question.label, language),
                        rated=question.scored,
                        own=describe(rubric, question, own_value, language),
                        own_comment=mine.comment if mine else None,
                        verified=describe(rubric, question, verified_value, language),
                        changed=theirs is not None
                        and not store.is_blank(verified_value)
                        and not store.same_value(verified_value, own_value),
                        evidence=evidence.get(question.id, []),
                    )
                )
            views.append(
                IndicatorView(
                    id=indicator.id,
                    label=rubric.text(indicator.label, language),
                    domain=rubric.text(domain.label, language),
                    questions=questions,
                    review=reviews.get(indicator.id),
                    own_score=own_scores.get(indicator.id),
                    verified_score=verified_scores.get(indicator.id),
                )
            )
    return views


def _scores(session: Session, assessment: Assessment, source: Source) -> list[Score]:
    cycle, _ = store.rubric_for(session, assessment)
    return list(
        session.exec(
            select(Score).where(
                Score.assessment_id == assessment.id,
                Score.source == source,
                Score.rubric_version_id == cycle.rubric_version_id,
            )
        ).all()
    )


def indicator_scores(
    session: Session, assessment: Assessment, source: Source
) -> dict[str, float | None]:
    """Stored indicator scores (0-100) of the assessment under its pinned rubric version."""
    return {
        row.code: row.score
        for row in _scores(session, assessment, source)
        if row.level == "indicator"
    }


@dataclass(frozen=True)
class ScorePair:
    code: str
    label: str
    own: float | None
    verified: float | None


@dataclass(frozen=True)
class Comparison:
    overall: ScorePair
    own_band: str | None
    verified_band: str | None
    domains: list[ScorePair]
    indicators: list[IndicatorView]


def comparison(
    session: Session, assessment: Assessment, rubric: Rubric, language: str
) -> Comparison:
    """Self versus verified, overall, per domain and per indicator (for verified assessments)."""
    own = {(s.level, s.code): s for s in _scores(session, assessment, Source.SELF)}
    verified = {(s.level, s.code): s for s in _scores(session, assessment, Source.VERIFIED)}

    def pair(level: str, code: str, label: str) -> ScorePair:
        a, b = own.get((level, code)), verified.get((level, code))
        return ScorePair(code, label, a.score if a else None, b.score if b else None)

    overall_own = own.get(("overall", rubric.id))
    overall_verified = verified.get(("overall", rubric.id))
    return Comparison(
        overall=pair("overall", rubric.id, rubric.text(rubric.title, language)),
        own_band=rubric.band_label(overall_own.score if overall_own else None, language),
        verified_band=rubric.band_label(
            overall_verified.score if overall_verified else None, language
        ),
        domains=[pair("domain", d.id, rubric.text(d.label, language)) for d in rubric.domains],
        indicators=indicator_views(session, assessment, rubric, language, with_verified=True),
    )
