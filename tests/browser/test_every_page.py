"""Every page of every role, on a phone (390 px) and a desktop (1280 px): nothing is wider than
the screen, and axe-core finds no serious or critical accessibility problem.

The pages are found the way a person finds them: from the home page, by following the links
of each page (same site, GET, two clicks deep), one page per address pattern (``/assessments/7``
and ``/assessments/8`` are the same page with other data). A page added to the app is checked
as soon as something links to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from webapp.demo import DEMO_PASSWORD

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
WIDTHS = {"phone": 390, "desktop": 1280}
ROLES = [
    "ngo-a@demo.test",
    "evaluator@demo.test",
    "funder@demo.test",
    "admin@demo.test",
    "ngo-a-member@demo.test",  # an NGO's member, not its admin: fewer pages, none refused
]
# Addresses that are not pages: downloads, files, exports, actions reached by GET.
NOT_PAGES = re.compile(
    r"\.(pdf|csv|xlsx|sav|dta|yaml|yml|json|js|css|svg|png|zip)(\?|$)|/logout|/files/|/download"
    r"|/evidence/\d+$|print=1"
)
MAX_PAGES = 60  # per role: a bound, not a target (a crawl that grows past it fails, see below)


# A list's search, sort and page (accounts/lists.py, prefixed where a page has several lists)
# show the same page with other rows.
LIST_STATE = re.compile(r"(\w+_)?(q|sort|dir|page)")


def pattern(url: str) -> str:
    """The page an address shows, whatever its data: numbers, the query's values and a list's
    search, sort and page dropped."""
    parts = urlsplit(url)
    keys = {p.split("=")[0] for p in parts.query.split("&") if p}
    query = "&".join(sorted(k for k in keys if not LIST_STATE.fullmatch(k)))
    return re.sub(r"/\d+", "/N", parts.path) + ("?" + query if query else "")


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    return [
        href.split("#")[0]
        for href in hrefs
        if href.startswith(base) and not NOT_PAGES.search(href) and "lang=" not in href
    ]


def problems_of(page: Page, where: str, *, phone: bool) -> list[str]:
    found = [f"{where}: {v}" for v in serious_violations(page)]
    if phone and (extra := overflow(page)) > 0:
        found.append(f"{where}: {extra} px wider than the screen")
    return found


def crawl(page: Page, base: str) -> tuple[list[str], list[str]]:
    """Visit one address per page pattern on a phone, breadth first from the home page, two
    clicks deep, checking each; return the addresses visited and the problems found."""
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 900})
    seen = {pattern(f"{base}/")}
    visited: list[str] = []
    problems: list[str] = []
    frontier = [f"{base}/"]
    for depth in range(3):
        found = []
        for url in frontier:
            response = page.goto(url)
            if response is None or response.status != 200:
                continue
            visited.append(url)
            where = f"{url.removeprefix(base)} at {WIDTHS['phone']} px"
            problems += problems_of(page, where, phone=True)
            if depth == 2:
                continue
            for href in links(page, base):
                if (key := pattern(href)) not in seen:
                    seen.add(key)
                    found.append(href)
        frontier = found
    return visited, problems


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0: it fits)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def serious_violations(page: Page) -> list[str]:
    page.evaluate(AXE)
    results = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + json.dumps([node["target"] for node in v["nodes"]][:3])
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def role_page(browser: Browser) -> Iterator[Page]:
    # axe is evaluated as a script, which the page's Content-Security-Policy would refuse.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("email", ROLES)
def test_every_page_fits_a_phone_and_has_no_serious_accessibility_problem(
    role_page: Page, live_server: str, email: str
) -> None:
    page = role_page
    log_in(page, live_server, email)
    pages, problems = crawl(page, live_server)
    assert 3 < len(pages) <= MAX_PAGES, pages
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
    for url in pages:
        page.goto(url)
        where = f"{url.removeprefix(live_server)} at {WIDTHS['desktop']} px"
        problems += problems_of(page, where, phone=False)
    assert problems == [], "\n".join(problems)
