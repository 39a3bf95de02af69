"""Assessment cycles: opening them (with checks that name the field at fault), adding NGOs and
evaluators later, the target score of the improvement plan, and the lists evaluators work from.

Services take the session and flush; the view commits once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts import permissions
from accounts.concurrency import StaleWrite, insert_once
from accounts.lists import DESC, AnySelect, ListPage, ListSpec, ListState, contains, mapped, page_of
from accounts.models import Membership, Organization, OrgKind, Role, User, utcnow
from accounts.services import audit
from rubrics.models import RubricRecord, RubricVersion, VersionStatus
from rubrics.schema import CODE_PATTERN
from surveys.cycles.models import DEFAULT_TARGET, CycleEvaluator, CycleSettings
from surveys.models import Assessment, AssessmentCycle
from surveys.workflow import AssessmentError

FieldErrors = dict[str, list[str]]


class CycleError(AssessmentError):
    """A cycle the rules refuse. ``errors`` maps form field names to messages safe to show."""

    def __init__(self, errors: FieldErrors) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items()))


# --- opening a cycle ------------------------------------------------------------------------------


def open_cycle(
    session: Session,
    *,
    code: str,
    name: str,
    version: RubricVersion,
    organizations: Iterable[Organization],
    opens_on: date | None = None,
    closes_on: date | None = None,
    by: User | None = None,
) -> AssessmentCycle:
    if version.status != VersionStatus.PUBLISHED:
        raise AssessmentError(_l("a cycle needs a published rubric version"))
    cycle = AssessmentCycle(
        code=code,
        name=name,
        rubric_version_id=version.id,  # type: ignore[arg-type]
        opens_on=opens_on,
        closes_on=closes_on,
        created_by_id=by.id if by else None,
    )
    session.add(cycle)
    session.flush()
    for org in organizations:
        if org.kind != "ngo":
            raise AssessmentError(_l("%(name)s is not an NGO", name=org.name))
        session.add(Assessment(cycle_id=cycle.id, organization_id=org.id))  # type: ignore[arg-type]
    session.flush()
    audit(
        session,
        actor=by,
        action="cycle_opened",
        object_type="cycle",
        object_id=cycle.id,
        code=code,
        rubric_version_id=version.id,
    )
    return cycle


def check_cycle(
    session: Session,
    *,
    code: str,
    name: str,
    version: RubricVersion | None,
    organizations: Sequence[Organization],
    opens_on: date | None,
    closes_on: date | None,
    evaluators: Sequence[User] = (),
    target_score: float = DEFAULT_TARGET,
) -> FieldErrors:
    """Every problem of a new cycle, by field (an empty mapping when it may be opened)."""
    errors: FieldErrors = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not code:
        add("code", _l("Give the cycle a code."))
    elif len(code) > 64 or not re.match(CODE_PATTERN, code):
        add(
            "code",
            _l("Use at most 64 letters, digits, '_', '.' or '-', starting with a letter."),
        )
    elif session.exec(
        select(AssessmentCycle.id).where(sa.func.lower(AssessmentCycle.code) == code.lower())
    ).first():
        add("code", _l("The code %(code)s is already used by another cycle.", code=code))
    if not name.strip():
        add("name", _l("Give the cycle a name."))
    if version is None:
        add("version", _l("Choose a rubric version."))
    elif version.status != VersionStatus.PUBLISHED:
        add("version", _l("Only a published rubric version can be used in a cycle."))
    if not organizations:
        add("organizations", _l("Choose at least one NGO."))
    for org in organizations:
        if org.kind != OrgKind.NGO:
            add("organizations", _l("%(name)s is not an NGO.", name=org.name))
    if opens_on and closes_on and closes_on < opens_on:
        add("closes_on", _l("The closing date must be on or after the opening date."))
    eligible = may_review_cycles(session, [u.id for u in evaluators if u.id is not None])
    for user in evaluators:
        if user.id not in eligible:
            add("evaluators", _l("%(name)s is not an evaluator.", name=user.name))
    if not 0 <= target_score <= 100:
        add("target_score", _l("The target is a score between 0 and 100."))
    return errors


def create_cycle(
    session: Session,
    *,
    code: str,
    name: str,
    version: RubricVersion | None,
    organizations: Sequence[Organization],
    opens_on: date | None,
    closes_on: date | None,
    evaluators: Sequence[User] = (),
    target_score: float = DEFAULT_TARGET,
    by: User | None,
) -> AssessmentCycle:
    """Open a cycle: one assessment per NGO, its evaluators and its target score.

    Raises :class:`CycleError` listing every problem by field.
    """
    code = code.strip()
    errors = check_cycle(
        session,
        code=code,
        name=name,
        version=version,
        organizations=organizations,
        opens_on=opens_on,
        closes_on=closes_on,
        evaluators=evaluators,
        target_score=target_score,
    )
    if errors or version is None:
        raise CycleError(errors)
    cycle = open_cycle(
        session,
        code=code,
        name=name.strip(),
        version=version,
        organizations=organizations,
        opens_on=opens_on,
        closes_on=closes_on,
        by=by,
    )
    assign_evaluators(session, cycle, evaluators, by=by)
    if target_score != DEFAULT_TARGET:
        set_target(session, cycle, target_score, by=by)
    return cycle


def add_organizations(
    session: Session, cycle: AssessmentCycle, organizations: Iterable[Organization]
) -> list[Assessment]:
    """Give NGOs that are not yet in the cycle an assessment (others are left as they are)."""
    present = set(
        session.exec(select(Assessment.organization_id).where(Assessment.cycle_id == cycle.id))
    )
    errors: FieldErrors = {}
    added = []
    for org in organizations:
        if org.kind != OrgKind.NGO:
            errors.setdefault("organizations", []).append(
                _l("%(name)s is not an NGO.", name=org.name)
            )
        elif org.id not in present:
            assessment = Assessment(cycle_id=cycle.id, organization_id=org.id)  # type: ignore[arg-type]
            session.add(assessment)
            added.append(assessment)
            present.add(org.id)  # type: ignore[arg-type]
    if errors:
        raise CycleError(errors)
    session.flush()
    return added


def assign_evaluators(
    session: Session, cycle: AssessmentCycle, users: Iterable[User], *, by: User | None = None
) -> list[CycleEvaluator]:
    """Assign evaluators to the cycle (assigning someone twice changes nothing)."""
    present = set(evaluator_ids(session, cycle.id))  # type: ignore[arg-type]
    errors: FieldErrors = {}
    added = []
    users = list(users)
    eligible = may_review_cycles(session, [u.id for u in users if u.id is not None])
    for user in users:
        if user.id not in eligible:
            errors.setdefault("evaluators", []).append(
                _l("%(name)s is not an evaluator.", name=user.name)
            )
        elif user.id not in present:
            row = CycleEvaluator(
                cycle_id=cycle.id,  # type: ignore[arg-type]
                user_id=user.id,
                assigned_by_id=by.id if by else None,
            )
            session.add(row)
            added.append(row)
            present.add(user.id)
    if errors:
        raise CycleError(errors)
    session.flush()
    for row in added:
        audit(
            session,
            actor=by,
            action="evaluator_assigned",
            object_type="cycle",
            object_id=cycle.id,
            user_id=row.user_id,
        )
    return added


def unassign_evaluator(
    session: Session, cycle: AssessmentCycle, user_id: int, *, by: User | None = None
) -> None:
    row = session.exec(
        select(CycleEvaluator).where(
            CycleEvaluator.cycle_id == cycle.id, CycleEvaluator.user_id == user_id
        )
    ).first()
    if row is not None:
        session.delete(row)
        session.flush()
        audit(
            session,
            actor=by,
            action="evaluator_unassigned",
            object_type="cycle",
            object_id=cycle.id,
            user_id=user_id,
        )


def set_target(
    session: Session, cycle: AssessmentCycle, target_score: float, *, by: User | None = None
) -> CycleSettings:
    if not 0 <= target_score <= 100:
        raise CycleError({"target_score": [_l("The target is a score between 0 and 100.")]})
    written = {
        "target_score": float(target_score),
        "updated_by_id": by.id if by else None,
        "updated_at": utcnow(),
    }
    settings = session.get(CycleSettings, cycle.id)
    if settings is None:
        # Two people setting the first target at once both find no row: the primary key lets
        # one insert win, and the other then updates the winner's row (last write wins, as for
        # any later change of the target).
        settings = CycleSettings(cycle_id=cycle.id, **written)  # type: ignore[arg-type]
        try:
            insert_once(session, settings, key={"cycle_id": cycle.id})
            session.flush()
            return settings
        except StaleWrite as lost:
            settings = lost.current
    for name, value in written.items():
        setattr(settings, name, value)
    session.flush()
    return settings


def target_of(session: Session, cycle_id: int) -> float:
    """The cycle's target score (0-100): indicators below it go into the improvement plan."""
    settings = session.get(CycleSettings, cycle_id)
    return settings.target_score if settings else DEFAULT_TARGET


# --- who may do what ------------------------------------------------------------------------------


def evaluator_ids(session: Session, cycle_id: int) -> list[int]:
    query = select(CycleEvaluator.user_id).where(CycleEvaluator.cycle_id == cycle_id)
    return sorted(session.exec(query).all())


def may_review_cycles(session: Session, user_ids: Iterable[int]) -> set[int]:
    """Which of these users may be assigned to a cycle (the permissions core says who)."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    holders = permissions.users_who_may("be_cycle_evaluator").subquery()
    query = sa.select(holders.c.user_id).where(holders.c.user_id.in_(ids))
    return set(session.execute(query).scalars())


# --- choices and lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionChoice:
    id: int
    label: str


def published_versions(session: Session) -> list[VersionChoice]:
    query = (
        sa.select(
            col(RubricVersion.id),
            col(RubricRecord.title),
            col(RubricRecord.code),
            col(RubricVersion.number),
        )
        .join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
        .where(col(RubricVersion.status) == VersionStatus.PUBLISHED)
        .order_by(RubricRecord.title, col(RubricVersion.number).desc())
    )
    return [
        VersionChoice(vid, f"{title} ({code}), version {number}")
        for vid, title, code, number in session.execute(query).all()
    ]


def ngo_organizations(session: Session) -> list[Organization]:
    query = select(Organization).where(Organization.kind == OrgKind.NGO)
    return list(session.exec(query.order_by(Organization.name)).all())


def evaluator_users(session: Session) -> list[User]:
    query = (
        select(User)
        .where(
            col(User.id).in_(permissions.users_who_may("be_cycle_evaluator")),
            col(User.active).is_(True),
        )
        .order_by(User.name)
    )
    return list(session.exec(query).all())


@dataclass(frozen=True)
class CycleListing:
    id: int
    code: str
    name: str
    rubric: str
    version: int
    opens_on: date | None
    closes_on: date | None
    assessments: int
    submitted: int  # submitted, in review or verified
    verified: int


def cycle_counts(viewer: permissions.Principal) -> sa.Subquery:
    """Per cycle, the assessments ``viewer`` may see: in all, submitted, verified."""
    done = ("submitted", "in_review", "verified")
    return (
        sa.select(
            col(Assessment.cycle_id),
            sa.func.count().label("n"),
            sa.func.sum(sa.case((col(Assessment.status).in_(done), 1), else_=0)).label("sub"),
            sa.func.sum(sa.case((col(Assessment.status) == "verified", 1), else_=0)).label("ver"),
        )
        .where(_visible(viewer))
        .group_by(col(Assessment.cycle_id))
        .subquery()
    )


def _cycle_select(counts: sa.Subquery) -> AnySelect:
    return (
        sa.select(AssessmentCycle, col(RubricRecord.title), col(RubricVersion.number), counts)
        .join(RubricVersion, col(RubricVersion.id) == AssessmentCycle.rubric_version_id)
        .join(RubricRecord, col(RubricRecord.id) == RubricVersion.rubric_id)
        .outerjoin(counts, counts.c.cycle_id == AssessmentCycle.id)
    )


def _listing(row: Any) -> CycleListing:
    c, title, number, _cycle_id, n, sub, ver = row
    return CycleListing(
        c.id,
        c.code,
        c.name,
        title,
        number,
        c.opens_on,
        c.closes_on,
        int(n or 0),
        int(sub or 0),
        int(ver or 0),
    )


def list_cycles(session: Session, *, viewer: permissions.Principal) -> list[CycleListing]:
    """Every cycle; its counts are of the assessments ``viewer`` may see."""
    query = _cycle_select(cycle_counts(viewer)).order_by(
        col(AssessmentCycle.created_at).desc(), col(AssessmentCycle.id).desc()
    )
    return [_listing(row) for row in session.execute(query).all()]


CYCLE_PHASES = ("upcoming", "open", "closed")


def cycle_spec(session: Session, counts: sa.Subquery) -> ListSpec:
    """The cycle list: search by name or code, sort by any column (``counts``: of
    :func:`cycle_counts`), filter by rubric and by whether the cycle is upcoming, open or
    closed."""
    rubrics = session.execute(sa.select(col(RubricRecord.code))).scalars()
    return ListSpec(
        sorts={
            "name": col(AssessmentCycle.name),
            "rubric": (col(RubricRecord.title), col(RubricVersion.number)),
            "opens": col(AssessmentCycle.opens_on),
            "closes": col(AssessmentCycle.closes_on),
            "assessments": sa.func.coalesce(counts.c.n, 0),
            "submitted": sa.func.coalesce(counts.c.sub, 0),
            "verified": sa.func.coalesce(counts.c.ver, 0),
        },
        default_sort="opens",
        default_dir=DESC,
        filters={"phase": CYCLE_PHASES, "rubric": list(rubrics)},
        tiebreak=(col(AssessmentCycle.id).desc(),),
    )


def rubric_options(session: Session) -> list[tuple[str, str]]:
    """(code, title) of every rubric, for the cycle list's filter."""
    rows = session.execute(
        sa.select(col(RubricRecord.code), col(RubricRecord.title)).order_by(col(RubricRecord.title))
    ).all()
    return [(str(code), str(title)) for code, title in rows]


def cycle_page(
    session: Session, state: ListState, counts: sa.Subquery, *, today: date
) -> ListPage[CycleListing]:
    """One page of the cycle list in ``state`` (``counts``: those its spec sorts by)."""
    query = _cycle_select(counts)
    if state.q:
        query = query.where(contains(state.q, col(AssessmentCycle.name), col(AssessmentCycle.code)))
    if state.get("rubric"):
        query = query.where(col(RubricRecord.code) == state.get("rubric"))
    phase = state.get("phase")
    if phase == "upcoming":
        query = query.where(col(AssessmentCycle.opens_on) > today)
    elif phase == "open":
        query = query.where(
            sa.or_(col(AssessmentCycle.opens_on).is_(None), col(AssessmentCycle.opens_on) <= today),
            sa.or_(
                col(AssessmentCycle.closes_on).is_(None), col(AssessmentCycle.closes_on) >= today
            ),
        )
    elif phase == "closed":
        query = query.where(col(AssessmentCycle.closes_on) < today)
    found = page_of(session, query, state)
    return mapped(found, [_listing(row) for row in found.rows])


@dataclass(frozen=True)
class CycleAssessment:
    id: int
    organization_id: int
    organization: str
    status: str
    progress: float
    submitted_at: object
    closes_on: date | None
    overdue: bool


def cycle_assessments(
    session: Session,
    cycle: AssessmentCycle,
    today: date | None = None,
    *,
    viewer: permissions.Principal,
) -> list[CycleAssessment]:
    """The cycle's assessments that ``viewer`` may see."""
    today = today or date.today()
    query = (
        sa.select(Assessment, col(Organization.name))
        .join(Organization, col(Organization.id) == Assessment.organization_id)
        .where(col(Assessment.cycle_id) == cycle.id, _visible(viewer))
        .order_by(Organization.name)
    )
    unfinished = {"not_started", "in_progress", "returned"}
    return [
        CycleAssessment(
            a.id,
            a.organization_id,
            name,
            a.status,
            a.progress,
            a.submitted_at,
            cycle.closes_on,
            bool(cycle.closes_on and cycle.closes_on < today and a.status in unfinished),
        )
        for a, name in session.execute(query).all()
    ]


def organizations_in(session: Session, cycle_id: int) -> set[int]:
    """The ids of the organisations taking part in the cycle."""
    query = sa.select(col(Assessment.organization_id)).where(col(Assessment.cycle_id) == cycle_id)
    return set(session.execute(query).scalars())


def _visible(viewer: permissions.Principal) -> sa.ColumnElement[bool]:
    return permissions.visible_assessments(viewer, Assessment.organization_id, Assessment.cycle_id)


# --- the cycle overview (issue 9, section 5) ------------------------------------------------------

_SUBMITTED = ("submitted", "in_review", "verified")
_UNDER_WAY = ("in_progress", "returned")  # a returned assessment is back with its NGO
_UNFINISHED = ("not_started", "in_progress", "returned")


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


@dataclass(frozen=True)
class NotStarted:
    assessment_id: int
    organization: str
    contacts: list[Contact]  # the NGO's active admins (empty: nobody to remind)


@dataclass(frozen=True)
class CycleOverview:
    """A cycle's assessments counted by where they stand, and who has not started. Overdue:
    not submitted while the cycle's closing date has passed (it counts among in progress or
    not started as well)."""

    total: int
    submitted: int
    in_progress: int
    not_started: int
    overdue: int
    closes_on: date | None
    not_started_list: list[NotStarted]

    @property
    def emails(self) -> list[str]:
        """Every contact of the NGOs that have not started, once each."""
        return sorted({c.email for row in self.not_started_list for c in row.contacts})


def cycle_overview(
    session: Session,
    cycle: AssessmentCycle,
    today: date | None = None,
    *,
    viewer: permissions.Principal,
) -> CycleOverview:
    """The counts of the cycle's assessments ``viewer`` may see (one GROUP BY in the database)
    and the NGOs that have not started, with their admins' contacts (one select)."""
    today = today or date.today()
    closed = cycle.closes_on is not None and cycle.closes_on < today

    def count(statuses: tuple[str, ...]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(
            sa.func.sum(sa.case((col(Assessment.status).in_(statuses), 1), else_=0)), 0
        )

    total, submitted, under_way, not_started = session.execute(
        sa.select(
            sa.func.count(),
            count(_SUBMITTED),
            count(_UNDER_WAY),
            count(("not_started",)),
        ).where(col(Assessment.cycle_id) == cycle.id, _visible(viewer))
    ).one()
    overdue = (int(under_way) + int(not_started)) if closed else 0
    admins = (
        sa.select(
            col(Membership.organization_id).label("organization_id"),
            col(User.name).label("name"),
            col(User.email).label("email"),
        )
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.role) == Role.NGO_ADMIN, col(User.active).is_(True))
        .subquery()
    )
    rows = session.execute(
        sa.select(col(Assessment.id), col(Organization.name), admins.c.name, admins.c.email)
        .join(Organization, col(Organization.id) == col(Assessment.organization_id))
        .outerjoin(admins, admins.c.organization_id == col(Assessment.organization_id))
        .where(
            col(Assessment.cycle_id) == cycle.id,
            col(Assessment.status) == "not_started",
            _visible(viewer),
        )
        .order_by(col(Organization.name), col(Assessment.id), admins.c.email)
    ).all()
    waiting: dict[int, NotStarted] = {}
    for assessment_id, organization, name, email in rows:
        entry = waiting.setdefault(assessment_id, NotStarted(assessment_id, organization, []))
        if email is not None:
            entry.contacts.append(Contact(name, email))
    return CycleOverview(
        total=int(total),
        submitted=int(submitted),
        in_progress=int(under_way),
        not_started=int(not_started),
        overdue=overdue,
        closes_on=cycle.closes_on,
        not_started_list=list(waiting.values()),
    )
