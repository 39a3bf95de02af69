"""``flask --app wsgi remind``: NGOs whose assessment is due or overdue and evaluators of new
submissions get one e-mail each, in their language, through a real SMTP server; running it
again sends nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
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
from accounts.models import Organization, Role
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles.services import create_cycle
from surveys.models import Assessment, Status
from surveys.reminders.models import ReminderSent

LIBRARY = Path(__file__).resolve().parents[2] / "rubrics" / "library"
PASSWORD = "correct horse battery"
TODAY = date.today()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def app(request, backend, tmp_path_factory, smtp) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("reminders")
    with mail_app(request, backend, folder, smtp, REMINDER_DAYS=7) as app:
        yield app


@pytest.fixture(scope="module")
def db(app) -> Iterator[Session]:
    with module_session(app) as session:
        yield session


@pytest.fixture(scope="module")
def world(db) -> dict[str, Any]:
    """NGO A (two people, one Greek, one deactivated) not started in a cycle due in 3 days;
    NGO B submitted in it; NGO C in progress in a cycle 2 days overdue; NGO D in a cycle due
    in 30 days; NGO E in a cycle not yet open. An evaluator assigned to the first cycle."""
    orgs = {
        code: Organization(code=code, name=name, kind="ngo", country="GR")
        for code, name in (
            ("a", "Hope & Home"),
            ("b", "Safe Passage"),
            ("c", "Late NGO"),
            ("d", "Early NGO"),
            ("e", "Future NGO"),
        )
    }
    db.add_all(orgs.values())
    db.commit()

    def person(email, role, org=None, locale=None, active=True):
        user = accounts.create_user(
            db, email=email, name=email.split("@")[0].title(), password=PASSWORD, locale=locale
        )
        accounts.add_membership(db, user=user, role=role, organization=org)
        user.active = active
        return user

    people = {
        "a_admin": person("a@example.org", Role.NGO_ADMIN, orgs["a"], locale="el"),
        "a_member": person("am@example.org", Role.NGO_MEMBER, orgs["a"], locale="en"),
        "a_gone": person("gone@example.org", Role.NGO_MEMBER, orgs["a"], active=False),
        "b_admin": person("b@example.org", Role.NGO_ADMIN, orgs["b"]),
        "c_admin": person("c@example.org", Role.NGO_ADMIN, orgs["c"]),
        "d_admin": person("d@example.org", Role.NGO_ADMIN, orgs["d"]),
        "e_admin": person("e@example.org", Role.NGO_ADMIN, orgs["e"]),
        "evaluator": person("eva@example.org", Role.EVALUATOR, locale="el"),
    }
    version = rubric_services.store_rubric(db, load_rubric(LIBRARY / "quick-check.yaml"))
    rubric_services.publish(db, version)

    def cycle(code, ngos, opens, closes, evaluators=()):
        return create_cycle(
            db, code=code, name=f"Quick check {code}", version=version,
            organizations=[orgs[n] for n in ngos], opens_on=opens, closes_on=closes,
            evaluators=evaluators, by=None,
        )  # fmt: skip

    soon = cycle("soon", "ab", TODAY - timedelta(days=20), TODAY + timedelta(days=3),
                 [people["evaluator"]])  # fmt: skip
    late = cycle("late", "c", TODAY - timedelta(days=40), TODAY - timedelta(days=2))
    cycle("early", "d", TODAY - timedelta(days=1), TODAY + timedelta(days=30))
    cycle("future", "e", TODAY + timedelta(days=5), TODAY + timedelta(days=6))
    db.flush()
    b_assessment = db.exec(
        select(Assessment).where(
            Assessment.cycle_id == soon.id, Assessment.organization_id == orgs["b"].id
        )
    ).one()
    b_assessment.status = Status.SUBMITTED  # as the questionnaire's submit leaves it
    c_assessment = db.exec(select(Assessment).where(Assessment.cycle_id == late.id)).one()
    c_assessment.status = Status.IN_PROGRESS
    db.commit()
    return {**orgs, **people, "soon": soon, "late": late, "b_assessment": b_assessment}


def test_remind_sends_each_reminder_once_in_the_recipients_language(app, db, world, smtp):
    smtp.clear()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["remind"])
    assert first.exit_code == 0, first.output
    assert "sent 4 reminder(s)" in first.output
    received = sorted(r for e in smtp.envelopes for r in e.rcpt_tos)
    # A's two active people (due), C's admin (overdue), the evaluator (B submitted); nobody
    # of B (submitted), D (not yet due), E (not open), nor the deactivated member.
    assert received == ["a@example.org", "am@example.org", "c@example.org", "eva@example.org"]

    [greek] = smtp.messages("a@example.org")
    assert "Υπενθύμιση" in greek["Subject"]
    assert "3 ημέρες" in text_of(greek)
    [english] = smtp.messages("am@example.org")
    assert english["Subject"] == f"Reminder: Quick check soon is due on {world['soon'].closes_on}"
    assert "due in 3 days" in text_of(english)
    assert "Hope &amp; Home" in text_of(english, "html")
    [overdue] = smtp.messages("c@example.org")
    assert overdue["Subject"] == "Overdue: Quick check late"
    [evaluator] = smtp.messages("eva@example.org")
    assert "Safe Passage" in evaluator["Subject"]
    review = link_in(evaluator, "/assessments/")
    assert review == f"/assessments/{world['b_assessment'].id}/review"

    second = runner.invoke(args=["remind"])
    assert second.exit_code == 0, second.output
    assert "sent 0 reminder(s)" in second.output
    assert len(smtp.envelopes) == 4
    db.expire_all()
    kinds = sorted(r.kind for r in db.exec(select(ReminderSent)).all())
    assert kinds == ["due", "due", "overdue", "submitted"]


def test_the_link_opens_the_assessment_for_its_ngo(app, world, smtp):
    from tests.conftest import login

    [message] = smtp.messages("am@example.org")
    client = app.test_client()
    login(client, "am@example.org")
    assert client.get(link_in(message, "/assessments/")).status_code == 200


def test_without_a_mail_server_nothing_is_recorded(app, db, world):
    accounts_user = accounts.create_user(db, email="late2@example.org", name="L", password=PASSWORD)
    accounts.add_membership(db, user=accounts_user, role=Role.NGO_MEMBER, organization=world["c"])
    db.commit()
    app.config["MAIL_SERVER"] = None
    try:
        result = app.test_cli_runner().invoke(args=["remind"])
    finally:
        app.config["MAIL_SERVER"] = "127.0.0.1"
    assert "MAIL_SERVER is not set: 1 reminder(s) not sent" in result.output
    db.expire_all()
    assert not db.exec(select(ReminderSent).where(ReminderSent.user_id == accounts_user.id)).all()


def test_the_cycle_page_button_sends_that_cycles_reminders_and_hides_from_ngos(
    app, db, world, smtp
):
    from tests.conftest import csrf_token, login

    newcomer = accounts.create_user(db, email="new-a@example.org", name="N", password=PASSWORD)
    accounts.add_membership(db, user=newcomer, role=Role.NGO_MEMBER, organization=world["a"])
    db.commit()
    url = f"/assessments/cycles/{world['soon'].id}/remind"

    ngo = app.test_client()
    login(ngo, "a@example.org")
    assert ngo.post(url, data={"csrf_token": csrf_token(ngo, "/")}).status_code == 404  # unseen

    smtp.clear()
    evaluator = app.test_client()
    login(evaluator, "eva@example.org")
    page = f"/assessments/cycles/{world['soon'].id}"
    answer = evaluator.post(url, data={"csrf_token": csrf_token(evaluator, page)})
    assert answer.status_code == 302
    assert [e.rcpt_tos for e in smtp.envelopes] == [["new-a@example.org"]]  # only what is new
    again = evaluator.post(url, data={"csrf_token": csrf_token(evaluator, page)})
    assert "each is sent once" in evaluator.get(again.location).get_data(as_text=True).replace(
        "η καθεμία στέλνεται μία φορά", "each is sent once"
    )
    assert len(smtp.envelopes) == 1
