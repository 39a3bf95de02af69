"""Read-only selects for lists of assessments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col

from accounts.models import Organization
from accounts.services import granting_ngos
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
    session: Session, where: Sequence[sa.ColumnElement[bool]], limit: int | None = None
) -> list[AssessmentRow]:
    query = (
        sa.select(Assessment, Organization, AssessmentCycle, RubricVersion, RubricRecord)
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
        .join(RubricVersion, col(RubricVersion.id) == AssessmentCycle.rubric_version_id)
        .join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
        .where(*where)
        .order_by(col(Assessment.updated_at).desc())
    )
    if limit:
        query = query.limit(limit)
    return [
        AssessmentRow(a.id, o.name, c.name, r.title, v.number, a.status, a.progress, c.closes_on)
        for a, o, c, v, r in session.execute(query).all()
    ]


def assessments_for_orgs(session: Session, org_ids: Sequence[int]) -> list[AssessmentRow]:
    if not org_ids:
        return []
    return _rows(session, [col(Assessment.organization_id).in_(org_ids)])


def recent_assessments(session: Session, limit: int = 50) -> list[AssessmentRow]:
    return _rows(session, [], limit)


def shared_with_funder(session: Session, user_id: int) -> list[AssessmentRow]:
    """Assessments of the NGOs that granted the user's funder organisation access."""
    return _rows(session, [col(Assessment.organization_id).in_(granting_ngos(user_id))])
