"""The cycle overview (issue 9, section 5): submitted / in progress / not started / overdue,
counted by hand, the NGOs that have not started with their contacts, and who may see it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from accounts.models import Role
from accounts.permissions import load_principal
from surveys.cycles import services as cycles
from surveys.models import Assessment, Status

TODAY = date(2026, 6, 1)


@pytest.fixture
def world(session, make_org, make_user, published_version):
    """Six NGOs in a cycle due yesterday: two not started (one with an admin, one without),
    one in progress, one returned, one submitted, one verified."""
    version = published_version("quick-check")
    names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]
    orgs = {n: make_org(name=n) for n in names}
    people = {
        "alpha_admin": make_user(email="alpha@example.org", role=Role.NGO_ADMIN, org=orgs["Alpha"],
                                 name="Ana Alpha"),
        "alpha_member": make_user(email="m@example.org", role=Role.NGO_MEMBER, org=orgs["Alpha"]),
        "evaluator": make_user(email="e@example.org", role=Role.EVALUATOR, name="Eva"),
        "unassigned": make_user(email="u@example.org", role=Role.EVALUATOR, name="Uno"),
        "admin": make_user(email="root@example.org", role=Role.ADMIN, name="Root"),
        "funder": make_user(email="f@example.org", role=Role.FUNDER),
    }  # fmt: skip
    cycle = cycles.create_cycle(
        session, code="c-2026", name="Cycle 2026", version=version,
        organizations=list(orgs.values()), opens_on=TODAY - timedelta(days=60),
        closes_on=TODAY - timedelta(days=1), evaluators=[people["evaluator"]], by=None,
    )  # fmt: skip
    statuses = {
        "Gamma": Status.IN_PROGRESS,
        "Delta": Status.RETURNED,
        "Epsilon": Status.SUBMITTED,
        "Zeta": Status.VERIFIED,
    }
    for row in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)):
        name = next(n for n, o in orgs.items() if o.id == row.organization_id)
        row.status = statuses.get(name, Status.NOT_STARTED)
    session.commit()
    return {**people, "cycle": cycle, "orgs": orgs}


def test_counts_and_the_list_of_who_has_not_started(session, world):
    viewer = load_principal(session, world["evaluator"].id)
    overview = cycles.cycle_overview(session, world["cycle"], TODAY, viewer=viewer)
    # By hand: 6 in all; Epsilon + Zeta submitted; Gamma + Delta (returned) in progress;
    # Alpha + Beta not started; due yesterday, so the four unfinished ones are overdue.
    assert (overview.total, overview.submitted, overview.in_progress) == (6, 2, 2)
    assert (overview.not_started, overview.overdue) == (2, 4)
    assert [row.organization for row in overview.not_started_list] == ["Alpha", "Beta"]
    alpha, beta = overview.not_started_list
    assert [(c.name, c.email) for c in alpha.contacts] == [("Ana Alpha", "alpha@example.org")]
    assert beta.contacts == []  # Beta has no admin: nobody to remind
    assert overview.emails == ["alpha@example.org"]


def test_nothing_is_overdue_before_the_due_date(session, world):
    viewer = load_principal(session, world["admin"].id)
    before = cycles.cycle_overview(
        session, world["cycle"], TODAY - timedelta(days=1), viewer=viewer
    )
    assert before.overdue == 0
    assert before.not_started == 2


def test_an_unassigned_evaluator_counts_nothing(session, world):
    viewer = load_principal(session, world["unassigned"].id)
    overview = cycles.cycle_overview(session, world["cycle"], TODAY, viewer=viewer)
    assert overview.total == overview.not_started == 0
    assert overview.not_started_list == []


def counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def test_the_page_for_the_assigned_evaluator(client, world, logged_in):
    logged_in(world["evaluator"])
    url = f"/assessments/cycles/{world['cycle'].id}/overview"
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The cycle closed before today (the real date), so the four unfinished are overdue.
    assert counts(html) == {"submitted": 2, "in_progress": 2, "not_started": 2, "overdue": 4}
    assert "mailto:alpha%40example.org" in html
    assert "No administrator to contact" in html  # Beta
    assert "mailto:?bcc=alpha%40example.org" in html  # the reminder button
    assert "Epsilon" not in html  # submitted: not on the list
    detail = client.get(f"/assessments/cycles/{world['cycle'].id}").get_data(as_text=True)
    assert f'href="{url}"' in detail


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("unassigned", 404), ("alpha_admin", 404), ("alpha_member", 404),
     ("funder", 404)],
)  # fmt: skip
def test_who_may_see_the_overview(app, world, login_as, who, status):
    client = app.test_client()
    assert login_as(client, world[who].email).status_code == 302
    assert client.get(f"/assessments/cycles/{world['cycle'].id}/overview").status_code == status
    # An id that does not exist is no different.
    assert client.get("/assessments/cycles/99999/overview").status_code == 404


def test_the_overview_is_in_greek(client, world, logged_in):
    logged_in(world["evaluator"])
    html = client.get(
        f"/assessments/cycles/{world['cycle'].id}/overview", query_string={"lang": "el"}
    ).get_data(as_text=True)
    assert "Δεν έχουν ξεκινήσει" in html
