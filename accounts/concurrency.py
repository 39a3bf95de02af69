"""Compare-and-set: the one way a row that people edit concurrently is written.

Every such row carries a version column. A write names the version its author saw and is one
``UPDATE ... WHERE id = :id AND <version> = :seen`` whose row count says whether it won; the first
write of a row is an INSERT that a unique constraint lets win once. Checking the version in
Python and then writing is not enough: under PostgreSQL's READ COMMITTED two requests can both
pass such a check, and the later overwrites the earlier. A lost race raises :class:`StaleWrite`,
which carries the row as it is now, so the caller can show both values.

It lives here, in the lowest layer that talks to the database, because rubrics (drafts) and
surveys (answers, reviews, plan actions) both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel

Row = TypeVar("Row", bound=SQLModel)


class StaleWrite(Exception):
    """A write that lost: the row moved on from the version its author saw (or was inserted by
    someone else first). ``current`` is the row as stored now (None if it is gone), ``yours``
    the values that were not written, ``seen`` the version they were based on."""

    def __init__(
        self,
        current: Any,
        *,
        yours: Mapping[str, Any] | None = None,
        seen: int | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(message or "someone else changed this meanwhile")
        self.current = current
        self.yours = dict(yours or {})
        self.seen = seen


def compare_and_set(
    session: Session,
    row: Row,
    *,
    seen: int | None,
    values: Mapping[str, Any],
    version: str = "version",
    where: tuple[sa.ColumnElement[bool], ...] = (),
) -> int:
    """Write ``values`` to ``row`` if its stored ``version`` column is still ``seen``, bumping it.

    Returns the new version. Raises :class:`StaleWrite` (``current`` refreshed from the
    database) when the row has moved on, is gone, or fails one of the extra ``where`` clauses;
    nothing is written then. On success ``row`` holds the written values, as committed state.
    """
    table = cast(sa.Table, row.__table__)  # type: ignore[attr-defined]
    key = table.c.id
    if seen is None:
        raise StaleWrite(_reload(session, row), yours=values, seen=seen)
    session.flush()  # what else is pending goes first, so that it cannot overwrite the guard
    result = session.execute(
        sa.update(table)
        .where(key == row.id, table.c[version] == seen, *where)  # type: ignore[attr-defined]
        .values({**values, version: seen + 1})
    )
    if cast(sa.CursorResult[Any], result).rowcount != 1:
        raise StaleWrite(_reload(session, row), yours=values, seen=seen)
    for name, value in {**values, version: seen + 1}.items():
        set_committed_value(row, name, value)
    return seen + 1


def insert_once(session: Session, row: Row, *, key: Mapping[str, Any]) -> None:
    """Insert ``row``, the first of its ``key`` (the columns of a unique constraint).

    Two people can both find no row and both insert: the constraint lets one win, and the
    other gets :class:`StaleWrite` carrying the winner's row. The insert runs in a savepoint,
    so losing leaves the rest of the transaction intact.
    """
    model = type(row)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        current = session.execute(sa.select(model).filter_by(**key)).scalars().first()
        if current is None:  # not the race: another constraint failed
            raise
        session.refresh(current)
        raise StaleWrite(current, yours=_values_of(row), seen=None) from None


def _reload(session: Session, row: Row) -> Any:
    try:
        session.refresh(row)
    except sa.exc.InvalidRequestError:  # deleted meanwhile
        return None
    return row


def _values_of(row: SQLModel) -> dict[str, Any]:
    return {c.key: getattr(row, c.key, None) for c in sa.inspect(type(row)).columns}
