"""Tests of the vectorised bootstrap intervals, item distributions and rank change.

Point estimates are checked against published values (sources next to the data, shared with
tests/evaluator/test_stats.py); every vectorised bootstrap is checked against a plain loop over
the same resamples calling the engine's one-sample statistic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as sps

from evaluator.results import EngineError, InsufficientDataError, ShapeMismatchError
from evaluator.stats import (
    cohen_kappa,
    cohen_kappa_bootstrap,
    cronbach_alpha,
    cronbach_alpha_bootstrap,
    cronbach_alpha_bootstraps,
    item_distribution,
    krippendorff_alpha,
    krippendorff_alpha_bootstrap,
    rank_change,
)
from tests.evaluator.test_stats import KRIPPENDORFF_2011, PINGOUIN_ITEMS

B = 400  # resamples: enough to compare with a loop, few enough to keep the file fast


def _loop_interval(draws: list[float], level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2
    low, high = np.quantile(np.array(draws), [tail, 1 - tail])
    return float(low), float(high)


def test_alpha_bootstrap_estimates_the_published_alpha_and_equals_a_loop() -> None:
    # alpha = 0.5917 (R psych::alpha on pingouin's cronbach_alpha.csv; see test_stats.py)
    result = cronbach_alpha_bootstrap(PINGOUIN_ITEMS, n_resamples=B, rng=7)
    assert result.estimate == pytest.approx(0.5917, abs=5e-5)
    index = np.random.default_rng(7).integers(0, 15, size=(B, 15))
    draws = []
    for rows in index:
        try:
            draws.append(cronbach_alpha(PINGOUIN_ITEMS[rows]).alpha)
        except InsufficientDataError:
            continue
    assert result.n_resamples == len(draws)
    assert (result.low, result.high) == pytest.approx(_loop_interval(draws), abs=1e-12)
    assert result.low < result.estimate < result.high
    assert result.method == "percentile"


def test_alpha_bootstrap_is_reproducible_and_drops_incomplete_subjects() -> None:
    items = PINGOUIN_ITEMS.copy()
    items[0, 0] = np.nan
    first = cronbach_alpha_bootstrap(items, n_resamples=B, rng=3)
    again = cronbach_alpha_bootstrap(items, n_resamples=B, rng=3)
    assert (first.low, first.high) == (again.low, again.high)
    assert first.estimate == pytest.approx(cronbach_alpha(items).alpha)


@pytest.mark.parametrize(
    ("a", "b", "published"),
    [
        # Artstein & Poesio (2008), Computational Linguistics 34(4), as in scikit-learn's tests
        ([0] * 40 + [1] * 60, [0] * 20 + [1] * 20 + [0] * 10 + [1] * 50, 0.348),
        ([0] * 46 + [1] * 44 + [2] * 10, [0] * 52 + [1] * 32 + [2] * 16, 0.8013),
    ],
)
def test_kappa_bootstrap_estimates_the_published_kappa_and_equals_a_loop(
    a: list[int], b: list[int], published: float
) -> None:
    result = cohen_kappa_bootstrap(a, b, n_resamples=B, rng=11)
    assert result.estimate == pytest.approx(published, abs=5e-4)
    x, y = np.array(a), np.array(b)
    index = np.random.default_rng(11).integers(0, x.size, size=(B, x.size))
    draws = []
    for rows in index:
        try:
            draws.append(cohen_kappa(x[rows], y[rows], categories=sorted(set(a) | set(b))).kappa)
        except InsufficientDataError:
            continue
    assert (result.low, result.high) == pytest.approx(_loop_interval(draws), abs=1e-12)


def test_weighted_kappa_bootstrap_equals_a_loop_with_the_same_weights() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(1, 5, 60)
    b = np.clip(a + rng.integers(-1, 2, 60), 1, 4)
    result = cohen_kappa_bootstrap(a, b, "quadratic", categories=[1, 2, 3, 4], n_resamples=B, rng=2)
    index = np.random.default_rng(2).integers(0, 60, size=(B, 60))
    draws = [cohen_kappa(a[r], b[r], "quadratic", categories=[1, 2, 3, 4]).kappa for r in index]
    assert (result.low, result.high) == pytest.approx(_loop_interval(draws), abs=1e-12)
    assert result.estimate == pytest.approx(
        cohen_kappa(a, b, "quadratic", categories=[1, 2, 3, 4]).kappa
    )


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)],
)
def test_krippendorff_bootstrap_estimates_the_published_alpha_and_equals_a_loop(
    level: str, published: float
) -> None:
    # Krippendorff (2011), section C; see test_stats.py
    result = krippendorff_alpha_bootstrap(
        KRIPPENDORFF_2011,
        level,  # type: ignore[arg-type]
        n_resamples=B,
        rng=5,
    )
    assert result.estimate == pytest.approx(published, abs=5e-4)
    pairable = KRIPPENDORFF_2011[:, (~np.isnan(KRIPPENDORFF_2011)).sum(axis=0) >= 2]
    index = np.random.default_rng(5).integers(0, pairable.shape[1], size=(B, pairable.shape[1]))
    draws = []
    for units in index:
        try:
            draws.append(krippendorff_alpha(pairable[:, units], level).alpha)  # type: ignore[arg-type]
        except InsufficientDataError:
            continue
    assert result.n_resamples == len(draws)
    assert (result.low, result.high) == pytest.approx(_loop_interval(draws), abs=1e-9)


def test_bootstraps_refuse_bad_arguments() -> None:
    with pytest.raises(EngineError, match="n_resamples"):
        cronbach_alpha_bootstrap(PINGOUIN_ITEMS, n_resamples=1)
    with pytest.raises(EngineError, match="confidence"):
        cohen_kappa_bootstrap([0, 1], [0, 1], confidence=1.5)
    with pytest.raises(InsufficientDataError):
        krippendorff_alpha_bootstrap([[1, 1, 1], [1, 1, 1]])


def test_item_distribution_counts_levels_and_flags_floor_ceiling_and_no_spread() -> None:
    answers = np.array(
        [[1, 4, 2, np.nan], [1, 4, 3, np.nan], [1, 4, 2, 2], [1, 3, 2, np.nan], [2, 4, 4, np.nan]]
    )
    result = item_distribution(answers, [1, 2, 3, 4])
    assert result.counts.tolist() == [[4, 1, 0, 0], [0, 0, 1, 4], [0, 3, 1, 1], [0, 1, 0, 0]]
    assert result.n_answered.tolist() == [5, 5, 5, 1]
    assert result.floor.tolist() == [0.8, 0.0, 0.0, 0.0]
    assert result.ceiling.tolist() == [0.0, 0.8, 0.2, 0.0]
    assert result.flagged_floor.tolist() == [True, False, False, False]
    assert result.flagged_ceiling.tolist() == [False, True, False, False]
    assert result.no_spread.tolist() == [False, False, False, False]  # one answer is no spread
    constant = item_distribution([[3.0], [3.0]], [1, 2, 3])
    assert constant.no_spread.tolist() == [True]
    nobody = item_distribution([[np.nan]], [1, 2])
    assert math.isnan(nobody.floor[0])
    with pytest.raises(EngineError, match="levels"):
        item_distribution([[1.5]], [1, 2])


def test_rank_change_gives_kendalls_tau_from_its_definition() -> None:
    # Kendall (1938): one swapped pair among 4 -> 5 concordant, 1 discordant: tau = 4/6
    result = rank_change([40, 30, 20, 10], [30, 40, 20, 10])
    assert result.tau == pytest.approx(4 / 6)
    assert result.rank_before.tolist() == [1, 2, 3, 4]
    assert result.rank_after.tolist() == [2, 1, 3, 4]
    assert result.shift.tolist() == [-1, 1, 0, 0]
    with_ties = rank_change([1, 2, 2, 3, np.nan], [1, 3, 2, 3, 5])
    assert with_ties.n == 4
    assert with_ties.tau == pytest.approx(sps.kendalltau([1, 2, 2, 3], [1, 3, 2, 3]).statistic)
    assert math.isnan(with_ties.rank_before[4])
    assert math.isnan(rank_change([1], [2]).tau)
    with pytest.raises(ShapeMismatchError):
        rank_change([1, 2], [1])


def test_alpha_bootstraps_of_several_scales_share_the_draws_and_each_equals_a_loop() -> None:
    # Two scales of the same 15 subjects: pingouin's items, and its first three items shifted.
    other = PINGOUIN_ITEMS[:, :3] + np.arange(3)
    first, second = cronbach_alpha_bootstraps([PINGOUIN_ITEMS, other], n_resamples=B, rng=7)
    alone = cronbach_alpha_bootstrap(PINGOUIN_ITEMS, n_resamples=B, rng=7)
    assert (first.low, first.high, first.estimate) == (alone.low, alone.high, alone.estimate)
    index = np.random.default_rng(7).integers(0, 15, size=(B, 15))
    draws = []
    for rows in index:
        try:
            draws.append(cronbach_alpha(other[rows]).alpha)
        except InsufficientDataError:
            continue
    assert (second.low, second.high) == pytest.approx(_loop_interval(draws), abs=1e-12)
    assert second.estimate == pytest.approx(cronbach_alpha(other).alpha)


def test_alpha_bootstraps_drop_a_subject_incomplete_in_any_scale() -> None:
    other = PINGOUIN_ITEMS[:, :3].copy()
    other[0, 0] = np.nan
    first, _second = cronbach_alpha_bootstraps([PINGOUIN_ITEMS, other], n_resamples=B, rng=3)
    assert first.estimate == pytest.approx(cronbach_alpha(PINGOUIN_ITEMS[1:]).alpha)
    with pytest.raises(ShapeMismatchError, match="scales"):
        cronbach_alpha_bootstraps([PINGOUIN_ITEMS, other[1:]], n_resamples=B)
