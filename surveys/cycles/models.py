"""A cycle's people and settings: the evaluators assigned to it, and its target score."""

from __future__ import annotations

from datetime import datetime
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
