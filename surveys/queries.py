"""Read-only selects for lists of assessments, always through the permissions scope
(:func:`accounts.permissions.visible_assessments`): a list never holds a row its viewer may not
open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from accounts.models import Organization
from accounts.permissions import Principal, visible_assessments
from rubrics.models import RubricRecord, RubricVersion
from surveys.models import EDITABLE, Assessment, AssessmentCycle, Status


@dataclass(frozen=True)
class AssessmentRow:
    id: int
    organization: str
    cycle: str
    rubric: str
    version: int
    status: str
    progress: float
    closes_on: date | None
    organization_id: int
    cycle_id: int
    submitted_at: datetime | None


def _rows(
    session: Session,
    viewer: Principal,
    where: Sequence[sa.ColumnElement[bool]],
    limit: int | None = None,
    order: Sequence[sa.ColumnElement[Any]] = (),
) -> list[AssessmentRow]:
    query = (
        sa.select(Assessment, Organization, AssessmentCycle, RubricVersion, RubricRecord)
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
        .join(RubricVersion, col(RubricVersion.id) == AssessmentCycle.rubric_version_id)
        .join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
        .where(visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id), *where)
        .order_by(*order, col(Assessment.updated_at).desc())
    )
    if limit:
        query = query.limit(limit)
    return [
        AssessmentRow(
            a.id,
            o.name,
            c.name,
            r.title,
            v.number,
            a.status,
            a.progress,
            c.closes_on,
            a.organization_id,
            a.cycle_id,
            a.submitted_at,
        )
        for a, o, c, v, r in session.execute(query).all()
    ]


def own_assessments(session: Session, viewer: Principal) -> list[AssessmentRow]:
    """The assessments of the NGOs the viewer is a member of."""
    if not viewer.ngos:
        return []
    return _rows(session, viewer, [col(Assessment.organization_id).in_(sorted(viewer.ngos))])


def recent_assessments(
    session: Session, viewer: Principal, limit: int = 50, status: str | None = None
) -> list[AssessmentRow]:
    """The latest assessments the viewer may see, of every NGO (of one status, if given)."""
    where = [col(Assessment.status) == status] if status else []
    return _rows(session, viewer, where, limit)


WAITING_FOR_REVIEW = (Status.SUBMITTED, Status.IN_REVIEW)


def review_queue(session: Session, viewer: Principal, *, everything: bool) -> list[AssessmentRow]:
    """Submissions waiting for a review that the viewer may do, the oldest submission first:
    in the cycles they are assigned to (``everything``: an admin's, in every cycle)."""
    where = [col(Assessment.status).in_(WAITING_FOR_REVIEW)]
    if not everything:
        if not viewer.cycles:
            return []
        where.append(col(Assessment.cycle_id).in_(sorted(viewer.cycles)))
    return _rows(session, viewer, where, order=[col(Assessment.submitted_at).asc()])


def overdue_assessments(
    session: Session, viewer: Principal, *, today: date, everything: bool
) -> list[AssessmentRow]:
    """Assessments not submitted although their cycle closed before ``today``, in the viewer's
    cycles (``everything``: in every cycle), the longest overdue first."""
    where = [
        col(Assessment.status).in_(sorted(EDITABLE)),
        col(AssessmentCycle.closes_on) < today,
    ]
    if not everything:
        if not viewer.cycles:
            return []
        where.append(col(Assessment.cycle_id).in_(sorted(viewer.cycles)))
    return _rows(session, viewer, where, order=[col(AssessmentCycle.closes_on).asc()])


def shared_with_funder(session: Session, viewer: Principal) -> list[AssessmentRow]:
    """Assessments of the NGOs that granted the viewer's funder organisation access."""
    if not viewer.granted_ngos:
        return []
    where = [col(Assessment.organization_id).in_(sorted(viewer.granted_ngos))]
    return _rows(session, viewer, where)
