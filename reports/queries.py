"""Read-only selects for reports: stored scores as plain rows, always through the permissions
scope (:func:`accounts.permissions.visible_assessments`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlmodel import Session, col, select

from accounts.models import Organization
from accounts.permissions import Principal, visible_assessments
from rubrics.models import RubricRecord, RubricVersion
from rubrics.schema import Rubric
from rubrics.services import rubric_of
from surveys.models import Assessment, AssessmentCycle, Score, Source, Status


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


# --- the funder's home: one row per NGO that shares with the viewer ----------------------------
# (issue 9, section 4). Computed in the database: a window function picks each NGO's latest
# scored assessment and the one before it of the same rubric; a GROUP BY pivots the stored
# overall scores (self / verified) of both; both go through the permissions scope.

# Statuses whose stored scores stand (the questionnaire has been submitted at least once).
_SCORED = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED, Status.RETURNED)


@dataclass(frozen=True)
class SharingNgo:
    """One NGO on a funder's home: its latest submitted assessment the viewer may see (else
    its latest one, not submitted yet: ``scored`` is False and there are no scores).
    ``score`` is the verified overall score where there is one, else the self-assessed one
    (``verified`` says which). ``change`` is the difference from the
    NGO's previous cycle of the same rubric, both scored under the latest cycle's rubric
    version; ``change_verified`` says whether it compares verified scores (both cycles have
    them) or self-assessed ones. None where there is nothing comparable (no previous cycle the
    viewer may see, or no score of it under that version)."""

    organization_id: int
    organization: str
    assessment_id: int | None
    cycle: str | None
    status: str | None
    scored: bool
    score: float | None
    reason: str | None
    verified: bool
    band: str | None
    change: float | None
    change_verified: bool
    previous_cycle: str | None


def _cycle_order() -> tuple[sa.ColumnElement[Any], ...]:
    """Latest first: by opening date (cycles without one last), then by creation."""
    return (
        sa.nulls_last(col(AssessmentCycle.opens_on).desc()),
        col(AssessmentCycle.id).desc(),
    )


def _overall_by_source() -> sa.Subquery:
    """The stored overall scores, one row per assessment and rubric version, self and
    verified side by side."""

    def pick(source: Source, column: Any) -> Any:
        return sa.func.max(sa.case((col(Score.source) == source, column)))

    return (
        sa.select(
            col(Score.assessment_id).label("assessment_id"),
            col(Score.rubric_version_id).label("version_id"),
            pick(Source.SELF, col(Score.score)).label("self_score"),
            pick(Source.SELF, col(Score.reason)).label("self_reason"),
            pick(Source.VERIFIED, col(Score.score)).label("verified_score"),
            pick(Source.VERIFIED, col(Score.reason)).label("verified_reason"),
            sa.func.count(sa.case((col(Score.source) == Source.VERIFIED, 1))).label("n_verified"),
        )
        .where(col(Score.level) == "overall")
        .group_by(col(Score.assessment_id), col(Score.rubric_version_id))
        .subquery("overall")
    )


def sharing_ngos(
    session: Session,
    *,
    viewer: Principal,
    language: str,
) -> list[SharingNgo]:
    """The NGOs with a live grant to one of the viewer's funder organisations, by name, each
    with its latest score the viewer may see (see :class:`SharingNgo`). One query for the rows;
    then one rubric per distinct version, for the band labels in ``language``."""
    if not viewer.granted_ngos:
        return []
    scope = visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id)
    order = _cycle_order()
    # The latest scored assessment; the latest of all when none is scored yet (it is shown
    # as not submitted, with no score).
    scored = sa.case((col(Assessment.status).in_(_SCORED), 1), else_=0)
    ranked = (
        sa.select(
            col(Assessment.id).label("assessment_id"),
            col(Assessment.organization_id).label("organization_id"),
            col(Assessment.status).label("status"),
            col(AssessmentCycle.name).label("cycle"),
            col(AssessmentCycle.rubric_version_id).label("version_id"),
            col(RubricVersion.rubric_id).label("rubric_id"),
            scored.label("scored"),
            sa.func.row_number()
            .over(partition_by=col(Assessment.organization_id), order_by=(scored.desc(), *order))
            .label("recency"),
            sa.func.row_number()
            .over(
                partition_by=(
                    col(Assessment.organization_id),
                    col(RubricVersion.rubric_id),
                    scored,
                ),
                order_by=order,
            )
            .label("rubric_recency"),
        )
        .join(AssessmentCycle, col(AssessmentCycle.id) == col(Assessment.cycle_id))
        .join(RubricVersion, col(RubricVersion.id) == col(AssessmentCycle.rubric_version_id))
        .where(
            scope,
            col(Assessment.organization_id).in_(sorted(viewer.granted_ngos)),
        )
        .cte("ranked")
    )
    latest = ranked.alias("latest")
    previous = ranked.alias("previous")
    overall = _overall_by_source()
    now = overall.alias("now")
    before = overall.alias("before")
    both_verified = sa.and_(now.c.verified_score.is_not(None), before.c.verified_score.is_not(None))
    query = (
        sa.select(
            col(Organization.id),
            col(Organization.name),
            latest.c.assessment_id,
            latest.c.cycle,
            latest.c.status,
            latest.c.scored,
            latest.c.version_id,
            now.c.self_score,
            now.c.self_reason,
            now.c.verified_score,
            now.c.verified_reason,
            now.c.n_verified,
            sa.case(
                (both_verified, now.c.verified_score - before.c.verified_score),
                else_=now.c.self_score - before.c.self_score,
            ).label("change"),
            both_verified.label("change_verified"),
            sa.case((before.c.assessment_id.is_not(None), previous.c.cycle)).label("previous"),
        )
        .select_from(Organization)
        .outerjoin(
            latest,
            sa.and_(latest.c.organization_id == col(Organization.id), latest.c.recency == 1),
        )
        .outerjoin(
            now,
            sa.and_(
                now.c.assessment_id == latest.c.assessment_id,
                now.c.version_id == latest.c.version_id,
            ),
        )
        .outerjoin(
            previous,
            sa.and_(
                latest.c.scored == 1,
                previous.c.scored == 1,
                previous.c.organization_id == latest.c.organization_id,
                previous.c.rubric_id == latest.c.rubric_id,
                previous.c.rubric_recency == 2,
            ),
        )
        .outerjoin(  # like with like: the previous cycle scored under the latest's version
            before,
            sa.and_(
                before.c.assessment_id == previous.c.assessment_id,
                before.c.version_id == latest.c.version_id,
            ),
        )
        .where(col(Organization.id).in_(sorted(viewer.granted_ngos)))
        .order_by(col(Organization.name), col(Organization.id))
    )
    rows = session.execute(query).all()
    rubrics: dict[int, Rubric] = {}

    def band(version_id: int | None, score: float | None) -> str | None:
        if version_id is None or score is None:
            return None
        if version_id not in rubrics:
            rubrics[version_id] = rubric_of(session.get_one(RubricVersion, version_id))
        return rubrics[version_id].band_label(score, language)

    return [
        SharingNgo(
            organization_id=row.id,
            organization=row.name,
            assessment_id=row.assessment_id,
            cycle=row.cycle,
            status=row.status,
            scored=bool(row.scored),
            score=row.verified_score if row.n_verified else row.self_score,
            reason=row.verified_reason if row.n_verified else row.self_reason,
            verified=bool(row.n_verified),
            band=band(row.version_id, row.verified_score if row.n_verified else row.self_score),
            change=row.change,
            change_verified=bool(row.change_verified) and row.change is not None,
            previous_cycle=row.previous,
        )
        for row in rows
    ]


# --- the comparative dashboard (many NGOs) -----------------------------------------------------
# One scoped select of the stored scores, pivoted in numpy (never a loop over ORM objects).

SCORED_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED)
STATUS_FILTERS: dict[str, tuple[Status, ...]] = {
    "": SCORED_STATUSES,
    "submitted": (Status.SUBMITTED, Status.IN_REVIEW),  # submitted, not (yet) verified
    "verified": (Status.VERIFIED,),
}


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard's GET form asks for (already parsed; unknown values dropped)."""

    cycle_id: int | None = None
    version_id: int | None = None
    country: str = ""
    org_type: str = ""
    focus_area: str = ""
    status: str = ""
    source: str = Source.SELF


@dataclass(frozen=True)
class DashboardOptions:
    """The choices of the filters: only cycles, versions and countries the viewer sees."""

    cycles: list[tuple[int, str, int]]  # id, name, pinned rubric version id (newest first)
    scored_cycles: frozenset[int]  # those with a submitted or verified assessment the viewer sees
    versions: list[tuple[int, str, int]]  # id, rubric code, number
    countries: list[str]
    org_types: list[str]


@dataclass(frozen=True)
class DashboardData:
    """One row per assessment (sorted by id), one column per domain (the rubric's order)."""

    assessment_ids: npt.NDArray[np.int64]
    names: list[str]
    countries: list[str]
    domain_codes: list[str]
    domain_scores: npt.NDArray[np.float64]  # (n, d), NaN: no score
    overall: npt.NDArray[np.float64]  # (n,), NaN: no score

    @property
    def size(self) -> int:
        return int(self.assessment_ids.shape[0])


def dashboard_options(session: Session, *, viewer: Principal) -> DashboardOptions:
    """The cycles, rubric versions and countries of the assessments the viewer sees."""
    scope = visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id)
    cycles = session.execute(
        sa.select(
            col(AssessmentCycle.id),
            col(AssessmentCycle.name),
            col(AssessmentCycle.rubric_version_id),
        )
        .where(col(AssessmentCycle.id).in_(sa.select(col(Assessment.cycle_id)).where(scope)))
        .order_by(col(AssessmentCycle.opens_on).desc(), col(AssessmentCycle.id).desc())
    ).all()
    versions = session.execute(
        sa.select(col(RubricVersion.id), col(RubricRecord.code), col(RubricVersion.number))
        .join(RubricRecord, col(RubricRecord.id) == col(RubricVersion.rubric_id))
        .where(
            col(RubricVersion.id).in_(
                sa.select(col(Score.rubric_version_id))
                .join(Assessment, col(Assessment.id) == col(Score.assessment_id))
                .where(scope)
            )
        )
        .order_by(col(RubricRecord.code), col(RubricVersion.number))
    ).all()
    scored = session.execute(
        sa.select(col(Assessment.cycle_id))
        .where(scope, col(Assessment.status).in_(SCORED_STATUSES))
        .distinct()
    ).scalars()
    places = session.execute(
        sa.select(col(Organization.country), col(Organization.org_type))
        .where(col(Organization.id).in_(sa.select(col(Assessment.organization_id)).where(scope)))
        .distinct()
    ).all()
    return DashboardOptions(
        cycles=[(int(i), str(n), int(v)) for i, n, v in cycles],
        scored_cycles=frozenset(int(i) for i in scored),
        versions=[(int(i), str(c), int(n)) for i, c, n in versions],
        countries=sorted({c for c, _t in places if c}),
        org_types=sorted({t for _c, t in places if t}),
    )


def _dashboard_where(filters: DashboardFilters, viewer: Principal) -> list[Any]:
    """The where-clauses of every dashboard select: the viewer's scope first, then the filters
    (an id outside the scope matches nothing)."""
    clauses: list[Any] = [
        visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        col(Assessment.status).in_(STATUS_FILTERS.get(filters.status, SCORED_STATUSES)),
    ]
    if filters.cycle_id is not None:
        clauses.append(col(Assessment.cycle_id) == filters.cycle_id)
        # "+ 0" keeps SQLite from reading every score of the version through its index (all
        # cycles'): it starts from the cycle's assessments, then their scores (bench: the
        # 5,000-NGO page from about 415 to 340 ms; PostgreSQL is not affected by the "+ 0").
        clauses.append(col(Score.rubric_version_id) + 0 == filters.version_id)
    else:
        clauses.append(col(Score.rubric_version_id) == filters.version_id)
    if filters.country:
        clauses.append(col(Organization.country) == filters.country)
    if filters.org_type:
        clauses.append(col(Organization.org_type) == filters.org_type)
    if filters.focus_area:
        # A JSON list of enum values (no quotes inside): its text holds "value" exactly when the
        # list does, on SQLite and PostgreSQL alike.
        text = sa.cast(col(Organization.focus_areas), sa.Text)
        clauses.append(text.like(f'%"{filters.focus_area}"%'))
    return clauses


def dashboard_scores(
    session: Session,
    filters: DashboardFilters,
    domain_codes: Sequence[str],
    *,
    viewer: Principal,
) -> DashboardData:
    """The overall and domain scores of the assessments matching ``filters`` that ``viewer``
    sees, under ``filters.version_id`` and ``filters.source``: pivoted by the database (one row
    per assessment, a GROUP BY with one column per domain), read into one numpy array."""

    def pick(level: str, code: str | None = None) -> Any:
        match = col(Score.level) == level
        if code is not None:
            match = sa.and_(match, col(Score.code) == code)
        return sa.func.max(sa.case((match, col(Score.score))))

    rows = session.execute(
        sa.select(
            col(Assessment.id),
            col(Organization.name),
            col(Organization.country),
            pick("overall"),
            *(pick("domain", code) for code in domain_codes),
        )
        .select_from(Score)
        .join(Assessment, col(Assessment.id) == col(Score.assessment_id))
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .where(
            *_dashboard_where(filters, viewer),
            col(Score.source) == filters.source,
            col(Score.level).in_(("overall", "domain")),
        )
        .group_by(col(Assessment.id), col(Organization.name), col(Organization.country))
        .order_by(col(Assessment.id))
    ).all()
    n_domains = len(domain_codes)
    if not rows:
        return DashboardData(
            np.zeros(0, dtype=np.int64), [], [], list(domain_codes),
            np.zeros((0, n_domains)), np.zeros(0),
        )  # fmt: skip
    ids, names, countries, *_scores = zip(*rows, strict=True)
    # None (no score) becomes NaN in a float array.
    values = np.array([row[3:] for row in rows], dtype=np.float64).reshape(len(rows), -1)
    return DashboardData(
        assessment_ids=np.asarray(ids, dtype=np.int64),
        names=[str(n) for n in names],
        countries=[str(c or "") for c in countries],
        domain_codes=list(domain_codes),
        domain_scores=values[:, 1:],
        overall=values[:, 0],
    )


@dataclass(frozen=True)
class SelfVerified:
    """Self-assessed and verified overall scores of the assessments that have both."""

    assessment_ids: npt.NDArray[np.int64]
    names: list[str]
    self_scores: npt.NDArray[np.float64]
    verified_scores: npt.NDArray[np.float64]


def self_and_verified(
    session: Session, filters: DashboardFilters, *, viewer: Principal
) -> SelfVerified:
    """Both overall scores of each matching assessment that has a verified one (a GROUP BY:
    one row per assessment)."""

    def of(source: Source) -> Any:
        return sa.func.max(sa.case((col(Score.source) == source, col(Score.score))))

    rows = session.execute(
        sa.select(col(Assessment.id), col(Organization.name), of(Source.SELF), of(Source.VERIFIED))
        .select_from(Score)
        .join(Assessment, col(Assessment.id) == col(Score.assessment_id))
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .where(*_dashboard_where(filters, viewer), col(Score.level) == "overall")
        .group_by(col(Assessment.id), col(Organization.name))
        .having(of(Source.SELF).is_not(None), of(Source.VERIFIED).is_not(None))
        .order_by(col(Assessment.id))
    ).all()
    if not rows:
        return SelfVerified(np.zeros(0, dtype=np.int64), [], np.zeros(0), np.zeros(0))
    ids, names, own, verified = zip(*rows, strict=True)
    return SelfVerified(
        np.asarray(ids, dtype=np.int64),
        [str(n) for n in names],
        np.asarray(own, dtype=np.float64),
        np.asarray(verified, dtype=np.float64),
    )
