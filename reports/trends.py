"""Network-wide trends of one rubric (issue 9, section 6): the cohort's distribution per domain
over cycles, like with like, with the number of NGOs in each cycle.

Like with like, as the scorecard's trend (:func:`reports.queries.trend`): every cycle is read
under the newest rubric version that one of the viewer's cycles was run with, where it was
rescored under it on publication (answers carried over by question id; questions that changed
are left out by the rescoring); a cycle that was not keeps its own version's scores, and the
chart says which. Each assessment counts with its leading score: the verified one once it is
verified, the self-assessed one before. Everything is read through the viewer's scope, in two
selects (the cycles; the scores pivoted by a GROUP BY), then summarised in numpy.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col

from accounts.permissions import Principal, visible_assessments
from rubrics.models import RubricRecord, RubricVersion
from rubrics.services import rubric_of
from surveys.models import Assessment, AssessmentCycle, Score, Source, Status

SCORED = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED)


@dataclass(frozen=True)
class CycleSummary:
    """One cycle's distribution: per domain (the reference version's order) the number of NGOs
    with a score there and the five-number summary (NaN where none has)."""

    cycle_id: int
    name: str
    version: int  # the rubric version its scores are under
    pinned_version: int  # the version it was run with
    n_ngos: int  # NGOs with a submitted assessment the viewer sees
    n: list[int]
    minimum: list[float]
    q1: list[float]
    median: list[float]
    q3: list[float]
    maximum: list[float]

    @property
    def rescored(self) -> bool:
        return self.version != self.pinned_version


@dataclass(frozen=True)
class NetworkTrend:
    rubric: str  # the rubric's code
    title: str
    version: int  # the reference version (0: nothing to show)
    domains: list[tuple[str, str]]  # (code, label) of the reference version
    cycles: list[CycleSummary]  # oldest first

    @property
    def comparable(self) -> list[CycleSummary]:
        return [c for c in self.cycles if c.version == self.version]


def trend_rubrics(session: Session, *, viewer: Principal) -> list[tuple[str, str]]:
    """The rubrics (code, stored title) with a submitted assessment the viewer sees."""
    scope = visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id)
    rows = session.execute(
        sa.select(col(RubricRecord.code), col(RubricRecord.title))
        .join(RubricVersion, col(RubricVersion.rubric_id) == col(RubricRecord.id))
        .join(AssessmentCycle, col(AssessmentCycle.rubric_version_id) == col(RubricVersion.id))
        .where(
            col(AssessmentCycle.id).in_(
                sa.select(col(Assessment.cycle_id)).where(scope, col(Assessment.status).in_(SCORED))
            )
        )
        .distinct()
        .order_by(col(RubricRecord.code))
    ).all()
    return [(str(code), str(title)) for code, title in rows]


def _summary(block: np.ndarray) -> tuple[list[int], list[list[float]]]:
    """Per column: how many values, and the minimum, quartiles (linear) and maximum."""
    counts = [int(k) for k in (~np.isnan(block)).sum(axis=0)]
    if block.shape[0] == 0:
        nan = [float("nan")] * block.shape[1]
        return counts, [nan] * 5
    with warnings.catch_warnings():  # an all-NaN domain: NaN, said on the chart and table
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanpercentile(block, [0, 25, 50, 75, 100], axis=0)
    return counts, [row.tolist() for row in q]


def network_trend(
    session: Session, rubric_code: str, *, viewer: Principal, language: str
) -> NetworkTrend:
    """The distribution of the leading domain scores of ``rubric_code`` in every cycle the
    viewer sees (see the module's docstring for the like-with-like rule)."""
    scope = visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id)
    cycles = session.execute(
        sa.select(
            col(AssessmentCycle.id),
            col(AssessmentCycle.name),
            col(AssessmentCycle.opens_on),
            col(RubricVersion.id),
            col(RubricVersion.number),
        )
        .join(RubricVersion, col(RubricVersion.id) == col(AssessmentCycle.rubric_version_id))
        .join(RubricRecord, col(RubricRecord.id) == col(RubricVersion.rubric_id))
        .where(
            col(RubricRecord.code) == rubric_code,
            col(AssessmentCycle.id).in_(
                sa.select(col(Assessment.cycle_id)).where(scope, col(Assessment.status).in_(SCORED))
            ),
        )
    ).all()
    if not cycles:
        return NetworkTrend(rubric_code, rubric_code, 0, [], [])
    reference_id, reference = max(((r[3], r[4]) for r in cycles), key=lambda r: r[1])
    rubric = rubric_of(session.get_one(RubricVersion, reference_id))
    language = language if language in rubric.languages else rubric.default_language
    codes = [d.id for d in rubric.domains]
    cycle_ids = [int(r[0]) for r in cycles]
    rescored = set(
        session.execute(
            sa.select(col(Assessment.cycle_id))
            .join(Score, col(Score.assessment_id) == col(Assessment.id))
            .where(
                col(Assessment.cycle_id).in_(cycle_ids),
                col(Score.rubric_version_id) == reference_id,
                scope,
            )
            .distinct()
        ).scalars()
    )
    # Each cycle's version: the reference one where its scores exist under it, else its own.
    under = {int(r[0]): (reference_id if r[0] in rescored else r[3]) for r in cycles}
    numbers = {int(r[3]): int(r[4]) for r in cycles} | {reference_id: reference}
    verified = sa.and_(
        col(Score.source) == Source.VERIFIED, col(Assessment.status) == Status.VERIFIED
    )

    def pick(match: Any, code: str) -> Any:
        return sa.func.max(sa.case((sa.and_(match, col(Score.code) == code), col(Score.score))))

    def has(match: Any) -> Any:
        return sa.func.count(sa.case((sa.and_(match, col(Score.level) == "overall"), 1)))

    by_version: dict[int, list[int]] = {}
    for cycle_id, version_id in under.items():
        by_version.setdefault(version_id, []).append(cycle_id)
    rows = session.execute(
        sa.select(
            col(Assessment.cycle_id),
            has(verified),
            *(pick(verified, code) for code in codes),
            *(pick(col(Score.source) == Source.SELF, code) for code in codes),
        )
        .select_from(Score)
        .join(Assessment, col(Assessment.id) == col(Score.assessment_id))
        .where(
            scope,
            col(Assessment.status).in_(SCORED),
            col(Score.level).in_(("overall", "domain")),
            sa.or_(
                *(
                    sa.and_(
                        col(Assessment.cycle_id).in_(ids), col(Score.rubric_version_id) == version
                    )
                    for version, ids in by_version.items()
                )
            ),
        )
        .group_by(col(Assessment.id), col(Assessment.cycle_id))
    ).all()
    d = len(codes)
    # Plain tuples: numpy probing SQLAlchemy's Row objects one by one costs a second at 5,000.
    fetched = np.array([tuple(row) for row in rows], dtype=np.float64).reshape(len(rows), 2 + 2 * d)
    row_cycle = fetched[:, 0].astype(np.int64)
    lead = np.where(fetched[:, 1:2] > 0, fetched[:, 2 : 2 + d], fetched[:, 2 + d :])
    order = sorted(cycles, key=lambda r: (r[2] or date.min, r[0]))
    summaries = []
    for cycle_id, name, _opens, _pinned_id, pinned in order:
        block = lead[row_cycle == cycle_id]
        n, (minimum, q1, median, q3, maximum) = _summary(block)
        summaries.append(
            CycleSummary(
                cycle_id=int(cycle_id),
                name=str(name),
                version=numbers[under[int(cycle_id)]],
                pinned_version=int(pinned),
                n_ngos=int(block.shape[0]),
                n=n,
                minimum=minimum,
                q1=q1,
                median=median,
                q3=q3,
                maximum=maximum,
            )
        )
    return NetworkTrend(
        rubric=rubric_code,
        title=rubric.text(rubric.title, language),
        version=reference,
        domains=[(dom.id, rubric.text(dom.label, language)) for dom in rubric.domains],
        cycles=summaries,
    )
