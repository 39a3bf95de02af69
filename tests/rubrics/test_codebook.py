"""The shared indicator codebook: the shipped file, and rubric questions that declare
``indicator:`` and ``indicator_map:``, checked with every problem at ``FILE:LINE``."""

from __future__ import annotations

import re

import pytest

from rubrics.codebook import (
    CODEBOOK_FILE,
    check_links,
    load_codebook_text,
    shared_code,
    shared_codes,
    shared_value,
    shipped_codebook,
)
from rubrics.loader import RubricFileError, library_rubrics, load_rubric, load_rubric_text
from rubrics.xlsform import export_xlsform, import_xlsform

CODEBOOK = """\
languages: [en, el]
indicators:
  - code: POLICY
    name: {en: Policy, el: Πολιτική}
    definition: {en: A written policy., el: Γραπτή πολιτική.}
    scale:
      type: ordinal
      levels:
        - {value: 0, label: {en: None, el: Καμία}}
        - {value: 1, label: {en: Some, el: Κάποια}}
        - {value: 2, label: {en: Full, el: Πλήρης}}
  - code: FOCAL
    name: {en: Focal point, el: Υπεύθυνος}
    definition: {en: A named person., el: Ορισμένο πρόσωπο.}
    scale: {type: binary}
  - code: CASES
    name: {en: Cases, el: Υποθέσεις}
    definition: {en: Cases handled., el: Υποθέσεις.}
    scale: {type: count}
    disaggregation: [sex, age_group]
"""

RUBRIC = """\
id: linked
title: Linked
scale: {min: 1, max: 3}
domains:
  - id: D
    label: D
    indicators:
      - id: I
        label: I
        questions:
          - id: q_level
            type: maturity
            label: Level
            indicator: POLICY
            indicator_map: {1: 0, 2: 1, 3: 2}
            levels:
              - {level: 1, descriptor: one}
              - {level: 2, descriptor: two}
              - {level: 3, descriptor: three}
          - id: q_yes
            type: yes_no
            label: Focal?
            indicator: FOCAL
            options:
              - {id: "yes", label: "Yes", score: 3}
              - {id: "no", label: "No", score: 1}
          - id: q_cases
            type: number
            label: How many?
            indicator: CASES
"""


@pytest.fixture(scope="module")
def codebook():
    return load_codebook_text(CODEBOOK, "test-codebook.yaml")


def line_of(text: str, pattern: str) -> int:
    """The 1-based line of the first line of ``text`` matching ``pattern``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(pattern, line):
            return number
    raise AssertionError(pattern)


def problems_of(text: str, codebook) -> list[str]:
    with pytest.raises(RubricFileError) as caught:
        load_rubric_text(text, "r.yaml", codebook=codebook)
    return [str(problem) for problem in caught.value.problems]


def test_a_rubric_mapping_levels_options_and_numbers_loads(codebook):
    rubric = load_rubric_text(RUBRIC, "r.yaml", codebook=codebook)
    assert [shared_code(q) for _d, _i, q in rubric.questions()] == ["POLICY", "FOCAL", "CASES"]
    assert shared_codes(rubric) == {"q_level": "POLICY", "q_yes": "FOCAL", "q_cases": "CASES"}
    assert (
        rubric.model_dump(mode="json")["domains"][0]["indicators"][0]["questions"][1]["indicator"]
        == "FOCAL"
    )  # what the JSON API serialises
    assert check_links(rubric, codebook) == []


def test_an_unknown_code_is_refused_at_its_file_and_line(codebook):
    text = RUBRIC.replace("indicator: FOCAL", "indicator: NOT_THERE")
    line = line_of(text, "indicator: NOT_THERE")
    assert problems_of(text, codebook) == [
        f"r.yaml:{line}: domains.0.indicators.0.questions.1.indicator: "
        "unknown shared indicator 'NOT_THERE'"
    ]


def test_an_incomplete_mapping_is_refused_at_its_file_and_line(codebook):
    text = RUBRIC.replace("{1: 0, 2: 1, 3: 2}", "{1: 0, 2: 1}")
    line = line_of(text, "indicator_map:")
    (problem,) = problems_of(text, codebook)
    assert problem.startswith(
        f"r.yaml:{line}: domains.0.indicators.0.questions.0.indicator_map: incomplete: no value "
        "for 3"
    )


def test_a_value_off_the_scale_and_an_answer_the_question_lacks_are_refused(codebook):
    text = RUBRIC.replace("{1: 0, 2: 1, 3: 2}", "{1: 0, 2: 1, 3: 7, 4: 2}")
    found = problems_of(text, codebook)
    line = line_of(text, "indicator_map:")
    assert found == [
        f"r.yaml:{line}: domains.0.indicators.0.questions.0.indicator_map.3: 7 is not on "
        "POLICY's scale (0, 1, 2)",
        f"r.yaml:{line}: domains.0.indicators.0.questions.0.indicator_map.4: '4' is not a "
        "level of this question",
    ]


def test_a_question_whose_answers_differ_from_the_scale_needs_a_map(codebook):
    text = RUBRIC.replace("            indicator_map: {1: 0, 2: 1, 3: 2}\n", "")
    (problem,) = problems_of(text, codebook)
    line = line_of(text, "indicator: POLICY")
    assert problem == (
        f"r.yaml:{line}: domains.0.indicators.0.questions.0.indicator: needs an indicator_map: "
        "the answers (1, 2, 3) are not the values of POLICY's scale (0, 1, 2)"
    )


def test_a_map_without_an_indicator_and_an_unpoolable_type_are_refused(codebook):
    text = RUBRIC.replace("            indicator: POLICY\n", "")
    (problem,) = problems_of(text, codebook)
    assert problem.endswith("indicator_map: needs indicator: the shared indicator it maps to")
    text = RUBRIC.replace("type: number", "type: text")
    (problem,) = problems_of(text, codebook)
    assert problem.endswith("a text question cannot measure a shared indicator")


def test_two_questions_of_one_rubric_cannot_measure_one_indicator(codebook):
    text = RUBRIC.replace("indicator: POLICY", "indicator: FOCAL").replace(
        "indicator_map: {1: 0, 2: 1, 3: 2}", "indicator_map: {1: 0, 2: 1, 3: 1}"
    )
    (problem,) = problems_of(text, codebook)
    assert problem == (
        f"r.yaml:{_nth_line(text, 'indicator: FOCAL', 2)}: domains.0.indicators.0.questions.1."
        "indicator: 'FOCAL' is already measured by question 'q_level' of this rubric"
    )


def test_answers_are_put_on_the_indicator_scale(codebook):
    rubric = load_rubric_text(RUBRIC, "r.yaml", codebook=codebook)
    level, yes, cases = (q for _d, _i, q in rubric.questions())
    policy, focal, count = (codebook.get(c) for c in ("POLICY", "FOCAL", "CASES"))
    assert [shared_value(level, rubric, policy, v) for v in (1, "2", 3)] == [0.0, 1.0, 2.0]
    assert [shared_value(yes, rubric, focal, v) for v in ("yes", "no")] == [1.0, 0.0]
    assert shared_value(cases, rubric, count, 12) == 12.0
    assert shared_value(cases, rubric, count, -1) is None  # off a count's scale
    assert shared_value(cases, rubric, count, 2.5) is None
    assert shared_value(level, rubric, policy, "__na__") == "not_applicable"
    assert shared_value(level, rubric, policy, "__dk__") == "dont_know"
    assert shared_value(level, rubric, policy, None) is None


def _nth_line(text: str, needle: str, nth: int) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[nth - 1]


def test_a_codebook_problem_is_reported_at_its_file_and_line():
    text = CODEBOOK.replace("type: count", "type: tally")
    with pytest.raises(RubricFileError) as caught:
        load_codebook_text(text, "cb.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"cb.yaml:{line_of(text, 'type: tally')}: indicators.2.scale.type: Input should be "
        "'ordinal', 'binary', 'proportion', 'percentage' or 'count'",
    ]
    text = CODEBOOK.replace("code: FOCAL", "code: POLICY")
    with pytest.raises(RubricFileError) as caught:
        load_codebook_text(text, "cb.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"cb.yaml:{_nth_line(text, 'code: POLICY', 2)}: indicators.1.code: duplicate code "
        "'POLICY' (also indicators.0)"
    ]


def test_the_shipped_codebook_is_complete_in_both_languages():
    codebook = load_codebook_text(CODEBOOK_FILE.read_text(encoding="utf-8"), "codebook.yaml")
    assert len(codebook.indicators) >= 20
    for indicator in codebook.indicators:
        for language in ("en", "el"):
            assert indicator.name.get(language), indicator.code
            assert indicator.definition.get(language), indicator.code
            for level in indicator.scale.values():
                assert level.label.get(language), indicator.code


def test_the_shipped_rubrics_validate_against_the_shipped_codebook():
    codebook = shipped_codebook()
    measured: dict[str, set[str]] = {}
    for path in library_rubrics():
        rubric = load_rubric(path, codebook=codebook)  # raises with FILE:LINE otherwise
        assert check_links(rubric, codebook) == []
        for _d, _i, question in rubric.questions():
            if question.indicator:
                measured.setdefault(question.indicator, set()).add(rubric.id)
    assert len(measured) >= 20
    # the same meaning in two rubrics: what pooling is for
    assert measured["SG_POLICY"] == {"child-protection", "quick-check"}
    assert measured["ACCOUNTS_AUDIT"] == {"child-protection", "organisational-capacity"}
    assert measured["EXTERNAL_EVALUATION"] == {"child-protection", "quick-check"}


def test_a_lead_answering_no_says_nothing_of_a_focal_point():
    """child-protection asks for a trained lead with a deputy: "no" is not "no focal point"."""
    codebook = shipped_codebook()
    rubric = next(load_rubric(p) for p in library_rubrics() if p.stem == "child-protection")
    lead = rubric.question("CP_SG1_lead")
    focal = codebook.get("SG_FOCAL_POINT")
    assert shared_value(lead, rubric, focal, "yes") == 1.0
    assert shared_value(lead, rubric, focal, "no") is None


def test_shared_indicators_survive_an_xlsform_round_trip():
    for path in library_rubrics():
        rubric = load_rubric(path)
        again = import_xlsform(export_xlsform(rubric), filename=f"{rubric.id}.xlsx").rubric
        assert again == rubric
    codebook = load_codebook_text(CODEBOOK, "cb.yaml")
    rubric = load_rubric_text(RUBRIC, "r.yaml", codebook=codebook)
    again = import_xlsform(export_xlsform(rubric), filename="linked.xlsx").rubric
    assert again.question("q_level").indicator_map == {"1": 0, "2": 1, "3": 2}
    assert again.question("q_cases").indicator == "CASES"


def test_the_diff_of_two_versions_shows_a_changed_shared_indicator(codebook):
    from rubrics.diff import diff_rubrics

    old = load_rubric_text(RUBRIC, "r.yaml", codebook=codebook)
    new = load_rubric_text(
        RUBRIC.replace("{1: 0, 2: 1, 3: 2}", "{1: 0, 2: 0, 3: 2}"), "r.yaml", codebook=codebook
    )
    changed = diff_rubrics(old, new).to_json()["questions"]["changed"]
    assert [(c["id"], [f["field"] for f in c["changes"]]) for c in changed] == [
        ("q_level", ["indicator_map.2"])
    ]


def test_the_shipped_codebook_json_schema_is_current(tmp_path):
    import json

    from rubrics.codebook import CODEBOOK_SCHEMA_FILE, write_codebook_schema

    fresh = tmp_path / "codebook.schema.json"
    write_codebook_schema(fresh)
    assert CODEBOOK_SCHEMA_FILE.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        "regenerate it: python -c 'from rubrics.codebook import write_codebook_schema as w; w()'"
    )
    schema = json.loads(fresh.read_text(encoding="utf-8"))
    assert "indicators" in schema["required"]


def test_the_cli_validates_rubrics_against_a_codebook_file(tmp_path):
    from click.testing import CliRunner

    from rubrics.cli import validate

    (tmp_path / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RUBRIC, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(
        validate, ["--codebook", str(tmp_path / "cb.yaml"), str(tmp_path / "r.yaml")]
    )
    assert ok.exit_code == 0, ok.output
    assert "cb.yaml: ok (3 indicators)" in ok.output
    assert "r.yaml: ok (3 questions)" in ok.output
    shipped = runner.invoke(validate, [str(tmp_path / "r.yaml")])  # POLICY is not shipped
    assert shipped.exit_code == 1
    line = line_of(RUBRIC, "indicator: POLICY")
    assert f"r.yaml:{line}: domains.0.indicators.0.questions.0.indicator: unknown shared" in (
        shipped.output
    )
