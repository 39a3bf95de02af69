"""Fixtures: one fresh app and database per test, on SQLite (a real file) or PostgreSQL.

``TEST_DB=postgresql`` runs the suite on a throwaway PostgreSQL cluster that this file starts
and stops (or on ``TEST_DATABASE_URL`` when given). Under ``CI=true`` a missing PostgreSQL is a
failure, never a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, SQLModel

import webapp.models_registry  # noqa: F401  (every table in the metadata)
from accounts import services as accounts
from accounts.models import Organization, Role, User
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles import services as surveys
from surveys.models import Assessment
from webapp import create_app
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "rubrics" / "library"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing database is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for this session: TEST_DATABASE_URL, or a throwaway cluster."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    if not (PGBIN / "initdb").exists():
        _unavailable(f"PostgreSQL binaries not found in {PGBIN}")
    # The cluster runs as the postgres user, who must reach its folder: a TMPDIR inside a
    # root-only folder (as CI's scratch space may be) would not do, /tmp always does.
    reachable = "/tmp" if os.geteuid() == 0 else None  # noqa: S108 - mkdtemp's own 0700 folder
    base = Path(tempfile.mkdtemp(prefix="evaluator-pg-", dir=reachable))
    data, port = base / "data", _free_port()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb and pg_ctl refuse to run as root
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    base.chmod(0o700)

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True)

    run(
        str(PGBIN / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    run(
        str(PGBIN / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(base / "server.log"),
        "-w",
        "-o",
        options,
        "start",
    )
    try:
        run(
            str(PGBIN / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "evaluator_test",
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/evaluator_test"
    finally:
        run(str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


# Fixtures through which a test reaches a database. The PostgreSQL run (TEST_DB=postgresql)
# repeats only the tests that use one of them: the rest (the engine, the rubric loader, the
# XLSForm reader...) never open a connection, so a second run of them would test nothing new.
DATABASE_FIXTURES = frozenset(
    {"backend", "database_url", "postgres_url", "app", "session", "client"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TEST_DB") != "postgresql":
        return
    kept, skipped = [], []
    for item in items:
        uses_database = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        (kept if uses_database else skipped).append(item)
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Real argon2id, with the cost lowered for tests: the default costs ~0.3 s per hash."""
    from argon2 import PasswordHasher

    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = original


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgresql" if os.environ.get("TEST_DB") == "postgresql" else "sqlite"


@pytest.fixture(scope="session")
def _postgres_schema(request: pytest.FixtureRequest, backend: str) -> str | None:
    """On PostgreSQL: the schema is created once; each test empties the tables afterwards."""
    if backend != "postgresql":
        return None
    url: str = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with the whole schema, made once and copied for every test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, _postgres_schema: str | None
) -> Iterator[str]:
    if backend == "postgresql":
        assert _postgres_schema
        yield _postgres_schema
        engine = sa.create_engine(_postgres_schema)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        engine.dispose()
    else:
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        yield f"sqlite:///{target}"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app. No app context stays pushed: each request gets its own, as in production
    (a context shared across requests would share ``g``, and with it the logged-in user)."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask, database_url: str) -> Iterator[Session]:
    """The test's own database session, on its own connection: what it commits, requests see;
    to see what requests wrote, expire or refresh the objects it holds."""
    engine = sa.create_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- factories -------------------------------------------------------------------------------


@pytest.fixture
def make_org(session: Any) -> Callable[..., Organization]:
    counter = iter(range(1, 10_000))

    def make(
        name: str = "NGO A", kind: str = "ngo", code: str | None = None, country: str = "AL"
    ) -> Organization:
        org = Organization(
            code=code or f"org-{next(counter)}", name=name, kind=kind, country=country
        )
        session.add(org)
        session.commit()
        return org

    return make


@pytest.fixture
def make_user(session: Any, make_org: Callable[..., Organization]) -> Callable[..., User]:
    def make(
        email: str = "ana@example.org",
        role: Role = Role.NGO_ADMIN,
        org: Organization | None = None,
        name: str = "Ana",
    ) -> User:
        if org is None and role in (Role.NGO_ADMIN, Role.NGO_MEMBER, Role.FUNDER):
            org = make_org(kind="funder" if role == Role.FUNDER else "ngo")
        user = accounts.create_user(session, email=email, name=name, password=PASSWORD)
        accounts.add_membership(session, user=user, role=role, organization=org)
        session.commit()
        return user

    return make


@pytest.fixture
def published_version(session: Any) -> Callable[..., Any]:
    def make(name: str = "quick-check") -> Any:
        rubric = load_rubric(LIBRARY / f"{name}.yaml")
        version = rubric_services.store_rubric(session, rubric)
        rubric_services.publish(session, version)
        session.commit()
        return version

    return make


@pytest.fixture
def make_assessment(
    session: Any, make_org: Any, published_version: Any
) -> Callable[..., Assessment]:
    counter = iter(range(1, 10_000))

    def make(org: Organization | None = None, rubric: str = "quick-check") -> Assessment:
        org = org or make_org()
        version = published_version(rubric)
        cycle = surveys.open_cycle(
            session,
            code=f"cycle-{next(counter)}",
            name="Cycle 2026",
            version=version,
            organizations=[org],
        )
        session.commit()
        return session.exec(
            sa.select(Assessment).where(Assessment.cycle_id == cycle.id)  # type: ignore[arg-type]
        ).scalar_one()

    return make


# --- client helpers --------------------------------------------------------------------------

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token of the form at ``url`` (tests post real forms with real tokens)."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def logged_in(client: FlaskClient) -> Callable[[User], FlaskClient]:
    def do(user: User) -> FlaskClient:
        response = login(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do


@pytest.fixture
def csrf() -> Callable[..., str]:
    return csrf_token


@pytest.fixture
def login_as() -> Callable[..., Any]:
    return login


def server_session(app: Flask, user_id: int) -> dict[str, Any]:
    """What a browser's cookie holds once ``user_id`` has logged in on ``app``: a live
    server-side session started for them (for tests that log many people in without the form)."""
    from accounts import sessions as server_sessions

    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None, user_id
        started = server_sessions.start_session(db.session, user)
        db.session.commit()
        return {"_user_id": str(user_id), "_fresh": True, server_sessions.SESSION_KEY: started.id}


@pytest.fixture
def log_in_directly(session: Any) -> Callable[[FlaskClient, User], FlaskClient]:
    """Log ``user`` in on ``client`` without the login form (fast, for tests that log in many
    people): a live server-side session, and its id in the signed cookie."""
    from accounts import sessions as server_sessions

    def do(client: FlaskClient, user: User) -> FlaskClient:
        started = server_sessions.start_session(session, user)
        session.commit()
        with client.session_transaction() as browser_session:
            browser_session["_user_id"] = str(user.id)
            browser_session["_fresh"] = True
            browser_session[server_sessions.SESSION_KEY] = started.id
        return client

    return do
