"""End to end in Chromium: the demo funder opens the dashboard from the navigation, sees only
the NGOs that share with it, filters by country (the URL keeps the filter) and follows an NGO's
link to its scorecard."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

from webapp.demo import DEMO_PASSWORD


def granting_ngos(database_url: str) -> set[str]:
    """The names of the NGOs with a live grant to the demo funder's organisation, read from the
    live server's database file."""
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            """
            SELECT ngo.name FROM accessgrant AS g
            JOIN organization AS ngo ON ngo.id = g.ngo_id
            JOIN membership AS m ON m.organization_id = g.funder_id
            JOIN user AS u ON u.id = m.user_id
            WHERE u.email = 'funder@demo.test' AND g.revoked_at IS NULL
            """
        ).fetchall()
    return {name for (name,) in rows}


def table_column(page: Page, index: int) -> list[str]:
    return (
        page.locator("table.dashboard tbody tr").locator(f":nth-child({index})").all_inner_texts()
    )


def test_the_funder_compares_its_granting_ngos_and_opens_a_scorecard(
    page: Page, live_server: str, live_database_url: str
) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("funder@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    # The charts are drawn (plotly.js from the app itself, no inline script).
    expect(page.locator(".plotly-chart[data-drawn='true']").first).to_be_visible()

    names = page.locator("table.dashboard tbody th a").all_inner_texts()
    assert names
    assert set(names) <= granting_ngos(live_database_url)
    assert "Safe Passage (NGO B)" not in page.content()

    country = table_column(page, 4)[0]
    page.get_by_label("Country", exact=True).select_option(label=country)
    page.get_by_role("button", name="Show").click()
    assert parse_qs(urlparse(page.url).query)["country"]
    countries = table_column(page, 4)
    assert countries
    assert set(countries) == {country}

    first = page.locator("table.dashboard tbody th a").first
    name = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Scorecard: {name}")
