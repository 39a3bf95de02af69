"""Write the import fixtures: a small self-assessment XLSForm and exports of its submissions as
KoboToolbox and ODK Central write them (see README.md beside this file for the pages followed).

Run from the repository root: ``.venv/bin/python tests/data/imports/make_fixtures.py``. The
files are committed; this script says how they were made.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent

SURVEY = [
    ("type", "name", "label", "required", "relevant", "number_scoring", "score_linear"),
    ("start", "start", "", "", "", "", ""),
    ("end", "end", "", "", "", "", ""),
    ("text", "org_code", "Organisation code", "yes", "", "", ""),
    ("begin_group", "gov", "Governance", "", "", "", ""),
    ("begin_group", "policy", "Safeguarding policy", "", "", "", ""),
    ("select_one yes_no", "has_policy", "Do you have a written safeguarding policy?", "yes", "",
     "", ""),
    ("select_one quality", "policy_quality", "How far along is the policy?", "",
     "${has_policy} = 'yes'", "", ""),
    ("end_group", "", "", "", "", "", ""),
    ("begin_group", "staff", "Staff", "", "", "", ""),
    ("integer", "staff_trained", "How many staff were trained this year?", "", "", "linear",
     "0..20"),
    ("select_multiple topics", "training_topics", "Which topics did the training cover?", "",
     "", "", ""),
    ("end_group", "", "", "", "", "", ""),
    ("end_group", "", "", "", "", "", ""),
    ("begin_group", "services", "Services", "", "", "", ""),
    ("text", "notes", "Anything else?", "", "", "", ""),
    ("date", "last_review", "When was the policy last reviewed?", "", "", "", ""),
    ("end_group", "", "", "", "", "", ""),
]  # fmt: skip
CHOICES = [
    ("list_name", "name", "label", "score"),
    ("yes_no", "yes", "Yes", 4),
    ("yes_no", "no", "No", 1),
    ("quality", "none", "None yet", 1),
    ("quality", "draft", "A draft", 2),
    ("quality", "adopted", "Adopted by the board", 4),
    ("topics", "online", "Online safety", ""),
    ("topics", "referral", "Referral pathways", ""),
    ("topics", "reporting", "Reporting concerns", ""),
]
SETTINGS = [
    ("form_title", "form_id", "version", "default_language"),
    ("NGO self-check", "ngo_self_check", "2026-1", "English (en)"),
]
TOPICS = ("online", "referral", "reporting")

# The submissions: (org cell, has_policy, policy_quality, staff_trained, topics, notes,
# last_review, instance uuid). NGO B's has an invalid choice, a number out of range and an
# unknown topic; ngo-x exists but is not in the cycle; "unknown-org" is nobody.
SUBMISSIONS = [
    ("ngo-a", "yes", "adopted", "12", "online reporting", "Weekly supervision", "2026-03-01",
     "5b1c8d0e-4c7a-4d5e-9f55-1a2b3c4d5e01"),
    ("ngo-b", "maybe", "", "10000000000000", "online phishing", "", "",
     "5b1c8d0e-4c7a-4d5e-9f55-1a2b3c4d5e02"),
    ("ngo-x", "no", "", "3", "", "", "", "5b1c8d0e-4c7a-4d5e-9f55-1a2b3c4d5e03"),
    ("unknown-org", "yes", "draft", "1", "referral", "", "",
     "5b1c8d0e-4c7a-4d5e-9f55-1a2b3c4d5e04"),
]  # fmt: skip


def write_xlsform() -> None:
    book = Workbook()
    sheets = {"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS}
    for sheet, rows in sheets.items():
        ws = book.active if sheet == "survey" else book.create_sheet()
        ws.title = sheet
        for row in rows:
            ws.append(list(row))
    book.save(HERE / "self_assessment.xlsx")


def kobo_header(*, summary: bool, details: bool) -> list[str]:
    """KoboToolbox, "XML values and headers", "Include groups in headers", separator "/"."""
    header = ["start", "end", "org_code", "gov/policy/has_policy", "gov/policy/policy_quality",
              "gov/staff/staff_trained"]  # fmt: skip
    if summary:
        header.append("gov/staff/training_topics")
    if details:
        header += [f"gov/staff/training_topics/{t}" for t in TOPICS]
    header += ["services/notes", "services/last_review"]
    header += ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
               "_submitted_by", "__version__", "_tags", "_index"]  # fmt: skip
    return header


def kobo_row(n: int, sub: tuple[str, ...], *, summary: bool, details: bool, typed: bool) -> list:
    org, has, quality, staff, topics, notes, review, uuid = sub
    moment = dt.datetime(2026, 3, 2, 9, 0) + dt.timedelta(hours=n)
    row: list = [moment if typed else moment.isoformat() + ".000+02:00"] * 2
    row += [org, has, quality, int(staff) if typed and staff else staff]
    if summary:
        row.append(topics)
    if details:
        chosen = topics.split()
        row += [("1" if t in chosen else "0") if topics else "" for t in TOPICS]
    row += [notes, dt.datetime.fromisoformat(review) if typed and review else review]
    row += [400000 + n, uuid, moment if typed else moment.isoformat(), "", "",
            "submitted_via_web", "", "vQ5cH3kYp2uZ", "", n]  # fmt: skip
    return row


def write_kobo_xlsx() -> None:
    """The XLS export (an .xlsx file): one sheet named after the form, values typed."""
    book = Workbook()
    ws = book.active
    ws.title = "NGO self-check"
    ws.append(kobo_header(summary=True, details=True))
    for n, sub in enumerate(SUBMISSIONS, start=1):
        ws.append(kobo_row(n, sub, summary=True, details=True, typed=True))
    book.save(HERE / "kobo_xml_values.xlsx")


def write_kobo_csv() -> None:
    """The CSV export: ``;`` between values, every value quoted; select_multiple exported as
    "Separate columns" (one 1/0 column per option, no summary column)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(kobo_header(summary=False, details=True))
    for n, sub in enumerate(SUBMISSIONS[:2], start=1):
        writer.writerow(kobo_row(n, sub, summary=False, details=True, typed=False))
    (HERE / "kobo_separate_columns.csv").write_text(out.getvalue(), encoding="utf-8")


def write_kobo_labels_csv() -> None:
    """KoboToolbox's CSV export with "Labels" (question and choice labels instead of names),
    groups in headers: the label hierarchy joined by "/"; select_multiple as the column of
    space-separated labels and one 1/0 column per option named by its label."""
    labels = {row[1]: row[2] for row in SURVEY[1:] if row[1]}
    choice = {row[1]: row[2] for row in CHOICES[1:]}
    path = {
        "has_policy": ("gov", "policy"),
        "policy_quality": ("gov", "policy"),
        "staff_trained": ("gov", "staff"),
        "training_topics": ("gov", "staff"),
        "notes": ("services",),
        "last_review": ("services",),
    }

    def head(name: str) -> str:
        return "/".join([labels[g] for g in path.get(name, ())] + [labels[name] or name])

    header = ["start", "end", head("org_code"), head("has_policy"), head("policy_quality"),
              head("staff_trained"), head("training_topics"),
              *[f"{head('training_topics')}/{choice[t]}" for t in TOPICS], head("notes"),
              head("last_review"), "_id", "_uuid", "_submission_time", "_validation_status",
              "_notes", "_status", "_submitted_by", "__version__", "_tags", "_index"]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    org, has, quality, staff, topics, notes, review, uuid = SUBMISSIONS[0]
    chosen = topics.split()
    stamp = "2026-03-02T10:00:00.000+02:00"
    writer.writerow(
        [stamp, stamp, org, choice[has], choice[quality], staff,
         " ".join(choice[t] for t in chosen), *["1" if t in chosen else "0" for t in TOPICS],
         notes, review, 400001, uuid, "2026-03-02T10:00:00", "", "", "submitted_via_web", "",
         "vQ5cH3kYp2uZ", "", 1]
    )  # fmt: skip
    (HERE / "kobo_labels.csv").write_text(out.getvalue(), encoding="utf-8")


def write_central_csv() -> None:
    """ODK Central's CSV (the root table): group paths joined by "-", select_multiple split
    into "q/option" columns of 1 and 0 beside the space-separated one, its metadata columns.
    Organisations named by their name and e-mail; one row repeats NGO A; one was rejected
    in Central's review."""
    header = ["SubmissionDate", "start", "end", "org_code", "gov-policy-has_policy",
              "gov-policy-policy_quality", "gov-staff-staff_trained", "gov-staff-training_topics",
              *[f"gov-staff-training_topics/{t}" for t in TOPICS], "services-notes",
              "services-last_review", "meta-instanceID", "KEY", "SubmitterID", "SubmitterName",
              "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID",
              "Edits", "FormVersion"]  # fmt: skip
    rows = [
        ("HOPE AND HOME", "no", "", "4", "referral", "Board meets monthly", "2025-11-20",
         "c0ffee00-0000-4000-8000-000000000001", "approved"),
        ("info@safe-passage.example", "yes", "draft", "7", "online referral", "", "",
         "c0ffee00-0000-4000-8000-000000000002", ""),
        ("ngo-a", "yes", "adopted", "9", "", "", "", "c0ffee00-0000-4000-8000-000000000003",
         "hasIssues"),
        ("ngo-b", "no", "", "2", "", "", "", "c0ffee00-0000-4000-8000-000000000004", "rejected"),
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for n, (org, has, quality, staff, topics, notes, review, uuid, state) in enumerate(rows):
        chosen = topics.split()
        moment = dt.datetime(2026, 3, 5, 8, 30) + dt.timedelta(minutes=7 * n)
        stamp = moment.isoformat() + ".000+01:00"
        writer.writerow(
            [moment.isoformat() + ".000Z", stamp, stamp, org, has, quality, staff, topics,
             *[1 if t in chosen else 0 for t in TOPICS], notes, review, f"uuid:{uuid}",
             f"uuid:{uuid}", 5, "collector-1", 0, 0, "", state, "collect:XyZ0123", 0, "2026-1"]
        )  # fmt: skip
    (HERE / "central.csv").write_text(out.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    write_xlsform()
    write_kobo_xlsx()
    write_kobo_csv()
    write_kobo_labels_csv()
    write_central_csv()
