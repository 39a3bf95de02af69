"""The comparative dashboard: its numbers checked by hand, and what each viewer sees of it.

Scores are stored rows (what the dashboard reads), written here directly so every number is
known: quick-check's domains SG (weight 2), SV and RS (weight 1 each).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from sqlmodel import select

from accounts.models import AccessGrant, Role, utcnow
from accounts.permissions import load_principal
from accounts.services import grant_access
from reports import dashboard, figures, queries
from surveys.cycles.services import create_cycle
from surveys.models import Assessment, Score, Source, Status

DOMAINS = ["SG", "SV", "RS"]
EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def store_scores(session, assessment, domains, *, source=Source.SELF, overall=None):
    """Domain scores (None: no score) and the overall one (by default the weighted mean)."""
    weights = np.array([2.0, 1.0, 1.0])
    values = np.array([np.nan if v is None else v for v in domains])
    if overall is None:
        have = ~np.isnan(values)
        overall = float((values[have] * weights[have]).sum() / weights[have].sum())
    for code, value in zip(DOMAINS, domains, strict=True):
        session.add(
            Score(
                assessment_id=assessment.id,
                rubric_version_id=assessment_version(session, assessment),
                source=source,
                level="domain",
                code=code,
                score=value,
            )
        )
    session.add(
        Score(
            assessment_id=assessment.id,
            rubric_version_id=assessment_version(session, assessment),
            source=source,
            level="overall",
            code="quick-check",
            score=overall,
        )
    )


def assessment_version(session, assessment) -> int:
    from surveys.models import AssessmentCycle

    return session.get(AssessmentCycle, assessment.cycle_id).rubric_version_id


@pytest.fixture
def network(session, make_org, make_user, published_version) -> dict[str, Any]:
    """Four NGOs in one cycle (three scored, one not started), a second cycle of one NGO, two
    funders (one with grants from A and B), an assigned and an unassigned evaluator, an admin."""
    version = published_version("quick-check")
    a = make_org(name="NGO A", country="AL")
    b = make_org(name="NGO B", country="AL")
    c = make_org(name="NGO C", country="RS")
    d = make_org(name="NGO D", country="RS")
    a.org_type, b.org_type, c.org_type = "shelter", "advocacy", "shelter"
    a.focus_areas, b.focus_areas, c.focus_areas = ["trafficking"], ["legal_aid"], ["trafficking"]
    fund = make_org(name="Fund", kind="funder")
    other_fund = make_org(name="Other fund", kind="funder")
    people = {
        "member": make_user(email="m@example.org", role=Role.NGO_MEMBER, org=a),
        "funder": make_user(email="f@example.org", role=Role.FUNDER, org=fund),
        "other_funder": make_user(email="g@example.org", role=Role.FUNDER, org=other_fund),
        "evaluator": make_user(email="e@example.org", role=Role.EVALUATOR),
        "unassigned": make_user(email="u@example.org", role=Role.EVALUATOR),
        "admin": make_user(email="root@example.org", role=Role.ADMIN),
    }
    cycle = create_cycle(
        session, code="c-2026", name="Cycle 2026", version=version,
        organizations=[a, b, c, d], opens_on=None, closes_on=None,
        evaluators=[people["evaluator"]], by=None,
    )  # fmt: skip
    other_cycle = create_cycle(
        session, code="c-other", name="Other cycle", version=version,
        organizations=[d], opens_on=None, closes_on=None,
        evaluators=[people["unassigned"]], by=None,
    )  # fmt: skip
    by_org = {
        row.organization_id: row
        for row in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id))
    }
    ass = {name: by_org[org.id] for name, org in {"a": a, "b": b, "c": c, "d": d}.items()}
    ass["a"].status = Status.VERIFIED
    ass["b"].status = Status.SUBMITTED
    ass["c"].status = Status.SUBMITTED
    store_scores(session, ass["a"], [80.0, 60.0, 40.0])  # overall 65
    store_scores(session, ass["a"], [70.0, 50.0, 30.0], source=Source.VERIFIED)  # 55
    store_scores(session, ass["b"], [40.0, None, 70.0])  # overall 50
    store_scores(session, ass["c"], [20.0, 30.0, 50.0])  # overall 30
    other = session.exec(select(Assessment).where(Assessment.cycle_id == other_cycle.id)).one()
    other.status = Status.SUBMITTED
    store_scores(session, other, [90.0, 90.0, 90.0])
    grant_access(session, ngo=a, funder=fund, by=None)
    grant_access(session, ngo=b, funder=fund, by=None)
    session.commit()
    return {
        **people, **ass, "other": other, "cycle": cycle, "other_cycle": other_cycle,
        "version": version, "orgs": {"a": a, "b": b, "c": c, "d": d},
    }  # fmt: skip


def filters_for(world, **changes) -> queries.DashboardFilters:
    base = {"cycle_id": world["cycle"].id, "version_id": world["version"].id}
    return queries.DashboardFilters(**{**base, **changes})


def scores(session, world, who="admin", **changes) -> queries.DashboardData:
    viewer = load_principal(session, world[who].id)
    return queries.dashboard_scores(session, filters_for(world, **changes), DOMAINS, viewer=viewer)


# --- queries and numbers ------------------------------------------------------------------------


def test_scores_are_pivoted_one_row_per_assessment_one_column_per_domain(session, network):
    data = scores(session, network)
    assert data.assessment_ids.tolist() == sorted(network[k].id for k in "abc")
    assert data.names == ["NGO A", "NGO B", "NGO C"]
    assert data.countries == ["AL", "AL", "RS"]
    np.testing.assert_array_equal(
        data.domain_scores, [[80, 60, 40], [40, np.nan, 70], [20, 30, 50]]
    )
    np.testing.assert_allclose(data.overall, [65, 50, 30])


def test_verified_scores_and_each_filter(session, network):
    verified = scores(session, network, source=Source.VERIFIED)
    assert verified.names == ["NGO A"]
    np.testing.assert_allclose(verified.overall, [55])
    assert scores(session, network, status="verified").names == ["NGO A"]
    assert scores(session, network, status="submitted").names == ["NGO B", "NGO C"]
    assert scores(session, network, country="RS").names == ["NGO C"]
    assert scores(session, network, org_type="shelter").names == ["NGO A", "NGO C"]
    assert scores(session, network, focus_area="legal_aid").names == ["NGO B"]
    assert scores(session, network, country="GR").size == 0
    assert scores(session, network, cycle_id=network["other_cycle"].id).names == ["NGO D"]


def test_a_funder_sees_only_the_ngos_that_granted_it_access(session, network):
    assert scores(session, network, "funder").names == ["NGO A", "NGO B"]
    assert scores(session, network, "other_funder").size == 0
    # An attacker's filter values: the cycle of NGO D only, or NGO C's country.
    assert scores(session, network, "funder", cycle_id=network["other_cycle"].id).size == 0
    assert scores(session, network, "funder", country="RS").size == 0


def test_a_revoked_grant_takes_the_ngo_off_the_dashboard_at_once(session, network):
    grant = session.exec(
        select(AccessGrant).where(AccessGrant.ngo_id == network["orgs"]["b"].id)
    ).one()
    grant.revoked_at = utcnow()
    session.commit()
    assert scores(session, network, "funder").names == ["NGO A"]


def test_evaluators_see_their_cycles_only(session, network):
    assert scores(session, network, "evaluator").names == ["NGO A", "NGO B", "NGO C"]
    assert scores(session, network, "unassigned").size == 0
    other = network["other_cycle"].id
    assert scores(session, network, "unassigned", cycle_id=other).names == ["NGO D"]


def test_self_and_verified_pairs_come_from_one_group_by(session, network):
    viewer = load_principal(session, network["admin"].id)
    pairs = queries.self_and_verified(session, filters_for(network), viewer=viewer)
    assert pairs.names == ["NGO A"]
    assert pairs.self_scores.tolist() == [65.0]
    assert pairs.verified_scores.tolist() == [55.0]
    funder = load_principal(session, network["other_funder"].id)
    assert queries.self_and_verified(session, filters_for(network), viewer=funder).names == []


def test_the_filter_options_hold_only_what_the_viewer_sees(session, network):
    funder = queries.dashboard_options(
        session, viewer=load_principal(session, network["funder"].id)
    )
    assert [c[0] for c in funder.cycles] == [network["cycle"].id]
    assert funder.countries == ["AL"]
    assert funder.org_types == ["advocacy", "shelter"]
    nobody = load_principal(session, network["other_funder"].id)
    empty = queries.dashboard_options(session, viewer=nobody)
    assert empty.cycles == empty.versions == empty.countries == []


def test_box_statistics_are_the_quartiles_of_each_country(session, network):
    groups = dashboard.box_stats(scores(session, network))
    assert [g.country for g in groups] == ["Albania", "Serbia"]
    albania = groups[0]
    # SG: 80 and 40 -> quartiles (linear) 50, 60, 70; SV: 60 only; RS: 40 and 70.
    assert albania.n == [2, 1, 2]
    assert albania.minimum == [40.0, 60.0, 40.0]
    assert albania.q1 == [50.0, 60.0, 47.5]
    assert albania.median == [60.0, 60.0, 55.0]
    assert albania.q3 == [70.0, 60.0, 62.5]
    assert albania.maximum == [80.0, 60.0, 70.0]


def test_the_ranking_follows_the_weighted_domain_scores(session, network):
    data = scores(session, network)
    ranking = dashboard.rank_rows(data, [2.0, 1.0, 1.0])
    # Weighted means: A 65, B (SV missing) (80 + 70) / 3 = 50, C 30.
    assert ranking.ranked
    assert ranking.rank.tolist() == [1.0, 2.0, 3.0]
    assert [data.names[i] for i in ranking.order] == ["NGO A", "NGO B", "NGO C"]
    assert (ranking.low <= ranking.rank).all()
    assert (ranking.rank <= ranking.high).all()
    # A leads B by 15 points on every weighting near the published one: its rank never moves.
    assert ranking.low[0] == ranking.high[0] == 1.0


def test_one_ngo_is_not_ranked(session, network):
    data = scores(session, network, country="RS")
    ranking = dashboard.rank_rows(data, [2.0, 1.0, 1.0])
    assert not ranking.ranked
    assert np.isnan(ranking.rank).all()


# --- figures ------------------------------------------------------------------------------------


def plain(fig) -> dict:
    """A figure as plotly.js receives it (the JSON the page embeds)."""
    return json.loads(figures.to_json(fig))


def test_heatmap_cells_carry_scores_and_scorecard_links():
    fig = figures.score_heatmap(
        ["NGO A", "NGO B"], ["SG", "SV"], [[80.0, 60.0], [40.0, float("nan")]], ["/a", "/b"]
    )
    found = plain(fig)
    trace = found["data"][0]
    assert trace["z"] == [[80.0, 60.0], [40.0, None]]
    assert trace["customdata"] == [["/a", "/a"], ["/b", "/b"]]
    assert found["layout"]["yaxis"]["ticktext"] == ["NGO A", "NGO B"]


def test_rank_intervals_draw_the_rank_and_its_ends():
    fig = figures.rank_intervals(["A", "B"], [1.0, 2.0], [1.0, 1.0], [2.0, 3.0], ["/a", "/b"])
    trace = plain(fig)["data"][0]
    assert trace["x"] == [1.0, 2.0]
    assert trace["error_x"]["array"] == [1.0, 1.0]
    assert trace["error_x"]["arrayminus"] == [0.0, 1.0]
    assert trace["customdata"] == ["/a", "/b"]
    assert plain(fig)["layout"]["xaxis"]["title"] == {"text": "rank (1 = highest score)"}


def test_boxes_use_the_computed_quartiles():
    group = figures.BoxStats("Albania", [2], [40.0], [50.0], [60.0], [70.0], [80.0])
    box = plain(figures.domain_boxes(["SG"], [group]))["data"][0]
    assert (box["lowerfence"], box["q1"], box["median"], box["q3"], box["upperfence"]) == (
        [40.0], [50.0], [60.0], [70.0], [80.0],
    )  # fmt: skip
    assert box["name"] == "Albania"


def test_self_verified_scatter_points_link_to_scorecards():
    points = plain(figures.self_verified_scatter(["A"], [65.0], [55.0], ["/a"]))["data"][1]
    assert points["x"] == [65.0]
    assert points["y"] == [55.0]
    assert points["customdata"] == ["/a"]


def test_the_dashboard_figures_are_valid_plotly_figures():
    """Built as plain dicts for speed: plotly's own validation accepts every one of them."""
    import plotly.graph_objects as go

    group = figures.BoxStats("Albania", [2], [40.0], [50.0], [60.0], [70.0], [80.0])
    for fig in (
        figures.score_heatmap(["A"], ["SG"], [[float("nan")]], ["/a"]),
        figures.rank_intervals(["A"], [1.0], [1.0], [2.0], ["/a"]),
        figures.domain_boxes(["SG"], [group]),
        figures.self_verified_scatter(["A"], [65.0], [55.0], ["/a"]),
        figures.cohort_boxes(["SG"], [("2025 (2 NGOs)", group)], note="a note"),
        figures.trend_panels(
            ["2025", "2026"],
            [("Overall", [50.0, None]), ("SG", [1.0, 2.0])],
            notes=[[None, "n/a"], [None, None]],
            verified=[True, False],
            note="a note",
        ),
    ):
        go.Figure(plain(fig))  # raises on any invalid property


def test_hostile_names_are_escaped_in_every_chart():
    heat = figures.to_json(figures.score_heatmap([EVIL], ["SG"], [[1.0]], ["/a"]))
    rank = figures.to_json(figures.rank_intervals([EVIL], [1.0], [1.0], [1.0], ["/a"]))
    for text in (heat, rank):
        assert "<script" not in text
        assert "\\u003cscript" not in text  # escaped as an entity before JSON, not raw
        assert "&lt;script&gt;" in json.loads(text)["layout"]["yaxis"]["ticktext"][0]


# --- the page, for each viewer ----------------------------------------------------------------


def page(client, **args) -> tuple[int, str]:
    response = client.get("/reports/dashboard", query_string=args)
    return response.status_code, response.get_data(as_text=True)


def test_an_ngo_member_may_not_open_the_dashboard(client, network, logged_in):
    logged_in(network["member"])
    assert page(client)[0] == 403


def test_the_funder_sees_its_granting_ngos_with_charts_and_links(client, network, logged_in):
    logged_in(network["funder"])
    status, html = page(client)
    assert status == 200
    assert "NGO A" in html
    assert "NGO B" in html
    assert "NGO C" not in html
    assert "NGO D" not in html
    assert f'href="/reports/assessments/{network["a"].id}"' in html
    for key in ("heatmap", "ranking", "boxes", "scatter"):
        assert f'id="{key}-figure"' in html
    assert "overlap" in html  # the sentence on what the intervals mean
    assert re.search(r"<script>(?!</script>)", html) is None  # no inline script
    assert 'href="/reports/dashboard"' in html  # the navigation links to it


def test_filters_are_in_the_url_and_a_filter_with_no_match_says_so(client, network, logged_in):
    logged_in(network["funder"])
    status, html = page(client, country="AL", type="advocacy")
    assert status == 200
    assert "NGO B" in html
    assert "NGO A</a>" not in html
    assert page(client, country="RS")[1].count("No NGO matches these filters") == 1
    # Another cycle's id, or a rubric version's, outside the funder's reach: nothing.
    other = page(client, cycle=network["other_cycle"].id)[1]
    assert "No NGO matches these filters" in other
    assert "NGO D" not in other
    assert "No NGO matches" in page(client, version=999)[1]


def test_a_funder_without_a_grant_sees_no_ngo_even_with_a_real_cycle_id(client, network, logged_in):
    logged_in(network["other_funder"])
    status, html = page(client, cycle=network["cycle"].id)
    assert status == 200
    assert "NGO A" not in html
    assert "No NGO shares its results with you yet" in html
    assert "Cycle 2026" not in html  # not even offered as a filter


def test_an_unassigned_evaluator_sees_only_their_cycle(client, network, logged_in):
    logged_in(network["unassigned"])
    html = page(client)[1]
    assert "NGO D" in html
    html = page(client, cycle=network["cycle"].id)[1]
    assert "NGO A" not in html
    assert "No NGO matches these filters" in html


def test_the_admin_sees_every_ngo(client, network, logged_in):
    logged_in(network["admin"])
    html = page(client, cycle=network["cycle"].id)[1]
    for name in ("NGO A", "NGO B", "NGO C"):
        assert name in html


def test_the_tables_page_fifty_rows_at_a_time(session, client, network, logged_in, make_org):
    extra = [make_org(name=f"Extra {i:02d}", country="GR") for i in range(55)]
    cycle = create_cycle(
        session, code="big", name="Big cycle", version=network["version"], organizations=extra,
        opens_on=None, closes_on=None, by=None,
    )  # fmt: skip
    for i, row in enumerate(
        session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id))
    ):
        row.status = Status.SUBMITTED
        store_scores(session, row, [float(i), 50.0, 50.0])
    session.commit()
    logged_in(network["admin"])
    first = page(client, cycle=cycle.id)[1]
    assert first.count('href="/reports/assessments/') == 50
    assert "Page 1 of 2" in first
    assert f"/reports/dashboard?page=2&amp;cycle={cycle.id}" in first
    second = page(client, cycle=cycle.id, page=2)[1]
    assert second.count('href="/reports/assessments/') == 5
    assert "Page 2 of 2" in second
    assert page(client, cycle=cycle.id, page=99)[1].count("Page 2 of 2") == 1


def test_hostile_organisation_names_are_escaped_on_the_page(session, client, network, logged_in):
    network["orgs"]["a"].name = f"NGO {EVIL}"
    session.commit()
    logged_in(network["funder"])
    html = page(client)[1]
    assert EVIL not in html
    assert "&lt;script&gt;alert(" in html


def test_a_revoked_grant_takes_the_ngo_off_the_page_at_once(session, client, network, logged_in):
    logged_in(network["funder"])
    assert "NGO B" in page(client)[1]
    grant = session.exec(
        select(AccessGrant).where(AccessGrant.ngo_id == network["orgs"]["b"].id)
    ).one()
    grant.revoked_at = utcnow()
    session.commit()
    html = page(client)[1]
    assert "NGO B" not in html
    assert "NGO A" in html


def test_the_page_is_in_greek(client, network, logged_in):
    logged_in(network["funder"])
    html = page(client, lang="el")[1]
    assert "Κατάταξη και βαθμολογίες τομέων" in html
    assert '<th scope="col">Προστασία παιδιών</th>' in html  # the rubric's Greek label
    assert "Αλβανία" in html
