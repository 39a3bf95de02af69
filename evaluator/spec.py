"""The scoring spec: the compiled, purely numeric form of a rubric that the engine scores with.

A :class:`ScoringSpec` holds ids, codes, weights and arrays only; it knows nothing about YAML,
pydantic or languages (``rubrics.loader.compile_spec`` builds one from a rubric). It validates
itself on construction and raises :class:`~evaluator.results.SpecError` naming the bad field.

Answer encoding
---------------
The engine scores a float64 matrix of R responses x Q questions, one column per question of the
spec in document order (unscored text/evidence questions included):

=================  ==========================================================
question kind      encoded value
=================  ==========================================================
maturity           the level number (``scale_min`` .. ``scale_max``)
single, yes_no     the 0-based option index
multiple           the bitmask ``sum(2**i)`` of the selected option indices
number             the number
text, evidence     any finite value (``1.0`` by convention) when answered
=================  ==========================================================

Special codes: :data:`UNANSWERED` (NaN), :data:`NOT_APPLICABLE` (-inf), :data:`DONT_KNOW` (+inf).
Any finite value is an answer.

Relevance trees
---------------
``relevance[j]`` is None (always relevant) or an expression tree of nested tuples (or lists, as
after a JSON round trip) whose first item names the node:

==========================  =========================================================
node                        value
==========================  =========================================================
``("const", x)``            the number ``x``
``("col", j)``              the value of question ``j``; NaN when it is blank
                            (unanswered, not applicable, don't know, or hidden)
``("blank", j)``            bool: question ``j`` is blank
``("bit", j, i)``           bool: option ``i`` of multiple question ``j`` is selected
``("popcount", j)``         the number of options selected in question ``j`` (0: blank)
``("eq"|"ne"|"lt"|"le"|``   comparison of two numbers (NaN compares unequal to all,
``"gt"|"ge", a, b)``        as in XPath)
``("add"|"sub"|"mul"|``     arithmetic; ``mod`` truncates like XPath's ``mod``
``"div"|"mod", a, b)``
``("neg", a)``              minus ``a``
``("and"|"or", a, b)``      logic on truth values
``("not", a)``              negation of a truth value
``("truth", a)``            number -> truth value: neither 0 nor NaN
==========================  =========================================================

Truth values and numbers mix as in numpy (true is 1). ``relevance_order`` lists every question
that has a relevance tree, each after all the questions whose relevance can change a value its
own tree reads, so that a question hidden by relevance is seen as blank by later ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaluator.results import FloatArray, IntArray, SpecError

UNANSWERED = math.nan
NOT_APPLICABLE = -math.inf
DONT_KNOW = math.inf

# Question kinds (ScoringSpec.kinds)
KIND_MATURITY = 0
KIND_SINGLE = 1
KIND_YES_NO = 2
KIND_MULTIPLE = 3
KIND_NUMBER = 4
KIND_TEXT = 5
KIND_EVIDENCE = 6
KIND_NAMES = ("maturity", "single", "yes_no", "multiple", "number", "text", "evidence")
KIND_CODES = {name: code for code, name in enumerate(KIND_NAMES)}
CHOICE_KINDS = frozenset({KIND_SINGLE, KIND_YES_NO, KIND_MULTIPLE})

# How the scores of the options selected in a multiple question combine (ScoringSpec.combine)
COMBINE_SUM = 0
COMBINE_MAX = 1
COMBINE_MEAN = 2
COMBINE_NAMES = ("sum", "max", "mean")

# How a number question is scored (ScoringSpec.number_method)
NUMBER_NONE = 0
NUMBER_BANDS = 1
NUMBER_LINEAR = 2

MAX_MULTIPLE_OPTIONS = 52  # a bitmask of 52 bits is still exact in a float64

RelevanceTree = tuple[Any, ...] | list[Any]

_BINARY_NODES = frozenset(
    {"eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "mod", "and", "or"}
)
_UNARY_NODES = frozenset({"neg", "not", "truth"})
_COLUMN_NODES = frozenset({"col", "blank", "popcount"})


def tree_columns(tree: RelevanceTree) -> set[int]:
    """The question columns that relevance tree ``tree`` reads."""
    found: set[int] = set()
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        head = node[0]
        if head in _COLUMN_NODES or head == "bit":
            found.add(int(node[1]))
        elif head != "const":
            stack.extend(node[1:])
    return found


def _check_tree(tree: Any, kinds: IntArray, n_options: IntArray, where: str) -> None:
    """Raise SpecError unless ``tree`` is a well-formed tree over ``len(kinds)`` columns."""
    n_questions = len(kinds)

    def column(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise SpecError(f"{where}: column {value!r} is not an integer")
        if not 0 <= int(value) < n_questions:
            raise SpecError(f"{where}: column {value} is out of range 0..{n_questions - 1}")
        return int(value)

    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, tuple | list) or not node or not isinstance(node[0], str):
            raise SpecError(f"{where}: {node!r} is not a node")
        head, args = node[0], node[1:]
        if head == "const":
            if (
                len(args) != 1
                or isinstance(args[0], bool)
                or not isinstance(args[0], int | float | np.floating | np.integer)
            ):
                raise SpecError(f"{where}: {node!r} needs one number")
        elif head in _COLUMN_NODES:
            if len(args) != 1:
                raise SpecError(f"{where}: {node!r} needs one column")
            column(args[0])
        elif head == "bit":
            if len(args) != 2:
                raise SpecError(f"{where}: {node!r} needs a column and an option")
            j = column(args[0])
            if kinds[j] != KIND_MULTIPLE or not 0 <= int(args[1]) < n_options[j]:
                raise SpecError(f"{where}: {node!r} is not an option of a multiple question")
        elif head in _BINARY_NODES:
            if len(args) != 2:
                raise SpecError(f"{where}: {head!r} needs two operands")
            stack.extend(args)
        elif head in _UNARY_NODES:
            if len(args) != 1:
                raise SpecError(f"{where}: {head!r} needs one operand")
            stack.extend(args)
        else:
            raise SpecError(f"{where}: unknown node {head!r}")


def _frozen(value: Any, dtype: Any, name: str, ndim: int) -> NDArray[Any]:
    try:
        array = np.array(value, dtype=dtype)  # a copy: the spec owns its arrays
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name}: {exc}") from None
    if array.ndim != ndim:
        raise SpecError(f"{name}: expected {ndim} dimension(s), got shape {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class ScoringSpec:
    """The numeric form of a rubric: everything :func:`~evaluator.scoring.score_responses` needs.

    Q questions, I indicators, D domains, B bands. Scores of options, bands, caps and the
    ``na_score``/``dk_score`` are in scale units (``scale_min`` .. ``scale_max``); the engine
    reports 0-100. Arrays are copied and made read-only on construction.
    """

    question_ids: tuple[str, ...]
    indicator_ids: tuple[str, ...]
    domain_ids: tuple[str, ...]
    kinds: IntArray  # (Q,) KIND_*
    scored: NDArray[np.bool_]  # (Q,) False: text/evidence, unscored choices, unscored numbers
    question_weights: FloatArray  # (Q,)
    indicator_weights: FloatArray  # (I,)
    domain_weights: FloatArray  # (D,)
    question_indicator: IntArray  # (Q,) index into indicator_ids
    indicator_domain: IntArray  # (I,) index into domain_ids
    scale_min: float
    scale_max: float
    n_options: IntArray  # (Q,) 0 for questions without options
    option_scores: FloatArray  # (Q, max(n_options)) NaN-padded; NaN for unscored options
    combine: IntArray  # (Q,) COMBINE_* (used by multiple questions)
    cap: FloatArray  # (Q,) ceiling of a multiple "sum"; NaN: the scale maximum
    number_method: IntArray  # (Q,) NUMBER_*
    number_bands: tuple[FloatArray, ...]  # Q arrays of shape (k, 3): lo, hi, score (inclusive)
    number_linear: FloatArray  # (Q, 2): low, high (NaN unless linear)
    allow_na: NDArray[np.bool_]  # (Q,)
    allow_dk: NDArray[np.bool_]  # (Q,)
    na_score: FloatArray  # (Q,) NaN: N/A leaves the denominator
    dk_score: FloatArray  # (Q,) NaN: don't know counts as missing
    min_coverage: float
    band_min: FloatArray  # (B,) ascending, band_min[0] == 0
    band_max: FloatArray  # (B,) band_max[b] == band_min[b + 1], band_max[-1] == 100
    band_labels: tuple[str, ...]
    relevance: tuple[RelevanceTree | None, ...] = ()  # () means no question has relevance
    relevance_order: tuple[int, ...] = ()
    _readers: tuple[tuple[int, ...], ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("question_ids", "indicator_ids", "domain_ids", "band_labels"):
            value = tuple(getattr(self, name))
            if not all(isinstance(item, str) for item in value):
                raise SpecError(f"{name}: every item must be a string")
            put(name, value)
        n_q, n_i, n_d = len(self.question_ids), len(self.indicator_ids), len(self.domain_ids)
        for name, ids in (
            ("question_ids", self.question_ids),
            ("indicator_ids", self.indicator_ids),
            ("domain_ids", self.domain_ids),
        ):
            if len(set(ids)) != len(ids):
                raise SpecError(f"{name}: ids must be unique")
        if n_q == 0 or n_i == 0 or n_d == 0:
            raise SpecError("question_ids: a spec needs questions, indicators and domains")

        shapes: dict[str, tuple[Any, int, tuple[int, ...] | None]] = {
            "kinds": (np.int64, 1, (n_q,)),
            "scored": (np.bool_, 1, (n_q,)),
            "question_weights": (np.float64, 1, (n_q,)),
            "indicator_weights": (np.float64, 1, (n_i,)),
            "domain_weights": (np.float64, 1, (n_d,)),
            "question_indicator": (np.int64, 1, (n_q,)),
            "indicator_domain": (np.int64, 1, (n_i,)),
            "n_options": (np.int64, 1, (n_q,)),
            "option_scores": (np.float64, 2, None),
            "combine": (np.int64, 1, (n_q,)),
            "cap": (np.float64, 1, (n_q,)),
            "number_method": (np.int64, 1, (n_q,)),
            "number_linear": (np.float64, 2, (n_q, 2)),
            "allow_na": (np.bool_, 1, (n_q,)),
            "allow_dk": (np.bool_, 1, (n_q,)),
            "na_score": (np.float64, 1, (n_q,)),
            "dk_score": (np.float64, 1, (n_q,)),
            "band_min": (np.float64, 1, None),
            "band_max": (np.float64, 1, None),
        }
        for name, (dtype, ndim, shape) in shapes.items():
            array = _frozen(getattr(self, name), dtype, name, ndim)
            if shape is not None and array.shape != shape:
                raise SpecError(f"{name}: expected shape {shape}, got {array.shape}")
            put(name, array)

        lo, hi = float(self.scale_min), float(self.scale_max)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise SpecError(f"scale_min/scale_max: need finite min < max, got {lo}, {hi}")
        put("scale_min", lo)
        put("scale_max", hi)
        for name in ("question_weights", "indicator_weights", "domain_weights"):
            weights = getattr(self, name)
            if not np.all(np.isfinite(weights) & (weights > 0)):
                raise SpecError(f"{name}: weights must be finite and above 0")
        if np.any((self.kinds < 0) | (self.kinds >= len(KIND_NAMES))):
            raise SpecError("kinds: unknown kind code")
        if np.any((self.question_indicator < 0) | (self.question_indicator >= n_i)):
            raise SpecError("question_indicator: index out of range")
        if np.any((self.indicator_domain < 0) | (self.indicator_domain >= n_d)):
            raise SpecError("indicator_domain: index out of range")
        self._check_options()
        self._check_numbers()
        for name in ("na_score", "dk_score"):
            values = getattr(self, name)
            finite = values[~np.isnan(values)]
            if np.any((finite < lo) | (finite > hi)):
                raise SpecError(f"{name}: scores must lie on the scale {lo:g}..{hi:g} or be NaN")
        coverage = float(self.min_coverage)
        if not 0 <= coverage <= 1:
            raise SpecError(f"min_coverage: must be in [0, 1], got {coverage}")
        put("min_coverage", coverage)
        self._check_bands()
        self._check_relevance()

    def _check_options(self) -> None:
        lo, hi = self.scale_min, self.scale_max
        n_q = len(self.question_ids)
        if self.option_scores.shape[0] != n_q:
            raise SpecError(f"option_scores: expected {n_q} rows, got {self.option_scores.shape}")
        choice = np.isin(self.kinds, list(CHOICE_KINDS))
        if np.any(self.n_options[~choice] != 0):
            raise SpecError("n_options: only choice questions have options")
        if np.any(self.n_options[choice] < 1):
            raise SpecError("n_options: a choice question needs at least one option")
        if np.any(self.n_options[self.kinds == KIND_MULTIPLE] > MAX_MULTIPLE_OPTIONS):
            raise SpecError(f"n_options: a multiple question has at most {MAX_MULTIPLE_OPTIONS}")
        if self.option_scores.shape[1] < int(self.n_options.max(initial=0)):
            raise SpecError("option_scores: fewer columns than the largest n_options")
        scores = self.option_scores
        present = np.arange(scores.shape[1])[None, :] < self.n_options[:, None]
        if np.any(~np.isnan(scores[~present])):
            raise SpecError("option_scores: padding beyond n_options must be NaN")
        finite = scores[present & ~np.isnan(scores)]
        if np.any((finite < lo) | (finite > hi)):
            raise SpecError(f"option_scores: scores must lie on the scale {lo:g}..{hi:g}")
        if np.any(np.isinf(scores)):
            raise SpecError("option_scores: scores must be finite or NaN")
        partly = np.any(np.isnan(scores) & present, axis=1) & np.any(~np.isnan(scores), axis=1)
        if np.any(partly):
            raise SpecError("option_scores: score every option of a question or none")
        unscored_choice = choice & np.all(np.isnan(scores) | ~present, axis=1)
        expected = (
            (self.kinds == KIND_MATURITY)
            | (choice & ~unscored_choice)
            | ((self.kinds == KIND_NUMBER) & (self.number_method != NUMBER_NONE))
        )
        if np.any(self.scored != expected):
            raise SpecError("scored: must be True exactly for questions that have scores")
        if np.any((self.combine < 0) | (self.combine >= len(COMBINE_NAMES))):
            raise SpecError("combine: unknown combine code")
        caps = self.cap[~np.isnan(self.cap)]
        if np.any((caps < lo) | (caps > hi)):
            raise SpecError(f"cap: caps must lie on the scale {lo:g}..{hi:g} or be NaN")

    def _check_numbers(self) -> None:
        lo, hi = self.scale_min, self.scale_max
        bands = tuple(
            _frozen(
                np.reshape(np.asarray(b, dtype=np.float64), (-1, 3)),
                np.float64,
                f"number_bands[{j}]",
                2,
            )
            for j, b in enumerate(self.number_bands)
        )
        object.__setattr__(self, "number_bands", bands)
        if len(bands) != len(self.question_ids):
            raise SpecError("number_bands: one array per question is needed")
        method = self.number_method
        if np.any((method < 0) | (method > NUMBER_LINEAR)):
            raise SpecError("number_method: unknown method code")
        if np.any(method[self.kinds != KIND_NUMBER] != NUMBER_NONE):
            raise SpecError("number_method: only number questions have a number method")
        for j, band in enumerate(bands):
            where = f"number_bands[{j}]"
            if method[j] != NUMBER_BANDS:
                if len(band):
                    raise SpecError(f"{where}: only questions scored by bands have bands")
                continue
            if not len(band) or not np.all(np.isfinite(band)):
                raise SpecError(f"{where}: needs at least one band of finite numbers")
            if np.any(band[:, 0] > band[:, 1]) or np.any(band[1:, 0] <= band[:-1, 1]):
                raise SpecError(f"{where}: bands must be ascending, lo <= hi, not overlapping")
            if np.any((band[:, 2] < lo) | (band[:, 2] > hi)):
                raise SpecError(f"{where}: scores must lie on the scale {lo:g}..{hi:g}")
        linear = self.number_linear[method == NUMBER_LINEAR]
        if not np.all(np.isfinite(linear)) or np.any(linear[:, 0] >= linear[:, 1]):
            raise SpecError("number_linear: linear scoring needs finite low < high")
        if not np.all(np.isnan(self.number_linear[method != NUMBER_LINEAR])):
            raise SpecError("number_linear: must be NaN for questions not scored linearly")

    def _check_bands(self) -> None:
        band_min, band_max = self.band_min, self.band_max
        if not len(band_min) or band_min.shape != band_max.shape:
            raise SpecError("band_min/band_max: need one or more bands of equal length")
        if len(self.band_labels) != len(band_min):
            raise SpecError("band_labels: one label per band is needed")
        if band_min[0] != 0 or band_max[-1] != 100:
            raise SpecError("band_min/band_max: bands must run from 0 to 100")
        if np.any(band_min >= band_max) or np.any(band_min[1:] != band_max[:-1]):
            raise SpecError("band_min/band_max: bands must be ascending and leave no gap")

    def _check_relevance(self) -> None:
        n_q = len(self.question_ids)
        relevance = tuple(self.relevance) or (None,) * n_q
        object.__setattr__(self, "relevance", relevance)
        if len(relevance) != n_q:
            raise SpecError(f"relevance: expected {n_q} entries, got {len(relevance)}")
        order = tuple(int(j) for j in self.relevance_order)
        object.__setattr__(self, "relevance_order", order)
        with_tree = {j for j, tree in enumerate(relevance) if tree is not None}
        if len(order) != len(set(order)) or set(order) != with_tree:
            raise SpecError("relevance_order: must list each question with relevance once")
        position = {j: k for k, j in enumerate(order)}
        readers: list[list[int]] = [[] for _ in range(n_q)]
        for j in order:
            tree = relevance[j]
            if tree is None:  # pragma: no cover - excluded by the set comparison above
                continue
            _check_tree(tree, self.kinds, self.n_options, f"relevance[{j}]")
            for col in tree_columns(tree):
                if col == j:
                    raise SpecError(f"relevance[{j}]: a question cannot depend on itself")
                if col in position and position[col] > position[j]:
                    raise SpecError(f"relevance_order: {col} must come before {j}")
                readers[col].append(j)
        object.__setattr__(self, "_readers", tuple(tuple(r) for r in readers))

    # -- conveniences ----------------------------------------------------------------------
    @property
    def n_questions(self) -> int:
        return len(self.question_ids)

    @property
    def has_relevance(self) -> bool:
        return bool(self.relevance_order)

    def read_by_relevance(self, column: int) -> bool:
        """Whether some relevance tree reads question ``column``."""
        return bool(self._readers[column])
