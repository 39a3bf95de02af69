"""Scope access grants to chosen cycles, and record who revoked a grant

An NGO grants a funder access to all its cycles (``all_cycles``, true for every grant made so
far) or to the cycles listed in ``access_grant_cycle``. At most one grant per NGO and funder is
live: a partial unique index (SQLite and PostgreSQL both have them) makes a second one fail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 14:41:34.398285
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text('revoked_at IS NULL')


def upgrade() -> None:
    op.create_table('access_grant_cycle',
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycle.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['accessgrant.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grant_id', 'cycle_id')
    )
    with op.batch_alter_table('access_grant_cycle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_grant_cycle_cycle_id'), ['cycle_id'], unique=False)

    # Before the index allows one live grant per NGO and funder, keep the newest of any others.
    op.execute(
        "UPDATE accessgrant SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL "
        "AND id NOT IN (SELECT max(id) FROM accessgrant WHERE revoked_at IS NULL "
        "GROUP BY ngo_id, funder_id)"
    )
    with op.batch_alter_table('accessgrant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('all_cycles', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.create_index('uq_accessgrant_live', ['ngo_id', 'funder_id'], unique=True, sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.create_foreign_key('fk_accessgrant_revoked_by_id_user', 'user', ['revoked_by_id'], ['id'])


def downgrade() -> None:
    # Grants limited to chosen cycles cannot be expressed any more: revoke them rather than
    # let them widen to all cycles.
    op.execute(
        "UPDATE accessgrant SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE revoked_at IS NULL AND NOT all_cycles"
    )
    with op.batch_alter_table('accessgrant', schema=None) as batch_op:
        batch_op.drop_constraint('fk_accessgrant_revoked_by_id_user', type_='foreignkey')
        batch_op.drop_index('uq_accessgrant_live', sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('all_cycles')

    with op.batch_alter_table('access_grant_cycle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_grant_cycle_cycle_id'))

    op.drop_table('access_grant_cycle')
