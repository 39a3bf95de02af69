"""End to end in Chromium: a visitor (not logged in) searches and filters the directory and
opens NGO A's profile; NGO A's admin keeps its contact e-mail to its own people, and the
visitor's next look no longer shows it. The demo is left as it was (the e-mail public again).
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from webapp.demo import DEMO_PASSWORD

NGO_A = "Hope and Home (NGO A)"
EMAIL = "info@a.example.org"  # NGO A's demo contact (webapp/demo_profiles.py)


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def keep_email_private(page: Page, private: bool) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Our profile").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Profile of {NGO_A}")
    group = page.get_by_role("group", name="Keep these fields to our own people")
    group.get_by_label("Contact e-mail").set_checked(private)
    page.get_by_role("button", name="Save the profile").click()
    expect(page.locator(".flash.success")).to_have_text("The profile is saved.")


def test_a_visitor_finds_an_ngo_and_sees_only_what_it_made_public(
    page: Page, browser: Browser, live_server: str
) -> None:
    # The visitor: from the login page to the directory, a search, a filter, a profile.
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Directory").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory of organisations")
    page.get_by_label("Search by name, city or service").fill("hope")
    page.get_by_role("button", name="Search").click()
    results = page.locator(".directory-results h3")
    expect(results).to_have_text([NGO_A])
    page.get_by_label("Search by name, city or service").fill("")
    page.get_by_label("Kind", exact=True).select_option(label="Government agency")
    page.get_by_label("Country", exact=True).select_option(label="Albania")
    page.get_by_role("button", name="Search").click()
    assert "kind=government" in page.url  # the filters are in the URL: a link to share
    assert "country=AL" in page.url
    expect(results).to_have_text(["National Anti-Trafficking Coordination Office"])
    page.get_by_role("link", name="Clear the filters").click()
    page.get_by_label("Country", exact=True).select_option(label="Albania")
    page.get_by_label("Focus area").select_option(label="Shelter and care")
    page.keyboard.press("Enter")  # a keyboard submits the search as well
    expect(results.filter(has_text=NGO_A)).to_have_count(1)
    page.get_by_role("link", name=NGO_A).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NGO_A)
    expect(page.get_by_text(EMAIL)).to_be_visible()
    expect(page.get_by_text("takes part in the network's assessments")).to_be_visible()
    profile_url = page.url

    # NGO A's admin keeps the e-mail to the NGO's own people.
    admin_context = browser.new_context()
    admin = admin_context.new_page()
    log_in(admin, live_server, "ngo-a@demo.test")
    keep_email_private(admin, True)
    admin.goto(profile_url)
    expect(admin.get_by_text(EMAIL)).to_be_visible()  # its own people still see it

    page.goto(profile_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(NGO_A)
    expect(page.get_by_text(EMAIL)).to_have_count(0)

    keep_email_private(admin, False)  # the demo as it was
    page.goto(profile_url)
    expect(page.get_by_text(EMAIL)).to_be_visible()
    admin_context.close()
