"""Read-only selects for reports: stored scores as plain rows, always through the permissions
scope (:func:`accounts.permissions.visible_assessments`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from accounts.models import Organization
from accounts.permissions import Principal, may, visible_assessments
from rubrics.models import RubricRecord, RubricVersion
from rubrics.schema import Question, Rubric
from rubrics.services import rubric_of
from surveys.models import (
    Answer,
    Assessment,
    AssessmentCycle,
    Score,
    ScoreSummary,
    Source,
    Status,
    StatusChange,
)
from surveys.questionnaire.fields import display_answer


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
# One scoped select of the assessments with their score summaries, read into numpy arrays (never
# a loop over ORM objects).

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
        .where(  # EXISTS: the first visible score of a version will do, not all of them. The
            # summaries (one per assessment and source), not the score rows (eleven or more):
            # PostgreSQL hashes the whole table for this semi-join (47 ms at 5,000 NGOs).
            sa.select(col(ScoreSummary.assessment_id))
            .join(Assessment, col(Assessment.id) == col(ScoreSummary.assessment_id))
            .where(col(ScoreSummary.rubric_version_id) == col(RubricVersion.id), scope)
            .exists()
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
    """The where-clauses of the dashboard's assessments: the viewer's scope first, then the
    filters (an id outside the scope matches nothing). The rubric version is the summaries'
    join condition (see `dashboard_scores_and_pairs`)."""
    clauses: list[Any] = [
        visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        col(Assessment.status).in_(STATUS_FILTERS.get(filters.status, SCORED_STATUSES)),
    ]
    if filters.cycle_id is not None:
        clauses.append(col(Assessment.cycle_id) == filters.cycle_id)
    place = aliased(Organization, name="place")
    about: list[Any] = []
    if filters.country:
        about.append(col(place.country) == filters.country)
    if filters.org_type:
        about.append(col(place.org_type) == filters.org_type)
    if filters.focus_area:
        # A JSON list of enum values (no quotes inside): its text holds "value" exactly when the
        # list does, on SQLite and PostgreSQL alike.
        text = sa.cast(col(place.focus_areas), sa.Text)
        about.append(text.like(f'%"{filters.focus_area}"%'))
    if about:
        # The organisations as a subquery, not a filter on the joined table: PostgreSQL then
        # starts from the matching organisations and finds each one's assessment by its unique
        # (cycle, organisation) index. Filtering the join, a planner without statistics (a
        # table bulk-loaded less than a minute before autovacuum analyses it) scanned every
        # organisation once per assessment: the country filter at 500 NGOs took 650-890 ms
        # (bench/bench_dashboard.py --postgres), 0.6 ms this way (EXPLAIN ANALYZE).
        clauses.append(col(Assessment.organization_id).in_(sa.select(col(place.id)).where(*about)))
    return clauses


@dataclass(frozen=True)
class SelfVerified:
    """Self-assessed and verified overall scores of the assessments that have both."""

    assessment_ids: npt.NDArray[np.int64]
    names: list[str]
    self_scores: npt.NDArray[np.float64]
    verified_scores: npt.NDArray[np.float64]


def dashboard_scores_and_pairs(
    session: Session,
    filters: DashboardFilters,
    domain_codes: Sequence[str],
    *,
    viewer: Principal,
) -> tuple[DashboardData, SelfVerified]:
    """What the dashboard draws, in one select of the assessments matching ``filters`` that
    ``viewer`` sees, each with its stored score summaries (:class:`surveys.models.ScoreSummary`,
    one row per assessment, version and source, kept equal to its ``score`` rows by triggers)
    under ``filters.version_id``:

    - the overall and domain scores of ``filters.source``, one row per assessment that has
      any, in a numpy array (columns in the order of ``domain_codes``; NaN: no score);
    - the self-assessed and verified overall scores of the assessments that have both.

    Both sorted by assessment id. One row per assessment is read, not one per score: at 5,000
    NGOs the pivot of the ``score`` rows was most of the page (bench/bench_dashboard.py).
    """
    own = aliased(ScoreSummary, name="own")
    checked = aliased(ScoreSummary, name="checked")
    chosen = checked if filters.source == Source.VERIFIED else own

    def summary(alias: Any, source: Source) -> Any:
        return sa.and_(
            col(alias.assessment_id) == col(Assessment.id),
            col(alias.rubric_version_id) == filters.version_id,
            col(alias.source) == source,
        )

    rows = session.execute(
        sa.select(
            col(Assessment.id),
            col(Organization.name),
            col(Organization.country),
            col(chosen.domain_codes),  # NULL: no summary of the source asked for
            col(chosen.domain_scores),
            col(own.overall),
            col(checked.overall),
        )
        .select_from(Assessment)
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .outerjoin(own, summary(own, Source.SELF))
        .outerjoin(checked, summary(checked, Source.VERIFIED))
        .where(
            *_dashboard_where(filters, viewer),
            sa.or_(col(own.assessment_id).is_not(None), col(checked.assessment_id).is_not(None)),
        )
        .order_by(col(Assessment.id))
    ).all()
    columns = zip(*rows, strict=True) if rows else ((),) * 7
    ids, names, countries, codes, scores, self_overall, verified_overall = (
        np.asarray(column, dtype=object) for column in columns
    )
    overall = verified_overall if filters.source == Source.VERIFIED else self_overall
    none = np.array(None, dtype=object)
    scored = np.not_equal(codes, none)
    data = DashboardData(
        assessment_ids=ids[scored].astype(np.int64),
        names=[str(n) for n in names[scored].tolist()],
        countries=[str(c or "") for c in countries[scored].tolist()],
        domain_codes=list(domain_codes),
        domain_scores=_domain_matrix(codes[scored], scores[scored], domain_codes),
        overall=overall[scored].astype(np.float64),  # None becomes NaN
    )
    both = np.not_equal(self_overall, none) & np.not_equal(verified_overall, none)
    pairs = SelfVerified(
        ids[both].astype(np.int64),
        [str(n) for n in names[both].tolist()],
        self_overall[both].astype(np.float64),
        verified_overall[both].astype(np.float64),
    )
    return data, pairs


def _domain_matrix(
    codes: npt.NDArray[Any], scores: npt.NDArray[Any], domain_codes: Sequence[str]
) -> npt.NDArray[np.float64]:
    """The summaries' domain scores as an (n, len(domain_codes)) array, NaN where there is no
    score. The summaries with the same list of codes (usually all of them) are parsed at once."""
    values = np.full((len(codes), len(domain_codes)), np.nan)
    position = {code: k for k, code in enumerate(domain_codes)}
    groups: dict[str, list[int]] = {}
    for row, text in enumerate(codes.tolist()):
        groups.setdefault(text, []).append(row)
    for text, members in groups.items():
        found = json.loads(text)
        kept = [k for k, code in enumerate(found) if code in position]
        block = np.array(
            json.loads("[" + ",".join(scores[members].tolist()) + "]"), dtype=np.float64
        ).reshape(len(members), len(found))  # null becomes NaN
        values[np.ix_(members, [position[found[k]] for k in kept])] = block[:, kept]
    return values


def dashboard_scores(
    session: Session,
    filters: DashboardFilters,
    domain_codes: Sequence[str],
    *,
    viewer: Principal,
) -> DashboardData:
    """The overall and domain scores of the assessments matching ``filters`` that ``viewer``
    sees, under ``filters.version_id`` and ``filters.source`` (see
    :func:`dashboard_scores_and_pairs`)."""
    return dashboard_scores_and_pairs(session, filters, domain_codes, viewer=viewer)[0]


def self_and_verified(
    session: Session, filters: DashboardFilters, *, viewer: Principal
) -> SelfVerified:
    """Both overall scores of each matching assessment that has a verified one (see
    :func:`dashboard_scores_and_pairs`)."""
    return dashboard_scores_and_pairs(session, filters, (), viewer=viewer)[1]


# --- the scorecard page (one NGO, one cycle) ---------------------------------------------------
# Everything the scorecard shows, assembled once by `scorecard_page` for the HTML page and for a
# printable export alike. Every read of an assessment's own rows goes through the viewer's scope;
# the peer benchmark is the one aggregate read across the cycle (see `peer_benchmark`).

# Statuses whose scores count as submitted (a returned assessment is being revised: left out).
PEER_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED)
TREND_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED, Status.RETURNED)


@dataclass(frozen=True)
class DomainPair:
    """One domain's self-assessed and (when verified) verified scores."""

    code: str
    label: str
    own: ScoreLine
    verified: ScoreLine | None

    @property
    def lead(self) -> ScoreLine:
        return self.verified if self.verified is not None else self.own


@dataclass(frozen=True)
class AnswerNote:
    """A scored question of a highlighted indicator: the answer given, as people read it (a
    maturity answer reads as its level and descriptor), and the next level's descriptor."""

    question: str
    answer: str | None
    next_level: str | None


@dataclass(frozen=True)
class Highlight:
    code: str
    label: str
    domain: str
    score: float
    answers: list[AnswerNote]


@dataclass(frozen=True)
class PeerDomain:
    """A domain (or the overall score, ``code`` the rubric's) against the cycle's peers."""

    code: str
    label: str
    score: float | None  # the NGO's own
    n: int  # assessments of the cycle with a score here
    percentile: float | None  # share of the peers at or below the NGO's score (0-100)
    q1: float | None
    median: float | None
    q3: float | None

    @property
    def shown(self) -> bool:
        return self.median is not None


@dataclass(frozen=True)
class PeerBenchmark:
    minimum: int  # the smallest peer group shown (PEER_MIN_GROUP)
    group: int  # submitted assessments in the cycle, the NGO's own included
    domains: list[PeerDomain]

    @property
    def shown(self) -> bool:
        return self.group >= self.minimum and any(d.shown for d in self.domains)


@dataclass(frozen=True)
class TrendPoint:
    cycle_id: int
    cycle: str
    version: int  # the number of the rubric version the scores are under
    pinned_version: int  # the number of the version the cycle was run with
    overall: float | None
    domains: dict[str, float | None]
    verified: bool = False  # the verified scores (the cycle's assessment is verified)
    reasons: dict[str, str | None] = field(default_factory=dict)  # why a domain has no score

    @property
    def rescored(self) -> bool:
        return self.version != self.pinned_version


@dataclass(frozen=True)
class Trend:
    version: int  # the rubric version the trend compares under
    domains: list[tuple[str, str]]  # (code, label) of that version
    points: list[TrendPoint]  # oldest cycle first

    @property
    def mixed(self) -> bool:
        """Some cycle's scores are under another version (none were rescored under ours)."""
        return any(p.version != self.version for p in self.points)


@dataclass(frozen=True)
class ScorecardPage:
    """What the scorecard of one assessment shows (HTML page and printable export alike)."""

    assessment: Assessment
    cycle: AssessmentCycle
    rubric: Rubric
    version_number: int
    organization: str
    language: str
    scored: bool
    lead: Source  # VERIFIED once the review is complete
    own: Scorecard
    verified: Scorecard | None
    verified_on: datetime | None
    domains: list[DomainPair]
    strengths: list[Highlight]
    weaknesses: list[Highlight]
    peers: PeerBenchmark
    trend: Trend

    @property
    def card(self) -> Scorecard:
        """The leading scores: the verified ones once verified, the self-assessed before."""
        return self.verified if self.verified is not None else self.own


def scorecard_page(
    session: Session,
    assessment: Assessment,
    *,
    viewer: Principal,
    language: str,
    peer_min_group: int = 5,
    highlights: int = 3,
) -> ScorecardPage:
    """Assemble the scorecard of ``assessment`` as ``viewer`` sees it. Raises PermissionError
    when the viewer may not see the assessment (pages load it through the permissions core
    first, and answer 404); every select below is scoped to the viewer again all the same."""
    if not may(viewer, "view_assessment", assessment):
        raise PermissionError("viewer: may not see this assessment")
    cycle = session.get(AssessmentCycle, assessment.cycle_id)
    if cycle is None:  # pragma: no cover - foreign key
        raise LookupError("assessment without cycle")
    version = session.get(RubricVersion, cycle.rubric_version_id)
    if version is None:  # pragma: no cover - foreign key
        raise LookupError("cycle without rubric version")
    rubric = rubric_of(version)
    language = language if language in rubric.languages else rubric.default_language
    assessment_id: int = assessment.id  # type: ignore[assignment]
    version_id: int = version.id  # type: ignore[assignment]
    own = scorecard(
        session, assessment_id, version_id, rubric, language, Source.SELF, viewer=viewer
    )
    verified: Scorecard | None = None
    verified_on: datetime | None = None
    if assessment.status == Status.VERIFIED:
        found = scorecard(
            session, assessment_id, version_id, rubric, language, Source.VERIFIED, viewer=viewer
        )
        if found.overall is not None:
            verified = found
            verified_on = _verified_on(session, assessment_id, viewer)
    lead = Source.VERIFIED if verified is not None else Source.SELF
    card = verified if verified is not None else own
    own_domains = {d.code: d for d in own.domains}
    verified_domains = {d.code: d for d in verified.domains} if verified else {}
    pairs = [
        DomainPair(code, line.label, line, verified_domains.get(code))
        for code, line in own_domains.items()
    ]
    strengths, weaknesses = _highlights(
        session, assessment_id, rubric, card, lead, language, viewer, highlights
    )
    organization = session.get(Organization, assessment.organization_id)
    scored = assessment.status not in {Status.NOT_STARTED, Status.IN_PROGRESS}
    return ScorecardPage(
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        version_number=version.number,
        organization=organization.name if organization else "",
        language=language,
        scored=scored,
        lead=lead,
        own=own,
        verified=verified,
        verified_on=verified_on,
        domains=pairs,
        strengths=strengths,
        weaknesses=weaknesses,
        peers=peer_benchmark(
            session, assessment, rubric, version_id, card, language, minimum=peer_min_group
        )
        if scored and card.overall is not None
        else PeerBenchmark(peer_min_group, 0, []),
        trend=trend(session, assessment, rubric, language, viewer=viewer),
    )


def _verified_on(session: Session, assessment_id: int, viewer: Principal) -> datetime | None:
    """When the review was completed (the latest move to verified), if the viewer sees it."""
    return session.execute(
        sa.select(sa.func.max(col(StatusChange.changed_at)))
        .join(Assessment, col(Assessment.id) == col(StatusChange.assessment_id))
        .where(
            col(StatusChange.assessment_id) == assessment_id,
            col(StatusChange.to_status) == Status.VERIFIED,
            visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        )
    ).scalar_one_or_none()


def _highlights(
    session: Session,
    assessment_id: int,
    rubric: Rubric,
    card: Scorecard,
    source: Source,
    language: str,
    viewer: Principal,
    count: int,
) -> tuple[list[Highlight], list[Highlight]]:
    """The ``count`` highest and lowest scored indicators (none in both lists), each with the
    answers that gave its score, under the leading source."""
    domain_of = {i.code: d.label for d in card.domains for i in card.indicators.get(d.code, [])}
    lines = [i for d in card.domains for i in card.indicators.get(d.code, [])]
    scored = sorted((i for i in lines if i.score is not None), key=lambda i: (-i.score, i.code))  # type: ignore[operator]
    top = scored[:count]
    bottom = [i for i in reversed(scored[count:]) if i not in top][:count]
    values = dict(
        session.execute(
            sa.select(col(Answer.question_id), col(Answer.value))
            .join(Assessment, col(Assessment.id) == col(Answer.assessment_id))
            .where(
                col(Answer.assessment_id) == assessment_id,
                col(Answer.source) == source,
                visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
            )
        ).all()
    )
    indicators = {ind.id: ind for dom in rubric.domains for ind in dom.indicators}

    def notes(code: str, weak: bool) -> list[AnswerNote]:
        found: list[AnswerNote] = []
        for question in indicators[code].questions:
            if not question.scored:
                continue
            value = values.get(question.id)
            blank = value is None or value == "" or value == []
            answer = None if blank else display_answer(question, rubric, language, value)
            found.append(
                AnswerNote(
                    rubric.text(question.label, language),
                    answer,
                    _next_level(rubric, question, value, language) if weak else None,
                )
            )
        return found

    def highlight(line: ScoreLine, weak: bool) -> Highlight:
        return Highlight(
            line.code, line.label, domain_of[line.code], line.score or 0.0, notes(line.code, weak)
        )

    return [highlight(i, False) for i in top], [highlight(i, True) for i in bottom]


def _next_level(rubric: Rubric, question: Question, value: Any, language: str) -> str | None:
    """The descriptor of the level above a maturity answer (what improving would look like)."""
    if not question.levels:
        return None
    try:
        level = int(float(value))
    except (TypeError, ValueError):
        return None
    for item in question.levels:
        if item.level == level + 1:
            return rubric.text(item.descriptor, language)
    return None


def peer_benchmark(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    version_id: int,
    card: Scorecard,
    language: str,
    *,
    minimum: int,
) -> PeerBenchmark:
    """The NGO's percentile rank and the peers' quartiles, overall and per domain.

    The peers are ALL the submitted assessments of the cycle (its own included) under the
    cycle's rubric version, each with its leading score (verified once verified, self-assessed
    before), as the headline. This is the one read that is not scoped to the viewer: what
    leaves it is an aggregate (quartiles and a percentile rank), never a row, and only when at
    least ``minimum`` assessments make the group (per domain: have a score there), so no peer
    can be named or singled out. One select, then numpy on the fetched array.
    """
    lead_score = sa.or_(
        sa.and_(col(Score.source) == Source.VERIFIED, col(Assessment.status) == Status.VERIFIED),
        sa.and_(col(Score.source) == Source.SELF, col(Assessment.status) != Status.VERIFIED),
    )
    base = (
        sa.select(col(Assessment.id))
        .where(
            col(Assessment.cycle_id) == assessment.cycle_id,
            col(Assessment.status).in_(PEER_STATUSES),
        )
        .subquery()
    )
    group = int(session.execute(sa.select(sa.func.count()).select_from(base)).scalar_one())
    codes = [rubric.id] + [d.code for d in card.domains]
    labels = {rubric.id: rubric.text(rubric.title, language)} | {
        d.code: d.label for d in card.domains
    }
    own = {d.code: d.score for d in card.domains}
    own[rubric.id] = card.overall.score if card.overall else None
    if group < minimum:
        empty = [PeerDomain(c, labels[c], own[c], 0, None, None, None, None) for c in codes]
        return PeerBenchmark(minimum, group, empty)
    peers = (
        sa.select(col(Score.code).label("code"), col(Score.score).label("score"))
        .join(Assessment, col(Assessment.id) == col(Score.assessment_id))
        .where(
            col(Assessment.cycle_id) == assessment.cycle_id,
            col(Assessment.status).in_(PEER_STATUSES),
            col(Score.rubric_version_id) == version_id,
            col(Score.level).in_(("overall", "domain")),
            col(Score.score).is_not(None),
            col(Score.code).in_(codes),
            lead_score,
        )
        .subquery("peers")
    )
    # The order statistics the quartiles interpolate between, found by the database: per
    # code, the scores at positions floor(p (n - 1)) and the next, for p = 1/4, 1/2, 3/4
    # (numpy's linear rule), not every score of the cycle (55,000 rows at 5,000 NGOs).
    ranked = sa.select(
        peers.c.code,
        peers.c.score,
        (sa.func.row_number().over(partition_by=peers.c.code, order_by=peers.c.score) - 1).label(
            "k"
        ),
        sa.func.count().over(partition_by=peers.c.code).label("n"),
    ).subquery("ranked")
    lows = [(ranked.c.n - 1) * q // 4 for q in (1, 2, 3)]  # floor division, both databases
    wanted = sa.or_(*(ranked.c.k.in_((low, low + 1)) for low in lows))
    order_stats: dict[str, dict[int, float]] = {}
    counts: dict[str, int] = {}
    for code, score, k, n in session.execute(
        sa.select(ranked.c.code, ranked.c.score, ranked.c.k, ranked.c.n).where(wanted)
    ).all():
        order_stats.setdefault(code, {})[int(k)] = float(score)
        counts[code] = int(n)
    # The percentile rank, weak kind (evaluator.stats.percentile_rank): the share of the peers
    # at or below the NGO's score, counted by the database.
    mine_of = sa.case(
        *((peers.c.code == code, own[code]) for code in codes if own[code] is not None),
        else_=None,
    )
    at_or_below = (
        dict(
            session.execute(
                sa.select(
                    peers.c.code, sa.func.count(sa.case((peers.c.score <= mine_of, 1)))
                ).group_by(peers.c.code)
            ).all()
        )
        if any(own[code] is not None for code in codes)
        else {}
    )
    domains: list[PeerDomain] = []
    for code in codes:
        n, mine = counts.get(code, 0), own[code]
        if n < minimum:
            domains.append(PeerDomain(code, labels[code], mine, n, *(None,) * 4))
            continue
        stats = order_stats[code]

        def quantile(q: int, stats: dict[int, float] = stats, n: int = n) -> float:
            low, rest = divmod((n - 1) * q, 4)
            upper = stats.get(low + 1, stats[low])
            return stats[low] + rest / 4 * (upper - stats[low])

        q1, median, q3 = quantile(1), quantile(2), quantile(3)
        rank = None if mine is None else 100.0 * int(at_or_below.get(code, 0)) / n
        domains.append(PeerDomain(code, labels[code], mine, n, rank, q1, median, q3))
    return PeerBenchmark(minimum, group, domains)


def trend(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    language: str,
    *,
    viewer: Principal,
) -> Trend:
    """The NGO's overall and domain scores in every cycle of the same rubric that the viewer
    sees, like with like: under the newest version pinned by one of those cycles, to which
    earlier cycles were rescored on publication (surveys.scoring); a cycle without such scores
    keeps its own version's, and the trend says which. Each cycle with its leading scores: the
    verified ones where its assessment is verified and has verified scores under that version,
    else the self-assessed ones (rescoring covers those only, so a rescored cycle is compared
    by its self-assessment)."""
    pinned = aliased(RubricVersion)
    rows = session.execute(
        sa.select(
            col(AssessmentCycle.id),
            col(AssessmentCycle.name),
            col(AssessmentCycle.opens_on),
            col(pinned.number),
            col(RubricVersion.number),
            col(Score.rubric_version_id),
            col(Score.level),
            col(Score.code),
            col(Score.score),
            col(Score.source),
            col(Score.reason),
            col(Assessment.status),
        )
        .select_from(Assessment)
        .join(AssessmentCycle, col(AssessmentCycle.id) == col(Assessment.cycle_id))
        .join(pinned, col(pinned.id) == col(AssessmentCycle.rubric_version_id))
        .join(RubricRecord, col(RubricRecord.id) == col(pinned.rubric_id))
        .join(Score, col(Score.assessment_id) == col(Assessment.id))
        .join(RubricVersion, col(RubricVersion.id) == col(Score.rubric_version_id))
        .where(
            col(Assessment.organization_id) == assessment.organization_id,
            col(Assessment.status).in_(TREND_STATUSES),
            col(RubricRecord.code) == rubric.id,
            col(Score.level).in_(("overall", "domain")),
            visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        )
    ).all()
    if not rows:
        return Trend(0, [], [])
    reference = max(row[3] for row in rows)  # the newest pinned version
    reference_id = next(row[5] for row in rows if row[4] == reference)
    cycles: dict[int, tuple[str, Any, int]] = {row[0]: (row[1], row[2], row[3]) for row in rows}
    points: list[TrendPoint] = []
    for cycle_id, (name, _opens, pinned_number) in cycles.items():
        mine = [row for row in rows if row[0] == cycle_id]
        rescored = any(r[5] == reference_id for r in mine)
        # Not rescored under the reference version: its own pinned version's scores.
        under = reference_id if rescored else next(r[5] for r in mine if r[4] == pinned_number)
        chosen = [r for r in mine if r[5] == under]
        verified = any(
            r[9] == Source.VERIFIED and r[11] == Status.VERIFIED and r[6] == "overall"
            for r in chosen
        )
        lead = Source.VERIFIED if verified else Source.SELF
        version_number = chosen[0][4]
        chosen = [r for r in chosen if r[9] == lead]
        overall = next((r[8] for r in chosen if r[6] == "overall"), None)
        points.append(
            TrendPoint(
                cycle_id,
                name,
                version_number,
                pinned_number,
                overall,
                {r[7]: r[8] for r in chosen if r[6] == "domain"},
                verified,
                {r[7]: r[10] for r in chosen if r[6] == "domain"},
            )
        )
    order = {cid: (opens or datetime.min.date(), cid) for cid, (_, opens, _) in cycles.items()}
    points.sort(key=lambda p: order[p.cycle_id])
    reference_rubric = rubric_of(session.get(RubricVersion, reference_id))  # type: ignore[arg-type]
    domains = [(d.id, reference_rubric.text(d.label, language)) for d in reference_rubric.domains]
    return Trend(reference, domains, points)
