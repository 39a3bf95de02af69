"""Consent: an NGO grants funders access to its results, and revokes it.

A grant covers all of the NGO's cycles or chosen ones. At most one grant per NGO and funder is
live; granting again replaces it (the old one is revoked, the new one made, both recorded).
Nothing is deleted: a revoked grant keeps its row, with who revoked it and when, and every
grant and revocation is also an :class:`~accounts.models.AuditEvent`. The permissions core reads
the live grants on every request, so a revocation counts from the next request on.

The cycles belong to ``surveys``, which accounts may not import: the composition root tells this
module where an NGO's cycles are with :func:`register_cycles` (as ``surveys`` tells the core
where assignments are). Services take the session, flush, and leave the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from accounts.models import (
    AccessGrant,
    AccessGrantCycle,
    Organization,
    OrgKind,
    User,
    utcnow,
)
from accounts.services import AccountError, audit

GRANTED = "grant_access"
REVOKED = "revoke_access"


class SharingError(AccountError):
    """A grant or revocation the consent rules refuse; the message is safe to show."""


class GrantGone(SharingError):
    """The grant was revoked (or replaced) meanwhile: nothing was changed."""


# --- where an NGO's cycles are -------------------------------------------------------------------


@dataclass(frozen=True)
class CycleChoice:
    id: int
    name: str


CycleQuery = Callable[[int], "sa.Select[Any, Any]"]  # (cycle id, name)
_cycle_queries: list[CycleQuery] = []


def register_cycles(query: CycleQuery) -> None:
    """Say where an NGO's cycles are: ``query(ngo_id)`` selects ``(id, name)`` of the cycles the
    NGO takes part in, oldest first. Without one, an NGO can only grant all its cycles."""
    if query not in _cycle_queries:
        _cycle_queries.append(query)


def cycles_of(session: Session, ngo_id: int) -> list[CycleChoice]:
    """The cycles an NGO may grant access to: those it takes part in."""
    found: dict[int, CycleChoice] = {}
    for query in _cycle_queries:
        for cycle_id, name in session.execute(query(ngo_id)).all():
            found.setdefault(int(cycle_id), CycleChoice(int(cycle_id), str(name)))
    return list(found.values())


# --- reading --------------------------------------------------------------------------------------


def funders(session: Session) -> list[Organization]:
    """Every funder organisation on the platform, by name."""
    query = select(Organization).where(Organization.kind == OrgKind.FUNDER)
    return list(session.exec(query.order_by(col(Organization.name))).all())


@dataclass(frozen=True)
class GrantRow:
    """A grant as the Sharing page shows it."""

    id: int
    funder_id: int
    funder: str
    all_cycles: bool
    cycles: tuple[str, ...]  # names of the chosen cycles (when not all_cycles)
    include_evidence: bool  # also evidence files, drafts and the evaluator's notes
    granted_at: datetime
    granted_by: str | None
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the record: a grant made or revoked."""

    at: datetime
    action: str  # GRANTED or REVOKED
    grant: GrantRow

    @property
    def by(self) -> str | None:
        return self.grant.granted_by if self.action == GRANTED else self.grant.revoked_by


def grants_of(session: Session, ngo_id: int) -> list[GrantRow]:
    """Every grant the NGO ever made, live and revoked, newest first."""
    funder, granter, revoker = aliased(Organization), aliased(User), aliased(User)
    rows = session.execute(
        sa.select(AccessGrant, col(funder.name), col(granter.name), col(revoker.name))
        .join(funder, col(funder.id) == col(AccessGrant.funder_id))
        .outerjoin(granter, col(granter.id) == col(AccessGrant.granted_by_id))
        .outerjoin(revoker, col(revoker.id) == col(AccessGrant.revoked_by_id))
        .where(col(AccessGrant.ngo_id) == ngo_id)
        .order_by(col(AccessGrant.granted_at).desc(), col(AccessGrant.id).desc())
    ).all()
    names = {c.id: c.name for c in cycles_of(session, ngo_id)}
    chosen: dict[int, list[str]] = {}
    grant_ids = [grant.id for grant, *_ in rows]
    if grant_ids:
        for grant_id, cycle_id in session.execute(
            sa.select(col(AccessGrantCycle.grant_id), col(AccessGrantCycle.cycle_id))
            .where(col(AccessGrantCycle.grant_id).in_(grant_ids))
            .order_by(col(AccessGrantCycle.cycle_id))
        ).all():
            chosen.setdefault(grant_id, []).append(names.get(cycle_id, f"#{cycle_id}"))
    return [
        GrantRow(
            id=grant.id,
            funder_id=grant.funder_id,
            funder=funder_name,
            all_cycles=grant.all_cycles,
            cycles=tuple(chosen.get(grant.id, ())),
            include_evidence=grant.include_evidence,
            granted_at=grant.granted_at,
            granted_by=granted_by,
            revoked_at=grant.revoked_at,
            revoked_by=revoked_by,
        )
        for grant, funder_name, granted_by, revoked_by in rows
    ]


def history(grants: Iterable[GrantRow]) -> list[HistoryEntry]:
    """Grants and revocations, newest first (a replaced grant: its revocation, then the new
    grant, at the same moment)."""
    entries = []
    for grant in grants:
        entries.append(HistoryEntry(grant.granted_at, GRANTED, grant))
        if grant.revoked_at is not None:
            entries.append(HistoryEntry(grant.revoked_at, REVOKED, grant))
    order = {GRANTED: 1, REVOKED: 0}
    entries.sort(key=lambda e: (_aware(e.at), order[e.action], e.grant.id), reverse=True)
    return entries


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC); compare them as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- changing -------------------------------------------------------------------------------------


def grant(
    session: Session,
    *,
    ngo: Organization,
    funder: Organization,
    cycles: Sequence[int] | None,
    by: User | None,
    include_evidence: bool = False,
) -> AccessGrant:
    """Grant ``funder`` access to ``ngo``'s results: all cycles (``cycles=None``) or the chosen
    ones, which must be cycles the NGO takes part in. Replaces a live grant to the same funder.
    """
    if ngo.kind != OrgKind.NGO:
        raise SharingError(_l("Only an NGO can share its results."))
    if funder.kind != OrgKind.FUNDER or funder.id == ngo.id:
        raise SharingError(_l("Access can only be granted to a funder organisation."))
    if cycles is not None:
        known = {c.id for c in cycles_of(session, ngo.id)}  # type: ignore[arg-type]
        if not cycles:
            raise SharingError(_l("Choose at least one cycle, or all cycles."))
        if not set(cycles) <= known:
            raise SharingError(_l("Choose among the cycles your organisation takes part in."))
    replaced = session.exec(
        select(AccessGrant).where(
            AccessGrant.ngo_id == ngo.id,
            AccessGrant.funder_id == funder.id,
            col(AccessGrant.revoked_at).is_(None),
        )
    ).first()
    if replaced is not None:
        _revoke(session, replaced, by=by, replaced=True)
    made = AccessGrant(
        ngo_id=ngo.id,  # type: ignore[arg-type]
        funder_id=funder.id,  # type: ignore[arg-type]
        all_cycles=cycles is None,
        include_evidence=include_evidence,
        granted_by_id=by.id if by else None,
    )
    session.add(made)
    session.flush()  # a concurrent grant to the same funder fails here (one live grant)
    for cycle_id in sorted(set(cycles or ())):
        session.add(AccessGrantCycle(grant_id=made.id, cycle_id=cycle_id))  # type: ignore[arg-type]
    session.flush()
    audit(
        session,
        actor=by,
        action=GRANTED,
        object_type="access_grant",
        object_id=made.id,
        organization_id=ngo.id,
        funder_id=funder.id,
        funder=funder.name,
        cycles="all" if cycles is None else sorted(set(cycles)),
        include_evidence=include_evidence,
        replaces=replaced.id if replaced is not None else None,
    )
    return made


def revoke(session: Session, *, ngo: Organization, grant_id: int, by: User | None) -> AccessGrant:
    """Revoke the NGO's live grant ``grant_id``. Raises :class:`GrantGone` when it is not live
    (revoked or replaced meanwhile), LookupError when the NGO has no such grant."""
    found = session.get(AccessGrant, grant_id)
    if found is None or found.ngo_id != ngo.id:
        raise LookupError(grant_id)
    _revoke(session, found, by=by)
    return found


def _revoke(
    session: Session, found: AccessGrant, *, by: User | None, replaced: bool = False
) -> None:
    """Compare-and-set on ``revoked_at``: of two people revoking at once, one does it, the other
    is told it was done already."""
    now = utcnow()
    done = session.execute(
        sa.update(AccessGrant)
        .where(col(AccessGrant.id) == found.id, col(AccessGrant.revoked_at).is_(None))
        .values(revoked_at=now, revoked_by_id=by.id if by else None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(found)
        raise GrantGone(_l("This access was already revoked."))
    session.refresh(found)
    funder = session.get(Organization, found.funder_id)
    audit(
        session,
        actor=by,
        action=REVOKED,
        object_type="access_grant",
        object_id=found.id,
        organization_id=found.ngo_id,
        funder_id=found.funder_id,
        funder=funder.name if funder else None,
        replaced=replaced,
    )
