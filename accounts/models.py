"""Account tables. Organisations carry a stable ``code`` used in exports and the future API."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), **kwargs)


class OrgKind(enum.StrEnum):
    NGO = "ngo"
    FUNDER = "funder"
    EVALUATOR = "evaluator"  # an evaluating body (network secretariat, consultancy)
    GOVERNMENT = "government"  # a government agency (issue 12: the directory lists them too)
    INSTITUTION = "institution"  # another institution: a university, an ombudsman's office


class Role(enum.StrEnum):
    NGO_MEMBER = "ngo_member"
    NGO_ADMIN = "ngo_admin"
    FUNDER = "funder"
    EVALUATOR = "evaluator"
    ADMIN = "admin"


NGO_ROLES = frozenset({Role.NGO_MEMBER, Role.NGO_ADMIN})


class OrgType(enum.StrEnum):
    """What kind of NGO it is (for filters and peer groups; funders and evaluators have none)."""

    SERVICE_PROVIDER = "service_provider"  # direct services: case management, counselling
    SHELTER = "shelter"  # runs a shelter or safe house
    ADVOCACY = "advocacy"  # policy, legal advocacy, monitoring of child rights
    COMMUNITY = "community"  # community-based organisation
    NETWORK = "network"  # a network or umbrella of organisations


class FocusArea(enum.StrEnum):
    """The controlled list of the directory (issue 12), and three older areas kept so that no
    organisation loses one (migration 0007 renamed ``online_safety`` to ``online_abuse``)."""

    TRAFFICKING = "trafficking"
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    MISSING_CHILDREN = "missing_children"
    ONLINE_ABUSE = "online_abuse"
    SHELTER_CARE = "shelter_care"
    LEGAL_AID = "legal_aid"
    PREVENTION_EDUCATION = "prevention_education"
    HELPLINES = "helplines"
    REINTEGRATION = "reintegration"
    RESEARCH = "research"
    STREET_CHILDREN = "street_children"
    UNACCOMPANIED_MINORS = "unaccompanied_minors"
    FAMILY_SUPPORT = "family_support"


class Visibility(enum.StrEnum):
    """Who sees an organisation's profile in the directory (the organisation chooses)."""

    PUBLIC = "public"  # everyone, logged in or not
    MEMBERS = "members"  # whoever is logged in to the platform
    HIDDEN = "hidden"  # its own people and the admins (the default)


# The profile fields an organisation may keep to its own people even on a listed profile.
OPTIONAL_FIELDS = (
    "cities",
    "services",
    "languages",
    "contact_email",
    "contact_phone",
    "website",
    "year_founded",
)


class Organization(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # OrgKind
    country: str | None = Field(default=None, max_length=2)  # ISO 3166-1 alpha-2
    org_type: str | None = Field(default=None, max_length=32)  # OrgType, for NGOs
    focus_areas: list[str] | None = Field(default=None, sa_column=Column(JSON))  # FocusArea values
    created_at: datetime = timestamp()
    # Issue 12: deactivation (its people can no longer log in; nothing is deleted), the
    # compare-and-set version of the profile, and the directory profile itself.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    visibility: str = Field(
        default=Visibility.HIDDEN, max_length=16, sa_column_kwargs={"server_default": "hidden"}
    )
    names: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))  # language: name
    cities: list[str] | None = Field(default=None, sa_column=Column(JSON))
    services: list[str] | None = Field(default=None, sa_column=Column(JSON))
    languages: list[str] | None = Field(default=None, sa_column=Column(JSON))  # ISO 639-1
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=300)
    year_founded: int | None = None
    private_fields: list[str] | None = Field(default=None, sa_column=Column(JSON))  # OPTIONAL_
    # Lower-cased name, names, cities and services, kept by the listener below: the directory
    # searches it with LIKE, the same on SQLite (whose lower() knows only ASCII) and PostgreSQL.
    search_text: str = Field(default="", sa_column_kwargs={"server_default": ""})


def search_text_of(
    name: str | None,
    names: dict[str, str] | None,
    cities: list[str] | None,
    services: list[str] | None,
) -> str:
    """What the directory searches: name, names, cities and services, case-folded."""
    parts = [name, *(names or {}).values(), *(cities or []), *(services or [])]
    return "\n".join(p.casefold() for p in parts if p)


@sa.event.listens_for(Organization, "before_insert")
@sa.event.listens_for(Organization, "before_update")
def _keep_search_text(_mapper: Any, _connection: Any, org: Organization) -> None:
    org.search_text = search_text_of(org.name, org.names, org.cities, org.services)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    active: bool = True
    locale: str | None = Field(default=None, max_length=8)
    created_at: datetime = timestamp()
    last_login_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Membership(SQLModel, table=True):
    """A user's role, in an organisation or (for ``evaluator`` and ``admin``) platform-wide."""

    __table_args__ = (sa.UniqueConstraint("user_id", "organization_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    organization_id: int | None = Field(
        default=None, foreign_key="organization.id", index=True, ondelete="CASCADE"
    )
    role: str = Field(max_length=16)  # Role
    created_at: datetime = timestamp()


class AccessGrant(SQLModel, table=True):
    """An NGO's consent for a funder to see its results: to all its cycles, or to the cycles
    listed in :class:`AccessGrantCycle`. Revocable; a revoked grant is kept for the record, and
    a change of scope revokes the grant and makes a new one. At most one grant per NGO and
    funder is live (not revoked) at a time."""

    __table_args__ = (
        sa.Index(
            "uq_accessgrant_live",
            "ngo_id",
            "funder_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ngo_id: int = Field(foreign_key="organization.id", index=True)
    funder_id: int = Field(foreign_key="organization.id", index=True)
    # False: only the cycles listed in access_grant_cycle (none listed: nothing, never all).
    all_cycles: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    granted_by_id: int | None = Field(default=None, foreign_key="user.id")
    # The funder also sees evidence files, in-progress drafts and the evaluator's notes.
    include_evidence: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    granted_at: datetime = timestamp()
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_by_id: int | None = Field(default=None, foreign_key="user.id")


class AccessGrantCycle(SQLModel, table=True):
    """A cycle that a grant limited to chosen cycles covers.

    The cycle table belongs to ``surveys``; it is named here only as a foreign key (accounts
    imports nothing of surveys). A deleted cycle takes its rows with it: the grant then covers
    fewer cycles, never more."""

    __tablename__ = "access_grant_cycle"

    grant_id: int = Field(foreign_key="accessgrant.id", primary_key=True, ondelete="CASCADE")
    cycle_id: int = Field(
        foreign_key="assessment_cycle.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class AuditEvent(SQLModel, table=True):
    """Append-only record of who did what to which object."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp(index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=64)
    object_id: str | None = Field(default=None, max_length=64)
    organization_id: int | None = Field(default=None, foreign_key="organization.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    address: str | None = Field(default=None, max_length=45)  # the client's IP address
    user_agent: str | None = Field(default=None, max_length=255)


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    RESET = "reset"


class AccountToken(SQLModel, table=True):
    """A single-use link sent to a person (an invitation, a password reset). Only a SHA-256 of
    the random token is stored: whoever reads the table cannot use the links."""

    __tablename__ = "account_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=16)  # TokenPurpose
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp()
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class UserSession(SQLModel, table=True):
    """A login, server-side: the signed cookie carries only its random id. Ended at logout,
    password change or reset, deactivation, "log out everywhere" and after inactivity; a
    cookie whose session is ended opens nothing."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)  # secrets.token_urlsafe(32)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = timestamp()
    last_seen_at: datetime = timestamp()
    ended_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    end_reason: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=45)
    user_agent: str | None = Field(default=None, max_length=255)


class LoginFailure(SQLModel, table=True):
    """A failed login, counted per account and per address to throttle guessing (the rows of
    the current window are all that is read; older ones are deleted as new ones come)."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp(index=True)
    email: str = Field(max_length=254, index=True)
    address: str = Field(max_length=45, index=True)


def _append_only() -> None:
    from accounts import audit_ddl

    audit_ddl.install(AuditEvent.__table__)  # type: ignore[attr-defined]


_append_only()
