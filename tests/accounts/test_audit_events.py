"""Every event of the audit trail is written, with who, when, what and (over HTTP) from which
address and browser; and the trail is append-only, in the database itself."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from accounts import services as accounts
from accounts import sharing
from accounts.models import AuditEvent, Role
from rubrics import services as rubrics
from rubrics.loader import load_rubric
from surveys import answers as store
from surveys.cycles import services as cycles
from surveys.evidence import services as evidence
from surveys.questionnaire import services as questionnaire
from surveys.review import services as review
from tests.conftest import LIBRARY, PASSWORD
from tests.quick_check import ANSWERS

AGENT = "Audit test browser/1.0"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def last(session, action):
    session.expire_all()
    return session.exec(
        select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id).desc())
    ).first()


@pytest.fixture
def people(session, make_org, make_user):
    ngo = make_org(name="Hope and Home")
    return {
        "ngo": ngo,
        "admin": make_user(email="admin@ngo.example", role=Role.NGO_ADMIN, org=ngo),
        "evaluator": make_user(email="e@eval.example", role=Role.EVALUATOR),
        "funder_org": make_org(name="Fund", kind="funder"),
    }


@pytest.fixture
def visitor(app, csrf):
    """A client that says which browser it is, logged in through the form."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    client.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    return client


def assert_from_the_browser(event, actor):
    assert event is not None
    assert event.actor_id == (actor.id if actor else None)
    assert (event.address, event.user_agent) == ("198.51.100.4", AGENT)
    assert event.at is not None


# --- over HTTP: logging in and out, passwords, exports --------------------------------------------


def test_login_is_recorded(visitor, session, people, login_as):
    login_as(visitor, people["admin"].email)
    assert_from_the_browser(last(session, "login"), people["admin"])


def test_a_failed_login_is_recorded_with_address_and_browser(visitor, session, people, login_as):
    login_as(visitor, people["admin"].email, "wrong password")
    event = last(session, "login_failed")
    assert_from_the_browser(event, None)
    assert event.detail == {"email": people["admin"].email}


def test_a_throttled_login_is_recorded(app, visitor, session, people, login_as):
    app.config["LOGIN_ACCOUNT_LIMIT"] = 1
    login_as(visitor, people["admin"].email, "wrong password")
    assert login_as(visitor, people["admin"].email).status_code == 429
    assert_from_the_browser(last(session, "login_throttled"), None)


def test_logout_is_recorded(visitor, session, people, login_as, csrf):
    login_as(visitor, people["admin"].email)
    visitor.post("/logout", data={"csrf_token": csrf(visitor, "/")})
    assert_from_the_browser(last(session, "logout"), people["admin"])


def test_a_password_change_is_recorded(visitor, session, people, login_as, csrf):
    login_as(visitor, people["admin"].email)
    new = "another long password"
    visitor.post(
        "/account/password",
        data={"current": PASSWORD, "new": new, "confirm": new, "csrf_token": csrf(visitor, "/")},
    )
    assert_from_the_browser(last(session, "password_changed"), people["admin"])


def test_a_pdf_export_is_recorded(visitor, session, people, login_as, make_assessment):
    assessment = make_assessment(org=people["ngo"])
    login_as(visitor, people["admin"].email)
    response = visitor.get(f"/reports/assessments/{assessment.id}/scorecard.pdf")
    assert response.status_code == 200
    event = last(session, "exported")
    assert_from_the_browser(event, people["admin"])
    assert (event.object_type, event.object_id, event.detail["format"]) == (
        "assessment",
        str(assessment.id),
        "pdf",
    )


@pytest.mark.parametrize("fmt", ["yaml", "xlsx"])
def test_a_rubric_export_is_recorded(visitor, session, people, login_as, published_version, fmt):
    version = published_version()
    login_as(visitor, people["evaluator"].email)
    response = visitor.get(f"/rubrics/quick-check/{version.number}/download/{fmt}")
    assert response.status_code == 200
    event = last(session, "exported")
    assert_from_the_browser(event, people["evaluator"])
    assert event.detail["format"] == fmt


# --- through the services: who did what ---------------------------------------------------------


def test_a_membership_change_is_recorded(session, people, make_org):
    user = accounts.create_user(session, email="new@ngo.example", name="New", password=PASSWORD)
    accounts.add_membership(
        session, user=user, role=Role.NGO_MEMBER, organization=people["ngo"], by=people["admin"]
    )
    session.commit()
    event = last(session, "membership_added")
    assert (event.actor_id, event.object_id, event.organization_id) == (
        people["admin"].id,
        str(user.id),
        people["ngo"].id,
    )
    assert event.detail == {"role": "ngo_member"}


def test_grants_and_revocations_are_recorded(session, people):
    made = sharing.grant(
        session, ngo=people["ngo"], funder=people["funder_org"], cycles=None, by=people["admin"]
    )
    sharing.revoke(session, ngo=people["ngo"], grant_id=made.id, by=people["admin"])
    session.commit()
    for action in (sharing.GRANTED, sharing.REVOKED):
        event = last(session, action)
        assert (event.actor_id, event.object_id) == (people["admin"].id, str(made.id))


def test_rubric_upload_draft_edit_and_publication_are_recorded(session, people):
    author = people["evaluator"]
    rubric = load_rubric(LIBRARY / "quick-check.yaml")
    version = rubrics.store_rubric(session, rubric, by=author)
    uploaded = last(session, "rubric_version_created")
    assert (uploaded.actor_id, uploaded.object_id) == (author.id, str(version.id))
    edited = rubric.model_copy(update={"title": {"en": "Quick check, edited"}})
    rubrics.update_draft(session, version, edited, by=author)
    assert last(session, "rubric_draft_edited").actor_id == author.id
    rubrics.publish(session, version, by=author)
    session.commit()
    assert last(session, "rubric_published").actor_id == author.id
    session.refresh(version)
    assert version.published_by_id == author.id


def test_cycle_opening_and_evaluator_assignment_are_recorded(session, people, published_version):
    version = published_version()
    evaluator = people["evaluator"]
    cycle = cycles.create_cycle(
        session,
        code="c-2026",
        name="Cycle 2026",
        version=version,
        organizations=[people["ngo"]],
        opens_on=None,
        closes_on=None,
        evaluators=[evaluator],
        by=evaluator,
    )
    cycles.unassign_evaluator(session, cycle, evaluator.id, by=evaluator)
    session.commit()
    for action in ("cycle_opened", "evaluator_assigned", "evaluator_unassigned"):
        event = last(session, action)
        assert (event.actor_id, event.object_type, event.object_id) == (
            evaluator.id,
            "cycle",
            str(cycle.id),
        ), action
    assert last(session, "evaluator_assigned").detail == {"user_id": evaluator.id}


def submitted(session, people, make_assessment):
    assessment = make_assessment(org=people["ngo"])
    store.save_answers(
        session,
        assessment,
        values=ANSWERS,
        base_versions=dict.fromkeys(ANSWERS),
        user=people["admin"],
    )
    assert questionnaire.submit(session, assessment, by=people["admin"]) == []
    return assessment


def test_review_start_return_and_completion_are_recorded(session, people, make_assessment):
    evaluator = people["evaluator"]
    assessment = submitted(session, people, make_assessment)
    review.start_review(session, assessment, by=evaluator)
    review.return_assessment(session, assessment, reason="Add the minutes.", by=evaluator)
    assert questionnaire.submit(session, assessment, by=people["admin"]) == []
    review.start_review(session, assessment, by=evaluator)
    review.complete_review(session, assessment, by=evaluator)
    session.commit()
    for action in ("review_started", "review_returned", "review_completed"):
        event = last(session, action)
        assert (event.actor_id, event.object_id, event.organization_id) == (
            evaluator.id,
            str(assessment.id),
            people["ngo"].id,
        ), action
    assert last(session, "review_returned").detail == {"reason": "Add the minutes."}


def test_evidence_upload_and_removal_are_recorded(app, session, people, make_assessment):
    assessment = make_assessment(org=people["ngo"])
    item = evidence.store_evidence(
        session,
        assessment,
        question_id="SG1_policy",
        upload=evidence.Upload("policy.pdf", io.BytesIO(PDF)),
        folder=Path(app.config["UPLOAD_FOLDER"]),
        limit=10**6,
        user=people["admin"],
    )
    evidence.delete_evidence(session, item, user=people["admin"])
    session.commit()
    for action in ("evidence_uploaded", "evidence_removed"):
        event = last(session, action)
        assert (event.actor_id, event.object_id, event.organization_id) == (
            people["admin"].id,
            str(item.id),
            people["ngo"].id,
        )
        assert event.detail["filename"] == "policy.pdf"


def test_a_draft_edit_in_the_browser_names_its_author(visitor, session, people, login_as, csrf):
    rubric = load_rubric(LIBRARY / "quick-check.yaml")
    version = rubrics.store_rubric(session, rubric, by=people["evaluator"])
    session.commit()
    login_as(visitor, people["evaluator"].email)
    url = f"/rubrics/quick-check/{version.number}/yaml"
    page = visitor.get(url).get_data(as_text=True)
    text = rubrics.yaml_text(version.content).replace("Safeguarding", "Safe-guarding", 1)
    response = visitor.post(
        url,
        data={"csrf_token": csrf(visitor, url), "text": text, "lock_version": "1"},
    )
    assert response.status_code in (200, 302), page[:200]
    assert_from_the_browser(last(session, "rubric_draft_edited"), people["evaluator"])


# --- append-only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(AuditEvent).values(action="nothing_happened"),
        sa.delete(AuditEvent),
    ],
    ids=["update", "delete"],
)
def test_the_audit_log_refuses_updates_and_deletes(session, people, statement):
    accounts.audit(session, actor=people["admin"], action="login", object_type="user")
    session.commit()
    count = len(session.exec(select(AuditEvent)).all())
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(statement)
    session.rollback()
    assert len(session.exec(select(AuditEvent)).all()) == count
