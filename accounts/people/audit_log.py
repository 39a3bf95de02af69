"""The audit log as admins read it: filtered, paged, and exported as CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from accounts.models import AuditEvent, Organization, User

PAGE_SIZE = 50
EXPORT_LIMIT = 200_000  # rows in one CSV file; narrow the filters for more

# A cell a spreadsheet would read as a formula starts with one of these (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: Any) -> str:
    """A cell's text with a leading quote when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class AuditFilters:
    who: str = ""  # part of the actor's name or e-mail
    organization_id: int | None = None
    action: str = ""
    since: date | None = None
    until: date | None = None  # inclusive


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str  # "Name <email>", or "" when nobody was logged in
    action: str
    object: str
    organization: str
    address: str
    user_agent: str
    detail: dict[str, Any]

    @property
    def detail_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.detail.items()))


def _select(filters: AuditFilters) -> Any:
    actor = aliased(User)
    query: Any = (
        sa.select(AuditEvent, col(actor.name), col(actor.email), col(Organization.name))
        .outerjoin(actor, col(actor.id) == col(AuditEvent.actor_id))
        .outerjoin(Organization, col(Organization.id) == col(AuditEvent.organization_id))
    )
    if filters.who.strip():
        pattern = "%" + filters.who.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(
            sa.or_(
                sa.func.lower(col(actor.name)).like(pattern, escape="\\"),
                sa.func.lower(col(actor.email)).like(pattern, escape="\\"),
            )
        )
    if filters.organization_id is not None:
        query = query.where(col(AuditEvent.organization_id) == filters.organization_id)
    if filters.action:
        query = query.where(col(AuditEvent.action) == filters.action)
    if filters.since is not None:
        query = query.where(col(AuditEvent.at) >= datetime.combine(filters.since, time(), UTC))
    if filters.until is not None:
        end = datetime.combine(filters.until + timedelta(days=1), time(), UTC)
        query = query.where(col(AuditEvent.at) < end)
    return query


def _row(event: AuditEvent, name: str | None, email: str | None, org: str | None) -> AuditRow:
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
    return AuditRow(
        id=event.id or 0,
        at=at,
        actor=f"{name} <{email}>" if email else "",
        action=event.action,
        object=f"{event.object_type} {event.object_id}" if event.object_id else event.object_type,
        organization=org or "",
        address=event.address or "",
        user_agent=event.user_agent or "",
        detail=dict(event.detail or {}),
    )


def page_of_events(
    session: Session, filters: AuditFilters, page: int
) -> tuple[list[AuditRow], int]:
    """One page of events, newest first, and how many match in all."""
    query = _select(filters)
    total = session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(PAGE_SIZE)
        .offset(max(page - 1, 0) * PAGE_SIZE)
    ).all()
    return [_row(*row) for row in rows], int(total)


def actions(session: Session) -> list[str]:
    return list(
        session.execute(sa.select(col(AuditEvent.action)).distinct().order_by("action")).scalars()
    )


def events_csv(session: Session, filters: AuditFilters) -> bytes:
    """Every matching event (up to EXPORT_LIMIT), oldest first, as UTF-8 CSV with a BOM (so
    spreadsheets read Greek), cells neutralised. Built in memory: the export holds no
    transaction open while a client reads it."""
    rows = session.execute(
        _select(filters).order_by(col(AuditEvent.at), col(AuditEvent.id)).limit(EXPORT_LIMIT)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "at", "actor", "action", "object", "organisation", "address", "user_agent",
         "detail"]
    )  # fmt: skip
    for row in rows:
        r = _row(*row)
        writer.writerow(
            [
                r.id,
                r.at.isoformat(timespec="seconds"),
                *(
                    neutralise(v)
                    for v in (
                        r.actor,
                        r.action,
                        r.object,
                        r.organization,
                        r.address,
                        r.user_agent,
                        json.dumps(r.detail, ensure_ascii=False, sort_keys=True),
                    )
                ),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
