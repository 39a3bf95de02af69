"""Backing up and restoring the database: ``flask --app wsgi backup PATH`` / ``restore PATH``.

SQLite uses the online backup API (``sqlite3.Connection.backup``): a consistent copy taken page by
page while the app keeps serving, and the same API copies a backup back into the live file on
restore. PostgreSQL uses ``pg_dump`` (custom format) and ``pg_restore``, found in the folder the
``PG_BIN`` setting names (``EVALUATOR_PG_BIN``) or else on ``PATH``; they must be at least the
server's version. Evidence files (``UPLOAD_FOLDER``) are files, not rows: copy that folder too.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

Report = Callable[[str], None]
SQLITE_PAGES_PER_STEP = 256  # pages copied between progress reports (and lock releases)


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _quiet(_line: str) -> None:
    pass


def backend_of(url: str) -> str:
    name = sa.engine.make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {name} database")
    return name


def backup(url: str, path: Path, *, pg_bin: str | None = None, report: Report = _quiet) -> None:
    """Write a consistent copy of the database at ``url`` to ``path`` (replaced if it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # never leave half a backup under PATH
    partial.unlink(missing_ok=True)
    try:
        if backend_of(url) == "sqlite":
            _sqlite_copy(_sqlite_connect(url), _sqlite_connect_path(partial), report)
        else:
            dump = _pg_tool("pg_dump", pg_bin)
            _run_pg(
                [dump, "--format=custom", "--no-owner", "--no-privileges", "--verbose",
                 f"--file={partial}"],
                url,
                report,
            )  # fmt: skip
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def restore(
    url: str,
    path: Path,
    *,
    force: bool = False,
    pg_bin: str | None = None,
    report: Report = _quiet,
) -> None:
    """Replace the database at ``url`` by the backup at ``path``.

    Refuses (:class:`BackupError`) when the database holds rows, unless ``force``: a restore
    into the wrong database must not be one keystroke away.
    """
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    kind = backend_of(url)
    if kind == "sqlite":
        _check_sqlite_backup(path)
    if not force:
        filled = non_empty_tables(url)
        if filled:
            raise BackupError(
                "the database is not empty ({}); restore with --force to replace it".format(
                    ", ".join(f"{name}: {n} rows" for name, n in filled[:5])
                )
            )
    if kind == "sqlite":
        _sqlite_copy(_sqlite_connect_path(path), _sqlite_connect(url), report)
    else:
        tool = _pg_tool("pg_restore", pg_bin)
        _run_pg(
            [tool, "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", "--verbose", str(path)],
            url,
            report,
            database_flag=True,
        )  # fmt: skip


def non_empty_tables(url: str) -> list[tuple[str, int]]:
    """The tables (Alembic's own aside) that hold rows, with their row counts."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
            counts = [
                (
                    name,
                    conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar(),
                )
                for name in sorted(names)
            ]
    finally:
        engine.dispose()
    return [(name, int(n or 0)) for name, n in counts if n]


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_file(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _sqlite_connect(url: str) -> sqlite3.Connection:
    return _sqlite_connect_path(_sqlite_file(url))


def _sqlite_connect_path(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _sqlite_copy(source: sqlite3.Connection, target: sqlite3.Connection, report: Report) -> None:
    """Copy ``source`` into ``target`` with the online backup API, reporting progress."""

    def progress(_status: int, remaining: int, total: int) -> None:
        done = total - remaining
        report(f"copied {done} of {total} pages ({100 * done // max(total, 1)}%)")

    try:
        source.backup(target, pages=SQLITE_PAGES_PER_STEP, progress=progress, sleep=0.01)
        (check,) = target.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":  # pragma: no cover - a copy of a sound database is sound
            raise BackupError(f"the copy fails SQLite's integrity check: {check}")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite: {exc}") from exc
    finally:
        source.close()
        target.close()


def _check_sqlite_backup(path: Path) -> None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (check,) = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an SQLite backup: {exc}") from exc
    finally:
        connection.close()
    if check != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {check}")


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_tool(name: str, pg_bin: str | None) -> str:
    """``name`` in ``pg_bin`` (the ``PG_BIN`` setting) if given, else on ``PATH``."""
    found = shutil.which(name, path=pg_bin) if pg_bin else shutil.which(name)
    if not found:
        where = f"in {pg_bin}" if pg_bin else "on PATH"
        raise BackupError(
            f"{name} not found {where}: install PostgreSQL's client programs or set "
            "EVALUATOR_PG_BIN to the folder that holds them (e.g. /usr/lib/postgresql/15/bin)"
        )
    return found


def _run_pg(command: list[str], url: str, report: Report, *, database_flag: bool = False) -> None:
    """Run a PostgreSQL client program on the database at ``url``; its verbose lines are the
    progress. Connection settings go through the environment, so no password is on a command
    line for ``ps`` to show."""
    parsed = sa.engine.make_url(url)
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[variable] = str(value)
    if database_flag:  # pg_restore only connects when given a database
        command = [*command[:-1], f"--dbname={parsed.database}", command[-1]]
    errors: list[str] = []
    with subprocess.Popen(  # noqa: S603 - a fixed program, arguments from our settings
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        for line in process.stderr or ():
            line = line.rstrip()
            report(line)
            if "error" in line.lower():
                errors.append(line)
    if process.wait() != 0:
        detail = "; ".join(errors[-3:]) or f"exit status {process.returncode}"
        raise BackupError(f"{Path(command[0]).name} failed: {detail}")
