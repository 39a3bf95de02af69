"""End to end in Chromium: an NGO submits, an admin assigns the demo evaluator to the cycle, the
evaluator verifies two indicators and completes the review, and the NGO sees the verified
ratings next to its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

import webapp.models_registry  # noqa: F401  (every table in the metadata)
from accounts.models import Organization, User
from surveys import answers as store
from surveys.models import Assessment, AssessmentCycle
from webapp.demo import DEMO_PASSWORD

# NGO B's answers to rubrics/library/quick-check.yaml (NGO A's are the thin-path test's).
ANSWERS = {
    "SG1_policy": 3,
    "SG1_focal": "yes",
    "SG2_vetting": 3,
    "SG2_incidents": 3,
    "SV1_plans": 3,
    "SV1_referral": "most",
    "SV2_shelter": "__na__",
    "RS1_data": 2,
    "RS1_outcomes": 2,
    "RS2_evaluated": "no",
}


@pytest.fixture(scope="module")
def live_engine(live_server: str, live_database_url: str) -> Iterator[sa.Engine]:
    """The live server's database (see conftest.live_server)."""
    engine = sa.create_engine(live_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def ngo_b_answers(live_engine: sa.Engine) -> int:
    """NGO B's quick-check assessment, answered but not submitted: its id."""
    with Session(live_engine) as session:
        assessment = session.exec(
            select(Assessment)
            .join(AssessmentCycle, AssessmentCycle.id == Assessment.cycle_id)  # type: ignore[arg-type]
            .join(Organization, Organization.id == Assessment.organization_id)  # type: ignore[arg-type]
            .where(
                AssessmentCycle.code == f"quick-check-{date.today().year}",
                Organization.code == "ngo-b",
            )
        ).one()
        user = session.exec(select(User).where(User.email == "ngo-b@demo.test")).one()
        store.save_answers(session, assessment, values=ANSWERS, base_versions={}, user=user)
        session.commit()
        return assessment.id  # type: ignore[return-value]


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("E-mail")).to_be_visible()


def open_cycle_page(page: Page, base: str) -> None:
    page.goto(f"{base}/assessments/cycles")
    page.get_by_role("link", name=f"Safeguarding quick check {date.today().year}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Safeguarding quick check {date.today().year}"
    )


def test_an_evaluator_verifies_two_indicators_and_the_ngo_sees_the_verified_ratings(
    page: Page, live_server: str, ngo_b_answers: int
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    assessment_id = ngo_b_answers

    # The NGO submits its answered self-assessment.
    log_in(page, live_server, "ngo-b@demo.test")
    page.goto(f"{live_server}/assessments/{assessment_id}/submit")
    page.get_by_role("button", name="Yes, submit the assessment").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Scorecard")
    page.goto(f"{live_server}/assessments/{assessment_id}/verification")
    expect(page.locator(".pending")).to_contain_text("once the evaluator has completed")
    log_out(page)

    # The admin assigns the demo evaluator to the cycle (unless the demo data already does).
    log_in(page, live_server, "admin@demo.test")
    open_cycle_page(page, live_server)
    evaluator = page.get_by_label("Elena (evaluator) (evaluator@demo.test)")
    if evaluator.count():
        evaluator.check()
        page.get_by_role("button", name="Assign the evaluators").click()
        expect(page.get_by_text("Evaluators assigned.")).to_be_visible()
    expect(page.locator(".evaluators")).to_contain_text("evaluator@demo.test")
    log_out(page)

    # The evaluator reviews NGO B: two indicators, then completes the review.
    log_in(page, live_server, "evaluator@demo.test")
    open_cycle_page(page, live_server)
    row = page.get_by_role("row", name=re.compile("Safe Passage"))
    expect(row).to_contain_text("submitted")
    row.get_by_role("link", name="Review").click()
    page.get_by_role("button", name="Start the review").click()
    expect(page.locator(".badge").first).to_have_text("in review")

    page.get_by_role("link", name="Review Policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Policy")
    policy = page.locator("#q-SG1_policy")
    expect(policy.locator(".own")).to_have_text(
        "3 · Established: The policy is signed by all staff and volunteers."
    )
    policy.get_by_label("Initial: No written policy.").check()
    page.get_by_label("Note on this indicator").fill("Only an unsigned draft was shown.")
    page.get_by_role("button", name="Save and next indicator").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Practice")
    page.locator("#q-SG2_vetting").get_by_label("Developing: References for some roles.").check()
    page.get_by_label("Note on this indicator").fill("Record checks missing for two volunteers.")
    page.get_by_role("button", name="Save and back to the review").click()

    expect(page.get_by_role("row", name=re.compile("Policy"))).to_contain_text("ratings changed")
    page.get_by_role("button", name="Complete the review").click()
    expect(page.get_by_text("Review complete")).to_be_visible()
    expect(page.locator(".badge").first).to_have_text("verified")
    log_out(page)

    # The NGO sees the verified ratings and notes next to its own.
    log_in(page, live_server, "ngo-b@demo.test")
    page.goto(f"{live_server}/assessments/{assessment_id}/verification")
    policy_row = page.locator("#indicator-SG1").get_by_role("row", name=re.compile("policy"))
    expect(policy_row.locator("td").first).to_have_text(
        "3 · Established: The policy is signed by all staff and volunteers."
    )
    expect(policy_row.locator("td.verified")).to_contain_text("1 · Initial: No written policy.")
    expect(page.locator("#indicator-SG1 .note")).to_contain_text("Only an unsigned draft")
    expect(page.locator("#indicator-SG2 .note")).to_contain_text("Record checks missing")
    expect(page.locator(".verified-overall")).to_have_text(re.compile(r"^\d+(\.\d)?"))
    assert errors == []
