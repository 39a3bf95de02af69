"""The assessment's status machine, below every feature.

``not_started -> in_progress -> submitted -> in_review -> verified``, or from ``in_review`` back
to the NGO as ``returned`` (with reasons), and from there ``submitted`` again when the NGO
resubmits. :data:`TRANSITIONS` is the one table of allowed moves; :func:`transition` refuses any
other with a :class:`TransitionError` naming what is allowed, and records who and when
(:class:`~surveys.models.StatusChange`). Every feature (questionnaire, review, cycles, plan)
changes an assessment's status through this module, so none imports another's services to do so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlmodel import Session, col

from accounts.concurrency import StaleWrite, compare_and_set
from accounts.models import User, utcnow
from surveys.models import Assessment, Status, StatusChange


class AssessmentError(ValueError):
    """An operation the workflow refuses; the message is safe to show.

    Messages (here and in the subclasses of the features) are ``lazy_gettext``
    strings: ``str(exc)`` is in the language of the request that shows it, English elsewhere.
    """


# --- the workflow ---------------------------------------------------------------------------------

REVIEWER = "reviewer"  # an evaluator assigned to the cycle, or an admin
NGO = "ngo"  # a member of the assessed NGO

# (from, to) -> (who makes the move, what it is called). The one place that says what may happen.
TRANSITIONS: dict[tuple[Status, Status], tuple[str, str]] = {
    (Status.NOT_STARTED, Status.IN_PROGRESS): (NGO, "start answering"),
    (Status.IN_PROGRESS, Status.SUBMITTED): (NGO, "submit"),
    (Status.SUBMITTED, Status.IN_REVIEW): (REVIEWER, "start the review"),
    (Status.IN_REVIEW, Status.RETURNED): (REVIEWER, "return to the NGO"),
    (Status.IN_REVIEW, Status.VERIFIED): (REVIEWER, "complete the review"),
    (Status.RETURNED, Status.SUBMITTED): (NGO, "resubmit"),
}
NEEDS_REASON = frozenset({(Status.IN_REVIEW, Status.RETURNED)})
REASON_MAX = 5000


class TransitionError(AssessmentError):
    """A status change the workflow does not allow; the message is safe to show."""


def status_label(status: str) -> LazyString:
    """A status in words, in the language of the request that shows it (see unmarked.jinja)."""
    return _l(status.replace("_", " "))


def _labels(statuses: list[Status]) -> LazyString:
    return LazyString(lambda: ", ".join(gettext(s.replace("_", " ")) for s in statuses))


def allowed_from(status: str) -> list[Status]:
    return [to for (source, to) in TRANSITIONS if source == status]


def check_transition(current: str, to: Status) -> None:
    """Raise :class:`TransitionError` unless ``current -> to`` is in :data:`TRANSITIONS`."""
    if (Status(current), to) in TRANSITIONS:
        return
    nexts = allowed_from(current)
    then = (
        _l("From there it can become: %(statuses)s.", statuses=_labels(nexts))
        if nexts
        else _l("That is a final status.")
    )
    raise TransitionError(
        _l(
            "This assessment is %(current)s; it cannot become %(to)s. %(then)s",
            current=status_label(current),
            to=status_label(to),
            then=then,
        )
    )


def transition(
    session: Session,
    assessment: Assessment,
    to: Status,
    *,
    by: User | None,
    reason: str | None = None,
) -> None:
    """Move ``assessment`` to ``to`` if the workflow allows it, recording who, when and why.

    The move is a compare-and-set on the stored status, so that of two people acting at once
    (two evaluators completing the same review) only the first succeeds.
    """
    current = assessment.status
    check_transition(current, to)
    reason = (reason or "").strip() or None
    if (Status(current), to) in NEEDS_REASON and not reason:
        raise TransitionError(_l("Say why, so that the NGO knows what to change."))
    if reason and len(reason) > REASON_MAX:
        raise TransitionError(_l("Keep the reasons under %(max)s characters.", max=REASON_MAX))
    try:
        compare_and_set(
            session,
            assessment,
            seen=assessment.lock_version,
            values={},
            version="lock_version",
            where=(col(Assessment.status) == current,),
        )
    except StaleWrite:
        raise TransitionError(
            _l(
                "Someone changed this assessment meanwhile: it is now %(status)s.",
                status=status_label(assessment.status),
            )
        ) from None
    change_status(session, assessment, to, by=by, reason=reason)


def change_status(
    session: Session,
    assessment: Assessment,
    to: Status,
    *,
    by: User | None,
    reason: str | None = None,
) -> None:
    check_transition(assessment.status, to)
    session.add(
        StatusChange(
            assessment_id=assessment.id,  # type: ignore[arg-type]
            from_status=assessment.status,
            to_status=to,
            reason=reason,
            changed_by_id=by.id if by else None,
        )
    )
    assessment.status = to
    assessment.updated_at = utcnow()
    session.flush()


# --- the record -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusEvent:
    from_status: str
    to_status: str
    reason: str | None
    by: str | None
    at: datetime


def status_history(session: Session, assessment_id: int) -> list[StatusEvent]:
    """Every status change of the assessment, oldest first, with who made it."""
    query = (
        sa.select(StatusChange, col(User.name))
        .outerjoin(User, col(User.id) == StatusChange.changed_by_id)
        .where(col(StatusChange.assessment_id) == assessment_id)
        .order_by(col(StatusChange.changed_at), col(StatusChange.id))
    )
    return [
        StatusEvent(change.from_status, change.to_status, change.reason, name, change.changed_at)
        for change, name in session.execute(query).all()
    ]


@dataclass(frozen=True)
class ReturnNotice:
    reason: str
    by: str | None
    at: datetime


def return_notice(session: Session, assessment: Assessment) -> ReturnNotice | None:
    """Why the assessment was returned, while it is. (The evaluator's notes and verified ratings
    stay hidden from the NGO until the review is complete: see :func:`verified_visible`.)"""
    if assessment.status != Status.RETURNED:
        return None
    returns = [
        h
        for h in status_history(session, assessment.id)  # type: ignore[arg-type]
        if h.to_status == Status.RETURNED
    ]
    if not returns:
        return None
    last = returns[-1]
    return ReturnNotice(last.reason or "", last.by, last.at)


def verified_visible(assessment: Assessment) -> bool:
    """Verified ratings and notes reach the NGO only once the review is complete."""
    return assessment.status == Status.VERIFIED
