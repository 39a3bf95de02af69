"""The comparative dashboard's view helpers: reading the filters from the URL, the labels of
their choices, and the numbers behind the charts (ranking, quartiles), computed in numpy on the
arrays :mod:`reports.queries` fetched."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from accounts.inputs import parse_id
from accounts.models import OrgType
from accounts.organizations import labels as organization_labels
from evaluator.results import EngineError
from evaluator.stats import rank_stability
from reports import numbers
from reports.figures import BoxStats
from reports.queries import STATUS_FILTERS, DashboardData, DashboardFilters, DashboardOptions
from surveys.models import Source

PAGE_SIZE = 50
RANK_DRAWS = 500  # 25 draws beyond each end of a 90% interval
RANK_SEED = 20250101  # the same filters draw the same intervals: a shared link shows the same page

COUNTRY_LABELS: dict[str, LazyString] = {
    "AL": _l("Albania"),
    "BA": _l("Bosnia and Herzegovina"),
    "BG": _l("Bulgaria"),
    "HR": _l("Croatia"),
    "GR": _l("Greece"),
    "XK": _l("Kosovo"),
    "ME": _l("Montenegro"),
    "MK": _l("North Macedonia"),
    "RO": _l("Romania"),
    "RS": _l("Serbia"),
}
ORG_TYPE_LABELS: dict[str, LazyString] = {
    OrgType.SERVICE_PROVIDER: _l("Service provider"),
    OrgType.SHELTER: _l("Shelter"),
    OrgType.ADVOCACY: _l("Advocacy"),
    OrgType.COMMUNITY: _l("Community-based organisation"),
    OrgType.NETWORK: _l("Network"),
}
FOCUS_LABELS: dict[str, LazyString] = organization_labels.FOCUS_LABELS  # one list (issue 12)


def country_label(code: str) -> str:
    return str(COUNTRY_LABELS.get(code, code or "-"))


def _int(value: str | None) -> int | None:
    """An id or page number from the URL; None for anything else (see accounts.inputs)."""
    return parse_id(value)


def parse_filters(args: Mapping[str, str], options: DashboardOptions) -> DashboardFilters:
    """The filters in the URL; the newest visible cycle with scores and its pinned rubric
    version when none is asked for. Ids are kept as given (one outside the viewer's scope
    matches nothing)."""
    cycle_id = _int(args.get("cycle"))
    if cycle_id is None and options.cycles:
        scored = [c for c, _n, _v in options.cycles if c in options.scored_cycles]
        cycle_id = scored[0] if scored else options.cycles[0][0]
    version_id = _int(args.get("version"))
    if version_id is None:
        version_id = next((v for c, _n, v in options.cycles if c == cycle_id), None)
    org_type = args.get("type", "")
    focus = args.get("focus", "")
    status = args.get("status", "")
    source = args.get("source", "")
    return DashboardFilters(
        cycle_id=cycle_id,
        version_id=version_id,
        country=args.get("country", "")[:2],
        org_type=org_type if org_type in ORG_TYPE_LABELS else "",
        focus_area=focus if focus in FOCUS_LABELS else "",
        status=status if status in STATUS_FILTERS else "",
        source=source if source in {Source.SELF, Source.VERIFIED} else Source.SELF,
    )


def scorecard_urls(assessment_ids: npt.NDArray[np.int64]) -> list[str]:
    """The scorecard URL of each assessment (one ``url_for``, not one per NGO)."""
    stem = url_for("reports.scorecard", assessment_id=0).removesuffix("0")
    return [f"{stem}{i}" for i in assessment_ids.tolist()]


def formatted(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.str_]:
    """Scores as text as everywhere (reports.numbers), a dash where there is none."""
    return numbers.scores(scores)


def page_number(args: Mapping[str, str], n_rows: int) -> tuple[int, int]:
    """The page asked for, kept within 1..pages, and the number of pages."""
    pages = max(1, math.ceil(n_rows / PAGE_SIZE))
    return min(max(_int(args.get("page")) or 1, 1), pages), pages


@dataclass(frozen=True)
class Ranking:
    """The dashboard's rows in rank order (unranked rows last), with the rank intervals."""

    order: np.ndarray  # row indices into DashboardData, best first
    rank: np.ndarray  # per row of DashboardData; NaN: not ranked
    low: np.ndarray
    high: np.ndarray
    ranked: bool  # False: too few NGOs, or all equal (no interval drawn)


def rank_rows(data: DashboardData, weights: list[float]) -> Ranking:
    """Rank the NGOs with a domain score by their weighted domain scores, with the 90% rank
    interval :func:`evaluator.stats.rank_stability` draws by perturbing the domain weights."""
    n = data.size
    rank = np.full(n, np.nan)
    low, high = rank.copy(), rank.copy()
    usable = ~np.isnan(data.domain_scores).all(axis=1) if n else np.zeros(0, dtype=bool)
    ranked = False
    if usable.sum() >= 2:
        block = np.ascontiguousarray(data.domain_scores[usable], dtype=np.float64)
        found = _intervals(block.tobytes(), block.shape, tuple(float(w) for w in weights))
        if found is not None:
            rank[usable], low[usable], high[usable] = found
            ranked = True
    # Best rank first; unranked (NaN) last; ties and unranked rows by name (a unicode array:
    # numpy compares code points as Python does, without a Python call per comparison).
    names = np.array(data.names, dtype=str)
    order = np.lexsort((names, np.where(np.isnan(rank), np.inf, rank)))
    return Ranking(order, rank, low, high, ranked)


@functools.lru_cache(maxsize=64)
def _intervals(
    scores: bytes, shape: tuple[int, ...], weights: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Published ranks and 90% intervals of one score matrix (None: no ranking to perturb).

    Cached by the scores themselves (their bytes), not by who asks or which filters: the same
    matrix always gives the same seeded draws, a changed score is a new key, and a viewer only
    ever passes the rows they see. The draws are the page's main cost (about 1 s at 500 NGOs
    on these machines), so a shared or reloaded view does not pay it again.
    """
    matrix = np.frombuffer(scores, dtype=np.float64).reshape(shape)
    try:
        result = rank_stability(matrix, list(weights), n_draws=RANK_DRAWS, rng=RANK_SEED)
    except EngineError:  # every NGO with the same score: no ranking to perturb
        return None
    return result.published_rank, result.rank_low, result.rank_high


def box_stats(data: DashboardData) -> list[BoxStats]:
    """Per country, the minimum, quartiles and maximum of each domain's scores (NaN where a
    country has no score in a domain)."""
    found, of_row = np.unique(np.array(data.countries, dtype=str), return_inverse=True)
    groups = []
    for k, country in enumerate(found.tolist()):  # sorted, as np.unique returns them
        block = data.domain_scores[of_row == k]
        with warnings.catch_warnings():  # an all-NaN domain of a country: NaN, said in the table
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanpercentile(block, [0, 25, 50, 75, 100], axis=0)
        groups.append(
            BoxStats(
                country=country_label(country),
                n=[int(k) for k in (~np.isnan(block)).sum(axis=0)],
                minimum=q[0].tolist(),
                q1=q[1].tolist(),
                median=q[2].tolist(),
                q3=q[3].tolist(),
                maximum=q[4].tolist(),
            )
        )
    return groups
