"""Issue 13's findings, each posted as the probe posted it: never a 500, a 4xx that says what
is wrong, and nothing typed lost for a file too large."""

from __future__ import annotations

import io
import itertools
import json
import re
from datetime import date, timedelta

import pytest
from quick_check import ANSWERS
from sqlmodel import select
from werkzeug.test import EnvironBuilder

from accounts.inputs import MAX_ID, parse_id, safe_next
from accounts.models import Role
from rubrics import services as rubric_services
from rubrics.loader import MAX_DEPTH, RubricFileError, load_rubric_text
from rubrics.models import RubricVersion
from surveys import answers as store
from surveys.cycles import services as cycles
from surveys.evidence.models import Evidence
from surveys.evidence.services import sanitise_filename
from surveys.models import Answer, Assessment
from surveys.questionnaire import services as questionnaire
from surveys.review import services as review
from tests.conftest import server_session

HUGE = str(2**64 + 7)  # above SQLite's 2^63 - 1: OverflowError before the fix
SUPERSCRIPT = "²"  # str.isdigit() says yes, int() says no
PDF = b"%PDF-1.4\n" + b"0" * 2000


def alias_bomb() -> str:
    """Eight levels of nine aliases each: 9^8 = 43 million nodes once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghi"
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# --- the world --------------------------------------------------------------------------------


@pytest.fixture
def world(session, make_org, make_user, published_version):
    ngo = make_org(name="NGO A", code="ngo-a")
    people = {
        "ngo": make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=ngo),
        "evaluator": make_user(email="eva@example.org", role=Role.EVALUATOR),
    }
    version = published_version("quick-check")
    cycle = cycles.create_cycle(
        session,
        code="qc",
        name="Quick check",
        version=version,
        organizations=[ngo],
        opens_on=date.today(),
        closes_on=date.today() + timedelta(days=30),
        evaluators=[people["evaluator"]],
        by=None,
    )
    draft = rubric_services.new_draft(session, version, None)
    session.commit()
    assessment = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
    return {**people, "cycle": cycle, "assessment": assessment, "version": version, "draft": draft}


def as_user(app, user):
    """A client logged in as ``user`` (the session set directly: no login form to throttle)."""
    client = app.test_client()
    if user is not None:
        cookie = server_session(app, user.id)
        with client.session_transaction() as browser_session:
            browser_session.update(cookie)
    return client


def token_of(client, url="/"):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def page_fields(client, url):
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    hidden = dict(
        re.findall(r'name="((?:v_|note_version)[^"]*)" type="hidden" value="([^"]*)"', html)
    )
    return {"csrf_token": token, **hidden}


def refused_clearly(response, *statuses):
    assert response.status_code in statuses, response.status_code
    assert "Traceback" not in response.get_data(as_text=True)


# --- YAML ---------------------------------------------------------------------------------------


def test_the_loader_refuses_an_alias_bomb_before_expanding_it():
    text = alias_bomb()
    assert len(text.encode()) < 400
    with pytest.raises(RubricFileError, match="aliases"):
        load_rubric_text(text, "bomb.yaml")


def test_the_loader_refuses_deep_nesting_a_cycle_and_a_nul_with_a_located_message():
    with pytest.raises(RubricFileError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_rubric_text("[" * 5000, "deep.yaml")
    with pytest.raises(RubricFileError, match="refers to a value that contains it"):
        load_rubric_text("a: &a [*a]\n", "loop.yaml")
    with pytest.raises(RubricFileError, match=r"nul\.yaml:2: .*#x0000"):
        load_rubric_text("id: x\ntitle: a\x00b\n", "nul.yaml")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (alias_bomb(), "aliases"),
        ("[" * 5000, "nested deeper than"),
        ("id: quick-check\ntitle: {en: a\x00b}\n", "NUL"),
    ],
    ids=["alias-bomb", "5000-brackets", "nul-byte"],
)
def test_the_yaml_editor_answers_hostile_yaml_with_422_and_a_message(app, world, text, says):
    client = as_user(app, world["evaluator"])
    draft = world["draft"]
    url = f"/rubrics/quick-check/{draft.number}/yaml"
    token = token_of(client, url)
    response = client.post(
        url, data={"csrf_token": token, "text": text, "lock_version": draft.lock_version}
    )
    refused_clearly(response, 422)
    assert says in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "text", [alias_bomb(), "[" * 5000, "id: x\x00\n"], ids=["alias-bomb", "brackets", "nul"]
)
def test_a_hostile_yaml_upload_is_refused_with_422(app, world, text):
    client = as_user(app, world["evaluator"])
    token = token_of(client, "/rubrics/upload")
    response = client.post(
        "/rubrics/upload",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "bomb.yaml")},
        content_type="multipart/form-data",
    )
    refused_clearly(response, 422)
    assert "bomb.yaml:" in response.get_data(as_text=True)


# --- whitespace in a choice ---------------------------------------------------------------------


def test_three_spaces_in_a_choice_are_a_form_error_naming_the_question(app, session, world):
    client = as_user(app, world["ngo"])
    url = f"/assessments/{world['assessment'].id}/page/0"
    data = {**page_fields(client, url), "q_SG1_policy": "   ", "q_SG2_vetting": "3"}
    data["c_SG2_vetting"] = "typed before the mistake"
    response = client.post(url, data={**data, "q_SG1_focal": " ", "action": "next"})
    refused_clearly(response, 422)
    html = response.get_data(as_text=True)
    assert "“How complete is your child safeguarding policy?”: choose one of the" in html
    saved = {a.question_id: (a.value, a.comment) for a in session.exec(select(Answer)).all()}
    assert saved["SG2_vetting"] == (3, "typed before the mistake")
    assert "SG1_policy" not in saved


def test_three_spaces_in_the_review_form_are_a_form_error(app, session, world):
    assessment = world["assessment"]
    store.save_answers(session, assessment, values=ANSWERS, base_versions={}, user=world["ngo"])
    assert questionnaire.submit(session, assessment, by=world["ngo"]) == []
    review.start_review(session, assessment, by=world["evaluator"])
    session.commit()
    client = as_user(app, world["evaluator"])
    url = f"/assessments/{assessment.id}/review/indicator/SG1"
    data = {**page_fields(client, url), "q_SG1_policy": "   ", "note": "fine"}
    response = client.post(url, data=data)
    refused_clearly(response, 422)
    assert "choose one of the answers offered" in response.get_data(as_text=True)


# --- ids above 2^63 -----------------------------------------------------------------------------


def test_ids_above_the_largest_integer_in_urls_are_404(app, world):
    a, c = world["assessment"].id, world["cycle"].id
    admin_urls = [
        f"/assessments/{HUGE}",
        f"/assessments/{a}/evidence/{HUGE}",
        f"/assessments/{HUGE}/evidence/1",
        f"/assessments/cycles/{HUGE}",
        f"/assessments/preview/{HUGE}/page/0",
        f"/assessments/preview/{world['version'].id}/page/{HUGE}",
        f"/reports/assessments/{HUGE}",
        f"/rubrics/quick-check/{HUGE}",
        f"/assessments/{2**31}",  # above PostgreSQL's INTEGER
    ]
    client = as_user(app, world["evaluator"])
    for url in admin_urls:
        refused_clearly(client.get(url), 404)
    token = token_of(client)
    response = client.post(
        f"/assessments/cycles/{c}/evaluators/{HUGE}/remove", data={"csrf_token": token}
    )
    refused_clearly(response, 404)


def test_ids_above_the_largest_integer_in_forms_change_nothing_and_fail_nothing(
    app, session, world
):
    client = as_user(app, world["ngo"])
    url = f"/assessments/{world['assessment'].id}/page/0"
    data = page_fields(client, url)
    for bad in (HUGE, SUPERSCRIPT, "-1", "1e3"):
        posted = {**data, "remove_evidence": bad, "v_SG1_policy": bad, "q_SG1_policy": "2"}
        response = client.post(url, data={**posted, "action": f"goto-{bad}"})
        refused_clearly(response, 302, 409)
    evaluator = as_user(app, world["evaluator"])
    draft = world["draft"]
    for endpoint in ("yaml", "publish"):
        target = f"/rubrics/quick-check/{draft.number}/{endpoint}"
        token = token_of(evaluator, target)
        response = evaluator.post(
            target, data={"csrf_token": token, "lock_version": HUGE, "text": "id: quick-check"}
        )
        refused_clearly(response, 400, 409, 422)
    session.refresh(draft)
    assert draft.status == "draft"
    for query in (f"?to={HUGE}", f"?to={SUPERSCRIPT}", f"?from={HUGE}&to=1"):
        refused_clearly(evaluator.get(f"/rubrics/quick-check/diff{query}"), 400, 404)
    for query in (f"?cycle={HUGE}", f"?version={HUGE}", f"?page={HUGE}", f"?cycle={SUPERSCRIPT}"):
        refused_clearly(evaluator.get(f"/reports/dashboard{query}"), 200)


def test_parse_id_takes_ascii_digits_up_to_the_largest_id_only():
    assert parse_id("42") == 42
    assert parse_id(str(MAX_ID)) == MAX_ID
    for bad in (str(MAX_ID + 1), HUGE, SUPERSCRIPT, "-1", " 1", "1 ", "", None, "0x1", "\u0661"):
        assert parse_id(bad) is None, bad


# --- next with CR/LF ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/\r\nSet-Cookie: evil=1", "/%0d%0a", "/\\evil.example", "//evil.example", "/\x00", "/["],
)
def test_safe_next_refuses_header_splitting_and_other_hosts(target):
    expected = target if target in ("/%0d%0a", "/[") else None  # encoded: harmless paths
    assert safe_next(target) == expected


def test_a_next_with_crlf_on_login_and_the_language_switch_goes_home(app, world):
    client = app.test_client()
    token = token_of(client, "/login")
    response = client.post(
        "/login?next=%2F%0D%0ASet-Cookie%3A%20evil%3D1",
        data={
            "csrf_token": token,
            "email": world["ngo"].email,
            "password": "correct horse battery",
            "next": "/\r\nSet-Cookie: evil=1",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    token = token_of(client)
    for target in ("/\r\nSet-Cookie: evil=1", "/\\evil.example"):
        response = client.post(
            "/language", data={"csrf_token": token, "lang": "el", "next": target}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/"


# --- chart labels -------------------------------------------------------------------------------


def test_every_text_reaching_plotly_is_escaped():
    from reports import figures

    evil = '<a href="https://evil.example/phish">click</a><span style="color:red">x</span>'
    fig = figures.self_and_verified_bars([evil], [50.0], [None], [evil])
    fig.update_layout(title=evil, legend_title_text=evil)
    text = figures.to_json(fig)
    assert "<" not in text
    assert ">" not in text
    found = json.loads(text)
    strings = []

    def walk(value):
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(found)
    assert all("<a " not in s and "<span" not in s for s in strings)
    assert found["data"][0]["y"] == [evil.replace("<", "&lt;").replace(">", "&gt;")]
    assert found["layout"]["annotations"][0]["text"].startswith("&lt;a href")  # shown once
    assert "<br>" in found["data"][0]["hovertext"][0]  # the builders' line breaks stay


# --- a 25 MB file -------------------------------------------------------------------------------


def test_a_25_mb_file_is_refused_alone_and_the_typed_answers_are_saved(app, session, world):
    client = as_user(app, world["ngo"])
    url = f"/assessments/{world['assessment'].id}/page/0"
    data = {
        **page_fields(client, url),
        "q_SG1_policy": "3",
        "c_SG1_policy": "Our policy was adopted in 2024.",
        "f_SG1_policy": (io.BytesIO(PDF + b"0" * (25 * 1024 * 1024)), "policy.pdf"),
        "action": "next",
    }
    builder = EnvironBuilder(url, method="POST", data=data, content_type="multipart/form-data")
    environ = builder.get_environ()  # the body goes to a temporary file: closed below
    try:
        response = client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    refused_clearly(response, 422)
    assert "larger than the limit" in response.get_data(as_text=True)
    saved = {a.question_id: (a.value, a.comment) for a in session.exec(select(Answer)).all()}
    assert saved["SG1_policy"] == (3, "Our policy was adopted in 2024.")
    assert session.exec(select(Evidence)).all() == []


# --- evidence names -----------------------------------------------------------------------------


def test_bidirectional_overrides_are_removed_from_evidence_names(app, session, world):
    assert sanitise_filename("invoice\u202efdp.exe.pdf") == "invoicefdp.exe.pdf"
    assert sanitise_filename("\u2066a\u200bb\u2069.txt") == "ab.txt"
    assert sanitise_filename("Πολιτική.pdf") == "Πολιτική.pdf"
    client = as_user(app, world["ngo"])
    url = f"/assessments/{world['assessment'].id}/page/0"
    data = {**page_fields(client, url), "f_SG1_policy": (io.BytesIO(PDF), "gpj\u202e.pdf")}
    response = client.post(url, data=data, content_type="multipart/form-data")
    refused_clearly(response, 302)
    stored = session.exec(select(Evidence)).one()
    assert stored.original_filename == "gpj.pdf"


# --- NUL bytes ----------------------------------------------------------------------------------


def test_a_nul_byte_in_any_text_field_is_refused_with_422_and_nothing_saved(app, session, world):
    client = as_user(app, world["ngo"])
    assessment = world["assessment"]
    url = f"/assessments/{assessment.id}/page/0"
    data = {**page_fields(client, url), "q_SG1_policy": "2", "c_SG1_policy": "a\x00b"}
    response = client.post(url, data=data)
    refused_clearly(response, 422)
    assert "NUL character" in response.get_data(as_text=True)
    assert "c_SG1_policy" in response.get_data(as_text=True)
    assert session.exec(select(Answer)).all() == []
    token = token_of(client)
    response = client.post(
        f"/assessments/{assessment.id}/plan/indicators/SG1/actions",
        data={"csrf_token": token, "new_SG1-text": "do\x00it", "new_SG1-status": "planned"},
    )
    refused_clearly(response, 422)
    refused_clearly(client.get("/reports/assessments/1?lang=e\x00l"), 422)
    refused_clearly(client.get("/rubrics/a%00b"), 404)
    anonymous = app.test_client()
    token = token_of(anonymous, "/login")
    response = anonymous.post(
        "/login", data={"csrf_token": token, "email": "a\x00@example.org", "password": "x"}
    )
    refused_clearly(response, 422)


def test_a_draft_version_is_not_touched_by_a_refused_post(session, world):
    draft = session.get(RubricVersion, world["draft"].id)
    assert draft.lock_version == world["draft"].lock_version


# --- mass assignment ----------------------------------------------------------------------------

EXTRA = {
    "organization_id": "999",
    "role": "admin",
    "status": "verified",
    "score": "100",
    "version": "999",
    "rubric_version_id": "999",
    "created_by": "999",
    "created_by_id": "999",
}


def test_fields_no_form_offers_change_nothing_when_posted_with_valid_forms(
    app, session, world, make_org
):
    from accounts.models import Membership
    from surveys.cycles.models import CycleSettings
    from surveys.plan.models import ImprovementAction

    other = make_org(name="NGO B", code="ngo-b")
    extra = {**EXTRA, "organization_id": str(other.id)}
    assessment, ngo = world["assessment"], world["ngo"]
    client = as_user(app, ngo)
    url = f"/assessments/{assessment.id}/page/0"
    response = client.post(url, data={**page_fields(client, url), "q_SG1_policy": "2", **extra})
    assert response.status_code == 302
    response = client.post(
        f"/assessments/{assessment.id}/plan/indicators/SG1/actions",
        data={
            "csrf_token": token_of(client),
            "new_SG1-text": "Write it down",
            "new_SG1-status": "planned",
            **extra,
        },
    )
    assert response.status_code in (302, 404)  # 404: SG1 is not (yet) below target
    evaluator = as_user(app, world["evaluator"])
    cycle = world["cycle"]
    response = evaluator.post(
        f"/assessments/cycles/{cycle.id}/target",
        data={"csrf_token": token_of(evaluator), "target_score": "70", **extra},
    )
    assert response.status_code == 302
    anonymous = app.test_client()
    response = anonymous.post(
        "/login",
        data={
            "csrf_token": token_of(anonymous, "/login"),
            "email": ngo.email,
            "password": "correct horse battery",
            **extra,
        },
    )
    assert response.status_code == 302
    session.expire_all()
    found = session.get(Assessment, assessment.id)
    assert (found.organization_id, found.status) == (assessment.organization_id, "in_progress")
    answer = session.exec(select(Answer)).one()
    assert (answer.assessment_id, answer.value, answer.version) == (assessment.id, 2, 1)
    assert answer.updated_by_id == ngo.id
    assert session.get(type(cycle), cycle.id).rubric_version_id == cycle.rubric_version_id
    assert session.exec(select(CycleSettings.target_score)).all() == [70.0]
    for action in session.exec(select(ImprovementAction)).all():
        assert (action.organization_id, action.created_by_id) == (found.organization_id, ngo.id)
    roles = session.exec(select(Membership.user_id, Membership.role)).all()
    assert sorted(roles) == sorted(
        [(ngo.id, Role.NGO_ADMIN), (world["evaluator"].id, Role.EVALUATOR)]
    )
