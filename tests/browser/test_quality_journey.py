"""End to end in Chromium: the demo evaluator reads last year's rubric quality (with agreement
between the two evaluators of the demo's double verification), tries other weights in the
what-if sandbox, and the second evaluator rates an assessment blind."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from webapp.demo import DEMO_PASSWORD, RUBRIC


def earliest_cycle(database_url: str) -> int:
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        (cycle_id,) = connection.execute(
            "SELECT id FROM assessment_cycle WHERE code LIKE ? ORDER BY code LIMIT 1",
            (f"{RUBRIC}-%",),
        ).fetchone()
    return int(cycle_id)


def log_in(page: Page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_the_evaluator_reads_rubric_quality_and_tries_other_weights(
    page: Page, live_server: str, live_database_url: str
) -> None:
    log_in(page, live_server, "evaluator@demo.test")
    page.goto(f"{live_server}/reports/quality/cycles/{earliest_cycle(live_database_url)}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rubric quality")
    expect(page.locator(".plotly-chart[data-drawn='true']").first).to_be_visible()
    alpha_rows = page.locator("#alpha-table tbody tr")
    expect(alpha_rows).to_have_count(10)  # the child-protection rubric's ten domains
    overall = page.locator("#rater-table tr.overall")
    expect(overall.locator(".stat").first).to_have_text(re.compile(r"^-?[01]\.\d\d$"))
    expect(overall.locator(".ci").first).to_have_text(re.compile(r"^\[.+, .+\]$"))

    page.get_by_role("link", name="What if the weights changed?").click()
    expect(page.locator("#sandbox")).to_be_visible()  # a published version: nothing is written
    first_weight = page.locator("#whatif-form input[name^='d_']").first
    name = first_weight.get_attribute("name")
    first_weight.fill("10")
    page.get_by_role("button", name="Show the effect").click()
    expect(page).to_have_url(re.compile(rf"{name}=10"))
    expect(page.locator("#tau")).to_contain_text("Kendall")
    expect(page.locator("#whatif-table tbody tr").first).to_be_visible()


def test_the_second_evaluator_rates_blind(page: Page, live_server: str) -> None:
    log_in(page, live_server, "second-evaluator@demo.test")
    page.goto(f"{live_server}/assessments/double")
    expect(page.get_by_role("heading", level=1)).to_have_text("Second verifications")
    row = page.locator("tbody tr", has_text="to do").first
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Second verification")
    expect(page.locator(".first")).to_have_count(0)  # the other evaluator's ratings: never shown
    select = page.locator("select").first
    select.select_option(index=2)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Your ratings are saved.")).to_be_visible()
