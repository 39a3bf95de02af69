"""Login throttling, by account and by address, over a sliding window.

Failed logins are rows of ``login_failure`` in the app's database, so every gunicorn worker
(and every server of one installation) counts the same failures. Flask-Limiter was considered:
its storages (the ``limits`` package) are memory, Redis, Memcached, MongoDB and etcd, none of
them the database or a file, and an in-memory count per worker would multiply the limit by the
number of workers.

An account with ``LOGIN_ACCOUNT_LIMIT`` failures within ``LOGIN_THROTTLE_WINDOW`` seconds, or
an address with ``LOGIN_ADDRESS_LIMIT``, is refused (429, ``Retry-After``) until its oldest
failure in the window is older than the window: the lock always lifts by itself, and refused
attempts are not counted, so waiting is always enough. A successful login clears the account's
failures.

With ``LOGIN_THROTTLE_REDIS_URL`` set (``redis://host:6379/0``) the same counts are kept in
Redis instead (a sorted set per account and per address, expiring with the window), for
installations that run several servers against one Redis; the rules are the same.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col

from accounts.clock import aware, now
from accounts.models import LoginFailure

DEFAULTS: dict[str, Any] = {
    "LOGIN_THROTTLE_WINDOW": 15 * 60,  # seconds
    "LOGIN_ACCOUNT_LIMIT": 10,  # failures per account within the window
    "LOGIN_ADDRESS_LIMIT": 50,  # failures per address within the window
    "LOGIN_THROTTLE_REDIS_URL": None,  # None: count in the database
}
REDIS_PREFIX = "evaluator:login-failures"


@dataclass(frozen=True)
class Limits:
    window: timedelta
    per_account: int
    per_address: int

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        def get(key: str) -> int:
            return int(config.get(key, DEFAULTS[key]))

        return cls(
            timedelta(seconds=get("LOGIN_THROTTLE_WINDOW")),
            get("LOGIN_ACCOUNT_LIMIT"),
            get("LOGIN_ADDRESS_LIMIT"),
        )


@dataclass(frozen=True)
class Refusal:
    """Why a login attempt is refused before the password is even checked."""

    scope: str  # "account" or "address"
    retry_after: int  # seconds


def _oldest_counting(
    session: Session, column: Any, value: str, limit: int, since: datetime
) -> datetime | None:
    """The time of the failure whose leaving the window lets the next attempt through, when
    ``value`` has ``limit`` failures or more since ``since``; else None."""
    if limit <= 0:
        return None
    times = session.execute(
        sa.select(col(LoginFailure.at))
        .where(column == value, col(LoginFailure.at) > since)
        .order_by(col(LoginFailure.at).desc())
        .limit(limit)
    ).scalars()
    found = [aware(t) for t in times]
    return found[-1] if len(found) >= limit else None


def refusal(session: Session, *, email: str, address: str, limits: Limits) -> Refusal | None:
    """Whether an attempt for ``email`` from ``address`` must wait, and how long."""
    moment = now()
    since = moment - limits.window
    for scope, column, value, limit in (
        ("account", col(LoginFailure.email), email, limits.per_account),
        ("address", col(LoginFailure.address), address, limits.per_address),
    ):
        oldest = _oldest_counting(session, column, value, limit, since)
        if oldest is not None:
            wait = (oldest + limits.window - moment).total_seconds()
            return Refusal(scope, max(1, ceil(wait)))
    return None


def record_failure(session: Session, *, email: str, address: str, limits: Limits) -> None:
    """Count a failed attempt, and forget the failures older than the window (of everyone)."""
    moment = now()
    session.execute(
        sa.delete(LoginFailure)
        .where(col(LoginFailure.at) <= moment - limits.window)
        .execution_options(synchronize_session=False)
    )
    session.add(LoginFailure(at=moment, email=email[:254], address=address[:45]))
    session.flush()


def clear_account(session: Session, *, email: str) -> None:
    """A successful login: the account's failures no longer count."""
    session.execute(
        sa.delete(LoginFailure)
        .where(col(LoginFailure.email) == email)
        .execution_options(synchronize_session=False)
    )
    session.flush()


# --- one interface, two stores --------------------------------------------------------------------


class Counter(Protocol):
    def refusal(self, *, email: str, address: str, limits: Limits) -> Refusal | None: ...

    def record_failure(self, *, email: str, address: str, limits: Limits) -> None: ...

    def clear_account(self, *, email: str) -> None: ...


@dataclass
class DatabaseCounter:
    """The failures in the ``login_failure`` table (the default)."""

    session: Session

    def refusal(self, *, email: str, address: str, limits: Limits) -> Refusal | None:
        return refusal(self.session, email=email, address=address, limits=limits)

    def record_failure(self, *, email: str, address: str, limits: Limits) -> None:
        record_failure(self.session, email=email, address=address, limits=limits)

    def clear_account(self, *, email: str) -> None:
        clear_account(self.session, email=email)


_redis_clients: dict[str, Any] = {}


@dataclass
class RedisCounter:
    """The failures in Redis: per account and per address, a sorted set of failure times."""

    client: Any  # redis.Redis

    @staticmethod
    def _keys(email: str, address: str) -> tuple[str, str]:
        return f"{REDIS_PREFIX}:account:{email}", f"{REDIS_PREFIX}:address:{address}"

    def refusal(self, *, email: str, address: str, limits: Limits) -> Refusal | None:
        moment = now()
        since = (moment - limits.window).timestamp()
        account, by_address = self._keys(email, address)
        for scope, key, limit in (
            ("account", account, limits.per_account),
            ("address", by_address, limits.per_address),
        ):
            if limit <= 0:
                continue
            newest = self.client.zrevrangebyscore(
                key, "+inf", f"({since}", start=0, num=limit, withscores=True
            )
            if len(newest) >= limit:
                oldest = datetime.fromtimestamp(newest[-1][1], UTC)
                wait = (oldest + limits.window - moment).total_seconds()
                return Refusal(scope, max(1, ceil(wait)))
        return None

    def record_failure(self, *, email: str, address: str, limits: Limits) -> None:
        moment = now().timestamp()
        seconds = max(1, ceil(limits.window.total_seconds()))
        pipe = self.client.pipeline()
        for key in self._keys(email, address):
            pipe.zadd(key, {f"{moment}:{secrets.token_hex(4)}": moment})
            pipe.zremrangebyscore(key, "-inf", moment - limits.window.total_seconds())
            pipe.expire(key, seconds)
        pipe.execute()

    def clear_account(self, *, email: str) -> None:
        self.client.delete(self._keys(email, "")[0])


def counter(config: Any, session: Session) -> Counter:
    """Where failed logins are counted: Redis when ``LOGIN_THROTTLE_REDIS_URL`` is set, else
    the database."""
    url = config.get("LOGIN_THROTTLE_REDIS_URL")
    if not url:
        return DatabaseCounter(session)
    client = _redis_clients.get(url)
    if client is None:
        import redis  # only needed when configured

        client = _redis_clients[url] = redis.Redis.from_url(url)
    return RedisCounter(client)
