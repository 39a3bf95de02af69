"""Summarise each assessment's overall and domain scores in one row, kept by triggers on score

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-07 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from surveys import score_summary_ddl

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "score_summary",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("domain_codes", sa.Text(), nullable=False),
        sa.Column("domain_scores", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", "rubric_version_id", "source"),
    )
    bind = op.get_bind()
    for statement in score_summary_ddl.statements(bind.dialect.name):
        bind.exec_driver_sql(statement)
    # The scores stored before this revision, summarised by the same computation.
    bind.exec_driver_sql(score_summary_ddl.backfill(bind.dialect.name))


def downgrade() -> None:
    bind = op.get_bind()
    for statement in score_summary_ddl.statements(bind.dialect.name, create=False):
        bind.exec_driver_sql(statement)
    op.drop_table("score_summary")
