"""Text from rubric authors and NGOs is escaped wherever it is shown (pages and chart data)."""

from __future__ import annotations

import json
import re

import pytest
from quick_check import ANSWERS

from accounts.models import Role
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from rubrics.schema import parse_rubric
from surveys import answers as store
from surveys.cycles.services import open_cycle
from surveys.questionnaire import services

EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def evil_assessment(session, make_org, make_user, make_assessment):
    data = load_rubric("rubrics/library/quick-check.yaml").model_dump(
        mode="json", exclude_none=True
    )
    data["id"] = "evil-check"
    data["domains"][0]["label"] = {"en": f"Domain {EVIL}"}
    data["domains"][0]["indicators"][0]["questions"][0]["label"] = {"en": f"Question {EVIL}"}
    data["domains"][0]["indicators"][0]["questions"][1]["options"][0]["label"] = {"en": EVIL}
    version = rubric_services.store_rubric(session, parse_rubric(data))
    rubric_services.publish(session, version)
    org = make_org(name=f"NGO {EVIL}")
    user = make_user(role=Role.NGO_ADMIN, org=org)
    cycle = open_cycle(
        session, code="evil", name=f"Cycle {EVIL}", version=version, organizations=[org]
    )
    session.commit()
    from sqlmodel import select

    from surveys.models import Assessment

    assessment = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
    return user, assessment


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html or "\\u003cscript\\u003e" in html


def test_rubric_and_organisation_text_is_escaped_in_the_questionnaire(
    client, evil_assessment, logged_in
):
    user, assessment = evil_assessment
    logged_in(user)
    for url in ("/", f"/assessments/{assessment.id}", f"/assessments/{assessment.id}/page/0"):
        assert_escaped(client.get(url).get_data(as_text=True))


def test_rubric_text_is_escaped_on_the_scorecard_and_in_the_chart_data(
    session, client, evil_assessment, logged_in
):
    user, assessment = evil_assessment
    store.save_answers(session, assessment, values=ANSWERS, base_versions={}, user=user)
    assert services.submit(session, assessment, by=user) == []
    session.commit()
    logged_in(user)
    html = client.get(f"/reports/assessments/{assessment.id}").get_data(as_text=True)
    assert_escaped(html)
    figure = re.search(
        r'<script type="application/json" id="domain-figure">(.*?)</script>', html, re.S
    ).group(1)
    # Plotly draws a text's markup: the chart's data carries it as entities, shown as typed.
    labels = json.loads(figure)["data"][0]["y"]
    assert f"Domain {EVIL}".replace("<", "&lt;").replace(">", "&gt;") in labels
    assert not any("<script" in label or "<img" in label for label in labels)


def test_rubric_text_is_escaped_in_the_editor_and_the_preview(
    client, evil_assessment, make_user, logged_in
):
    _, assessment = evil_assessment
    evaluator = make_user(email="ev@example.org", role=Role.EVALUATOR)
    logged_in(evaluator)
    for url in (
        "/rubrics/",
        "/rubrics/evil-check/1",
        "/rubrics/evil-check/1/edit/domain/0",
        "/assessments/preview/1/page/0",
        f"/assessments/cycles/{assessment.cycle_id}",
    ):
        response = client.get(url)
        assert response.status_code in (200, 409), url  # 409: published, not editable
        assert "<script>alert" not in response.get_data(as_text=True), url
