"""Demo data: two NGOs, a funder, an evaluator and an admin, the shipped rubrics, and a cycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select

from accounts import services as accounts
from accounts.models import Organization, OrgKind, Role, User
from rubrics import services as rubrics
from rubrics.loader import library_rubrics, load_rubric
from surveys.cycles import services as cycles
from surveys.models import AssessmentCycle

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credential


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    organization: str | None


DEMO_ORGS = [
    ("ngo-a", "Hope and Home (NGO A)", OrgKind.NGO, "AL"),
    ("ngo-b", "Safe Passage (NGO B)", OrgKind.NGO, "MK"),
    ("funder", "Balkan Children's Fund", OrgKind.FUNDER, "US"),
]
DEMO_USERS = [
    DemoLogin("ngo-a@demo.test", Role.NGO_ADMIN, "ngo-a"),
    DemoLogin("ngo-b@demo.test", Role.NGO_ADMIN, "ngo-b"),
    DemoLogin("funder@demo.test", Role.FUNDER, "funder"),
    DemoLogin("evaluator@demo.test", Role.EVALUATOR, None),
    DemoLogin("admin@demo.test", Role.ADMIN, None),
]
DEMO_NAMES = {
    "ngo-a@demo.test": "Ana (NGO A)",
    "ngo-b@demo.test": "Besnik (NGO B)",
    "funder@demo.test": "Fiona (funder)",
    "evaluator@demo.test": "Elena (evaluator)",
    "admin@demo.test": "Adam (admin)",
}


def is_empty(session: Session) -> bool:
    return session.exec(select(User.id)).first() is None


def seed(session: Session, *, today: date | None = None) -> list[DemoLogin]:
    """Create the demo data in an empty database (the caller commits)."""
    today = today or date.today()
    orgs: dict[str, Organization] = {}
    for code, name, kind, country in DEMO_ORGS:
        org = Organization(code=code, name=name, kind=kind, country=country)
        session.add(org)
        orgs[code] = org
    session.flush()
    for login in DEMO_USERS:
        user = accounts.create_user(
            session, email=login.email, name=DEMO_NAMES[login.email], password=DEMO_PASSWORD
        )
        home = orgs[login.organization] if login.organization else None
        accounts.add_membership(session, user=user, role=Role(login.role), organization=home)
    accounts.grant_access(session, ngo=orgs["ngo-a"], funder=orgs["funder"], by=None)

    published = {}
    for path in library_rubrics():
        rubric = load_rubric(path)
        version = rubrics.store_rubric(session, rubric)
        published[rubric.id] = rubrics.publish(session, version)
    ngos = [orgs["ngo-a"], orgs["ngo-b"]]
    cycles.open_cycle(
        session,
        code=f"quick-check-{today.year}",
        name=f"Safeguarding quick check {today.year}",
        version=published["quick-check"],
        organizations=ngos,
        opens_on=today,
        closes_on=today + timedelta(days=60),
    )
    if "child-protection" in published:
        cycles.open_cycle(
            session,
            code=f"child-protection-{today.year}",
            name=f"Child-protection effectiveness {today.year}",
            version=published["child-protection"],
            organizations=ngos,
            opens_on=today,
            closes_on=today + timedelta(days=120),
        )
    evaluator = session.exec(select(User).where(User.email == "evaluator@demo.test")).one()
    for cycle in session.exec(select(AssessmentCycle)).all():
        cycles.assign_evaluators(session, cycle, [evaluator])
    session.flush()
    return DEMO_USERS


def has_demo_users(session: Session) -> bool:
    emails = [login.email for login in DEMO_USERS]
    return session.exec(select(User.id).where(User.email.in_(emails))).first() is not None  # type: ignore[attr-defined]
