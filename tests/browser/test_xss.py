"""Stored XSS, in Chromium (issue 13): hostile text in every field a person can set (an NGO's
name, a rubric's texts loaded from YAML, answers, comments, plan actions, evidence names, a
cycle's name), loaded on every page that shows it (home, questionnaire, history, scorecard and
its charts, dashboard, review, verification, plan, cycle, rubric pages, the PDF's HTML): no
dialog opens, no link, image, style or script of the payload exists in the page (nor in the
charts' SVG), and the Content-Security-Policy reports no violation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from playwright.sync_api import Page
from quick_check import ANSWERS
from sqlmodel import Session, select

import webapp.models_registry  # noqa: F401  (every table in the metadata)
from accounts import services as accounts
from accounts.models import Organization, Role
from reports import exports
from rubrics import services as rubric_services
from rubrics.loader import load_rubric_text
from surveys import answers as store
from surveys.cycles import services as cycles
from surveys.evidence import services as evidence
from surveys.models import Assessment
from surveys.plan.models import ImprovementAction
from surveys.questionnaire import services as questionnaire
from surveys.review import services as review
from webapp.demo import DEMO_PASSWORD
from webapp.security import CSP

ROOT = Path(__file__).resolve().parents[2]
MARK = "xss13"
PAYLOAD = (
    f'<img src=x onerror="alert(1)" id="{MARK}-img">'
    f'<a href="https://evil.example/{MARK}" id="{MARK}-a">phish</a>'
    f'<span style="font-size:77px" id="{MARK}-span">big</span>'
    f"<style>#{MARK}-probe{{display:none}}</style>"
    f"<script>alert(2)</script>"
    f"\"'><svg onload=alert(3)></svg>"
)

# Records Content-Security-Policy violations and dialogs, page by page (injected by Playwright,
# outside the page's CSP).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

# Anything of the payload that became markup, in the page or in the charts' SVG.
FOUND = f"""() => {{
  const hits = [];
  for (const el of document.querySelectorAll("[id^='{MARK}'], [onerror], [onload]")) {{
    hits.push(el.outerHTML.slice(0, 80));
  }}
  for (const el of document.querySelectorAll("a")) {{
    const href = (el.getAttribute("href") || "") + (el.getAttribute("xlink:href") || "");
    if (href.includes("evil.example")) hits.push("link " + href);
  }}
  for (const el of document.querySelectorAll("[style]")) {{
    if (el.getAttribute("style").includes("77px")) hits.push("style " + el.tagName);
  }}
  for (const el of document.querySelectorAll("style, script")) {{
    if (el.textContent.includes("{MARK}") || el.textContent.includes("alert(")) {{
      if (el.type !== "application/json") hits.push(el.tagName + " " + el.textContent.slice(0, 60));
    }}
  }}
  return hits;
}}"""


def hostile_rubric() -> str:
    """The quick check with every text it shows replaced by the payload, as a YAML file."""
    data = yaml.safe_load((ROOT / "rubrics" / "library" / "quick-check.yaml").read_text())
    data["id"] = "xss-check"
    data["title"] = {"en": f"Title {PAYLOAD}"}
    data["languages"], data["default_language"] = ["en"], "en"
    for band in data.get("bands", []):
        band["label"] = (
            {"en": f"Band {PAYLOAD}"} if isinstance(band["label"], dict) else band["label"]
        )
    for domain in data["domains"]:
        domain["label"] = {"en": f"{domain['id']} {PAYLOAD}"}
        for indicator in domain["indicators"]:
            indicator["label"] = {"en": f"{indicator['id']} {PAYLOAD}"}
            for question in indicator["questions"]:
                question["label"] = {"en": f"{question['id']} {PAYLOAD}"}
                for level in question.get("levels", []):
                    level["descriptor"] = {"en": f"Level {PAYLOAD}"}
                for option in question.get("options", []):
                    option["label"] = {"en": f"Option {PAYLOAD}"}
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.fixture(scope="module")
def hostile_world(live_server: str, live_database_url: str) -> dict[str, Any]:
    """Five NGOs named by the payload in a cycle of the hostile rubric (a peer group), all
    submitted: the first in review with hostile comments, a plan action and a file whose name
    is the payload; the second verified; a funder they all share with; an evaluator."""
    engine = sa.create_engine(live_database_url)
    with Session(engine, expire_on_commit=False) as session:
        rubric = load_rubric_text(hostile_rubric(), "xss.yaml")  # the upload's own loader
        version = rubric_services.store_rubric(session, rubric)
        rubric_services.publish(session, version)
        ngos = []
        for i in range(5):
            ngo = Organization(code=f"xss-{i}", name=f"NGO {i} {PAYLOAD}", kind="ngo", country="AL")
            session.add(ngo)
            ngos.append(ngo)
        fund = Organization(code="xss-fund", name=f"Fund {PAYLOAD}", kind="funder", country="AL")
        session.add(fund)
        session.flush()
        people = {}
        for key, role, org in (
            ("ngo", Role.NGO_ADMIN, ngos[0]),
            ("ngo2", Role.NGO_ADMIN, ngos[1]),
            ("funder", Role.FUNDER, fund),
            ("evaluator", Role.EVALUATOR, None),
        ):
            user = accounts.create_user(
                session, email=f"{key}@xss.test", name=f"{key} {PAYLOAD}", password=DEMO_PASSWORD
            )
            accounts.add_membership(session, user=user, role=role, organization=org)
            people[key] = user
        cycle = cycles.create_cycle(
            session,
            code="xss-cycle",
            name=f"Cycle {PAYLOAD}",
            version=version,
            organizations=ngos,
            opens_on=date.today(),
            closes_on=date.today() + timedelta(days=30),
            evaluators=[people["evaluator"]],
            by=None,
        )
        for ngo in ngos:
            accounts.grant_access(session, ngo=ngo, funder=fund, by=None)
        assessments = {
            a.organization_id: a
            for a in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id))
        }
        ordered = [assessments[ngo.id] for ngo in ngos]
        first = ordered[0]
        evidence.store_evidence(
            session,
            first,
            question_id="SG1_policy",
            upload=evidence.Upload(f"{PAYLOAD}.txt", io.BytesIO(b"our policy\n")),
            folder=Path(live_database_url.removeprefix("sqlite:///")).parent / "uploads",
            limit=10**6,
            user=people["ngo"],
        )
        for index, assessment in enumerate(ordered):
            owner = people["ngo"] if index == 0 else people["ngo2"]
            values = {**ANSWERS, "RS2_changes": f"Changes {PAYLOAD}", "SG1_policy": 1 + index % 4}
            store.save_answers(
                session,
                assessment,
                values=values,
                base_versions={},
                user=owner,
                comments={"SG1_policy": f"Comment {PAYLOAD}", "SG2_vetting": PAYLOAD},
            )
            assert questionnaire.submit(session, assessment, by=owner) == []
        review.start_review(session, first, by=people["evaluator"])
        review.start_review(session, ordered[1], by=people["evaluator"])
        review.complete_review(session, ordered[1], by=people["evaluator"])
        session.add(
            ImprovementAction(
                organization_id=ngos[0].id,
                rubric_code="xss-check",
                indicator_id="SG1",
                cycle_id=cycle.id,
                text=f"Action {PAYLOAD}",
                owner=f"Owner {PAYLOAD}",
                created_by_id=people["ngo"].id,
            )
        )
        session.commit()
        found = {
            "first": first.id,
            "verified": ordered[1].id,
            "cycle": cycle.id,
            "version": version,
            "ngo_id": ngos[0].id,
        }
    engine.dispose()
    return found


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def inert(page: Page, url: str, *, charts: int = 0) -> None:
    """Load ``url`` and check that nothing of the payload runs or renders as markup."""
    page.goto(url)
    if charts:  # every chart of the page drawn, at least ``charts`` of them
        page.wait_for_function(
            "(n) => document.querySelectorAll('.plotly-chart[data-drawn=\"true\"]').length >= n"
            " && !document.querySelector('.plotly-chart:not([data-drawn])')",
            arg=charts,
        )
    page.wait_for_load_state("load")
    assert page.evaluate(FOUND) == [], url
    assert page.evaluate("window.__violations") == [], url
    assert "phish" in page.content(), url  # the payload is there, as text


@pytest.fixture
def watched(page: Page) -> Iterator[tuple[Page, list[str]]]:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(WATCH)
    yield page, dialogs
    assert dialogs == []


def test_the_ngos_pages_show_hostile_text_as_text(live_server, hostile_world, watched):
    page, _dialogs = watched
    log_in(page, live_server, "ngo@xss.test")
    a = hostile_world["first"]
    inert(page, f"{live_server}/")
    inert(page, f"{live_server}/assessments/{a}")
    inert(page, f"{live_server}/assessments/{a}/page/0")
    inert(page, f"{live_server}/assessments/{a}/history")
    inert(page, f"{live_server}/assessments/{a}/plan")
    inert(page, f"{live_server}/organizations/{hostile_world['ngo_id']}/sharing")
    inert(page, f"{live_server}/reports/assessments/{a}", charts=2)


def test_the_funders_scorecard_and_dashboard_show_hostile_text_as_text(
    live_server, hostile_world, watched
):
    page, _dialogs = watched
    log_in(page, live_server, "funder@xss.test")
    inert(page, f"{live_server}/", charts=0)
    inert(page, f"{live_server}/reports/assessments/{hostile_world['verified']}", charts=2)
    inert(page, f"{live_server}/reports/dashboard?cycle={hostile_world['cycle']}", charts=3)


def test_the_evaluators_pages_show_hostile_text_as_text(live_server, hostile_world, watched):
    page, _dialogs = watched
    log_in(page, live_server, "evaluator@xss.test")
    a, number = hostile_world["first"], hostile_world["version"].number
    inert(page, f"{live_server}/assessments/{a}/review")
    inert(page, f"{live_server}/assessments/{a}/review/indicator/SG1")
    inert(page, f"{live_server}/assessments/{hostile_world['verified']}/verification")
    inert(page, f"{live_server}/assessments/cycles/{hostile_world['cycle']}")
    inert(page, f"{live_server}/rubrics/xss-check/{number}")
    inert(page, f"{live_server}/assessments/preview/{hostile_world['version'].id}/page/0")


def test_the_pdf_scorecards_html_shows_hostile_text_as_text(
    live_server, hostile_world, watched, monkeypatch
):
    """The PDF is drawn by WeasyPrint from HTML: that HTML, as rendered for the PDF, in
    Chromium under the app's CSP."""
    page, _dialogs = watched
    rendered: list[str] = []
    original = exports.render_pdf

    def keep(html: str) -> bytes:
        rendered.append(html)
        return original(html)

    monkeypatch.setattr(exports, "render_pdf", keep)
    log_in(page, live_server, "ngo2@xss.test")
    url = f"{live_server}/reports/assessments/{hostile_world['verified']}/scorecard.pdf"
    response = page.request.get(url)
    assert response.status == 200
    assert response.body().startswith(b"%PDF")
    assert rendered
    policy = f'<meta http-equiv="Content-Security-Policy" content="{CSP.split("; frame")[0]}">'
    page.set_content(rendered[-1].replace("<head>", f"<head>{policy}", 1))
    assert page.evaluate(FOUND) == []
    assert page.evaluate("window.__violations") == []
    assert "phish" in page.content()
