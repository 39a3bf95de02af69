"""The weight what-if: scores after a change equal a hand computation from the domain and
indicator scores, the ranking statistics are the engine's, "apply" writes only into a draft and
a published version never changes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sps

from accounts.permissions import load_principal
from evaluator.scoring import score_responses
from reports import whatif
from rubrics import services as rubric_services
from rubrics.loader import compile_spec, encode_answers
from rubrics.models import RubricVersion
from tests.conftest import csrf_token
from tests.reports.quality_world import N_NGOS, World, client_for, self_answers, world

__all__ = ["world"]


def _run(world: World, version_id: int, form: dict[str, str]) -> whatif.WhatIf:
    with world.app.test_request_context(), world.session() as session:
        version = session.get(RubricVersion, version_id)
        rubric = rubric_services.rubric_of(version)  # type: ignore[arg-type]
        weights, problems = whatif.parse_weights(form, rubric)
        assert not problems
        return whatif.what_if(session, version, weights, viewer=load_principal(session, 1))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engine_scores(world: World):  # type: ignore[no-untyped-def]
    """Domain and indicator scores of the twelve NGOs under the published weights."""
    with world.session() as session:
        rubric = rubric_services.rubric_of(session.get(RubricVersion, world.version_id))  # type: ignore[arg-type]
    spec = compile_spec(rubric)
    return spec, score_responses(
        spec, encode_answers(rubric, [self_answers(k) for k in range(N_NGOS)])
    )


def _weighted(values: np.ndarray, weights: list[float]) -> np.ndarray:
    """The weighted mean of each row over its available (non-NaN) columns, by hand."""
    w = np.array(weights, dtype=float)
    have = ~np.isnan(values)
    return np.nansum(values * w, axis=1) / (have * w).sum(axis=1)


def test_changing_a_domain_weight_gives_the_hand_computed_scores(world, engine_scores) -> None:
    spec, scored = engine_scores
    result = _run(world, world.version_id, {"d_SG": "1"})  # published weight 2
    expected = _weighted(scored.domain_scores, [1.0, 1.0, 1.0])  # SG, SV, RS
    assert [r.after for r in result.rows] == pytest.approx(expected.tolist())
    before = _weighted(scored.domain_scores, list(spec.domain_weights))
    assert [r.before for r in result.rows] == pytest.approx(before.tolist())


def test_changing_an_indicator_weight_recomputes_its_domain(world, engine_scores) -> None:
    spec, scored = engine_scores
    result = _run(world, world.version_id, {"i_SG1": "3"})
    sg1, sg2 = spec.indicator_ids.index("SG1"), spec.indicator_ids.index("SG2")
    sg = _weighted(scored.indicator_scores[:, [sg1, sg2]], [3.0, 1.0])
    domains = scored.domain_scores.copy()
    domains[:, spec.domain_ids.index("SG")] = sg
    expected = _weighted(domains, list(spec.domain_weights))
    assert [r.after for r in result.rows] == pytest.approx(expected.tolist())


def test_ranks_tau_and_band_changes_are_those_of_the_scores(world) -> None:
    result = _run(world, world.version_id, {"d_RS": "6", "b_2": "50"})
    before = np.array([r.before for r in result.rows], dtype=float)
    after = np.array([r.after for r in result.rows], dtype=float)
    assert result.change is not None
    assert result.change.tau == pytest.approx(sps.kendalltau(before, after).statistic)
    assert [r.rank_after for r in result.rows] == sps.rankdata(-after).tolist()
    assert result.band_changes == sum(r.band_before != r.band_after for r in result.rows)
    assert result.n_scored == N_NGOS
    assert all(r.rank_low <= r.rank_high for r in result.rows)  # type: ignore[operator]
    moved = [abs(r.shift) for r in result.movers]  # type: ignore[arg-type]
    assert moved == sorted(moved, reverse=True)


def test_unchanged_weights_change_nothing(world) -> None:
    result = _run(world, world.version_id, {})
    assert result.change is not None
    assert result.change.tau == pytest.approx(1.0)
    assert result.band_changes == 0
    assert not result.movers


def test_bad_weights_and_thresholds_are_refused_with_a_message(world) -> None:
    with world.app.test_request_context(), world.session() as session:
        rubric = rubric_services.rubric_of(session.get(RubricVersion, world.version_id))  # type: ignore[arg-type]
    with world.app.test_request_context():
        _, problems = whatif.parse_weights({"d_SG": "-1", "b_2": "abc"}, rubric)
        assert len(problems) == 2
        _, problems = whatif.parse_weights({"d_SG": "0", "d_SV": "0", "d_RS": "0"}, rubric)
        assert problems
        _, problems = whatif.parse_weights({"b_1": "80", "b_2": "60"}, rubric)
        assert problems


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("evaluator", 200), ("admin", 200)])
def test_only_rubric_authors_open_the_what_if(world, who, status) -> None:
    response = client_for(world, who).get(f"/reports/what-if/{world.version_id}?d_SG=1")
    assert response.status_code == status


def test_a_published_version_is_a_sandbox_that_never_changes(world) -> None:
    with world.session() as session:
        before = session.get(RubricVersion, world.version_id).content_hash  # type: ignore[union-attr]
    client = client_for(world, "evaluator")
    html = client.get(f"/reports/what-if/{world.version_id}?d_SG=1").text
    assert 'id="sandbox"' in html
    assert 'id="apply-to-draft"' not in html
    assert "Kendall" in html
    token = csrf_token(client, f"/reports/what-if/{world.version_id}")
    response = client.post(
        f"/reports/what-if/{world.version_id}",
        data={"d_SG": "1", "csrf_token": token, "lock_version": "1"},
    )
    assert response.status_code == 200
    assert "published" in response.text
    with world.session() as session:
        assert session.get(RubricVersion, world.version_id).content_hash == before  # type: ignore[union-attr]


def test_apply_writes_the_weights_into_the_draft_only(world) -> None:
    with world.session() as session:
        published = session.get(RubricVersion, world.version_id)
        draft = rubric_services.new_draft(session, published)  # type: ignore[arg-type]
        session.commit()
        draft_id, lock, published_hash = draft.id, draft.lock_version, published.content_hash  # type: ignore[union-attr]
    client = client_for(world, "evaluator")
    html = client.get(f"/reports/what-if/{draft_id}").text
    assert 'id="apply-to-draft"' in html
    token = csrf_token(client, f"/reports/what-if/{draft_id}")
    form = {"d_SG": "1", "i_SG1": "3", "b_2": "45", "csrf_token": token, "lock_version": str(lock)}
    response = client.post(f"/reports/what-if/{draft_id}", data=form)
    assert response.status_code == 302
    with world.session() as session:
        draft = session.get(RubricVersion, draft_id)
        rubric = rubric_services.rubric_of(draft)  # type: ignore[arg-type]
        assert rubric.domains[0].weight == 1
        assert rubric.domains[0].indicators[0].weight == 3
        assert sorted(b.min for b in rubric.bands)[2] == 45
        assert draft.lock_version == lock + 1  # type: ignore[union-attr]
        assert session.get(RubricVersion, world.version_id).content_hash == published_hash  # type: ignore[union-attr]
    stale = client.post(f"/reports/what-if/{draft_id}", data=form)  # the old lock
    assert stale.status_code == 200
    assert "meanwhile" in stale.text
    with world.session() as session:
        rubric_services.delete_draft(session, session.get(RubricVersion, draft_id))  # type: ignore[arg-type]
        session.commit()
