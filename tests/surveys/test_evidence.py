"""Evidence files: checked by extension and content, stored outside the static folder under a
random name, served only as downloads to those who may see the assessment."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlmodel import select

from accounts import services as accounts
from accounts.models import Role
from rubrics import services as rubric_services
from rubrics.loader import load_rubric_text
from surveys import answers as store
from surveys.cycles.models import CycleEvaluator
from surveys.cycles.services import open_cycle
from surveys.evidence import services as evidence
from surveys.evidence.models import Evidence
from surveys.models import Answer, Assessment
from surveys.questionnaire import services

TOKEN_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION_RE = re.compile(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"')

RUBRIC = """
id: evidence-check
title: {en: Evidence check}
languages: [en]
default_language: en
scale: {min: 1, max: 4}
domains:
  - id: D1
    label: {en: Policy}
    indicators:
      - id: I1
        label: {en: Policy}
        questions:
          - id: policy
            type: yes_no
            label: {en: "Do you have a written policy?"}
            options:
              - {id: "yes", label: {en: "Yes"}, score: 4}
              - {id: "no", label: {en: "No"}, score: 1}
          - id: policy_doc
            type: evidence
            required: true
            relevant: "${policy} = 'yes'"
            label: {en: "Upload the policy."}
          - id: policy_reviewed
            type: yes_no
            relevant: "${policy_doc} != ''"
            label: {en: "Was it reviewed this year?"}
            options:
              - {id: "yes", label: {en: "Yes"}, score: 4}
              - {id: "no", label: {en: "No"}, score: 1}
  - id: D2
    label: {en: People}
    indicators:
      - id: I2
        label: {en: Staff}
        questions:
          - id: staff
            type: number
            label: {en: "How many staff do you have?"}
"""


def _zip(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(stored_first, entries[stored_first], zipfile.ZIP_STORED)
        for name, data in entries.items():
            if name != stored_first:
                archive.writestr(name, data)
    return buffer.getvalue()


def _odf(mimetype: str) -> bytes:
    return _zip(
        {"mimetype": mimetype.encode(), "content.xml": b"<office:document-content/>"},
        stored_first="mimetype",
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SAMPLES = {
    "policy.pdf": PDF,
    "scan.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17,
    "photo.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16,
    "minutes.docx": _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
    "budget.xlsx": _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"}),
    "report.odt": _odf("application/vnd.oasis.opendocument.text"),
    "figures.ods": _odf("application/vnd.oasis.opendocument.spreadsheet"),
    "notes.txt": "Πολιτική προστασίας\r\nv2\tsigned\n".encode(),
    "cases.csv": b"year,cases\n2025,14\n",
}


@pytest.fixture
def setup(session, make_org, make_user):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org, name="Ana")
    version = rubric_services.store_rubric(session, load_rubric_text(RUBRIC))
    rubric_services.publish(session, version)
    cycle = open_cycle(
        session, code="ev", name="Evidence cycle", version=version, organizations=[org]
    )
    session.commit()
    assessment = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
    return org, user, assessment


@pytest.fixture
def ana(client, setup, logged_in):
    logged_in(setup[1])
    return client


def url_of(assessment, page=0):
    return f"/assessments/{assessment.id}/page/{page}"


def post_page(client, assessment, page=0, **fields):
    """Post the page as a browser would: its hidden fields, then ``fields`` (files as
    ``(bytes, name)`` tuples or lists of them)."""
    html = client.get(url_of(assessment, page)).get_data(as_text=True)
    data = {"csrf_token": TOKEN_RE.search(html).group(1), **dict(VERSION_RE.findall(html))}
    for name, value in fields.items():
        if isinstance(value, tuple):
            value = (io.BytesIO(value[0]), value[1])
        elif isinstance(value, list):
            value = [(io.BytesIO(content), filename) for content, filename in value]
        data[name] = value
    data.setdefault("action", "save")
    data.setdefault("js", "1")  # questions show and hide live, as with the page's script
    return client.post(url_of(assessment, page), data=data, content_type="multipart/form-data")


def files_in(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def live(session):
    session.expire_all()
    return session.exec(select(Evidence).where(Evidence.deleted_at.is_(None))).all()


# --- storing ---------------------------------------------------------------------------------


def test_an_evidence_file_is_stored_under_a_random_name_outside_the_static_folder(
    app, session, setup, ana
):
    _, user, assessment = setup
    response = post_page(ana, assessment, q_policy="yes", f_policy_doc=(PDF, "Policy 2026.pdf"))
    assert response.status_code == 302
    (item,) = live(session)
    assert item.question_id == "policy_doc"
    assert item.original_filename == "Policy 2026.pdf"
    assert re.fullmatch(r"[0-9a-f]{32}", item.stored_name)
    assert (item.size, item.content_type) == (len(PDF), "application/pdf")
    assert item.sha256 == hashlib.sha256(PDF).hexdigest()
    assert item.uploaded_by_id == user.id
    (path,) = files_in(app)
    assert path.name == item.stored_name
    assert path.read_bytes() == PDF
    assert Path(app.static_folder) not in path.parents
    # The evidence question's answer lists its files, so it counts as answered.
    answer = session.exec(select(Answer).where(Answer.question_id == "policy_doc")).one()
    assert answer.value == ["Policy 2026.pdf"]


def test_an_evidence_question_counts_as_answered_once_it_has_a_file(session, setup, ana):
    _, _, assessment = setup
    post_page(ana, assessment, q_policy="yes")
    rubric = store.rubric_for(session, assessment)[1]

    def missing():
        session.expire_all()
        values = store.values_of(store.answers_of(session, assessment.id))
        return [m.question.id for m in services.missing_answers(rubric, values)]

    assert "policy_doc" in missing()
    post_page(ana, assessment, q_policy="yes", f_policy_doc=(PDF, "policy.pdf"))
    assert "policy_doc" not in missing()
    # Relevance reads it too: the follow-up question shows once a file is attached.
    html = ana.get(url_of(assessment)).get_data(as_text=True)
    assert not re.search(r'id="q-policy_reviewed"[^>]*hidden', html)
    assert "policy.pdf</a>" in html


@pytest.mark.parametrize("filename", sorted(SAMPLES))
def test_every_allowed_type_is_accepted(session, setup, ana, filename):
    _, _, assessment = setup
    response = post_page(
        ana, assessment, q_policy="yes", f_policy_doc=(SAMPLES[filename], filename)
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    (item,) = live(session)
    assert item.content_type == evidence.CONTENT_TYPES[filename.rsplit(".", 1)[1]]


@pytest.mark.parametrize(
    ("filename", "content", "why"),
    [
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 60, "is not a file type that can be attached"),
        ("page.html", b"<html><script>alert(1)</script></html>", "is not a file type"),
        ("policy", PDF, "is not a file type"),
        ("policy.pdf", b"<html><script>alert(1)</script></html>", "is not what its name says"),
        ("scan.png", b"GIF89a" + b"\x00" * 20, "is not what its name says"),
        ("minutes.docx", _zip({"[Content_Types].xml": b"<Types/>"}), "is not what its name"),
        ("report.odt", _odf("application/vnd.oasis.opendocument.spreadsheet"), "is not what"),
        ("notes.txt", b"MZ\x90\x00\x03\x00\x00\x00", "is not what its name says"),
        ("empty.pdf", b"", "is empty"),
    ],
)
def test_a_refused_file_is_named_with_its_question_and_nothing_else_is_lost(
    app, session, setup, ana, filename, content, why
):
    _, _, assessment = setup
    response = post_page(ana, assessment, q_policy="yes", f_policy_doc=(content, filename))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert re.search(rf"Upload the policy\.</a>: [^<]*“{re.escape(filename)}” [^<]*{why}", summary)
    assert live(session) == []
    assert files_in(app) == []
    assert store.values_of(store.answers_of(session, assessment.id)) == {"policy": "yes"}


def test_a_file_over_the_size_limit_is_refused_and_the_rest_of_the_page_is_saved(
    app, session, setup, ana
):
    _, _, assessment = setup
    app.config["EVIDENCE_MAX_BYTES"] = 1000
    big = PDF + b"0" * 2000
    response = post_page(
        ana,
        assessment,
        q_policy="yes",
        c_policy="Approved by the board",
        f_policy_doc=[(big, "big.pdf"), (PDF, "small.pdf")],
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(
        r"Upload the policy\.</a>: “big.pdf” is larger than the limit of 0.977 KB and was "
        r"not attached. Your other answers are saved.",
        html,
    )
    assert [item.original_filename for item in live(session)] == ["small.pdf"]
    assert len(files_in(app)) == 1
    answer = session.exec(select(Answer).where(Answer.question_id == "policy")).one()
    assert (answer.value, answer.comment) == ("yes", "Approved by the board")
    # The page is shown again with what was typed, and with the file that was kept.
    assert "Approved by the board</textarea>" in html
    assert "small.pdf</a>" in html


def test_the_page_tells_the_browser_the_limit_so_big_files_are_refused_before_sending(
    app, setup, ana
):
    _, _, assessment = setup
    app.config["EVIDENCE_MAX_BYTES"] = 2 * 1024 * 1024
    html = ana.get(url_of(assessment)).get_data(as_text=True)
    field = re.search(r'<input[^>]*id="f_policy_doc"[^>]*>', html).group(0)
    assert 'data-max-bytes="2097152"' in field
    assert 'type="file"' in field
    assert "multiple" in field
    assert 'accept=".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.odt,.ods,.txt,.csv"' in field
    assert "at most 2 MB each" in html


def test_a_page_request_over_its_upload_limit_gets_the_413_page(app, setup, ana):
    _, _, assessment = setup
    app.config["UPLOAD_REQUEST_MAX_BYTES"] = 4096
    response = post_page(ana, assessment, q_policy="yes", f_policy_doc=(PDF * 100, "policy.pdf"))
    assert response.status_code == 413
    assert "larger than the limit" in response.get_data(as_text=True)


def test_the_same_file_sent_twice_is_kept_once(session, setup, ana):
    _, _, assessment = setup
    post_page(ana, assessment, q_policy="yes", f_policy_doc=(PDF, "policy.pdf"))
    post_page(ana, assessment, q_policy="yes", f_policy_doc=(PDF, "policy.pdf"))
    assert len(live(session)) == 1
    assert len(session.exec(select(Answer).where(Answer.question_id == "policy_doc")).all()) == 1


def test_files_for_a_question_hidden_by_relevance_are_ignored(session, setup, ana):
    _, _, assessment = setup
    response = post_page(ana, assessment, q_policy="no", f_policy_doc=(PDF, "policy.pdf"))
    assert response.status_code == 302
    assert live(session) == []


def test_any_question_can_carry_evidence(session, setup, ana):
    _, _, assessment = setup
    response = post_page(ana, assessment, q_policy="no", f_policy=(PDF, "why-not.pdf"))
    assert response.status_code == 302
    (item,) = live(session)
    assert item.question_id == "policy"
    assert store.values_of(store.answers_of(session, assessment.id)) == {"policy": "no"}
    html = ana.get(url_of(assessment)).get_data(as_text=True)
    assert "why-not.pdf</a>" in html


def test_no_file_is_accepted_after_submission(app, session, setup, ana):
    _, _, assessment = setup
    assessment.status = "submitted"
    session.add(assessment)
    session.commit()
    response = post_page(ana, assessment, q_policy="yes", f_policy_doc=(PDF, "late.pdf"))
    assert response.status_code == 302
    assert live(session) == []
    assert files_in(app) == []


# --- serving ---------------------------------------------------------------------------------


def upload(session, ana, assessment, content=PDF, filename="policy.pdf"):
    post_page(ana, assessment, q_policy="yes", f_policy_doc=(content, filename))
    return live(session)[-1]


def download(client, assessment, item):
    response = client.get(f"/assessments/{assessment.id}/evidence/{item.id}")
    body = response.get_data()
    response.close()
    return response, body


def test_a_file_is_served_only_as_a_download(session, setup, ana):
    _, _, assessment = setup
    item = upload(session, ana, assessment, SAMPLES["notes.txt"], "notes.txt")
    response, body = download(ana, assessment, item)
    assert response.status_code == 200
    assert body == SAMPLES["notes.txt"]
    assert response.headers["Content-Disposition"] == "attachment; filename=notes.txt"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "text/plain"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]


def test_file_names_are_sanitised_and_keep_their_script(session, setup, ana):
    _, _, assessment = setup
    item = upload(session, ana, assessment, PDF, "../../etc/Πολιτική <v2>.pdf")
    assert item.original_filename == "Πολιτική _v2_.pdf"
    response, _ = download(ana, assessment, item)
    assert "filename*=UTF-8''%CE%A0" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.NGO_MEMBER, 200),
        (Role.EVALUATOR, 200),  # assigned to the assessment's cycle
        ("unassigned", 404),  # an evaluator of no cycle of it (issue 9)
        (Role.FUNDER, 403),  # sees the assessment, not its evidence: the grant does not say so
        ("funder_evidence", 200),  # a grant that includes evidence
        ("other", 404),
    ],
)
def test_files_are_served_to_those_who_may_see_the_assessment(
    app, session, setup, ana, make_org, make_user, login_as, role, status
):
    org, _, assessment = setup
    item = upload(session, ana, assessment)
    if role == "other":
        viewer = make_user(email="b@example.org", org=make_org(name="NGO B"))
    elif role == "unassigned":
        viewer = make_user(email="u@example.org", role=Role.EVALUATOR)
    elif role in (Role.FUNDER, "funder_evidence"):
        funder = make_org(name="Fund", kind="funder")
        grant = accounts.grant_access(session, ngo=org, funder=funder, by=None)
        grant.include_evidence = role == "funder_evidence"
        session.commit()
        viewer = make_user(email="f@example.org", role=Role.FUNDER, org=funder)
    else:
        home = org if role == Role.NGO_MEMBER else None
        viewer = make_user(email="v@example.org", role=role, org=home)
        if role == Role.EVALUATOR:
            session.add(CycleEvaluator(cycle_id=assessment.cycle_id, user_id=viewer.id))
            session.commit()
    client = app.test_client()
    login_as(client, viewer.email)
    assert download(client, assessment, item)[0].status_code == status


def test_files_need_a_login_and_belong_to_their_assessment(
    app, session, setup, ana, make_assessment
):
    org, _, assessment = setup
    item = upload(session, ana, assessment)
    other = make_assessment(org=org)
    assert download(ana, other, item)[0].status_code == 404  # another assessment's id
    response, _ = download(app.test_client(), assessment, item)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- removing and purging --------------------------------------------------------------------


def test_removing_a_file_marks_it_deleted_and_keeps_it_until_purged(app, session, setup, ana):
    _, user, assessment = setup
    item = upload(session, ana, assessment)
    response = post_page(ana, assessment, q_policy="yes", remove_evidence=str(item.id))
    assert response.status_code == 302
    session.expire_all()
    removed = session.get(Evidence, item.id)
    assert removed.deleted_at is not None
    assert removed.deleted_by_id == user.id
    assert len(files_in(app)) == 1  # still on disk
    assert download(ana, assessment, removed)[0].status_code == 404
    answer = session.exec(select(Answer).where(Answer.question_id == "policy_doc")).one()
    assert answer.value is None  # no file left: unanswered again

    result = app.test_cli_runner().invoke(args=["surveys", "purge-evidence", "--days", "0"])
    assert result.exit_code == 0, result.output
    assert "removed 1" in result.output
    assert files_in(app) == []
    session.expire_all()
    assert session.get(Evidence, item.id) is not None  # the record stays


def test_files_attached_and_removed_appear_in_the_history(session, setup, ana):
    _, _, assessment = setup
    post_page(ana, assessment, q_policy="no", f_policy=(PDF, "why-not.pdf"))
    item = live(session)[0]
    post_page(ana, assessment, q_policy="no", remove_evidence=str(item.id))
    html = ana.get(f"/assessments/{assessment.id}/history").get_data(as_text=True)
    assert "file attached: why-not.pdf" in html
    assert "file removed" in html
    html = ana.get(f"/assessments/{assessment.id}/history/policy_doc").get_data(as_text=True)
    assert "No answer has been changed yet." in html


# --- the checks themselves -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\ana\\Desktop\\report.pdf", "report.pdf"),
        ("../../../etc/passwd", "passwd"),
        ("..hidden.txt", "hidden.txt"),
        ("a\x00b\r\n.pdf", "a_b_.pdf"),
        ('what "is" <this>?.csv', "what _is_ _this_.csv"),
        ("Έκθεση   2026 .odt", "Έκθεση 2026.odt"),
        ("", "evidence"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_sanitised(given, kept):
    assert evidence.sanitise_filename(given) == kept


def test_the_per_file_limit_never_exceeds_the_request_limit():
    assert evidence.max_bytes({}) == 10 * 1024 * 1024
    assert evidence.max_bytes({"EVIDENCE_MAX_BYTES": 5000, "MAX_CONTENT_LENGTH": 4000}) == 4000
    assert evidence.max_bytes({"MAX_CONTENT_LENGTH": 20 * 1024 * 1024}) == 10 * 1024 * 1024
