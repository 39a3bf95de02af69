"""Double verification's tables: the cycle's share, the second evaluator's assignment, and the
second evaluator's own ratings (kept apart from the verified answers, which they never see)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel, col

from accounts import permissions
from accounts.models import timestamp
from surveys.models import Assessment, Status


class DoubleVerificationSetting(SQLModel, table=True):
    """The share (0-100%) of a cycle's submitted assessments that get a second, blind
    verification. No row means none."""

    __tablename__ = "double_verification_setting"

    cycle_id: int = Field(foreign_key="assessment_cycle.id", primary_key=True, ondelete="CASCADE")
    percent: float = 0.0
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = timestamp()


class DoubleVerification(SQLModel, table=True):
    """An assessment drawn for a second verification, and the evaluator who does it blind.
    ``version`` increases on every change (completing twice, or from two tabs, conflicts)."""

    __tablename__ = "double_verification"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(
        foreign_key="assessment.id", unique=True, index=True, ondelete="CASCADE"
    )
    second_evaluator_id: int = Field(foreign_key="user.id", index=True)
    assigned_by_id: int | None = Field(default=None, foreign_key="user.id")
    assigned_at: datetime = timestamp()
    completed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    version: int = Field(default=1)


class SecondRating(SQLModel, table=True):
    """The second evaluator's rating of one question (a level or an option id, as the web form
    posts it)."""

    __tablename__ = "double_rating"
    __table_args__ = (sa.UniqueConstraint("double_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    double_id: int = Field(foreign_key="double_verification.id", index=True, ondelete="CASCADE")
    question_id: str = Field(max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = timestamp()


def _blind_assessments(user_id: int) -> sa.Select[int, int]:
    """(NGO, cycle) of the assessments the user verifies a second time and whose two
    verifications are not both done (see :func:`surveys.double.services.is_done`)."""
    return (
        sa.select(col(Assessment.organization_id), col(Assessment.cycle_id))
        .join(DoubleVerification, col(DoubleVerification.assessment_id) == col(Assessment.id))
        .where(
            col(DoubleVerification.second_evaluator_id) == user_id,
            sa.or_(
                col(DoubleVerification.completed_at).is_(None),
                col(Assessment.status) != Status.VERIFIED,
            ),
        )
    )


# The permissions core hides these from their second evaluator (accounts may not import surveys):
# blindness holds even if they are assigned to the cycle after the draw.
permissions.register_blind(_blind_assessments)
