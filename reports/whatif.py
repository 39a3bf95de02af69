"""Weight what-if: a rubric version's domain and indicator weights and band thresholds changed in
a sandbox, and what that does to the scores and ranking of the last cycle that used the rubric.

Both scorings come from one answer matrix (the stored answers, carried over to the version) and
two vectorised engine calls; nothing is stored. :func:`apply_to_draft` writes the weights into a
draft version; a published version is never changed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, col

from accounts.models import Organization
from accounts.permissions import Principal, visible_assessments
from evaluator.results import FloatArray, InsufficientDataError, RankChangeResult, ScoreResult
from evaluator.scoring import score_responses
from evaluator.stats import rank_change, rank_stability
from reports.quality import answer_matrix, data_stamp
from rubrics.loader import compile_spec
from rubrics.models import RubricRecord, RubricVersion, VersionStatus
from rubrics.schema import Rubric, parse_rubric
from rubrics.services import content_of, rubric_of, update_draft
from surveys.models import Assessment, AssessmentCycle
from surveys.scoring import SCORED_STATUSES

MOVERS = 10
DRAWS = 500
SEED = 20070601


class WhatIfError(ValueError):
    """Weights or thresholds that cannot be used (the message says which)."""


@dataclass(frozen=True)
class Weights:
    domains: dict[str, float]
    indicators: dict[str, float]
    thresholds: list[float]  # the lower bounds of bands 2..B, ascending, in (0, 100)


def weights_of(rubric: Rubric) -> Weights:
    bands = sorted(rubric.bands, key=lambda band: band.min)
    return Weights(
        domains={d.id: d.weight for d in rubric.domains},
        indicators={i.id: i.weight for d in rubric.domains for i in d.indicators},
        thresholds=[b.min for b in bands[1:]],
    )


def parse_weights(args: Mapping[str, str], rubric: Rubric) -> tuple[Weights, list[str]]:
    """Weights from a form (``d_<id>``, ``i_<id>``, ``b_<k>``); what is absent keeps the rubric's
    value. Returns the weights and the problems found (then the rubric's own weights)."""
    base = weights_of(rubric)
    problems: list[str] = []

    def number(key: str, default: float) -> float:
        text = (args.get(key) or "").strip().replace(",", ".")
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            problems.append(_("%(field)s: not a number", field=key[2:]))
            return default
        if not math.isfinite(value) or value < 0:
            problems.append(_("%(field)s: must be 0 or more", field=key[2:]))
            return default
        return value

    domains = {code: number(f"d_{code}", w) for code, w in base.domains.items()}
    indicators = {code: number(f"i_{code}", w) for code, w in base.indicators.items()}
    thresholds = [number(f"b_{k}", t) for k, t in enumerate(base.thresholds, start=1)]
    if sum(domains.values()) <= 0:
        problems.append(_("At least one domain needs a weight above 0."))
    if any(not 0 < t < 100 for t in thresholds) or any(
        b <= a for a, b in itertools.pairwise(thresholds)
    ):
        problems.append(_("Band thresholds must rise, between 0 and 100."))
    if problems:
        return base, problems
    return Weights(domains, indicators, thresholds), []


def changed_spec(rubric: Rubric, weights: Weights) -> Any:
    spec = compile_spec(rubric)
    bands_min = np.array([0.0, *weights.thresholds])
    bands_max = np.array([*weights.thresholds, 100.0])
    return dataclasses.replace(
        spec,
        domain_weights=np.array([weights.domains[c] for c in spec.domain_ids]),
        indicator_weights=np.array([weights.indicators[c] for c in spec.indicator_ids]),
        band_min=bands_min,
        band_max=bands_max,
    )


@dataclass(frozen=True)
class Row:
    assessment_id: int
    name: str
    before: float | None
    after: float | None
    rank_before: float | None
    rank_after: float | None
    shift: float | None
    band_before: str
    band_after: str
    rank_low: float | None = None
    rank_high: float | None = None


@dataclass
class WhatIf:
    version: RubricVersion
    rubric: Rubric
    weights: Weights
    cycle: AssessmentCycle | None = None
    rows: list[Row] = field(default_factory=list)
    change: RankChangeResult | None = None
    band_changes: int = 0
    n_scored: int = 0
    movers: list[Row] = field(default_factory=list)
    stability_note: str = ""
    draws: int = DRAWS


def last_cycle(
    session: Session, version: RubricVersion, viewer: Principal
) -> AssessmentCycle | None:
    """The newest cycle of this rubric (any version) with a submitted assessment the viewer sees."""
    versions = sa.select(col(RubricVersion.id)).where(
        col(RubricVersion.rubric_id) == version.rubric_id
    )
    query = (
        sa.select(AssessmentCycle)
        .join(Assessment, col(Assessment.cycle_id) == col(AssessmentCycle.id))
        .where(
            col(AssessmentCycle.rubric_version_id).in_(versions),
            col(Assessment.status).in_([s.value for s in SCORED_STATUSES]),
            visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        )
        .order_by(col(AssessmentCycle.opens_on).desc().nulls_last(), col(AssessmentCycle.id).desc())
        .limit(1)
    )
    return session.execute(query).scalars().first()


def _nan_none(values: FloatArray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in values.tolist()]


def what_if(
    session: Session, version: RubricVersion, weights: Weights, *, viewer: Principal
) -> WhatIf:
    rubric = rubric_of(version)
    result = WhatIf(version=version, rubric=rubric, weights=weights)
    cycle = last_cycle(session, version, viewer)
    result.cycle = cycle
    if cycle is None:
        return result
    rows = session.execute(
        sa.select(col(Assessment.id), col(Organization.name))
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .where(
            col(Assessment.cycle_id) == cycle.id,
            col(Assessment.status).in_([s.value for s in SCORED_STATUSES]),
            visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id),
        )
        .order_by(col(Assessment.id))
    ).all()
    ids = [r[0] for r in rows]
    matrix = _matrix(session, version, rubric, ids)
    before = score_responses(compile_spec(rubric), matrix)
    after_spec = changed_spec(rubric, weights)
    after = score_responses(after_spec, matrix)
    change = rank_change(before.overall, after.overall)
    result.change = change
    result.n_scored = change.n
    labels = [rubric.text(b.label) for b in sorted(rubric.bands, key=lambda b: b.min)]

    def band(scoring: ScoreResult, k: int) -> str:
        index = int(scoring.band[k])
        return labels[index] if index >= 0 else ""

    both = (before.band >= 0) & (after.band >= 0)
    result.band_changes = int((both & (before.band != after.band)).sum())
    low: list[float | None] = [None] * len(ids)
    high: list[float | None] = [None] * len(ids)
    scored_rows = np.flatnonzero(~np.isnan(after.overall))
    if scored_rows.size >= 2 and after_spec.domain_weights.sum() > 0:
        try:
            stability = rank_stability(
                after.domain_scores[scored_rows], after_spec.domain_weights, n_draws=DRAWS, rng=SEED
            )
        except InsufficientDataError as exc:
            result.stability_note = str(exc)
        else:
            for k, row in enumerate(scored_rows.tolist()):
                low[row] = float(stability.rank_low[k])
                high[row] = float(stability.rank_high[k])
    else:
        result.stability_note = _("Rank intervals need two or more scored NGOs.")
    b_scores, a_scores = _nan_none(before.overall), _nan_none(after.overall)
    rb, ra, shift = (
        _nan_none(change.rank_before),
        _nan_none(change.rank_after),
        _nan_none(change.shift),
    )
    result.rows = [
        Row(
            assessment_id=ids[k],
            name=rows[k][1],
            before=b_scores[k],
            after=a_scores[k],
            rank_before=rb[k],
            rank_after=ra[k],
            shift=shift[k],
            band_before=band(before, k),
            band_after=band(after, k),
            rank_low=low[k],
            rank_high=high[k],
        )
        for k in range(len(ids))
    ]
    moved = [r for r in result.rows if r.shift]
    result.movers = sorted(moved, key=lambda r: (-abs(r.shift or 0), r.name))[:MOVERS]
    return result


# Answer matrices by (version, assessments, stamp of their answers): trying one weight after
# another re-scores the same answers, which are then read and encoded once.
_MATRICES: OrderedDict[tuple[Any, ...], FloatArray] = OrderedDict()
_MATRICES_SIZE = 8
_MATRICES_LOCK = Lock()


def _matrix(session: Session, version: RubricVersion, rubric: Rubric, ids: list[int]) -> FloatArray:
    key = (version.id, version.content_hash, tuple(ids), data_stamp(session, ids))
    with _MATRICES_LOCK:
        found = _MATRICES.get(key)
        if found is not None:
            _MATRICES.move_to_end(key)
            return found
    matrix = answer_matrix(session, rubric, ids)
    matrix.flags.writeable = False
    with _MATRICES_LOCK:
        _MATRICES[key] = matrix
        while len(_MATRICES) > _MATRICES_SIZE:
            _MATRICES.popitem(last=False)
    return matrix


def apply_to_draft(
    session: Session, version: RubricVersion, weights: Weights, *, expected_lock: int
) -> RubricVersion:
    """Write the weights and band thresholds into a draft (a published version raises
    :class:`~rubrics.services.VersionError`; a stale lock, ``StaleVersionError``)."""
    content: dict[str, Any] = content_of(rubric_of(version))
    for domain in content["domains"]:
        domain["weight"] = weights.domains[domain["id"]]
        for indicator in domain["indicators"]:
            indicator["weight"] = weights.indicators[indicator["id"]]
    bands = sorted(content["bands"], key=lambda b: b["min"])
    edges = [0.0, *weights.thresholds, 100.0]
    for k, band in enumerate(bands):
        band["min"], band["max"] = edges[k], edges[k + 1]
    content["bands"] = bands
    return update_draft(session, version, parse_rubric(content), expected_lock=expected_lock)


def is_draft(version: RubricVersion) -> bool:
    return version.status == VersionStatus.DRAFT


def record_of(session: Session, version: RubricVersion) -> RubricRecord | None:
    return session.get(RubricRecord, version.rubric_id)
