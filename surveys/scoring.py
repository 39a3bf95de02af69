"""Scoring stored assessments with the engine, and the Score table dashboards read."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from evaluator.results import REASON_LABELS, FloatArray, ScoreResult
from evaluator.scoring import score_responses
from rubrics.loader import compile_spec, encode_answers, encode_stored
from rubrics.models import RubricRecord, RubricVersion
from rubrics.schema import Rubric
from rubrics.services import rubric_of
from rubrics.signals import version_published
from surveys.models import Answer, Assessment, AssessmentCycle, Score, Source, Status

SCORED_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED, Status.RETURNED)


def stored_values(
    session: Session, assessment_ids: Sequence[int], source: Source = Source.SELF
) -> dict[int, dict[str, Any]]:
    """The answers of many assessments in one query: ``{assessment_id: {question_id: value}}``."""
    values: dict[int, dict[str, Any]] = {aid: {} for aid in assessment_ids}
    if not assessment_ids:
        return values
    rows = session.execute(
        sa.select(col(Answer.assessment_id), col(Answer.question_id), col(Answer.value)).where(
            col(Answer.assessment_id).in_(assessment_ids), col(Answer.source) == source
        )
    ).all()
    for assessment_id, question_id, value in rows:
        values[assessment_id][question_id] = value
    return values


def stored_matrix(
    session: Session,
    rubric: Rubric,
    assessment_ids: Sequence[int],
    source: Source = Source.SELF,
    *,
    only: Mapping[int, Container[str]] | None = None,
) -> FloatArray:
    """The engine's answer matrix of these assessments' stored answers (rows in the order of
    ``assessment_ids``), carried over to ``rubric`` and read leniently: what
    ``encode_answers(rubric, [carry_over(rubric, v) for v in stored_values(...)], strict=False)``
    gives, in one query and without a dict per assessment. With ``only``, an assessment's
    answers are those to the question ids ``only[assessment_id]`` holds (others are left out)."""
    row_of = {aid: r for r, aid in enumerate(assessment_ids)}
    if not row_of:
        return encode_stored(rubric, 0, ())
    result = session.connection().execute(
        sa.select(
            col(Answer.assessment_id), col(Answer.question_id), sa.cast(col(Answer.value), sa.Text)
        ).where(col(Answer.assessment_id).in_(list(row_of)), col(Answer.source) == source)
    )
    try:
        # The driver's tuples: no SQLAlchemy row, no JSON decoding per answer (encode_stored
        # decodes each distinct text once).
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    entries = (
        (row_of[aid], qid, text)
        for aid, qid, text in rows
        if only is None or qid in only.get(aid, ())
    )
    return encode_stored(rubric, len(row_of), entries)


def carry_over(rubric: Rubric, values: Mapping[str, Any]) -> dict[str, Any]:
    """Answers given to another version, as answers to ``rubric``: by question id, or through a
    question's ``previous_id`` when it was renamed. Values the rubric cannot read (an option
    that no longer exists, say) are left out, so they count as unanswered."""
    carried: dict[str, Any] = {}
    for _, _, question in rubric.questions():
        for key in (question.id, question.previous_id):
            if key and key in values:
                carried[question.id] = values[key]
                break
    return carried


def score_assessments(
    session: Session,
    assessments: Sequence[Assessment],
    source: Source = Source.SELF,
    *,
    version: RubricVersion | None = None,
) -> int:
    """Score ``assessments`` and store the results in Score; returns how many were scored.

    Each assessment is scored against the rubric version it is pinned to, or against
    ``version`` (answers carried over by question id) to make scores of earlier cycles
    comparable with a new version. Assessments are grouped by version, and each group is
    scored in one vectorised call.
    """
    groups: dict[int, list[Assessment]] = {}
    for assessment in assessments:
        target = version.id if version is not None else _pinned_version_id(session, assessment)
        groups.setdefault(target, []).append(assessment)  # type: ignore[arg-type]
    for version_id, group in groups.items():
        stored = session.get(RubricVersion, version_id)
        rubric = rubric_of(stored)  # type: ignore[arg-type]
        ids = [a.id for a in group]
        answers = stored_values(session, ids, source)  # type: ignore[arg-type]
        rows = [carry_over(rubric, answers[a.id]) for a in group]  # type: ignore[index]
        # Pinned answers were validated when saved; carried-over ones may not fit: lenient.
        matrix = encode_answers(rubric, rows, strict=version is None)
        result = score_responses(compile_spec(rubric), matrix)
        session.execute(
            delete(Score).where(
                col(Score.assessment_id).in_(ids),
                col(Score.source) == source,
                col(Score.rubric_version_id) == version_id,
            )
        )
        for row, assessment in enumerate(group):
            session.add_all(_score_rows(result, row, assessment, version_id, rubric, source))
    session.flush()
    return len(assessments)


def _pinned_version_id(session: Session, assessment: Assessment) -> int:
    cycle = session.get(AssessmentCycle, assessment.cycle_id)
    return cycle.rubric_version_id  # type: ignore[union-attr]


def scored_assessments(session: Session, *, rubric_code: str | None = None) -> list[Assessment]:
    """Assessments that have been submitted at least once (optionally of one rubric)."""
    query = (
        select(Assessment)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
        .join(RubricVersion, col(RubricVersion.id) == AssessmentCycle.rubric_version_id)
        .join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
        .where(col(Assessment.status).in_(SCORED_STATUSES))
        .order_by(col(Assessment.id))
    )
    if rubric_code:
        query = query.where(RubricRecord.code == rubric_code)
    return list(session.exec(query).all())


def has_verified_answers(session: Session, assessment_ids: Sequence[int]) -> set[int]:
    rows = session.execute(
        sa.select(col(Answer.assessment_id))
        .where(col(Answer.assessment_id).in_(assessment_ids), col(Answer.source) == Source.VERIFIED)
        .distinct()
    ).all()
    return {row[0] for row in rows}


def rescore(
    session: Session,
    *,
    rubric_code: str | None = None,
    batch_size: int = 500,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Rescore every submitted assessment (self and, where present, verified answers) against
    its pinned version, in batches; ``progress(n)`` is called after each batch."""
    assessments = scored_assessments(session, rubric_code=rubric_code)
    for start in range(0, len(assessments), batch_size):
        batch = assessments[start : start + batch_size]
        score_assessments(session, batch, Source.SELF)
        verified = has_verified_answers(session, [a.id for a in batch])  # type: ignore[misc]
        if verified:
            score_assessments(session, [a for a in batch if a.id in verified], Source.VERIFIED)
        if progress:
            progress(len(batch))
    return len(assessments)


def score_under_new_version(session: Session, version: RubricVersion) -> int:
    """Score the submitted assessments of the rubric's earlier versions under ``version`` too,
    so that trends across cycles compare like with like (see :func:`carry_over`)."""
    query = (
        select(Assessment)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
        .join(RubricVersion, col(RubricVersion.id) == AssessmentCycle.rubric_version_id)
        .where(
            RubricVersion.rubric_id == version.rubric_id,
            col(RubricVersion.id) != version.id,
            col(Assessment.status).in_(SCORED_STATUSES),
        )
    )
    earlier = list(session.exec(query).all())
    return score_assessments(session, earlier, Source.SELF, version=version) if earlier else 0


def _score_rows(
    result: ScoreResult,
    row: int,
    assessment: Assessment,
    version_id: int,
    rubric: Rubric,
    source: Source,
) -> list[Score]:
    def number(x: float) -> float | None:
        return None if np.isnan(x) else round(float(x), 6)

    def score(
        level: str,
        code: str,
        value: float,
        coverage: float,
        reason: int = 0,
        band: str | None = None,
    ) -> Score:
        return Score(
            assessment_id=assessment.id,  # type: ignore[arg-type]
            rubric_version_id=version_id,
            source=source,
            level=level,
            code=code,
            score=number(value),
            coverage=number(coverage),
            reason=REASON_LABELS.get(reason) or None,
            band=band,
        )

    rows = [
        score(
            "overall",
            rubric.id,
            result.overall[row],
            result.overall_coverage[row],
            int(result.overall_reason[row]),
            result.band_label(row) or None,
        )
    ]
    rows += [
        score(
            "domain",
            code,
            result.domain_scores[row, d],
            result.domain_coverage[row, d],
            int(result.domain_reason[row, d]),
        )
        for d, code in enumerate(result.domain_ids)
    ]
    rows += [
        score("indicator", code, result.indicator_scores[row, i], result.indicator_coverage[row, i])
        for i, code in enumerate(result.indicator_ids)
    ]
    return rows


@version_published.connect
def _on_version_published(session: Session, *, version: RubricVersion, **_: Any) -> None:
    score_under_new_version(session, version)
