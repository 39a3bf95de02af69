"""The scorecard page of one assessment: the verified result leading, self versus verified,
strengths and weaknesses, the peer benchmark (hidden below the minimum group), the trend, and
who sees what. Numbers are checked against hand-computed values (tests/quick_check.py gives
the scoring of ANSWERS)."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import date
from pathlib import Path

import pytest
from quick_check import ANSWERS
from sqlmodel import select

from accounts import sharing
from accounts.models import AccessGrant, Role
from accounts.permissions import load_principal
from reports import figures, queries
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from rubrics.schema import parse_rubric
from surveys import answers as store
from surveys.cycles.services import assign_evaluators, open_cycle
from surveys.models import Assessment, Score, Source
from surveys.questionnaire import services
from surveys.review import services as review

QUICK_CHECK = Path(__file__).resolve().parents[2] / "rubrics" / "library" / "quick-check.yaml"


def rs_answers(level: int) -> dict:
    """ANSWERS with RS1_data at ``level``: RS1 = (level - 1) x 100/3 / 2, RS = 50 + RS1 / 2."""
    return {**ANSWERS, "RS1_data": level}


def rs_score(level: int) -> float:
    return 50 + (level - 1) * 100 / 3 / 4


def figure(html: str, element_id: str) -> dict:
    found = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert found, f"no {element_id}"
    return json.loads(found.group(1))


def submit(session, assessment, user, values):
    store.save_answers(session, assessment, values=values, base_versions={}, user=user)
    assert services.submit(session, assessment, by=user) == []


@pytest.fixture
def network(session, make_org, make_user, published_version):
    """One quick-check cycle (2026) of seven NGOs: six submitted with RS1_data at 1, 2, 2, 3,
    4, 4 (NGO A: 3), one not started; and NGO A's 2025 cycle, submitted with ANSWERS."""
    version = published_version("quick-check")
    levels = [3, 1, 2, 2, 4, 4]
    orgs = [make_org(name=f"NGO {chr(65 + i)}") for i in range(7)]
    users = [
        make_user(email=f"ngo{i}@example.org", role=Role.NGO_ADMIN, org=org)
        for i, org in enumerate(orgs)
    ]
    earlier = open_cycle(
        session,
        code="c2025",
        name="Cycle 2025",
        version=version,
        organizations=[orgs[0]],
        opens_on=date(2025, 1, 1),
    )
    cycle = open_cycle(
        session,
        code="c2026",
        name="Cycle 2026",
        version=version,
        organizations=orgs,
        opens_on=date(2026, 1, 1),
    )
    session.commit()
    by_org = {
        a.organization_id: a
        for a in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).all()
    }
    for org, user, level in zip(orgs, users, levels, strict=False):
        submit(session, by_org[org.id], user, rs_answers(level))
    old = session.exec(select(Assessment).where(Assessment.cycle_id == earlier.id)).one()
    submit(session, old, users[0], ANSWERS)
    session.commit()
    return {
        "version": version,
        "cycle": cycle,
        "earlier": earlier,
        "orgs": orgs,
        "users": users,
        "mine": by_org[orgs[0].id],
        "old": old,
    }


def page_of(session, assessment, user_id, minimum=5):
    return queries.scorecard_page(
        session,
        assessment,
        viewer=load_principal(session, user_id),
        language="en",
        peer_min_group=minimum,
    )


# --- the peer benchmark ----------------------------------------------------------------------


def test_peer_quartiles_and_percentile_rank_match_hand_computed_values(session, network):
    page = page_of(session, network["mine"], network["users"][0].id)
    assert page.peers.group == 6  # the unstarted seventh does not count
    assert page.peers.shown
    by_code = {d.code: d for d in page.peers.domains}
    rs = by_code["RS"]
    # RS over the six: 50, 58.33, 58.33, 66.67, 75, 75 (numpy's linear quantiles).
    assert rs.n == 6
    assert rs.score == pytest.approx(rs_score(3), abs=1e-4)
    assert rs.median == pytest.approx((rs_score(2) + rs_score(3)) / 2, abs=1e-4)  # 62.5
    assert rs.q1 == pytest.approx(rs_score(2), abs=1e-4)  # 58.33
    assert rs.q3 == pytest.approx(rs_score(3) + 0.75 * (rs_score(4) - rs_score(3)), abs=1e-4)
    assert rs.percentile == pytest.approx(100 * 4 / 6)  # 4 of 6 at or below 66.67
    sg = by_code["SG"]  # everyone 75: a tie reads 100
    assert (sg.q1, sg.median, sg.q3, sg.percentile) == (75, 75, 75, 100)
    overall = by_code["quick-check"]
    assert overall.median == pytest.approx((150 + 200 / 3 + 62.5) / 4, abs=1e-4)


def test_the_peer_chart_holds_only_aggregates_and_names_no_peer(
    session, client, network, logged_in
):
    html = logged_in(network["users"][0]).get(f"/reports/assessments/{network['mine'].id}")
    html = html.get_data(as_text=True)
    data = figure(html, "peer-figure")["data"]
    assert data[0]["y"] == ["Safeguarding quick check", *DOMAINS]
    rs = data[0]["y"].index("Measuring results")
    assert data[0]["base"][rs] == pytest.approx(rs_score(2), abs=1e-4)  # Q1
    assert data[1]["x"][rs] == pytest.approx(62.5, abs=1e-4)  # the median
    assert data[2]["x"][rs] == pytest.approx(rs_score(3), abs=1e-4)  # NGO A's own
    assert len(data) == 3
    assert all(len(trace["x"]) == 4 for trace in data)
    for other in network["orgs"][1:]:
        assert other.name not in html


DOMAINS = ["Child safeguarding", "Services to survivors", "Measuring results"]


def test_peer_statistics_are_hidden_below_the_minimum_group(session, client, network, logged_in):
    page = page_of(session, network["mine"], network["users"][0].id, minimum=7)
    assert not page.peers.shown
    assert all(d.median is None and d.percentile is None for d in page.peers.domains)
    client.application.config["PEER_MIN_GROUP"] = 7
    html = logged_in(network["users"][0]).get(f"/reports/assessments/{network['mine'].id}")
    html = html.get_data(as_text=True)
    assert 'id="peer-figure"' not in html
    assert "The peer comparison is hidden: this cycle has 6 submitted assessments" in html
    assert "62.5" not in html


def test_a_returned_assessment_leaves_the_peer_group(session, network):
    review.start_review(session, network["mine"], by=None)
    other = session.exec(
        select(Assessment).where(
            Assessment.cycle_id == network["cycle"].id,
            Assessment.organization_id == network["orgs"][1].id,
        )
    ).one()
    review.start_review(session, other, by=None)
    review.return_assessment(session, other, reason="Add evidence.", by=None)
    session.commit()
    page = page_of(session, network["mine"], network["users"][0].id)
    assert page.peers.group == 5
    assert {d.code: d.n for d in page.peers.domains}["RS"] == 5


# --- verified results lead -------------------------------------------------------------------

VERIFIED = {"SG1_policy": 1, "SG2_incidents": 1, "RS2_evaluated": "no"}


def verify(session, assessment, evaluator):
    review.start_review(session, assessment, by=evaluator)
    store.save_answers(
        session,
        assessment,
        values=VERIFIED,
        base_versions={},
        user=evaluator,
        source=Source.VERIFIED,
    )
    review.complete_review(session, assessment, by=evaluator)
    session.commit()


@pytest.fixture
def verified(session, make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    user = make_user(role=Role.NGO_ADMIN, org=org)
    evaluator = make_user(email="eva@example.org", role=Role.EVALUATOR, name="Zoe Quill")
    assessment = make_assessment(org=org)
    submit(session, assessment, user, ANSWERS)
    verify(session, assessment, evaluator)
    return user, assessment


def test_the_verified_score_leads_with_the_self_assessment_beside_it(
    session, client, verified, logged_in
):
    user, assessment = verified
    html = logged_in(user).get(f"/reports/assessments/{assessment.id}").get_data(as_text=True)
    # Verified: SG1 (0 + 100)/2 = 50, SG2 (33.3 + 0)/2 = 16.7, SG 33.3; SV 66.7;
    # RS1 16.7, RS2 0, RS 8.3; overall (2 x 33.3 + 66.7 + 8.3) / 4 = 35.4, "Emerging".
    headline = html[html.index('class="headline"') : html.index("<h2>")]
    assert '<span class="big">35.4</span>' in headline  # one decimal, as in the tables
    assert '<span class="band">Emerging</span>' in headline
    assert re.search(
        r'Verified</strong> on <time datetime="\d{4}-\d\d-\d\d[^"]*">'
        r"\w{3} \d{1,2}, \d{4}</time> by an evaluator",
        headline,
    )
    assert "Self-assessed: 68.8 (Developing)" in headline  # 68.75, halves up
    assert "Zoe Quill" not in html  # "an evaluator": not named
    data = figure(html, "domain-figure")["data"]
    assert [t["y"] for t in data] == [DOMAINS, DOMAINS]
    assert data[0]["x"] == pytest.approx([75, 200 / 3, 175 / 3], abs=1e-4)  # self
    assert data[1]["x"] == pytest.approx([100 / 3, 200 / 3, 25 / 3], abs=1e-4)  # verified
    assert "by the verified scores" in html  # the plan too


def test_strengths_and_weaknesses_name_indicators_with_their_level_descriptors(session, network):
    page = page_of(session, network["old"], network["users"][0].id)
    # ANSWERS: RS2 100, SG1 83.3, SG2 = SV1 66.7 (by code), RS1 16.7; SV2 not applicable.
    assert [h.code for h in page.strengths] == ["RS2", "SG1", "SG2"]
    assert [h.code for h in page.weaknesses] == ["RS1", "SV1"]
    weakest = page.weaknesses[0]
    assert weakest.score == pytest.approx(100 / 6, abs=1e-4)
    data, outcomes = weakest.answers
    assert data.answer == "2 · Developing: Records kept, own definitions."
    assert data.next_level == "Records use the network's shared definitions."
    assert outcomes.answer == "1 · Initial: No follow-up."


# --- the trend -------------------------------------------------------------------------------


def test_the_trend_has_each_cycle_in_order_with_hand_computed_scores(
    session, client, network, logged_in
):
    page = page_of(session, network["mine"], network["users"][0].id)
    assert [p.cycle for p in page.trend.points] == ["Cycle 2025", "Cycle 2026"]
    overall = [p.overall for p in page.trend.points]
    assert overall == pytest.approx([68.75, (150 + 200 / 3 + rs_score(3)) / 4], abs=1e-4)
    html = logged_in(network["users"][0]).get(f"/reports/assessments/{network['mine'].id}")
    data = figure(html.get_data(as_text=True), "trend-figure")["data"]
    assert [t["name"] for t in data] == ["Overall", *DOMAINS]
    assert data[3]["y"] == pytest.approx([175 / 3, rs_score(3)], abs=1e-4)


def test_the_trend_compares_under_a_newer_version_and_says_so(session, client, network, logged_in):
    data = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    data["domains"][2]["label"]["en"] = "Results and learning"
    newer = rubric_services.store_rubric(session, parse_rubric(data))
    rubric_services.publish(session, newer)  # rescoring the earlier cycles under it
    cycle = open_cycle(
        session,
        code="c2027",
        name="Cycle 2027",
        version=newer,
        organizations=[network["orgs"][0]],
        opens_on=date(2027, 1, 1),
    )
    session.commit()
    latest = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
    submit(session, latest, network["users"][0], ANSWERS)
    session.commit()
    page = page_of(session, latest, network["users"][0].id)
    assert page.trend.version == 2
    assert [(p.cycle, p.version, p.rescored) for p in page.trend.points] == [
        ("Cycle 2025", 2, True),
        ("Cycle 2026", 2, True),
        ("Cycle 2027", 2, False),
    ]
    assert page.trend.points[0].overall == pytest.approx(68.75)
    html = logged_in(network["users"][0]).get(f"/reports/assessments/{latest.id}")
    fig = figure(html.get_data(as_text=True), "trend-figure")
    note = fig["layout"]["annotations"][0]["text"]
    assert "rubric version 2" in note
    assert "Rescored under it: Cycle 2025, Cycle 2026" in note
    assert fig["data"][3]["name"] == "Results and learning"


# --- not applicable and too little data, on the chart -------------------------------------------


def test_a_domain_without_a_score_says_why_on_the_chart(session, client, network, logged_in):
    row = session.exec(
        select(Score).where(
            Score.assessment_id == network["mine"].id, Score.level == "domain", Score.code == "SV"
        )
    ).one()
    row.score, row.reason = None, "not applicable"
    session.add(row)
    session.commit()
    html = logged_in(network["users"][0]).get(f"/reports/assessments/{network['mine'].id}")
    html = html.get_data(as_text=True)
    annotations = figure(html, "domain-figure")["layout"]["annotations"]
    assert [(a["y"], a["text"]) for a in annotations] == [
        ("Services to survivors", "not applicable")
    ]


def test_missing_domain_annotations_are_escaped():
    fig = figures.self_and_verified_bars(["<b>x</b>"], [None], [None], ["<i>why</i>"])
    text = figures.to_json(fig)
    assert "<" not in text
    assert json.loads(text)["layout"]["annotations"][0]["text"] == "&lt;i&gt;why&lt;/i&gt;"


# --- who sees what ----------------------------------------------------------------------------


def test_visibility_by_changing_ids(app, session, network, make_org, make_user, login_as):
    mine, old = network["mine"], network["old"]

    def client_of(user):
        client = app.test_client()
        login_as(client, user.email)
        return client

    # Another NGO: NGO A's scorecards are not found.
    client = client_of(network["users"][1])
    assert client.get(f"/reports/assessments/{mine.id}").status_code == 404
    assert client.get(f"/reports/assessments/{old.id}").status_code == 404
    # A funder without a grant, then with a grant to 2026 only, then revoked.
    fund = make_org(name="Fund", kind="funder")
    funder = make_user(email="f@example.org", role=Role.FUNDER, org=fund)
    client = client_of(funder)
    assert client.get(f"/reports/assessments/{mine.id}").status_code == 404
    grant = sharing.grant(
        session, ngo=network["orgs"][0], funder=fund, cycles=[network["cycle"].id], by=None
    )
    session.commit()
    response = client.get(f"/reports/assessments/{mine.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="trend-figure"' not in html  # 2025 is not shared: no trend
    assert "Cycle 2025" not in html
    assert client.get(f"/reports/assessments/{old.id}").status_code == 404
    page = page_of(session, mine, funder.id)
    assert [p.cycle for p in page.trend.points] == ["Cycle 2026"]
    sharing.revoke(session, ngo=network["orgs"][0], grant_id=grant.id, by=None)
    session.commit()
    assert session.get(AccessGrant, grant.id).revoked_at is not None
    assert client.get(f"/reports/assessments/{mine.id}").status_code == 404
    with pytest.raises(PermissionError):
        page_of(session, mine, funder.id)
    revoked = load_principal(session, funder.id)  # and every scoped select holds nothing
    rubric = page_of(session, mine, network["users"][0].id).rubric
    assert queries.trend(session, mine, rubric, "en", viewer=revoked).points == []
    version_id = network["version"].id
    card = queries.scorecard(session, mine.id, version_id, rubric, "en", viewer=revoked)
    assert card.overall is None
    assert card.domains == []
    # An evaluator not assigned to the cycle, then assigned to 2026 only.
    evaluator = make_user(email="eva@example.org", role=Role.EVALUATOR, name="Eva")
    client = client_of(evaluator)
    assert client.get(f"/reports/assessments/{mine.id}").status_code == 404
    assign_evaluators(session, network["cycle"], [evaluator])
    session.commit()
    assert client.get(f"/reports/assessments/{mine.id}").status_code == 200
    assert client.get(f"/reports/assessments/{old.id}").status_code == 404


# --- escaping and Greek -----------------------------------------------------------------------


def test_the_scorecard_is_in_greek(session, client, network, logged_in):
    spec = importlib.util.spec_from_file_location(
        "translations_check",
        Path(__file__).resolve().parents[1] / "rubrics" / "test_translations.py",
    )
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    logged_in(network["users"][0])
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "el"
    html = client.get(f"/reports/assessments/{network['mine'].id}").get_data(as_text=True)
    left = check.english_left(html, allowed=("NGO ", "Cycle 20"))
    assert left == []
    assert "Σύγκριση" in html or "ομότιμ" in html


EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def test_hostile_rubric_and_cycle_text_is_escaped_in_every_chart_and_table(
    session, client, make_org, make_user, logged_in
):
    data = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    data["id"] = "evil-check"
    data["title"] = {"en": f"Title {EVIL}"}
    data["domains"][2]["label"] = {"en": f"Domain {EVIL}"}
    data["domains"][2]["indicators"][0]["label"] = {"en": f"Indicator {EVIL}"}
    data["domains"][2]["indicators"][0]["questions"][0]["levels"][2]["descriptor"] = {
        "en": f"Level {EVIL}"
    }
    version = rubric_services.store_rubric(session, parse_rubric(data))
    rubric_services.publish(session, version)
    orgs = [make_org(name=f"NGO {i} {EVIL}") for i in range(5)]
    users = [
        make_user(email=f"n{i}@example.org", role=Role.NGO_ADMIN, org=org)
        for i, org in enumerate(orgs)
    ]
    cycles = [
        open_cycle(
            session,
            code=f"evil-{year}",
            name=f"{year} {EVIL}",
            version=version,
            organizations=orgs,
            opens_on=date(year, 1, 1),
        )
        for year in (2025, 2026)
    ]
    session.commit()
    for cycle in cycles:
        for org, user in zip(orgs, users, strict=True):
            found = session.exec(
                select(Assessment).where(
                    Assessment.cycle_id == cycle.id, Assessment.organization_id == org.id
                )
            ).one()
            submit(session, found, user, ANSWERS)
    session.commit()
    mine = session.exec(
        select(Assessment).where(
            Assessment.cycle_id == cycles[1].id, Assessment.organization_id == orgs[0].id
        )
    ).one()
    html = logged_in(users[0]).get(f"/reports/assessments/{mine.id}").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "Level &lt;script&gt;" in html  # RS1_data answered 2: its next level, escaped
    for element_id in ("domain-figure", "peer-figure", "trend-figure"):
        raw = re.search(
            rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
        ).group(1)
        assert "<" not in raw
        assert EVIL not in json.dumps(figure(html, element_id)["layout"])  # escaped notes
    trend = figure(html, "trend-figure")
    # the categories are the axis' tick labels: entities, which plotly shows as typed (issue 13)
    shown = EVIL.replace("<", "&lt;").replace(">", "&gt;")
    assert trend["data"][0]["x"] == [f"2025 {shown}", f"2026 {shown}"]
    assert all("<script>" not in text for text in trend["data"][0]["hovertext"])
