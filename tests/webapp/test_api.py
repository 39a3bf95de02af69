"""The JSON API (issue 14, section 1): every operation for every kind of person through their
tokens, tokens that open nothing (revoked, expired, unknown, a cookie alone), read-only tokens,
answers with versions (409 on a stale one), idempotent retries, problem details, cursors, the
rate limit, the audit log and the OpenAPI document."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate
from sqlmodel import select

from accounts.api_tokens.models import ApiIdempotencyKey, ApiToken
from accounts.models import AuditEvent, utcnow
from surveys.models import AnswerRevision, Assessment, Score
from tests.conftest import server_session
from tests.webapp.api_world import COMPLETE, ROLES, World, api_app, seed  # noqa: F401

OK, FORBIDDEN, HIDDEN = 200, 403, 404
SEES_A = {"member", "ngo_admin", "funder", "evaluator", "admin"}
NGO_A = {"member", "ngo_admin"}
STAFF = {"evaluator", "evaluator_b", "admin"}


@pytest.fixture(scope="module")
def world(api_app) -> World:  # noqa: F811
    return seed(api_app)


def expect(ok: set[str], forbidden: set[str] = frozenset(), ok_status: int = OK) -> dict:
    row = dict.fromkeys(ROLES, HIDDEN)
    row.update(dict.fromkeys(forbidden, FORBIDDEN))
    row.update(dict.fromkeys(ok, ok_status))
    return row


def operations(w: World) -> list[tuple[str, str, str, dict | None, dict[str, int]]]:
    """(method, documented path, path asked, JSON body, who gets which status) for every
    operation."""
    values = {
        "assessment_id": w.assessment_a,
        "org_id": w.ngo_a,
        "cycle_id": w.cycle_a,
        "code": "quick-check",
        "number": 1,
    }
    unknown = {"answers": [{"question_id": "nope", "value": 1, "version": None}]}
    export = f"?cycle={w.cycle_a}"
    table = [
        ("GET", "/", None, dict.fromkeys(ROLES, OK)),
        ("GET", "/organisations", None, dict.fromkeys(ROLES, OK)),
        # NGO A's profile is hidden (the default): its own people and admins see it
        ("GET", "/organisations/{org_id}", None, expect({"member", "ngo_admin", "admin"})),
        ("GET", "/rubrics", None, expect(STAFF, set(ROLES) - STAFF)),
        ("GET", "/rubrics/{code}/versions/{number}", None, expect(STAFF, set(ROLES) - STAFF)),
        ("GET", "/cycles", None, expect(STAFF, set(ROLES) - STAFF)),
        ("GET", "/cycles/{cycle_id}", None, expect(STAFF)),
        ("GET", "/assessments", None, dict.fromkeys(ROLES, OK)),
        ("GET", "/assessments/{assessment_id}", None, expect(SEES_A)),
        ("GET", "/assessments/{assessment_id}/rubric", None, expect(SEES_A)),
        # a draft: its funder sees submitted results, never drafts (the grant does not say so)
        (
            "GET",
            "/assessments/{assessment_id}/answers",
            None,
            expect(SEES_A - {"funder"}, {"funder"}),
        ),
        ("GET", "/assessments/{assessment_id}/scores", None, expect(SEES_A)),
        # past the gate, an unknown question is a 422: nothing changes
        (
            "PATCH",
            "/assessments/{assessment_id}/answers",
            unknown,
            expect(NGO_A, SEES_A - NGO_A, 422),
        ),
        # past the gate, an incomplete draft is a 422: nothing changes
        ("POST", "/assessments/{assessment_id}/submit", None, expect(NGO_A, SEES_A - NGO_A, 422)),
        ("GET", "/exports/assessments.csv" + export, None, expect(SEES_A)),
        ("GET", "/exports/assessments.xlsx" + export, None, expect(SEES_A)),
        ("GET", "/exports/assessments.sav" + export, None, expect(SEES_A)),
        ("GET", "/exports/assessments.dta" + export, None, expect(SEES_A)),
        ("GET", "/exports/codebook.csv" + export, None, expect(SEES_A)),
        # pooled across every cycle in the person's scope: an empty scope is an empty file
        ("GET", "/exports/shared.csv", None, dict.fromkeys(ROLES, OK)),
        ("GET", "/exports/shared.xlsx?shape=wide", None, dict.fromkeys(ROLES, OK)),
        ("GET", "/codebook", None, dict.fromkeys(ROLES, OK)),
    ]
    return [
        (method, "/api/v1" + path.split("?")[0], path.format(**values), body, expected)
        for method, path, body, expected in table
    ]


def test_every_operation_answers_every_person_as_their_permissions_say(world):
    wrong = []
    table = operations(world)
    for method, _documented, path, body, expected in table:
        for role in ROLES:
            response = world.request(role, method, path, json=body)
            if response.status_code != expected[role]:
                wrong.append(
                    f"{method} {path} as {role}: {response.status_code}, not {expected[role]}"
                )
            if response.status_code >= 400:
                assert response.mimetype == "application/problem+json", (method, path, role)
            response.close()
    assert not wrong, "\n".join(wrong)
    with world.session() as session:  # the refused and invalid writes changed nothing
        assessment = session.get_one(Assessment, world.assessment_a)
        assert assessment.status == "not_started"
        assert session.exec(select(AnswerRevision)).all() == []
    # every operation of the OpenAPI document is in the table above
    documented = world.app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    in_doc = {(method.upper(), path) for path, methods in documented.items() for method in methods}
    assert {(method, path) for method, path, *_rest in table} == in_doc


def test_lists_hold_exactly_what_each_person_may_see(world):
    expected = {
        "member": {world.assessment_a},
        "ngo_admin": {world.assessment_a},
        "ngo_b_admin": {world.assessment_b},
        "funder": {world.assessment_a},
        "funder_no_grant": set(),
        "evaluator": {world.assessment_a},
        "evaluator_b": {world.assessment_b},
    }
    for role, ids in expected.items():
        items = world.request(role, "GET", "/assessments").get_json()["items"]
        assert {item["id"] for item in items} & {world.assessment_a, world.assessment_b} == ids
    admin = world.request("admin", "GET", "/assessments").get_json()["items"]
    assert {world.assessment_a, world.assessment_b} <= {item["id"] for item in admin}


def test_another_tenant_changing_ids_finds_nothing(world):
    for path in (
        f"/assessments/{world.assessment_a}",
        f"/assessments/{world.assessment_a}/answers",
        f"/assessments/{world.assessment_a}/scores",
        f"/organisations/{world.ngo_a}",
    ):
        hidden = world.request("ngo_b_admin", "GET", path)
        missing = world.request(
            "ngo_b_admin",
            "GET",
            path.replace(str(world.assessment_a), "999999").replace(str(world.ngo_a), "999999"),
        )
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json()["detail"] == missing.get_json()["detail"]


# --- tokens ---------------------------------------------------------------------------------


def test_a_cookie_alone_opens_nothing(world):
    client = world.app.test_client()
    with client.session_transaction() as browser:
        browser.update(server_session(world.app, world.ids["admin"]))
    assert client.get("/").status_code == 200  # the cookie is a live login for the pages
    response = client.get("/api/v1/assessments")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"
    assert "Authorization" in response.get_json()["detail"]


def test_unknown_revoked_and_expired_tokens_get_401(world):
    revoked = world.token("member", name="revoked")
    expired = world.token("member", name="expired", expires_in_days=1)
    assert (
        world.app.test_client()
        .get("/api/v1/assessments", headers={"Authorization": f"Bearer {revoked}"})
        .status_code
        == 200
    )
    with world.session() as session:
        for raw, column in ((revoked, "revoked_at"), (expired, "expires_at")):
            session.execute(
                sa.update(ApiToken)
                .where(
                    ApiToken.prefix == raw[:10],
                    ApiToken.name == ("revoked" if column == "revoked_at" else "expired"),
                )
                .values({column: utcnow() - timedelta(seconds=1)})
            )
        session.commit()
    for raw in (revoked, expired, "evt_not-a-token", ""):
        response = world.app.test_client().get(
            "/api/v1/assessments", headers={"Authorization": f"Bearer {raw}"}
        )
        assert response.status_code == 401, raw
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.mimetype == "application/problem+json"


def test_a_read_only_token_reads_and_never_writes(world):
    raw = world.token("member", read_only=True)
    headers = {"Authorization": f"Bearer {raw}"}
    client = world.app.test_client()
    base = f"/api/v1/assessments/{world.assessment_a}"
    assert client.get(base, headers=headers).status_code == 200
    change = {"answers": [{"question_id": "SG1_policy", "value": 2, "version": None}]}
    for method, path, body in (("PATCH", "/answers", change), ("POST", "/submit", None)):
        response = client.open(base + path, method=method, headers=headers, json=body)
        assert response.status_code == 403
        assert response.get_json()["type"].endswith("#problem-read-only-token")
    with world.session() as session:
        assert (
            session.exec(
                select(AnswerRevision).where(AnswerRevision.assessment_id == world.assessment_a)
            ).all()
            == []
        )


# --- answers ----------------------------------------------------------------------------------


def patch(
    world: World, assessment: int, changes: list[dict], role: str = "member", **headers: str
) -> Any:
    return world.request(
        role,
        "PATCH",
        f"/assessments/{assessment}/answers",
        json={"answers": changes},
        headers=headers,
    )


def test_answers_are_saved_with_their_versions_and_read_back(world):
    draft = world.new_assessment()
    saved = patch(
        world,
        draft,
        [
            {"question_id": "SG1_policy", "value": 3, "version": None, "comment": "Adopted in May"},
            {"question_id": "SV1_referral", "value": "most", "version": None},
            {"question_id": "SV2_shelter", "value": "__na__", "version": None},
        ],
    )
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["saved"] == ["SG1_policy", "SV1_referral", "SV2_shelter"]
    assert body["status"] == "in_progress"
    assert {a["question_id"]: (a["value"], a["version"]) for a in body["answers"]} == {
        "SG1_policy": (3, 1),
        "SV1_referral": ("most", 1),
        "SV2_shelter": ("__na__", 1),
    }
    read = world.request("ngo_admin", "GET", f"/assessments/{draft}/answers").get_json()
    assert {a["question_id"]: a["comment"] for a in read["answers"]}[
        "SG1_policy"
    ] == "Adopted in May"
    again = patch(world, draft, [{"question_id": "SG1_policy", "value": 4, "version": 1}])
    assert again.get_json()["answers"][0]["version"] == 2
    comment = patch(
        world, draft, [{"question_id": "SG1_policy", "comment": "Revised", "version": 2}]
    )
    assert comment.get_json()["answers"][0] == {
        **comment.get_json()["answers"][0],
        "value": 4,
        "comment": "Revised",
        "version": 3,
    }


def test_a_stale_version_is_409_with_the_current_values_and_saves_nothing(world):
    draft = world.new_assessment()
    patch(world, draft, [{"question_id": "SG1_policy", "value": 2, "version": None}])
    patch(world, draft, [{"question_id": "SG1_policy", "value": 3, "version": 1}], role="ngo_admin")
    stale = patch(
        world,
        draft,
        [
            {"question_id": "SG2_vetting", "value": 4, "version": None},
            {"question_id": "SG1_policy", "value": 1, "version": 1},
        ],
    )
    assert stale.status_code == 409
    problem = stale.get_json()
    assert problem["type"].endswith("#problem-stale-version")
    assert problem["conflicts"] == [
        {
            "question_id": "SG1_policy",
            "yours": {"value": 1, "comment": None},
            "current": {"value": 3, "comment": None, "version": 2},
        }
    ]
    read = world.request("member", "GET", f"/assessments/{draft}/answers").get_json()
    assert {a["question_id"]: a["value"] for a in read["answers"]} == {"SG1_policy": 3}


def test_invalid_requests_are_400_and_refused_answers_422_naming_each_field(world):
    draft = world.new_assessment()
    bad = patch(
        world,
        draft,
        [
            {"question_id": "SG1_policy", "value": 9, "version": None},
            {"question_id": "SV1_referral", "value": ["most"], "version": None},
            {"question_id": "SG1_focal", "value": "__na__", "version": None},  # N/A not allowed
        ],
    )
    assert bad.status_code == 422
    assert bad.get_json()["type"].endswith("#problem-invalid-answers")
    paths = sorted(e["path"] for e in bad.get_json()["errors"])
    assert paths == ["body.answers[0].value", "body.answers[1].value", "body.answers[2].value"]
    missing = world.request(
        "member", "PATCH", f"/assessments/{draft}/answers", json={"answers": [{"value": 1}]}
    )
    assert missing.status_code == 400
    assert {e["path"] for e in missing.get_json()["errors"]} == {
        "body.answers[0].question_id",
        "body.answers[0].version",
    }
    not_json = world.request("member", "PATCH", f"/assessments/{draft}/answers", data="x")
    assert not_json.status_code == 415
    limit = world.request("admin", "GET", "/assessments?limit=0")
    assert limit.status_code == 400
    assert limit.get_json()["errors"][0]["path"] == "query.limit"
    unknown = world.request("admin", "GET", "/assessments?stauts=verified")
    assert unknown.status_code == 400
    assert unknown.get_json()["errors"][0]["path"] == "query.stauts"


def test_an_idempotent_retry_stores_one_change_and_another_body_is_422(world):
    draft = world.new_assessment()
    change = [{"question_id": "SG1_policy", "value": 2, "version": None}]
    first = patch(world, draft, change, **{"Idempotency-Key": "retry-1"})
    second = patch(world, draft, change, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == second.status_code == 200
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    other = patch(
        world,
        draft,
        [{"question_id": "SG1_policy", "value": 3, "version": 1}],
        **{"Idempotency-Key": "retry-1"},
    )
    assert other.status_code == 422
    assert other.get_json()["type"].endswith("#problem-idempotency-key-reused")
    with world.session() as session:
        revisions = session.exec(
            select(AnswerRevision).where(AnswerRevision.assessment_id == draft)
        ).all()
        assert len(revisions) == 1
        assert (
            len(
                session.exec(
                    select(ApiIdempotencyKey).where(ApiIdempotencyKey.key == "retry-1")
                ).all()
            )
            == 1
        )
    # without a key, the same body again changes nothing either: the value is the stored one
    plain = patch(world, draft, change)
    assert plain.status_code == 200
    assert plain.get_json()["unchanged"] == ["SG1_policy"]


def test_submitting_a_complete_draft_scores_it(world):
    draft = world.new_assessment()
    incomplete = world.request("member", "POST", f"/assessments/{draft}/submit")
    assert incomplete.status_code == 422
    assert "SG1_policy" in incomplete.get_json()["missing"]
    saved = patch(
        world, draft, [{"question_id": q, "value": v, "version": None} for q, v in COMPLETE.items()]
    )
    assert saved.status_code == 200, saved.get_json()
    done = world.request(
        "member", "POST", f"/assessments/{draft}/submit", headers={"Idempotency-Key": "submit-1"}
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["assessment"]["status"] == "submitted"
    again = world.request(
        "member", "POST", f"/assessments/{draft}/submit", headers={"Idempotency-Key": "submit-1"}
    )
    assert again.get_json() == done.get_json()
    twice = world.request("member", "POST", f"/assessments/{draft}/submit")
    assert twice.status_code == 409
    assert twice.get_json()["type"].endswith("#problem-not-editable")
    late = patch(world, draft, [{"question_id": "SG1_policy", "value": 1, "version": 1}])
    assert late.status_code == 409
    scores = world.request("evaluator", "GET", f"/assessments/{draft}/scores").get_json()
    with world.session() as session:
        stored = {
            (s.level, s.code): s.score
            for s in session.exec(
                select(Score).where(Score.assessment_id == draft, Score.source == "self")
            ).all()
        }
    assert scores["self"]["overall"]["score"] == pytest.approx(stored[("overall", "quick-check")])
    assert {d["code"]: d["score"] for d in scores["self"]["domains"]} == {
        code: score for (level, code), score in stored.items() if level == "domain"
    }
    assert scores["verified"] is None
    # submitted: its funder reads the answers now; verified ratings wait for the review's end,
    # except for those who review it
    assert world.request("funder", "GET", f"/assessments/{draft}/answers").status_code == 200
    verified = f"/assessments/{draft}/answers?source=verified"
    assert world.request("member", "GET", verified).status_code == 403
    assert world.request("funder", "GET", verified).status_code == 403
    assert world.request("evaluator", "GET", verified).status_code == 200
    assert world.request("evaluator_b", "GET", verified).status_code == 404


# --- lists, errors, limits, audit ------------------------------------------------------------


def test_lists_are_read_by_cursor(world):
    ids, url, pages = [], "/api/v1/assessments?limit=1", 0
    client = world.app.test_client()
    while url:
        body = client.get(url, headers=world.headers("admin")).get_json()
        ids += [item["id"] for item in body["items"]]
        url = body["next"]
        pages += 1
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids)) >= 2
    assert pages >= 2
    bad = world.request("admin", "GET", "/assessments?cursor=not-a-cursor")
    past = world.request("admin", "GET", "/assessments?cursor=ffffffff").get_json()
    assert past["next"] is None
    assert bad.status_code == 400
    assert bad.get_json()["errors"][0]["path"] == "query.cursor"


def test_unknown_addresses_and_methods_are_problems(world):
    missing = world.request("admin", "GET", "/nothing-here")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    wrong = world.request("admin", "DELETE", "/assessments")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["Allow"]
    assert wrong.mimetype == "application/problem+json"
    nul = world.request("admin", "GET", "/organisations?q=a%00b")
    assert nul.status_code == 400
    assert nul.mimetype == "application/problem+json"


def test_the_rate_limit_is_per_token_with_retry_after(world):
    raw = world.token("funder")
    other = world.token("funder")
    world.app.config["API_RATE_LIMIT"] = 3
    try:
        client = world.app.test_client()
        answers = [
            client.get("/api/v1/", headers={"Authorization": f"Bearer {raw}"}) for _ in range(2)
        ]
        statuses = [
            client.get(
                "/api/v1/assessments", headers={"Authorization": f"Bearer {raw}"}
            ).status_code
            for _ in range(4)
        ]
        fresh = client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {other}"})
        limited = client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {raw}"})
    finally:
        world.app.config["API_RATE_LIMIT"] = 600
    assert [a.status_code for a in answers] == [200, 200]  # the index is public: not counted
    assert statuses == [200, 200, 200, 429]
    assert fresh.status_code == 200
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.get_json()["type"].endswith("#problem-rate-limited")


def test_token_use_is_in_the_audit_log(world):
    raw = world.token("ngo_admin", name="audited")
    headers = {"Authorization": f"Bearer {raw}"}
    client = world.app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/assessments", headers=headers).status_code == 200
    draft = world.new_assessment()
    client.patch(
        f"/api/v1/assessments/{draft}/answers",
        headers=headers,
        json={"answers": [{"question_id": "SG1_policy", "value": 1, "version": None}]},
    )
    with world.session() as session:
        token = session.exec(select(ApiToken).where(ApiToken.name == "audited")).one()
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.object_type == "api_token", AuditEvent.object_id == str(token.id)
            )
        ).all()
    actions = [e.action for e in events]
    assert actions.count("api_token_created") == 1
    assert actions.count("api_token_used") == 1  # the first use of the day, once
    writes = [e for e in events if e.action == "api_write"]
    assert len(writes) == 1
    assert writes[0].detail["path"] == f"/api/v1/assessments/{draft}/answers"
    assert writes[0].actor_id == world.ids["ngo_admin"]
    assert writes[0].organization_id == world.ngo_a  # the admin's audit log filters by it
    assert token.last_used_at is not None


# --- the account page -----------------------------------------------------------------------


def test_a_person_makes_a_token_on_their_account_page_sees_it_once_and_revokes_it(world):
    from tests.conftest import CSRF_RE

    client = world.app.test_client()
    with client.session_transaction() as browser:
        browser.update(server_session(world.app, world.ids["evaluator"]))
    page = client.get("/account").get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match
    csrf = match.group(1) or match.group(2)
    refused = client.post("/account/tokens", data={"name": "no csrf", "expires": "30"})
    assert refused.status_code == 400
    made = client.post(
        "/account/tokens",
        data={"name": "Dashboard", "expires": "30", "read_only": "y", "csrf_token": csrf},
    )
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    start = html.index('id="new-token">') + len('id="new-token">')
    raw = html[start : html.index("<", start)]
    assert raw.startswith("evt_")
    assert raw not in client.get("/account").get_data(as_text=True)  # shown once
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/cycles", headers=headers).status_code == 200
    with world.session() as session:
        token = session.exec(select(ApiToken).where(ApiToken.name == "Dashboard")).one()
        assert token.read_only
        assert token.expires_at is not None
        assert token.token_hash != raw
        assert raw not in json.dumps(token.model_dump(mode="json"))
    revoked = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 302
    twice = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert twice.status_code == 302  # a second click: said so, nothing else
    assert client.get("/api/v1/cycles", headers=headers).status_code == 401
    # another person's token: 404, and it keeps working
    other = world.tokens["member"]
    with world.session() as session:
        theirs = session.exec(select(ApiToken).where(ApiToken.name == "member token")).one()
    assert (
        client.post(f"/account/tokens/{theirs.id}/revoke", data={"csrf_token": csrf}).status_code
        == 404
    )
    assert (
        world.app.test_client()
        .get("/api/v1/assessments", headers={"Authorization": f"Bearer {other}"})
        .status_code
        == 200
    )
    with world.session() as session:
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(
                    AuditEvent.object_id == str(token.id), AuditEvent.object_type == "api_token"
                )
            ).all()
        ]
    assert "api_token_created" in actions
    assert "api_token_revoked" in actions


# --- the document -----------------------------------------------------------------------------


def test_the_openapi_document_validates_and_the_docs_page_needs_no_script(world):
    client = world.app.test_client()
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)  # raises on an invalid OpenAPI 3.1 document
    assert doc["openapi"] == "3.1.0"
    body = doc["paths"]["/api/v1/assessments/{assessment_id}/answers"]["patch"]["requestBody"]
    assert (
        body["content"]["application/json"]["schema"]["$ref"]
        == "#/components/schemas/AnswersUpdate"
    )
    assert "Rubric" in doc["components"]["schemas"]  # the rubric document's own model
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<script" not in main  # the page's own content: no script, no CDN
    assert "PATCH /api/v1/assessments/{assessment_id}/answers" in html
    assert 'id="problem-stale-version"' in html


def test_the_same_key_sent_twice_at_once_stores_one_change(world):
    """Two retries racing (a client that timed out and sent again at once): both get the
    first one's answer, and the answer is saved once (on PostgreSQL the key's unique
    constraint settles the race; on SQLite the write lock does)."""
    import threading

    draft = world.new_assessment()
    for round_ in range(3):
        change = {
            "answers": [
                {"question_id": "SG1_policy", "value": round_ + 1, "version": round_ or None}
            ]
        }
        barrier = threading.Barrier(2)
        answers: list[Any] = []

        def send(change=change, barrier=barrier, answers=answers, round_=round_) -> None:
            client = world.app.test_client()
            barrier.wait()
            answers.append(
                client.patch(
                    f"/api/v1/assessments/{draft}/answers",
                    json=change,
                    headers=world.headers("member", **{"Idempotency-Key": f"race-{round_}"}),
                )
            )

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [200, 200], [a.get_json() for a in answers]
        assert answers[0].get_json() == answers[1].get_json()
    with world.session() as session:
        revisions = session.exec(
            select(AnswerRevision).where(AnswerRevision.assessment_id == draft)
        ).all()
    assert sorted(r.version for r in revisions) == [1, 2, 3]
