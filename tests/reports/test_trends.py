"""Network-wide trends (issue 9, section 6), checked by hand, and who sees what on every page and
export of issue 9 (dashboard, trends, funder's home, scorecard, PDF) as an attacker would probe
them: changing ids and filter values. One world per module: the tests only read it.

Scores are stored rows, written directly so every number is known: quick-check's domains SG,
SV and RS. Two cycles of one rubric version:

====  =====================  ==========================  ======================================
NGO   2025 (self; verified)  2026 (self)                 shares with "Fund"
====  =====================  ==========================  ======================================
A     60 50 40 ; 50 40 30    70 60 50                    every cycle
B     40 40 40               50 50 50                    no one
C     20 30 --               30 40 50                    revoked
D     80 70 60               90 80 70                    2026 only
E     (not in 2025)          10 20 30                    no one
====  =====================  ==========================  ======================================

A's 2025 assessment is verified: its verified scores lead. 2025 has 4 submitted assessments
(below PEER_MIN_GROUP = 5: no peer statistics), 2026 has 5.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, SQLModel, select

from accounts import services as accounts
from accounts import sharing
from accounts.models import AccessGrant, Organization, Role
from accounts.permissions import load_principal
from reports import trends
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles.services import create_cycle
from surveys.models import Assessment, Score, Source, Status
from webapp import create_app
from webapp.extensions import db

LIBRARY = Path(__file__).resolve().parents[2] / "rubrics" / "library"
PASSWORD = "correct horse battery"
DOMAINS = ["SG", "SV", "RS"]
WEIGHTS = np.array([2.0, 1.0, 1.0])
SELF = {
    2025: {"A": [60, 50, 40], "B": [40, 40, 40], "C": [20, 30, None], "D": [80, 70, 60]},
    2026: {"A": [70, 60, 50], "B": [50, 50, 50], "C": [30, 40, 50], "D": [90, 80, 70],
           "E": [10, 20, 30]},
}  # fmt: skip
VERIFIED_A_2025 = [50, 40, 30]


def store(session: Session, assessment: Assessment, version_id: int, values, source=Source.SELF):
    scores = np.array([np.nan if v is None else v for v in values], dtype=float)
    have = ~np.isnan(scores)
    overall = float((scores[have] * WEIGHTS[have]).sum() / WEIGHTS[have].sum())
    rows = [
        ("domain", code, None if v is None else float(v))
        for code, v in zip(DOMAINS, values, strict=True)
    ]
    for level, code, value in [*rows, ("overall", "quick-check", overall)]:
        session.add(
            Score(
                assessment_id=assessment.id, rubric_version_id=version_id, source=source,
                level=level, code=code, score=value, coverage=1.0,
                reason="not applicable" if value is None else None,
            )
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    if backend == "postgresql":
        url = request.getfixturevalue("_postgres_schema")
    else:
        url_path = tmp_path_factory.mktemp("trends") / "world.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), url_path)
        url = f"sqlite:///{url_path}"
    engine = sa.create_engine(url)
    # The app first: creating it registers the surveys' queries that sharing relies on.
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url,
         "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads"))}
    )  # fmt: skip
    with Session(engine, expire_on_commit=False) as session:
        version = rubric_services.store_rubric(session, load_rubric(LIBRARY / "quick-check.yaml"))
        rubric_services.publish(session, version)
        orgs = {}
        for name, country in zip("ABCDE", ["AL", "AL", "RS", "RS", "GR"], strict=True):
            orgs[name] = Organization(
                code=f"ngo-{name.lower()}", name=f"NGO {name}", kind="ngo", country=country
            )
        fund = Organization(code="fund", name="Fund", kind="funder")
        other_fund = Organization(code="other", name="Other fund", kind="funder")
        session.add_all([*orgs.values(), fund, other_fund])
        session.flush()

        def user(key: str, role: Role, org: Organization | None = None) -> Any:
            made = accounts.create_user(
                session, email=f"{key}@example.org", name=key.title(), password=PASSWORD
            )
            accounts.add_membership(session, user=made, role=role, organization=org)
            return made

        people = {
            "member": user("member", Role.NGO_MEMBER, orgs["A"]),
            "funder": user("funder", Role.FUNDER, fund),
            "other_funder": user("other_funder", Role.FUNDER, other_fund),
            "evaluator": user("evaluator", Role.EVALUATOR),
            "unassigned": user("unassigned", Role.EVALUATOR),
            "admin": user("admin", Role.ADMIN),
        }
        cycles, assessments = {}, {}
        for year, present in SELF.items():
            cycles[year] = create_cycle(
                session, code=f"qc-{year}", name=f"Cycle {year}", version=version,
                organizations=[orgs[n] for n in present], opens_on=date(year, 1, 1),
                closes_on=date(year, 12, 31),
                evaluators=[people["evaluator"]] if year == 2026 else [], by=None,
            )  # fmt: skip
            by_org = {
                a.organization_id: a
                for a in session.exec(
                    select(Assessment).where(Assessment.cycle_id == cycles[year].id)
                )
            }  # fmt: skip
            for name, values in present.items():
                found = by_org[orgs[name].id]
                found.status = Status.SUBMITTED
                store(session, found, version.id, values)
                assessments[(name, year)] = found
        assessments[("A", 2025)].status = Status.VERIFIED
        store(session, assessments[("A", 2025)], version.id, VERIFIED_A_2025, Source.VERIFIED)
        session.commit()
        sharing.grant(session, ngo=orgs["A"], funder=fund, cycles=None, by=None)
        sharing.grant(session, ngo=orgs["D"], funder=fund, cycles=[cycles[2026].id], by=None)
        sharing.grant(session, ngo=orgs["C"], funder=fund, cycles=None, by=None)
        session.flush()
        grant_c = session.exec(select(AccessGrant).where(AccessGrant.ngo_id == orgs["C"].id)).one()
        sharing.revoke(session, ngo=orgs["C"], grant_id=grant_c.id, by=None)
        session.commit()
        yield {
            "app": app, "session": session, "version": version, "orgs": orgs,
            "cycles": cycles, "a": assessments, **people,
        }  # fmt: skip
        with app.app_context():
            db.engine.dispose()
    if backend == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


def network(world, who: str) -> trends.NetworkTrend:
    session = world["session"]
    viewer = load_principal(session, world[who].id)
    return trends.network_trend(session, "quick-check", viewer=viewer, language="en")


def client_of(world, who: str | None):
    app: Flask = world["app"]
    client = app.test_client()
    if who is not None:
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        response = client.post(
            "/login",
            data={"email": world[who].email, "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
    return client


# --- the numbers, by hand --------------------------------------------------------------------


def test_the_cohort_per_cycle_and_domain_for_an_admin(world):
    found = network(world, "admin")
    assert [c.name for c in found.cycles] == ["Cycle 2025", "Cycle 2026"]
    assert [c.n_ngos for c in found.cycles] == [4, 5]
    assert found.domains == [
        ("SG", "Child safeguarding"), ("SV", "Services to survivors"), ("RS", "Measuring results"),
    ]  # fmt: skip
    old, new = found.cycles
    # 2025, A's verified scores lead: SG 50, 40, 20, 80 -> sorted 20 40 50 80; linear
    # quartiles at positions 0.75, 1.5, 2.25: 35, 45, 57.5.
    assert (old.minimum[0], old.q1[0], old.median[0], old.q3[0], old.maximum[0]) == (
        20, 35, 45, 57.5, 80,
    )  # fmt: skip
    # SV: 40, 40, 30, 70 -> 30 40 40 70: 37.5, 40, 47.5.
    assert (old.q1[1], old.median[1], old.q3[1]) == (37.5, 40, 47.5)
    # RS: C has no score: 30, 40, 60 (n = 3): 35, 40, 50.
    assert old.n == [4, 4, 3]
    assert (old.q1[2], old.median[2], old.q3[2]) == (35, 40, 50)
    # 2026, SG: 10 30 50 70 90: 30, 50, 70.
    assert (new.q1[0], new.median[0], new.q3[0]) == (30, 50, 70)
    assert new.n == [5, 5, 5]
    assert found.version == 1
    assert not any(c.rescored for c in found.cycles)


def test_a_funder_sees_the_cohort_of_its_live_grants_only(world):
    found = network(world, "funder")
    old, new = found.cycles
    # 2025: A alone (D shares 2026 only, C revoked); its verified SG 50.
    assert old.n_ngos == 1
    assert old.median == [50, 40, 30]
    # 2026: A and D: SG 70, 90 -> median 80, quartiles 75 and 85.
    assert new.n_ngos == 2
    assert (new.q1[0], new.median[0], new.q3[0]) == (75, 80, 85)


def test_an_evaluator_sees_the_cycles_assigned_to_them(world):
    assert [c.name for c in network(world, "evaluator").cycles] == ["Cycle 2026"]
    assert network(world, "unassigned").cycles == []
    assert network(world, "other_funder").cycles == []
    session = world["session"]
    nobody = load_principal(session, world["unassigned"].id)
    assert trends.trend_rubrics(session, viewer=nobody) == []


def test_the_trends_page_draws_one_box_per_cycle_beside_its_table(world):
    import json

    html = client_of(world, "admin").get("/reports/trends").get_data(as_text=True)
    assert "Scores under rubric version 1." in html
    block = re.search(r'id="trend-figure">(.*?)</script>', html, re.S).group(1)
    figure = json.loads(block)
    assert [t["name"] for t in figure["data"]] == ["Cycle 2025 (4 NGOs)", "Cycle 2026 (5 NGOs)"]
    assert figure["data"][0]["median"] == [45, 40, 40]
    assert "rubric version 1" in figure["layout"]["annotations"][0]["text"]
    assert re.findall(r'data-ngos="\d+">(\d+)<', html) == ["4", "5"]
    assert '45.0 <span class="muted">(35.0\u201357.5; n = 4)' in html
    assert "no score" not in html


# --- who sees what, on every page and export of issue 9 -------------------------------------


def scorecard_urls(world, name, year):
    assessment_id = world["a"][(name, year)].id
    return [
        f"/reports/assessments/{assessment_id}",
        f"/reports/assessments/{assessment_id}/scorecard.pdf",
    ]


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("funder", {("A", 2025), ("A", 2026), ("D", 2026)}),
        ("other_funder", set()),
        ("unassigned", set()),
        ("evaluator", {(n, 2026) for n in "ABCDE"}),
        ("member", {("A", 2025), ("A", 2026)}),
    ],
)
def test_scorecards_and_pdfs_open_exactly_for_who_may_see_them(world, who, visible):
    client = client_of(world, who)
    for key in world["a"]:
        page, pdf = scorecard_urls(world, *key)
        assert client.get(page).status_code == (200 if key in visible else 404), (who, key)
        if key not in visible:  # the PDF of a visible one is fetched once below
            assert client.get(pdf).status_code == 404, (who, key)
    page, pdf = scorecard_urls(world, *sorted(visible)[0]) if visible else (None, None)
    if pdf:
        assert client.get(pdf).status_code == 200


def test_the_dashboard_shows_only_granting_ngos_whatever_the_filters(world):
    client = client_of(world, "funder")
    cycles = world["cycles"]

    def names(**args) -> set[str]:
        html = client.get("/reports/dashboard", query_string=args).get_data(as_text=True)
        return set(re.findall(r"NGO [A-E]", html))

    assert names(cycle=cycles[2025].id) == {"NGO A"}
    assert names(cycle=cycles[2026].id) == {"NGO A", "NGO D"}
    assert names(cycle=cycles[2026].id, country="RS") == {"NGO D"}  # not the revoked C
    assert names(cycle=cycles[2025].id, country="RS") == set()  # D's 2025 is not shared
    assert names(cycle=cycles[2026].id, status="verified") == set()
    assert names(cycle=9999) == set()
    assert names(cycle=cycles[2026].id, version=9999) == set()
    other = client_of(world, "other_funder")
    html = other.get("/reports/dashboard", query_string={"cycle": cycles[2026].id}).get_data(
        as_text=True
    )
    assert re.findall(r"NGO [A-E]", html) == []


def test_the_funders_home_lists_live_grants_only(world):
    html = client_of(world, "funder").get("/").get_data(as_text=True)
    assert set(re.findall(r"NGO [A-E]", html)) == {"NGO A", "NGO D"}


def test_the_trends_page_for_each_viewer(world):
    assert client_of(world, "member").get("/reports/trends").status_code == 403
    assert client_of(world, None).get("/reports/trends").status_code == 302  # to log in
    funder = client_of(world, "funder").get("/reports/trends").get_data(as_text=True)
    assert re.findall(r'data-ngos="\d+">(\d+)<', funder) == ["1", "2"]
    for name in "BCE":
        assert f"NGO {name}" not in funder
    # Another rubric's code in the URL changes nothing.
    again = client_of(world, "funder").get("/reports/trends?rubric=organisational-capacity")
    assert re.findall(r'data-ngos="\d+">(\d+)<', again.get_data(as_text=True)) == ["1", "2"]
    nobody = client_of(world, "unassigned").get("/reports/trends").get_data(as_text=True)
    assert "No submitted assessment you may see yet." in nobody
    assert "trend-figure" not in nobody


def test_peer_statistics_never_below_the_minimum_group(world):
    client = client_of(world, "member")
    old = client.get(scorecard_urls(world, "A", 2025)[0]).get_data(as_text=True)
    assert "The peer comparison is hidden: this cycle has 4 submitted assessments" in old
    assert "peer-figure" not in old
    assert "Percentile" not in old
    new = client.get(scorecard_urls(world, "A", 2026)[0]).get_data(as_text=True)
    assert "peer-figure" in new
    assert "Among the 5 submitted assessments" in new
    assert "NGO B" not in new  # no peer named
    assert "NGO D" not in new


def test_the_trends_page_in_greek(world):
    html = client_of(world, "funder").get("/reports/trends?lang=el").get_data(as_text=True)
    assert "Τάσεις" in html
    assert "Προστασία παιδιών" in html


# --- the scorecard's trend: verified where verified, one panel per domain -----------------------


def trend_figure(html: str) -> dict:
    import json

    block = re.search(r'id="trend-figure">(.*?)</script>', html, re.S).group(1)
    return json.loads(block)


def test_the_scorecard_trend_leads_with_verified_scores_in_small_multiples(world):
    from reports import queries

    session = world["session"]
    viewer = load_principal(session, world["member"].id)
    page = queries.scorecard_page(
        session, world["a"][("A", 2026)], viewer=viewer, language="en", peer_min_group=5
    )
    old, new = page.trend.points
    assert (old.verified, new.verified) == (True, False)
    # 2025 verified: (2 x 50 + 40 + 30) / 4 = 42.5; 2026 self: (2 x 70 + 60 + 50) / 4 = 62.5.
    assert (old.overall, new.overall) == (42.5, 62.5)
    assert old.domains == {"SG": 50, "SV": 40, "RS": 30}
    html = (
        client_of(world, "member").get(scorecard_urls(world, "A", 2026)[0]).get_data(as_text=True)
    )
    fig = trend_figure(html)
    assert [t["name"] for t in fig["data"]] == [
        "Overall", "Child safeguarding", "Services to survivors", "Measuring results",
    ]  # fmt: skip
    # One panel each: every trace on its own axes.
    assert [(t["xaxis"], t["yaxis"]) for t in fig["data"]] == [
        ("x", "y"), ("x2", "y2"), ("x3", "y3"), ("x4", "y4"),
    ]  # fmt: skip
    assert fig["data"][1]["y"] == [50, 70]
    assert fig["data"][0]["marker"]["symbol"] == ["diamond", "circle"]
    assert "(verified)" in fig["data"][0]["hovertext"][0]
    assert "Verified scores where verified (diamonds)" in fig["layout"]["annotations"][0]["text"]


def test_a_domain_without_a_score_says_so_on_the_trend_chart(world):
    html = client_of(world, "admin").get(scorecard_urls(world, "C", 2026)[0]).get_data(as_text=True)
    fig = trend_figure(html)
    notes = [a for a in fig["layout"]["annotations"] if a.get("xref") == "x4"]
    assert [(a["x"], a["text"]) for a in notes] == [("Cycle 2025", "not applicable")]
    assert fig["data"][3]["y"] == [None, 50]
    assert "not applicable" in html.split('class="trend"')[1]  # and in the table


# --- the PDF holds the page's content: peers, trend (static SVG), in the viewer's language -----


def pdf_text(data: bytes) -> str:
    import subprocess

    assert data.startswith(b"%PDF-")
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(out.split())


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
@pytest.mark.parametrize("language", ["en", "el"])
def test_the_pdf_holds_the_peer_benchmark_and_the_trend(world, language):
    client = client_of(world, "member")
    with client.session_transaction() as browser_session:
        browser_session["lang"] = language
    response = client.get(scorecard_urls(world, "A", 2026)[1])
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=scorecard-ngo-a-qc-2026.pdf"
    )
    assert b"<svg" not in response.data  # drawn into the PDF, not embedded as markup
    text = pdf_text(response.data)
    assert "NGO A" in text
    greek = language == "el"
    assert ("62,5 / 100" if greek else "62.5 / 100") in text  # (2 x 70 + 60 + 50) / 4
    domains = (
        ["Προστασία παιδιών", "Υπηρεσίες προς επιζώντες", "Μέτρηση αποτελεσμάτων"]
        if greek
        else ["Child safeguarding", "Services to survivors", "Measuring results"]
    )
    for domain in domains:
        assert text.count(domain) >= 4  # domains table, peer chart and table, trend
    assert ("Σύγκριση με ομοτίμους" if greek else "Compared with peers") in text
    assert ("Εξέλιξη ανά κύκλο" if greek else "Trend across cycles") in text
    # Peer medians of 2026 (by hand): SG 10 30 50 70 90 -> 50; the trend's 2025 point: 42.5.
    point = "," if greek else "."  # the decimal sign of the language
    assert f"50{point}0 30{point}0 \u2013 70{point}0 5" in text
    assert f"42{point}5" in text
    assert ("Επαληθευμένο" if greek else "Verified") in text  # 2025's verified scores
    if greek:
        assert "Compared with peers" not in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_pdf_says_why_peers_are_hidden_and_a_domain_has_no_score(world):
    client = client_of(world, "admin")
    text = pdf_text(client.get(scorecard_urls(world, "C", 2025)[1]).data)
    assert "The peer comparison is hidden: this cycle has 4 submitted assessments" in text
    assert "Percentile" not in text
    text = pdf_text(client.get(scorecard_urls(world, "C", 2026)[1]).data)
    assert "not applicable" in text  # 2025's RS, on the trend chart and in its table
