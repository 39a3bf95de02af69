"""Double (blind) verification of a random share of a cycle's submissions.

The cycle's share
-----------------
Whoever manages a cycle sets the percentage of its submitted assessments to verify twice
(:class:`~surveys.double.models.DoubleVerificationSetting`). *Drawing* the sample picks that share
of the submitted assessments at random (those drawn before stay drawn) and assigns each one a
second evaluator, spreading the work evenly.

Blindness
---------
The first verification is the cycle's ordinary review (:mod:`surveys.review`). The second
evaluator is an evaluator **not assigned to the cycle**, so the permissions core never shows
them the assessment's review, scorecard or verified scores; they reach it only through their own
double-verification page, which shows the NGO's self-ratings and never the first evaluator's.
Their ratings are stored apart (:class:`~surveys.double.models.SecondRating`) and shown to nobody
until both verifications are done; the rubric-quality page then compares the two on exactly the
questions the second evaluator rated. Should the second evaluator be assigned to the cycle later,
the permissions core still hides the assessment from them until both are done
(:func:`surveys.double.models._blind_assessments`), and a draw never gives an assessment to
whoever took part in its first verification.

Services take the session and flush; the view commits once.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts import permissions
from accounts.concurrency import compare_and_set
from accounts.inputs import parse_id
from accounts.lists import ListPage, ListSpec, ListState, mapped, page_of
from accounts.models import User, utcnow
from rubrics.schema import Question, Rubric
from surveys.cycles.models import CycleEvaluator
from surveys.double.models import DoubleVerification, DoubleVerificationSetting, SecondRating
from surveys.models import Answer, Assessment, AssessmentCycle, Source, Status, StatusChange
from surveys.workflow import AssessmentError

# Submitted at least once and not sent back: what can be verified.
ELIGIBLE = (Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED)
ORDINAL_TYPES = frozenset({"maturity", "single", "yes_no"})


class DoubleError(AssessmentError):
    """A double-verification request that cannot be done (the message says why)."""


# --- the cycle's share ----------------------------------------------------------------------------


def percent_of(session: Session, cycle_id: int) -> float:
    setting = session.get(DoubleVerificationSetting, cycle_id)
    return setting.percent if setting else 0.0


def set_percent(
    session: Session, cycle: AssessmentCycle, percent: float, *, by: User | None
) -> None:
    if not (0.0 <= percent <= 100.0) or math.isnan(percent):
        raise DoubleError(_l("The share must lie between 0 and 100%."))
    setting = session.get(DoubleVerificationSetting, cycle.id)
    if setting is None:
        setting = DoubleVerificationSetting(cycle_id=cycle.id)  # type: ignore[arg-type]
        session.add(setting)
    setting.percent = float(percent)
    setting.updated_by_id = by.id if by else None
    setting.updated_at = utcnow()
    session.flush()


def second_evaluator_candidates(session: Session, cycle_id: int) -> list[User]:
    """Evaluators who may verify the cycle's assessments blind: those not assigned to it."""
    holders = permissions.users_who_may("be_cycle_evaluator").subquery()
    assigned = sa.select(col(CycleEvaluator.user_id)).where(
        col(CycleEvaluator.cycle_id) == cycle_id
    )
    query = (
        select(User)
        .where(col(User.id).in_(sa.select(holders.c.user_id)), col(User.active).is_(True))
        .where(col(User.id).not_in(assigned))
        .order_by(col(User.id))
    )
    return list(session.exec(query).all())


@dataclass(frozen=True)
class DrawOutcome:
    eligible: int
    target: int
    added: int
    drawn: int


def draw_sample(
    session: Session,
    cycle: AssessmentCycle,
    *,
    by: User | None,
    rng: random.Random | None = None,
) -> DrawOutcome:
    """Draw the cycle's share of its submitted assessments for a second verification.

    The target is ``ceil(percent x eligible / 100)``; assessments drawn earlier count towards it
    and stay drawn. New ones are picked at random among the eligible and given to the least
    loaded second evaluators.
    """
    percent = percent_of(session, cycle.id)  # type: ignore[arg-type]
    eligible: list[int] = list(
        session.exec(  # type: ignore[arg-type]
            select(Assessment.id)
            .where(Assessment.cycle_id == cycle.id, col(Assessment.status).in_(ELIGIBLE))
            .order_by(col(Assessment.id))
        ).all()
    )
    drawn = set(
        session.exec(
            select(DoubleVerification.assessment_id)
            .join(Assessment, col(Assessment.id) == DoubleVerification.assessment_id)
            .where(Assessment.cycle_id == cycle.id)
        ).all()
    )
    target = math.ceil(percent * len(eligible) / 100.0 - 1e-9)
    missing = max(0, target - len(drawn & set(eligible)))
    if not missing:
        return DrawOutcome(len(eligible), target, 0, len(drawn))
    candidates = second_evaluator_candidates(session, cycle.id)  # type: ignore[arg-type]
    if not candidates:
        raise DoubleError(
            _l(
                "No evaluator can verify blind: every evaluator is assigned to this cycle. "
                "A second evaluator must not be assigned to it."
            )
        )
    chooser = rng or random.SystemRandom()
    picked = chooser.sample(sorted(set(eligible) - drawn), missing)
    load: Counter[int] = Counter(
        session.exec(
            select(DoubleVerification.second_evaluator_id).where(
                col(DoubleVerification.completed_at).is_(None)
            )
        ).all()
    )
    reviewers = first_evaluators(session, picked)
    added = 0
    for assessment_id in sorted(picked):
        # Never the one who verifies (or verified) it first: one person is not two evaluators.
        free = [u for u in candidates if u.id not in reviewers.get(assessment_id, set())]
        if not free:
            continue  # left undrawn; a later draw may find someone
        evaluator = min(free, key=lambda u: (load[u.id or 0], u.id or 0))
        load[evaluator.id or 0] += 1
        added += 1
        session.add(
            DoubleVerification(
                assessment_id=assessment_id,
                second_evaluator_id=evaluator.id,  # type: ignore[arg-type]
                assigned_by_id=by.id if by else None,
            )
        )
    session.flush()
    return DrawOutcome(len(eligible), target, added, len(drawn) + added)


def first_evaluators(session: Session, assessment_ids: list[int]) -> dict[int, set[int]]:
    """Who took part in each assessment's (first) verification: moved it into review or to
    verified, or wrote a verified answer."""
    found: dict[int, set[int]] = {}
    if not assessment_ids:
        return found
    moves = session.execute(
        sa.select(col(StatusChange.assessment_id), col(StatusChange.changed_by_id)).where(
            col(StatusChange.assessment_id).in_(assessment_ids),
            col(StatusChange.to_status).in_([Status.IN_REVIEW, Status.VERIFIED]),
        )
    ).all()
    answers = session.execute(
        sa.select(col(Answer.assessment_id), col(Answer.updated_by_id))
        .where(col(Answer.assessment_id).in_(assessment_ids), col(Answer.source) == Source.VERIFIED)
        .distinct()
    ).all()
    for assessment_id, user_id in [*moves, *answers]:
        if user_id is not None:
            found.setdefault(int(assessment_id), set()).add(int(user_id))
    return found


# --- the second evaluator's work ------------------------------------------------------------------


def assignments_of(session: Session, user_id: int) -> list[tuple[DoubleVerification, Assessment]]:
    rows = session.exec(
        select(DoubleVerification, Assessment)
        .join(Assessment, col(Assessment.id) == DoubleVerification.assessment_id)
        .where(DoubleVerification.second_evaluator_id == user_id)
        .order_by(col(DoubleVerification.id))
    ).all()
    return [(d, a) for d, a in rows]


QUEUE_LIST = ListSpec(
    sorts={
        "assessment": col(Assessment.id),
        "assigned": col(DoubleVerification.assigned_at),
        "completed": col(DoubleVerification.completed_at),
    },
    default_sort="assigned",
    filters={"state": ("to_do", "completed")},
    tiebreak=(col(DoubleVerification.id),),
)


def assignment_page(
    session: Session, user_id: int, state: ListState
) -> ListPage[tuple[DoubleVerification, Assessment]]:
    """One page of :func:`assignments_of` in ``state`` (to do or completed, sorted)."""
    query = (
        sa.select(DoubleVerification, Assessment)
        .join(Assessment, col(Assessment.id) == DoubleVerification.assessment_id)
        .where(col(DoubleVerification.second_evaluator_id) == user_id)
    )
    if state.q:  # the queue is blind: assessments go by their number
        number = parse_id(state.q.removeprefix("#").strip())
        query = query.where(col(Assessment.id) == (number if number is not None else -1))
    if state.get("state") == "to_do":
        query = query.where(col(DoubleVerification.completed_at).is_(None))
    elif state.get("state") == "completed":
        query = query.where(col(DoubleVerification.completed_at).is_not(None))
    found = page_of(session, query, state)
    return mapped(found, [(d, a) for d, a in found.rows])


def assignment_for(session: Session, double_id: int, user_id: int | None) -> DoubleVerification:
    """The assignment, if ``user_id`` is its second evaluator; else :class:`LookupError` (the
    view answers 404: nobody else learns that it exists)."""
    found = session.get(DoubleVerification, double_id)
    if found is None or user_id is None or found.second_evaluator_id != user_id:
        raise LookupError(double_id)
    return found


def rated_questions(rubric: Rubric) -> list[Question]:
    """The questions a second evaluator rates: scored, on an ordered scale (levels, options)."""
    return [q for _, _, q in rubric.questions() if q.scored and q.type in ORDINAL_TYPES]


def allowed_values(question: Question) -> dict[str, Any]:
    """Posted text -> stored value for one question."""
    if question.type == "maturity":
        return {str(level.level): level.level for level in question.levels}
    return {option.id: option.id for option in question.options}


def ratings_of(session: Session, double_id: int) -> dict[str, Any]:
    rows = session.exec(select(SecondRating).where(SecondRating.double_id == double_id)).all()
    return {row.question_id: row.value for row in rows}


def is_done(double: DoubleVerification, assessment: Assessment) -> bool:
    """Both verifications are done: the second evaluator completed, the review verified."""
    return double.completed_at is not None and assessment.status == Status.VERIFIED


def save_ratings(
    session: Session,
    double: DoubleVerification,
    rubric: Rubric,
    posted: Mapping[str, str],
    *,
    seen: int,
    complete: bool,
) -> list[str]:
    """Store the second evaluator's ratings (``posted``: question id -> form value; blank
    removes one) and, with ``complete``, finish. Returns the ids of questions whose value was
    not one of the question's choices (nothing is stored then). A page built from an older
    ``version`` of the assignment raises :class:`~accounts.concurrency.StaleWrite`."""
    if double.completed_at is not None:
        raise DoubleError(_l("This verification is complete and cannot be changed."))
    questions = {q.id: q for q in rated_questions(rubric)}
    wanted: dict[str, Any] = {}
    bad = []
    for qid, text in posted.items():
        question = questions.get(qid)
        if question is None:
            continue
        text = (text or "").strip()
        if not text:
            wanted[qid] = None
            continue
        choices = allowed_values(question)
        if text not in choices:
            bad.append(qid)
            continue
        wanted[qid] = choices[text]
    if bad:
        return bad
    compare_and_set(
        session,
        double,
        seen=seen,
        values={"completed_at": utcnow()} if complete else {},
    )
    stored = {
        row.question_id: row
        for row in session.exec(
            select(SecondRating).where(SecondRating.double_id == double.id)
        ).all()
    }
    for qid, value in wanted.items():
        row = stored.get(qid)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(SecondRating(double_id=double.id, question_id=qid, value=value))  # type: ignore[arg-type]
        elif row.value != value:
            row.value = value
            row.updated_at = utcnow()
    session.flush()
    return []


def done_pairs(session: Session, assessment_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The second evaluators' ratings of the assessments (among ``assessment_ids``) whose two
    verifications are both done: ``{assessment_id: {question_id: value}}``."""
    if not assessment_ids:
        return {}
    rows = session.execute(
        sa.select(
            col(DoubleVerification.assessment_id),
            col(SecondRating.question_id),
            col(SecondRating.value),
        )
        .join(SecondRating, col(SecondRating.double_id) == col(DoubleVerification.id))
        .join(Assessment, col(Assessment.id) == col(DoubleVerification.assessment_id))
        .where(
            col(DoubleVerification.assessment_id).in_(assessment_ids),
            col(DoubleVerification.completed_at).is_not(None),
            col(Assessment.status) == Status.VERIFIED,
        )
    ).all()
    found: dict[int, dict[str, Any]] = {}
    for assessment_id, question_id, value in rows:
        found.setdefault(assessment_id, {})[question_id] = value
    return found


@dataclass(frozen=True)
class CycleProgress:
    percent: float
    drawn: int
    completed: int
    both_done: int


def progress_of(session: Session, cycle_id: int) -> CycleProgress:
    rows = session.exec(
        select(DoubleVerification, Assessment)
        .join(Assessment, col(Assessment.id) == DoubleVerification.assessment_id)
        .where(Assessment.cycle_id == cycle_id)
    ).all()
    return CycleProgress(
        percent=percent_of(session, cycle_id),
        drawn=len(rows),
        completed=sum(1 for d, _ in rows if d.completed_at is not None),
        both_done=sum(1 for d, a in rows if is_done(d, a)),
    )
