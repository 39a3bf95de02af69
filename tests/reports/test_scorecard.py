"""The scorecard: overall, domains, and a chart drawn from JSON data (no inline script)."""

from __future__ import annotations

import json
import re

from quick_check import ANSWERS

from accounts.models import Role
from accounts.services import grant_access
from surveys import answers as store
from surveys.questionnaire import services


def submitted(session, make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    user = make_user(role=Role.NGO_ADMIN, org=org)
    assessment = make_assessment(org=org)
    store.save_answers(session, assessment, values=ANSWERS, base_versions={}, user=user)
    assert services.submit(session, assessment, by=user) == []
    session.commit()
    return org, user, assessment


def test_scorecard_shows_overall_domains_and_a_chart(
    session, client, make_org, make_user, make_assessment, logged_in
):
    _, user, assessment = submitted(session, make_org, make_user, make_assessment)
    logged_in(user)
    response = client.get(f"/reports/assessments/{assessment.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert ">68.8<" in html  # 68.75, one decimal, halves up
    assert "Developing" in html
    assert "Child safeguarding" in html
    assert "/reports/vendor/plotly.min.js" in html
    assert "cdn" not in html.lower()
    figure = re.search(
        r'<script type="application/json" id="domain-figure">(.*?)</script>', html, re.S
    ).group(1)
    data = json.loads(figure)
    assert data["data"][0]["y"] == [
        "Child safeguarding",
        "Services to survivors",
        "Measuring results",
    ]
    assert re.search(r"<script>(?!</script>)", html) is None  # no inline script


def test_a_funder_with_a_grant_sees_the_scorecard_and_others_do_not(
    session, client, make_org, make_user, make_assessment, logged_in
):
    org, _, assessment = submitted(session, make_org, make_user, make_assessment)
    funder_org = make_org(name="Fund", kind="funder")
    funder = make_user(email="f@example.org", role=Role.FUNDER, org=funder_org)
    logged_in(funder)
    assert client.get(f"/reports/assessments/{assessment.id}").status_code == 404
    grant_access(session, ngo=org, funder=funder_org, by=None)
    session.commit()
    assert client.get(f"/reports/assessments/{assessment.id}").status_code == 200


def test_chart_labels_cannot_close_the_script_element():
    from reports.figures import domain_bars, to_json

    text = to_json(domain_bars(["</script><script>alert(1)</script>"], [50.0], [1.0]))
    assert "</script>" not in text
    # plotly draws the entities as the characters themselves: the label reads as typed
    assert json.loads(text)["data"][0]["y"] == [
        "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    ]


def test_a_funder_home_lists_only_the_ngos_that_granted_access(
    session, client, make_org, make_user, make_assessment, logged_in
):
    granting, _, _ = submitted(session, make_org, make_user, make_assessment)
    other = make_org(name="Not Sharing NGO")
    make_assessment(org=other)
    funder_org = make_org(name="Fund", kind="funder")
    grant_access(session, ngo=granting, funder=funder_org, by=None)
    session.commit()
    funder = make_user(email="f@example.org", role=Role.FUNDER, org=funder_org)
    html = logged_in(funder).get("/").get_data(as_text=True)
    assert "Shared with your organisation" in html
    assert "Hope and Home" in html
    assert "Not Sharing NGO" not in html
