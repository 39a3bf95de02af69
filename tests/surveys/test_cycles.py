"""Assessment cycles: opening them (with clear form errors), their page, adding NGOs and
evaluators later, the target score, and who may do what."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from accounts.models import Role
from accounts.permissions import load_principal
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles import services as cycles
from surveys.cycles.models import CycleEvaluator, CycleSettings
from surveys.models import Assessment, AssessmentCycle, Status

TODAY = date.today()
LIBRARY = Path(__file__).resolve().parents[2] / "rubrics" / "library"


class Lazy(dict):
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
def setup(make_org, make_user, published_version):
    ngo_a = make_org(name="Hope and Home", code="ngo-a")
    ngo_b = make_org(name="Safe Passage", code="ngo-b")
    funder_org = make_org(name="Fund", kind="funder", code="fund")
    version = published_version("quick-check")
    specs = {
        "evaluator": {"email": "eva@example.org", "role": Role.EVALUATOR, "name": "Eva"},
        "other": {"email": "otto@example.org", "role": Role.EVALUATOR, "name": "Otto"},
        "admin": {"email": "adam@example.org", "role": Role.ADMIN, "name": "Adam"},
        "member": {"email": "ana@example.org", "role": Role.NGO_MEMBER, "org": ngo_a},
        "funder": {"email": "fiona@example.org", "role": Role.FUNDER, "org": funder_org},
    }
    setup = Lazy(make_user, specs)
    setup.update(ngo_a=ngo_a, ngo_b=ngo_b, version=version)
    for key in ("evaluator", "other"):  # both are listed on the new-cycle form
        setup[key] = setup.make_user(**specs[key])
    return setup


def cycle_form(setup, **overrides):
    data = {
        "name": "Quick check 2026",
        "code": "qc-2026",
        "version": str(setup["version"].id),
        "organizations": [str(setup["ngo_a"].id), str(setup["ngo_b"].id)],
        "opens_on": TODAY.isoformat(),
        "closes_on": (TODAY + timedelta(days=30)).isoformat(),
        "evaluators": [str(setup["evaluator"].id)],
        "target_score": "75",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_new(client, csrf, data):
    token = csrf(client, "/assessments/cycles/new")
    return client.post("/assessments/cycles/new", data={**data, "csrf_token": token})


def open_cycle(session, setup, code="qc", organizations=None, evaluators=None):
    cycle = cycles.create_cycle(
        session,
        code=code,
        name=f"Cycle {code}",
        version=setup["version"],
        organizations=organizations if organizations is not None else [setup["ngo_a"]],
        opens_on=TODAY,
        closes_on=TODAY + timedelta(days=30),
        evaluators=evaluators if evaluators is not None else [setup["evaluator"]],
        by=None,
    )
    session.commit()
    return cycle


# --- opening -------------------------------------------------------------------------------------


def test_an_evaluator_opens_a_cycle_with_an_assessment_per_ngo(
    client, session, setup, logged_in, csrf
):
    logged_in(setup["evaluator"])
    response = post_new(client, csrf, cycle_form(setup))
    assert response.status_code == 302, response.get_data(as_text=True)
    cycle = session.exec(select(AssessmentCycle).where(AssessmentCycle.code == "qc-2026")).one()
    assert response.headers["Location"].endswith(f"/assessments/cycles/{cycle.id}")
    assessments = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).all()
    assert {a.organization_id for a in assessments} == {setup["ngo_a"].id, setup["ngo_b"].id}
    assert all(a.status == Status.NOT_STARTED for a in assessments)
    assert cycles.evaluator_ids(session, cycle.id) == [setup["evaluator"].id]
    assert cycles.target_of(session, cycle.id) == 75
    assert cycle.closes_on == TODAY + timedelta(days=30)
    assert cycle.created_by_id == setup["evaluator"].id


def test_the_new_cycle_form_lists_published_versions_ngos_and_evaluators(client, setup, logged_in):
    logged_in(setup["evaluator"])
    html = client.get("/assessments/cycles/new").get_data(as_text=True)
    assert "Safeguarding quick check (quick-check), version 1" in html
    assert "Hope and Home" in html
    assert "Safe Passage" in html
    assert "Fund" not in html  # funders are not NGOs
    assert "Eva (eva@example.org)" in html
    assert "Otto (otto@example.org)" in html
    assert "Adam" not in html.split("Evaluators")[1]  # admins review anyway, not assigned


def test_a_closing_date_before_the_opening_date_is_a_form_error(
    client, session, setup, logged_in, csrf
):
    logged_in(setup["evaluator"])
    data = cycle_form(setup, closes_on=(TODAY - timedelta(days=1)).isoformat())
    response = post_new(client, csrf, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The closing date must be on or after the opening date." in html
    assert session.exec(select(AssessmentCycle)).all() == []


def test_a_cycle_without_ngos_is_a_form_error(client, session, setup, logged_in, csrf):
    logged_in(setup["evaluator"])
    response = post_new(client, csrf, cycle_form(setup, organizations=None))
    assert response.status_code == 422
    assert "Choose at least one NGO." in response.get_data(as_text=True)
    assert session.exec(select(AssessmentCycle)).all() == []


def test_a_duplicate_code_is_a_form_error(client, session, setup, logged_in, csrf):
    open_cycle(session, setup, code="QC-2026")
    logged_in(setup["evaluator"])
    response = post_new(client, csrf, cycle_form(setup, code="qc-2026"))
    assert response.status_code == 422
    assert "already used by another cycle" in response.get_data(as_text=True)
    assert len(session.exec(select(AssessmentCycle)).all()) == 1


def test_an_unpublished_version_is_refused(client, session, setup, logged_in, csrf):
    draft = rubric_services.store_rubric(session, load_rubric(LIBRARY / "child-protection.yaml"))
    session.commit()
    with pytest.raises(cycles.CycleError) as caught:
        cycles.create_cycle(
            session,
            code="cp",
            name="CP",
            version=draft,
            organizations=[setup["ngo_a"]],
            opens_on=TODAY,
            closes_on=TODAY,
            by=None,
        )
    assert caught.value.errors["version"] == [
        "Only a published rubric version can be used in a cycle."
    ]
    session.rollback()
    # Through the form: a draft is not even a choice.
    logged_in(setup["evaluator"])
    response = post_new(client, csrf, cycle_form(setup, version=str(draft.id)))
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_every_problem_is_reported_at_once_by_field(session, setup):
    errors = cycles.check_cycle(
        session,
        code="1 bad code",
        name=" ",
        version=None,
        organizations=[],
        opens_on=TODAY,
        closes_on=TODAY - timedelta(days=1),
        evaluators=[setup["member"]],
        target_score=120,
    )
    assert set(errors) == {
        "code",
        "name",
        "version",
        "organizations",
        "closes_on",
        "evaluators",
        "target_score",
    }


def test_the_opening_evaluator_is_preselected(client, setup, logged_in):
    logged_in(setup["evaluator"])
    html = client.get("/assessments/cycles/new").get_data(as_text=True)
    eva = setup["evaluator"].id
    assert f'checked id="evaluators-0" name="evaluators" type="checkbox" value="{eva}"' in html


# --- the cycle's page ----------------------------------------------------------------------------


def test_the_cycle_page_lists_assessments_with_status_progress_and_deadline(
    client, session, setup, logged_in
):
    cycle = open_cycle(session, setup, organizations=[setup["ngo_a"], setup["ngo_b"]])
    logged_in(setup["evaluator"])
    html = client.get(f"/assessments/cycles/{cycle.id}").get_data(as_text=True)
    assert "Hope and Home" in html
    assert "Safe Passage" in html
    assert "not started" in html
    assert "<progress" in html
    assert (TODAY + timedelta(days=30)).isoformat() in html
    assert "Eva" in html  # the assigned evaluator


def test_the_cycle_list_counts_assessments_by_stage(client, session, setup, logged_in):
    cycle = open_cycle(session, setup, organizations=[setup["ngo_a"], setup["ngo_b"]])
    first = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).first()
    first.status = Status.SUBMITTED
    session.commit()
    viewer = load_principal(session, setup["evaluator"].id)
    [listing] = cycles.list_cycles(session, viewer=viewer)
    assert (listing.assessments, listing.submitted, listing.verified) == (2, 1, 0)
    logged_in(setup["admin"])
    html = client.get("/assessments/cycles").get_data(as_text=True)
    assert "Cycle qc" in html


def test_overdue_unsubmitted_assessments_are_marked(session, setup):
    cycle = open_cycle(session, setup)
    viewer = load_principal(session, setup["evaluator"].id)
    [row] = cycles.cycle_assessments(session, cycle, TODAY + timedelta(days=31), viewer=viewer)
    assert row.overdue
    [row] = cycles.cycle_assessments(session, cycle, TODAY, viewer=viewer)
    assert not row.overdue


def test_ngos_can_be_added_later_and_each_gets_one_assessment(
    client, session, setup, logged_in, csrf
):
    cycle = open_cycle(session, setup)
    logged_in(setup["evaluator"])
    url = f"/assessments/cycles/{cycle.id}"
    token = csrf(client, url)
    data = {"csrf_token": token, "organizations": [str(setup["ngo_b"].id)]}
    response = client.post(f"{url}/organizations", data=data)
    assert response.status_code == 302
    assert client.post(f"{url}/organizations", data=data).status_code == 302  # twice: no-op
    orgs = session.exec(
        select(Assessment.organization_id).where(Assessment.cycle_id == cycle.id)
    ).all()
    assert sorted(orgs) == sorted([setup["ngo_a"].id, setup["ngo_b"].id])


def test_the_added_ngo_sees_its_new_assessment_on_the_home_page(
    client, session, setup, make_user, logged_in
):
    cycle = open_cycle(session, setup)
    member_b = make_user(email="bo@example.org", role=Role.NGO_MEMBER, org=setup["ngo_b"])
    cycles.add_organizations(session, cycle, [setup["ngo_b"]])
    session.commit()
    html = logged_in(member_b).get("/").get_data(as_text=True)
    assert "Cycle qc" in html


def test_adding_nothing_is_a_form_error(client, session, setup, logged_in, csrf):
    cycle = open_cycle(session, setup)
    logged_in(setup["evaluator"])
    url = f"/assessments/cycles/{cycle.id}"
    response = client.post(f"{url}/organizations", data={"csrf_token": csrf(client, url)})
    assert response.status_code == 422
    assert "Choose at least one NGO to add." in response.get_data(as_text=True)


def test_evaluators_can_be_assigned_later_and_removed(client, session, setup, logged_in, csrf):
    cycle = open_cycle(session, setup)
    logged_in(setup["evaluator"])
    url = f"/assessments/cycles/{cycle.id}"
    data = {"csrf_token": csrf(client, url), "evaluators": [str(setup["other"].id)]}
    assert client.post(f"{url}/evaluators", data=data).status_code == 302
    assert cycles.evaluator_ids(session, cycle.id) == sorted(
        [setup["evaluator"].id, setup["other"].id]
    )
    token = csrf(client, url)
    remove = f"{url}/evaluators/{setup['other'].id}/remove"
    assert client.post(remove, data={"csrf_token": token}).status_code == 302
    assert cycles.evaluator_ids(session, cycle.id) == [setup["evaluator"].id]


def test_only_evaluators_can_be_assigned(session, setup):
    cycle = open_cycle(session, setup)
    with pytest.raises(cycles.CycleError) as caught:
        cycles.assign_evaluators(session, cycle, [setup["member"]])
    assert "is not an evaluator" in caught.value.errors["evaluators"][0]


def test_assigning_twice_stores_one_assignment(session, setup):
    cycle = open_cycle(session, setup)
    cycles.assign_evaluators(session, cycle, [setup["evaluator"], setup["evaluator"]])
    session.commit()
    rows = session.exec(select(CycleEvaluator).where(CycleEvaluator.cycle_id == cycle.id)).all()
    assert len(rows) == 1


def test_a_first_target_stored_meanwhile_by_someone_else_is_updated_not_duplicated(
    session, setup, monkeypatch
):
    cycle = open_cycle(session, setup)
    cycle_id = cycle.id
    cycles.set_target(session, cycle, 60)  # a colleague's first target, stored first
    session.commit()
    session.expunge_all()
    cycle = session.get(AssessmentCycle, cycle_id)
    real_get = session.get

    def read_before_theirs(model, key, **kwargs):  # our request found no settings row yet
        return None if model is CycleSettings else real_get(model, key, **kwargs)

    monkeypatch.setattr(session, "get", read_before_theirs)
    cycles.set_target(session, cycle, 80)
    session.commit()
    monkeypatch.undo()
    rows = session.exec(select(CycleSettings).where(CycleSettings.cycle_id == cycle_id)).all()
    assert [row.target_score for row in rows] == [80]
    assert cycles.target_of(session, cycle_id) == 80


def test_the_target_score_defaults_to_70_and_can_be_changed(
    client, session, setup, logged_in, csrf
):
    cycle = open_cycle(session, setup)
    assert cycles.target_of(session, cycle.id) == 70
    logged_in(setup["evaluator"])
    url = f"/assessments/cycles/{cycle.id}"
    response = client.post(
        f"{url}/target", data={"csrf_token": csrf(client, url), "target_score": "60"}
    )
    assert response.status_code == 302
    assert cycles.target_of(session, cycle.id) == 60
    response = client.post(
        f"{url}/target", data={"csrf_token": csrf(client, url), "target_score": "101"}
    )
    assert response.status_code == 422
    assert cycles.target_of(session, cycle.id) == 60


# --- who may do what -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "funder"])
def test_ngo_users_and_funders_see_no_cycle_pages(client, session, setup, logged_in, who):
    """The pages of the role they lack are refused (403); a cycle they may not see is hidden."""
    cycle = open_cycle(session, setup)
    logged_in(setup[who])
    for url, status in (
        ("/assessments/cycles", 403),
        ("/assessments/cycles/new", 403),
        (f"/assessments/cycles/{cycle.id}", 404),
    ):
        assert client.get(url).status_code == status, url


def test_an_unassigned_evaluator_sees_the_cycle_but_cannot_change_it(
    client, session, setup, logged_in, csrf
):
    cycle = open_cycle(session, setup)
    logged_in(setup["other"])
    url = f"/assessments/cycles/{cycle.id}"
    html = client.get(url).get_data(as_text=True)
    assert cycle.name in html
    # Its assessments are not theirs to see (issue 9: evaluators see their cycles' assessments).
    assert "Hope and Home" not in html
    assert "Add the NGOs" not in html
    token = csrf(client, "/assessments/cycles/new")
    for path, data in (
        ("organizations", {"organizations": [str(setup["ngo_b"].id)]}),
        ("evaluators", {"evaluators": [str(setup["other"].id)]}),
        ("target", {"target_score": "10"}),
    ):
        response = client.post(f"{url}/{path}", data={"csrf_token": token, **data})
        assert response.status_code == 403, path  # they see the cycle: refused, not hidden
    assert cycles.evaluator_ids(session, cycle.id) == [setup["evaluator"].id]


def test_an_admin_may_change_any_cycle(client, session, setup, logged_in, csrf):
    cycle = open_cycle(session, setup, evaluators=[])
    logged_in(setup["admin"])
    url = f"/assessments/cycles/{cycle.id}"
    data = {"csrf_token": csrf(client, url), "evaluators": [str(setup["evaluator"].id)]}
    assert client.post(f"{url}/evaluators", data=data).status_code == 302
    assert cycles.evaluator_ids(session, cycle.id) == [setup["evaluator"].id]


def test_forms_without_a_csrf_token_are_refused(client, session, setup, logged_in):
    logged_in(setup["evaluator"])
    response = client.post("/assessments/cycles/new", data=cycle_form(setup))
    assert response.status_code == 400
    assert session.exec(select(AssessmentCycle)).all() == []


def test_cycle_names_are_escaped(client, session, setup, logged_in, csrf):
    logged_in(setup["evaluator"])
    name = "<script>alert(1)</script>"
    response = post_new(client, csrf, cycle_form(setup, name=name))
    assert response.status_code == 302
    for url in ("/assessments/cycles", response.headers["Location"]):
        html = client.get(url).get_data(as_text=True)
        assert name not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
