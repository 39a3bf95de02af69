"""Score many responses at once against a :class:`~evaluator.spec.ScoringSpec` (vectorised).

The answer matrix is described in :mod:`evaluator.spec`. Everything here works on whole columns
and matrix products; the only Python loops run over groups of questions, over number questions
and over blocks of rows (to bound the memory of temporaries, see ``_BLOCK_CELLS``), never over
single responses.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaluator.results import (
    REASON_INSUFFICIENT_DATA,
    REASON_NOT_APPLICABLE,
    REASON_OK,
    STATUS_DONT_KNOW,
    STATUS_NOT_APPLICABLE,
    STATUS_NOT_RELEVANT,
    STATUS_UNSCORED,
    AnswersError,
    FloatArray,
    IntArray,
    ScoreResult,
)
from evaluator.spec import (
    COMBINE_MAX,
    COMBINE_MEAN,
    KIND_MATURITY,
    KIND_MULTIPLE,
    KIND_NAMES,
    KIND_NUMBER,
    NUMBER_BANDS,
    NUMBER_LINEAR,
    RelevanceTree,
    ScoringSpec,
)

BoolArray = NDArray[np.bool_]

COVERAGE_TOLERANCE = 1e-9
"""Coverage this close below ``min_coverage`` still counts as enough (float noise of weights)."""

BAND_DECIMALS = 9
"""Overall scores are rounded to this many decimals before their band is looked up."""

TABLE_MAX_OPTIONS = 16
"""Multiple questions with at most this many options are scored from a table of all 2**n masks."""

_BLOCK_CELLS = 1 << 20  # cells (rows x questions) scored at once: bounds temporaries to ~8 MB


# --- the per-spec plan ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Plan:
    """Arrays derived once per spec: column groups, lookup tables and weight matrices."""

    lo: FloatArray  # (Q,) smallest valid finite answer
    hi: FloatArray  # (Q,) largest valid finite answer
    table_cols: IntArray  # columns scored by one gather from ``table``
    table_shift: FloatArray  # answer + shift = index into ``table``
    table: FloatArray  # normalised scores; NaN: unscored
    integral_cols: IntArray  # columns whose finite answers must be integers
    bit_cols: IntArray  # multiple questions with more than TABLE_MAX_OPTIONS options
    band_cols: IntArray
    linear_cols: IntArray
    unscored: BoolArray  # (Q,)
    na_norm: FloatArray  # (Q,) normalised na_score
    dk_norm: FloatArray  # (Q,)
    na_excluded: BoolArray  # (Q,)
    w_question: FloatArray  # (Q, I) question weight where the question is in the indicator
    w_indicator: FloatArray  # (I, D)
    w_domain: FloatArray  # (D,)


_PLANS: weakref.WeakKeyDictionary[ScoringSpec, _Plan] = weakref.WeakKeyDictionary()


def _normalise(spec: ScoringSpec, scores: ArrayLike) -> FloatArray:
    lo, hi = spec.scale_min, spec.scale_max
    return (np.asarray(scores, dtype=np.float64) - lo) / (hi - lo) * 100.0


def _multiple_table(spec: ScoringSpec, j: int) -> FloatArray:
    """Scale-unit score of every bitmask of multiple question ``j``."""
    n = int(spec.n_options[j])
    scores = spec.option_scores[j, :n]
    masks = np.arange(1 << n, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(np.float64)
    return _combine(spec, j, bits, scores)


def _combine(spec: ScoringSpec, j: int, bits: FloatArray, scores: FloatArray) -> FloatArray:
    """Combine the scores of the selected options (``bits``: rows x options of 0/1)."""
    lo, hi = spec.scale_min, spec.scale_max
    count = bits.sum(axis=1)
    rule = spec.combine[j]
    if rule == COMBINE_MAX:
        combined = np.where(bits > 0, scores, -np.inf).max(axis=1, initial=-np.inf)
    elif rule == COMBINE_MEAN:
        combined = np.divide(bits @ scores, count, out=np.zeros(len(count)), where=count > 0)
    else:
        cap = hi if np.isnan(spec.cap[j]) else float(spec.cap[j])
        combined = np.minimum(bits @ scores, cap)
    # An answered empty selection scores the scale minimum, like every sum below it.
    return np.where(count > 0, np.maximum(combined, lo), lo)


def _plan(spec: ScoringSpec) -> _Plan:
    plan = _PLANS.get(spec)
    if plan is not None:
        return plan
    n_q = spec.n_questions
    kinds = spec.kinds
    lo = np.full(n_q, -np.inf)
    hi = np.full(n_q, np.inf)
    table_cols: list[int] = []
    shifts: list[float] = []
    pieces: list[FloatArray] = []
    size = 0
    integral: list[int] = []
    bit_cols: list[int] = []
    for j in range(n_q):
        kind = int(kinds[j])
        n_opt = int(spec.n_options[j])
        if kind == KIND_MATURITY:
            lo[j], hi[j] = spec.scale_min, spec.scale_max
            piece = _normalise(spec, np.arange(spec.scale_min, spec.scale_max + 1))
            base = spec.scale_min
        elif kind == KIND_MULTIPLE:
            lo[j], hi[j] = 0, (1 << n_opt) - 1
            if n_opt > TABLE_MAX_OPTIONS:
                integral.append(j)
                if spec.scored[j]:
                    bit_cols.append(j)
                continue
            table = _multiple_table(spec, j) if spec.scored[j] else np.full(1 << n_opt, np.nan)
            piece, base = _normalise(spec, table), 0.0
        elif n_opt:  # single, yes_no
            lo[j], hi[j] = 0, n_opt - 1
            piece, base = _normalise(spec, spec.option_scores[j, :n_opt]), 0.0
        else:
            continue
        integral.append(j)
        table_cols.append(j)
        shifts.append(size - base)
        pieces.append(piece)
        size += len(piece)
    method = spec.number_method
    n_i, n_d = len(spec.indicator_ids), len(spec.domain_ids)
    w_question = np.zeros((n_q, n_i))
    scored = np.flatnonzero(spec.scored)
    w_question[scored, spec.question_indicator[scored]] = spec.question_weights[scored]
    w_indicator = np.zeros((n_i, n_d))
    w_indicator[np.arange(n_i), spec.indicator_domain] = spec.indicator_weights
    plan = _Plan(
        lo=lo,
        hi=hi,
        table_cols=np.asarray(table_cols, dtype=np.intp),
        table_shift=np.asarray(shifts, dtype=np.float64),
        table=np.concatenate([*pieces, [np.nan]]),
        integral_cols=np.asarray(integral, dtype=np.intp),
        bit_cols=np.asarray(bit_cols, dtype=np.intp),
        band_cols=np.flatnonzero((kinds == KIND_NUMBER) & (method == NUMBER_BANDS)),
        linear_cols=np.flatnonzero((kinds == KIND_NUMBER) & (method == NUMBER_LINEAR)),
        unscored=~spec.scored,
        na_norm=_normalise(spec, spec.na_score),
        dk_norm=_normalise(spec, spec.dk_score),
        na_excluded=np.isnan(spec.na_score),
        w_question=w_question,
        w_indicator=w_indicator,
        w_domain=spec.domain_weights.copy(),
    )
    _PLANS[spec] = plan
    return plan


# --- answers --------------------------------------------------------------------------------


def _as_answers(spec: ScoringSpec, answers: ArrayLike, name: str = "answers") -> FloatArray:
    try:
        matrix = np.asarray(answers, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AnswersError(f"{name}: not a numeric matrix ({exc})") from None
    if matrix.ndim != 2 or matrix.shape[1] != spec.n_questions:
        raise AnswersError(
            f"{name}: expected shape (responses, {spec.n_questions}), got {matrix.shape}"
        )
    return matrix


def _fail(
    spec: ScoringSpec, block: FloatArray, bad: BoolArray, start: int, cols: Any, what: str
) -> None:
    row, k = np.argwhere(bad)[0]
    j = int(np.arange(spec.n_questions)[cols][k])
    kind = KIND_NAMES[int(spec.kinds[j])]
    raise AnswersError(
        f"answers[:, {j}] (question {spec.question_ids[j]!r}, {kind}): "
        f"{float(block[row, j])!r} in row {start + int(row)} {what}"
    )


def _check_block(
    spec: ScoringSpec, plan: _Plan, block: FloatArray, start: int, inf_cols: list[int]
) -> None:
    """Raise AnswersError naming the question of the first invalid value in ``block``."""
    outside = (block < plan.lo) | (block > plan.hi)
    outside &= np.isfinite(block)
    if outside.any():
        lo, hi = plan.lo, plan.hi
        j = np.argwhere(outside)[0][1]
        _fail(spec, block, outside, start, slice(None), f"is outside {lo[j]:g}..{hi[j]:g}")
    cols = plan.integral_cols
    if len(cols):
        values = block[:, cols]
        fraction = np.isfinite(values) & (values != np.floor(values))
        if fraction.any():
            _fail(spec, block, fraction, start, cols, "is not a whole number")
    for j in inf_cols:
        column = block[:, j]
        for code, allowed, what in (
            (-np.inf, spec.allow_na, "(not applicable) is not allowed for this question"),
            (np.inf, spec.allow_dk, "(don't know) is not allowed for this question"),
        ):
            if not allowed[j] and np.any(column == code):
                hit = np.zeros(block.shape, dtype=bool)
                hit[:, j] = column == code
                _fail(spec, block, hit, start, slice(None), what)


# --- relevance ------------------------------------------------------------------------------


def _truth(value: NDArray[Any]) -> BoolArray:
    if value.dtype == np.bool_:
        return value
    result: BoolArray = (value != 0) & ~np.isnan(value)
    return result


_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
_ARITHMETIC = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.true_divide,
    "mod": np.fmod,
}


def _evaluate(node: RelevanceTree, env: dict[int, FloatArray]) -> NDArray[Any]:
    head = node[0]
    if head == "const":
        return np.asarray(float(node[1]))
    if head == "col":
        return env[int(node[1])]
    if head == "blank":
        return np.isnan(env[int(node[1])])
    if head in ("bit", "popcount"):
        values = env[int(node[1])]
        masks = np.where(np.isnan(values), 0.0, values).astype(np.int64)
        if head == "popcount":
            return np.bitwise_count(masks).astype(np.float64) * 0
        return ((masks >> int(node[2])) & 1).astype(np.bool_)
    if head in _COMPARE:
        compared: BoolArray = _COMPARE[head](_evaluate(node[1], env), _evaluate(node[2], env))
        return compared
    if head in _ARITHMETIC:
        left = _evaluate(node[1], env).astype(np.float64)
        right = _evaluate(node[2], env).astype(np.float64)
        return _ARITHMETIC[head](left, right)
    if head == "neg":
        return np.negative(_evaluate(node[1], env).astype(np.float64))
    if head == "and":
        return _truth(_evaluate(node[1], env)) & _truth(_evaluate(node[2], env))
    if head == "or":
        return _truth(_evaluate(node[1], env)) | _truth(_evaluate(node[2], env))
    if head == "not":
        return ~_truth(_evaluate(node[1], env))
    if head == "truth":
        return _truth(_evaluate(node[1], env))
    raise AssertionError(f"unknown node {head!r}: the spec should have refused it")


def _relevance_block(spec: ScoringSpec, block: FloatArray) -> dict[int, BoolArray]:
    """Relevance of each question that has a relevance tree, for the rows of ``block``."""
    n = block.shape[0]
    env: dict[int, FloatArray] = {}
    for j in range(spec.n_questions):
        if spec.read_by_relevance(j):
            column = block[:, j].copy()
            column[~np.isfinite(column)] = np.nan  # N/A and don't know read as blank
            env[j] = column
    masks: dict[int, BoolArray] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in spec.relevance_order:
            tree = spec.relevance[j]
            if tree is None:  # pragma: no cover - relevance_order lists only questions with one
                continue
            mask = np.broadcast_to(_truth(_evaluate(tree, env)), (n,)).copy()
            masks[j] = mask
            if j in env:  # a hidden question reads as blank in later expressions
                env[j][~mask] = np.nan
    return masks


def relevance_mask(spec: ScoringSpec, answers: ArrayLike) -> BoolArray:
    """Which questions each response shows (XLSForm relevance), vectorised over responses.

    Parameters
    ----------
    spec : ScoringSpec
        The compiled rubric, with its relevance trees and their evaluation order.
    answers : array_like, shape (R, Q)
        Encoded answers (see :mod:`evaluator.spec`). Values are not validated here.

    Returns
    -------
    numpy.ndarray of bool, shape (R, Q)
        True where the question is relevant (shown).

    Notes
    -----
    Trees are evaluated in ``spec.relevance_order``. Unanswered, not applicable and don't know
    values read as blank (NaN), and so does the value of a question once its own relevance is
    false, whatever was stored: ``relevant_j = f_j(x)`` with
    ``x_k = NaN if not relevant_k`` for every ``k`` evaluated before ``j``.
    """
    matrix = _as_answers(spec, answers)
    result = np.ones(matrix.shape, dtype=bool)
    if spec.has_relevance:
        for j, mask in _relevance_block(spec, matrix).items():
            result[:, j] = mask
    return result


# --- scoring --------------------------------------------------------------------------------


def _score_block(
    spec: ScoringSpec,
    plan: _Plan,
    block: FloatArray,
    start: int,
    scores: FloatArray,
    status: NDArray[np.int8],
) -> tuple[FloatArray, ...]:
    """Fill ``scores``/``status`` (views of this block's rows); return indicator sums."""
    inf_cols: list[int] = np.flatnonzero(np.isinf(block).any(axis=0)).tolist()
    _check_block(spec, plan, block, start, inf_cols)

    # Statuses: answered (0) or unanswered (1), then the special codes column by column.
    np.isnan(block, out=status.view(np.bool_))
    na_cols: list[int] = []
    for j in inf_cols:
        column = block[:, j]
        is_na = column == -np.inf
        status[is_na, j] = STATUS_NOT_APPLICABLE
        status[column == np.inf, j] = STATUS_DONT_KNOW
        if plan.na_excluded[j] and is_na.any():
            na_cols.append(j)

    # Question scores (0-100) of finite answers, by group of columns.
    scores.fill(np.nan)
    cols = plan.table_cols
    if len(cols):
        values = block[:, cols]
        finite = np.isfinite(values)
        index = np.where(finite, values + plan.table_shift, len(plan.table) - 1)
        scores[:, cols] = plan.table[index.astype(np.intp)]
    for j in plan.bit_cols:
        scores[:, j] = _score_bits(spec, int(j), block[:, j])
    for j in plan.band_cols:
        bands = spec.number_bands[j]
        column = block[:, j]
        at = np.searchsorted(bands[:, 0], column, side="right") - 1
        inside = (at >= 0) & (column <= bands[np.maximum(at, 0), 1])
        scores[:, j] = np.where(inside, _normalise(spec, bands[np.maximum(at, 0), 2]), np.nan)
    cols = plan.linear_cols
    if len(cols):
        low, high = spec.number_linear[cols, 0], spec.number_linear[cols, 1]
        values = block[:, cols]
        part = np.clip((values - low) / (high - low), 0.0, 1.0)
        scores[:, cols] = np.where(np.isfinite(values), part * 100.0, np.nan)
    for j in inf_cols:
        column = block[:, j]
        scores[column == -np.inf, j] = plan.na_norm[j]
        scores[column == np.inf, j] = plan.dk_norm[j]

    # Applicable: scored, not excluded as N/A, relevant. Hidden questions lose their score.
    applicable = np.broadcast_to(spec.scored.astype(np.float64), block.shape).copy()
    for j in na_cols:
        applicable[block[:, j] == -np.inf, j] = 0.0
    if spec.has_relevance:
        for j, mask in _relevance_block(spec, block).items():
            if spec.scored[j]:
                hidden = ~mask
                applicable[hidden, j] = 0.0
                scores[hidden, j] = np.nan
                status[hidden, j] = STATUS_NOT_RELEVANT
    unscored = plan.unscored
    if unscored.any():
        scores[:, unscored] = np.nan
        status[:, unscored] = STATUS_UNSCORED

    answered = np.isfinite(scores)
    numerator = np.where(answered, scores, 0.0) @ plan.w_question
    answered_weight = answered.astype(np.float64) @ plan.w_question
    applicable_weight = applicable @ plan.w_question
    return numerator, answered_weight, applicable_weight


def _score_bits(spec: ScoringSpec, j: int, column: FloatArray) -> FloatArray:
    """Score multiple question ``j`` (too many options for a table) from its bitmasks."""
    n = int(spec.n_options[j])
    finite = np.isfinite(column)
    masks = np.where(finite, column, 0).astype(np.int64)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(np.float64)
    combined = _combine(spec, j, bits, spec.option_scores[j, :n])
    return np.where(finite, _normalise(spec, combined), np.nan)


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, NaN where the denominator is 0 (without a warning)."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _roll_up(
    child_score: FloatArray,
    child_coverage: FloatArray,
    weights: FloatArray,
    min_coverage: float,
) -> tuple[FloatArray, FloatArray, NDArray[np.int8]]:
    """Parent score, coverage and reason from children (columns) and a (children, parents)
    weight matrix: weighted mean of the scores that exist; weighted mean of the coverages of
    applicable children (coverage not NaN)."""
    has_score = np.isfinite(child_score)
    applicable = np.isfinite(child_coverage)
    score_weight = has_score.astype(np.float64) @ weights
    score = _divide(np.where(has_score, child_score, 0.0) @ weights, score_weight)
    applicable_weight = applicable.astype(np.float64) @ weights
    coverage = _divide(np.where(applicable, child_coverage, 0.0) @ weights, applicable_weight)
    reason = np.full(score.shape, REASON_OK, dtype=np.int8)
    short = (score_weight == 0) | (coverage < min_coverage - COVERAGE_TOLERANCE)
    reason[short] = REASON_INSUFFICIENT_DATA
    reason[applicable_weight == 0] = REASON_NOT_APPLICABLE
    score[reason != REASON_OK] = np.nan
    return score, coverage, reason


def score_responses(spec: ScoringSpec, answers: ArrayLike) -> ScoreResult:
    """Score R responses against a rubric's scoring spec, all at once.

    Parameters
    ----------
    spec : ScoringSpec
        The compiled rubric (``rubrics.loader.compile_spec``).
    answers : array_like, shape (R, Q)
        Encoded answers, one column per question of ``spec`` (see :mod:`evaluator.spec`):
        finite values are answers, NaN unanswered, -inf not applicable, +inf don't know.

    Returns
    -------
    ScoreResult
        Question, indicator, domain and overall scores on 0-100, coverages, statuses,
        reasons for missing scores and the band of each overall score.

    Raises
    ------
    AnswersError
        If ``answers`` has the wrong shape, or a value does not fit its question (a level off
        the scale, an option index that does not exist, a fraction where a whole number is
        needed, or not applicable / don't know where the question does not allow it). The
        message names the column, the question id and the row.

    Notes
    -----
    A question score ``s`` in scale units becomes ``100 (s - min) / (max - min)``. Choice
    questions score their option's score; a multiple question combines its selected options'
    scores by ``sum`` (capped at ``cap``, default the scale maximum), ``max`` or ``mean``, and an
    empty selection scores the scale minimum. A number scores the band containing it (bounds
    inclusive; outside every band it has no score and counts as missing), or linearly
    ``clip((x - low) / (high - low), 0, 1)``.

    Not applicable answers score ``na_score`` when it is set and otherwise leave the
    denominator. Don't know answers score ``dk_score`` when set and otherwise count as missing.
    A question hidden by relevance is excluded like an excluded N/A. Unscored questions (text,
    evidence, choices without scores) count nowhere. With ``a_q`` = 1 when question ``q`` is
    applicable and ``h_q`` = 1 when it also has a score ``s_q``, for indicator ``i``:

    .. math::

        S_i = \\frac{\\sum_{q \\in i} w_q h_q s_q}{\\sum_{q \\in i} w_q h_q}, \\qquad
        C_i = \\frac{\\sum_{q \\in i} w_q h_q}{\\sum_{q \\in i} w_q a_q}

    An indicator with no applicable weight is not applicable. A domain's score is the
    indicator-weighted mean of the indicator scores that exist, its coverage the
    indicator-weighted mean of the coverages of its applicable indicators; the overall score
    rolls up domains the same way with domain weights. A domain or overall score is NaN with
    ``REASON_NOT_APPLICABLE`` when nothing in it is applicable, and with
    ``REASON_INSUFFICIENT_DATA`` when its coverage is below ``min_coverage`` (less
    ``COVERAGE_TOLERANCE``) or nothing in it has a score. The band is the one whose ``[min,
    max)`` holds the overall score rounded to ``BAND_DECIMALS`` decimals (the last band includes
    100), -1 when there is no overall score.

    All sums are matrix products with membership matrices holding the weights, so the cost is
    that of a few ``(R, Q) @ (Q, I)`` products; rows are processed in blocks of about
    ``_BLOCK_CELLS`` cells to bound the memory of temporaries.
    """
    matrix = _as_answers(spec, answers)
    plan = _plan(spec)
    n_rows, n_q = matrix.shape
    n_i = len(spec.indicator_ids)
    question_scores = np.empty((n_rows, n_q))
    question_status = np.empty((n_rows, n_q), dtype=np.int8)
    numerator = np.empty((n_rows, n_i))
    answered_weight = np.empty((n_rows, n_i))
    applicable_weight = np.empty((n_rows, n_i))
    step = max(1, _BLOCK_CELLS // n_q)
    for start in range(0, n_rows, step):
        rows = slice(start, start + step)
        sums = _score_block(
            spec, plan, matrix[rows], start, question_scores[rows], question_status[rows]
        )
        numerator[rows], answered_weight[rows], applicable_weight[rows] = sums

    indicator_scores = _divide(numerator, answered_weight)
    indicator_coverage = _divide(answered_weight, applicable_weight)
    domain_scores, domain_coverage, domain_reason = _roll_up(
        indicator_scores, indicator_coverage, plan.w_indicator, spec.min_coverage
    )
    overall, overall_coverage, overall_reason = _roll_up(
        domain_scores, domain_coverage, plan.w_domain[:, None], spec.min_coverage
    )
    overall, overall_coverage, overall_reason = (
        overall[:, 0],
        overall_coverage[:, 0],
        overall_reason[:, 0],
    )
    band = np.full(n_rows, -1, dtype=np.int64)
    scored = np.isfinite(overall)
    at = np.searchsorted(spec.band_min, np.round(overall[scored], BAND_DECIMALS), side="right")
    band[scored] = np.clip(at - 1, 0, len(spec.band_min) - 1)
    return ScoreResult(
        question_ids=spec.question_ids,
        indicator_ids=spec.indicator_ids,
        domain_ids=spec.domain_ids,
        question_scores=question_scores,
        question_status=question_status,
        indicator_scores=indicator_scores,
        indicator_coverage=indicator_coverage,
        domain_scores=domain_scores,
        domain_coverage=domain_coverage,
        domain_reason=domain_reason,
        overall=overall,
        overall_coverage=overall_coverage,
        overall_reason=overall_reason,
        band=band,
        band_labels=spec.band_labels,
    )
