"""The directory of organisations (issue 12, section 4): who sees which profile and which of its
fields, search, filters, counts per country, pages and the CSV export.

One world, seeded once for the module (every test here only reads it), on SQLite or PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, SQLModel, select

from accounts import services as accounts
from accounts.models import AuditEvent, FocusArea, Organization, OrgKind, Role, Visibility
from reports.directory import PAGE_SIZE, like_pattern, neutralise
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles import services as cycles
from tests.conftest import LIBRARY, PASSWORD, login
from webapp import create_app
from webapp.extensions import db

FILLERS = PAGE_SIZE + 5  # public Bulgarian NGOs: two pages of them


@pytest.fixture(scope="module")
def world_url(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database for this module alone: emptied again at its end on PostgreSQL."""
    if backend == "postgresql":
        url: str = request.getfixturevalue("_postgres_schema")
        yield url
        engine = sa.create_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        engine.dispose()
        return
    target = tmp_path_factory.mktemp("directory") / "directory.sqlite3"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
    yield f"sqlite:///{target}"


def _org(session: Session, code: str, name: str, **values: Any) -> Organization:
    org = Organization(code=code, name=name, kind=values.pop("kind", OrgKind.NGO), **values)
    session.add(org)
    session.flush()
    return org


@pytest.fixture(scope="module")
def world(world_url: str) -> dict[str, Any]:
    engine = sa.create_engine(world_url)
    with Session(engine, expire_on_commit=False) as session:
        open_ngo = _org(
            session,
            "hope",
            "Hope and Home",
            country="AL",
            visibility=Visibility.PUBLIC,
            names={"sq": "Shpresë dhe Shtëpi"},
            cities=["Tirana", "Durrës"],
            services=["Shelter for girls", "Legal aid"],
            languages=["sq", "en"],
            focus_areas=[FocusArea.TRAFFICKING, FocusArea.SHELTER_CARE],
            contact_email="info@hope.example.org",
            contact_phone="+355 4 222 333",
            website="https://hope.example.org",
            year_founded=1999,
            private_fields=["contact_phone"],
        )
        members_ngo = _org(
            session,
            "vardar",
            "Vardar Youth",
            country="MK",
            visibility=Visibility.MEMBERS,
            cities=["Skopje"],
            focus_areas=[FocusArea.ONLINE_ABUSE],
            languages=["mk"],
        )
        hidden_ngo = _org(session, "quiet", "Quiet Harbour", country="AL", cities=["Shkodër"])
        closed = _org(
            session, "closed", "Closed Doors", country="RS", visibility="public", active=False
        )
        agency = _org(
            session,
            "gr-office",
            "Office 100% Safe_Kids",
            kind=OrgKind.GOVERNMENT,
            country="GR",
            visibility=Visibility.PUBLIC,
            contact_phone='=HYPERLINK("http://evil.example")',
            focus_areas=[FocusArea.MISSING_CHILDREN],
        )
        fund = _org(session, "fund", "Balkan Fund", kind=OrgKind.FUNDER, country="US")
        for i in range(FILLERS):
            _org(
                session,
                f"bg-{i:02d}",
                f"Zora Filler {i:02d}",
                country="BG",
                visibility=Visibility.PUBLIC,
                cities=["Sofia"],
            )
        users = {}
        for key, role, org in (
            ("funder", Role.FUNDER, fund),
            ("quiet_member", Role.NGO_MEMBER, hidden_ngo),
            ("hope_admin", Role.NGO_ADMIN, open_ngo),
            ("admin", Role.ADMIN, None),
        ):
            user = accounts.create_user(
                session, email=f"{key}@example.org", name=key, password=PASSWORD
            )
            accounts.add_membership(session, user=user, role=role, organization=org)
            users[key] = user
        version = rubric_services.store_rubric(session, load_rubric(LIBRARY / "quick-check.yaml"))
        rubric_services.publish(session, version)
        cycles.open_cycle(
            session, code="c-2026", name="Cycle 2026", version=version, organizations=[open_ngo]
        )
        session.commit()
    engine.dispose()
    return {
        "open": open_ngo,
        "members": members_ngo,
        "hidden": hidden_ngo,
        "closed": closed,
        "agency": agency,
        "fund": fund,
        **users,
    }


@pytest.fixture(scope="module")
def app(world_url: str, world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": world_url,
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def clients(app: Flask, world: dict[str, Any]) -> dict[str, Any]:
    """A client per viewer, logged in once for the module."""
    found = {"anonymous": app.test_client()}
    for who in ("funder", "quiet_member", "hope_admin", "admin"):
        client = app.test_client()
        assert login(client, f"{who}@example.org").status_code == 302
        found[who] = client
    return found


def page(clients: dict[str, Any], who: str, url: str) -> str:
    response = clients[who].get(url)
    assert response.status_code == 200, (who, url, response.status_code)
    return response.get_data(as_text=True)


def names_on(html: str) -> set[str]:
    return set(re.findall(r'<h3><a href="/directory/\d+">([^<]+)</a>', html))


# --- who sees which profile -----------------------------------------------------------------------

WHO_SEES = {  # one row per visibility setting: who finds it in the directory
    "open": {"anonymous", "funder", "quiet_member", "hope_admin", "admin"},  # public
    "members": {"funder", "quiet_member", "hope_admin", "admin"},  # logged in
    "hidden": {"quiet_member", "admin"},  # its own people and admins
    "closed": {"admin"},  # deactivated
}


@pytest.mark.parametrize("key", list(WHO_SEES))
def test_each_visibility_shows_the_profile_to_exactly_its_viewers(clients, world, key):
    org = world[key]
    for who in clients:
        listed = org.name in names_on(page(clients, who, f"/directory?q={org.name}"))
        status = clients[who].get(f"/directory/{org.id}").status_code
        expected = who in WHO_SEES[key]
        assert listed == expected, (key, who)
        assert status == (200 if expected else 404), (key, who)


def test_a_missing_profile_and_a_hidden_one_get_the_same_answer(clients, world):
    assert clients["anonymous"].get("/directory/999999").status_code == 404
    assert clients["anonymous"].get(f"/directory/{world['hidden'].id}").status_code == 404


def test_the_directory_works_without_logging_in_and_links_to_the_login(clients):
    html = page(clients, "anonymous", "/directory")
    assert "Directory of organisations" in html
    assert 'href="/login"' in html
    # No JavaScript needed: none in the page itself (the site-wide tables.js only makes wide
    # tables reachable by keyboard).
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


# --- which fields ---------------------------------------------------------------------------------


def test_a_private_field_is_shown_only_to_the_organisations_people_and_admins(clients, world):
    url = f"/directory/{world['open'].id}"
    for who, sees in (
        ("anonymous", False),
        ("funder", False),
        ("hope_admin", True),
        ("admin", True),
    ):
        html = page(clients, who, url)
        assert ("+355 4 222 333" in html) == sees, who
        assert "info@hope.example.org" in html  # a public field: everyone who sees the profile
        assert "Tirana, Durrës" in html
        assert 'lang="sq">Shpresë dhe Shtëpi' in html


def test_a_profile_says_it_takes_part_in_assessments_but_shows_no_score(clients, world):
    html = page(clients, "anonymous", f"/directory/{world['open'].id}")
    assert "takes part in the network's assessments" in html
    assert "%" not in html.split("<main", 1)[1]
    other = page(clients, "anonymous", f"/directory/{world['agency'].id}")
    assert "takes part" not in other


def test_only_who_may_edit_the_profile_gets_the_link(clients, world):
    url = f"/directory/{world['open'].id}"
    edit = f"/organizations/{world['open'].id}/profile"
    assert edit in page(clients, "hope_admin", url)
    assert edit in page(clients, "admin", url)
    assert edit not in page(clients, "funder", url)
    assert edit not in page(clients, "anonymous", url)


# --- search, filters, counts, pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("hope", {"Hope and Home"}),  # the name, whatever the case
        ("SHPRESË", {"Hope and Home"}),  # a name in another language, Unicode case-folded
        ("durrës", {"Hope and Home"}),  # a city
        ("legal aid", {"Hope and Home"}),  # a service
        ("100%", {"Office 100% Safe_Kids"}),  # LIKE's wildcards are taken literally
        ("a_e", set()),  # "afe" would match were _ a wildcard
        ("%", {"Office 100% Safe_Kids"}),
        ("_", {"Office 100% Safe_Kids"}),
    ],
)
def test_search_by_name_city_or_service(clients, query, found):
    html = page(clients, "anonymous", f"/directory?q={query.replace('%', '%25')}")
    assert names_on(html) == found


def test_filters_by_country_kind_focus_and_language_are_in_the_url(clients, world):
    assert names_on(page(clients, "anonymous", "/directory?country=AL")) == {"Hope and Home"}
    assert names_on(page(clients, "admin", "/directory?country=AL")) == {
        "Hope and Home",
        "Quiet Harbour",
    }
    assert names_on(page(clients, "anonymous", "/directory?kind=government")) == {
        "Office 100% Safe_Kids"
    }
    assert names_on(page(clients, "funder", "/directory?focus=online_abuse")) == {"Vardar Youth"}
    assert names_on(page(clients, "anonymous", "/directory?focus=shelter_care&language=en")) == {
        "Hope and Home"
    }
    # An unknown code is dropped, not an error: the whole directory.
    assert len(names_on(page(clients, "anonymous", "/directory?kind=<x>&focus=nope"))) == PAGE_SIZE


def counts_of(html: str) -> list[str]:
    nav = html.split('id="countries-heading"')[1].split("</nav>")[0]
    return re.findall(r">([^<>]+ \(\d+\))<", nav)


def test_counts_per_country_follow_the_other_filters_and_what_the_viewer_sees(clients):
    assert counts_of(page(clients, "anonymous", "/directory")) == [
        f"Bulgaria ({FILLERS})",
        "Albania (1)",
        "Greece (1)",
    ]
    assert "North Macedonia (1)" in counts_of(page(clients, "funder", "/directory"))
    assert "Albania (2)" in counts_of(page(clients, "admin", "/directory"))
    # The other filters count, not the country chosen: the other countries stay one click away.
    assert counts_of(page(clients, "anonymous", "/directory?q=hope&country=BG")) == ["Albania (1)"]


def test_the_directory_pages_through_many_profiles_keeping_the_filters(clients):
    first = page(clients, "anonymous", "/directory?country=BG")
    assert f"{FILLERS} organisations" in first
    assert len(names_on(first)) == PAGE_SIZE
    assert 'href="/directory?country=BG&amp;page=2"' in first
    second = page(clients, "anonymous", "/directory?country=BG&page=2")
    assert len(names_on(second)) == FILLERS - PAGE_SIZE
    assert not names_on(first) & names_on(second)
    assert names_on(page(clients, "anonymous", "/directory?country=BG&page=99")) == names_on(second)
    assert page(clients, "anonymous", "/directory?page=x")


# --- the export -----------------------------------------------------------------------------------


def read_csv(clients: dict[str, Any], who: str, url: str) -> list[dict[str, str]]:
    response = clients[who].get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_holds_what_the_viewer_may_see_with_the_filters(clients):
    rows = read_csv(clients, "anonymous", "/directory.csv?country=AL")
    assert [r["name"] for r in rows] == ["Hope and Home"]
    assert rows[0]["contact_phone"] == ""  # kept to its own people
    assert rows[0]["cities"] == "Tirana; Durrës"
    admin_rows = read_csv(clients, "admin", "/directory.csv?country=AL")
    assert {r["name"] for r in admin_rows} == {"Hope and Home", "Quiet Harbour"}
    assert "'+355 4 222 333" in {r["contact_phone"] for r in admin_rows}  # not a formula
    everything = read_csv(clients, "anonymous", "/directory.csv")
    assert len(everything) == FILLERS + 2  # not paged


def test_an_export_by_someone_logged_in_is_in_the_audit_log(clients, world_url, world):
    read_csv(clients, "admin", "/directory.csv?country=AL")
    engine = sa.create_engine(world_url)
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "directory_exported")
        ).all()
    engine.dispose()
    assert [(e.actor_id, e.detail) for e in events if e.actor_id == world["admin"].id][-1] == (
        world["admin"].id,
        {"rows": 2, "filters": {"country": "AL"}},
    )
    assert all(e.actor_id is not None for e in events)  # visitors' exports are not recorded


def test_the_csv_neutralises_formulas(clients):
    rows = read_csv(clients, "anonymous", "/directory.csv?kind=government")
    assert rows[0]["contact_phone"].startswith("'=HYPERLINK")
    assert neutralise("+355 4") == "'+355 4"
    assert neutralise("Tirana") == "Tirana"


def test_like_patterns_escape_their_wildcards():
    assert like_pattern("100%_a\\b") == "%100\\%\\_a\\\\b%"


def test_hostile_profile_text_is_escaped(app, clients, world_url, world):
    engine = sa.create_engine(world_url)
    with Session(engine) as session:
        org = session.get(Organization, world["agency"].id)
        assert org is not None
        org.services = ["<script>alert(1)</script>"]
        session.commit()
    engine.dispose()
    html = page(clients, "anonymous", f"/directory/{world['agency'].id}")
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_directory_reads_in_greek(clients):
    html = page(clients, "anonymous", "/directory?lang=el")
    assert "Κατάλογος" in html
