"""Creating, editing and deactivating organisations. Services flush; the caller commits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts.concurrency import compare_and_set
from accounts.models import (
    OPTIONAL_FIELDS,
    FocusArea,
    Membership,
    Organization,
    OrgKind,
    User,
    Visibility,
    search_text_of,
)
from accounts.services import AccountError, audit

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
# What the profile form writes; kind and code are the admins' (see update_profile).
PROFILE_FIELDS = (
    "name",
    "names",
    "country",
    "cities",
    "services",
    "languages",
    "focus_areas",
    "contact_email",
    "contact_phone",
    "website",
    "year_founded",
    "visibility",
    "private_fields",
)


class OrganizationError(AccountError):
    """A change to an organisation that the rules refuse; the message is safe to show."""


def search_text(values: Mapping[str, Any]) -> str:
    """What the directory's search reads, of these profile values."""
    return search_text_of(
        values.get("name"), values.get("names"), values.get("cities"), values.get("services")
    )


def create_organization(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    country: str | None = None,
    by: User | None,
) -> Organization:
    code = code.strip().lower()
    name = name.strip()
    if not CODE.match(code):
        raise OrganizationError(
            _l("The code takes 2 to 64 lower-case letters, digits and hyphens.")
        )
    if not name:
        raise OrganizationError(_l("The organisation needs a name."))
    if kind not in set(OrgKind):
        raise OrganizationError(_l("Unknown kind of organisation."))
    if session.exec(select(Organization).where(Organization.code == code)).first():
        raise OrganizationError(_l("An organisation with the code %(code)s exists.", code=code))
    org = Organization(code=code, name=name, kind=kind, country=country or None)
    session.add(org)
    session.flush()
    audit(
        session,
        actor=by,
        action="organization_created",
        object_type="organization",
        object_id=org.id,
        organization_id=org.id,
        code=code,
    )
    return org


def clean_profile(values: Mapping[str, Any]) -> dict[str, Any]:
    """The profile values as stored: lists without blanks or repeats, codes from their lists."""
    cleaned: dict[str, Any] = {}
    for key in PROFILE_FIELDS:
        if key not in values:
            continue
        value = values[key]
        if key in ("cities", "services"):
            value = _unique(str(v).strip()[:120] for v in value or ()) or None
        elif key == "languages":
            value = _unique(str(v) for v in value or ()) or None
        elif key == "focus_areas":
            value = [a for a in (str(v) for v in value or ()) if a in set(FocusArea)] or None
            value = _unique(value or ()) or None
        elif key == "private_fields":
            value = [f for f in OPTIONAL_FIELDS if f in set(value or ())] or None
        elif key == "names":
            value = {str(k): str(v).strip() for k, v in (value or {}).items() if v} or None
        elif key == "visibility":
            if value not in set(Visibility):
                raise OrganizationError(_l("Choose who sees the profile."))
        elif key == "name":
            value = str(value or "").strip()
            if not value:
                raise OrganizationError(_l("The organisation needs a name."))
        elif isinstance(value, str):
            value = value.strip() or None
        cleaned[key] = value
    return cleaned


def _unique(values: Any) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


def update_profile(
    session: Session,
    org: Organization,
    *,
    seen: int | None,
    values: Mapping[str, Any],
    by: User | None,
    kind: str | None = None,
) -> int:
    """Write the profile if it is still at version ``seen`` (else :class:`StaleWrite`, with the
    stored profile); ``kind`` is changed only when given (the admins' form gives it)."""
    cleaned = clean_profile(values)
    if kind is not None and kind != org.kind:
        if kind not in set(OrgKind):
            raise OrganizationError(_l("Unknown kind of organisation."))
        members = session.exec(
            select(sa.func.count())
            .select_from(Membership)
            .where(col(Membership.organization_id) == org.id)
        ).one()
        if members:
            raise OrganizationError(
                _l("People belong to this organisation: its kind cannot change.")
            )
        cleaned["kind"] = kind
    current = {k: getattr(org, k) for k in ("name", "names", "cities", "services")}
    cleaned["search_text"] = search_text({**current, **cleaned})
    changed = sorted(k for k, v in cleaned.items() if getattr(org, k) != v and k != "search_text")
    version = compare_and_set(session, org, seen=seen, values=cleaned)
    audit(
        session,
        actor=by,
        action="organization_profile_changed",
        object_type="organization",
        object_id=org.id,
        organization_id=org.id,
        fields=changed,
    )
    return version


def set_active(
    session: Session, org: Organization, *, active: bool, seen: int | None, by: User | None
) -> int:
    """Deactivate (its people can no longer log in, nothing is deleted) or reactivate."""
    version = compare_and_set(session, org, seen=seen, values={"active": active})
    audit(
        session,
        actor=by,
        action="organization_reactivated" if active else "organization_deactivated",
        object_type="organization",
        object_id=org.id,
        organization_id=org.id,
    )
    return version
