"""Nothing people type is lost: concurrent edits, expired sessions and tokens, double posts,
and the append-only history of every change."""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from accounts import services as accounts
from accounts.models import Role
from surveys.cycles.models import CycleEvaluator
from surveys.models import Answer, AnswerRevision, PendingSave

TOKEN_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION_RE = re.compile(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"')
RESUME_RE = re.compile(r'name="r" type="hidden" value="([^"]*)"')


def page_form(client, url):
    """The page's HTML and the hidden fields a browser would send back with it."""
    html = client.get(url).get_data(as_text=True)
    return html, form_fields(html)


def form_fields(html):
    return {
        "csrf_token": TOKEN_RE.search(html).group(1),
        "r": RESUME_RE.search(html).group(1),
        **dict(VERSION_RE.findall(html)),
    }


def stored(session, question_id):
    session.expire_all()
    return session.exec(select(Answer).where(Answer.question_id == question_id)).first()


@pytest.fixture
def ngo(make_org, make_user, make_assessment):
    org = make_org(name="Hope and Home")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org, name="Ana")
    assessment = make_assessment(org=org)
    return org, user, assessment


@pytest.fixture
def two_editors(app, ngo, make_user, login_as):
    """Ana and her colleague Besa, each in a browser of their own, both on page 0."""
    org, user, assessment = ngo
    colleague = make_user(email="besa@example.org", role=Role.NGO_MEMBER, org=org, name="Besa")
    ana, besa = app.test_client(), app.test_client()
    login_as(ana, user.email)
    login_as(besa, colleague.email)
    return ana, besa, f"/assessments/{assessment.id}/page/0"


# --- (1) two people editing at once ----------------------------------------------------------


def conflicting_save(session, two_editors):
    """Ana and Besa open the page; Ana saves 4, then Besa saves 1 from her stale page."""
    ana, besa, url = two_editors
    _, ana_data = page_form(ana, url)
    _, besa_data = page_form(besa, url)
    response = ana.post(url, data={**ana_data, "q_SG1_policy": "4", "action": "next"})
    assert response.status_code == 302
    response = besa.post(
        url,
        data={
            **besa_data,
            "q_SG1_policy": "1",
            "c_SG1_policy": "Besa's note",
            "q_SG1_focal": "yes",
            "action": "next",
        },
    )
    assert response.status_code == 409
    return response.get_data(as_text=True)


def test_a_stale_save_overwrites_nothing_and_offers_both_answers(session, two_editors):
    html = conflicting_save(session, two_editors)
    assert "Someone else changed some answers while you were editing" in html
    assert "Ana saved a different answer while you were editing" in html  # names who did
    assert re.search(r"Keep mine:\s*<strong>1 · Initial: [^<]+</strong>", html)
    assert re.search(r"Take theirs:\s*<strong>4 · Leading: [^<]+</strong>", html)
    assert 'name="k_SG1_policy" value="mine" checked' in html
    assert 'name="k_SG1_policy" value="theirs"' in html
    assert stored(session, "SG1_policy").value == 4  # not overwritten
    assert stored(session, "SG1_focal").value == "yes"  # the rest of Besa's page is saved


def test_keep_mine_saves_my_answer_over_theirs(session, two_editors):
    _, besa, url = two_editors
    html = conflicting_save(session, two_editors)
    response = besa.post(
        url,
        data={
            **form_fields(html),
            "q_SG1_policy": "1",
            "c_SG1_policy": "Besa's note",
            "q_SG1_focal": "yes",
            "k_SG1_policy": "mine",
            "action": "next",
        },
    )
    assert response.status_code == 302
    answer = stored(session, "SG1_policy")
    assert (answer.value, answer.comment) == (1, "Besa's note")
    assert answer.version == 2


def test_take_theirs_keeps_their_answer_and_drops_mine(session, two_editors):
    _, besa, url = two_editors
    html = conflicting_save(session, two_editors)
    response = besa.post(
        url,
        data={
            **form_fields(html),
            "q_SG1_policy": "1",
            "c_SG1_policy": "Besa's note",
            "q_SG1_focal": "yes",
            "k_SG1_policy": "theirs",
            "action": "next",
        },
    )
    assert response.status_code == 302
    answer = stored(session, "SG1_policy")
    assert (answer.value, answer.comment, answer.version) == (4, None, 1)


# --- (2) a session that expired while the page was being filled in ---------------------------


def expire_session(client):
    """What a browser sends once the session has ended: no user, no CSRF secret."""
    with client.session_transaction() as sess:
        sess.clear()


def test_answers_posted_after_the_session_expired_are_saved_after_logging_in_again(
    client, session, ngo, logged_in, login_as
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    expire_session(client)
    response = client.post(
        url, data={**data, "q_SG1_policy": "3", "c_SG1_policy": "Signed in May", "action": "next"}
    )
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert stored(session, "SG1_policy") is None  # not saved yet: nobody is logged in
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "the answers you sent are kept" in login_page

    response = login_as(client, user.email)
    assert response.headers["Location"].startswith("/assessments/pending")
    response = client.get(response.headers["Location"])
    assert response.status_code == 302
    assert response.headers["Location"] == url
    answer = stored(session, "SG1_policy")
    assert (answer.value, answer.comment, answer.updated_by_id) == (3, "Signed in May", user.id)
    html = client.get(url).get_data(as_text=True)
    assert "Your answers from before you were logged out are saved" in html
    assert session.exec(select(PendingSave)).all() == []  # replayed once, then gone


def test_kept_answers_that_show_more_questions_are_saved_and_the_page_stays_open(
    client, session, ngo, logged_in, login_as
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/2"
    _, data = page_form(client, url)
    expire_session(client)
    client.post(
        url,
        data={
            **data,
            "q_RS2_evaluated": "yes",
            "f_RS2_evaluated": (io.BytesIO(b"%PDF-1.4 report"), "report.pdf"),
            "action": "review",
        },
        content_type="multipart/form-data",
    )
    response = client.get(login_as(client, user.email).headers["Location"])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your answers from before you were logged out are saved." in html
    assert "Files you had chosen then were not kept: please attach them again." in html
    assert "more questions on this page now apply" in html
    assert stored(session, "RS2_evaluated").value == "yes"


def test_kept_answers_are_still_checked_against_changes_made_meanwhile(
    app, session, ngo, make_user, login_as
):
    org, user, assessment = ngo
    colleague = make_user(email="besa@example.org", role=Role.NGO_MEMBER, org=org, name="Besa")
    ana, besa = app.test_client(), app.test_client()
    login_as(ana, user.email)
    login_as(besa, colleague.email)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(ana, url)
    expire_session(ana)
    ana.post(url, data={**data, "q_SG1_policy": "2", "action": "next"})
    _, besa_data = page_form(besa, url)
    besa.post(url, data={**besa_data, "q_SG1_policy": "4", "action": "next"})  # meanwhile

    response = login_as(ana, user.email)
    response = ana.get(response.headers["Location"])
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Your answers from before you were logged out are kept" in html
    assert re.search(r"Keep mine:\s*<strong>2 · Developing: [^<]+</strong>", html)
    assert stored(session, "SG1_policy").value == 4


def test_kept_answers_are_never_saved_for_someone_else(
    client, session, ngo, make_user, logged_in, login_as
):
    org, user, assessment = ngo
    colleague = make_user(email="besa@example.org", role=Role.NGO_MEMBER, org=org)
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    expire_session(client)
    client.post(url, data={**data, "q_SG1_policy": "3", "action": "next"})
    # Someone else logs in on the same browser: Ana's answers are not saved in their name.
    response = login_as(client, colleague.email)
    client.get(response.headers["Location"])
    assert stored(session, "SG1_policy") is None
    assert session.exec(select(PendingSave)).all() == []


def test_a_forged_post_without_a_valid_resume_token_is_not_kept(
    client, session, ngo, logged_in, login_as
):
    # The stash is no CSRF hole: a page posted from elsewhere to a logged-out browser has no
    # resume token signed for this user, so nothing is kept and nothing saved after login.
    _, user, assessment = ngo
    url = f"/assessments/{assessment.id}/page/0"
    for token in ("", "forged.token.value"):
        response = client.post(url, data={"q_SG1_policy": "1", "r": token, "action": "next"})
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    assert session.exec(select(PendingSave)).all() == []
    response = login_as(client, user.email)
    assert response.headers["Location"] == "/"
    assert stored(session, "SG1_policy") is None


def test_a_resume_token_only_works_for_its_own_assessment(
    client, session, ngo, make_assessment, logged_in
):
    org, user, assessment = ngo
    other = make_assessment(org=org)
    logged_in(user)
    _, data = page_form(client, f"/assessments/{assessment.id}/page/0")
    expire_session(client)
    client.post(f"/assessments/{other.id}/page/0", data={**data, "q_SG1_policy": "1"})
    assert session.exec(select(PendingSave)).all() == []


def test_an_expired_csrf_token_shows_the_page_again_with_everything_posted(
    client, session, ngo, logged_in
):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    posted = {
        **data,
        "csrf_token": "expired-token",
        "q_SG1_policy": "2",
        "c_SG1_policy": "A comment typed for ages",
        "action": "next",
    }
    response = client.post(url, data=posted)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your answers are not saved yet" in html
    assert re.search(r'id="q_SG1_policy-1"[^>]*value="2" checked|checked[^>]*value="2"', html)
    assert "A comment typed for ages" in html
    assert stored(session, "SG1_policy") is None
    # Saving again with the fresh token the page now carries works.
    fresh = form_fields(html)
    response = client.post(url, data={**posted, "csrf_token": fresh["csrf_token"]})
    assert response.status_code == 302
    assert stored(session, "SG1_policy").value == 2


# --- (3) saves are idempotent ----------------------------------------------------------------


def test_the_same_page_posted_twice_stores_one_change(client, session, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    form = {**data, "q_SG1_policy": "3", "c_SG1_policy": "note", "action": "next"}
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 302  # a double click: same base version
    assert len(session.exec(select(AnswerRevision)).all()) == 1
    assert stored(session, "SG1_policy").version == 1


# --- (5) the history of every change ---------------------------------------------------------


@pytest.fixture
def changed_twice(client, session, ngo, logged_in):
    _, user, assessment = ngo
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    client.post(url, data={**data, "q_SG1_policy": "2", "q_SG1_focal": "no", "action": "save"})
    _, data = page_form(client, url)
    client.post(
        url,
        data={
            **data,
            "q_SG1_policy": "3",
            "c_SG1_policy": "now signed",
            "q_SG1_focal": "no",
            "action": "save",
        },
    )
    return assessment


def test_the_history_shows_who_changed_what_and_when(client, changed_twice):
    html = client.get(f"/assessments/{changed_twice.id}/history").get_data(as_text=True)
    assert "History of changes" in html
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]  # newest first
    assert len(rows) == 3
    newest = rows[0]
    assert "Ana" in newest
    assert "How complete is your child safeguarding policy?" in newest
    assert "2 · Developing" in newest
    assert "3 · Established" in newest
    assert "now signed" in newest
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT', newest)
    assert "(blank)" in rows[1] or "(blank)" in rows[2]  # the first answers replaced nothing


def test_the_history_of_one_question(client, changed_twice):
    html = client.get(f"/assessments/{changed_twice.id}/history/SG1_policy").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
    assert len(rows) == 2
    assert "Is there a named safeguarding focal point?" not in html
    assert client.get(f"/assessments/{changed_twice.id}/history/nope").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.NGO_ADMIN, 200),
        (Role.NGO_MEMBER, 403),
        (Role.FUNDER, 403),
        (Role.EVALUATOR, 200),  # assigned to the assessment's cycle
        (Role.ADMIN, 200),
    ],
)
def test_who_may_see_the_history(app, session, ngo, make_org, make_user, login_as, role, status):
    org, _, assessment = ngo
    home = None
    if role in (Role.NGO_ADMIN, Role.NGO_MEMBER):
        home = org
    elif role == Role.FUNDER:
        home = make_org(name="Fund", kind="funder")
        grant = accounts.grant_access(session, ngo=org, funder=home, by=None)
        grant.include_evidence = True  # the assessment is a draft: the grant must say so
        session.commit()
    viewer = make_user(email="viewer@example.org", role=role, org=home)
    if role == Role.EVALUATOR:  # evaluators see the cycles they are assigned to (issue 9)
        session.add(CycleEvaluator(cycle_id=assessment.cycle_id, user_id=viewer.id))
        session.commit()
    client = app.test_client()
    login_as(client, viewer.email)
    assert client.get(f"/assessments/{assessment.id}").status_code == 200  # all may see it
    assert client.get(f"/assessments/{assessment.id}/history").status_code == status
    overview = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert ("/history" in overview) == (status == 200)


def test_another_ngos_admin_gets_404_for_the_history(client, ngo, make_org, make_user, logged_in):
    _, _, assessment = ngo
    logged_in(make_user(email="b@example.org", org=make_org(name="NGO B")))
    assert client.get(f"/assessments/{assessment.id}/history").status_code == 404
