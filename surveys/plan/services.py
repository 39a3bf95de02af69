"""Improvement plans: what an NGO will do about the indicators that scored below the target.

Every indicator scoring below its cycle's target (default 70 of 100; see
:func:`surveys.cycles.services.target_of`) is in the plan, where the NGO records actions: what,
who, by when, and how far along (planned, in progress, done). Actions belong to the NGO and the
indicator's stable code (with the rubric's code), not to one assessment: open actions show again
in the next cycle's plan for the same indicator, whatever its score then, until they are done.

The plan reads the verified scores once the review is complete, and the self scores before.
Services take the session and flush; the view commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts.concurrency import StaleWrite, compare_and_set
from accounts.models import User, utcnow
from rubrics.schema import Rubric
from surveys.answers import rubric_for
from surveys.cycles.services import target_of
from surveys.models import Assessment, AssessmentCycle, Source
from surveys.plan.models import OPEN_ACTIONS, ActionStatus, ImprovementAction
from surveys.review.services import indicator_scores
from surveys.workflow import AssessmentError, verified_visible

TEXT_MAX = 2000
OWNER_MAX = 200
STATUS_LABELS = {
    ActionStatus.PLANNED: _l("Planned"),
    ActionStatus.IN_PROGRESS: _l("In progress"),
    ActionStatus.DONE: _l("Done"),
}


class PlanError(AssessmentError):
    """An action the plan refuses. ``errors`` maps form field names to messages safe to show."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(" ".join(map(str, v)) for v in errors.values()))


class PlanConflict(StaleWrite):
    """The action was changed by someone else since the page was loaded (``current`` is the
    action as it is now)."""


@dataclass(frozen=True)
class PlanAction:
    action: ImprovementAction
    carried: bool  # created in another cycle, still open
    cycle: str | None  # the name of the cycle it was created in


@dataclass(frozen=True)
class PlanIndicator:
    id: str
    label: str
    domain: str
    score: float | None
    below_target: bool
    actions: list[PlanAction]

    @property
    def open_actions(self) -> int:
        return sum(a.action.status in OPEN_ACTIONS for a in self.actions)


@dataclass(frozen=True)
class Plan:
    target: float
    source: Source  # the scores the plan is based on
    scored: bool  # the assessment has scores (it has been submitted)
    indicators: list[PlanIndicator]

    @property
    def actions(self) -> int:
        return sum(len(i.actions) for i in self.indicators)


def plan_source(assessment: Assessment) -> Source:
    return Source.VERIFIED if verified_visible(assessment) else Source.SELF


def plan_for(session: Session, assessment: Assessment, rubric: Rubric, language: str) -> Plan:
    """The plan of one assessment: indicators below target, and every indicator with actions
    from this cycle or open actions from earlier ones."""
    source = plan_source(assessment)
    scores = indicator_scores(session, assessment, source)
    target = target_of(session, assessment.cycle_id)
    actions = actions_of(session, assessment.organization_id, rubric.id)
    names = cycle_names(session, {a.cycle_id for a in actions if a.cycle_id is not None})
    indicators = []
    for domain in rubric.domains:
        for indicator in domain.indicators:
            score = scores.get(indicator.id)
            below = score is not None and score < target
            shown = [
                PlanAction(a, a.cycle_id != assessment.cycle_id, names.get(a.cycle_id or 0))
                for a in actions
                if a.indicator_id == indicator.id
                and (a.cycle_id == assessment.cycle_id or a.status in OPEN_ACTIONS)
            ]
            if below or shown:
                indicators.append(
                    PlanIndicator(
                        indicator.id,
                        rubric.text(indicator.label, language),
                        rubric.text(domain.label, language),
                        score,
                        below,
                        shown,
                    )
                )
    return Plan(target, source, bool(scores), indicators)


def plan_summary(session: Session, assessment: Assessment, language: str | None = None) -> Plan:
    """The plan for ``plan/summary.html`` (the scorecard includes it as ``plan``)."""
    _, rubric = rubric_for(session, assessment)
    chosen = language if language in rubric.languages else rubric.default_language
    return plan_for(session, assessment, rubric, chosen)


def actions_of(session: Session, organization_id: int, rubric_code: str) -> list[ImprovementAction]:
    query = (
        select(ImprovementAction)
        .where(
            ImprovementAction.organization_id == organization_id,
            ImprovementAction.rubric_code == rubric_code,
        )
        .order_by(col(ImprovementAction.due_on).is_(None), col(ImprovementAction.due_on))
        .order_by(col(ImprovementAction.id))
    )
    return list(session.exec(query).all())


def cycle_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(AssessmentCycle.id, AssessmentCycle.name).where(col(AssessmentCycle.id).in_(ids))
    return {cid: name for cid, name in session.exec(query).all() if cid is not None}


def find_action(
    session: Session, assessment: Assessment, rubric: Rubric, action_id: int
) -> ImprovementAction | None:
    """The action if it belongs to the assessment's NGO and rubric (else None: a 404)."""
    action = session.get(ImprovementAction, action_id)
    if (
        action is None
        or action.organization_id != assessment.organization_id
        or action.rubric_code != rubric.id
    ):
        return None
    return action


def _check(text: str, owner: str | None, status: str, due_on: date | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["text"] = [_l("Say what will be done.")]
    elif len(text) > TEXT_MAX:
        errors["text"] = [_l("Keep it under %(max)s characters.", max=TEXT_MAX)]
    if owner and len(owner) > OWNER_MAX:
        errors["owner"] = [_l("Keep it under %(max)s characters.", max=OWNER_MAX)]
    if status not in set(ActionStatus):
        errors["status"] = [_l("Choose planned, in progress or done.")]
    return errors


def add_action(
    session: Session,
    assessment: Assessment,
    *,
    indicator_id: str,
    text: str,
    owner: str | None,
    due_on: date | None,
    status: str = ActionStatus.PLANNED,
    by: User | None,
) -> ImprovementAction:
    """Record an action for an indicator that is in the assessment's plan."""
    _, rubric = rubric_for(session, assessment)
    errors = _check(text, owner, status, due_on)
    plan = plan_for(session, assessment, rubric, rubric.default_language)
    if indicator_id not in {i.id for i in plan.indicators}:
        errors["indicator_id"] = [
            _l(
                "Actions can be added to indicators below the target, once the assessment is "
                "scored."
            )
        ]
    if errors:
        raise PlanError(errors)
    action = ImprovementAction(
        organization_id=assessment.organization_id,
        rubric_code=rubric.id,
        indicator_id=indicator_id,
        cycle_id=assessment.cycle_id,
        text=text.strip(),
        owner=(owner or "").strip() or None,
        due_on=due_on,
        status=status,
        created_by_id=by.id if by else None,
        updated_by_id=by.id if by else None,
    )
    session.add(action)
    session.flush()
    return action


def update_action(
    session: Session,
    action: ImprovementAction,
    *,
    text: str,
    owner: str | None,
    due_on: date | None,
    status: str,
    base_version: int | None,
    by: User | None,
) -> bool:
    """Change an action; returns whether anything changed. A change based on an outdated copy
    raises :class:`PlanConflict` and changes nothing."""
    errors = _check(text, owner, status, due_on)
    if errors:
        raise PlanError(errors)
    new = (text.strip(), (owner or "").strip() or None, due_on, status)
    if new == (action.text, action.owner, action.due_on, action.status):
        return False
    text, owner, due_on, status = new
    written = {
        "text": text,
        "owner": owner,
        "due_on": due_on,
        "status": status,
        "updated_by_id": by.id if by else None,
        "updated_at": utcnow(),
    }
    try:
        compare_and_set(session, action, seen=base_version, values=written, version="lock_version")
    except StaleWrite as lost:
        raise PlanConflict(
            lost.current,
            yours=written,
            seen=base_version,
            message=_l(
                "Someone else changed this action while you were editing it; nothing was "
                "overwritten. Here it is as it is now."
            ),
        ) from None
    return True
