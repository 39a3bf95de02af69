"""Read-only selects for lists of assessments, always through the permissions scope
(:func:`accounts.permissions.visible_assessments`): a list never holds a row its viewer may not
open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col

from accounts.models import Organization
from accounts.permissions import Principal, visible_assessments
from rubrics.models import RubricRecord, RubricVersion
from surveys.models import Assessment, AssessmentCycle


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


def _rows(
    session: Session,
    viewer: Principal,
    where: Sequence[sa.ColumnElement[bool]],
    limit: int | None = None,
) -> list[AssessmentRow]:
    query = (
        sa.select(Assessment, Organization, AssessmentCycle, RubricVersion, RubricRecord)
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
        .join(RubricVersion, col(RubricVersion.id) == AssessmentCycle.rubric_version_id)
        .join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
        .where(visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id), *where)
        .order_by(col(Assessment.updated_at).desc())
    )
    if limit:
        query = query.limit(limit)
    return [
        AssessmentRow(a.id, o.name, c.name, r.title, v.number, a.status, a.progress, c.closes_on)
        for a, o, c, v, r in session.execute(query).all()
    ]


def own_assessments(session: Session, viewer: Principal) -> list[AssessmentRow]:
    """The assessments of the NGOs the viewer is a member of."""
    if not viewer.ngos:
        return []
    return _rows(session, viewer, [col(Assessment.organization_id).in_(sorted(viewer.ngos))])


def recent_assessments(session: Session, viewer: Principal, limit: int = 50) -> list[AssessmentRow]:
    """The latest assessments the viewer may see, of every NGO."""
    return _rows(session, viewer, [], limit)


def shared_with_funder(session: Session, viewer: Principal) -> list[AssessmentRow]:
    """Assessments of the NGOs that granted the viewer's funder organisation access."""
    if not viewer.granted_ngos:
        return []
    where = [col(Assessment.organization_id).in_(sorted(viewer.granted_ngos))]
    return _rows(session, viewer, where)
