"""Score many responses at once against a :class:`~evaluator.spec.ScoringSpec` (vectorised).

The answer matrix is described in :mod:`evaluator.spec`. Everything here works on whole blocks
of rows at once: one table gather scores every maturity and choice answer, and weighted sums of
children into parents are column gathers (see :class:`_Segments`). The only Python loops run
over groups of columns (band positions, the columns holding special codes, relevance trees,
the k-th child of each parent) and over blocks of rows (``_BLOCK_CELLS``, which keeps every
temporary in cache), never over single responses.

Departure from the design brief: it asked for the roll-up as products with membership matrices.
Each child belongs to exactly one parent, so such a product spends ``parents`` times the work
(and, with threaded BLAS on a busy machine, its threads compete with the element-wise work);
the gathers do the same sums several times faster, and in document order like a plain loop.
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

_BLOCK_CELLS = 1 << 18  # cells (rows x questions) scored at once: temporaries of ~2 MB


# --- sums of children into parents -----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Segments:
    """How to sum children (columns) into parents: the k-th child of every parent at once.

    A membership matrix product would do the same, but spends ``parents`` times the work (each
    child belongs to one parent): with a few children per parent, a handful of column gathers
    is several times faster than the product, and it adds children in document order, as a
    plain loop would.
    """

    n_parents: int
    steps: tuple[tuple[IntArray, IntArray | None], ...]  # (children, their parents or all)

    @classmethod
    def of(cls, owner: IntArray, n_parents: int) -> _Segments:
        children: list[list[int]] = [[] for _ in range(n_parents)]
        for child, parent in enumerate(owner.tolist()):
            children[parent].append(child)
        steps = []
        for k in range(max((len(c) for c in children), default=0)):
            parents = [p for p in range(n_parents) if len(children[p]) > k]
            cols = np.array([children[p][k] for p in parents], dtype=np.intp)
            steps.append((cols, None if len(parents) == n_parents else np.array(parents)))
        return cls(n_parents, tuple(steps))

    def sum(self, values: FloatArray) -> FloatArray:
        """Sum the last axis of ``values`` (children) into parents."""
        total = np.zeros((*values.shape[:-1], self.n_parents))
        for cols, parents in self.steps:
            if parents is None:
                total += np.take(values, cols, axis=-1)
            else:
                total[..., parents] += np.take(values, cols, axis=-1)
        return total


# --- the per-spec plan ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Plan:
    """Arrays derived once per spec: column groups, lookup tables, weights and segments."""

    lo: FloatArray  # (Q,) smallest valid finite answer (-inf: unbounded)
    hi: FloatArray  # (Q,) largest valid finite answer (+inf: unbounded)
    shift: FloatArray  # (Q,) answer + shift = index into ``table``; NaN: not scored by table
    table: FloatArray  # normalised scores of every table column, then NaN at ``slot``
    slot: int
    bit_cols: list[int]  # multiple questions with more than TABLE_MAX_OPTIONS options
    band_cols: list[int]
    band_lo: FloatArray  # (len(band_cols), most bands) lower bounds, +inf padded
    band_hi: FloatArray  # upper bounds, -inf padded
    band_score: FloatArray  # normalised scores
    linear_cols: list[int]
    unscored_cols: IntArray
    na_norm: FloatArray  # (Q,) normalised na_score (NaN for unscored questions)
    dk_norm: FloatArray  # (Q,)
    w_question: FloatArray  # (Q,) question weight, 0 for unscored questions
    questions: _Segments  # questions -> indicators
    indicators: _Segments  # indicators -> domains
    domains: _Segments  # domains -> the overall score
    leave_code: NDArray[np.int8]  # (Q,) STATUS_NOT_APPLICABLE where N/A leaves the denominator
    w_indicator: FloatArray  # (I,)
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
    shift = np.full(n_q, np.nan)
    pieces: list[FloatArray] = []
    size = 0
    bit_cols: list[int] = []
    for j in range(n_q):
        kind = int(kinds[j])
        n_opt = int(spec.n_options[j])
        if kind == KIND_MATURITY:
            lo[j], hi[j] = spec.scale_min, spec.scale_max
            piece = _normalise(spec, np.arange(spec.scale_min, spec.scale_max + 1))
        elif kind == KIND_MULTIPLE:
            lo[j], hi[j] = 0, (1 << n_opt) - 1
            if n_opt > TABLE_MAX_OPTIONS:
                bit_cols.append(j)
                continue
            table = _multiple_table(spec, j) if spec.scored[j] else np.full(1 << n_opt, np.nan)
            piece = _normalise(spec, table)
        elif n_opt:  # single, yes_no
            lo[j], hi[j] = 0, n_opt - 1
            piece = _normalise(spec, spec.option_scores[j, :n_opt])
        else:
            continue
        shift[j] = size - lo[j]
        pieces.append(piece)
        size += len(piece)
    method = spec.number_method
    n_i, n_d = len(spec.indicator_ids), len(spec.domain_ids)
    band_cols = np.flatnonzero((kinds == KIND_NUMBER) & (method == NUMBER_BANDS)).tolist()
    most = max((len(spec.number_bands[j]) for j in band_cols), default=0)
    band_lo = np.full((len(band_cols), most), np.inf)
    band_hi = np.full((len(band_cols), most), -np.inf)
    band_score = np.zeros((len(band_cols), most))
    for k, j in enumerate(band_cols):
        bands = spec.number_bands[j]
        band_lo[k, : len(bands)], band_hi[k, : len(bands)] = bands[:, 0], bands[:, 1]
        band_score[k, : len(bands)] = _normalise(spec, bands[:, 2])
    plan = _Plan(
        lo=lo,
        hi=hi,
        shift=shift,
        table=np.concatenate([*pieces, [np.nan]]),
        slot=size,
        bit_cols=bit_cols,
        band_cols=band_cols,
        band_lo=band_lo,
        band_hi=band_hi,
        band_score=band_score,
        linear_cols=np.flatnonzero((kinds == KIND_NUMBER) & (method == NUMBER_LINEAR)).tolist(),
        unscored_cols=np.flatnonzero(~spec.scored),
        na_norm=np.where(spec.scored, _normalise(spec, spec.na_score), np.nan),
        dk_norm=np.where(spec.scored, _normalise(spec, spec.dk_score), np.nan),
        w_question=np.where(spec.scored, spec.question_weights, 0.0),
        questions=_Segments.of(spec.question_indicator, n_i),
        indicators=_Segments.of(spec.indicator_domain, n_d),
        domains=_Segments.of(np.zeros(n_d, dtype=np.int64), 1),
        leave_code=np.where(
            spec.scored & np.isnan(spec.na_score), STATUS_NOT_APPLICABLE, -1
        ).astype(np.int8),
        w_indicator=spec.indicator_weights.copy(),
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


def _fail(spec: ScoringSpec, block: FloatArray, bad: BoolArray, start: int, what: str) -> None:
    row, j = np.argwhere(bad)[0]
    kind = KIND_NAMES[int(spec.kinds[j])]
    raise AnswersError(
        f"answers[:, {j}] (question {spec.question_ids[j]!r}, {kind}): "
        f"{float(block[row, j])!r} in row {start + int(row)} {what}"
    )


def _check_specials(
    spec: ScoringSpec,
    block: FloatArray,
    start: int,
    cols: IntArray,
    is_na: BoolArray,
    is_dk: BoolArray,
) -> None:
    """Not applicable / don't know only where the question allows them."""
    for codes, allowed, what in (
        (is_na, spec.allow_na, "(not applicable) is not allowed for this question"),
        (is_dk, spec.allow_dk, "(don't know) is not allowed for this question"),
    ):
        refused = codes & ~allowed[cols]
        if refused.any():
            hit = np.zeros(block.shape, dtype=bool)
            hit[:, cols] = refused
            _fail(spec, block, hit, start, what)


def _check_values(spec: ScoringSpec, plan: _Plan, block: FloatArray, start: int) -> None:
    """Find and report the first finite value off its question's range or not whole."""
    finite = np.isfinite(block)
    outside = finite & ((block < plan.lo) | (block > plan.hi))
    if outside.any():
        j = int(np.argwhere(outside)[0][1])
        _fail(spec, block, outside, start, f"is outside {plan.lo[j]:g}..{plan.hi[j]:g}")
    whole = np.isfinite(plan.lo)  # levels, option indices and bitmasks are whole numbers
    fraction = finite & whole & (block != np.floor(block))
    if fraction.any():
        _fail(spec, block, fraction, start, "is not a whole number")


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
            return np.bitwise_count(masks).astype(np.float64)
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
    read = [j for j in range(spec.n_questions) if spec.read_by_relevance(j)]
    values = block[:, read]
    values[~np.isfinite(values)] = np.nan  # N/A and don't know read as blank
    env: dict[int, FloatArray] = {j: values[:, k] for k, j in enumerate(read)}
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
    buffers: tuple[FloatArray, NDArray[np.intp]],
) -> None:
    """Fill ``scores`` and ``status`` (views of this block's rows).

    Each step is a whole-block ufunc, or touches only the few columns that need it (number
    questions, columns holding N/A or don't know, relevance).
    """
    # Column minima and maxima (NaN ignored) find the columns holding -inf / +inf and any
    # value off its question's range, in two passes without temporaries.
    low = np.fmin.reduce(block, axis=0)
    high = np.fmax.reduce(block, axis=0)
    inf_cols = np.flatnonzero(np.isinf(low) | np.isinf(high))
    special = block[:, inf_cols]
    is_na, is_dk = special == -np.inf, special == np.inf
    _check_specials(spec, block, start, inf_cols, is_na, is_dk)
    if len(inf_cols):
        finite = np.where(is_na | is_dk, np.nan, special)
        low[inf_cols] = np.fmin.reduce(finite, axis=0)
        high[inf_cols] = np.fmax.reduce(finite, axis=0)
    if np.any(low < plan.lo) or np.any(high > plan.hi):
        _check_values(spec, plan, block, start)
    n_rows = block.shape[0]
    work, index = buffers[0][:n_rows], buffers[1][:n_rows]  # reused: no fresh pages to fault

    # Statuses: answered (0) or unanswered (1); special codes are set column by column below.
    np.isnan(block, out=status.view(np.bool_))

    # One gather scores every maturity and choice column. NaN (blank, and columns not scored by
    # the table) and +inf map to the NaN slot; -inf maps to 0, overwritten below like +inf.
    np.add(block, plan.shift, out=work)
    np.fmin(work, plan.slot, out=work)
    np.fmax(work, 0.0, out=work)
    np.copyto(index, work, casting="unsafe")
    if not np.array_equal(index, work):
        _check_values(spec, plan, block, start)
    np.take(plan.table, index, out=scores)

    for j in plan.bit_cols:  # multiple questions with too many options for a table
        column = block[:, j]
        if np.any(np.isfinite(column) & (column != np.floor(column))):
            _check_values(spec, plan, block, start)
        if spec.scored[j]:
            scores[:, j] = _score_bits(spec, j, column)
    if plan.band_cols:  # all band-scored columns at once, in a loop over band positions
        values = block[:, plan.band_cols]
        banded = np.full(values.shape, np.nan)
        for k in range(plan.band_lo.shape[1]):
            inside = (values >= plan.band_lo[:, k]) & (values <= plan.band_hi[:, k])
            np.copyto(banded, plan.band_score[:, k], where=inside)
        scores[:, plan.band_cols] = banded
    if plan.linear_cols:
        cols = plan.linear_cols
        low, high = spec.number_linear[cols, 0], spec.number_linear[cols, 1]
        values = block[:, cols]
        part = np.clip((values - low) / (high - low), 0.0, 1.0)
        scores[:, cols] = np.where(np.isfinite(values), part * 100.0, np.nan)

    # Special codes and relevance: each step gathers the few columns concerned, updates them as
    # a block and scatters them back. (What leaves the denominator is read from the statuses.)
    if len(inf_cols):
        sub = scores[:, inf_cols]
        np.copyto(sub, plan.na_norm[inf_cols], where=is_na)
        np.copyto(sub, plan.dk_norm[inf_cols], where=is_dk)
        scores[:, inf_cols] = sub
        sub_status = status[:, inf_cols]
        sub_status[is_na] = STATUS_NOT_APPLICABLE
        sub_status[is_dk] = STATUS_DONT_KNOW
        status[:, inf_cols] = sub_status
    if spec.has_relevance:
        shown = _relevance_block(spec, block)
        hidden_cols = np.array([j for j in shown if spec.scored[j]], dtype=np.intp)
        if len(hidden_cols):
            hidden = ~np.stack([shown[int(j)] for j in hidden_cols], axis=1)
            sub = scores[:, hidden_cols]
            sub[hidden] = np.nan
            scores[:, hidden_cols] = sub
            sub_status = status[:, hidden_cols]
            sub_status[hidden] = STATUS_NOT_RELEVANT
            status[:, hidden_cols] = sub_status
    if len(plan.unscored_cols):
        status[:, plan.unscored_cols] = STATUS_UNSCORED


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
    segments: _Segments,
    min_coverage: float,
) -> tuple[FloatArray, FloatArray, NDArray[np.int8]]:
    """Parent score, coverage and reason from children (columns) with child ``weights``:
    weighted mean of the scores that exist; weighted mean of the coverages of applicable
    children (coverage not NaN)."""
    # The four weighted sums at once; scores and coverages are >= 0, so fmax(x, 0) is x where
    # it exists and 0 where it is NaN.
    parts = np.empty((4, *child_score.shape))
    np.isfinite(child_score, out=parts[0])
    np.fmax(child_score, 0.0, out=parts[1])
    np.isfinite(child_coverage, out=parts[2])
    np.fmax(child_coverage, 0.0, out=parts[3])
    parts *= weights
    score_weight, score_sum, applicable_weight, coverage_sum = segments.sum(parts)
    score = _divide(score_sum, score_weight)
    coverage = _divide(coverage_sum, applicable_weight)
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

    Rows are processed in blocks of about ``_BLOCK_CELLS`` cells so that temporaries stay small
    and in cache; per block the cost is a few passes over the block, one table gather, and
    weighted sums of children into parents (as many column gathers as the largest parent has
    children).
    """
    matrix = _as_answers(spec, answers)
    plan = _plan(spec)
    n_rows, n_q = matrix.shape
    n_i, n_d = len(spec.indicator_ids), len(spec.domain_ids)
    question_scores = np.empty((n_rows, n_q))
    question_status = np.empty((n_rows, n_q), dtype=np.int8)
    indicator_scores = np.empty((n_rows, n_i))
    indicator_coverage = np.empty((n_rows, n_i))
    domain_scores = np.empty((n_rows, n_d))
    domain_coverage = np.empty((n_rows, n_d))
    domain_reason = np.empty((n_rows, n_d), dtype=np.int8)
    overall = np.empty(n_rows)
    overall_coverage = np.empty(n_rows)
    overall_reason = np.empty(n_rows, dtype=np.int8)
    band = np.full(n_rows, -1, dtype=np.int64)
    # Blocks of rows small enough for every temporary to stay in cache; results written once.
    step = max(1, _BLOCK_CELLS // n_q)
    size = min(step, n_rows)
    buffers = (np.empty((size, n_q)), np.empty((size, n_q), dtype=np.intp))
    for start in range(0, n_rows, step):
        rows = slice(start, start + step)
        scores, status = question_scores[rows], question_status[rows]
        _score_block(spec, plan, matrix[rows], start, scores, status, buffers)
        work = buffers[0][: scores.shape[0]]
        # Scores are >= 0, so fmax(s, 0) is s where answered and 0 where NaN.
        np.fmax(scores, 0.0, out=work)
        numerator = plan.questions.sum(np.multiply(work, plan.w_question, out=work))
        np.isfinite(scores, out=work)
        answered_weight = plan.questions.sum(np.multiply(work, plan.w_question, out=work))
        # Applicable: answered, unanswered, don't know, or N/A that is scored (codes 0-3, but
        # not N/A that leaves the denominator); not hidden or unscored (codes 4 and 5).
        np.copyto(work, (status <= STATUS_DONT_KNOW) & (status != plan.leave_code))
        applicable_weight = plan.questions.sum(np.multiply(work, plan.w_question, out=work))
        indicator_scores[rows] = parent = _divide(numerator, answered_weight)
        indicator_coverage[rows] = coverage = _divide(answered_weight, applicable_weight)
        parent, coverage, reason = _roll_up(
            parent, coverage, plan.w_indicator, plan.indicators, spec.min_coverage
        )
        domain_scores[rows], domain_coverage[rows], domain_reason[rows] = parent, coverage, reason
        parent, coverage, reason = _roll_up(
            parent, coverage, plan.w_domain, plan.domains, spec.min_coverage
        )
        overall[rows], overall_coverage[rows], overall_reason[rows] = (
            parent[:, 0],
            coverage[:, 0],
            reason[:, 0],
        )
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
