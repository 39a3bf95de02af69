"""Account operations. Services take the session, flush, and leave the commit to the caller."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from accounts.models import (
    NGO_ROLES,
    AccessGrant,
    AuditEvent,
    Membership,
    Organization,
    Role,
    User,
    utcnow,
)

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-password")


class AccountError(ValueError):
    """A request the account rules refuse; the message is safe to show.

    Messages are ``lazy_gettext`` strings: ``str(exc)`` is in the language of the request that
    shows it, and in English outside a request (the CLI).
    """


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, *, email: str, name: str, password: str, locale: str | None = None
) -> User:
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(_l("%(email)s is not an e-mail address", email=repr(email)))
    if len(password) < 8:
        raise AccountError(_l("the password must have at least 8 characters"))
    if session.exec(select(User).where(User.email == email)).first():
        raise AccountError(_l("a user with the e-mail %(email)s already exists", email=email))
    user = User(email=email, name=name, password_hash=_hasher.hash(password), locale=locale)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Rehashes outdated hashes."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or only_in_inactive_organizations(session, user.id):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def only_in_inactive_organizations(session: Session, user_id: int | None) -> bool:
    """Whether every membership of the user is in a deactivated organisation (issue 12: its
    people can no longer log in); a platform-wide role or an active organisation lets them."""
    rows = session.exec(
        select(Membership.organization_id, Organization.active)
        .outerjoin(Organization, Organization.id == Membership.organization_id)  # type: ignore[arg-type]
        .where(Membership.user_id == user_id)
    ).all()
    return bool(rows) and all(org is not None and not active for org, active in rows)


def add_membership(
    session: Session,
    *,
    user: User,
    role: Role,
    organization: Organization | None = None,
    by: User | None = None,
) -> Membership:
    if role in NGO_ROLES and (organization is None or organization.kind != "ngo"):
        raise AccountError(_l("role %(role)s needs an NGO", role=role))
    if role == Role.FUNDER and (organization is None or organization.kind != "funder"):
        raise AccountError(_l("role funder needs a funder organisation"))
    membership = Membership(
        user_id=user.id,  # type: ignore[arg-type]
        organization_id=organization.id if organization else None,
        role=role,
    )
    session.add(membership)
    session.flush()
    audit(
        session,
        actor=by,
        action="membership_added",
        object_type="user",
        object_id=user.id,
        organization_id=organization.id if organization else None,
        role=str(role),
    )
    return membership


def roles_of(session: Session, user_id: int) -> list[Membership]:
    return list(session.exec(select(Membership).where(Membership.user_id == user_id)).all())


def grant_access(
    session: Session, *, ngo: Organization, funder: Organization, by: User | None
) -> AccessGrant:
    """The bare grant row (all cycles), for loading data (the demo, tests). People grant and
    revoke through :mod:`accounts.sharing`, which also limits to cycles, replaces a live grant
    and records both in the audit log."""
    grant = AccessGrant(
        ngo_id=ngo.id,  # type: ignore[arg-type]
        funder_id=funder.id,  # type: ignore[arg-type]
        granted_by_id=by.id if by else None,
    )
    session.add(grant)
    session.flush()
    return grant


def audit(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: Any = None,
    organization_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append an event; within a request it also records the client's address and user agent."""
    address = agent = None
    if has_request_context():
        address = (request.remote_addr or "")[:45] or None
        agent = (request.user_agent.string or "")[:255] or None
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        organization_id=organization_id,
        detail=detail,
        address=address,
        user_agent=agent,
    )
    session.add(event)
    session.flush()
    return event


def set_password(session: Session, *, user: User, password: str) -> None:
    """Store a new password (argon2id) for ``user``; the caller checked the rules
    (:func:`accounts.passwords.password_problems`)."""
    user.password_hash = _hasher.hash(password)
    session.add(user)
    session.flush()


def verify_password(user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s (to confirm a change of password)."""
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False
