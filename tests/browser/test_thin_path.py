"""End to end in Chromium: log in as the demo NGO, answer everything, submit, see the chart."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from webapp.demo import DEMO_PASSWORD


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_ngo_answers_submits_and_sees_the_scorecard_chart(page: Page, live_server: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "ngo-a@demo.test")

    card = page.locator(".card", has_text="Safeguarding quick check")
    card.get_by_role("link", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Child safeguarding")

    # Page 1: safeguarding
    page.get_by_label(re.compile("^Established: The policy is signed")).check()
    page.locator("#q-SG1_focal").get_by_label("Yes", exact=True).check()
    page.get_by_label(re.compile("^Developing: References for some roles")).check()
    page.get_by_label(re.compile("^Leading: Concerns are logged")).check()
    page.get_by_role("button", name="Save and next").click()

    # Page 2: services (the shelter question is not applicable to this NGO)
    expect(page.get_by_role("heading", level=1)).to_have_text("Services to survivors")
    page.get_by_label(re.compile("^Established: A plan for every child.$")).check()
    page.get_by_label("Most (health, legal, shelter)").check()
    page.locator("#q-SV2_shelter").get_by_label("Not applicable").check()
    page.get_by_role("button", name="Save and next").click()

    # Page 3: results. The follow-up text question appears only after answering "Yes".
    expect(page.get_by_role("heading", level=1)).to_have_text("Measuring results")
    page.get_by_label(re.compile("^Developing: Records kept")).check()
    page.get_by_label(re.compile("^Initial: No follow-up")).check()
    changes = page.locator("#q-RS2_changes")
    expect(changes).to_be_hidden()
    page.locator("#q-RS2_evaluated").get_by_label("Yes", exact=True).check()
    expect(changes).to_be_visible()
    changes.locator("textarea").first.fill("We now follow up at six months.")
    page.get_by_role("button", name="Save and review").click()

    page.get_by_role("link", name="Submit the assessment…").click()
    page.get_by_role("button", name="Yes, submit the assessment").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Scorecard")
    expect(page.locator(".headline .big")).to_have_text("68.8")  # 68.75: one decimal, halves up
    chart = page.locator(".plotly-chart")
    expect(chart).to_have_attribute("data-drawn", "true", timeout=30_000)
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    assert chart.locator(".bars .point").count() == 3
    assert errors == []
