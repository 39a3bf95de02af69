"""A small cycle of the quick-check rubric, seeded once per test module: twelve NGOs that
submitted (some N/A, one unanswered question), eight verified by the cycle's evaluator, and half
of the submissions drawn for a blind second verification by an evaluator outside the cycle.

The answers are written out here, so tests can build the engine's arrays by hand from them."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, SQLModel

from accounts import services as accounts
from accounts.models import Organization, Role, User
from rubrics import services as rubric_services
from rubrics.loader import library_path, load_rubric
from surveys.cycles import services as cycles
from surveys.double import services as double
from surveys.models import Answer, Assessment, Source, Status
from surveys.review.services import complete_review
from surveys.scoring import score_assessments
from surveys.workflow import change_status, transition
from tests.conftest import PASSWORD
from webapp import create_app
from webapp.extensions import db

LEVELS = ["SG1_policy", "SG2_vetting", "SG2_incidents", "SV1_plans", "SV2_shelter", "RS1_data",
          "RS1_outcomes"]  # fmt: skip
REFERRAL = ["none", "some", "most", "all"]
N_NGOS = 12
N_VERIFIED = 8


def self_answers(k: int) -> dict[str, Any]:
    rng = random.Random(k)
    latent = 1 + k % 4
    values: dict[str, Any] = {q: max(1, min(4, latent + rng.choice([-1, 0, 0, 1]))) for q in LEVELS}
    values["SG1_focal"] = "yes" if latent >= 2 else "no"
    values["SV1_referral"] = REFERRAL[max(0, min(3, latent - 1 + rng.choice([0, 1])))]
    values["RS2_evaluated"] = "yes" if rng.random() < 0.6 else "no"
    values["RS2_changes"] = "Notes"
    if k % 3 == 0:
        values["SV2_shelter"] = "__na__"
    if k == 5:
        del values["RS1_outcomes"]  # unanswered
    return values


def verified_answers(k: int) -> dict[str, Any]:
    values = dict(self_answers(k))
    for j, q in enumerate(LEVELS):
        if isinstance(values.get(q), int) and (k + j) % 2:
            values[q] = max(1, values[q] - 1)  # evaluators are a little stricter
    return values


def second_ratings(k: int) -> dict[str, Any]:
    """The second evaluator's: the verified levels, one step off on some, RS questions left
    unrated (so agreement covers only what both rated)."""
    first = verified_answers(k)
    values: dict[str, Any] = {}
    for j, q in enumerate(LEVELS[:5]):
        level = first.get(q)
        if isinstance(level, int):
            values[q] = max(1, min(4, level + (1 if (k + j) % 3 == 0 else 0)))
    values["SG1_focal"] = first["SG1_focal"]
    values["SV1_referral"] = first["SV1_referral"]
    return values


@dataclass
class World:
    app: Flask
    url: str
    cycle_id: int
    version_id: int
    assessment_ids: list[int]  # by k
    users: dict[str, str] = field(default_factory=dict)  # role -> email
    double_ids: dict[int, int] = field(default_factory=dict)  # assessment id -> double id
    completed: set[int] = field(default_factory=set)  # assessment ids the second completed
    engine: sa.Engine | None = None

    def session(self) -> Session:
        if self.engine is None:
            self.engine = sa.create_engine(self.url)
        return Session(self.engine, expire_on_commit=False)


def _user(session: Session, email: str, role: Role, org: Organization | None = None) -> User:
    user = accounts.create_user(session, email=email, name=email.split("@")[0], password=PASSWORD)
    accounts.add_membership(session, user=user, role=role, organization=org)
    return user


def build(session: Session) -> dict[str, Any]:
    version = rubric_services.store_rubric(
        session, load_rubric(library_path() / "quick-check.yaml")
    )
    rubric_services.publish(session, version)
    orgs = [
        Organization(code=f"ngo-{k}", name=f"NGO {k:02d}", kind="ngo", country="AL")
        for k in range(N_NGOS)
    ]
    session.add_all(orgs)
    session.flush()
    admin = _user(session, "admin@q.test", Role.ADMIN)
    evaluator = _user(session, "evaluator@q.test", Role.EVALUATOR)
    _user(session, "second@q.test", Role.EVALUATOR)
    member = _user(session, "member@q.test", Role.NGO_MEMBER, orgs[0])
    cycle = cycles.open_cycle(
        session, code="q-2026", name="Quality 2026", version=version, organizations=orgs
    )
    cycles.assign_evaluators(session, cycle, [evaluator])
    by_org = {
        a.organization_id: a
        for a in session.exec(sa.select(Assessment).where(Assessment.cycle_id == cycle.id))  # type: ignore[arg-type]
        .scalars()
        .all()
    }
    assessments = [by_org[o.id] for o in orgs]  # type: ignore[index]
    # Answers are added as rows (the answer store's own tests cover saving them): fast.
    for k, assessment in enumerate(assessments):
        session.add_all(
            Answer(assessment_id=assessment.id, question_id=q, value=v)  # type: ignore[arg-type]
            for q, v in self_answers(k).items()
        )
        change_status(session, assessment, Status.IN_PROGRESS, by=member)
        change_status(session, assessment, Status.SUBMITTED, by=member)
    score_assessments(session, assessments)
    for k, assessment in enumerate(assessments[:N_VERIFIED]):
        transition(session, assessment, Status.IN_REVIEW, by=evaluator)
        session.add_all(
            Answer(assessment_id=assessment.id, source=Source.VERIFIED, question_id=q, value=v)  # type: ignore[arg-type]
            for q, v in verified_answers(k).items()
        )
        complete_review(session, assessment, by=evaluator)
    double.set_percent(session, cycle, 50, by=admin)
    double.draw_sample(session, cycle, by=admin, rng=random.Random(4))
    rubric = rubric_services.rubric_of(version)
    doubles = session.exec(sa.select(double.DoubleVerification)).scalars().all()  # type: ignore[attr-defined]
    index = {a.id: k for k, a in enumerate(assessments)}
    completed = set()
    for d in doubles:
        k = index[d.assessment_id]
        complete = k != max(index[x.assessment_id] for x in doubles)  # one stays unfinished
        double.save_ratings(
            session,
            d,
            rubric,
            {q: str(v) for q, v in second_ratings(k).items()},
            seen=d.version,
            complete=complete,
        )
        if complete:
            completed.add(d.assessment_id)
    session.commit()
    return {
        "cycle_id": cycle.id,
        "version_id": version.id,
        "assessment_ids": [a.id for a in assessments],
        "double_ids": {d.assessment_id: d.id for d in doubles},
        "completed": completed,
    }


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One seeded world per test module (tests only read it, or undo what they change)."""
    if backend == "postgresql":
        url = request.getfixturevalue("_postgres_schema")
    else:
        path = Path(tmp_path_factory.mktemp("quality")) / "world.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        }
    )
    engine = sa.create_engine(url)
    with app.app_context(), Session(engine, expire_on_commit=False) as session:
        made = build(session)
    engine.dispose()
    made_world = World(
        app=app,
        url=url,
        users={
            "admin": "admin@q.test",
            "evaluator": "evaluator@q.test",
            "second": "second@q.test",
            "member": "member@q.test",
        },
        **made,
    )
    yield made_world
    if made_world.engine is not None:
        made_world.engine.dispose()
    with app.app_context():
        db.engine.dispose()
    if backend == "postgresql":
        engine = sa.create_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        engine.dispose()


def client_for(world: World, who: str) -> Any:
    """A test client logged in as one of the world's users (``None``: anonymous)."""
    from tests.conftest import login

    client = world.app.test_client()
    if who:
        response = login(client, world.users[who])
        assert response.status_code == 302
    return client
