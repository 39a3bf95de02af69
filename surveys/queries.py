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

from accounts.lists import DESC, AnySelect, ListPage, ListSpec, ListState, contains, mapped, page_of
from accounts.models import Organization
from accounts.organizations import labels
from accounts.permissions import Principal, visible_assessments
from rubrics.models import RubricRecord, RubricVersion
from surveys.models import EDITABLE, Assessment, AssessmentCycle, Status

WAITING_FOR_REVIEW = (Status.SUBMITTED, Status.IN_REVIEW)


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


def _select(viewer: Principal, where: Sequence[sa.ColumnElement[bool]]) -> AnySelect:
    return (
        sa.select(Assessment, Organization, AssessmentCycle, RubricVersion, RubricRecord)
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
        .join(RubricVersion, col(RubricVersion.id) == AssessmentCycle.rubric_version_id)
        .join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
        .where(visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id), *where)
    )


def _row(found: Any) -> AssessmentRow:
    a, o, c, v, r = found
    return AssessmentRow(
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


def _rows(
    session: Session,
    viewer: Principal,
    where: Sequence[sa.ColumnElement[bool]],
    limit: int | None = None,
    order: Sequence[sa.ColumnElement[Any]] = (),
) -> list[AssessmentRow]:
    query = _select(viewer, where).order_by(*order, col(Assessment.updated_at).desc())
    if limit:
        query = query.limit(limit)
    return [_row(found) for found in session.execute(query).all()]


# --- lists that scale: search, sort, filters and pages (accounts.lists) ---------------------------

STATUSES = tuple(status.value for status in Status)
ASSESSMENT_SORTS: dict[str, Any] = {
    "organization": col(Organization.name),
    "cycle": col(AssessmentCycle.name),
    "status": col(Assessment.status),
    "progress": col(Assessment.progress),
    "submitted": col(Assessment.submitted_at),
    "due": col(AssessmentCycle.closes_on),
    "updated": col(Assessment.updated_at),
}


@dataclass(frozen=True)
class AssessmentFilterOptions:
    """What an assessment list may be filtered by, of what the viewer may see."""

    cycles: list[tuple[str, str]]  # (id, name), newest first
    countries: list[tuple[str, str]]  # (code, name)


def assessment_filter_options(
    session: Session, viewer: Principal, where: Sequence[sa.ColumnElement[bool]] = ()
) -> AssessmentFilterOptions:
    """The cycles and countries of the assessments the viewer may see (two small selects)."""
    visible = visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id)
    cycles = session.execute(
        sa.select(col(AssessmentCycle.id), col(AssessmentCycle.name))
        .where(
            col(AssessmentCycle.id).in_(
                sa.select(col(Assessment.cycle_id)).where(visible, *where).distinct()
            )
        )
        .order_by(col(AssessmentCycle.opens_on).desc().nulls_last(), col(AssessmentCycle.id))
    ).all()
    countries = session.execute(
        sa.select(col(Organization.country))
        .join(Assessment, col(Assessment.organization_id) == Organization.id)
        .where(visible, *where, col(Organization.country).is_not(None))
        .distinct()
        .order_by(col(Organization.country))
    ).scalars()
    return AssessmentFilterOptions(
        [(str(i), str(name)) for i, name in cycles],
        [(str(c), labels.label(labels.COUNTRY_LABELS, c)) for c in countries],
    )


def assessment_spec(
    options: AssessmentFilterOptions,
    *,
    prefix: str = "",
    default_sort: str = "updated",
    default_dir: str = DESC,
    anchor: str | None = None,
    statuses: Sequence[str] = STATUSES,
) -> ListSpec:
    """An assessment list: sorted by any column, filtered by status, cycle and country."""
    return ListSpec(
        sorts=ASSESSMENT_SORTS,
        default_sort=default_sort,
        default_dir=default_dir,
        filters={
            "status": statuses,
            "cycle": [i for i, _ in options.cycles],
            "country": [code for code, _ in options.countries],
        },
        tiebreak=(col(Assessment.id),),
        prefix=prefix,
        anchor=anchor,
    )


def assessment_page(
    session: Session,
    viewer: Principal,
    state: ListState,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> ListPage[AssessmentRow]:
    """One page of the assessments the viewer may see that match ``where`` and the list's
    search (NGO or cycle name) and filters, in its order."""
    clauses = list(where)
    if state.q:
        clauses.append(contains(state.q, col(Organization.name), col(AssessmentCycle.name)))
    if state.get("status"):
        clauses.append(col(Assessment.status) == state.get("status"))
    if state.get("cycle"):
        clauses.append(col(Assessment.cycle_id) == int(state.get("cycle")))
    if state.get("country"):
        clauses.append(col(Organization.country) == state.get("country"))
    found = page_of(session, _select(viewer, clauses), state)
    return mapped(found, [_row(row) for row in found.rows])


def review_queue_where(viewer: Principal, *, everything: bool) -> list[sa.ColumnElement[bool]]:
    """What the review queue holds (see :func:`review_queue`)."""
    where: list[sa.ColumnElement[bool]] = [col(Assessment.status).in_(WAITING_FOR_REVIEW)]
    if not everything:
        where.append(col(Assessment.cycle_id).in_(sorted(viewer.cycles)))
    return where


def overdue_where(
    viewer: Principal, *, today: date, everything: bool
) -> list[sa.ColumnElement[bool]]:
    """What the overdue list holds (see :func:`overdue_assessments`)."""
    where: list[sa.ColumnElement[bool]] = [
        col(Assessment.status).in_(sorted(EDITABLE)),
        col(AssessmentCycle.closes_on) < today,
    ]
    if not everything:
        where.append(col(Assessment.cycle_id).in_(sorted(viewer.cycles)))
    return where


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


def review_queue(session: Session, viewer: Principal, *, everything: bool) -> list[AssessmentRow]:
    """Submissions waiting for a review that the viewer may do, the oldest submission first:
    in the cycles they are assigned to (``everything``: an admin's, in every cycle)."""
    if not everything and not viewer.cycles:
        return []
    where = review_queue_where(viewer, everything=everything)
    return _rows(session, viewer, where, order=[col(Assessment.submitted_at).asc()])


def overdue_assessments(
    session: Session, viewer: Principal, *, today: date, everything: bool
) -> list[AssessmentRow]:
    """Assessments not submitted although their cycle closed before ``today``, in the viewer's
    cycles (``everything``: in every cycle), the longest overdue first."""
    if not everything and not viewer.cycles:
        return []
    where = overdue_where(viewer, today=today, everything=everything)
    return _rows(session, viewer, where, order=[col(AssessmentCycle.closes_on).asc()])


def shared_with_funder(session: Session, viewer: Principal) -> list[AssessmentRow]:
    """Assessments of the NGOs that granted the viewer's funder organisation access."""
    if not viewer.granted_ngos:
        return []
    where = [col(Assessment.organization_id).in_(sorted(viewer.granted_ngos))]
    return _rows(session, viewer, where)
