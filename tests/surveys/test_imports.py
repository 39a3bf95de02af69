"""Bringing answers in from KoboToolbox and ODK Central exports (issue 14, section 2).

The fixtures in tests/data/imports are written the way the tools write their exports (see the
README there for the documentation followed), from a small self-assessment XLSForm that the
platform turns into the cycle's rubric.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from accounts import services as accounts
from accounts.models import AuditEvent, Organization, Role, User
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from rubrics.schema import Rubric
from rubrics.xlsform import import_xlsform
from surveys.answers import answers_of, save_answers
from surveys.cycles import services as cycles
from surveys.imports.cli import import_answers_command
from surveys.imports.reader import ImportFileError, read_table
from surveys.imports.services import _Questions, convert, plan_import, run_import
from surveys.models import Answer, AnswerRevision, Assessment, AssessmentCycle, Status
from surveys.questionnaire.services import history
from tests.conftest import PASSWORD

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"
KOBO_XLSX = DATA / "kobo_xml_values.xlsx"
KOBO_CSV = DATA / "kobo_separate_columns.csv"
KOBO_LABELS = DATA / "kobo_labels.csv"
CENTRAL_CSV = DATA / "central.csv"


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    """The cycle's rubric, made from the XLSForm the submissions were collected with."""
    return import_xlsform(DATA / "self_assessment.xlsx").rubric


@pytest.fixture
def world(session: Session, rubric: Rubric) -> dict[str, Any]:
    """NGO A and NGO B in a cycle of the self-check, an evaluator assigned to it; NGO X outside
    it; another evaluator, an admin, NGO A's admin and a funder."""

    def org(code: str, name: str, email: str | None = None, kind: str = "ngo") -> Organization:
        found = Organization(code=code, name=name, kind=kind, country="AL", contact_email=email)
        session.add(found)
        session.flush()
        return found

    ngo_a, ngo_b = (
        org("ngo-a", "Hope and Home"),
        org("ngo-b", "Safe Passage", "info@safe-passage.example"),
    )
    org("ngo-x", "Elsewhere")
    fund = org("fund", "Fund", kind="funder")
    people: dict[str, User] = {}
    for role, kind, where in (
        ("evaluator", Role.EVALUATOR, None),
        ("other_evaluator", Role.EVALUATOR, None),
        ("admin", Role.ADMIN, None),
        ("ngo_admin", Role.NGO_ADMIN, ngo_a),
        ("funder", Role.FUNDER, fund),
    ):
        user = accounts.create_user(
            session, email=f"{role}@example.org", name=role, password=PASSWORD
        )
        accounts.add_membership(session, user=user, role=kind, organization=where)
        people[role] = user
    version = rubric_services.store_rubric(session, rubric, source_format="xlsform")
    rubric_services.publish(session, version)
    cycle = cycles.create_cycle(
        session,
        code="self-check-2026",
        name="Self-check 2026",
        version=version,
        organizations=[ngo_a, ngo_b],
        opens_on=date.today(),
        closes_on=date.today() + timedelta(days=30),
        evaluators=[people["evaluator"]],
        by=None,
    )
    session.commit()
    assessments = {
        a.organization_id: a
        for a in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).all()
    }
    return {
        "cycle": cycle,
        "people": people,
        "a": assessments[ngo_a.id],
        "b": assessments[ngo_b.id],
    }


def table(path: Path, max_rows: int = 100) -> Any:
    return read_table(path.read_bytes(), path.name, max_rows=max_rows)


def counts(session: Session) -> tuple[int, int, int, list[tuple[Any, ...]]]:
    """Answers, revisions, audit events, and every answer's (assessment, question, version)."""
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(Answer)).one(),
        session.exec(select(func.count()).select_from(AnswerRevision)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
        sorted(
            (a.assessment_id, a.question_id, a.version) for a in session.exec(select(Answer)).all()
        ),
    )


def do_import(session: Session, world: dict[str, Any], path: Path, *, submit: bool = False) -> Any:
    plan = plan_import(session, world["cycle"], table(path), file_name=path.name)
    result = run_import(
        session, world["cycle"], plan, user=world["people"]["evaluator"], submit_complete=submit
    )
    session.commit()
    return plan, result


# --- reading files ----------------------------------------------------------------------------


def test_files_that_are_not_exports_get_messages_people_can_act_on():
    cases = {
        b"": "is empty",
        b"\xef\xbb\xbf\r\n": "is empty",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64: "old Excel workbook (.xls)",
        b"PK\x03\x04not really a zip": "not a CSV or XLSX export",
        b"%PDF-1.4\x00\x01\x02": "not a CSV or XLSX export",
        b"org|q1\nngo-a|yes\n": "single column",
        "org;q1\nngo-é;yes\n".encode("latin-1"): "line 2: not UTF-8 text",
        "\ufefforg,q1\n".encode("utf-16"): "UTF-16",
        b"org,q1\n": "a header but no submissions",
    }
    for data, message in cases.items():
        with pytest.raises(ImportFileError, match=re.escape(message)):
            read_table(data, "export.csv", max_rows=10)
    form = (DATA / "self_assessment.xlsx").read_bytes()
    with pytest.raises(ImportFileError, match="is an XLSForm"):
        read_table(form, "self_assessment.xlsx", max_rows=10)
    with pytest.raises(ImportFileError, match="more than 1 rows"):
        read_table(b"org,q1\na,b\nc,d\n", "export.csv", max_rows=1)


def test_a_byte_order_mark_and_the_delimiters_of_both_tools_are_read():
    central = CENTRAL_CSV.read_bytes()
    with_bom = read_table(b"\xef\xbb\xbf" + central, "central.csv", max_rows=10)
    assert with_bom.header[0] == "SubmissionDate"
    assert with_bom.delimiter == ","
    kobo = table(KOBO_CSV)
    assert kobo.delimiter == ";"
    assert kobo.header[2] == "org_code"
    assert kobo.rows[0][2] == "ngo-a"
    workbook = table(KOBO_XLSX)
    assert workbook.kind == "xlsx"
    row = dict(zip(workbook.header, workbook.rows[0], strict=False))
    assert row["gov/staff/staff_trained"] == "12"  # typed cells come back as the tool's text
    assert row["services/last_review"] == "2026-03-01"


# --- the dry run --------------------------------------------------------------------------------


def test_the_dry_run_changes_nothing(session, world):
    before = counts(session)
    for path in (KOBO_XLSX, KOBO_CSV, CENTRAL_CSV):
        plan = plan_import(session, world["cycle"], table(path), file_name=path.name)
        assert plan.count("ready") >= 1
    session.commit()
    assert counts(session) == before
    assert before[0] == 0


def test_group_paths_of_both_tools_map_to_the_same_questions(session, world):
    """Kobo joins group names with "/", Central with "-": the same questions either way; the
    tools' metadata columns are listed as ignored."""
    found = {}
    for path in (KOBO_XLSX, CENTRAL_CSV):
        plan = plan_import(session, world["cycle"], table(path), file_name=path.name)
        found[path.name] = {c.header: c for c in plan.columns}
        assert plan.organization_column == "org_code"
    kobo, central = found["kobo_xml_values.xlsx"], found["central.csv"]
    for qid in ("has_policy", "policy_quality", "staff_trained", "training_topics"):
        group = "policy" if "policy" in qid else "staff"
        assert kobo[f"gov/{group}/{qid}"].question_id == qid
        assert central[f"gov-{group}-{qid}"].question_id == qid
    assert kobo["services/last_review"].question_id == central["services-last_review"].question_id
    for name in ("_id", "_uuid", "_submission_time", "_validation_status", "_index", "start"):
        assert kobo[name].kind == "metadata", name
    for name in ("SubmissionDate", "meta-instanceID", "KEY", "ReviewState", "FormVersion"):
        assert central[name].kind == "metadata", name
    # The summary column gives the answer; the per-option columns repeat it.
    assert kobo["gov/staff/training_topics/online"].kind == "ignored"


def test_kobo_labels_give_the_same_answers_as_xml_values(session, world):
    """Headers of question labels after group labels, values of choice labels (some with
    spaces, joined by spaces in the select_multiple column)."""
    labels = plan_import(session, world["cycle"], table(KOBO_LABELS), file_name="l.csv")
    values = plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="v.xlsx")
    assert labels.rows[0].problems == []
    assert labels.rows[0].values == values.rows[0].values
    columns = {c.header: c for c in labels.columns}
    assert columns["Governance/Staff/Which topics did the training cover?"].question_id == (
        "training_topics"
    )


def test_a_row_for_an_organisation_outside_the_cycle_is_rejected_with_the_reason(session, world):
    plan = plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="k.xlsx")
    rows = {row.key: row for row in plan.rows}
    assert rows["ngo-x"].outcome == "rejected"
    assert str(rows["ngo-x"].reason) == "Elsewhere does not take part in this cycle"
    assert rows["unknown-org"].outcome == "rejected"
    assert "no organisation has the code, name or e-mail “unknown-org”" in str(
        rows["unknown-org"].reason
    )
    assert rows["ngo-a"].outcome == "ready"
    assert rows["ngo-a"].instance == "5b1c8d0e-4c7a-4d5e-9f55-1a2b3c4d5e01"


def test_invalid_option_codes_and_numbers_out_of_range_are_reported_per_cell(session, world):
    plan = plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="k.xlsx")
    row = next(r for r in plan.rows if r.key == "ngo-b")
    problems = {(p.column, p.value): str(p.message) for p in row.problems}
    assert row.number == 3
    assert problems == {
        ("gov/policy/has_policy", "maybe"): (
            "“maybe” is not an option code of this question (options: yes, no)"
        ),
        ("gov/staff/staff_trained", "10000000000000"): (
            "10000000000000 is out of range (at most 1,000,000,000,000 either side of 0)"
        ),
        ("gov/staff/training_topics", "online phishing"): (
            "“phishing” is not an option code of this question (options: online, referral, "
            "reporting)"
        ),
    }
    # The rest of the row is still imported.
    assert row.outcome == "ready"
    assert row.values == {"org_code": "ngo-b"}


def test_select_multiple_in_both_layouts(session, world):
    """Kobo's separate 1/0 columns alone (CSV), Kobo's space-separated column (XLSX), and
    Central's space-separated column beside its split columns give the same kind of answer."""
    plan = plan_import(session, world["cycle"], table(KOBO_CSV), file_name="k.csv")
    separate = {r.key: r.values for r in plan.rows}
    assert separate["ngo-a"]["training_topics"] == ["online", "reporting"]
    assert separate["ngo-b"]["training_topics"] == ["online"]  # "phishing" has no column
    plan = plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="k.xlsx")
    assert next(r for r in plan.rows if r.key == "ngo-a").values["training_topics"] == [
        "online",
        "reporting",
    ]
    plan = plan_import(session, world["cycle"], table(CENTRAL_CSV), file_name="c.csv")
    by_name = {r.key: r for r in plan.rows}
    assert by_name["HOPE AND HOME"].values["training_topics"] == ["referral"]
    assert by_name["info@safe-passage.example"].values["training_topics"] == ["online", "referral"]


def test_central_rows_match_by_name_and_e_mail_and_refused_or_repeated_rows_are_rejected(
    session, world
):
    plan = plan_import(session, world["cycle"], table(CENTRAL_CSV), file_name="central.csv")
    rows = {r.number: r for r in plan.rows}
    assert rows[2].organization.code == "ngo-a"
    assert rows[2].instance == "uuid:c0ffee00-0000-4000-8000-000000000001"
    assert rows[3].organization.code == "ngo-b"
    assert str(rows[4].reason) == "row 2 of this file is already for Hope and Home"
    assert str(rows[5].reason) == "rejected in ODK Central's review"
    # Relevance: NGO A has no policy, so the policy's quality is not asked (and it is blank).
    assert rows[2].values["has_policy"] == "no"
    assert "policy_quality" not in rows[2].values


# --- the import --------------------------------------------------------------------------------


def test_the_import_stores_drafts_recorded_as_imported_and_again_changes_nothing(session, world):
    _, result = do_import(session, world, KOBO_XLSX)
    assert result.saved == 7 + 1  # NGO A's seven answers, NGO B's organisation code
    stored = answers_of(session, world["a"].id)
    assert {qid: a.value for qid, a in stored.items()} == {
        "org_code": "ngo-a",
        "has_policy": "yes",
        "policy_quality": "adopted",
        "staff_trained": 12.0,
        "training_topics": ["online", "reporting"],
        "notes": "Weekly supervision",
        "last_review": "2026-03-01",
    }
    session.refresh(world["a"])
    assert world["a"].status == Status.IN_PROGRESS
    events = history(session, world["a"].id)
    assert {e.imported_from for e in events} == {"kobo_xml_values.xlsx"}
    assert {e.import_instance for e in events} == {"5b1c8d0e-4c7a-4d5e-9f55-1a2b3c4d5e01"}
    assert {e.who for e in events} == {"evaluator"}
    event = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "answers_imported")
    ).one()
    assert event.detail["file"] == "kobo_xml_values.xlsx"
    assert event.detail["answers"] == 8
    assert event.detail["rejected"] == 2

    before = counts(session)
    again = plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="k.xlsx")
    assert {r.key: r.outcome for r in again.rows}["ngo-a"] == "unchanged"
    run_import(session, world["cycle"], again, user=None, submit_complete=False)
    session.commit()
    after = counts(session)
    assert after[:2] == before[:2]
    assert after[3] == before[3]  # no answer's version moved


def test_the_same_answers_from_the_other_tool_change_nothing(session, world):
    """Kobo's XLSX and its CSV carry NGO A's same submission: the second import stores nothing
    for it (NGO B's topics, rejected in the XLSX's summary column, come from the CSV's option
    columns, where the unknown "phishing" has no column)."""
    do_import(session, world, KOBO_XLSX)
    a_versions = lambda: [v for v in counts(session)[3] if v[0] == world["a"].id]  # noqa: E731
    before = a_versions()
    plan, result = do_import(session, world, KOBO_CSV)
    assert {r.key: r.outcome for r in plan.rows}["ngo-a"] == "unchanged"
    assert [(r.organization, r.saved) for r in result.rows] == [("Safe Passage", 1)]
    assert a_versions() == before


def test_submitted_assessments_are_never_overwritten(session, world):
    _, result = do_import(session, world, KOBO_XLSX, submit=True)
    session.refresh(world["a"])
    session.refresh(world["b"])
    assert world["a"].status == Status.SUBMITTED  # complete: submitted
    assert world["b"].status == Status.IN_PROGRESS  # "has_policy" is required and rejected
    assert {r.organization: r.missing for r in result.rows}["Safe Passage"] > 0
    before = counts(session)
    plan = plan_import(session, world["cycle"], table(CENTRAL_CSV), file_name="central.csv")
    row = plan.rows[0]
    assert row.outcome == "locked"
    assert str(row.reason) == "already submitted: never overwritten by an import"
    assert row.changes  # the dry run shows what it would have changed
    run_import(session, world["cycle"], plan, user=None, submit_complete=False)
    session.commit()
    assert answers_of(session, world["a"].id)["has_policy"].value == "yes"
    assert counts(session)[3][:7] == before[3][:7]


def test_an_answer_changed_after_the_dry_run_is_kept_and_reported(session, world):
    plan = plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="k.xlsx")
    seen = dict(plan.seen)
    # A colleague of NGO A answers meanwhile (the questionnaire's own save).
    save_answers(
        session, world["a"], values={"notes": "Ours"}, base_versions={"notes": None}, user=None
    )
    session.commit()
    fresh = plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="k.xlsx")
    result = run_import(session, world["cycle"], fresh, user=None, submit_complete=False, seen=seen)
    session.commit()
    assert {r.organization: r.conflicts for r in result.rows}["Hope and Home"] == ["notes"]
    assert answers_of(session, world["a"].id)["notes"].value == "Ours"


# --- pages --------------------------------------------------------------------------------------


def upload(client: Any, csrf: Any, cycle_id: int, path: Path, **data: Any) -> Any:
    url = f"/assessments/cycles/{cycle_id}/import"
    token = csrf(client, url)
    with path.open("rb") as handle:
        return client.post(
            url,
            data={"csrf_token": token, "file": (handle, path.name), **data},
            content_type="multipart/form-data",
        )


def test_pages_dry_run_then_import(client, session, world, log_in_directly, csrf):
    cycle_id = world["cycle"].id
    log_in_directly(client, world["people"]["evaluator"])
    before = counts(session)
    response = upload(client, csrf, cycle_id, CENTRAL_CSV)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Nothing has been stored yet." in html
    assert "rejected in ODK Central&#39;s review" in html  # escaped, as every cell's text
    assert "ignored: metadata" in html
    assert counts(session) == before  # the dry run changed nothing
    action = re.search(r'action="(/assessments/cycles/\d+/import/[^"]+)"', html).group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    form = {"csrf_token": token, "organization_column": "org_code", "store_as": "draft"}
    again = client.post(action, data={**form, "action": "check"})
    assert again.status_code == 200
    assert counts(session) == before
    done = client.post(action, data={**form, "action": "import"})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "Answers imported from central.csv" in done.get_data(as_text=True)
    assert answers_of(session, world["a"].id)["has_policy"].value == "no"
    assert answers_of(session, world["b"].id)["policy_quality"].value == "draft"
    # The upload is gone: posting it again says so, and stores nothing.
    assert client.post(action, data={**form, "action": "import"}).status_code == 410
    history_page = client.get(f"/assessments/{world['a'].id}/history").get_data(as_text=True)
    assert "imported" in history_page
    assert "from central.csv" in history_page


def test_pages_refuse_what_cannot_be_read(client, world, log_in_directly, csrf, tmp_path):
    log_in_directly(client, world["people"]["admin"])
    cycle_id = world["cycle"].id
    bad = tmp_path / "export.csv"
    bad.write_bytes(b"org|q\na|b\n")
    response = upload(client, csrf, cycle_id, bad)
    assert response.status_code == 422
    assert "single column" in response.get_data(as_text=True)
    markup = tmp_path / "markup.csv"
    markup.write_text("org_code,<b>g</b>/has_policy\n<b>ngo</b>,<i>yes</i>\n")
    html = upload(client, csrf, cycle_id, markup, organization_column="org_code").get_data(
        as_text=True
    )
    assert "<b>ngo</b>" not in html
    assert "“&lt;b&gt;ngo&lt;/b&gt;”" in html
    assert "<i>yes</i>" not in html
    assert "<b>g</b>" not in html
    assert "column &lt;b&gt;g&lt;/b&gt;/has_policy:" in html
    pdf = tmp_path / "export.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    response = upload(client, csrf, cycle_id, pdf)
    assert response.status_code == 422
    assert "Upload the export as CSV (.csv) or Excel (.xlsx)." in response.get_data(as_text=True)
    client.application.config["IMPORT_MAX_BYTES"] = 100
    response = upload(client, csrf, cycle_id, CENTRAL_CSV)
    assert response.status_code == 413
    assert "larger than 0 KiB" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "status"),
    [("ngo_admin", 404), ("funder", 404), ("other_evaluator", 404), ("admin", 200)],
)
def test_only_those_who_manage_the_cycle_may_import(client, world, log_in_directly, who, status):
    log_in_directly(client, world["people"][who])
    assert client.get(f"/assessments/cycles/{world['cycle'].id}/import").status_code == status


def test_an_upload_is_only_its_uploader_s(client, session, world, log_in_directly, csrf, app):
    log_in_directly(client, world["people"]["evaluator"])
    html = upload(client, csrf, world["cycle"].id, KOBO_XLSX).get_data(as_text=True)
    action = re.search(r'action="(/assessments/cycles/\d+/import/[^"]+)"', html).group(1)
    other = app.test_client()
    log_in_directly(other, world["people"]["admin"])
    token = csrf(other, f"/assessments/cycles/{world['cycle'].id}/import")
    response = other.post(action, data={"csrf_token": token, "action": "import"})
    assert response.status_code == 410
    assert counts(session)[0] == 0


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_dry_run_and_import(app, session, world):
    runner = app.test_cli_runner()
    before = counts(session)
    dry = runner.invoke(import_answers_command, ["self-check-2026", str(KOBO_XLSX), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "row 4 (Elsewhere): rejected: Elsewhere does not take part in this cycle" in dry.output
    assert "row 3, column gov/policy/has_policy:" in dry.output
    assert "dry run: nothing stored" in dry.output
    assert counts(session) == before
    refused = runner.invoke(
        import_answers_command,
        ["self-check-2026", str(KOBO_XLSX), "--by", "other_evaluator@example.org"],
    )
    assert refused.exit_code != 0
    assert "may not manage" in refused.output
    done = runner.invoke(  # as people type it
        args=[
            "surveys", "import-answers", "self-check-2026", str(KOBO_XLSX),
            "--by", "evaluator@example.org",
        ]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "stored 8 answer(s)" in done.output
    session.expire_all()
    assert (
        session.exec(
            select(func.count())
            .select_from(AnswerRevision)
            .where(col(AnswerRevision.imported_from) == "kobo_xml_values.xlsx")
        ).one()
        == 8
    )


def test_cycle_and_assessment_tables_are_untouched_by_a_dry_run(session, world):
    """The dry run reads the cycle's assessments; their status and versions stay as they were."""
    rows = lambda: session.exec(  # noqa: E731
        sa.select(Assessment.id, Assessment.status, Assessment.lock_version, Assessment.progress)
    ).all()
    before = rows()
    plan_import(session, world["cycle"], table(KOBO_XLSX), file_name="k.xlsx")
    session.commit()
    session.expire_all()
    assert rows() == before
    assert session.get(AssessmentCycle, world["cycle"].id) is not None


def test_cells_are_read_as_the_questionnaire_stores_answers():
    """Maturity levels by number or descriptor, options by code or label in any of the
    rubric's languages, "not applicable" only where the rubric allows it."""
    quick = load_rubric(Path(__file__).resolve().parents[2] / "rubrics/library/quick-check.yaml")
    questions = _Questions(quick)

    def read(qid: str, text: str) -> tuple[Any, str | None]:
        value, problem = convert(questions, questions.by_id[qid], text)
        return value, None if problem is None else str(problem)

    assert read("SG1_policy", "3") == (3, None)
    assert read("SG1_policy", "3.0") == (3, None)
    assert read("SG1_policy", "No written policy.") == (1, None)
    assert read("SG1_policy", "7")[1] == "“7” is not a level of this question (1, 2, 3, 4)"
    assert read("SV1_referral", "Ορισμένους (υγεία ή νομική)") == ("some", None)
    assert read("SG1_focal", "__na__")[1] == (
        "“__na__” is not an option code of this question (options: yes, no)"
    )
    assert read("SV2_shelter", "__na__") == ("__na__", None)
