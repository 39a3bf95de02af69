"""End to end in Chromium, with e-mail through a real SMTP server: an admin creates an NGO and
invites its admin, who follows the link read from the server, chooses a password, lands on
their home page, fills in the NGO's directory profile and invites a colleague from the NGO's
Team page."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from smtp_sink import SmtpSink, link_in, smtp_sink
from sqlmodel import SQLModel
from werkzeug.serving import make_server

import webapp.models_registry  # noqa: F401  (every table)
from accounts import services as accounts
from accounts.models import Role
from webapp import create_app
from webapp.extensions import db

ADMIN_PASSWORD = "the admin's passphrase"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[str]:
    """A live app of its own (an admin, no NGO yet) that sends mail to ``smtp``."""
    folder: Path = tmp_path_factory.mktemp("invitation-journey")
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    built: list[Any] = []

    def build() -> None:  # in a thread: see conftest.live_server
        engine = sa.create_engine(url)
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "browser-test-secret",
                "DATABASE_URL": url,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": smtp.port,
            }
        )
        with app.app_context():
            session = db.session
            admin = accounts.create_user(
                session, email="root@example.org", name="Root", password=ADMIN_PASSWORD
            )
            accounts.add_membership(session, user=admin, role=Role.ADMIN)
            session.commit()
        built.append(app)

    builder = threading.Thread(target=build)
    builder.start()
    builder.join()
    assert built, "the app could not be built"
    server = make_server("127.0.0.1", 0, built[0], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_an_invited_ngo_admin_sets_a_password_and_invites_a_colleague(
    page: Page, mail_server: str, smtp: SmtpSink
) -> None:
    base = mail_server
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill("root@example.org")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # The admin creates the NGO in the browser: no shell needed for a newcomer.
    page.get_by_role("link", name="Organisations").click()
    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Code").fill("hope")
    page.get_by_label("Name", exact=True).fill("Hope and Home")
    page.get_by_label("Kind").select_option(label="NGO")
    page.get_by_label("Country").select_option(label="Greece")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Hope and Home is created. Fill in its profile.")).to_be_visible()

    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("E-mail").fill("lead@hope.example")
    page.get_by_label("Name").fill("Lena")
    page.get_by_label("Role").select_option(label="NGO admin")
    page.get_by_label("Organisation").select_option(label="Hope and Home")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("An e-mail was sent to lead@hope.example.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    [invitation] = smtp.messages("lead@hope.example")
    path = link_in(invitation, "/invitations/")
    page.goto(base + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Evaluator")
    page.get_by_label("New password").fill("short")
    page.get_by_label("The same password again").fill("short")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("at least 10 characters").first).to_be_visible()
    page.get_by_label("New password").fill("hope and home, since 1998")
    page.get_by_label("The same password again").fill("hope and home, since 1998")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("Your password is set. Welcome!")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    # The NGO's admin fills in its directory profile and makes it public.
    page.get_by_role("link", name="Our profile").click()
    page.get_by_role("textbox", name="Cities served").fill("Athens\nThessaloniki")
    page.get_by_role("textbox", name="Services").fill("Shelter for children")
    page.get_by_label("Shelter and care").check()
    page.get_by_role("textbox", name="Contact e-mail").fill("info@hope.example")
    page.get_by_label("Public: everyone, without logging in").check()
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("The profile is saved.")).to_be_visible()
    browser = page.context.browser
    assert browser is not None
    visitor = browser.new_context()  # someone not logged in finds the NGO in the directory
    listed = visitor.new_page()
    listed.goto(f"{base}/directory?q=hope")
    expect(listed.get_by_role("link", name="Hope and Home")).to_be_visible()
    visitor.close()

    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team of Hope and Home")
    page.get_by_label("E-mail").fill("colleague@hope.example")
    page.get_by_label("Name").fill("Kostas")
    page.get_by_label("Language of the invitation").select_option("el")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("An e-mail was sent to colleague@hope.example.")).to_be_visible()
    expect(page.locator("table.team")).to_contain_text("colleague@hope.example")

    [colleague] = smtp.messages("colleague@hope.example")
    assert colleague["Subject"] == "Πρόσκληση στο Evaluator"
    assert re.search(r"/invitations/\S+", link_in(colleague, "/invitations/"))
