"""Blindness of double verification when the second evaluator is assigned to the cycle after
the sample was drawn: until both verifications of an assessment are done, the second evaluator
sees none of the first evaluator's ratings by any URL (the core scopes that assessment out of
what their cycle assignment shows), cannot become its first evaluator either, and the first
evaluator never sees the second's ratings. Once both are done, the assignment counts again."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from accounts.models import User
from accounts.permissions import load_principal
from reports import quality
from surveys.cycles import services as cycles
from surveys.double.models import DoubleVerification
from surveys.models import Assessment, AssessmentCycle, Status
from tests.conftest import csrf_token
from tests.reports.quality_world import N_VERIFIED, World, client_for, world

__all__ = ["world"]

PLACEHOLDERS = {"indicator_id": "SG1", "question_id": "SG1_policy", "page": 1, "evidence_id": 1}


@pytest.fixture(scope="module")
def late(world: World) -> World:
    """The world, with the second evaluator assigned to the cycle after the draw."""
    with world.session() as session:
        cycle = session.get(AssessmentCycle, world.cycle_id)
        second = session.execute(
            sa.select(User).where(User.email == "second@q.test")  # type: ignore[arg-type]
        ).scalar_one()
        cycles.assign_evaluators(session, cycle, [second])  # type: ignore[arg-type]
        # One verified assessment whose second verification is still open: the first
        # evaluator's ratings exist, the second's are not done.
        verified = world.assessment_ids[:N_VERIFIED]
        reopened = min(a for a in world.completed if a in verified)
        session.execute(
            sa.update(DoubleVerification)
            .where(DoubleVerification.assessment_id == reopened)  # type: ignore[arg-type]
            .values(completed_at=None, version=DoubleVerification.version + 1)
        )
        session.commit()
    return world


def _split(world: World) -> tuple[list[int], list[int]]:
    """The drawn assessments whose two verifications are not both done, and those done."""
    with world.session() as session:
        rows = session.execute(
            sa.select(
                DoubleVerification.assessment_id,  # type: ignore[call-overload]
                DoubleVerification.completed_at,
                Assessment.status,
            ).join(Assessment, Assessment.id == DoubleVerification.assessment_id)  # type: ignore[arg-type]
        ).all()
    blind = sorted(a for a, done, status in rows if done is None or status != Status.VERIFIED)
    both = sorted(a for a, done, status in rows if done is not None and status == Status.VERIFIED)
    return blind, both


def _assessment_urls(world: World, assessment_id: int) -> list[str]:
    """Every GET route of the app that names an assessment, filled in for this one."""
    urls = []
    with world.app.test_request_context():
        from flask import url_for

        for rule in world.app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or "assessment_id" not in rule.arguments:
                continue
            values = {"assessment_id": assessment_id}
            values.update({k: v for k, v in PLACEHOLDERS.items() if k in rule.arguments})
            urls.append(url_for(rule.endpoint, **values))
    return sorted(set(urls))


def test_the_world_has_blind_and_finished_second_verifications(late) -> None:
    blind, both = _split(late)
    assert blind
    assert both
    assert any(a in late.assessment_ids[:N_VERIFIED] for a in blind)  # verified by the first


def test_a_late_assigned_second_evaluator_opens_no_page_of_a_blind_assessment(late) -> None:
    client = client_for(late, "second")
    blind, _both = _split(late)
    urls = [url for aid in blind for url in _assessment_urls(late, aid)]
    assert len(urls) >= 10 * len(blind)  # every assessment route, not a hand-picked few
    token = _api_token(late, "second")  # the API answers to tokens only, through the same core
    for url in urls:
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        assert client.get(url, headers=headers).status_code in (403, 404), url


def _api_token(world: World, who: str) -> str:
    """A personal API token of one of the world's users (its secret)."""
    from accounts.api_tokens.services import create_token

    with world.app.app_context(), world.session() as session:
        user = session.execute(sa.select(User).where(User.email == world.users[who])).scalar_one()
        _, secret = create_token(
            session, user=user, name="blind check", read_only=True, expires_in_days=None
        )
        session.commit()
    return secret


def test_a_late_assigned_second_evaluator_cannot_verify_a_blind_assessment_first(late) -> None:
    client = client_for(late, "second")
    blind, _both = _split(late)
    pending_review = [a for a in blind if a not in late.assessment_ids[:N_VERIFIED]]
    assert pending_review
    token = csrf_token(client, "/assessments/double")
    for aid in pending_review:
        response = client.post(f"/assessments/{aid}/review/start", data={"csrf_token": token})
        assert response.status_code in (403, 404)


def test_cycle_pages_and_exports_leave_blind_assessments_out_for_the_second(late) -> None:
    blind, both = _split(late)
    with late.app.test_request_context(), late.session() as session:
        second = session.execute(
            sa.select(User.id).where(User.email == "second@q.test")  # type: ignore[arg-type]
        ).scalar_one()
        viewer = load_principal(session, second)
        seen = quality.cycle_assessment_ids(session, late.cycle_id, viewer)
    assert not set(blind) & set(seen)
    assert set(both) <= set(seen)
    client = client_for(late, "second")
    page = client.get(f"/reports/quality/cycles/{late.cycle_id}")
    assert page.status_code == 200
    export = client.get(
        f"/reports/exports/assessments.csv?cycle={late.cycle_id}&shape=wide&values=codes"
    )
    assert export.status_code == 200
    ids = {int(row["assessment_id"]) for row in csv.DictReader(io.StringIO(export.text[1:]))}
    assert ids
    assert not ids & set(blind)


def test_the_first_evaluator_never_sees_the_second_ones_ratings(late) -> None:
    blind, _both = _split(late)
    client = client_for(late, "evaluator")
    for aid in blind:
        assert client.get(f"/assessments/double/{late.double_ids[aid]}").status_code == 404
    with late.app.test_request_context(), late.session() as session:
        first = session.execute(
            sa.select(User.id).where(User.email == "evaluator@q.test")  # type: ignore[arg-type]
        ).scalar_one()
        cycle = session.get(AssessmentCycle, late.cycle_id)
        found = quality.quality_report(
            session,
            cycle,  # type: ignore[arg-type]
            viewer=load_principal(session, first),
            language="en",
        )
    assert found.n_double == len(_split(late)[1])


def test_once_both_are_done_the_assignment_shows_the_assessment_again(late) -> None:
    _blind, both = _split(late)
    client = client_for(late, "second")
    assert client.get(f"/reports/assessments/{both[0]}").status_code == 200
    assert 'class="first"' in client.get(f"/assessments/double/{late.double_ids[both[0]]}").text


def test_the_first_evaluator_of_an_assessment_is_never_drawn_as_its_second(world) -> None:
    from surveys.double import services as double

    with world.session() as session:
        cycle = session.get(AssessmentCycle, world.cycle_id)
        first = session.execute(
            sa.select(User.id).where(User.email == "evaluator@q.test")  # type: ignore[arg-type]
        ).scalar_one()
        # Unassigned from the cycle, they become a candidate for blind verification ...
        cycles.unassign_evaluator(session, cycle, first)  # type: ignore[arg-type]
        double.set_percent(session, cycle, 100, by=None)  # type: ignore[arg-type]
        double.draw_sample(session, cycle, by=None)  # type: ignore[arg-type]
        given = dict(
            session.execute(
                sa.select(DoubleVerification.assessment_id, DoubleVerification.second_evaluator_id)  # type: ignore[call-overload]
            ).all()
        )
        session.rollback()  # leave the world as it was
    verified_by_first = world.assessment_ids[:N_VERIFIED]
    assert first in set(given.values())  # ... and is given some (those nobody verified yet) ...
    assert not [a for a in verified_by_first if given.get(a) == first]  # ... never their own
