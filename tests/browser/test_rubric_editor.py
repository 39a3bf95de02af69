"""The rubric editor in a browser: one domain at a time, a question opened and edited in both
languages with Save in view, a removal confirmed with the keyboard, and axe-core on every
editor page at a phone's and a desktop's width.

The test starts its own draft of the demo's quick check and discards it at the end (through
the confirmation page), so the live server's data is as the other browser tests expect it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from webapp.demo import DEMO_PASSWORD

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
WIDTHS = (390, 1280)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # axe is evaluated as a script, which the page's Content-Security-Policy would refuse.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


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


def check(page: Page, problems: list[str]) -> None:
    """axe and the width check on the page shown, at both widths."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        where = f"{page.url} at {width} px"
        problems += [f"{where}: {v}" for v in serious_violations(page)]
        extra = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if extra > 0:
            problems.append(f"{where}: {extra} px wider than the screen")
    page.set_viewport_size({"width": 1280, "height": 800})


def press_tab_until(page: Page, text: str) -> None:
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == text:
            return
    pytest.fail(f"{text!r} is not reached with Tab")


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill("evaluator@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_editing_a_question_in_both_languages_and_removing_one_with_the_keyboard(
    browser: Browser, page: Page, live_server: str
) -> None:
    problems: list[str] = []
    log_in(page, live_server)

    page.goto(f"{live_server}/rubrics/quick-check")
    page.get_by_role("button", name="Start a new draft from this version").first.click()
    expect(page.get_by_role("link", name="Edit draft")).to_be_visible()
    draft_url = page.url
    check(page, problems)

    page.get_by_role("link", name="Edit draft").click()
    check(page, problems)  # the settings, with the list of domains open
    page.get_by_role("link", name="Services to survivors").click()
    expect(page).to_have_url(re.compile(r"/edit\?domain=SV$"))
    expect(page.get_by_role("heading", name="Domain SV")).to_be_visible()

    question = page.locator("details#d1i0q0")  # SV1_plans, folded
    expect(question.get_by_label("Question (en)")).to_be_hidden()
    question.locator("> summary").click()
    english, greek = question.get_by_label("Question (en)"), question.get_by_label("Question (el)")
    english.fill("Does every child have a written care plan?")
    greek.fill("Έχει κάθε παιδί γραπτό σχέδιο φροντίδας;")
    check(page, problems)  # a question open
    greek.scroll_into_view_if_needed()
    save = page.get_by_role("button", name="Save")
    expect(save).to_be_in_viewport()  # the bar stays in view ...
    form_bottom = page.evaluate(
        "() => document.getElementById('rubric-editor').getBoundingClientRect().bottom"
    )
    assert form_bottom > page.viewport_size["height"]  # ... while the form goes on below
    save.click()
    expect(page.locator(".flash.success")).to_contain_text("Saved.")
    question = page.locator("details#d1i0q0")
    expect(question).to_have_attribute("open", "")  # the question saved stays open
    expect(question.get_by_label("Question (en)")).to_have_value(
        "Does every child have a written care plan?"
    )
    expect(question.get_by_label("Question (el)")).to_have_value(
        "Έχει κάθε παιδί γραπτό σχέδιο φροντίδας;"
    )

    # Remove a question with the keyboard only: the link, then the confirmation's button (in a
    # <dialog> over the editor with JavaScript, on a page of its own without: see below).
    page.locator("details#d1i0q1 > summary").focus()
    page.keyboard.press("Enter")  # opens the question
    page.get_by_role("link", name="Remove question SV1_referral…").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Remove question SV1_referral?")).to_be_visible()
    expect(dialog.get_by_role("link", name="No, keep it")).to_be_focused()  # the safe choice
    check(page, problems)
    press_tab_until(page, "Yes, remove question SV1_referral")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_contain_text("Question SV1_referral was removed.")
    expect(page).to_have_url(re.compile(r"/edit\?domain=SV$"))
    expect(page.locator("details#d1i0q1")).to_have_count(0)

    # Without JavaScript the link leads to the confirmation page, reached with the keyboard too.
    plain = browser.new_context(java_script_enabled=False, bypass_csp=True)
    try:
        bare = plain.new_page()
        log_in(bare, live_server)
        bare.goto(page.url.replace("domain=SV", "domain=RS"))
        bare.locator("details#d2i0q1 > summary").focus()
        bare.keyboard.press("Enter")
        bare.get_by_role("link", name="Remove question RS1_outcomes…").focus()
        bare.keyboard.press("Enter")
        expect(bare.get_by_role("heading", name="Remove question RS1_outcomes?")).to_be_visible()
        expect(bare).to_have_url(re.compile(r"/edit/remove/question/RS1_outcomes$"))
        press_tab_until(bare, "Yes, remove question RS1_outcomes")
        bare.keyboard.press("Enter")
        expect(bare.locator(".flash.success")).to_contain_text("Question RS1_outcomes was removed.")
    finally:
        plain.close()

    page.goto(f"{draft_url}/edit/remove/domain/RS")  # a confirmation page of its own
    expect(page.get_by_role("heading", name="Remove domain RS?")).to_be_visible()
    check(page, problems)
    page.goto(f"{draft_url}/edit/remove/question/SV1_plans")  # refused: the last of SV1
    expect(page.get_by_role("alert")).to_contain_text("an indicator needs at least one question")
    check(page, problems)

    page.goto(draft_url)
    page.get_by_role("link", name="Discard this draft…").click()
    check(page, problems)
    page.get_by_role("button", name="Yes, discard this draft").click()
    expect(page.locator(".flash.success")).to_contain_text("was discarded")
    assert problems == [], "\n".join(problems)
