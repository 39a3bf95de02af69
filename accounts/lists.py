"""The state of a list page (search, sort, filters, page) read from the URL, and one page of a
select in that state: every list that can grow searches, sorts, filters and pages the same
way, in SQL, with its state in the URL (GET forms and plain links, so it works without
JavaScript and a view can be shared).

Reading never fails: an unknown sort key falls back to the list's default, an unknown filter
value is dropped (it would match nothing anyway), a page that is not a number is page 1 and a
page past the end is the last page. Sorting and filtering add clauses to the caller's select,
which is already scoped by the permissions core (``visible_assessments`` and the like), so a
filter or an id in the URL can only narrow what the viewer may see.

Here, in ``accounts``, because the people and organisation lists use it too and every layer
may import ``accounts``; the macros that draw it are in ``webapp/templates/macros.html``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import request, url_for
from sqlmodel import Session

PAGE_SIZE = 25
"""Rows per page of every list (people: the same, the audit log and the dashboard keep theirs)."""
MAX_QUERY = 100  # characters of search text kept
MAX_PAGE = 100_000
MAX_KEPT = 30  # other arguments of the page kept on its links (another list's state, ``lang``)
ASC, DESC = "asc", "desc"

T = TypeVar("T")
AnySelect = sa.Select[*tuple[Any, ...]]
"""A select of any columns (SQLAlchemy 2.1's ``Select`` is generic in each of them)."""


@dataclass(frozen=True)
class ListSpec:
    """What one list offers: its sort keys (each an expression or a tuple of them), the
    default sort, its filters with their allowed values, and a ``prefix`` for its URL
    arguments when a page holds several lists (the home page)."""

    sorts: Mapping[str, Any]
    default_sort: str
    default_dir: str = ASC
    filters: Mapping[str, Collection[str]] = field(default_factory=dict)
    tiebreak: Sequence[Any] = ()  # unique columns last, so that pages never overlap
    prefix: str = ""
    anchor: str | None = None  # the section of the page that links return to
    page_size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if self.default_sort not in self.sorts:
            raise ValueError(f"default_sort: {self.default_sort!r} is not a sort key")
        if self.default_dir not in (ASC, DESC):
            raise ValueError(f"default_dir: {self.default_dir!r} is neither asc nor desc")


def clean_query(raw: object) -> str:
    """Search text as typed, spaces collapsed, at most :data:`MAX_QUERY` characters."""
    return " ".join(str(raw or "").split())[:MAX_QUERY]


def _page(raw: object) -> int:
    text = str(raw or "").strip()
    if not text.isascii() or not text.isdigit():
        return 1
    return max(1, min(int(text[:7]), MAX_PAGE))


@dataclass(frozen=True)
class ListState:
    """One list's search text, sort, direction, filters and page, as asked for in the URL."""

    spec: ListSpec
    q: str = ""
    sort: str = ""
    dir: str = ASC
    filters: Mapping[str, str] = field(default_factory=dict)
    page: int = 1
    kept: tuple[tuple[str, str], ...] = ()  # the page's other arguments, kept on every link

    def name(self, key: str) -> str:
        """The URL argument (and form field) of ``key`` for this list."""
        return self.spec.prefix + key

    def get(self, name: str) -> str:
        """The chosen value of filter ``name`` ('' for none)."""
        return self.filters.get(name, "")

    @property
    def any(self) -> bool:
        """Whether a search or a filter narrows the list."""
        return bool(self.q or any(self.filters.values()))

    # --- URLs -------------------------------------------------------------------------------

    def args(self, **changes: Any) -> dict[str, str]:
        """This list's URL arguments with ``changes`` (q, sort, dir, page or a filter's name),
        defaults left out, followed by the page's other arguments."""
        values: dict[str, Any] = {
            "q": self.q,
            "sort": self.sort,
            "dir": self.dir,
            **self.filters,
            "page": self.page,
        }
        values.update(changes)
        sort = values["sort"] or self.spec.default_sort
        direction = values["dir"] or self.spec.default_dir
        if sort == self.spec.default_sort and direction == self.spec.default_dir:
            values["sort"] = values["dir"] = ""  # the default order: a shorter address
        if str(values.get("page") or 1) == "1":
            values["page"] = ""
        own = {self.name(k): str(v) for k, v in values.items() if v not in ("", None)}
        return {**dict(self.kept), **own}

    def url(self, **changes: Any) -> str:
        """This page's address with the list in this state, changed by ``changes``."""
        anchor = {"_anchor": self.spec.anchor} if self.spec.anchor else {}
        # the path's own arguments win over any query argument of the same name
        values: dict[str, Any] = {**self.args(**changes), **(request.view_args or {}), **anchor}
        return url_for(request.endpoint or "main.home", **values)

    def action(self) -> str:
        """Where the list's search form goes (its fields carry the state)."""
        return url_for(request.endpoint or "main.home", **(request.view_args or {}))

    def hidden(self) -> list[tuple[str, str]]:
        """What the search form carries besides its fields: the sort and the page's other
        arguments (a new search starts at page 1)."""
        own = self.args(q="", page=1, **dict.fromkeys(self.spec.filters, ""))
        return list(own.items())

    def sort_url(self, key: str) -> str:
        """The link of a column header: sort by ``key``, reversing the direction when the
        list is already sorted by it; back to the first page."""
        direction = (DESC if self.dir == ASC else ASC) if key == self.sort else ASC
        return self.url(sort=key, dir=direction, page=1)

    def aria_sort(self, key: str) -> str | None:
        """The header's ``aria-sort``: only the column the list is sorted by carries one."""
        if key != self.sort:
            return None
        return "ascending" if self.dir == ASC else "descending"

    def clear_url(self) -> str:
        """The list without search and filters (its sort kept)."""
        return self.url(q="", page=1, **dict.fromkeys(self.spec.filters, ""))

    # --- SQL --------------------------------------------------------------------------------

    def order_by(self) -> list[Any]:
        """ORDER BY clauses: the chosen key in the chosen direction (empty values last in
        both directions, on SQLite and PostgreSQL alike), then the tiebreak."""
        chosen = self.spec.sorts[self.sort]
        columns = chosen if isinstance(chosen, tuple | list) else (chosen,)
        ordered = [(c.desc() if self.dir == DESC else c.asc()).nulls_last() for c in columns]
        return [*ordered, *self.spec.tiebreak]


def read_list(args: Mapping[str, Any], spec: ListSpec) -> ListState:
    """The list's state in ``args`` (``request.args``), every value checked."""
    own = {spec.prefix + k for k in ("q", "sort", "dir", "page", *spec.filters)}
    sort = str(args.get(spec.prefix + "sort") or "")
    if sort not in spec.sorts:
        sort = spec.default_sort
    direction = str(args.get(spec.prefix + "dir") or "")
    if direction not in (ASC, DESC):
        direction = spec.default_dir
    filters = {}
    for name, allowed in spec.filters.items():
        value = str(args.get(spec.prefix + name) or "").strip()
        if value and value in allowed:
            filters[name] = value
    kept: list[tuple[str, str]] = []
    for key in args:
        # url_for reads arguments starting with "_" itself (_external, _anchor, ...)
        if key in own or key.startswith("_") or len(kept) >= MAX_KEPT or len(key) > 40:
            continue
        value = str(args.get(key) or "")
        if value and len(value) <= 200:
            kept.append((key, value))
    return ListState(
        spec=spec,
        q=clean_query(args.get(spec.prefix + "q")),
        sort=sort,
        dir=direction,
        filters=filters,
        page=_page(args.get(spec.prefix + "page")),
        kept=tuple(kept),
    )


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own wildcards taken literally
    (with ``escape="\\\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(text: str, *columns: Any) -> sa.ColumnElement[bool]:
    """Any of ``columns`` holds ``text``, ignoring case (of ASCII letters on SQLite, of every
    letter on PostgreSQL, whose ``lower`` knows Greek)."""
    pattern = like_pattern(text.lower())
    return sa.or_(*(sa.func.lower(c).like(pattern, escape="\\") for c in columns))


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list: its rows, how many rows the list has, and where this page is."""

    rows: list[T]
    total: int
    page: int
    pages: int
    state: ListState

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 when the list is empty)."""
        return (self.page - 1) * self.state.spec.page_size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    def url(self, page: int) -> str:
        return self.state.url(page=page)


def page_of(session: Session, query: AnySelect, state: ListState) -> ListPage[Any]:
    """One page of ``query`` (already filtered) in the state's order: counts the rows, keeps
    the page within the list, then reads only that page's rows."""
    total = int(
        session.execute(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        ).scalar_one()
    )
    size = state.spec.page_size
    pages = max(1, math.ceil(total / size))
    page = min(state.page, pages)
    rows = list(
        session.execute(
            query.order_by(None).order_by(*state.order_by()).offset((page - 1) * size).limit(size)
        ).all()
    )
    return ListPage(rows, total, page, pages, replace(state, page=page))


def mapped(found: ListPage[Any], rows: list[T]) -> ListPage[T]:
    """The same page holding ``rows`` (the raw rows turned into what the template shows)."""
    return ListPage(rows, found.total, found.page, found.pages, found.state)
