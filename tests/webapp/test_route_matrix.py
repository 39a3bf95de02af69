"""Every route x every kind of person, against one table of who may do what (issue 13).

The test walks ``app.url_map``: a route (rule and method) missing from :data:`MATRIX` fails,
saying which row to add, so a new page cannot ship without declaring who reaches it. Each
request is a GET, or a POST with a valid CSRF token, an otherwise empty form and the fields
people must never set (``organization_id``, ``role``, ``status``...): the table says whether the
person gets past the permission gate (``OK``: any answer but 403, 404, the login page or a
500), is refused (403), does not learn the object exists (404) or is sent to log in (LOGIN).
Nothing in the world may change but what the table's rows expect (a new draft of a rubric).

One world for the module (seeded once, people logged in by setting their session directly:
the login form is throttled).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, select

from accounts import services as accounts
from accounts import sharing
from accounts.models import AccessGrant, Membership, Organization, Role, User
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from surveys.cycles import services as cycles
from surveys.evidence import services as evidence
from surveys.models import Assessment, AssessmentCycle
from surveys.plan.models import ImprovementAction
from tests.conftest import server_session
from tests.smtp_sink import module_database
from webapp import create_app
from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[2]

ROLES = (
    "anonymous",
    "member",  # a member of NGO A
    "ngo_admin",  # NGO A's admin
    "ngo_b_admin",
    "funder",  # NGO A granted its fund access
    "funder_no_grant",
    "funder_revoked",  # NGO A granted its fund access, then revoked it
    "evaluator",  # assigned to NGO A's cycle
    "evaluator_unassigned",  # assigned to NGO B's cycle only
    "admin",
)

OK, FORBIDDEN, HIDDEN, LOGIN = "ok", "403", "404", "login"
UNAUTHORIZED = "401"  # the API: a cookie authenticates nothing there (tests/webapp/test_api.py)

# Fields no form may take from the request (mass assignment): posted with every POST.
EXTRA_FIELDS = {
    "organization_id": "{ngo_b}",
    "role": "admin",
    "status": "verified",
    "score": "100",
    "version": "999",
    "rubric_version_id": "999",
    "created_by": "1",
    "created_by_id": "1",
    "user_id": "1",
    "is_admin": "1",
}

STAFF = {"evaluator", "evaluator_unassigned", "admin"}
LOGGED_IN = set(ROLES) - {"anonymous"}
SEES_A = {"member", "ngo_admin", "funder", "evaluator", "admin"}  # NGO A's assessment
NGO_A = {"member", "ngo_admin"}


def access(ok: set[str], forbidden: set[str] = frozenset(), anonymous: str = LOGIN) -> dict:
    """Who gets past (``ok``), who is refused (``forbidden``, 403), and the rest of those logged
    in: 404. ``anonymous``: what someone not logged in gets."""
    row = dict.fromkeys(LOGGED_IN, HIDDEN)
    row.update(dict.fromkeys(forbidden, FORBIDDEN))
    row.update(dict.fromkeys(ok, OK))
    row["anonymous"] = anonymous
    return row


PUBLIC = dict.fromkeys(ROLES, OK)
ANY_LOGGED_IN = access(LOGGED_IN)
ROLE_STAFF = access(STAFF, LOGGED_IN - STAFF)  # a role permission: 403 to the others
VIEW_ASSESSMENT = access(SEES_A)
ANSWER = access(NGO_A, SEES_A - NGO_A)
# NGO A's assessment is a draft, with evidence: its funder sees submitted results and plans,
# drafts and evidence only when the grant includes them (this one does not).
VIEW_DRAFT = access(SEES_A - {"funder"}, {"funder"})
HISTORY = access({"ngo_admin", "evaluator", "admin"}, {"member", "funder"})
REVIEW = access({"evaluator", "admin"}, {"member", "ngo_admin", "funder"})
EDIT_PLAN = access(NGO_A, SEES_A - NGO_A)
VIEW_CYCLE = access(STAFF)
MANAGE_CYCLE = access({"evaluator", "admin"}, {"evaluator_unassigned"})
# NGO A's results are seen by its members, its funder and admins; only its members see whom it
# shares with, only its admins change that.
VIEW_SHARING = access(NGO_A, {"funder", "admin"})
GRANT = access({"ngo_admin"}, {"member", "funder", "admin"})
DASHBOARD = access(
    {"funder", "funder_no_grant", "funder_revoked", *STAFF}, {"member", "ngo_admin", "ngo_b_admin"}
)

ROLE_ADMIN = access({"admin"}, LOGGED_IN - {"admin"})  # the platform's administration
# NGO A's team: its admins and platform admins; the others who see NGO A are refused.
MANAGE_TEAM = access({"ngo_admin", "admin"}, {"member", "funder"})
EVALUATORS = {"evaluator", "evaluator_unassigned"}
# A download of the first cycle one sees: 404 to those who see no assessment at all.
EXPORT = access(
    LOGGED_IN - {"funder_no_grant", "funder_revoked"}
)  # the role (blind second verifications)
# NGO A's profile: its admins and platform admins edit it; its members see it (403).
PROFILE = access({"ngo_admin", "admin"}, {"member"})
# A link sent by e-mail, with a token nobody was given: 404 to everyone, logged in or not.
UNKNOWN_LINK = dict.fromkeys(ROLES, HIDDEN)
# The admin removes a membership that does not exist: past the gate, then 404.
ADMIN_NOTHING_THERE = access(set(), LOGGED_IN - {"admin"})

# The JSON API (issue 14) answers 401 to every cookie, logged in or not: only a personal API
# token opens it; who may do what with a token: tests/webapp/test_api.py, by the same core.
TOKEN_ONLY = dict.fromkeys(ROLES, UNAUTHORIZED)
# A token that is nobody's: past the gate, then 404.
NOBODYS_TOKEN = access(set())

# "METHOD rule" -> who gets what. Keep it sorted by rule; add a row for every new route.
MATRIX: dict[str, dict[str, str]] = {
    "GET /": ANY_LOGGED_IN,
    "GET /assessments/<int:assessment_id>": VIEW_DRAFT,
    "GET /assessments/<int:assessment_id>/evidence/<int:evidence_id>": VIEW_DRAFT,
    "GET /assessments/<int:assessment_id>/history": HISTORY,
    "GET /assessments/<int:assessment_id>/history/<question_id>": HISTORY,
    "GET /assessments/<int:assessment_id>/page/<int:page>": ANSWER,
    "POST /assessments/<int:assessment_id>/page/<int:page>": ANSWER,
    "GET /assessments/<int:assessment_id>/plan": VIEW_ASSESSMENT,
    "POST /assessments/<int:assessment_id>/plan/actions/<int:action_id>": EDIT_PLAN,
    "POST /assessments/<int:assessment_id>/plan/indicators/<indicator_id>/actions": EDIT_PLAN,
    "GET /assessments/<int:assessment_id>/resume": ANSWER,
    "GET /assessments/<int:assessment_id>/review": REVIEW,
    "POST /assessments/<int:assessment_id>/review/complete": REVIEW,
    "GET /assessments/<int:assessment_id>/review/indicator/<indicator_id>": REVIEW,
    "POST /assessments/<int:assessment_id>/review/indicator/<indicator_id>": REVIEW,
    "POST /assessments/<int:assessment_id>/review/return": REVIEW,
    "POST /assessments/<int:assessment_id>/review/start": REVIEW,
    "POST /assessments/<int:assessment_id>/submit": ANSWER,
    "GET /assessments/<int:assessment_id>/verification": VIEW_ASSESSMENT,
    "GET /assessments/cycles": ROLE_STAFF,
    "GET /assessments/cycles/<int:cycle_id>": VIEW_CYCLE,
    "POST /assessments/cycles/<int:cycle_id>/evaluators": MANAGE_CYCLE,
    "POST /assessments/cycles/<int:cycle_id>/evaluators/<int:user_id>/remove": MANAGE_CYCLE,
    "POST /assessments/cycles/<int:cycle_id>/organizations": MANAGE_CYCLE,
    "POST /assessments/cycles/<int:cycle_id>/target": MANAGE_CYCLE,
    "GET /assessments/cycles/new": ROLE_STAFF,
    "POST /assessments/cycles/new": ROLE_STAFF,
    "GET /assessments/pending": ANY_LOGGED_IN,
    "GET /assessments/preview/<int:version_id>/page/<int:page>": ROLE_STAFF,
    "GET /healthz": PUBLIC,
    "POST /language": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": ANY_LOGGED_IN,
    "GET /organizations/<int:ngo_id>/sharing": VIEW_SHARING,
    "POST /organizations/<int:ngo_id>/sharing/grants": GRANT,
    "GET /organizations/<int:ngo_id>/sharing/grants/<int:grant_id>/revoke": GRANT,
    "POST /organizations/<int:ngo_id>/sharing/grants/<int:grant_id>/revoke": GRANT,
    "GET /reports/assessments/<int:assessment_id>": VIEW_ASSESSMENT,
    "GET /reports/assessments/<int:assessment_id>/scorecard.pdf": VIEW_ASSESSMENT,
    "GET /reports/dashboard": DASHBOARD,
    "GET /reports/vendor/plotly.min.js": PUBLIC,
    "GET /rubrics/": ROLE_STAFF,
    "GET /rubrics/<code>": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>": ROLE_STAFF,
    "POST /rubrics/<code>/<int:number>/delete": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>/delete": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>/edit/remove/<kind>/<path:key>": ROLE_STAFF,
    "POST /rubrics/<code>/<int:number>/edit/remove/<kind>/<path:key>": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>/download/<fmt>": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>/edit": ROLE_STAFF,
    "POST /rubrics/<code>/<int:number>/edit": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>/edit/domain/<int:index>": ROLE_STAFF,
    "POST /rubrics/<code>/<int:number>/edit/domain/<int:index>": ROLE_STAFF,
    "POST /rubrics/<code>/<int:number>/new-draft": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>/publish": ROLE_STAFF,
    "POST /rubrics/<code>/<int:number>/publish": ROLE_STAFF,
    "GET /rubrics/<code>/<int:number>/yaml": ROLE_STAFF,
    "POST /rubrics/<code>/<int:number>/yaml": ROLE_STAFF,
    "GET /rubrics/<code>/diff": ROLE_STAFF,
    "GET /rubrics/upload": ROLE_STAFF,
    "POST /rubrics/upload": ROLE_STAFF,
    "GET /static/<path:filename>": PUBLIC,
    "GET /reports/exports/": ANY_LOGGED_IN,
    "GET /reports/exports/assessments.csv": EXPORT,
    "GET /reports/exports/assessments.dta": EXPORT,
    "GET /reports/exports/assessments.sav": EXPORT,
    "GET /reports/exports/assessments.xlsx": EXPORT,
    "GET /reports/exports/codebook.csv": EXPORT,
    "GET /assessments/cycles/<int:cycle_id>/double": MANAGE_CYCLE,
    "POST /assessments/cycles/<int:cycle_id>/double": MANAGE_CYCLE,
    "GET /assessments/double": access(EVALUATORS, LOGGED_IN - EVALUATORS),
    # a second verification that does not exist: evaluators get past the gate, then 404
    "GET /assessments/double/<int:double_id>": access(set(), LOGGED_IN - EVALUATORS),
    "POST /assessments/double/<int:double_id>": access(set(), LOGGED_IN - EVALUATORS),
    "GET /reports/quality/cycles/<int:cycle_id>": MANAGE_CYCLE,
    "GET /reports/what-if/<int:version_id>": ROLE_STAFF,
    "POST /reports/what-if/<int:version_id>": ROLE_STAFF,
    "GET /directory": PUBLIC,
    "GET /directory.csv": PUBLIC,
    # NGO A's profile keeps the default visibility (hidden): its own people and admins see it.
    "GET /directory/<int:org_id>": access({"member", "ngo_admin", "admin"}, anonymous=HIDDEN),
    "GET /organizations": ROLE_ADMIN,
    "GET /organizations/new": ROLE_ADMIN,
    "POST /organizations/new": ROLE_ADMIN,
    "POST /organizations/<int:org_id>/activate": ADMIN_NOTHING_THERE,
    "POST /organizations/<int:org_id>/deactivate": ADMIN_NOTHING_THERE,
    "GET /organizations/<int:org_id>/profile": PROFILE,
    "POST /organizations/<int:org_id>/profile": PROFILE,
    "GET /assessments/cycles/<int:cycle_id>/overview": access({"evaluator", "admin"}),
    "GET /reports/trends": DASHBOARD,
    "GET /account": ANY_LOGGED_IN,
    "POST /account/logout-everywhere": ANY_LOGGED_IN,
    "POST /account/password": ANY_LOGGED_IN,
    "GET /admin/audit": ROLE_ADMIN,
    "GET /admin/audit.csv": ROLE_ADMIN,
    "GET /admin/people": ROLE_ADMIN,
    "GET /admin/people/<int:user_id>": ROLE_ADMIN,
    "GET /admin/people/invite": ROLE_ADMIN,
    "POST /admin/people/invite": ROLE_ADMIN,
    "POST /admin/people/<int:user_id>/deactivate": ROLE_ADMIN,
    "POST /admin/people/<int:user_id>/invite-again": ROLE_ADMIN,
    "POST /admin/people/<int:user_id>/memberships": ROLE_ADMIN,
    "POST /admin/people/<int:user_id>/memberships/<int:membership_id>/remove": ADMIN_NOTHING_THERE,
    "POST /admin/people/<int:user_id>/reactivate": ROLE_ADMIN,
    "POST /admin/people/<int:user_id>/reset": ROLE_ADMIN,
    "GET /assessments/<int:assessment_id>/answers": VIEW_ASSESSMENT,
    "GET /assessments/<int:assessment_id>/submit": ANSWER,
    "POST /assessments/cycles/<int:cycle_id>/remind": MANAGE_CYCLE,
    "GET /invitations/<token>": UNKNOWN_LINK,
    "POST /invitations/<token>": UNKNOWN_LINK,
    "GET /organizations/<int:ngo_id>/team": MANAGE_TEAM,
    "POST /organizations/<int:ngo_id>/team/invite": MANAGE_TEAM,
    "POST /organizations/<int:ngo_id>/team/<int:user_id>/remove": MANAGE_TEAM,
    "POST /organizations/<int:ngo_id>/team/<int:user_id>/role": MANAGE_TEAM,
    "GET /password/forgot": PUBLIC,
    "POST /password/forgot": PUBLIC,
    "GET /password/reset/<token>": UNKNOWN_LINK,
    "POST /password/reset/<token>": UNKNOWN_LINK,
    # Importing answers (issue 14): as the cycle's overview, 404 to an evaluator not assigned;
    # an upload nobody made (the token) is answered with 410 to those past the gate.
    "GET /assessments/cycles/<int:cycle_id>/import": access({"evaluator", "admin"}),
    "POST /assessments/cycles/<int:cycle_id>/import": access({"evaluator", "admin"}),
    "POST /assessments/cycles/<int:cycle_id>/import/<token>": access({"evaluator", "admin"}),
    # the shared indicator codebook: a vocabulary everyone logged in reads; staff edit it
    "GET /codebook/": ANY_LOGGED_IN,
    "GET /codebook/codebook.csv": ANY_LOGGED_IN,
    "GET /codebook/codebook.xlsx": ANY_LOGGED_IN,
    "GET /codebook/edit": ROLE_STAFF,
    "POST /codebook/edit": ROLE_STAFF,
    # pooled by shared indicator: every assessment one sees (a file without rows otherwise)
    "GET /reports/exports/shared.csv": ANY_LOGGED_IN,
    "GET /reports/exports/shared.xlsx": ANY_LOGGED_IN,
    "POST /account/tokens": ANY_LOGGED_IN,
    "POST /account/tokens/<int:token_id>/revoke": NOBODYS_TOKEN,
    "GET /api/v1/": PUBLIC,
    "GET /api/v1/openapi.json": PUBLIC,
    "GET /api/v1/docs": PUBLIC,
    "GET /api/v1/organisations": TOKEN_ONLY,
    "GET /api/v1/organisations/<int:org_id>": TOKEN_ONLY,
    "GET /api/v1/rubrics": TOKEN_ONLY,
    "GET /api/v1/rubrics/<code>/versions/<int:number>": TOKEN_ONLY,
    "GET /api/v1/cycles": TOKEN_ONLY,
    "GET /api/v1/cycles/<int:cycle_id>": TOKEN_ONLY,
    "GET /api/v1/assessments": TOKEN_ONLY,
    "GET /api/v1/assessments/<int:assessment_id>": TOKEN_ONLY,
    "GET /api/v1/assessments/<int:assessment_id>/rubric": TOKEN_ONLY,
    "GET /api/v1/assessments/<int:assessment_id>/answers": TOKEN_ONLY,
    "GET /api/v1/assessments/<int:assessment_id>/scores": TOKEN_ONLY,
    "POST /api/v1/assessments/<int:assessment_id>/submit": TOKEN_ONLY,
    "GET /api/v1/exports/assessments.csv": TOKEN_ONLY,
    "GET /api/v1/exports/assessments.xlsx": TOKEN_ONLY,
    "GET /api/v1/exports/assessments.sav": TOKEN_ONLY,
    "GET /api/v1/exports/assessments.dta": TOKEN_ONLY,
    "GET /api/v1/exports/codebook.csv": TOKEN_ONLY,
    "GET /api/v1/exports/shared.csv": TOKEN_ONLY,
    "GET /api/v1/exports/shared.xlsx": TOKEN_ONLY,
    "GET /api/v1/codebook": TOKEN_ONLY,
}

# Routes whose own URL arguments need a value other than the world's default for the name.
ARGUMENTS: dict[str, dict[str, str]] = {
    # the administration acts on the admin themself: the last admin is never deactivated, and
    # a membership of someone else is not theirs to remove (404): past the gate, nothing lost
    **{
        f"POST /admin/people/<int:user_id>/{action}": {"user_id": "admin_id"}
        for action in (
            "deactivate",
            "invite-again",
            "memberships",
            "memberships/<int:membership_id>/remove",
            "reactivate",
            "reset",
        )
    },
    # (de)activating an organisation that does not exist: past the gate, then 404
    "POST /organizations/<int:org_id>/activate": {"org_id": "missing_id"},
    "POST /organizations/<int:org_id>/deactivate": {"org_id": "missing_id"},
    # the team acts on NGO A's own admin: an NGO always keeps one admin
    "POST /organizations/<int:ngo_id>/team/<int:user_id>/remove": {"user_id": "ngo_admin_id"},
    "POST /organizations/<int:ngo_id>/team/<int:user_id>/role": {"user_id": "ngo_admin_id"},
    # deleting a published version: refused as not a draft (409), past the gate, nothing lost
    "POST /rubrics/<code>/<int:number>/delete": {"number": "published_number"},
    # removing someone not assigned: past the gate, nothing changes
    "POST /assessments/cycles/<int:cycle_id>/evaluators/<int:user_id>/remove": {
        "user_id": "admin_id"
    },
}


# --- the world ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix_app(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """An app and a database of its own for this module (the conftest's are per test)."""
    folder = tmp_path_factory.mktemp("matrix")
    with module_database(request, backend, folder) as url:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "matrix-secret",
                "DATABASE_URL": url,
                "UPLOAD_FOLDER": str(folder / "uploads"),
            }
        )
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def world(matrix_app: Flask) -> dict[str, Any]:
    """NGO A (a member, an admin) in cycle A with an assigned evaluator, a file of evidence and
    a plan action; NGO B in cycle B; a fund NGO A shares with, one it never did, one whose grant
    it revoked; an evaluator of cycle B only; an admin; a published rubric and a draft."""
    url = matrix_app.config["DATABASE_URL"]
    engine = sa.create_engine(url)
    with Session(engine, expire_on_commit=False) as session:

        def org(name: str, code: str, kind: str = "ngo") -> Organization:
            found = Organization(code=code, name=name, kind=kind, country="AL")
            session.add(found)
            session.flush()
            return found

        ngo_a, ngo_b = org("NGO A", "ngo-a"), org("NGO B", "ngo-b")
        fund, no_fund = org("Fund", "fund", "funder"), org("No fund", "fund-0", "funder")
        revoked_fund = org("Revoked fund", "fund-r", "funder")
        people: dict[str, User] = {}
        for role, kind, where in (
            ("member", Role.NGO_MEMBER, ngo_a),
            ("ngo_admin", Role.NGO_ADMIN, ngo_a),
            ("ngo_b_admin", Role.NGO_ADMIN, ngo_b),
            ("funder", Role.FUNDER, fund),
            ("funder_no_grant", Role.FUNDER, no_fund),
            ("funder_revoked", Role.FUNDER, revoked_fund),
            ("evaluator", Role.EVALUATOR, None),
            ("evaluator_unassigned", Role.EVALUATOR, None),
            ("admin", Role.ADMIN, None),
        ):
            user = accounts.create_user(
                session, email=f"{role}@example.org", name=role, password="matrix password"
            )
            accounts.add_membership(session, user=user, role=kind, organization=where)
            people[role] = user
        version = rubric_services.store_rubric(
            session, load_rubric(ROOT / "rubrics" / "library" / "quick-check.yaml")
        )
        rubric_services.publish(session, version)
        draft = rubric_services.new_draft(session, version, None)

        def cycle(code: str, ngo: Organization, evaluator: User) -> AssessmentCycle:
            return cycles.create_cycle(
                session,
                code=code,
                name=code,
                version=version,
                organizations=[ngo],
                opens_on=date.today(),
                closes_on=date.today() + timedelta(days=30),
                evaluators=[evaluator],
                by=None,
            )

        cycle_a = cycle("cycle-a", ngo_a, people["evaluator"])
        cycle("cycle-b", ngo_b, people["evaluator_unassigned"])
        accounts.grant_access(session, ngo=ngo_a, funder=fund, by=None)
        gone = accounts.grant_access(session, ngo=ngo_a, funder=revoked_fund, by=None)
        session.flush()
        sharing.revoke(session, ngo=ngo_a, grant_id=gone.id, by=people["ngo_admin"])
        assessment = session.exec(select(Assessment).where(Assessment.cycle_id == cycle_a.id)).one()
        item = evidence.store_evidence(
            session,
            assessment,
            question_id="SG1_policy",
            upload=evidence.Upload("policy.pdf", io.BytesIO(b"%PDF-1.4\n" + b"0" * 100)),
            folder=evidence.upload_folder(matrix_app.config),
            limit=10**6,
            user=people["ngo_admin"],
        )
        action = ImprovementAction(
            organization_id=ngo_a.id,
            rubric_code="quick-check",
            indicator_id="SG1",
            cycle_id=cycle_a.id,
            text="Write the policy",
            created_by_id=people["ngo_admin"].id,
        )
        session.add(action)
        session.commit()
        values = {
            "assessment_id": assessment.id,
            "evidence_id": item.id,
            "question_id": "SG1_policy",
            "page": 0,
            "action_id": action.id,
            "indicator_id": "SG1",
            "cycle_id": cycle_a.id,
            "user_id": people["evaluator"].id,
            "admin_id": people["admin"].id,
            "ngo_admin_id": people["ngo_admin"].id,
            "membership_id": 2_000_000,  # nobody's
            "missing_id": 2_000_000,
            "token_id": 2_000_000,  # nobody's API token
            "double_id": 2_000_000,
            "org_id": ngo_a.id,
            "token": "not-a-token",
            "version_id": version.id,
            "code": "quick-check",
            "number": draft.number,
            "published_number": version.number,
            "index": 0,
            "fmt": "yaml",
            "kind": "question",  # a removal not confirmed: asked again, nothing removed
            "key": "SG1_policy",
            "ngo_id": ngo_a.id,
            "grant_id": gone.id,
            "filename": "app.css",
        }
        ids = {role: user.id for role, user in people.items()}
    engine.dispose()
    return {"values": values, "ids": ids, "ngo_b": ngo_b.id, "url": url}


# --- requests -------------------------------------------------------------------------------


def routes(app: Flask) -> Iterator[tuple[str, Any]]:
    """("METHOD rule", rule) for every GET and POST of every route."""
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            yield f"{method} {rule.rule}", rule


def url_of(rule: Any, key: str, values: dict[str, Any]) -> str:
    given = set(rule.defaults or ())  # e.g. the export's format, fixed by each of its rules
    chosen = {
        name: values[ARGUMENTS.get(key, {}).get(name, name)]
        for name in sorted(rule.arguments - given)
    }
    built = rule.build(chosen, append_unknown=False)
    assert built is not None, key
    return str(built[1])


LOGGING_OUT = ("/logout", "/account/logout-everywhere")


class People:
    """One test client per person, logged in by setting the session (their CSRF token read once;
    logging out gets a throwaway client, so that the others stay logged in)."""

    def __init__(self, app: Flask, ids: dict[str, int]) -> None:
        self.app, self.ids = app, ids
        self.clients: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}

    def client(self, role: str, *, fresh: bool = False) -> Any:
        if role in self.clients and not fresh:
            return self.clients[role]
        client = self.app.test_client()
        if role != "anonymous":
            cookie = server_session(self.app, self.ids[role])
            with client.session_transaction() as browser_session:
                browser_session.update(cookie)
        html = client.get("/login" if role == "anonymous" else "/").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert token, role
        if not fresh:
            self.clients[role], self.tokens[role] = client, token.group(1)
        else:
            client.token = token.group(1)
        return client

    def post(self, role: str, url: str, data: dict[str, Any]) -> Any:
        """Post as ``role``: logging out on a throwaway client; after "log out everywhere"
        (which ends every session of theirs) the person logs in anew for the next request."""
        fresh = url in LOGGING_OUT
        client = self.client(role, fresh=fresh)
        token = client.token if fresh else self.tokens[role]
        response = client.post(url, data={**data, "csrf_token": token})
        if url == "/account/logout-everywhere":
            self.clients.pop(role, None)
        return response

    def request(self, role: str, method: str, url: str, extra: dict[str, str]) -> Any:
        if method == "GET":
            return self.client(role).get(url)
        return self.post(role, url, extra)


def outcome(response: Any) -> str:
    status = response.status_code
    if status == 500:
        return "500"
    if status in (401, 403, 404):
        return str(status)
    location = response.headers.get("Location", "")
    if status in (301, 302, 303) and "/login?next=" in location:  # logging out: /login alone
        return LOGIN
    return OK


def snapshot(url: str) -> dict[str, Any]:
    """What no request of the matrix may change: who belongs where with which role, the
    assessments' owners and statuses, the grants, the cycles' rubric versions, the people."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {
            "memberships": conn.execute(
                sa.select(Membership.user_id, Membership.organization_id, Membership.role)
            ).all(),
            "assessments": conn.execute(
                sa.select(
                    Assessment.id,
                    Assessment.organization_id,
                    Assessment.cycle_id,
                    Assessment.status,
                )
            ).all(),
            "grants": conn.execute(
                sa.select(AccessGrant.id, AccessGrant.funder_id, AccessGrant.revoked_at)
            ).all(),
            "cycles": conn.execute(
                sa.select(AssessmentCycle.id, AssessmentCycle.rubric_version_id)
            ).all(),
            "users": conn.execute(sa.select(User.id, User.email, User.active)).all(),
            "actions": conn.execute(
                sa.select(
                    ImprovementAction.id,
                    ImprovementAction.organization_id,
                    ImprovementAction.status,
                    ImprovementAction.text,
                )
            ).all(),
        }
    engine.dispose()
    return {key: sorted(map(tuple, rows), key=repr) for key, rows in found.items()}


# --- the tests ------------------------------------------------------------------------------


def test_every_route_has_a_row_in_the_matrix(matrix_app: Flask) -> None:
    missing = sorted(key for key, _rule in routes(matrix_app) if key not in MATRIX)
    stale = sorted(set(MATRIX) - {key for key, _rule in routes(matrix_app)})
    assert not missing, (
        "routes without a row in tests/webapp/test_route_matrix.py MATRIX; add, for each, who "
        "gets past its permission (e.g. "
        + ", ".join(f'"{key}": ROLE_STAFF' for key in missing)
        + ")"
    )
    assert not stale, f"rows of MATRIX for routes that no longer exist: {stale}"


def test_every_route_answers_every_person_as_the_matrix_says(
    matrix_app: Flask, world: dict[str, Any]
) -> None:
    before = snapshot(world["url"])
    people = People(matrix_app, world["ids"])
    extra = {name: value.format(ngo_b=world["ngo_b"]) for name, value in EXTRA_FIELDS.items()}
    wrong: list[str] = []
    seen = 0
    for key, rule in sorted(routes(matrix_app), key=lambda item: item[0]):
        expected = MATRIX.get(key)
        if expected is None:
            continue  # the test above names it
        method = key.split(" ", 1)[0]
        url = url_of(rule, key, world["values"])
        for role in ROLES:
            response = people.request(role, method, url, extra)
            seen += 1
            got = outcome(response)
            response.close()  # a file sent as a download stays open until closed
            if got != expected[role]:
                wrong.append(f"{key} as {role}: expected {expected[role]}, got {got} ({url})")
    assert not wrong, "\n".join(wrong)
    assert seen == len(MATRIX) * len(ROLES)
    assert snapshot(world["url"]) == before  # the extra fields changed nothing either


def test_the_matrix_covers_each_kind_of_person_and_refusal() -> None:
    answers = {value for row in MATRIX.values() for value in row.values()}
    assert answers == {OK, FORBIDDEN, HIDDEN, LOGIN, UNAUTHORIZED}
    assert all(set(row) == set(ROLES) for row in MATRIX.values())
