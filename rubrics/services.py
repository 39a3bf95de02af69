"""Rubric life-cycle: store, edit drafts, publish (immutable thereafter), start new drafts, diff.

A rubric (:class:`~rubrics.models.RubricRecord`, its stable ``code``) has numbered versions. A
version is a ``draft`` (editable) until it is published; a ``published`` version never changes
again: every answer stays tied to the version it answered. The rules are enforced here
(:class:`VersionError`) and, below the services, by an ORM guard (:func:`_guard_published`) that
refuses to flush any change to a published version's content, whoever makes it.

Drafts are edited concurrently by several evaluators: every edit compares and bumps
``lock_version`` in one UPDATE, so a save based on a stale copy fails with
:class:`StaleVersionError` instead of overwriting someone else's work.

Services take the session, flush, and leave the commit to the caller (the view).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session, col, select

from accounts.concurrency import StaleWrite, compare_and_set
from accounts.lists import ListPage, ListSpec, ListState, contains, mapped, page_of
from accounts.models import User, utcnow
from accounts.services import audit
from rubrics.codebook import check_links
from rubrics.codebook_services import active_codebook
from rubrics.diff import RubricDiff, diff_rubrics
from rubrics.loader import rubric_yaml
from rubrics.models import RubricRecord, RubricVersion, VersionStatus
from rubrics.schema import Rubric, RubricError, parse_rubric
from rubrics.signals import version_published


class VersionError(ValueError):
    """An operation the version rules refuse (e.g. editing a published version).

    Messages a person can meet are ``lazy_gettext`` strings (in the request's language); the
    flush guards' messages stay English: only a bug reaches them, and they go to the log.
    """


class StaleVersionError(VersionError, StaleWrite):
    """A save based on an outdated copy of a draft: someone else saved in between (the
    compare-and-set of :mod:`accounts.concurrency` lost; ``current`` is the draft as it is)."""

    def __init__(self, version: RubricVersion, expected: int) -> None:
        StaleWrite.__init__(
            self,
            version,
            seen=expected,
            message=f"version {version.number} was changed by someone else "
            f"(you edited revision {expected}, it is now at {version.lock_version})",
        )
        self.expected = expected


# Columns that make up what a version *is*: frozen once it is published.
FROZEN_COLUMNS = ("content", "content_hash", "rubric_id", "number", "source_format", "based_on_id")


def content_of(rubric: Rubric) -> dict[str, object]:
    return rubric.model_dump(mode="json", exclude_none=True)


def hash_content(content: dict[str, object]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- reading ---------------------------------------------------------------------------------


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


def record_by_code(session: Session, code: str) -> RubricRecord | None:
    return session.exec(select(RubricRecord).where(RubricRecord.code == code)).first()


def versions_of(session: Session, record: RubricRecord) -> list[RubricVersion]:
    """The versions of a rubric, newest first."""
    return list(
        session.exec(
            select(RubricVersion)
            .where(RubricVersion.rubric_id == record.id)
            .order_by(col(RubricVersion.number).desc())
        ).all()
    )


def get_version(session: Session, code: str, number: int) -> RubricVersion | None:
    return session.exec(
        select(RubricVersion)
        .join(RubricRecord)
        .where(RubricRecord.code == code, RubricVersion.number == number)
    ).first()


@dataclass(frozen=True)
class RubricListing:
    """A rubric and its versions (newest first), for the editor's index."""

    record: RubricRecord
    versions: list[RubricVersion]

    @property
    def latest_published(self) -> RubricVersion | None:
        return next((v for v in self.versions if v.status == VersionStatus.PUBLISHED), None)


def list_rubrics(session: Session) -> list[RubricListing]:
    """Every rubric with its versions, by code."""
    records = session.exec(select(RubricRecord).order_by(col(RubricRecord.code))).all()
    versions = session.exec(
        select(RubricVersion).order_by(
            col(RubricVersion.rubric_id), col(RubricVersion.number).desc()
        )
    ).all()
    by_record: dict[int, list[RubricVersion]] = {}
    for version in versions:
        by_record.setdefault(version.rubric_id, []).append(version)
    return [RubricListing(record, by_record.get(record.id or 0, [])) for record in records]


@dataclass(frozen=True)
class VersionListing:
    """One row of the rubric list: a version and its rubric (without the version's content)."""

    id: int
    code: str
    title: str
    number: int
    status: str
    source_format: str
    created_at: datetime
    published_at: datetime | None


VERSION_SORTS: dict[str, Any] = {
    "rubric": col(RubricRecord.title),
    "code": col(RubricRecord.code),
    "version": col(RubricVersion.number),
    "status": col(RubricVersion.status),
    "created": col(RubricVersion.created_at),
    "published": col(RubricVersion.published_at),
}


def version_spec() -> ListSpec:
    """The rubric list: every version of every rubric, searched by the rubric's title or
    code, sorted by any column, filtered by status."""
    return ListSpec(
        sorts=VERSION_SORTS,
        default_sort="rubric",
        filters={"status": [s.value for s in VersionStatus]},
        # a rubric's versions together, the newest first
        tiebreak=(col(RubricRecord.code), col(RubricVersion.number).desc()),
    )


def version_page(session: Session, state: ListState) -> ListPage[VersionListing]:
    """One page of the rubric list in ``state``."""
    query = sa.select(
        col(RubricVersion.id),
        col(RubricRecord.code),
        col(RubricRecord.title),
        col(RubricVersion.number),
        col(RubricVersion.status),
        col(RubricVersion.source_format),
        col(RubricVersion.created_at),
        col(RubricVersion.published_at),
    ).join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
    if state.q:
        query = query.where(contains(state.q, col(RubricRecord.title), col(RubricRecord.code)))
    if state.get("status"):
        query = query.where(col(RubricVersion.status) == state.get("status"))
    found = page_of(session, query, state)
    return mapped(found, [VersionListing(*row) for row in found.rows])


def previous_version(session: Session, version: RubricVersion) -> RubricVersion | None:
    """The version numbered just below ``version``, if any."""
    return session.exec(
        select(RubricVersion)
        .where(
            RubricVersion.rubric_id == version.rubric_id,
            RubricVersion.number < version.number,
        )
        .order_by(col(RubricVersion.number).desc())
    ).first()


def previous_published(session: Session, version: RubricVersion) -> RubricVersion | None:
    """The last version published before ``version`` (by number), if any."""
    return session.exec(
        select(RubricVersion)
        .where(
            RubricVersion.rubric_id == version.rubric_id,
            RubricVersion.number < version.number,
            RubricVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(col(RubricVersion.number).desc())
    ).first()


def diff_versions(old: RubricVersion, new: RubricVersion) -> RubricDiff:
    return diff_rubrics(rubric_of(old), rubric_of(new))


def yaml_text(content: dict[str, Any]) -> str:
    """A version's content as the YAML a person would write (defaults left out)."""
    return rubric_yaml(parse_rubric(content))


# --- writing ---------------------------------------------------------------------------------


def _next_number(session: Session, record: RubricRecord) -> int:
    latest = session.exec(
        select(RubricVersion.number)
        .where(RubricVersion.rubric_id == record.id)
        .order_by(col(RubricVersion.number).desc())
    ).first()
    return (latest or 0) + 1


def store_rubric(
    session: Session,
    rubric: Rubric,
    *,
    by: User | None = None,
    source_format: str = "yaml",
    based_on: RubricVersion | None = None,
) -> RubricVersion:
    """Store ``rubric`` as a new draft version (creating the rubric on first sight of its id)."""
    record = record_by_code(session, rubric.id)
    if record is None:
        record = RubricRecord(code=rubric.id, title=rubric.text(rubric.title)[:300])
        session.add(record)
        session.flush()
    if based_on is not None and based_on.rubric_id != record.id:
        raise VersionError(f"version {based_on.id} belongs to another rubric than {rubric.id!r}")
    content = content_of(rubric)
    version = RubricVersion(
        rubric_id=record.id,  # type: ignore[arg-type]
        number=_next_number(session, record),
        content=content,
        content_hash=hash_content(content),
        source_format=source_format,
        based_on_id=based_on.id if based_on else None,
        created_by_id=by.id if by else None,
    )
    session.add(version)
    session.flush()
    audit(
        session,
        actor=by,
        action="rubric_version_created",
        object_type="rubric_version",
        object_id=version.id,
        rubric=rubric.id,
        number=version.number,
        source_format=source_format,
        based_on=based_on.id if based_on else None,
    )
    return version


def new_draft(session: Session, version: RubricVersion, by: User | None = None) -> RubricVersion:
    """A new draft (numbered after the latest version) with ``version``'s content."""
    return store_rubric(
        session,
        rubric_of(version),
        by=by,
        source_format=version.source_format,
        based_on=version,
    )


def _compare_and_bump(
    session: Session, version: RubricVersion, expected: int, values: dict[str, Any]
) -> None:
    """One UPDATE that succeeds only on the draft at revision ``expected``; bumps the revision."""
    if version.status != VersionStatus.DRAFT:
        raise VersionError(
            _l(
                "version %(number)s is %(status)s and cannot be changed",
                number=version.number,
                status=_l(version.status),
            )
        )
    try:
        compare_and_set(
            session,
            version,
            seen=expected,
            values=values,
            version="lock_version",
            where=(col(RubricVersion.status) == VersionStatus.DRAFT.value,),
        )
    except StaleWrite:
        if version.status != VersionStatus.DRAFT:
            raise VersionError(
                _l(
                    "version %(number)s is %(status)s and cannot be changed",
                    number=version.number,
                    status=_l(version.status),
                )
            ) from None
        raise StaleVersionError(version, expected) from None


def update_draft(
    session: Session,
    version: RubricVersion,
    rubric: Rubric,
    *,
    expected_lock: int | None = None,
    by: User | None = None,
) -> RubricVersion:
    """Replace a draft's content. Published versions are immutable.

    ``expected_lock`` is the ``lock_version`` the editor started from (default: the one loaded);
    when someone saved since, :class:`StaleVersionError` is raised and nothing is written.
    """
    if version.status != VersionStatus.DRAFT:
        raise VersionError(
            _l(
                "version %(number)s is %(status)s and cannot be changed",
                number=version.number,
                status=_l(version.status),
            )
        )
    record = session.get(RubricRecord, version.rubric_id)
    if record is not None and rubric.id != record.code:
        raise VersionError(
            _l(
                "the rubric id must stay %(code)s, not %(new)s",
                code=repr(record.code),
                new=repr(rubric.id),
            )
        )
    content = content_of(rubric)
    expected = version.lock_version if expected_lock is None else expected_lock
    _compare_and_bump(
        session, version, expected, {"content": content, "content_hash": hash_content(content)}
    )
    audit(
        session,
        actor=by,
        action="rubric_draft_edited",
        object_type="rubric_version",
        object_id=version.id,
        rubric=rubric.id,
        number=version.number,
        lock_version=version.lock_version,
    )
    return version


def publish(
    session: Session,
    version: RubricVersion,
    *,
    expected_lock: int | None = None,
    by: User | None = None,
) -> RubricVersion:
    """Publish a draft: from now on its content never changes.

    With ``expected_lock``, publishing a draft that changed since the person reviewed it raises
    :class:`StaleVersionError`. The content is validated once more before it is frozen, its
    shared indicators against the codebook in use (:class:`~rubrics.schema.RubricError`). Sends
    :data:`rubrics.signals.version_published` (sender: the session) once the version is frozen.
    """
    if version.status != VersionStatus.DRAFT:
        raise VersionError(
            _l(
                "version %(number)s is %(status)s, not a draft",
                number=version.number,
                status=_l(version.status),
            )
        )
    rubric = rubric_of(version)  # raises RubricError: never publish what does not validate
    linked = check_links(rubric, active_codebook(session))  # the codebook may have changed
    if linked:
        raise RubricError(linked, f"rubric version {version.id}")
    expected = version.lock_version if expected_lock is None else expected_lock
    _compare_and_bump(
        session,
        version,
        expected,
        {
            "status": VersionStatus.PUBLISHED.value,
            "published_at": utcnow(),
            "published_by_id": by.id if by else None,
        },
    )
    audit(
        session,
        actor=by,
        action="rubric_published",
        object_type="rubric_version",
        object_id=version.id,
        rubric=rubric.id,
        number=version.number,
    )
    record = session.get(RubricRecord, version.rubric_id)
    if record is not None:  # the rubric is known by its latest published title
        record.title = rubric.text(rubric.title)[:300]
    session.flush()
    version_published.send(session, version=version)
    return version


def delete_draft(session: Session, version: RubricVersion) -> None:
    """Discard a draft nobody depends on (published versions are kept forever)."""
    if version.status != VersionStatus.DRAFT:
        raise VersionError(
            _l(
                "version %(number)s is %(status)s; only drafts go",
                number=version.number,
                status=_l(version.status),
            )
        )
    dependants = session.exec(
        select(RubricVersion).where(RubricVersion.based_on_id == version.id)
    ).all()
    for dependant in dependants:  # they keep their content; only the lineage link goes
        dependant.based_on_id = version.based_on_id
    session.flush()
    session.delete(version)
    session.flush()


# --- the ORM guard -----------------------------------------------------------------------------


def _committed(version: RubricVersion, name: str) -> Any:
    history = sa.inspect(version).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(version, name)


def _was_published(version: RubricVersion) -> bool:
    return str(_committed(version, "status")) != VersionStatus.DRAFT.value


@event.listens_for(RubricVersion, "before_update")
def _guard_published(_mapper: Any, _connection: Any, version: RubricVersion) -> None:
    """Refuse to write a change to a published version's content (or to un-publish it)."""
    if not _was_published(version):
        return
    state = sa.inspect(version)
    changed = [name for name in FROZEN_COLUMNS if state.attrs[name].history.has_changes()]
    if state.attrs["status"].history.has_changes() and version.status == VersionStatus.DRAFT:
        changed.append("status")
    if state.attrs["published_at"].history.has_changes():
        changed.append("published_at")
    if changed:
        raise VersionError(
            f"rubric version {version.number} is published and cannot be changed "
            f"({', '.join(changed)})"
        )


@event.listens_for(OrmSession, "before_flush")
def _guard_published_in_place(
    session: OrmSession, _context: UOWTransaction, _instances: Sequence[Any] | None
) -> None:
    """Catch in-place edits of a published version's JSON content, which mark nothing dirty.

    Also refuses to delete a published version.
    """
    for obj in session.deleted:
        if isinstance(obj, RubricVersion) and _was_published(obj):
            raise VersionError(f"rubric version {obj.number} is published and cannot be deleted")
    for obj in list(session.identity_map.values()):
        if not isinstance(obj, RubricVersion):
            continue
        loaded = sa.inspect(obj).dict  # never load an expired attribute from here
        if (
            loaded.get("status") == VersionStatus.PUBLISHED
            and "content" in loaded
            and "content_hash" in loaded
            and obj.content_hash == _committed(obj, "content_hash")
            and hash_content(obj.content) != obj.content_hash
        ):
            raise VersionError(
                f"rubric version {obj.number} is published and cannot be changed "
                "(content edited in place)"
            )
