"""A real SMTP server for tests (aiosmtpd), keeping what it receives, and a module-scoped
database for test modules that seed one world and share it."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlmodel import SQLModel


class _Handler:
    def __init__(self, received: list[Any]) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 OK"


@dataclass
class SmtpSink:
    port: int
    envelopes: list[Any] = field(default_factory=list)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        found = []
        for envelope in self.envelopes:
            if to is None or to in envelope.rcpt_tos:
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                found.append(parsed)  # type: ignore[arg-type]
        return found

    def clear(self) -> None:
        self.envelopes.clear()


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(message: EmailMessage, path: str) -> str:
    """The path of the first link to ``path...`` in the message's plain text."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s<\"]*)", text_of(message))
    assert match, f"no {path} link in {text_of(message)!r}"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=_free_port())
    controller = Controller(_Handler(sink.envelopes), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def _truncate(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@contextmanager
def module_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """An empty database with the schema for one test module: a copy of the SQLite template,
    or the PostgreSQL test database, emptied before and after."""
    if backend == "postgresql":
        url: str = request.getfixturevalue("_postgres_schema")
        _truncate(url)
        try:
            yield url
        finally:
            _truncate(url)
        return
    target = folder / "module.sqlite3"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
    yield f"sqlite:///{target}"


@contextmanager
def mail_app(
    request: pytest.FixtureRequest, backend: str, folder: Path, smtp: SmtpSink, **config: Any
) -> Iterator[Any]:
    """An app of its own for a test module, on :func:`module_database`, sending its mail to
    ``smtp`` (``config`` adds or overrides settings)."""
    from webapp import create_app
    from webapp.extensions import db

    with module_database(request, backend, folder) as url:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "DATABASE_URL": url,
                "UPLOAD_FOLDER": str(folder / "uploads"),
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": smtp.port,
                "BASE_URL": "http://evaluator.test",
                **config,
            }
        )
        yield app
        with app.app_context():
            db.engine.dispose()


@contextmanager
def module_session(app: Any) -> Iterator[Any]:
    """The module's own database session (objects stay readable after commits)."""
    from sqlmodel import Session

    engine = sa.create_engine(app.config["DATABASE_URL"])
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()
