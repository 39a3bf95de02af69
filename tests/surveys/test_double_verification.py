"""Double (blind) verification: drawing the share, assigning evaluators outside the cycle,
blindness by every URL, saving and completing, and agreement on exactly the doubly verified."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from accounts.models import User
from surveys.double import services as double
from surveys.double.models import DoubleVerification, SecondRating
from surveys.models import Assessment, AssessmentCycle, Status
from tests.conftest import csrf_token
from tests.reports.quality_world import N_NGOS, N_VERIFIED, World, client_for, world

__all__ = ["world"]


def _doubles(world: World) -> list[DoubleVerification]:
    with world.session() as session:
        return list(session.exec(sa.select(DoubleVerification)).scalars())  # type: ignore[call-overload]


def test_the_share_is_drawn_and_given_to_evaluators_outside_the_cycle(world) -> None:
    doubles = _doubles(world)
    assert len(doubles) == N_NGOS // 2  # 50% of the twelve submitted
    ids = {d.second_evaluator_id for d in doubles}
    with world.session() as session:
        emails = set(
            session.execute(sa.select(User.email).where(User.id.in_(ids))).scalars()  # type: ignore[attr-defined]
        )
    assert emails == {"second@q.test"}  # the cycle's own evaluator is never the second


def test_drawing_again_keeps_the_sample_and_a_larger_share_adds_to_it(world) -> None:
    with world.session() as session:
        cycle = session.get(AssessmentCycle, world.cycle_id)
        again = double.draw_sample(session, cycle, by=None, rng=random.Random(1))  # type: ignore[arg-type]
        assert again.added == 0
        double.set_percent(session, cycle, 75, by=None)  # type: ignore[arg-type]
        more = double.draw_sample(session, cycle, by=None, rng=random.Random(1))  # type: ignore[arg-type]
        assert (more.target, more.added, more.drawn) == (9, 3, 9)
        session.rollback()  # leave the world as it was
        with pytest.raises(double.DoubleError):
            double.set_percent(session, cycle, 150, by=None)  # type: ignore[arg-type]


def test_without_an_evaluator_outside_the_cycle_nothing_is_drawn(world) -> None:
    from surveys.cycles import services as cycles

    with world.session() as session:
        cycle = session.get(AssessmentCycle, world.cycle_id)
        second = session.execute(
            sa.select(User).where(User.email == "second@q.test")  # type: ignore[arg-type]
        ).scalar_one()
        cycles.assign_evaluators(session, cycle, [second])  # type: ignore[arg-type]
        double.set_percent(session, cycle, 100, by=None)  # type: ignore[arg-type]
        with pytest.raises(double.DoubleError, match="blind"):
            double.draw_sample(session, cycle, by=None)  # type: ignore[arg-type]
        session.rollback()


def test_the_second_evaluator_cannot_see_the_first_ones_ratings_by_any_url(world) -> None:
    client = client_for(world, "second")
    pending = [d for d in _doubles(world) if d.completed_at is None]
    done = [d for d in _doubles(world) if d.completed_at is not None]
    for d in _doubles(world):
        aid = d.assessment_id
        for url in (
            f"/reports/assessments/{aid}",
            f"/assessments/{aid}/review",
            f"/assessments/{aid}/review/comparison",
            f"/assessments/{aid}/history",
            f"/reports/assessments/{aid}/pdf",
            f"/assessments/{aid}",
        ):
            assert client.get(url).status_code in (403, 404), url
    page = client.get(f"/assessments/double/{pending[0].id}").text
    assert 'class="first"' not in page  # the other evaluator's ratings are not on the page
    assert "NGO&#39;s own rating" in page or "NGO's own rating" in page
    # Once both are done, the two ratings are shown side by side.
    index = {aid: k for k, aid in enumerate(world.assessment_ids)}
    both = [d for d in done if index[d.assessment_id] < N_VERIFIED]
    if both:
        assert 'class="first"' in client.get(f"/assessments/double/{both[0].id}").text


def test_nobody_else_opens_a_second_verification(world) -> None:
    d = _doubles(world)[0]
    for who in ("evaluator", "admin", "member"):
        assert client_for(world, who).get(f"/assessments/double/{d.id}").status_code in (403, 404)


def test_the_second_evaluator_saves_and_completes_with_a_version_check(world) -> None:
    pending = next(d for d in _doubles(world) if d.completed_at is None)
    client = client_for(world, "second")
    url = f"/assessments/double/{pending.id}"
    token = csrf_token(client, url)
    bad = client.post(
        url, data={"csrf_token": token, "version": str(pending.version), "q_SG1_policy": "9"}
    )
    assert bad.status_code == 200
    assert "not one of the question" in bad.text
    stale = client.post(
        url, data={"csrf_token": token, "version": str(pending.version - 1), "q_SG1_policy": "2"}
    )
    assert "changed in another window" in stale.text
    ok = client.post(
        url,
        data={"csrf_token": token, "version": str(pending.version), "q_SG1_policy": "2"},
    )
    assert ok.status_code == 302
    with world.session() as session:
        rating = session.execute(
            sa.select(SecondRating).where(
                SecondRating.double_id == pending.id,
                SecondRating.question_id == "SG1_policy",  # type: ignore[arg-type]
            )
        ).scalar_one()
        assert rating.value == 2


def test_agreement_counts_only_assessments_verified_by_both(world) -> None:
    with world.session() as session:
        ids = world.assessment_ids
        pairs = double.done_pairs(session, ids)
        statuses = dict(
            session.execute(
                sa.select(Assessment.id, Assessment.status).where(Assessment.id.in_(ids))
            ).all()  # type: ignore[attr-defined]
        )
    assert pairs  # the world has some
    for aid in pairs:
        assert aid in world.completed
        assert statuses[aid] == Status.VERIFIED
    for aid in world.completed:
        if statuses[aid] != Status.VERIFIED:
            assert aid not in pairs


def test_the_cycle_page_sets_the_share_for_who_manages_the_cycle(world) -> None:
    url = f"/assessments/cycles/{world.cycle_id}/double"
    assert client_for(world, "second").get(url).status_code == 403
    assert client_for(world, "member").get(url).status_code == 404
    client = client_for(world, "evaluator")
    html = client.get(url).text
    assert 'id="double-percent"' in html
    token = csrf_token(client, url)
    assert client.post(url, data={"csrf_token": token, "percent": "abc"}).status_code == 200
    assert client.post(url, data={"csrf_token": token, "percent": "50"}).status_code == 302


def test_the_queue_lists_the_second_evaluators_assignments(world) -> None:
    html = client_for(world, "second").get("/assessments/double").text
    assert html.count("/assessments/double/") >= len(_doubles(world))
    assert client_for(world, "member").get("/assessments/double").status_code == 403
