"""The audit log is append-only in the database itself: a trigger refuses every UPDATE and
DELETE of ``auditevent``, whoever issues it (the app, a script, a console).

The same statements serve the models' ``create_all`` (tests) and the Alembic migration."""

from __future__ import annotations

import sqlalchemy as sa

APPEND_ONLY_MESSAGE = "the audit log is append-only"

SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS auditevent_no_{verb.lower()} BEFORE {verb} ON auditevent
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"""
    for verb in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS auditevent_no_{v}" for v in ("update", "delete")]

POSTGRESQL_CREATE = [
    f"""CREATE OR REPLACE FUNCTION auditevent_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER auditevent_append_only BEFORE UPDATE OR DELETE ON auditevent
FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()""",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS auditevent_append_only ON auditevent",
    "DROP FUNCTION IF EXISTS auditevent_append_only()",
]


def statements(dialect: str, *, create: bool = True) -> list[str]:
    if dialect == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    if dialect == "postgresql":
        return POSTGRESQL_CREATE if create else POSTGRESQL_DROP
    return []


def install(table: sa.Table) -> None:
    """Create the trigger whenever the models create the table (``create_all``)."""

    @sa.event.listens_for(table, "after_create")
    def _after_create(target: sa.Table, connection: sa.Connection, **_kw: object) -> None:
        for statement in statements(connection.dialect.name):
            connection.exec_driver_sql(statement)
