"""Add double (blind) verification: the cycle's share, assignments and second ratings

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 18:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'double_verification_setting',
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('percent', sa.Float(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycle.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user.id']),
        sa.PrimaryKeyConstraint('cycle_id'),
    )
    op.create_table(
        'double_verification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assessment_id', sa.Integer(), nullable=False),
        sa.Column('second_evaluator_id', sa.Integer(), nullable=False),
        sa.Column('assigned_by_id', sa.Integer(), nullable=True),
        sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['assigned_by_id'], ['user.id']),
        sa.ForeignKeyConstraint(['second_evaluator_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('double_verification', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_double_verification_assessment_id'), ['assessment_id'], unique=True
        )
        batch_op.create_index(
            batch_op.f('ix_double_verification_second_evaluator_id'),
            ['second_evaluator_id'],
            unique=False,
        )
    op.create_table(
        'double_rating',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('double_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['double_id'], ['double_verification.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('double_id', 'question_id'),
    )
    with op.batch_alter_table('double_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_double_rating_double_id'), ['double_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('double_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_double_rating_double_id'))
    op.drop_table('double_rating')
    with op.batch_alter_table('double_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_double_verification_second_evaluator_id'))
        batch_op.drop_index(batch_op.f('ix_double_verification_assessment_id'))
    op.drop_table('double_verification')
    op.drop_table('double_verification_setting')
