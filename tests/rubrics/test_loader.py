"""Loading rubric files (errors at FILE:LINE), encoding answers, compiling specs, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evaluator.results import AnswersError
from evaluator.spec import ScoringSpec
from rubrics.cli import rubric_cli
from rubrics.loader import (
    SCHEMA_FILE,
    FileProblem,
    RubricFileError,
    compile_spec,
    encode_answers,
    library_path,
    library_rubrics,
    load_rubric,
    load_rubric_text,
    rubric_json_schema,
    write_json_schema,
)
from rubrics.schema import RubricError

# Line numbers below refer to this document (line 1 is "id: demo").
VALID = """\
id: demo
title: Demo
bands:
  - {label: Low, min: 0, max: 50}
  - {label: High, min: 50, max: 100}
domains:
  - id: D1
    label: Domain
    weight: 2
    indicators:
      - id: I1
        label: Indicator
        questions:
          - id: q1
            type: single
            label: Pick one
            options:
              - {id: a, label: A, score: 4}
              - {id: b, label: B, score: 1}
          - id: q2
            type: maturity
            label: Level
            relevant: "${q1} = 'a'"
            levels:
              - {level: 1, descriptor: one}
              - {level: 2, descriptor: two}
              - {level: 3, descriptor: three}
              - {level: 4, descriptor: four}
          - id: q3
            type: multiple
            label: Several
            options:
              - {id: x, label: X, score: 2}
              - {id: "y", label: Y, score: 3}
          - id: q4
            type: number
            label: How many
            number: {method: linear, low: 0, high: 10}
          - id: q5
            type: text
            label: Notes
"""


def edit(line: int, old: str, new: str, text: str = VALID) -> str:
    """``text`` with ``old`` replaced by ``new`` on (1-based) ``line`` only."""
    lines = text.splitlines(keepends=True)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    return "".join(lines)


def problems_of(tmp_path: Path, text: str) -> tuple[Path, list[str]]:
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RubricFileError) as caught:
        load_rubric(path)
    return path, str(caught.value).splitlines()


def test_a_valid_file_loads() -> None:
    rubric = load_rubric_text(VALID, "demo.yaml")
    assert [q.id for _, _, q in rubric.questions()] == ["q1", "q2", "q3", "q4", "q5"]
    assert rubric.title == {"en": "Demo"}


@pytest.mark.parametrize(
    ("line", "old", "new", "expected"),
    [
        (
            20,
            "id: q2",
            "id: q1",
            "20: domains.0.indicators.0.questions.1.id: duplicate id 'q1' "
            "(also at domains.0.indicators.0.questions.0)",
        ),
        (9, "weight: 2", "weight: 0", "9: domains.0.weight: must be a number above 0, got 0.0"),
        (5, "min: 50", "min: 60", "5: bands.1.min: gap between 50 and 60"),
        (
            18,
            "score: 4",
            "score: 9",
            "18: domains.0.indicators.0.questions.0.options.0.score: "
            "score 9 is outside the scale 1..4",
        ),
        (
            23,
            "${q1} = 'a'",
            "${q9} = 'a'",
            "23: domains.0.indicators.0.questions.1.relevant: refers to ${q9}, which is not a "
            "question",
        ),
        (
            23,
            "${q1} = 'a'",
            "${q1} = 'c'",
            "23: domains.0.indicators.0.questions.1.relevant: ${q1} has no option 'c' "
            "(its options: a, b)",
        ),
        (
            12,
            "label: Indicator",
            "labl: Indicator",
            "12: domains.0.indicators.0.labl: unknown field",
        ),
        (
            30,
            "type: multiple",
            "type: several",
            "30: domains.0.indicators.0.questions.2.type: Input should be 'maturity', 'single'",
        ),
        (
            36,
            "type: number",
            "type: number\n            colour: red",
            "37: domains.0.indicators.0.questions.3.colour: unknown field",
        ),
        (
            38,
            "high: 10",
            "high: -1",
            "38: domains.0.indicators.0.questions.3.number: linear scoring needs low < high",
        ),
        (
            34,
            '{id: "y"',
            "{id: yes",
            "34: domains.0.indicators.0.questions.2.options.1.id: "
            "Input should be a valid string (YAML reads yes as true/false: quote it, 'yes')",
        ),
        (
            2,
            "title: Demo",
            "title: Demo\nversion: 2024-05-01",
            "3: version: Input should be a valid string (YAML reads 2024-05-01 as a date: "
            "quote it, '2024-05-01')",
        ),
        (
            16,
            "label: Pick one",
            "label: on",
            "16: domains.0.indicators.0.questions.0.label: Input should be a valid dictionary "
            "(YAML reads on as true/false: quote it, 'on')",
        ),
    ],
)
def test_each_problem_is_reported_at_its_file_and_line(
    tmp_path: Path, line: int, old: str, new: str, expected: str
) -> None:
    path, lines = problems_of(tmp_path, edit(line, old, new))
    assert any(text.startswith(f"{path}:{expected}") for text in lines), lines


def test_a_missing_field_is_reported_at_its_parent(tmp_path: Path) -> None:
    path, lines = problems_of(tmp_path, edit(16, "label: Pick one", "hint: Pick one"))
    assert f"{path}:14: domains.0.indicators.0.questions.0.label: Field required" in lines


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    text = edit(9, "weight: 2", "weight: -1", edit(5, "min: 50", "min: 60"))
    path, lines = problems_of(tmp_path, text)
    assert [line.split(": ")[0] for line in lines] == [f"{path}:5", f"{path}:9"]


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path, lines = problems_of(tmp_path, edit(12, "label: Indicator", "label: [Indicator"))
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:13: (rubric): YAML syntax:"), lines


def test_yaml_tab_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    path, lines = problems_of(tmp_path, edit(2, "title: Demo", "title: Demo\n\tbad: 1"))
    assert lines[0].startswith(f"{path}:3: (rubric): YAML syntax:"), lines


def test_duplicate_yaml_keys_are_problems(tmp_path: Path) -> None:
    path, lines = problems_of(tmp_path, edit(2, "title: Demo", "title: Demo\ntitle: Again"))
    assert lines == [f"{path}:3: title: duplicate key 'title'"]


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(RubricFileError, match=r"^up.yaml:1: \(rubric\): a rubric file must be"):
        load_rubric_text("- just\n- a list\n", "up.yaml")


def test_file_errors_are_rubric_errors_with_located_problems() -> None:
    with pytest.raises(RubricError) as caught:
        load_rubric_text(edit(9, "weight: 2", "weight: 0"), "upload.yaml")
    [problem] = caught.value.problems
    assert isinstance(problem, FileProblem)
    assert (problem.file, problem.line, problem.dotted) == ("upload.yaml", 9, "domains.0.weight")
    assert isinstance(caught.value, ValueError)


def test_the_library_rubrics_all_load_and_compile() -> None:
    files = library_rubrics()
    assert library_path() / "quick-check.yaml" in files
    for path in files:
        spec = compile_spec(load_rubric(path))
        assert spec.n_questions == sum(1 for _ in load_rubric(path).questions())


def test_the_shipped_json_schema_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "rubric.schema.json"
    write_json_schema(fresh)
    assert SCHEMA_FILE.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        "regenerate it: python -c 'from rubrics.loader import write_json_schema as w; w()'"
    )
    schema = json.loads(fresh.read_text(encoding="utf-8"))
    assert schema == rubric_json_schema()
    assert {"string"} <= {alt.get("type") for alt in schema["properties"]["title"]["anyOf"]}


# --- answers -------------------------------------------------------------------------------------


def test_web_values_encode_to_the_engine_matrix() -> None:
    rubric = load_rubric_text(VALID)
    rows = [
        {"q1": "b", "q2": "3", "q3": ["y", "x"], "q4": 2.5, "q5": "some notes"},
        {"q1": "a", "q2": 4, "q3": "y", "q4": "7", "q5": ""},
        {"q3": [], "q4": None},
    ]
    matrix = encode_answers(rubric, rows)
    np.testing.assert_array_equal(
        matrix, [[1, 3, 3, 2.5, 1], [0, 4, 2, 7, np.nan], [np.nan, np.nan, 0, np.nan, np.nan]]
    )


def test_na_and_dont_know_sentinels_encode_where_allowed() -> None:
    text = VALID.replace(
        "domains:\n", "missing: {allow_not_applicable: true, allow_dont_know: true}\ndomains:\n", 1
    )
    matrix = encode_answers(load_rubric_text(text), [{"q1": "__na__", "q2": "__dk__"}])
    assert matrix[0, 0] == -math.inf
    assert matrix[0, 1] == math.inf


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"q1": "c"}, r"rows\[0\]\['q1'\]: 'c' is not an option \(options: a, b\)"),
        ({"q2": 7}, r"rows\[0\]\['q2'\]: 7 is not a level of the scale 1..4"),
        ({"q2": 2.5}, r"2.5 is not a level"),
        ({"q3": ["x", "z"]}, r"rows\[0\]\['q3'\]: 'z' is not an option"),
        ({"q4": "many"}, r"rows\[0\]\['q4'\]: 'many' is not a number"),
        ({"q4": True}, r"True is not a number"),
        ({"q1": "__na__"}, r"'not applicable' is not offered for this question"),
        ({"q2": "__dk__"}, r"'don't know' is not offered for this question"),
    ],
)
def test_values_that_do_not_fit_name_row_and_question(row: dict[str, object], message: str) -> None:
    rubric = load_rubric_text(VALID)
    with pytest.raises(AnswersError, match=message):
        encode_answers(rubric, [row])
    lenient = encode_answers(rubric, [row], strict=False)
    assert np.isnan(lenient).all()


# --- specs ---------------------------------------------------------------------------------------


def test_compile_spec_is_cached_per_rubric_content() -> None:
    first = compile_spec(load_rubric_text(VALID))
    again = compile_spec(load_rubric_text(VALID))
    assert isinstance(first, ScoringSpec)
    assert again is first
    other = compile_spec(load_rubric_text(edit(9, "weight: 2", "weight: 3")))
    assert other is not first


def test_compile_spec_maps_the_rubric_to_numbers() -> None:
    spec = compile_spec(load_rubric_text(VALID))
    assert spec.question_ids == ("q1", "q2", "q3", "q4", "q5")
    assert spec.scored.tolist() == [True, True, True, True, False]
    np.testing.assert_array_equal(spec.option_scores[:3], [[4, 1], [np.nan, np.nan], [2, 3]])
    assert spec.domain_weights.tolist() == [2.0]
    assert spec.number_linear[3].tolist() == [0, 10]
    assert spec.relevance[1] == ("eq", ("col", 0), ("const", 0.0))
    assert spec.band_labels == ("Low", "High")
    assert spec.min_coverage == 0.5


# --- the command line ----------------------------------------------------------------------------


def test_cli_validate_reports_ok_with_the_question_count(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(VALID, encoding="utf-8")
    result = CliRunner().invoke(rubric_cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{path}: ok (5 questions)\n"


def test_cli_validate_lists_every_problem_and_fails(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(VALID, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        edit(9, "weight: 2", "weight: 0", edit(29, "id: q3", "id: q1")), encoding="utf-8"
    )
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(rubric_cli, ["validate", str(good), str(bad), str(missing)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{good}: ok (5 questions)"
    assert lines[1] == f"{bad}:9: domains.0.weight: must be a number above 0, got 0.0"
    assert lines[2].startswith(f"{bad}:29: domains.0.indicators.0.questions.2.id: duplicate id")
    assert lines[3] == f"{missing}: cannot read: No such file or directory"


def test_cli_validate_checks_the_library() -> None:
    files = [str(path) for path in library_rubrics()]
    result = CliRunner().invoke(rubric_cli, ["validate", *files])
    assert result.exit_code == 0, result.output
