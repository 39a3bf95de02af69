"""API tokens: made and revoked by their person, checked on every API request, counted for the
rate limit, and the answers to idempotent writes kept.

Services take the session and flush; the view commits. :func:`note_use` and :func:`count_request`
are the exception, like :func:`accounts.sessions.check`: they run on every API request on a
connection of their own, so that counting a GET never holds the request's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from accounts.api_tokens.models import ApiIdempotencyKey, ApiRateWindow, ApiToken
from accounts.clock import aware, now
from accounts.models import AuditEvent, User
from accounts.services import AccountError, audit

PREFIX = "evt_"  # every token starts so: secret scanners and people can tell what it is
MAX_NAME = 100
MAX_DAYS = 3650
MAX_TOKENS = 50  # live tokens per person


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# --- made and revoked by their person ------------------------------------------------------------


def create_token(
    session: Session,
    *,
    user: User,
    name: str,
    read_only: bool,
    expires_in_days: int | None,
) -> tuple[ApiToken, str]:
    """A new token of ``user``, and its secret (shown once: only its digest is stored)."""
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise AccountError(_l("Give the token a name, to recognise it later."))
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise AccountError(_l("A token expires after 1 to %(days)s days, or never.", days=MAX_DAYS))
    if len(live_tokens(session, user)) >= MAX_TOKENS:
        raise AccountError(
            _l("You have %(count)s tokens already: revoke one first.", count=MAX_TOKENS)
        )
    moment = now()
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,  # type: ignore[arg-type]
        name=name,
        token_hash=digest(raw),
        prefix=raw[: len(PREFIX) + 6],
        read_only=read_only,
        created_at=moment,
        expires_at=moment + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    session.flush()
    audit(
        session,
        actor=user,
        action="api_token_created",
        object_type="api_token",
        object_id=token.id,
        name=name,
        read_only=read_only,
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
    )
    return token, raw


def live_tokens(session: Session, user: User) -> list[ApiToken]:
    """The person's tokens not revoked (expired ones included, marked so by the page), newest
    first."""
    return list(
        session.exec(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        ).all()
    )


def is_expired(token: ApiToken, moment: datetime | None = None) -> bool:
    return token.expires_at is not None and aware(token.expires_at) <= (moment or now())


class TokenGone(LookupError):
    """No live token of this person by that id (another's, unknown, or revoked already)."""


def revoke_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    """Revoke one of the person's tokens: it opens nothing from the next request on."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise TokenGone(token_id)
    done = session.execute(
        sa.update(ApiToken)
        .where(col(ApiToken.id) == token_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenGone(token_id)
    session.refresh(token)
    audit(
        session,
        actor=user,
        action="api_token_revoked",
        object_type="api_token",
        object_id=token.id,
        name=token.name,
    )
    return token


# --- checked on every request ---------------------------------------------------------------------


@dataclass(frozen=True)
class Authenticated:
    token: ApiToken
    user: User


def authenticate(session: Session, raw: str) -> Authenticated | None:
    """The live token ``raw`` and its person (active), or None: unknown, revoked, expired, or
    its person deactivated."""
    if not raw or len(raw) > 200:
        return None
    wanted = digest(raw)
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == wanted)).first()
    if (
        token is None
        or not hmac.compare_digest(token.token_hash, wanted)
        or token.revoked_at is not None
        or is_expired(token)
    ):
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    return Authenticated(token, user)


TOUCH_EVERY = timedelta(seconds=60)


def note_use(engine: sa.Engine, token: ApiToken, *, address: str | None, agent: str | None) -> bool:
    """Note that ``token`` was used (``last_used_at``, at most once a minute); the first use of
    each day (UTC) goes to the audit log. Returns whether this was that first use.

    Each update is a compare-and-set on ``last_used_at``, so two requests at the same moment
    write one audit event between them."""
    moment = now()
    day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    table = ApiToken.__table__  # type: ignore[attr-defined]
    events = AuditEvent.__table__  # type: ignore[attr-defined]
    last = aware(token.last_used_at) if token.last_used_at else None
    if last is not None and moment - last < TOUCH_EVERY and last >= day_start:
        return False
    with engine.begin() as connection:
        first_today = connection.execute(
            sa.update(table)
            .where(
                table.c.id == token.id,
                sa.or_(table.c.last_used_at.is_(None), table.c.last_used_at < day_start),
            )
            .values(last_used_at=moment)
        )
        if first_today.rowcount == 1:
            connection.execute(
                sa.insert(events).values(
                    at=moment,
                    actor_id=token.user_id,
                    action="api_token_used",
                    object_type="api_token",
                    object_id=str(token.id),
                    detail={"name": token.name, "first_use_on": moment.date().isoformat()},
                    address=address,
                    user_agent=agent,
                )
            )
            return True
        connection.execute(
            sa.update(table)
            .where(table.c.id == token.id, table.c.last_used_at < moment - TOUCH_EVERY)
            .values(last_used_at=moment)
        )
    return False


def count_request(engine: sa.Engine, token_id: int, *, limit: int, window: int) -> int | None:
    """Count one request of the token in the current window of ``window`` seconds: None if it
    is within ``limit``, else the seconds until the window ends (``Retry-After``). One upsert,
    so concurrent requests of every worker count exactly; earlier windows are deleted."""
    if limit <= 0:
        return None
    moment = now().timestamp()
    current = int(moment // window)
    table = ApiRateWindow.__table__  # type: ignore[attr-defined]
    insert: Any = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(table)
    statement = (
        insert.values(token_id=token_id, window_number=current, count=1)
        .on_conflict_do_update(
            index_elements=[table.c.token_id, table.c.window_number],
            set_={"count": table.c["count"] + 1},
        )
        .returning(table.c["count"])
    )
    with engine.begin() as connection:
        count = int(connection.execute(statement).scalar_one())
        if count == 1:  # a new window: forget the token's earlier ones
            connection.execute(
                sa.delete(table).where(
                    table.c.token_id == token_id, table.c.window_number < current
                )
            )
    if count <= limit:
        return None
    return max(1, ceil((current + 1) * window - moment))


# --- idempotent writes ----------------------------------------------------------------------------


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def stored_answer(session: Session, token_id: int, key: str) -> ApiIdempotencyKey | None:
    return session.exec(
        select(ApiIdempotencyKey).where(
            ApiIdempotencyKey.token_id == token_id, ApiIdempotencyKey.key == key
        )
    ).first()


KEYS_KEPT = timedelta(hours=24)  # how long a key's answer is given again


def store_answer(
    session: Session, *, token_id: int, key: str, request: str, status: int, body: Any
) -> ApiIdempotencyKey:
    """Keep the answer to the write sent with ``key`` (in the write's own transaction: both are
    committed, or neither). A second request with the key at the same moment fails on the
    unique constraint, and is answered what the first stored. The token's keys older than
    :data:`KEYS_KEPT` are forgotten."""
    session.execute(
        sa.delete(ApiIdempotencyKey)
        .where(
            col(ApiIdempotencyKey.token_id) == token_id,
            col(ApiIdempotencyKey.created_at) < now() - KEYS_KEPT,
        )
        .execution_options(synchronize_session=False)
    )
    row = ApiIdempotencyKey(
        token_id=token_id, key=key, request_hash=request, status=status, body=body, created_at=now()
    )
    session.add(row)
    session.flush()
    return row
