"""The export by shared indicator: two rubrics with different option sets that measure the
same codebook indicators, in two cycles, pooled onto the indicators' scales. The files read
back (csv, openpyxl) equal a table computed by hand, formulas neutralised, and hold only the
assessments the viewer may see (the other exports' scope).

One world per module (read-only tests).
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from accounts import services as accounts
from accounts.models import Organization, Role
from rubrics import codebook_services
from rubrics import services as rubric_services
from rubrics.loader import load_rubric_text
from surveys.cycles.services import create_cycle
from surveys.models import Answer, Assessment, Source, Status
from webapp import create_app
from webapp.extensions import db

PASSWORD = "correct horse battery"

CODEBOOK = """\
languages: [en, el]
indicators:
  - code: POLICY
    name: {en: Safeguarding policy, el: Πολιτική προστασίας}
    definition: {en: A written policy., el: Γραπτή πολιτική.}
    scale:
      type: ordinal
      levels:
        - {value: 0, label: {en: None, el: Καμία}}
        - {value: 1, label: {en: Draft, el: Σχέδιο}}
        - {value: 2, label: {en: Full, el: Πλήρης}}
  - code: FOCAL
    name: {en: Focal point, el: Υπεύθυνος}
    definition: {en: A named person., el: Ορισμένο πρόσωπο.}
    scale: {type: binary}
  - code: STAFF_PCT
    name: {en: Staff trained, el: Εκπαιδευμένο προσωπικό}
    definition: {en: Percentage trained., el: Ποσοστό εκπαιδευμένων.}
    scale: {type: percentage}
"""

RUBRIC_A = """\
id: network-a
title: Network A
scale: {min: 1, max: 3}
missing: {allow_not_applicable: true, allow_dont_know: true}
domains:
  - id: D
    label: Safeguarding
    indicators:
      - id: I
        label: Policy
        questions:
          - id: q_policy
            type: maturity
            label: How complete is the policy?
            indicator: POLICY
            indicator_map: {1: 0, 2: 1, 3: 2}
            levels:
              - {level: 1, descriptor: None.}
              - {level: 2, descriptor: A draft.}
              - {level: 3, descriptor: Approved and known.}
          - id: q_focal
            type: yes_no
            label: Is there a focal point?
            indicator: FOCAL
            options:
              - {id: "yes", label: "Yes", score: 3}
              - {id: "no", label: "No", score: 1}
          - id: q_pct
            type: number
            label: What percentage of staff were trained?
            indicator: STAFF_PCT
          - id: q_other
            type: text
            label: Anything else?
"""

RUBRIC_B = """\
id: network-b
title: Network B
scale: {min: 1, max: 4}
missing: {allow_not_applicable: true, allow_dont_know: true}
domains:
  - id: S
    label: Safety
    indicators:
      - id: S1
        label: Rules
        questions:
          - id: p_policy
            type: single
            label: Which policy do you have?
            indicator: POLICY
            indicator_map: {none: 0, draft: 1, approved: 2, reviewed: 2}
            options:
              - {id: none, label: None, score: 1}
              - {id: draft, label: A draft, score: 2}
              - {id: approved, label: Approved, score: 3}
              - {id: reviewed, label: Approved and reviewed, score: 4}
          - id: p_focal
            type: single
            label: Who handles concerns?
            indicator: FOCAL
            indicator_map: {named: 1, shared: null, nobody: 0}
            options:
              - {id: named, label: A named person, score: 4}
              - {id: shared, label: Whoever is there, score: 2}
              - {id: nobody, label: Nobody, score: 1}
"""

# (cycle, organisation) -> self answers, verified answers
ANSWERS: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {
    ("a", "1"): ({"q_policy": 3, "q_focal": "yes", "q_pct": 40, "q_other": "=1+1"},
                 {"q_policy": 2}),
    ("a", "2"): ({"q_policy": "__na__", "q_focal": "no"}, {}),
    ("b", "1"): ({"p_policy": "draft", "p_focal": "shared"}, {}),
    ("b", "3"): ({"p_policy": "reviewed", "p_focal": "__dk__"}, {}),
}  # fmt: skip
NAMES = {"1": "NGO one", "2": "NGO two", "3": '=HYPERLINK("http://x")'}


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    if backend == "postgresql":
        url = request.getfixturevalue("_postgres_schema")
    else:
        path = tmp_path_factory.mktemp("shared") / "shared.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        codebook_services.save_codebook(session, CODEBOOK, seen=0)
        codebook = codebook_services.active_codebook(session)
        versions = {}
        for key, text in (("a", RUBRIC_A), ("b", RUBRIC_B)):
            version = rubric_services.store_rubric(
                session, load_rubric_text(text, f"{key}.yaml", codebook=codebook)
            )
            rubric_services.publish(session, version)
            versions[key] = version
        orgs = {
            key: Organization(code=f"ngo-{key}", name=name, kind="ngo", country="GR")
            for key, name in NAMES.items()
        }
        fund = Organization(code="fund", name="Fund", kind="funder")
        session.add_all([*orgs.values(), fund])
        session.flush()

        def person(email: str, role: Role, org: Organization | None = None) -> Any:
            user = accounts.create_user(session, email=email, name=email, password=PASSWORD)
            accounts.add_membership(session, user=user, role=role, organization=org)
            return user

        people = {
            "admin": person("admin@x.org", Role.ADMIN),
            "member": person("member@x.org", Role.NGO_MEMBER, orgs["1"]),
            "funder": person("funder@x.org", Role.FUNDER, fund),
            "evaluator": person("evaluator@x.org", Role.EVALUATOR),
        }
        cycles = {
            "a": create_cycle(
                session, code="cycle-a", name="A", version=versions["a"],
                organizations=[orgs["1"], orgs["2"]], opens_on=None, closes_on=None,
                evaluators=[people["evaluator"]], by=None,
            ),
            "b": create_cycle(
                session, code="cycle-b", name="B", version=versions["b"],
                organizations=[orgs["1"], orgs["3"]], opens_on=None, closes_on=None,
                evaluators=[], by=None,
            ),
        }  # fmt: skip
        ids: dict[tuple[str, str], int] = {}
        for (cycle, org), (answers, verified) in ANSWERS.items():
            assessment = session.exec(
                select(Assessment).where(
                    Assessment.cycle_id == cycles[cycle].id,
                    Assessment.organization_id == orgs[org].id,
                )
            ).one()
            assessment.status = Status.SUBMITTED
            ids[(cycle, org)] = int(assessment.id or 0)
            for question, value in answers.items():
                session.add(Answer(assessment_id=assessment.id, question_id=question, value=value))
            for question, value in verified.items():
                session.add(
                    Answer(
                        assessment_id=assessment.id, source=Source.VERIFIED,
                        question_id=question, value=value,
                    )
                )  # fmt: skip
        session.commit()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        }
    )
    yield {
        "app": app,
        "ids": ids,
        "cycles": {key: cycle.id for key, cycle in cycles.items()},
        "people": {k: u.email for k, u in people.items()},
    }
    with app.app_context():
        db.engine.dispose()
    if backend == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture
def as_user(world: dict[str, Any], login_as: Any) -> Any:
    def make(who: str) -> Any:
        client = world["app"].test_client()
        assert login_as(client, world["people"][who], PASSWORD).status_code == 302
        return client

    return make


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def head(world: dict[str, Any], cycle: str, org: str) -> list[str]:
    """The identity columns of an assessment, as CSV text."""
    name = NAMES[org] if not NAMES[org].startswith("=") else "'" + NAMES[org]
    version = "network-a v1" if cycle == "a" else "network-b v1"
    return [
        str(world["ids"][(cycle, org)]), f"ngo-{org}", name, "GR", f"cycle-{cycle}", "submitted",
        version,
    ]  # fmt: skip


def expected_long(world: dict[str, Any], keep: set[tuple[str, str]] | None = None) -> list:
    """The pooled long table, computed by hand from ANSWERS and the two maps."""
    rows = [
        # indicator, question, answer, value, label, missing, verified answer, value, missing
        (("a", "1"), ["POLICY", "q_policy", "3", "2", "Full", "", "2", "1", ""]),
        (("a", "1"), ["FOCAL", "q_focal", "yes", "1", "Yes", "", "", "", ""]),
        (("a", "1"), ["STAFF_PCT", "q_pct", "40", "40", "", "", "", "", ""]),
        (("a", "2"), ["POLICY", "q_policy", "not_applicable", "", "", "not_applicable",
                      "", "", ""]),
        (("a", "2"), ["FOCAL", "q_focal", "no", "0", "No", "", "", "", ""]),
        (("a", "2"), ["STAFF_PCT", "q_pct", "", "", "", "unanswered", "", "", ""]),
        (("b", "1"), ["POLICY", "p_policy", "draft", "1", "Draft", "", "", "", ""]),
        (("b", "1"), ["FOCAL", "p_focal", "shared", "", "", "unmapped", "", "", ""]),
        (("b", "3"), ["POLICY", "p_policy", "reviewed", "2", "Full", "", "", "", ""]),
        (("b", "3"), ["FOCAL", "p_focal", "dont_know", "", "", "dont_know", "", "", ""]),
    ]  # fmt: skip
    found = [head(world, *key) + cells for key, cells in rows if keep is None or key in keep]
    return sorted(found, key=lambda row: int(row[0]))


def test_the_long_pooled_export_equals_the_table_computed_by_hand(world, as_user):
    rows = read_csv(
        as_user("admin").get("/reports/exports/shared.csv", query_string={"lang": "en"})
    )
    assert rows[0] == [
        "assessment_id", "organisation", "organisation_name", "country", "cycle", "status",
        "rubric_version", "indicator", "question", "answer", "value", "value_label", "missing",
        "verified_answer", "verified_value", "verified_missing",
    ]  # fmt: skip
    assert rows[1:] == expected_long(world)


def test_the_wide_pooled_export_has_one_row_per_assessment(world, as_user):
    rows = read_csv(
        as_user("admin").get("/reports/exports/shared.csv", query_string={"shape": "wide"})
    )
    assert rows[0][7:] == [
        "POLICY", "POLICY.verified", "FOCAL", "FOCAL.verified", "STAFF_PCT", "STAFF_PCT.verified",
    ]  # fmt: skip
    by_hand = {
        ("a", "1"): ["2", "1", "1", "", "40", ""],
        ("a", "2"): ["not_applicable", "", "0", "", "", ""],
        ("b", "1"): ["1", "", "", "", "", ""],  # "shared" has no counterpart: empty
        ("b", "3"): ["2", "", "dont_know", "", "", ""],
    }
    expected = sorted(
        (head(world, *key) + cells for key, cells in by_hand.items()), key=lambda r: int(r[0])
    )
    assert rows[1:] == expected


def test_the_pooled_xlsx_holds_the_same_table_and_the_indicators(world, as_user):
    response = as_user("admin").get("/reports/exports/shared.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert book.sheetnames == ["data", "indicators"]
    data = [
        ["" if v is None else str(v) for v in row]
        for row in book["data"].iter_rows(values_only=True)
    ]
    width = len(data[0])
    data = [row + [""] * (width - len(row)) for row in data]  # read-only sheets trim empties
    assert data[1:] == expected_long(world)
    assert data[1 + 8][2] == "'" + NAMES["3"]  # the formula is text, never run
    codes = [row[0] for row in book["indicators"].iter_rows(min_row=2, values_only=True)]
    assert {"POLICY", "FOCAL", "STAFF_PCT"} <= set(codes)
    book.close()


def test_each_viewer_gets_exactly_the_assessments_they_may_see(world, as_user):
    member = read_csv(as_user("member").get("/reports/exports/shared.csv"))
    assert member[1:] == expected_long(world, {("a", "1"), ("b", "1")})
    evaluator = read_csv(as_user("evaluator").get("/reports/exports/shared.csv"))
    assert evaluator[1:] == expected_long(world, {("a", "1"), ("a", "2")})
    assert read_csv(as_user("funder").get("/reports/exports/shared.csv"))[1:] == []


def test_cycles_and_indicators_can_be_chosen(world, as_user):
    client = as_user("admin")
    rows = read_csv(
        client.get(
            "/reports/exports/shared.csv",
            query_string={"indicator": ["FOCAL", "NOPE"], "status": "scored"},
        )
    )
    assert [row[7] for row in rows[1:]] == ["FOCAL"] * 4
    rows = read_csv(
        client.get("/reports/exports/shared.csv", query_string={"cycle": world["cycles"]["b"]})
    )
    assert rows[1:] == expected_long(world, {("b", "1"), ("b", "3")})


def test_the_exports_codebook_names_each_questions_shared_indicator(world, as_user):
    client = as_user("admin")
    for cycle, question, values in (
        ("a", "q_policy", {"1": "0", "2": "1", "3": "2"}),
        ("b", "p_focal", {"named": "1", "shared": "", "nobody": "0"}),
    ):
        response = client.get(
            "/reports/exports/codebook.csv", query_string={"cycle": world["cycles"][cycle]}
        )
        table = read_csv(response)
        rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
        mine = [row for row in rows if row["variable"] == question]
        assert mine[0]["shared_indicator"] in ("POLICY", "FOCAL")
        assert {
            row["value"]: row["shared_value"] for row in mine[1:] if row["value"] in values
        } == (values)
    other = next(row for row in rows if row["variable"] == "p_policy")
    assert other["shared_indicator"] == "POLICY"
