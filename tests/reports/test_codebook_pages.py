"""The codebook's pages: anyone logged in browses, searches and downloads it (in their
language, formulas neutralised); evaluators and admins edit it as YAML, validated at
``codebook.yaml:LINE``, refused when a published rubric would break, saved as a
compare-and-set; publishing checks a draft against the codebook in use."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from sqlmodel import select

from accounts.models import AuditEvent, Role
from rubrics import codebook_services
from rubrics import services as rubric_services
from rubrics.codebook import CODEBOOK_FILE
from rubrics.loader import load_rubric_text
from rubrics.models import CodebookRevision, VersionStatus

SMALL = """\
languages: [en, el]
indicators:
  - code: FOCAL
    name: {en: Focal point, el: Υπεύθυνος προστασίας}
    definition: {en: "=cmd|' /C calc'!A0", el: Ορισμένο πρόσωπο.}
    scale: {type: binary}
"""

DRAFT = """\
id: small
title: Small
domains:
  - id: D
    label: D
    indicators:
      - id: I
        label: I
        questions:
          - id: q_focal
            type: yes_no
            label: Focal?
            indicator: FOCAL
            options:
              - {id: "yes", label: "Yes", score: 4}
              - {id: "no", label: "No", score: 1}
"""


@pytest.fixture
def evaluator(make_user):
    return make_user(email="eva@example.org", role=Role.EVALUATOR, name="Eva")


@pytest.fixture
def member(make_user):
    return make_user(email="mia@example.org", role=Role.NGO_MEMBER, name="Mia")


def form_of(client, url="/codebook/edit"):
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    revision = re.search(r'id="revision" name="revision" type="hidden" value="(\d+)"', html)
    return token, int(revision.group(1))


def save(client, text, revision=None):
    token, current = form_of(client)
    return client.post(
        "/codebook/edit",
        data={
            "csrf_token": token,
            "text": text,
            "revision": current if revision is None else revision,
        },
    )


def test_anyone_logged_in_browses_and_searches_in_their_language(client, member, logged_in):
    logged_in(member)
    page = client.get("/codebook/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "SG_POLICY" in html
    assert "Child safeguarding policy" in html
    assert "Measured by" in html
    assert "Edit the codebook" not in html  # NGOs read; they do not edit
    found = client.get("/codebook/", query_string={"q": "trafficking"}).get_data(as_text=True)
    assert "NRM_ROLE" in found
    assert "SG_VETTING" not in found
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "el"
    greek = client.get("/codebook/").get_data(as_text=True)
    assert "Πολιτική προστασίας των παιδιών" in greek
    assert "Child safeguarding policy" not in greek
    assert client.get("/codebook/edit").status_code == 403


def test_downloads_open_in_csv_and_openpyxl(client, member, logged_in):
    logged_in(member)
    response = client.get("/codebook/codebook.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    assert rows[0][:4] == ["code", "theme", "name_en", "name_el"]
    codes = {row[0] for row in rows[1:]}
    assert {"SG_POLICY", "ACCOUNTS_AUDIT", "CROSS_BORDER_CASES"} <= codes
    response = client.get("/codebook/codebook.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    sheet = [list(row) for row in book["codebook"].iter_rows(values_only=True)]
    assert sheet[0] == rows[0]
    assert len(sheet) == len(rows)
    book.close()


def test_an_evaluator_saves_a_codebook_and_everyone_reads_it(
    client, app, session, evaluator, logged_in
):
    logged_in(evaluator)
    assert form_of(client)[1] == 0  # the shipped file, not edited yet
    response = save(client, SMALL)
    assert response.status_code == 302
    revision = session.exec(select(CodebookRevision)).one()
    assert (revision.number, revision.text, revision.created_by_id) == (1, SMALL, evaluator.id)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "codebook_saved")).one()
    html = client.get("/codebook/").get_data(as_text=True)
    assert "Υπεύθυνος" not in html
    assert "FOCAL" in html
    assert "SG_POLICY" not in html
    rows = client.get("/codebook/codebook.csv").get_data().decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in rows  # neutralised
    book = openpyxl.load_workbook(io.BytesIO(client.get("/codebook/codebook.xlsx").get_data()))
    assert book["codebook"]["E2"].value == "'=cmd|' /C calc'!A0"
    assert book["codebook"]["E2"].data_type == "s"


def test_a_codebook_that_does_not_validate_is_refused_at_its_line(client, evaluator, logged_in):
    logged_in(evaluator)
    response = save(client, SMALL.replace("type: binary", "type: tally"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "codebook.yaml:6: indicators.0.scale.type: Input should be" in html
    assert "type: tally" in html  # the text is kept


def test_a_stale_save_conflicts_and_overwrites_nothing(client, session, evaluator, logged_in):
    logged_in(evaluator)
    _token, seen = form_of(client)
    assert save(client, SMALL).status_code == 302
    response = save(client, SMALL.replace("Focal point", "Someone"), revision=seen)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved the codebook" in html
    assert [r.number for r in session.exec(select(CodebookRevision)).all()] == [1]
    assert 'value="1"' in html  # saving again from the conflict page replaces theirs
    assert save(client, SMALL.replace("Focal point", "Someone"), revision=1).status_code == 302


def test_two_saves_from_one_revision_insert_one(app, session, evaluator):
    """The compare-and-set is the unique revision number: the loser changes nothing."""
    codebook_services.save_codebook(session, SMALL, seen=0, by=evaluator)
    with pytest.raises(codebook_services.CodebookConflict):
        codebook_services.save_codebook(session, SMALL, seen=0, by=evaluator)
    session.commit()
    assert len(session.exec(select(CodebookRevision)).all()) == 1


def test_a_codebook_breaking_a_published_rubric_is_refused(
    client, session, evaluator, logged_in, published_version
):
    published_version("quick-check")  # measures SG_POLICY, SG_FOCAL_POINT, ...
    logged_in(evaluator)
    response = save(client, SMALL)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "quick-check v1: domains.0.indicators.0.questions.0.indicator: unknown shared" in html
    assert session.exec(select(CodebookRevision)).first() is None


def test_publishing_checks_a_draft_against_the_codebook_in_use(
    client, session, evaluator, logged_in
):
    codebook_services.save_codebook(session, SMALL, seen=0)
    draft = rubric_services.store_rubric(
        session, load_rubric_text(DRAFT, codebook=codebook_services.active_codebook(session))
    )
    session.commit()
    # the codebook changes under the draft: FOCAL becomes an ordinal its yes/no cannot reach
    changed = SMALL.replace(
        "scale: {type: binary}",
        "scale: {type: ordinal, levels: [{value: 1, label: a}, {value: 2, label: b}]}",
    )
    codebook_services.save_codebook(session, changed, seen=1)  # a draft does not block it
    session.commit()
    logged_in(evaluator)
    page = client.get("/rubrics/small/1/publish").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/rubrics/small/1/publish", data={"csrf_token": token, "lock_version": 1}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(
        r"small-v1\.yaml:\d+: domains\.0\.indicators\.0\.questions\.0\.indicator: needs an "
        r"indicator_map",
        html,
    )
    session.refresh(draft)
    assert draft.status == VersionStatus.DRAFT


def test_the_yaml_editor_refuses_an_unknown_code_at_its_line(client, session, evaluator, logged_in):
    draft = rubric_services.store_rubric(
        session, load_rubric_text(DRAFT.replace("FOCAL", "SG_FOCAL_POINT"))
    )
    session.commit()
    logged_in(evaluator)
    page = client.get("/rubrics/small/1/yaml").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    text = DRAFT.replace("FOCAL", "NO_SUCH_CODE")
    response = client.post(
        "/rubrics/small/1/yaml", data={"csrf_token": token, "lock_version": 1, "text": text}
    )
    assert response.status_code == 422
    line = text.splitlines().index("            indicator: NO_SUCH_CODE") + 1
    assert (
        f"small-v1.yaml:{line}: domains.0.indicators.0.questions.0.indicator: unknown shared "
        "indicator &#39;NO_SUCH_CODE&#39;" in response.get_data(as_text=True)
    )
    session.refresh(draft)
    assert draft.lock_version == 1


def test_the_shipped_file_is_the_seed(app, session):
    current = codebook_services.current_codebook(session)
    assert current.revision is None
    assert current.text == CODEBOOK_FILE.read_text(encoding="utf-8")


def test_the_form_editor_refuses_a_mapping_the_codebook_no_longer_allows(
    client, session, evaluator, logged_in
):
    from tests.rubrics.test_views import form_fields

    codebook_services.save_codebook(session, SMALL, seen=0)
    draft = rubric_services.store_rubric(
        session, load_rubric_text(DRAFT, codebook=codebook_services.active_codebook(session))
    )
    changed = SMALL.replace(
        "scale: {type: binary}",
        "scale: {type: ordinal, levels: [{value: 1, label: a}, {value: 2, label: b}]}",
    )
    codebook_services.save_codebook(session, changed, seen=1)
    session.commit()
    logged_in(evaluator)
    url = "/rubrics/small/1/edit?domain=D"
    fields = form_fields(client.get(url).get_data(as_text=True))
    response = client.post(url, data=fields)
    assert response.status_code == 422
    assert "needs an indicator_map: the answers (yes, no)" in response.get_data(as_text=True)
    session.refresh(draft)
    assert draft.lock_version == 1


def test_two_evaluators_saving_at_once_on_postgresql_insert_one(backend, database_url, app):
    """Both read revision 0 before either writes: the unique number lets one insert win."""
    if backend != "postgresql":
        pytest.skip("SQLite takes the write lock up front (BEGIN IMMEDIATE): saves queue")
    import threading

    import sqlalchemy as sa
    from sqlmodel import Session

    engine = sa.create_engine(database_url)
    outcome: list[str] = []
    with Session(engine) as first:
        codebook_services.save_codebook(first, SMALL, seen=0)  # inserted, not committed

        def second() -> None:
            with Session(engine) as other:
                try:
                    codebook_services.save_codebook(other, SMALL, seen=0)  # waits on the index
                    other.commit()
                    outcome.append("saved")
                except codebook_services.CodebookConflict:
                    outcome.append("conflict")

        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive()  # blocked by the first insert's unique number
        first.commit()
        racer.join(timeout=30)
    assert outcome == ["conflict"]
    with Session(engine) as check:
        assert len(check.exec(select(CodebookRevision)).all()) == 1
    engine.dispose()
