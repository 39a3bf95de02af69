"""Rubric life-cycle: store, publish (immutable thereafter), and read back versions."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import Session, col, select

from accounts.models import User, utcnow
from rubrics.models import RubricRecord, RubricVersion, VersionStatus
from rubrics.schema import Rubric, parse_rubric


class VersionError(ValueError):
    """An operation the version rules refuse (e.g. editing a published version)."""


def content_of(rubric: Rubric) -> dict[str, object]:
    return rubric.model_dump(mode="json", exclude_none=True)


def hash_content(content: dict[str, object]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def store_rubric(
    session: Session,
    rubric: Rubric,
    *,
    by: User | None = None,
    source_format: str = "yaml",
    based_on: RubricVersion | None = None,
) -> RubricVersion:
    """Store ``rubric`` as a new draft version (creating the rubric on first sight of its id)."""
    record = session.exec(select(RubricRecord).where(RubricRecord.code == rubric.id)).first()
    if record is None:
        record = RubricRecord(code=rubric.id, title=rubric.text(rubric.title)[:300])
        session.add(record)
        session.flush()
    latest = session.exec(
        select(RubricVersion.number)
        .where(RubricVersion.rubric_id == record.id)
        .order_by(col(RubricVersion.number).desc())
    ).first()
    content = content_of(rubric)
    version = RubricVersion(
        rubric_id=record.id,  # type: ignore[arg-type]
        number=(latest or 0) + 1,
        content=content,
        content_hash=hash_content(content),
        source_format=source_format,
        based_on_id=based_on.id if based_on else None,
        created_by_id=by.id if by else None,
    )
    session.add(version)
    session.flush()
    return version


def publish(session: Session, version: RubricVersion) -> RubricVersion:
    if version.status != VersionStatus.DRAFT:
        raise VersionError(f"version {version.number} is {version.status}, not a draft")
    version.status = VersionStatus.PUBLISHED
    version.published_at = utcnow()
    session.flush()
    return version


def update_draft(session: Session, version: RubricVersion, rubric: Rubric) -> RubricVersion:
    """Replace a draft's content. Published versions are immutable."""
    if version.status != VersionStatus.DRAFT:
        raise VersionError(f"version {version.number} is {version.status} and cannot be changed")
    version.content = content_of(rubric)
    version.content_hash = hash_content(version.content)
    session.flush()
    return version


def rubric_of(version: RubricVersion) -> Rubric:
    """The validated rubric a stored version holds (parsed once per content)."""
    cached = _parsed.get(version.content_hash)
    if cached is None:
        if len(_parsed) > 256:
            _parsed.clear()
        cached = parse_rubric(version.content, source=f"rubric version {version.id}")
        _parsed[version.content_hash] = cached
    return cached


_parsed: dict[str, Rubric] = {}  # content hash -> rubric; contents are immutable per hash


def latest_published(session: Session, code: str) -> RubricVersion | None:
    return session.exec(
        select(RubricVersion)
        .join(RubricRecord)
        .where(RubricRecord.code == code, RubricVersion.status == VersionStatus.PUBLISHED)
        .order_by(col(RubricVersion.number).desc())
    ).first()
