"""Who may see or change an assessment: the one place that decides, 404 for everyone else."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlmodel import Session, col

from accounts.models import AccessGrant, Role
from accounts.services import granting_ngos, has_role, ngo_ids
from surveys.models import Assessment


def can_read(session: Session, user_id: int, assessment: Assessment) -> bool:
    if assessment.organization_id in ngo_ids(session, user_id):
        return True
    if has_role(session, user_id, Role.EVALUATOR, Role.ADMIN):
        return True
    return funder_may_see(session, user_id, assessment.organization_id)


def funder_may_see(session: Session, user_id: int, ngo_id: int) -> bool:
    query = granting_ngos(user_id).where(col(AccessGrant.ngo_id) == ngo_id)
    return session.execute(query).first() is not None


def load_assessment(session: Session, assessment_id: int, *, answer: bool = False) -> Assessment:
    """The assessment if the current user may see it (``answer``: fill it in), else 404."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or not current_user.is_authenticated:
        abort(404)
    user_id = current_user.id
    allowed = (
        assessment.organization_id in ngo_ids(session, user_id)
        if answer
        else can_read(session, user_id, assessment)
    )
    if not allowed:
        abort(404)
    return assessment


def can_see_history(session: Session, user_id: int, assessment: Assessment) -> bool:
    """The answer history (who changed what, when): the NGO's admins, evaluators and admins;
    not plain members of the NGO, nor funders."""
    if assessment.organization_id in ngo_ids(session, user_id, admin_only=True):
        return True
    return has_role(session, user_id, Role.EVALUATOR, Role.ADMIN)


def load_assessment_history(session: Session, assessment_id: int) -> Assessment:
    """The assessment if the current user may see its history: 404 for those who may not see
    the assessment at all, 403 for those who may see it but not its history."""
    assessment = load_assessment(session, assessment_id)
    if not can_see_history(session, current_user.id, assessment):
        abort(403)
    return assessment
