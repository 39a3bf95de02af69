"""End to end in Chromium: the demo funder opens the dashboard from the navigation, sees only
the NGOs that share with it, filters by country (the URL keeps the filter) and follows an NGO's
link to its scorecard."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Browser, Page, expect

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


# --- the whole journey: heatmap to scorecard to PDF, and a revocation seen everywhere -----------

NGO_A = "Hope and Home (NGO A)"
FUNDER = "Balkan Children's Fund"


def ngo_a_facts(database_url: str) -> dict[str, object]:
    """NGO A's country, its submitted (verified) assessment's id and that cycle's name, read
    from the live server's database file."""
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        country, assessment_id, cycle = connection.execute(
            """
            SELECT o.country, a.id, c.name FROM organization AS o
            JOIN assessment AS a ON a.organization_id = o.id
            JOIN assessment_cycle AS c ON c.id = a.cycle_id
            WHERE o.name = ? AND a.status = 'verified'
            """,
            (NGO_A,),
        ).fetchone()
    return {"country": country, "assessment_id": assessment_id, "cycle": cycle}


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def click_heatmap_row(page: Page, row: int, rows: int) -> None:
    """Click the first domain's cell of a heatmap row (plotly draws the cells in one image: the
    click lands on its drag layer, where plotly finds the cell)."""
    chart = page.locator(".plotly-chart[data-figure-id='heatmap-figure']")
    expect(chart).to_have_attribute("data-drawn", "true")
    chart.scroll_into_view_if_needed()
    area = chart.locator(".nsewdrag").first.bounding_box()
    assert area
    columns = 10  # the child-protection rubric's domains
    x = area["x"] + area["width"] / columns / 2
    y = area["y"] + area["height"] * (row + 0.5) / rows
    # Plotly clicks the point it last hovered: hover first, until its label shows.
    page.mouse.move(x, y)
    expect(chart.locator(".hoverlayer .hovertext").first).to_be_visible()
    page.mouse.click(x, y)


def test_heatmap_to_scorecard_to_pdf_and_a_revocation_seen_everywhere(
    page: Page, browser: Browser, live_server: str, live_database_url: str
) -> None:
    facts = ngo_a_facts(live_database_url)
    log_in(page, live_server, "funder@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.get_by_label("Cycle", exact=True).select_option(label=str(facts["cycle"]))
    page.get_by_label("Country", exact=True).select_option(value=str(facts["country"]))
    page.get_by_role("button", name="Show").click()
    query = parse_qs(urlparse(page.url).query)
    assert query["country"] == [facts["country"]]
    names = page.locator("table.dashboard tbody th a").all_inner_texts()
    assert NGO_A in names
    assert set(names) <= granting_ngos(live_database_url)

    click_heatmap_row(page, names.index(NGO_A), len(names))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Scorecard: {NGO_A}")
    assert page.url.endswith(f"/reports/assessments/{facts['assessment_id']}")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the scorecard (PDF)").click()
    download = info.value
    assert download.suggested_filename.startswith("scorecard-")
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trends").click()
    before = [int(n) for n in page.locator("td[data-ngos]").all_inner_texts()]

    # NGO A's admin revokes the grant (in another browser context).
    ngo = browser.new_context().new_page()
    log_in(ngo, live_server, "ngo-a@demo.test")
    ngo.get_by_role("navigation", name="Main").get_by_role("link", name="Sharing").click()
    ngo.get_by_role("link", name=f"Revoke access of {FUNDER}").click()
    ngo.get_by_role("button", name="Revoke access").click()
    expect(ngo.locator(".flash.success")).to_have_text(f"{FUNDER} no longer sees your results.")
    try:
        # At once, everywhere: the dashboard, the funder's home, the trends, the scorecard.
        page.goto(f"{live_server}/reports/dashboard?cycle=&country={facts['country']}")
        page.get_by_label("Cycle", exact=True).select_option(label=str(facts["cycle"]))
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
        assert NGO_A not in page.content()
        page.goto(f"{live_server}/")
        assert NGO_A not in page.content()
        page.goto(f"{live_server}/reports/trends")
        after = [int(n) for n in page.locator("td[data-ngos]").all_inner_texts()]
        assert sum(after) == sum(before) - 1  # NGO A's one submitted cycle left the cohort
        for path in ("", "/scorecard.pdf"):
            response = page.request.get(
                f"{live_server}/reports/assessments/{facts['assessment_id']}{path}"
            )
            assert response.status == 404
    finally:
        # Leave the demo as it was: NGO A shares every cycle with the funder.
        ngo.get_by_label("Funder", exact=True).select_option(label=FUNDER)
        ngo.get_by_label("All cycles, including later ones").check()
        ngo.get_by_role("button", name="Grant access").click()
        expect(ngo.locator(".flash.success")).to_be_visible()
        ngo.context.close()


def test_greek_charts_draw_in_greek_without_a_toolbar(browser: Browser, live_server: str) -> None:
    """Issue 10, section 7: plotly.js takes the page's language (the box labels of the app's
    catalogue, a decimal comma, as in the table) and draws no mode bar and nothing focusable."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("admin@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/reports/trends?lang=el")
    chart = page.locator(".plotly-chart").first
    expect(chart).to_have_attribute("data-drawn", "true", timeout=30_000)
    assert page.locator(".modebar").count() == 0
    focusable = "[tabindex], a, button, input, select, textarea"
    assert chart.locator(focusable).count() == 0  # nothing interactive inside role="img"
    chart.locator(".boxlayer path").first.hover(force=True)
    hover = page.locator(".hoverlayer text").all_text_contents()
    medians = [t for t in hover if "διάμεσος: " in t]
    assert medians, hover
    median = medians[0].split("διάμεσος: ")[1].rstrip(")")
    assert "," in median  # a Greek decimal comma, as in the table below
    assert median in page.locator("table.trends").inner_text()
    assert errors == []
    context.close()
