"""Revocable sessions, login throttling, an append-only audit log, evidence in funder grants,
and who published a rubric version

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 18:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from accounts import audit_ddl

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('user_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)

    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failure_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failure_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failure_email'), ['email'], unique=False)

    with op.batch_alter_table('accessgrant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('include_evidence', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('rubric_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_rubric_version_published_by_id_user', 'user', ['published_by_id'], ['id'])

    for statement in audit_ddl.statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in audit_ddl.statements(op.get_bind().dialect.name, create=False):
        op.execute(statement)
    with op.batch_alter_table('rubric_version', schema=None) as batch_op:
        batch_op.drop_constraint('fk_rubric_version_published_by_id_user', type_='foreignkey')
        batch_op.drop_column('published_by_id')
    with op.batch_alter_table('accessgrant', schema=None) as batch_op:
        batch_op.drop_column('include_evidence')
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failure_email'))
        batch_op.drop_index(batch_op.f('ix_login_failure_at'))
        batch_op.drop_index(batch_op.f('ix_login_failure_address'))
    op.drop_table('login_failure')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')
