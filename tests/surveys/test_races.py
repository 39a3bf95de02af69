"""Two people writing the same row at the same moment: exactly one wins, the other is told, on
SQLite and on PostgreSQL alike (``make pg``). Threads are released together by a barrier, over
many rounds, so that the writes really overlap; nothing is mocked and nothing is timed."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from quick_check import ANSWERS
from sqlmodel import Session, func, select

from accounts.models import Role
from surveys import answers as store
from surveys.models import Answer, AnswerRevision, Source
from surveys.plan import services as plan
from surveys.plan.models import ImprovementAction
from surveys.questionnaire import services
from surveys.review import services as review
from surveys.review.models import IndicatorReview
from webapp.extensions import db

ROUNDS = 20
LEVELS = {1: "Initial", 2: "Developing", 3: "Established", 4: "Leading"}
TOKEN_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
VERSION_RE = re.compile(r'name="(v_[^"]+)" type="hidden" value="([^"]*)"')
RESUME_RE = re.compile(r'name="r" type="hidden" value="([^"]*)"')


def race(*writes: Callable[[], Any]) -> list[Any]:
    """Run ``writes`` in threads released at once by a barrier; their results, in order."""
    barrier = threading.Barrier(len(writes))

    def run(write: Callable[[], Any]) -> Any:
        barrier.wait()
        return write()

    with ThreadPoolExecutor(len(writes)) as pool:
        futures = [pool.submit(run, write) for write in writes]
        return [future.result() for future in futures]


def page_fields(client, url):
    html = client.get(url).get_data(as_text=True)
    return {
        "csrf_token": TOKEN_RE.search(html).group(1),
        "r": RESUME_RE.search(html).group(1),
        **dict(VERSION_RE.findall(html)),
    }


def stored_answer(session, assessment_id, question_id, source=Source.SELF):
    session.expire_all()
    return session.exec(
        select(Answer).where(
            Answer.assessment_id == assessment_id,
            Answer.source == source,
            Answer.question_id == question_id,
        )
    ).first()


def revisions(session, assessment_id):
    return session.exec(
        select(func.count()).where(AnswerRevision.assessment_id == assessment_id)
    ).one()


def test_two_people_saving_the_same_answer_at_once_one_wins_the_other_sees_both(
    app, session, make_org, make_user, make_assessment, login_as
):
    org = make_org(name="Hope and Home")
    ana_user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org, name="Ana")
    besa_user = make_user(email="besa@example.org", role=Role.NGO_MEMBER, org=org, name="Besa")
    assessment = make_assessment(org=org)
    ana, besa = app.test_client(), app.test_client()
    login_as(ana, ana_user.email)
    login_as(besa, besa_user.email)
    url = f"/assessments/{assessment.id}/page/0"

    outcomes = []
    for n in range(ROUNDS):  # round 0 races two first inserts, the others two updates
        before = stored_answer(session, assessment.id, "SG1_policy")
        current, version = (before.value, before.version) if before else (None, 0)
        others = [level for level in LEVELS if level != current]
        mine, yours = others[n % 2], others[n % 2 + 1]
        ana_data, besa_data = page_fields(ana, url), page_fields(besa, url)
        assert ana_data["v_SG1_policy"] == besa_data["v_SG1_policy"]  # both saw the same
        count = revisions(session, assessment.id)

        responses = race(
            lambda d=ana_data, v=mine: ana.post(
                url, data={**d, "q_SG1_policy": str(v), "action": "save"}
            ),
            lambda d=besa_data, v=yours: besa.post(
                url, data={**d, "q_SG1_policy": str(v), "action": "save"}
            ),
        )

        codes = sorted(r.status_code for r in responses)
        assert codes == [302, 409], f"round {n}: {codes}"
        won = 0 if responses[0].status_code == 302 else 1
        winner, loser = (mine, yours) if won == 0 else (yours, mine)
        answer = stored_answer(session, assessment.id, "SG1_policy")
        assert answer.value == winner
        assert answer.version == version + 1
        assert revisions(session, assessment.id) == count + 1  # one change, not two
        html = responses[1 - won].get_data(as_text=True)
        assert re.search(
            rf"Keep mine:\s*<strong>{loser} · {LEVELS[loser]}(?:: [^<]*)?</strong>", html
        )
        assert re.search(
            rf"Take theirs:\s*<strong>{winner} · {LEVELS[winner]}(?:: [^<]*)?</strong>", html
        )
        outcomes.append(won)
    assert len(outcomes) == ROUNDS


def _own_session() -> Session:
    """A session on the app's engine (SQLite: BEGIN IMMEDIATE, as for a request)."""
    return Session(db.engine, expire_on_commit=False)


def test_two_evaluators_saving_one_indicator_review_at_once_one_wins(
    app, session, make_org, make_user, make_assessment
):
    org = make_org(name="Hope and Home")
    ngo_user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org)
    eva = make_user(email="eva@example.org", role=Role.EVALUATOR, name="Eva")
    eve = make_user(email="eve@example.org", role=Role.EVALUATOR, name="Eve")
    assessment = make_assessment(org=org)
    store.save_answers(session, assessment, values=ANSWERS, base_versions={}, user=ngo_user)
    assert services.submit(session, assessment, by=ngo_user) == []
    review.start_review(session, assessment, by=eva)
    session.commit()

    def save(user, note, rating, seen_note, seen_rating):
        with app.app_context(), _own_session() as own:
            result = review.save_indicator_review(
                own,
                own.get(type(assessment), assessment.id),
                "SG1",
                values={"SG1_policy": rating},
                base_versions={"SG1_policy": seen_rating},
                note=note,
                note_version=seen_note,
                by=own.get(type(user), user.id),
            )
            own.commit()
            return result

    for n in range(ROUNDS):  # round 0 races two first inserts of the note and the rating
        session.expire_all()
        stored = review.indicator_reviews(session, assessment.id).get("SG1")
        rating = stored_answer(session, assessment.id, "SG1_policy", Source.VERIFIED)
        seen_note = stored.version if stored else None
        seen_rating = rating.version if rating else None
        current = rating.value if rating else None
        mine, yours = [level for level in LEVELS if level != current][:2]
        results = race(
            partial(save, eva, f"Eva {n}", mine, seen_note, seen_rating),
            partial(save, eve, f"Eve {n}", yours, seen_note, seen_rating),
        )

        winners = [i for i, r in enumerate(results) if not r.conflicts]
        assert len(winners) == 1, f"round {n}: {[r.conflicts for r in results]}"
        won, lost = results[winners[0]], results[1 - winners[0]]
        notes, ratings = [f"Eva {n}", f"Eve {n}"], [mine, yours]
        session.expire_all()
        now = session.exec(select(IndicatorReview)).one()
        assert now.note == notes[winners[0]]
        assert now.version == (seen_note or 0) + 1
        assert won.saved_note
        assert not lost.saved_note
        assert lost.note_conflict == notes[winners[0]]
        (conflict,) = lost.answers.conflicts
        assert (conflict.yours, conflict.theirs) == (ratings[1 - winners[0]], ratings[winners[0]])
        verified = stored_answer(session, assessment.id, "SG1_policy", Source.VERIFIED)
        assert verified.value == ratings[winners[0]]


def test_two_people_updating_one_plan_action_at_once_one_wins(app, session, make_org):
    org = make_org(name="Hope and Home")
    action = ImprovementAction(
        organization_id=org.id, rubric_code="quick-check", indicator_id="SG1", text="Start"
    )
    session.add(action)
    session.commit()

    def update(text, seen):
        with app.app_context(), _own_session() as own:
            try:
                changed = plan.update_action(
                    own,
                    own.get(ImprovementAction, action.id),
                    text=text,
                    owner=None,
                    due_on=None,
                    status="planned",
                    base_version=seen,
                    by=None,
                )
            except plan.PlanConflict as conflict:
                shown = (conflict.current.text, conflict.yours["text"])  # theirs, mine
                own.rollback()
                return shown
            own.commit()
            return changed

    for n in range(ROUNDS):
        session.expire_all()
        seen = session.get(ImprovementAction, action.id).lock_version
        results = race(partial(update, f"Ana {n}", seen), partial(update, f"Besa {n}", seen))

        assert sum(r is True for r in results) == 1, f"round {n}: {results}"
        assert sum(isinstance(r, tuple) for r in results) == 1
        won = 0 if results[0] is True else 1
        conflict = results[1 - won]
        session.expire_all()
        now = session.get(ImprovementAction, action.id)
        assert now.text == [f"Ana {n}", f"Besa {n}"][won]
        assert now.lock_version == seen + 1
        assert conflict == (now.text, [f"Ana {n}", f"Besa {n}"][1 - won])  # both, to show
