"""The rubric-quality page: its statistics equal the engine's on arrays built by hand from the
answers (N/A and unanswered included), its access rules, and what it says with too few data."""

from __future__ import annotations

import numpy as np
import pytest

from accounts.permissions import load_principal
from evaluator.scoring import score_responses
from evaluator.stats import (
    cohen_kappa,
    cohen_kappa_bootstrap,
    cronbach_alpha,
    icc,
    krippendorff_alpha,
    krippendorff_alpha_bootstrap,
    mean_bootstraps,
)
from reports import quality
from rubrics.loader import compile_spec, encode_answers
from rubrics.models import RubricVersion
from rubrics.services import rubric_of
from surveys.models import AssessmentCycle
from tests.reports.quality_world import (
    N_NGOS,
    N_VERIFIED,
    World,
    client_for,
    second_ratings,
    self_answers,
    verified_answers,
    world,
)

__all__ = ["world"]  # the module-scoped fixture


@pytest.fixture(scope="module")
def report(world: World) -> quality.QualityReport:
    with world.app.test_request_context(), world.session() as session:
        admin = load_principal(session, 1)
        cycle = session.get(AssessmentCycle, world.cycle_id)
        return quality.quality_report(session, cycle, viewer=admin, language="en")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rubric(world: World):  # type: ignore[no-untyped-def]
    with world.session() as session:
        return rubric_of(session.get(RubricVersion, world.version_id))  # type: ignore[arg-type]


def _level_score(value: object, question_options: dict[str, float] | None = None) -> float:
    """A maturity level (1-4) or an option's score as the engine's 0-100 question score."""
    score = question_options[value] if question_options else float(value)  # type: ignore[arg-type,index]
    return (score - 1) / 3 * 100


def test_domain_alpha_equals_the_engine_on_a_hand_built_matrix(report, rubric) -> None:
    # Safeguarding: SG1_policy (level), SG1_focal (yes 4 / no 1), SG2_vetting, SG2_incidents.
    rows = []
    for k in range(N_NGOS):
        a = self_answers(k)
        rows.append(
            [
                _level_score(a["SG1_policy"]),
                _level_score(a["SG1_focal"], {"yes": 4, "no": 1}),
                _level_score(a["SG2_vetting"]),
                _level_score(a["SG2_incidents"]),
            ]
        )
    expected = cronbach_alpha(np.array(rows))
    sg = next(d for d in report.domains if d.code == "SG")
    assert sg.alpha.value == pytest.approx(expected.alpha)
    assert sg.alpha.n == N_NGOS
    assert sg.alpha.low < sg.alpha.value < sg.alpha.high
    assert [i.item_total for i in sg.items] == pytest.approx(expected.item_total.tolist())
    assert [i.lowers for i in sg.items] == [
        bool(x > expected.alpha) for x in expected.alpha_if_deleted
    ]


def test_na_answers_and_unanswered_questions_drop_the_subject_listwise(report) -> None:
    # Services: SV1_plans, SV1_referral, SV2_shelter; shelter is N/A for k = 0, 3, 6, 9.
    sv = next(d for d in report.domains if d.code == "SV")
    assert sv.alpha.n == N_NGOS - 4
    # Results: RS1_data, RS1_outcomes, RS2_evaluated; k = 5 left RS1_outcomes unanswered.
    rs = next(d for d in report.domains if d.code == "RS")
    assert rs.alpha.n == N_NGOS - 1


def test_question_lines_count_na_unanswered_and_levels(report) -> None:
    lines = {q.question_id: q for q in report.questions}
    assert lines["SV2_shelter"].not_applicable == pytest.approx(4 / N_NGOS)
    assert lines["SV2_shelter"].answered == N_NGOS - 4
    assert lines["RS1_outcomes"].unanswered == pytest.approx(1 / N_NGOS)
    counts = dict(lines["SG1_policy"].categories)
    expected = [self_answers(k)["SG1_policy"] for k in range(N_NGOS)]
    assert counts == {str(level): expected.count(level) for level in (1, 2, 3, 4)}
    assert "RS2_changes" not in lines  # unscored text


def test_self_versus_verified_equals_kappa_and_icc_on_hand_built_pairs(report, rubric) -> None:
    # SG2: SG2_vetting and SG2_incidents levels, over the verified assessments.
    own = [self_answers(k)[q] for k in range(N_VERIFIED) for q in ("SG2_vetting", "SG2_incidents")]
    checked = [
        verified_answers(k)[q] for k in range(N_VERIFIED) for q in ("SG2_vetting", "SG2_incidents")
    ]
    sg2 = next(a for a in report.self_verified if a.code == "SG2")
    categories = sorted(set(own) | set(checked))
    assert sg2.kappa.value == pytest.approx(
        cohen_kappa(own, checked, "quadratic", categories=categories).kappa
    )
    assert sg2.kappa.n == 2 * N_VERIFIED
    spec = compile_spec(rubric)
    s = score_responses(spec, encode_answers(rubric, [self_answers(k) for k in range(N_VERIFIED)]))
    v = score_responses(
        spec, encode_answers(rubric, [verified_answers(k) for k in range(N_VERIFIED)])
    )
    j = spec.indicator_ids.index("SG2")
    pair = np.column_stack([s.indicator_scores[:, j], v.indicator_scores[:, j]])
    if sg2.icc.shown:
        assert sg2.icc.value == pytest.approx(icc(pair)["ICC2"].value)
    assert sg2.mean_gap.value == pytest.approx(float((pair[:, 0] - pair[:, 1]).mean()))
    assert report.n_verified == N_VERIFIED
    # The intervals, drawn with the other indicators of as many pairs, are the engine's for
    # this indicator alone from the same seed.
    alone = cohen_kappa_bootstrap(
        own,
        checked,
        "quadratic",
        categories=categories,
        n_resamples=quality.RESAMPLES,
        rng=quality.SEED + 2 * N_VERIFIED,
    )
    assert (sg2.kappa.low, sg2.kappa.high) == pytest.approx((alone.low, alone.high), abs=1e-12)
    if np.ptp(pair[:, 0] - pair[:, 1]) > 0:
        (gap,) = mean_bootstraps(
            (pair[:, 0] - pair[:, 1])[:, None],
            n_resamples=quality.RESAMPLES,
            rng=quality.SEED + N_VERIFIED,
        )
        assert (sg2.mean_gap.low, sg2.mean_gap.high) == pytest.approx(
            (gap.low, gap.high), abs=1e-12
        )


def test_agreement_between_evaluators_uses_exactly_the_doubly_verified_questions(
    world, report, rubric
) -> None:
    index = {aid: k for k, aid in enumerate(world.assessment_ids)}
    both_done = sorted(
        index[a] for a in world.completed if index[a] < N_VERIFIED
    )  # second completed and the review verified
    assert report.n_double == len(both_done)
    first, second = [], []
    for k in both_done:
        theirs = second_ratings(k)
        mine = verified_answers(k)
        for q, value in theirs.items():
            if isinstance(value, int):
                first.append(mine[q])
                second.append(value)
            else:  # option scores: focal yes 4 / no 1; referral 1-4
                scale = {"yes": 4, "no": 1, "none": 1, "some": 2, "most": 3, "all": 4}
                first.append(scale[mine[q]])
                second.append(scale[value])
    expected = krippendorff_alpha(np.array([first, second], dtype=float), "ordinal")
    overall = report.raters_overall
    assert overall is not None
    assert overall.krippendorff.n == len(first)
    assert overall.krippendorff.value == pytest.approx(expected.alpha)
    # RS questions were not rated by the second evaluator: no RS indicator is shown
    assert {r.code for r in report.raters} == {"SG1", "SG2", "SV1", "SV2"}
    # SG2's interval, drawn with the indicators of as many rated questions, is the engine's
    # for SG2 alone from the same seed (questions in the rubric's order within each assessment)
    spec = compile_spec(rubric)
    j = spec.indicator_ids.index("SG2")
    codes = [q for q, i in zip(spec.question_ids, spec.question_indicator, strict=True) if i == j]
    pairs = [
        (verified_answers(k)[q], second_ratings(k)[q])
        for k in both_done
        for q in codes
        if q in second_ratings(k)
    ]
    sg2 = next(r for r in report.raters if r.code == "SG2")
    assert sg2.krippendorff.low is not None
    alone = krippendorff_alpha_bootstrap(
        np.array(pairs, dtype=float).T,
        "ordinal",
        n_resamples=quality.RESAMPLES,
        rng=quality.SEED + len(pairs),
    )
    assert (sg2.krippendorff.low, sg2.krippendorff.high) == pytest.approx(
        (alone.low, alone.high), abs=1e-12
    )


def test_figures_with_too_few_data_say_so_with_their_n(report) -> None:
    sv2 = next(r for r in report.raters if r.code == "SV2")
    assert not sv2.icc.shown
    assert "at least 5" in sv2.icc.note
    assert str(sv2.icc.n) in sv2.icc.note


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("evaluator", 200), ("second", 403), ("member", 404)]
)
def test_only_those_who_manage_the_cycle_open_the_page(world, who, status) -> None:
    client = client_for(world, who)
    response = client.get(f"/reports/quality/cycles/{world.cycle_id}")
    assert response.status_code == status


def test_the_page_shows_each_figure_with_its_n_interval_and_table(world) -> None:
    html = client_for(world, "evaluator").get(f"/reports/quality/cycles/{world.cycle_id}").text
    assert 'id="alpha-table"' in html
    assert 'id="rater-table"' in html
    assert "alpha-figure" in html  # the chart beside its table
    assert "Too few data" in html
    assert "lowers reliability" in html or "Corrected item-total" in html
    assert f"{N_NGOS} submitted assessments" in html


def test_a_cycle_without_submissions_says_there_is_nothing_to_measure(world) -> None:
    from surveys.cycles import services as cycles

    with world.session() as session:
        version = session.get(RubricVersion, world.version_id)
        cycle = cycles.open_cycle(
            session,
            code="empty",
            name="Empty",
            version=version,
            organizations=[],  # type: ignore[arg-type]
        )
        session.commit()
        cycle_id = cycle.id
    html = client_for(world, "admin").get(f"/reports/quality/cycles/{cycle_id}").text
    assert 'id="quality-empty"' in html


def test_a_changed_answer_is_never_served_from_the_cache(world) -> None:
    import sqlalchemy as sa

    from surveys.models import Answer

    def sg_alpha() -> float | None:
        with world.app.test_request_context(), world.session() as session:
            cycle = session.get(AssessmentCycle, world.cycle_id)
            found = quality.quality_report(
                session,
                cycle,  # type: ignore[arg-type]
                viewer=load_principal(session, 1),
                language="en",
            )
            return next(d for d in found.domains if d.code == "SG").alpha.value

    before = sg_alpha()
    assert sg_alpha() == before  # the same data: the cached report
    first = world.assessment_ids[1]
    where = (
        Answer.assessment_id == first,
        Answer.source == "self",
        Answer.question_id == "SG1_policy",
    )
    with world.session() as session:
        old = session.execute(sa.select(Answer.value).where(*where)).scalar_one()  # type: ignore[arg-type]
        changed = 1 if old != 1 else 4
        session.execute(
            sa.update(Answer).where(*where).values(value=changed, version=Answer.version + 1)  # type: ignore[arg-type]
        )
        session.commit()
    try:
        assert sg_alpha() != before
    finally:
        with world.session() as session:
            session.execute(
                sa.update(Answer).where(*where).values(value=old, version=Answer.version + 1)  # type: ignore[arg-type]
            )
            session.commit()
    assert sg_alpha() == pytest.approx(before)


def test_a_review_in_progress_is_not_compared_with_the_self_assessment(world) -> None:
    import sqlalchemy as sa

    from surveys.models import Answer, Assessment, Status

    target = world.assessment_ids[-1]  # submitted, not verified
    with world.session() as session:
        session.execute(
            sa.update(Assessment)
            .where(Assessment.id == target)  # type: ignore[arg-type]
            .values(status=Status.IN_REVIEW, lock_version=Assessment.lock_version + 1)
        )
        session.add(
            Answer(assessment_id=target, source="verified", question_id="SG1_policy", value=1)
        )
        session.commit()
    try:
        with world.app.test_request_context(), world.session() as session:
            cycle = session.get(AssessmentCycle, world.cycle_id)
            found = quality.quality_report(
                session,
                cycle,  # type: ignore[arg-type]
                viewer=load_principal(session, 1),
                language="en",
            )
        assert found.n_verified == N_VERIFIED
    finally:
        with world.session() as session:
            session.execute(
                sa.delete(Answer).where(Answer.assessment_id == target, Answer.source == "verified")  # type: ignore[arg-type]
            )
            session.execute(
                sa.update(Assessment)
                .where(Assessment.id == target)  # type: ignore[arg-type]
                .values(status=Status.SUBMITTED, lock_version=Assessment.lock_version + 1)
            )
            session.commit()


def test_remembered_statistics_are_those_a_new_computation_gives(world, report) -> None:
    with world.app.test_request_context(), world.session() as session:
        cycle = session.get(AssessmentCycle, world.cycle_id)
        quality._CACHE.clear()
        remembered = quality.quality_report(
            session,
            cycle,  # type: ignore[arg-type]
            viewer=load_principal(session, 1),
            language="en",
        )
        quality._CACHE.clear()
        quality._STATS.clear()
        fresh = quality.quality_report(
            session,
            cycle,  # type: ignore[arg-type]
            viewer=load_principal(session, 1),
            language="en",
        )
    assert remembered.domains == fresh.domains == report.domains
    assert remembered.self_verified == fresh.self_verified
    assert remembered.raters == fresh.raters
    assert remembered.raters_overall == fresh.raters_overall
