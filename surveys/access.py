"""The loaders of assessments and cycles (evidence files: :mod:`surveys.evidence.views`):
thin wrappers over the permissions core (:mod:`accounts.permissions`), which decides: 404 for
those who may not see the object, 403 for those who see it but may not do this."""

from __future__ import annotations

from accounts import permissions
from surveys.models import Assessment, AssessmentCycle


def load_assessment(assessment_id: int, *, need: str = "view_assessment") -> Assessment:
    """The assessment, if the current user has the permission ``need`` on it."""
    return permissions.load(Assessment, assessment_id, need=need)


def load_cycle(cycle_id: int, *, need: str = "view_cycle") -> AssessmentCycle:
    """The cycle, if the current user has the permission ``need`` on it."""
    return permissions.load(AssessmentCycle, cycle_id, need=need)
