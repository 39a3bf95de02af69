"""The directory of organisations (issue 12; the action plan's item 7): a public, searchable
list of the network's NGOs, government agencies and other institutions, each profile shown to
whom its organisation chose, with only the fields it made public to those outside it.

Its own blueprint, ``directory``, not ``reports.bp``: the directory lives at ``/directory``,
outside the ``/reports`` prefix, and is open to visitors who are not logged in.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlmodel import Session, col

from accounts.models import OPTIONAL_FIELDS, Organization
from accounts.organizations import labels
from accounts.permissions import (
    Principal,
    authorize,
    current_principal,
    public,
    sees_whole_profile,
    visible_profiles,
)
from accounts.services import audit
from surveys.models import Assessment
from webapp.extensions import dbsession

# Its templates are in reports/templates/reports, which reports.views.bp already registers.
bp = Blueprint("directory", __name__)

PAGE_SIZE = 20
# The orders the visitor may choose (the results are cards, not a table: a select chooses).
SORTS: dict[str, tuple[Any, ...]] = {
    "name": (col(Organization.search_text),),
    "country": (col(Organization.country), col(Organization.search_text)),
    "kind": (col(Organization.kind), col(Organization.search_text)),
}
MAX_QUERY = 100  # characters of the search text kept


# --- reading the URL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryFilters:
    """What the visitor asked for; every value is in the URL, so a search can be shared."""

    q: str = ""
    country: str = ""
    kind: str = ""
    focus: str = ""
    language: str = ""
    sort: str = "name"
    page: int = 1

    def args(self, **changes: Any) -> dict[str, Any]:
        """The URL arguments of these filters with ``changes``, leaving out the empty ones."""
        chosen = replace(self, **changes)
        values = {
            "q": chosen.q,
            "country": chosen.country,
            "kind": chosen.kind,
            "focus": chosen.focus,
            "language": chosen.language,
            "sort": chosen.sort if chosen.sort != "name" else "",
            "page": chosen.page if chosen.page > 1 else "",
        }
        return {k: v for k, v in values.items() if v}

    @property
    def any(self) -> bool:
        return bool(self.q or self.country or self.kind or self.focus or self.language)


def parse_filters(args: Mapping[str, str]) -> DirectoryFilters:
    """The filters in the URL; a code outside its list is dropped (it would match nothing)."""

    def code(name: str, known: Mapping[str, Any]) -> str:
        value = (args.get(name) or "").strip()
        return value if value in known else ""

    try:
        page = max(1, min(int(args.get("page") or 1), 10_000))
    except ValueError:
        page = 1
    return DirectoryFilters(
        q=" ".join((args.get("q") or "").split())[:MAX_QUERY],
        country=(args.get("country") or "").strip().upper()[:2]
        if (args.get("country") or "").strip().isalpha()
        else "",
        kind=code("kind", labels.KIND_LABELS),
        focus=code("focus", labels.FOCUS_LABELS),
        language=code("language", labels.LANGUAGE_LABELS),
        sort=code("sort", SORTS) or "name",
        page=page,
    )


# --- queries -----------------------------------------------------------------------------------


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own wildcards taken literally
    (with ``escape="\\\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _json_holds(column: Any, value: str) -> sa.ColumnElement[bool]:
    """A JSON list column holds the code ``value`` (codes are plain ASCII words, so the JSON
    text holds ``"value"`` exactly then, on SQLite and PostgreSQL alike)."""
    return sa.cast(col(column), sa.Text).like(like_pattern(f'"{value}"'), escape="\\")


def _clauses(
    viewer: Principal, filters: DirectoryFilters, *, by_country: bool = True
) -> list[sa.ColumnElement[bool]]:
    clauses = [visible_profiles(viewer)]
    if filters.q:
        clauses.append(
            col(Organization.search_text).like(like_pattern(filters.q.casefold()), escape="\\")
        )
    if filters.country and by_country:
        clauses.append(col(Organization.country) == filters.country)
    if filters.kind:
        clauses.append(col(Organization.kind) == filters.kind)
    if filters.focus:
        clauses.append(_json_holds(Organization.focus_areas, filters.focus))
    if filters.language:
        clauses.append(_json_holds(Organization.languages, filters.language))
    return clauses


@dataclass(frozen=True)
class Profile:
    """An organisation as one viewer may see it: the fields it keeps to its own people are
    None for everyone else (``whole`` says whether the viewer sees them all)."""

    id: int
    name: str
    names: dict[str, str]
    kind: str
    country: str | None
    focus_areas: list[str]
    visibility: str
    active: bool
    whole: bool
    cities: list[str] | None = None
    services: list[str] | None = None
    languages: list[str] | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    website: str | None = None
    year_founded: int | None = None
    private: frozenset[str] = field(default_factory=frozenset)

    def shows(self, name: str) -> bool:
        value = getattr(self, name)
        return value is not None and value != []


def profile_for(org: Organization, viewer: Principal) -> Profile:
    whole = sees_whole_profile(viewer, org.id)
    private = frozenset(org.private_fields or ())
    optional = {
        name: getattr(org, name) if whole or name not in private else None
        for name in OPTIONAL_FIELDS
    }
    return Profile(
        id=org.id or 0,
        name=org.name,
        names=dict(org.names or {}),
        kind=org.kind,
        country=org.country,
        focus_areas=list(org.focus_areas or []),
        visibility=org.visibility,
        active=org.active,
        whole=whole,
        private=private,
        **optional,
    )


@dataclass(frozen=True)
class DirectoryPage:
    profiles: list[Profile]
    total: int
    page: int
    pages: int
    country_counts: list[tuple[str, int]]  # (country code, visible profiles), most first

    @property
    def first(self) -> int:
        """The 1-based position of the page's first profile (0: none)."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.profiles else 0

    @property
    def last(self) -> int:
        return self.first + len(self.profiles) - 1 if self.profiles else 0


def search(session: Session, viewer: Principal, filters: DirectoryFilters) -> DirectoryPage:
    """One page of the profiles the viewer may see that match the filters, the number of them,
    and per country how many match the other filters."""
    where = _clauses(viewer, filters)
    total = int(
        session.execute(
            sa.select(sa.func.count()).select_from(Organization).where(*where)
        ).scalar_one()
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(filters.page, pages)
    orgs = session.execute(
        sa.select(Organization)
        .where(*where)
        .order_by(*SORTS[filters.sort], col(Organization.id))
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).scalars()
    counted = session.execute(
        sa.select(col(Organization.country), sa.func.count())
        .where(*_clauses(viewer, filters, by_country=False), col(Organization.country).is_not(None))
        .group_by(col(Organization.country))
    ).all()
    counts = sorted(((str(c), int(n)) for c, n in counted), key=lambda cn: (-cn[1], cn[0]))
    return DirectoryPage(
        profiles=[profile_for(org, viewer) for org in orgs],
        total=total,
        page=page,
        pages=pages,
        country_counts=counts,
    )


def all_matching(session: Session, viewer: Principal, filters: DirectoryFilters) -> list[Profile]:
    """Every profile of the search (the export), as the viewer may see it."""
    orgs = session.execute(
        sa.select(Organization)
        .where(*_clauses(viewer, filters))
        .order_by(*SORTS[filters.sort], col(Organization.id))
    ).scalars()
    return [profile_for(org, viewer) for org in orgs]


def profiles_after(
    session: Session, viewer: Principal, filters: DirectoryFilters, *, after: int, limit: int
) -> list[Profile]:
    """The profiles of the search after the id ``after``, by id, as the viewer may see them
    (the API's pages, read by cursor)."""
    orgs = session.execute(
        sa.select(Organization)
        .where(*_clauses(viewer, filters), col(Organization.id) > after)
        .order_by(col(Organization.id))
        .limit(limit)
    ).scalars()
    return [profile_for(org, viewer) for org in orgs]


def takes_part_in_assessments(session: Session, org_id: int) -> bool:
    """Whether the organisation has assessments: the profile says so, never with scores."""
    found = session.execute(
        sa.select(col(Assessment.id)).where(col(Assessment.organization_id) == org_id).limit(1)
    ).first()
    return found is not None


# --- export ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "name",
    "names",
    "kind",
    "country",
    "focus_areas",
    *OPTIONAL_FIELDS,
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A cell a spreadsheet would read as a formula, made plain text (OWASP's advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(profile: Profile, name: str) -> str:
    value = getattr(profile, name)
    if value is None:
        return ""
    if name == "names":
        return "; ".join(f"{code}: {text}" for code, text in value.items())
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def directory_csv(profiles: list[Profile]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for profile in profiles:
        writer.writerow([neutralise(_cell(profile, name)) for name in CSV_COLUMNS])
    return out.getvalue()


# --- views -------------------------------------------------------------------------------------


@bp.route("/directory")
@public
def index() -> str:
    filters = parse_filters(request.args)
    viewer = current_principal()
    found = search(dbsession(), viewer, filters)
    return render_template(
        "reports/directory.html",
        found=found,
        filters=filters,
        labels=labels,
        sorts=[
            ("name", gettext("Name")),
            ("country", gettext("Country")),
            ("kind", gettext("Kind")),
        ],
        page_url=lambda **changes: url_for("directory.index", **filters.args(**changes)),
        csv_url=url_for("directory.export", **filters.args(page=1)),
    )


@bp.route("/directory/<int:org_id>")
@public
def detail(org_id: int) -> str:
    session = dbsession()
    org = authorize(session.get(Organization, org_id), "view_profile")
    viewer = current_principal()
    return render_template(
        "reports/directory_profile.html",
        org=org,
        profile=profile_for(org, viewer),
        labels=labels,
        assessed=takes_part_in_assessments(session, org_id),
    )


@bp.route("/directory.csv")
@public
def export() -> Response:
    filters = parse_filters(request.args)
    viewer = current_principal()
    session = dbsession()
    profiles = all_matching(session, viewer, filters)
    if viewer.is_authenticated:  # it may hold what only members see: the audit log keeps it
        audit(
            session,
            actor=current_user,
            action="directory_exported",
            object_type="directory",
            rows=len(profiles),
            filters=filters.args(page=1),
        )
        session.commit()
    body = "\ufeff" + directory_csv(profiles)  # the BOM: spreadsheets then read UTF-8
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="directory.csv"'},
    )
