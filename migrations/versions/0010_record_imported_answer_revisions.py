"""Record in the answer history which changes were imported from a file, and from which row

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answer_revision", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("imported_from", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "import_instance", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("answer_revision", schema=None) as batch_op:
        batch_op.drop_column("import_instance")
        batch_op.drop_column("imported_from")
