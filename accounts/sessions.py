"""Server-side sessions: the signed cookie carries a random session id, and a login counts only
while its ``user_session`` row is live. Logout, a password change or reset, deactivation and
"log out everywhere" end rows; so does inactivity longer than ``SESSION_IDLE_MINUTES``.

Services take the session and flush, as elsewhere. :func:`check` is the exception: it runs on
every request before the request's own transaction starts, on a connection of its own, so that
noting the time a session was last seen never waits on (or holds) the request's write lock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import has_request_context, request
from sqlmodel import Session, col, select

from accounts.clock import aware, now
from accounts.models import User, UserSession

SESSION_KEY = "_sid"  # the key of the session id in the signed cookie
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often per session

LOGOUT = "logout"
IDLE = "idle"
EVERYWHERE = "logout_everywhere"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a password
PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a password
DEACTIVATED = "deactivated"


def _client() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    address = (request.remote_addr or "")[:45] or None
    agent = (request.user_agent.string or "")[:255] or None
    return address, agent


def start_session(db_session: Session, user: User) -> UserSession:
    """A new live session for ``user`` (at login), from this request's address and browser."""
    address, agent = _client()
    moment = now()
    row = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,  # type: ignore[arg-type]
        created_at=moment,
        last_seen_at=moment,
        address=address,
        user_agent=agent,
    )
    db_session.add(row)
    db_session.flush()
    return row


def end_sessions(
    db_session: Session, user: User, *, except_id: str | None = None, reason: str = EVERYWHERE
) -> int:
    """End every live session of ``user`` (but ``except_id``, the one in use, when given), as
    for a password change or reset, a deactivation or "log out everywhere". Returns how many."""
    where = [col(UserSession.user_id) == user.id, col(UserSession.ended_at).is_(None)]
    if except_id is not None:
        where.append(col(UserSession.id) != except_id)
    done = db_session.execute(
        sa.update(UserSession)
        .where(*where)
        .values(ended_at=now(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db_session.flush()
    return int(done.rowcount)  # type: ignore[attr-defined]


def end_session(db_session: Session, session_id: str | None, *, reason: str = LOGOUT) -> None:
    """End one session (logout); nothing if it is unknown or ended already."""
    if not session_id:
        return
    db_session.execute(
        sa.update(UserSession)
        .where(col(UserSession.id) == session_id, col(UserSession.ended_at).is_(None))
        .values(ended_at=now(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db_session.flush()


def live_sessions(db_session: Session, user: User) -> list[UserSession]:
    """The person's live sessions, the most recently seen first (the account page)."""
    return list(
        db_session.exec(
            select(UserSession)
            .where(UserSession.user_id == user.id, col(UserSession.ended_at).is_(None))
            .order_by(col(UserSession.last_seen_at).desc())
        ).all()
    )


@dataclass(frozen=True)
class Checked:
    """What :func:`check` found: whether the cookie's session is live, and if it is not,
    whether it ended for inactivity just now."""

    live: bool
    idle: bool = False


def check(engine: sa.Engine, user_id: int, session_id: object, idle: timedelta) -> Checked:
    """Whether ``session_id`` is a live session of ``user_id``, seen within ``idle``; ends it
    when it was idle too long, and notes that it was seen (at most every minute)."""
    if not isinstance(session_id, str) or not session_id or len(session_id) > 64:
        return Checked(False)
    table = UserSession.__table__  # type: ignore[attr-defined]
    with engine.connect().execution_options(evaluator_read_only=True) as connection:
        row = connection.execute(
            sa.select(table.c.user_id, table.c.last_seen_at, table.c.ended_at).where(
                table.c.id == session_id
            )
        ).first()
        connection.rollback()
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return Checked(False)
    moment = now()
    last_seen = aware(row.last_seen_at)
    if moment - last_seen > idle:
        _write(engine, session_id, ended_at=moment, end_reason=IDLE)
        return Checked(False, idle=True)
    if moment - last_seen >= TOUCH_EVERY:
        _write(engine, session_id, last_seen_at=moment)
    return Checked(True)


def _write(engine: sa.Engine, session_id: str, **values: object) -> None:
    table = UserSession.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            sa.update(table)
            .where(table.c.id == session_id, table.c.ended_at.is_(None))
            .values(**values)
        )
