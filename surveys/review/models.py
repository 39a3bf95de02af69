"""The review's table: an evaluator's note on each indicator."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from accounts.models import timestamp


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
