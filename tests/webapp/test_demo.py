"""The demo network: what `seed-demo` makes, made the way the app makes it, looking real."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from accounts.models import AccessGrant, Organization, Role, User
from evaluator.stats import cronbach_alpha
from rubrics.loader import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE, encode_answers, load_rubric
from rubrics.schema import Question
from surveys.answers import relevant_questions
from surveys.cycles.models import CycleEvaluator
from surveys.cycles.services import open_cycle
from surveys.models import (
    Answer,
    AnswerRevision,
    Assessment,
    AssessmentCycle,
    Score,
    Source,
    Status,
    StatusChange,
)
from surveys.questionnaire.services import save_page, submit
from surveys.review.models import IndicatorReview
from surveys.review.services import complete_review, save_indicator_review, start_review
from surveys.scoring import rescore
from webapp import create_app, demo
from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = load_rubric(ROOT / "rubrics" / "library" / "child-protection.yaml")
TODAY = date.today()
EARLIER, LATER = f"child-protection-{TODAY.year - 1}", f"child-protection-{TODAY.year}"
SCORED = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED, Status.RETURNED)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """One seeded demo database (SQLite) shared by the read-only tests of this module."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    SQLModel.metadata.create_all(engine)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url})
    with app.app_context():
        demo.seed(db.session, today=TODAY)
        db.session.commit()
        db.engine.dispose()
    with Session(engine) as session:
        yield session
    engine.dispose()


def keyed_answers(session: Session) -> dict[tuple[str, str, str, str], Any]:
    rows = session.execute(
        sa.select(
            col(Organization.code),
            col(AssessmentCycle.code),
            col(Answer.source),
            col(Answer.question_id),
            col(Answer.value),
        )
        .join(Assessment, col(Assessment.id) == Answer.assessment_id)
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
    ).all()
    return {(o, c, s, q): v for o, c, s, q, v in rows}


def keyed_scores(session: Session) -> dict[tuple[str, ...], tuple[Any, ...]]:
    rows = session.execute(
        sa.select(
            col(Organization.code),
            col(AssessmentCycle.code),
            col(Score.source),
            col(Score.level),
            col(Score.code),
            col(Score.score),
            col(Score.coverage),
            col(Score.reason),
            col(Score.band),
        )
        .join(Assessment, col(Assessment.id) == Score.assessment_id)
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
    ).all()
    return {tuple(row[:5]): tuple(row[5:]) for row in rows}


def assessments_of(session: Session, cycle_code: str) -> dict[str, Assessment]:
    rows = session.execute(
        sa.select(col(Organization.code), Assessment)
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
        .where(col(AssessmentCycle.code) == cycle_code)
    ).all()
    return dict(rows)


def values_by_assessment(session: Session, source: Source = Source.SELF) -> dict[int, dict]:
    values: dict[int, dict[str, Any]] = {}
    for answer in session.exec(select(Answer).where(Answer.source == source)):
        values.setdefault(answer.assessment_id, {})[answer.question_id] = answer.value
    return values


def item_score(question: Question, value: Any) -> float:
    """A maturity level or a scored option's score (1-4); NaN for anything else."""
    if question.type == "maturity" and isinstance(value, int):
        return float(value)
    if question.type in ("single", "yes_no"):
        scores = {o.id: o.score for o in question.options}
        if scores.get(value) is not None:
            return float(scores[value])  # type: ignore[arg-type]
    return math.nan


# --- what the visitor sees -----------------------------------------------------------------------


def test_the_network_has_forty_ngos_in_ten_countries_and_two_funders(network):
    counts = demo.summary(network)
    assert counts["ngos"] == 40
    assert counts["countries"] == 10
    assert counts["funders"] == 2
    assert counts["cycles"] == 3  # the quick check and two child-protection cycles
    ngos = network.exec(select(Organization).where(Organization.kind == "ngo")).all()
    per_country = {c: sum(o.country == c for o in ngos) for c in demo.COUNTRIES}
    assert set(per_country.values()) == {4}
    assert all(o.org_type and o.focus_areas for o in ngos)
    assert len({o.name for o in ngos}) == 40


def test_about_half_the_ngos_share_with_a_funder_and_ngo_b_with_no_one(network):
    orgs = {o.id: o.code for o in network.exec(select(Organization))}
    grants = [(orgs[g.ngo_id], orgs[g.funder_id]) for g in network.exec(select(AccessGrant))]
    sharing = {ngo for ngo, _ in grants}
    assert 0.4 <= len(sharing) / 40 <= 0.6
    assert ("ngo-a", "funder") in grants
    assert "ngo-b" not in sharing
    assert {funder for _, funder in grants} == {"funder", "adriatic-fund"}


def test_the_cycles_are_one_closed_and_one_open_with_the_evaluator_assigned(network):
    cycles = {c.code: c for c in network.exec(select(AssessmentCycle))}
    assert cycles[EARLIER].closes_on < TODAY <= cycles[LATER].closes_on
    evaluator = network.exec(select(User).where(User.email == "evaluator@demo.test")).one()
    assigned = set(
        network.exec(select(CycleEvaluator.cycle_id).where(CycleEvaluator.user_id == evaluator.id))
    )
    assert {cycles[EARLIER].id, cycles[LATER].id} <= assigned


def test_assessments_are_submitted_scored_a_third_verified_a_few_returned(network):
    statuses = [
        a.status for cycle in (EARLIER, LATER) for a in assessments_of(network, cycle).values()
    ]
    scored = [s for s in statuses if s in SCORED]
    assert len(scored) >= 50
    assert 0.25 <= statuses.count(Status.VERIFIED) / len(scored) <= 0.4
    assert 2 <= statuses.count(Status.RETURNED) <= 5
    assert statuses.count(Status.IN_PROGRESS) >= 3
    scored_ids = {
        a.id
        for c in (EARLIER, LATER)
        for a in assessments_of(network, c).values()
        if a.status in SCORED
    }
    with_scores = set(network.exec(select(Score.assessment_id).where(Score.source == Source.SELF)))
    assert scored_ids <= with_scores
    verified_ids = {
        a.id
        for c in (EARLIER, LATER)
        for a in assessments_of(network, c).values()
        if a.status == Status.VERIFIED
    }
    with_verified = set(
        network.exec(select(Score.assessment_id).where(Score.source == Source.VERIFIED))
    )
    assert verified_ids == with_verified


def test_a_few_assessments_have_not_applicable_and_dont_know_answers(network):
    values = values_by_assessment(network)
    with_na = [a for a, v in values.items() if NOT_APPLICABLE_VALUE in v.values()]
    with_dk = [a for a, v in values.items() if DONT_KNOW_VALUE in v.values()]
    assert len(with_na) >= 2
    assert len(with_dk) >= 2
    assert len(set(with_na) | set(with_dk)) <= len(values) / 3


def test_ngo_a_has_a_verified_earlier_assessment_and_both_have_unstarted_later_ones(network):
    earlier, later = assessments_of(network, EARLIER), assessments_of(network, LATER)
    assert later["ngo-a"].status == Status.NOT_STARTED
    assert later["ngo-b"].status == Status.NOT_STARTED
    for code in ("ngo-a", "ngo-b"):
        assessment_id = later[code].id
        assert (
            network.exec(select(Answer.id).where(Answer.assessment_id == assessment_id)).first()
            is None
        )
    assert earlier["ngo-a"].status == Status.VERIFIED
    sources = set(
        network.exec(select(Score.source).where(Score.assessment_id == earlier["ngo-a"].id))
    )
    assert sources == {Source.SELF, Source.VERIFIED}
    moves = network.exec(
        select(StatusChange.to_status)
        .where(StatusChange.assessment_id == earlier["ngo-a"].id)
        .order_by(col(StatusChange.id))
    ).all()
    assert moves == ["in_progress", "submitted", "in_review", "verified"]
    quick = [c for c in network.exec(select(AssessmentCycle)) if c.code.startswith("quick-check")]
    assert len(quick) == 1  # the quick-check demo as before


# --- made the app's way --------------------------------------------------------------------------


def test_answers_respect_relevance_types_and_bounds(network):
    for source in (Source.SELF, Source.VERIFIED):
        for assessment_id, values in values_by_assessment(network, source).items():
            relevant = relevant_questions(RUBRIC, values)
            hidden = [q for q in values if not relevant.get(q, True)]
            # (A verified record may keep an unrated answer that a changed rating hides: the
            # review copies every self-answer it was not given, as it does in the app.)
            if source == Source.SELF:
                assert not hidden, f"assessment {assessment_id} answers hidden {hidden}"
            encode_answers(RUBRIC, [values], strict=True)  # every value fits its question
            trained = values.get("CP_TR1_trained_pct")
            if isinstance(trained, int | float):
                assert 0 <= trained <= 100
            cases = values.get("CP_CB1_cases")
            if cases is not None:
                assert isinstance(cases, int)
                assert cases >= 0
            for _, _, question in RUBRIC.questions():
                if question.type == "text" and question.id in values:
                    assert 0 < len(values[question.id]) <= 200


def test_stored_scores_are_what_the_scoring_service_gives(network):
    before = keyed_scores(network)
    rescore(network)  # every submitted assessment, self and verified, from its stored answers
    network.flush()
    after = keyed_scores(network)
    network.rollback()
    assert before == after
    assert len(before) > 2000


def test_the_latent_model_gives_reliable_domains_improvement_and_optimism(network):
    self_values = values_by_assessment(network)
    verified_values = values_by_assessment(network, Source.VERIFIED)
    scored = [
        a.id
        for c in (EARLIER, LATER)
        for a in assessments_of(network, c).values()
        if a.status in SCORED
    ]
    for domain in ("CP_SG", "CP_MR", "CP_GV"):
        items = [q for d, _, q in RUBRIC.questions() if d.id == domain and q.scored]
        matrix = np.array(
            [[item_score(q, self_values[a].get(q.id)) for q in items] for a in scored]
        )
        result = cronbach_alpha(matrix)
        assert result.alpha > 0.6, (domain, result.alpha)

    overall = {
        (org, cycle): value[0]
        for (org, cycle, source, level, _), value in keyed_scores(network).items()
        if source == Source.SELF and level == "overall" and value[0] is not None
    }
    orgs = {org for org, cycle in overall if cycle == EARLIER}
    changes = [overall[o, LATER] - overall[o, EARLIER] for o in orgs if (o, LATER) in overall]
    assert len(changes) >= 15
    assert 0 < np.mean(changes) < 15

    own, checked = [], []
    for assessment_id, values in verified_values.items():
        for _d, _, q in RUBRIC.questions():
            a, b = (
                item_score(q, self_values[assessment_id].get(q.id)),
                item_score(q, values.get(q.id)),
            )
            if not (math.isnan(a) or math.isnan(b)):
                own.append(a)
                checked.append(b)
    assert np.mean(checked) < np.mean(own)  # self-assessments are optimistic
    assert 0.4 < np.mean(np.array(checked) == np.array(own)) < 0.95  # but mostly agree


# --- determinism and idempotency, on the backend under test -------------------------------------


def test_seeding_is_deterministic_and_running_it_twice_changes_nothing(app, session, network):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.output
    assert "40 NGOs in 10 countries" in first.output
    assert "ngo-a@demo.test" in first.output
    assert keyed_answers(session) == keyed_answers(network)
    assert keyed_scores(session) == keyed_scores(network)
    counts = demo.summary(session)

    for args in (["seed-demo"], ["seed-demo", "--if-empty"]):
        again = runner.invoke(args=args)
        assert again.exit_code == 0, again.output
        assert "already loaded" in again.output
    session.expire_all()
    assert demo.summary(session) == counts
    assert demo.seed(session) == demo.DEMO_USERS  # the function itself adds nothing either
    session.flush()
    assert demo.summary(session) == counts


def test_another_seed_draws_another_network(tmp_path):
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(2)
    model = demo.LatentModel()
    a = demo.draw_cohort(rng_a, model)
    b = demo.draw_cohort(rng_b, model)
    assert [n.code for n in a] == [n.code for n in b]  # the same organisations
    assert [n.capacity for n in a[2:]] != [n.capacity for n in b[2:]]


# --- the bulk first saves store what the services store -------------------------------------------


def _rows(session: Session, assessment_id: int) -> dict[str, Any]:
    answers = session.exec(select(Answer).where(Answer.assessment_id == assessment_id)).all()
    revisions = session.exec(
        select(AnswerRevision).where(AnswerRevision.assessment_id == assessment_id)
    ).all()
    reviews = session.exec(
        select(IndicatorReview).where(IndicatorReview.assessment_id == assessment_id)
    ).all()
    moves = session.exec(
        select(StatusChange).where(StatusChange.assessment_id == assessment_id)
    ).all()
    scores = session.exec(select(Score).where(Score.assessment_id == assessment_id)).all()
    return {
        "answers": sorted(
            (a.source, a.question_id, repr(a.value), a.comment, a.version, a.updated_by_id)
            for a in answers
        ),
        "revisions": sorted(
            (
                r.source,
                r.question_id,
                repr(r.old_value),
                repr(r.new_value),
                r.version,
                r.changed_by_id,
            )
            for r in revisions
        ),
        "reviews": sorted(
            (r.indicator_id, r.note, r.agreed, r.version, r.reviewed_by_id) for r in reviews
        ),
        "moves": [(m.from_status, m.to_status, m.changed_by_id) for m in moves],
        "scores": sorted(
            (s.source, s.level, s.code, s.score, s.coverage, s.reason, s.band) for s in scores
        ),
    }


def test_first_saves_store_what_save_page_and_the_review_store(
    session, make_org, make_user, published_version
):

    version = published_version("child-protection")
    by_services, in_bulk = make_org(name="By services"), make_org(name="In bulk")
    contact = make_user(email="contact@example.org", org=by_services)
    evaluator = make_user(email="eval@example.org", role=Role.EVALUATOR)
    cycle = open_cycle(
        session, code="c", name="C", version=version, organizations=[by_services, in_bulk]
    )
    mine = {
        a.organization_id: a
        for a in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id))
    }
    a, b = mine[by_services.id], mine[in_bulk.id]
    rubric = RUBRIC
    model = demo.LatentModel(missing_rate=1.0)  # with a not-applicable or don't-know answer
    rng = np.random.default_rng(5)
    ngo = demo.draw_cohort(rng, model)[5]
    draw = demo.draw_answers(
        rubric, ngo, 1, rng, model, {q.id: 0.0 for _, _, q in rubric.questions()}
    )
    values = {**draw.values, "CP_SG3_incidents": "One concern, referred."}

    save_page(session, a, rubric, values=values, comments={}, base_versions={}, user=contact)
    demo.first_save(session, b, rubric, values, user=contact)
    assert a.progress == b.progress == 1.0
    for assessment in (a, b):
        assert submit(session, assessment, by=contact) == []
        start_review(session, assessment, by=evaluator)

    ratings = demo.verified_ratings(rubric, draw, rng, model)
    notes: dict[str, str | None] = {}
    for domain in rubric.domains:
        for indicator in domain.indicators:
            rated = {q.id: ratings[q.id] for q in indicator.questions if q.id in ratings}
            note = "Seen." if indicator.id.endswith("1") else None
            if rated or note:
                notes[indicator.id] = note
                save_indicator_review(
                    session,
                    a,
                    indicator.id,
                    values=rated,
                    base_versions={},
                    note=note,
                    note_version=None,
                    by=evaluator,
                )
    demo.first_review(session, b, rubric, ratings, notes, by=evaluator)
    for assessment in (a, b):
        complete_review(session, assessment, by=evaluator)
    session.flush()
    rows_a, rows_b = _rows(session, a.id), _rows(session, b.id)
    for key in rows_a:
        assert set(rows_a[key]) ^ set(rows_b[key]) == set(), key
        assert rows_a[key] == rows_b[key], key
    assert any(not r[2] for r in rows_a["reviews"])  # some ratings were changed


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def test_the_record_is_dated_over_the_cycles_not_all_today(network):
    now = datetime.now(UTC)
    for cycle_code, year in ((EARLIER, TODAY.year - 1), (LATER, TODAY.year)):
        for assessment in assessments_of(network, cycle_code).values():
            moves = network.exec(
                select(StatusChange)
                .where(StatusChange.assessment_id == assessment.id)
                .order_by(col(StatusChange.id))
            ).all()
            stamps = [_aware(m.changed_at) for m in moves]
            assert stamps == sorted(stamps)
            assert all(s <= now for s in stamps)
            if assessment.submitted_at is not None:
                submitted = _aware(assessment.submitted_at)
                assert submitted.year == year or cycle_code == LATER
                assert submitted == max(
                    s for m, s in zip(moves, stamps, strict=True) if m.to_status == "submitted"
                )
            revisions = network.exec(
                select(AnswerRevision.changed_at).where(
                    AnswerRevision.assessment_id == assessment.id
                )
            ).all()
            assert all(_aware(r) <= now for r in revisions)
            if cycle_code == EARLIER:
                assert all(_aware(r).year == year for r in revisions)


def test_cohort_contacts_are_members_who_cannot_log_in(network):
    from accounts.services import authenticate

    contacts = network.exec(select(User).where(col(User.email).like("contact@%"))).all()
    assert len(contacts) == 38
    for password in ("", demo.DEMO_PASSWORD, demo.UNUSABLE_PASSWORD):
        assert authenticate(network, email=contacts[0].email, password=password) is None
    assert authenticate(network, email="ngo-a@demo.test", password=demo.DEMO_PASSWORD)
    network.rollback()


def test_every_demo_organisation_has_a_plausible_directory_profile(network):
    """Issue 12: the cohort, the funders and a few agencies and institutions have profiles;
    most are public, NGO A's and NGO B's always (the tours walk them)."""
    from accounts.models import FocusArea, Visibility
    from webapp.demo_profiles import INSTITUTIONS, fill_profile

    orgs = network.exec(select(Organization)).all()
    by_code = {o.code: o for o in orgs}
    assert {code for code, *_ in INSTITUTIONS} <= set(by_code)
    for org in orgs:
        filled = ("cities", "services", "languages", "contact_email", "website", "year_founded")
        assert all(getattr(org, name) for name in filled), org.code
        assert set(org.focus_areas or ()) <= set(FocusArea), org.code
        assert org.search_text.startswith(org.name.casefold()), org.code
    visibilities = [o.visibility for o in orgs]
    assert visibilities.count(Visibility.PUBLIC) > len(orgs) / 2
    assert Visibility.HIDDEN in visibilities
    assert by_code["ngo-a"].visibility == by_code["ngo-b"].visibility == Visibility.PUBLIC
    assert by_code["ngo-b"].names == {"mk": "Безбеден премин", "sq": "Kalim i Sigurt"}
    again = Organization(code="ngo-a", name="x", kind="ngo", country="AL", org_type="shelter")
    fill_profile(again)  # the same code draws the same profile
    assert (again.cities, again.year_founded) == (
        by_code["ngo-a"].cities,
        by_code["ngo-a"].year_founded,
    )
