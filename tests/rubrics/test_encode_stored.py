"""encode_stored (stored answers as JSON text -> the answer matrix) gives exactly what the
dict path gives: carry-over by id, then by previous id; N/A, don't know, blanks, values the
rubric cannot read and unreadable JSON all read as encode_answers(strict=False) reads them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rubrics.loader import encode_answers, encode_stored, load_rubric
from rubrics.schema import parse_rubric
from surveys.scoring import carry_over

LIBRARY = Path(__file__).resolve().parents[2] / "rubrics" / "library"


def _renamed_rubric():  # type: ignore[no-untyped-def]
    """quick-check with SG1_policy renamed SG1_written (previous_id SG1_policy)."""
    data = load_rubric(LIBRARY / "quick-check.yaml").model_dump(mode="json", exclude_none=True)
    question = data["domains"][0]["indicators"][0]["questions"][0]
    assert question["id"] == "SG1_policy"
    question["id"], question["previous_id"] = "SG1_written", "SG1_policy"
    return parse_rubric(data)


STORED: list[dict[str, object]] = [
    {"SG1_policy": 3, "SG1_focal": "yes", "SV1_referral": "most", "SV2_shelter": "__na__"},
    # both the new id and the previous one: the new id wins, whatever order they come in
    {"SG1_policy": 1, "SG1_written": 4, "SG2_vetting": "__dk__", "SV2_shelter": 2},
    # values the rubric cannot read, blanks and JSON null read as unanswered
    {"SG1_written": 9, "SG1_focal": "maybe", "SG2_vetting": "", "SG2_incidents": None},
    {},
    {"RS2_changes": "We now log every concern.", "SV1_plans": "2"},
]


def test_stored_json_gives_the_matrix_of_the_carried_over_dicts() -> None:
    rubric = _renamed_rubric()
    expected = encode_answers(rubric, [carry_over(rubric, row) for row in STORED], strict=False)
    entries = [
        (r, question_id, None if value is None else json.dumps(value))
        for r, row in enumerate(STORED)
        for question_id, value in row.items()
    ]
    for order in (entries, entries[::-1]):
        found = encode_stored(rubric, len(STORED), order)
        np.testing.assert_array_equal(found, expected)
    # the cases are there: N/A (-inf); "don't know" is not offered here, so it reads as blank
    assert np.isneginf(expected).any()
    assert np.isnan(expected[1, 2])
    assert expected[1, 0] == found[1, 0] == 4  # the new id's answer, not the previous id's
    assert np.isnan(expected[2, :4]).all()


def test_unreadable_json_reads_as_unanswered() -> None:
    rubric = _renamed_rubric()
    found = encode_stored(rubric, 1, [(0, "SG1_focal", "{not json"), (0, "SG2_vetting", "2")])
    expected = encode_answers(rubric, [{"SG2_vetting": 2}], strict=False)
    np.testing.assert_array_equal(found, expected)
