"""Assessment tables. Every answer is tied to the rubric version its assessment is pinned to."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from accounts.models import timestamp


class Status(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    VERIFIED = "verified"
    RETURNED = "returned"


EDITABLE = frozenset({Status.NOT_STARTED, Status.IN_PROGRESS, Status.RETURNED})


class Source(enum.StrEnum):
    SELF = "self"  # the NGO's self-assessment
    VERIFIED = "verified"  # the evaluator's verified rating


class AssessmentCycle(SQLModel, table=True):
    __tablename__ = "assessment_cycle"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    rubric_version_id: int = Field(foreign_key="rubric_version.id", index=True)
    opens_on: date | None = None
    closes_on: date | None = None
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = timestamp()


class Assessment(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("cycle_id", "organization_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="assessment_cycle.id", index=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    status: str = Field(default=Status.NOT_STARTED, max_length=16, index=True)
    progress: float = 0.0  # answered share of the questions that are relevant, 0-1
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    submitted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    lock_version: int = Field(default=1)


class Answer(SQLModel, table=True):
    """One answer to one question. ``value`` holds the web form's value: an option id, a level,
    a list of option ids, a number or text, or "__na__" / "__dk__" for not applicable and
    don't know. ``version`` increases on every change (stale saves become conflicts)."""

    __table_args__ = (sa.UniqueConstraint("assessment_id", "source", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    source: str = Field(default=Source.SELF, max_length=16)
    question_id: str = Field(max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSON))
    comment: str | None = Field(default=None, sa_type=sa.Text)
    version: int = Field(default=1)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = timestamp()


class AnswerRevision(SQLModel, table=True):
    """Append-only history of answer changes."""

    __tablename__ = "answer_revision"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    source: str = Field(default=Source.SELF, max_length=16)
    question_id: str = Field(max_length=64)
    old_value: Any = Field(default=None, sa_column=Column(JSON))
    new_value: Any = Field(default=None, sa_column=Column(JSON))
    old_comment: str | None = Field(default=None, sa_type=sa.Text)
    new_comment: str | None = Field(default=None, sa_type=sa.Text)
    version: int
    changed_by_id: int | None = Field(default=None, foreign_key="user.id")
    changed_at: datetime = timestamp()
    # Set when the change came from a file (issue 14: answers brought in from KoboToolbox or
    # ODK): the uploaded file's name and the row's instance id (Kobo's _uuid, Central's KEY).
    imported_from: str | None = Field(default=None, max_length=255)
    import_instance: str | None = Field(default=None, max_length=128)


class StatusChange(SQLModel, table=True):
    __tablename__ = "status_change"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    changed_by_id: int | None = Field(default=None, foreign_key="user.id")
    changed_at: datetime = timestamp()


class Score(SQLModel, table=True):
    """Stored scores; dashboards read these. One row per assessment, rubric version (its pinned
    version, or a later one it was rescored under to compare across cycles), source, level and
    code."""

    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "rubric_version_id", "source", "level", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    rubric_version_id: int = Field(foreign_key="rubric_version.id", index=True)
    source: str = Field(default=Source.SELF, max_length=16)
    level: str = Field(max_length=16)  # overall | domain | indicator
    code: str = Field(max_length=64)  # the domain / indicator id; the rubric id for overall
    score: float | None = None  # 0-100; None when there is no score (see reason)
    coverage: float | None = None  # share of applicable weight answered; None: all N/A
    reason: str | None = Field(default=None, max_length=32)
    band: str | None = Field(default=None, max_length=64)
    computed_at: datetime = timestamp()


class ScoreSummary(SQLModel, table=True):
    """One row per assessment, rubric version and source that has overall or domain scores:
    the overall score, and the domain codes and their scores as two JSON lists of the same
    length (null: no score). Written only by database triggers on ``score``
    (surveys/score_summary_ddl.py), in the same transaction as every write there; the
    comparative dashboard reads it."""

    __tablename__ = "score_summary"

    # No foreign key: the triggers delete a summary when its last score goes (a cascade from a
    # deleted assessment included), and a key would make that order matter.
    assessment_id: int = Field(primary_key=True)
    rubric_version_id: int = Field(primary_key=True)
    source: str = Field(primary_key=True, max_length=16)
    overall: float | None = None
    domain_codes: str = Field(sa_type=sa.Text)  # JSON list: ["<domain code>", ...]
    domain_scores: str = Field(sa_type=sa.Text)  # JSON list, the same positions: score or null


def _summarised() -> None:
    from surveys import score_summary_ddl

    score_summary_ddl.install(Score.__table__)  # type: ignore[attr-defined]


_summarised()


class PendingSave(SQLModel, table=True):
    """A questionnaire page posted after its session had expired, kept until its author logs
    in again and it is replayed. Server-side because a page of answers can exceed what a
    cookie holds (4 KB); the session keeps only ``token``. ``user_id`` comes from the page's
    signed resume token, so only the person the page was rendered for can replay it."""

    __tablename__ = "pending_save"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    assessment_id: int = Field(foreign_key="assessment.id", ondelete="CASCADE")
    page: int
    form: Any = Field(default=None, sa_column=Column(JSON))  # [[name, value], ...]
    created_at: datetime = timestamp()
