"""End to end in Chromium: a funder and an evaluator open the export page, choose a cycle and a
format, download the file (a real browser download), and the file opens (csv module, openpyxl)
holding exactly the assessments that person may see: the funder's granted NGOs, the
evaluator's assigned cycle. What each may see is read here with plain SQL from the grant and
assignment tables, not through the app's permissions core."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import openpyxl
from playwright.sync_api import Page, expect

from tests.browser.test_quality_journey import earliest_cycle, log_in


def _query(database_url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql, args).fetchall()


def granted_assessments(database_url: str, email: str, cycle_id: int) -> set[int]:
    """The cycle's assessments of NGOs that granted the user's funder organisation access
    (live grants: all cycles, or this one among those chosen)."""
    rows = _query(
        database_url,
        """
        SELECT a.id FROM assessment a
        JOIN accessgrant g ON g.ngo_id = a.organization_id AND g.revoked_at IS NULL
        JOIN membership m ON m.organization_id = g.funder_id AND m.role = 'funder'
        JOIN user u ON u.id = m.user_id AND u.email = ?
        WHERE a.cycle_id = ? AND (g.all_cycles OR EXISTS (
            SELECT 1 FROM access_grant_cycle c WHERE c.grant_id = g.id AND c.cycle_id = a.cycle_id))
        """,
        email,
        cycle_id,
    )
    return {int(r[0]) for r in rows}  # type: ignore[call-overload]


def assigned_assessments(database_url: str, email: str, cycle_id: int) -> set[int]:
    """The cycle's assessments, if the user is assigned to it as an evaluator."""
    rows = _query(
        database_url,
        """
        SELECT a.id FROM assessment a
        JOIN cycle_evaluator e ON e.cycle_id = a.cycle_id
        JOIN user u ON u.id = e.user_id AND u.email = ?
        WHERE a.cycle_id = ?
        """,
        email,
        cycle_id,
    )
    return {int(r[0]) for r in rows}  # type: ignore[call-overload]


def cycle_size(database_url: str, cycle_id: int) -> int:
    """How many assessments the cycle holds in all (to show a viewer gets fewer)."""
    rows = _query(database_url, "SELECT count(*) FROM assessment WHERE cycle_id = ?", cycle_id)
    return int(rows[0][0])  # type: ignore[call-overload]


def download(page: Page, button: str, folder: Path) -> Path:
    with page.expect_download() as info:
        # the first form (every assessment's answers), not "By shared indicator" below it
        page.locator("form").filter(has=page.locator("#e-shape")).get_by_role(
            "button", name=button
        ).click()
    made = info.value
    target = folder / made.suggested_filename
    made.save_as(target)
    return target


def choose_cycle(page: Page, live_server: str, cycle_id: int) -> None:
    page.goto(f"{live_server}/reports/exports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data exports")
    page.get_by_label("Cycle").select_option(str(cycle_id))
    page.locator("#e-shape").select_option("wide")


def test_a_funder_downloads_the_csv_of_the_ngos_that_granted_it_access(
    page: Page, live_server: str, live_database_url: str, tmp_path: Path
) -> None:
    cycle_id = earliest_cycle(live_database_url)
    expected = granted_assessments(live_database_url, "funder@demo.test", cycle_id)
    assert expected
    assert len(expected) < cycle_size(live_database_url, cycle_id)  # not the whole cycle
    log_in(page, live_server, "funder@demo.test")
    choose_cycle(page, live_server, cycle_id)
    page.get_by_label("Answers written as").select_option("labels")
    path = download(page, "Download CSV", tmp_path)
    assert path.suffix == ".csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {int(row["assessment_id"]) for row in rows} == expected
    assert len(rows) == len(expected)  # one row per assessment
    assert {row["cycle"] for row in rows} == {
        str(
            _query(live_database_url, "SELECT code FROM assessment_cycle WHERE id = ?", cycle_id)[
                0
            ][0]
        )
    }


def test_an_evaluator_downloads_the_xlsx_of_the_cycle_they_are_assigned_to(
    page: Page, live_server: str, live_database_url: str, tmp_path: Path
) -> None:
    cycle_id = earliest_cycle(live_database_url)
    expected = assigned_assessments(live_database_url, "evaluator@demo.test", cycle_id)
    assert expected
    log_in(page, live_server, "evaluator@demo.test")
    choose_cycle(page, live_server, cycle_id)
    path = download(page, "Download XLSX (with codebook)", tmp_path)
    assert path.suffix == ".xlsx"
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["data", "codebook"]
    data = book["data"].iter_rows(values_only=True)
    header = list(next(data))
    # openpyxl leaves the empty cells at the end of a row out
    rows = [
        dict(zip(header, [*row, *[None] * (len(header) - len(row))], strict=True)) for row in data
    ]
    assert {int(row["assessment_id"]) for row in rows} == expected  # type: ignore[call-overload]
    assert len(rows) == len(expected)
    codebook = [row[0] for row in book["codebook"].iter_rows(values_only=True)]
    assert set(header) <= set(codebook[1:])  # every column is described in the codebook
    book.close()
