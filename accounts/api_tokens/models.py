"""API token tables. Only a SHA-256 of a token's secret is stored (as for the e-mailed links of
:mod:`accounts.tokens`): a copy of the database opens nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from accounts.models import timestamp


class ApiToken(SQLModel, table=True):
    """A person's API token: it acts as them (their permissions, never more), read-only if they
    chose so, until it expires or they revoke it."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the secret's first characters, to tell tokens apart
    read_only: bool = Field(default=False)
    created_at: datetime = timestamp()
    expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class ApiIdempotencyKey(SQLModel, table=True):
    """The answer given to a write sent with an ``Idempotency-Key``: a retry with the same key
    and the same request gets it again, and changes nothing."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (sa.UniqueConstraint("token_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="api_token.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)  # method, path and body
    status: int
    body: Any = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = timestamp()


class ApiRateWindow(SQLModel, table=True):
    """How many requests a token made in one window of the rate limit (fixed windows of
    ``API_RATE_WINDOW`` seconds, counted in the database so every worker counts the same)."""

    __tablename__ = "api_rate_window"

    token_id: int = Field(foreign_key="api_token.id", primary_key=True, ondelete="CASCADE")
    window_number: int = Field(primary_key=True, sa_type=sa.BigInteger)  # epoch s / size
    count: int = Field(default=0)
