"""Improvement plans: indicators below the target, the NGO's actions, carrying open actions into
the next cycle, the summary on the scorecard, and who may change what."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import render_template
from quick_check import ANSWERS  # indicator scores in its docstring
from sqlmodel import select

from accounts.models import Role
from accounts.services import grant_access
from surveys import answers as store
from surveys.cycles import services as cycles
from surveys.models import Assessment
from surveys.plan import services as plan
from surveys.plan.models import ActionStatus, ImprovementAction
from surveys.questionnaire import services
from surveys.review import services as review

# A year later: RS1 reaches 83.3, everything else at 100 or more than 70.
BETTER = {
    **ANSWERS,
    "SG2_vetting": 4,
    "SV1_plans": 4,
    "SV1_referral": "all",
    "RS1_data": 4,
    "RS1_outcomes": 3,
}


class World(dict):
    """Test data whose users are made on first use (password hashing is slow on purpose)."""

    def __init__(self, make_user, specs):
        super().__init__()
        self.make_user, self.specs = make_user, specs

    def __missing__(self, key):
        if key not in self.specs:
            raise KeyError(key)
        self[key] = self.make_user(**self.specs[key])
        return self[key]


@pytest.fixture
def world(session, make_org, make_user, published_version):
    ngo = make_org(name="Hope and Home", code="ngo-a")
    other_ngo = make_org(name="Safe Passage", code="ngo-b")
    funder_org = make_org(name="Fund", kind="funder", code="fund")
    grant_access(session, ngo=ngo, funder=funder_org, by=None)
    people = World(
        make_user,
        {
            "ngo": {"email": "ana@example.org", "role": Role.NGO_ADMIN, "org": ngo, "name": "Ana"},
            "member": {"email": "mo@example.org", "role": Role.NGO_MEMBER, "org": ngo},
            "other_ngo": {"email": "bo@example.org", "role": Role.NGO_ADMIN, "org": other_ngo},
            "funder": {"email": "fi@example.org", "role": Role.FUNDER, "org": funder_org},
            "evaluator": {"email": "eva@example.org", "role": Role.EVALUATOR, "name": "Eva"},
        },
    )
    version = published_version("quick-check")

    def new_cycle(code, target=70.0):
        cycle = cycles.create_cycle(
            session,
            code=code,
            name=f"Quick check {code}",
            version=version,
            organizations=[ngo, other_ngo],
            opens_on=date.today(),
            closes_on=date.today() + timedelta(days=30),
            evaluators=[people["evaluator"]],
            target_score=target,
            by=None,
        )
        session.commit()
        rows = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).all()
        return {a.organization_id: a for a in rows}[ngo.id]

    people.update(ngo_org=ngo, new_cycle=new_cycle)
    return people


def submit(session, world, assessment, values=ANSWERS):
    store.save_answers(session, assessment, values=values, base_versions={}, user=world["ngo"])
    assert services.submit(session, assessment, by=world["ngo"]) == []
    session.commit()
    return assessment


def plan_of(session, assessment):
    session.expire_all()
    assessment = session.get(Assessment, assessment.id)
    return plan.plan_summary(session, assessment)


def add(client, csrf, assessment, indicator, **fields):
    data = {"text": "Train staff", "owner": "", "due_on": "", "status": "planned", **fields}
    form = {f"new_{indicator}-{k}": v for k, v in data.items()}
    form["csrf_token"] = csrf(client, "/")
    url = f"/assessments/{assessment.id}/plan/indicators/{indicator}/actions"
    return client.post(url, data=form)


def edit(client, csrf, assessment, action, **fields):
    data = {
        "text": action.text,
        "owner": action.owner or "",
        "due_on": action.due_on.isoformat() if action.due_on else "",
        "status": action.status,
        "lock_version": str(action.lock_version),
        **fields,
    }
    form = {f"action{action.id}-{k}": v for k, v in data.items()}
    form["csrf_token"] = csrf(client, "/")
    return client.post(f"/assessments/{assessment.id}/plan/actions/{action.id}", data=form)


# --- what is in the plan -------------------------------------------------------------------------


def test_indicators_below_the_target_of_70_are_in_the_plan(session, world):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    found = plan_of(session, assessment)
    assert found.target == 70
    assert found.scored
    assert [i.id for i in found.indicators] == ["SG2", "SV1", "RS1"]
    assert found.indicators[-1].score == pytest.approx(100 / 6)
    assert all(i.below_target for i in found.indicators)


def test_the_target_is_set_per_cycle(session, world):
    assessment = submit(session, world, world["new_cycle"]("c1", target=60))
    assert [i.id for i in plan_of(session, assessment).indicators] == ["RS1"]


def test_there_is_no_plan_before_the_assessment_is_scored(client, session, world, logged_in):
    assessment = world["new_cycle"]("c1")
    found = plan_of(session, assessment)
    assert not found.scored
    assert found.indicators == []
    html = logged_in(world["ngo"]).get(f"/assessments/{assessment.id}/plan").get_data(True)
    assert "The plan opens once the assessment is submitted and scored." in html


def test_the_plan_follows_the_verified_scores_once_the_review_is_complete(session, world):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    review.start_review(session, assessment, by=world["evaluator"])
    review.save_indicator_review(
        session,
        assessment,
        "SG1",
        values={"SG1_policy": 1, "SG1_focal": "no"},
        base_versions={},
        note=None,
        note_version=None,
        by=world["evaluator"],
    )
    session.commit()
    assert "SG1" not in [i.id for i in plan_of(session, assessment).indicators]  # in review
    review.complete_review(session, assessment, by=world["evaluator"])
    session.commit()
    found = plan_of(session, assessment)
    assert found.source == "verified"
    assert [i.id for i in found.indicators] == ["SG1", "SG2", "SV1", "RS1"]


# --- recording actions ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ngo", "member"])
def test_the_ngo_records_an_action_for_an_indicator_below_target(
    client, session, world, logged_in, csrf, who
):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    logged_in(world[who])
    due = (date.today() + timedelta(days=90)).isoformat()
    response = add(
        client,
        csrf,
        assessment,
        "RS1",
        text="Adopt the network's definitions",
        owner="Ana",
        due_on=due,
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    action = session.exec(select(ImprovementAction)).one()
    assert action.organization_id == world["ngo_org"].id
    assert (action.rubric_code, action.indicator_id) == ("quick-check", "RS1")
    assert action.cycle_id == assessment.cycle_id
    assert (action.text, action.owner, action.due_on.isoformat()) == (
        "Adopt the network's definitions",
        "Ana",
        due,
    )
    assert action.status == ActionStatus.PLANNED
    assert action.created_by_id == world[who].id
    html = client.get(f"/assessments/{assessment.id}/plan").get_data(as_text=True)
    assert "Adopt the network&#39;s definitions" in html


def test_an_action_needs_its_text(client, session, world, logged_in, csrf):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    logged_in(world["ngo"])
    response = add(client, csrf, assessment, "RS1", text="")
    assert response.status_code == 422
    assert "Say what will be done." in response.get_data(as_text=True)
    assert session.exec(select(ImprovementAction)).all() == []


def test_actions_are_only_for_indicators_in_the_plan(client, session, world, logged_in, csrf):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    logged_in(world["ngo"])
    assert add(client, csrf, assessment, "SG1").status_code == 404  # 83.3: at target
    assert add(client, csrf, assessment, "NOPE").status_code == 404
    assert session.exec(select(ImprovementAction)).all() == []


def test_an_action_moves_from_planned_to_in_progress_to_done(
    client, session, world, logged_in, csrf
):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    logged_in(world["ngo"])
    add(client, csrf, assessment, "SV1", text="Write care plans")
    for status in ("in_progress", "done"):
        session.expire_all()
        action = session.exec(select(ImprovementAction)).one()
        response = edit(client, csrf, assessment, action, status=status)
        assert response.status_code == 302
    session.expire_all()
    action = session.exec(select(ImprovementAction)).one()
    assert action.status == ActionStatus.DONE
    assert action.lock_version == 3
    assert action.updated_by_id == world["ngo"].id


def test_a_stale_edit_of_an_action_is_a_conflict_and_overwrites_nothing(
    client, session, world, logged_in, csrf
):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    logged_in(world["ngo"])
    add(client, csrf, assessment, "SV1", text="Write care plans")
    stale = session.exec(select(ImprovementAction)).one()
    assert edit(client, csrf, assessment, stale, owner="Mo").status_code == 302
    response = edit(client, csrf, assessment, stale, owner="Ana")  # based on version 1
    assert response.status_code == 409
    assert "Someone else changed this action" in response.get_data(as_text=True)
    session.expire_all()
    assert session.exec(select(ImprovementAction)).one().owner == "Mo"


def test_a_stale_edit_keeps_yours_in_the_form_and_saving_it_again_keeps_yours(
    client, session, world, logged_in, csrf
):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    logged_in(world["ngo"])
    add(client, csrf, assessment, "SV1", text="Write care plans")
    stale = session.exec(select(ImprovementAction)).one()
    assert edit(client, csrf, assessment, stale, owner="Mo").status_code == 302
    response = edit(client, csrf, assessment, stale, owner="Ana")  # based on version 1
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Write care plans · Mo" in html  # theirs, as stored
    prefix = f"action{stale.id}-"
    assert re.search(rf'name="{prefix}owner"[^>]*value="Ana"', html)  # yours, kept
    assert re.search(rf'name="{prefix}lock_version"[^>]*value="2"', html)  # based on theirs
    session.expire_all()
    current = session.exec(select(ImprovementAction)).one()
    assert edit(client, csrf, assessment, current, owner="Ana").status_code == 302  # keep mine
    session.expire_all()
    assert session.exec(select(ImprovementAction)).one().owner == "Ana"


# --- the next cycle ------------------------------------------------------------------------------


def test_open_actions_carry_into_the_next_cycle_for_the_same_indicator(session, world):
    first = submit(session, world, world["new_cycle"]("c1"))
    open_action = plan.add_action(
        session, first, indicator_id="RS1", text="Follow up", owner=None, due_on=None, by=None
    )
    plan.add_action(
        session,
        first,
        indicator_id="SG2",
        text="Vet everyone",
        owner=None,
        due_on=None,
        status=ActionStatus.DONE,
        by=None,
    )
    session.commit()
    second = submit(session, world, world["new_cycle"]("c2"), values=BETTER)
    found = plan_of(session, second)
    assert [i.id for i in found.indicators] == ["RS1"]  # at target now, but with an open action
    [indicator] = found.indicators
    assert not indicator.below_target
    [carried] = indicator.actions
    assert carried.action.id == open_action.id
    assert carried.carried
    assert carried.cycle == "Quick check c1"
    # The first cycle's plan still lists both of its actions.
    assert plan_of(session, first).actions == 2


def test_done_actions_stay_with_their_cycle(session, world):
    first = submit(session, world, world["new_cycle"]("c1"))
    plan.add_action(
        session,
        first,
        indicator_id="RS1",
        text="Follow up",
        owner=None,
        due_on=None,
        status=ActionStatus.DONE,
        by=None,
    )
    session.commit()
    second = submit(session, world, world["new_cycle"]("c2"))
    [rs1] = [i for i in plan_of(session, second).indicators if i.id == "RS1"]
    assert rs1.actions == []


# --- where the plan shows, and who may change it -------------------------------------------------


def test_the_plan_summary_for_the_scorecard_lists_indicators_and_actions(app, session, world):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    plan.add_action(
        session,
        assessment,
        indicator_id="RS1",
        text="<b>Follow up</b> at 6 months",
        owner="Ana",
        due_on=None,
        by=None,
    )
    session.commit()
    found = plan_of(session, assessment)
    with app.test_request_context():
        html = render_template("plan/summary.html", plan=found, assessment=assessment)
    assert "Improvement plan" in html
    assert "Data" in html  # RS1's label
    assert "&lt;b&gt;Follow up&lt;/b&gt; at 6 months" in html
    assert f"/assessments/{assessment.id}/plan" in html
    with app.test_request_context():
        assert render_template("plan/summary.html", plan=None).strip() == ""


def test_the_funder_and_the_evaluator_see_the_plan_but_cannot_change_it(
    client, session, world, logged_in, csrf
):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    plan.add_action(
        session, assessment, indicator_id="RS1", text="Follow up", owner=None, due_on=None, by=None
    )
    session.commit()
    action = session.exec(select(ImprovementAction)).one()
    for who in ("funder", "evaluator"):
        logged_in(world[who])
        html = client.get(f"/assessments/{assessment.id}/plan").get_data(as_text=True)
        assert "Follow up" in html
        assert "Add to the plan" not in html
        assert add(client, csrf, assessment, "RS1").status_code == 403
        assert edit(client, csrf, assessment, action, status="done").status_code == 403
        client.post("/logout", data={"csrf_token": csrf(client, "/")})
    session.expire_all()
    assert session.exec(select(ImprovementAction)).one().status == ActionStatus.PLANNED


def test_another_ngo_reaches_neither_the_plan_nor_its_actions_by_changing_ids(
    client, session, world, logged_in, csrf
):
    assessment = submit(session, world, world["new_cycle"]("c1"))
    plan.add_action(
        session, assessment, indicator_id="RS1", text="Follow up", owner=None, due_on=None, by=None
    )
    session.commit()
    action = session.exec(select(ImprovementAction)).one()
    own = session.exec(
        select(Assessment).where(
            Assessment.cycle_id == assessment.cycle_id, Assessment.id != assessment.id
        )
    ).one()
    store.save_answers(session, own, values=ANSWERS, base_versions={}, user=None)
    assert services.submit(session, own, by=None) == []
    session.commit()
    logged_in(world["other_ngo"])
    assert client.get(f"/assessments/{assessment.id}/plan").status_code == 404
    assert add(client, csrf, assessment, "RS1").status_code == 404
    # Their own assessment's URL with the other NGO's action id.
    assert edit(client, csrf, own, action, status="done").status_code == 404
    assert client.get(f"/assessments/{own.id}/plan").status_code == 200
    session.expire_all()
    assert session.exec(select(ImprovementAction)).one().status == ActionStatus.PLANNED
