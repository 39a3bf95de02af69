"""A throwaway PostgreSQL cluster for benchmarks: the recipe of tests/conftest.py (initdb, pg_ctl
start on a free port with fsync off, createdb; stopped and deleted afterwards), as a context
manager. ``initdb`` and ``pg_ctl`` refuse to run as root: as root they run as ``postgres``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster; yield the URL of its server (``.../`` + a database name to use it)."""
    if not (PGBIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL binaries not found in {PGBIN} (set PGBIN)")
    # The postgres user must reach the folder: /tmp always does.
    reachable = "/tmp" if os.geteuid() == 0 else None  # noqa: S108 - mkdtemp's own 0700 folder
    base = Path(tempfile.mkdtemp(prefix="evaluator-bench-pg-", dir=reachable))
    data, port = base / "data", _free_port()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    base.chmod(0o700)

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True)  # noqa: S603

    run(str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--locale=C.UTF-8")  # fmt: skip
    # jit=off unless BENCH_JIT is set: the dashboard's GROUP BY at 5,000 NGOs is costly enough
    # for PostgreSQL to JIT-compile it. Two runs on a loaded machine gave 508 ms (JIT on) and
    # 394 ms (off) for that page: not conclusive; BENCH_JIT=1 compares.
    jit = "on" if os.environ.get("BENCH_JIT") else "off"
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        f"-c synchronous_commit=off -c full_page_writes=off -c jit={jit}"
    )
    run(str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
        "-o", options, "start")  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        run(str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def create_database(server: str, name: str) -> str:
    """Create database ``name`` on the cluster at ``server``; its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return f"{server}/{name}"
