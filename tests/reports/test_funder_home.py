"""The funder's home (issue 9, section 4): one row per NGO that shares with the fund, its latest
overall score (verified first), band, and change since its previous cycle of the same rubric.

Scores are stored Score rows written here with round numbers, so every figure on the page is
computed by hand below. quick-check's bands: Emerging 0-40, Developing 40-70, Established
70-90, Leading 90-100.
"""

# ruff: noqa: RUF001  (Greek text and the minus sign are the point of some assertions)
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import delete, select

from accounts import sharing
from accounts.models import Role
from accounts.permissions import load_principal
from reports.queries import sharing_ngos
from rubrics import services as rubric_services
from surveys.cycles import services as cycles
from surveys.models import Assessment, Score, Source, Status


def _assessment(session, cycle, org):
    return session.exec(
        select(Assessment).where(
            Assessment.cycle_id == cycle.id, Assessment.organization_id == org.id
        )
    ).one()


def _score(session, cycle, org, version, status, *, self_score, verified=None):
    """Mark ``org``'s assessment of ``cycle`` with ``status`` and store its overall scores
    under ``version``."""
    found = _assessment(session, cycle, org)
    found.status = status
    session.add(found)
    rows = [(Source.SELF, self_score)] + ([(Source.VERIFIED, verified)] if verified else [])
    for source, value in rows:
        session.add(
            Score(
                assessment_id=found.id,
                rubric_version_id=version.id,
                source=source,
                level="overall",
                code="quick-check",
                score=value,
                coverage=1.0,
            )
        )
        session.add(  # a domain row too: the home reads the overall level only
            Score(
                assessment_id=found.id,
                rubric_version_id=version.id,
                source=source,
                level="domain",
                code="SG",
                score=1.0,
                coverage=1.0,
            )
        )
    session.commit()
    return found


@pytest.fixture
def network(session, make_org, make_user, published_version):
    """A fund and seven NGOs over two cycles (2025, 2026) of quick-check version 1:

    - Alpha (grant: all): 2025 self 50 / verified 45; 2026 self 62.5 / verified 57.5.
    - Beta (all): 2025 self 80; 2026 self 70 / verified 35.
    - Gamma (all): 2026 self 90 only.
    - Delta (all): nothing submitted.
    - Zeta (2026 only): 2025 self 40; 2026 self 60.
    - Eta (revoked): 2026 self 77.
    - Epsilon (no grant): 2026 self 66.
    """
    version = published_version("quick-check")
    names = ["Alpha", "Beta", "Gamma", "Delta", "Zeta", "Eta", "Epsilon"]
    orgs = {name: make_org(name=f"NGO {name}", code=name.lower()) for name in names}
    c25 = cycles.open_cycle(
        session,
        code="cp-2025",
        name="Cycle 2025",
        version=version,
        organizations=orgs.values(),
        opens_on=date(2025, 1, 1),
    )
    c26 = cycles.open_cycle(
        session,
        code="cp-2026",
        name="Cycle 2026",
        version=version,
        organizations=orgs.values(),
        opens_on=date(2026, 1, 1),
    )
    session.commit()
    v, done = Status.VERIFIED, Status.SUBMITTED
    _score(session, c25, orgs["Alpha"], version, v, self_score=50.0, verified=45.0)
    _score(session, c26, orgs["Alpha"], version, v, self_score=62.5, verified=57.5)
    _score(session, c25, orgs["Beta"], version, done, self_score=80.0)
    _score(session, c26, orgs["Beta"], version, v, self_score=70.0, verified=35.0)
    _score(session, c26, orgs["Gamma"], version, done, self_score=90.0)
    _score(session, c25, orgs["Zeta"], version, done, self_score=40.0)
    _score(session, c26, orgs["Zeta"], version, done, self_score=60.0)
    _score(session, c26, orgs["Eta"], version, done, self_score=77.0)
    _score(session, c26, orgs["Epsilon"], version, done, self_score=66.0)

    fund = make_org(name="Fund", kind="funder", code="fund")
    for name in ("Alpha", "Beta", "Gamma", "Delta", "Eta"):
        sharing.grant(session, ngo=orgs[name], funder=fund, cycles=None, by=None)
    sharing.grant(session, ngo=orgs["Zeta"], funder=fund, cycles=[c26.id], by=None)
    session.commit()
    funder = make_user(email="f@example.org", role=Role.FUNDER, org=fund, name="Fran")
    return {"orgs": orgs, "fund": fund, "funder": funder, "c25": c25, "c26": c26, "v": version}


def _revoke_eta(session, network):
    from accounts.models import AccessGrant

    grant = session.exec(
        select(AccessGrant).where(AccessGrant.ngo_id == network["orgs"]["Eta"].id)
    ).one()
    sharing.revoke(session, ngo=network["orgs"]["Eta"], grant_id=grant.id, by=None)
    session.commit()


def test_each_sharing_ngo_has_its_latest_score_band_and_change(session, network):
    _revoke_eta(session, network)
    principal = load_principal(session, network["funder"].id)
    rows = {r.organization: r for r in sharing_ngos(session, viewer=principal, language="en")}

    assert list(rows) == ["NGO Alpha", "NGO Beta", "NGO Delta", "NGO Gamma", "NGO Zeta"]
    alpha = rows["NGO Alpha"]  # verified both years: 57.5 - 45 = +12.5 on verified scores
    assert (alpha.cycle, alpha.score, alpha.verified, alpha.band) == (
        "Cycle 2026",
        57.5,
        True,
        "Developing",
    )
    assert alpha.change == pytest.approx(12.5)
    assert alpha.change_verified is True
    assert alpha.previous_cycle == "Cycle 2025"

    beta = rows["NGO Beta"]  # verified 35 leads; 2025 has no verification: 70 - 80 self
    assert (beta.score, beta.verified, beta.band) == (35.0, True, "Emerging")
    assert beta.change == pytest.approx(-10.0)
    assert beta.change_verified is False

    gamma = rows["NGO Gamma"]  # one cycle: nothing to compare with
    assert (gamma.score, gamma.verified, gamma.band, gamma.change) == (
        90.0,
        False,
        "Leading",
        None,
    )
    delta = rows["NGO Delta"]  # shares, has submitted nothing: its latest cycle, no score
    assert (delta.cycle, delta.scored, delta.status) == ("Cycle 2026", False, "not_started")
    assert (delta.score, delta.band, delta.change) == (None, None, None)

    zeta = rows["NGO Zeta"]  # granted 2026 only: its 2025 score is not the fund's to see
    assert (zeta.score, zeta.change, zeta.previous_cycle) == (60.0, None, None)


def test_the_band_is_in_the_viewers_language(session, network):
    principal = load_principal(session, network["funder"].id)
    rows = {r.organization: r for r in sharing_ngos(session, viewer=principal, language="el")}
    assert rows["NGO Alpha"].band == "Αναπτυσσόμενο"


def test_change_compares_like_with_like_rubric_versions(session, network, make_user):
    """A 2027 cycle on version 2: the 2026 assessment counts only if scored under version 2."""
    alpha = network["orgs"]["Alpha"]
    author = make_user(email="eva@example.org", role=Role.EVALUATOR, name="Eva")
    v2 = rubric_services.new_draft(session, network["v"], author)
    rubric_services.publish(session, v2)  # rescoring finds no answers: stored rows stay ours
    c27 = cycles.open_cycle(
        session,
        code="cp-2027",
        name="Cycle 2027",
        version=v2,
        organizations=[alpha],
        opens_on=date(2027, 1, 1),
    )
    session.commit()
    session.exec(delete(Score).where(Score.rubric_version_id == v2.id))
    session.commit()
    _score(session, c27, alpha, v2, Status.SUBMITTED, self_score=70.0)
    principal = load_principal(session, network["funder"].id)

    def alpha_row():
        return next(
            r
            for r in sharing_ngos(session, viewer=principal, language="en")
            if r.organization == "NGO Alpha"
        )

    assert (alpha_row().score, alpha_row().change) == (70.0, None)  # 2026 not under v2
    # The 2026 assessment rescored under version 2 (self 64): now 70 - 64 = +6.
    c26_alpha = _assessment(session, network["c26"], alpha)
    session.add(
        Score(
            assessment_id=c26_alpha.id,
            rubric_version_id=v2.id,
            source=Source.SELF,
            level="overall",
            code="quick-check",
            score=64.0,
            coverage=1.0,
        )
    )
    session.commit()
    row = alpha_row()
    assert row.change == pytest.approx(6.0)
    assert (row.previous_cycle, row.change_verified) == ("Cycle 2026", False)


def _row(html, name):
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    found = [r for r in rows if f">{name}<" in r]
    return " ".join(found[0].split()) if found else None


def test_the_home_page_shows_one_row_per_sharing_ngo(client, session, network, logged_in):
    _revoke_eta(session, network)
    html = logged_in(network["funder"]).get("/").get_data(as_text=True)
    alpha = _row(html, "NGO Alpha")
    assert "<strong>57.5</strong>" in alpha
    assert "verified" in alpha
    assert "Developing" in alpha
    assert "+12.5" in alpha
    assert "since Cycle 2025" in alpha
    a26 = _assessment(session, network["c26"], network["orgs"]["Alpha"])
    assert f'href="/reports/assessments/{a26.id}"' in alpha
    beta = _row(html, "NGO Beta")
    assert "<strong>35.0</strong>" in beta
    assert "−10.0" in beta
    assert "self-assessed scores" in beta
    assert "Emerging" in beta
    assert "no comparable earlier cycle" in _row(html, "NGO Gamma")
    assert "(self-assessed)" in _row(html, "NGO Gamma")
    delta = _row(html, "NGO Delta")
    assert "Cycle 2026" in delta
    assert "not submitted yet" in delta
    assert "/reports/assessments/" not in delta
    zeta = _row(html, "NGO Zeta")
    assert "<strong>60.0</strong>" in zeta
    assert "40.0" not in zeta
    assert "no comparable earlier cycle" in zeta
    assert _row(html, "NGO Eta") is None  # revoked
    assert "NGO Epsilon" not in html  # never shared
    assert ">77.0<" not in html
    assert ">66.0<" not in html


def test_a_revocation_removes_the_ngo_at_once(client, session, network, logged_in):
    logged_in(network["funder"])
    assert _row(client.get("/").get_data(as_text=True), "NGO Eta") is not None
    _revoke_eta(session, network)
    assert _row(client.get("/").get_data(as_text=True), "NGO Eta") is None


def test_a_funder_without_grants_is_told_so(client, make_org, make_user, logged_in):
    fund = make_org(name="Lonely Fund", kind="funder")
    funder = make_user(email="l@example.org", role=Role.FUNDER, org=fund)
    html = logged_in(funder).get("/").get_data(as_text=True)
    assert "No NGO shares its results with your organisation yet." in html
    assert "<table" not in html


def test_names_are_escaped(client, session, network, logged_in):
    alpha = network["orgs"]["Alpha"]
    alpha.name = "<b>Alpha</b> & Co"
    session.add(alpha)
    session.commit()
    html = logged_in(network["funder"]).get("/").get_data(as_text=True)
    assert "&lt;b&gt;Alpha&lt;/b&gt; &amp; Co" in html
    assert "<b>Alpha</b>" not in html


def test_the_home_page_in_greek(client, session, network, logged_in):
    logged_in(network["funder"])
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "el"
    html = client.get("/").get_data(as_text=True)
    assert "Αναπτυσσόμενο" in _row(html, "NGO Alpha")
    assert "Change since the previous cycle" not in html
