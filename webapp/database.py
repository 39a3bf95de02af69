"""Connection set-up: SQLite pragmas and write transactions that cannot deadlock on upgrade."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def configure_engine(engine: sa.Engine) -> None:
    """Install the SQLite connection rules on ``engine`` (nothing to do for PostgreSQL).

    Every SQLite connection gets WAL, foreign keys and a busy timeout. Transactions opened while
    handling a write request (or from the CLI) start with ``BEGIN IMMEDIATE``: a deferred
    transaction that reads, then writes, can fail with "database is locked" whatever the timeout.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A read on a connection of its own (the session check; the exports' chunks, read after
        # their request has ended) need not take SQLite's write lock.
        options = connection.get_execution_options()
        reading = bool(options.get("evaluator_read_only") or options.get("reading")) or (
            has_request_context() and request.method in SAFE_METHODS
        )
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
