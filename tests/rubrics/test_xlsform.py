"""XLSForm import and export: real forms from pyxform's test suite, synthetic forms, round trips."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from pyxform.xls2xform import convert

from rubrics.loader import load_rubric, load_rubric_text
from rubrics.relevance import evaluate_relevance
from rubrics.schema import Rubric, parse_rubric
from rubrics.xlsform import ImportResult, XLSFormError, export_xlsform, import_xlsform
from rubrics.xlsform_cli import export_command, import_command

ROOT = Path(__file__).resolve().parents[2]
# Real forms from pyxform's test suite, kept in the repository with their licence (see its README).
FORMS = ROOT / "tests" / "data" / "xlsforms"
LIBRARY = ROOT / "rubrics" / "library"
QUICK_CHECK = LIBRARY / "quick-check.yaml"
SHARED_FORMS = sorted(p for p in FORMS.glob("*") if p.suffix in {".xls", ".xlsx"})

# Shared forms that must fail; any other form in the folder (a new one too) must import.
MALFORMED = {"duplicate_columns.xlsx"}
NOTHING_SUPPORTED = {"calculate.xls"}  # only calculate and note rows


def _forms(*, importable: bool = False) -> list[Any]:
    # A missing fixture is a failure, never a skip.
    assert SHARED_FORMS, f"the XLSForm fixtures are missing from {FORMS}"
    skip = MALFORMED | NOTHING_SUPPORTED if importable else set()
    return [pytest.param(p, id=p.name) for p in SHARED_FORMS if p.name not in skip]


def _import(name: str) -> ImportResult:
    return import_xlsform(FORMS / name)


def _types(rubric: Rubric) -> Counter[str]:
    return Counter(q.type for _, _, q in rubric.questions())


def _xlsform(
    survey: Sequence[Sequence[Any]],
    choices: Sequence[Sequence[Any]] = (),
    settings: Sequence[Sequence[Any]] = (),
) -> bytes:
    """An .xlsx form from rows (the first row of each sheet is its header)."""
    book = openpyxl.Workbook()
    sheets = [("survey", survey), ("choices", choices), ("settings", settings)]
    for n, (title, rows) in enumerate(s for s in sheets if s[1]):
        sheet = book.active if n == 0 else book.create_sheet()
        sheet.title = title
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import_rows(
    survey: Sequence[Sequence[Any]],
    choices: Sequence[Sequence[Any]] = (),
    settings: Sequence[Sequence[Any]] = (),
) -> ImportResult:
    return import_xlsform(_xlsform(survey, choices, settings), filename="form.xlsx")


def _lines(report: list[str], text: str) -> list[str]:
    return [line for line in report if text in line]


# --- every shared form --------------------------------------------------------------------------


@pytest.mark.parametrize("path", _forms(importable=True))
def test_every_shared_form_imports_as_a_valid_rubric_with_a_report(path: Path) -> None:
    result = import_xlsform(path)
    assert isinstance(result.rubric, Rubric)
    assert all(isinstance(line, str) and line for line in result.report)
    # parse_rubric has validated it: validating its dump again gives the same rubric
    assert parse_rubric(result.rubric.model_dump()) == result.rubric


@pytest.mark.parametrize("path", [p for p in _forms() if p.values[0].name in MALFORMED])
def test_malformed_shared_forms_fail_naming_the_sheet_and_row(path: Path) -> None:
    with pytest.raises(XLSFormError, match=rf"^{path.name}: sheet '\w+', row \d+: "):
        import_xlsform(path)


@pytest.mark.parametrize("path", _forms(importable=True))
def test_every_imported_shared_form_survives_export_and_reimport(path: Path) -> None:
    rubric = import_xlsform(path).rubric
    exported = export_xlsform(rubric)
    assert import_xlsform(exported, filename="again.xlsx").rubric == rubric
    convert(xlsform=exported, file_type=".xlsx", warnings=[])  # and pyxform accepts it


# --- what each shared form exercises -------------------------------------------------------------


def test_tutorial_imports_its_repeat_once_as_a_domain() -> None:
    result = _import("tutorial.xls")
    rubric = result.rubric
    assert rubric.id == "tutorial"
    assert [d.id for d in rubric.domains] == ["member"]
    assert [i.id for i in rubric.domains[0].indicators] == ["member_main"]
    assert _types(rubric) == Counter({"yes_no": 5, "single": 2, "number": 2, "text": 1})
    sex = rubric.question("sex")
    assert [o.id for o in sex.options] == ["male", "female"]
    assert all(o.score is None for o in sex.options)  # no score column: unscored
    assert not sex.scored
    assert rubric.question("age_in_months").relevant == "${older_than_five}='no'"
    assert _lines(result.report, "row 2: type 'begin repeat' is not supported (repeats)")


def test_case_insensitive_sheets_and_columns_give_the_language_code() -> None:
    result = _import("case_insensitivity.xlsx")
    rubric = result.rubric
    assert rubric.id == "YesNo"
    assert rubric.title == {"en": "Yes or no"}
    assert rubric.languages == ("en",)
    assert rubric.default_language == "en"
    q1 = rubric.question("q1")
    assert q1.type == "single"
    assert q1.label == {"en": "Are you good?"}
    assert [o.label for o in q1.options] == [{"en": "l1-c"}, {"en": "l2-c"}]
    assert _lines(result.report, "row 3: type 'select_one_external c1' is not supported")
    assert _lines(result.report, "row 4: type 'osm c1' is not supported")
    assert _lines(result.report, "entities are not supported")


def test_xml_special_characters_in_labels_are_kept_verbatim() -> None:
    result = _import("xml_escaping.xls")
    question = result.rubric.question("table_list_3")
    assert question.label == {"en": "${a} < ${b}"}
    assert question.type == "yes_no"
    assert _lines(result.report, "row 2: type 'calculate' is not supported, skipped")


def test_ucl_biomass_form_keeps_two_languages_and_relevance() -> None:
    result = _import("UCL_Biomass_Plot_Form.xlsx")
    rubric = result.rubric
    assert rubric.languages == ("sw", "en")
    assert rubric.default_language == "sw"
    other = rubric.question("leader_name_other")
    assert other.label == {"sw": "Jina Lako", "en": "Your Name"}
    assert other.relevant == "${leader_name} = 'other'"
    assert other.required is True
    # a repeat's relevance is ANDed into the questions inside it, including nested repeats
    assert rubric.question("decay_class").relevant == (
        "(${any_trees} = 'yes') and (${health_id}='dead')"
    )
    assert [i.id for i in next(d for d in rubric.domains if d.id == "trees").indicators] == [
        "trees_main",
        "stems",
    ]
    report = result.report
    assert _lines(report, "row 22: type 'geopoint' is not supported, skipped")
    assert _lines(report, "row 32: type 'begin repeat' is not supported (repeats)")
    assert _lines(report, "type 'select_one_from_file UCL_regions.csv' is not supported")
    assert _lines(report, "row 2: group 'intro' has no supported question, skipped")
    # latin_name_id is a select from a CSV file: relevance on it cannot be kept
    assert _lines(report, "relevant of 'latin_name_other' refers to 'latin_name_id'")
    assert rubric.question("latin_name_other").relevant == "${any_trees} = 'yes'"
    # choice names that are not ids get a stable id, and say so
    assert [o.id for o in rubric.question("plant_phase").options][:2] == ["_2022", "_2023"]
    assert _lines(report, "choices row 7: choice name '2022' is not a valid id, imported as")


def test_loop_is_skipped_and_or_other_is_reported() -> None:
    result = _import("loop.xlsx")
    rubric = result.rubric
    assert [q.id for _, _, q in rubric.questions()] == ["available_toilet_types"]
    toilets = rubric.question("available_toilet_types")
    assert toilets.type == "multiple"
    assert "other" not in [o.id for o in toilets.options]
    assert rubric.languages == ("english",)  # `label:english` has no code: the name, lowercased
    assert _lines(result.report, "row 3: type 'begin loop over toilet_type' is not supported")
    assert _lines(result.report, "row 2: 'or specify other' is not supported")


def test_duplicate_column_header_names_the_sheet_and_row() -> None:
    with pytest.raises(XLSFormError, match="sheet 'survey', row 1: Duplicate column header: label"):
        _import("duplicate_columns.xlsx")


def test_capitalised_choices_sheet_is_read_like_pyxform_reads_it() -> None:
    # Old pyxform refused a sheet named "Choices"; pyxform 4 matches sheet names in any case.
    rubric = _import("badly_named_choices_sheet.xls").rubric
    assert [(q.id, q.type) for _, _, q in rubric.questions()] == [
        ("age", "number"),
        ("name", "text"),
        ("color", "single"),
    ]
    assert rubric.question("name").relevant == "${age} >= 18"


def test_form_with_only_calculations_and_notes_has_nothing_to_import() -> None:
    with pytest.raises(XLSFormError, match="no question the platform supports") as caught:
        _import("calculate.xls")
    assert "row 2: type 'calculate' is not supported, skipped" in caught.value.report


def test_choice_filter_is_reported_and_duplicate_choices_dropped() -> None:
    result = _import("choice_filter_test.xlsx")
    county = result.rubric.question("county")
    assert [o.id for o in county.options] == ["king", "pierce", "cameron"]
    assert _lines(result.report, "row 3: choice_filter is not supported")
    assert _lines(result.report, "duplicate choice 'king' in list 'counties', skipped")


def test_groups_become_domains_and_ungrouped_questions_general() -> None:
    result = _import("group.xlsx")
    rubric = result.rubric
    assert [(d.id, [i.id for i in d.indicators]) for d in rubric.domains] == [
        ("general", ["general_main"]),
        ("father", ["father_main"]),
    ]
    assert rubric.domains[1].label == {"en": "Father"}
    assert rubric.domains[1].indicators[0].label == {"en": "Father"}  # named after the domain
    assert _lines(result.report, "row 4: type 'phone number' is not supported")


def test_yes_no_choices_make_a_yes_no_question() -> None:
    rubric = _import("yes_or_no_question.xlsx").rubric
    assert rubric.question("good_day").type == "yes_no"


def test_widgets_keep_the_answerable_types_and_report_the_rest() -> None:
    result = _import("widgets.xls")
    assert _types(result.rubric) == Counter(
        {"multiple": 7, "yes_no": 5, "single": 5, "number": 2, "text": 2, "date": 1}
    )
    assert not _lines(result.report, "type 'date' is not supported")  # a question type now
    for kind in ("time", "geopoint", "barcode", "image", "audio", "video", "dateTime"):
        assert _lines(result.report, f"type '{kind}' is not supported, skipped"), kind
    assert _lines(result.report, "'my_output' is read-only, skipped")


def test_a_date_question_and_relevance_on_it_import_from_xlsform() -> None:
    result = _import_rows(
        [
            ("type", "name", "label", "relevant"),
            ("date", "start", "When did the programme start?", None),
            ("text", "lessons", "What have you learnt?", "${start} >= date('2024-01-01')"),
        ]
    )
    rubric = result.rubric
    assert rubric.question("start").type == "date"
    assert evaluate_relevance(rubric, {"start": "2024-01-01"})["lessons"] is True
    assert evaluate_relevance(rubric, {"start": "2023-12-31"})["lessons"] is False


# --- synthetic forms ---------------------------------------------------------------------------

SURVEY = ("type", "name", "label")


def test_nested_groups_are_indicators_and_direct_questions_an_implicit_indicator() -> None:
    rubric = _import_rows(
        [
            SURVEY,
            ("text", "intro", "Who are you?"),
            ("begin_group", "gov", "Governance"),
            ("text", "mission", "Mission?"),
            ("begin_group", "board", "Board"),
            ("integer", "members", "How many members?"),
            ("begin_group", "deep", "Deeper"),
            ("text", "minutes", "Minutes?"),
            ("end_group", "", ""),
            ("end_group", "", ""),
            ("end_group", "", ""),
        ]
    ).rubric
    structure = [
        (d.id, d.label, [(i.id, i.label, [q.id for q in i.questions]) for i in d.indicators])
        for d in rubric.domains
    ]
    assert structure == [
        ("general", {"en": "General"}, [("general_main", {"en": "General"}, ["intro"])]),
        (
            "gov",
            {"en": "Governance"},
            [
                ("gov_main", {"en": "Governance"}, ["mission"]),
                ("board", {"en": "Board"}, ["members", "minutes"]),
            ],
        ),
    ]


def test_group_relevance_is_anded_into_each_question() -> None:
    rubric = _import_rows(
        [
            (*SURVEY, "relevant"),
            ("select_one yn", "active", "Active?", ""),
            ("begin_group", "ops", "Operations", "${active} = 'yes'"),
            ("integer", "staff", "Staff?", ""),
            ("text", "why", "Why so many?", "${staff} > 10"),
            ("end_group", "", "", ""),
        ],
        [("list_name", "name", "label"), ("yn", "yes", "Yes"), ("yn", "no", "No")],
    ).rubric
    assert rubric.question("staff").relevant == "${active} = 'yes'"
    assert rubric.question("why").relevant == "(${active} = 'yes') and (${staff} > 10)"


def test_extension_columns_place_questions_and_weigh_them() -> None:
    rubric = _import_rows(
        [
            (*SURVEY, "domain", "indicator", "weight"),
            ("begin_group", "fin", "Finance", "", "", "2"),
            ("begin_group", "audit", "Audit", "", "", ""),
            ("text", "a1", "Audited?", "", "", "0.5"),
            ("end_group", "", "", "", "", ""),
            ("end_group", "", "", "", "", ""),
            ("text", "a2", "Auditor?", "", "audit", ""),
            ("text", "h1", "HR policy?", "People", "Policies", ""),
        ]
    ).rubric
    fin, people = rubric.domains
    assert (fin.id, fin.weight, [i.id for i in fin.indicators]) == ("fin", 2.0, ["audit"])
    assert [q.id for q in fin.indicators[0].questions] == ["a1", "a2"]
    assert rubric.question("a1").weight == 0.5
    assert (people.id, people.label, people.indicators[0].id) == (
        "People",
        {"en": "People"},
        "Policies",
    )


def test_scores_on_the_choices_sheet_score_the_options_and_fit_the_scale() -> None:
    result = _import_rows(
        [SURVEY, ("select_one level", "q", "How good?"), ("select_one plain", "p", "Colour?")],
        [
            ("list_name", "name", "label", "score"),
            ("level", "low", "Low", "0"),
            ("level", "high", "High", "10"),
            ("plain", "red", "Red", ""),
            ("plain", "blue", "Blue", ""),
        ],
    )
    rubric = result.rubric
    assert [(o.id, o.score) for o in rubric.question("q").options] == [
        ("low", 0.0),
        ("high", 10.0),
    ]
    assert rubric.question("q").scored
    assert [o.score for o in rubric.question("p").options] == [None, None]
    assert (rubric.scale.min, rubric.scale.max) == (0, 10)
    assert _lines(result.report, "the scale is 0..10 to fit the form's scores")


def test_partly_scored_choices_lose_their_scores_with_a_report_line() -> None:
    result = _import_rows(
        [SURVEY, ("select_one l", "q", "Q?")],
        [("list_name", "name", "label", "score"), ("l", "a", "A", "1"), ("l", "b", "B", "")],
    )
    assert [o.score for o in result.rubric.question("q").options] == [None, None]
    assert _lines(result.report, "row 2: scores of 'q' dropped")


def test_select_one_with_a_single_choice_becomes_a_tick_box() -> None:
    result = _import_rows(
        [SURVEY, ("select_one agree", "consent", "I agree")],
        [("list_name", "name", "label"), ("agree", "ok", "I agree")],
    )
    assert result.rubric.question("consent").type == "multiple"
    assert _lines(result.report, "row 2: a select_one with a single choice")


def test_relevance_on_a_skipped_question_is_dropped() -> None:
    result = _import_rows(
        [
            (*SURVEY, "relevant"),
            ("geopoint", "where", "Where?", ""),
            ("text", "why", "Why there?", "${where} != ''"),
        ]
    )
    assert result.rubric.question("why").relevant is None
    assert _lines(result.report, "row 2: type 'geopoint' is not supported, skipped")
    assert _lines(result.report, "row 3: relevant of 'why' refers to 'where', which is not")


def test_relevance_the_platform_cannot_evaluate_is_dropped() -> None:
    result = _import_rows(
        [
            (*SURVEY, "relevant"),
            ("text", "email", "Email?", ""),
            ("text", "why", "Why?", "regex(${email}, '.+@.+')"),
        ]
    )
    assert result.rubric.question("why").relevant is None
    assert _lines(result.report, "row 3: relevant of 'why' dropped")


def test_names_that_are_not_ids_get_stable_ids_and_references_follow() -> None:
    rows: list[Sequence[Any]] = [
        (*SURVEY, "relevant"),
        ("select_one n", "ηλικία", "Age group?", ""),
        ("text", "more", "Tell us more", "${ηλικία} = '1'"),
    ]
    choices = [("list_name", "name", "label"), ("n", "1", "Young"), ("n", "2", "Old")]
    first = _import_rows(rows, choices)
    again = _import_rows(rows, choices)
    (age_id,) = [q.id for _, _, q in first.rubric.questions() if q.id != "more"]
    assert age_id == next(q.id for _, _, q in again.rubric.questions() if q.id != "more")
    assert [o.id for o in first.rubric.question(age_id).options] == ["_1", "_2"]
    assert first.rubric.question("more").relevant == f"${{{age_id}}} = '_1'"
    assert _lines(first.report, "row 2: name 'ηλικία' is not a valid id, imported as")


def test_long_and_non_ascii_group_names_get_stable_ids() -> None:
    long_name = "q_" + "x" * 70
    rows = [
        SURVEY,
        ("begin_group", "Διακυβέρνηση", "Governance"),
        ("text", long_name, "A long name"),
        ("end_group", "", ""),
    ]
    first, again = _import_rows(rows), _import_rows(rows)
    assert first.rubric == again.rubric
    domain = first.rubric.domains[0]
    question = domain.indicators[0].questions[0]
    assert domain.label == {"en": "Governance"}
    assert len(question.id) <= 64
    assert question.id.startswith("q_xxx")
    assert _lines(first.report, "row 2: group name 'Διακυβέρνηση' is not a valid id")


def test_validation_rules_and_defaults_are_reported_as_not_supported() -> None:
    result = _import_rows(
        [
            (*SURVEY, "constraint", "default"),
            ("integer", "age", "Age?", ". >= 18", "30"),
        ]
    )
    assert result.rubric.question("age").type == "number"
    assert "row 2: constraint '. >= 18' is not supported, ignored" in result.report
    assert "row 2: default '30' is not supported, ignored" in result.report


def test_required_yes_and_no_are_kept_and_expressions_reported() -> None:
    result = _import_rows(
        [
            (*SURVEY, "required"),
            ("text", "a", "A", "yes"),
            ("text", "b", "B", "FALSE"),
            ("text", "c", "C", "${a} != ''"),
            ("text", "d", "D", ""),
        ]
    )
    rubric = result.rubric
    assert [rubric.question(q).required for q in "abcd"] == [True, False, None, None]
    assert _lines(result.report, "row 4: required '${a} != ''' is not supported")


def test_language_columns_map_to_codes_and_hints_to_guidance() -> None:
    rubric = _import_rows(
        [
            (
                "type",
                "name",
                "label::English (en)",
                "label::Français (fr)",
                "hint::English (en)",
                "guidance_hint::English (en)",
            ),
            ("text", "q", "Name?", "Nom ?", "Full name", "Ask for ID"),
        ],
        settings=[("form_id", "default_language"), ("f1", "Français (fr)")],
    ).rubric
    q = rubric.question("q")
    assert (rubric.languages, rubric.default_language) == (("en", "fr"), "fr")
    assert q.label == {"en": "Name?", "fr": "Nom ?"}
    assert (q.hint, q.guidance) == ({"en": "Full name"}, {"en": "Ask for ID"})


def test_typographic_quotes_in_labels_are_kept_verbatim() -> None:
    label = "The NGO\u2019s \u201cpolicy\u201d & <rules>"
    rows = [
        (*SURVEY, "relevant"),
        ("text", "a", label, ""),
        ("text", "b", "B", "${a} != \u2018\u2019"),
    ]
    rubric = _import_rows(rows).rubric
    assert rubric.question("a").label == {"en": label}
    assert rubric.question("b").relevant == "${a} != ''"  # expressions get straight quotes


def test_file_upload_is_evidence_and_rubric_type_declares_maturity() -> None:
    rubric = _import_rows(
        [
            (*SURVEY, "rubric_type"),
            ("file", "report", "Annual report", ""),
            ("select_one lv", "m", "Maturity?", "maturity"),
        ],
        [("list_name", "name", "label")] + [("lv", str(n), f"Level {n}") for n in range(1, 5)],
    ).rubric
    assert rubric.question("report").type == "evidence"
    maturity = rubric.question("m")
    assert maturity.type == "maturity"
    assert (maturity.levels[0].level, maturity.levels[0].descriptor) == (1, {"en": "Level 1"})


def test_a_file_that_is_not_a_workbook_is_refused() -> None:
    with pytest.raises(XLSFormError, match=r"notes\.txt: not an Excel workbook"):
        import_xlsform(b"type,name,label\n", filename="notes.txt")


def test_a_workbook_without_a_survey_sheet_gets_pyxforms_message() -> None:
    book = openpyxl.Workbook()
    book.active.title = "choices"
    book.create_sheet("settings")
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(XLSFormError, match=r"form\.xlsx: You must have a sheet named 'survey'"):
        import_xlsform(out.getvalue(), filename="form.xlsx")


def test_pyxform_errors_name_the_sheet_and_row() -> None:
    with pytest.raises(XLSFormError, match=r"row 3: On the 'survey' sheet.* name 'x'"):
        _import_rows([(*SURVEY, "relevant"), ("text", "a", "A", ""), ("text", "b", "B", "${x}")])
    with pytest.raises(XLSFormError, match=r"sheet 'survey', row 2: Question with no type"):
        _import_rows([SURVEY, ("", "a", "A")])


def test_a_damaged_workbook_is_an_error_not_a_crash() -> None:
    damaged = _xlsform([SURVEY, ("text", "a", "A")])[:300]
    with pytest.raises(XLSFormError, match=r"broken\.xlsx: "):
        import_xlsform(damaged, filename="broken.xlsx")


# --- export and round trips --------------------------------------------------------------------

EVERY_TYPE: dict[str, Any] = {
    "id": "every-type",
    "title": {"en": "Every type", "el": "Κάθε τύπος", "pt-BR": "Todo tipo"},
    "description": {"en": 'Line one\nline  two, with <tags> & "quotes" and \u2018curly\u2019'},
    "version": "2.1",
    "languages": ["en", "el", "pt-BR"],
    "default_language": "el",
    "scale": {
        "min": 0,
        "max": 5,
        "levels": [{"level": n, "label": {"en": f"L{n}", "el": f"Επίπεδο {n}"}} for n in range(6)],
    },
    "bands": [
        {"label": {"en": "Low"}, "min": 0, "max": 50},
        {"label": {"en": "Mid", "el": "Μέσο"}, "min": 50, "max": 80.5},
        {"label": {"en": "High"}, "min": 80.5, "max": 100},
    ],
    "missing": {
        "allow_not_applicable": True,
        "allow_dont_know": True,
        "not_applicable": "score",
        "not_applicable_score": 0,
        "dont_know": "missing",
        "min_coverage": 0.75,
    },
    "domains": [
        {
            "id": "D1",
            "label": {"en": "Domain one", "el": "Τομέας ένα"},
            "guidance": {"en": "Domain guidance"},
            "weight": 1.5,
            "indicators": [
                {
                    "id": "D1.a",
                    "label": {"en": "Indicator a"},
                    "guidance": {"el": "Οδηγία"},
                    "weight": 0.5,
                    "questions": [
                        {
                            "id": "mat",
                            "type": "maturity",
                            "label": {"en": "=SUM(A1) is not a formula", "el": "Ωριμότητα"},
                            "levels": [
                                {"level": n, "descriptor": {"en": f"Level {n}"}} for n in range(6)
                            ],
                            "previous_id": "old_mat",
                            "weight": 2.5,
                        },
                        {
                            "id": "single",
                            "type": "single",
                            "label": {"en": "Single"},
                            "hint": {"en": "Pick one", "pt-BR": "Escolha"},
                            "options": [
                                {"id": "a.1", "label": {"en": "A"}, "score": 0},
                                {"id": "b-2", "label": {"en": "B"}, "score": 2.5},
                                {"id": "c_3", "label": {"en": "C"}, "score": 5},
                            ],
                            "required": False,
                        },
                        {
                            "id": "yn",
                            "type": "yes_no",
                            "label": {"en": "Yes or no?"},
                            "options": [
                                {"id": "yes", "label": {"en": "Yes"}, "score": 5},
                                {"id": "no", "label": {"en": "No"}, "score": 0},
                            ],
                            "missing": {
                                "allow_dont_know": True,
                                "dont_know": "score",
                                "dont_know_score": 2,
                            },
                        },
                        {
                            "id": "yn_custom",
                            "type": "yes_no",
                            "label": {"en": "Custom yes/no ids"},
                            "options": [
                                {"id": "y", "label": {"en": "Yes"}},
                                {"id": "n", "label": {"en": "No"}},
                            ],
                        },
                        {
                            "id": "single_yes_no",
                            "type": "single",
                            "label": {"en": "A single whose options happen to be yes/no"},
                            "options": [
                                {"id": "yes", "label": {"en": "Yes"}},
                                {"id": "no", "label": {"en": "No"}},
                            ],
                        },
                    ],
                },
                {
                    "id": "D1.b",
                    "label": {"en": "Indicator b"},
                    "questions": [
                        {
                            "id": "multi",
                            "type": "multiple",
                            "label": {"en": "Many"},
                            "combine": "max",
                            "cap": 3,
                            "options": [
                                {"id": "opt.a", "label": {"en": "A"}, "score": 1},
                                {"id": "opt.b", "label": {"en": "B"}, "score": 3},
                            ],
                            "relevant": "${yn} = 'yes' and ${mat} >= 3",
                        },
                        {
                            "id": "multi_mean",
                            "type": "multiple",
                            "label": {"en": "Many, averaged"},
                            "combine": "mean",
                            "options": [{"id": "only", "label": {"en": "Only"}, "score": 4}],
                            "missing": {"allow_not_applicable": False},
                        },
                    ],
                },
            ],
        },
        {
            "id": "D2",
            "label": {"en": "Domain two"},
            "indicators": [
                {
                    "id": "D2.a",
                    "label": {"en": "Numbers and text"},
                    "questions": [
                        {
                            "id": "num_bands",
                            "type": "number",
                            "label": {"en": "Banded"},
                            "number": {
                                "method": "bands",
                                "bands": [
                                    {"min": -5.5, "max": 0, "score": 0},
                                    {"min": 0.25, "max": 1e6, "score": 4.5},
                                ],
                                "low": 1,
                            },
                            "relevant": "selected(${multi}, 'opt.a')",
                        },
                        {
                            "id": "num_linear",
                            "type": "number",
                            "label": {"en": "Linear"},
                            "number": {"method": "linear", "low": 0.1, "high": 99.25},
                            "required": True,
                        },
                        {"id": "num_plain", "type": "number", "label": {"en": "Unscored"}},
                        {
                            "id": "txt",
                            "type": "text",
                            "label": {"en": "Text"},
                            "guidance": {"en": "Say \u201cwhy\u201d", "el": "Γιατί"},
                            "relevant": "count-selected(${multi}) >= 1 or ${num_plain} > 2.5",
                        },
                        {
                            "id": "ev",
                            "type": "evidence",
                            "label": {"en": "Upload ${nothing} (text), not ${mat}\nnor  ${"},
                            "hint": {"pt-BR": "Envie"},
                        },
                    ],
                }
            ],
        },
    ],
}


@pytest.fixture(params=[*sorted(p.name for p in LIBRARY.glob("*.yaml")), "every-type"])
def rubric(request: pytest.FixtureRequest) -> Rubric:
    """quick-check.yaml and the other shipped rubrics, and one with every type and policy."""
    if request.param == "every-type":
        return parse_rubric(EVERY_TYPE, source="every-type")
    return load_rubric(LIBRARY / request.param)


def test_export_then_import_gives_back_an_equal_rubric(rubric: Rubric) -> None:
    result = import_xlsform(export_xlsform(rubric), filename=f"{rubric.id}.xlsx")
    assert result.rubric == rubric
    assert not [line for line in result.report if not line.startswith("pyxform:")]


def test_exported_form_is_a_valid_xlsform(rubric: Rubric) -> None:
    warnings: list[str] = []
    result = convert(xlsform=export_xlsform(rubric), file_type=".xlsx", warnings=warnings)
    domain, indicator, question = next(rubric.questions())
    assert f"<{question.id}/>" in result.xform
    assert f"/data/{domain.id}/{indicator.id}/{question.id}" in result.xform
    assert f"<h:title>{rubric.text(rubric.title)}</h:title>" in result.xform


def test_exported_sheets_use_xlsform_columns() -> None:
    book = openpyxl.load_workbook(io.BytesIO(export_xlsform(load_rubric(QUICK_CHECK))))
    assert book.sheetnames == ["survey", "choices", "settings"]
    survey = list(book["survey"].iter_rows(values_only=True))
    header = survey[0]
    for column in ("type", "name", "label::English (en)", "label::Greek (el)", "relevant"):
        assert column in header
    rows = [dict(zip(header, row, strict=True)) for row in survey[1:]]
    policy = next(r for r in rows if r["name"] == "SG1_policy")
    assert policy["type"] == "select_one SG1_policy"
    assert (policy["rubric_type"], policy["domain"], policy["indicator"]) == (
        "maturity",
        "SG",
        "SG1",
    )
    settings = dict(zip(*book["settings"].iter_rows(values_only=True), strict=True))
    assert (settings["form_id"], settings["default_language"]) == ("quick-check", "English (en)")


def test_text_starting_with_equals_is_exported_as_text_not_a_formula() -> None:
    rubric = parse_rubric(EVERY_TYPE)
    book = openpyxl.load_workbook(io.BytesIO(export_xlsform(rubric)))
    cells = [
        c
        for row in book["survey"].iter_rows()
        for c in row
        if c.value == "=SUM(A1) is not a formula"
    ]
    assert cells
    assert all(c.data_type == "s" for c in cells)


# --- command line ------------------------------------------------------------------------------


def test_import_command_writes_the_rubric_and_prints_the_report(tmp_path: Path) -> None:
    form = tmp_path / "form.xlsx"
    form.write_bytes(
        _xlsform(
            [SURVEY, ("geopoint", "where", "Where?"), ("select_one yn", "ok", "OK?")],
            [
                ("list_name", "name", "label", "score"),
                ("yn", "yes", "Yes", 4),
                ("yn", "no", "No", 1),
            ],
        )
    )
    out = tmp_path / "form.yaml"
    result = CliRunner().invoke(import_command, [str(form), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "form.xlsx: row 2: type 'geopoint' is not supported, skipped" in result.stdout
    assert "imported 1 question" in result.stdout
    rubric = load_rubric_text(out.read_text(encoding="utf-8"), str(out))
    assert rubric == import_xlsform(form).rubric


def test_import_command_without_out_prints_yaml_and_reports_on_stderr(tmp_path: Path) -> None:
    form = tmp_path / "form.xlsx"
    form.write_bytes(_xlsform([SURVEY, ("note", "n", "Hello"), ("text", "t", "Text?")]))
    result = CliRunner().invoke(import_command, [str(form)])
    assert result.exit_code == 0, result.output
    assert load_rubric_text(result.stdout).question("t").type == "text"
    assert "row 2: type 'note' is not supported" in result.stderr


def test_import_command_fails_cleanly_on_a_malformed_form(tmp_path: Path) -> None:
    form = tmp_path / "bad.xlsx"
    form.write_bytes(_xlsform([("type", "name", "label", "label"), ("text", "a", "A", "B")]))
    result = CliRunner().invoke(import_command, [str(form)])
    assert result.exit_code == 1
    assert "bad.xlsx: sheet 'survey', row 1: Duplicate column header: label" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_export_command_writes_an_xlsform(tmp_path: Path) -> None:
    out = tmp_path / "quick.xlsx"
    result = CliRunner().invoke(export_command, [str(QUICK_CHECK), str(out)])
    assert result.exit_code == 0, result.output
    assert "XLSForm of 'quick-check' (11 questions)" in result.stdout
    assert import_xlsform(out).rubric == load_rubric(QUICK_CHECK)


def test_export_command_reports_an_invalid_rubric_file(tmp_path: Path) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text("id: bad\ntitle: Bad\ndomains: []\n", encoding="utf-8")
    result = CliRunner().invoke(export_command, [str(source), str(tmp_path / "out.xlsx")])
    assert result.exit_code == 1
    assert "a rubric needs at least one domain" in result.stderr
    assert not (tmp_path / "out.xlsx").exists()
