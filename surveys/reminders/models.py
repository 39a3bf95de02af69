"""The record of reminders sent, so that each is sent once however often ``remind`` runs."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from accounts.models import timestamp


class ReminderSent(SQLModel, table=True):
    """One reminder of one kind about one assessment, sent to one person."""

    __tablename__ = "reminder_sent"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "user_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # ReminderKind
    sent_on: date
    sent_at: datetime = timestamp()
