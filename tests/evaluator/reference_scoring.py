"""A plain, per-response reference implementation of scoring: loops and dicts, no numpy tricks.

It reads the pydantic Rubric directly (not the compiled ScoringSpec), decodes each encoded answer
by itself, and evaluates relevance with its own tree-walking interpreter (recursive, memoised:
not the engine's topological order), so that agreeing with it says something about the engine.
Used by tests/evaluator/test_scoring.py and by bench/bench_scoring.py.
"""

from __future__ import annotations

import math
from typing import Any

from evaluator.results import (
    REASON_INSUFFICIENT_DATA,
    REASON_NOT_APPLICABLE,
    REASON_OK,
    STATUS_ANSWERED,
    STATUS_DONT_KNOW,
    STATUS_NOT_APPLICABLE,
    STATUS_NOT_RELEVANT,
    STATUS_UNANSWERED,
    STATUS_UNSCORED,
)
from rubrics.relevance import parse_relevance
from rubrics.schema import Question, Rubric

TOLERANCE = 1e-9  # the engine's COVERAGE_TOLERANCE
NAN = math.nan


def _mean(pairs: list[tuple[float, float]]) -> float:
    """Weighted mean of (weight, value) pairs; NaN when there are none."""
    total = sum(w for w, _ in pairs)
    return sum(w * v for w, v in pairs) / total if pairs else NAN


class _Response:
    def __init__(self, rubric: Rubric, row: list[float]) -> None:
        self.rubric = rubric
        self.questions = {q.id: q for _, _, q in rubric.questions()}
        self.raw = {q.id: float(v) for (_, _, q), v in zip(rubric.questions(), row, strict=True)}
        self.trees = {
            q.id: parse_relevance(q.relevant) for q in self.questions.values() if q.relevant
        }
        self.memo: dict[str, bool] = {}

    # -- relevance ------------------------------------------------------------------------
    def relevant(self, qid: str) -> bool:
        if qid not in self.memo:
            tree = self.trees.get(qid)
            self.memo[qid] = True if tree is None else self.truth(self.eval(tree))
        return self.memo[qid]

    def value(self, qid: str) -> Any:
        """The question's value as XLSForm sees it; None when blank."""
        raw = self.raw[qid]
        if not math.isfinite(raw) or not self.relevant(qid):
            return None
        q = self.questions[qid]
        if q.type in ("single", "yes_no"):
            return q.options[int(raw)].id
        if q.type == "multiple":
            return frozenset(o.id for i, o in enumerate(q.options) if int(raw) >> i & 1)
        if q.type in ("maturity", "number"):
            return raw
        return "some text"

    @staticmethod
    def truth(x: Any) -> bool:
        if isinstance(x, bool):
            return x
        if isinstance(x, float):
            return not (x == 0 or math.isnan(x))
        return bool(x)

    @staticmethod
    def number(x: Any) -> float:
        if isinstance(x, bool):
            return 1.0 if x else 0.0
        if x is None:
            return NAN
        return float(x)

    def eval(self, node: Any) -> Any:
        head = node[0]
        if head == "num":
            return float(node[1])
        if head == "str":
            return str(node[1])
        if head == "ref":
            return ("ref", node[1])
        if head == "and":
            return self.truth(self.eval_value(node[1])) and self.truth(self.eval_value(node[2]))
        if head == "or":
            return self.truth(self.eval_value(node[1])) or self.truth(self.eval_value(node[2]))
        if head == "not":
            return not self.truth(self.eval_value(node[1]))
        if head == "neg":
            return -self.number(self.eval_value(node[1]))
        if head == "arith":
            a, b = self.number(self.eval_value(node[2])), self.number(self.eval_value(node[3]))
            op = node[1]
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "div":  # IEEE division, as XPath's div
                if b:
                    return a / b
                return (
                    NAN
                    if a == 0 or math.isnan(a)
                    else math.copysign(math.inf, a) * math.copysign(1.0, b)
                )
            return math.fmod(a, b) if b and math.isfinite(a) else NAN
        if head == "call":
            name = node[1]
            if name == "true":
                return True
            if name == "false":
                return False
            qid = node[2][1]
            v = self.value(qid)
            if name == "selected":
                option = self.option_text(self.eval(node[3]))
                if isinstance(v, frozenset):
                    return option in v
                return v == option
            # count-selected
            if isinstance(v, frozenset):
                return float(len(v))
            return 0.0 if v is None else 1.0
        if head == "cmp":
            return self.compare(node[1], node[2], node[3])
        raise AssertionError(head)

    def eval_value(self, node: Any) -> Any:
        """Like eval, but a reference becomes its value."""
        result = self.eval(node)
        if isinstance(result, tuple) and result[0] == "ref":
            return self.value(result[1])
        return result

    @staticmethod
    def option_text(c: Any) -> str:
        if isinstance(c, float):
            return str(int(c)) if c.is_integer() else repr(c)
        return str(c)

    def compare(self, op: str, left: Any, right: Any) -> bool:
        a, b = self.eval(left), self.eval(right)
        flip = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
        if not (isinstance(a, tuple)) and isinstance(b, tuple):
            a, b, op = b, a, flip[op]
        if isinstance(a, tuple) and not isinstance(b, tuple) and isinstance(b, str | float):
            q = self.questions[a[1]]
            v = self.value(a[1])
            if b == "":
                blank = v is None or v == frozenset()
                return blank if op == "=" else not blank
            if q.type in ("single", "yes_no"):
                equal = v == self.option_text(b)
                return equal if op == "=" else not equal
            if q.type == "multiple":
                equal = v == frozenset(self.option_text(b).split())
                return equal if op == "=" else not equal
            return self.numeric(op, NAN if v is None else v, float(b))
        if isinstance(a, tuple):
            a = self.value(a[1])
        if isinstance(b, tuple):
            b = self.value(b[1])
        return self.numeric(op, self.number(a), self.number(b))

    @staticmethod
    def numeric(op: str, a: float, b: float) -> bool:
        if op == "!=":
            return a != b
        return {"=": a == b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]

    # -- scoring --------------------------------------------------------------------------
    def scale_score(self, q: Question, raw: float) -> float:
        """Score of an answered question in scale units (NaN: no score)."""
        scale = self.rubric.scale
        if q.type == "maturity":
            return raw
        if q.type in ("single", "yes_no"):
            score = q.options[int(raw)].score
            assert score is not None
            return score
        if q.type == "multiple":
            chosen = [o.score for i, o in enumerate(q.options) if int(raw) >> i & 1]
            scores = [s for s in chosen if s is not None]
            if not scores:
                return scale.min
            if q.combine == "max":
                return max(scores)
            if q.combine == "mean":
                return sum(scores) / len(scores)
            cap = q.cap if q.cap is not None else scale.max
            return max(scale.min, min(sum(scores), cap))
        assert q.number is not None
        if q.number.method == "bands":
            for band in q.number.bands:
                if band.min <= raw <= band.max:
                    return band.score
            return NAN
        assert q.number.low is not None
        assert q.number.high is not None
        part = (raw - q.number.low) / (q.number.high - q.number.low)
        return scale.min + min(1.0, max(0.0, part)) * (scale.max - scale.min)

    def question(self, q: Question) -> tuple[int, float, bool]:
        """(status, 0-100 score or NaN, applicable) of one question."""
        raw = self.raw[q.id]
        policy = self.rubric.policy(q)
        scale = self.rubric.scale
        if math.isnan(raw):
            status = STATUS_UNANSWERED
        elif raw == -math.inf:
            status = STATUS_NOT_APPLICABLE
        elif raw == math.inf:
            status = STATUS_DONT_KNOW
        else:
            status = STATUS_ANSWERED
        if not q.scored:
            return STATUS_UNSCORED, NAN, False
        if not self.relevant(q.id):
            return STATUS_NOT_RELEVANT, NAN, False
        score = NAN
        if status == STATUS_ANSWERED:
            score = self.scale_score(q, raw)
        elif status == STATUS_NOT_APPLICABLE:
            if policy.not_applicable != "score":
                return status, NAN, False
            assert policy.not_applicable_score is not None
            score = policy.not_applicable_score
        elif status == STATUS_DONT_KNOW and policy.dont_know == "score":
            assert policy.dont_know_score is not None
            score = policy.dont_know_score
        return status, (score - scale.min) / (scale.max - scale.min) * 100, True


def _roll_up(
    children: list[tuple[float, float, float]], min_coverage: float
) -> tuple[float, float, int]:
    """(score, coverage, reason) of a parent from (weight, score, coverage) of its children."""
    scored = [(w, s) for w, s, _ in children if not math.isnan(s)]
    applicable = [(w, c) for w, _, c in children if not math.isnan(c)]
    if not applicable:
        return NAN, NAN, REASON_NOT_APPLICABLE
    coverage = _mean(applicable)
    if not scored or coverage < min_coverage - TOLERANCE:
        return NAN, coverage, REASON_INSUFFICIENT_DATA
    return _mean(scored), coverage, REASON_OK


def reference_score(rubric: Rubric, row: list[float]) -> dict[str, Any]:
    """Score one encoded response; returns plain lists and numbers keyed like ScoreResult."""
    response = _Response(rubric, row)
    min_coverage = rubric.missing.min_coverage
    min_coverage = 0.5 if min_coverage is None else min_coverage
    out: dict[str, Any] = {
        "question_scores": [],
        "question_status": [],
        "indicator_scores": [],
        "indicator_coverage": [],
        "domain_scores": [],
        "domain_coverage": [],
        "domain_reason": [],
    }
    domains = []
    for domain in rubric.domains:
        indicators = []
        for indicator in domain.indicators:
            answered: list[tuple[float, float]] = []
            answered_weight = applicable_weight = 0.0
            for q in indicator.questions:
                status, score, applicable = response.question(q)
                out["question_status"].append(status)
                out["question_scores"].append(score)
                if applicable:
                    applicable_weight += q.weight
                    if not math.isnan(score):
                        answered.append((q.weight, score))
                        answered_weight += q.weight
            score = _mean(answered)
            coverage = answered_weight / applicable_weight if applicable_weight else NAN
            out["indicator_scores"].append(score)
            out["indicator_coverage"].append(coverage)
            indicators.append((indicator.weight, score, coverage))
        d_score, d_coverage, d_reason = _roll_up(indicators, min_coverage)
        out["domain_scores"].append(d_score)
        out["domain_coverage"].append(d_coverage)
        out["domain_reason"].append(d_reason)
        domains.append((domain.weight, d_score, d_coverage))
    overall, coverage, reason = _roll_up(domains, min_coverage)
    out["overall"], out["overall_coverage"], out["overall_reason"] = overall, coverage, reason
    band = -1
    if not math.isnan(overall):
        rounded = round(overall, 9)
        ordered = sorted(rubric.bands, key=lambda b: b.min)
        for index, b in enumerate(ordered):
            if b.min <= rounded < b.max or (index == len(ordered) - 1 and rounded <= b.max):
                band = index
                break
    out["band"] = band
    out["relevant"] = [response.relevant(q.id) for _, _, q in rubric.questions()]
    return out
