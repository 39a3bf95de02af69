"""Administration of people by admins, NGO admins running their own team, and the audit log:
every action through the routes with CSRF, refused to everyone else, recorded."""

# ruff: noqa: RUF001  (Greek text is checked here: its letters are not confusables)
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from smtp_sink import SmtpSink, mail_app, module_session, smtp_sink
from sqlmodel import Session, select

from accounts import services as accounts
from accounts.models import AuditEvent, Membership, Organization, Role, User
from accounts.people import audit_log

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def app(request, backend, tmp_path_factory, smtp) -> Iterator[Flask]:
    """One app and database for the module (the tests below change disjoint people)."""
    folder = tmp_path_factory.mktemp("people")
    with mail_app(request, backend, folder, smtp) as app:
        yield app


@pytest.fixture(scope="module")
def db(app) -> Iterator[Session]:
    with module_session(app) as session:
        yield session


def person(db, email, role=None, org=None, name=None, locale=None) -> User:
    user = accounts.create_user(
        db, email=email, name=name or email.split("@")[0].title(), password=PASSWORD, locale=locale
    )
    if role is not None:
        accounts.add_membership(db, user=user, role=role, organization=org)
    db.commit()
    return user


@pytest.fixture(scope="module")
def world(db) -> dict[str, Any]:
    orgs = {
        "ngo_a": Organization(code="ngo-a", name="Hope & Home", kind="ngo", country="AL"),
        "ngo_b": Organization(code="ngo-b", name="Safe Passage", kind="ngo", country="GR"),
        "fund": Organization(code="fund", name="Balkan Fund", kind="funder", country="GR"),
    }
    db.add_all(orgs.values())
    db.commit()
    people = {
        "admin": person(db, "root@example.org", Role.ADMIN, name="Root"),
        "admin_a": person(db, "a@example.org", Role.NGO_ADMIN, orgs["ngo_a"], name="Ana"),
        "member_a": person(db, "m@example.org", Role.NGO_MEMBER, orgs["ngo_a"], name="Marko"),
        "admin_b": person(db, "b@example.org", Role.NGO_ADMIN, orgs["ngo_b"], name="Bora"),
        "member_b": person(db, "mb@example.org", Role.NGO_MEMBER, orgs["ngo_b"], name="Mila"),
        "funder": person(db, "f@example.org", Role.FUNDER, orgs["fund"], name="Fiona"),
        "evaluator": person(db, "e@example.org", Role.EVALUATOR, name="Eva"),
    }
    return {**orgs, **people}


def events(db, action, object_id=None) -> list[AuditEvent]:
    db.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == str(object_id))
    return list(db.exec(query).all())


def token(client, url) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, url)


# --- who may: admins only, and CSRF ---------------------------------------------------------


def test_admin_pages_are_refused_to_everyone_else_and_send_strangers_to_login(
    app, world, logged_in
):
    target = world["member_b"].id
    pages = [
        "/admin/people",
        "/admin/people/invite",
        f"/admin/people/{target}",
        "/admin/audit",
        "/admin/audit.csv",
    ]
    posts = [
        f"/admin/people/{target}/deactivate",
        f"/admin/people/{target}/reactivate",
        f"/admin/people/{target}/reset",
        f"/admin/people/{target}/memberships",
        "/admin/people/invite",
    ]
    anonymous = app.test_client()
    for url in pages:  # (a post without a session's CSRF token is refused first: 400)
        assert anonymous.get(url).status_code == 302, url
    for who in ("admin_a", "member_a", "funder", "evaluator"):
        client = logged_in(world[who])
        for url in pages:
            assert client.get(url).status_code == 403, (who, url)
        csrf = token(client, "/")
        for url in posts:
            assert client.post(url, data={"csrf_token": csrf}).status_code == 403, (who, url)
        client.post("/logout", data={"csrf_token": csrf})
    admin = logged_in(world["admin"])
    for url in pages:
        assert admin.get(url).status_code == 200, url
    assert admin.get("/admin/people/999999").status_code == 404
    db_user = world["member_b"]
    assert db_user.active


def test_a_post_without_the_csrf_token_changes_nothing(app, db, world, logged_in):
    target = person(db, "csrf@example.org", Role.NGO_MEMBER, world["ngo_b"])
    client = logged_in(world["admin"])
    assert client.post(f"/admin/people/{target.id}/deactivate").status_code == 400
    db.refresh(target)
    assert target.active


def test_admins_list_and_search_people_with_their_roles(world, logged_in):
    client = logged_in(world["admin"])
    page = client.get("/admin/people?q=BORA").get_data(as_text=True)
    assert "b@example.org" in page
    assert "NGO admin (Safe Passage)" in page
    assert "m@example.org" not in page
    every = client.get("/admin/people").get_data(as_text=True)
    assert "Hope &amp; Home" in every
    assert "Hope & Home" not in every


# --- deactivation and the last admin --------------------------------------------------------------


def test_a_deactivated_person_cannot_log_in_and_is_logged_out(app, db, world, logged_in, login_as):
    target = person(db, "leaving@example.org", Role.NGO_MEMBER, world["ngo_a"])
    theirs = app.test_client()
    assert login_as(theirs, target.email).status_code == 302
    assert theirs.get("/").status_code == 200

    admin = logged_in(world["admin"])
    csrf = token(admin, f"/admin/people/{target.id}")
    response = admin.post(f"/admin/people/{target.id}/deactivate", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert "can no longer log in" in admin.get(response.location).get_data(as_text=True)

    assert theirs.get("/").status_code == 302  # their session no longer counts
    assert login_as(app.test_client(), target.email).status_code == 401
    [event] = events(db, "deactivation", target.id)
    assert event.actor_id == world["admin"].id
    assert event.address == "127.0.0.1"

    admin.post(f"/admin/people/{target.id}/reactivate", data={"csrf_token": csrf})
    assert login_as(app.test_client(), target.email).status_code == 302
    assert events(db, "reactivation", target.id)


def test_the_last_admin_can_neither_be_deactivated_nor_lose_the_role(db, world, logged_in):
    root = world["admin"]
    client = logged_in(root)
    csrf = token(client, f"/admin/people/{root.id}")
    [membership] = db.exec(select(Membership).where(Membership.user_id == root.id)).all()

    answer = client.post(f"/admin/people/{root.id}/deactivate", data={"csrf_token": csrf})
    assert "last administrator" in client.get(answer.location).get_data(as_text=True)
    answer = client.post(
        f"/admin/people/{root.id}/memberships/{membership.id}/remove", data={"csrf_token": csrf}
    )
    assert "last administrator" in client.get(answer.location).get_data(as_text=True)
    db.expire_all()
    assert db.get(User, root.id).active
    assert db.get(Membership, membership.id) is not None

    # With a second admin, the first may go; the second then is the last.
    second = person(db, "root2@example.org", Role.ADMIN)
    client.post(f"/admin/people/{second.id}/deactivate", data={"csrf_token": csrf})
    db.expire_all()
    assert not db.get(User, second.id).active  # an active admin remained: allowed
    client.post(f"/admin/people/{second.id}/reactivate", data={"csrf_token": csrf})
    held = db.exec(select(Membership.id).where(Membership.user_id == second.id)).one()
    client.post(f"/admin/people/{second.id}/memberships/{held}/remove", data={"csrf_token": csrf})
    db.expire_all()
    assert db.get(Membership, held) is None


def test_admins_add_and_remove_roles_and_each_change_is_recorded(db, world, logged_in):
    target = person(db, "roles@example.org", Role.NGO_MEMBER, world["ngo_a"])
    client = logged_in(world["admin"])
    csrf = token(client, f"/admin/people/{target.id}")
    url = f"/admin/people/{target.id}/memberships"
    client.post(
        url, data={"csrf_token": csrf, "role": "ngo_admin", "organization": world["ngo_b"].id}
    )
    wrong = client.post(url, data={"csrf_token": csrf, "role": "ngo_member", "organization": 0})
    assert "needs an NGO" in client.get(wrong.location).get_data(as_text=True)
    held = {
        (m.role, m.organization_id)
        for m in db.exec(select(Membership).where(Membership.user_id == target.id)).all()
    }
    assert held == {("ngo_member", world["ngo_a"].id), ("ngo_admin", world["ngo_b"].id)}
    # the first is the membership the person was created with; then the admin's
    added = events(db, "membership_added", target.id)[-1]
    assert added.actor_id == world["admin"].id
    assert added.detail["role"] == "ngo_admin"
    assert added.organization_id == world["ngo_b"].id

    gone = (
        db.exec(
            select(Membership).where(
                Membership.user_id == target.id, Membership.role == "ngo_member"
            )
        )
        .one()
        .id
    )
    client.post(f"/admin/people/{target.id}/memberships/{gone}/remove", data={"csrf_token": csrf})
    db.expire_all()
    assert db.get(Membership, gone) is None
    assert events(db, "membership_removed", target.id)


# --- NGO admins run their own team ----------------------------------------------------------------


def test_an_ngo_admin_invites_promotes_and_removes_a_colleague(db, world, logged_in, smtp):
    ngo = world["ngo_a"]
    client = logged_in(world["admin_a"])
    page = client.get(f"/organizations/{ngo.id}/team").get_data(as_text=True)
    assert "m@example.org" in page
    assert "b@example.org" not in page
    csrf = token(client, f"/organizations/{ngo.id}/team")
    smtp.clear()
    response = client.post(
        f"/organizations/{ngo.id}/team/invite",
        data={"csrf_token": csrf, "email": "New@Example.org", "name": "Nia", "role": "ngo_member",
              "locale": "en"},
    )  # fmt: skip
    assert response.status_code == 302
    [message] = smtp.messages("new@example.org")
    assert "Hope & Home" in message.get_body(preferencelist=("plain",)).get_content()
    newcomer = db.exec(select(User).where(User.email == "new@example.org")).one()
    held = db.exec(select(Membership).where(Membership.user_id == newcomer.id)).all()
    assert [(m.role, m.organization_id) for m in held] == [("ngo_member", ngo.id)]

    client.post(
        f"/organizations/{ngo.id}/team/{newcomer.id}/role",
        data={"csrf_token": csrf, "role": "ngo_admin"},
    )
    db.expire_all()
    roles = db.exec(select(Membership.role).where(Membership.user_id == newcomer.id)).all()
    assert roles == ["ngo_admin"]
    assert events(db, "role_changed", newcomer.id)[0].actor_id == world["admin_a"].id

    client.post(f"/organizations/{ngo.id}/team/{newcomer.id}/remove", data={"csrf_token": csrf})
    db.expire_all()
    assert not db.exec(select(Membership).where(Membership.user_id == newcomer.id)).all()
    assert db.get(User, newcomer.id).active  # out of the NGO, not deleted
    assert events(db, "membership_removed", newcomer.id)


def test_an_ngo_admin_never_reaches_another_ngos_people(db, world, logged_in):
    a, b = world["ngo_a"], world["ngo_b"]
    client = logged_in(world["admin_a"])
    csrf = token(client, f"/organizations/{a.id}/team")
    assert client.get(f"/organizations/{b.id}/team").status_code == 404
    assert client.get("/organizations/999999/team").status_code == 404
    member_b = world["member_b"].id
    for url, data in (
        (f"/organizations/{b.id}/team/{member_b}/remove", {}),
        (f"/organizations/{b.id}/team/{member_b}/role", {"role": "ngo_admin"}),
        (f"/organizations/{b.id}/team/invite", {"email": "x@example.org", "name": "X",
                                                "role": "ngo_member", "locale": "en"}),
        # another NGO's person under one's own NGO: not in the team, the same 404
        (f"/organizations/{a.id}/team/{member_b}/remove", {}),
        (f"/organizations/{a.id}/team/{member_b}/role", {"role": "ngo_member"}),
    ):  # fmt: skip
        assert client.post(url, data={"csrf_token": csrf, **data}).status_code == 404, url
    db.expire_all()
    assert db.exec(select(Membership).where(Membership.user_id == member_b)).one().role == (
        "ngo_member"
    )
    # An existing address elsewhere: refused without saying that it exists.
    answer = client.post(
        f"/organizations/{a.id}/team/invite",
        data={"csrf_token": csrf, "email": "mb@example.org", "name": "Mila", "role": "ngo_member",
              "locale": "en"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert "cannot be invited" in answer.get_data(as_text=True)


def test_the_team_page_is_refused_to_members_and_funders(world, logged_in, app):
    ngo = world["ngo_a"].id
    assert logged_in(world["member_a"]).get(f"/organizations/{ngo}/team").status_code == 403
    other = app.test_client()
    from tests.conftest import login

    login(other, world["funder"].email)
    assert other.get(f"/organizations/{ngo}/team").status_code == 404  # no grant: unseen
    admin = app.test_client()
    login(admin, world["admin"].email)
    assert admin.get(f"/organizations/{ngo}/team").status_code == 200


def test_the_last_ngo_admin_stays(db, world, logged_in):
    ngo = Organization(code="ngo-c", name="Lone NGO", kind="ngo", country="RS")
    db.add(ngo)
    db.commit()
    alone = person(db, "lone@example.org", Role.NGO_ADMIN, ngo)
    client = logged_in(alone)
    csrf = token(client, f"/organizations/{ngo.id}/team")
    me = alone.id
    answer = client.post(
        f"/organizations/{ngo.id}/team/{me}/role", data={"csrf_token": csrf, "role": "ngo_member"}
    )
    assert "at least one NGO admin" in client.get(answer.location).get_data(as_text=True)
    client.post(f"/organizations/{ngo.id}/team/{me}/remove", data={"csrf_token": csrf})
    db.expire_all()
    assert db.exec(select(Membership.role).where(Membership.user_id == me)).all() == ["ngo_admin"]


# --- the audit log --------------------------------------------------------------------------------


def test_the_audit_log_filters_pages_and_escapes(db, world, logged_in):
    hostile = person(db, "hostile@example.org", Role.NGO_MEMBER, world["ngo_b"],
                     name="<script>x</script>")  # fmt: skip
    for n in range(audit_log.PAGE_SIZE + 3):
        accounts.audit(db, actor=hostile, action="probe", object_type="thing", object_id=n,
                       organization_id=world["ngo_b"].id)  # fmt: skip
    db.commit()
    client = logged_in(world["admin"])
    first = client.get("/admin/audit?action=probe&who=hostile").get_data(as_text=True)
    assert f"{audit_log.PAGE_SIZE + 3} events" in first
    assert "Page 1 of 2" in first
    assert "<script>x</script>" not in first
    assert "&lt;script&gt;" in first
    second = client.get("/admin/audit?action=probe&who=hostile&page=2").get_data(as_text=True)
    assert second.count("thing ") == 3
    assert "0 events" in client.get("/admin/audit?action=probe&who=nobody").get_data(as_text=True)
    by_org = client.get(f"/admin/audit?action=probe&organization={world['ngo_a'].id}")
    assert "0 events" in by_org.get_data(as_text=True)
    future = client.get("/admin/audit?action=probe&since=2999-01-01").get_data(as_text=True)
    assert "0 events" in future
    assert client.get("/admin/audit?since=not-a-date").status_code == 200


def test_the_csv_export_neutralises_formulas_and_is_recorded(db, world, logged_in):
    formula = person(db, "formula@example.org", Role.NGO_MEMBER, world["ngo_a"],
                     name="=HYPERLINK(\"http://x\")")  # fmt: skip
    accounts.audit(db, actor=formula, action="login", object_type="user", object_id=formula.id)
    db.commit()
    client = logged_in(world["admin"])
    response = client.get("/admin/audit.csv?who=formula")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["id", "at", "actor", "action"]
    assert len(rows) == 2
    assert rows[1][2].startswith("'=HYPERLINK")
    [export] = [e for e in events(db, "export") if e.detail.get("filters", {}).get("who")]
    assert export.actor_id == world["admin"].id


def test_the_audit_log_cannot_be_changed_through_any_route(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/audit")]
    assert rules
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


def test_login_failures_show_in_the_log(app, db, world, logged_in, login_as):
    login_as(app.test_client(), "m@example.org", "wrong password!")
    page = logged_in(world["admin"]).get("/admin/audit?action=login_failed").get_data(as_text=True)
    assert "m@example.org" in page


def test_a_platform_role_invited_with_an_organisation_belongs_to_none(db, world, logged_in, smtp):
    client = logged_in(world["admin"])
    client.post(
        "/admin/people/invite",
        data={
            "csrf_token": token(client, "/admin/people/invite"),
            "email": "eval2@example.org",
            "name": "Evi",
            "role": "evaluator",
            "organization": world["ngo_a"].id,
            "locale": "en",
        },
    )
    user = db.exec(select(User).where(User.email == "eval2@example.org")).one()
    [membership] = db.exec(select(Membership).where(Membership.user_id == user.id)).all()
    assert (membership.role, membership.organization_id) == ("evaluator", None)
    assert smtp.messages("eval2@example.org")


def test_the_admin_and_team_pages_are_in_greek(world, logged_in):
    admin = logged_in(world["admin"])
    assert "Πρόσκληση ατόμου" in admin.get("/admin/people?lang=el").get_data(as_text=True)
    assert "Λήψη ως CSV" in admin.get("/admin/audit?lang=el").get_data(as_text=True)
    person_page = admin.get(f"/admin/people/{world['member_a'].id}?lang=el").get_data(as_text=True)
    assert "Μέλος ΜΚΟ" in person_page
    assert "Απενεργοποίηση" in person_page
    team = admin.get(f"/organizations/{world['ngo_a'].id}/team?lang=el").get_data(as_text=True)
    assert "Πρόσκληση συναδέλφου" in team
