"""Record the client's address and user agent with each audit event

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True)
        )
        batch_op.add_column(
            sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
        batch_op.drop_column('address')
