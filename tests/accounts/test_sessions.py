"""Server-side sessions: logout, "log out everywhere", a password change and inactivity end
them; the old cookie then opens nothing. Login throttling; cross-site posts; HTTPS cookies."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlmodel import col, select

from accounts import sessions
from accounts.models import AuditEvent, LoginFailure, Organization, Role, UserSession
from accounts.services import add_membership
from surveys.models import PendingSave
from tests.conftest import IN_CI, PASSWORD, _free_port, login
from tests.surveys.test_nothing_lost import page_form, stored
from webapp import create_app
from webapp.extensions import db
from webapp.security import https_enabled

EVIL = "https://evil.example"


class Clock:
    """A clock the test moves forward (``app.config["CLOCK"]``): nobody sleeps."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def another_app(app):
    """Another app on the same database, with other settings; its engine closed afterwards."""
    made = []

    def make(**settings):
        made.append(create_app({**app.config, **settings}))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def clock(app):
    found = Clock()
    app.config["CLOCK"] = found
    return found


def cookie_of(client):
    return client.get_cookie("session").value


def client_with_cookie(app, value):
    """Another browser that presents a copy of a cookie (what an attacker who copied it has)."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def events(session, action):
    session.expire_all()
    return session.exec(
        select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
    ).all()


# --- logout really ends the session -------------------------------------------------------------


def test_after_logout_the_old_cookie_opens_nothing(
    app, client, session, make_user, make_assessment, logged_in, csrf
):
    user = make_user()
    assessment = make_assessment(org=None)
    logged_in(user)
    copied = cookie_of(client)
    assert client_with_cookie(app, copied).get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    replayed = client_with_cookie(app, copied)
    for url in ("/", f"/assessments/{assessment.id}", f"/reports/assessments/{assessment.id}"):
        response = replayed.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]
    row = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    assert (row.end_reason, row.ended_at is not None) == ("logout", True)
    assert events(session, "logout")[-1].actor_id == user.id


def test_a_post_with_the_old_cookie_changes_nothing(app, client, make_user, logged_in, csrf):
    user = make_user()
    logged_in(user)
    token = csrf(client, "/")
    copied = cookie_of(client)
    client.post("/logout", data={"csrf_token": token})
    replayed = client_with_cookie(app, copied)
    response = replayed.post("/account/password", data={"csrf_token": token})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_account_page_lists_the_sessions_and_logs_out_everywhere(
    app, session, make_user, login_as, csrf
):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login_as(phone, user.email)
    laptop.environ_base["HTTP_USER_AGENT"] = "Laptop browser/1.0"
    login_as(laptop, user.email)
    page = laptop.get("/account").get_data(as_text=True)
    assert "Laptop browser/1.0" in page
    assert "this browser" in page
    assert page.count("<tr>") == 3  # the header and two sessions
    response = laptop.post("/account/logout-everywhere", data={"csrf_token": csrf(laptop, "/")})
    assert response.status_code == 302
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 302
    assert sessions.live_sessions(session, user) == []
    assert events(session, "logout_everywhere")[-1].detail["sessions"] == 2


def test_a_password_change_ends_the_other_sessions_but_not_this_one(
    app, session, make_user, login_as, csrf
):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login_as(phone, user.email)
    login_as(laptop, user.email)
    data = {"current": PASSWORD, "new": "a new long password", "confirm": "a new long password"}
    response = laptop.post("/account/password", data={**data, "csrf_token": csrf(laptop, "/")})
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert login_as(app.test_client(), user.email, "a new long password").status_code == 302
    assert events(session, "password_changed")[-1].detail["sessions_ended"] == 1


def test_a_wrong_current_password_changes_nothing(client, session, make_user, logged_in, csrf):
    user = make_user()
    logged_in(user)
    data = {
        "current": "not it at all",
        "new": "a new long password",
        "confirm": "a new long password",
    }
    response = client.post("/account/password", data={**data, "csrf_token": csrf(client, "/")})
    assert response.status_code == 422
    assert "The current password is wrong." in response.get_data(as_text=True)
    assert events(session, "password_changed") == []


def test_end_sessions_keeps_the_one_it_is_told_to(session, make_user):
    user = make_user()
    kept, other = sessions.start_session(session, user), sessions.start_session(session, user)
    assert sessions.end_sessions(session, user, except_id=kept.id) == 1
    session.commit()
    assert [s.id for s in sessions.live_sessions(session, user)] == [kept.id]
    assert other.id != kept.id


def test_a_deactivated_user_is_logged_out_at_once(client, session, make_user, logged_in):
    user = make_user()
    logged_in(user)
    user.active = False
    session.add(user)
    sessions.end_sessions(session, user, reason=sessions.DEACTIVATED)
    session.commit()
    assert client.get("/").status_code == 302


def test_a_forged_session_id_opens_nothing(app, make_user):
    user = make_user()
    client = app.test_client()
    with client.session_transaction() as browser_session:
        browser_session["_user_id"] = str(user.id)
        browser_session["_sid"] = "guessed"
    assert client.get("/").status_code == 302


# --- inactivity ---------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_time_and_is_kept_alive_by_use(
    app, client, clock, session, make_user, logged_in
):
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make_user()
    logged_in(user)
    for _ in range(4):  # two hours of use, a request every 25 minutes
        clock.advance(minutes=25)
        assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were logged out after a time without activity." in page
    row = session.exec(select(UserSession)).one()
    assert row.end_reason == "idle"


def test_answers_posted_after_an_idle_expiry_are_saved_after_logging_in_again(
    app, client, clock, session, make_user, make_assessment, logged_in, login_as
):
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make_user()
    assessment = make_assessment(org=None)

    org = session.get(Organization, assessment.organization_id)
    add_membership(session, user=user, role=Role.NGO_MEMBER, organization=org)
    session.commit()
    logged_in(user)
    url = f"/assessments/{assessment.id}/page/0"
    _, data = page_form(client, url)
    clock.advance(minutes=45)  # typing for 45 minutes
    response = client.post(url, data={**data, "q_SG1_policy": "3", "action": "next"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert stored(session, "SG1_policy") is None
    response = login_as(client, user.email)
    assert response.headers["Location"].startswith("/assessments/pending")
    assert client.get(response.headers["Location"]).status_code == 302
    assert stored(session, "SG1_policy").value == 3
    assert session.exec(select(PendingSave)).all() == []


# --- login throttling ---------------------------------------------------------------------------


def test_an_account_is_throttled_after_repeated_failures_and_never_for_good(
    app, clock, session, make_user, login_as
):
    app.config.update(LOGIN_ACCOUNT_LIMIT=5, LOGIN_THROTTLE_WINDOW=600)
    user = make_user()
    attacker = app.test_client()
    for _ in range(5):
        clock.advance(seconds=10)
        assert login_as(attacker, user.email, "guess").status_code == 401
    response = login_as(app.test_client(), user.email)  # even the right password waits
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(600 - 40)
    assert "Too many failed logins" in response.get_data(as_text=True)
    refused = events(session, "login_throttled")[-1]
    assert refused.detail == {"email": user.email, "scope": "account", "retry_after": 560}
    clock.advance(seconds=559)
    assert login_as(attacker, user.email, "guess").status_code == 429  # not counted either
    clock.advance(seconds=1)
    assert login_as(app.test_client(), user.email).status_code == 302  # the window passed


def test_an_address_is_throttled_across_accounts(app, clock, make_user, login_as):
    app.config.update(LOGIN_ADDRESS_LIMIT=3, LOGIN_ACCOUNT_LIMIT=100)
    user = make_user()
    attacker = app.test_client()
    for n in range(3):
        assert login_as(attacker, f"user{n}@example.org", "guess").status_code == 401
    assert login_as(attacker, user.email).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login_as(elsewhere, user.email).status_code == 302


def test_a_successful_login_clears_the_accounts_failures(app, clock, make_user, login_as):
    app.config.update(LOGIN_ACCOUNT_LIMIT=3)
    user = make_user()
    for _ in range(2):
        login_as(app.test_client(), user.email, "guess")
    assert login_as(app.test_client(), user.email).status_code == 302
    for _ in range(2):
        assert login_as(app.test_client(), user.email, "guess").status_code == 401
    assert login_as(app.test_client(), user.email).status_code == 302


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway redis-server (no persistence) for this test."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        if IN_CI:
            pytest.fail("redis-server not found (CI=true: a missing server is a failure)")
        pytest.skip("redis-server not found")
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(tmp_path)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):  # it starts in a few milliseconds
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    server.terminate()
    server.wait(timeout=10)


def test_with_redis_configured_the_counts_are_kept_there(
    app, clock, session, make_user, login_as, redis_url
):
    app.config.update(LOGIN_ACCOUNT_LIMIT=3, LOGIN_THROTTLE_WINDOW=300)
    app.config["LOGIN_THROTTLE_REDIS_URL"] = redis_url
    user = make_user()
    for _ in range(3):
        clock.advance(seconds=10)
        assert login_as(app.test_client(), user.email, "guess").status_code == 401
    response = login_as(app.test_client(), user.email)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "280")
    assert session.exec(select(LoginFailure)).all() == []  # none in the database
    clock.advance(seconds=280)
    assert login_as(app.test_client(), user.email).status_code == 302


# --- cross-site posts ---------------------------------------------------------------------------


def test_a_post_from_another_origin_is_refused_even_with_a_valid_token(
    client, session, make_user, logged_in, csrf
):
    user = make_user()
    logged_in(user)
    token = csrf(client, "/")
    response = client.post("/logout", data={"csrf_token": token}, headers={"Origin": EVIL})
    assert response.status_code == 403
    assert "sent from another website" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200  # still logged in
    response = client.post(
        "/logout", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    own = client.post("/logout", data={"csrf_token": token}, headers={"Origin": "http://localhost"})
    assert own.status_code == 302


def test_trusted_origins_may_post(another_app, make_user, csrf):
    fresh = another_app(TRUSTED_ORIGINS=["https://evaluator.example.org/"])
    user = make_user()
    other = fresh.test_client()
    login(other, user.email)
    token = csrf(other, "/")
    response = other.post(
        "/logout",
        data={"csrf_token": token},
        headers={"Origin": "https://evaluator.example.org"},
    )
    assert response.status_code == 302


def test_a_failed_cookieless_post_gets_no_session_cookie(client, make_user):
    make_user()
    response = client.post("/login", data={"email": "ana@example.org", "password": "x"})
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers
    response = client.post("/language", data={"lang": "el"}, headers={"Origin": EVIL})
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers


# --- HTTPS ------------------------------------------------------------------------------------


def test_https_gives_secure_cookies_and_hsts_and_proxies_are_believed_when_trusted(
    another_app, session, make_user, login_as
):
    secure = another_app(HTTPS=True, TRUSTED_PROXIES=1)
    user = make_user()
    client = secure.test_client()
    client.environ_base.update(
        {
            "HTTP_X_FORWARDED_FOR": "203.0.113.9",
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_REFERER": "https://localhost/login",  # Flask-WTF checks it over HTTPS
        }
    )
    response = login_as(client, user.email)
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert events(session, "login")[-1].address == "203.0.113.9"


def test_plain_http_in_testing_has_no_secure_cookies(client, make_user, login_as):
    user = make_user()
    response = login_as(client, user.email)
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers


def test_https_is_on_by_default_outside_debug_and_testing(another_app):
    production = another_app(TESTING=False, SECRET_KEY="x" * 40, HTTPS=None)
    assert https_enabled(production) is True
    assert production.config["SESSION_COOKIE_SECURE"] is True
    off = another_app(TESTING=False, SECRET_KEY="x" * 40, HTTPS="false")
    assert off.config["SESSION_COOKIE_SECURE"] is False
