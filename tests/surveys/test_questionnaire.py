"""The questionnaire: pages generated from the rubric, drafts, conflicts, submission."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from accounts.models import Role
from surveys import services
from surveys.models import Answer, AnswerRevision, Score, Status

# One answer per question of rubrics/library/quick-check.yaml, page by page (domains).
PAGE_ANSWERS = [
    {"q_SG1_policy": "3", "q_SG1_focal": "yes", "q_SG2_vetting": "2", "q_SG2_incidents": "4"},
    {"q_SV1_plans": "3", "q_SV1_referral": "most", "q_SV2_shelter": "__na__"},
    {
        "q_RS1_data": "2",
        "q_RS1_outcomes": "1",
        "q_RS2_evaluated": "yes",
        "q_RS2_changes": "We now follow up at 6 months.",
    },
]


@pytest.fixture
def ngo(make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org)
    assessment = make_assessment(org=org)
    return org, user, assessment


def page_form(client, url):
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    versions = dict(re.findall(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"', html))
    return html, {"csrf_token": token, **versions}


def test_the_ngo_sees_its_assessment_on_the_home_page(client, ngo, logged_in):
    _, user, assessment = ngo
    html = logged_in(user).get("/").get_data(as_text=True)
    assert "Cycle 2026" in html
    assert f"/assessments/{assessment.id}/resume" in html
    assert "<progress" in html


def test_pages_are_generated_from_the_rubric(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}/page/0").get_data(as_text=True)
    assert "How complete is your child safeguarding policy?" in html
    assert "No written policy." in html  # level descriptors
    assert 'name="q_SG1_policy"' in html
    assert "Section 1 of 3" in html
    html = client.get(f"/assessments/{assessment.id}/page/1").get_data(as_text=True)
    assert "Not applicable" in html  # SV2_shelter allows N/A


def test_the_questionnaire_renders_in_greek(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}/page/0?lang=el").get_data(as_text=True)
    assert "Πόσο πλήρης είναι η πολιτική σας" in html


def test_save_and_continue_later_keeps_partial_answers(client, session, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(url, data={**data, "q_SG1_policy": "2", "action": "later"})
    assert response.status_code == 302
    answer = session.exec(select(Answer).where(Answer.question_id == "SG1_policy")).one()
    assert answer.value == 2
    session.refresh(assessment)
    assert assessment.status == Status.IN_PROGRESS
    assert 0 < assessment.progress < 1
    # Resuming opens the first page with an unanswered question: still page 0.
    response = client.get(f"/assessments/{assessment.id}/resume")
    assert response.headers["Location"].endswith("/page/0")


def test_an_invalid_option_is_refused_naming_the_question_and_other_answers_are_kept(
    client, session, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    response = client.post(
        url, data={**data, "q_SG1_policy": "9", "q_SG2_vetting": "3", "action": "next"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "How complete is your child safeguarding policy?" in html
    assert "Not a valid choice" in html
    assert "Traceback" not in html
    saved = {a.question_id: a.value for a in session.exec(select(Answer)).all()}
    assert saved == {"SG2_vetting": 3}


def test_the_same_post_twice_stores_one_change(client, session, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    form = {**data, "q_SG1_policy": "3", "action": "next"}
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 302  # double click, same base version
    assert len(session.exec(select(AnswerRevision)).all()) == 1
    assert session.exec(select(Answer)).one().version == 1


def test_a_stale_save_shows_both_values_and_overwrites_nothing(
    app, session, ngo, make_user, login_as
):
    org, user, assessment = ngo
    colleague = make_user(email="colleague@example.org", role=Role.NGO_MEMBER, org=org)
    first, second = app.test_client(), app.test_client()
    login_as(first, user.email)
    login_as(second, colleague.email)
    url = f"/assessments/{assessment.id}/page/0"
    _, data_first = page_form(first, url)
    _, data_second = page_form(second, url)
    assert (
        first.post(url, data={**data_first, "q_SG1_policy": "4", "action": "next"}).status_code
        == 302
    )
    response = second.post(url, data={**data_second, "q_SG1_policy": "1", "action": "next"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else changed some answers" in html
    assert "Saved meanwhile by a colleague" in html
    assert session.exec(select(Answer)).one().value == 4  # not overwritten
    # Saving again from the conflict page (now based on the current version) keeps theirs' choice.
    versions = dict(re.findall(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"', html))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = second.post(
        url, data={"csrf_token": token, **versions, "q_SG1_policy": "1", "action": "next"}
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.exec(select(Answer)).one().value == 1


def test_submission_lists_what_is_missing_with_links(client, ngo, logged_in, csrf):
    _, user, assessment = ngo
    logged_in(user)
    token = csrf(client, f"/assessments/{assessment.id}")
    response = client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "How complete is your child safeguarding policy?" in html
    assert re.search(rf"/assessments/{assessment.id}/page/0(\?lang=en)?#q-SG1_policy", html)


def answer_everything(client, assessment):
    for page, answers in enumerate(PAGE_ANSWERS):
        url = f"/assessments/{assessment.id}/page/{page}"
        _, data = page_form(client, url)
        response = client.post(url, data={**data, **answers, "action": "next"})
        assert response.status_code == 302, response.get_data(as_text=True)


def test_a_complete_assessment_submits_and_is_scored(client, session, ngo, logged_in, csrf):
    _, user, assessment = ngo
    logged_in(user)
    answer_everything(client, assessment)
    token = csrf(client, f"/assessments/{assessment.id}")
    response = client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    assert response.status_code == 302
    assert f"/reports/assessments/{assessment.id}" in response.headers["Location"]
    session.refresh(assessment)
    assert assessment.status == Status.SUBMITTED
    overall = session.exec(select(Score).where(Score.level == "overall")).one()
    # Hand-computed: SG = mean(SG1: (66.67+100)/2, SG2: (33.33+100)/2) = 75,
    # SV = mean(SV1: (66.67+66.67)/2; SV2 N/A) = 66.67,
    # RS = mean(RS1: (33.33+0)/2, RS2: 100) = 58.33
    # overall = (2*75 + 66.67 + 58.33) / 4 = 68.75
    assert overall.score == pytest.approx(68.75, abs=1e-6)
    assert overall.band == "Developing"


def test_answers_are_read_only_after_submission(client, session, ngo, logged_in, csrf):
    _, user, assessment = ngo
    logged_in(user)
    answer_everything(client, assessment)
    token = csrf(client, f"/assessments/{assessment.id}")
    client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    url = f"/assessments/{assessment.id}/page/0"
    html = client.get(url).get_data(as_text=True)
    assert "disabled" in html
    client.post(url, data={"csrf_token": token, "q_SG1_policy": "1", "action": "next"})
    session.expire_all()
    assert session.exec(select(Answer).where(Answer.question_id == "SG1_policy")).one().value == 3


def test_another_ngo_cannot_reach_the_assessment_by_changing_the_id(
    client, ngo, make_org, make_user, logged_in
):
    _, _, assessment = ngo
    other = make_user(email="b@example.org", org=make_org(name="NGO B"))
    logged_in(other)
    for url in (
        f"/assessments/{assessment.id}",
        f"/assessments/{assessment.id}/page/0",
        f"/reports/assessments/{assessment.id}",
    ):
        assert client.get(url).status_code == 404


def test_relevance_hides_a_question_and_the_server_ignores_its_answer(
    client, session, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    _, data = page_form(client, url)
    client.post(
        url, data={**data, "q_RS2_evaluated": "no", "q_RS2_changes": "ignored", "action": "later"}
    )
    stored = services.values_of(services.answers_of(session, assessment.id))
    assert stored.get("RS2_evaluated") == "no"
    assert "RS2_changes" not in stored
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'id="q-RS2_changes"\s+data-question="RS2_changes" hidden', html)


def test_question_text_is_escaped(session, client, ngo, logged_in):
    # Answers and comments typed by people are escaped when shown back.
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(
        url,
        data={
            **data,
            "c_SG1_policy": "<script>alert(1)</script>",
            "q_SG1_policy": "2",
            "action": "later",
        },
    )
    html = client.get(url).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
