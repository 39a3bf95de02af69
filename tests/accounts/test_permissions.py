"""The permissions core: each permission for each role, one read of a person's rights per
request, 404 versus 403, the query scope, and the routes' declarations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import select
from werkzeug.exceptions import Forbidden, NotFound

from accounts import permissions
from accounts.models import AccessGrant, Membership, Role
from accounts.permissions import (
    ANONYMOUS,
    PERMISSIONS,
    access_of,
    authorize,
    load_principal,
    may,
    public,
    requires,
    visible_assessments,
)
from accounts.services import grant_access
from surveys.cycles import services as cycles
from surveys.cycles.models import CycleEvaluator
from surveys.models import Assessment, AssessmentCycle
from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[2]

WHO = (
    "member",
    "ngo_admin",
    "other_ngo",
    "funder",
    "other_funder",
    "evaluator",
    "unassigned",
    "admin",
    "anonymous",
)


@pytest.fixture
def world(session, make_org, make_user, published_version):
    """NGO A (a member, an admin) in a cycle with an assigned evaluator; NGO B in another cycle;
    a funder that NGO A granted access and one it did not; an unassigned evaluator; an admin."""
    ngo_a = make_org(name="NGO A", code="ngo-a")
    ngo_b = make_org(name="NGO B", code="ngo-b")
    fund = make_org(name="Fund", kind="funder", code="fund")
    other_fund = make_org(name="Other fund", kind="funder", code="fund-2")
    people = {
        "member": make_user(email="m@example.org", role=Role.NGO_MEMBER, org=ngo_a),
        "ngo_admin": make_user(email="a@example.org", role=Role.NGO_ADMIN, org=ngo_a),
        "other_ngo": make_user(email="b@example.org", role=Role.NGO_ADMIN, org=ngo_b),
        "funder": make_user(email="f@example.org", role=Role.FUNDER, org=fund),
        "other_funder": make_user(email="g@example.org", role=Role.FUNDER, org=other_fund),
        "evaluator": make_user(email="e@example.org", role=Role.EVALUATOR),
        "unassigned": make_user(email="u@example.org", role=Role.EVALUATOR),
        "admin": make_user(email="root@example.org", role=Role.ADMIN),
    }
    version = published_version("quick-check")
    cycle_a = cycles.create_cycle(
        session,
        code="c-a",
        name="Cycle A",
        version=version,
        organizations=[ngo_a],
        opens_on=None,
        closes_on=None,
        evaluators=[people["evaluator"]],
        by=None,
    )
    cycle_b = cycles.create_cycle(
        session,
        code="c-b",
        name="Cycle B",
        version=version,
        organizations=[ngo_b],
        opens_on=None,
        closes_on=None,
        evaluators=[people["unassigned"]],
        by=None,
    )
    # "unassigned" is assigned to cycle B only: unassigned as far as cycle A is concerned.
    grant_access(session, ngo=ngo_a, funder=fund, by=None)
    session.commit()
    assessment = session.exec(select(Assessment).where(Assessment.cycle_id == cycle_a.id)).one()
    other = session.exec(select(Assessment).where(Assessment.cycle_id == cycle_b.id)).one()
    principals = {name: load_principal(session, user.id) for name, user in people.items()}
    principals["anonymous"] = ANONYMOUS
    return {
        **people,
        "ngo_a": ngo_a,
        "ngo_b": ngo_b,
        "cycle": cycle_a,
        "other_cycle": cycle_b,
        "assessment": assessment,
        "other": other,
        "principals": principals,
    }


# --- each permission, each role -------------------------------------------------------------------

# (permission, object key or None, who has it). Since issue 9 (consent), evaluators see only
# the cycles they are assigned to: "unassigned" (assigned to cycle B) no longer sees NGO A's
# assessment in cycle A, its plan, or NGO A's scores.
EXPECTED = [
    ("logged_in", None, set(WHO) - {"anonymous"}),
    ("administer", None, {"admin"}),
    ("view_network", None, {"evaluator", "unassigned", "admin"}),
    ("view_cycles", None, {"evaluator", "unassigned", "admin"}),
    # The dashboard opens for funders without a grant too: it then shows no NGO (its queries
    # are scoped), the same as an evaluator's shows only their cycles.
    ("view_dashboard", None, {"funder", "other_funder", "evaluator", "unassigned", "admin"}),
    ("open_cycles", None, {"evaluator", "unassigned", "admin"}),
    ("be_cycle_evaluator", None, {"evaluator", "unassigned"}),
    ("view_rubric", None, {"evaluator", "unassigned", "admin"}),
    ("author_rubric", None, {"evaluator", "unassigned", "admin"}),
    (
        "view_assessment",
        "assessment",
        {"member", "ngo_admin", "funder", "evaluator", "admin"},
    ),
    ("answer_assessment", "assessment", {"member", "ngo_admin"}),
    # The funder's grant here does not include evidence (tests/accounts/test_funder_access.py).
    ("view_evidence", "assessment", {"member", "ngo_admin", "evaluator", "admin"}),
    ("view_history", "assessment", {"ngo_admin", "evaluator", "unassigned", "admin"}),
    ("review_assessment", "assessment", {"evaluator", "admin"}),
    (
        "view_plan",
        "assessment",
        {"member", "ngo_admin", "funder", "evaluator", "admin"},
    ),
    ("edit_plan", "assessment", {"member", "ngo_admin"}),
    ("view_cycle", "cycle", {"evaluator", "unassigned", "admin"}),
    ("manage_cycle", "cycle", {"evaluator", "admin"}),
    ("view_scores_of", "ngo_a_id", {"member", "ngo_admin", "funder", "admin"}),
    ("view_sharing", "ngo_a_id", {"member", "ngo_admin"}),
    ("grant_access", "ngo_a_id", {"ngo_admin"}),
    ("manage_team", "ngo_a_id", {"ngo_admin", "admin"}),
    # Issue 12: NGO A's profile is hidden (the default): its own people and admins see it.
    ("manage_organizations", None, {"admin"}),
    ("view_profile", "ngo_a", {"member", "ngo_admin", "admin"}),
    ("edit_profile", "ngo_a", {"ngo_admin", "admin"}),
]


def test_every_permission_has_its_expected_holders():
    assert {name for name, _, _ in EXPECTED} == set(PERMISSIONS)


@pytest.mark.parametrize(("name", "target", "holders"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_permission_for_each_role(world, name, target, holders):
    obj = {
        None: None,
        "assessment": world["assessment"],
        "cycle": world["cycle"],
        "ngo_a_id": world["ngo_a"].id,
        "ngo_a": world["ngo_a"],
    }[target]
    granted = {who for who in WHO if may(world["principals"][who], name, obj)}
    assert granted == holders


def test_permissions_about_an_object_are_refused_without_one(world):
    for name, entry in PERMISSIONS.items():
        if entry.on is not None:
            assert not may(world["principals"]["admin"], name, None), name


def test_an_unknown_permission_is_an_error_not_a_refusal(world):
    with pytest.raises(ValueError, match="no permission named 'fly'"):
        may(world["principals"]["admin"], "fly")
    with pytest.raises(ValueError, match="no permission named"):
        requires("fly")


def test_a_revoked_grant_gives_nothing(session, world):
    from accounts.models import utcnow

    grant = session.exec(select(AccessGrant)).one()
    grant.revoked_at = utcnow()
    session.commit()
    funder = load_principal(session, world["funder"].id)
    assert not may(funder, "view_assessment", world["assessment"])


def test_the_principal_reads_memberships_grants_and_assignments(world):
    evaluator = world["principals"]["evaluator"]
    assert evaluator.cycles == {world["cycle"].id}
    assert Role.EVALUATOR in evaluator.roles
    funder = world["principals"]["funder"]
    assert funder.granted_ngos == {world["ngo_a"].id}
    admin_of_a = world["principals"]["ngo_admin"]
    assert admin_of_a.ngos == admin_of_a.ngo_admin_of == {world["ngo_a"].id}
    assert world["principals"]["member"].ngo_admin_of == frozenset()


def test_users_who_may_lists_the_holders_of_a_role_based_permission(session, world):
    ids = set(session.execute(permissions.users_who_may("be_cycle_evaluator")).scalars())
    assert ids == {world["evaluator"].id, world["unassigned"].id}
    with pytest.raises(ValueError, match="roles alone"):
        permissions.users_who_may("view_assessment")


# --- 404 versus 403 -------------------------------------------------------------------------------


def status_of(app, obj, need, principal):
    with app.test_request_context():
        try:
            authorize(obj, need, principal)
        except NotFound:
            return 404
        except Forbidden:
            return 403
        return 200


def test_the_loader_answers_404_to_who_may_not_see_and_403_to_who_sees_but_may_not(app, world):
    assessment, p = world["assessment"], world["principals"]
    assert status_of(app, assessment, "view_history", p["ngo_admin"]) == 200
    assert status_of(app, assessment, "view_history", p["member"]) == 403  # sees it
    assert status_of(app, assessment, "view_history", p["funder"]) == 403
    assert status_of(app, assessment, "view_history", p["other_ngo"]) == 404  # does not see it
    assert status_of(app, assessment, "view_history", p["other_funder"]) == 404
    assert status_of(app, None, "view_history", p["admin"]) == 404  # no such object


def test_who_sees_the_object_is_refused_with_403_not_404(app, world):
    """Reviewing, answering, editing a plan and managing a cycle: whoever sees the object is told
    they may not (403); whoever does not see it learns nothing (404)."""
    assessment, cycle, p = world["assessment"], world["cycle"], world["principals"]
    assert status_of(app, assessment, "review_assessment", p["member"]) == 403
    assert status_of(app, assessment, "review_assessment", p["admin"]) == 200
    # an evaluator not assigned to the cycle does not see the assessment at all (issue 9)
    assert status_of(app, assessment, "review_assessment", p["unassigned"]) == 404
    assert status_of(app, assessment, "answer_assessment", p["funder"]) == 403
    assert status_of(app, assessment, "edit_plan", p["evaluator"]) == 403
    assert status_of(app, cycle, "manage_cycle", p["unassigned"]) == 403
    assert status_of(app, assessment, "review_assessment", p["other_ngo"]) == 404
    assert status_of(app, assessment, "answer_assessment", p["other_funder"]) == 404
    assert status_of(app, assessment, "edit_plan", p["other_ngo"]) == 404
    assert status_of(app, cycle, "manage_cycle", p["member"]) == 404
    assert status_of(app, assessment, "review_assessment", p["evaluator"]) == 200
    assert status_of(app, cycle, "manage_cycle", p["admin"]) == 200


def test_granting_access_is_refused_to_who_sees_the_ngo_and_hidden_from_others(app, world):
    ngo, p = world["ngo_a"].id, world["principals"]
    assert status_of(app, ngo, "grant_access", p["ngo_admin"]) == 200
    assert status_of(app, ngo, "grant_access", p["member"]) == 403
    assert status_of(app, ngo, "grant_access", p["funder"]) == 403
    assert status_of(app, ngo, "grant_access", p["other_ngo"]) == 404
    assert status_of(app, ngo, "grant_access", p["other_funder"]) == 404


def test_a_role_permission_is_refused_with_403_whether_the_object_exists_or_not(app, world):
    """``author_rubric`` is about a role: the refusal must not tell an outsider which rubrics
    exist, so it comes before the object is looked at."""
    p, version = world["principals"], object()
    for who in ("member", "funder"):
        assert status_of(app, version, "author_rubric", p[who]) == 403
        assert status_of(app, None, "author_rubric", p[who]) == 403
        assert status_of(app, None, "view_rubric", p[who]) == 403
    assert status_of(app, version, "author_rubric", p["evaluator"]) == 200
    assert status_of(app, None, "author_rubric", p["evaluator"]) == 404  # no such rubric


def test_history_over_http_is_404_for_strangers_and_403_for_members(client, world, logged_in):
    url = f"/assessments/{world['assessment'].id}/history"
    logged_in(world["other_ngo"])
    assert client.get(url).status_code == 404
    client.post("/logout", data={"csrf_token": _token(client)})
    logged_in(world["member"])
    assert client.get(url).status_code == 403


# --- 404 versus 403 over HTTP, per resource ------------------------------------------------------


@pytest.fixture
def as_(app, world, log_in_directly):
    """A fresh client for one person of the world (``"anonymous"``: nobody logged in)."""

    def client_of(who):
        client = app.test_client()
        if who != "anonymous":
            log_in_directly(client, world[who])
        return client

    return client_of


def request_as(as_, who, method, url):
    client = as_(who)
    if method == "GET":
        return client.get(url)
    data = {} if who == "anonymous" else {"csrf_token": _token(client)}
    return client.post(url, data=data)


def refusals(world, urls):
    """(person, method, url, expected status) for each refused person of ``urls``: a mapping
    of (method, url) to the people who get 403 (they see the object) and 404 (they do not)."""
    for (method, url), (forbidden, hidden) in urls.items():
        for who in forbidden:
            yield who, method, url, 403
        for who in hidden:
            yield who, method, url, 404


def test_an_assessment_is_hidden_from_who_may_not_see_it_and_refused_to_who_does(as_, world):
    base = f"/assessments/{world['assessment'].id}"
    # An evaluator not assigned to the cycle does not see its assessments (issue 9).
    strangers = ("other_ngo", "other_funder", "unassigned")
    urls = {
        # answering: the NGO's own members only; the funder and evaluators see the assessment
        ("GET", f"{base}/resume"): (("funder", "evaluator", "admin"), strangers),
        ("GET", f"{base}/page/1"): (("funder", "evaluator", "admin"), strangers),
        ("POST", f"{base}/submit"): (("funder", "evaluator"), strangers),
        # the history: not the NGO's plain members, nor funders
        ("GET", f"{base}/history"): (("member", "funder"), strangers),
        # reviewing: the assigned evaluator and admins; the NGO itself is refused, not hidden
        ("GET", f"{base}/review"): (("member", "ngo_admin", "funder"), strangers),
        ("POST", f"{base}/review/start"): (("member", "funder"), strangers),
        # the plan: seen by all who see the assessment, changed by the NGO's members
        ("GET", f"{base}/plan"): ((), strangers),
        ("POST", f"{base}/plan/indicators/SG1/actions"): (
            ("funder", "evaluator", "admin"),
            strangers,
        ),
        # seeing it at all
        ("GET", base): ((), strangers),
        ("GET", f"/reports/assessments/{world['assessment'].id}"): ((), strangers),
    }
    for who, method, url, status in refusals(world, urls):
        assert request_as(as_, who, method, url).status_code == status, (who, method, url)


def test_who_may_do_it_gets_past_the_loader(as_, world):
    base = f"/assessments/{world['assessment'].id}"
    for who, url in (
        ("member", f"{base}/page/1"),
        ("ngo_admin", f"{base}/history"),
        ("funder", f"{base}/plan"),
        ("funder", f"/reports/assessments/{world['assessment'].id}"),
        ("evaluator", f"/assessments/cycles/{world['cycle'].id}"),
    ):
        assert request_as(as_, who, "GET", url).status_code == 200, (who, url)


def test_a_cycle_is_hidden_from_who_may_not_see_it_and_refused_to_who_does(as_, world):
    base = f"/assessments/cycles/{world['cycle'].id}"
    ngo_side = ("member", "ngo_admin", "other_ngo", "funder", "other_funder")
    urls = {
        ("GET", base): ((), ngo_side),
        ("POST", f"{base}/target"): (("unassigned",), ngo_side),
        ("POST", f"{base}/evaluators"): (("unassigned",), ngo_side),
        ("POST", f"{base}/organizations"): (("unassigned",), ngo_side),
    }
    for who, method, url, status in refusals(world, urls):
        assert request_as(as_, who, method, url).status_code == status, (who, method, url)
    assert request_as(
        as_, "unassigned", "POST", "/assessments/cycles/999999/target"
    ).status_code == (404)


def test_a_missing_object_and_a_hidden_one_get_the_same_answer(as_, world):
    """A 404 says nothing of whether the object exists: same status, same page."""
    hidden = request_as(as_, "other_ngo", "GET", f"/assessments/{world['assessment'].id}/review")
    missing = request_as(as_, "other_ngo", "GET", "/assessments/999999/review")
    assert hidden.status_code == missing.status_code == 404

    def page(response):  # the form tokens and the language switcher's way back aside
        text = response.get_data(as_text=True)
        return re.sub(r'name="(csrf_token|next)" value="[^"]*"', "", text)

    assert page(hidden) == page(missing)


def global_routes(app, holder_of_none):
    """(method, url) of every route whose permission is about nothing in particular and is not
    held by ``holder_of_none``, its arguments filled with values no object has. The pages' only:
    the API answers 401 to cookies (its refusals through tokens: tests/webapp/test_api.py)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            continue
        access = access_of(app.view_functions[rule.endpoint])
        if access is None or access.public or PERMISSIONS[access.permission].on is not None:
            continue
        if may(holder_of_none, access.permission):
            continue
        built = rule.build(dict.fromkeys(rule.arguments, 999999), append_unknown=False)
        assert built is not None, rule.rule
        url = built[1]
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            yield method, url


@pytest.mark.parametrize("who", ["member", "ngo_admin", "funder"])
def test_a_page_of_a_role_they_lack_is_403_for_every_logged_in_person(app, as_, world, who):
    """Rubrics, cycles, previews: refused before any object is looked up, so the answer is
    the same for a rubric that exists and one that does not."""
    routes = sorted(set(global_routes(app, world["principals"][who])))
    assert len(routes) > 15
    for method, url in routes:
        assert request_as(as_, who, method, url).status_code == 403, (method, url)
    for url in ("/rubrics/quick-check/1", "/rubrics/nope/1", "/rubrics/"):
        assert request_as(as_, who, "GET", url).status_code == 403, url
    assert request_as(as_, "evaluator", "GET", "/rubrics/nope/1").status_code == 404
    assert request_as(as_, "evaluator", "GET", "/rubrics/quick-check/1").status_code == 200


def test_whoever_is_not_logged_in_is_sent_to_the_login_page(app, as_, world):
    base = f"/assessments/{world['assessment'].id}"
    urls = [url for method, url in global_routes(app, ANONYMOUS) if method == "GET"]
    urls += [base, f"{base}/page/1", f"{base}/review", f"{base}/history", f"{base}/plan"]
    urls += [f"/assessments/cycles/{world['cycle'].id}", "/assessments/999999/review"]
    for url in urls:
        response = request_as(as_, "anonymous", "GET", url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url


def test_the_403_page_is_friendly_and_names_nothing_of_what_was_refused(as_, world):
    response = request_as(as_, "funder", "GET", f"/assessments/{world['assessment'].id}/review")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "You do not have access to this" in page
    assert "ask an administrator of your organisation" in page
    assert f"You are logged in as {world['funder'].name}." in page
    assert 'href="/"' in page  # a way on
    for secret in ("NGO A", "Cycle A", "quick-check", "review_assessment", "Traceback"):
        assert secret not in page, secret


def test_the_403_page_is_in_greek_for_a_greek_session(as_, world):
    client = as_("member")
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "el"
    response = client.get(f"/assessments/{world['assessment'].id}/review")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Δεν έχετε πρόσβαση σε αυτό" in page
    assert "Ο λογαριασμός σας δεν επιτρέπεται" in page  # noqa: RUF001
    assert "Έχετε συνδεθεί ως" in page
    assert "You do not have access" not in page
    assert "logged in as" not in page


def _token(client):
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# --- one read per request -------------------------------------------------------------------------


def count_reads(app, client, url):
    """How many selects of memberships, grants and assignments one GET of ``url`` makes."""
    tables = {
        "membership": Membership.__tablename__,
        "access_grant": AccessGrant.__tablename__,
        "cycle_evaluator": CycleEvaluator.__tablename__,
    }
    reads = dict.fromkeys(tables, 0)

    def seen(conn, cursor, statement, parameters, context, executemany):
        for key, table in tables.items():
            if re.search(rf"\bFROM \"?{table}\b", statement):
                reads[key] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200, url
    return reads


@pytest.mark.parametrize("who", ["ngo_admin", "funder", "evaluator", "admin"])
def test_a_request_reads_a_persons_rights_once(app, client, world, logged_in, who):
    """The scorecard asks the loader, the scope and the navigation: one read for all."""
    logged_in(world[who])
    reads = count_reads(app, client, f"/reports/assessments/{world['assessment'].id}")
    assert reads["membership"] == 1
    assert reads["cycle_evaluator"] == 1
    assert reads["access_grant"] == (1 if who == "funder" else 0)


def test_the_overview_reads_rights_once_however_many_links_it_checks(app, client, world, logged_in):
    logged_in(world["ngo_admin"])
    reads = count_reads(app, client, f"/assessments/{world['assessment'].id}")
    assert reads == {"membership": 1, "access_grant": 0, "cycle_evaluator": 1}


def test_outside_a_request_the_principal_is_anonymous_and_may_be_loaded_explicitly(session, world):
    assert permissions.current_principal() is ANONYMOUS
    assert not permissions.can("view_rubric")
    admin = load_principal(session, world["admin"].id)
    assert may(admin, "review_assessment", world["other"])


# --- the scope ------------------------------------------------------------------------------------


def visible_ids(session, principal):
    query = select(Assessment.id).where(
        visible_assessments(principal, Assessment.organization_id, Assessment.cycle_id)
    )
    return set(session.exec(query).all())


def test_the_scope_selects_exactly_the_assessments_each_person_may_open(session, world):
    everything = session.exec(select(Assessment)).all()
    assert len(everything) == 2
    for who in WHO:
        principal = world["principals"][who]
        expected = {a.id for a in everything if may(principal, "view_assessment", a)}
        assert visible_ids(session, principal) == expected, who


def test_evaluators_see_the_cycles_they_are_assigned_to_and_admins_everything(session, world):
    """Issue 9: evaluators are restricted to their cycles (one line in the core), and the
    check and the scope stay in step."""
    assert frozenset({Role.ADMIN}) == permissions.SEES_EVERY_ASSESSMENT
    evaluator, unassigned = world["principals"]["evaluator"], world["principals"]["unassigned"]
    assert may(evaluator, "view_assessment", world["assessment"])
    assert not may(evaluator, "view_assessment", world["other"])
    assert visible_ids(session, evaluator) == {world["assessment"].id}
    assert visible_ids(session, unassigned) == {world["other"].id}
    assert visible_ids(session, world["principals"]["admin"]) == {
        world["assessment"].id,
        world["other"].id,
    }
    for who in WHO:
        principal = world["principals"][who]
        everything = session.exec(select(Assessment)).all()
        expected = {a.id for a in everything if may(principal, "view_assessment", a)}
        assert visible_ids(session, principal) == expected, who


def test_lists_of_assessments_hold_only_what_their_viewer_may_open(session, world):
    from surveys.queries import own_assessments, recent_assessments, shared_with_funder

    for who in WHO:
        principal = world["principals"][who]
        allowed = visible_ids(session, principal)
        for rows in (
            own_assessments(session, principal),
            recent_assessments(session, principal),
            shared_with_funder(session, principal),
            cycles.cycle_assessments(session, world["cycle"], viewer=principal),
        ):
            assert {row.id for row in rows} <= allowed, who
    assert {r.id for r in recent_assessments(session, world["principals"]["funder"])} == {
        world["assessment"].id
    }


def test_the_scorecard_query_has_no_scores_for_who_may_not_see_them(session, world):
    from reports.queries import scorecard
    from rubrics.services import rubric_of
    from surveys.models import Score

    assessment = world["assessment"]
    version_id = session.get(AssessmentCycle, assessment.cycle_id).rubric_version_id
    session.add(
        Score(
            assessment_id=assessment.id,
            rubric_version_id=version_id,
            level="overall",
            code="quick-check",
            score=50.0,
            coverage=1.0,
        )
    )
    session.commit()
    from rubrics.models import RubricVersion

    rubric = rubric_of(session.get(RubricVersion, version_id))

    def card(who):
        return scorecard(
            session, assessment.id, version_id, rubric, "en", viewer=world["principals"][who]
        )

    assert card("funder").overall is not None
    assert card("other_funder").overall is None
    assert card("other_ngo").overall is None


# --- routes declare what they need ----------------------------------------------------------------


def undeclared_routes(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if access_of(app.view_functions[rule.endpoint]) is None
    )


def test_every_route_declares_its_permission_or_that_it_is_public(app):
    assert undeclared_routes(app) == []
    assert len(list(app.url_map.iter_rules())) > 30


def test_a_route_that_declares_nothing_is_found(app):
    @app.route("/undeclared")
    def undeclared():
        return "?"

    @app.route("/declared")
    @public
    def declared():
        return "ok"

    assert undeclared_routes(app) == ["/undeclared"]


def test_the_declarations_are_the_expected_ones(app):
    def declared(endpoint):
        return access_of(app.view_functions[endpoint])

    assert declared("accounts.login").public
    assert declared("static").public
    assert declared("main.home").permission == "logged_in"
    assert declared("questionnaire.page").permission == "answer_assessment"
    assert declared("review.review_indicator").permission == "review_assessment"
    assert declared("rubrics.publish").permission == "author_rubric"
    assert declared("rubrics.version").permission == "view_rubric"
    assert declared("directory.index").public  # issue 12: the directory is open to visitors
    assert declared("directory.detail").public  # (each profile through view_profile)
    assert declared("organizations.create").permission == "manage_organizations"
    assert declared("organizations.profile").permission == "edit_profile"
    # issue 14: the API declares the same permissions as the pages it mirrors
    assert declared("api.get_assessment").permission == "view_assessment"
    assert declared("api.update_answers").permission == "answer_assessment"
    assert declared("api.submit_assessment").permission == "answer_assessment"
    assert declared("api.list_cycles").permission == "view_cycles"
    assert declared("api.openapi_document").public


def test_a_route_that_declares_an_object_permission_must_load_through_the_core(
    app, client, world, logged_in
):
    @app.route("/forgetful")
    @requires("view_assessment")
    def forgetful():
        return "never checked"

    logged_in(world["admin"])
    assert client.get("/forgetful").status_code == 500  # a programming error, never a 200


def test_a_route_with_a_global_permission_sends_strangers_to_login_and_refuses_others(
    app, client, world, logged_in
):
    @app.route("/staff-only")
    @requires("view_cycles")
    def staff_only():
        return "staff"

    assert client.get("/staff-only").status_code == 302  # to the login page
    logged_in(world["member"])
    assert client.get("/staff-only").status_code == 403


# --- nobody else spells a role --------------------------------------------------------------------

ROLE_SPELLINGS = re.compile(r"\bhas_role\b|\bRole\.(EVALUATOR|ADMIN)\b")
MAY_SPELL_ROLES = {
    "accounts/permissions.py",  # the core
    "accounts/cli.py",  # creates people
    "webapp/demo.py",  # the demo data creates people
}


def test_only_the_core_spells_roles():
    offenders = []
    for package in ("accounts", "rubrics", "surveys", "reports", "webapp", "evaluator"):
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix not in (".py", ".html"):
                continue
            relative = path.relative_to(ROOT).as_posix()
            if relative in MAY_SPELL_ROLES:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ROLE_SPELLINGS.search(line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_role_based_permissions_are_held_by_exactly_their_declared_roles():
    """``users_who_may`` lists holders from the declared roles: they must match the check."""
    for name, entry in PERMISSIONS.items():
        if entry.roles is None:
            continue
        for role in Role:
            principal = permissions.Principal(user_id=1, roles=frozenset({role}))
            assert may(principal, name) == (role in entry.roles), (name, role)
