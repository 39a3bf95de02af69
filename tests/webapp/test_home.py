"""Home pages are work queues: each role finds its next task first."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from surveys.cycles import services as cycles
from surveys.models import Assessment, Status
from tests.surveys.test_questionnaire import PAGE_ANSWERS, answer_everything, page_form


@pytest.fixture
def ngo(make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org)
    return org, user, make_assessment(org=org)


def home(client, **query):
    response = client.get("/", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_ngo_is_told_its_one_next_step_and_its_sections(client, ngo, logged_in, csrf):
    _, user, assessment = ngo
    logged_in(user)
    html = home(client)
    assert f'href="/assessments/{assessment.id}/resume">Start</a>' in html
    assert "0 of 3 sections complete" in html
    assert "Improvement plan" not in html  # no score yet, nothing to plan from

    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(url, data={**data, **PAGE_ANSWERS[0], "action": "later"})
    html = home(client)
    assert "1 of 3 sections complete" in html
    assert re.search(
        rf'href="/assessments/{assessment.id}/page/1">Continue at section 2: [^<]+</a>', html
    )

    answer_everything(client, assessment)
    html = home(client)
    assert "3 of 3 sections complete" in html
    assert f'href="/assessments/{assessment.id}/answers">Review the answers and submit</a>' in html

    token = csrf(client, f"/assessments/{assessment.id}/submit")
    client.post(f"/assessments/{assessment.id}/submit", data={"csrf_token": token})
    html = home(client)
    assert f'href="/reports/assessments/{assessment.id}">See the scorecard</a>' in html
    assert f'href="/assessments/{assessment.id}/plan"' in html


@pytest.fixture
def network(session, make_org, make_user, published_version):
    """Two cycles: the evaluator is assigned to the first only. In each, one NGO submitted and
    one has not started; the first cycle closed yesterday, so its unstarted NGO is overdue."""
    version = published_version("quick-check")
    orgs = [make_org(name=name) for name in ("Alpha", "Beta", "Gamma", "Delta")]
    evaluator = make_user(email="eva@example.org", role=Role.EVALUATOR)
    newcomer = make_user(email="new@example.org", role=Role.EVALUATOR)
    admin = make_user(email="root@example.org", role=Role.ADMIN)
    yesterday = date.today() - timedelta(days=1)
    mine = cycles.open_cycle(
        session,
        code="c1",
        name="Mine",
        version=version,
        organizations=orgs[:2],
        closes_on=yesterday,
    )
    cycles.open_cycle(
        session,
        code="c2",
        name="Other",
        version=version,
        organizations=orgs[2:],
        closes_on=yesterday,
    )
    cycles.assign_evaluators(session, mine, [evaluator])
    session.commit()
    by_org = {a.organization_id: a for a in session.execute(sa.select(Assessment)).scalars().all()}
    for org in (orgs[0], orgs[2]):  # Alpha (mine) and Gamma (other) have submitted
        assessment = by_org[org.id]
        assessment.status = Status.SUBMITTED
        assessment.submitted_at = sa.func.now()
        session.add(assessment)
    session.commit()
    return {
        "evaluator": evaluator,
        "newcomer": newcomer,
        "admin": admin,
        "orgs": orgs,
        "assessments": by_org,
    }


def section(html, heading_id):
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_an_assigned_evaluator_sees_exactly_the_submissions_of_their_cycles_first(
    client, network, logged_in
):
    logged_in(network["evaluator"])
    html = home(client)
    assert html.index("queue-heading") < html.index("all-heading")
    queue = section(html, "queue-heading")
    assert "Waiting for your review (1)" in queue
    assert "Alpha" in queue
    assert "Gamma" not in queue  # another cycle's submission
    alpha = network["assessments"][network["orgs"][0].id]
    assert f"/assessments/{alpha.id}/review" in queue
    overdue = section(html, "overdue-heading")
    assert "Overdue (1)" in overdue
    assert "Beta" in overdue
    assert "Delta" not in overdue
    # No link in the page leads to a review the evaluator may not do.
    gamma = network["assessments"][network["orgs"][2].id]
    assert f"/assessments/{gamma.id}" not in html


def test_a_new_evaluator_without_cycles_is_told_so_and_sees_no_dead_links(
    client, network, logged_in
):
    logged_in(network["newcomer"])
    html = home(client)
    assert "You are not assigned to any assessment cycle yet." in html
    assert "/review" not in html
    assert "Overdue" not in html
    for assessment in network["assessments"].values():
        assert f"/assessments/{assessment.id}" not in html


def test_an_admin_sees_every_waiting_submission_and_filters_the_rest_by_status(
    client, network, logged_in
):
    logged_in(network["admin"])
    html = home(client)
    queue = section(html, "queue-heading")
    assert "Waiting for your review (2)" in queue
    assert "Alpha" in queue
    assert "Gamma" in queue
    everything = section(home(client, status="not_started"), "all-heading")
    assert "Beta" in everything
    assert "Delta" in everything
    assert "Alpha" not in everything
    assert 'value="not_started" selected' in everything
    # An unknown status is ignored, not an error.
    assert "Alpha" in section(home(client, status="<script>"), "all-heading")


def test_the_home_page_is_translated(client, network, logged_in):
    logged_in(network["evaluator"])
    html = home(client, lang="el")
    assert "Περιμένουν τον έλεγχό σας (1)" in html


def test_the_navigation_marks_the_current_language_and_leads_evaluators_to_their_reviews(
    client, network, logged_in
):
    logged_in(network["evaluator"])
    html = home(client, lang="el")
    assert re.search(r'value="el" class="link current" lang="el" aria-current="true"', html)
    assert 'value="en" class="link" lang="en">' in html
    assert 'href="/#review-queue"' in html
