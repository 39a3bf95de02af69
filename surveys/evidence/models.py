"""The evidence table: files attached to an assessment's questions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from accounts.models import timestamp


class Evidence(SQLModel, table=True):
    """A file attached to a question as evidence. Stored under UPLOAD_FOLDER with a random
    name, never in the static folder; deleting sets ``deleted_at`` and the file stays until
    ``flask surveys purge-evidence`` removes it."""

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    question_id: str = Field(max_length=64)
    original_filename: str = Field(max_length=255)  # sanitised; only ever sent as a download
    stored_name: str = Field(max_length=64, unique=True)  # secrets.token_hex, no extension
    size: int
    content_type: str = Field(max_length=128)
    sha256: str = Field(max_length=64)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user.id")
    uploaded_at: datetime = timestamp()
    deleted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    deleted_by_id: int | None = Field(default=None, foreign_key="user.id")
