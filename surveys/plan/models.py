"""The improvement plan's table: the actions an NGO records for its weak indicators."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from accounts.models import timestamp


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"


OPEN_ACTIONS = frozenset({ActionStatus.PLANNED, ActionStatus.IN_PROGRESS})


class ImprovementAction(SQLModel, table=True):
    """One action of an NGO's improvement plan for one indicator.

    Keyed by organisation + rubric code + indicator code (stable across rubric versions), not by
    assessment, so that open actions carry into the next cycle's plan. ``rubric_code`` is there
    because indicator codes are unique within a rubric only; ``cycle_id`` records where the action
    was created.
    """

    __tablename__ = "improvement_action"
    __table_args__ = (sa.Index("ix_improvement_action_key", "organization_id", "rubric_code"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", ondelete="CASCADE")
    rubric_code: str = Field(max_length=64)
    indicator_id: str = Field(max_length=64)
    cycle_id: int | None = Field(
        default=None, foreign_key="assessment_cycle.id", index=True, ondelete="SET NULL"
    )
    text: str = Field(sa_type=sa.Text)
    owner: str | None = Field(default=None, max_length=200)
    due_on: date | None = None
    status: str = Field(default=ActionStatus.PLANNED, max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = timestamp()
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = timestamp()
    lock_version: int = Field(default=1)
