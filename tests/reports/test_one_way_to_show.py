"""One way to show a number, a name and a word (issue 10, sections 5 and 7): one rounding rule
for every score, the chart's labels equal to its table's cells, Greek charts (locale, axis
titles, legend), no mode bar, one glossary, one name per page and column.

One world per module (the tests only read it): quick-check's three domains, scores stored
directly so that every number is known and most are halves, where rounding rules differ:

====  ======================  ==========================
NGO   2025 (self)             2026 (self; verified)
====  ======================  ==========================
A     40.25 50 60             56.25 41.65 43.75 ; 62.25 41.25 12.5
B-E   (not in 2025)           50 50 50, 60 60 60, 70 70 70, 80 80 80
====  ======================  ==========================

Python's ``round(56.25, 1)`` and ``f"{56.25:.1f}"`` give 56.2; the rule gives 56.3.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale, gettext
from sqlmodel import Session, SQLModel, select

from accounts import services as accounts
from accounts.models import Organization, Role
from evaluator.rounding import round_half_away, round_half_away_array
from reports import numbers
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles.services import create_cycle
from surveys.models import Assessment, Score, Source, Status
from webapp import create_app, glossary
from webapp.extensions import db

LIBRARY = Path(__file__).resolve().parents[2] / "rubrics" / "library"
TEMPLATES = [
    p
    for package in ("accounts", "reports", "rubrics", "surveys", "webapp")
    for p in (Path(__file__).resolve().parents[2] / package).rglob("*.html")
]
PASSWORD = "correct horse battery"
DOMAINS = ["SG", "SV", "RS"]
WEIGHTS = np.array([2.0, 1.0, 1.0])
SELF = {
    2025: {"A": [40.25, 50, 60]},
    2026: {"A": [56.25, 41.65, 43.75], "B": [50] * 3, "C": [60] * 3, "D": [70] * 3,
           "E": [80] * 3},
}  # fmt: skip
VERIFIED_A_2026 = [62.25, 41.25, 12.5]


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (56.25, 56.3),  # round() and format() give 56.2 (ties to even)
        (43.75, 43.8),
        (41.65, 41.7),  # stored as 41.6499...: a person reads 41.65, and so does the rule
        (41.25, 41.3),
        (99.95, 100.0),
        (-2.25, -2.3),  # away from zero: a fall of 2.25 shows as large as a rise
        (-0.04, 0.0),  # and never as "-0.0"
        (68.75, 68.8),
    ],
)
def test_halves_go_away_from_zero(value, shown):
    assert round_half_away(value) == shown
    assert str(round_half_away(value)) == str(shown)


def test_the_array_form_rounds_exactly_like_the_scalar():
    rng = np.random.default_rng(10)
    values = np.concatenate(
        [rng.uniform(-100, 100, 20_000), np.arange(0, 100.05, 0.05), np.arange(0, 100, 0.125)]
    )
    rounded = round_half_away_array(values)
    assert rounded.tolist() == [round_half_away(v) for v in values.tolist()]
    assert np.isnan(round_half_away_array(np.array([np.nan]))).all()
    assert round_half_away(float("nan")) != round_half_away(float("nan"))
    with pytest.raises(ValueError, match="decimals"):
        round_half_away(1.0, -1)


@functools.cache
def plain_app() -> Flask:
    """An app for rendering text outside a page (one per module: creating one takes time)."""
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})


def test_text_follows_the_viewer_language():
    with plain_app().test_request_context("/"):
        assert numbers.score(56.25) == "56.3"
        assert numbers.score(None) == "\u2013"
        assert numbers.percent(0.125) == "13%"  # f"{12.5:.0f}" gives "12"
        assert numbers.number(0.125, 2) == "0.13"
        assert numbers.scores(np.array([56.25, np.nan, 41.65])).tolist() == [
            "56.3", "\u2013", "41.7",
        ]  # fmt: skip
        with force_locale("el"):
            assert numbers.score(56.25) == "56,3"
            assert numbers.scores(np.array([56.25, 0.05])).tolist() == ["56,3", "0,1"]


# --- the world -----------------------------------------------------------------------------------


def store(session: Session, assessment: Assessment, version_id: int, values, source=Source.SELF):
    scores = np.array(values, dtype=float)
    overall = float((scores * WEIGHTS).sum() / WEIGHTS.sum())
    rows = [("domain", code, float(v)) for code, v in zip(DOMAINS, values, strict=True)]
    for level, code, value in [*rows, ("overall", "quick-check", overall)]:
        session.add(
            Score(
                assessment_id=assessment.id, rubric_version_id=version_id, source=source,
                level=level, code=code, score=value, coverage=1.0,
            )
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    if backend == "postgresql":
        url = request.getfixturevalue("_postgres_schema")
    else:
        url_path = tmp_path_factory.mktemp("words") / "world.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), url_path)
        url = f"sqlite:///{url_path}"
    engine = sa.create_engine(url)
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url,
         "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads"))}
    )  # fmt: skip
    with Session(engine, expire_on_commit=False) as session:
        version = rubric_services.store_rubric(session, load_rubric(LIBRARY / "quick-check.yaml"))
        rubric_services.publish(session, version)
        orgs = {
            name: Organization(code=f"ngo-{name.lower()}", name=f"NGO {name}", kind="ngo")
            for name in "ABCDE"
        }
        session.add_all(orgs.values())
        session.flush()

        def user(key: str, role: Role, org: Organization | None = None) -> Any:
            made = accounts.create_user(
                session, email=f"{key}@example.org", name=key.title(), password=PASSWORD
            )
            accounts.add_membership(session, user=made, role=role, organization=org)
            return made

        people = {
            "member": user("member", Role.NGO_MEMBER, orgs["A"]),
            "evaluator": user("evaluator", Role.EVALUATOR),
            "admin": user("admin", Role.ADMIN),
        }
        assessments = {}
        for year, present in SELF.items():
            cycle = create_cycle(
                session, code=f"qc-{year}", name=f"Cycle {year}", version=version,
                organizations=[orgs[n] for n in present], opens_on=date(year, 1, 1),
                closes_on=date(year, 12, 31), evaluators=[people["evaluator"]], by=None,
            )  # fmt: skip
            for found in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)):
                name = next(n for n, o in orgs.items() if o.id == found.organization_id)
                found.status = Status.SUBMITTED
                store(session, found, version.id, present[name])
                assessments[(name, year)] = found
        mine = assessments[("A", 2026)]
        mine.status = Status.VERIFIED
        store(session, mine, version.id, VERIFIED_A_2026, Source.VERIFIED)
        session.commit()
        yield {"app": app, "session": session, "mine": mine, **people}
        with app.app_context():
            db.engine.dispose()
    if backend == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


def client_of(world, who: str):
    app: Flask = world["app"]
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        "/login", data={"email": world[who].email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def page(world, who: str, url: str, lang: str = "en") -> str:
    response = client_of(world, who).get(url, query_string={"lang": lang})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def figures_of(html: str) -> dict[str, dict]:
    """Every chart's JSON block on the page, by element id."""
    return {
        key: json.loads(block)
        for key, block in re.findall(
            r'<script type="application/json" id="([^"]+)">(.*?)</script>', html, re.S
        )
    }


def table_rows(html: str, caption: str) -> dict[str, list[str]]:
    """The cells of a table (found by its caption), by the text of each row's header cell."""
    table = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", html, re.S)
    assert table, caption
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', table.group(1), re.S)
    return {
        label.strip(): [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", r)]
        for label, r in rows
    }


def translated(text: str, lang: str = "el") -> str:
    with plain_app().test_request_context("/"), force_locale(lang):
        return str(gettext(text))


# --- chart labels and table cells agree ----------------------------------------------------------


@pytest.mark.parametrize(("lang", "point"), [("en", "."), ("el", ",")])
def test_the_scorecard_chart_labels_are_the_table_cells(world, lang, point):
    html = page(world, "member", f"/reports/assessments/{world['mine'].id}", lang)
    self_label = "Self-assessed" if lang == "en" else translated("Self-assessed")
    caption = "Domain scores, self-assessed and verified"
    rows = table_rows(html, caption if lang == "en" else translated(caption))
    domains = figures_of(html)["domain-figure"]
    own, checked = domains["data"]
    assert len(rows) == 3
    for k, label in enumerate(own["y"]):
        assert [own["text"][k], checked["text"][k]] == rows[label][:2]
        assert own["text"][k] in own["hovertext"][k]
    expected = [f"56{point}3", f"41{point}7", f"43{point}8"]  # halves up, not to even
    assert own["text"] == expected
    assert checked["text"] == [f"62{point}3", f"41{point}3", f"12{point}5"]
    # The headline: the verified overall, one decimal like the rest ((2 x 62.25 + 41.25 +
    # 12.5) / 4 = 44.5625), and the self-assessed beside it ((2 x 56.25 + 41.65 + 43.75) / 4).
    assert f'<span class="big">44{point}6</span>' in html
    assert f"49{point}5" in html
    assert self_label in html


def test_the_trend_and_peer_charts_say_what_their_tables_say(world):
    html = page(world, "member", f"/reports/assessments/{world['mine'].id}")
    found = figures_of(html)
    trend = table_rows(html, "Scores across cycles")
    overall = found["trend-figure"]["data"][0]  # the first panel: overall
    for cycle, hover in zip(overall["x"], overall["hovertext"], strict=True):
        assert hover.endswith(f": {trend[cycle][2]}" + (" (verified)" if "2026" in cycle else ""))
    # 2025's overall: (2 x 40.25 + 50 + 60) / 4 = 47.625, "47.6"; f"{47.625:.1f}" agrees here
    # only because 47.625 is stored exactly and rounds to even; SG's 40.25 is the tie.
    assert trend["Cycle 2025"][2:] == ["47.6", "40.3", "50.0", "60.0"]
    peers = found["peer-figure"]["data"]
    benchmark = table_rows(html, "Peer benchmark")
    for k, label in enumerate(peers[0]["y"]):
        low, high = (cell.strip() for cell in benchmark[label][3].split("\u2013"))
        assert peers[0]["hovertext"][k].endswith(f": {low}\u2013{high}")
        assert peers[1]["hovertext"][k].endswith(f": {benchmark[label][2]}")
        assert peers[2]["hovertext"][k].endswith(f": {benchmark[label][0]}")


@pytest.mark.parametrize("lang", ["en", "el"])
def test_the_dashboard_heatmap_says_what_its_table_says(world, lang):
    html = page(world, "admin", "/reports/dashboard", lang)
    heatmap = figures_of(html)["heatmap-figure"]["data"][0]
    names = heatmap["hovertext"]
    seen = 0
    for row in names:
        name = row[0].split("<br>")[0]
        cells = re.search(
            rf'<th scope="row"><a [^>]*>{re.escape(name)}</a></th>(.*?)</tr>', html, re.S
        )
        assert cells, name
        values = re.findall(r"<td>(.*?)</td>", cells.group(1))
        shown = [hover.rsplit(": ", 1)[1] for hover in row]
        assert values[-len(shown) :] == shown
        seen += 1
    assert seen == 5
    point = "," if lang == "el" else "."
    assert f"56{point}3" in html  # NGO A's SG, self-assessed (the dashboard's default)


# --- charts in Greek, static, without a toolbar --------------------------------------------------


def test_greek_charts_have_greek_axes_legends_and_locale(world):
    html = page(world, "member", f"/reports/assessments/{world['mine'].id}", "el")
    found = figures_of(html)
    domains = found["domain-figure"]
    assert domains["layout"]["xaxis"]["title"]["text"] == translated("score (0-100)")
    assert domains["layout"]["xaxis"]["title"]["text"] != "score (0-100)"
    assert [t["name"] for t in domains["data"]] == [
        translated("self-assessed"), translated("verified"),
    ]  # fmt: skip
    peers = found["peer-figure"]["data"]
    assert [t["name"] for t in peers] == [
        translated("peers' middle half"), translated("peers' median"), translated("your score"),
    ]  # fmt: skip
    config = domains["config"]
    assert config["locale"] == "el"
    assert config["locales"]["el"]["format"]["decimal"] == ","
    assert config["locales"]["el"]["format"]["months"][0] == "Ιανουάριος"
    assert config["locales"]["el"]["format"]["days"][0] == "Κυριακή"  # Sunday first, as d3
    assert config["locales"]["el"]["dictionary"]["median:"] == translated("median:")
    assert domains["layout"]["separators"] == ",."
    assert '<html lang="el">' in html


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("member", "/reports/assessments/{mine}"),
        ("admin", "/reports/dashboard"),
        ("admin", "/reports/trends"),
    ],
)
def test_no_chart_has_a_toolbar_or_zoom(world, who, url):
    html = page(world, who, url.format(mine=world["mine"].id))
    found = figures_of(html)
    assert found
    for key, fig in found.items():
        assert fig["config"]["displayModeBar"] is False, key
        assert fig["layout"]["dragmode"] is False, key
        axes = [k for k in fig["layout"] if k.startswith(("xaxis", "yaxis"))]
        assert axes, key
        assert all(fig["layout"][k]["fixedrange"] for k in axes), key
        assert fig["layout"]["legend"]["itemclick"] is False, key
        # every chart sits in an image role with a name, and says where its numbers are
        label = re.search(rf'data-figure-id="{key}" role="img" aria-label="([^"]+)"', html)
        assert label, key
        assert "table" in label.group(1), key


# --- whose score, one name per page --------------------------------------------------------------


def test_the_ngo_reads_your_score_and_others_read_the_ngos(world):
    url = f"/reports/assessments/{world['mine'].id}"
    mine = page(world, "member", url)
    theirs = page(world, "evaluator", url)
    assert "Your score" in mine
    assert figures_of(mine)["peer-figure"]["data"][2]["name"] == "your score"
    assert "Your score" not in theirs
    assert re.search(r"NGO(&#39;|')s score", theirs)
    assert figures_of(theirs)["peer-figure"]["data"][2]["name"] == "NGO's score"
    assert "yours included" not in theirs


def test_each_page_has_one_name_in_every_template():
    text = "\n".join(p.read_text() for p in TEMPLATES)
    for retired in ("Answer history", "Self score", "Self and verified ratings side by side"):
        assert retired not in text, retired
    # The NGO's own rating column is never called "Your rating" without asking whose page it is.
    for path in TEMPLATES:
        for line in path.read_text().splitlines():
            if '_("Your rating")' in line or '_("Your score")' in line:
                assert "if own_card else" in line, f"{path}: {line.strip()}"


# --- one glossary --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "el"])
def test_every_explained_word_comes_from_the_one_glossary(world, lang):
    html = page(world, "member", f"/reports/assessments/{world['mine'].id}", lang)
    app = world["app"]
    with app.test_request_context("/"), force_locale(lang):
        entries = {str(t.term): str(t.text) for t in glossary.GLOSSARY.values()}
    found = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html.replace("&#39;", "'"))
    words = {term for term, _text in found}
    for key in ("coverage", "weight", "band", "version", "verified", "percentile"):
        with app.test_request_context("/"), force_locale(lang):
            assert str(glossary.explain(key).term) in words
    for term, text in found:
        assert entries[term] == text
    if lang == "el":
        assert "Κάλυψη" in words


def test_no_template_writes_its_own_explanation():
    text = "\n".join(p.read_text() for p in TEMPLATES)
    with plain_app().test_request_context("/"), force_locale("en"):
        for entry in glossary.GLOSSARY.values():
            assert str(entry.text)[:40] not in text


# --- form controls -------------------------------------------------------------------------------


def test_every_form_control_is_styled_like_a_text_box():
    css = (Path(__file__).resolve().parents[2] / "webapp" / "static" / "app.css").read_text()
    rule = re.search(
        r"/\* Every form control looks like the text boxes.*?\*/\s*([^{]+)\{([^}]+)\}", css, re.S
    )
    assert rule
    selectors = {s.strip() for s in rule.group(1).split(",")}
    for control in ("select", "textarea", "input[type=date]", "input[type=number]",
                    "input[type=file]", "input[type=text]"):  # fmt: skip
        assert control in selectors, control
    for declaration in ("font: inherit", "border: 1px solid", "border-radius: 4px", "padding"):
        assert declaration in rule.group(2)


@pytest.mark.parametrize("lang", ["en", "el"])
def test_the_menu_names_each_page_as_its_heading_does(world, lang):
    client = client_of(world, "admin")
    home = client.get("/", query_string={"lang": lang}).get_data(as_text=True)
    menu = re.search(r'<nav aria-label="[^"]+">(.*?)</nav>', home, re.S).group(1)
    checked = 0
    for href, name in re.findall(r'<a href="(/[^"#]*)">([^<]+)</a>', menu):
        if href == "/":
            continue
        html = client.get(href, query_string={"lang": lang}).get_data(as_text=True)
        heading = re.search(r"<h1[^>]*>([^<:]+)", html).group(1).strip()
        # "Directory" opens "Directory of organisations": the heading may say more, not other
        assert heading.startswith(name.strip()), (href, name, heading)
        checked += 1
    assert checked >= 8
