"""Rubric tables: a rubric (stable code) has numbered versions; published ones are immutable."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from accounts.models import timestamp


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class RubricRecord(SQLModel, table=True):
    __tablename__ = "rubric"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    title: str = Field(max_length=300)
    created_at: datetime = timestamp()


class RubricVersion(SQLModel, table=True):
    __tablename__ = "rubric_version"
    __table_args__ = (sa.UniqueConstraint("rubric_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    rubric_id: int = Field(foreign_key="rubric.id", index=True)
    number: int
    status: str = Field(default=VersionStatus.DRAFT, max_length=16)
    # The validated rubric document (rubrics.schema.Rubric as JSON) and its SHA-256.
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    source_format: str = Field(default="yaml", max_length=16)
    based_on_id: int | None = Field(default=None, foreign_key="rubric_version.id")
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = timestamp()
    published_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    published_by_id: int | None = Field(default=None, foreign_key="user.id")
    lock_version: int = Field(default=1)  # bumped on every edit: stale editor saves conflict


class CodebookRevision(SQLModel, table=True):
    """One saved revision of the shared indicator codebook (its YAML text, as the evaluator
    wrote it). Revisions are only ever added: the newest is the codebook in use, the older ones
    its history; without any, the shipped ``rubrics/codebook.yaml`` is in use.

    ``number`` is unique: a save made from revision N inserts N + 1, so of two evaluators saving
    from the same revision exactly one wins (the compare-and-set is the unique constraint)."""

    __tablename__ = "codebook_revision"

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True, index=True)
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    content_hash: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = timestamp()
