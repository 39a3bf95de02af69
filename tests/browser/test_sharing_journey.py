"""End to end in Chromium: NGO B's admin grants the demo funder access to one cycle, the funder
sees NGO B (that cycle only); the admin revokes (confirming first, by keyboard) and the funder's
next page no longer shows NGO B. The demo's state is left as it was (NGO B shares with no one).
"""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Browser, Locator, Page, expect

from webapp.demo import DEMO_PASSWORD

NGO_B = "Safe Passage (NGO B)"
FUNDER = "Balkan Children's Fund"
QUICK_CHECK = f"Safeguarding quick check {date.today().year}"
CHILD_PROTECTION = f"Child-protection effectiveness {date.today().year}"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def shared_rows(page: Page) -> list[str]:
    """The rows of the funder's "Shared with your organisation" table that are NGO B's."""
    page.goto(page.url)
    rows = page.locator("section", has_text="Shared with your organisation").locator("tbody tr")
    return [text for text in rows.all_inner_texts() if NGO_B in text]


def funder_row(page: Page) -> Locator:
    """The demo funder's row in the Sharing page's table of funders."""
    return page.locator("table.sharing").get_by_role("row", name=FUNDER)


def test_an_ngo_grants_a_funder_access_and_revokes_it(
    page: Page, browser: Browser, live_server: str
) -> None:
    funder_context = browser.new_context()
    funder = funder_context.new_page()
    log_in(funder, live_server, "funder@demo.test")
    assert shared_rows(funder) == []  # NGO B shares with no one

    log_in(page, live_server, "ngo-b@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sharing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Sharing: who sees the results of {NGO_B}"
    )
    expect(funder_row(page)).to_contain_text("No access")
    page.get_by_label("Funder", exact=True).select_option(label=FUNDER)
    page.get_by_label("Only the cycles chosen below").check()
    page.get_by_label(QUICK_CHECK).check()
    page.get_by_role("button", name="Grant access").click()
    expect(page.locator(".flash.success")).to_have_text(
        f"{FUNDER} now sees the results of the chosen cycles."
    )
    expect(funder_row(page)).to_contain_text(QUICK_CHECK)
    expect(page.locator("table.sharing-history tbody tr")).to_have_count(1)

    rows = shared_rows(funder)
    assert len(rows) == 1
    assert QUICK_CHECK in rows[0]  # the chosen cycle, not the other
    assert all(CHILD_PROTECTION not in row for row in rows)

    # Revoke with the keyboard: focus the link, Enter; the confirmation page, Enter on its button.
    page.get_by_role("link", name=f"Revoke access of {FUNDER}").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Revoke the access of {FUNDER}?")
    page.get_by_role("button", name="Revoke access").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_have_text(f"{FUNDER} no longer sees your results.")
    expect(funder_row(page)).to_contain_text("No access")
    history = page.locator("table.sharing-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Access revoked")
    expect(history.first).to_contain_text("Besnik (NGO B)")

    assert shared_rows(funder) == []  # at once, on the funder's next page
    funder_context.close()


def test_the_sharing_page_fits_a_phone_screen(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    phone = context.new_page()
    log_in(phone, live_server, "ngo-a@demo.test")
    phone.get_by_role("link", name="Sharing").first.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Sharing")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    expect(phone.get_by_role("button", name="Grant access")).to_be_visible()
    context.close()
