"""Stored scores: computed at submission, rescored in bulk, and under new rubric versions."""

from __future__ import annotations

import pytest
from quick_check import ANSWERS, OVERALL
from sqlmodel import select

from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from rubrics.schema import parse_rubric
from surveys import answers as store
from surveys.models import Score, Source
from surveys.questionnaire import services
from surveys.scoring import carry_over, rescore, score_under_new_version


@pytest.fixture
def submitted(session, make_org, make_user, make_assessment):
    def make(values=ANSWERS):
        org = make_org()
        user = make_user(email=f"u{org.id}@example.org", org=org)
        assessment = make_assessment(org=org)
        store.save_answers(session, assessment, values=values, base_versions={}, user=user)
        assert services.submit(session, assessment, by=user) == []
        session.commit()
        return assessment

    return make


def overall(session, assessment, version_id=None):
    query = select(Score).where(Score.assessment_id == assessment.id, Score.level == "overall")
    if version_id:
        query = query.where(Score.rubric_version_id == version_id)
    return session.exec(query).one()


def test_submission_stores_overall_domain_and_indicator_scores(session, submitted):
    assessment = submitted()
    rows = session.exec(select(Score).where(Score.assessment_id == assessment.id)).all()
    assert {r.level for r in rows} == {"overall", "domain", "indicator"}
    assert len([r for r in rows if r.level == "domain"]) == 3
    shelter = next(r for r in rows if r.code == "SV2")
    assert shelter.score is None  # all N/A
    assert shelter.coverage is None


def test_rescore_recomputes_every_submitted_assessment_in_batches(session, submitted):
    first, second = submitted(), submitted(ANSWERS | {"SG1_policy": 1})
    session.execute(Score.__table__.delete())
    session.commit()
    batches = []
    assert rescore(session, batch_size=1, progress=batches.append) == 2
    session.commit()
    assert batches == [1, 1]
    assert overall(session, first).score == pytest.approx(OVERALL)
    assert overall(session, second).score < overall(session, first).score


def test_rescore_command_reports_what_it_did(app, session, submitted):
    submitted()
    result = app.test_cli_runner().invoke(args=["rescore"])
    assert result.exit_code == 0, result.output
    assert "rescored 1 assessment(s)" in result.output


def test_publishing_a_new_version_scores_earlier_submissions_under_it(session, submitted):
    assessment = submitted()
    rubric = load_rubric("rubrics/library/quick-check.yaml")
    # Version 2 renames a question (previous_id keeps its answers) and drops another.
    data = rubric.model_dump(mode="json", exclude_none=True)
    policy = data["domains"][0]["indicators"][0]["questions"][0]
    policy["id"], policy["previous_id"] = "SG1_policy_v2", "SG1_policy"
    data["domains"][2]["indicators"][1]["questions"].pop()  # RS2_changes (unscored)
    new = parse_rubric(data)
    version = rubric_services.store_rubric(session, new)
    rubric_services.publish(session, version)
    session.commit()
    assert carry_over(new, {"SG1_policy": 3})["SG1_policy_v2"] == 3
    # publish() announces the version; scoring under it happened in the same transaction
    under_new = overall(session, assessment, version.id)
    pinned = overall(session, assessment, assessment_version(session, assessment))
    assert under_new.score == pytest.approx(pinned.score)
    assert score_under_new_version(session, version) == 1


def assessment_version(session, assessment):
    from surveys.models import AssessmentCycle

    return session.get(AssessmentCycle, assessment.cycle_id).rubric_version_id


def test_verified_answers_are_scored_separately(session, submitted):
    assessment = submitted()
    store.save_answers(
        session,
        assessment,
        values=ANSWERS | {"SG1_policy": 1},
        base_versions={},
        user=None,
        source=Source.VERIFIED,
    )
    session.commit()
    rescore(session)
    session.commit()
    rows = session.exec(select(Score).where(Score.level == "overall")).all()
    by_source = {r.source: r.score for r in rows}
    assert by_source[Source.VERIFIED] < by_source[Source.SELF]
