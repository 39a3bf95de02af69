"""Consent: an NGO's admins grant funders access to all or chosen cycles and revoke it; every
change is recorded; a revocation counts from the next request; nobody else can change it."""

# ruff: noqa: RUF001  (Greek text is checked here: its letters are not confusables)
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from accounts import sharing
from accounts.models import AccessGrant, AccessGrantCycle, AuditEvent, Role
from accounts.permissions import load_principal, may, visible_assessments
from surveys.cycles import services as cycles
from surveys.models import Assessment

GREEK_LEFTOVERS = re.compile(r"\b(Sharing|Funder|Grant access|Revoke|History|All cycles)\b")


@pytest.fixture
def world(session, make_org, make_user, published_version):
    """NGO A (an admin, a member) in cycles 2025 and 2026; NGO B (an admin) in 2026; two
    funders and their people; an evaluator assigned to 2026 only, one assigned to nothing."""
    ngo_a = make_org(name="Hope & Home <A>", code="ngo-a")
    ngo_b = make_org(name="Safe Passage", code="ngo-b")
    fund = make_org(name="Balkan Fund", kind="funder", code="fund")
    other_fund = make_org(name="Other Fund", kind="funder", code="fund-2")
    people = {
        "admin_a": make_user(email="a@example.org", role=Role.NGO_ADMIN, org=ngo_a, name="Ana"),
        "member_a": make_user(email="m@example.org", role=Role.NGO_MEMBER, org=ngo_a),
        "admin_b": make_user(email="b@example.org", role=Role.NGO_ADMIN, org=ngo_b),
        "funder": make_user(email="f@example.org", role=Role.FUNDER, org=fund, name="Fiona"),
        "other_funder": make_user(email="g@example.org", role=Role.FUNDER, org=other_fund),
        "evaluator": make_user(email="e@example.org", role=Role.EVALUATOR, name="Eva"),
        "unassigned": make_user(email="u@example.org", role=Role.EVALUATOR, name="Uri"),
        "admin": make_user(email="root@example.org", role=Role.ADMIN),
    }
    version = published_version("quick-check")
    made = {}
    for year, ngos, evaluators in (
        (2025, [ngo_a], []),
        (2026, [ngo_a, ngo_b], [people["evaluator"]]),
    ):
        made[year] = cycles.create_cycle(
            session,
            code=f"qc-{year}",
            name=f"Quick check {year}",
            version=version,
            organizations=ngos,
            opens_on=None,
            closes_on=None,
            evaluators=evaluators,
            by=None,
        )
    session.commit()

    def assessment(org, year):
        return session.exec(
            select(Assessment).where(
                Assessment.organization_id == org.id, Assessment.cycle_id == made[year].id
            )
        ).one()

    return {
        **people,
        "ngo_a": ngo_a,
        "ngo_b": ngo_b,
        "fund": fund,
        "other_fund": other_fund,
        "cycle_2025": made[2025],
        "cycle_2026": made[2026],
        "a_2025": assessment(ngo_a, 2025),
        "a_2026": assessment(ngo_a, 2026),
        "b_2026": assessment(ngo_b, 2026),
        "version": version,
    }


@pytest.fixture
def as_(app, world, log_in_directly):
    """A client of its own for one person of the world, kept for the whole test (as a browser
    keeps its session): what it sees after someone else's change is what that person sees."""
    clients = {}

    def client_of(who):
        if who not in clients:
            clients[who] = log_in_directly(app.test_client(), world[who])
        return clients[who]

    return client_of


def token(client, url="/"):
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)


def sharing_url(world, ngo="ngo_a"):
    return f"/organizations/{world[ngo].id}/sharing"


def post_grant(client, world, funder="fund", cycles=None, ngo="ngo_a", **extra):
    data = {"csrf_token": token(client), "funder": str(world[funder].id), "scope": "all"}
    if cycles is not None:
        data.update(scope="chosen", cycles=[str(world[c].id) for c in cycles])
    data.update(extra)
    return client.post(f"{sharing_url(world, ngo)}/grants", data=data)


def revoke_url(world, grant_id, ngo="ngo_a"):
    return f"{sharing_url(world, ngo)}/grants/{grant_id}/revoke"


def post_revoke(client, world, grant_id, ngo="ngo_a"):
    return client.post(revoke_url(world, grant_id, ngo), data={"csrf_token": token(client)})


def live_grants(session):
    session.expire_all()
    return session.exec(select(AccessGrant).where(col(AccessGrant.revoked_at).is_(None))).all()


def scorecard(world, key):
    return f"/reports/assessments/{world[key].id}"


def funder_sees(as_, world, key, who="funder"):
    return as_(who).get(scorecard(world, key)).status_code == 200


def audit_events(session, action):
    session.expire_all()
    return session.exec(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


# --- granting -------------------------------------------------------------------------------------


def test_the_page_lists_the_platforms_funders_and_that_nothing_is_shared_yet(as_, world):
    response = as_("admin_a").get(sharing_url(world))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Balkan Fund" in page
    assert "Other Fund" in page
    assert "Safe Passage" not in page  # NGOs are not funders
    assert "Hope &amp; Home &lt;A&gt;" in page  # escaped
    assert "<A>" not in page
    assert "No access" in page
    assert "has not shared its results with anyone yet" in page
    assert 'name="csrf_token"' in page
    assert "Quick check 2025" in page  # the cycles it may choose
    assert "Quick check 2026" in page


def test_an_ngo_admin_grants_a_funder_access_to_all_cycles(as_, session, world):
    assert not funder_sees(as_, world, "a_2025")
    response = post_grant(as_("admin_a"), world)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(sharing_url(world))  # post/redirect/get
    page = as_("admin_a").get(sharing_url(world)).get_data(as_text=True)
    assert "Balkan Fund now sees the results of all your cycles." in page
    assert "Access granted" in page
    assert re.search(
        r'since <time datetime="\d{4}-\d{2}-\d{2}[^"]*">\w{3} \d{1,2}, \d{4}</time>', page
    )

    (grant,) = live_grants(session)
    assert (grant.ngo_id, grant.funder_id) == (world["ngo_a"].id, world["fund"].id)
    assert grant.all_cycles
    assert grant.granted_by_id == world["admin_a"].id
    (event,) = audit_events(session, sharing.GRANTED)
    assert event.actor_id == world["admin_a"].id
    assert event.organization_id == world["ngo_a"].id
    assert event.object_id == str(grant.id)
    assert event.detail["funder_id"] == world["fund"].id
    assert event.detail["cycles"] == "all"

    assert funder_sees(as_, world, "a_2025")
    assert funder_sees(as_, world, "a_2026")
    assert not funder_sees(as_, world, "b_2026")  # NGO B did not share
    assert not funder_sees(as_, world, "a_2025", who="other_funder")
    home = as_("funder").get("/").get_data(as_text=True)
    assert "Hope &amp; Home &lt;A&gt;" in home
    assert "Safe Passage" not in home


def test_a_grant_for_chosen_cycles_shows_only_those_cycles(as_, session, world):
    assert post_grant(as_("admin_a"), world, cycles=["cycle_2025"]).status_code == 302
    (grant,) = live_grants(session)
    assert not grant.all_cycles
    chosen = session.exec(select(AccessGrantCycle.cycle_id)).all()
    assert chosen == [world["cycle_2025"].id]
    (event,) = audit_events(session, sharing.GRANTED)
    assert event.detail["cycles"] == [world["cycle_2025"].id]

    assert funder_sees(as_, world, "a_2025")
    assert not funder_sees(as_, world, "a_2026")  # not chosen: hidden (404)
    assert as_("funder").get(scorecard(world, "a_2026")).status_code == 404
    assert as_("funder").get(f"/assessments/{world['a_2026'].id}/plan").status_code == 404
    home = as_("funder").get("/").get_data(as_text=True)
    assert "Quick check 2025" in home
    assert "Quick check 2026" not in home

    principal = load_principal(session, world["funder"].id)
    assert principal.granted_ngos == {world["ngo_a"].id}
    assert principal.cycle_limited_ngos == {world["ngo_a"].id}
    assert may(principal, "view_assessment", world["a_2025"])
    assert not may(principal, "view_assessment", world["a_2026"])
    assert may(principal, "view_scores_of", world["ngo_a"].id)
    scope = visible_assessments(principal, Assessment.organization_id, Assessment.cycle_id)
    assert set(session.exec(select(Assessment.id).where(scope)).all()) == {world["a_2025"].id}

    page = as_("admin_a").get(sharing_url(world)).get_data(as_text=True)
    assert "Balkan Fund now sees the results of the chosen cycles." in page
    assert "Chosen cycles" in page


def test_the_scorecard_query_has_no_scores_of_cycles_not_granted(session, world):
    """Scores, not only pages: the scorecard's own query is scoped by the cycle too."""
    from reports.queries import scorecard as scorecard_query
    from rubrics.models import RubricVersion
    from rubrics.services import rubric_of
    from surveys.models import Score

    version_id = world["cycle_2025"].rubric_version_id
    for key in ("a_2025", "a_2026"):
        session.add(
            Score(
                assessment_id=world[key].id,
                rubric_version_id=version_id,
                level="overall",
                code="quick-check",
                score=50.0,
                coverage=1.0,
            )
        )
    sharing.grant(
        session, ngo=world["ngo_a"], funder=world["fund"], cycles=[world["cycle_2025"].id], by=None
    )
    session.commit()
    rubric = rubric_of(session.get(RubricVersion, version_id))
    funder = load_principal(session, world["funder"].id)

    def card(key):
        return scorecard_query(session, world[key].id, version_id, rubric, "en", viewer=funder)

    assert card("a_2025").overall is not None
    assert card("a_2026").overall is None


def test_granting_again_replaces_the_scope_and_records_both(as_, session, world):
    assert post_grant(as_("admin_a"), world).status_code == 302
    (first,) = live_grants(session)
    assert post_grant(as_("admin_a"), world, cycles=["cycle_2026"]).status_code == 302
    (second,) = live_grants(session)
    assert second.id != first.id
    session.refresh(first)
    assert first.revoked_at is not None
    assert first.revoked_by_id == world["admin_a"].id
    assert [e.detail.get("replaced") for e in audit_events(session, sharing.REVOKED)] == [True]
    granted = audit_events(session, sharing.GRANTED)
    assert granted[-1].detail["replaces"] == first.id
    assert not funder_sees(as_, world, "a_2025")
    assert funder_sees(as_, world, "a_2026")


def test_only_one_grant_per_ngo_and_funder_is_live(session, world):
    """Two grants posted at once cannot both stay live: the database refuses the second."""
    for _ in range(2):
        session.add(AccessGrant(ngo_id=world["ngo_a"].id, funder_id=world["fund"].id))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_a_grant_needs_cycles_when_chosen_and_only_the_ngos_own(as_, session, world):
    client = as_("admin_a")
    response = post_grant(client, world, cycles=[])
    assert response.status_code == 400
    assert "Choose at least one cycle, or all cycles." in response.get_data(as_text=True)
    # a cycle NGO A is not in, and an NGO posing as a funder: not among the choices
    other = cycles.create_cycle(
        session,
        code="qc-b",
        name="Only B",
        version=world["version"],
        organizations=[world["ngo_b"]],
        opens_on=None,
        closes_on=None,
        evaluators=[],
        by=None,
    )
    session.commit()
    response = client.post(
        f"{sharing_url(world)}/grants",
        data={
            "csrf_token": token(client),
            "funder": str(world["fund"].id),
            "scope": "chosen",
            "cycles": [str(other.id)],
        },
    )
    assert response.status_code == 400
    assert post_grant(client, world, funder="ngo_b").status_code == 400
    assert post_grant(client, world, funder="ngo_a").status_code == 400
    assert live_grants(session) == []
    assert audit_events(session, sharing.GRANTED) == []


def test_a_post_without_its_csrf_token_is_refused(as_, session, world):
    client = as_("admin_a")
    client.get(sharing_url(world))
    response = client.post(
        f"{sharing_url(world)}/grants", data={"funder": str(world["fund"].id), "scope": "all"}
    )
    assert response.status_code == 400
    assert live_grants(session) == []


# --- revoking -------------------------------------------------------------------------------------


def test_a_revocation_is_confirmed_first_and_takes_effect_at_once_everywhere(as_, session, world):
    post_grant(as_("admin_a"), world)
    (grant,) = live_grants(session)
    funder = as_("funder")
    for url in (scorecard(world, "a_2025"), f"/assessments/{world['a_2026'].id}/plan", "/"):
        assert funder.get(url).status_code == 200
    assert "Hope &amp; Home" in funder.get("/").get_data(as_text=True)

    confirm = as_("admin_a").get(revoke_url(world, grant.id))
    assert confirm.status_code == 200  # a page that asks, nothing revoked yet
    text = confirm.get_data(as_text=True)
    assert "Revoke the access of Balkan Fund?" in text
    assert "will no longer see the results of Hope &amp; Home &lt;A&gt;" in text
    assert len(live_grants(session)) == 1

    response = post_revoke(as_("admin_a"), world, grant.id)
    assert response.status_code == 302
    page = as_("admin_a").get(sharing_url(world)).get_data(as_text=True)
    assert "Balkan Fund no longer sees your results." in page
    assert "Access revoked" in page
    assert "Access granted" in page  # the record keeps the grant too

    # the same browser session of the funder, on its very next requests
    for key in ("a_2025", "a_2026"):
        assert funder.get(scorecard(world, key)).status_code == 404
        assert funder.get(f"/assessments/{world[key].id}").status_code == 404
        assert funder.get(f"/assessments/{world[key].id}/plan").status_code == 404
    home = funder.get("/").get_data(as_text=True)
    assert "Hope &amp; Home" not in home
    assert "Quick check" not in home

    session.refresh(grant)
    assert grant.revoked_at is not None  # the row is kept, with who and when
    assert grant.revoked_by_id == world["admin_a"].id
    (event,) = audit_events(session, sharing.REVOKED)
    assert (event.actor_id, event.object_id) == (world["admin_a"].id, str(grant.id))
    assert event.detail["funder_id"] == world["fund"].id
    assert event.detail["replaced"] is False


def test_revoking_twice_revokes_once_and_says_so(as_, session, world):
    post_grant(as_("admin_a"), world)
    (grant,) = live_grants(session)
    post_revoke(as_("admin_a"), world, grant.id)
    response = post_revoke(as_("admin_a"), world, grant.id)
    assert response.status_code == 302
    page = as_("admin_a").get(sharing_url(world)).get_data(as_text=True)
    assert "This access was already revoked." in page
    assert len(audit_events(session, sharing.REVOKED)) == 1
    # the confirmation page of a revoked grant sends back to the page
    assert as_("admin_a").get(revoke_url(world, grant.id)).status_code == 302


def test_of_two_revocations_at_once_one_revokes_and_the_other_is_told(session, database_url, world):
    """The revocation is a compare-and-set on ``revoked_at``: the second writer, who read the
    grant while it was live, changes nothing and records nothing."""
    made = sharing.grant(session, ngo=world["ngo_a"], funder=world["fund"], cycles=None, by=None)
    session.commit()
    engine = sa.create_engine(database_url)
    with Session(engine, expire_on_commit=False) as other:
        seen = other.get(AccessGrant, made.id)  # read while live
        assert seen.revoked_at is None
        sharing.revoke(session, ngo=world["ngo_a"], grant_id=made.id, by=world["admin_a"])
        session.commit()
        with pytest.raises(sharing.GrantGone):
            sharing.revoke(other, ngo=world["ngo_a"], grant_id=made.id, by=world["member_a"])
        other.rollback()
    engine.dispose()
    session.refresh(made)
    assert made.revoked_by_id == world["admin_a"].id
    assert len(audit_events(session, sharing.REVOKED)) == 1


def test_the_history_lists_who_granted_and_revoked_what_and_when(as_, session, world):
    post_grant(as_("admin_a"), world, cycles=["cycle_2025", "cycle_2026"])
    (grant,) = live_grants(session)
    post_revoke(as_("admin_a"), world, grant.id)
    session.expire_all()
    grants = sharing.grants_of(session, world["ngo_a"].id)
    entries = sharing.history(grants)
    assert [e.action for e in entries] == [sharing.REVOKED, sharing.GRANTED]
    assert {e.by for e in entries} == {"Ana"}
    assert entries[0].grant.cycles == ("Quick check 2025", "Quick check 2026")
    page = as_("member_a").get(sharing_url(world)).get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td><time.*?</tr>", page, re.S)
    assert len(rows) == 2
    assert "Access revoked" in rows[0]
    assert "Ana" in rows[0]
    assert "Quick check 2025, Quick check 2026" in rows[1]


# --- who may -------------------------------------------------------------------------------------


def test_a_plain_member_sees_the_page_read_only_and_may_not_change_it(as_, session, world):
    post_grant(as_("admin_a"), world)
    (grant,) = live_grants(session)
    member = as_("member_a")
    page = member.get(sharing_url(world)).get_data(as_text=True)
    assert "Only an administrator of your organisation can change" in page
    assert "/grants" not in page  # no form, no revoke link
    assert post_grant(member, world, funder="other_fund").status_code == 403
    assert post_revoke(member, world, grant.id).status_code == 403
    assert member.get(revoke_url(world, grant.id)).status_code == 403
    assert len(live_grants(session)) == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin_b", 404),  # another NGO's admin: does not see NGO A
        ("other_funder", 404),  # a funder NGO A did not grant
        ("unassigned", 404),
        ("evaluator", 404),  # evaluators review; consent is not theirs
        ("funder", 403),  # the granted funder sees NGO A, and may not change its consent
        ("admin", 403),  # the platform's admins see everything, and may not consent for it
    ],
)
def test_nobody_but_the_ngos_admins_may_grant_or_revoke(as_, session, world, who, status):
    post_grant(as_("admin_a"), world)
    (grant,) = live_grants(session)
    client = as_(who)
    assert client.get(sharing_url(world)).status_code == status
    for funder in ("fund", "other_fund"):  # a funder granting itself access, among others
        assert post_grant(client, world, funder=funder).status_code == status
    assert client.get(revoke_url(world, grant.id)).status_code == status
    assert post_revoke(client, world, grant.id).status_code == status
    assert [g.id for g in live_grants(session)] == [grant.id]
    assert len(audit_events(session, sharing.GRANTED)) == 1


def test_an_admin_cannot_revoke_another_ngos_grant_through_their_own_ngo(as_, session, world):
    post_grant(as_("admin_a"), world)
    (grant,) = live_grants(session)
    admin_b = as_("admin_b")
    assert admin_b.get(revoke_url(world, grant.id, ngo="ngo_b")).status_code == 404
    assert post_revoke(admin_b, world, grant.id, ngo="ngo_b").status_code == 404
    assert post_revoke(admin_b, world, 999999, ngo="ngo_b").status_code == 404
    assert [g.id for g in live_grants(session)] == [grant.id]
    # and NGO B's own grants are its own
    assert post_grant(admin_b, world, ngo="ngo_b").status_code == 302
    assert funder_sees(as_, world, "b_2026")
    assert not funder_sees(as_, world, "a_2025", who="other_funder")


def test_the_sharing_of_an_unknown_or_non_ngo_organisation_is_not_found(as_, world):
    assert as_("admin_a").get("/organizations/999999/sharing").status_code == 404
    assert as_("funder").get(f"/organizations/{world['fund'].id}/sharing").status_code == 404


def test_whoever_is_not_logged_in_is_sent_to_the_login_page(app, world):
    client = app.test_client()
    response = client.get(sharing_url(world))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_ngo_admins_find_the_page_from_home_and_the_navigation(as_, world):
    url = sharing_url(world)
    home = as_("admin_a").get("/").get_data(as_text=True)
    assert home.count(f'href="{url}"') == 2  # the navigation and the home page
    assert "Choose which funders see the results of Hope &amp; Home &lt;A&gt;" in home
    member_home = as_("member_a").get("/").get_data(as_text=True)
    assert member_home.count(f'href="{url}"') == 1  # read-only: from home, not the navigation
    assert "See which funders see the results" in member_home
    for who in ("funder", "evaluator", "admin"):
        assert "/sharing" not in as_(who).get("/").get_data(as_text=True), who


# --- evaluators see the cycles they are assigned to ---------------------------------------------


def test_an_evaluator_sees_and_reviews_only_the_cycles_they_are_assigned_to(as_, world):
    evaluator = as_("evaluator")
    home = evaluator.get("/").get_data(as_text=True)
    assert "Quick check 2026" in home
    assert "Quick check 2025" not in home  # not assigned to 2025
    assert f"/assessments/{world['b_2026'].id}" in home
    assert evaluator.get(f"/assessments/{world['a_2026'].id}").status_code == 200
    assert evaluator.get(f"/assessments/{world['a_2025'].id}").status_code == 404
    assert evaluator.get(scorecard(world, "a_2025")).status_code == 404
    cycle_page = evaluator.get(f"/assessments/cycles/{world['cycle_2026'].id}")
    assert cycle_page.status_code == 200
    assert f"/assessments/{world['a_2026'].id}/review" in cycle_page.get_data(as_text=True)

    unassigned = as_("unassigned")
    assert "Quick check" not in unassigned.get("/").get_data(as_text=True)
    assert unassigned.get(f"/assessments/{world['a_2026'].id}").status_code == 404
    assert as_("admin").get(f"/assessments/{world['a_2025'].id}").status_code == 200


# --- in Greek ------------------------------------------------------------------------------------


def test_the_sharing_pages_and_messages_are_in_greek(as_, session, world):
    client = as_("admin_a")
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "el"
    response = post_grant(client, world, cycles=[])
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Επιλέξτε τουλάχιστον έναν κύκλο ή όλους τους κύκλους." in text
    post_grant(client, world)
    page = client.get(sharing_url(world)).get_data(as_text=True)
    assert 'lang="el"' in page
    assert "Κοινοποίηση" in page
    assert "Ο χρηματοδότης Balkan Fund βλέπει τώρα τα αποτελέσματα όλων των κύκλων σας." in page
    assert GREEK_LEFTOVERS.findall(page.replace("Balkan Fund", "")) == []
    (grant,) = live_grants(session)
    confirm = client.get(revoke_url(world, grant.id)).get_data(as_text=True)
    assert "Ανάκληση της πρόσβασης του χρηματοδότη Balkan Fund;" in confirm
    post_revoke(client, world, grant.id)
    page = client.get(sharing_url(world)).get_data(as_text=True)
    assert "Ο χρηματοδότης Balkan Fund δεν βλέπει πλέον τα αποτελέσματά σας." in page
