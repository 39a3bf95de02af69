"""Read-only selects for reports: stored scores as plain rows, always through the permissions
scope (:func:`accounts.permissions.visible_assessments`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from accounts.permissions import Principal, visible_assessments
from rubrics.schema import Rubric
from surveys.models import Assessment, Score, Source


@dataclass(frozen=True)
class ScoreLine:
    code: str
    label: str
    score: float | None
    coverage: float | None
    reason: str | None
    weight: float


@dataclass(frozen=True)
class Scorecard:
    overall: ScoreLine | None
    band: str | None
    domains: list[ScoreLine]
    indicators: dict[str, list[ScoreLine]]  # domain code -> its indicators


def scorecard(
    session: Session,
    assessment_id: int,
    version_id: int,
    rubric: Rubric,
    language: str,
    source: Source = Source.SELF,
    *,
    viewer: Principal,
) -> Scorecard:
    """The scores of one assessment under one rubric version (normally its pinned one), if
    ``viewer`` may see it (else no scores)."""
    rows = session.exec(
        select(Score)
        .join(Assessment, col(Assessment.id) == Score.assessment_id)
        .where(
            Score.assessment_id == assessment_id,
            Score.source == source,
            Score.rubric_version_id == version_id,
            visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        )
    ).all()
    by_key = {(row.level, row.code): row for row in rows}

    def line(level: str, code: str, label: str, weight: float) -> ScoreLine | None:
        row = by_key.get((level, code))
        if row is None:
            return None
        return ScoreLine(code, label, row.score, row.coverage, row.reason, weight)

    overall_row = by_key.get(("overall", rubric.id))
    overall = line("overall", rubric.id, rubric.text(rubric.title, language), 1.0)
    domains: list[ScoreLine] = []
    indicators: dict[str, list[ScoreLine]] = {}
    for domain in rubric.domains:
        found = line("domain", domain.id, rubric.text(domain.label, language), domain.weight)
        if found:
            domains.append(found)
        indicators[domain.id] = [
            ind_line
            for ind in domain.indicators
            if (ind_line := line("indicator", ind.id, rubric.text(ind.label, language), ind.weight))
        ]
    band = rubric.band_label(overall_row.score if overall_row else None, language)
    return Scorecard(overall, band, domains, indicators)
