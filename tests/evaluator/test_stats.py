"""Tests of evaluator.stats against published reference values, edge cases and properties.

Every published value names its source next to the data. Values marked "unrounded" are the
published figures carried to more digits by the reference implementations named there.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sps
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from evaluator.results import EngineError, InsufficientDataError, ShapeMismatchError
from evaluator.stats import (
    _kendall_tau_b,
    agreement,
    bootstrap_ci,
    cohen_kappa,
    cronbach_alpha,
    icc,
    krippendorff_alpha,
    percentile_rank,
    rank_stability,
)

NAN = np.nan
PROPERTY = settings(max_examples=60, deadline=None, database=None)

# --- Cronbach's alpha -----------------------------------------------------------------------

# pingouin's datasets/cronbach_alpha.csv (15 subjects x 10 items; one line per item here),
# whose test checks against R psych::alpha: alpha = 0.5917, 95% F interval [0.195, 0.840].
# Sources: Revelle, psych: Procedures for Psychological, Psychometric, and Personality Research
# (R package, function alpha); Vallat (2018), Pingouin: statistics in Python, JOSS 3(31), 1026,
# tests/test_reliability.py, which checks the same data against psych::alpha.
PINGOUIN_ITEMS = np.array(
    [
        [3, 5, 7, 2, 6, 1, 4, 2, 6, 5, 4, 4, 5, 6, 4],
        [2, 4, 3, 4, 5, 2, 3, 4, 5, 4, 3, 2, 5, 5, 3],
        [4, 6, 5, 3, 6, 3, 5, 4, 5, 6, 5, 3, 6, 5, 5],
        [1, 3, 5, 3, 5, 4, 3, 3, 5, 4, 2, 2, 2, 4, 5],
        [4, 5, 6, 2, 4, 2, 5, 7, 1, 3, 5, 5, 3, 2, 3],
        [5, 1, 4, 2, 4, 5, 2, 2, 6, 5, 3, 3, 3, 2, 1],
        [1, 2, 3, 2, 4, 2, 1, 2, 5, 3, 2, 4, 2, 1, 3],
        [4, 5, 3, 6, 6, 3, 2, 4, 2, 1, 3, 2, 4, 4, 2],
        [3, 5, 6, 6, 7, 5, 4, 6, 3, 7, 4, 3, 4, 6, 3],
        [2, 5, 5, 3, 5, 2, 3, 5, 2, 2, 1, 4, 5, 5, 4],
    ],
    dtype=float,
).T


def test_cronbach_alpha_matches_psych_on_the_pingouin_dataset() -> None:
    result = cronbach_alpha(PINGOUIN_ITEMS)
    assert result.alpha == pytest.approx(0.5917, abs=5e-5)
    assert result.ci == pytest.approx((0.195, 0.840), abs=5e-4)
    assert (result.n_subjects, result.n_items, result.n_dropped) == (15, 10, 0)


def test_item_total_is_the_correlation_of_each_item_with_the_rest_score() -> None:
    result = cronbach_alpha(PINGOUIN_ITEMS)
    total = PINGOUIN_ITEMS.sum(axis=1)
    expected = [
        np.corrcoef(PINGOUIN_ITEMS[:, j], total - PINGOUIN_ITEMS[:, j])[0, 1] for j in range(10)
    ]
    np.testing.assert_allclose(result.item_total, expected)


def test_alpha_if_deleted_is_alpha_of_the_remaining_items() -> None:
    result = cronbach_alpha(PINGOUIN_ITEMS)
    expected = [cronbach_alpha(np.delete(PINGOUIN_ITEMS, j, axis=1)).alpha for j in range(10)]
    np.testing.assert_allclose(result.alpha_if_deleted, expected)


def test_alpha_if_deleted_is_nan_for_two_items_because_one_item_has_no_alpha() -> None:
    result = cronbach_alpha([[1, 2], [2, 3], [3, 5], [4, 4]])
    assert np.isnan(result.alpha_if_deleted).all()
    assert np.isfinite(result.alpha)


def test_cronbach_alpha_drops_subjects_with_a_missing_answer_listwise() -> None:
    with_gaps = PINGOUIN_ITEMS.copy()
    with_gaps[[0, 4], [2, 7]] = NAN
    result = cronbach_alpha(with_gaps)
    expected = cronbach_alpha(np.delete(PINGOUIN_ITEMS, [0, 4], axis=0))
    assert result.alpha == pytest.approx(expected.alpha)
    assert result.n_dropped == 2
    assert result.n_subjects == 13


def test_cronbach_alpha_rejects_an_item_with_no_variance() -> None:
    items = PINGOUIN_ITEMS.copy()
    items[:, 3] = 4.0
    with pytest.raises(InsufficientDataError, match=r"items: column 3 has no variance"):
        cronbach_alpha(items)


def test_cronbach_alpha_rejects_a_total_score_with_no_variance() -> None:
    with pytest.raises(InsufficientDataError, match="items: the total score has no variance"):
        cronbach_alpha([[1, 3], [2, 2], [3, 1]])


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([[1], [2], [3]], r"items: need at least 2 items, got 1"),
        ([[1, 2, 3]], r"items: need at least 2 subjects with no missing value, got 1"),
        ([[NAN, 1], [2, NAN]], r"items: need at least 2 subjects .* got 0 \(2 dropped"),
    ],
)
def test_cronbach_alpha_needs_two_items_and_two_complete_subjects(
    items: list[list[float]], message: str
) -> None:
    with pytest.raises(InsufficientDataError, match=message):
        cronbach_alpha(items)


def test_cronbach_alpha_rejects_infinite_values_and_wrong_shapes() -> None:
    with pytest.raises(EngineError, match="items: contains infinite values"):
        cronbach_alpha([[1, np.inf], [2, 3]])
    with pytest.raises(ShapeMismatchError, match="items: must be a 2-D array"):
        cronbach_alpha([1, 2, 3])
    with pytest.raises(EngineError, match="confidence: must lie strictly between 0 and 1"):
        cronbach_alpha(PINGOUIN_ITEMS, confidence=1.0)


# --- intraclass correlation -----------------------------------------------------------------

# Shrout & Fleiss (1979), Psychological Bulletin 86(2), 420-428, Table 2 (6 targets x 4
# judges); the unrounded values, F, df and 95% intervals are those of R psych::ICC (whose test
# suite reproduces the table); Revelle, psych, function ICC.
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)
SHROUT_FLEISS_TABLE = [
    # name, published, unrounded, F, df2, 95% CI
    ("ICC1", 0.17, 0.1657, 1.8, 18, (-0.13, 0.72)),
    ("ICC2", 0.29, 0.2898, 11.0, 15, (0.02, 0.76)),
    ("ICC3", 0.71, 0.7148, 11.0, 15, (0.34, 0.95)),
    ("ICC1k", 0.44, 0.4428, 1.8, 18, (-0.88, 0.91)),
    ("ICC2k", 0.62, 0.6201, 11.0, 15, (0.07, 0.93)),
    ("ICC3k", 0.91, 0.9093, 11.0, 15, (0.68, 0.99)),
]


@pytest.mark.parametrize(("name", "published", "unrounded", "f", "df2", "ci"), SHROUT_FLEISS_TABLE)
def test_icc_reproduces_shrout_and_fleiss_table_2(
    name: str, published: float, unrounded: float, f: float, df2: int, ci: tuple[float, float]
) -> None:
    form = icc(SHROUT_FLEISS)[name]
    assert round(form.value, 2) == pytest.approx(published)
    assert form.value == pytest.approx(unrounded, abs=5e-5)
    assert round(form.f, 1) == pytest.approx(f)
    assert (form.df1, form.df2) == (5, df2)
    assert (round(form.ci[0], 2), round(form.ci[1], 2)) == pytest.approx(ci)
    assert 0.0 <= form.pvalue <= 1.0


def test_icc_p_values_come_from_the_f_distribution() -> None:
    result = icc(SHROUT_FLEISS)
    assert result["ICC1"].pvalue == pytest.approx(sps.f.sf(result["ICC1"].f, 5, 18))
    assert result["ICC3"].pvalue == pytest.approx(sps.f.sf(result["ICC3"].f, 5, 15))


def test_icc_result_is_indexed_by_the_six_form_names() -> None:
    result = icc(SHROUT_FLEISS)
    assert result.names == ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
    assert (result.n_targets, result.n_raters) == (6, 4)
    with pytest.raises(KeyError, match="ICC4"):
        result["ICC4"]


def test_icc_of_identical_raters_is_one_with_infinite_f() -> None:
    result = icc([[1, 1], [2, 2], [4, 4]])
    for form in result.forms:
        assert form.value == pytest.approx(1.0)
        assert form.f == np.inf
        assert form.pvalue == 0.0
        assert form.ci == pytest.approx((1.0, 1.0))


def test_icc_consistency_ignores_a_constant_offset_but_absolute_agreement_does_not() -> None:
    result = icc([[1, 2], [2, 3], [3, 4], [5, 6]])
    assert result["ICC3"].value == pytest.approx(1.0)
    assert result["ICC2"].value < 1.0
    assert np.isfinite(result["ICC2"].ci).all()


def test_icc_drops_targets_with_a_missing_rating() -> None:
    ratings = np.vstack([SHROUT_FLEISS, [5, NAN, 3, 4]])
    result = icc(ratings)
    assert result.n_dropped == 1
    assert result["ICC2"].value == pytest.approx(icc(SHROUT_FLEISS)["ICC2"].value)


@pytest.mark.parametrize(
    ("ratings", "error", "message"),
    [
        ([[1], [2], [3]], InsufficientDataError, r"ratings: need at least 2 raters, got 1"),
        ([[1, 2, 3]], InsufficientDataError, r"ratings: need at least 2 targets .*got 1"),
        ([[NAN, NAN], [NAN, 1]], InsufficientDataError, r"ratings: need at least 2 targets"),
        ([[3, 3], [3, 3]], InsufficientDataError, r"ratings: every rating is the same"),
        ([[1, 2], [2, 1]], InsufficientDataError, r"ratings: no variance between targets"),
        ([[1, np.inf], [2, 3]], EngineError, r"ratings: contains infinite values"),
        ([1, 2, 3], ShapeMismatchError, r"ratings: must be a 2-D array"),
        ([["a", "b"], ["c", "d"]], EngineError, r"ratings: must be numeric"),
    ],
)
def test_icc_rejects_degenerate_or_malformed_ratings(
    ratings: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        icc(ratings)  # type: ignore[arg-type]


# --- Cohen's kappa --------------------------------------------------------------------------


def test_kappa_matches_artstein_and_poesio_two_category_example() -> None:
    # Artstein & Poesio (2008), Computational Linguistics 34(4), as used in scikit-learn's
    # test_cohen_kappa: kappa = 0.348.
    a = [0] * 40 + [1] * 60
    b = [0] * 20 + [1] * 20 + [0] * 10 + [1] * 50
    assert cohen_kappa(a, b).kappa == pytest.approx(0.348, abs=5e-4)


def test_kappa_matches_artstein_and_poesio_three_category_example() -> None:
    # Same source: kappa = 0.8013.
    a = [0] * 46 + [1] * 44 + [2] * 10
    b = [0] * 52 + [1] * 32 + [2] * 16
    result = cohen_kappa(a, b)
    assert result.kappa == pytest.approx(0.8013, abs=5e-5)
    assert (result.n, result.categories, result.weights) == (100, (0, 1, 2), None)


# Kundel, H. L., & Polansky, M. (2003). Measurement of observer agreement. Radiology 228,
# 303-308, Table A1: 110 mammograms read by two readers (rows reader 2, columns reader 1).
# Published values from R vcd::Kappa as printed in the vcdExtra `Mammograms` help page:
# unweighted 0.3713, weighted with equal-spacing (linear) weights 0.5964.
MAMMOGRAM_LEVELS = ("Absent", "Minimal", "Moderate", "Severe")
MAMMOGRAMS = np.array([[34, 10, 2, 0], [6, 8, 8, 2], [2, 5, 4, 12], [0, 1, 2, 14]])


def _expand(table: np.ndarray, labels: tuple[str, ...]) -> tuple[list[str], list[str]]:
    rows, cols = [], []
    for i, j in np.ndindex(table.shape):
        rows += [labels[i]] * int(table[i, j])
        cols += [labels[j]] * int(table[i, j])
    return rows, cols


def test_linear_weighted_kappa_matches_kundel_and_polansky_mammograms() -> None:
    reader2, reader1 = _expand(MAMMOGRAMS, MAMMOGRAM_LEVELS)
    weighted = cohen_kappa(reader2, reader1, "linear", categories=MAMMOGRAM_LEVELS)
    assert weighted.kappa == pytest.approx(0.5964, abs=5e-5)
    assert weighted.n == 110
    assert cohen_kappa(reader2, reader1).kappa == pytest.approx(0.3713, abs=5e-5)


def test_weighted_kappa_follows_the_given_category_order() -> None:
    reader2, reader1 = _expand(MAMMOGRAMS, MAMMOGRAM_LEVELS)
    scrambled = ("Minimal", "Absent", "Severe", "Moderate")
    result = cohen_kappa(reader2, reader1, "linear", categories=scrambled)
    assert result.categories == scrambled
    assert result.kappa != pytest.approx(0.5964, abs=5e-3)
    # reversing the scale leaves |i - j| and so the weighted kappa unchanged
    reversed_scale = cohen_kappa(reader2, reader1, "linear", categories=MAMMOGRAM_LEVELS[::-1])
    assert reversed_scale.kappa == pytest.approx(0.5964, abs=5e-5)


def test_weighted_kappa_on_numeric_labels_sorts_them() -> None:
    codes = {label: i + 1 for i, label in enumerate(MAMMOGRAM_LEVELS)}
    reader2, reader1 = _expand(MAMMOGRAMS, MAMMOGRAM_LEVELS)
    result = cohen_kappa([codes[x] for x in reader2], [codes[x] for x in reader1], "linear")
    assert result.categories == (1, 2, 3, 4)
    assert result.kappa == pytest.approx(0.5964, abs=5e-5)


def test_weighted_kappa_refuses_labels_without_an_order() -> None:
    with pytest.raises(EngineError, match="categories: weighted kappa needs ordered categories"):
        cohen_kappa(["low", "high", "low"], ["low", "low", "high"], "quadratic")


def test_kappa_leaves_out_pairs_with_a_missing_label() -> None:
    result = cohen_kappa([1, None, 2, NAN, 1, 2], [1, 2, 2, 1, 2, 2])
    assert result.n == 4
    assert result.kappa == pytest.approx(cohen_kappa([1, 2, 1, 2], [1, 2, 2, 2]).kappa)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "error", "message"),
    [
        ([1, 2], [1], {}, ShapeMismatchError, r"a, b: must have the same length, got 2 and 1"),
        (["x", "x"], ["x", "x"], {}, InsufficientDataError, r"a, b: both raters used the same"),
        ([1, None], [1, 2], {}, InsufficientDataError, r"a, b: need at least 2 complete pairs"),
        ([1, 2], [1, 3], {"categories": [1, 2]}, EngineError, r"categories: .* label\(s\) 3"),
        ([1, 2], [1, 2], {"weights": "cubic"}, EngineError, r"weights: must be None"),
        ("abc", "abd", {}, EngineError, r"a: must be a sequence of labels, not a string"),
    ],
)
def test_kappa_rejects_malformed_or_degenerate_input(
    a: object, b: object, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        cohen_kappa(a, b, **kwargs)  # type: ignore[arg-type]


labels_with_two_kinds = st.lists(st.integers(0, 4), min_size=2, max_size=40).filter(
    lambda xs: len(set(xs)) >= 2
)


@PROPERTY
@given(labels=labels_with_two_kinds, weights=st.sampled_from([None, "linear", "quadratic"]))
def test_kappa_of_identical_raters_is_one(labels: list[int], weights: str | None) -> None:
    assert cohen_kappa(labels, labels, weights).kappa == pytest.approx(1.0)  # type: ignore[arg-type]


@PROPERTY
@given(
    pairs=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=40),
    weights=st.sampled_from([None, "linear", "quadratic"]),
)
def test_kappa_does_not_depend_on_which_rater_is_first(
    pairs: list[tuple[int, int]], weights: str | None
) -> None:
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    assume(len(set(a) | set(b)) >= 2)
    forward = cohen_kappa(a, b, weights, categories=range(4))  # type: ignore[arg-type]
    backward = cohen_kappa(b, a, weights, categories=range(4))  # type: ignore[arg-type]
    assert forward.kappa == pytest.approx(backward.kappa)
    assert forward.kappa <= 1.0 + 1e-12


# --- Krippendorff's alpha -------------------------------------------------------------------

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication Departmental Papers 43, University of Pennsylvania, section C: 4 observers
# (A-D) x 12 units with missing data. Published: nominal 0.743, ordinal 0.815, interval
# 0.849, ratio 0.797.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_reproduces_the_2011_worked_example(
    level: str, published: float
) -> None:
    result = krippendorff_alpha(KRIPPENDORFF_2011, level)  # type: ignore[arg-type]
    assert result.alpha == pytest.approx(published, abs=5e-4)
    # unit 12 has a single value and is not pairable: 11 units, 40 pairable values
    assert (result.n_units, result.n_values) == (11, 40)


def test_krippendorff_alpha_is_one_for_perfect_agreement() -> None:
    data = [[1, 2, 3, NAN], [1, 2, 3, 4], [NAN, 2, 3, 4]]
    assert krippendorff_alpha(data, "interval").alpha == pytest.approx(1.0)


def test_nominal_alpha_of_two_complete_raters_is_scotts_pi_corrected_for_sample_size() -> None:
    # Identity, not a published value: with two coders and no gaps, D_o = 1 - p_o and
    # D_e = n / (n - 1) * (1 - p_e), so alpha = 1 - (n - 1) / n * (1 - pi) (Scott's pi).
    a = [1, 1, 2, 2, 3, 3, 1, 2]
    b = [1, 2, 2, 2, 3, 1, 1, 2]
    pooled = np.array(a + b)
    p_e = sum((pooled == c).mean() ** 2 for c in (1, 2, 3))
    p_o = np.mean(np.array(a) == np.array(b))
    pi = (p_o - p_e) / (1 - p_e)
    n = len(pooled)
    assert krippendorff_alpha([a, b]).alpha == pytest.approx(1 - (n - 1) / n * (1 - pi))


@pytest.mark.parametrize(
    ("data", "level", "error", "message"),
    [
        ([[1, 2, 3]], "nominal", InsufficientDataError, r"data: need at least 2 raters"),
        ([[1], [2]], "nominal", InsufficientDataError, r"data: need at least 2 units"),
        ([[NAN, NAN], [NAN, NAN]], "nominal", InsufficientDataError, r"rated by two or more"),
        ([[1, 2], [NAN, 2]], "nominal", InsufficientDataError, r"rated by two or more"),
        ([[2, 2], [2, 2]], "interval", InsufficientDataError, r"every pairable value is the same"),
        ([[-1, 2], [1, 2]], "ratio", EngineError, r"data: ratio-level values must be non-neg"),
        ([[1, 2], [1, 2]], "cardinal", EngineError, r"level: must be one of"),
        ([[1, np.inf], [1, 2]], "nominal", EngineError, r"data: contains infinite values"),
    ],
)
def test_krippendorff_alpha_rejects_too_little_or_malformed_data(
    data: object, level: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        krippendorff_alpha(data, level)  # type: ignore[arg-type]


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    level=st.sampled_from(["nominal", "ordinal", "interval", "ratio"]),
)
def test_krippendorff_alpha_does_not_depend_on_the_order_of_raters_or_units(
    seed: int, level: str
) -> None:
    rng = np.random.default_rng(seed)
    permuted = KRIPPENDORFF_2011[rng.permutation(4)][:, rng.permutation(12)]
    assert krippendorff_alpha(permuted, level).alpha == pytest.approx(  # type: ignore[arg-type]
        krippendorff_alpha(KRIPPENDORFF_2011, level).alpha  # type: ignore[arg-type]
    )


# --- bootstrap ------------------------------------------------------------------------------


def test_bootstrap_ci_of_a_mean_is_close_to_the_t_interval_for_a_large_normal_sample() -> None:
    sample = np.random.default_rng(11).normal(10.0, 2.0, size=400)
    result = bootstrap_ci(sample, np.mean, rng=1)
    t_low, t_high = sps.t.interval(0.95, 399, loc=sample.mean(), scale=sps.sem(sample))
    assert result.estimate == pytest.approx(sample.mean())
    assert result.low == pytest.approx(t_low, abs=0.03)
    assert result.high == pytest.approx(t_high, abs=0.03)
    assert (result.method, result.confidence, result.n_resamples) == ("BCa", 0.95, 9999)


def test_bootstrap_ci_is_reproducible_with_a_seed_and_matches_scipy() -> None:
    sample = np.random.default_rng(3).exponential(size=60)
    first = bootstrap_ci(sample, np.median, method="percentile", rng=42)
    second = bootstrap_ci(sample, np.median, method="percentile", rng=42)
    direct = sps.bootstrap(
        (sample,), np.median, method="percentile", rng=np.random.default_rng(42)
    ).confidence_interval
    assert (first.low, first.high) == (second.low, second.high)
    assert (first.low, first.high) == pytest.approx((direct.low, direct.high))
    assert first.low <= first.estimate <= first.high


def test_bootstrap_ci_accepts_a_statistic_without_an_axis_argument() -> None:
    sample = np.arange(30.0)
    result = bootstrap_ci(
        sample, lambda x: float(np.std(x)), method="basic", rng=0, n_resamples=300
    )
    assert result.method == "basic"
    assert result.low < result.estimate < result.high


@pytest.mark.parametrize(
    ("values", "kwargs", "error", "message"),
    [
        ([1.0, 1.0, 1.0], {}, InsufficientDataError, r"values: every value is the same"),
        ([1.0], {}, InsufficientDataError, r"values: need at least 2 values, got 1"),
        ([1.0, NAN, 2.0], {}, EngineError, r"values: contains NaN"),
        ([1.0, 2.0], {"method": "studentized"}, EngineError, r"method: must be 'BCa'"),
        ([1.0, 2.0], {"confidence": 95}, EngineError, r"confidence: must lie strictly"),
        ([1.0, 2.0], {"n_resamples": 1}, EngineError, r"n_resamples: need at least 2"),
    ],
)
def test_bootstrap_ci_rejects_unusable_input(
    values: list[float], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        bootstrap_ci(values, np.mean, **kwargs)  # type: ignore[arg-type]


def test_bootstrap_ci_reports_a_degenerate_bootstrap_distribution_as_an_error() -> None:
    # The median of this sample is 1 in essentially every resample.
    sample = [1.0] * 30 + [2.0]
    with pytest.raises(InsufficientDataError, match=r"values: the bootstrap distribution"):
        bootstrap_ci(sample, np.median, rng=0)


# --- percentile rank ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"), [("rank", 70.0), ("weak", 80.0), ("strict", 40.0), ("mean", 60.0)]
)
def test_percentile_rank_matches_the_scipy_documentation_example(
    kind: str, expected: float
) -> None:
    # scipy.stats.percentileofscore documentation: peers [1, 2, 3, 3, 4], score 3.
    result = percentile_rank([1, 2, 3, 3, 4], 3, kind)  # type: ignore[arg-type]
    assert result.percentile == pytest.approx(expected)
    assert (result.kind, result.n_peers) == (kind, 5)


def test_funders_see_the_weak_kind_by_default() -> None:
    assert percentile_rank([1, 2, 3, 3, 4], 3).kind == "weak"
    assert percentile_rank([1, 2, 3, 3, 4], 4).percentile == pytest.approx(100.0)


def test_percentile_rank_leaves_out_peers_without_a_score() -> None:
    result = percentile_rank([1, NAN, 2, 3, 3, 4, NAN], 3)
    assert (result.percentile, result.n_peers) == (pytest.approx(80.0), 5)


@pytest.mark.parametrize(
    ("peers", "score", "kind", "error", "message"),
    [
        ([NAN, NAN], 1.0, "weak", InsufficientDataError, r"peer_scores: no peer has a score"),
        ([], 1.0, "weak", InsufficientDataError, r"peer_scores: no peer has a score"),
        ([1.0, np.inf], 1.0, "weak", EngineError, r"peer_scores: contains infinite values"),
        ([1.0, 2.0], NAN, "weak", EngineError, r"score: must be finite"),
        ([1.0, 2.0], 1.0, "median", EngineError, r"kind: must be one of"),
        ([[1.0, 2.0]], 1.0, "weak", ShapeMismatchError, r"peer_scores: must be a 1-D array"),
    ],
)
def test_percentile_rank_rejects_unusable_input(
    peers: object, score: float, kind: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        percentile_rank(peers, score, kind)  # type: ignore[arg-type]


# --- rank stability -------------------------------------------------------------------------


def _random_domain_scores(seed: int, n_orgs: int = 60, n_domains: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 100, size=(n_orgs, n_domains))
    scores[rng.random(scores.shape) < 0.1] = NAN
    scores[np.isnan(scores).all(axis=1), 0] = 50.0
    return scores


def test_rank_stability_renormalises_weights_over_available_domains() -> None:
    scores = np.array([[80.0, NAN, 40.0], [60.0, 60.0, 60.0], [NAN, 90.0, NAN]])
    result = rank_stability(scores, [2.0, 1.0, 1.0], n_draws=50, rng=0, top_k=1)
    np.testing.assert_allclose(result.published_score, [(2 * 80 + 40) / 3, 60.0, 90.0])
    np.testing.assert_array_equal(result.published_rank, [2.0, 3.0, 1.0])


def test_rank_stability_gives_tied_organisations_their_average_rank() -> None:
    scores = np.array([[50.0, 50.0], [70.0, 70.0], [50.0, 50.0], [10.0, 10.0]])
    result = rank_stability(scores, [1.0, 1.0], n_draws=20, rng=0, top_k=2)
    np.testing.assert_array_equal(result.published_rank, [2.5, 1.0, 2.5, 4.0])
    np.testing.assert_array_equal(result.median_rank, [2.5, 1.0, 2.5, 4.0])
    np.testing.assert_allclose(result.kendall_tau, 1.0)


def test_rank_stability_summaries_are_consistent() -> None:
    result = rank_stability(_random_domain_scores(1), [3, 2, 2, 1, 1], n_draws=400, rng=7)
    assert result.kendall_tau.shape == (400,)
    assert np.all((result.kendall_tau >= -1) & (result.kendall_tau <= 1))
    assert np.all(result.rank_low <= result.median_rank)
    assert np.all(result.median_rank <= result.rank_high)
    assert np.all((result.p_top_k >= 0) & (result.p_top_k <= 1))
    # continuous scores: no ties, so exactly top_k organisations are in the top k per draw
    assert result.p_top_k.sum() == pytest.approx(result.top_k)
    assert (result.n_draws, result.n_organisations, result.concentration) == (400, 60, 100.0)


def test_rank_stability_is_reproducible_with_a_seed() -> None:
    scores = _random_domain_scores(2)
    first = rank_stability(scores, [1, 1, 1, 1, 1], n_draws=100, rng=5)
    second = rank_stability(scores, [1, 1, 1, 1, 1], n_draws=100, rng=5)
    np.testing.assert_array_equal(first.kendall_tau, second.kendall_tau)
    np.testing.assert_array_equal(first.rank_high, second.rank_high)


def test_rank_stability_spreads_ranks_more_when_concentration_is_low() -> None:
    scores = _random_domain_scores(3)
    tight = rank_stability(scores, [1, 1, 1, 1, 1], n_draws=300, concentration=1000.0, rng=1)
    loose = rank_stability(scores, [1, 1, 1, 1, 1], n_draws=300, concentration=2.0, rng=1)
    assert np.median(loose.kendall_tau) < np.median(tight.kendall_tau)
    assert (loose.rank_high - loose.rank_low).mean() > (tight.rank_high - tight.rank_low).mean()


def test_a_zero_weight_domain_is_the_same_as_no_domain_at_all() -> None:
    scores = np.random.default_rng(4).uniform(0, 100, size=(30, 5))
    result = rank_stability(scores, [1, 0, 1, 1, 1], n_draws=50, rng=0)
    expected = rank_stability(np.delete(scores, 1, axis=1), [1, 1, 1, 1], n_draws=50, rng=0)
    np.testing.assert_allclose(result.published_score, expected.published_score)
    np.testing.assert_array_equal(result.rank_low, expected.rank_low)
    np.testing.assert_allclose(result.kendall_tau, expected.kendall_tau)


@PROPERTY
@given(
    scores=hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, 12), st.integers(1, 4)),
        elements=st.integers(0, 100).map(float),
    ),
    raw_weights=st.lists(st.integers(1, 5), min_size=4, max_size=4),
)
def test_rank_stability_with_huge_concentration_keeps_every_published_rank(
    scores: np.ndarray, raw_weights: list[int]
) -> None:
    weights = np.array(raw_weights[: scores.shape[1]], dtype=float)
    published = scores @ (weights / weights.sum())
    gaps = np.diff(np.unique(published))
    # Near-ties between different rows could legitimately swap under a tiny perturbation, and
    # different rows with equal published scores could split: keep ties to identical rows.
    assume(np.ptp(published) > 0 and (gaps.size == 0 or gaps.min() > 1e-3))
    assume(len(np.unique(published)) == len({tuple(r) for r in scores}))
    result = rank_stability(scores, weights, n_draws=30, concentration=1e12, rng=0)
    np.testing.assert_array_equal(result.median_rank, result.published_rank)
    np.testing.assert_array_equal(result.rank_low, result.published_rank)
    np.testing.assert_array_equal(result.rank_high, result.published_rank)
    np.testing.assert_allclose(result.kendall_tau, 1.0)


@PROPERTY
@given(
    reference=hnp.arrays(np.int64, st.integers(2, 40), elements=st.integers(0, 6)),
    seed=st.integers(0, 2**32 - 1),
)
def test_vectorised_kendall_tau_matches_scipy_including_ties(
    reference: np.ndarray, seed: int
) -> None:
    assume(np.ptp(reference) > 0)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, 6, size=(8, reference.size))
    draws[0] = reference  # identical ranking
    draws[1] = -reference  # reversed ranking
    keep = np.ptp(draws, axis=1) > 0
    ranks = sps.rankdata(draws[keep], axis=1)
    ours = _kendall_tau_b(sps.rankdata(reference), ranks)
    theirs = [sps.kendalltau(reference, row).statistic for row in draws[keep]]
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize(
    ("scores", "weights", "kwargs", "error", "message"),
    [
        ([[1.0, 2.0]], [1, 1], {}, InsufficientDataError, r"need at least 2 organisations"),
        ([[1.0, 2.0], [3.0, 4.0]], [1, 1, 1], {}, ShapeMismatchError, r"weights: need one"),
        ([[1.0, 2.0], [3.0, 4.0]], [1, -1], {}, EngineError, r"weights: must be non-negative"),
        ([[1.0, 2.0], [3.0, 4.0]], [0, 0], {}, EngineError, r"weights: must not all be zero"),
        ([[1.0, 2.0], [3.0, 4.0]], [1, NAN], {}, EngineError, r"weights: contains NaN"),
        ([[NAN, NAN], [3.0, 4.0]], [1, 1], {}, InsufficientDataError, r"organisation row 0"),
        ([[1.0, NAN], [3.0, 4.0]], [0, 1], {}, InsufficientDataError, r"organisation row 0"),
        ([[2.0, 2.0], [2.0, 2.0]], [1, 1], {}, InsufficientDataError, r"the same published"),
        ([[1.0, np.inf], [3.0, 4.0]], [1, 1], {}, EngineError, r"domain_scores: contains inf"),
        ([[1.0, 2.0], [3.0, 4.0]], [1, 1], {"n_draws": 0}, EngineError, r"n_draws: must be"),
        ([[1.0, 2.0], [3.0, 4.0]], [1, 1], {"top_k": 0}, EngineError, r"top_k: must be"),
        ([[1.0, 2.0], [3.0, 4.0]], [1, 1], {"concentration": 0}, EngineError, r"concentration"),
    ],
)
def test_rank_stability_rejects_unusable_input(
    scores: object,
    weights: object,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        rank_stability(scores, weights, **kwargs)  # type: ignore[arg-type]


# --- self-assessment vs verification --------------------------------------------------------


def _self_and_verified(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two discrete 0-4 indicators and one continuous 0-100 one; organisations over-rate."""
    rng = np.random.default_rng(seed)
    verified = np.column_stack(
        [rng.integers(0, 5, 40), rng.integers(0, 5, 40), rng.uniform(20, 80, 40)]
    ).astype(float)
    own = verified.copy()
    own[:, :2] = np.clip(own[:, :2] + rng.integers(0, 2, size=(40, 2)), 0, 4)
    own[:, 2] += rng.normal(4.0, 3.0, 40)
    own[3, 0] = NAN
    verified[5, 2] = NAN
    return own, verified


def test_agreement_uses_quadratic_kappa_for_levels_and_icc_for_continuous_scores() -> None:
    own, verified = _self_and_verified(0)
    result = agreement(own, verified, indicator_ids=["gov", "fin", "impact"])
    assert result.indicator_method == ("kappa_quadratic", "kappa_quadratic", "icc2_1")
    complete0 = ~np.isnan(own[:, 0])
    kappa = cohen_kappa(
        own[complete0, 0].astype(int), verified[complete0, 0].astype(int), "quadratic"
    ).kappa
    complete2 = ~np.isnan(verified[:, 2])
    icc2 = icc(np.column_stack([own[complete2, 2], verified[complete2, 2]]))["ICC2"].value
    assert result.indicator_agreement[0] == pytest.approx(kappa)
    assert result.indicator_agreement[2] == pytest.approx(icc2)
    assert result.indicator_note == ("", "", "")


def test_agreement_gaps_are_self_minus_verified_over_complete_pairs() -> None:
    own, verified = _self_and_verified(1)
    result = agreement(own, verified)
    diff = own - verified
    np.testing.assert_allclose(result.indicator_mean_gap, np.nanmean(diff, axis=0))
    np.testing.assert_allclose(result.org_mean_gap, np.nanmean(diff, axis=1))
    np.testing.assert_array_equal(result.indicator_n_pairs, [39, 40, 39])
    assert result.n_pairs == 118
    assert result.org_ids[:3] == ("0", "1", "2")


def test_agreement_tests_over_rating_with_a_one_sided_wilcoxon() -> None:
    own, verified = _self_and_verified(2)
    result = agreement(own, verified)
    diff = (own - verified)[~np.isnan(own - verified)]
    expected = sps.wilcoxon(diff, alternative="greater")
    assert result.over_rating is not None
    assert result.over_rating.statistic == pytest.approx(expected.statistic)
    assert result.over_rating.pvalue == pytest.approx(expected.pvalue)
    assert result.over_rating.pvalue < 0.001
    assert (result.over_rating.n_pairs, result.over_rating.alternative) == (118, "greater")
    assert result.over_rating.n_nonzero == np.count_nonzero(diff)


def test_agreement_without_any_difference_has_no_over_rating_test_and_says_why() -> None:
    verified = np.array([[1.0, 2.0], [3.0, 4.0], [2.0, 0.0]])
    result = agreement(verified, verified.copy())
    assert result.over_rating is None
    assert "agrees exactly" in result.over_rating_note
    np.testing.assert_allclose(result.indicator_agreement, 1.0)


def test_agreement_explains_an_indicator_it_cannot_assess_instead_of_guessing() -> None:
    own = np.array([[1.0, 2.0], [NAN, 3.0], [NAN, 1.0]])
    verified = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 2.0]])
    result = agreement(own, verified)
    assert np.isnan(result.indicator_agreement[0])
    assert result.indicator_method[0] == ""
    assert result.indicator_note[0] == "need at least 2 complete pairs, got 1"
    assert result.indicator_method[1] == "kappa_quadratic"


def test_agreement_can_be_told_an_indicator_is_continuous() -> None:
    own, verified = _self_and_verified(3)
    result = agreement(own, verified, discrete=[False, True, False])
    assert result.indicator_method == ("icc2_1", "kappa_quadratic", "icc2_1")


@pytest.mark.parametrize(
    ("own", "verified", "kwargs", "error", "message"),
    [
        (np.ones((2, 2)), np.ones((2, 3)), {}, ShapeMismatchError, r"must have the same shape"),
        (np.full((2, 2), NAN), np.ones((2, 2)), {}, InsufficientDataError, r"no complete pair"),
        (np.ones((2, 2)), np.ones((2, 2)), {"org_ids": ["a"]}, ShapeMismatchError, r"org_ids"),
        (
            np.ones((2, 2)),
            np.ones((2, 2)),
            {"indicator_ids": ["a", "b", "c"]},
            ShapeMismatchError,
            r"indicator_ids: need 2 ids, got 3",
        ),
        (np.ones((2, 2)), np.ones((2, 2)), {"discrete": [True]}, ShapeMismatchError, "discrete"),
        (np.ones(2), np.ones(2), {}, ShapeMismatchError, r"self_scores: must be a 2-D array"),
    ],
)
def test_agreement_rejects_misaligned_input(
    own: np.ndarray,
    verified: np.ndarray,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        agreement(own, verified, **kwargs)  # type: ignore[arg-type]
