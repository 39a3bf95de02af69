"""The PDF scorecard (issue 9, section 3): its text in English and in Greek, its filename,
and who may download it (as the HTML scorecard: 404 to whoever may not see the assessment)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from sqlmodel import select
from test_scorecard import submitted

from accounts import sharing
from accounts.models import AccessGrant, Role
from reports.exports import bar_chart, pdf_filename
from surveys.models import Score, Source, Status

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


def pdf_text(data: bytes) -> str:
    """The text of a PDF, by poppler's pdftotext, whitespace folded."""
    assert data.startswith(b"%PDF-")
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(out.split())


@pytest.fixture
def card(session, make_org, make_user, make_assessment):
    org, user, assessment = submitted(session, make_org, make_user, make_assessment)
    org.code = 'hope/home "2026"'
    session.add(org)
    session.commit()
    return org, user, assessment


def test_the_pdf_holds_the_organisation_overall_score_and_domains(client, session, card, logged_in):
    _, user, assessment = card
    logged_in(user)
    response = client.get(f"/reports/assessments/{assessment.id}/scorecard.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition == "attachment; filename=scorecard-hope-home-2026-cycle-1.pdf"
    assert "no-store" in response.headers["Cache-Control"]
    text = pdf_text(response.data)
    assert "Scorecard: Hope and Home" in text
    assert "68.8 / 100" in text  # 68.75, see tests/quick_check.py
    assert "Developing" in text
    for domain in ("Child safeguarding", "Services to survivors", "Measuring results"):
        assert domain in text
    assert "Safeguarding quick check, version 1" in text
    # The page's other sections: strengths and weaknesses, peers (hidden: one assessment).
    assert "Strongest indicators" in text
    assert "Weakest indicators" in text
    assert "The peer comparison is hidden: this cycle has 1 submitted assessments" in text
    assert re.search(r"Printed on [A-Z][a-z]{2} \d{1,2}, \d{4}", text)  # Babel's medium date


def test_the_pdf_in_greek(client, session, card, logged_in):
    _, user, assessment = card
    logged_in(user)
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "el"
    response = client.get(f"/reports/assessments/{assessment.id}/scorecard.pdf")
    text = pdf_text(response.data)
    assert "Hope and Home" in text
    assert "68,8 / 100" in text  # a decimal comma in Greek (reports.numbers)
    assert "Αναπτυσσόμενο" in text  # the band
    for domain in ("Προστασία παιδιών", "Υπηρεσίες προς επιζώντες", "Μέτρηση αποτελεσμάτων"):
        assert domain in text
    assert "Τομείς" in text  # "Domains", from the interface's catalogue
    assert "Domains" not in text


def test_a_verified_score_leads_with_the_self_assessed_beside(client, session, card, logged_in):
    _, user, assessment = card
    version_id = session.exec(
        select(Score.rubric_version_id).where(Score.assessment_id == assessment.id)
    ).first()
    for level, code, value in [("overall", "quick-check", 39.5), ("domain", "SG", 30.0)]:
        session.add(
            Score(
                assessment_id=assessment.id,
                rubric_version_id=version_id,
                source=Source.VERIFIED,
                level=level,
                code=code,
                score=value,
                coverage=1.0,
                band=None,
            )
        )
    # Verified scores lead once the review is complete (surveys.workflow.verified_visible).
    assessment.status = Status.VERIFIED
    session.add(assessment)
    session.commit()
    logged_in(user)
    text = pdf_text(client.get(f"/reports/assessments/{assessment.id}/scorecard.pdf").data)
    assert "39.5 / 100" in text
    assert "Emerging" in text
    assert "Self-assessed score: 68.8 (Developing)" in text


def test_who_may_download_the_pdf(app, session, card, make_org, make_user, login_as):
    org, _, assessment = card
    url = f"/reports/assessments/{assessment.id}/scorecard.pdf"

    def status(user=None):
        client = app.test_client()
        if user is not None:
            assert login_as(client, user.email).status_code == 302
        return client.get(url).status_code

    assert status() == 302  # to the login page
    stranger = make_user(email="s@example.org", role=Role.NGO_ADMIN, name="Stranger")
    assert status(stranger) == 404
    fund = make_org(name="Fund", kind="funder")
    funder = make_user(email="f@example.org", role=Role.FUNDER, org=fund)
    assert status(funder) == 404  # no grant
    sharing.grant(session, ngo=org, funder=fund, cycles=[assessment.cycle_id], by=None)
    session.commit()
    assert status(funder) == 200  # a grant of this cycle
    grant = session.exec(select(AccessGrant).where(AccessGrant.ngo_id == org.id)).one()
    sharing.revoke(session, ngo=org, grant_id=grant.id, by=None)
    session.commit()
    assert status(funder) == 404  # revoked: at once
    evaluator = make_user(email="e@example.org", role=Role.EVALUATOR, name="Eve")
    assert status(evaluator) == 404  # not assigned to the cycle


def test_the_scorecard_page_links_to_the_pdf(client, card, logged_in):
    _, user, assessment = card
    html = logged_in(user).get(f"/reports/assessments/{assessment.id}").get_data(as_text=True)
    assert f'href="/reports/assessments/{assessment.id}/scorecard.pdf?lang=en"' in html


def test_the_filename_keeps_only_safe_characters():
    assert pdf_filename("scorecard", "ngo/../x", 'c"\r\n2026') == "scorecard-ngo-..-x-c-2026.pdf"
    assert pdf_filename("scorecard", "Σύλλογος", "2026") == "scorecard-2026.pdf"


def test_the_chart_geometry():
    chart = bar_chart(["A", "B"], [50.0, None], [None, "insufficient_data"], second=[25.0, None])
    assert [b.width for b in chart.bars] == [220.0, 0.0]  # 440 units span 0-100
    assert [b.second_width for b in chart.bars] == [110.0, 0.0]
    assert [b.y for b in chart.bars] == [0, 34]
    assert chart.ticks[-1] == (100, 440.0)
    with pytest.raises(ValueError, match="scores"):
        bar_chart(["A"], [1.0, 2.0], [None])


def test_the_peer_and_trend_chart_geometry():
    from reports.exports import peer_chart, trend_chart

    peers = peer_chart(["A"], [70.0], [30.0], [50.0], [75.0])
    row = peers.rows[0]
    assert (row.q1, row.median, row.q3, row.own) == (132.0, 220.0, 330.0, 308.0)  # of 440
    chart = trend_chart(
        ["2025", "2026", "2027"],
        [("Overall", [50.0, None, 100.0])],
        [[None, "not applicable", None]],
        [True, False, False],
    )
    panel = chart.panels[0]
    # x: 10 + 130 k / 2; y: 14 + 70 (1 - score / 100).
    assert panel.points == [(10.0, 49.0, 50.0, True), (140.0, 14.0, 100.0, False)]
    assert panel.missing == [(75.0, "not applicable")]
    assert panel.lines == []  # the gap breaks the line: no two consecutive points
    assert [anchor for _x, _n, anchor in chart.cycles] == ["start", "middle", "end"]
    with pytest.raises(ValueError, match="notes"):
        trend_chart(["2025"], [("Overall", [1.0])], [], [False])
