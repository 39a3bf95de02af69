"""Single-use, expiring links for invitations and password resets.

The link carries 32 random bytes (``secrets.token_urlsafe``); the table keeps only their
SHA-256, so a copy of the database opens no account. A token is bound to one person and one
purpose, expires (``INVITATION_DAYS``, ``RESET_HOURS``), and is spent when used; issuing a new
one of the same purpose spends the person's earlier ones (only the latest link works).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from accounts.models import AccountToken, TokenPurpose, User, utcnow


class TokenInvalid(LookupError):
    """The link is unknown, tampered with, expired, already used or for another purpose."""


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue(
    session: Session,
    *,
    user: User,
    purpose: TokenPurpose,
    lifetime: timedelta,
    by: User | None = None,
    now: datetime | None = None,
) -> str:
    """A new token for ``user`` (the raw value, to put in a link; it is not stored)."""
    now = now or utcnow()
    session.execute(
        sa.update(AccountToken)
        .where(
            col(AccountToken.user_id) == user.id,
            col(AccountToken.purpose) == purpose,
            col(AccountToken.used_at).is_(None),
        )
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user.id,  # type: ignore[arg-type]
            purpose=purpose,
            token_hash=digest(raw),
            created_at=now,
            expires_at=now + lifetime,
            created_by_id=by.id if by else None,
        )
    )
    session.flush()
    return raw


def find(
    session: Session, raw: str, purpose: TokenPurpose, *, now: datetime | None = None
) -> AccountToken:
    """The live token ``raw`` of this purpose, or :class:`TokenInvalid`."""
    now = now or utcnow()
    if not raw or len(raw) > 128:
        raise TokenInvalid(raw)
    wanted = digest(raw)
    token = session.exec(select(AccountToken).where(AccountToken.token_hash == wanted)).first()
    if (
        token is None
        or not hmac.compare_digest(token.token_hash, wanted)
        or token.purpose != purpose
        or token.used_at is not None
        or _aware(token.expires_at) <= now
    ):
        raise TokenInvalid(raw)
    return token


def spend(session: Session, token: AccountToken, *, now: datetime | None = None) -> None:
    """Mark the token used, once: a second request using it at the same moment finds no row
    to update (compare-and-set), and fails."""
    done = session.execute(
        sa.update(AccountToken)
        .where(col(AccountToken.id) == token.id, col(AccountToken.used_at).is_(None))
        .values(used_at=now or utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid("already used")
    session.flush()


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored in UTC)."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
