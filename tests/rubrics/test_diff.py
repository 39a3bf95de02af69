"""diff_rubrics: every kind of change, found on small edits of the quick-check rubric."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rubrics.diff import FieldChange, RubricDiff, diff_rubrics
from rubrics.loader import load_rubric
from rubrics.schema import parse_rubric

LIBRARY = Path(__file__).resolve().parents[2] / "rubrics" / "library"
BASE = load_rubric(LIBRARY / "quick-check.yaml")


@pytest.fixture
def data():
    """A fresh, editable copy of quick-check as plain data."""
    return copy.deepcopy(BASE.model_dump(mode="json", exclude_none=True))


def question(data, question_id):
    for domain in data["domains"]:
        for indicator in domain["indicators"]:
            for q in indicator["questions"]:
                if q["id"] == question_id:
                    return q
    raise KeyError(question_id)


def indicator(data, indicator_id):
    return next(
        ind for d in data["domains"] for ind in d["indicators"] if ind["id"] == indicator_id
    )


def domain(data, domain_id):
    return next(d for d in data["domains"] if d["id"] == domain_id)


def diff_to(data) -> RubricDiff:
    return diff_rubrics(BASE, parse_rubric(data))


def only_question_change(diff, question_id):
    assert not diff.questions.added
    assert not diff.questions.removed
    [change] = diff.questions.changed
    assert change.id == question_id
    return {c.field: (c.old, c.new) for c in change.changes}


def test_identical_rubrics_have_an_empty_diff(data):
    diff = diff_to(data)
    assert diff.empty
    assert diff.to_json()["empty"] is True
    assert all(count == 0 for count in diff.summary().values())


def test_a_label_change_is_reported_per_language(data):
    question(data, "SG1_policy")["label"]["el"] = "Νέα διατύπωση;"
    fields = only_question_change(diff_to(data), "SG1_policy")
    assert fields == {
        "label.el": (
            "Πόσο πλήρης είναι η πολιτική σας για την προστασία των παιδιών;",  # noqa: RUF001
            "Νέα διατύπωση;",
        )
    }


def test_a_translation_added_or_removed(data):
    del question(data, "SG1_policy")["label"]["el"]
    question(data, "SV1_plans")["guidance"] = {"en": "Count children supported this year."}
    diff = diff_to(data)
    changes = {c.id: c.changes for c in diff.questions.changed}
    [removed] = changes["SG1_policy"]
    assert (removed.field, removed.kind, removed.new) == ("label.el", "removed", None)
    [added] = changes["SV1_plans"]
    assert (added.field, added.kind) == ("guidance", "added")
    assert added.new == {"en": "Count children supported this year."}


def test_options_added_removed_relabelled_and_rescored(data):
    options = question(data, "SV1_referral")["options"]
    options[0]["label"]["en"] = "No partner"  # relabelled
    options[1]["score"] = 1.5  # rescored
    del options[2]  # removed ("most")
    options.append({"id": "abroad", "label": {"en": "Abroad only"}, "score": 3})  # added
    fields = only_question_change(diff_to(data), "SV1_referral")
    assert fields["options.none.label.en"] == ("None", "No partner")
    assert fields["options.some.score"] == (2.0, 1.5)
    old_most, new_most = fields["options.most"]
    assert new_most is None
    assert old_most["score"] == 3.0
    assert fields["options.abroad"] == (
        None,
        {"label": {"en": "Abroad only"}, "score": 3.0},
    )
    assert "options.order" not in fields  # the options kept their relative order


def test_reordered_options(data):
    options = question(data, "SV1_referral")["options"]
    options.reverse()
    fields = only_question_change(diff_to(data), "SV1_referral")
    assert fields == {
        "options.order": (["none", "some", "most", "all"], ["all", "most", "some", "none"])
    }


def test_weight_relevance_required_and_type(data):
    q = question(data, "RS2_changes")
    q["weight"] = 2
    q["relevant"] = "${RS2_evaluated} = 'no'"
    q["required"] = True
    fields = only_question_change(diff_to(data), "RS2_changes")
    assert fields == {
        "weight": (1.0, 2.0),
        "relevant": ("${RS2_evaluated} = 'yes'", "${RS2_evaluated} = 'no'"),
        "required": (False, True),
    }


def test_required_is_compared_by_its_effect(data):
    question(data, "SG1_policy")["required"] = True  # scored questions are required anyway
    assert diff_to(data).empty


def test_a_type_change(data):
    q = question(data, "SG1_focal")
    q["type"] = "single"
    fields = only_question_change(diff_to(data), "SG1_focal")
    assert fields == {"type": ("yes_no", "single")}


def test_level_descriptors(data):
    levels = question(data, "SG2_vetting")["levels"]
    levels[2]["descriptor"]["en"] = "References and checks for every role."
    fields = only_question_change(diff_to(data), "SG2_vetting")
    assert fields == {
        "levels.3.descriptor.en": (
            "References and record checks for every role.",
            "References and checks for every role.",
        )
    }


def test_question_missing_policy(data):
    question(data, "SV2_shelter")["missing"] = {
        "allow_not_applicable": True,
        "not_applicable": "score",
        "not_applicable_score": 2,
    }
    question(data, "SV1_plans")["missing"] = {"allow_dont_know": True}
    diff = diff_to(data)
    changes = {c.id: {f.field: (f.old, f.new) for f in c.changes} for c in diff.questions.changed}
    assert changes["SV2_shelter"] == {
        "missing.not_applicable": (None, "score"),
        "missing.not_applicable_score": (None, 2.0),
    }
    assert changes["SV1_plans"] == {"missing": (None, {"allow_dont_know": True})}


def test_number_scoring(data):
    new = {
        "id": "RS1_staff",
        "type": "number",
        "label": {"en": "How many staff?"},
        "number": {"method": "bands", "bands": [{"min": 0, "max": 9, "score": 1}]},
    }
    indicator(data, "RS1")["questions"].append(new)
    before = parse_rubric(copy.deepcopy(data))
    new["number"] = {"method": "linear", "low": 0, "high": 20}
    diff = diff_rubrics(before, parse_rubric(data))
    [change] = diff.questions.changed
    fields = {c.field: (c.old, c.new) for c in change.changes}
    assert fields["number.method"] == ("bands", "linear")
    assert fields["number.low"] == (None, 0.0)
    assert fields["number.high"] == (None, 20.0)
    assert fields["number.bands"] == ([{"min": 0.0, "max": 9.0, "score": 1.0}], None)


def test_questions_added_and_removed(data):
    questions = indicator(data, "SG1")["questions"]
    removed = questions.pop(1)
    questions.append(
        {
            "id": "SG1_training",
            "type": "yes_no",
            "label": {"en": "Are staff trained every year?"},
            "options": [
                {"id": "yes", "label": "Yes", "score": 4},
                {"id": "no", "label": "No", "score": 1},
            ],
        }
    )
    diff = diff_to(data)
    assert not diff.questions.changed
    [added] = diff.questions.added
    [gone] = diff.questions.removed
    assert (added.id, added.domain, added.indicator, added.type) == (
        "SG1_training",
        "SG",
        "SG1",
        "yes_no",
    )
    assert gone.id == removed["id"]
    assert gone.label["en"] == "Is there a named safeguarding focal point?"


def test_a_question_moved_to_another_indicator(data):
    moved = indicator(data, "SG1")["questions"].pop(1)
    indicator(data, "SV1")["questions"].append(moved)
    fields = only_question_change(diff_to(data), "SG1_focal")
    assert fields == {"domain": ("SG", "SV"), "indicator": ("SG1", "SV1")}


def test_a_rename_through_previous_id(data):
    q = question(data, "SG1_focal")
    q["id"] = "SG1_focal_point"
    q["previous_id"] = "SG1_focal"
    diff = diff_to(data)
    assert not diff.questions.added
    assert not diff.questions.removed
    [renamed] = diff.renamed
    assert (renamed.id, renamed.previous_id, renamed.changes) == (
        "SG1_focal_point",
        "SG1_focal",
        (),
    )


def test_a_rename_with_changes(data):
    q = question(data, "SG1_focal")
    q["id"] = "SG1_focal_point"
    q["previous_id"] = "SG1_focal"
    q["options"][0]["score"] = 3
    [renamed] = diff_to(data).renamed
    assert renamed.changes == (FieldChange("options.yes.score", 4.0, 3.0),)


def test_a_new_id_without_previous_id_is_an_addition_and_a_removal(data):
    question(data, "SG1_focal")["id"] = "SG1_focal_point"
    diff = diff_to(data)
    assert [e.id for e in diff.questions.added] == ["SG1_focal_point"]
    assert [e.id for e in diff.questions.removed] == ["SG1_focal"]
    assert not diff.renamed


def test_previous_id_of_a_question_that_still_exists_is_not_a_rename(data):
    questions = indicator(data, "SG1")["questions"]
    copy_of = copy.deepcopy(questions[1])
    copy_of["id"] = "SG1_focal_copy"
    copy_of["previous_id"] = "SG1_focal"  # the original is kept: this is a new question
    questions.append(copy_of)
    diff = diff_to(data)
    assert [e.id for e in diff.questions.added] == ["SG1_focal_copy"]
    assert not diff.questions.removed
    assert not diff.renamed


def test_a_carried_previous_id_is_matched_by_id_in_later_versions(data):
    q = question(data, "SG1_focal")
    q["id"] = "SG1_focal_point"
    q["previous_id"] = "SG1_focal"
    second = parse_rubric(copy.deepcopy(data))
    q["weight"] = 3
    diff = diff_rubrics(second, parse_rubric(data))
    [change] = diff.questions.changed
    assert (change.id, change.renamed) == ("SG1_focal_point", False)


def test_domains_and_indicators_added_removed_and_reweighted(data):
    domain(data, "SG")["weight"] = 3
    domain(data, "SV")["label"]["en"] = "Survivor services"
    indicator(data, "RS1")["weight"] = 2
    indicator(data, "RS2")["guidance"] = {"en": "Evaluations by others."}
    data["domains"].append(
        {
            "id": "FN",
            "label": "Finance",
            "indicators": [
                {
                    "id": "FN1",
                    "label": "Audit",
                    "questions": [{"id": "FN1_notes", "type": "text", "label": "Notes"}],
                }
            ],
        }
    )
    del domain(data, "RS")["indicators"][1]  # RS2 and its questions go
    diff = diff_to(data)
    domains = {c.id: {f.field: (f.old, f.new) for f in c.changes} for c in diff.domains.changed}
    assert domains == {
        "SG": {"weight": (2.0, 3.0)},
        "SV": {"label.en": ("Services to survivors", "Survivor services")},
    }
    assert [e.id for e in diff.domains.added] == ["FN"]
    assert not diff.domains.removed
    indicators = {c.id: [f.field for f in c.changes] for c in diff.indicators.changed}
    assert indicators == {"RS1": ["weight"]}
    assert [(e.id, e.domain) for e in diff.indicators.added] == [("FN1", "FN")]
    assert [(e.id, e.domain) for e in diff.indicators.removed] == [("RS2", "RS")]
    assert [e.id for e in diff.questions.added] == ["FN1_notes"]
    assert [e.id for e in diff.questions.removed] == ["RS2_evaluated", "RS2_changes"]
    assert diff.settings == ()  # FN was appended: the other domains kept their order


def test_an_indicator_moved_to_another_domain(data):
    moved = domain(data, "RS")["indicators"].pop(1)
    domain(data, "SV")["indicators"].append(moved)
    diff = diff_to(data)
    [change] = diff.indicators.changed
    assert (change.id, change.changes) == ("RS2", (FieldChange("domain", "RS", "SV"),))
    moved_questions = {c.id: [f.field for f in c.changes] for c in diff.questions.changed}
    assert moved_questions == {"RS2_evaluated": ["domain"], "RS2_changes": ["domain"]}


def test_rubric_settings_bands_scale_and_missing_policy(data):
    data["title"]["en"] = "Quick check 2"
    data["bands"][0]["max"] = 35
    data["bands"][1]["min"] = 35
    data["scale"]["levels"][0]["label"]["en"] = "Starting"
    data["missing"]["min_coverage"] = 0.75
    data["missing"]["allow_dont_know"] = True
    diff = diff_to(data)
    fields = {c.field: (c.old, c.new) for c in diff.settings}
    assert fields == {
        "title.en": ("Safeguarding quick check", "Quick check 2"),
        "scale.levels.1.label.en": ("Initial", "Starting"),
        "missing.allow_dont_know": (False, True),
        "missing.min_coverage": (0.5, 0.75),
        "bands.0.max": (40.0, 35.0),
        "bands.1.min": (40.0, 35.0),
    }
    assert diff.questions.empty
    assert diff.domains.empty


def test_bands_added_are_shown_whole(data):
    data["bands"] = [
        {"label": "Low", "min": 0, "max": 50},
        {"label": "High", "min": 50, "max": 100},
    ]
    [change] = diff_to(data).settings
    assert change.field == "bands"
    assert len(change.old) == 4
    assert change.new == [
        {"label": {"en": "Low"}, "min": 0.0, "max": 50.0},
        {"label": {"en": "High"}, "min": 50.0, "max": 100.0},
    ]


def test_a_scale_change(data):
    data["scale"] = {"min": 1, "max": 5}
    for _, _, q in BASE.questions():
        if q.type == "maturity":
            levels = question(data, q.id)["levels"]
            levels.append({"level": 5, "descriptor": {"en": "Beyond."}})
    diff = diff_to(data)
    fields = {c.field: (c.old, c.new) for c in diff.settings}
    assert fields["scale.max"] == (4, 5)
    assert fields["scale.levels.1"][1] is None  # the level names were dropped
    changed = {c.id: [f.field for f in c.changes] for c in diff.questions.changed}
    assert changed["SG1_policy"] == ["levels.5"]


def test_reordered_domains(data):
    data["domains"].reverse()
    [change] = diff_to(data).settings
    assert change == FieldChange("domains.order", ["SG", "SV", "RS"], ["RS", "SV", "SG"])


def test_the_json_shape(data):
    q = question(data, "SG1_focal")
    q["id"], q["previous_id"] = "SG1_focal_point", "SG1_focal"
    q["options"][1]["score"] = 2
    del indicator(data, "RS2")["questions"][1]
    data["missing"]["min_coverage"] = 0.6
    payload = diff_to(data).to_json()
    assert json.loads(json.dumps(payload)) == payload  # plain JSON all the way down
    assert set(payload) == {
        "old_id",
        "new_id",
        "empty",
        "summary",
        "settings",
        "domains",
        "indicators",
        "questions",
    }
    assert payload["empty"] is False
    assert payload["settings"] == [
        {"field": "missing.min_coverage", "kind": "changed", "old": 0.5, "new": 0.6}
    ]
    assert payload["questions"]["removed"] == [
        {
            "id": "RS2_changes",
            "label": {
                "en": "What did you change after the last evaluation?",
                "el": "Τι αλλάξατε μετά την τελευταία αξιολόγηση;",  # noqa: RUF001
            },
            "domain": "RS",
            "indicator": "RS2",
            "type": "text",
        }
    ]
    [changed] = payload["questions"]["changed"]
    assert changed["id"] == "SG1_focal_point"
    assert changed["previous_id"] == "SG1_focal"
    assert changed["renamed"] is True
    assert changed["changes"] == [
        {"field": "options.no.score", "kind": "changed", "old": 1.0, "new": 2.0}
    ]
    assert payload["summary"]["questions_renamed"] == 1
    assert payload["summary"]["questions_removed"] == 1
    assert payload["domains"] == {"added": [], "removed": [], "changed": []}
