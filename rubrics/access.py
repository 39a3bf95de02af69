"""The loaders of rubrics and their versions: thin wrappers over the permissions core
(:mod:`accounts.permissions`), which decides who may read or author them."""

from __future__ import annotations

from accounts import permissions
from rubrics import services
from rubrics.models import RubricRecord, RubricVersion
from webapp.extensions import dbsession


def load_rubric_record(code: str, *, need: str = "view_rubric") -> RubricRecord:
    """The rubric ``code``, if the current user has the permission ``need`` on it."""
    return permissions.authorize(services.record_by_code(dbsession(), code), need)


def load_rubric_version(
    code: str, number: int, *, need: str = "view_rubric"
) -> tuple[RubricRecord, RubricVersion]:
    """Version ``number`` of the rubric ``code`` (and the rubric), if the current user has the
    permission ``need`` on it."""
    record = load_rubric_record(code, need=need)
    version = permissions.authorize(services.get_version(dbsession(), code, number), need)
    return record, version


def load_rubric_version_by_id(version_id: int, *, need: str = "view_rubric") -> RubricVersion:
    return permissions.load(RubricVersion, version_id, need=need)
