"""What a funder sees (the README's roles): submitted results, scores, verified results and
plans; evidence files, answers not yet submitted and the evaluator's notes only when the NGO's
grant includes them, which the NGO admin sets on its Sharing page. Over HTTP."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from accounts.models import Role
from surveys import answers as store
from surveys.cycles.models import CycleEvaluator
from surveys.evidence import services as evidence
from surveys.questionnaire import services as questionnaire
from surveys.review import services as review
from tests.quick_check import ANSWERS

NOTE = "The board minutes of March were not shown."
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(app, session, make_org, make_user, make_assessment):
    ngo = make_org(name="Hope and Home")
    funder_org = make_org(name="Fund", kind="funder")
    admin = make_user(email="admin@ngo.example", role=Role.NGO_ADMIN, org=ngo)
    funder = make_user(email="f@fund.example", role=Role.FUNDER, org=funder_org)
    evaluator = make_user(email="e@eval.example", role=Role.EVALUATOR)
    done, draft = make_assessment(org=ngo), make_assessment(org=ngo)
    session.add(CycleEvaluator(cycle_id=done.cycle_id, user_id=evaluator.id))
    store.save_answers(
        session, done, values=ANSWERS, base_versions=dict.fromkeys(ANSWERS), user=admin
    )
    item = evidence.store_evidence(
        session,
        done,
        question_id="SG1_policy",
        upload=evidence.Upload("policy.pdf", io.BytesIO(PDF)),
        folder=Path(app.config["UPLOAD_FOLDER"]),
        limit=10**6,
        user=admin,
    )
    assert questionnaire.submit(session, done, by=admin) == []
    review.start_review(session, done, by=evaluator)
    review.save_indicator_review(
        session,
        done,
        "SG1",
        values={},
        base_versions={},
        note=NOTE,
        note_version=None,
        by=evaluator,
    )
    review.complete_review(session, done, by=evaluator)
    store.save_answers(
        session, draft, values={"SG1_policy": 2}, base_versions={"SG1_policy": None}, user=admin
    )
    session.commit()
    return {
        "ngo": ngo,
        "funder_org": funder_org,
        "admin": admin,
        "funder": funder,
        "done": done,
        "draft": draft,
        "evidence": item,
    }


def share(app, world, log_in_directly, csrf, *, include_evidence):
    """The NGO admin grants the funder access on the Sharing page."""
    client = log_in_directly(app.test_client(), world["admin"])
    url = f"/organizations/{world['ngo'].id}/sharing"
    data = {
        "csrf_token": csrf(client, url),
        "funder": str(world["funder_org"].id),
        "scope": "all",
    }
    if include_evidence:
        data["include_evidence"] = "y"
    response = client.post(url + "/grants", data=data)
    assert response.status_code == 302
    return client.get(url).get_data(as_text=True)


def pages(world):
    done, draft = world["done"].id, world["draft"].id
    return {
        "scorecard": f"/reports/assessments/{done}",
        "plan": f"/assessments/{done}/plan",
        "verification": f"/assessments/{done}/verification",
        "evidence": f"/assessments/{done}/evidence/{world['evidence'].id}",
        "draft": f"/assessments/{draft}",
    }


def test_a_funder_sees_results_and_plans_but_not_evidence_drafts_or_notes(
    app, world, log_in_directly, csrf
):
    sharing_page = share(app, world, log_in_directly, csrf, include_evidence=False)
    assert "Results and plans only" in sharing_page
    funder = log_in_directly(app.test_client(), world["funder"])
    urls = pages(world)
    for name in ("scorecard", "plan", "verification"):
        assert funder.get(urls[name]).status_code == 200, name
    assert NOTE not in funder.get(urls["verification"]).get_data(as_text=True)
    assert funder.get(urls["evidence"]).status_code == 403
    assert funder.get(urls["draft"]).status_code == 403


def test_a_grant_that_includes_evidence_opens_evidence_drafts_and_notes(
    app, world, log_in_directly, csrf
):
    sharing_page = share(app, world, log_in_directly, csrf, include_evidence=True)
    assert "evidence files, drafts and evaluator" in sharing_page
    funder = log_in_directly(app.test_client(), world["funder"])
    urls = pages(world)
    assert NOTE in funder.get(urls["verification"]).get_data(as_text=True)
    response = funder.get(urls["evidence"])
    assert (response.status_code, response.get_data()) == (200, PDF)
    response.close()
    assert funder.get(urls["draft"]).status_code == 200


def test_the_ngo_sees_its_own_evidence_drafts_and_notes(app, world, log_in_directly):
    admin = log_in_directly(app.test_client(), world["admin"])
    urls = pages(world)
    assert NOTE in admin.get(urls["verification"]).get_data(as_text=True)
    response = admin.get(urls["evidence"])
    assert response.status_code == 200
    response.close()
    assert admin.get(urls["draft"]).status_code == 200
