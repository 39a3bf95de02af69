"""Organisations (issue 12, section 1 and 4): admins create, edit, deactivate and reactivate
them; an NGO's admins edit its profile, written by compare-and-set; ``create-org``."""

from __future__ import annotations

import pytest
from sqlmodel import select

from accounts.models import AuditEvent, Organization, Role, Visibility
from tests.conftest import csrf_token, login

PROFILE = {
    "name": "Hope and Home",
    "kind": "ngo",  # the admins' form has it; the NGO admins' ignores it
    "names": "sq: Shpresë dhe Shtëpi",
    "country": "AL",
    "cities": "Tirana\nDurrës\n\nTirana",
    "services": "Shelter for girls",
    "languages": ["sq", "en"],
    "focus_areas": ["trafficking", "shelter_care"],
    "contact_email": "info@hope.example.org",
    "contact_phone": "+355 4 222 333",
    "website": "https://hope.example.org",
    "year_founded": "1999",
    "visibility": "public",
    "private_fields": ["contact_phone"],
}


@pytest.fixture
def world(make_org, make_user):
    ngo = make_org("NGO A", code="ngo-a")
    other = make_org("NGO B", code="ngo-b", country="MK")
    fund = make_org("Fund", kind="funder", code="fund")
    return {
        "ngo": ngo,
        "other": other,
        "fund": fund,
        "ngo_admin": make_user("a@example.org", Role.NGO_ADMIN, ngo),
        "member": make_user("m@example.org", Role.NGO_MEMBER, ngo),
        "other_admin": make_user("b@example.org", Role.NGO_ADMIN, other),
        "funder": make_user("f@example.org", Role.FUNDER, fund),
        "evaluator": make_user("e@example.org", Role.EVALUATOR),
        "admin": make_user("admin@example.org", Role.ADMIN),
    }


def profile_url(org):
    return f"/organizations/{org.id}/profile"


def post_profile(client, csrf, org, **changes):
    token = csrf(client, profile_url(org))
    version = changes.pop("version", None)
    if version is None:
        page = client.get(profile_url(org)).get_data(as_text=True)
        version = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    data = {**PROFILE, **changes, "csrf_token": token, "version": str(version)}
    return client.post(profile_url(org), data=data)


def events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- creating ------------------------------------------------------------------------------------


def test_an_admin_creates_an_organisation_hidden_from_the_directory_at_first(
    client, session, world, logged_in, csrf
):
    logged_in(world["admin"])
    token = csrf(client, "/organizations/new")
    data = {"code": "agency", "name": "Anti-trafficking Office", "kind": "government"}
    assert client.post("/organizations/new", data=data).status_code == 400  # no CSRF token
    response = client.post(
        "/organizations/new", data={**data, "country": "GR", "csrf_token": token}
    )
    assert response.status_code == 302
    org = session.exec(select(Organization).where(Organization.code == "agency")).one()
    assert response.location.endswith(profile_url(org))
    assert (org.kind, org.country, org.visibility, org.active, org.version) == (
        "government",
        "GR",
        Visibility.HIDDEN,
        True,
        1,
    )
    assert [e.organization_id for e in events(session, "organization_created")] == [org.id]
    listing = client.get("/organizations").get_data(as_text=True)
    assert "Anti-trafficking Office" in listing
    assert "Government agency" in listing


def test_a_taken_or_malformed_code_is_refused_with_a_message(
    client, session, world, logged_in, csrf
):
    logged_in(world["admin"])
    token = csrf(client, "/organizations/new")
    for code in ("ngo-a", "Bad Code", "x"):
        data = {"code": code, "name": "Again", "kind": "ngo", "csrf_token": token}
        response = client.post("/organizations/new", data=data)
        assert response.status_code == 400, code
        assert 'class="error"' in response.get_data(as_text=True)
    assert len(session.exec(select(Organization)).all()) == 3


def test_administering_organisations_is_refused_to_everyone_but_admins(app, session, world):
    ngo = world["ngo"]
    for who in ("ngo_admin", "member", "funder", "evaluator"):
        client = app.test_client()
        assert login(client, world[who].email).status_code == 302
        token = csrf_token(client, "/")
        data = {"code": "x-y", "name": "X", "kind": "ngo", "version": "1", "csrf_token": token}
        assert client.get("/organizations").status_code == 403, who
        assert client.get("/organizations/new").status_code == 403, who
        assert client.post("/organizations/new", data=data).status_code == 403, who
        assert client.post(f"/organizations/{ngo.id}/deactivate", data=data).status_code == 403
        assert client.post(f"/organizations/{ngo.id}/activate", data=data).status_code == 403
    session.refresh(ngo)
    assert ngo.active
    assert len(session.exec(select(Organization)).all()) == 3


def test_whoever_is_not_logged_in_is_sent_to_log_in(client, world):
    for url in ("/organizations", "/organizations/new", profile_url(world["ngo"])):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.location


# --- the profile ---------------------------------------------------------------------------------


def test_an_ngo_admin_edits_their_own_profile_but_not_its_kind(
    client, session, world, logged_in, csrf
):
    logged_in(world["ngo_admin"])
    ngo = world["ngo"]
    page = client.get(profile_url(ngo)).get_data(as_text=True)
    assert 'name="kind"' not in page
    response = post_profile(client, csrf, ngo, kind="funder")
    assert response.status_code == 302
    session.refresh(ngo)
    assert ngo.kind == "ngo"  # a posted kind is ignored: not theirs to change
    assert ngo.version == 2
    assert ngo.names == {"sq": "Shpresë dhe Shtëpi"}
    assert ngo.cities == ["Tirana", "Durrës"]  # blank lines and repeats dropped
    assert ngo.languages == ["sq", "en"]
    assert ngo.year_founded == 1999
    assert ngo.private_fields == ["contact_phone"]
    assert ngo.visibility == "public"
    assert "shpresë dhe shtëpi" in ngo.search_text
    assert "durrës" in ngo.search_text
    [event] = events(session, "organization_profile_changed")
    assert event.actor_id == world["ngo_admin"].id
    assert "cities" in event.detail["fields"]


def test_an_ngo_admin_never_reaches_another_organisations_profile(
    client, session, world, logged_in, csrf
):
    logged_in(world["ngo_admin"])
    other = world["other"]
    assert client.get(profile_url(other)).status_code == 404  # hidden: not even seen
    other.visibility = Visibility.PUBLIC
    session.add(other)
    session.commit()
    assert client.get(profile_url(other)).status_code == 403  # seen in the directory
    token = csrf(client, profile_url(world["ngo"]))
    data = {**PROFILE, "csrf_token": token, "version": "1"}
    assert client.post(profile_url(other), data=data).status_code == 403
    session.refresh(other)
    assert other.name == "NGO B"


def test_who_may_not_edit_a_profile_is_refused(app, world):
    """403 to a plain member (they see their organisation's profile), 404 to the others."""
    for who, status in (("member", 403), ("funder", 404), ("evaluator", 404)):
        client = app.test_client()
        assert login(client, world[who].email).status_code == 302
        assert client.get(profile_url(world["ngo"])).status_code == status, who


def test_a_stale_edit_shows_both_versions_and_overwrites_nothing(
    client, app, session, world, logged_in, csrf
):
    ngo = world["ngo"]
    logged_in(world["ngo_admin"])
    other = app.test_client()
    assert login(other, "admin@example.org").status_code == 302
    seen = 1  # both opened the form at version 1
    assert post_profile(other, csrf, ngo, version=seen, name="Hope & Home").status_code == 302
    response = post_profile(client, csrf, ngo, version=seen, name="Hope and Home Tirana")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone changed this profile meanwhile" in html
    assert "Hope &amp; Home" in html
    assert "Hope and Home Tirana" in html
    session.refresh(ngo)
    assert (ngo.name, ngo.version) == ("Hope & Home", 2)
    # The conflict page's form is theirs, based on the current version: saving it wins now.
    assert 'name="version" type="hidden" value="2"' in html
    assert (
        post_profile(client, csrf, ngo, version=2, name="Hope and Home Tirana").status_code == 302
    )
    session.refresh(ngo)
    assert (ngo.name, ngo.version) == ("Hope and Home Tirana", 3)


INVALID = [
    ("website", "javascript:alert(1)"),
    ("contact_email", "not an address"),
    ("year_founded", "1500"),
    ("names", "Shpresë without its language"),
    ("visibility", "everyone"),
    ("focus_areas", ["astrology"]),
    ("name", ""),
]


def test_invalid_profile_values_are_refused_and_named(client, session, world, logged_in, csrf):
    logged_in(world["ngo_admin"])
    for field, value in INVALID:
        response = post_profile(client, csrf, world["ngo"], version=1, **{field: value})
        assert response.status_code == 400, field
        assert f'href="#{field}"' in response.get_data(as_text=True), field
    session.refresh(world["ngo"])
    assert world["ngo"].version == 1


def test_an_admin_changes_the_kind_only_of_an_organisation_nobody_belongs_to(
    client, session, world, logged_in, csrf, make_org
):
    logged_in(world["admin"])
    empty = make_org("Office", code="office")
    assert post_profile(client, csrf, empty, kind="government").status_code == 302
    session.refresh(empty)
    assert empty.kind == "government"
    response = post_profile(client, csrf, world["ngo"], kind="funder")
    assert response.status_code == 400
    assert "People belong to this organisation" in response.get_data(as_text=True)
    session.refresh(world["ngo"])
    assert (world["ngo"].kind, world["ngo"].version) == ("ngo", 1)


# --- deactivation --------------------------------------------------------------------------------


def test_a_deactivated_organisations_people_cannot_log_in_until_it_is_reactivated(
    client, app, session, world, logged_in, csrf
):
    ngo = world["ngo"]
    member = app.test_client()
    assert login(member, "m@example.org").status_code == 302
    logged_in(world["admin"])
    token = csrf(client, "/organizations")
    url = f"/organizations/{ngo.id}/deactivate"
    assert client.post(url, data={"version": "1"}).status_code == 400  # no CSRF token
    assert client.post(url, data={"version": "1", "csrf_token": token}).status_code == 302
    session.refresh(ngo)
    assert (ngo.active, ngo.version) == (False, 2)
    assert "/login" in member.get("/").location  # their session ends at once
    assert login(app.test_client(), "m@example.org").status_code == 401
    assert login(app.test_client(), "a@example.org").status_code == 401
    assert login(app.test_client(), "b@example.org").status_code == 302  # another NGO's
    assert events(session, "organization_deactivated")
    # Nothing is deleted; reactivating lets them in again.
    assert client.get(profile_url(ngo)).status_code == 200
    url = f"/organizations/{ngo.id}/activate"
    assert client.post(url, data={"version": "2", "csrf_token": token}).status_code == 302
    assert login(app.test_client(), "m@example.org").status_code == 302


def test_deactivating_from_a_stale_page_changes_nothing(client, session, world, logged_in, csrf):
    logged_in(world["admin"])
    token = csrf(client, "/organizations")
    url = f"/organizations/{world['ngo'].id}/deactivate"
    response = client.post(url, data={"version": "7", "csrf_token": token})
    assert response.status_code == 302
    assert "changed this organisation meanwhile" in client.get("/organizations").get_data(
        as_text=True
    )
    session.refresh(world["ngo"])
    assert world["ngo"].active


def test_someone_with_a_platform_role_logs_in_whatever_becomes_of_an_organisation(
    session, world, make_user
):
    from accounts import services

    admin = world["admin"]
    services.add_membership(session, user=admin, role=Role.NGO_MEMBER, organization=world["ngo"])
    world["ngo"].active = False
    session.add(world["ngo"])
    session.commit()
    assert not services.only_in_inactive_organizations(session, admin.id)
    assert services.only_in_inactive_organizations(session, world["member"].id)


# --- the navigation and the command line ---------------------------------------------------------


def test_the_navigation_leads_admins_to_organisations_and_ngo_admins_to_their_profile(
    client, world, logged_in
):
    logged_in(world["ngo_admin"])
    home = client.get("/").get_data(as_text=True)
    assert profile_url(world["ngo"]) in home
    assert 'href="/organizations"' not in home
    assert 'href="/directory"' in home


def test_create_org_makes_an_organisation_people_can_then_join(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-org", "--code", "newngo", "--name", "New NGO", "--country", "al"]
    )
    assert result.exit_code == 0, result.output
    assert "created newngo (ngo)" in result.output
    again = runner.invoke(args=["create-org", "--code", "newngo", "--name", "Twice"])
    assert again.exit_code != 0
    assert "exists" in again.output
    bad = runner.invoke(args=["create-org", "--code", "x2", "--name", "X", "--country", "ALB"])
    assert bad.exit_code != 0
    user = runner.invoke(
        args=[
            "create-user",
            "--email",
            "n@example.org",
            "--name",
            "N",
            "--role",
            "ngo_admin",
            "--org",
            "newngo",
            "--password",
            "long enough password",
        ]
    )
    assert user.exit_code == 0, user.output
    org = session.exec(select(Organization).where(Organization.code == "newngo")).one()
    assert (org.country, org.visibility) == ("AL", "hidden")


def test_of_two_concurrent_profile_saves_one_wins_and_the_other_is_told(
    session, database_url, world
):
    """Two sessions (two requests) both read version 1 and both save: the compare-and-set lets
    exactly one write, on SQLite and PostgreSQL alike."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from accounts.concurrency import StaleWrite
    from accounts.organizations import services

    engine = sa.create_engine(database_url)
    with Session(engine) as first, Session(engine) as second:
        mine = first.get(Organization, world["ngo"].id)
        theirs = second.get(Organization, world["ngo"].id)
        assert mine.version == theirs.version == 1
        services.update_profile(first, mine, seen=1, values={"name": "First"}, by=None)
        first.commit()
        with pytest.raises(StaleWrite) as lost:
            services.update_profile(second, theirs, seen=1, values={"name": "Second"}, by=None)
        assert lost.value.current.name == "First"
        second.rollback()
    engine.dispose()
    session.refresh(world["ngo"])
    assert (world["ngo"].name, world["ngo"].version) == ("First", 2)
