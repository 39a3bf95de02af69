"""A small world for the API's tests: two NGOs in two cycles of the quick check, their people,
a funder NGO A shares with and one it does not, an evaluator per cycle, an admin, and an API
token for each. Seeded once per module (the tests read it; those that write make their own
assessment with :func:`new_assessment`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, select

from accounts import services as accounts
from accounts.api_tokens import services as api_tokens
from accounts.models import Organization, Role, User
from rubrics import services as rubric_services
from rubrics.loader import load_rubric
from rubrics.models import RubricVersion
from surveys.cycles import services as cycles
from surveys.models import Assessment
from tests.smtp_sink import module_database
from webapp import create_app
from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[2]

ROLES = (
    "member",  # a member of NGO A
    "ngo_admin",  # NGO A's admin
    "ngo_b_admin",  # another tenant
    "funder",  # NGO A shares with its fund
    "funder_no_grant",
    "evaluator",  # assigned to NGO A's cycle
    "evaluator_b",  # assigned to NGO B's cycle only
    "admin",
)

# Every answer of the quick check, enough to submit it.
COMPLETE = {
    "SG1_policy": 3,
    "SG1_focal": "yes",
    "SG2_vetting": 2,
    "SG2_incidents": 4,
    "SV1_plans": 3,
    "SV1_referral": "most",
    "SV2_shelter": "__na__",
    "RS1_data": 2,
    "RS1_outcomes": 1,
    "RS2_evaluated": "no",
}


@dataclass
class World:
    app: Flask
    url: str
    ids: dict[str, int]
    tokens: dict[str, str]
    ngo_a: int
    ngo_b: int
    cycle_a: int
    cycle_b: int
    assessment_a: int
    assessment_b: int
    version_id: int
    counter: Iterator[int]

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    def request(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        client = self.app.test_client()
        headers = {**self.headers(role), **kwargs.pop("headers", {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    @contextmanager
    def session(self) -> Iterator[Session]:
        engine = sa.create_engine(self.url)
        with Session(engine, expire_on_commit=False) as session:
            yield session
        engine.dispose()

    def token(self, role: str, **options: Any) -> str:
        """A new token of ``role``'s person."""
        with self.session() as session:
            user = session.get_one(User, self.ids[role])
            _token, raw = api_tokens.create_token(
                session,
                user=user,
                name=options.pop("name", "test"),
                read_only=options.pop("read_only", False),
                expires_in_days=options.pop("expires_in_days", None),
            )
            session.commit()
        return raw

    def new_assessment(self, ngo: str = "a") -> int:
        """A fresh draft of NGO A (or B) in a cycle of its own, with the evaluator assigned."""
        with self.session() as session:
            version = session.get_one(RubricVersion, self.version_id)
            org = session.get_one(Organization, self.ngo_a if ngo == "a" else self.ngo_b)
            evaluator = session.get_one(
                User, self.ids["evaluator" if ngo == "a" else "evaluator_b"]
            )
            cycle = cycles.create_cycle(
                session,
                code=f"extra-{next(self.counter)}",
                name="Extra",
                version=version,
                organizations=[org],
                opens_on=date.today(),
                closes_on=date.today() + timedelta(days=30),
                evaluators=[evaluator],
                by=None,
            )
            session.commit()
            found = session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id)).one()
            return int(found.id or 0)


@pytest.fixture(scope="module")
def api_app(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("api")
    with module_database(request, backend, folder) as url:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "api-secret",
                "DATABASE_URL": url,
                "UPLOAD_FOLDER": str(folder / "uploads"),
            }
        )
        yield app
        with app.app_context():
            db.engine.dispose()


def seed(app: Flask) -> World:
    url = app.config["DATABASE_URL"]
    engine = sa.create_engine(url)
    with Session(engine, expire_on_commit=False) as session:

        def org(name: str, code: str, kind: str = "ngo") -> Organization:
            found = Organization(code=code, name=name, kind=kind, country="AL")
            session.add(found)
            session.flush()
            return found

        ngo_a, ngo_b = org("NGO A", "ngo-a"), org("NGO B", "ngo-b")
        fund, no_fund = org("Fund", "fund", "funder"), org("No fund", "fund-0", "funder")
        people: dict[str, User] = {}
        for role, kind, where in (
            ("member", Role.NGO_MEMBER, ngo_a),
            ("ngo_admin", Role.NGO_ADMIN, ngo_a),
            ("ngo_b_admin", Role.NGO_ADMIN, ngo_b),
            ("funder", Role.FUNDER, fund),
            ("funder_no_grant", Role.FUNDER, no_fund),
            ("evaluator", Role.EVALUATOR, None),
            ("evaluator_b", Role.EVALUATOR, None),
            ("admin", Role.ADMIN, None),
        ):
            user = accounts.create_user(
                session, email=f"{role}@example.org", name=role, password="api password 1"
            )
            accounts.add_membership(session, user=user, role=kind, organization=where)
            people[role] = user
        version = rubric_services.store_rubric(
            session, load_rubric(ROOT / "rubrics" / "library" / "quick-check.yaml")
        )
        rubric_services.publish(session, version)

        def cycle(code: str, ngo: Organization, evaluator: User) -> Any:
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
        cycle_b = cycle("cycle-b", ngo_b, people["evaluator_b"])
        accounts.grant_access(session, ngo=ngo_a, funder=fund, by=None)
        session.flush()
        tokens = {}
        for role, user in people.items():
            _token, tokens[role] = api_tokens.create_token(
                session, user=user, name=f"{role} token", read_only=False, expires_in_days=None
            )
        assessments = {a.cycle_id: a.id for a in session.exec(select(Assessment)).all()}
        session.commit()
        world = World(
            app=app,
            url=url,
            ids={role: int(user.id or 0) for role, user in people.items()},
            tokens=tokens,
            ngo_a=int(ngo_a.id or 0),
            ngo_b=int(ngo_b.id or 0),
            cycle_a=int(cycle_a.id or 0),
            cycle_b=int(cycle_b.id or 0),
            assessment_a=int(assessments[cycle_a.id] or 0),
            assessment_b=int(assessments[cycle_b.id] or 0),
            version_id=int(version.id or 0),
            counter=itertools.count(1),
        )
    engine.dispose()
    return world
