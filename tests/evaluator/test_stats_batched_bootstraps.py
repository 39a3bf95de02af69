"""The batched per-indicator bootstraps (weighted kappa, mean gap, Krippendorff's alpha: one
resample index shared by all indicators with the same number of complete pairs or units) against
a plain loop over the same indices, indicator by indicator, calling the engine's one-sample
statistic."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.results import EngineError, InsufficientDataError, ShapeMismatchError
from evaluator.stats import (
    cohen_kappa,
    cohen_kappa_bootstrap,
    cohen_kappa_bootstraps,
    krippendorff_alpha,
    krippendorff_alpha_bootstrap,
    krippendorff_alpha_bootstraps,
    mean_bootstraps,
)

B = 300  # resamples: enough to compare with a loop, few enough to keep the file fast
N = 40


def _interval(draws: list[float]) -> tuple[float, float]:
    low, high = np.quantile(np.array(draws), [0.025, 0.975])
    return float(low), float(high)


def _indicators() -> list[tuple[np.ndarray, np.ndarray, list[float]]]:
    """Three indicators' self and verified levels: 4 levels, 3 levels (a smaller table), and
    one with a missing pair in a longer list (so its complete pairs are N as well)."""
    rng = np.random.default_rng(5)
    out = []
    for levels in (4, 3):
        verified = rng.integers(1, levels + 1, N).astype(float)
        own = np.clip(verified + rng.integers(-1, 2, N), 1, levels)
        out.append((own, verified, [float(c) for c in range(1, levels + 1)]))
    verified = rng.integers(1, 5, N + 1).astype(float)
    own = np.clip(verified + rng.integers(0, 2, N + 1), 1, 4)
    own[7] = np.nan
    out.append((own, verified, [1.0, 2.0, 3.0, 4.0]))
    return out


def test_batched_kappa_intervals_equal_a_loop_over_the_same_resamples() -> None:
    indicators = _indicators()
    results = cohen_kappa_bootstraps(
        [(a, b) for a, b, _c in indicators],
        "quadratic",
        categories=[c for _a, _b, c in indicators],
        n_resamples=B,
        rng=11,
    )
    index = np.random.default_rng(11).integers(0, N, size=(B, N))
    for (a, b, categories), result in zip(indicators, results, strict=True):
        keep = ~(np.isnan(a) | np.isnan(b))
        a, b = a[keep], b[keep]
        draws = []
        for rows in index:
            try:
                draws.append(
                    cohen_kappa(a[rows], b[rows], "quadratic", categories=categories).kappa
                )
            except InsufficientDataError:
                continue
        assert result.estimate == cohen_kappa(a, b, "quadratic", categories=categories).kappa
        assert result.n_resamples == len(draws)
        assert (result.low, result.high) == pytest.approx(_interval(draws), abs=1e-12)
        assert result.standard_error == pytest.approx(np.std(draws, ddof=1), abs=1e-12)
        # ... and the one-indicator engine call with the same seed draws the same resamples
        alone = cohen_kappa_bootstrap(
            a, b, "quadratic", categories=categories, n_resamples=B, rng=11
        )
        assert (alone.low, alone.high) == pytest.approx((result.low, result.high), abs=1e-12)


def test_batched_kappa_refuses_different_numbers_of_pairs() -> None:
    a, b, _c = _indicators()[0]
    with pytest.raises(ShapeMismatchError):
        cohen_kappa_bootstraps([(a, b), (a[1:], b[1:])], n_resamples=B)
    with pytest.raises(ShapeMismatchError):
        cohen_kappa_bootstraps([(a, b)], categories=[None, None], n_resamples=B)
    assert cohen_kappa_bootstraps([], n_resamples=B) == []


def test_batched_mean_intervals_equal_a_loop_over_the_same_resamples() -> None:
    rng = np.random.default_rng(8)
    gaps = np.column_stack(
        [rng.normal(0.3, 1.0, N), rng.integers(-2, 3, N).astype(float), np.full(N, 0.5)]
    )
    results = mean_bootstraps(gaps, n_resamples=B, rng=4)
    index = np.random.default_rng(4).integers(0, N, size=(B, N))
    for s, result in enumerate(results):
        draws = [float(gaps[rows, s].mean()) for rows in index]
        assert result.estimate == pytest.approx(gaps[:, s].mean(), abs=1e-15)
        assert (result.low, result.high) == pytest.approx(_interval(draws), abs=1e-12)
        assert result.n_resamples == B
    assert (results[2].low, results[2].high) == pytest.approx((0.5, 0.5), abs=1e-15)


def test_batched_mean_needs_two_finite_rows() -> None:
    with pytest.raises(InsufficientDataError):
        mean_bootstraps(np.ones((1, 3)), n_resamples=B)
    with pytest.raises(EngineError, match="NaN"):
        mean_bootstraps(np.array([[1.0], [np.nan]]), n_resamples=B)


def test_batched_krippendorff_intervals_equal_a_loop_over_the_same_resamples() -> None:
    rng = np.random.default_rng(9)
    datas = []
    for levels, n_units in ((4, N), (3, N), (4, N + 2)):
        first = rng.integers(1, levels + 1, n_units).astype(float)
        second = np.clip(first + rng.integers(-1, 2, n_units), 1, levels)
        if n_units > N:  # two units rated once: not pairable, so N pairable units again
            second[:2] = np.nan
        datas.append(np.vstack([first, second]))
    results = krippendorff_alpha_bootstraps(datas, "ordinal", n_resamples=B, rng=6)
    index = np.random.default_rng(6).integers(0, N, size=(B, N))
    for data, result in zip(datas, results, strict=True):
        units = data[:, ~np.isnan(data).any(axis=0)]
        draws = []
        for rows in index:
            try:
                draws.append(krippendorff_alpha(units[:, rows], "ordinal").alpha)
            except InsufficientDataError:
                continue
        assert result.estimate == pytest.approx(krippendorff_alpha(data, "ordinal").alpha)
        assert result.n_resamples == len(draws)
        assert (result.low, result.high) == pytest.approx(_interval(draws), abs=1e-12)
        alone = krippendorff_alpha_bootstrap(data, "ordinal", n_resamples=B, rng=6)
        assert (alone.low, alone.high) == pytest.approx((result.low, result.high), abs=1e-12)
    with pytest.raises(ShapeMismatchError):
        krippendorff_alpha_bootstraps([datas[0], datas[0][:, 1:]], n_resamples=B)
