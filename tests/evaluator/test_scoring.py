"""The scoring engine: hand-computed examples, and agreement with a per-response reference."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_scoring import reference_score

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
    AnswersError,
    SpecError,
)
from evaluator.scoring import relevance_mask, score_responses
from evaluator.spec import DONT_KNOW, NOT_APPLICABLE, UNANSWERED, ScoringSpec
from rubrics.loader import compile_spec, encode_answers, library_path, load_rubric
from rubrics.schema import Rubric, parse_rubric

NA, DK, BLANK = NOT_APPLICABLE, DONT_KNOW, UNANSWERED


# --- building small rubrics ---------------------------------------------------------------------


def levels(lo: int = 1, hi: int = 4) -> list[dict[str, Any]]:
    return [{"level": n, "descriptor": f"level {n}"} for n in range(lo, hi + 1)]


def maturity(qid: str, lo: int = 1, hi: int = 4, **extra: Any) -> dict[str, Any]:
    return {"id": qid, "type": "maturity", "label": qid, "levels": levels(lo, hi), **extra}


def choice(qid: str, kind: str, scores: dict[str, float | None], **extra: Any) -> dict[str, Any]:
    options = [{"id": o, "label": o, "score": s} for o, s in scores.items()]
    return {"id": qid, "type": kind, "label": qid, "options": options, **extra}


def number(qid: str, **scoring: Any) -> dict[str, Any]:
    return {"id": qid, "type": "number", "label": qid, "number": scoring}


def indicator(iid: str, *questions: dict[str, Any], weight: float = 1) -> dict[str, Any]:
    return {"id": iid, "label": iid, "weight": weight, "questions": list(questions)}


def domain(did: str, *indicators: dict[str, Any], weight: float = 1) -> dict[str, Any]:
    return {"id": did, "label": did, "weight": weight, "indicators": list(indicators)}


def rubric(*domains: dict[str, Any], **extra: Any) -> Rubric:
    return parse_rubric({"id": "r", "title": "R", "domains": list(domains), **extra})


def one_indicator(*questions: dict[str, Any], **extra: Any) -> Rubric:
    return rubric(domain("D", indicator("I", *questions)), **extra)


def score(r: Rubric, *rows: list[float]) -> Any:
    return score_responses(compile_spec(r), np.array(rows, dtype=float))


ALLOW_NA = {"missing": {"allow_not_applicable": True}}
ALLOW_DK = {"missing": {"allow_dont_know": True}}


def pct(level: float, lo: float = 1, hi: float = 4) -> float:
    return (level - lo) / (hi - lo) * 100


# --- hand-computed examples ---------------------------------------------------------------------


def test_quick_check_scores_match_a_hand_computation() -> None:
    quick = load_rubric(library_path() / "quick-check.yaml")
    answers = encode_answers(
        quick,
        [
            {
                "SG1_policy": 3,
                "SG1_focal": "yes",
                "SG2_vetting": 2,
                "SG2_incidents": 4,
                "SV1_plans": 3,
                "SV1_referral": "most",
                "SV2_shelter": "__na__",
                "RS1_data": 2,
                "RS1_outcomes": 1,
                "RS2_evaluated": "no",
                "RS2_changes": "",
            }
        ],
    )
    result = score_responses(compile_spec(quick), answers)
    # SG = mean(SG1 = mean(66.7, 100), SG2 = mean(33.3, 100)) = 75
    # SV = SV1 = mean(66.7, 66.7) (SV2 is N/A: excluded); RS = mean(RS1 = 16.7, RS2 = 0)
    np.testing.assert_allclose(
        result.indicator_scores[0], [250 / 3, 200 / 3, 200 / 3, np.nan, 50 / 3, 0], equal_nan=True
    )
    np.testing.assert_allclose(result.domain_scores[0], [75, 200 / 3, 25 / 3])
    np.testing.assert_allclose(result.overall, [(2 * 75 + 200 / 3 + 25 / 3) / 4])  # SG weighs 2
    assert result.overall[0] == pytest.approx(56.25)
    assert result.band_label(0) == "Developing"
    assert result.overall_reason[0] == REASON_OK
    assert result.question_status[0].tolist() == [
        0,
        0,
        0,
        0,
        0,
        0,
        STATUS_NOT_APPLICABLE,
        0,
        0,
        0,
        STATUS_UNSCORED,
    ]
    assert math.isnan(result.indicator_coverage[0, 3])  # SV2: nothing applicable
    np.testing.assert_allclose(result.domain_coverage[0], [1, 1, 1])


def test_na_answers_are_dropped_from_the_denominator() -> None:
    r = one_indicator(maturity("a"), maturity("b", **ALLOW_NA))
    result = score(r, [4, NA])
    assert result.indicator_scores[0, 0] == 100
    assert result.indicator_coverage[0, 0] == 1
    assert result.question_status[0].tolist() == [STATUS_ANSWERED, STATUS_NOT_APPLICABLE]
    assert math.isnan(result.question_scores[0, 1])


def test_na_scored_as_a_value_counts_like_an_answer() -> None:
    policy = {"allow_not_applicable": True, "not_applicable": "score", "not_applicable_score": 2}
    r = one_indicator(maturity("a"), maturity("b", missing=policy))
    result = score(r, [4, NA])
    np.testing.assert_allclose(result.question_scores[0], [100, 100 / 3])
    assert result.indicator_scores[0, 0] == pytest.approx((100 + 100 / 3) / 2)
    assert result.indicator_coverage[0, 0] == 1


def test_dont_know_counts_as_missing_and_lowers_coverage() -> None:
    r = one_indicator(*(maturity(f"q{k}") for k in range(4)), **ALLOW_DK)
    result = score(r, [4, DK, DK, 1], [4, DK, DK, DK])
    assert result.question_status[0].tolist() == [0, STATUS_DONT_KNOW, STATUS_DONT_KNOW, 0]
    np.testing.assert_allclose(result.indicator_scores[:, 0], [50, 100])
    np.testing.assert_allclose(result.domain_coverage[:, 0], [0.5, 0.25])
    assert result.domain_scores[0, 0] == 50  # coverage 0.5 meets the default minimum of 0.5


def test_dont_know_scored_as_a_value() -> None:
    policy = {"allow_dont_know": True, "dont_know": "score", "dont_know_score": 1}
    result = score(one_indicator(maturity("a"), maturity("b", missing=policy)), [4, DK])
    np.testing.assert_allclose(result.question_scores[0], [100, 0])
    assert result.domain_coverage[0, 0] == 1


def test_coverage_below_the_minimum_gives_no_score_and_says_why() -> None:
    r = one_indicator(*(maturity(f"q{k}") for k in range(4)))
    result = score(r, [4, BLANK, BLANK, BLANK])
    assert result.indicator_scores[0, 0] == 100  # indicators have no minimum
    assert math.isnan(result.domain_scores[0, 0])
    assert result.domain_reason[0, 0] == REASON_INSUFFICIENT_DATA
    assert math.isnan(result.overall[0])
    assert result.overall_reason[0] == REASON_INSUFFICIENT_DATA
    assert result.overall_coverage[0] == 0.25
    assert result.band[0] == -1
    assert result.band_label(0) == ""


def test_min_coverage_comes_from_the_rubric() -> None:
    r = one_indicator(*(maturity(f"q{k}") for k in range(4)), missing={"min_coverage": 0.2})
    result = score(r, [4, BLANK, BLANK, BLANK])
    assert result.overall[0] == 100


def test_an_all_na_domain_is_not_applicable_without_warnings() -> None:
    r = rubric(
        domain("A", indicator("A1", maturity("a"))),
        domain("B", indicator("B1", maturity("b1", **ALLOW_NA), maturity("b2", **ALLOW_NA))),
    )
    result = score(r, [3, NA, NA], [BLANK, NA, NA])  # filterwarnings=error: no 0/0 warning
    assert result.domain_reason[0].tolist() == [REASON_OK, REASON_NOT_APPLICABLE]
    assert math.isnan(result.domain_scores[0, 1])
    assert math.isnan(result.domain_coverage[0, 1])
    assert result.overall[0] == pytest.approx(200 / 3)  # only domain A, coverage 1
    assert result.overall_coverage[0] == 1
    assert result.overall_reason[1] == REASON_INSUFFICIENT_DATA


def test_an_all_na_rubric_has_no_overall_score() -> None:
    r = one_indicator(maturity("a", **ALLOW_NA))
    result = score(r, [NA])
    assert result.overall_reason[0] == REASON_NOT_APPLICABLE
    assert math.isnan(result.overall[0])
    assert math.isnan(result.overall_coverage[0])


def test_every_question_excluded_is_not_applicable_whatever_the_weights() -> None:
    # Weights whose float sums depend on the order of addition (no rounding dust may remain).
    weights = [0.1, 0.7, 0.3, 0.9, 1.3, 0.6, 0.2, 1.1, 0.35, 0.15, 0.45]
    r = one_indicator(*(maturity(f"q{k}", weight=w, **ALLOW_NA) for k, w in enumerate(weights)))
    result = score(r, [NA] * len(weights))
    assert math.isnan(result.indicator_coverage[0, 0])
    assert result.overall_reason[0] == REASON_NOT_APPLICABLE


def test_weights_apply_at_every_level() -> None:
    r = rubric(
        domain(
            "D1",
            indicator("I1", maturity("q1", weight=3), maturity("q2", weight=1), weight=2),
            indicator("I2", maturity("q3")),
            weight=3,
        ),
        domain("D2", indicator("I3", maturity("q4"))),
    )
    result = score(r, [4, 1, 2, 3])
    i1 = (3 * 100 + 1 * 0) / 4
    d1 = (2 * i1 + 100 / 3) / 3
    np.testing.assert_allclose(result.indicator_scores[0], [75, 100 / 3, 200 / 3])
    np.testing.assert_allclose(result.domain_scores[0], [d1, 200 / 3])
    np.testing.assert_allclose(result.overall, [(3 * d1 + 200 / 3) / 4])
    assert result.overall[0] == pytest.approx(62.5)


def test_coverage_is_weighted_by_question_and_indicator_weights() -> None:
    r = rubric(
        domain(
            "D",
            indicator("I1", maturity("a", weight=3), maturity("b")),
            indicator("I2", maturity("c")),
            weight=1,
        ),
        missing={"min_coverage": 0},
    )
    result = score(r, [4, BLANK, BLANK])
    np.testing.assert_allclose(result.indicator_coverage[0], [0.75, 0])
    assert result.domain_coverage[0, 0] == pytest.approx(0.375)
    assert result.domain_scores[0, 0] == 100


@pytest.mark.parametrize(
    ("combine", "cap", "mask", "expected"),
    [
        ("sum", None, 0b011, 3),  # 1 + 2
        ("sum", None, 0b111, 4),  # 7 capped at the scale maximum
        ("sum", 3, 0b111, 3),  # capped at 3
        ("sum", None, 0b000, 1),  # an answered empty selection: the scale minimum
        ("max", None, 0b011, 2),
        ("max", None, 0b101, 4),
        ("max", None, 0b000, 1),
        ("mean", None, 0b111, 7 / 3),
        ("mean", None, 0b110, 3),
        ("mean", None, 0b000, 1),
    ],
)
def test_multiple_choice_combines_selected_options(
    combine: str, cap: float | None, mask: int, expected: float
) -> None:
    q = choice("m", "multiple", {"a": 1, "b": 2, "c": 4}, combine=combine, cap=cap)
    result = score(one_indicator(q), [mask])
    assert result.question_scores[0, 0] == pytest.approx(pct(expected))
    assert result.question_status[0, 0] == STATUS_ANSWERED


def test_multiple_sum_is_floored_at_the_scale_minimum() -> None:
    q = choice("m", "multiple", {"a": -2, "b": -1, "c": 2})
    r = one_indicator(q, scale={"min": -2, "max": 2})
    result = score(r, [0b011], [0b110])
    np.testing.assert_allclose(result.question_scores[:, 0], [0, pct(1, -2, 2)])


def test_multiple_with_many_options_scores_from_bits() -> None:
    scores = {f"o{k}": (k % 4) + 1 for k in range(20)}  # beyond the lookup-table size
    result = score(
        one_indicator(choice("m", "multiple", scores, combine="mean")), [(1 << 19) | (1 << 2)], [0]
    )
    # o19 scores 4, o2 scores 3: mean 3.5
    np.testing.assert_allclose(result.question_scores[:, 0], [pct(3.5), 0])


def test_number_bands_are_inclusive_and_gaps_count_as_missing() -> None:
    bands = [
        {"min": 0, "max": 9, "score": 1},
        {"min": 10, "max": 49, "score": 3},
        {"min": 50, "max": 1000, "score": 4},
    ]
    r = one_indicator(number("n", method="bands", bands=bands), maturity("m"))
    result = score(r, [5, 4], [10, 4], [49, 4], [9.5, 4], [2000, 4])
    np.testing.assert_allclose(
        result.question_scores[:, 0], [0, 200 / 3, 200 / 3, np.nan, np.nan], equal_nan=True
    )
    assert result.question_status[3, 0] == STATUS_ANSWERED  # answered, but in no band
    np.testing.assert_allclose(result.indicator_coverage[:, 0], [1, 1, 1, 0.5, 0.5])


def test_number_linear_scoring_clips_at_low_and_high() -> None:
    r = one_indicator(number("n", method="linear", low=0, high=200))
    result = score(r, [50], [-5], [300], [200])
    np.testing.assert_allclose(result.question_scores[:, 0], [25, 0, 100, 100])


def test_relevance_hides_a_question_whatever_its_stored_value() -> None:
    r = one_indicator(
        choice("q1", "yes_no", {"yes": 4, "no": 1}), maturity("q2", relevant="${q1} = 'yes'")
    )
    result = score(r, [1, 4], [0, 4], [BLANK, 4])  # q1 = no, yes, blank; q2 stored as 4
    assert result.question_status[:, 1].tolist() == [
        STATUS_NOT_RELEVANT,
        STATUS_ANSWERED,
        STATUS_NOT_RELEVANT,
    ]
    np.testing.assert_allclose(result.indicator_scores[:, 0], [0, 100, np.nan], equal_nan=True)
    np.testing.assert_allclose(result.indicator_coverage[:, 0], [1, 1, 0])


def test_a_hidden_question_reads_as_blank_in_later_relevance() -> None:
    # q3 comes first in the document but depends on q2, which depends on q1.
    r = one_indicator(
        maturity("q3", relevant="${q2} >= 3"),
        maturity("q4", relevant="${q2} = ''"),
        choice("q1", "yes_no", {"yes": 4, "no": 1}),
        maturity("q2", relevant="${q1} = 'yes'"),
    )
    spec = compile_spec(r)
    assert spec.relevance_order.index(3) < spec.relevance_order.index(0)
    rows = np.array([[2, 2, 1, 4], [2, 2, 0, 4]], dtype=float)  # q1 = no, then yes; q2 = 4
    shown = relevance_mask(spec, rows)
    assert shown.tolist() == [[False, True, True, False], [True, False, True, True]]
    result = score_responses(spec, rows)
    assert result.question_status[0].tolist() == [
        STATUS_NOT_RELEVANT,
        STATUS_ANSWERED,
        STATUS_ANSWERED,
        STATUS_NOT_RELEVANT,
    ]


def test_na_and_dont_know_read_as_blank_in_relevance() -> None:
    r = one_indicator(
        maturity("a", missing={"allow_not_applicable": True, "allow_dont_know": True}),
        maturity("b", relevant="${a} != ''"),
        maturity("c", relevant="${a} > 1"),
    )
    shown = relevance_mask(compile_spec(r), np.array([[NA, 1, 1], [DK, 1, 1], [2, 1, 1]]))
    assert shown[:, 1:].tolist() == [[False, False], [False, False], [True, True]]


def test_unscored_questions_count_nowhere() -> None:
    r = one_indicator(
        maturity("a"),
        {"id": "t", "type": "text", "label": "t"},
        choice("s", "single", {"x": None, "y": None}),
    )
    result = score(r, [4, BLANK, BLANK], [4, 1, 0])
    assert result.question_status[:, 1:].tolist() == [[STATUS_UNSCORED] * 2] * 2
    np.testing.assert_allclose(result.indicator_coverage[:, 0], [1, 1])
    assert np.isnan(result.question_scores[:, 1:]).all()


def test_statuses_name_each_kind_of_answer() -> None:
    both = {"missing": {"allow_not_applicable": True, "allow_dont_know": True}}
    result = score(one_indicator(maturity("a", **both)), [2], [BLANK], [NA], [DK])
    assert result.question_status[:, 0].tolist() == [
        STATUS_ANSWERED,
        STATUS_UNANSWERED,
        STATUS_NOT_APPLICABLE,
        STATUS_DONT_KNOW,
    ]


def test_bands_are_half_open_and_the_last_includes_100() -> None:
    r = one_indicator(
        maturity(
            "a",
            lo=0,
            hi=10,
        ),
        scale={"min": 0, "max": 10},
    )
    result = score(r, [4], [3], [7], [9], [10])
    assert result.band.tolist() == [1, 0, 2, 3, 3]


def test_no_responses_give_empty_results() -> None:
    result = score_responses(compile_spec(one_indicator(maturity("a"))), np.zeros((0, 1)))
    assert result.n_responses == 0
    assert result.question_scores.shape == (0, 1)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([5, 0, 0], r"answers\[:, 0\] \(question 'a', maturity\): 5.0 in row 1 is outside 1..4"),
        ([1.5, 0, 0], r"question 'a'.*1.5 in row 1 is not a whole number"),
        ([2, 2, 0], r"question 's', single\): 2.0 in row 1 is outside 0..1"),
        ([2, 0, 8], r"question 'm', multiple\): 8.0 in row 1 is outside 0..7"),
        ([NA, 0, 0], r"question 'a'.*not applicable\) is not allowed"),
        ([2, DK, 0], r"question 's'.*don't know\) is not allowed"),
    ],
)
def test_answers_that_do_not_fit_name_the_question(row: list[float], message: str) -> None:
    r = one_indicator(
        maturity("a"),
        choice("s", "single", {"x": 1, "y": 4}),
        choice("m", "multiple", {"a": 1, "b": 2, "c": 3}),
    )
    with pytest.raises(AnswersError, match=message):
        score(r, [1, 0, 0], row)


@pytest.mark.parametrize("scored", [True, False])
def test_a_fraction_is_refused_in_a_multiple_question_with_many_options(scored: bool) -> None:
    q = choice("m", "multiple", {f"o{k}": 1 if scored else None for k in range(20)})
    with pytest.raises(
        AnswersError, match=r"question 'm', multiple\): 2.5 in row 0 is not a whole"
    ):
        score(one_indicator(maturity("a"), q), [1, 2.5])


def test_an_answer_matrix_of_the_wrong_shape_is_refused() -> None:
    spec = compile_spec(one_indicator(maturity("a")))
    with pytest.raises(AnswersError, match=r"answers: expected shape \(responses, 1\)"):
        score_responses(spec, np.zeros((2, 3)))
    with pytest.raises(AnswersError, match="answers"):
        score_responses(spec, [["x"]])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("question_weights", [0.0, 1.0], "question_weights"),
        ("question_indicator", [0, 5], "question_indicator"),
        ("scale_min", 9, "scale_min"),
        ("option_scores", [[np.nan, np.nan], [9.0, 1.0]], "option_scores"),
        ("band_max", [40, 70, 90, 99], "band_min/band_max"),
        ("min_coverage", 1.5, "min_coverage"),
        ("relevance", (None, ("col", 7)), "relevance"),
        ("relevance", (("blank", 0), None), "relevance_order"),
        ("question_ids", ("a", "a"), "question_ids"),
    ],
)
def test_an_inconsistent_spec_is_refused_naming_the_field(
    field: str, value: Any, message: str
) -> None:
    spec = compile_spec(one_indicator(maturity("a"), choice("s", "single", {"x": 1, "y": 4})))
    with pytest.raises(SpecError, match=message):
        dataclasses.replace(spec, **{field: value})


def test_spec_arrays_are_read_only() -> None:
    spec = compile_spec(one_indicator(maturity("a")))
    with pytest.raises(ValueError, match="read-only"):
        spec.question_weights[0] = 2


# --- agreement with the reference implementation ------------------------------------------------

TYPES = ["maturity", "single", "yes_no", "multiple", "number", "text", "evidence"]
WEIGHTS = st.sampled_from([0.1, 0.3, 0.5, 0.7, 1, 1, 2, 3])  # 0.1 + 0.2 != 0.3: float dust


@st.composite
def random_policy(draw: st.DrawFn, lo: int, hi: int) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if draw(st.booleans()):
        policy["allow_not_applicable"] = draw(st.booleans())
    if draw(st.booleans()):
        policy["allow_dont_know"] = draw(st.booleans())
    if draw(st.booleans()):
        policy["not_applicable"] = "score"
        policy["not_applicable_score"] = draw(st.integers(lo, hi))
    if draw(st.booleans()):
        policy["dont_know"] = "score"
        policy["dont_know_score"] = draw(st.integers(lo, hi))
    return policy


@st.composite
def random_question(draw: st.DrawFn, qid: str, lo: int, hi: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(TYPES))
    q: dict[str, Any] = {"id": qid, "type": kind, "label": qid, "weight": draw(WEIGHTS)}
    score = st.integers(lo, hi) | st.sampled_from([lo + 0.5])
    if kind == "maturity":
        q["levels"] = levels(lo, hi)
    elif kind in ("single", "yes_no", "multiple"):
        n = 2 if kind == "yes_no" else draw(st.integers(1 if kind == "multiple" else 2, 5))
        if kind == "multiple" and draw(st.integers(0, 30)) == 0:
            n = 17  # scored from bits rather than a table
        scored = draw(st.integers(0, 9)) > 0
        q["options"] = [
            {"id": f"{qid}o{k}", "label": "o", "score": draw(score) if scored else None}
            for k in range(n)
        ]
        if kind == "multiple":
            q["combine"] = draw(st.sampled_from(["sum", "max", "mean"]))
            if draw(st.booleans()):
                q["cap"] = draw(st.integers(lo, hi))
    elif kind == "number":
        method = draw(st.sampled_from(["bands", "linear", None]))
        if method == "bands":
            cuts = sorted(draw(st.sets(st.integers(0, 20), min_size=2, max_size=6)))
            cuts = cuts[: len(cuts) // 2 * 2]
            q["number"] = {
                "method": "bands",
                "bands": [
                    {"min": cuts[k], "max": cuts[k + 1], "score": draw(score)}
                    for k in range(0, len(cuts), 2)
                ],
            }
        elif method == "linear":
            low = draw(st.integers(0, 10))
            q["number"] = {"method": "linear", "low": low, "high": low + draw(st.integers(1, 10))}
    if draw(st.booleans()):
        q["missing"] = draw(random_policy(lo, hi))
    return q


def condition(draw: st.DrawFn, q: dict[str, Any], lo: int, hi: int) -> str:
    """A random relevance condition on question ``q``."""
    ref = "${" + q["id"] + "}"
    kind = q["type"]
    if kind in ("text", "evidence") or (kind == "number" and draw(st.integers(0, 3)) == 0):
        return f"{ref} {draw(st.sampled_from(['=', '!=']))} ''"
    if kind in ("maturity", "number"):
        form = draw(st.integers(0, 3))
        k = draw(st.integers(lo, hi))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        if form == 0:
            return f"{ref} {op} {k}"
        if form == 1:
            return f"{k} {op} {ref} + 1"
        if form == 2:
            return f"({ref} * 2 - 1) div 2 {op} {k}"
        return f"-{ref} mod 3 {op} -1"
    options = [o["id"] for o in q["options"]]
    option = draw(st.sampled_from(options))
    form = draw(st.integers(0, 4))
    if form == 0:
        return f"selected({ref}, '{option}')"
    if form == 1:
        return f"count-selected({ref}) >= {draw(st.integers(0, 2))}"
    if form == 2:
        return f"{ref} {draw(st.sampled_from(['=', '!=']))} ''"
    chosen = (
        draw(st.sets(st.sampled_from(options), min_size=1, max_size=2))
        if kind == "multiple"
        else {option}
    )
    return f"{ref} {draw(st.sampled_from(['=', '!=']))} '{' '.join(sorted(chosen))}'"


def expression(draw: st.DrawFn, candidates: list[dict[str, Any]], lo: int, hi: int) -> str:
    parts = [
        condition(draw, draw(st.sampled_from(candidates)), lo, hi)
        for _ in range(draw(st.integers(1, 3)))
    ]
    text = parts[0]
    for part in parts[1:]:
        text = f"({text}) {draw(st.sampled_from(['and', 'or']))} {part}"
    return f"not({text})" if draw(st.integers(0, 4)) == 0 else text


@st.composite
def random_rubric(draw: st.DrawFn) -> Rubric:
    lo = draw(st.integers(0, 1))
    hi = lo + draw(st.integers(1, 4))
    counter = iter(range(1000))
    domains = []
    questions: list[dict[str, Any]] = []
    for d in range(draw(st.integers(1, 3))):
        indicators = []
        for i in range(draw(st.integers(1, 3))):
            qs = [
                draw(random_question(f"q{next(counter)}", lo, hi))
                for _ in range(draw(st.integers(1, 4)))
            ]
            questions.extend(qs)
            indicators.append(
                {"id": f"i{d}_{i}", "label": "i", "weight": draw(WEIGHTS), "questions": qs}
            )
        domains.append(
            {"id": f"d{d}", "label": "d", "weight": draw(WEIGHTS), "indicators": indicators}
        )
    # Relevance may point anywhere, as long as it follows a random (acyclic) order.
    order = draw(st.permutations(range(len(questions))))
    for position, index in enumerate(order):
        if position and draw(st.integers(0, 2)) == 0:
            earlier = [questions[k] for k in order[:position]]
            questions[index]["relevant"] = expression(draw, earlier, lo, hi)
    data: dict[str, Any] = {
        "id": "random",
        "title": "Random",
        "scale": {"min": lo, "max": hi},
        "domains": domains,
        "missing": {
            **draw(random_policy(lo, hi)),
            "min_coverage": draw(st.sampled_from([0, 0.25, 0.5, 0.75, 1])),
        },
    }
    return parse_rubric(data)


@st.composite
def random_answers(draw: st.DrawFn, r: Rubric) -> np.ndarray:
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row = []
        for _, _, q in r.questions():
            policy = r.policy(q)
            specials = [BLANK]
            specials += [NA] if policy.allow_not_applicable else []
            specials += [DK] if policy.allow_dont_know else []
            if draw(st.integers(0, 3)) == 0:
                row.append(draw(st.sampled_from(specials)))
                continue
            if q.type == "maturity":
                value = draw(st.integers(r.scale.min, r.scale.max))
            elif q.type in ("single", "yes_no"):
                value = draw(st.integers(0, len(q.options) - 1))
            elif q.type == "multiple":
                value = draw(st.integers(0, (1 << len(q.options)) - 1))
            elif q.type == "number":
                value = draw(st.integers(-2, 22) | st.sampled_from([0.5, 9.5, 10.25]))
            else:
                value = 1
            row.append(float(value))
        rows.append(row)
    return np.array(rows, dtype=float)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_agrees_with_the_per_response_reference(data: st.DataObject) -> None:
    r = data.draw(random_rubric())
    answers = data.draw(random_answers(r))
    result = score_responses(compile_spec(r), answers)
    expected = [reference_score(r, row.tolist()) for row in answers]

    def column(key: str) -> np.ndarray:
        return np.array([e[key] for e in expected], dtype=float)

    for key in (
        "question_scores",
        "indicator_scores",
        "indicator_coverage",
        "domain_scores",
        "domain_coverage",
        "overall",
        "overall_coverage",
    ):
        np.testing.assert_allclose(
            getattr(result, key), column(key), rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=key
        )
    for key in ("question_status", "domain_reason", "overall_reason", "band"):
        np.testing.assert_array_equal(getattr(result, key), column(key).astype(int), err_msg=key)
    shown = relevance_mask(compile_spec(r), answers)
    np.testing.assert_array_equal(shown, column("relevant").astype(bool), err_msg="relevant")


def test_scoring_spec_is_a_plain_numeric_object() -> None:
    spec = compile_spec(load_rubric(library_path() / "quick-check.yaml"))
    assert isinstance(spec, ScoringSpec)
    assert spec.kinds.dtype == np.int64
    assert spec.option_scores.shape == (11, 4)
    assert spec.relevance[10] == ("eq", ("col", 9), ("const", 0.0))
