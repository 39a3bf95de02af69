"""Add the organisation's directory profile, its active flag and version; rename a focus area

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 18:30:00.000000
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {'online_safety': 'online_abuse'}  # issue 12's controlled list of focus areas

organization = sa.table(
    'organization',
    sa.column('id', sa.Integer),
    sa.column('name', sa.String),
    sa.column('focus_areas', sa.JSON),
    sa.column('search_text', sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(
            sa.Column(
                'visibility',
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default='hidden',
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column('names', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cities', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('services', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )
        batch_op.add_column(
            sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(
            sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(sa.Column('year_founded', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('private_fields', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'search_text', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False
            )
        )
    _migrate_rows(RENAMED, fill_search_text=True)


def downgrade() -> None:
    _migrate_rows({new: old for old, new in RENAMED.items()}, fill_search_text=False)
    with op.batch_alter_table('organization', schema=None) as batch_op:
        for name in (
            'search_text', 'private_fields', 'year_founded', 'website', 'contact_phone',
            'contact_email', 'languages', 'services', 'cities', 'names', 'visibility',
            'version', 'active',
        ):
            batch_op.drop_column(name)


def _migrate_rows(renamed: dict[str, str], *, fill_search_text: bool) -> None:
    """Rename focus areas in every row; fill the search text from the name (a new column)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(organization.c.id, organization.c.name, organization.c.focus_areas)
    ).all()
    for ident, name, areas in rows:
        if isinstance(areas, str):  # a driver that hands JSON back as text
            areas = json.loads(areas)
        values: dict[str, object] = {}
        if areas and any(a in renamed for a in areas):
            values['focus_areas'] = [renamed.get(a, a) for a in areas]
        if fill_search_text:
            values['search_text'] = (name or '').casefold()
        if values:
            bind.execute(
                organization.update().where(organization.c.id == ident).values(**values)
            )
