"""Frozen result objects returned by the engine, and the engine's error types."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class EngineError(ValueError):
    """Invalid input to the engine. The message names the offending argument."""


class SpecError(EngineError):
    """A scoring spec that is internally inconsistent."""


class AnswersError(EngineError):
    """An answer matrix that does not fit the scoring spec."""


class InsufficientDataError(EngineError):
    """Too little data for a statistic to mean anything (too few units, raters or variance)."""


# --- scoring --------------------------------------------------------------------------------

# Why a domain or overall score is NaN. 0 means it is a number.
REASON_OK = 0
REASON_INSUFFICIENT_DATA = 1  # coverage below the rubric's minimum
REASON_NOT_APPLICABLE = 2  # every question in it was not applicable
REASON_LABELS = {
    REASON_OK: "",
    REASON_INSUFFICIENT_DATA: "insufficient data",
    REASON_NOT_APPLICABLE: "not applicable",
}

# Per-question status codes in ScoreResult.question_status.
STATUS_ANSWERED = 0
STATUS_UNANSWERED = 1
STATUS_NOT_APPLICABLE = 2
STATUS_DONT_KNOW = 3
STATUS_NOT_RELEVANT = 4  # hidden by relevance: scored as not applicable
STATUS_UNSCORED = 5  # text / evidence questions


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """Scores of R responses against one scoring spec (all scores on 0-100).

    Arrays have one row per response. NaN marks "no score"; the matching ``*_reason`` array says
    why (``REASON_*``). Coverage is the share of applicable weight that was answered (0-1).
    """

    question_ids: tuple[str, ...]
    indicator_ids: tuple[str, ...]
    domain_ids: tuple[str, ...]
    question_scores: FloatArray  # (R, Q)
    question_status: NDArray[np.int8]  # (R, Q)
    indicator_scores: FloatArray  # (R, I)
    indicator_coverage: FloatArray  # (R, I)
    domain_scores: FloatArray  # (R, D)
    domain_coverage: FloatArray  # (R, D)
    domain_reason: NDArray[np.int8]  # (R, D)
    overall: FloatArray  # (R,)
    overall_coverage: FloatArray  # (R,)
    overall_reason: NDArray[np.int8]  # (R,)
    band: IntArray  # (R,) index into band_labels, -1 where overall is NaN
    band_labels: tuple[str, ...]

    @property
    def n_responses(self) -> int:
        return int(self.overall.shape[0])

    def band_label(self, row: int = 0) -> str:
        """The band label of response ``row`` ("" when it has no overall score)."""
        index = int(self.band[row])
        return self.band_labels[index] if index >= 0 else ""


# --- statistics -----------------------------------------------------------------------------


class ShapeMismatchError(EngineError):
    """Arrays that must line up (same shape, same length) do not."""


@dataclass(frozen=True, eq=False)
class CronbachAlphaResult:
    """Cronbach's alpha of a subjects x items matrix, with item diagnostics.

    ``item_total`` and ``alpha_if_deleted`` have one entry per item. ``alpha_if_deleted`` is NaN
    for every item when there are only two items (alpha of a single item is not defined).
    ``n_dropped`` counts the subjects left out because a row had a missing value.
    """

    alpha: float
    ci: tuple[float, float]
    confidence: float
    item_total: FloatArray  # (k,) corrected item-total correlations
    alpha_if_deleted: FloatArray  # (k,)
    n_subjects: int
    n_items: int
    n_dropped: int


@dataclass(frozen=True)
class ICCFormResult:
    """One of the six Shrout & Fleiss intraclass correlations, with its F test and interval."""

    name: str  # "ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k" or "ICC3k"
    description: str
    value: float
    f: float
    df1: int
    df2: int
    pvalue: float
    ci: tuple[float, float]


ICC_NAMES = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")


@dataclass(frozen=True)
class ICCResult:
    """The six Shrout & Fleiss (1979) intraclass correlations of a targets x raters matrix.

    Index by name: ``result["ICC2"]``. ``n_dropped`` counts targets left out because a rating
    was missing.
    """

    forms: tuple[ICCFormResult, ...]
    n_targets: int
    n_raters: int
    n_dropped: int
    confidence: float

    def __getitem__(self, name: str) -> ICCFormResult:
        for form in self.forms:
            if form.name == name:
                return form
        raise KeyError(f"{name!r}: expected one of {', '.join(ICC_NAMES)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(form.name for form in self.forms)


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa of two raters (weighted when ``weights`` is "linear" or "quadratic")."""

    kappa: float
    n: int  # pairs used (pairs with a missing label are left out)
    categories: tuple[object, ...]  # in the order used for the weights
    weights: str | None
    observed_agreement: float  # 1 - weighted observed disagreement
    expected_agreement: float  # 1 - weighted chance disagreement


@dataclass(frozen=True)
class KrippendorffAlphaResult:
    """Krippendorff's alpha of a raters x units matrix at one level of measurement."""

    alpha: float
    level: str
    n_units: int  # units with at least two values (pairable)
    n_values: int  # pairable values, Krippendorff's n
    observed_disagreement: float
    expected_disagreement: float


@dataclass(frozen=True)
class BootstrapCIResult:
    """A bootstrap confidence interval around ``estimate`` (the statistic of the sample)."""

    low: float
    high: float
    estimate: float
    standard_error: float
    confidence: float
    method: str
    n_resamples: int


@dataclass(frozen=True)
class PercentileRankResult:
    """Where a score falls among its peers, 0-100, and which definition produced it."""

    percentile: float
    kind: str
    n_peers: int


@dataclass(frozen=True, eq=False)
class RankStabilityResult:
    """How stable a ranking is when the domain weights are perturbed (one entry per organisation).

    Ranks run from 1 (best); ties share their average rank. ``rank_low`` and ``rank_high`` are
    the 5th and 95th percentiles of the rank over the draws (a 90% interval); ``p_top_k`` is the
    share of draws in which the organisation ranks ``top_k`` or better. ``kendall_tau`` holds one
    tau-b per draw, between the published ranking and that draw's ranking.
    """

    published_score: FloatArray  # (n_orgs,)
    published_rank: FloatArray  # (n_orgs,)
    median_rank: FloatArray  # (n_orgs,)
    rank_low: FloatArray  # (n_orgs,)
    rank_high: FloatArray  # (n_orgs,)
    p_top_k: FloatArray  # (n_orgs,)
    kendall_tau: FloatArray  # (n_draws,)
    top_k: int
    n_draws: int
    concentration: float

    @property
    def n_organisations(self) -> int:
        return int(self.published_rank.shape[0])


@dataclass(frozen=True)
class SignedRankResult:
    """A one-sided Wilcoxon signed-rank test that self-assessed scores exceed verified ones."""

    statistic: float
    pvalue: float
    n_pairs: int  # complete pairs
    n_nonzero: int  # pairs whose difference is not zero (the ones the test ranks)
    median_difference: float  # self - verified
    alternative: str


@dataclass(frozen=True, eq=False)
class AgreementResult:
    """Agreement between self-assessed and externally verified scores.

    Gaps are self minus verified: positive means the organisation rated itself higher. A gap is
    NaN exactly where its ``*_n_pairs`` is 0. ``indicator_agreement`` is NaN exactly where
    ``indicator_method`` is "" and ``indicator_note`` says why. ``over_rating`` is None when the
    test cannot be run; ``over_rating_note`` then says why.
    """

    indicator_ids: tuple[str, ...]
    org_ids: tuple[str, ...]
    indicator_mean_gap: FloatArray  # (I,)
    indicator_n_pairs: IntArray  # (I,)
    indicator_agreement: FloatArray  # (I,)
    indicator_method: tuple[str, ...]  # "kappa_quadratic", "icc2_1" or ""
    indicator_note: tuple[str, ...]
    org_mean_gap: FloatArray  # (O,)
    org_n_pairs: IntArray  # (O,)
    n_pairs: int
    over_rating: SignedRankResult | None
    over_rating_note: str


@dataclass(frozen=True, eq=False)
class ItemDistributionResult:
    """Per item (question): how its answers spread over the scale, and whether it discriminates.

    ``counts[j, c]`` is the number of subjects who gave item ``j`` the level ``levels[c]``.
    ``floor`` / ``ceiling`` are the shares of answered subjects at the lowest / highest level of
    the scale; ``no_spread`` marks items every answered subject gave the same level.
    """

    levels: FloatArray  # (C,) the scale's levels
    counts: IntArray  # (J, C)
    n_answered: IntArray  # (J,)
    floor: FloatArray  # (J,) NaN when nobody answered
    ceiling: FloatArray  # (J,)
    no_spread: NDArray[np.bool_]  # (J,) answered by two or more, all at one level
    threshold: float  # floor / ceiling share from which an item is flagged
    flagged_floor: NDArray[np.bool_]  # (J,)
    flagged_ceiling: NDArray[np.bool_]  # (J,)


@dataclass(frozen=True, eq=False)
class RankChangeResult:
    """Two scorings of the same organisations: ranks before and after, and how far they moved."""

    rank_before: FloatArray  # (n,) 1 = highest score, average ranks for ties; NaN: no score
    rank_after: FloatArray  # (n,)
    shift: FloatArray  # (n,) rank_before - rank_after: positive = moved up
    tau: float  # Kendall's tau-b between the two rankings (NaN when undefined)
    pvalue: float
    n: int  # organisations scored both times
