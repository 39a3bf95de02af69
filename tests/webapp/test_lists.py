"""Lists that scale (issue 10, section 4): search, sort by column, filters and pages, the state
in the URL, without JavaScript (the Flask test client), on a network of 120 NGOs.

One world for the module (the tests only read it): 120 NGOs in three countries, each with an
assessment in *Cycle Alpha* (one in four submitted, progress rising with the number), five of
them and a sixth NGO, *Hidden Shelter*, in *Cycle Beta*. The evaluator is assigned to Alpha
only, so Beta's assessments are another tenant's rows they must never reach.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col

from accounts import services as accounts
from accounts import sessions as server_sessions
from accounts.lists import ListSpec, read_list
from accounts.models import Organization, Role, User
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles import services as cycles
from surveys.double.models import DoubleVerification
from surveys.models import AnswerRevision, Assessment, Source
from tests.conftest import LIBRARY, PASSWORD
from tests.smtp_sink import module_database, module_session
from webapp import create_app
from webapp.extensions import db as extension_db

N = 120
COUNTRIES = ("AL", "GR", "RS")


@pytest.fixture(scope="module")
def app(request: pytest.FixtureRequest, backend: str, tmp_path_factory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("lists")
    with module_database(request, backend, folder) as url:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "DATABASE_URL": url,
                "UPLOAD_FOLDER": str(folder / "uploads"),
            }
        )
        yield app
        with app.app_context():
            extension_db.engine.dispose()


@pytest.fixture(scope="module")
def db(app: Flask) -> Iterator[Session]:
    with module_session(app) as session:
        yield session


def _person(db: Session, email: str, role: Role, org: Organization | None = None) -> User:
    user = accounts.create_user(
        db, email=email, name=email.split("@")[0].title(), password=PASSWORD
    )
    accounts.add_membership(db, user=user, role=role, organization=org)
    return user


@pytest.fixture(scope="module")
def world(db: Session) -> dict[str, Any]:
    version = rubric_services.store_rubric(db, load_rubric(LIBRARY / "quick-check.yaml"))
    rubric_services.publish(db, version)
    ngos = [
        Organization(code=f"ngo-{i:03}", name=f"NGO {i:03}", kind="ngo", country=COUNTRIES[i % 3])
        for i in range(N)
    ]
    hidden = Organization(code="hidden", name="Hidden Shelter", kind="ngo", country="AL")
    db.add_all([*ngos, hidden])
    db.flush()
    today = date.today()
    alpha = cycles.open_cycle(
        db,
        code="alpha",
        name="Cycle Alpha",
        version=version,
        organizations=ngos,
        opens_on=today - timedelta(days=30),
        closes_on=today + timedelta(days=30),
    )
    beta = cycles.open_cycle(
        db,
        code="beta",
        name="Cycle Beta",
        version=version,
        organizations=[*ngos[100:105], hidden],
        opens_on=today - timedelta(days=400),
        closes_on=today - timedelta(days=300),
    )
    by_org = {o.id: o for o in ngos}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for a in db.exec(sa.select(Assessment).where(col(Assessment.cycle_id) == alpha.id)).scalars():
        i = int(by_org[a.organization_id].code[4:])
        a.progress = i / N
        if i % 4 == 0:
            a.status = "submitted"
            a.submitted_at = start + timedelta(hours=i)
    evaluator = _person(db, "eva@example.org", Role.EVALUATOR)
    cycles.assign_evaluators(db, alpha, [evaluator])
    admin = _person(db, "root@example.org", Role.ADMIN)
    ngo_admin = _person(db, "ana@example.org", Role.NGO_ADMIN, ngos[7])
    hidden_admin = _person(db, "hana@example.org", Role.NGO_ADMIN, hidden)
    # The history of one assessment: 30 answer changes by two people, the last 10 verified.
    first = db.exec(
        sa.select(Assessment).where(
            col(Assessment.cycle_id) == alpha.id, col(Assessment.organization_id) == ngos[7].id
        )
    ).scalar_one()
    for k in range(30):
        db.add(
            AnswerRevision(
                assessment_id=first.id,
                source=Source.VERIFIED if k >= 20 else Source.SELF,
                question_id=f"q{k:02}",
                new_value=str(k),
                version=k + 1,
                changed_by_id=(evaluator if k >= 20 else ngo_admin).id,
                changed_at=start + timedelta(minutes=k),
            )
        )
    # A second evaluator's blind queue: the 30 submitted assessments, the first 10 done.
    second = _person(db, "sofia@example.org", Role.EVALUATOR)
    submitted = db.exec(
        sa.select(Assessment.id)
        .where(col(Assessment.status) == "submitted")
        .order_by(col(Assessment.id))
    ).scalars()
    for k, assessment_id in enumerate(submitted):
        db.add(
            DoubleVerification(
                assessment_id=assessment_id,
                second_evaluator_id=second.id,
                assigned_at=start + timedelta(days=k),
                completed_at=start + timedelta(days=40) if k < 10 else None,
            )
        )
    db.commit()
    hidden_assessment = db.exec(
        sa.select(Assessment.id).where(col(Assessment.organization_id) == hidden.id)
    ).scalar_one()
    return {
        "alpha": alpha.id,
        "beta": beta.id,
        "evaluator": evaluator,
        "admin": admin,
        "ngo_admin": ngo_admin,
        "hidden_admin": hidden_admin,
        "history": first.id,
        "hidden_assessment": hidden_assessment,
        "second": second,
    }


def client_of(app: Flask, db: Session, user: User) -> FlaskClient:
    client = app.test_client()
    started = server_sessions.start_session(db, user)
    db.commit()
    with client.session_transaction() as browser_session:
        browser_session["_user_id"] = str(user.id)
        browser_session["_fresh"] = True
        browser_session[server_sessions.SESSION_KEY] = started.id
    return client


@pytest.fixture(scope="module")
def admin(app, db, world) -> FlaskClient:
    return client_of(app, db, world["admin"])


@pytest.fixture(scope="module")
def evaluator(app, db, world) -> FlaskClient:
    return client_of(app, db, world["evaluator"])


def page(client: FlaskClient, url: str, **args: Any) -> str:
    response = client.get(url, query_string=args or None)
    assert response.status_code == 200, response.status_code
    return unescape(response.get_data(as_text=True))


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def names(html: str) -> list[str]:
    """The NGOs of an assessment table, in the order shown."""
    return re.findall(r"<td>(NGO \d{3}|Hidden Shelter)</td>", html)


def showing(html: str) -> str:
    found = re.search(r'class="list-count" role="status"[^>]*>([^<]*)<', html)
    assert found, "no count"
    return found.group(1).strip().replace("\u2013", "-")  # the en dash of "1 to 25"


# --- the helper: whatever the URL says, a valid state ----------------------------------------


SPEC = ListSpec(
    sorts={"name": sa.column("name"), "size": sa.column("size")},
    default_sort="name",
    filters={"status": ["open", "closed"]},
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, ("", "name", "asc", {}, 1)),
        ({"sort": "size", "dir": "desc", "page": "3"}, ("", "size", "desc", {}, 3)),
        ({"sort": "password", "dir": "sideways"}, ("", "name", "asc", {}, 1)),
        ({"page": "-2"}, ("", "name", "asc", {}, 1)),
        ({"page": "²"}, ("", "name", "asc", {}, 1)),
        ({"page": "9" * 40}, ("", "name", "asc", {}, 100_000)),
        ({"status": "open"}, ("", "name", "asc", {"status": "open"}, 1)),
        ({"status": "<script>"}, ("", "name", "asc", {}, 1)),
        ({"q": "  two   words "}, ("two words", "name", "asc", {}, 1)),
        ({"q": "x" * 500}, ("x" * 100, "name", "asc", {}, 1)),
    ],
)
def test_the_state_read_from_the_url_is_always_valid(args, expected) -> None:
    state = read_list(args, SPEC)
    assert (state.q, state.sort, state.dir, dict(state.filters), state.page) == expected


def test_other_arguments_of_the_page_are_kept_and_prefixed_lists_read_their_own() -> None:
    spec = ListSpec(sorts=SPEC.sorts, default_sort="name", prefix="queue_")
    state = read_list({"queue_sort": "size", "sort": "name", "lang": "el", "page": "2"}, spec)
    assert state.sort == "size"
    assert state.page == 1
    assert state.args(page=2) == {
        "sort": "name",
        "lang": "el",
        "page": "2",  # the other list's page, kept
        "queue_sort": "size",
        "queue_dir": "asc",
        "queue_page": "2",
    }


# --- the home page's list of the network's assessments ----------------------------------------


def test_a_list_of_120_shows_25_a_page_and_says_which(admin, world) -> None:
    html = section(page(admin, "/"), "all-heading")
    assert showing(html) == "Showing 1-25 of 126"
    assert len(names(html)) == 25
    second = section(page(admin, "/", page=2), "all-heading")
    assert showing(second) == "Showing 26-50 of 126"
    alpha = [section(page(admin, "/", cycle=world["alpha"], page=p), "all-heading") for p in (1, 2)]
    assert not set(names(alpha[0])) & set(names(alpha[1]))
    last = section(page(admin, "/", page=6), "all-heading")
    assert showing(last) == "Showing 126-126 of 126"
    # past the end: the last page, never an error
    assert showing(section(page(admin, "/", page=999), "all-heading")) == showing(last)


def test_search_finds_ngos_by_name(admin) -> None:
    html = section(page(admin, "/", q="ngo 01"), "all-heading")
    assert showing(html) == "Showing 1-10 of 10"
    assert sorted(names(html)) == [f"NGO {i:03}" for i in range(10, 20)]
    assert 'value="ngo 01"' in html
    # LIKE's wildcards are taken literally
    assert showing(section(page(admin, "/", q="%"), "all-heading")) == "No assessment matches."


def test_sort_by_a_column_in_both_directions(admin, world) -> None:
    alpha = world["alpha"]
    up = section(page(admin, "/", cycle=alpha, sort="organization", dir="asc"), "all-heading")
    assert names(up)[:3] == ["NGO 000", "NGO 001", "NGO 002"]
    assert re.search(r'aria-sort="ascending"><a class="sort" href="[^"]*dir=desc', up)
    down = section(page(admin, "/", cycle=alpha, sort="organization", dir="desc"), "all-heading")
    assert names(down)[:3] == ["NGO 119", "NGO 118", "NGO 117"]
    assert 'aria-sort="descending"' in down
    by_progress = section(page(admin, "/", cycle=alpha, sort="progress", dir="desc"), "all-heading")
    assert names(by_progress)[0] == "NGO 119"
    # only the sorted column carries aria-sort; the others are plain links
    assert down.count("aria-sort=") == 1


def test_filters_by_status_cycle_and_country_combine(admin, world) -> None:
    html = section(
        page(admin, "/", status="submitted", cycle=world["alpha"], country="GR"), "all-heading"
    )
    # submitted: every fourth (0, 4, ...); Greek: i % 3 == 1; both: i % 12 == 4
    assert showing(html) == "Showing 1-10 of 10"
    assert sorted(names(html)) == [f"NGO {i:03}" for i in range(4, N, 12)]
    assert 'value="submitted" selected' in html
    assert 'value="GR" selected' in html


def test_the_state_stays_in_the_url_across_pages_and_sorting(admin, world) -> None:
    args = {"q": "NGO", "country": "AL", "cycle": world["alpha"]}
    html = section(page(admin, "/", sort="organization", dir="desc", **args), "all-heading")
    assert showing(html) == "Showing 1-25 of 40"
    [next_link] = re.findall(r'href="([^"]+)" rel="next"', html)
    for part in ("q=NGO", "country=AL", f"cycle={world['alpha']}", "sort=organization", "page=2"):
        assert part in next_link
    following = section(page(admin, next_link.split("#")[0]), "all-heading")
    assert showing(following) == "Showing 26-40 of 40"
    assert names(following)[0] == "NGO 042"  # AL: multiples of 3, descending from 117
    # a header link keeps the search and filters and goes back to the first page
    [header] = re.findall(r'<a class="sort" href="([^"]+)">Cycle', following)
    assert "q=NGO" in header
    assert "country=AL" in header
    assert "page=" not in header
    # the search form carries the sort, not the page
    form = following[following.index("<form") : following.index("</form>")]
    assert 'name="sort" value="organization"' in form
    assert 'name="page"' not in form


def test_the_review_queue_has_its_own_search_sort_and_pages(admin, evaluator, world) -> None:
    html = section(page(evaluator, "/"), "queue-heading")
    assert "Waiting for your review (30)" in html
    assert showing(html) == "Showing 1-25 of 30"
    assert names(html)[0] == "NGO 000"  # the oldest submission first
    [next_link] = re.findall(r'href="([^"]+)" rel="next"', html)
    assert "queue_page=2" in next_link
    assert next_link.endswith("#review-queue")
    both = page(evaluator, "/", queue_page=2, queue_sort="organization", queue_dir="desc", page=3)
    queue = section(both, "queue-heading")
    assert showing(queue) == "Showing 26-30 of 30"
    assert names(queue) == ["NGO 016", "NGO 012", "NGO 008", "NGO 004", "NGO 000"]
    network = section(both, "all-heading")
    assert showing(network) == "Showing 51-75 of 120"  # the other list's page, kept apart
    [queue_next] = re.findall(r'href="([^"]+)" rel="next"', network)
    assert "queue_page=2" in queue_next  # and each list's links keep the other's state


# --- visibility: a filter or an id never reaches another tenant's rows ------------------------


def test_an_evaluator_never_sees_another_cycle_through_filters_or_search(evaluator, world):
    html = page(evaluator, "/", cycle=world["beta"])
    network = section(html, "all-heading")
    assert showing(network) == "Showing 1-25 of 120"  # the unknown cycle is dropped
    assert "Cycle Beta" not in html
    assert "Hidden Shelter" not in html
    assert (
        showing(section(page(evaluator, "/", q="Hidden"), "all-heading"))
        == "No assessment matches."
    )
    # another cycle's page opens to evaluators, without the assessments they may not see
    beta = page(evaluator, f"/assessments/cycles/{world['beta']}", q="Hidden", status="verified")
    assert "Hidden Shelter" not in beta
    assert "NGO 100" not in page(evaluator, f"/assessments/cycles/{world['beta']}")
    assert evaluator.get(f"/assessments/{world['hidden_assessment']}/history").status_code == 404
    # the cycle list counts only what the viewer may see
    cycles_html = page(evaluator, "/assessments/cycles", q="beta")
    assert re.search(r"Cycle Beta</a>.*?<td>0</td><td>0</td><td>0</td>", cycles_html, re.S)


def test_an_ngo_sees_only_its_own_history_and_no_network_list(app, db, world) -> None:
    other = client_of(app, db, world["hidden_admin"])
    assert other.get(f"/assessments/{world['history']}/history").status_code == 404
    assert "all-heading" not in page(other, "/")
    assert other.get("/admin/people").status_code == 403
    assert other.get("/organizations").status_code == 403


def test_hostile_list_arguments_never_fail(admin, world) -> None:
    hostile = {
        "sort": "id; DROP TABLE user",
        "dir": "<script>",
        "page": "1e9",
        "status": "'",
        "cycle": "1 OR 1=1",
        "country": "ZZZ",
        "q": "%_\\",
        "queue_page": "-1",
        "assessment_id": "x",  # the path's own argument, as a query argument
        "_external": "1",
        "_anchor": "x",
    }
    for url in (
        "/",
        "/assessments/cycles",
        f"/assessments/cycles/{world['alpha']}",
        f"/assessments/{world['history']}/history",
        "/rubrics/",
        "/admin/people",
        "/organizations",
        "/directory",
    ):
        response = admin.get(url, query_string=hostile)
        assert response.status_code == 200, url
        assert "<script>" not in response.get_data(as_text=True).split("</header>", 1)[-1]


# --- the other lists -------------------------------------------------------------------------


def test_a_cycles_assessments_are_searched_sorted_filtered_and_paged(admin, world) -> None:
    url = f"/assessments/cycles/{world['alpha']}"
    html = section(page(admin, url), "assessments-heading")
    assert showing(html) == "Showing 1-25 of 120"
    assert re.findall(r'<th scope="row">(NGO \d{3})</th>', html)[0] == "NGO 000"
    html = section(
        page(admin, url, status="submitted", sort="progress", dir="desc", page=2),
        "assessments-heading",
    )
    assert showing(html) == "Showing 26-30 of 30"
    assert re.findall(r'<th scope="row">(NGO \d{3})</th>', html) == [
        f"NGO {i:03}" for i in (16, 12, 8, 4, 0)
    ]


def test_the_cycle_list_is_searched_filtered_and_sorted(admin) -> None:
    html = page(admin, "/assessments/cycles", sort="name", dir="desc")
    assert html.index("Cycle Beta</a>") < html.index("Cycle Alpha</a>")
    closed = page(admin, "/assessments/cycles", phase="closed")
    assert showing(closed) == "Showing 1-1 of 1"
    assert "Cycle Beta</a>" in closed
    assert showing(page(admin, "/assessments/cycles", q="alp")) == "Showing 1-1 of 1"


def test_organisations_are_searched_filtered_sorted_and_paged(admin) -> None:
    html = page(admin, "/organizations")
    assert showing(html) == "Showing 1-25 of 121"
    greek = page(admin, "/organizations", country="GR", sort="code", dir="desc")
    assert showing(greek) == "Showing 1-25 of 40"
    codes = re.findall(r"<code>(ngo-\d{3})</code>", greek)
    assert codes[:2] == ["ngo-118", "ngo-115"]
    assert showing(page(admin, "/organizations", q="hidden")) == "Showing 1-1 of 1"


def test_people_are_searched_filtered_by_role_and_sorted(admin) -> None:
    html = page(admin, "/admin/people", role="evaluator")
    assert showing(html) == "Showing 1-2 of 2"
    assert "eva@example.org" in html
    assert "sofia@example.org" in html
    assert showing(page(admin, "/admin/people", role="evaluator", q="sof")) == "Showing 1-1 of 1"
    by_email = page(admin, "/admin/people", sort="email", dir="desc")
    emails = re.findall(r"<td>([a-z]+@example\.org)</td>", by_email)
    assert emails == sorted(emails, reverse=True)


def test_the_answer_history_is_paged_sorted_and_filtered_in_the_database(admin, world) -> None:
    url = f"/assessments/{world['history']}/history"
    html = page(admin, url)
    assert showing(html) == "Showing 1-25 of 30"
    assert "q29" in html  # newest first
    assert "q04" not in html
    assert "q04" in page(admin, url, page=2)
    verified = page(admin, url, source="verified", sort="when", dir="asc")
    assert showing(verified) == "Showing 1-10 of 10"
    assert verified.index(">q20<") < verified.index(">q29<")
    by_person = page(admin, url, q="eva")
    assert showing(by_person) == "Showing 1-10 of 10"


def test_rubric_versions_are_searched_and_filtered(admin) -> None:
    html = page(admin, "/rubrics/", status="published", q="quick")
    assert showing(html) == "Showing 1-1 of 1"
    assert showing(page(admin, "/rubrics/", status="draft")) == "No rubric matches."


def test_the_directory_sorts_by_country(app, db, world) -> None:
    db.execute(sa.update(Organization).values(visibility="public"))
    db.commit()
    html = page(app.test_client(), "/directory", sort="country")
    assert 'value="country" selected' in html
    assert showing(html) == "Showing 1-20 of 121"
    assert "NGO 000" in html  # Albania first, then by name
    assert "NGO 001" not in html  # Greek


def test_the_second_evaluators_queue_is_filtered_sorted_and_paged(app, db, world) -> None:
    second = client_of(app, db, world["second"])
    html = page(second, "/assessments/double")
    assert showing(html) == "Showing 1-25 of 30"
    to_do = page(second, "/assessments/double", state="to_do", sort="assigned", dir="desc")
    assert showing(to_do) == "Showing 1-20 of 20"
    assert "completed</td>" not in to_do
    assert showing(page(second, "/assessments/double", state="completed")) == "Showing 1-10 of 10"
    assert showing(page(second, "/assessments/double", q="#99999999999", page="x")) == (
        "Nothing matches."
    )
    # someone else's queue: empty, whatever the URL asks
    assert "Showing" not in page(client_of(app, db, world["evaluator"]), "/assessments/double")
