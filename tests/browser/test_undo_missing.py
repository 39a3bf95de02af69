"""In Chromium: "don't know" and "not applicable" clicked by mistake can be undone (issue 8,
found by a new user), and a date question shows and hides the question it governs live."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

import webapp.models_registry  # noqa: F401  (every table in the metadata)
from accounts import services as accounts
from accounts.models import Organization, OrgKind, Role
from rubrics import services as rubrics
from rubrics.loader import load_rubric_text
from surveys.cycles.services import open_cycle
from surveys.models import Assessment
from webapp.demo import DEMO_PASSWORD

EMAIL = "undo@demo.test"
RUBRIC = """
id: undo-check
title: {en: Undo check}
languages: [en]
default_language: en
scale: {min: 1, max: 4, levels: [{level: 1, label: Initial}, {level: 2, label: Developing},
        {level: 3, label: Established}, {level: 4, label: Leading}]}
domains:
  - id: D
    label: {en: Staff and shelter}
    indicators:
      - id: I
        label: {en: Staff}
        questions:
          - id: staff
            type: number
            label: {en: "How many social workers do you employ?"}
            number: {method: linear, low: 0, high: 10}
            missing: {allow_dont_know: true}
          - id: shelter
            type: maturity
            label: {en: "How well does your shelter meet minimum standards?"}
            missing: {allow_not_applicable: true}
            levels:
              - {level: 1, descriptor: "Standards not known."}
              - {level: 2, descriptor: "Some standards met."}
              - {level: 3, descriptor: "All standards met."}
              - {level: 4, descriptor: "Standards audited yearly."}
          - id: founded
            type: date
            label: {en: "When was the organisation registered?"}
          - id: early
            type: text
            label: {en: "What did you do before 2020?"}
            relevant: "${founded} < date('2020-01-01')"
"""


@pytest.fixture(scope="module")
def assessment_id(live_server: str, live_database_url: str) -> Iterator[int]:
    """An NGO of its own with an assessment of the rubric above (other tests share the demo)."""
    engine = sa.create_engine(live_database_url)
    with Session(engine) as session:
        org = Organization(code="ngo-undo", name="Undo NGO", kind=OrgKind.NGO, country="GR")
        session.add(org)
        session.flush()
        user = accounts.create_user(session, email=EMAIL, name="Uma", password=DEMO_PASSWORD)
        accounts.add_membership(session, user=user, role=Role.NGO_ADMIN, organization=org)
        version = rubrics.publish(session, rubrics.store_rubric(session, load_rubric_text(RUBRIC)))
        cycle = open_cycle(
            session,
            code="undo-check",
            name="Undo check",
            version=version,
            organizations=[org],
            opens_on=date.today(),
            closes_on=date.today() + timedelta(days=30),
        )
        session.commit()
        found = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
        yield found.id  # type: ignore[misc]
    engine.dispose()


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_dont_know_and_not_applicable_clicked_by_mistake_are_undone(
    page: Page, live_server: str, assessment_id: int
) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server)
    url = f"{live_server}/assessments/{assessment_id}/page/0"
    page.goto(url)
    staff = page.locator("#q-staff")
    dont_know = staff.get_by_label("Don't know")
    number = page.locator("#q_staff")

    # Clicked by mistake, then the number typed: the page says to choose one, and the
    # tick can be taken back.
    dont_know.check()
    number.fill("12")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#err-staff")).to_contain_text('Choose either an answer or "don\'t know"')
    expect(number).to_have_value("12")
    expect(dont_know).to_be_checked()
    dont_know.uncheck()
    expect(dont_know).not_to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(number).to_have_value("12")
    expect(dont_know).not_to_be_checked()

    # "Not applicable" among a question's levels goes back to no answer.
    shelter = page.locator("#q-shelter")
    shelter.get_by_label("Not applicable").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(shelter.get_by_label("Not applicable")).to_be_checked()
    shelter.get_by_label("No answer yet").check()
    expect(shelter.get_by_label("Not applicable")).not_to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(shelter.get_by_label("Not applicable")).not_to_be_checked()
    expect(shelter.locator("input[type=radio]:checked")).to_have_count(0)

    # A date: typed in the browser's date input, it shows the question it governs, live.
    early = page.locator("#q-early")
    expect(early).to_be_hidden()
    page.locator("#q_founded").fill("2019-05-17")
    expect(early).to_be_visible()
    page.locator("#q_founded").fill("2021-05-17")
    expect(early).to_be_hidden()
    page.locator("#q_founded").fill("2018-01-02")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#q_founded")).to_have_value("2018-01-02")
    expect(early).to_be_visible()
    page.get_by_role("link", name="History of changes").click()
    expect(page.locator("table.history")).to_contain_text("2018-01-02")
    expect(page.locator("table.history")).to_contain_text("12")
    # The one 422 is the refused save above, which the browser logs; nothing else went wrong.
    assert [p for p in problems if "status of 422" not in p] == []
