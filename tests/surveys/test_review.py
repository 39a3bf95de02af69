"""External verification: the workflow's transitions, the evaluator's review indicator by
indicator, returning and completing, what the NGO sees and when, and who may review."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from quick_check import ANSWERS  # self overall score 68.75
from sqlmodel import Session, select

from accounts.models import Role
from accounts.services import grant_access
from surveys import answers as store
from surveys import workflow
from surveys.cycles import services as cycles
from surveys.evidence.models import Evidence
from surveys.models import Answer, Assessment, Score, Source, Status, StatusChange
from surveys.questionnaire import services
from surveys.review import services as review
from surveys.review.models import IndicatorReview


class World(dict):
    """Test data whose users are made on first use (password hashing is slow on purpose)."""

    def __init__(self, make_user, specs, **items):
        super().__init__(**items)
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
    specs = {
        "ngo": {"email": "ana@example.org", "role": Role.NGO_ADMIN, "org": ngo, "name": "Ana"},
        "member": {"email": "mo@example.org", "role": Role.NGO_MEMBER, "org": ngo, "name": "Mo"},
        "other_ngo": {"email": "bo@example.org", "role": Role.NGO_ADMIN, "org": other_ngo},
        "funder": {"email": "fi@example.org", "role": Role.FUNDER, "org": funder_org},
        "evaluator": {"email": "eva@example.org", "role": Role.EVALUATOR, "name": "Eva"},
        "evaluator2": {"email": "eve@example.org", "role": Role.EVALUATOR, "name": "Eve"},
        "unassigned": {"email": "otto@example.org", "role": Role.EVALUATOR, "name": "Otto"},
        "admin": {"email": "adam@example.org", "role": Role.ADMIN, "name": "Adam"},
    }
    world = World(make_user, specs)
    cycle = cycles.create_cycle(
        session,
        code="qc-2026",
        name="Quick check 2026",
        version=published_version("quick-check"),
        organizations=[ngo, other_ngo],
        opens_on=date.today(),
        closes_on=date.today() + timedelta(days=30),
        evaluators=[world["evaluator"], world["evaluator2"]],
        by=None,
    )
    session.commit()
    by_org = {
        a.organization_id: a
        for a in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).all()
    }
    world.update(cycle=cycle, assessment=by_org[ngo.id], other=by_org[other_ngo.id])
    return world


def submitted(session, world, key="assessment", user="ngo"):
    assessment = world[key]
    store.save_answers(session, assessment, values=ANSWERS, base_versions={}, user=world[user])
    assert services.submit(session, assessment, by=world[user]) == []
    session.commit()
    return assessment


def in_review(session, world):
    assessment = submitted(session, world)
    review.start_review(session, assessment, by=world["evaluator"])
    session.commit()
    return assessment


def review_page(client, assessment, indicator):
    url = f"/assessments/{assessment.id}/review/indicator/{indicator}"
    response = client.get(url)
    html = response.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    hidden = dict(
        re.findall(r'name="((?:v_[^"]+)|note_version)" type="hidden" value="([^"]*)"', html)
    )
    return url, html, {"csrf_token": token, **hidden}


def scores(session, assessment, source):
    session.expire_all()
    rows = session.exec(
        select(Score).where(Score.assessment_id == assessment.id, Score.source == source)
    ).all()
    return {(r.level, r.code): r.score for r in rows}


# --- the workflow: one table of allowed transitions ----------------------------------------------


@pytest.mark.parametrize(("source", "target"), list(workflow.TRANSITIONS))
def test_every_allowed_transition_is_made_and_recorded_with_who_and_when(
    session, world, source, target
):
    assessment = world["assessment"]
    assessment.status = source
    session.commit()
    workflow.transition(
        session, assessment, target, by=world["evaluator"], reason="Please add evidence."
    )
    session.commit()
    session.expire_all()
    assert session.get(Assessment, assessment.id).status == target
    change = session.exec(
        select(StatusChange).where(StatusChange.assessment_id == assessment.id)
    ).one()
    assert (change.from_status, change.to_status) == (source, target)
    assert change.changed_by_id == world["evaluator"].id
    assert change.changed_at is not None


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Status.NOT_STARTED, Status.SUBMITTED),
        (Status.IN_PROGRESS, Status.IN_REVIEW),
        (Status.SUBMITTED, Status.VERIFIED),
        (Status.SUBMITTED, Status.RETURNED),
        (Status.RETURNED, Status.IN_REVIEW),
        (Status.VERIFIED, Status.IN_REVIEW),
        (Status.VERIFIED, Status.RETURNED),
        (Status.IN_REVIEW, Status.SUBMITTED),
    ],
)
def test_other_transitions_are_refused_with_a_clear_error(session, world, source, target):
    assessment = world["assessment"]
    assessment.status = source
    session.commit()
    with pytest.raises(workflow.TransitionError) as caught:
        workflow.transition(session, assessment, target, by=world["evaluator"], reason="x")
    message = str(caught.value)
    assert f"cannot become {target.replace('_', ' ')}" in message
    assert source.replace("_", " ") in message
    session.rollback()
    assert session.exec(select(StatusChange)).all() == []


def test_the_refusal_names_what_is_allowed(session, world):
    with pytest.raises(workflow.TransitionError, match=r"From there it can become: in review\."):
        workflow.check_transition(Status.SUBMITTED, Status.VERIFIED)
    with pytest.raises(workflow.TransitionError, match="That is a final status"):
        workflow.check_transition(Status.VERIFIED, Status.SUBMITTED)


def test_returning_needs_reasons(session, world):
    assessment = in_review(session, world)
    with pytest.raises(workflow.TransitionError, match="Say why"):
        review.return_assessment(session, assessment, reason="  ", by=world["evaluator"])


def test_of_two_evaluators_acting_at_once_only_the_first_moves_the_assessment(
    session, world, database_url
):
    assessment = in_review(session, world)
    engine = sa.create_engine(database_url)
    with Session(engine, expire_on_commit=False) as other:
        theirs = other.get(Assessment, assessment.id)  # loaded while it is in review
        review.complete_review(session, assessment, by=world["evaluator"])
        session.commit()
        with pytest.raises(workflow.TransitionError, match="Someone changed this assessment"):
            review.return_assessment(other, theirs, reason="No.", by=world["evaluator2"])
        other.rollback()
    engine.dispose()
    session.expire_all()
    assert session.get(Assessment, assessment.id).status == Status.VERIFIED


def test_a_returned_assessment_is_resubmitted_to_submitted(session, world):
    assessment = in_review(session, world)
    review.return_assessment(
        session, assessment, reason="SG2: attach the vetting records.", by=world["evaluator"]
    )
    session.commit()
    result = store.save_answers(
        session,
        assessment,
        values={"SG2_vetting": 3},
        base_versions={"SG2_vetting": 1},
        user=world["ngo"],
    )
    assert result.saved == ["SG2_vetting"]  # the NGO may change its answers again
    assert services.submit(session, assessment, by=world["ngo"]) == []
    session.commit()
    steps = [
        (c.from_status, c.to_status)
        for c in session.exec(
            select(StatusChange)
            .where(StatusChange.assessment_id == assessment.id)
            .order_by(StatusChange.id)
        ).all()
    ]
    assert steps == [
        ("not_started", "in_progress"),
        ("in_progress", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "returned"),
        ("returned", "submitted"),
    ]


# --- the review, indicator by indicator ---------------------------------------------------------


def test_an_assigned_evaluator_starts_the_review(client, session, world, logged_in, csrf):
    assessment = submitted(session, world)
    logged_in(world["evaluator"])
    url = f"/assessments/{assessment.id}/review"
    html = client.get(url).get_data(as_text=True)
    assert "Start the review" in html
    response = client.post(f"{url}/start", data={"csrf_token": csrf(client, url)})
    assert response.status_code == 302
    session.refresh(assessment)
    assert assessment.status == Status.IN_REVIEW
    html = client.get(url).get_data(as_text=True)
    assert "Complete the review" in html
    assert "Return to the NGO" in html
    assert "Eva" in html  # the status history names who started it


def test_the_indicator_page_shows_self_ratings_comments_and_evidence_readably(
    client, session, world, logged_in
):
    assessment = world["assessment"]
    store.save_answers(
        session,
        assessment,
        values=ANSWERS,
        base_versions={},
        comments={"SG1_policy": "Signed in March <b>2026</b>."},
        user=world["ngo"],
    )
    session.add(
        Evidence(
            assessment_id=assessment.id,
            question_id="SG1_policy",
            original_filename="policy.pdf",
            stored_name="a" * 32,
            size=10,
            content_type="application/pdf",
            sha256="0" * 64,
        )
    )
    services.submit(session, assessment, by=world["ngo"])
    review.start_review(session, assessment, by=world["evaluator"])
    session.commit()
    logged_in(world["evaluator"])
    _, html, data = review_page(client, assessment, "SG1")
    assert "Established: The policy is signed by all staff and volunteers." in html
    assert ">Yes<" in html  # the yes/no option's label
    assert "Signed in March &lt;b&gt;2026&lt;/b&gt;." in html
    assert "policy.pdf</a>" in html
    assert f"/assessments/{assessment.id}/evidence/" in html  # a download link
    assert data["v_SG1_policy"] == ""  # no verified rating yet
    # The verified rating starts from the self-rating.
    assert 'checked id="q_SG1_policy-2" name="q_SG1_policy" type="radio" value="3"' in html


def test_verified_ratings_are_stored_apart_and_the_self_answers_are_kept(
    client, session, world, logged_in
):
    assessment = in_review(session, world)
    logged_in(world["evaluator"])
    url, _, data = review_page(client, assessment, "SG1")
    response = client.post(
        url,
        data={
            **data,
            "q_SG1_policy": "2",
            "q_SG1_focal": "yes",
            "note": "Only a draft policy was shown.",
            "action": "next",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/review/indicator/SG2")
    answers = {
        (a.source, a.question_id): a.value
        for a in session.exec(select(Answer).where(Answer.assessment_id == assessment.id)).all()
    }
    assert answers[("verified", "SG1_policy")] == 2
    assert answers[("verified", "SG1_focal")] == "yes"
    assert answers[("self", "SG1_policy")] == 3  # unchanged
    assert ("verified", "SG2_vetting") not in answers  # another indicator: untouched
    note = session.exec(select(IndicatorReview)).one()
    assert (note.indicator_id, note.note, note.agreed) == (
        "SG1",
        "Only a draft policy was shown.",
        False,
    )
    assert note.reviewed_by_id == world["evaluator"].id


def test_an_indicator_whose_ratings_are_kept_is_marked_agreed(client, session, world, logged_in):
    assessment = in_review(session, world)
    logged_in(world["evaluator"])
    url, _, data = review_page(client, assessment, "SV1")
    response = client.post(
        url, data={**data, "q_SV1_plans": "3", "q_SV1_referral": "most", "action": "overview"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/assessments/{assessment.id}/review")
    note = session.exec(select(IndicatorReview)).one()
    assert note.agreed is True
    assert note.note is None
    html = client.get(f"/assessments/{assessment.id}/review").get_data(as_text=True)
    assert "agrees with the self-rating" in html


def test_saving_the_same_review_twice_changes_nothing(client, session, world, logged_in):
    assessment = in_review(session, world)
    logged_in(world["evaluator"])
    url, _, data = review_page(client, assessment, "SG1")
    form = {**data, "q_SG1_policy": "2", "q_SG1_focal": "no", "note": "Draft only."}
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 302  # double click, same base versions
    rows = session.exec(select(Answer).where(Answer.source == Source.VERIFIED)).all()
    assert {r.question_id: r.version for r in rows} == {"SG1_policy": 1, "SG1_focal": 1}
    assert session.exec(select(IndicatorReview)).one().version == 1


def test_a_stale_verified_rating_shows_both_and_overwrites_nothing(app, session, world, login_as):
    assessment = in_review(session, world)
    eva, eve = app.test_client(), app.test_client()
    login_as(eva, world["evaluator"].email)
    login_as(eve, world["evaluator2"].email)
    url, _, eva_data = review_page(eva, assessment, "SG1")
    _, _, eve_data = review_page(eve, assessment, "SG1")
    assert eve.post(url, data={**eve_data, "q_SG1_policy": "4", "note": "Eve"}).status_code == 302
    response = eva.post(url, data={**eva_data, "q_SG1_policy": "1", "note": "Eva"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Saved meanwhile by another evaluator:" in html
    assert "Leading: The policy is reviewed yearly" in html  # theirs, readable
    assert "Initial: No written policy." in html  # yours
    session.expire_all()
    stored = session.exec(
        select(Answer).where(Answer.source == Source.VERIFIED, Answer.question_id == "SG1_policy")
    ).one()
    assert stored.value == 4
    assert session.exec(select(IndicatorReview)).one().note == "Eve"


def test_ratings_cannot_be_verified_before_the_review_starts(
    client, session, world, logged_in, csrf
):
    assessment = submitted(session, world)
    logged_in(world["evaluator"])
    url, html, data = review_page(client, assessment, "SG1")
    assert "Save and next indicator" not in html
    response = client.post(url, data={**data, "q_SG1_policy": "1"})
    assert response.status_code == 302
    assert session.exec(select(Answer).where(Answer.source == Source.VERIFIED)).all() == []
    with pytest.raises(workflow.TransitionError, match="only while it is in review"):
        review.save_indicator_review(
            session,
            assessment,
            "SG1",
            values={"SG1_policy": 1},
            base_versions={},
            note=None,
            note_version=None,
            by=world["evaluator"],
        )


def test_an_unknown_indicator_is_not_found(client, session, world, logged_in):
    assessment = in_review(session, world)
    logged_in(world["evaluator"])
    assert client.get(f"/assessments/{assessment.id}/review/indicator/NOPE").status_code == 404


# --- completing and returning --------------------------------------------------------------------


def test_completing_scores_the_verified_answers_and_keeps_the_self_scores(
    client, session, world, logged_in, csrf
):
    assessment = in_review(session, world)
    own_before = scores(session, assessment, Source.SELF)
    assert own_before[("overall", "quick-check")] == pytest.approx(68.75)
    logged_in(world["evaluator"])
    url, _, data = review_page(client, assessment, "SG1")
    client.post(url, data={**data, "q_SG1_policy": "1", "q_SG1_focal": "no"})
    overview = f"/assessments/{assessment.id}/review"
    response = client.post(f"{overview}/complete", data={"csrf_token": csrf(client, overview)})
    assert response.status_code == 302
    session.refresh(assessment)
    assert assessment.status == Status.VERIFIED
    assert scores(session, assessment, Source.SELF) == own_before  # kept
    verified = scores(session, assessment, Source.VERIFIED)
    # SG1 goes from mean(3, 4) = 3.5 -> 87.5 down to mean(1, 1) -> 0.
    assert own_before[("indicator", "SG1")] == pytest.approx(5 / 6 * 100)
    assert verified[("indicator", "SG1")] == pytest.approx(0)
    # Indicators without a verified rating took the self-rating.
    assert verified[("indicator", "SV1")] == own_before[("indicator", "SV1")]
    assert verified[("overall", "quick-check")] < own_before[("overall", "quick-check")]
    filled = session.exec(
        select(Answer).where(Answer.source == Source.VERIFIED, Answer.question_id == "RS1_data")
    ).one()
    assert filled.value == 2


def test_returning_shows_the_reasons_to_the_ngo_who_can_answer_again(
    client, session, world, logged_in, csrf
):
    assessment = in_review(session, world)
    logged_in(world["evaluator"])
    url = f"/assessments/{assessment.id}/review"
    response = client.post(f"{url}/return", data={"csrf_token": csrf(client, url), "reason": ""})
    assert response.status_code == 422
    assert "Say why" in response.get_data(as_text=True)
    reason = "Attach the <vetting> records for SG2."
    response = client.post(
        f"{url}/return", data={"csrf_token": csrf(client, url), "reason": reason}
    )
    assert response.status_code == 302
    session.refresh(assessment)
    assert assessment.status == Status.RETURNED
    notice = workflow.return_notice(session, assessment)
    assert notice.reason == reason
    assert notice.by == "Eva"

    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    logged_in(world["ngo"])
    html = client.get(f"/assessments/{assessment.id}/verification").get_data(as_text=True)
    assert "Returned by the evaluator" in html
    assert "Attach the &lt;vetting&gt; records for SG2." in html


def test_the_ngo_sees_verified_ratings_and_notes_only_once_the_review_is_complete(
    client, session, world, logged_in, csrf
):
    assessment = in_review(session, world)
    review.save_indicator_review(
        session,
        assessment,
        "SG1",
        values={"SG1_policy": 1},
        base_versions={},
        note="No <b>signed</b> copies were shown.",
        note_version=None,
        by=world["evaluator"],
    )
    session.commit()
    logged_in(world["ngo"])
    url = f"/assessments/{assessment.id}/verification"
    html = client.get(url).get_data(as_text=True)
    assert "appear here once the evaluator has completed the review" in html
    assert "No written policy" not in html
    assert "signed" not in html
    # The NGO sees its assessment, so the review is refused rather than hidden.
    assert client.get(f"/assessments/{assessment.id}/review").status_code == 403

    review.complete_review(session, assessment, by=world["evaluator"])
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert "Initial: No written policy." in html  # the verified rating, readable
    assert "Established: The policy is signed by all staff and volunteers." in html  # theirs
    assert "No &lt;b&gt;signed&lt;/b&gt; copies were shown." in html
    assert "changed" in html
    assert "Self-assessed" in html  # the scorecard's and the dashboard's word
    assert "Your rating" in html  # the NGO's own page says so
    assert "Verified" in html


def test_the_comparison_shows_the_verified_scorecard_numbers(client, session, world, logged_in):
    assessment = in_review(session, world)
    review.complete_review(session, assessment, by=world["evaluator"])  # all agreed
    session.commit()
    logged_in(world["member"])
    html = client.get(f"/assessments/{assessment.id}/verification").get_data(as_text=True)
    cell = re.search(r'<td class="verified-overall">([^<]*)<', html).group(1)
    assert cell.strip() == "68.8"


def test_the_evaluator_reads_the_ngos_rating_not_yours(client, session, world, logged_in):
    """The same page, named the same for every role; its columns say whose rating it is."""
    assessment = in_review(session, world)
    review.complete_review(session, assessment, by=world["evaluator"])
    session.commit()
    logged_in(world["evaluator"])
    html = client.get(f"/assessments/{assessment.id}/verification").get_data(as_text=True)
    assert "<title>Verified results" in html
    assert re.search(r"NGO(&#39;|')s rating", html)
    assert re.search(r"NGO(&#39;|')s score", html)
    assert "Your rating" not in html
    assert "Your score" not in html
    review_page = client.get(f"/assessments/{assessment.id}/review").get_data(as_text=True)
    assert "History of changes" in review_page  # as the NGO's own pages call it
    assert ">Verified results</a>" in review_page


# --- who may review ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["unassigned", "ngo", "member", "funder", "other_ngo"])
def test_only_assigned_evaluators_and_admins_may_review(
    client, session, world, logged_in, csrf, who
):
    assessment = in_review(session, world)
    logged_in(world[who])
    base = f"/assessments/{assessment.id}/review"
    token = csrf(client, "/")
    # Hidden (404) from who may not see the assessment: another NGO, and since issue 9 an
    # evaluator not assigned to its cycle; refused (403) to who sees it.
    refused = 404 if who in ("other_ngo", "unassigned") else 403
    assert client.get(base).status_code == refused
    assert client.get(f"{base}/indicator/SG1").status_code == refused
    form = {"csrf_token": token, "q_SG1_policy": "1", "reason": "x"}
    for path in ("indicator/SG1", "start", "return", "complete"):
        assert client.post(f"{base}/{path}", data=form).status_code == refused, path
    session.expire_all()
    assert session.get(Assessment, assessment.id).status == Status.IN_REVIEW
    assert session.exec(select(Answer).where(Answer.source == Source.VERIFIED)).all() == []


def test_an_admin_may_review_any_assessment(client, session, world, logged_in, csrf):
    assessment = submitted(session, world)
    logged_in(world["admin"])
    url = f"/assessments/{assessment.id}/review"
    assert client.post(f"{url}/start", data={"csrf_token": csrf(client, url)}).status_code == 302
    session.refresh(assessment)
    assert assessment.status == Status.IN_REVIEW


def test_an_evaluator_of_one_cycle_cannot_review_another_by_changing_the_id(
    client, session, world, make_org, published_version, logged_in
):
    in_review(session, world)
    cycle = cycles.create_cycle(
        session,
        code="other",
        name="Other cycle",
        version=published_version("quick-check"),
        organizations=[make_org(name="Third NGO")],
        opens_on=None,
        closes_on=None,
        evaluators=[world["unassigned"]],
        by=None,
    )
    session.commit()
    foreign = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
    logged_in(world["evaluator"])
    # Evaluators see the cycles they are assigned to (issue 9): another cycle's assessment is
    # hidden, its review and its page alike, whatever id is typed.
    assert client.get(f"/assessments/{foreign.id}/review").status_code == 404
    assert client.get(f"/assessments/{foreign.id}").status_code == 404
    assert client.get(f"/assessments/{world['assessment'].id}/review").status_code == 200


def test_one_ngo_never_sees_another_ngos_verification(client, session, world, logged_in):
    assessment = in_review(session, world)
    review.complete_review(session, assessment, by=world["evaluator"])
    session.commit()
    logged_in(world["other_ngo"])
    assert client.get(f"/assessments/{assessment.id}/verification").status_code == 404
    assert client.get(f"/assessments/{world['other'].id}/verification").status_code == 200


def test_the_funder_granted_access_sees_the_verified_results(client, session, world, logged_in):
    assessment = in_review(session, world)
    review.complete_review(session, assessment, by=world["evaluator"])
    session.commit()
    logged_in(world["funder"])
    html = client.get(f"/assessments/{assessment.id}/verification").get_data(as_text=True)
    assert "Indicator by indicator" in html
