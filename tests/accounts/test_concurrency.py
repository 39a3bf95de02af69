"""The compare-and-set every versioned row goes through: a write names the version it saw."""

from __future__ import annotations

import pytest
from sqlmodel import select

from accounts.concurrency import StaleWrite, compare_and_set, insert_once
from surveys.models import Answer


@pytest.fixture
def answer(session, make_assessment):
    assessment = make_assessment()
    row = Answer(assessment_id=assessment.id, question_id="SG1_policy", value=1)
    session.add(row)
    session.commit()
    return row


def test_a_write_based_on_the_stored_version_is_made_and_bumps_it(session, answer):
    assert compare_and_set(session, answer, seen=1, values={"value": 2}) == 2
    session.commit()
    session.expire_all()
    assert (answer.value, answer.version) == (2, 2)


def test_a_write_based_on_an_old_version_changes_nothing_and_carries_the_row_as_it_is(
    session, answer
):
    compare_and_set(session, answer, seen=1, values={"value": 2})
    session.commit()
    with pytest.raises(StaleWrite) as lost:
        compare_and_set(session, answer, seen=1, values={"value": 3})
    assert (lost.value.current.value, lost.value.current.version) == (2, 2)
    assert lost.value.yours == {"value": 3}
    assert lost.value.seen == 1
    session.commit()
    session.expire_all()
    assert (answer.value, answer.version) == (2, 2)


def test_a_write_based_on_no_version_is_stale(session, answer):
    with pytest.raises(StaleWrite):
        compare_and_set(session, answer, seen=None, values={"value": 3})


def test_the_second_first_insert_loses_to_the_first_and_the_rest_stays(session, answer):
    twin = Answer(assessment_id=answer.assessment_id, question_id="SG1_policy", value=4)
    other = Answer(assessment_id=answer.assessment_id, question_id="SG1_focal", value="yes")
    session.add(other)
    with pytest.raises(StaleWrite) as lost:
        insert_once(
            session,
            twin,
            key={
                "assessment_id": answer.assessment_id,
                "source": "self",
                "question_id": "SG1_policy",
            },
        )
    assert lost.value.current.value == 1
    assert lost.value.yours["value"] == 4
    session.commit()  # the savepoint kept the rest of the transaction
    assert {a.question_id: a.value for a in session.exec(select(Answer)).all()} == {
        "SG1_policy": 1,
        "SG1_focal": "yes",
    }
