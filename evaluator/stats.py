"""Reliability, agreement, intervals, percentiles and rank stability.

Every function takes plain arrays (or sequences) and returns a frozen ``*Result`` from
:mod:`evaluator.results`. Bad input raises a subclass of :class:`ValueError` whose message names
the argument; a statistic that is undefined for the data (no variance, too few units) raises
:class:`~evaluator.results.InsufficientDataError` rather than returning NaN. The few NaNs that
results do carry are documented on the result and come with a count or a note saying why.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

# F quantiles and tails through scipy.special.fdtri / fdtrc: the functions scipy.stats.f's ppf
# and sf call, without its argument machinery (~0.1 ms a call, and the quality page makes
# hundreds).
from scipy import sparse, special
from scipy import stats as sps

from evaluator.results import (
    AgreementResult,
    BootstrapCIResult,
    CronbachAlphaResult,
    EngineError,
    FloatArray,
    ICCFormResult,
    ICCResult,
    InsufficientDataError,
    IntArray,
    ItemDistributionResult,
    KappaResult,
    KrippendorffAlphaResult,
    PercentileRankResult,
    RankChangeResult,
    RankStabilityResult,
    ShapeMismatchError,
    SignedRankResult,
)

__all__ = [
    "agreement",
    "bootstrap_ci",
    "cohen_kappa",
    "cohen_kappa_bootstrap",
    "cohen_kappa_bootstraps",
    "cronbach_alpha",
    "cronbach_alpha_bootstrap",
    "cronbach_alpha_bootstraps",
    "icc",
    "item_distribution",
    "krippendorff_alpha",
    "krippendorff_alpha_bootstrap",
    "krippendorff_alpha_bootstraps",
    "mean_bootstraps",
    "percentile_rank",
    "rank_change",
    "rank_stability",
]

KappaWeights = Literal["linear", "quadratic"] | None
KrippendorffLevel = Literal["nominal", "ordinal", "interval", "ratio"]
BootstrapMethod = Literal["BCa", "percentile", "basic"]
PercentileKind = Literal["rank", "weak", "strict", "mean"]

_BOOTSTRAP_METHODS = {"bca": "BCa", "percentile": "percentile", "basic": "basic"}
_PERCENTILE_KINDS = ("rank", "weak", "strict", "mean")
_KRIPPENDORFF_LEVELS = ("nominal", "ordinal", "interval", "ratio")
# Sums of squares below this share of the total are rounding noise, not variance.
_RELATIVE_ZERO = 1e-12
# agreement(): integer-valued indicators spanning at most this many levels are treated as discrete.
_MAX_DISCRETE_LEVELS = 11
# rank_stability(): draws x organisations entries handled per Kendall tau chunk.
_TAU_CHUNK_ENTRIES = 2_000_000


# --- input validation -----------------------------------------------------------------------


def _float_array(values: ArrayLike, name: str, ndim: int) -> FloatArray:
    """``values`` as a float array of ``ndim`` dimensions; NaN allowed, infinities not."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"{name}: must be numeric ({exc})") from exc
    if array.ndim != ndim:
        shape = "a 1-D array" if ndim == 1 else f"a {ndim}-D array"
        raise ShapeMismatchError(f"{name}: must be {shape}, got shape {array.shape}")
    if np.isinf(array).any():
        raise EngineError(f"{name}: contains infinite values")
    return array


def _check_confidence(confidence: float, name: str = "confidence") -> float:
    value = float(confidence)
    if not 0.0 < value < 1.0:
        raise EngineError(f"{name}: must lie strictly between 0 and 1, got {confidence!r}")
    return value


def _complete_rows(matrix: FloatArray, name: str, *, rows: str, columns: str) -> FloatArray:
    """Drop rows with any NaN; require at least 2 rows and 2 columns of what is left."""
    if matrix.shape[1] < 2:
        raise InsufficientDataError(f"{name}: need at least 2 {columns}, got {matrix.shape[1]}")
    complete = matrix[~np.isnan(matrix).any(axis=1)]
    if complete.shape[0] < 2:
        dropped = matrix.shape[0] - complete.shape[0]
        detail = f" ({dropped} dropped for missing values)" if dropped else ""
        raise InsufficientDataError(
            f"{name}: need at least 2 {rows} with no missing value, got {complete.shape[0]}{detail}"
        )
    return complete


# --- Cronbach's alpha -----------------------------------------------------------------------


def _alpha_from_covariance(cov: FloatArray) -> float:
    k = cov.shape[0]
    return float(k / (k - 1) * (1.0 - float(np.trace(cov)) / float(cov.sum())))


def cronbach_alpha(items: ArrayLike, *, confidence: float = 0.95) -> CronbachAlphaResult:
    r"""Cronbach's alpha of a set of items, with its F-based interval and item diagnostics.

    Parameters
    ----------
    items : array_like, shape (n_subjects, n_items)
        One row per subject (an organisation, a respondent), one column per item. Rows that
        contain a NaN are dropped listwise before anything is computed (``n_dropped`` says how
        many); infinite values are rejected.
    confidence : float, default 0.95
        Coverage of the confidence interval.

    Returns
    -------
    CronbachAlphaResult
        ``alpha``, ``ci`` (Feldt's F interval), ``item_total`` (corrected item-total
        correlations: each item against the sum of the other items), ``alpha_if_deleted`` (NaN
        for every item when there are only two items), ``n_subjects``, ``n_items``.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 items or 2 complete subjects, an item with no variance, or a total (or
        rest) score with no variance.

    Notes
    -----
    With :math:`k` items, item variances :math:`s_j^2` and total-score variance
    :math:`s_T^2` (all with :math:`n - 1` in the denominator),

    .. math:: \alpha = \frac{k}{k-1}\left(1 - \frac{\sum_j s_j^2}{s_T^2}\right).

    The interval is Feldt's: with :math:`d_1 = n - 1`, :math:`d_2 = (n - 1)(k - 1)` and
    :math:`F_q` the upper :math:`q` quantile of :math:`F(d_1, d_2)`,
    :math:`[1 - (1 - \alpha) F_{(1-c)/2},\; 1 - (1 - \alpha) F_{(1+c)/2}]`, as in R ``psych``
    and pingouin.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       Psychometrika, 16(3), 297-334.
    .. [2] Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
       coefficient alpha. Applied Psychological Measurement, 11(1), 93-103.
    """
    level = _check_confidence(confidence)
    matrix = _float_array(items, "items", 2)
    data = _complete_rows(matrix, "items", rows="subjects", columns="items")
    n, k = int(data.shape[0]), int(data.shape[1])
    n_dropped = matrix.shape[0] - n

    spread = np.ptp(data, axis=0)
    constant = np.flatnonzero(spread == 0)
    if constant.size:
        raise InsufficientDataError(
            f"items: column {int(constant[0])} has no variance (every subject gave the same value)"
        )
    cov = np.cov(data, rowvar=False)
    total = data.sum(axis=1)
    if np.ptp(total) == 0:
        raise InsufficientDataError("items: the total score has no variance")
    alpha = _alpha_from_covariance(cov)

    rest = total[:, None] - data
    rest_constant = np.flatnonzero(np.ptp(rest, axis=0) == 0)
    if rest_constant.size:
        raise InsufficientDataError(
            f"items: the sum of the items other than column {int(rest_constant[0])} has no variance"
        )
    centred = data - data.mean(axis=0)
    rest_centred = rest - rest.mean(axis=0)
    item_total = (centred * rest_centred).sum(axis=0) / np.sqrt(
        (centred**2).sum(axis=0) * (rest_centred**2).sum(axis=0)
    )

    if k > 2:
        keep = ~np.eye(k, dtype=bool)
        alpha_if_deleted = np.array(
            [_alpha_from_covariance(cov[np.ix_(keep[j], keep[j])]) for j in range(k)]
        )
    else:
        alpha_if_deleted = np.full(k, np.nan)

    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1.0 - level) / 2.0
    low = 1.0 - (1.0 - alpha) * float(special.fdtri(df1, df2, 1.0 - tail))
    high = 1.0 - (1.0 - alpha) * float(special.fdtri(df1, df2, tail))
    return CronbachAlphaResult(
        alpha=alpha,
        ci=(low, high),
        confidence=level,
        item_total=item_total.astype(np.float64),
        alpha_if_deleted=alpha_if_deleted.astype(np.float64),
        n_subjects=int(n),
        n_items=int(k),
        n_dropped=int(n_dropped),
    )


# --- intraclass correlation -----------------------------------------------------------------

_ICC_DESCRIPTIONS = {
    "ICC1": "single rater, one-way random (absolute agreement)",
    "ICC2": "single rater, two-way random (absolute agreement)",
    "ICC3": "single rater, two-way mixed (consistency)",
    "ICC1k": "mean of k raters, one-way random (absolute agreement)",
    "ICC2k": "mean of k raters, two-way random (absolute agreement)",
    "ICC3k": "mean of k raters, two-way mixed (consistency)",
}


def _single_from_f(f_stat: float, k: int) -> float:
    """(F - 1) / (F + k - 1), written so that F = inf gives 1."""
    return 1.0 - k / (f_stat + k - 1.0)


def _average_from_f(f_stat: float) -> float:
    """1 - 1 / F; F = inf gives 1."""
    return 1.0 - 1.0 / f_stat


def icc(ratings: ArrayLike, *, confidence: float = 0.95) -> ICCResult:
    r"""The six Shrout & Fleiss intraclass correlations, with F tests and intervals.

    Parameters
    ----------
    ratings : array_like, shape (n_targets, n_raters)
        One row per target (the thing rated), one column per rater. Targets with any missing
        (NaN) rating are dropped listwise (``n_dropped`` says how many).
    confidence : float, default 0.95
        Coverage of the confidence intervals.

    Returns
    -------
    ICCResult
        Indexable by name: ``result["ICC1"]`` ... ``result["ICC3k"]``, each an
        :class:`~evaluator.results.ICCFormResult` with ``value``, ``f``, ``df1``, ``df2``,
        ``pvalue`` (of H0: ICC = 0) and ``ci``.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 complete targets or 2 raters, or no variance between targets.

    Notes
    -----
    From the two-way ANOVA mean squares for targets (:math:`MS_R`, :math:`n - 1` df), raters
    (:math:`MS_C`, :math:`k - 1` df), residual (:math:`MS_E`, :math:`(n-1)(k-1)` df) and the
    one-way within-target mean square :math:`MS_W = (SS_C + SS_E) / (n(k-1))`:

    .. math::

        ICC(1,1) &= \frac{MS_R - MS_W}{MS_R + (k-1) MS_W}, \qquad
        ICC(1,k) = \frac{MS_R - MS_W}{MS_R} \\
        ICC(2,1) &= \frac{MS_R - MS_E}{MS_R + (k-1) MS_E + k (MS_C - MS_E) / n}, \qquad
        ICC(2,k) = \frac{MS_R - MS_E}{MS_R + (MS_C - MS_E) / n} \\
        ICC(3,1) &= \frac{MS_R - MS_E}{MS_R + (k-1) MS_E}, \qquad
        ICC(3,k) = \frac{MS_R - MS_E}{MS_R}

    The F statistics are :math:`MS_R / MS_W` (ICC1) and :math:`MS_R / MS_E` (ICC2, ICC3). The
    intervals follow Shrout & Fleiss (1979) and McGraw & Wong (1996), as computed by R
    ``psych::ICC`` and pingouin; ICC2 uses Satterthwaite's approximate degrees of freedom.
    With perfect consistency (:math:`MS_E = 0`) F is infinite, the p-value 0 and the
    interval for ICC3 collapses to 1.

    References
    ----------
    .. [1] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
       rater reliability. Psychological Bulletin, 86(2), 420-428.
    .. [2] McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
       correlation coefficients. Psychological Methods, 1(1), 30-46.
    """
    level = _check_confidence(confidence)
    matrix = _float_array(ratings, "ratings", 2)
    data = _complete_rows(matrix, "ratings", rows="targets", columns="raters")
    n, k = int(data.shape[0]), int(data.shape[1])
    n_dropped = matrix.shape[0] - n

    grand = data.mean()
    row_means = data.mean(axis=1)
    col_means = data.mean(axis=0)
    ss_total = float(((data - grand) ** 2).sum())
    ss_rows = float(k * ((row_means - grand) ** 2).sum())
    ss_cols = float(n * ((col_means - grand) ** 2).sum())
    residual = data - row_means[:, None] - col_means[None, :] + grand
    ss_error = float((residual**2).sum())
    if ss_total == 0.0:
        raise InsufficientDataError("ratings: every rating is the same; the ICC is undefined")
    if ss_rows <= _RELATIVE_ZERO * ss_total:
        raise InsufficientDataError(
            "ratings: no variance between targets (every target has the same mean rating)"
        )
    # Rounding leaves ~1e-30 where the exact value is 0; snap it so F becomes exactly inf.
    if ss_error <= _RELATIVE_ZERO * ss_total:
        ss_error = 0.0
    if ss_cols <= _RELATIVE_ZERO * ss_total:
        ss_cols = 0.0

    df_rows, df_error, df_within = n - 1, (n - 1) * (k - 1), n * (k - 1)
    ms_rows = ss_rows / df_rows
    ms_cols = ss_cols / (k - 1)
    ms_error = ss_error / df_error
    ms_within = (ss_cols + ss_error) / df_within

    tail = 1.0 - (1.0 - level) / 2.0
    with np.errstate(divide="ignore"):
        f1 = float(np.float64(ms_rows) / np.float64(ms_within))
        f3 = float(np.float64(ms_rows) / np.float64(ms_error))
    p1 = float(special.fdtrc(df_rows, df_within, f1))
    p3 = float(special.fdtrc(df_rows, df_error, f3))

    icc1 = (ms_rows - ms_within) / (ms_rows + (k - 1) * ms_within)
    icc1k = (ms_rows - ms_within) / ms_rows
    icc2 = (ms_rows - ms_error) / (ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n)
    icc2k = (ms_rows - ms_error) / (ms_rows + (ms_cols - ms_error) / n)
    icc3 = (ms_rows - ms_error) / (ms_rows + (k - 1) * ms_error)
    icc3k = (ms_rows - ms_error) / ms_rows

    f1_low = f1 / float(special.fdtri(df_rows, df_within, tail))
    f1_high = f1 * float(special.fdtri(df_within, df_rows, tail))
    f3_low = f3 / float(special.fdtri(df_rows, df_error, tail))
    f3_high = f3 * float(special.fdtri(df_error, df_rows, tail))

    # ICC(2,1): Satterthwaite df for the denominator (McGraw & Wong 1996, Table 7).
    if ms_error == 0.0:
        v = float(k - 1)  # the limit of the expression below as MS_E -> 0
    else:
        fj = ms_cols / ms_error
        base = n * (1 + (k - 1) * icc2) - k * icc2
        v_num = (k - 1) * (n - 1) * (k * icc2 * fj + base) ** 2
        v_den = (n - 1) * k**2 * icc2**2 * fj**2 + base**2
        v = v_num / v_den
    f2_high = float(special.fdtri(df_rows, v, tail))
    f2_low = float(special.fdtri(v, df_rows, tail))
    spread = k * ms_cols + (k * n - k - n) * ms_error
    icc2_low = n * (ms_rows - f2_high * ms_error) / (f2_high * spread + n * ms_rows)
    icc2_high = n * (f2_low * ms_rows - ms_error) / (spread + n * f2_low * ms_rows)

    def stepped_up(single: float) -> float:
        return single * k / (1.0 + single * (k - 1))

    rows: list[tuple[str, float, float, int, float, tuple[float, float]]] = [
        ("ICC1", icc1, f1, df_within, p1, (_single_from_f(f1_low, k), _single_from_f(f1_high, k))),
        ("ICC2", icc2, f3, df_error, p3, (icc2_low, icc2_high)),
        ("ICC3", icc3, f3, df_error, p3, (_single_from_f(f3_low, k), _single_from_f(f3_high, k))),
        ("ICC1k", icc1k, f1, df_within, p1, (_average_from_f(f1_low), _average_from_f(f1_high))),
        ("ICC2k", icc2k, f3, df_error, p3, (stepped_up(icc2_low), stepped_up(icc2_high))),
        ("ICC3k", icc3k, f3, df_error, p3, (_average_from_f(f3_low), _average_from_f(f3_high))),
    ]
    forms = []
    for name, value, f_stat, df2, pvalue, (low, high) in rows:
        if not all(math.isfinite(x) for x in (value, pvalue, low, high)):
            raise InsufficientDataError(
                f"ratings: {name} is undefined for these ratings (degenerate mean squares)"
            )
        forms.append(
            ICCFormResult(
                name=name,
                description=_ICC_DESCRIPTIONS[name],
                value=float(value),
                f=float(f_stat),
                df1=int(df_rows),
                df2=int(df2),
                pvalue=pvalue,
                ci=(float(low), float(high)),
            )
        )
    return ICCResult(
        forms=tuple(forms),
        n_targets=int(n),
        n_raters=int(k),
        n_dropped=int(n_dropped),
        confidence=level,
    )


# --- Cohen's kappa --------------------------------------------------------------------------


def _is_missing(label: object) -> bool:
    kind = type(label)  # the common exact types first: an ABC check costs ~1 us per label
    if kind is float:
        return label != label  # NaN
    if kind is int or kind is str:
        return False
    if label is None:
        return True
    if isinstance(label, numbers.Real) and not isinstance(label, bool):
        return math.isnan(float(label))
    return False


def _is_number(label: object) -> bool:
    return isinstance(label, numbers.Real) and not isinstance(label, bool)


def _as_labels(values: Sequence[Hashable] | ArrayLike, name: str) -> list[Hashable]:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ShapeMismatchError(f"{name}: must be 1-D, got shape {values.shape}")
        labels: list[Hashable] = values.tolist()
        if values.dtype.kind in "biuf":
            return labels  # numbers: hashable, no need to look at each
    elif isinstance(values, str | bytes):
        raise EngineError(f"{name}: must be a sequence of labels, not a string")
    else:
        try:
            labels = list(values)  # type: ignore[arg-type]
        except TypeError as exc:
            raise EngineError(f"{name}: must be a sequence of labels") from exc
    for label in labels:
        if not isinstance(label, Hashable):
            raise EngineError(f"{name}: labels must be hashable, got {type(label).__name__}")
    return labels


def cohen_kappa(
    a: Sequence[Hashable] | ArrayLike,
    b: Sequence[Hashable] | ArrayLike,
    weights: KappaWeights = None,
    *,
    categories: Sequence[Hashable] | None = None,
) -> KappaResult:
    r"""Cohen's kappa for two raters, unweighted or with linear / quadratic weights.

    Parameters
    ----------
    a, b : sequence of hashable, same length
        The two raters' labels for the same items. Labels may be any hashable values (numbers,
        strings, enums). ``None`` and NaN mark a missing rating; pairs with a missing rating
        are left out (``n`` counts the pairs used).
    weights : {None, "linear", "quadratic"}, default None
        Disagreement weights for ordered categories: :math:`|i - j|` or :math:`(i - j)^2`,
        where :math:`i, j` are positions in the category order.
    categories : sequence of hashable, optional
        The categories in order. Required for weighted kappa unless every label is a number
        (numbers are then sorted). Categories nobody used still count as steps on the scale.

    Returns
    -------
    KappaResult
        ``kappa``, ``n``, ``categories`` (the order used), ``weights`` and the weighted observed
        and chance agreement.

    Raises
    ------
    ShapeMismatchError
        ``a`` and ``b`` differ in length.
    InsufficientDataError
        Fewer than 2 complete pairs, or both raters used one and the same category (chance
        agreement is 1, so kappa is 0/0).
    EngineError
        Unordered labels with weights, or a label not in ``categories``.

    Notes
    -----
    With observed proportions :math:`p_{ij}`, marginals :math:`p_{i\cdot}, p_{\cdot j}` and
    disagreement weights :math:`w_{ij}` (:math:`1 - \delta_{ij}` when unweighted),

    .. math::

        \kappa_w = 1 - \frac{\sum_{ij} w_{ij} p_{ij}}{\sum_{ij} w_{ij} p_{i\cdot} p_{\cdot j}}.

    Unweighted, this is :math:`(p_o - p_e) / (1 - p_e)`.

    References
    ----------
    .. [1] Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
       Psychological Measurement, 20(1), 37-46.
    .. [2] Cohen, J. (1968). Weighted kappa: nominal scale agreement with provision for scaled
       disagreement or partial credit. Psychological Bulletin, 70(4), 213-220.
    """
    if weights not in (None, "linear", "quadratic"):
        raise EngineError(f"weights: must be None, 'linear' or 'quadratic', got {weights!r}")
    labels_a = _as_labels(a, "a")
    labels_b = _as_labels(b, "b")
    if len(labels_a) != len(labels_b):
        raise ShapeMismatchError(
            f"a, b: must have the same length, got {len(labels_a)} and {len(labels_b)}"
        )
    pairs = [
        (x, y)
        for x, y in zip(labels_a, labels_b, strict=True)
        if not (_is_missing(x) or _is_missing(y))
    ]
    if len(pairs) < 2:
        raise InsufficientDataError(f"a, b: need at least 2 complete pairs, got {len(pairs)}")

    observed = {label for pair in pairs for label in pair}
    order: list[Hashable]
    if categories is not None:
        order = list(_as_labels(categories, "categories"))
        if len(set(order)) != len(order):
            raise EngineError("categories: contains duplicates")
        unknown = observed.difference(order)
        if unknown:
            missing = ", ".join(sorted(map(repr, unknown)))
            raise EngineError(f"categories: does not include the label(s) {missing}")
    elif weights is not None:
        if not all(_is_number(label) for label in observed):
            raise EngineError(
                "categories: weighted kappa needs ordered categories; pass categories=... "
                "in scale order, or use numeric labels"
            )
        order = sorted(observed, key=float)  # type: ignore[arg-type]
    else:
        try:
            order = sorted(observed)  # type: ignore[type-var]
        except TypeError:
            seen: dict[Hashable, None] = {}
            for pair in pairs:
                seen.update(dict.fromkeys(pair))
            order = list(seen)

    index = {label: i for i, label in enumerate(order)}
    n_cat = len(order)
    codes_a = np.fromiter((index[x] for x, _ in pairs), dtype=np.intp, count=len(pairs))
    codes_b = np.fromiter((index[y] for _, y in pairs), dtype=np.intp, count=len(pairs))
    table = np.zeros((n_cat, n_cat), dtype=np.float64)
    np.add.at(table, (codes_a, codes_b), 1.0)
    table /= len(pairs)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0))

    i, j = np.indices((n_cat, n_cat))
    if weights is None:
        w = (i != j).astype(np.float64)
    elif weights == "linear":
        w = np.abs(i - j).astype(np.float64)
    else:
        w = ((i - j) ** 2).astype(np.float64)
    scale = float(w.max()) if n_cat > 1 else 1.0
    w = w / scale
    disagreement_obs = float((w * table).sum())
    disagreement_exp = float((w * expected).sum())
    if disagreement_exp <= 0.0:
        raise InsufficientDataError(
            "a, b: both raters used the same single category; kappa is undefined"
        )
    return KappaResult(
        kappa=1.0 - disagreement_obs / disagreement_exp,
        n=len(pairs),
        categories=tuple(order),
        weights=weights,
        observed_agreement=1.0 - disagreement_obs,
        expected_agreement=1.0 - disagreement_exp,
    )


# --- Krippendorff's alpha -------------------------------------------------------------------


def krippendorff_alpha(
    data: ArrayLike, level: KrippendorffLevel = "nominal"
) -> KrippendorffAlphaResult:
    r"""Krippendorff's alpha for any number of raters, with missing values.

    Parameters
    ----------
    data : array_like, shape (n_raters, n_units)
        Reliability data: one row per rater (coder, observer), one column per unit; NaN where a
        rater did not rate a unit. Values are numbers (codes for nominal data).
    level : {"nominal", "ordinal", "interval", "ratio"}, default "nominal"
        Level of measurement, which picks the difference function.

    Returns
    -------
    KrippendorffAlphaResult
        ``alpha``, the number of pairable units and values, and the observed and expected
        disagreements.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 raters or 2 units, fewer than 2 units with two or more values, or only
        one distinct value among the pairable values (no expected disagreement).
    EngineError
        An unknown level, infinite values, or negative values at the ratio level.

    Notes
    -----
    Units with fewer than two values are not pairable and are left out. With :math:`m_u`
    values in unit :math:`u` and :math:`n_{uc}` of them equal to :math:`c`, the coincidence
    matrix is

    .. math:: o_{ck} = \sum_u \frac{n_{uc} n_{uk} - [c = k]\, n_{uc}}{m_u - 1},

    computed as one matrix product. With :math:`n_c = \sum_k o_{ck}`, :math:`n = \sum_c n_c`
    and the squared difference :math:`\delta^2_{ck}` of the level (nominal
    :math:`[c \ne k]`; interval :math:`(c - k)^2`; ratio :math:`((c - k)/(c + k))^2`;
    ordinal :math:`(\sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2`),

    .. math:: \alpha = 1 - \frac{D_o}{D_e}
        = 1 - (n - 1) \frac{\sum_{ck} o_{ck} \delta^2_{ck}}
                           {\sum_{ck} n_c n_k \delta^2_{ck}}.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
       School for Communication Departmental Papers 43, University of Pennsylvania.
    .. [2] Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a standard
       reliability measure for coding data. Communication Methods and Measures, 1(1), 77-89.
    """
    if level not in _KRIPPENDORFF_LEVELS:
        raise EngineError(f"level: must be one of {', '.join(_KRIPPENDORFF_LEVELS)}, got {level!r}")
    matrix = _float_array(data, "data", 2)
    n_raters, n_units = matrix.shape
    if n_raters < 2:
        raise InsufficientDataError(f"data: need at least 2 raters (rows), got {n_raters}")
    if n_units < 2:
        raise InsufficientDataError(f"data: need at least 2 units (columns), got {n_units}")
    present = ~np.isnan(matrix)
    if level == "ratio" and (matrix[present] < 0).any():
        raise EngineError("data: ratio-level values must be non-negative")

    pairable = present.sum(axis=0) >= 2
    if int(pairable.sum()) < 2:
        raise InsufficientDataError(
            f"data: need at least 2 units rated by two or more raters, got {int(pairable.sum())}"
        )
    units = matrix[:, pairable].T  # (units, raters)
    mask = present[:, pairable].T
    values = np.unique(units[mask])
    if values.size < 2:
        raise InsufficientDataError(
            "data: every pairable value is the same; there is no expected disagreement"
        )
    n_values = values.size
    codes = np.searchsorted(values, np.where(mask, units, values[0]))
    unit_index = np.broadcast_to(np.arange(units.shape[0])[:, None], units.shape)
    counts = (
        np.bincount((unit_index * n_values + codes)[mask], minlength=units.shape[0] * n_values)
        .reshape(units.shape[0], n_values)
        .astype(np.float64)
    )
    m_u = counts.sum(axis=1)
    scaled = counts / (m_u - 1.0)[:, None]
    coincidence = scaled.T @ counts - np.diag(scaled.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    n_total = float(n_c.sum())

    if level == "nominal":
        delta2 = 1.0 - np.eye(n_values)
    elif level == "interval":
        delta2 = (values[:, None] - values[None, :]) ** 2
    elif level == "ratio":
        total = values[:, None] + values[None, :]
        diff = values[:, None] - values[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            delta2 = np.where(total == 0, 0.0, (diff / total) ** 2)
    else:  # ordinal
        cumulative = np.cumsum(n_c)
        lo = np.minimum.outer(np.arange(n_values), np.arange(n_values))
        hi = np.maximum.outer(np.arange(n_values), np.arange(n_values))
        between = cumulative[hi] - cumulative[lo] + n_c[lo]
        delta2 = (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2

    observed = float((coincidence * delta2).sum()) / n_total
    expected = float((np.outer(n_c, n_c) * delta2).sum()) / (n_total * (n_total - 1.0))
    if expected <= 0.0:
        raise InsufficientDataError("data: no expected disagreement; alpha is undefined")
    return KrippendorffAlphaResult(
        alpha=1.0 - observed / expected,
        level=level,
        n_units=int(units.shape[0]),
        n_values=round(n_total),
        observed_disagreement=observed,
        expected_disagreement=expected,
    )


# --- bootstrap ------------------------------------------------------------------------------


def bootstrap_ci(
    values: ArrayLike,
    statistic: Callable[..., Any],
    confidence: float = 0.95,
    method: BootstrapMethod = "BCa",
    rng: np.random.Generator | int | None = None,
    *,
    n_resamples: int = 9999,
) -> BootstrapCIResult:
    r"""A bootstrap confidence interval for a statistic of one sample.

    Parameters
    ----------
    values : array_like, shape (n,)
        The sample; at least 2 values, not all equal, all finite.
    statistic : callable
        ``statistic(x)`` returns a number. If it also takes an ``axis`` keyword (like
        ``np.mean`` or ``np.median``) the resamples are evaluated in one vectorised call.
    confidence : float, default 0.95
        Coverage of the two-sided interval.
    method : {"BCa", "percentile", "basic"}, default "BCa"
        Interval construction (case-insensitive).
    rng : numpy.random.Generator or int, optional
        Source of randomness, for reproducible intervals.
    n_resamples : int, default 9999
        Number of bootstrap resamples.

    Returns
    -------
    BootstrapCIResult
        ``low``, ``high``, ``estimate`` (the statistic of ``values``), ``standard_error`` (of the
        bootstrap distribution), ``confidence``, ``method``, ``n_resamples``.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 values, all values equal, or a degenerate bootstrap distribution (every
        resample gives the same statistic).

    Notes
    -----
    Draw :math:`B` resamples :math:`x^*_b` of size :math:`n` with replacement and compute
    :math:`\hat\theta^*_b = s(x^*_b)`. The percentile interval is
    :math:`[\hat\theta^*_{(\alpha/2)}, \hat\theta^*_{(1-\alpha/2)}]`. BCa uses the quantiles
    :math:`\Phi(\hat z_0 + (\hat z_0 + z_q) / (1 - \hat a (\hat z_0 + z_q)))` with bias
    correction :math:`\hat z_0 = \Phi^{-1}(\#\{\hat\theta^*_b < \hat\theta\} / B)` and
    jackknife acceleration :math:`\hat a`. Computed by :func:`scipy.stats.bootstrap`.

    References
    ----------
    .. [1] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman &
       Hall/CRC, ch. 13-14.
    .. [2] Efron, B. (1987). Better bootstrap confidence intervals. Journal of the American
       Statistical Association, 82(397), 171-185.
    """
    level = _check_confidence(confidence)
    canonical = _BOOTSTRAP_METHODS.get(str(method).lower())
    if canonical is None:
        raise EngineError(f"method: must be 'BCa', 'percentile' or 'basic', got {method!r}")
    if not callable(statistic):
        raise EngineError("statistic: must be callable")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral):
        raise EngineError(f"n_resamples: must be an integer, got {n_resamples!r}")
    if n_resamples < 2:
        raise EngineError(f"n_resamples: need at least 2, got {n_resamples}")
    sample = _float_array(values, "values", 1)
    if np.isnan(sample).any():
        raise EngineError("values: contains NaN")
    if sample.size < 2:
        raise InsufficientDataError(f"values: need at least 2 values, got {sample.size}")
    if np.ptp(sample) == 0:
        raise InsufficientDataError("values: every value is the same; there is nothing to resample")

    try:
        estimate = float(statistic(sample))
    except (TypeError, ValueError) as exc:
        raise EngineError(f"statistic: must return a single number ({exc})") from exc
    if not math.isfinite(estimate):
        raise InsufficientDataError("statistic: is not finite on values")
    # scipy warns and returns NaN when every resample gives the same statistic; make that an
    # error here rather than a NaN that looks like an interval. (Warning filters are
    # process-wide; this one only concerns scipy's DegenerateDataWarning.)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sps.DegenerateDataWarning)
        try:
            with np.errstate(invalid="ignore", divide="ignore"):
                result = sps.bootstrap(
                    (sample,),
                    statistic,
                    n_resamples=int(n_resamples),
                    confidence_level=level,
                    method=canonical,
                    rng=rng,
                )
        except sps.DegenerateDataWarning as exc:
            raise InsufficientDataError(
                "values: the bootstrap distribution is degenerate (every resample gives the "
                "same statistic)"
            ) from exc
    low = float(result.confidence_interval.low)
    high = float(result.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InsufficientDataError("values: the bootstrap interval is undefined for this sample")
    return BootstrapCIResult(
        low=low,
        high=high,
        estimate=estimate,
        standard_error=float(result.standard_error),
        confidence=level,
        method=canonical,
        n_resamples=int(n_resamples),
    )


# --- percentile rank ------------------------------------------------------------------------


def percentile_rank(
    peer_scores: ArrayLike, score: float, kind: PercentileKind = "weak"
) -> PercentileRankResult:
    r"""The percentile rank of a score among its peers (0-100).

    Funders see ``kind="weak"``: the share of peers scoring at or below this score. It reads
    as a plain sentence ("scored as well as or better than 80% of peers"), the best
    organisation reads 100 whether or not its own score is among ``peer_scores``, and tied
    organisations get the same, undiminished figure. Pages that show it say "share of peers at
    or below this score".

    Parameters
    ----------
    peer_scores : array_like, shape (n,)
        Scores of the peer group (it may include the organisation itself). NaN entries (peers
        without a score) are left out; infinite values are rejected.
    score : float
        The score to place.
    kind : {"weak", "strict", "rank", "mean"}, default "weak"
        ``"weak"``: % of peers <= score; ``"strict"``: % of peers < score; ``"mean"``: the
        average of the two; ``"rank"``: average percentage ranking of the score (ties share).

    Returns
    -------
    PercentileRankResult
        ``percentile`` (0-100), ``kind`` and ``n_peers`` (peers with a score).

    Raises
    ------
    InsufficientDataError
        No peer has a score.

    Notes
    -----
    With :math:`n` peers, :math:`L = \#\{x_i < s\}` and :math:`E = \#\{x_i = s\}`:
    weak :math:`100 (L + E) / n`, strict :math:`100 L / n`, mean
    :math:`100 (L + E/2) / n`, and rank :math:`100 (L + (E + 1)/2) / n` when :math:`E > 0`
    (the score's average rank among the peers), :math:`100 L / n` otherwise. Computed by
    :func:`scipy.stats.percentileofscore`.

    References
    ----------
    .. [1] SciPy documentation, ``scipy.stats.percentileofscore``.
    .. [2] Hyndman, R. J., & Fan, Y. (1996). Sample quantiles in statistical packages. The
       American Statistician, 50(4), 361-365.
    """
    if kind not in _PERCENTILE_KINDS:
        raise EngineError(f"kind: must be one of {', '.join(_PERCENTILE_KINDS)}, got {kind!r}")
    peers = _float_array(peer_scores, "peer_scores", 1)
    peers = peers[~np.isnan(peers)]
    if peers.size == 0:
        raise InsufficientDataError("peer_scores: no peer has a score")
    try:
        value = float(score)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"score: must be a number, got {score!r}") from exc
    if not math.isfinite(value):
        raise EngineError(f"score: must be finite, got {score!r}")
    percentile = float(sps.percentileofscore(peers, value, kind=kind))
    return PercentileRankResult(percentile=percentile, kind=kind, n_peers=int(peers.size))


# --- rank stability -------------------------------------------------------------------------


def _tie_pairs(sorted_rows: IntArray) -> IntArray:
    """Per row of an ascending integer array: the number of pairs with equal values."""
    m = sorted_rows.shape[1]
    starts = np.ones(sorted_rows.shape, dtype=bool)
    starts[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    position = np.broadcast_to(np.arange(m, dtype=np.int64), sorted_rows.shape)
    run_start = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    # each element is tied with every equal element before it in its run
    tied: IntArray = (position - run_start).sum(axis=1)
    return tied


def _strict_inversions(rows: IntArray) -> IntArray:
    """Per row: the number of pairs i < j with rows[i] > rows[j] (bottom-up merge count).

    Every level merges sorted blocks of size s; for each element of a right block, the left
    elements larger than it are found by one binary search over all blocks of all rows at once
    (blocks are kept apart by an offset).
    """
    n_rows, n = rows.shape
    width = 1 << max(1, (n - 1).bit_length())
    pad = int(rows.max()) + 1  # padding at the end is larger than everything: no inversions
    work = np.full((n_rows, width), pad, dtype=np.int64)
    work[:, :n] = rows
    stride = pad + 1
    total = np.zeros(n_rows, dtype=np.int64)
    size = 1
    while size < width:
        n_blocks = n_rows * (width // (2 * size))
        blocks = work.reshape(n_blocks, 2, size)
        offset = (np.arange(n_blocks, dtype=np.int64) * stride)[:, None]
        left = (blocks[:, 0, :] + offset).ravel()
        right = (blocks[:, 1, :] + offset).ravel()
        not_greater = np.searchsorted(left, right, side="right").reshape(n_blocks, size)
        not_greater -= (np.arange(n_blocks, dtype=np.int64) * size)[:, None]
        total += (size - not_greater).reshape(n_rows, -1).sum(axis=1)
        work = np.sort(work.reshape(n_blocks, 2 * size), axis=1, kind="stable").reshape(
            n_rows, width
        )
        size *= 2
    return total


def _kendall_tau_b(reference_rank: FloatArray, ranks: FloatArray) -> FloatArray:
    """Kendall's tau-b between one ranking and each row of ``ranks`` (average ranks).

    With n0 = n(n-1)/2 pairs, n1 / n2 pairs tied in a row / in the reference, n3 pairs tied in
    both, and Q discordant pairs (the strict inversions of the row once the items are sorted
    by (reference, row)): S = n0 - n1 - n2 + n3 - 2Q and tau_b = S / sqrt((n0 - n1)(n0 - n2)).
    """
    n = reference_rank.shape[0]
    # average ranks are multiples of 1/2: doubled they are exact integers
    ref2 = np.rint(2.0 * reference_rank).astype(np.int64)
    row2 = np.rint(2.0 * ranks).astype(np.int64)
    base = 2 * n + 2
    key = np.sort(ref2[None, :] * base + row2, axis=1)
    discordant = _strict_inversions(key % base)
    n0 = n * (n - 1) // 2
    n1 = _tie_pairs(np.sort(row2, axis=1))
    n2 = int(_tie_pairs(np.sort(ref2)[None, :])[0])
    n3 = _tie_pairs(key)
    s = n0 - n1 - n2 + n3 - 2 * discordant
    with np.errstate(invalid="ignore", divide="ignore"):
        tau: FloatArray = s / np.sqrt((n0 - n1).astype(np.float64) * float(n0 - n2))
    return tau


def _weighted_scores(
    filled: FloatArray, available: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Scores renormalised over each organisation's available domains; weights are (..., D)."""
    numerator = weights @ filled.T
    denominator = weights @ available.T
    return numerator, denominator


def rank_stability(
    domain_scores: ArrayLike,
    weights: ArrayLike,
    n_draws: int = 1000,
    concentration: float = 100.0,
    rng: np.random.Generator | int | None = None,
    top_k: int = 10,
) -> RankStabilityResult:
    r"""How much a ranking moves when the domain weights are uncertain.

    Parameters
    ----------
    domain_scores : array_like, shape (n_orgs, n_domains)
        Domain scores per organisation. NaN marks a missing domain: that organisation's score
        is the weighted mean over its available domains (weights renormalised).
    weights : array_like, shape (n_domains,)
        The published domain weights; non-negative, not all zero (normalised here).
    n_draws : int, default 1000
        Number of perturbed weight vectors.
    concentration : float, default 100.0
        Dirichlet concentration: draws have mean equal to the normalised weights and spread
        that shrinks as the concentration grows (weight :math:`w_d` varies with variance
        :math:`w_d (1 - w_d) / (c + 1)`).
    rng : numpy.random.Generator or int, optional
        Source of randomness.
    top_k : int, default 10
        The "top k" whose membership probability is reported.

    Returns
    -------
    RankStabilityResult
        Per organisation: published score and rank, median rank, 90% rank interval
        (``rank_low``, ``rank_high``: 5th and 95th percentiles), probability of being in the
        top k; per draw: Kendall's tau-b between the published ranking and the draw's. The
        interval's ends are ranks that occurred in the draws (the 5th percentile rounded down,
        the 95th rounded up), so it covers at least 90% of the draws.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 organisations, an organisation with no weighted domain score, or every
        organisation with the same published score (no ranking to perturb).
    ShapeMismatchError
        ``weights`` does not have one entry per domain.

    Notes
    -----
    Draw :math:`w^{(b)} \sim \mathrm{Dirichlet}(c\, \bar w)` for :math:`b = 1..B`, with
    :math:`\bar w` the normalised published weights (domains of weight 0 stay at 0). With
    :math:`A_{od} = 1` where organisation :math:`o` has domain :math:`d` and :math:`X` the scores
    with missing ones set to 0, all draws are scored at once as

    .. math:: S^{(b)}_o = \frac{(X w^{(b)})_o}{(A w^{(b)})_o},

    two matrix products of shape (B, n_orgs). Each draw is ranked with average ranks for ties
    (rank 1 = highest score). Kendall's :math:`\tau_b` against the published ranking is
    computed for all draws at once by counting discordant pairs with a vectorised merge count
    (:math:`O(B\, n \log n)`), with the usual tie corrections. A draw in which an
    organisation's available domains all drew a weight of exactly 0 (possible only through
    floating-point underflow) keeps that organisation's published score.

    References
    ----------
    .. [1] Saisana, M., Saltelli, A., & Tarantola, S. (2005). Uncertainty and sensitivity
       analysis techniques as tools for the quality assessment of composite indicators.
       Journal of the Royal Statistical Society A, 168(2), 307-323.
    .. [2] OECD/JRC (2008). Handbook on Constructing Composite Indicators, section 7.
    .. [3] Knight, W. R. (1966). A computer method for calculating Kendall's tau with
       ungrouped data. Journal of the American Statistical Association, 61(314), 436-439.
    """
    scores = _float_array(domain_scores, "domain_scores", 2)
    w = _float_array(weights, "weights", 1)
    n_orgs, n_domains = scores.shape
    if w.shape[0] != n_domains:
        raise ShapeMismatchError(
            f"weights: need one weight per domain ({n_domains}), got {w.shape[0]}"
        )
    if np.isnan(w).any():
        raise EngineError("weights: contains NaN")
    if (w < 0).any():
        raise EngineError("weights: must be non-negative")
    if w.sum() <= 0:
        raise EngineError("weights: must not all be zero")
    if isinstance(n_draws, bool) or not isinstance(n_draws, numbers.Integral) or n_draws < 1:
        raise EngineError(f"n_draws: must be a positive integer, got {n_draws!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise EngineError(f"top_k: must be a positive integer, got {top_k!r}")
    conc = float(concentration)
    if not (math.isfinite(conc) and conc > 0):
        raise EngineError(f"concentration: must be a positive finite number, got {concentration!r}")
    if n_orgs < 2:
        raise InsufficientDataError(f"domain_scores: need at least 2 organisations, got {n_orgs}")

    w_bar = w / w.sum()
    available = (~np.isnan(scores)).astype(np.float64)
    filled = np.where(np.isnan(scores), 0.0, scores)
    numerator, denominator = _weighted_scores(filled, available, w_bar)
    unscored = np.flatnonzero(denominator <= 0)
    if unscored.size:
        raise InsufficientDataError(
            f"domain_scores: organisation row {int(unscored[0])} has no score in any domain "
            "with a positive weight"
        )
    published = numerator / denominator
    if np.ptp(published) == 0:
        raise InsufficientDataError(
            "domain_scores: every organisation has the same published score; there is no "
            "ranking to test"
        )
    published_rank = sps.rankdata(-published).astype(np.float64)

    generator = np.random.default_rng(rng)
    positive = w_bar > 0
    draws = np.zeros((int(n_draws), n_domains))
    draws[:, positive] = generator.dirichlet(conc * w_bar[positive], size=int(n_draws))
    numerator_b, denominator_b = _weighted_scores(filled, available, draws)
    with np.errstate(invalid="ignore", divide="ignore"):
        drawn = numerator_b / denominator_b
    drawn = np.where(denominator_b > 0, drawn, published[None, :])
    ranks = sps.rankdata(-drawn, axis=1).astype(np.float64)

    # The interval's ends are ranks that occurred (rounded outwards), so it covers >= 90%.
    rank_low = np.percentile(ranks, 5.0, axis=0, method="lower")
    rank_high = np.percentile(ranks, 95.0, axis=0, method="higher")
    median_rank = np.median(ranks, axis=0)
    p_top_k = (ranks <= top_k).mean(axis=0)
    # bound the merge count's working memory to a few million entries per chunk
    chunk = max(1, _TAU_CHUNK_ENTRIES // n_orgs)
    tau = np.concatenate(
        [
            _kendall_tau_b(published_rank, ranks[start : start + chunk])
            for start in range(0, ranks.shape[0], chunk)
        ]
    )
    return RankStabilityResult(
        published_score=published.astype(np.float64),
        published_rank=published_rank,
        median_rank=median_rank.astype(np.float64),
        rank_low=rank_low.astype(np.float64),
        rank_high=rank_high.astype(np.float64),
        p_top_k=p_top_k.astype(np.float64),
        kendall_tau=tau,
        top_k=int(top_k),
        n_draws=int(n_draws),
        concentration=conc,
    )


# --- self-assessment vs verification --------------------------------------------------------


def _is_discrete(values: FloatArray) -> bool:
    if values.size == 0 or not np.all(values == np.round(values)):
        return False
    return float(values.max() - values.min()) < _MAX_DISCRETE_LEVELS


def _ids(ids: Sequence[str] | None, count: int, name: str) -> tuple[str, ...]:
    if ids is None:
        return tuple(str(i) for i in range(count))
    result = tuple(str(x) for x in ids)
    if len(result) != count:
        raise ShapeMismatchError(f"{name}: need {count} ids, got {len(result)}")
    return result


def agreement(
    self_scores: ArrayLike,
    verified_scores: ArrayLike,
    *,
    indicator_ids: Sequence[str] | None = None,
    org_ids: Sequence[str] | None = None,
    discrete: bool | Sequence[bool] | None = None,
) -> AgreementResult:
    r"""How well self-assessed scores agree with externally verified ones.

    Parameters
    ----------
    self_scores, verified_scores : array_like, shape (n_orgs, n_indicators)
        Aligned matrices on the same scale: row = organisation, column = indicator. A pair
        is missing when either value is NaN.
    indicator_ids, org_ids : sequence of str, optional
        Labels for the columns and rows (default "0", "1", ...).
    discrete : bool or sequence of bool, optional
        Whether each indicator is scored in discrete levels. By default an indicator is
        discrete when every value in it is a whole number and they span at most 11 levels
        (e.g. a 0-4 or 1-5 rubric scale).

    Returns
    -------
    AgreementResult
        Per indicator: mean gap (self - verified), number of pairs, agreement statistic and
        which one (``"kappa_quadratic"``: quadratic-weighted kappa over the integer levels
        between the lowest and highest value, for discrete indicators; ``"icc2_1"``: ICC(2,1)
        otherwise), or a note saying why none could be computed. Per organisation: mean gap
        and number of pairs. Overall: a one-sided Wilcoxon signed-rank test of over-rating.

    Raises
    ------
    ShapeMismatchError
        The matrices differ in shape, or ids do not match them.
    InsufficientDataError
        No complete pair at all.

    Notes
    -----
    The gap of a pair is :math:`d = s - v`; gaps average over complete pairs. ICC(2,1) (two-way
    random, absolute agreement) is used rather than ICC(3,1) (consistency) because a
    systematic over-rating is a disagreement here, not a constant to be ignored; see
    :func:`icc` for the formula. Quadratic-weighted kappa is
    :math:`1 - \sum w_{ij} p_{ij} / \sum w_{ij} p_{i\cdot} p_{\cdot j}` with
    :math:`w_{ij} = (i - j)^2`; see :func:`cohen_kappa`. The over-rating test ranks the
    non-zero :math:`|d|` over all complete pairs and tests :math:`H_1`: the distribution of
    :math:`d` is shifted above 0, with :math:`T^+ = \sum_{d_i > 0} \mathrm{rank}(|d_i|)`
    (zeros dropped, Wilcoxon's method; exact or normal p-value as chosen by
    :func:`scipy.stats.wilcoxon`). Pairs from one organisation are not independent, so read
    the p-value as descriptive.

    References
    ----------
    .. [1] Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics
       Bulletin, 1(6), 80-83.
    .. [2] McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
       correlation coefficients. Psychological Methods, 1(1), 30-46.
    .. [3] Fleiss, J. L., & Cohen, J. (1973). The equivalence of weighted kappa and the
       intraclass correlation coefficient as measures of reliability. Educational and
       Psychological Measurement, 33(3), 613-619.
    """
    own = _float_array(self_scores, "self_scores", 2)
    verified = _float_array(verified_scores, "verified_scores", 2)
    if own.shape != verified.shape:
        raise ShapeMismatchError(
            f"self_scores, verified_scores: must have the same shape, got {own.shape} and "
            f"{verified.shape}"
        )
    n_orgs, n_indicators = own.shape
    indicators = _ids(indicator_ids, n_indicators, "indicator_ids")
    orgs = _ids(org_ids, n_orgs, "org_ids")
    if discrete is None or isinstance(discrete, bool):
        discrete_flags: list[bool | None] = [discrete] * n_indicators
    else:
        discrete_flags = [bool(x) for x in discrete]
        if len(discrete_flags) != n_indicators:
            raise ShapeMismatchError(
                f"discrete: need one flag per indicator ({n_indicators}), got {len(discrete_flags)}"
            )

    complete = ~(np.isnan(own) | np.isnan(verified))
    n_pairs = int(complete.sum())
    if n_pairs == 0:
        raise InsufficientDataError("self_scores, verified_scores: no complete pair")
    gap = np.where(complete, own - verified, 0.0)
    indicator_n = complete.sum(axis=0).astype(np.int64)
    org_n = complete.sum(axis=1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        indicator_gap = np.where(indicator_n > 0, gap.sum(axis=0) / indicator_n, np.nan)
        org_gap = np.where(org_n > 0, gap.sum(axis=1) / org_n, np.nan)

    values = np.full(n_indicators, np.nan)
    methods: list[str] = []
    notes: list[str] = []
    for j in range(n_indicators):
        rows = complete[:, j]
        if int(rows.sum()) < 2:
            values_note = f"need at least 2 complete pairs, got {int(rows.sum())}"
            methods.append("")
            notes.append(values_note)
            continue
        a, b = own[rows, j], verified[rows, j]
        flag = discrete_flags[j]
        is_discrete = _is_discrete(np.concatenate([a, b])) if flag is None else flag
        try:
            if is_discrete:
                levels = np.concatenate([a, b])
                if not np.all(levels == np.round(levels)):
                    raise EngineError(f"discrete: indicator {indicators[j]} has non-integer values")
                scale = tuple(range(int(levels.min()), int(levels.max()) + 1))
                values[j] = cohen_kappa(
                    a.astype(np.int64), b.astype(np.int64), "quadratic", categories=scale
                ).kappa
                methods.append("kappa_quadratic")
            else:
                values[j] = icc(np.column_stack([a, b]))["ICC2"].value
                methods.append("icc2_1")
            notes.append("")
        except InsufficientDataError as exc:
            methods.append("")
            notes.append(str(exc).split(": ", 1)[-1])

    differences = own[complete] - verified[complete]
    n_nonzero = int(np.count_nonzero(differences))
    over_rating: SignedRankResult | None = None
    note = ""
    if n_nonzero == 0:
        note = "every complete pair agrees exactly; there is no difference to test"
    else:
        test = sps.wilcoxon(differences, alternative="greater", zero_method="wilcox")
        over_rating = SignedRankResult(
            statistic=float(test.statistic),
            pvalue=float(test.pvalue),
            n_pairs=n_pairs,
            n_nonzero=n_nonzero,
            median_difference=float(np.median(differences)),
            alternative="greater",
        )
    return AgreementResult(
        indicator_ids=indicators,
        org_ids=orgs,
        indicator_mean_gap=indicator_gap.astype(np.float64),
        indicator_n_pairs=indicator_n,
        indicator_agreement=values,
        indicator_method=tuple(methods),
        indicator_note=tuple(notes),
        org_mean_gap=org_gap.astype(np.float64),
        org_n_pairs=org_n,
        n_pairs=n_pairs,
        over_rating=over_rating,
        over_rating_note=note,
    )


# --- vectorised bootstrap intervals for alpha, kappa and Krippendorff's alpha -----------------

# Resamples x entries handled per chunk, so that the working memory stays bounded.
_BOOTSTRAP_CHUNK_ENTRIES = 4_000_000
# krippendorff_alpha_bootstrap(): units x values^2 above which the per-unit coincidences would
# not fit in a reasonable amount of memory.
_KRIPPENDORFF_BOOTSTRAP_ENTRIES = 40_000_000


def _check_resamples(n_resamples: int) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral):
        raise EngineError(f"n_resamples: must be an integer, got {n_resamples!r}")
    if n_resamples < 2:
        raise EngineError(f"n_resamples: need at least 2, got {n_resamples}")
    return int(n_resamples)


def _percentile_interval(
    draws: FloatArray, estimate: float, level: float, n_resamples: int, name: str
) -> BootstrapCIResult:
    """The percentile interval of the finite draws (degenerate resamples are NaN and left out)."""
    usable = draws[np.isfinite(draws)]
    if usable.size < max(2, n_resamples // 2):
        raise InsufficientDataError(
            f"{name}: fewer than half of the bootstrap resamples have a defined statistic "
            f"({usable.size} of {n_resamples})"
        )
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(usable, [tail, 1.0 - tail])
    return BootstrapCIResult(
        low=float(low),
        high=float(high),
        estimate=estimate,
        standard_error=float(usable.std(ddof=1)),
        confidence=level,
        method="percentile",
        n_resamples=int(usable.size),
    )


def _resample_matrix(index: IntArray, n: int) -> sparse.csr_matrix:
    """The resamples ``index`` (B, n) as a sparse (B, n) matrix of how many times each takes each
    subject (a repeated subject is a repeated column, summed by the products)."""
    count = index.shape[0]
    return sparse.csr_matrix(
        (np.ones(index.size), index.ravel(), np.arange(0, index.size + 1, index.shape[1])),
        shape=(count, n),
    )


def _one_hot(codes: Sequence[IntArray], width: int) -> sparse.csr_matrix:
    """``(n, len(codes) * width)``: unit ``i`` has a 1 in column ``s * width + codes[s][i]``."""
    n = codes[0].size
    rows = np.tile(np.arange(n), len(codes))
    columns = np.concatenate([s * width + c for s, c in enumerate(codes)])
    return sparse.csr_matrix((np.ones(rows.size), (rows, columns)), shape=(n, len(codes) * width))


def _alpha_of_resamples(data: FloatArray, index: IntArray) -> FloatArray:
    """Cronbach's alpha of every resample ``data[index[b]]`` at once; NaN where undefined."""
    return _alpha_of_times(data, _resample_matrix(index, data.shape[0]))


def _alpha_of_times(data: FloatArray, times: sparse.csr_matrix) -> FloatArray:
    """Cronbach's alpha of every resample at once; NaN where undefined.

    A resample is summarised by how many times it takes each subject (``times``, shape (B, n),
    sparse: see :func:`_resample_matrix`), so the sums and sums of squares of the items and of
    the total are matrix products.
    """
    n, k = data.shape
    centred = data - data.mean(axis=0)  # centring first keeps the sums of squares accurate
    total = centred.sum(axis=1, keepdims=True)
    sums = np.asarray(times @ np.hstack([centred, centred**2, total, total**2]))  # (B, 2k + 2)
    item_sum, item_sq = sums[:, :k], sums[:, k : 2 * k]
    total_sum, total_sq = sums[:, 2 * k], sums[:, 2 * k + 1]
    item_var = (item_sq - item_sum**2 / n) / (n - 1)
    total_var = (total_sq - total_sum**2 / n) / (n - 1)
    tiny = _RELATIVE_ZERO * max(float((centred**2).sum()), 1.0)
    defined = (total_var > tiny) & (item_var > tiny).all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = k / (k - 1.0) * (1.0 - item_var.sum(axis=1) / total_var)
    return np.where(defined, alpha, np.nan)


def cronbach_alpha_bootstrap(
    items: ArrayLike,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> BootstrapCIResult:
    r"""A bootstrap (percentile) interval for Cronbach's alpha, resampling subjects.

    Parameters
    ----------
    items : array_like, shape (n_subjects, n_items)
        As for :func:`cronbach_alpha`: rows with a NaN are dropped listwise first.
    confidence : float, default 0.95
        Coverage of the interval.
    n_resamples : int, default 2000
        Number of resamples of the subjects (with replacement).
    rng : numpy.random.Generator or int, optional
        Source of randomness, for reproducible intervals.

    Returns
    -------
    BootstrapCIResult
        ``estimate`` (alpha of the data), ``low``, ``high``, ``standard_error`` of the
        bootstrap distribution, ``method="percentile"`` and ``n_resamples`` (the resamples with
        a defined alpha: one in which an item or the total has no variance is left out).

    Raises
    ------
    InsufficientDataError
        As for :func:`cronbach_alpha`, or when fewer than half of the resamples have a defined
        alpha.

    Notes
    -----
    Draw :math:`B` resamples of the :math:`n` subjects with replacement; for each,
    :math:`\alpha^*_b = \frac{k}{k-1}(1 - \sum_j s^{*2}_{j} / s^{*2}_T)`. All resamples are
    computed at once, not one by one: a resample is the number of times :math:`W_{bi}` it takes
    each subject, so the item and total sums and sums of squares of all resamples are four
    matrix products :math:`W X`, :math:`W X^{\circ 2}`, :math:`W T`, :math:`W T^{\circ 2}`, done
    as one (in chunks that bound the memory). The interval is
    :math:`[\alpha^*_{((1-c)/2)}, \alpha^*_{((1+c)/2)}]`. Unlike Feldt's F interval
    (:func:`cronbach_alpha`), it does not assume normally distributed, essentially
    tau-equivalent items, which rubric levels (a few ordered categories) are not.

    References
    ----------
    .. [1] Padilla, M. A., Divers, J., & Newton, M. (2012). Coefficient alpha bootstrap
       confidence interval under nonnormality. Applied Psychological Measurement, 36(5),
       331-348.
    .. [2] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman &
       Hall/CRC, ch. 13.
    """
    level = _check_confidence(confidence)
    count = _check_resamples(n_resamples)
    estimate = cronbach_alpha(items, confidence=level)
    matrix = _float_array(items, "items", 2)
    data = matrix[~np.isnan(matrix).any(axis=1)]
    n = data.shape[0]
    generator = np.random.default_rng(rng)
    index = generator.integers(0, n, size=(count, n))
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // n)
    draws = np.concatenate(
        [_alpha_of_resamples(data, index[s : s + chunk]) for s in range(0, count, chunk)]
    )
    return _percentile_interval(draws, estimate.alpha, level, count, "items")


def cronbach_alpha_bootstraps(
    scales: Sequence[ArrayLike],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> list[BootstrapCIResult]:
    r"""Bootstrap intervals for Cronbach's alpha of several scales of the same subjects (the
    domains of one rubric, say), all from the same resamples of the subjects.

    Parameters
    ----------
    scales : sequence of array_like, each shape (n_subjects, n_items_s)
        The scales, rows the same subjects in the same order. A subject with a NaN in any of
        them is dropped from all of them first.
    confidence, n_resamples, rng
        As for :func:`cronbach_alpha_bootstrap`.

    Returns
    -------
    list of BootstrapCIResult
        One per scale, as :func:`cronbach_alpha_bootstrap` gives it; with the same ``rng``
        and complete data, the first equals ``cronbach_alpha_bootstrap(scales[0], ...)``.

    Raises
    ------
    ShapeMismatchError
        The scales do not have the same number of rows.
    InsufficientDataError
        As for :func:`cronbach_alpha_bootstrap`, for any of the scales.

    Notes
    -----
    The resamples :math:`W` (how many times each subject is drawn) are drawn once and shared:
    each scale's interval is the percentile interval of its own :math:`lpha^*_b`, exactly as
    if it were bootstrapped alone with these draws; the intervals of different scales are then
    correlated, which does not change any one of them. Drawing and counting once, and one
    matrix product for all scales, is what makes this cheaper than a call per scale.
    """
    level = _check_confidence(confidence)
    count = _check_resamples(n_resamples)
    matrices = [_float_array(items, f"scales[{s}]", 2) for s, items in enumerate(scales)]
    if not matrices:
        return []
    if len({m.shape[0] for m in matrices}) != 1:
        raise ShapeMismatchError("scales: must all have the same rows (subjects)")
    complete = ~np.column_stack([np.isnan(m).any(axis=1) for m in matrices]).any(axis=1)
    datas = [m[complete] for m in matrices]
    estimates = [cronbach_alpha(d, confidence=level) for d in datas]
    n = datas[0].shape[0]
    index = np.random.default_rng(rng).integers(0, n, size=(count, n))
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // n)
    draws: list[list[FloatArray]] = [[] for _d in datas]
    for start in range(0, count, chunk):
        times = _resample_matrix(index[start : start + chunk], n)
        for found, data in zip(draws, datas, strict=True):
            found.append(_alpha_of_times(data, times))
    return [
        _percentile_interval(np.concatenate(found), estimate.alpha, level, count, f"scales[{s}]")
        for s, (found, estimate) in enumerate(zip(draws, estimates, strict=True))
    ]


def cohen_kappa_bootstrap(
    a: Sequence[Hashable] | ArrayLike,
    b: Sequence[Hashable] | ArrayLike,
    weights: KappaWeights = None,
    *,
    categories: Sequence[Hashable] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> BootstrapCIResult:
    r"""A bootstrap (percentile) interval for Cohen's kappa, resampling the rated items.

    Parameters
    ----------
    a, b, weights, categories
        As for :func:`cohen_kappa` (pairs with a missing label are left out first).
    confidence : float, default 0.95
        Coverage of the interval.
    n_resamples : int, default 2000
        Number of resamples of the complete pairs (with replacement).
    rng : numpy.random.Generator or int, optional
        Source of randomness.

    Returns
    -------
    BootstrapCIResult
        ``estimate`` (kappa of the data), the percentile interval, the bootstrap standard
        error and the number of resamples with a defined kappa (a resample in which both
        raters used one category is left out).

    Raises
    ------
    InsufficientDataError
        As for :func:`cohen_kappa`, or when fewer than half of the resamples are defined.

    Notes
    -----
    The contingency tables of all :math:`B` resamples are built at once with one
    ``bincount`` over ``(b, i, j)`` cells, giving :math:`p^*_{b,ij}`; then
    :math:`\kappa^*_b = 1 - \sum_{ij} w_{ij} p^*_{b,ij} / \sum_{ij} w_{ij} p^*_{b,i\cdot}
    p^*_{b,\cdot j}` for every resample in one array expression. The categories (and so the
    weights) are those of the full sample.

    References
    ----------
    .. [1] Cohen, J. (1968). Weighted kappa: nominal scale agreement with provision for scaled
       disagreement or partial credit. Psychological Bulletin, 70(4), 213-220.
    .. [2] Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman &
       Hall/CRC, ch. 13.
    """
    level = _check_confidence(confidence)
    count = _check_resamples(n_resamples)
    estimate = cohen_kappa(a, b, weights, categories=categories)
    index_of = {label: i for i, label in enumerate(estimate.categories)}
    pairs = [
        (index_of[x], index_of[y])
        for x, y in zip(_as_labels(a, "a"), _as_labels(b, "b"), strict=True)
        if not (_is_missing(x) or _is_missing(y))
    ]
    codes = np.asarray(pairs, dtype=np.int64)
    n, n_cat = codes.shape[0], len(estimate.categories)
    cell = codes[:, 0] * n_cat + codes[:, 1]
    i, j = np.indices((n_cat, n_cat))
    if weights is None:
        w = (i != j).astype(np.float64)
    elif weights == "linear":
        w = np.abs(i - j).astype(np.float64)
    else:
        w = ((i - j) ** 2).astype(np.float64)
    generator = np.random.default_rng(rng)
    index = generator.integers(0, n, size=(count, n))
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // max(n, n_cat * n_cat))
    parts = []
    for start in range(0, count, chunk):
        block = index[start : start + chunk]
        rows = np.arange(block.shape[0])[:, None] * (n_cat * n_cat)
        tables = np.bincount(
            (rows + cell[block]).ravel(), minlength=block.shape[0] * n_cat * n_cat
        ).reshape(block.shape[0], n_cat, n_cat) / float(n)
        expected = tables.sum(axis=2)[:, :, None] * tables.sum(axis=1)[:, None, :]
        observed_d = (tables * w).sum(axis=(1, 2))
        expected_d = (expected * w).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(np.where(expected_d > 0, 1.0 - observed_d / expected_d, np.nan))
    return _percentile_interval(np.concatenate(parts), estimate.kappa, level, count, "a, b")


def _kappa_weights(weights: KappaWeights, n_cat: int) -> FloatArray:
    i, j = np.indices((n_cat, n_cat))
    distance = i != j if weights is None else np.abs(i - j) if weights == "linear" else (i - j) ** 2
    return np.asarray(distance, dtype=np.float64)


def cohen_kappa_bootstraps(
    pairs: Sequence[tuple[Sequence[Hashable] | ArrayLike, Sequence[Hashable] | ArrayLike]],
    weights: KappaWeights = None,
    *,
    categories: Sequence[Sequence[Hashable] | None] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> list[BootstrapCIResult]:
    r"""Bootstrap intervals for Cohen's kappa of several pairs of raters with the same number of
    complete pairs (the indicators of one rubric, say), all from the same resamples.

    Parameters
    ----------
    pairs : sequence of (a, b)
        One ``(a, b)`` per statistic, as for :func:`cohen_kappa`; after pairs with a missing
        label are left out, all have the same number ``n`` of pairs.
    weights : {None, "linear", "quadratic"}
        As for :func:`cohen_kappa`, the same for all.
    categories : sequence, optional
        One category list (or None) per pair of raters, as for :func:`cohen_kappa`.
    confidence, n_resamples, rng
        As for :func:`cohen_kappa_bootstrap`.

    Returns
    -------
    list of BootstrapCIResult
        One per pair of raters. Resample ``b`` takes the pairs ``index[b]`` of every one of
        them, with ``index = numpy.random.default_rng(rng).integers(0, n, (n_resamples, n))``:
        each result is the one :func:`cohen_kappa_bootstrap` gives it with the same ``rng``.

    Raises
    ------
    ShapeMismatchError
        The pairs do not all have the same number of complete pairs, or ``categories`` has
        not one entry per pair of raters.
    InsufficientDataError
        As for :func:`cohen_kappa_bootstrap`, for any of them.

    Notes
    -----
    The resamples are drawn once and counted once (:math:`W_{bi}`, how many times resample
    :math:`b` takes pair :math:`i`); every contingency table of every resample of every pair of
    raters is then one matrix product :math:`W E`, where :math:`E` (n, m C^2) is the one-hot
    code of each pair's cell. The counts are integers, so the tables are exactly those a loop
    would build; the intervals of different statistics are correlated, which changes none of
    them.
    """
    level = _check_confidence(confidence)
    count = _check_resamples(n_resamples)
    if not pairs:
        return []
    if categories is not None and len(categories) != len(pairs):
        raise ShapeMismatchError("categories: need one entry per pair of raters")
    estimates = []
    cells = []
    for s, (a, b) in enumerate(pairs):
        estimate = cohen_kappa(
            a, b, weights, categories=None if categories is None else categories[s]
        )
        index_of = {label: i for i, label in enumerate(estimate.categories)}
        codes = np.asarray(
            [
                (index_of[x], index_of[y])
                for x, y in zip(_as_labels(a, "a"), _as_labels(b, "b"), strict=True)
                if not (_is_missing(x) or _is_missing(y))
            ],
            dtype=np.int64,
        )
        estimates.append(estimate)
        cells.append(codes)
    if len({c.shape[0] for c in cells}) != 1:
        raise ShapeMismatchError("pairs: must all have the same number of complete pairs")
    n, m = cells[0].shape[0], len(cells)
    n_cat = max(len(e.categories) for e in estimates)  # a smaller table is padded with zeros
    size = n_cat * n_cat
    # Sparse products (one non-zero per pair and statistic): exact integer counts, and none of
    # the dense matrix product's threads, which a shared machine makes wait.
    onehot = _one_hot([c[:, 0] * n_cat + c[:, 1] for c in cells], size)
    w = _kappa_weights(weights, n_cat)
    index = np.random.default_rng(rng).integers(0, n, size=(count, n))
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // max(n, m * size))
    parts = []
    for start in range(0, count, chunk):
        resamples = _resample_matrix(index[start : start + chunk], n)
        tables = np.asarray((resamples @ onehot).toarray()).reshape(-1, m, n_cat, n_cat) / float(n)
        expected = tables.sum(axis=3)[..., :, None] * tables.sum(axis=2)[..., None, :]
        observed_d = (tables * w).sum(axis=(2, 3))
        expected_d = (expected * w).sum(axis=(2, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(np.where(expected_d > 0, 1.0 - observed_d / expected_d, np.nan))
    draws = np.concatenate(parts)  # (count, m)
    return [
        _percentile_interval(draws[:, s], e.kappa, level, count, f"pairs[{s}]")
        for s, e in enumerate(estimates)
    ]


def mean_bootstraps(
    samples: ArrayLike,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> list[BootstrapCIResult]:
    r"""Bootstrap (percentile) intervals for the means of several samples of the same size (the
    self-minus-verified gaps of each indicator, say), all from the same resamples.

    Parameters
    ----------
    samples : array_like, shape (n, m)
        One sample per column, all finite, at least 2 rows.
    confidence : float, default 0.95
        Coverage of the intervals.
    n_resamples : int, default 2000
        Number of resamples of the rows (with replacement).
    rng : numpy.random.Generator or int, optional
        Source of randomness: resample ``b`` takes the rows ``index[b]`` of every column, with
        ``index = numpy.random.default_rng(rng).integers(0, n, (n_resamples, n))``.

    Returns
    -------
    list of BootstrapCIResult
        One per column: ``estimate`` (its mean), the percentile interval of the resampled
        means, their standard deviation, ``method="percentile"``.

    Raises
    ------
    EngineError
        A value is NaN or infinite.
    InsufficientDataError
        Fewer than 2 rows.

    Notes
    -----
    With :math:`W_{bi}` the number of times resample :math:`b` takes row :math:`i`, the
    resampled means of all columns are one matrix product :math:`\bar x^*_{bs} = (W X)_{bs}/n`.
    A constant column has the degenerate interval :math:`[x, x]`.
    """
    level = _check_confidence(confidence)
    count = _check_resamples(n_resamples)
    data = _float_array(samples, "samples", 2)
    if not np.isfinite(data).all():
        raise EngineError("samples: contains NaN or infinite values")
    n, m = data.shape
    if n < 2:
        raise InsufficientDataError(f"samples: need at least 2 rows, got {n}")
    index = np.random.default_rng(rng).integers(0, n, size=(count, n))
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // max(n, m))
    draws = np.concatenate(
        [
            _resample_matrix(index[s : s + chunk], n) @ data / float(n)
            for s in range(0, count, chunk)
        ]
    )
    estimates = data.mean(axis=0)
    return [
        _percentile_interval(draws[:, s], float(estimates[s]), level, count, f"samples[:, {s}]")
        for s in range(m)
    ]


def _krippendorff_delta2(values: FloatArray, n_c: FloatArray, level: str) -> FloatArray:
    """Squared differences for each resample: ``n_c`` is (B, V); returns (B, V, V) or (V, V)."""
    if level == "nominal":
        return 1.0 - np.eye(values.size)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ratio":
        total = values[:, None] + values[None, :]
        diff = values[:, None] - values[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total == 0, 0.0, (diff / total) ** 2)
    cumulative = np.cumsum(n_c, axis=1)
    positions = np.arange(values.size)
    lo = np.minimum.outer(positions, positions)
    hi = np.maximum.outer(positions, positions)
    between = cumulative[:, hi] - cumulative[:, lo] + n_c[:, lo]
    return (between - (n_c[:, :, None] + n_c[:, None, :]) / 2.0) ** 2


def krippendorff_alpha_bootstrap(
    data: ArrayLike,
    level: KrippendorffLevel = "nominal",
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> BootstrapCIResult:
    r"""A bootstrap (percentile) interval for Krippendorff's alpha, resampling units.

    Parameters
    ----------
    data : array_like, shape (n_raters, n_units)
        As for :func:`krippendorff_alpha` (NaN where a rater did not rate a unit).
    level : {"nominal", "ordinal", "interval", "ratio"}, default "nominal"
        Level of measurement.
    confidence : float, default 0.95
        Coverage of the interval.
    n_resamples : int, default 2000
        Number of resamples of the pairable units (with replacement).
    rng : numpy.random.Generator or int, optional
        Source of randomness.

    Returns
    -------
    BootstrapCIResult
        ``estimate`` (alpha of the data), the percentile interval, the bootstrap standard
        error and the number of resamples with a defined alpha.

    Raises
    ------
    InsufficientDataError
        As for :func:`krippendorff_alpha`, or when fewer than half of the resamples are
        defined (a resample holding one value only has no expected disagreement).
    EngineError
        Too many distinct values for the per-unit coincidences to fit in memory.

    Notes
    -----
    Each pairable unit :math:`u` contributes :math:`C_u = (n_{u\cdot} n_{u\cdot}^\top -
    \mathrm{diag}(n_{u\cdot})) / (m_u - 1)` to the coincidence matrix. A resample that takes
    unit :math:`u` :math:`W_{bu}` times has coincidences :math:`o^*_b = \sum_u W_{bu} C_u`:
    one matrix product :math:`W C` for all resamples. Units with the same counts
    :math:`n_{u\cdot}` have the same :math:`C_u`, so :math:`W` is summed over each such kind of
    unit first (a few kinds on a short scale, however many units). The differences
    :math:`\delta^2` of the ordinal level depend on the marginals :math:`n_c` and are
    recomputed per resample, all at once. Units are resampled, as Zapf et al. (2016)
    recommend for Krippendorff's alpha.

    References
    ----------
    .. [1] Zapf, A., Castell, S., Morawietz, L., & Karch, A. (2016). Measuring inter-rater
       reliability for nominal data - which coefficients and confidence intervals are
       appropriate? BMC Medical Research Methodology, 16, 93.
    .. [2] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
       School for Communication Departmental Papers 43, University of Pennsylvania.
    """
    conf = _check_confidence(confidence)
    count = _check_resamples(n_resamples)
    estimate, kinds = _krippendorff_kinds(data, level, "data")
    n_units = kinds.kind_of_unit.size
    generator = np.random.default_rng(rng)
    index = generator.integers(0, n_units, size=(count, n_units))
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // max(n_units, kinds.values.size**2))
    parts = []
    for start in range(0, count, chunk):
        block = index[start : start + chunk]
        rows = np.arange(block.shape[0])[:, None] * kinds.n_kinds
        times = np.bincount(
            (rows + kinds.kind_of_unit[block]).ravel(), minlength=block.shape[0] * kinds.n_kinds
        ).reshape(block.shape[0], kinds.n_kinds)
        parts.append(_krippendorff_draws(times, kinds, level))
    return _percentile_interval(np.concatenate(parts), estimate.alpha, conf, count, "data")


def krippendorff_alpha_bootstraps(
    datas: Sequence[ArrayLike],
    level: KrippendorffLevel = "nominal",
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> list[BootstrapCIResult]:
    r"""Bootstrap intervals for Krippendorff's alpha of several data sets with the same number
    of pairable units (the indicators of one rubric, say), all from the same resamples.

    Parameters
    ----------
    datas : sequence of array_like, each shape (n_raters, n_units_s)
        As for :func:`krippendorff_alpha`; all have the same number ``n`` of pairable units
        (units rated by at least two raters).
    level, confidence, n_resamples, rng
        As for :func:`krippendorff_alpha_bootstrap`, the same for all.

    Returns
    -------
    list of BootstrapCIResult
        One per data set. Resample ``b`` takes the pairable units ``index[b]`` of every one
        of them, with ``index = numpy.random.default_rng(rng).integers(0, n, (n_resamples,
        n))``: each result is the one :func:`krippendorff_alpha_bootstrap` gives it with the
        same ``rng``.

    Raises
    ------
    ShapeMismatchError
        The data sets do not all have the same number of pairable units.
    InsufficientDataError, EngineError
        As for :func:`krippendorff_alpha_bootstrap`, for any of them.

    Notes
    -----
    The resamples are drawn once; each data set counts, per resample, the units of each kind
    it takes exactly as :func:`krippendorff_alpha_bootstrap` does, and the rest is as there.
    """
    conf = _check_confidence(confidence)
    count = _check_resamples(n_resamples)
    prepared = [_krippendorff_kinds(d, level, f"datas[{s}]") for s, d in enumerate(datas)]
    if not prepared:
        return []
    if len({kinds.kind_of_unit.size for _e, kinds in prepared}) != 1:
        raise ShapeMismatchError("datas: must all have the same number of pairable units")
    n_units = prepared[0][1].kind_of_unit.size
    index = np.random.default_rng(rng).integers(0, n_units, size=(count, n_units))
    widest = max(kinds.values.size**2 for _e, kinds in prepared)
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // max(n_units, widest))
    parts: list[list[FloatArray]] = [[] for _p in prepared]
    for start in range(0, count, chunk):
        block = index[start : start + chunk]
        for found, (_estimate, kinds) in zip(parts, prepared, strict=True):
            rows = np.arange(block.shape[0])[:, None] * kinds.n_kinds
            times = np.bincount(
                (rows + kinds.kind_of_unit[block]).ravel(),
                minlength=block.shape[0] * kinds.n_kinds,
            ).reshape(block.shape[0], kinds.n_kinds)
            found.append(_krippendorff_draws(times, kinds, level))
    return [
        _percentile_interval(np.concatenate(found), estimate.alpha, conf, count, f"datas[{s}]")
        for s, (found, (estimate, _kinds)) in enumerate(zip(parts, prepared, strict=True))
    ]


@dataclass(frozen=True)
class _KrippendorffKinds:
    """The pairable units of one data set by kind (units with the same counts of each value)."""

    values: FloatArray  # the distinct values, sorted
    kind_of_unit: IntArray  # (n_units,) the kind of each pairable unit
    n_kinds: int
    per_kind: FloatArray  # (n_kinds, V * V) the coincidences each kind of unit contributes


def _krippendorff_kinds(
    data: ArrayLike, level: KrippendorffLevel, name: str
) -> tuple[KrippendorffAlphaResult, _KrippendorffKinds]:
    estimate = krippendorff_alpha(data, level)
    matrix = _float_array(data, name, 2)
    present = ~np.isnan(matrix)
    pairable = present.sum(axis=0) >= 2
    units = matrix[:, pairable].T
    mask = present[:, pairable].T
    values = np.unique(units[mask])
    n_units, n_values = units.shape[0], values.size
    if n_units * n_values * n_values > _KRIPPENDORFF_BOOTSTRAP_ENTRIES:
        raise EngineError(
            f"{name}: {n_values} distinct values in {n_units} units are too many for the "
            "bootstrap; round the values to fewer levels"
        )
    codes = np.searchsorted(values, np.where(mask, units, values[0]))
    unit_index = np.broadcast_to(np.arange(n_units)[:, None], units.shape)
    counts = (
        np.bincount((unit_index * n_values + codes)[mask], minlength=n_units * n_values)
        .reshape(n_units, n_values)
        .astype(np.float64)
    )
    # Units with the same counts have the same coincidences: a resample is summarised by how
    # many times it takes each *kind* of unit (two raters on a 4-level scale: at most 16 kinds,
    # however many units), so the product below has as many rows as there are kinds.
    kinds, kind_of_unit = np.unique(counts, axis=0, return_inverse=True)
    kind_of_unit = kind_of_unit.reshape(-1)
    n_kinds = kinds.shape[0]
    scaled = kinds / (kinds.sum(axis=1) - 1.0)[:, None]
    per_kind = scaled[:, :, None] * kinds[:, None, :]
    per_kind[:, np.arange(n_values), np.arange(n_values)] -= scaled
    return estimate, _KrippendorffKinds(
        values=values,
        kind_of_unit=kind_of_unit,
        n_kinds=n_kinds,
        per_kind=per_kind.reshape(n_kinds, n_values * n_values),
    )


def _krippendorff_draws(times: ArrayLike, kinds: _KrippendorffKinds, level: str) -> FloatArray:
    """Alpha of each resample taking each kind of unit ``times[b]`` times; NaN where undefined."""
    values, n_values = kinds.values, kinds.values.size
    coincidence = (np.asarray(times) @ kinds.per_kind).reshape(-1, n_values, n_values)
    n_c = coincidence.sum(axis=2)
    n_total = n_c.sum(axis=1)
    delta2 = _krippendorff_delta2(values, n_c, level)
    observed = (coincidence * delta2).sum(axis=(1, 2)) / n_total
    expected = (n_c[:, :, None] * n_c[:, None, :] * delta2).sum(axis=(1, 2)) / (
        n_total * (n_total - 1.0)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(expected > 0, 1.0 - observed / expected, np.nan))


# --- item distributions ---------------------------------------------------------------------


def item_distribution(
    answers: ArrayLike, levels: ArrayLike, *, threshold: float = 0.8
) -> ItemDistributionResult:
    r"""How each item's answers spread over the scale: counts, floor and ceiling effects.

    Parameters
    ----------
    answers : array_like, shape (n_subjects, n_items)
        Each item's level per subject; NaN where there is none (unanswered, not applicable,
        don't know).
    levels : array_like, shape (n_levels,)
        The scale's levels, ascending (e.g. ``[1, 2, 3, 4]``). Every answer must be one of them.
    threshold : float, default 0.8
        The share of answers at the scale's lowest (highest) level from which an item is
        flagged for a floor (ceiling) effect.

    Returns
    -------
    ItemDistributionResult
        Counts per item and level, the number answered, floor and ceiling shares (NaN for an
        item nobody answered), the items whose answers (two or more) all sit at one level, and
        the flagged floor and ceiling items.

    Raises
    ------
    EngineError
        Levels not strictly ascending, an answer that is not one of them, or a threshold
        outside (0, 1].

    Notes
    -----
    With :math:`n_j` answers to item :math:`j` and :math:`n_{j,\min}`, :math:`n_{j,\max}` of them
    at the scale's ends, floor :math:`= n_{j,\min} / n_j` and ceiling :math:`= n_{j,\max} / n_j`.
    An item where 80% or more answer at one end can hardly separate organisations there; an
    item with no spread at all does not discriminate (its variance, and so its item-total
    correlation, is zero). All items are counted with one ``bincount``.

    References
    ----------
    .. [1] Terwee, C. B., et al. (2007). Quality criteria were proposed for measurement
       properties of health status questionnaires. Journal of Clinical Epidemiology, 60(1),
       34-42 (floor and ceiling effects).
    """
    matrix = _float_array(answers, "answers", 2)
    scale = _float_array(levels, "levels", 1)
    if scale.size == 0 or np.isnan(scale).any() or (np.diff(scale) <= 0).any():
        raise EngineError("levels: must be strictly ascending numbers")
    share = float(threshold)
    if not (0.0 < share <= 1.0):
        raise EngineError(f"threshold: must lie in (0, 1], got {threshold!r}")
    present = ~np.isnan(matrix)
    position = np.searchsorted(scale, np.where(present, matrix, scale[0]))
    position = np.minimum(position, scale.size - 1)
    if (scale[position][present] != matrix[present]).any():
        raise EngineError("answers: contains a value that is not one of the levels")
    n_items, n_levels = matrix.shape[1], scale.size
    column = np.broadcast_to(np.arange(n_items)[None, :], matrix.shape)
    counts = np.bincount(
        (column * n_levels + position)[present], minlength=n_items * n_levels
    ).reshape(n_items, n_levels)
    answered = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        floor = np.where(answered > 0, counts[:, 0] / answered, np.nan)
        ceiling = np.where(answered > 0, counts[:, -1] / answered, np.nan)
    no_spread = (answered >= 2) & (counts.max(axis=1) == answered)
    return ItemDistributionResult(
        levels=scale,
        counts=counts.astype(np.int64),
        n_answered=answered.astype(np.int64),
        floor=floor.astype(np.float64),
        ceiling=ceiling.astype(np.float64),
        no_spread=no_spread,
        threshold=share,
        flagged_floor=np.nan_to_num(floor) >= share,
        flagged_ceiling=np.nan_to_num(ceiling) >= share,
    )


# --- rank change ------------------------------------------------------------------------------


def rank_change(before: ArrayLike, after: ArrayLike) -> RankChangeResult:
    r"""How a ranking changes between two scorings of the same organisations.

    Parameters
    ----------
    before, after : array_like, shape (n,)
        Scores of the same organisations (same order) under two scorings, e.g. the published
        weights and changed ones. NaN marks an organisation without a score: it gets no rank.

    Returns
    -------
    RankChangeResult
        Ranks before and after (1 = highest, average ranks for ties, among the organisations
        scored both times), each organisation's shift (positive: moved up), Kendall's
        :math:`\tau_b` between the rankings with its p-value, and ``n``. ``tau`` and
        ``pvalue`` are NaN when fewer than 2 organisations are scored both times or one of
        the rankings is all ties.

    Raises
    ------
    ShapeMismatchError
        The arrays differ in length.

    Notes
    -----
    With :math:`n_c` concordant and :math:`n_d` discordant pairs and :math:`n_1`, :math:`n_2`
    the pairs tied in one ranking,

    .. math:: \tau_b = \frac{n_c - n_d}{\sqrt{(n_0 - n_1)(n_0 - n_2)}},\quad n_0 = n(n-1)/2,

    computed by :func:`scipy.stats.kendalltau` (Knight's :math:`O(n \log n)` algorithm).

    References
    ----------
    .. [1] Kendall, M. G. (1938). A new measure of rank correlation. Biometrika, 30(1/2),
       81-93.
    .. [2] Kendall, M. G. (1945). The treatment of ties in ranking problems. Biometrika,
       33(3), 239-251.
    """
    first = _float_array(before, "before", 1)
    second = _float_array(after, "after", 1)
    if first.shape != second.shape:
        raise ShapeMismatchError(
            f"before, after: must have the same length, got {first.size} and {second.size}"
        )
    both = ~(np.isnan(first) | np.isnan(second))
    rank_before = np.full(first.size, np.nan)
    rank_after = np.full(first.size, np.nan)
    n = int(both.sum())
    tau = pvalue = math.nan
    if n:
        rank_before[both] = sps.rankdata(-first[both])
        rank_after[both] = sps.rankdata(-second[both])
    if n >= 2 and np.ptp(first[both]) > 0 and np.ptp(second[both]) > 0:
        result = sps.kendalltau(first[both], second[both])
        tau, pvalue = float(result.statistic), float(result.pvalue)
    return RankChangeResult(
        rank_before=rank_before,
        rank_after=rank_after,
        shift=rank_before - rank_after,
        tau=tau,
        pvalue=pvalue,
        n=n,
    )
