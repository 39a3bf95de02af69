"""Login, logout, passwords and the session."""

from __future__ import annotations

import pytest
from sqlmodel import select

from accounts import services
from accounts.models import AuditEvent, Role, User


def test_passwords_are_stored_as_argon2_hashes(session, make_user):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash


def test_login_with_the_right_password_redirects_home(client, make_user, login_as):
    user = make_user()
    response = login_as(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_gets_401_and_a_clear_message(client, make_user, login_as, session):
    user = make_user()
    response = login_as(client, user.email, "wrong password")
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.get_data(as_text=True)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "login_failed")).first()


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, login_as):
    response = login_as(client, "nobody@example.org", "whatever-password")
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused_with_400(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "x"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_the_session_is_rotated_at_login(client, make_user, login_as):
    user = make_user()
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login_as(client, user.email)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == str(user.id)


def test_next_parameter_cannot_redirect_off_site(client, make_user, csrf):
    user = make_user()
    token = csrf(client, "/login")
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.headers["Location"] == "/"


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_logout_ends_the_session(client, make_user, login_as, csrf):
    user = make_user()
    login_as(client, user.email)
    token = csrf(client, "/")
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302


def test_inactive_users_cannot_log_in(session, client, make_user, login_as):
    user = make_user()
    user.active = False
    session.commit()
    assert login_as(client, user.email).status_code == 401


def test_emails_are_unique_and_case_insensitive(session, make_user):
    make_user(email="Ana@Example.org")
    with pytest.raises(services.AccountError, match="already exists"):
        services.create_user(session, email="ana@example.ORG", name="x", password="long enough")


def test_ngo_roles_need_an_ngo(session, make_org):
    funder = make_org(name="Fund", kind="funder")
    user = services.create_user(session, email="x@example.org", name="X", password="long enough")
    with pytest.raises(services.AccountError, match="needs an NGO"):
        services.add_membership(session, user=user, role=Role.NGO_MEMBER, organization=funder)


def test_create_user_command_creates_a_user(app, session, make_org):
    make_org(code="ngo-x")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "new@example.org",
            "--name",
            "New",
            "--role",
            "ngo_member",
            "--org",
            "ngo-x",
            "--password",
            "a-long-password",
        ]
    )
    assert result.exit_code == 0, result.output
    assert session.exec(select(User).where(User.email == "new@example.org")).first()
