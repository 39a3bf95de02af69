"""Relevance expressions: parsing, checking against a rubric, and evaluating one response."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from rubrics.loader import library_path, load_rubric
from rubrics.relevance import (
    RelevanceError,
    check_relevance,
    compile_relevance,
    evaluate_relevance,
    parse_relevance,
    references,
    relevance_order,
)
from rubrics.schema import Rubric, RubricError, parse_rubric

# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "${q3} = 'yes' and ${q4} > 2",
            (
                "and",
                ("cmp", "=", ("ref", "q3"), ("str", "yes")),
                ("cmp", ">", ("ref", "q4"), ("num", 2.0)),
            ),
        ),
        ("selected(${m}, 'a')", ("call", "selected", ("ref", "m"), ("str", "a"))),
        (
            "count-selected(${m}) >= 2",
            ("cmp", ">=", ("call", "count-selected", ("ref", "m")), ("num", 2.0)),
        ),
        ("not(${x} = 'no')", ("not", ("cmp", "=", ("ref", "x"), ("str", "no")))),
        ("${t} != ''", ("cmp", "!=", ("ref", "t"), ("str", ""))),
        ('${t} != ""', ("cmp", "!=", ("ref", "t"), ("str", ""))),
        ("${a} or ${b} and ${c}", ("or", ("ref", "a"), ("and", ("ref", "b"), ("ref", "c")))),
        ("(${a} or ${b}) and ${c}", ("and", ("or", ("ref", "a"), ("ref", "b")), ("ref", "c"))),
        (
            "${a} + 2 * ${b} div 4 - 1 > -3.5",
            (
                "cmp",
                ">",
                (
                    "arith",
                    "-",
                    (
                        "arith",
                        "+",
                        ("ref", "a"),
                        ("arith", "div", ("arith", "*", ("num", 2.0), ("ref", "b")), ("num", 4.0)),
                    ),
                    ("num", 1.0),
                ),
                ("num", -3.5),
            ),
        ),
        (
            "-${a} mod 3 < 1",
            ("cmp", "<", ("arith", "mod", ("neg", ("ref", "a")), ("num", 3.0)), ("num", 1.0)),
        ),
        ("${a}<=1", ("cmp", "<=", ("ref", "a"), ("num", 1.0))),
        ("true() and not(false())", ("and", ("call", "true"), ("not", ("call", "false")))),
        ("${ a.b-c }='x'", ("cmp", "=", ("ref", "a.b-c"), ("str", "x"))),
    ],
)
def test_expressions_parse_to_documented_trees(text: str, tree: tuple[Any, ...]) -> None:
    assert parse_relevance(text) == tree


def test_trees_survive_a_json_round_trip() -> None:
    tree = parse_relevance("selected(${m}, 'a') or count-selected(${m}) >= 2.5")
    shipped = json.loads(json.dumps(tree))
    assert references(shipped) == {"m"}
    assert json.loads(json.dumps(shipped)) == shipped


def test_references_lists_every_question_named() -> None:
    tree = parse_relevance("${a} = 'x' and (selected(${b}, 'y') or not(${c} > ${a}))")
    assert references(tree) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "column 1: the expression is empty"),
        ("${a} = ", "column 8: expected a value, found the end of the expression"),
        ("${a} = 'yes", "column 8: the string '... is never closed"),
        ("${a = 'yes'", re.escape("column 1: '${' without its closing '}'")),
        ("(${a} = 1", re.escape("column 10: expected ')'")),
        ("${a} == 1", "column 7: expected a value, found '='"),
        ("${a} = 1)", re.escape("column 9: unexpected ')'")),
        ("today() > 3", "unsupported function today\\(\\); supported: not\\(\\), selected"),
        ("__import__('os')", "unsupported function __import__"),
        ("a = 1", "unexpected name 'a'; refer to a question as \\${a}"),
        ("${1a} = 1", "\\${1a} is not a question id"),
        ("${a} = 1 and", "expected a value"),
        ("and ${a}", "'and' needs an operand"),
        ("selected(${a})", "selected\\(\\) takes 2 argument\\(s\\), got 1"),
        ("${a} = 1 ; drop", "unexpected ';'"),
        ("${a}[1]", "unexpected '\\['"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(RelevanceError, match=message):
        parse_relevance(text)


# --- checking against a rubric ------------------------------------------------------------------


def make(*questions: dict[str, Any]) -> Rubric:
    """A valid rubric, built without the relevance check (to feed check_relevance directly)."""
    base = [
        {
            "id": "yn",
            "type": "yes_no",
            "label": "yn",
            "options": [
                {"id": "yes", "label": "Y", "score": 4},
                {"id": "no", "label": "N", "score": 1},
            ],
        },
        {
            "id": "m",
            "type": "multiple",
            "label": "m",
            "options": [{"id": k, "label": k, "score": 2} for k in ("a", "b", "c")],
        },
        {
            "id": "lvl",
            "type": "maturity",
            "label": "lvl",
            "levels": [{"level": n, "descriptor": "d"} for n in range(1, 5)],
        },
        {"id": "n", "type": "number", "label": "n"},
        {"id": "t", "type": "text", "label": "t"},
    ]
    data = {
        "id": "r",
        "title": "r",
        "domains": [
            {
                "id": "D",
                "label": "D",
                "indicators": [{"id": "I", "label": "I", "questions": base + list(questions)}],
            }
        ],
    }
    return Rubric.model_validate(data)


def q(qid: str, relevant: str) -> dict[str, Any]:
    return {"id": qid, "type": "text", "label": qid, "relevant": relevant}


def test_valid_expressions_have_no_problems() -> None:
    r = make(
        q("x1", "${yn} = 'yes' and ${lvl} >= 3"),
        q("x2", "selected(${m}, 'b')"),
        q("x3", "count-selected(${m}) > 1 or ${n} * 2 > 10"),
        q("x4", "${t} != ''"),
        q("x5", "${lvl} = '2' or ${m} = 'a c' or ${yn} != ''"),
        q("x6", "${x1} = ''"),
    )
    assert check_relevance(r) == []


@pytest.mark.parametrize(
    ("relevant", "message"),
    [
        ("${yn} = 'maybe'", "\\${yn} has no option 'maybe' \\(its options: yes, no\\)"),
        ("selected(${m}, 'z')", "\\${m} has no option 'z'"),
        ("${m} = 'a z'", "\\${m} has no option 'z'"),
        ("${nope} = 1", "refers to \\${nope}, which is not a question"),
        ("${x} = 1", "refers to itself"),
        ("${yn} = 'yes' and ${yn", "cannot parse: column 19"),
        ("${t} = 'hello'", "\\${t} is a text question: only whether it is blank"),
        ("${yn} > 'no'", "compare it with = or !="),
        ("${yn} + 1 > 2", "\\${yn} is a yes_no question, not a number"),
        ("${lvl} = 7", "\\${lvl} has no level 7 \\(levels 1..4\\)"),
        ("${n} > 'abc'", "\\${n} is a number question: compare it with a number, not 'abc'"),
        ("${n} + 'abc' > 1", "'abc' is not a number"),
        ("${lvl}", "alone is not a condition; to test that it is answered write \\${lvl} != ''"),
        ("selected(${lvl}, 'a')", "selected\\(\\) takes a choice question"),
        ("count-selected(${t}) > 0", "count-selected\\(\\) takes a choice question"),
        ("${n} < ''", "compares with nothing"),
    ],
)
def test_problems_are_reported_per_question(relevant: str, message: str) -> None:
    problems = check_relevance(make(q("x", relevant)))
    assert len(problems) == 1, problems
    question_id, text = problems[0]
    assert question_id == "x"
    assert re.search(message, text), text


def test_a_cycle_is_named_once() -> None:
    r = make(q("a1", "${a2} != ''"), q("a2", "${a3} != ''"), q("a3", "${a1} != '' or ${t} = ''"))
    assert check_relevance(r) == [("a1", "relevance cycle: a1 -> a2 -> a3 -> a1")]
    with pytest.raises(RelevanceError, match="cycle"):
        relevance_order(r)


def test_check_relevance_never_raises() -> None:
    # Duplicate ids and a reference to a question that has the same id as another.
    r = make(q("t", "${yn} = 'yes'"), q("z", "${t} != ''"))
    assert isinstance(check_relevance(r), list)


def test_parse_rubric_reports_relevance_problems_at_the_field() -> None:
    data = make(q("x", "${nope} = 'yes'")).model_dump()
    with pytest.raises(RubricError) as caught:
        parse_rubric(data)
    [problem] = caught.value.problems
    assert problem.dotted == "domains.0.indicators.0.questions.5.relevant"
    assert "nope" in problem.message


def test_order_puts_each_question_after_those_it_reads() -> None:
    r = make(q("late", "${mid} = ''"), q("mid", "${first} != ''"), q("first", "${yn} = 'no'"))
    assert relevance_order(r) == ["first", "mid", "late"]
    trees, order = compile_relevance(r)
    assert [trees[k] is not None for k in range(len(trees))] == [False] * 5 + [True] * 3
    assert order == (7, 6, 5)


def test_compiled_trees_use_option_indices_and_levels() -> None:
    r = make(q("x", "${yn} = 'no' and selected(${m}, 'c') and ${lvl} >= '3'"))
    trees, _ = compile_relevance(r)
    assert trees[5] == (
        "and",
        ("and", ("eq", ("col", 0), ("const", 1.0)), ("bit", 1, 2)),
        ("ge", ("col", 2), ("const", 3.0)),
    )


# --- evaluating one response --------------------------------------------------------------------


def test_evaluate_relevance_on_the_quick_check() -> None:
    quick = load_rubric(library_path() / "quick-check.yaml")
    assert evaluate_relevance(quick, {"RS2_evaluated": "yes"})["RS2_changes"] is True
    assert evaluate_relevance(quick, {"RS2_evaluated": "no"})["RS2_changes"] is False
    shown = evaluate_relevance(quick, {})
    assert shown["RS2_changes"] is False
    assert all(v for k, v in shown.items() if k != "RS2_changes")


def test_a_hidden_question_is_blank_for_the_questions_after_it() -> None:
    r = parse_rubric(
        make(
            q("x", "${yn} = 'yes'"),
            q("needs_x", "${x} != ''"),
            q("x_blank", "${x} = ''"),
        ).model_dump()
    )
    values = {"yn": "no", "x": "stale text from before"}
    shown = evaluate_relevance(r, values)
    assert (shown["x"], shown["needs_x"], shown["x_blank"]) == (False, False, True)
    shown = evaluate_relevance(r, {**values, "yn": "yes"})
    assert (shown["x"], shown["needs_x"], shown["x_blank"]) == (True, True, False)


def test_web_values_of_every_kind_are_understood() -> None:
    r = parse_rubric(
        make(
            q("sel", "selected(${m}, 'b') and count-selected(${m}) = 2"),
            q("lvl3", "${lvl} >= 3"),
            q("big", "${n} > 10"),
        ).model_dump()
    )
    shown = evaluate_relevance(r, {"m": ["a", "b"], "lvl": "3", "n": 10.5})
    assert (shown["sel"], shown["lvl3"], shown["big"]) == (True, True, True)
    shown = evaluate_relevance(r, {"m": "b", "lvl": 2, "n": "junk"})  # junk reads as blank
    assert (shown["sel"], shown["lvl3"], shown["big"]) == (False, False, False)


def test_not_applicable_and_dont_know_read_as_blank() -> None:
    data = make(q("x", "${lvl} != ''")).model_dump()
    data["missing"] = {"allow_not_applicable": True, "allow_dont_know": True}
    r = parse_rubric(data)
    assert evaluate_relevance(r, {"lvl": "__na__"})["x"] is False
    assert evaluate_relevance(r, {"lvl": "__dk__"})["x"] is False
    assert evaluate_relevance(r, {"lvl": 1})["x"] is True
