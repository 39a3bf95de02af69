"""Scoring stored assessments with the engine, and the Score table dashboards read."""

from __future__ import annotations

import numpy as np
from sqlmodel import Session, col, delete

from evaluator.results import REASON_LABELS, ScoreResult
from evaluator.scoring import score_responses
from rubrics.loader import compile_spec, encode_answers
from rubrics.models import RubricVersion
from rubrics.schema import Rubric
from rubrics.services import rubric_of
from surveys.models import Assessment, AssessmentCycle, Score, Source
from surveys.services import answers_of, values_of

# --- scoring -------------------------------------------------------------------------------------


def score_assessments(
    session: Session, assessments: list[Assessment], source: Source = Source.SELF
) -> None:
    """Score ``assessments`` (all pinned to rubric versions) and store the results in Score.

    Assessments are grouped by rubric version and each group is scored in one vectorised call.
    """
    groups: dict[int, list[Assessment]] = {}
    for assessment in assessments:
        cycle = session.get(AssessmentCycle, assessment.cycle_id)
        groups.setdefault(cycle.rubric_version_id, []).append(assessment)  # type: ignore[union-attr]
    for version_id, group in groups.items():
        version = session.get(RubricVersion, version_id)
        rubric = rubric_of(version)  # type: ignore[arg-type]
        rows = [values_of(answers_of(session, a.id, source)) for a in group]  # type: ignore[arg-type]
        result = score_responses(compile_spec(rubric), encode_answers(rubric, rows))
        ids = [a.id for a in group]
        session.execute(
            delete(Score).where(col(Score.assessment_id).in_(ids), col(Score.source) == source)
        )
        for row, assessment in enumerate(group):
            session.add_all(_score_rows(result, row, assessment, version_id, rubric, source))
    session.flush()


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
