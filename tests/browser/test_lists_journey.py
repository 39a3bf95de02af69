"""End to end in Chromium: an admin narrows the organisations to the demo's 40 NGOs, sorts them by
country with the keyboard (and back the other way), goes to the next page and searches: each
step is a plain link or GET form, so the state is in the address and survives every step.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from webapp.demo import DEMO_PASSWORD


def test_an_admin_filters_sorts_pages_and_searches_the_organisations(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("admin@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/organizations")
    count = page.locator(".list-count")

    page.get_by_label("Kind", exact=True).select_option(value="ngo")
    page.get_by_label("Search by name or code").press("Enter")  # the keyboard submits the form
    expect(count).to_have_text(re.compile("^Showing 1\u201325 of \\d+$"))
    total = int(count.inner_text().split()[-1])  # the demo's 40, and any other test's NGOs
    assert total >= 40
    assert "kind=ngo" in page.url

    header = page.get_by_role("columnheader", name="Country")
    header.get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "ascending")
    countries = page.locator("table.organizations tbody tr td:nth-child(4)")
    expect(countries.first).to_have_text("Albania")
    header.get_by_role("link").click()  # again: the other way
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(countries.first).to_have_text("Kosovo")  # by country code: XK last
    expect(page.locator("th[aria-sort]")).to_have_count(1)

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    expect(count).to_have_text(f"Showing 26\u2013{min(total, 50)} of {total}")
    for part in ("kind=ngo", "sort=country", "dir=desc", "page=2"):
        assert part in page.url
    expect(page.get_by_label("Kind", exact=True)).to_have_value("ngo")  # the form remembers
    expect(header).to_have_attribute("aria-sort", "descending")

    page.get_by_label("Search by name or code").fill("hope")
    page.get_by_role("button", name="Search").click()
    expect(count).to_have_text("Showing 1\u20131 of 1")  # a new search starts at the first page
    expect(page.locator("table.organizations tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Hope and Home (NGO A)")).to_be_visible()
    assert "sort=country" in page.url  # the order chosen is kept
