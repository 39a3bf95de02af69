"""SQL statements per request, pinned so that they cannot silently grow (issue 13, "Faults and
load": a page save issued 19 statements, 24 for the first answers of a page).

Counted with an SQLAlchemy ``before_cursor_execute`` listener on the app's engine, data
statements only (SELECT, INSERT, UPDATE, DELETE: SQLite's ``BEGIN IMMEDIATE`` and the savepoints
of first inserts differ between the databases), and beyond the statements that every logged-in
request makes (loading the person and their rights, measured on a bare logged-in route in the
same test), so that a change to the sessions adds to the baseline, not to these pins.

If one of these fails because a feature needs one more query, raise its pin in the same commit
and say why there; if it fails because a query runs once per answer or per row, fix that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask
from quick_check import ANSWERS

from accounts import sharing
from accounts.models import Role
from surveys import answers as store
from surveys.questionnaire import services
from webapp.extensions import db

DATA = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)

# Data statements beyond the logged-in baseline (3: the person, their memberships, their cycles).
# Before the cut, counted the same way: page GET 7, first save of two answers 16, a later save of
# two answers 15 (19 statements in all with BEGIN IMMEDIATE), a save that changes nothing 8.
# The save read the page's answers six times and the rubric version twice, and wrote one
# INSERT per revision.
PINS = {
    "page GET": 6,
    "page POST, first answers": 8,
    "page POST, changed answers": 7,
    "page POST, nothing changed": 3,
    "scorecard GET (funder)": 14,
    "dashboard GET (funder)": 8,
}


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _executemany) -> None:
        if DATA.match(statement):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def page_form(client, url: str) -> dict[str, str]:
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    versions = dict(re.findall(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"', html))
    return {"csrf_token": token, **versions}


@pytest.fixture
def world(session, make_org, make_user, make_assessment):
    ngo = make_org(name="Hope and Home")
    funder_org = make_org(name="Fund", kind="funder")
    ngo_user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=ngo)
    funder = make_user(email="fund@example.org", role=Role.FUNDER, org=funder_org)
    done = make_assessment(org=ngo)
    store.save_answers(session, done, values=ANSWERS, base_versions={}, user=ngo_user)
    assert services.submit(session, done, by=ngo_user) == []
    sharing.grant(session, ngo=ngo, funder=funder_org, cycles=None, by=ngo_user)
    session.commit()
    return {"ngo_user": ngo_user, "funder": funder, "done": done, "open": make_assessment(org=ngo)}


def test_statements_per_request_stay_within_their_pins(app, client, world, login_as):
    counts: dict[str, int] = {}

    def measure(name: str, call) -> None:
        with counting(app) as statements:
            response = call()
        assert response.status_code < 400, (name, response.status_code)
        counts[name] = len(statements)

    assert login_as(client, world["ngo_user"].email).status_code == 302
    measure("baseline", lambda: client.get("/assessments/pending"))
    url = f"/assessments/{world['open'].id}/page/0"
    measure("page GET", lambda: client.get(url))

    def post(values: dict[str, str]):
        data = {**page_form(client, url), **values, "action": "save"}  # not counted
        return lambda: client.post(url, data=data)

    measure("page POST, first answers", post({"q_SG1_policy": "2", "q_SG2_vetting": "2"}))
    measure("page POST, changed answers", post({"q_SG1_policy": "3", "q_SG2_vetting": "3"}))
    measure("page POST, nothing changed", post({"q_SG1_policy": "3", "q_SG2_vetting": "3"}))
    three_answers = post({"q_SG1_policy": "4", "q_SG2_vetting": "4", "q_SG2_incidents": "4"})
    with counting(app) as three:
        three_answers()
    one_answer = post({"q_SG1_policy": "1", "q_SG2_vetting": "4", "q_SG2_incidents": "4"})
    with counting(app) as one:
        one_answer()

    funder = app.test_client()
    assert login_as(funder, world["funder"].email).status_code == 302
    measure(
        "scorecard GET (funder)", lambda: funder.get(f"/reports/assessments/{world['done'].id}")
    )
    measure("dashboard GET (funder)", lambda: funder.get("/reports/dashboard"))

    baseline = counts.pop("baseline")
    beyond = {name: n - baseline for name, n in counts.items()}
    print(f"\nbaseline {baseline}; beyond it: {beyond}")  # `pytest -s` shows them
    over = {name: (n, PINS[name]) for name, n in beyond.items() if n > PINS[name]}
    assert not over, f"statements (beyond the {baseline} of every request) above their pins: {over}"
    # Each further answer costs its one guarded UPDATE; the revisions are one statement.
    assert len(three) - len(one) == 2, (len(three), len(one))
