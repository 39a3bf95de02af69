"""Tables of cycles' people and settings, external verification and improvement plans.

Kept apart from :mod:`surveys.models` so that these features can grow without touching the
questionnaire's tables; :mod:`webapp.models_registry` imports this module so that the metadata
(and the Alembic migration generated from it) holds every table.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col

from accounts import permissions
from accounts.models import timestamp

DEFAULT_TARGET = 70.0  # indicators scoring below this (0-100) go into the improvement plan


class CycleEvaluator(SQLModel, table=True):
    """An evaluator assigned to a cycle: they may review its assessments and manage it."""

    __tablename__ = "cycle_evaluator"
    __table_args__ = (sa.UniqueConstraint("cycle_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="assessment_cycle.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    assigned_by_id: int | None = Field(default=None, foreign_key="user.id")
    assigned_at: datetime = timestamp()


def _assigned_cycles(user_id: int) -> sa.Select[Any]:
    return sa.select(col(CycleEvaluator.cycle_id)).where(col(CycleEvaluator.user_id) == user_id)


# The permissions core reads assignments from here (accounts may not import surveys).
permissions.register_assignments(_assigned_cycles)


class CycleSettings(SQLModel, table=True):
    """Per-cycle settings that the cycle table itself does not carry (one row per cycle at most;
    no row means the defaults)."""

    __tablename__ = "cycle_settings"

    cycle_id: int = Field(foreign_key="assessment_cycle.id", primary_key=True, ondelete="CASCADE")
    target_score: float = DEFAULT_TARGET  # 0-100
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = timestamp()


class IndicatorReview(SQLModel, table=True):
    """The evaluator's note on one indicator of an assessment, and whether the verified ratings
    agree with the self-ratings. ``version`` increases on every change (stale saves conflict)."""

    __tablename__ = "indicator_review"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "indicator_id"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    indicator_id: str = Field(max_length=64)
    note: str | None = Field(default=None, sa_type=sa.Text)
    agreed: bool = False  # every verified rating equals the self-rating
    reviewed_by_id: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime = timestamp()
    version: int = Field(default=1)


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
