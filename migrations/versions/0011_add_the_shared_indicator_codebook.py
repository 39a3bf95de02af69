"""Add the shared indicator codebook's revisions (the codebook edited in the browser)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-07 21:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'codebook_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('codebook_revision', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_codebook_revision_number'), ['number'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('codebook_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_codebook_revision_number'))
    op.drop_table('codebook_revision')
