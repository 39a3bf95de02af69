"""The rubric editor: access, upload, download, version page, editing, conflicts, publish, diff."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import openpyxl
import pytest
import yaml
from sqlmodel import select

from accounts.models import Role
from rubrics import services
from rubrics.loader import load_rubric, load_rubric_text
from rubrics.models import RubricRecord, RubricVersion, VersionStatus
from rubrics.xlsform import import_xlsform

ROOT = Path(__file__).resolve().parents[2]
XLSFORMS = ROOT / "tests" / "data" / "xlsforms"
LIBRARY = ROOT / "rubrics" / "library"
QUICK_CHECK = LIBRARY / "quick-check.yaml"
YES_NO_FORM = XLSFORMS / "yes_or_no_question.xlsx"


# --- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def evaluator(make_user):
    return make_user(email="eva@example.org", role=Role.EVALUATOR, name="Eva")


@pytest.fixture
def author(client, evaluator, logged_in):
    """A client logged in as an evaluator."""
    return logged_in(evaluator)


@pytest.fixture
def published(published_version):
    """quick-check, version 1, published."""
    return published_version("quick-check")


@pytest.fixture
def draft(session, published, evaluator):
    """quick-check, version 2: a draft started from version 1."""
    version = services.new_draft(session, published, evaluator)
    session.commit()
    return version


def token(client, url="/"):
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def form_fields(page):
    """The named inputs, selects and textareas of a page's forms, as a browser would send them."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        attrs = dict(re.findall(r'([a-z_-]+)="([^"]*)"', tag))
        if "name" not in attrs or attrs.get("type") in ("checkbox", "radio", "file", "submit"):
            continue  # unchecked boxes are not sent (none is checked here)
        fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    for name, body in re.findall(
        r'<textarea[^>]*?name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S
    ):
        fields[name] = html.unescape(body).removeprefix("\r\n").removeprefix("\n")
    for name, body in re.findall(r'<select[^>]*?name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        options = re.findall(r"<option([^>]*)>", body)
        chosen = [o for o in options if re.search(r"\bselected\b", o)] or options[:1]
        value = re.search(r'value="([^"]*)"', chosen[0]) if chosen else None
        fields[name] = html.unescape(value.group(1)) if value else ""
    return fields


def confirm_removal(client, url):
    """Open a removal's confirmation page and press its button."""
    page = text_of(client.get(url))
    assert "Yes, remove" in page, page
    return client.post(url, data=form_fields(page))


def upload(client, name, data):
    return client.post(
        "/rubrics/upload",
        data={"csrf_token": token(client, "/rubrics/"), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def yaml_of(version):
    return services.yaml_text(version.content)


def text_of(response):
    return response.get_data(as_text=True)


# --- access ---------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/rubrics/"),
    ("GET", "/rubrics/upload"),
    ("POST", "/rubrics/upload"),
    ("GET", "/rubrics/quick-check"),
    ("GET", "/rubrics/quick-check/1"),
    ("GET", "/rubrics/quick-check/1/download/yaml"),
    ("GET", "/rubrics/quick-check/1/download/xlsx"),
    ("POST", "/rubrics/quick-check/1/new-draft"),
    ("POST", "/rubrics/quick-check/2/delete"),
    ("GET", "/rubrics/quick-check/2/edit"),
    ("POST", "/rubrics/quick-check/2/edit"),
    ("GET", "/rubrics/quick-check/2/delete"),
    ("GET", "/rubrics/quick-check/2/edit?domain=SG"),
    ("POST", "/rubrics/quick-check/2/edit?domain=SG"),
    ("POST", "/rubrics/quick-check/2/edit/domain/0"),
    ("GET", "/rubrics/quick-check/2/edit/remove/question/SG1_policy"),
    ("POST", "/rubrics/quick-check/2/edit/remove/question/SG1_policy"),
    ("GET", "/rubrics/quick-check/2/yaml"),
    ("POST", "/rubrics/quick-check/2/yaml"),
    ("GET", "/rubrics/quick-check/2/publish"),
    ("POST", "/rubrics/quick-check/2/publish"),
    ("GET", "/rubrics/quick-check/diff"),
    ("GET", "/rubrics/quick-check/diff?from=1&to=2&format=json"),
]


@pytest.fixture(params=["ngo_admin", "ngo_member", "funder"])
def outsider(request, make_org, make_user):
    role = Role(request.param)
    org = make_org(name="Fund", kind="funder") if role == Role.FUNDER else make_org(name="NGO A")
    return make_user(email=f"{role}@example.org", role=role, org=org)


def test_people_who_do_not_author_rubrics_get_403_on_every_route(
    client, session, draft, outsider, logged_in
):
    logged_in(outsider)
    csrf_token = token(client)
    for method, url in ROUTES:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": csrf_token})
        assert response.status_code == 403, (method, url)
        assert "Traceback" not in text_of(response)
    assert session_versions(session, draft) == [(1, "published"), (2, "draft")]  # nothing changed


def session_versions(session, version):
    session.expire_all()
    return [
        (v.number, v.status)
        for v in session.exec(
            select(RubricVersion)
            .where(RubricVersion.rubric_id == version.rubric_id)
            .order_by(RubricVersion.number)
        ).all()
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, draft):
    for method, url in ROUTES:
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302, url
            assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.EVALUATOR, Role.ADMIN])
def test_evaluators_and_admins_reach_every_page(client, draft, make_user, logged_in, role):
    logged_in(make_user(email="someone@example.org", role=role))
    for method, url in ROUTES:
        if method == "GET":
            expected = 302 if url == "/rubrics/quick-check" else 200  # to the latest version
            assert client.get(url).status_code == expected, url


def test_the_rubrics_link_is_shown_to_authors_only(
    client, evaluator, make_user, make_org, login_as
):
    login_as(client, evaluator.email)
    assert 'href="/rubrics/"' in text_of(client.get("/"))
    client.post("/logout", data={"csrf_token": token(client)})
    ngo = make_user(email="ngo@example.org", role=Role.NGO_ADMIN, org=make_org())
    login_as(client, ngo.email)
    assert 'href="/rubrics/"' not in text_of(client.get("/"))


# --- listing and the version page -----------------------------------------------------------------


def test_the_index_lists_rubrics_and_their_versions(author, draft):
    page = text_of(author.get("/rubrics/"))
    assert "Safeguarding quick check" in page
    assert 'href="/rubrics/quick-check/1"' in page
    assert 'href="/rubrics/quick-check/2"' in page
    assert "status-published" in page
    assert "status-draft" in page
    assert 'enctype="multipart/form-data"' in page


def test_the_version_page_shows_the_rubric_read_only(author, published):
    response = author.get("/rubrics/quick-check/1")
    page = text_of(response)
    assert response.status_code == 200
    assert "How complete is your child safeguarding policy?" in page  # a question
    assert "No written policy." in page  # a level descriptor
    assert "Some (health or legal)" in page  # an option ...
    assert "<td>2</td>" in page  # ... and its score
    assert "Emerging" in page  # a band
    assert "Minimum coverage" in page
    assert f"/assessments/preview/{published.id}/page/0" in page
    assert "/rubrics/quick-check/1/download/yaml" in page
    assert "/rubrics/quick-check/1/download/xlsx" in page
    assert "/rubrics/quick-check/1/new-draft" in page
    assert "/rubrics/quick-check/1/edit" not in page  # published: no editing
    greek = text_of(author.get("/rubrics/quick-check/1?lang=el"))
    assert "Πόσο πλήρης είναι η πολιτική σας" in greek


def test_the_latest_version_is_one_redirect_away(author, draft):
    response = author.get("/rubrics/quick-check")
    assert response.headers["Location"].endswith("/rubrics/quick-check/2")


def test_unknown_rubrics_and_versions_are_404(author, published):
    assert author.get("/rubrics/nope/1").status_code == 404
    assert author.get("/rubrics/quick-check/9").status_code == 404
    assert author.get("/rubrics/quick-check/1/download/pdf").status_code == 404
    assert author.get("/rubrics/quick-check/diff?from=7").status_code == 404
    assert author.get("/rubrics/quick-check/diff?from=x").status_code == 400


# --- upload ---------------------------------------------------------------------------------------


def test_uploading_a_valid_yaml_file_stores_a_draft_of_a_new_rubric(author, session):
    text = QUICK_CHECK.read_text(encoding="utf-8").replace("id: quick-check", "id: my-check")
    response = upload(author, "my-check.yaml", text.encode())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/rubrics/my-check/1")
    version = session.exec(select(RubricVersion)).one()
    assert (version.number, version.status, version.source_format) == (1, "draft", "yaml")
    assert services.rubric_of(version).id == "my-check"
    assert "stored as draft version 1" in text_of(author.get(response.headers["Location"]))


def test_uploading_a_file_of_an_existing_rubric_adds_a_draft_version(author, published, session):
    response = upload(author, "quick-check.yaml", QUICK_CHECK.read_bytes())
    assert response.headers["Location"].endswith("/rubrics/quick-check/2")
    version = services.get_version(session, "quick-check", 2)
    assert version.status == VersionStatus.DRAFT
    assert version.based_on_id == published.id


def test_an_invalid_yaml_upload_lists_every_problem_and_stores_nothing(author, session):
    text = QUICK_CHECK.read_text(encoding="utf-8")
    text = text.replace("weight: 2", "weight: -2").replace("max: 40}", "max: 30}", 1)
    text = text.replace(
        'label: {en: "No", el: "Όχι"}, score: 1}', 'label: {en: "No"}, score: 9}', 1
    )
    response = upload(author, "broken.yaml", text.encode())
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    problems = re.findall(r"<li><code>(broken\.yaml:\d+: [^<]*)</code></li>", page)
    assert len(problems) == 3, page
    assert "broken.yaml:37: domains.0.weight: must be a number above 0, got -2.0" in problems
    assert any(
        re.fullmatch(r"broken\.yaml:\d+: bands\.1\.min: gap between 30 and 40", p) for p in problems
    )
    assert any("options.1.score: score 9 is outside the scale 1..4" in p for p in problems)
    assert "Nothing was stored" in page
    assert session.exec(select(RubricRecord)).first() is None


def test_an_unknown_question_type_is_located(author, session):
    text = QUICK_CHECK.read_text(encoding="utf-8").replace("type: text", "type: essay")
    response = upload(author, "broken.yaml", text.encode())
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert re.search(r"broken\.yaml:\d+: domains\.2\.indicators\.1\.questions\.1\.type: ", page)
    assert session.exec(select(RubricRecord)).first() is None


def test_a_file_name_in_another_script_keeps_its_type(author, session):
    response = upload(author, "ρουμπρίκα.yaml", QUICK_CHECK.read_bytes())
    assert response.status_code == 302
    assert session.exec(select(RubricVersion)).one().source_format == "yaml"


def test_a_yaml_syntax_error_is_a_422_with_its_line(author):
    response = upload(author, "bad.yaml", b"id: x\ntitle: [unclosed\n")
    assert response.status_code == 422
    assert re.search(r"bad\.yaml:\d+: \(rubric\): YAML syntax", html.unescape(text_of(response)))


def test_a_file_that_is_not_utf8_is_refused_clearly(author):
    response = upload(author, "latin1.yaml", "id: x\ntitle: caf\xe9\n".encode("latin-1"))
    assert response.status_code == 422
    assert "not UTF-8 text" in text_of(response)


def test_a_file_of_another_kind_is_refused(author, session):
    response = upload(author, "notes.txt", b"hello")
    assert response.status_code == 422
    assert "Upload a YAML file" in text_of(response)
    assert session.exec(select(RubricRecord)).first() is None


def test_an_upload_without_a_file_is_refused(author):
    response = author.post(
        "/rubrics/upload",
        data={"csrf_token": token(author, "/rubrics/")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choose a file" in text_of(response)


def test_an_upload_above_the_limit_is_refused(author, app, session):
    app.config["RUBRIC_UPLOAD_MAX_BYTES"] = 1024
    response = upload(author, "big.yaml", QUICK_CHECK.read_bytes())
    assert response.status_code == 413
    assert "larger than 1 KiB" in text_of(response)
    assert session.exec(select(RubricRecord)).first() is None


def test_an_upload_without_a_csrf_token_is_refused(author, session):
    response = author.post(
        "/rubrics/upload",
        data={"file": (io.BytesIO(QUICK_CHECK.read_bytes()), "q.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert session.exec(select(RubricRecord)).first() is None


def test_uploading_an_xlsform_stores_a_draft(author, session):
    response = upload(author, "yes_or_no_question.xlsx", YES_NO_FORM.read_bytes())
    assert response.status_code == 302, text_of(response)
    version = session.exec(select(RubricVersion)).one()
    assert version.source_format == "xlsform"
    assert services.rubric_of(version) == import_xlsform(YES_NO_FORM).rubric


def test_an_xlsform_that_pyxform_rejects_is_a_422_naming_sheet_and_row(author, session):
    response = upload(
        author,
        "duplicate_columns.xlsx",
        (XLSFORMS / "duplicate_columns.xlsx").read_bytes(),
    )
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "duplicate_columns.xlsx: sheet 'survey', row 1: Duplicate column header" in page
    assert session.exec(select(RubricRecord)).first() is None


def test_an_xlsform_with_nothing_supported_shows_the_import_report(author):
    response = upload(author, "calculate.xls", (XLSFORMS / "calculate.xls").read_bytes())
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "the form has no question the platform supports" in page
    assert "calculate.xls: row 2: type 'calculate' is not supported" in page


def test_a_damaged_workbook_is_a_422_not_a_500(author):
    response = upload(author, "damaged.xlsx", b"PK\x03\x04 this is not really a zip file")
    assert response.status_code == 422
    assert "damaged.xlsx" in text_of(response)


# --- download -------------------------------------------------------------------------------------


def test_downloading_a_version_as_yaml(author, published):
    response = author.get("/rubrics/quick-check/1/download/yaml")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=quick-check-v1.yaml"
    assert response.mimetype == "application/yaml"
    text = response.get_data().decode("utf-8")
    assert "Σύντομος έλεγχος προστασίας" in text  # unicode kept, not escaped
    assert load_rubric_text(text) == load_rubric(QUICK_CHECK)
    assert yaml.safe_load(text)["id"] == "quick-check"


def test_downloading_a_version_as_xlsform(author, published):
    response = author.get("/rubrics/quick-check/1/download/xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=quick-check-v1.xlsx"
    data = response.get_data()
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert {"survey", "choices", "settings"} <= set(workbook.sheetnames)
    assert import_xlsform(data, filename="quick-check-v1.xlsx").rubric == load_rubric(QUICK_CHECK)


# --- new drafts and discarding --------------------------------------------------------------------


def test_starting_a_new_draft_from_a_published_version(author, published, session):
    response = author.post(
        "/rubrics/quick-check/1/new-draft",
        data={"csrf_token": token(author, "/rubrics/quick-check/1")},
    )
    assert response.headers["Location"].endswith("/rubrics/quick-check/2")
    draft = services.get_version(session, "quick-check", 2)
    assert (draft.status, draft.based_on_id, draft.content) == (
        "draft",
        published.id,
        published.content,
    )
    page = text_of(author.get("/rubrics/quick-check/2"))
    assert "/rubrics/quick-check/2/edit" in page
    assert "/rubrics/quick-check/2/publish" in page


def test_discarding_a_draft_asks_first(author, draft, session):
    url = "/rubrics/quick-check/2/delete"
    page = text_of(author.get(url))
    assert "You are about to discard draft version 2 of quick-check" in html.unescape(page)
    unconfirmed = author.post(url, data={"csrf_token": token(author, url)})
    assert unconfirmed.headers["Location"].endswith(url)  # asked again, nothing done
    assert services.get_version(session, "quick-check", 2) is not None
    response = author.post(url, data=form_fields(page))
    assert response.status_code == 302
    assert services.get_version(session, "quick-check", 2) is None
    refused = author.post(
        "/rubrics/quick-check/1/delete",
        data={"csrf_token": token(author, "/rubrics/"), "confirmed": "yes"},
    )
    assert refused.status_code == 409


# --- the YAML editor ------------------------------------------------------------------------------


def test_editing_a_draft_as_yaml_with_an_error_then_fixed(author, draft, session):
    url = "/rubrics/quick-check/2/yaml"
    fields = form_fields(text_of(author.get(url)))
    assert fields["text"] == yaml_of(draft)
    lock = draft.lock_version
    broken = (
        fields["text"]
        .replace("Safeguarding quick check", "Safeguarding check, v2")
        .replace("weight: 2.0", "weight: zero")
    )
    response = author.post(url, data={**fields, "text": broken})
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert re.search(r"quick-check-v2\.yaml:\d+: domains\.0\.weight: ", page), page
    assert "Safeguarding check, v2" in page  # what the person typed is kept
    session.expire_all()
    assert services.rubric_of(session.get(RubricVersion, draft.id)).title["en"] == (
        "Safeguarding quick check"
    )
    fixed = broken.replace("weight: zero", "weight: 3")
    response = author.post(url, data={**fields, "text": fixed})
    assert response.status_code == 302
    session.expire_all()
    stored = session.get(RubricVersion, draft.id)
    rubric = services.rubric_of(stored)
    assert rubric.title["en"] == "Safeguarding check, v2"
    assert rubric.domains[0].weight == 3
    assert stored.lock_version == lock + 1
    assert "Saved." in text_of(author.get(url))


def test_the_yaml_editor_can_add_and_remove_questions(author, draft, session):
    url = "/rubrics/quick-check/2/yaml"
    fields = form_fields(text_of(author.get(url)))
    data = yaml.safe_load(fields["text"])
    questions = data["domains"][2]["indicators"][1]["questions"]
    questions.pop()  # RS2_changes goes
    questions.append({"id": "RS2_when", "type": "number", "label": {"en": "Year of the last one?"}})
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    assert author.post(url, data={**fields, "text": text}).status_code == 302
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert [q.id for q in rubric.domains[2].indicators[1].questions] == [
        "RS2_evaluated",
        "RS2_when",
    ]


def test_the_yaml_editor_keeps_the_rubric_id(author, draft):
    url = "/rubrics/quick-check/2/yaml"
    fields = form_fields(text_of(author.get(url)))
    text = fields["text"].replace("id: quick-check", "id: another", 1)
    response = author.post(url, data={**fields, "text": text})
    assert response.status_code == 422
    assert "quick-check-v2.yaml:1: id: must stay" in html.unescape(text_of(response))


def test_a_stale_yaml_save_shows_both_versions_and_overwrites_nothing(author, draft, session):
    url = "/rubrics/quick-check/2/yaml"
    fields = form_fields(text_of(author.get(url)))  # I open the editor ...
    lock = draft.lock_version
    theirs = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    theirs["title"]["en"] = "Their title"
    services.update_draft(session, draft, services.parse_rubric(theirs))  # ... they save first
    session.commit()
    mine = fields["text"].replace("Safeguarding quick check", "My title")
    response = author.post(url, data={**fields, "text": mine})
    assert response.status_code == 409
    page = html.unescape(text_of(response))
    assert "Someone else saved this draft" in page
    assert "Their title" in page
    assert "My title" in page
    assert "title.en" in page  # what saving mine would change
    session.expire_all()
    assert services.rubric_of(session.get(RubricVersion, draft.id)).title["en"] == "Their title"
    # Saving mine from the conflict page, knowingly, works.
    again = form_fields(text_of(response))
    assert int(again["lock_version"]) == lock + 1
    assert author.post(url, data=again).status_code == 302
    session.expire_all()
    assert services.rubric_of(session.get(RubricVersion, draft.id)).title["en"] == "My title"


def test_published_versions_cannot_be_edited(author, published):
    for url in ("/rubrics/quick-check/1/yaml", "/rubrics/quick-check/1/edit"):
        response = author.get(url)
        assert response.status_code == 409
        assert "Start a new draft" in text_of(response)
    response = author.post(
        "/rubrics/quick-check/1/yaml",
        data={"csrf_token": token(author), "text": yaml_of(published), "lock_version": "1"},
    )
    assert response.status_code == 409


# --- the structured editor ------------------------------------------------------------------------


def test_the_structured_editor_saves_settings(author, draft, session):
    url = "/rubrics/quick-check/2/edit"
    page = text_of(author.get(url))
    fields = form_fields(page)
    assert fields["r_title_0"] == "Safeguarding quick check"
    assert fields["r_title_1"] == "Σύντομος έλεγχος προστασίας"
    fields.update(r_title_0="Quick check 2", m_allow_dont_know="yes", m_min_coverage="0.7")
    response = author.post(url, data=fields)
    assert response.status_code == 302, text_of(response)
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert rubric.title == {"en": "Quick check 2", "el": "Σύντομος έλεγχος προστασίας"}
    assert rubric.missing.allow_dont_know is True
    assert rubric.missing.min_coverage == 0.7


def test_the_structured_editor_shows_problems_on_their_fields_and_keeps_the_input(
    author, draft, session
):
    url = "/rubrics/quick-check/2/edit"
    fields = form_fields(text_of(author.get(url)))
    fields.update(r_title_0="Typed title", b0_max="35", m_not_applicable="score")
    response = author.post(url, data=fields)
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "gap between 35 and 40" in page  # a band problem, shown ...
    assert 'href="#b1_min"' in page  # ... on the field it belongs to
    assert "needed when not_applicable is &#39;score&#39;" in text_of(response) or (
        "needed when not_applicable is 'score'" in page
    )
    assert 'href="#m_not_applicable_score"' in page
    assert 'value="Typed title"' in page  # what the person typed is kept
    session.expire_all()
    assert services.rubric_of(session.get(RubricVersion, draft.id)).title["en"] == (
        "Safeguarding quick check"
    )


def test_a_required_label_left_empty_is_refused(author, draft):
    url = "/rubrics/quick-check/2/edit"
    fields = form_fields(text_of(author.get(url)))
    fields["r_title_0"] = ""
    response = author.post(url, data=fields)
    assert response.status_code == 422
    assert "Needed in this language." in text_of(response)


def test_the_structured_editor_edits_a_domain_its_questions_and_options(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SV"
    page = text_of(author.get(url))
    fields = form_fields(page)
    # d1i0q1 is SV1_referral (options none/some/most/all), d1i1q0 SV2_shelter
    assert fields["d1i0q1_label_0"] == "Which referral partners do you have formal agreements with?"
    fields.update(
        d1_weight="2.5",
        d1i0_label_0="Cases",
        d1i0q1o1_score="2.5",
        d1i0q1o1_label_1="Μερικούς",
        d1i0q0l0_descriptor_0="No plans at all.",
        d1i0q0_relevant="${SV1_referral} != 'none'",
        d1i0q0_required="no",
        d1i1q0m_not_applicable="score",
        d1i1q0m_not_applicable_score="2",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 302, html.unescape(text_of(response))
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    domain = rubric.domains[1]
    assert domain.weight == 2.5
    assert domain.indicators[0].label["en"] == "Cases"
    referral = rubric.question("SV1_referral")
    assert referral.options[1].score == 2.5
    assert referral.options[1].label == {"en": "Some (health or legal)", "el": "Μερικούς"}
    plans = rubric.question("SV1_plans")
    assert plans.levels[0].descriptor["en"] == "No plans at all."
    assert plans.relevant == "${SV1_referral} != 'none'"
    assert plans.required is False
    shelter = rubric.question("SV2_shelter")
    assert shelter.missing.not_applicable == "score"
    assert shelter.missing.not_applicable_score == 2
    assert shelter.missing.allow_not_applicable is True  # left as it was


def test_the_structured_editor_names_the_field_of_a_question_problem(author, draft):
    url = "/rubrics/quick-check/2/edit?domain=SG"
    fields = form_fields(text_of(author.get(url)))
    fields.update(d0i0q1o0_score="9", d0i0q0_weight="abc")  # SG1_focal 'yes', SG1_policy
    response = author.post(url, data=fields)
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "score 9 is outside the scale 1..4" in page
    assert 'href="#d0i0q1o0_score"' in page
    assert 'href="#d0i0q0_weight"' in page
    assert 'value="abc"' in page


def test_the_structured_editor_adds_and_removes_questions(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=RS"
    page = text_of(author.get(url))
    removal = "/rubrics/quick-check/2/edit/remove/question/RS2_changes"
    assert f'href="{removal}"' in page
    fields = form_fields(page)
    fields.update(d2i0new_id="RS1_reports", d2i0new_type="yes_no", d2i0new_label="Do you report?")
    response = author.post(url, data=fields)
    assert response.status_code == 302, html.unescape(text_of(response))
    assert confirm_removal(author, removal).status_code == 302
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert [q.id for q in rubric.domains[2].indicators[1].questions] == ["RS2_evaluated"]
    added = rubric.question("RS1_reports")
    assert added.type == "yes_no"
    assert added.label == {"en": "Do you report?"}
    assert [o.id for o in added.options] == ["yes", "no"]
    page = text_of(author.get(url))
    assert "Question RS1_reports" in page  # now editable like the others


def test_the_structured_editor_adds_a_question_of_any_registered_type(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=RS"
    fields = form_fields(text_of(author.get(url)))
    fields.update(d2i0new_id="RS1_since", d2i0new_type="date", d2i0new_label="Since when?")
    response = author.post(url, data=fields)
    assert response.status_code == 302, html.unescape(text_of(response))
    session.expire_all()
    added = services.rubric_of(session.get(RubricVersion, draft.id)).question("RS1_since")
    assert added.type == "date"
    assert not added.scored


def test_the_structured_editor_removes_an_indicator_with_its_questions(author, draft, session):
    response = confirm_removal(author, "/rubrics/quick-check/2/edit/remove/indicator/SG2")
    assert response.headers["Location"].endswith("/rubrics/quick-check/2/edit?domain=SG")
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert [i.id for i in rubric.domains[0].indicators] == ["SG1"]
    with pytest.raises(KeyError):
        rubric.question("SG2_vetting")


def test_removing_the_last_question_of_an_indicator_is_refused_naming_the_indicator(
    author, draft, session
):
    url = "/rubrics/quick-check/2/edit/remove/question/SV2_shelter"  # SV2 has one question
    page = html.unescape(text_of(author.get(url)))
    assert "SV > SV2 > questions: an indicator needs at least one question" in page
    assert "Yes, remove" not in page  # nothing to confirm
    response = author.post(
        url, data={"csrf_token": token(author, url), "confirmed": "yes", "lock_version": "1"}
    )
    assert response.status_code == 422
    session.expire_all()
    assert services.rubric_of(session.get(RubricVersion, draft.id)).question("SV2_shelter")


def test_a_stale_structured_save_is_a_conflict(author, draft, session):
    url = "/rubrics/quick-check/2/edit"
    fields = form_fields(text_of(author.get(url)))
    theirs = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    theirs["title"]["en"] = "Their title"
    services.update_draft(session, draft, services.parse_rubric(theirs))
    session.commit()
    fields["r_title_0"] = "My title"
    response = author.post(url, data=fields)
    assert response.status_code == 409
    page = html.unescape(text_of(response))
    assert "Their title" in page
    assert "My title" in page
    session.expire_all()
    assert services.rubric_of(session.get(RubricVersion, draft.id)).title["en"] == "Their title"


def test_an_unknown_domain_section_is_404(author, draft):
    assert author.get("/rubrics/quick-check/2/edit/domain/9").status_code == 404


# --- publishing -----------------------------------------------------------------------------------


def test_publishing_goes_through_a_confirmation_showing_the_diff(author, draft, session):
    edited = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    edited["domains"][0]["indicators"][0]["questions"][1]["options"][0]["score"] = 3
    services.update_draft(session, draft, services.parse_rubric(edited))
    session.commit()
    url = "/rubrics/quick-check/2/publish"
    page = text_of(author.get(url))
    assert "Changes since the published version 1" in page
    assert "options.yes.score" in page
    assert draft.status == "draft"
    response = author.post(url, data=form_fields(page))
    assert response.status_code == 302
    session.expire_all()
    stored = session.get(RubricVersion, draft.id)
    assert stored.status == VersionStatus.PUBLISHED
    assert stored.published_at is not None
    assert "is published" in text_of(author.get(response.headers["Location"]))
    assert author.get(url).status_code == 409  # nothing left to publish


def test_publishing_a_draft_changed_after_the_review_asks_to_review_again(author, draft, session):
    url = "/rubrics/quick-check/2/publish"
    fields = form_fields(text_of(author.get(url)))
    changed = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    changed["title"]["en"] = "Changed meanwhile"
    services.update_draft(session, draft, services.parse_rubric(changed))
    session.commit()
    response = author.post(url, data=fields)
    assert response.status_code == 409
    assert "Review the changes below again" in text_of(response)
    assert "Changed meanwhile" in text_of(response)
    session.expire_all()
    assert session.get(RubricVersion, draft.id).status == VersionStatus.DRAFT


def test_the_first_publication_says_so(author, session):
    version = services.store_rubric(session, load_rubric(QUICK_CHECK))
    session.commit()
    page = text_of(author.get(f"/rubrics/quick-check/{version.number}/publish"))
    assert "First publication" in page


def test_publishing_needs_the_csrf_token(author, draft, session):
    response = author.post("/rubrics/quick-check/2/publish", data={"lock_version": "1"})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(RubricVersion, draft.id).status == VersionStatus.DRAFT


# --- diff -----------------------------------------------------------------------------------------


@pytest.fixture
def changed_draft(session, draft):
    data = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    focal = data["domains"][0]["indicators"][0]["questions"][1]
    focal["id"], focal["previous_id"] = "SG1_focal_point", "SG1_focal"
    data["domains"][1]["weight"] = 2
    services.update_draft(session, draft, services.parse_rubric(data))
    session.commit()
    return draft


def test_the_diff_page(author, changed_draft):
    response = author.get("/rubrics/quick-check/diff?from=1&to=2")
    assert response.status_code == 200
    page = html.unescape(text_of(response))
    assert "Changes from v1 to v2" in page
    assert "renamed from SG1_focal" in page
    assert "SG1_focal_point" in page
    assert "weight" in page
    default = html.unescape(text_of(author.get("/rubrics/quick-check/diff")))
    assert "Changes from v1 to v2" in default  # the latest version against the one before


def test_the_diff_as_json(author, changed_draft):
    for response in (
        author.get("/rubrics/quick-check/diff?from=1&to=2&format=json"),
        author.get("/rubrics/quick-check/diff?from=1&to=2", headers={"Accept": "application/json"}),
    ):
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        payload = response.get_json()
        assert (payload["rubric"], payload["from"], payload["to"]) == ("quick-check", 1, 2)
        [renamed] = payload["questions"]["changed"]
        assert (renamed["id"], renamed["previous_id"], renamed["renamed"]) == (
            "SG1_focal_point",
            "SG1_focal",
            True,
        )
        assert payload["domains"]["changed"][0]["changes"] == [
            {"field": "weight", "kind": "changed", "old": 1.0, "new": 2.0}
        ]


def test_a_version_without_predecessor_has_nothing_to_compare(author, published):
    page = text_of(author.get("/rubrics/quick-check/diff"))
    assert "has no earlier version" in page
    response = author.get("/rubrics/quick-check/diff?format=json")
    assert response.status_code == 404
    assert response.get_json()["error"]


# --- the structured editor: adding indicators and domains, removing domains -----------------------


def test_the_structured_editor_adds_an_indicator_with_its_first_question(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SG"
    page = text_of(author.get(url))
    assert "Add an indicator" in page
    fields = form_fields(page)
    assert fields["d0inew_weight"] == "1"
    assert fields["d0inew_qtype"] == "maturity"
    fields.update(
        d0inew_id="SG3",
        d0inew_label="Training",
        d0inew_weight="1.5",
        d0inew_qid="SG3_training",
        d0inew_qlabel="How are staff trained?",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 302, html.unescape(text_of(response))
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    added = rubric.domains[0].indicators[-1]
    assert (added.id, added.label, added.weight) == ("SG3", {"en": "Training"}, 1.5)
    question = rubric.question("SG3_training")
    assert question.type == "maturity"
    assert question.label == {"en": "How are staff trained?"}
    assert [level.level for level in question.levels] == [1, 2, 3, 4]  # placeholders to fill in
    page = text_of(author.get(url))
    assert "Indicator SG3" in page
    assert "Question SG3_training" in page


def test_an_indicator_half_filled_in_is_refused_keeping_the_input(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SG"
    fields = form_fields(text_of(author.get(url)))
    fields.update(d0inew_id="SG3", d0inew_label="Training")  # no first question
    response = author.post(url, data=fields)
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "Needed to add the indicator." in page
    assert 'href="#d0inew_qid"' in page
    assert 'value="Training"' in page
    session.expire_all()
    assert len(services.rubric_of(session.get(RubricVersion, draft.id)).domains[0].indicators) == 2


def test_a_new_indicator_with_a_duplicate_id_is_refused_naming_the_field(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SG"
    fields = form_fields(text_of(author.get(url)))
    fields.update(
        d0inew_id="SV1",  # an indicator of another domain
        d0inew_label="Again",
        d0inew_qid="SG3_q",
        d0inew_qlabel="A question?",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "The id 'SV1' is already used (at SV > SV1)." in page
    assert 'href="#d0inew_id"' in page
    assert 'value="Again"' in page
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert [i.id for i in rubric.domains[0].indicators] == ["SG1", "SG2"]


def test_a_new_indicator_with_an_invalid_weight_names_the_field(author, draft):
    url = "/rubrics/quick-check/2/edit?domain=SG"
    fields = form_fields(text_of(author.get(url)))
    fields.update(
        d0inew_id="SG3",
        d0inew_label="Training",
        d0inew_weight="-1",
        d0inew_qid="SG3_q",
        d0inew_qlabel="A question?",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "must be a number above 0" in page
    assert 'href="#d0inew_weight"' in page


def test_the_structured_editor_adds_a_domain_with_an_indicator_and_a_question(
    author, draft, session
):
    url = "/rubrics/quick-check/2/edit"
    page = text_of(author.get(url))
    assert "Add a domain" in page
    fields = form_fields(page)
    fields.update(
        dnew_id="GV",
        dnew_label="Governance",
        dnew_iid="GV1",
        dnew_ilabel="Board",
        dnew_qid="GV1_board",
        dnew_qtype="yes_no",
        dnew_qlabel="Does the board review safeguarding?",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 302, html.unescape(text_of(response))
    assert response.headers["Location"].endswith("/rubrics/quick-check/2/edit?domain=GV")
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    domain = rubric.domains[-1]
    assert (domain.id, domain.label, domain.weight) == ("GV", {"en": "Governance"}, 1)
    assert [i.id for i in domain.indicators] == ["GV1"]
    assert domain.indicators[0].label == {"en": "Board"}
    assert rubric.question("GV1_board").type == "yes_no"
    page = text_of(author.get("/rubrics/quick-check/2/edit?domain=GV"))
    assert "Domain GV" in page
    assert "Question GV1_board" in page


def test_a_new_domain_with_a_duplicate_id_is_refused_naming_the_field(author, draft, session):
    url = "/rubrics/quick-check/2/edit"
    fields = form_fields(text_of(author.get(url)))
    fields.update(
        dnew_id="GV",
        dnew_label="Governance",
        dnew_iid="GV1",
        dnew_ilabel="Board",
        dnew_qid="SG1_policy",  # already a question
        dnew_qlabel="Typed question",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 422
    page = html.unescape(text_of(response))
    assert "The id 'SG1_policy' is already used (at SG > SG1 > SG1_policy)." in page
    assert 'href="#dnew_qid"' in page
    assert 'value="Typed question"' in page
    session.expire_all()
    assert len(services.rubric_of(session.get(RubricVersion, draft.id)).domains) == 3


def test_the_structured_editor_removes_a_domain(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=RS"
    page = text_of(author.get("/rubrics/quick-check/2/edit/remove/domain/RS"))
    page = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "You are about to remove domain RS" in page
    assert "2 indicators" in page
    assert "4 questions: RS1_data, RS1_outcomes, RS2_evaluated, RS2_changes" in page
    response = confirm_removal(author, "/rubrics/quick-check/2/edit/remove/domain/RS")
    assert response.headers["Location"].endswith("/rubrics/quick-check/2/edit")
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert [d.id for d in rubric.domains] == ["SG", "SV"]
    assert author.get(url).status_code == 404


def test_removing_the_only_domain_is_refused_clearly(author, draft, session):
    document = services.content_of(services.rubric_of(draft))
    document["domains"] = document["domains"][:1]
    services.update_draft(session, draft, services.parse_rubric(document))
    session.commit()
    url = "/rubrics/quick-check/2/edit/remove/domain/SG"
    page = html.unescape(text_of(author.get(url)))
    assert "This is the only domain: a rubric needs at least one." in page
    response = author.post(
        url, data={"csrf_token": token(author, url), "confirmed": "yes", "lock_version": "2"}
    )
    assert response.status_code == 422
    session.expire_all()
    assert [d.id for d in services.rubric_of(session.get(RubricVersion, draft.id)).domains] == [
        "SG"
    ]


def test_a_stale_add_of_an_indicator_is_a_conflict(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SG"
    fields = form_fields(text_of(author.get(url)))
    theirs = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    theirs["title"]["en"] = "Their title"
    services.update_draft(session, draft, services.parse_rubric(theirs))
    session.commit()
    fields.update(
        d0inew_id="SG3",
        d0inew_label="Training",
        d0inew_qid="SG3_training",
        d0inew_qlabel="How are staff trained?",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 409
    page = html.unescape(text_of(response))
    assert "SG3_training" in page  # yours, to save anyway
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert rubric.title["en"] == "Their title"
    assert [i.id for i in rubric.domains[0].indicators] == ["SG1", "SG2"]


def test_a_stale_add_of_a_domain_is_a_conflict(author, draft, session):
    url = "/rubrics/quick-check/2/edit"
    fields = form_fields(text_of(author.get(url)))
    theirs = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    theirs["title"]["en"] = "Their title"
    services.update_draft(session, draft, services.parse_rubric(theirs))
    session.commit()
    fields.update(
        dnew_id="GV",
        dnew_label="Governance",
        dnew_iid="GV1",
        dnew_ilabel="Board",
        dnew_qid="GV1_board",
        dnew_qlabel="Does the board review safeguarding?",
    )
    response = author.post(url, data=fields)
    assert response.status_code == 409
    assert "GV1_board" in html.unescape(text_of(response))
    session.expire_all()
    assert len(services.rubric_of(session.get(RubricVersion, draft.id)).domains) == 3


def test_a_stale_save_of_a_domain_removed_meanwhile_is_a_conflict(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=RS"
    fields = form_fields(text_of(author.get(url)))
    theirs = load_rubric(QUICK_CHECK).model_dump(mode="json", exclude_none=True)
    theirs["domains"] = theirs["domains"][:2]
    services.update_draft(session, draft, services.parse_rubric(theirs))
    session.commit()
    response = author.post(url, data=fields)
    assert response.status_code == 409


def test_people_who_do_not_author_rubrics_cannot_add_or_remove_domains(
    client, session, draft, outsider, logged_in
):
    logged_in(outsider)
    csrf_token = token(client)
    for url, data in (
        ("/rubrics/quick-check/2/edit", {"dnew_id": "GV", "dnew_label": "Governance"}),
        ("/rubrics/quick-check/2/edit/domain/0", {"d0inew_id": "SG3"}),
        ("/rubrics/quick-check/2/edit/remove/domain/SG", {"confirmed": "yes"}),
    ):
        response = client.post(url, data={"csrf_token": csrf_token, "lock_version": "1", **data})
        assert response.status_code == 403
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert [d.id for d in rubric.domains] == ["SG", "SV", "RS"]
    assert [i.id for i in rubric.domains[0].indicators] == ["SG1", "SG2"]


# --- one domain at a time, confirmed removals, the version page's actions (issue 10) -------------


def test_the_editor_lists_the_domains_with_their_counts_and_edits_one(author, draft):
    page = html.unescape(re.sub(r"<[^>]+>", "", text_of(author.get("/rubrics/quick-check/2/edit"))))
    assert "Child safeguarding SG 2 indicators, 4 questions" in " ".join(page.split())
    page = text_of(author.get("/rubrics/quick-check/2/edit?domain=SV"))
    fields = form_fields(page)
    assert "d1_label_0" in fields
    assert not any(name.startswith(("d0", "d2", "r_")) for name in fields)  # one domain only
    assert 'aria-current="page">Services to survivors</a>' in page
    assert page.count('<details class="question-edit"') == 3  # each question folded
    assert '<details class="question-edit" id="d1i0q0" open' not in page


def test_the_old_address_of_a_domain_leads_to_the_new_one(author, draft):
    response = author.get("/rubrics/quick-check/2/edit/domain/1")
    assert response.headers["Location"].endswith("/rubrics/quick-check/2/edit?domain=SV")
    assert author.get("/rubrics/quick-check/2/edit?domain=XX").status_code == 404


def test_saving_one_domain_changes_only_that_domain(author, draft, session):
    before = services.content_of(services.rubric_of(draft))
    url = "/rubrics/quick-check/2/edit?domain=SV"
    fields = form_fields(text_of(author.get(url)))
    fields.update(d1_label_1="Υπηρεσίες", d1i0q1_label_0="Which partners?")
    response = author.post(url, data=fields)
    location = response.headers["Location"]
    assert location.endswith(f"{url}&open=d1i0q1#d1i0q1")  # the question changed stays open
    page = text_of(author.get(location))
    assert '<details class="question-edit" id="d1i0q1" open>' in page
    assert '<details class="question-edit" id="d1i0q0">' in page
    session.expire_all()
    after = services.content_of(services.rubric_of(session.get(RubricVersion, draft.id)))
    assert after["domains"][1]["label"]["el"] == "Υπηρεσίες"
    question = after["domains"][1]["indicators"][0]["questions"][1]
    assert question["label"]["en"] == "Which partners?"
    assert (
        question["label"]["el"]
        == before["domains"][1]["indicators"][0]["questions"][1]["label"]["el"]
    )  # the other language is kept
    for key in set(before) | set(after):
        if key != "domains":
            assert after.get(key) == before.get(key), key
    assert after["domains"][0] == before["domains"][0]
    assert after["domains"][2] == before["domains"][2]


def test_a_stale_save_of_a_domain_shows_both_versions(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SV"
    fields = form_fields(text_of(author.get(url)))
    theirs = services.content_of(services.rubric_of(draft))
    theirs["domains"][1]["label"]["en"] = "Their services"
    services.update_draft(session, draft, services.parse_rubric(theirs))
    session.commit()
    fields["d1i0_label_0"] = "My cases"
    response = author.post(url, data=fields)
    assert response.status_code == 409
    page = html.unescape(text_of(response))
    assert "Their services" in page  # theirs, saved
    assert "My cases" in page  # mine, to save over theirs
    assert 'href="/rubrics/quick-check/2/edit?domain=SV">Keep theirs and edit again' in page
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert rubric.domains[1].label["en"] == "Their services"
    assert rubric.domains[1].indicators[0].label["en"] != "My cases"


def test_a_removal_is_done_only_by_posting_its_confirmation(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SG"
    fields = form_fields(text_of(author.get(url)))
    fields.update(d0_remove="y", d0i1_remove="y", d0i0q0_remove="y")  # the old checkboxes
    assert author.post(url, data=fields).status_code == 302
    removal = "/rubrics/quick-check/2/edit/remove/question/SG1_policy"
    unconfirmed = author.post(removal, data={"csrf_token": token(author, removal)})
    assert unconfirmed.headers["Location"].endswith(removal)  # back to the question asked
    no_csrf = author.post(removal, data={"confirmed": "yes", "lock_version": "2"})
    assert no_csrf.status_code == 400
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert [d.id for d in rubric.domains] == ["SG", "SV", "RS"]
    assert [i.id for i in rubric.domains[0].indicators] == ["SG1", "SG2"]
    assert rubric.question("SG1_policy")
    assert author.get("/rubrics/quick-check/2/edit/remove/question/NOPE").status_code == 404
    assert author.get("/rubrics/quick-check/2/edit/remove/thing/SG1").status_code == 404


def test_a_removal_confirmed_on_a_stale_page_asks_again(author, draft, session):
    url = "/rubrics/quick-check/2/edit/remove/question/SG1_focal"
    fields = form_fields(text_of(author.get(url)))
    theirs = services.content_of(services.rubric_of(draft))
    theirs["title"]["en"] = "Their title"
    services.update_draft(session, draft, services.parse_rubric(theirs))
    session.commit()
    response = author.post(url, data=fields)
    assert response.status_code == 409
    page = text_of(response)
    assert "nothing was removed" in page
    session.expire_all()
    rubric = services.rubric_of(session.get(RubricVersion, draft.id))
    assert rubric.question("SG1_focal")
    assert rubric.title["en"] == "Their title"
    assert confirm_removal(author, url).status_code == 302  # confirmed again: done
    session.expire_all()
    with pytest.raises(KeyError):
        services.rubric_of(session.get(RubricVersion, draft.id)).question("SG1_focal")


def test_options_are_added_and_removed_in_the_editor(author, draft, session):
    url = "/rubrics/quick-check/2/edit?domain=SV"
    page = text_of(author.get(url))
    assert "Add an option" in page
    fields = form_fields(page)
    fields.update(d1i0q1onew_id="many", d1i0q1onew_label="Many", d1i0q1onew_score="3.5")
    response = author.post(url, data=fields)
    assert response.status_code == 302, html.unescape(text_of(response))
    session.expire_all()
    referral = services.rubric_of(session.get(RubricVersion, draft.id)).question("SV1_referral")
    assert referral.options[-1].id == "many"
    assert (referral.options[-1].label, referral.options[-1].score) == ({"en": "Many"}, 3.5)
    fields = form_fields(text_of(author.get(url)))
    fields.update(d1i0q1onew_id="some", d1i0q1onew_label="Again")
    refused = author.post(url, data=fields)
    assert refused.status_code == 422
    assert "The question already has an option &#39;some&#39;." in text_of(refused)
    removal = "/rubrics/quick-check/2/edit/remove/option/SV1_referral/many"
    assert removal in text_of(author.get(url))
    assert confirm_removal(author, removal).status_code == 302
    session.expire_all()
    referral = services.rubric_of(session.get(RubricVersion, draft.id)).question("SV1_referral")
    assert "many" not in [o.id for o in referral.options]


def test_the_version_page_puts_its_main_actions_first(author, published, draft):
    page = text_of(author.get("/rubrics/quick-check/2"))
    primary = page.split('<div class="primary-actions">')[1].split("</div>")[0]
    assert "Edit draft" in primary
    assert "Publish…" in primary
    assert "Download YAML" not in primary
    assert "Discard this draft" not in primary
    assert 'class="button danger" href="/rubrics/quick-check/2/delete"' in page
    page = text_of(author.get("/rubrics/quick-check/1"))
    primary = page.split('<div class="primary-actions">')[1].split("</div>")[0]
    assert "Start a new draft from this version" in primary
    assert "Discard" not in page


def test_hostile_text_is_escaped_in_the_folded_questions_and_the_confirmations(
    author, draft, session
):
    hostile = '<script>alert("q")</script><img src=x onerror=alert(1)>'
    document = services.content_of(services.rubric_of(draft))
    document["domains"][1]["label"]["en"] = hostile
    document["domains"][1]["indicators"][0]["questions"][1]["label"]["en"] = hostile
    services.update_draft(session, draft, services.parse_rubric(document))
    session.commit()
    for url in (
        "/rubrics/quick-check/2/edit",
        "/rubrics/quick-check/2/edit?domain=SV",
        "/rubrics/quick-check/2/edit/remove/question/SV1_referral",
        "/rubrics/quick-check/2/edit/remove/domain/SV",
    ):
        page = text_of(author.get(url))
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page, url
        assert "&lt;script&gt;alert" in page, url
