"""The shared codes in the API (issue 14, section 3): the export by shared indicator through a
token is the pages' download of the same person, byte for byte; an NGO's token gets its own
rows only; answers carry the shared code and the answer on the indicator's scale; the codebook
is served as JSON to every token.

The world: NGO A and NGO B answer the quick check (two cycles), and NGO A also answers another
network's rubric whose options map onto the same shared indicators. Seeded once per module,
with the answers sent through the API itself.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
import yaml
from openapi_spec_validator import validate
from sqlmodel import select

from accounts.models import AuditEvent, Organization, User
from rubrics import services as rubric_services
from rubrics.codebook import CODEBOOK_FILE
from rubrics.loader import load_rubric_text
from surveys.cycles import services as cycles
from surveys.models import Assessment
from tests.conftest import server_session
from tests.webapp.api_world import COMPLETE, ROLES, World, api_app, seed  # noqa: F401

# Another network's rubric: its own options, mapped onto the codebook's scales.
OTHER = """\
id: other-network
title: Other network
scale: {min: 1, max: 4}
missing: {allow_not_applicable: true, allow_dont_know: true}
domains:
  - id: S
    label: Safety
    indicators:
      - id: S1
        label: Rules
        questions:
          - id: o_policy
            type: single
            label: Which policy do you have?
            indicator: SG_POLICY
            indicator_map: {none: 1, draft: 2, signed: 3, reviewed: 4, unsure: null}
            options:
              - {id: none, label: None, score: 1}
              - {id: draft, label: A draft, score: 2}
              - {id: signed, label: Signed by all, score: 3}
              - {id: reviewed, label: Reviewed with children, score: 4}
              - {id: unsure, label: Not sure, score: 1}
          - id: o_focal
            type: single
            label: Who handles concerns?
            indicator: SG_FOCAL_POINT
            indicator_map: {named: 1, shared: null, nobody: 0}
            options:
              - {id: named, label: A named person, score: 4}
              - {id: shared, label: Whoever is there, score: 2}
              - {id: nobody, label: Nobody, score: 1}
          - id: o_notes
            type: text
            label: Anything else?
"""

OTHER_ANSWERS = {"o_policy": "signed", "o_focal": "shared", "o_notes": "=1+1"}
B_ANSWERS = {"SG1_policy": 2, "SG1_focal": "no", "SV2_shelter": 4}


def _send(world: World, role: str, assessment: int, answers: dict[str, Any]) -> Any:
    response = world.request(
        role,
        "PATCH",
        f"/assessments/{assessment}/answers",
        json={
            "answers": [{"question_id": q, "value": v, "version": None} for q, v in answers.items()]
        },
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture(scope="module")
def world(api_app) -> tuple[World, dict[str, int]]:  # noqa: F811
    found = seed(api_app)
    with found.session() as session:
        version = rubric_services.store_rubric(session, load_rubric_text(OTHER, "other.yaml"))
        rubric_services.publish(session, version)
        cycle = cycles.create_cycle(
            session,
            code="other-cycle",
            name="Other",
            version=version,
            organizations=[session.get_one(Organization, found.ngo_a)],
            opens_on=date.today(),
            closes_on=date.today() + timedelta(days=30),
            evaluators=[session.get_one(User, found.ids["evaluator"])],
            by=None,
        )
        session.commit()
        other = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
        extra = {"other_cycle": int(cycle.id or 0), "other": int(other.id or 0)}
    _send(found, "member", found.assessment_a, COMPLETE)
    done = found.request("member", "POST", f"/assessments/{found.assessment_a}/submit")
    assert done.status_code == 200, done.get_json()
    _send(found, "ngo_b_admin", found.assessment_b, B_ANSWERS)
    saved = _send(found, "ngo_admin", extra["other"], OTHER_ANSWERS)
    extra["saved_other"] = len(saved["answers"])
    return found, extra


def page(world: World, role: str, path: str, query: dict[str, Any]) -> Any:
    """The same download from the pages, with ``role``'s person logged in by cookie."""
    client = world.app.test_client()
    with client.session_transaction() as browser:
        browser.update(server_session(world.app, world.ids[role]))
    return client.get(f"/reports/exports/{path}", query_string=query)


def rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def by_id(table: list[list[str]]) -> dict[tuple[str, str], dict[str, str]]:
    """Long rows by (assessment id, indicator)."""
    header = table[0]
    return {
        (r[0], r[header.index("indicator")]): dict(zip(header, r, strict=True)) for r in table[1:]
    }


# --- the pooled export ----------------------------------------------------------------------


def test_the_pooled_export_through_a_token_is_the_pages_download_byte_for_byte(world):
    w, extra = world
    queries: list[dict[str, Any]] = [
        {},
        {"shape": "wide"},
        {"status": "scored", "indicator": ["SG_FOCAL_POINT", "SG_POLICY"]},
        {"cycle": [w.cycle_a, extra["other_cycle"]], "lang": "el", "shape": "long"},
        {"cycle": [w.cycle_b], "shape": "wide", "lang": "en"},
    ]
    for role in ("ngo_admin", "ngo_b_admin", "evaluator", "funder", "admin"):
        for query in queries:
            api = w.app.test_client().get(
                "/api/v1/exports/shared.csv", query_string=query, headers=w.headers(role)
            )
            ours = page(w, role, "shared.csv", query)
            assert api.status_code == ours.status_code == 200, (role, query)
            assert api.get_data() == ours.get_data(), (role, query)
            assert api.headers["Content-Disposition"] == ours.headers["Content-Disposition"]
            assert api.headers["Cache-Control"] == "private, no-store"


def test_the_pooled_xlsx_through_a_token_holds_the_pages_sheets(world):
    w, _extra = world

    def sheets(response: Any) -> dict[str, list[tuple[Any, ...]]]:
        assert response.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}

    query = {"shape": "wide", "lang": "en"}
    api = w.app.test_client().get(
        "/api/v1/exports/shared.xlsx", query_string=query, headers=w.headers("admin")
    )
    assert api.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from_api, from_page = sheets(api), sheets(page(w, "admin", "shared.xlsx", query))
    assert from_api == from_page
    assert len(from_api["data"]) >= 4  # the header and three assessments


def test_an_ngo_token_gets_its_own_rows_pooled_across_its_two_rubrics(world):
    w, extra = world
    mine = by_id(
        rows(
            w.app.test_client().get(
                "/api/v1/exports/shared.csv?lang=en", headers=w.headers("ngo_admin")
            )
        )
    )
    assert {r["organisation"] for r in mine.values()} == {"ngo-a"}
    assert {int(a) for a, _code in mine} == {w.assessment_a, extra["other"]}
    # by hand: the quick check's levels are SG_POLICY's values; the other rubric's "signed"
    # maps to 3 and "shared" to nothing (null in its indicator_map)
    a, other = str(w.assessment_a), str(extra["other"])
    assert (mine[a, "SG_POLICY"]["answer"], mine[a, "SG_POLICY"]["value"]) == ("3", "3")
    assert (mine[a, "SG_FOCAL_POINT"]["answer"], mine[a, "SG_FOCAL_POINT"]["value"]) == ("yes", "1")
    assert mine[a, "SHELTER_STANDARDS"]["missing"] == "not_applicable"
    assert (mine[other, "SG_POLICY"]["answer"], mine[other, "SG_POLICY"]["value"]) == (
        "signed",
        "3",
    )
    assert mine[other, "SG_FOCAL_POINT"]["value"] == ""
    assert mine[other, "SG_FOCAL_POINT"]["missing"] == "unmapped"
    assert mine[other, "SG_POLICY"]["rubric_version"] == "other-network v1"
    theirs = rows(
        w.app.test_client().get("/api/v1/exports/shared.csv", headers=w.headers("ngo_b_admin"))
    )
    assert {r[0] for r in theirs[1:]} == {str(w.assessment_b)}
    nothing = rows(
        w.app.test_client().get("/api/v1/exports/shared.csv", headers=w.headers("funder_no_grant"))
    )
    assert nothing[1:] == []
    # a funder with NGO A's grant: its submitted assessment, never drafts of another NGO
    funder = rows(
        w.app.test_client().get("/api/v1/exports/shared.csv", headers=w.headers("funder"))
    )
    assert str(w.assessment_b) not in {r[0] for r in funder[1:]}


def test_filters_are_repeatable_and_unknown_codes_are_named(world):
    w, extra = world
    client = w.app.test_client()
    chosen = rows(
        client.get(
            f"/api/v1/exports/shared.csv?cycle={w.cycle_b}&cycle={extra['other_cycle']}"
            "&indicator=SG_POLICY&indicator=SG_FOCAL_POINT",
            headers=w.headers("admin"),
        )
    )
    found = by_id(chosen)
    assert {int(a) for a, _c in found} == {w.assessment_b, extra["other"]}
    assert {c for _a, c in found} == {"SG_POLICY", "SG_FOCAL_POINT"}
    unknown = client.get(
        "/api/v1/exports/shared.csv?indicator=SG_POLICY&indicator=NOT_A_CODE",
        headers=w.headers("admin"),
    )
    assert unknown.status_code == 422
    assert unknown.mimetype == "application/problem+json"
    assert [e["path"] for e in unknown.get_json()["errors"]] == ["query.indicator[1]"]
    for bad, where in (("status=done", "query.status"), ("shape=tall", "query.shape")):
        refused = client.get(f"/api/v1/exports/shared.csv?{bad}", headers=w.headers("admin"))
        assert refused.status_code == 400
        assert refused.get_json()["errors"][0]["path"] == where
    assert client.get("/api/v1/exports/shared.csv").status_code == 401


def test_the_api_download_is_in_the_audit_log(world):
    w, _extra = world
    raw = w.token("evaluator", name="pooled")
    response = w.app.test_client().get(
        f"/api/v1/exports/shared.xlsx?cycle={w.cycle_a}&shape=wide&status=scored",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200
    with w.session() as session:
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "export_data",
                AuditEvent.object_type == "codebook",
                AuditEvent.actor_id == w.ids["evaluator"],
            )
        ).all()
    assert any(
        e.detail["format"] == "xlsx"
        and e.detail["shape"] == "wide"
        and e.detail["status"] == "scored"
        and e.detail["cycles"] == [w.cycle_a]
        for e in events
    )


# --- answers carry the shared code --------------------------------------------------------------


def test_answers_carry_the_shared_code_and_the_value_on_its_scale(world):
    w, extra = world
    quick = w.request("ngo_admin", "GET", f"/assessments/{w.assessment_a}/answers").get_json()
    got = {a["question_id"]: (a["indicator"], a["indicator_value"]) for a in quick["answers"]}
    assert got == {
        "SG1_policy": ("SG_POLICY", 3.0),  # a level that is a value of the scale
        "SG1_focal": ("SG_FOCAL_POINT", 1.0),  # yes on a binary indicator
        "SG2_vetting": ("SG_VETTING", 2.0),
        "SG2_incidents": ("SG_CONCERNS", 4.0),
        "SV1_plans": ("CARE_PLANNING", 3.0),
        "SV1_referral": (None, None),  # measures no shared indicator
        "SV2_shelter": ("SHELTER_STANDARDS", None),  # not applicable: no value on the scale
        "RS1_data": (None, None),
        "RS1_outcomes": ("FOLLOW_UP", 1.0),
        "RS2_evaluated": ("EXTERNAL_EVALUATION", 0.0),  # no
    }
    other = w.request("evaluator", "GET", f"/assessments/{extra['other']}/answers").get_json()
    assert {a["question_id"]: (a["indicator"], a["indicator_value"]) for a in other["answers"]} == {
        "o_policy": ("SG_POLICY", 3.0),  # "signed" -> 3 by its indicator_map
        "o_focal": ("SG_FOCAL_POINT", None),  # "shared" -> null by its indicator_map
        "o_notes": (None, None),
    }
    assert extra["saved_other"] == 3
    # a change's answer carries them too (NGO B's draft: its answers are in no other assertion)
    saved = _send(w, "ngo_b_admin", w.assessment_b, {"SG2_vetting": 4, "RS1_data": 2})
    assert {a["question_id"]: (a["indicator"], a["indicator_value"]) for a in saved["answers"]} == {
        "SG2_vetting": ("SG_VETTING", 4.0),
        "RS1_data": (None, None),
    }


# --- the codebook -----------------------------------------------------------------------------


def test_the_codebook_is_served_to_every_token(world):
    w, _extra = world
    shipped = yaml.safe_load(CODEBOOK_FILE.read_text(encoding="utf-8"))
    for role in ROLES:
        response = w.request(role, "GET", "/codebook")
        assert response.status_code == 200, role
    body = w.request("funder_no_grant", "GET", "/codebook").get_json()
    assert body["revision"] == 0  # the shipped file: no edit saved
    assert body["version"] == shipped["version"]
    assert body["languages"] == shipped["languages"]
    assert [i["code"] for i in body["indicators"]] == [i["code"] for i in shipped["indicators"]]
    policy = body["indicators"][0]
    assert policy["name"] == shipped["indicators"][0]["name"]
    assert policy["definition"]["el"] == shipped["indicators"][0]["definition"]["el"]
    assert [level["value"] for level in policy["scale"]["levels"]] == [1, 2, 3, 4]
    assert policy["sources"][0]["reference"] == "Standard 1: Policy"
    focal = next(i for i in body["indicators"] if i["code"] == "SG_FOCAL_POINT")
    assert focal["scale"]["type"] == "binary"
    assert [(v["value"], v["code"]) for v in focal["scale"]["levels"]] == [(0, "no"), (1, "yes")]
    assert any(i["disaggregation"] for i in body["indicators"])
    assert w.app.test_client().get("/api/v1/codebook").status_code == 401
    index = w.app.test_client().get("/api/v1/").get_json()
    assert index["resources"]["codebook"].endswith("/api/v1/codebook")


def test_the_document_describes_the_new_operations(world):
    w, _extra = world
    doc = w.app.test_client().get("/api/v1/openapi.json").get_json()
    validate(doc)
    shared = doc["paths"]["/api/v1/exports/shared.csv"]["get"]
    params = {p["name"]: p for p in shared["parameters"]}
    assert set(params) == {"shape", "status", "cycle", "indicator", "lang"}
    assert params["cycle"]["schema"]["type"] == "array"
    assert params["indicator"]["schema"]["type"] == "array"
    assert "422" in shared["responses"]
    answer = doc["components"]["schemas"]["Answer"]["properties"]
    assert {"indicator", "indicator_value"} <= set(answer)
    codebook = doc["paths"]["/api/v1/codebook"]["get"]["responses"]["200"]
    assert codebook["content"]["application/json"]["schema"]["$ref"].endswith("/CodebookOut")
