"""Which reminders are due, and the record that each was sent (once).

- ``due``: to the people of an NGO whose assessment in an open cycle is not submitted and whose
  deadline is at most ``days`` away;
- ``overdue``: to the same people once the deadline has passed;
- ``submitted``: to the evaluators assigned to a cycle, of an assessment submitted and not yet
  taken into review.

Each (assessment, person, kind) is sent once: :class:`ReminderSent` records it, so running
``remind`` again (cron, or the button on a cycle's page) sends nothing twice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlmodel import Session, col

from accounts import mail
from accounts.models import NGO_ROLES, Membership, Organization, User
from surveys.cycles.models import CycleEvaluator
from surveys.models import EDITABLE, Assessment, AssessmentCycle, Status
from surveys.reminders.models import ReminderSent


class ReminderKind(enum.StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    SUBMITTED = "submitted"


@dataclass(frozen=True)
class Reminder:
    kind: ReminderKind
    assessment_id: int
    user_id: int
    email: str
    name: str
    locale: str | None
    organization: str
    cycle: str
    closes_on: date | None

    def days_left(self, today: date) -> int:
        return (self.closes_on - today).days if self.closes_on else 0


def _not_sent(kind: str) -> sa.ColumnElement[bool]:
    sent = sa.select(col(ReminderSent.id)).where(
        col(ReminderSent.assessment_id) == col(Assessment.id),
        col(ReminderSent.user_id) == col(User.id),
        col(ReminderSent.kind) == kind,
    )
    return ~sa.exists(sent)


def _columns() -> tuple[Any, ...]:
    return (
        col(Assessment.id),
        col(User.id),
        col(User.email),
        col(User.name),
        col(User.locale),
        col(Organization.name),
        col(AssessmentCycle.name),
        col(AssessmentCycle.closes_on),
    )


def due_reminders(
    session: Session, *, today: date, days: int, cycle_id: int | None = None
) -> list[Reminder]:
    """Every reminder due today and not yet sent (of one cycle, if given)."""
    found: list[Reminder] = []
    for kind in (ReminderKind.DUE, ReminderKind.OVERDUE):
        deadline = (
            col(AssessmentCycle.closes_on) < today
            if kind == ReminderKind.OVERDUE
            else col(AssessmentCycle.closes_on).between(today, today + timedelta(days=days))
        )
        query = (
            sa.select(*_columns())
            .select_from(Assessment)
            .join(AssessmentCycle, col(AssessmentCycle.id) == col(Assessment.cycle_id))
            .join(Organization, col(Organization.id) == col(Assessment.organization_id))
            .join(Membership, col(Membership.organization_id) == col(Assessment.organization_id))
            .join(User, col(User.id) == col(Membership.user_id))
            .where(
                sa.or_(
                    col(AssessmentCycle.opens_on).is_(None),
                    col(AssessmentCycle.opens_on) <= today,
                ),
                deadline,
                col(Assessment.status).in_(sorted(EDITABLE)),
                col(Membership.role).in_(sorted(NGO_ROLES)),
                col(User.active).is_(True),
                _not_sent(kind),
            )
            .distinct()
        )
        found.extend(_reminders(session, kind, query, cycle_id))
    submitted = (
        sa.select(*_columns())
        .select_from(Assessment)
        .join(AssessmentCycle, col(AssessmentCycle.id) == col(Assessment.cycle_id))
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .join(CycleEvaluator, col(CycleEvaluator.cycle_id) == col(Assessment.cycle_id))
        .join(User, col(User.id) == col(CycleEvaluator.user_id))
        .where(
            col(Assessment.status) == Status.SUBMITTED,
            col(User.active).is_(True),
            _not_sent(ReminderKind.SUBMITTED),
        )
    )
    found.extend(_reminders(session, ReminderKind.SUBMITTED, submitted, cycle_id))
    return found


def _reminders(
    session: Session, kind: ReminderKind, query: Any, cycle_id: int | None
) -> list[Reminder]:
    if cycle_id is not None:
        query = query.where(col(Assessment.cycle_id) == cycle_id)
    rows = session.execute(query.order_by(col(Assessment.id), col(User.id))).all()
    return [
        Reminder(kind, a, u, email, name, locale, org, cycle, closes)
        for a, u, email, name, locale, org, cycle, closes in rows
    ]


def record_sent(session: Session, reminder: Reminder, *, today: date) -> None:
    session.add(
        ReminderSent(
            assessment_id=reminder.assessment_id,
            user_id=reminder.user_id,
            kind=reminder.kind,
            sent_on=today,
        )
    )
    session.flush()


# --- sending --------------------------------------------------------------------------------------

BATCH = 50  # messages per SMTP connection; each batch is recorded as soon as it is sent


def message_for(reminder: Reminder, *, today: date) -> mail.Message:
    """The reminder as an e-mail in the recipient's language."""
    if reminder.kind == ReminderKind.SUBMITTED:
        path = mail.path_for("review.review_assessment", assessment_id=reminder.assessment_id)
    else:
        path = mail.path_for("questionnaire.overview", assessment_id=reminder.assessment_id)
    subjects = {
        ReminderKind.DUE: lambda: gettext(
            "Reminder: %(cycle)s is due on %(date)s",
            cycle=reminder.cycle,
            date=reminder.closes_on.isoformat() if reminder.closes_on else "",
        ),
        ReminderKind.OVERDUE: lambda: gettext("Overdue: %(cycle)s", cycle=reminder.cycle),
        ReminderKind.SUBMITTED: lambda: gettext(
            "%(ngo)s submitted its assessment", ngo=reminder.organization
        ),
    }
    return mail.compose(
        f"reminders/email/{reminder.kind}",
        to=reminder.email,
        locale=reminder.locale,
        subject=subjects[reminder.kind],
        link=mail.absolute(path),
        reminder=reminder,
        days_left=reminder.days_left(today),
    )


def send_reminders(
    session: Session,
    reminders: list[Reminder],
    *,
    today: date,
    sent_batch: Callable[[int], None] = lambda n: None,
) -> int:
    """Send ``reminders`` in batches, recording each batch once the server took it; the number
    sent (0 without a mail server: nothing is recorded, so they go out once one is set). After
    each batch, ``sent_batch(n)`` lets the caller commit the record and move a progress bar.
    Raises :class:`accounts.mail.MailError` when the server fails (what was sent is recorded)."""
    sent = 0
    for start in range(0, len(reminders), BATCH):
        chunk = reminders[start : start + BATCH]
        if not mail.send([message_for(r, today=today) for r in chunk]):
            return sent
        for reminder in chunk:
            record_sent(session, reminder, today=today)
        sent += len(chunk)
        sent_batch(len(chunk))
    return sent
