"""`flask --app wsgi backup PATH` and `restore PATH`: a backup restored into a fresh database
holds the same rows, a non-empty database is only replaced with --force. Runs on SQLite (the
online backup API) and, with TEST_DB=postgresql, on PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from accounts.models import Organization, Role
from surveys import answers as store
from surveys.models import Answer, AnswerRevision
from webapp import create_app
from webapp.backup import BackupError, backup, non_empty_tables, restore

PG_BIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
ANSWERS = {"SG1_policy": 3, "SG1_focal": "yes", "SV1_referral": "most", "RS2_changes": "Ελληνικά"}


@pytest.fixture
def world(session, make_user, make_org, make_assessment) -> dict[str, Any]:
    """A small world: two NGOs, a funder, a user, a rubric, a cycle, answers and their history."""
    org = make_org(name="Hope and Home")
    make_org(name="Funder", kind="funder")
    user = make_user(email="ana@example.org", role=Role.NGO_ADMIN, org=org)
    assessment = make_assessment(org=org)
    store.save_answers(session, assessment, values=ANSWERS, base_versions={}, user=user)
    session.commit()
    return {"assessment": assessment, "user": user}


@pytest.fixture
def fresh_url(backend: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database beside the test's own (a new file, or a new PostgreSQL database
    in the same cluster)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"restore_{secrets.token_hex(4)}"
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.engine.make_url(database_url)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the app, ordered by primary key."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: [
                    tuple(row)
                    for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                ]
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_a_backup_restored_into_a_fresh_database_holds_the_same_rows(
    world, database_url, fresh_url, tmp_path
):
    path = tmp_path / "evaluator.backup"
    lines: list[str] = []
    backup(database_url, path, pg_bin=PG_BIN, report=lines.append)
    assert path.stat().st_size > 0
    assert lines, "progress is reported"
    assert not non_empty_tables(fresh_url)

    restore(fresh_url, path, pg_bin=PG_BIN, report=lines.append)

    before, after = contents(database_url), contents(fresh_url)
    assert {t: len(rows) for t, rows in after.items()} == {
        t: len(rows) for t, rows in before.items()
    }
    assert after == before
    assert len(after["answer"]) == len(ANSWERS)
    assert len(after["answer_revision"]) == len(ANSWERS)
    assert "Ελληνικά" in {row[-1] for row in after["answer_revision"]} | {
        v for row in after["answer"] for v in row
    }


def test_the_commands_back_up_and_restore_and_show_progress(
    app, world, database_url, fresh_url, tmp_path
):
    path = tmp_path / "nested" / "evaluator.backup"
    app.config["PG_BIN"] = PG_BIN
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert f"backup written to {path}" in result.output

    target = create_app(
        {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": fresh_url, "PG_BIN": PG_BIN}
    )
    result = target.test_cli_runner().invoke(args=["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert "database restored" in result.output
    assert contents(fresh_url) == contents(database_url)


def test_restore_refuses_a_non_empty_database_without_force(
    app, session, world, database_url, tmp_path
):
    path = tmp_path / "evaluator.backup"
    app.config["PG_BIN"] = PG_BIN
    backup(database_url, path, pg_bin=PG_BIN)
    saved = contents(database_url)
    session.add(Organization(code="after", name="Added after the backup", kind="ngo"))
    session.execute(sa.delete(AnswerRevision))
    session.execute(sa.delete(Answer))
    session.commit()

    result = app.test_cli_runner().invoke(args=["restore", str(path)])
    assert result.exit_code != 0
    assert "not empty" in result.output
    assert "--force" in result.output
    with pytest.raises(BackupError, match="not empty"):
        restore(database_url, path, pg_bin=PG_BIN)
    assert contents(database_url) != saved  # untouched

    session.close()  # no open transaction may hold a lock on the tables being replaced
    with app.app_context():
        from webapp.extensions import db

        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["restore", "--force", str(path)])
    assert result.exit_code == 0, result.output
    assert contents(database_url) == saved


def test_a_file_that_is_not_a_backup_is_refused(database_url, fresh_url, tmp_path, backend):
    path = tmp_path / "not-a-backup"
    path.write_bytes(b"hello, not a database" * 100)
    with pytest.raises(BackupError):
        restore(fresh_url, path, pg_bin=PG_BIN)
    with pytest.raises(BackupError, match="no such backup"):
        restore(fresh_url, tmp_path / "missing", pg_bin=PG_BIN)
