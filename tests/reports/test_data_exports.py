"""Data exports: the files read back (csv, openpyxl, pyreadstat) hold exactly the stored
answers and scores, coded as the codebook says, neutralised against formulas, in the chosen
language, and only of the assessments the viewer may see.

One world per module (read-only tests): a rubric with every question type, four NGOs in a cycle
(answers with N/A, don't know, negative numbers and formula payloads), a second cycle, and the
people whose views differ.
"""

# ruff: noqa: RUF001  (Greek labels hold letters that look Latin)
from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pyreadstat
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, SQLModel, col, select

from accounts import services as accounts
from accounts.models import AccessGrant, AccessGrantCycle, AuditEvent, Organization, Role
from reports import data_exports
from rubrics import services as rubric_services
from rubrics.loader import load_rubric_text
from surveys.cycles.services import create_cycle
from surveys.models import Answer, Assessment, Score, Source, Status
from webapp import create_app
from webapp.extensions import db

PASSWORD = "correct horse battery"
RUBRIC = """
id: export-test
title: {en: Export test, el: Δοκιμή εξαγωγής}
languages: [en, el]
default_language: en
scale:
  min: 1
  max: 4
  levels:
    - {level: 1, label: {en: Initial, el: Αρχικό}}
    - {level: 2, label: {en: Developing, el: Αναπτυσσόμενο}}
    - {level: 3, label: {en: Established, el: Εδραιωμένο}}
    - {level: 4, label: {en: Leading, el: Πρωτοπόρο}}
missing: {allow_not_applicable: true, allow_dont_know: true, min_coverage: 0.5}
domains:
  - id: D1
    label: {en: Governance, el: Διακυβέρνηση}
    weight: 2
    indicators:
      - id: I1
        label: {en: Board, el: Διοικητικό συμβούλιο}
        questions:
          - id: q_mat
            type: maturity
            label: {en: "How active is the board?", el: "Πόσο ενεργό είναι το συμβούλιο;"}
            levels:
              - {level: 1, descriptor: {en: No board., el: Κανένα συμβούλιο.}}
              - {level: 2, descriptor: {en: Rarely meets., el: Σπάνια συνεδριάζει.}}
              - {level: 3, descriptor: {en: Meets quarterly., el: Συνεδριάζει ανά τρίμηνο.}}
              - {level: 4, descriptor: {en: Reviews results., el: Εξετάζει αποτελέσματα.}}
          - id: q_yes
            type: yes_no
            label: {en: "Is there a focal point?", el: "Υπάρχει υπεύθυνος;"}
            options:
              - {id: "yes", label: {en: "Yes", el: Ναι}, score: 4}
              - {id: "no", label: {en: "No", el: Όχι}, score: 1}
      - id: I2
        label: {en: Choices, el: Επιλογές}
        questions:
          - id: q_single
            type: single
            label: {en: "=HYPERLINK(\\"http://x\\")", el: Μία επιλογή}
            options:
              - {id: a, label: {en: "@SUM(A1)", el: Α}, score: 1}
              - {id: b, label: {en: Second, el: Δεύτερη}, score: 2}
              - {id: c, label: {en: Third, el: Τρίτη}, score: 4}
          - id: q_multi
            type: multiple
            label: {en: "Which ones?", el: "Ποιες;"}
            options:
              - {id: x, label: {en: Ex, el: Χι}, score: 1}
              - {id: "y", label: {en: Why, el: Ύψιλον}, score: 1}
              - {id: z, label: {en: Zed, el: Ζήτα}, score: 2}
  - id: D2
    label: {en: Reach, el: Εμβέλεια}
    indicators:
      - id: I3
        label: {en: Numbers, el: Αριθμοί}
        questions:
          - id: q_num
            type: number
            label: {en: "How many?", el: "Πόσοι;"}
            number: {method: linear, low: 0, high: 10}
          - id: q_text
            type: text
            label: {en: Notes, el: Σημειώσεις}
          - id: q_date
            type: date
            label: {en: "Since when?", el: "Από πότε;"}
"""

ANSWERS: dict[str, dict[str, Any]] = {
    "a": {
        "q_mat": 3, "q_yes": "yes", "q_single": "b", "q_multi": ["x", "z"], "q_num": -3.5,
        "q_text": "=1+1", "q_date": "2026-05-01",
    },
    "b": {
        "q_mat": "__na__", "q_yes": "__dk__", "q_single": "a", "q_multi": "__na__",
        "q_num": "__dk__", "q_text": "\tTab",
    },
    "c": {"q_mat": 1, "q_yes": "no", "q_text": "\rCR", "q_num": 7, "q_multi": []},
}  # fmt: skip
NAMES = {"a": "=1+2", "b": "+SUM(A1:A9)", "c": "@evil", "d": "-2+3 Δράση"}


def _store_scores(session: Session, assessment: Assessment, version_id: int) -> None:
    rows = [
        (Source.SELF, "overall", "export-test", 70.0, 1.0),
        (Source.SELF, "domain", "D1", 80.0, 0.9),
        (Source.SELF, "domain", "D2", None, 0.25),
        (Source.SELF, "indicator", "I1", 75.0, 1.0),
        (Source.VERIFIED, "overall", "export-test", 60.0, 1.0),
    ]
    for source, level, code, score, coverage in rows:
        session.add(
            Score(
                assessment_id=assessment.id, rubric_version_id=version_id, source=source,
                level=level, code=code, score=score, coverage=coverage,
            )
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The module's app and data, seeded once (on SQLite or the PostgreSQL test cluster)."""
    if backend == "postgresql":
        url = request.getfixturevalue("_postgres_schema")
    else:
        path = tmp_path_factory.mktemp("exports") / "exports.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        version = rubric_services.store_rubric(session, load_rubric_text(RUBRIC))
        rubric_services.publish(session, version)
        orgs = {
            key: Organization(code=f"ngo-{key}", name=NAMES[key], kind="ngo", country="GR")
            for key in "abcd"
        }
        orgs["c"].country, orgs["a"].org_type = "AL", "shelter"
        funds = {k: Organization(code=f"fund-{k}", name=k, kind="funder") for k in ("1", "2", "3")}
        session.add_all([*orgs.values(), *funds.values()])
        session.flush()

        def person(email: str, role: Role, org: Organization | None = None) -> Any:
            user = accounts.create_user(session, email=email, name=email, password=PASSWORD)
            accounts.add_membership(session, user=user, role=role, organization=org)
            return user

        people = {
            "admin": person("admin@x.org", Role.ADMIN),
            "member": person("member@x.org", Role.NGO_MEMBER, orgs["a"]),
            "funder": person("funder@x.org", Role.FUNDER, funds["1"]),
            "revoked": person("revoked@x.org", Role.FUNDER, funds["2"]),
            "limited": person("limited@x.org", Role.FUNDER, funds["3"]),
            "evaluator": person("evaluator@x.org", Role.EVALUATOR),
            "unassigned": person("unassigned@x.org", Role.EVALUATOR),
        }
        cycle = create_cycle(
            session, code="c-2026", name="Cycle 2026", version=version,
            organizations=list(orgs.values()), opens_on=None, closes_on=None,
            evaluators=[people["evaluator"]], by=None,
        )  # fmt: skip
        other = create_cycle(
            session, code="c-other", name="Other cycle", version=version,
            organizations=[orgs["a"]], opens_on=None, closes_on=None,
            evaluators=[people["unassigned"]], by=None,
        )  # fmt: skip
        ass = {
            key: session.exec(
                select(Assessment).where(
                    Assessment.cycle_id == cycle.id, Assessment.organization_id == org.id
                )
            ).one()
            for key, org in orgs.items()
        }
        statuses = {"a": Status.VERIFIED, "b": Status.SUBMITTED, "c": Status.IN_PROGRESS}
        for key, status in statuses.items():
            ass[key].status = status
        for key, answers in ANSWERS.items():
            for question, value in answers.items():
                session.add(Answer(assessment_id=ass[key].id, question_id=question, value=value))
        session.add(
            Answer(assessment_id=ass["a"].id, source=Source.VERIFIED, question_id="q_mat", value=2)
        )
        assert version.id is not None
        _store_scores(session, ass["a"], version.id)
        accounts.grant_access(session, ngo=orgs["a"], funder=funds["1"], by=None)
        accounts.grant_access(session, ngo=orgs["b"], funder=funds["1"], by=None)
        revoked = accounts.grant_access(session, ngo=orgs["a"], funder=funds["2"], by=None)
        revoked.revoked_at = datetime.now(UTC)
        limited = AccessGrant(ngo_id=orgs["a"].id, funder_id=funds["3"].id, all_cycles=False)
        session.add(limited)
        session.flush()
        session.add(AccessGrantCycle(grant_id=limited.id, cycle_id=other.id))
        session.commit()
        ids = {key: a.id for key, a in ass.items()}
        found = {
            "cycle": cycle.id, "other": other.id, "version": version.id, "ids": ids,
            "people": {k: u.email for k, u in people.items()},
        }  # fmt: skip
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        }
    )
    yield {**found, "app": app, "url": url}
    with app.app_context():
        db.engine.dispose()
    if backend == "postgresql":  # leave the shared schema empty for the next module
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture
def as_user(world: dict[str, Any], login_as: Any) -> Any:
    """A test client logged in as one of the world's people."""

    def make(who: str) -> Any:
        client = world["app"].test_client()
        response = login_as(client, world["people"][who], PASSWORD)
        assert response.status_code == 302
        return client

    return make


def get(client: Any, path: str, **args: Any) -> Any:
    return client.get(f"/reports/exports/{path}", query_string=args)


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def by_org(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["organisation"].removeprefix("ngo-"): row for row in rows}


# --- neutralising formulas -----------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_with_a_formula_character_gets_an_apostrophe(start):
    assert data_exports.neutralise(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


def test_plain_text_is_left_as_it_is():
    assert data_exports.neutralise("Hope & Home = 1") == "Hope & Home = 1"
    assert data_exports.neutralise("") == ""


def test_variable_names_suit_spss_and_stata_and_stay_distinct():
    names = data_exports.variable_names(
        ["q.1", "Q_1", "1st", "by", "x" * 40, "x" * 40, "score.self.D-1", "str12"]
    )
    assert names[0] == "q_1"
    assert names[1].lower() != names[0].lower()
    assert names[2] == "v1st"
    assert names[3] == "by_"
    assert len(names[4]) == len(names[5]) == 32
    assert names[4] != names[5]
    assert names[6] == "score_self_D_1"
    assert names[7] == "str12_"


# --- CSV -----------------------------------------------------------------------------------------


def test_wide_csv_holds_each_answer_coded_and_the_scores(world, as_user):
    response = get(as_user("admin"), "assessments.csv", cycle=world["cycle"])
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "assessments-c-2026-en.csv" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = by_org(read_csv(response))
    assert set(rows) == {"a", "b", "c", "d"}
    a, b, c, d = rows["a"], rows["b"], rows["c"], rows["d"]
    assert a["assessment_id"] == str(world["ids"]["a"])
    assert a["status"] == "verified"
    assert d["status"] == "not_started"
    assert a["rubric_version"] == a["scores_version"] == "export-test v1"
    assert (a["q_mat"], a["q_yes"], a["q_single"], a["q_multi"]) == ("3", "yes", "b", "x z")
    assert (a["q_multi.x"], a["q_multi.y"], a["q_multi.z"]) == ("1", "0", "1")
    assert a["q_num"] == "-3.5"  # a number, never neutralised
    assert a["q_date"] == "2026-05-01"
    # N/A, don't know and unanswered: three different cells.
    assert (b["q_mat"], b["q_yes"], b["q_num"]) == ("not_applicable", "dont_know", "dont_know")
    assert b["q_multi"] == b["q_multi.x"] == "not_applicable"
    assert b["q_date"] == ""
    assert d["q_mat"] == ""
    assert (c["q_multi"], c["q_multi.x"]) == ("", "0")  # answered with no option ticked
    assert (c["q_mat"], c["q_num"]) == ("1", "7")
    assert float(a["score.self.overall"]) == 70.0
    assert float(a["coverage.self.D1"]) == 0.9
    assert a["score.self.D2"] == ""
    assert float(a["coverage.self.D2"]) == 0.25
    assert float(a["score.verified.overall"]) == 60.0
    assert b["score.self.overall"] == ""


def test_csv_neutralises_names_labels_and_answers(world, as_user):
    rows = by_org(read_csv(get(as_user("admin"), "assessments.csv", cycle=world["cycle"])))
    assert rows["a"]["organisation_name"] == "'=1+2"
    assert rows["b"]["organisation_name"] == "'+SUM(A1:A9)"
    assert rows["c"]["organisation_name"] == "'@evil"
    assert rows["d"]["organisation_name"] == "'-2+3 Δράση"
    assert rows["a"]["q_text"] == "'=1+1"
    assert rows["b"]["q_text"] == "'\tTab"
    assert rows["c"]["q_text"] == "'\rCR"
    labelled = by_org(
        read_csv(get(as_user("admin"), "assessments.csv", cycle=world["cycle"], values="labels"))
    )
    assert labelled["b"]["q_single"] == "'@SUM(A1)"  # an option's label
    book = read_csv(get(as_user("admin"), "codebook.csv", cycle=world["cycle"]))
    question = next(r for r in book if r["variable"] == "q_single" and r["value"] == "")
    assert question["label_en"] == '\'=HYPERLINK("http://x")'
    for row in book:  # nothing in the codebook would run as a formula
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), row


def test_labels_in_greek(world, as_user):
    rows = by_org(
        read_csv(
            get(as_user("admin"), "assessments.csv", cycle=world["cycle"], lang="el",
                values="labels")
        )
    )  # fmt: skip
    a, b = rows["a"], rows["b"]
    assert a["q_mat"] == "3 · Εδραιωμένο: Συνεδριάζει ανά τρίμηνο."
    assert (a["q_yes"], a["q_single"], a["q_multi"]) == ("Ναι", "Δεύτερη", "Χι; Ζήτα")
    assert b["q_mat"] == "Δεν εφαρμόζεται"
    assert b["q_yes"] == "Δεν γνωρίζω"
    assert a["status"] == "Επαληθευμένο"
    assert a["q_num"] == "-3.5"


def test_long_csv_has_one_row_per_answer_self_and_verified(world, as_user):
    rows = read_csv(get(as_user("admin"), "assessments.csv", cycle=world["cycle"], shape="long"))
    assert list(rows[0]) == list(data_exports.LONG_HEADER)
    stored = sum(len(v) for v in ANSWERS.values()) + 1  # and one verified answer
    assert len(rows) == stored
    keyed = {(r["organisation"], r["source"], r["question"]): r for r in rows}
    verified = keyed[("ngo-a", "verified", "q_mat")]
    assert (verified["value"], verified["value_label"]) == ("2", "2 · Developing: Rarely meets.")
    na = keyed[("ngo-b", "self", "q_mat")]
    assert (na["value"], na["missing"], na["value_label"]) == (
        "not_applicable", "not_applicable", "Not applicable"
    )  # fmt: skip
    assert keyed[("ngo-b", "self", "q_yes")]["missing"] == "dont_know"
    empty = keyed[("ngo-c", "self", "q_multi")]
    assert (empty["value"], empty["missing"]) == ("", "unanswered")
    assert keyed[("ngo-a", "self", "q_num")]["value"] == "-3.5"
    assert keyed[("ngo-a", "self", "q_text")]["value"] == "'=1+1"
    assert (verified["domain"], verified["indicator"]) == ("D1", "I1")


def test_codebook_lists_options_with_scores_weights_and_missing_codes(world, as_user):
    book = read_csv(get(as_user("admin"), "codebook.csv", cycle=world["cycle"]))
    single = [r for r in book if r["variable"] == "q_single"]
    head, options = single[0], single[1:4]
    assert (head["domain"], head["indicator"], head["question_type"]) == ("D1", "I2", "single")
    assert head["rubric_version"] == "export-test v1"
    assert [(o["value"], o["sav_dta_value"], o["score"]) for o in options] == [
        ("a", "1", "1.0"), ("b", "2", "2.0"), ("c", "3", "4.0"),
    ]  # fmt: skip
    assert [o["label_el"] for o in options] == ["Α", "Δεύτερη", "Τρίτη"]
    missing = {r["value"]: r for r in single[4:]}
    assert missing["not_applicable"]["sav_dta_value"] == "SPSS -97, Stata .a"
    assert missing["dont_know"]["label_el"] == "Δεν γνωρίζω"
    domain = next(r for r in book if r["variable"] == "score.self.D1")
    assert (domain["kind"], domain["weight"]) == ("score (domain)", "2.0")
    assert domain["label_el"].endswith("Διακυβέρνηση")
    assert {r["variable"] for r in book} >= {"q_multi.x", "coverage.verified.I3"}


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_reads_back_with_numbers_as_numbers_and_no_formula(world, as_user):
    response = get(as_user("admin"), "assessments.xlsx", cycle=world["cycle"], lang="el")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["data", "codebook"]
    sheet = book["data"]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
    header = [c.value for c in sheet[1]]
    rows = {
        r[header.index("organisation")]: dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    a, b = rows["ngo-a"], rows["ngo-b"]
    assert a["organisation_name"] == "'=1+2"
    assert b["q_text"] == "'\tTab"
    assert a["q_num"] == -3.5
    assert a["q_mat"] == 3
    assert a["score.self.overall"] == 70.0
    assert b["q_mat"] == "not_applicable"
    assert b["q_yes"] == "dont_know"
    assert rows["ngo-d"]["q_mat"] is None
    codebook = list(book["codebook"].iter_rows(values_only=True))
    header = list(codebook[0])
    q_mat = next(r for r in codebook if r[0] == "q_mat")
    assert q_mat[header.index("label_el")] == "Πόσο ενεργό είναι το συμβούλιο;"


def test_long_xlsx_has_the_answers(world, as_user):
    response = get(as_user("admin"), "assessments.xlsx", cycle=world["cycle"], shape="long")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()))["data"]
    assert sheet.max_row == 1 + sum(len(v) for v in ANSWERS.values()) + 1
    assert "long" in response.headers["Content-Disposition"]


# --- SPSS and Stata ------------------------------------------------------------------------------


def saved(response: Any, tmp_path: Path, suffix: str) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    path = tmp_path / f"export{suffix}"
    path.write_bytes(response.get_data())
    return str(path)


def test_sav_round_trip_with_labels_and_user_missing_values(world, as_user, tmp_path):
    response = get(as_user("admin"), "assessments.sav", cycle=world["cycle"], lang="el")
    assert response.headers["Content-Disposition"].endswith('.sav"')
    path = saved(response, tmp_path, ".sav")
    df, meta = pyreadstat.read_sav(path, user_missing=True)
    rows = df.set_index("organisation")
    a, b = rows.loc["ngo-a"], rows.loc["ngo-b"]
    assert (a["q_mat"], a["q_yes"], a["q_single"], a["q_num"]) == (3, 1, 2, -3.5)
    assert (a["q_multi_x"], a["q_multi_y"], a["q_multi_z"]) == (1, 0, 1)
    assert a["organisation_name"] == "=1+2"  # SPSS runs no formulas: text as it was typed
    assert (b["q_mat"], b["q_yes"], b["q_num"]) == (-97, -98, -98)
    assert a["score_self_overall"] == 70.0
    labels = meta.variable_value_labels
    assert labels["q_yes"] == {
        1.0: "Ναι",
        2.0: "Όχι",
        -97.0: "Δεν εφαρμόζεται",
        -98.0: "Δεν γνωρίζω",
    }
    assert labels["q_mat"][3.0] == "3 Εδραιωμένο: Συνεδριάζει ανά τρίμηνο."
    assert meta.column_names_to_labels["q_mat"] == "Πόσο ενεργό είναι το συμβούλιο;"
    assert {"lo": -97.0, "hi": -97.0} in meta.missing_ranges["q_mat"]
    plain, _meta = pyreadstat.read_sav(path)  # without user_missing: both are missing
    assert plain.set_index("organisation").loc["ngo-b"].isna()[["q_mat", "q_yes"]].all()


def test_dta_round_trip_with_extended_missing_values(world, as_user, tmp_path):
    response = get(as_user("admin"), "assessments.dta", cycle=world["cycle"])
    path = saved(response, tmp_path, ".dta")
    df, meta = pyreadstat.read_dta(path, user_missing=True)
    rows = df.set_index("organisation")
    a, b = rows.loc["ngo-a"], rows.loc["ngo-b"]
    assert (a["q_mat"], a["q_single"], a["q_num"]) == (3, 2, -3.5)
    assert (b["q_mat"], b["q_yes"], b["q_num"]) == ("a", "b", "b")
    assert meta.variable_value_labels["q_mat"]["a"] == "Not applicable"
    assert meta.column_names_to_labels["q_single"] == '=HYPERLINK("http://x")'
    assert "b" in meta.missing_user_values["q_yes"]
    assert a["q_date"] == "2026-05-01"
    assert a["q_text"] == "=1+1"


# --- who sees what -------------------------------------------------------------------------------


def exported(client: Any, cycle: int) -> set[str] | int:
    response = get(client, "assessments.csv", cycle=cycle)
    if response.status_code != 200:
        return int(response.status_code)
    return set(by_org(read_csv(response)))


def test_each_viewer_exports_exactly_what_they_may_see(world, as_user):
    cycle, other = world["cycle"], world["other"]
    assert exported(as_user("admin"), cycle) == {"a", "b", "c", "d"}
    assert exported(as_user("evaluator"), cycle) == {"a", "b", "c", "d"}
    assert exported(as_user("funder"), cycle) == {"a", "b"}
    assert exported(as_user("member"), cycle) == {"a"}
    assert exported(as_user("member"), other) == {"a"}
    # A grant limited to the other cycle; a revoked grant; an evaluator of another cycle.
    assert exported(as_user("limited"), cycle) == 404
    assert exported(as_user("limited"), other) == {"a"}
    assert exported(as_user("revoked"), cycle) == 404
    assert exported(as_user("unassigned"), cycle) == 404
    for kind in ("xlsx", "sav", "dta", "codebook"):
        path = "codebook.csv" if kind == "codebook" else f"assessments.{kind}"
        assert get(as_user("revoked"), path, cycle=cycle).status_code == 404


def test_long_and_statistical_files_are_scoped_too(world, as_user, tmp_path):
    client = as_user("funder")
    rows = read_csv(get(client, "assessments.csv", cycle=world["cycle"], shape="long"))
    assert {r["organisation"] for r in rows} == {"ngo-a", "ngo-b"}
    path = saved(get(client, "assessments.sav", cycle=world["cycle"]), tmp_path, ".sav")
    df, _meta = pyreadstat.read_sav(path)
    assert sorted(df["organisation"]) == ["ngo-a", "ngo-b"]


def test_the_form_offers_only_visible_cycles_and_is_in_greek(world, as_user):
    page = get(as_user("limited"), "", lang="el").get_data(as_text=True)
    assert "Other cycle" in page
    assert "Cycle 2026" not in page
    assert "Εξαγωγές δεδομένων" in page
    empty = get(as_user("revoked"), "").get_data(as_text=True)
    assert "nothing you may export" in empty
    assert get(world["app"].test_client(), "").status_code == 302  # to the login page


def test_filters_and_unknown_values(world, as_user):
    client = as_user("admin")
    assert exported(client, world["cycle"]) == {"a", "b", "c", "d"}
    rows = read_csv(get(client, "assessments.csv", cycle=world["cycle"], status="scored"))
    assert set(by_org(rows)) == {"a", "b"}
    rows = read_csv(get(client, "assessments.csv", cycle=world["cycle"], country="AL"))
    assert set(by_org(rows)) == {"c"}
    assert get(client, "assessments.csv", cycle="nope").status_code == 200  # the newest cycle
    assert get(client, "assessments.csv", cycle=99999).status_code == 404
    assert get(client, "assessments.csv", cycle=world["cycle"], version=99999).status_code == 404
    assert get(client, "assessments.pdf", cycle=world["cycle"]).status_code == 404


def test_every_export_is_recorded_in_the_audit_log(world, as_user):
    client = as_user("funder")
    get(client, "assessments.csv", cycle=world["cycle"], shape="long").get_data()
    get(client, "codebook.csv", cycle=world["cycle"]).get_data()
    engine = sa.create_engine(world["url"])
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "export_data")
            .order_by(col(AuditEvent.id).desc())
            .limit(2)
        ).all()
    engine.dispose()
    codebook, data = events
    assert data.object_id == str(world["cycle"])
    assert data.actor_id is not None
    assert data.detail["format"] == "csv"
    assert data.detail["shape"] == "long"
    assert data.detail["rows"] == 2
    assert codebook.detail["format"] == "codebook"


# --- no transaction held while the client reads --------------------------------------------------


def test_a_download_holds_no_connection_between_chunks(world):
    """Each chunk is read on its own connection, closed before its rows are written: a slow
    client holds no transaction (a TRUNCATE or a checkpoint never waits for a download)."""
    app: Flask = world["app"]
    with app.app_context():
        engine = db.engine
        principal_scope = sa.true()
        plan = data_exports.ExportPlan(
            filters=data_exports.ExportFilters(cycle_id=world["cycle"]),
            scope=principal_scope,
            rubric=load_rubric_text(RUBRIC),
            rubric_label="export-test v1",
            score_rubric=load_rubric_text(RUBRIC),
            score_version_id=world["version"],
            score_label="export-test v1",
            language="en",
            words={"en": _words()},
            chunk=1,
        )
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", seen)
        stream = data_exports.csv_stream(engine, plan, batch=1)
        blocks = [next(stream), next(stream)]  # the header, then the first row
        assert engine.pool.checkedout() == 0
        if engine.dialect.name == "postgresql":
            with engine.connect() as probe:
                busy = probe.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE state LIKE "
                        "'idle in transaction%' AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            assert busy == 0
        blocks.extend(stream)
        assert engine.pool.checkedout() == 0
        sa.event.remove(engine, "before_cursor_execute", seen)
    # Reads only: on SQLite a plain BEGIN, never the write lock of BEGIN IMMEDIATE.
    assert not [s for s in statements if "IMMEDIATE" in s.upper()]
    assert any(s.lstrip().upper().startswith("SELECT") for s in statements)
    assert b"".join(blocks).count(b"\r\n") == 5  # the header and four assessments


def _words() -> data_exports.Words:
    return data_exports.Words(
        not_applicable="Not applicable", dont_know="Don't know", statuses={}, identity={},
        self_score="%(label)s", verified_score="%(label)s", self_coverage="%(label)s",
        verified_coverage="%(label)s",
    )  # fmt: skip


def test_the_form_links_every_download_and_is_in_the_navigation(world, as_user):
    page = get(as_user("member"), "").get_data(as_text=True)
    for path in ("assessments.csv", "assessments.xlsx", "assessments.sav", "assessments.dta",
                 "codebook.csv"):  # fmt: skip
        assert f'formaction="/reports/exports/{path}"' in page
    assert 'href="/reports/exports/"' in page
