"""People: invitations, password resets, roles and memberships, deactivation, NGO teams.

Services take the session and flush; the view commits. Every change is written to the audit
log. Roles are never spelled here: whether a membership makes an admin is asked of the
permissions core (``administer``), so the last-admin rule follows the core's definition.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from accounts import sessions, tokens
from accounts.models import (
    NGO_ROLES,
    AccountToken,
    Membership,
    Organization,
    Role,
    TokenPurpose,
    User,
    utcnow,
)
from accounts.passwords import password_problems
from accounts.permissions import Principal, may, users_who_may
from accounts.services import (
    AccountError,
    add_membership,
    audit,
    create_user,
    normalise_email,
    set_password,
    verify_password,
)


class PasswordRejected(AccountError):
    """The chosen password breaks the rules; ``problems`` says which."""

    def __init__(self, problems: list[LazyString]) -> None:
        super().__init__(problems[0])
        self.problems = problems


class NotInTeam(LookupError):
    """The person is not one of this NGO's people (the view answers 404)."""


def makes_admin(role: str) -> bool:
    """Whether a membership of this role lets its holder administer the platform."""
    return may(Principal(user_id=0, roles=frozenset({role})), "administer")


def _active_admins(session: Session) -> set[int]:
    ids = session.execute(
        sa.select(col(User.id)).where(
            col(User.id).in_(users_who_may("administer")), col(User.active).is_(True)
        )
    ).scalars()
    return set(ids)


def _refuse_last_admin(session: Session, user: User) -> None:
    if _active_admins(session) - {user.id} == set():
        raise AccountError(_l("This is the last administrator: appoint another one first."))


# --- invitations and passwords --------------------------------------------------------------------


def invite(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role,
    organization: Organization | None,
    locale: str | None,
    by: User | None,
    days: int,
) -> tuple[User, str]:
    """A new person with one role, who cannot log in until they follow the invitation link and
    choose a password; the user and the link's token."""
    if role not in NGO_ROLES and role != Role.FUNDER:
        organization = None  # platform-wide roles belong to no organisation
    user = create_user(
        session,
        email=email,
        name=name.strip() or normalise_email(email),
        password=secrets.token_urlsafe(32),  # nobody knows it: unusable until they choose one
        locale=locale,
    )
    add_membership(session, user=user, role=role, organization=organization, by=by)
    token = tokens.issue(
        session, user=user, purpose=TokenPurpose.INVITATION, lifetime=timedelta(days=days), by=by
    )
    audit(
        session,
        actor=by,
        action="invitation",
        object_type="user",
        object_id=user.id,
        organization_id=organization.id if organization else None,
        email=user.email,
        role=str(role),
    )
    return user, token


def reinvite(session: Session, *, user: User, by: User | None, days: int) -> str:
    """A fresh invitation link for someone (the earlier ones stop working)."""
    token = tokens.issue(
        session, user=user, purpose=TokenPurpose.INVITATION, lifetime=timedelta(days=days), by=by
    )
    audit(
        session,
        actor=by,
        action="invitation",
        object_type="user",
        object_id=user.id,
        email=user.email,
        again=True,
    )
    return token


def _choose_password(session: Session, token: AccountToken, password: str) -> User:
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise tokens.TokenInvalid("inactive")
    problems = password_problems(password, email=user.email)
    if problems:
        raise PasswordRejected(problems)
    tokens.spend(session, token)
    set_password(session, user=user, password=password)
    return user


def accept_invitation(session: Session, *, raw: str, password: str) -> User:
    """Set the invited person's password from their link (once)."""
    token = tokens.find(session, raw, TokenPurpose.INVITATION)
    user = _choose_password(session, token, password)
    audit(session, actor=user, action="invitation_accepted", object_type="user", object_id=user.id)
    return user


def request_reset(
    session: Session, *, email: str, by: User | None, hours: int
) -> tuple[User, str] | None:
    """A reset token for the active person with this address, or None; recorded either way
    (the audit log is for admins: the page itself never says whether the address exists)."""
    address = normalise_email(email)[:254]
    user = session.exec(select(User).where(User.email == address)).first()
    if user is None or not user.active:
        audit(
            session,
            actor=by,
            action="password_reset_requested",
            object_type="user",
            email=address,
            known=False,
        )
        return None
    token = tokens.issue(
        session, user=user, purpose=TokenPurpose.RESET, lifetime=timedelta(hours=hours), by=by
    )
    audit(
        session,
        actor=by,
        action="password_reset_requested",
        object_type="user",
        object_id=user.id,
        email=address,
        known=True,
    )
    return user, token


def reset_password(session: Session, *, raw: str, password: str) -> User:
    """Set a new password from a reset link (once) and end the person's sessions."""
    token = tokens.find(session, raw, TokenPurpose.RESET)
    user = _choose_password(session, token, password)
    sessions.end_sessions(session, user, reason=sessions.PASSWORD_RESET)
    audit(session, actor=user, action="password_reset", object_type="user", object_id=user.id)
    return user


def change_password(
    session: Session, *, user: User, current: str, new: str, keep_session: str | None = None
) -> None:
    """A logged-in person changes their own password: the current one first. Their other
    sessions end (all but ``keep_session``, the one in use)."""
    if not verify_password(user, current):
        audit(
            session,
            actor=user,
            action="password_change_failed",
            object_type="user",
            object_id=user.id,
        )
        raise AccountError(_l("The current password is wrong."))
    problems = password_problems(new, email=user.email)
    if problems:
        raise PasswordRejected(problems)
    set_password(session, user=user, password=new)
    ended = sessions.end_sessions(
        session, user, except_id=keep_session, reason=sessions.PASSWORD_CHANGED
    )
    audit(
        session,
        actor=user,
        action="password_changed",
        object_type="user",
        object_id=user.id,
        sessions_ended=ended,
    )


def token_owner(session: Session, raw: str, purpose: TokenPurpose) -> User:
    """Whose link this is (for the page that asks for the password); TokenInvalid if none."""
    token = tokens.find(session, raw, purpose)
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise tokens.TokenInvalid("inactive")
    return user


# --- deactivation, roles --------------------------------------------------------------------------


def deactivate(session: Session, *, user: User, by: User | None) -> None:
    """The person can no longer log in (nothing is deleted); their links stop working."""
    if not user.active:
        return
    if user.id in _active_admins(session):
        _refuse_last_admin(session, user)
    user.active = False
    session.add(user)
    session.execute(
        sa.update(AccountToken)
        .where(col(AccountToken.user_id) == user.id, col(AccountToken.used_at).is_(None))
        .values(used_at=utcnow())
    )
    sessions.end_sessions(session, user, reason=sessions.DEACTIVATED)
    audit(
        session,
        actor=by,
        action="deactivation",
        object_type="user",
        object_id=user.id,
        email=user.email,
    )


def reactivate(session: Session, *, user: User, by: User | None) -> None:
    if user.active:
        return
    user.active = True
    session.add(user)
    session.flush()
    audit(
        session,
        actor=by,
        action="reactivation",
        object_type="user",
        object_id=user.id,
        email=user.email,
    )


def add_role(
    session: Session, *, user: User, role: Role, organization: Organization | None, by: User | None
) -> Membership:
    if role not in NGO_ROLES and role != Role.FUNDER:
        organization = None  # platform-wide roles belong to no organisation
    where_org = (
        col(Membership.organization_id) == organization.id
        if organization is not None
        else col(Membership.organization_id).is_(None)
    )
    exists = session.exec(
        select(Membership).where(Membership.user_id == user.id, Membership.role == role, where_org)
    ).first()
    if exists is not None:
        raise AccountError(_l("%(name)s already has this role.", name=user.name))
    # add_membership records the change (who, whom, which role where) in the audit log
    return add_membership(session, user=user, role=role, organization=organization, by=by)


def remove_membership(session: Session, *, membership: Membership, by: User | None) -> None:
    user = session.get(User, membership.user_id)
    if user is None:
        raise NotInTeam(membership.user_id)
    if makes_admin(membership.role) and user.active:
        others = session.exec(
            select(Membership).where(Membership.user_id == user.id, Membership.id != membership.id)
        ).all()
        if not any(makes_admin(m.role) for m in others):
            _refuse_last_admin(session, user)
    session.delete(membership)
    session.flush()
    audit(
        session,
        actor=by,
        action="membership_removed",
        object_type="user",
        object_id=user.id,
        organization_id=membership.organization_id,
        role=membership.role,
    )


# --- an NGO's team --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMember:
    user: User
    role: str  # the NGO role: ngo_admin when they hold both


def team_of(session: Session, ngo: Organization) -> list[TeamMember]:
    rows = session.execute(
        sa.select(User, col(Membership.role))
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(
            col(Membership.organization_id) == ngo.id,
            col(Membership.role).in_(sorted(NGO_ROLES)),
        )
        .order_by(col(User.name), col(User.id))
    ).all()
    found: dict[int, TeamMember] = {}
    for user, role in rows:
        held = found.get(user.id)
        if held is None or role == Role.NGO_ADMIN:
            found[user.id] = TeamMember(user, role)
    return list(found.values())


def _team_memberships(session: Session, ngo: Organization, user_id: int) -> list[Membership]:
    return list(
        session.exec(
            select(Membership).where(
                Membership.user_id == user_id,
                Membership.organization_id == ngo.id,
                col(Membership.role).in_(sorted(NGO_ROLES)),
            )
        ).all()
    )


def _refuse_last_ngo_admin(session: Session, ngo: Organization, user_id: int) -> None:
    admins = {
        m.user.id for m in team_of(session, ngo) if m.role == Role.NGO_ADMIN and m.user.active
    }
    if admins - {user_id} == set():
        raise AccountError(
            _l("%(name)s needs at least one NGO admin: make another one first.", name=ngo.name)
        )


def set_team_role(
    session: Session, *, ngo: Organization, user_id: int, role: Role, by: User | None
) -> None:
    """Make one of the NGO's people a member or an NGO admin (NotInTeam for anyone else)."""
    if role not in NGO_ROLES:
        raise AccountError(_l("role %(role)s needs an NGO", role=role))
    held = _team_memberships(session, ngo, user_id)
    if not held:
        raise NotInTeam(user_id)
    if {m.role for m in held} == {role}:
        return
    if role != Role.NGO_ADMIN:
        _refuse_last_ngo_admin(session, ngo, user_id)
    for membership in held:
        session.delete(membership)
    session.flush()
    session.add(Membership(user_id=user_id, organization_id=ngo.id, role=role))
    session.flush()
    audit(
        session,
        actor=by,
        action="role_changed",
        object_type="user",
        object_id=user_id,
        organization_id=ngo.id,
        role=str(role),
    )


def remove_from_team(session: Session, *, ngo: Organization, user_id: int, by: User | None) -> None:
    """Take the person out of the NGO (their account and other memberships stay)."""
    held = _team_memberships(session, ngo, user_id)
    if not held:
        raise NotInTeam(user_id)
    _refuse_last_ngo_admin(session, ngo, user_id)
    for membership in held:
        session.delete(membership)
    session.flush()
    audit(
        session,
        actor=by,
        action="membership_removed",
        object_type="user",
        object_id=user_id,
        organization_id=ngo.id,
        role=",".join(m.role for m in held),
    )
