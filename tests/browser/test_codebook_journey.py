"""The codebook's pages in Chromium: they fit a phone and axe-core finds no serious problem,
and an evaluator reaches the editor and saves it with the keyboard alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_every_page import WIDTHS, log_in, problems_of


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 900})
    found = context.new_page()
    yield found
    context.close()


def test_the_codebook_pages_fit_a_phone_and_pass_axe(page: Page, live_server: str) -> None:
    log_in(page, live_server, "evaluator@demo.test")
    problems: list[str] = []
    for path in ("/codebook/", "/codebook/?q=policy", "/codebook/edit", "/reports/exports/"):
        for name, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            response = page.goto(f"{live_server}{path}")
            assert response is not None
            assert response.status == 200, path
            problems += problems_of(page, f"{path} at {name}", phone=name == "phone")
    assert problems == [], "\n".join(problems)


def test_an_evaluator_reaches_the_editor_and_saves_with_the_keyboard(
    page: Page, live_server: str
) -> None:
    log_in(page, live_server, "evaluator@demo.test")
    page.goto(f"{live_server}/codebook/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Codebook of shared indicators")
    page.get_by_role("link", name="Edit the codebook").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit the codebook")
    page.get_by_role("button", name="Save the codebook").focus()
    page.keyboard.press("Enter")  # the seed as it is: a first revision, nothing changed
    expect(page.locator("p.flash")).to_contain_text("The codebook is saved.")
