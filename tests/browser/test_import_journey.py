"""In Chromium, on a phone: the demo evaluator uploads an ODK Central export of the safeguarding
quick check and reads the dry run (which stores nothing, so the shared demo stays as it is):
per row its organisation or why it is refused, per cell what is rejected, on a page that fits
the screen and has no serious accessibility problem."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from webapp.demo import DEMO_PASSWORD

AXE = Path(__file__).parent / "vendor" / "axe.min.js"

# Central's CSV of a form exported from the quick check (XLSForm names are the question ids;
# groups are the domains and indicators, joined by "-").
HEADER = [
    "SubmissionDate", "org_code", "SG-SG1-SG1_policy", "SG-SG1-SG1_focal",
    "SV-SV1-SV1_referral", "meta-instanceID", "KEY", "SubmitterID", "SubmitterName",
    "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
    "FormVersion",
]  # fmt: skip
ROWS = [
    ["2026-03-05T08:30:00.000Z", "ngo-a", "3", "yes", "some", "uuid:1", "uuid:1", "5", "c", "0",
     "0", "", "", "collect:1", "0", "1"],
    ["2026-03-05T08:31:00.000Z", "ngo-b", "2", "perhaps", "all", "uuid:2", "uuid:2", "5", "c",
     "0", "0", "", "", "collect:1", "0", "1"],
    ["2026-03-05T08:32:00.000Z", "nobody", "1", "no", "none", "uuid:3", "uuid:3", "5", "c", "0",
     "0", "", "", "collect:1", "0", "1"],
]  # fmt: skip


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized page that lets axe-core's inline script through the CSP."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def quick_check_cycle(database_url: str) -> int:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        (cycle_id,) = connection.execute(
            "SELECT id FROM assessment_cycle WHERE code LIKE 'quick-check-%'"
        ).fetchone()
    return int(cycle_id)


def answer_count(database_url: str) -> int:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT count(*) FROM answer_revision").fetchone()[0])


def test_the_evaluator_reads_the_dry_run_of_an_odk_export(
    phone: Page, live_server: str, live_database_url: str, tmp_path: Path
) -> None:
    export = tmp_path / "quick_check.csv"
    export.write_text("\n".join(",".join(row) for row in [HEADER, *ROWS]) + "\n")
    before = answer_count(live_database_url)
    phone.goto(f"{live_server}/login")
    phone.get_by_label("E-mail").fill("evaluator@demo.test")
    phone.get_by_label("Password").fill(DEMO_PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    cycle_id = quick_check_cycle(live_database_url)
    phone.goto(f"{live_server}/assessments/cycles/{cycle_id}")
    phone.get_by_role("link", name="Import answers from KoboToolbox or ODK").click()
    phone.get_by_label("Export file").set_input_files(str(export))
    phone.get_by_role("button", name="Check the file").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Dry run: quick_check.csv")
    expect(phone.locator("#row-2")).to_contain_text("Hope and Home")
    expect(phone.locator("#row-4")).to_contain_text("no organisation has the code")
    phone.locator("#row-3 summary").click()
    expect(phone.locator("#row-3")).to_contain_text(
        "“perhaps” is not an option code of this question (options: yes, no)"
    )
    width = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"{width} px wider than the phone"
    phone.add_script_tag(path=str(AXE))
    violations = phone.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    serious = [
        f"{v['id']}: {json.dumps([n['target'] for n in v['nodes']][:3])}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    phone.get_by_role("button", name="Check again").click()
    expect(phone.get_by_text("Nothing has been stored yet.")).to_be_visible()
    assert answer_count(live_database_url) == before  # the dry run stored nothing
