"""The loaders of assessments, cycles and evidence: thin wrappers over the permissions core
(:mod:`accounts.permissions`), which decides: 404 for those who may not see the object,
403 for those who see it but may not do this."""

from __future__ import annotations

from flask import abort

from accounts import permissions
from surveys import evidence
from surveys.models import Assessment, AssessmentCycle, Evidence
from webapp.extensions import dbsession


def load_assessment(assessment_id: int, *, need: str = "view_assessment") -> Assessment:
    """The assessment, if the current user has the permission ``need`` on it."""
    return permissions.load(Assessment, assessment_id, need=need)


def load_cycle(cycle_id: int, *, need: str = "view_cycle") -> AssessmentCycle:
    """The cycle, if the current user has the permission ``need`` on it."""
    return permissions.load(AssessmentCycle, cycle_id, need=need)


def load_evidence(assessment_id: int, evidence_id: int) -> tuple[Assessment, Evidence]:
    """An evidence file that is not deleted, of an assessment the current user may see."""
    assessment = load_assessment(assessment_id)
    item = evidence.find_evidence(dbsession(), assessment_id, evidence_id)
    if item is None:
        abort(404)
    return assessment, item
