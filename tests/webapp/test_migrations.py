"""Alembic migrations build exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from accounts.models import AuditEvent
from webapp.migrate import alembic_config, upgrade_database


@pytest.fixture
def empty_database(backend, tmp_path, request) -> Iterator[str]:
    """A database with nothing in it, of the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    server = sa.make_url(request.getfixturevalue("postgres_url"))
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def test_upgrade_to_head_matches_the_models(empty_database):
    upgrade_database(empty_database)
    engine = sa.create_engine(empty_database)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"the models and the migrations differ: {diff}"


def test_downgrade_to_base_and_upgrade_again(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = sa.create_engine(empty_database)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")


def test_the_migrated_audit_log_refuses_updates_and_deletes(empty_database):
    upgrade_database(empty_database)
    engine = sa.create_engine(empty_database)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table).values(at=sa.func.now(), action="login", object_type="user", detail={})
        )
    for statement in (sa.update(table).values(action="nothing"), sa.delete(table)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(sa.select(table.c.action)).scalars().all() == ["login"]
    engine.dispose()  # its pooled connection, else closed by the garbage collector, warning


def test_0007_keeps_existing_organisations_hidden_active_and_renames_a_focus_area(empty_database):
    """Issue 12: organisations made before the directory become active, version 1, hidden
    (public is never the default), searchable by name; online_safety becomes online_abuse,
    and back on a downgrade."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0004")
    engine = sa.create_engine(empty_database)
    org = sa.table(
        "organization",
        sa.column("code"),
        sa.column("name"),
        sa.column("kind"),
        sa.column("focus_areas", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    with engine.begin() as conn:
        conn.execute(
            org.insert().values(
                code="ngo-a",
                name="Hope AND Home",
                kind="ngo",
                focus_areas=["trafficking", "online_safety"],
                created_at=sa.func.now(),
            )
        )
        conn.execute(
            org.insert().values(
                code="fund",
                name="Fund",
                kind="funder",
                focus_areas=sa.null(),
                created_at=sa.func.now(),
            )
        )
    engine.dispose()
    command.upgrade(config, "head")
    engine = sa.create_engine(empty_database)
    query = sa.text(
        "SELECT code, active, version, visibility, focus_areas, search_text FROM organization "
        "ORDER BY code"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    engine.dispose()

    def areas(value):
        return json.loads(value) if isinstance(value, str) else value

    assert [(r[0], bool(r[1]), r[2], r[3], r[5]) for r in rows] == [
        ("fund", True, 1, "hidden", "fund"),
        ("ngo-a", True, 1, "hidden", "hope and home"),
    ]
    assert areas(rows[1][4]) == ["trafficking", "online_abuse"]
    assert rows[0][4] is None
    command.downgrade(config, "0004")
    engine = sa.create_engine(empty_database)
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT focus_areas FROM organization WHERE code = 'ngo-a'"))
        assert areas(back.scalar_one()) == ["trafficking", "online_safety"]
    engine.dispose()


def test_0011_keeps_one_codebook_revision_per_number(empty_database):
    """The codebook's compare-and-set is the unique revision number (migration 0011)."""
    upgrade_database(empty_database)
    engine = sa.create_engine(empty_database)
    table = sa.Table("codebook_revision", sa.MetaData(), autoload_with=engine)
    row = {
        "number": 1,
        "text": "indicators: []",
        "content_hash": "0" * 64,
        "created_at": sa.func.now(),
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(**row))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(table).values(**row))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 1
    engine.dispose()


def test_0009_adds_api_tokens_whose_rate_counts_upsert_and_go_on_a_downgrade(empty_database):
    """Issue 14: the token, idempotency and rate-window tables; the rate limit's one-statement
    upsert works on the migrated schema (SQLite and PostgreSQL); a downgrade drops them."""
    from accounts.api_tokens import services as api_tokens

    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    engine = sa.create_engine(empty_database)
    with engine.begin() as conn:
        user = conn.execute(
            sa.text(
                'INSERT INTO "user" (email, name, password_hash, active, created_at) '
                "VALUES ('a@example.org', 'A', 'x', :yes, CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"yes": True},
        ).scalar_one()
        token = conn.execute(
            sa.text(
                "INSERT INTO api_token (user_id, name, token_hash, prefix, read_only, created_at)"
                " VALUES (:user, 'cli', :hash, 'evt_abc', :no, CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"user": user, "hash": "0" * 64, "no": False},
        ).scalar_one()
    waits = [api_tokens.count_request(engine, token, limit=2, window=3600) for _ in range(3)]
    assert waits[:2] == [None, None]
    assert waits[2] is not None
    assert 1 <= waits[2] <= 3600
    engine.dispose()
    command.downgrade(config, "0011")
    engine = sa.create_engine(empty_database)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert not tables & {"api_token", "api_idempotency_key", "api_rate_window"}
    assert "user" in tables


def test_0013_summarises_the_scores_stored_before_it_and_drops_its_triggers_on_downgrade(
    empty_database,
):
    """Issue 9 (performance): the score summary the dashboard reads is filled from the scores
    already stored, exactly (17 significant digits), and a downgrade leaves score writable."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0008")
    engine = sa.create_engine(empty_database)
    score = sa.table(
        "score",
        *(sa.column(name) for name in ("assessment_id", "rubric_version_id", "source", "level")),
        *(sa.column(name) for name in ("code", "score", "computed_at")),
    )
    rows = [
        (7, 1, "self", "overall", "qc", 100 / 3),
        (7, 1, "self", "domain", "SG", 2 / 3),
        (7, 1, "self", "domain", "SV", None),
        (7, 1, "self", "indicator", "SG1", 5.0),
        (7, 1, "verified", "domain", "SG", 12.5),
        (8, 1, "self", "indicator", "SG1", 5.0),  # no overall or domain score: no summary
    ]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # rows without their assessments: no key checks
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(
            score.insert(),
            [
                dict(zip(("assessment_id", "rubric_version_id", "source", "level", "code",
                          "score"), row, strict=True)) | {"computed_at": datetime.now(UTC)}
                for row in rows
            ],
        )  # fmt: skip
    engine.dispose()
    command.upgrade(config, "head")
    engine = sa.create_engine(empty_database)
    query = sa.text(
        "SELECT assessment_id, source, overall, domain_codes, domain_scores FROM score_summary "
        "ORDER BY assessment_id, source"
    )
    with engine.connect() as conn:
        found = [
            (a, s, o, dict(zip(json.loads(c), json.loads(d), strict=True)))
            for a, s, o, c, d in conn.execute(query).all()
        ]
    engine.dispose()
    assert found == [
        (7, "self", 100 / 3, {"SG": 2 / 3, "SV": None}),  # equal, not approximately
        (7, "verified", None, {"SG": 12.5}),
    ]
    command.downgrade(config, "0008")
    engine = sa.create_engine(empty_database)
    assert "score_summary" not in sa.inspect(engine).get_table_names()
    with engine.begin() as conn:  # no trigger is left writing to the dropped table
        conn.execute(sa.update(score).values(score=1.0))
        conn.execute(sa.delete(score))
    engine.dispose()
