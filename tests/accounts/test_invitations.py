"""Invitation and reset links by e-mail, through a real SMTP server: the recipient, their
language, plain text and HTML; links that work once, expire, resist tampering and belong to
one person; the password rules; a reset that never says whether an address exists."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from smtp_sink import (
    SmtpSink,
    link_in,
    mail_app,
    module_session,
    smtp_sink,
    text_of,
)
from sqlmodel import Session, select

from accounts import services as accounts
from accounts import tokens
from accounts.models import AccountToken, AuditEvent, Organization, Role, TokenPurpose, User, utcnow
from accounts.passwords import password_problems
from tests.conftest import csrf_token, login

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a new passphrase, long"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def app(request, backend, tmp_path_factory, smtp) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("invitations")
    with mail_app(request, backend, folder, smtp, MAIL_FROM="evaluator@network.test") as app:
        yield app


@pytest.fixture(scope="module")
def db(app) -> Iterator[Session]:
    with module_session(app) as session:
        yield session


@pytest.fixture(scope="module")
def world(db) -> dict[str, Any]:
    ngo = Organization(code="ngo-a", name="Ελπίδα & Σπίτι", kind="ngo", country="GR")
    db.add(ngo)
    db.commit()
    admin = accounts.create_user(db, email="root@example.org", name="Root", password=PASSWORD)
    accounts.add_membership(db, user=admin, role=Role.ADMIN)
    db.commit()
    return {"ngo": ngo, "admin": admin}


def admin_client(app, world):
    client = app.test_client()
    assert login(client, world["admin"].email).status_code == 302
    return client


def invite(app, world, email, *, locale="en", name="Newcomer"):
    client = admin_client(app, world)
    response = client.post(
        "/admin/people/invite",
        data={
            "csrf_token": csrf_token(client, "/admin/people/invite"),
            "email": email,
            "name": name,
            "role": "ngo_member",
            "organization": world["ngo"].id,
            "locale": locale,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def choose(client, path, password, confirm=None):
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def test_an_invitation_arrives_in_the_invitees_language_and_works_once(app, db, world, smtp):
    smtp.clear()
    invite(app, world, "Eleni@Example.org", locale="el", name="Ελένη")
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["eleni@example.org"]
    assert envelope.mail_from == "evaluator@network.test"
    [message] = smtp.messages("eleni@example.org")
    assert message["Subject"] == "Πρόσκληση στο Evaluator"
    assert "Ελένη" in text_of(message)
    assert "Ελπίδα & Σπίτι" in text_of(message)
    assert "Ελπίδα &amp; Σπίτι" in text_of(message, "html")  # escaped in the HTML part
    path = link_in(message, "/invitations/")
    assert 'href="http://evaluator.test/invitations/' in text_of(message, "html")

    newcomer = app.test_client()
    assert newcomer.get(path).status_code == 200
    landed = choose(newcomer, path, NEW_PASSWORD)
    assert landed.status_code == 302
    assert landed.location == "/"
    assert newcomer.get("/").status_code == 200  # logged in, on their home page

    again = app.test_client()
    assert again.get(path).status_code == 404
    assert choose(again, path, "another passphrase!").status_code == 404
    assert login(app.test_client(), "eleni@example.org", NEW_PASSWORD).status_code == 302
    user = db.exec(select(User).where(User.email == "eleni@example.org")).one()
    db.expire_all()
    actions = db.exec(select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).all()
    assert {"invitation", "invitation_accepted"} <= set(actions)


def test_an_english_invitation_is_in_english_with_plain_text_and_html(app, world, smtp):
    smtp.clear()
    invite(app, world, "john@example.org", locale="en", name="John")
    [message] = smtp.messages("john@example.org")
    assert message["Subject"] == "You are invited to Evaluator"
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    assert "for 7 days" in text_of(message)


def issued(db, email, purpose, **kwargs) -> str:
    user = db.exec(select(User).where(User.email == email)).first() or accounts.create_user(
        db, email=email, name=email.split("@")[0], password=PASSWORD
    )
    raw = tokens.issue(db, user=user, purpose=purpose, lifetime=timedelta(days=1), **kwargs)
    db.commit()
    return raw


def test_expired_tampered_and_wrong_purpose_links_do_not_work(app, db, world):
    client = app.test_client()
    old = issued(db, "late@example.org", TokenPurpose.INVITATION, now=utcnow() - timedelta(days=2))
    assert client.get(f"/invitations/{old}").status_code == 404
    fresh = issued(db, "late@example.org", TokenPurpose.INVITATION)
    tampered = fresh[:-1] + ("A" if fresh[-1] != "A" else "B")
    assert client.get(f"/invitations/{tampered}").status_code == 404
    assert client.get(f"/password/reset/{fresh}").status_code == 404  # not a reset link
    assert client.get(f"/invitations/{'x' * 500}").status_code == 404
    assert client.get(f"/invitations/{fresh}").status_code == 200
    # The table holds a hash, never the link itself.
    stored = db.exec(select(AccountToken.token_hash)).all()
    assert fresh not in stored
    assert tokens.digest(fresh) in stored


def test_a_link_for_another_person_is_refused_to_whoever_is_logged_in(app, db, world):
    raw = issued(db, "owner@example.org", TokenPurpose.RESET)
    someone = app.test_client()
    login(someone, world["admin"].email)
    assert someone.get(f"/password/reset/{raw}").status_code == 403
    assert choose(someone, f"/password/reset/{raw}", NEW_PASSWORD).status_code == 403
    assert login(app.test_client(), "owner@example.org", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("password", "confirm", "problem"),
    [
        ("short1!", None, "at least 10 characters"),
        ("rules@example.org", None, "not be your e-mail address"),
        ("aaaaaaaaaaaa", None, "not repeat one character"),
        ("qwertyuiop", None, "too common"),
        ("a long passphrase", "a different one!", "The two passwords differ"),
    ],
)
def test_the_password_rules_are_checked_and_the_link_still_works(
    app, db, world, password, confirm, problem
):
    raw = issued(db, "rules@example.org", TokenPurpose.INVITATION)
    client = app.test_client()
    page = client.get(f"/invitations/{raw}").get_data(as_text=True)
    assert "at least 10 characters" in page  # the rules are shown
    refused = choose(client, f"/invitations/{raw}", password, confirm)
    assert refused.status_code == 400
    assert problem in refused.get_data(as_text=True)
    assert choose(client, f"/invitations/{raw}", NEW_PASSWORD).status_code == 302


def test_the_rules_accept_a_greek_passphrase():
    assert password_problems("ένα μακρύ συνθηματικό", email="x@example.org") == []


def test_a_reset_never_says_whether_the_address_exists(app, db, world, smtp):
    accounts.create_user(db, email="known@example.org", name="Known", password=PASSWORD)
    db.commit()
    smtp.clear()
    answers = []
    for email in ("known@example.org", "unknown@example.org"):
        client = app.test_client()
        response = client.post(
            "/password/forgot",
            data={"csrf_token": csrf_token(client, "/password/forgot"), "email": email},
        )
        assert response.status_code == 302
        page = client.get(response.location).get_data(as_text=True).replace(email, "@")
        answers.append(re.sub(r'value="[^"]*"', "", page))  # CSRF tokens differ, nothing else
    assert answers[0] == answers[1]
    assert [e.rcpt_tos for e in smtp.envelopes] == [["known@example.org"]]


def test_a_reset_link_works_once_replaces_older_ones_and_changes_the_password(app, db, smtp):
    accounts.create_user(db, email="forgetful@example.org", name="F", password=PASSWORD)
    db.commit()
    smtp.clear()
    client = app.test_client()
    for _ in range(2):
        client.post(
            "/password/forgot",
            data={
                "csrf_token": csrf_token(client, "/password/forgot"),
                "email": "forgetful@example.org",
            },
        )
    first, second = (link_in(m, "/password/reset/") for m in smtp.messages())
    assert client.get(first).status_code == 404  # the newer link replaced it
    assert choose(client, second, NEW_PASSWORD).status_code == 302
    assert choose(app.test_client(), second, "yet another passphrase").status_code == 404
    assert login(app.test_client(), "forgetful@example.org", PASSWORD).status_code == 401
    assert login(app.test_client(), "forgetful@example.org", NEW_PASSWORD).status_code == 302


def test_a_deactivated_person_gets_no_reset_and_their_links_stop(app, db, world, smtp):
    user = accounts.create_user(db, email="gone@example.org", name="Gone", password=PASSWORD)
    db.commit()
    raw = issued(db, "gone@example.org", TokenPurpose.RESET)
    client = admin_client(app, world)
    client.post(
        f"/admin/people/{user.id}/deactivate",
        data={"csrf_token": csrf_token(client, f"/admin/people/{user.id}")},
    )
    assert app.test_client().get(f"/password/reset/{raw}").status_code == 404
    smtp.clear()
    anonymous = app.test_client()
    anonymous.post(
        "/password/forgot",
        data={"csrf_token": csrf_token(anonymous, "/password/forgot"), "email": "gone@example.org"},
    )
    assert smtp.envelopes == []


def test_an_admin_sends_a_reset_link_to_someone(app, db, world, smtp):
    user = accounts.create_user(
        db, email="helped@example.org", name="H", password=PASSWORD, locale="el"
    )
    db.commit()
    smtp.clear()
    client = admin_client(app, world)
    client.post(
        f"/admin/people/{user.id}/reset",
        data={"csrf_token": csrf_token(client, f"/admin/people/{user.id}")},
    )
    [message] = smtp.messages("helped@example.org")
    assert "Evaluator" in message["Subject"]
    assert "κωδικ" in text_of(message).lower()  # in Greek
    assert (
        choose(app.test_client(), link_in(message, "/password/reset/"), NEW_PASSWORD).status_code
        == 302
    )


def test_without_a_mail_server_the_link_is_shown_to_who_made_it_and_logged(app, world, caplog):
    app.config["MAIL_SERVER"] = None
    try:
        with caplog.at_level(logging.WARNING):
            client = invite(app, world, "offline@example.org")
        page = client.get("/admin/people").get_data(as_text=True)
    finally:
        app.config["MAIL_SERVER"] = "127.0.0.1"
    assert "http://evaluator.test/invitations/" in page
    assert "http://evaluator.test/invitations/" in caplog.text


def test_a_person_changes_their_own_password_knowing_the_current_one(app, db):
    user = accounts.create_user(db, email="changer@example.org", name="C", password=PASSWORD)
    db.commit()
    client = app.test_client()
    login(client, "changer@example.org")
    url = "/account/password"

    def post(current, new):
        token = csrf_token(client, "/account")
        data = {"csrf_token": token, "current": current, "new": new, "confirm": new}
        return client.post(url, data=data)

    assert "wrong" not in client.get("/account").get_data(as_text=True)
    wrong = post("not my password", NEW_PASSWORD)
    assert wrong.status_code == 422
    assert "The current password is wrong." in wrong.get_data(as_text=True)
    assert post(PASSWORD, "too short").status_code in (400, 422)
    assert post(PASSWORD, "aaaaaaaaaaaa").status_code == 422  # one character repeated
    assert post(PASSWORD, NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "changer@example.org", NEW_PASSWORD).status_code == 302
    db.expire_all()
    actions = db.exec(select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).all()
    assert {"password_change_failed", "password_changed"} <= set(actions)


def test_a_token_is_spent_once_even_by_two_requests_at_the_same_moment(db):
    raw = issued(db, "twice@example.org", TokenPurpose.RESET)
    first = tokens.find(db, raw, TokenPurpose.RESET)
    second = tokens.find(db, raw, TokenPurpose.RESET)  # both read it before either spends it
    tokens.spend(db, first)
    with pytest.raises(tokens.TokenInvalid):
        tokens.spend(db, second)
    db.rollback()
