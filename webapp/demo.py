"""Demo data: five logins, the shipped rubrics, and a network that looks like a real one.

Besides NGO A and NGO B (whose 2026 child-protection assessments are left for a visitor to fill
in) there is a cohort of fictitious NGOs in the ten Balkan countries of the action plan, two
funders, and two yearly cycles of the child-protection rubric (the earlier closed, the later
open) with submitted, scored, verified and returned assessments.

Answers come from a small latent model (see :class:`LatentModel`): an NGO's capacity, its
country, domain difficulty, an NGO-by-domain profile, a year-on-year change and item noise, cut
into the question's levels by thresholds; an evaluator's verified rating is the same latent value
shifted down with noise (self-assessments are optimistic). Everything is drawn from one seeded
numpy Generator, so the same seed gives the same network.

Every write goes through the services a person's clicks would call (saving a page, submitting,
the review and its status moves), so stored scores, history and statuses are what the app makes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, select

from accounts import services as accounts
from accounts.models import (
    AccessGrant,
    FocusArea,
    Organization,
    OrgKind,
    OrgType,
    Role,
    User,
    utcnow,
)
from rubrics import services as rubrics
from rubrics.loader import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE, library_rubrics, load_rubric
from rubrics.models import RubricVersion
from rubrics.schema import Question, Rubric
from surveys.answers import is_blank, progress, relevant_questions, same_value
from surveys.cycles.services import assign_evaluators, open_cycle
from surveys.double import services as double
from surveys.double.models import DoubleVerification
from surveys.models import (
    EDITABLE,
    Answer,
    AnswerRevision,
    Assessment,
    AssessmentCycle,
    Score,
    Source,
    Status,
    StatusChange,
)
from surveys.questionnaire.services import save_page, submit
from surveys.review.models import IndicatorReview
from surveys.review.services import (
    complete_review,
    find_indicator,
    rated_questions,
    return_assessment,
    start_review,
)
from surveys.workflow import change_status

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credential
DEMO_SEED = 2007  # the year of the Athens action plan
# Cohort contacts cannot log in: no password hashes to this (argon2 refuses to parse it).
UNUSABLE_PASSWORD = "!demo-contact-without-login"  # noqa: S105


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
    DemoLogin("second-evaluator@demo.test", Role.EVALUATOR, None),
    DemoLogin("ngo-a-member@demo.test", Role.NGO_MEMBER, "ngo-a"),
]
DEMO_NAMES = {
    "ngo-a@demo.test": "Ana (NGO A)",
    "ngo-b@demo.test": "Besnik (NGO B)",
    "funder@demo.test": "Fiona (funder)",
    "evaluator@demo.test": "Elena (evaluator)",
    "admin@demo.test": "Adam (admin)",
    "second-evaluator@demo.test": "Sofia (second evaluator)",
    "ngo-a-member@demo.test": "Mira (NGO A member)",
}
DEMO_PROFILES = {  # NGO A and NGO B: type and focus areas
    "ngo-a": (OrgType.SHELTER, [FocusArea.TRAFFICKING, FocusArea.FAMILY_SUPPORT]),
    "ngo-b": (OrgType.SERVICE_PROVIDER, [FocusArea.UNACCOMPANIED_MINORS, FocusArea.LEGAL_AID]),
}

# --- the cohort ----------------------------------------------------------------------------------

COUNTRIES = ("AL", "BA", "BG", "HR", "GR", "XK", "ME", "MK", "RO", "RS")
# Fictitious organisations (any likeness to a real one is unintended), four per country with NGO A
# (Albania) and NGO B (North Macedonia) counted in.
COHORT_NAMES: dict[str, tuple[str, ...]] = {
    "AL": (
        "Ura Bridge for Children",
        "Drita Youth and Family Centre",
        "Dielli Community Association",
    ),
    "BA": (
        "Sigurni Koraci Tuzla",
        "Izvor Family Support Centre",
        "Neretva Youth Network",
        "Lipa Child Protection Association",
    ),
    "BG": (
        "Zora Child Advocacy Centre",
        "Detelina Family Centre",
        "Rhodope Youth Support",
        "Mostove Child Rights Association",
    ),
    "HR": (
        "Sidro Children's House",
        "Svjetionik Split",
        "Slavonia Family Network",
        "Korijeni Association",
    ),
    "GR": (
        "Ilios Children's Centre",
        "Aegean Youth Network",
        "Pyxida Family Support",
        "Thessaloniki Street Work Initiative",
    ),
    "XK": (
        "Lulja Child Support",
        "Dardania Youth Forum",
        "Prizren Family Circle",
        "Ylli Community Centre",
    ),
    "ME": (
        "Lovcen Children's Network",
        "Svitanje Podgorica",
        "Boka Family Support",
        "Sjever Youth Association",
    ),
    "MK": ("Ohrid Light Children's Centre", "Vardar Youth Network", "Sonce Family Support"),
    "RO": (
        "Lumina Copiilor Association",
        "Punte Child Rights",
        "Carpathian Youth Network",
        "Dunarea Family Centre",
    ),
    "RS": (
        "Svetlost Children's Rights Centre",
        "Novi Sad Youth Initiative",
        "Morava Family Support",
        "Kosmaj Safe Childhood Network",
    ),
}
CONTACT_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "AL": (("Arta", "Blerina", "Dritan", "Erion", "Ilir"), ("Hoxha", "Shehu", "Kola", "Leka")),
    "BA": (("Amra", "Emir", "Lejla", "Tarik", "Selma"), ("Hodzic", "Begic", "Kovacevic", "Delic")),
    "BG": (("Desislava", "Georgi", "Milena", "Ivan", "Petya"), ("Ivanova", "Petrov", "Dimitrova")),
    "HR": (("Ivana", "Marko", "Petra", "Luka", "Ana"), ("Horvat", "Kovacic", "Babic", "Maric")),
    "GR": (("Eleni", "Nikos", "Katerina", "Giorgos", "Maria"), ("Papadopoulou", "Nikolaou")),
    "XK": (("Vjosa", "Arben", "Teuta", "Driton", "Albana"), ("Krasniqi", "Berisha", "Gashi")),
    "ME": (("Jelena", "Milos", "Dragana", "Nikola", "Vesna"), ("Vukovic", "Popovic", "Radovic")),
    "MK": (("Elena", "Aleksandar", "Marija", "Goran", "Sanja"), ("Stojanovska", "Trajkovski")),
    "RO": (("Ioana", "Andrei", "Mihaela", "Radu", "Elena"), ("Popescu", "Ionescu", "Dumitru")),
    "RS": (("Milica", "Stefan", "Jovana", "Nemanja", "Tijana"), ("Jovanovic", "Petrovic", "Ilic")),
}
TYPE_WEIGHTS = {
    OrgType.SERVICE_PROVIDER: 0.35,
    OrgType.SHELTER: 0.2,
    OrgType.ADVOCACY: 0.15,
    OrgType.COMMUNITY: 0.2,
    OrgType.NETWORK: 0.1,
}
SECOND_FUNDER = ("adriatic-fund", "Adriatic Children's Foundation", OrgKind.FUNDER, "IT")

RUBRIC = "child-protection"
EARLIER, LATER = 0, 1  # the two cycles: index into the years

# How many cohort NGOs end up in each state (the rest of the cohort is assigned at random).
JOINED_LATER = 4  # cohort NGOs that are not in the earlier cycle
EARLIER_STATES = {  # cohort NGOs in the earlier (closed) cycle; NGO A is verified besides
    "verified": 11,
    "returned_then_verified": 2,
    "submitted": 18,
    "in_progress": 2,
    "not_started": 1,
}
LATER_STATES = {  # the whole cohort in the later (open) cycle; NGO A and B are not started
    "verified": 6,
    "in_review": 3,
    "returned": 3,
    "submitted": 16,
    "in_progress": 6,
    "not_started": 4,
}
GRANTS = {"funder": 12, "adriatic-fund": 5, "both": 3}  # cohort NGOs sharing, besides NGO A


# --- the latent model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LatentModel:
    """The parameters of the answer model (on a logit-like scale where 1 is about one level).

    An NGO's latent value for question ``q`` of domain ``d`` in year ``t`` (0 or 1) is

        eta = capacity + country + profile[d] - difficulty[d] - item[q] + t * change + noise

    with ``capacity ~ N(capacity_mean, capacity_sd)``, ``country ~ N(0, country_sd)``,
    ``profile[d] ~ N(0, profile_sd)``, ``item[q] ~ N(0, item_sd)``,
    ``change ~ N(change_mean, change_sd)`` and ``noise ~ N(0, noise_sd)``; the level is one plus
    the number of ``thresholds`` below eta. A verified rating uses ``eta + N(-optimism,
    verify_sd)``.
    """

    capacity_mean: float = 0.1
    capacity_sd: float = 0.8
    country_sd: float = 0.3
    profile_sd: float = 0.35
    item_sd: float = 0.25
    change_mean: float = 0.25
    change_sd: float = 0.25
    noise_sd: float = 0.55
    thresholds: tuple[float, ...] = (-1.0, 0.0, 1.0)
    optimism: float = 0.25
    verify_sd: float = 0.4
    missing_rate: float = 0.2  # share of assessments with a not-applicable or don't-know answer
    difficulty: Mapping[str, float] = field(
        default_factory=lambda: {
            "CP_SG": -0.4,  # safeguarding policies are the most common
            "CP_SV": -0.2,
            "CP_CB": 0.3,
            "CP_DA": 0.6,  # comparable data is the weakest area in the region
            "CP_PV": 0.0,
            "CP_TR": 0.1,
            "CP_PA": -0.1,
            "CP_GV": 0.0,
            "CP_FM": -0.2,
            "CP_MR": 0.5,
        }
    )

    def level(self, eta: float, low: int, high: int) -> int:
        steps = sum(eta > t for t in self.thresholds)
        return min(high, low + steps)


@dataclass
class CohortNgo:
    code: str
    name: str
    country: str
    org_type: OrgType
    focus_areas: list[str]
    capacity: float
    change: float
    profile: dict[str, float]
    contact: str  # the contact person's name
    org: Organization | None = None
    contact_user: User | None = None

    @property
    def organization(self) -> Organization:
        if self.org is None:
            raise RuntimeError(f"{self.code} is not stored yet")
        return self.org

    @property
    def org_id(self) -> int:
        if self.organization.id is None:
            raise RuntimeError(f"{self.code} is not flushed yet")
        return self.organization.id


TEXTS = {
    "CP_SG3_incidents": (
        "Two concerns raised this year; both referred to the social welfare centre within a day.",
        "One concern about a volunteer, investigated and closed; the volunteer left.",
        "No incidents recorded; the log is checked every quarter by the director.",
        "Three concerns from the helpline, two referred to the police.",
    ),
    "CP_SV1_context": (
        "Drop-in centre and outreach in two municipalities.",
        "Case management for about 60 children a year, with the centres for social work.",
        "Mobile team visiting Roma settlements twice a week.",
        "Shelter with eight places and a day centre.",
    ),
    "CP_PA2_example": (
        "Joint protocol with the police on identifying child victims.",
        "Contributed to the national action plan against trafficking.",
        "Comments on the draft child protection law, half of them taken up.",
    ),
    "CP_MR2_changes": (
        "Introduced case reviews every three months after the evaluation.",
        "Moved follow-up calls from ad hoc to a fixed schedule.",
        "Added children's feedback forms to every programme.",
    ),
}
REVIEW_NOTES = (
    "Seen in the files; matches the self-rating.",
    "Documents seen, but practice is not yet consistent across sites.",
    "Evidence is partial: two of five files sampled had the signed forms.",
    "Good practice; worth sharing with the network.",
    "The procedure exists on paper; staff interviewed did not know it.",
)
RETURN_REASONS = (
    "Please attach the safeguarding policy and the board minutes that approved it.",
    "The data section contradicts last year's annual report: please check the completeness "
    "figures.",
    "Several ratings in the cross-border domain are not supported by the evidence given.",
)
RESUBMIT_NOTE = "Policy attached and ratings corrected after the evaluator's remarks."


def _slug(name: str) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in name).split()
    return "-".join(words[:3])


def draw_cohort(rng: np.random.Generator, model: LatentModel) -> list[CohortNgo]:
    """The cohort's NGOs with their latent parameters (NGO A and NGO B first)."""
    country_effect = {c: float(rng.normal(0, model.country_sd)) for c in COUNTRIES}
    domains = list(model.difficulty)
    types = list(TYPE_WEIGHTS)
    weights = np.array([TYPE_WEIGHTS[t] for t in types])
    # The eight areas of the cohort's first draw, in their order then (issue 12 added more to
    # FocusArea; drawing from all of them would move every number of the demo).
    focus = [
        FocusArea.TRAFFICKING,
        FocusArea.SEXUAL_EXPLOITATION,
        FocusArea.ONLINE_ABUSE,
        FocusArea.STREET_CHILDREN,
        FocusArea.UNACCOMPANIED_MINORS,
        FocusArea.FAMILY_SUPPORT,
        FocusArea.PREVENTION_EDUCATION,
        FocusArea.LEGAL_AID,
    ]

    def latent(country: str) -> tuple[float, float, dict[str, float]]:
        capacity = float(rng.normal(model.capacity_mean, model.capacity_sd))
        change = float(rng.normal(model.change_mean, model.change_sd))
        profile = {d: float(rng.normal(0, model.profile_sd)) for d in domains}
        return capacity + country_effect[country], change, profile

    cohort = []
    for code, name, _, country in DEMO_ORGS[:2]:
        capacity, change, profile = latent(country)
        org_type, areas = DEMO_PROFILES[code]
        if code == "ngo-a":
            capacity = 0.2  # a middling NGO whose verified 2025 result a visitor can follow
        cohort.append(
            CohortNgo(
                code,
                name,
                country,
                org_type,
                [str(a) for a in areas],
                capacity,
                change,
                profile,
                contact="",
            )
        )
    for country in COUNTRIES:
        firsts, lasts = CONTACT_NAMES[country]
        for name in COHORT_NAMES[country]:
            org_type = types[int(rng.choice(len(types), p=weights))]
            k = int(rng.integers(1, 4))
            chosen = sorted(
                str(focus[int(i)]) for i in rng.choice(len(focus), size=k, replace=False)
            )
            capacity, change, profile = latent(country)
            contact = (
                f"{firsts[int(rng.integers(len(firsts)))]} {lasts[int(rng.integers(len(lasts)))]}"
            )
            cohort.append(
                CohortNgo(
                    f"{country.lower()}-{_slug(name)}",
                    name,
                    country,
                    org_type,
                    chosen,
                    capacity,
                    change,
                    profile,
                    contact,
                )
            )
    return cohort


# --- answers -------------------------------------------------------------------------------------


@dataclass
class Draw:
    """One assessment's answers: the web-form values, and each scored question's latent value."""

    values: dict[str, Any]
    eta: dict[str, float]


def _levels(rubric: Rubric) -> tuple[int, int]:
    return rubric.scale.min, rubric.scale.max


def answer_for(question: Question, level: int, rubric: Rubric, rng: np.random.Generator) -> Any:
    """A scored question's answer at ``level``, in the question's own terms."""
    low, high = _levels(rubric)
    if question.type == "maturity":
        return level
    if question.type in ("single", "yes_no"):
        options = [o for o in question.options if o.score is not None]
        best = min(abs((o.score or 0) - level) for o in options)
        nearest = [o.id for o in options if abs((o.score or 0) - level) == best]
        return nearest[int(rng.integers(len(nearest)))]
    if question.type == "multiple":
        scores = {o.score for o in question.options}
        if len(scores) == 1:  # every option worth the same: the level is how many are ticked
            choices = [o.id for o in question.options if o.id != "none"]
            picked = rng.choice(len(choices), size=min(level, len(choices)), replace=False)
            return [choices[i] for i in sorted(picked)]
        return [o.id for o in question.options if (o.score or 0) <= level]
    if question.type == "number" and question.number is not None:
        bands = [b for b in question.number.bands if b.score == level]
        if bands:
            band = bands[0]
            return int(rng.integers(math.ceil(band.min), math.floor(band.max) + 1))
        span = (question.number.high or high) - (question.number.low or low)
        return round((question.number.low or low) + span * (level - low) / (high - low))
    raise ValueError(f"question {question.id}: no demo answers for type {question.type}")


def draw_answers(
    rubric: Rubric,
    ngo: CohortNgo,
    year: int,
    rng: np.random.Generator,
    model: LatentModel,
    item_difficulty: Mapping[str, float],
) -> Draw:
    """A complete self-assessment of ``ngo`` in cycle ``year`` (0 or 1), hidden questions left
    unanswered, a few not-applicable or don't-know answers where the rubric allows them."""
    low, high = _levels(rubric)
    values: dict[str, Any] = {}
    eta: dict[str, float] = {}
    shelter = ngo.org_type == OrgType.SHELTER or rng.random() < 0.15
    crossborder = (
        bool({FocusArea.TRAFFICKING, FocusArea.UNACCOMPANIED_MINORS} & set(ngo.focus_areas))
        or rng.random() < 0.3
    )
    for domain, _, question in rubric.questions():
        if question.id == "CP_SV_shelter_runs":
            values[question.id] = "yes" if shelter else "no"
        elif question.id == "CP_CB_crossborder":
            values[question.id] = "yes" if crossborder else "no"
        elif question.scored:
            mean = (
                ngo.capacity
                + ngo.profile.get(domain.id, 0.0)
                - model.difficulty.get(domain.id, 0.0)
                - item_difficulty[question.id]
                + year * ngo.change
            )
            eta[question.id] = mean + float(rng.normal(0, model.noise_sd))
            level = model.level(eta[question.id], low, high)
            values[question.id] = answer_for(question, level, rubric, rng)
        elif question.type == "number":  # unscored counts, such as cases handled
            values[question.id] = int(rng.poisson(math.exp(1.5 + 0.5 * ngo.capacity)))
        elif question.type == "text":
            texts = TEXTS.get(question.id, ())
            if texts and rng.random() < 0.6:
                values[question.id] = texts[int(rng.integers(len(texts)))]
        elif question.type in ("single", "yes_no") and question.options:
            values[question.id] = question.options[int(rng.integers(len(question.options)))].id
        # evidence and dates: left blank (files are uploaded by people)
    relevant = relevant_questions(rubric, values)
    values = {qid: v for qid, v in values.items() if relevant.get(qid, True)}
    eta = {qid: e for qid, e in eta.items() if qid in values}
    if rng.random() < model.missing_rate:
        eligible = [
            q
            for _, _, q in rubric.questions()
            if q.id in values
            and (rubric.policy(q).allow_not_applicable or rubric.policy(q).allow_dont_know)
        ]
        for i in rng.choice(
            len(eligible), size=min(len(eligible), int(rng.integers(1, 3))), replace=False
        ):
            question = eligible[int(i)]
            policy = rubric.policy(question)
            values[question.id] = (
                NOT_APPLICABLE_VALUE if policy.allow_not_applicable else DONT_KNOW_VALUE
            )
            eta.pop(question.id, None)
    return Draw(values, eta)


def verified_ratings(
    rubric: Rubric, draw: Draw, rng: np.random.Generator, model: LatentModel
) -> dict[str, Any]:
    """An evaluator's ratings: the self-rating's latent value shifted down, with noise."""
    low, high = _levels(rubric)
    ratings: dict[str, Any] = {}
    for qid, eta in draw.eta.items():
        question = rubric.question(qid)
        own = model.level(eta, low, high)
        level = model.level(eta + float(rng.normal(-model.optimism, model.verify_sd)), low, high)
        ratings[qid] = (
            draw.values[qid] if level == own else answer_for(question, level, rubric, rng)
        )
    return ratings


# --- seeding -------------------------------------------------------------------------------------


def is_empty(session: Session) -> bool:
    return session.exec(select(User.id)).first() is None


def has_demo_users(session: Session) -> bool:
    emails = [login.email for login in DEMO_USERS]
    return session.exec(select(User.id).where(col(User.email).in_(emails))).first() is not None


def seed(
    session: Session,
    *,
    today: date | None = None,
    rng_seed: int = DEMO_SEED,
    model: LatentModel | None = None,
) -> list[DemoLogin]:
    """Create the demo data (the caller commits). Does nothing if the demo logins exist."""
    if has_demo_users(session):
        return DEMO_USERS
    today = today or date.today()
    model = model or LatentModel()
    rng = np.random.default_rng(rng_seed)
    orgs: dict[str, Organization] = {}
    for code, name, kind, country in [*DEMO_ORGS, SECOND_FUNDER]:
        org_type, areas = DEMO_PROFILES.get(code, (None, None))
        org = Organization(
            code=code,
            name=name,
            kind=kind,
            country=country,
            org_type=org_type,
            focus_areas=[str(a) for a in areas] if areas else None,
        )
        session.add(org)
        orgs[code] = org
    session.flush()
    users: dict[str, User] = {}
    for login in DEMO_USERS:
        user = accounts.create_user(
            session, email=login.email, name=DEMO_NAMES[login.email], password=DEMO_PASSWORD
        )
        home = orgs[login.organization] if login.organization else None
        accounts.add_membership(session, user=user, role=Role(login.role), organization=home)
        users[login.email] = user
    accounts.grant_access(
        session, ngo=orgs["ngo-a"], funder=orgs["funder"], by=users["ngo-a@demo.test"]
    )

    published: dict[str, RubricVersion] = {}
    for path in library_rubrics():
        rubric = load_rubric(path)
        version = rubrics.store_rubric(session, rubric)
        published[rubric.id] = rubrics.publish(session, version)
    evaluator = users["evaluator@demo.test"]
    quick = open_cycle(
        session,
        code=f"quick-check-{today.year}",
        name=f"Safeguarding quick check {today.year}",
        version=published["quick-check"],
        organizations=[orgs["ngo-a"], orgs["ngo-b"]],
        opens_on=today,
        closes_on=today + timedelta(days=60),
    )
    assign_evaluators(session, quick, [evaluator])
    if RUBRIC in published:
        _seed_network(session, today, rng, model, orgs, users, published[RUBRIC])
        seed_double_verification(session, users)
    session.flush()
    from webapp.demo_profiles import seed_profiles

    seed_profiles(session)  # the directory (issue 12)
    return DEMO_USERS


def _seed_network(
    session: Session,
    today: date,
    rng: np.random.Generator,
    model: LatentModel,
    orgs: dict[str, Organization],
    users: dict[str, User],
    version: RubricVersion,
) -> None:
    rubric = rubrics.rubric_of(version)
    cohort = draw_cohort(rng, model)
    item_difficulty = {
        q.id: float(rng.normal(0, model.item_sd)) for _, _, q in rubric.questions() if q.scored
    }
    # NGO A and NGO B exist; the others get an organisation and a contact who cannot log in.
    for ngo in cohort:
        if ngo.code in orgs:
            ngo.org = orgs[ngo.code]
            ngo.contact_user = users[f"{ngo.code}@demo.test"]
            continue
        ngo.org = Organization(
            code=ngo.code,
            name=ngo.name,
            kind=OrgKind.NGO,
            country=ngo.country,
            org_type=ngo.org_type,
            focus_areas=ngo.focus_areas,
        )
        session.add(ngo.org)
        session.flush()
        ngo.contact_user = User(
            email=f"contact@{ngo.code}.demo.test",
            name=ngo.contact,
            password_hash=UNUSABLE_PASSWORD,
        )
        session.add(ngo.contact_user)
        session.flush()
        accounts.add_membership(
            session, user=ngo.contact_user, role=Role.NGO_MEMBER, organization=ngo.org
        )
    others = cohort[2:]

    funders = {"funder": orgs["funder"], "adriatic-fund": orgs["adriatic-fund"]}
    order = rng.permutation(len(others))
    start = 0
    for key, count in GRANTS.items():
        for i in order[start : start + count]:
            ngo = others[int(i)]
            targets = list(funders) if key == "both" else [key]
            for target in targets:
                accounts.grant_access(
                    session,
                    ngo=ngo.organization,
                    funder=funders[target],
                    by=ngo.contact_user,
                )
        start += count

    years = (today.year - 1, today.year)
    evaluator = users["evaluator@demo.test"]
    later_order = rng.permutation(len(others))
    joined_later = {int(i) for i in later_order[:JOINED_LATER]}
    earlier_members = [ngo for i, ngo in enumerate(others) if i not in joined_later]
    plans = {
        EARLIER: [(cohort[0], "verified"), *_assign(rng, earlier_members, EARLIER_STATES)],
        LATER: [
            (cohort[0], "not_started"),
            (cohort[1], "not_started"),
            *_assign(rng, others, LATER_STATES),
        ],
    }
    work: list[tuple[Assessment, CohortNgo, int, str]] = []
    for t, year in enumerate(years):
        opens = date(year, 2, 1) if t == EARLIER else today - timedelta(days=60)
        closes = date(year, 6, 30) if t == EARLIER else today + timedelta(days=90)
        participants = sorted(plans[t], key=lambda p: p[0].name)
        cycle = open_cycle(
            session,
            code=f"{RUBRIC}-{year}",
            name=f"Child-protection effectiveness {year}",
            version=version,
            organizations=[ngo.organization for ngo, _ in participants],
            opens_on=opens,
            closes_on=closes,
        )
        assign_evaluators(session, cycle, [evaluator])
        assessments = {
            a.organization_id: a
            for a in session.exec(select(Assessment).where(Assessment.cycle_id == cycle.id))
        }
        work += [(assessments[ngo.org_id], ngo, t, state) for ngo, state in participants]
    for assessment, ngo, t, state in work:
        _forget_rubric_versions(session)
        _play(session, rubric, assessment, ngo, t, state, rng, model, item_difficulty, evaluator)
    # Dates drawn from a stream of their own, so that they do not move the answers.
    clock = np.random.default_rng([int(rng.integers(2**31)), 1])
    now = datetime.combine(today, time(9), tzinfo=UTC)
    for assessment, _, t, _ in work:
        cycle_start = datetime.combine(date(years[t], 2, 1), time(9), tzinfo=UTC)
        if t == EARLIER:
            window = (cycle_start, datetime.combine(date(years[t], 7, 31), time(17), tzinfo=UTC))
        else:
            window = (now - timedelta(days=59), now - timedelta(days=1))
        date_history(session, assessment, *window, clock)


def _forget_rubric_versions(session: Session) -> None:
    """Detach the rubric versions the session holds (the services load them again as needed).

    Why: rubrics.services guards published versions against in-place edits by hashing the
    content of every version in the session on every flush (milliseconds each), and saving an
    answer flushes twice; with the versions detached, seeding takes seconds instead of minutes.
    Nothing the services store depends on it.
    """
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RubricVersion):
            session.expunge(obj)


def _assign(
    rng: np.random.Generator, ngos: Sequence[CohortNgo], states: Mapping[str, int]
) -> list[tuple[CohortNgo, str]]:
    if sum(states.values()) != len(ngos):
        raise ValueError(f"states {dict(states)} do not add up to {len(ngos)} NGOs")
    order = rng.permutation(len(ngos))
    labels = [state for state, count in states.items() for _ in range(count)]
    return [(ngos[int(i)], label) for i, label in zip(order, labels, strict=True)]


def _play(
    session: Session,
    rubric: Rubric,
    assessment: Assessment,
    ngo: CohortNgo,
    year: int,
    state: str,
    rng: np.random.Generator,
    model: LatentModel,
    item_difficulty: Mapping[str, float],
    evaluator: User,
) -> None:
    """Take one assessment to ``state`` through the services a person's clicks call."""
    if state == "not_started":
        return
    draw = draw_answers(rubric, ngo, year, rng, model, item_difficulty)
    contact = ngo.contact_user
    if state == "in_progress":
        pages = int(rng.integers(2, len(rubric.domains) - 1))
        shown = {q.id for d in rubric.domains[:pages] for i in d.indicators for q in i.questions}
        values = {qid: v for qid, v in draw.values.items() if qid in shown}
        first_save(session, assessment, rubric, values, user=contact)
        return
    first_save(session, assessment, rubric, draw.values, user=contact)
    _submit(session, assessment, contact)
    if state == "submitted":
        return
    start_review(session, assessment, by=evaluator)
    if state == "in_review":
        return
    if state in ("returned", "returned_then_verified"):
        reason = RETURN_REASONS[int(rng.integers(len(RETURN_REASONS)))]
        return_assessment(session, assessment, reason=reason, by=evaluator)
        if state == "returned":
            return
        # The NGO corrects its most optimistic rating and resubmits.
        qid = max(draw.eta, key=lambda q: draw.eta[q])
        lowered = model.level(draw.eta[qid], *_levels(rubric)) - 1
        if lowered >= rubric.scale.min:
            draw.eta[qid] -= 1.0
            draw.values[qid] = answer_for(rubric.question(qid), lowered, rubric, rng)
            versions = _versions(session, assessment.id, [qid])  # type: ignore[arg-type]
            save_page(
                session,
                assessment,
                rubric,
                values={qid: draw.values[qid]},
                comments={qid: RESUBMIT_NOTE},
                base_versions=versions,
                user=contact,
            )
        _submit(session, assessment, contact)
        start_review(session, assessment, by=evaluator)
    _verify(session, rubric, assessment, draw, rng, model, evaluator)


def _submit(session: Session, assessment: Assessment, by: User | None) -> None:
    missing = submit(session, assessment, by=by)
    if missing:  # the model answers every required relevant question: a bug if not
        raise RuntimeError(
            f"demo assessment {assessment.id} misses {[m.question.id for m in missing]}"
        )


def _versions(session: Session, assessment_id: int, qids: Sequence[str]) -> dict[str, int | None]:
    rows = session.exec(
        select(Answer).where(
            Answer.assessment_id == assessment_id,
            Answer.source == Source.SELF,
            col(Answer.question_id).in_(qids),
        )
    ).all()
    found: dict[str, int | None] = dict.fromkeys(qids)
    found.update({row.question_id: row.version for row in rows})
    return found


def _verify(
    session: Session,
    rubric: Rubric,
    assessment: Assessment,
    draw: Draw,
    rng: np.random.Generator,
    model: LatentModel,
    evaluator: User,
) -> None:
    """The evaluator goes through every indicator, rates its questions and completes the review."""
    ratings = verified_ratings(rubric, draw, rng, model)
    notes: dict[str, str | None] = {}
    for domain in rubric.domains:
        for indicator in domain.indicators:
            values = {q.id: ratings[q.id] for q in indicator.questions if q.id in ratings}
            changed = any(values[qid] != draw.values.get(qid) for qid in values)
            note = None
            if changed or rng.random() < 0.2:
                note = REVIEW_NOTES[int(rng.integers(1 if changed else 0, len(REVIEW_NOTES)))]
            if values or note is not None:
                notes[indicator.id] = note
    first_review(session, assessment, rubric, ratings, notes, by=evaluator)
    complete_review(session, assessment, by=evaluator)


# --- dates -------------------------------------------------------------------------------------


def date_history(
    session: Session,
    assessment: Assessment,
    start: datetime,
    end: datetime,
    rng: np.random.Generator,
) -> None:
    """Date an assessment's record as if it had happened between ``start`` and ``end``.

    The services stamp every row with the time they run, so a seeded network would have done a
    whole year's work in ten seconds; this moves the stamps (and nothing else) onto a plausible
    timeline: each status change after the one before, answers saved just before the move they
    led to, verified ratings just before the verification, scores at the moves that computed
    them. Call it once per assessment, after its story is complete.
    """
    aid: int = assessment.id  # type: ignore[assignment]
    moves = list(
        session.exec(
            select(StatusChange)
            .where(StatusChange.assessment_id == aid)
            .order_by(col(StatusChange.id))
        )
    )
    assessment.created_at = start - timedelta(days=1)
    if not moves:
        assessment.updated_at = assessment.created_at
        session.flush()
        return
    gaps = rng.uniform(0.3, 1.0, size=len(moves) + 1)
    fractions = np.cumsum(gaps) / gaps.sum()
    stamps = [start + (end - start) * float(f) for f in fractions[:-1]]
    for move, stamp in zip(moves, stamps, strict=True):
        move.changed_at = stamp
    hour = timedelta(hours=1)

    def when(to: str, *, last: bool = False) -> datetime | None:
        found = [s for m, s in zip(moves, stamps, strict=True) if m.to_status == to]
        return (found[-1] if last else found[0]) if found else None

    first = stamps[0] - hour  # the first page saved, which started the assessment
    resubmitted = [s for m, s in zip(moves, stamps, strict=True) if m.from_status == "returned"]
    self_rows = (col(Answer.assessment_id) == aid, col(Answer.source) == Source.SELF)
    revision_rows = (
        col(AnswerRevision.assessment_id) == aid,
        col(AnswerRevision.source) == Source.SELF,
    )
    updates: list[Any] = [
        sa.update(Answer).where(*self_rows, col(Answer.version) == 1).values(updated_at=first),
        sa.update(AnswerRevision)
        .where(*revision_rows, col(AnswerRevision.version) == 1)
        .values(changed_at=first),
    ]
    if resubmitted:  # corrections made between the return and the resubmission
        fixed = resubmitted[0] - hour
        updates += [
            sa.update(Answer).where(*self_rows, col(Answer.version) > 1).values(updated_at=fixed),
            sa.update(AnswerRevision)
            .where(*revision_rows, col(AnswerRevision.version) > 1)
            .values(changed_at=fixed),
        ]
    submitted = when(Status.SUBMITTED, last=True)
    if submitted is not None:
        assessment.submitted_at = submitted
        updates.append(
            sa.update(Score)
            .where(col(Score.assessment_id) == aid, col(Score.source) == Source.SELF)
            .values(computed_at=submitted)
        )
    verified = when(Status.VERIFIED)
    if verified is not None:
        rated = verified - hour
        updates += [
            sa.update(Answer)
            .where(col(Answer.assessment_id) == aid, col(Answer.source) == Source.VERIFIED)
            .values(updated_at=rated),
            sa.update(AnswerRevision)
            .where(
                col(AnswerRevision.assessment_id) == aid,
                col(AnswerRevision.source) == Source.VERIFIED,
            )
            .values(changed_at=rated),
            sa.update(IndicatorReview)
            .where(col(IndicatorReview.assessment_id) == aid)
            .values(reviewed_at=rated),
            sa.update(Score)
            .where(col(Score.assessment_id) == aid, col(Score.source) == Source.VERIFIED)
            .values(computed_at=verified),
        ]
    assessment.updated_at = stamps[-1]
    session.flush()
    for statement in updates:
        session.execute(statement.execution_options(synchronize_session=False))


# --- first saves in bulk -------------------------------------------------------------------------
# Saving an answer through surveys.answers.save_answers is a compare-and-set: a savepoint and two
# flushes per answer, which is right for people racing each other and slow for thousands of
# answers. The two functions below store what save_page and save_indicator_review store when
# nothing is stored yet (the same Answer, AnswerRevision, IndicatorReview and StatusChange rows;
# tests/webapp/test_demo.py checks that against the services); submitting, the review's status
# moves and every score still go through the services.


def first_save(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    values: Mapping[str, Any],
    *,
    user: User | None,
    source: Source = Source.SELF,
) -> list[str]:
    """Store the first answers of ``assessment`` as save_page (self) or the review (verified)
    would; returns the question ids saved. Refuses if answers of that source exist."""
    assessment_id: int = assessment.id  # type: ignore[assignment]
    if source == Source.SELF and assessment.status not in EDITABLE:
        raise ValueError(f"assessment {assessment_id} is {assessment.status}")
    if source == Source.VERIFIED and assessment.status != Status.IN_REVIEW:
        raise ValueError(f"assessment {assessment_id} is not in review")
    stored = session.exec(
        select(Answer.id).where(Answer.assessment_id == assessment_id, Answer.source == source)
    ).first()
    if stored is not None:
        raise ValueError(f"assessment {assessment_id} already has {source} answers")
    # save_page drops answers to hidden questions; the review has dropped them already, judged
    # on the self-answers merged with the ratings (a gate question is never rated).
    relevant = relevant_questions(rubric, values) if source == Source.SELF else {}
    now = utcnow()
    by = user.id if user else None
    saved = [qid for qid in sorted(values) if relevant.get(qid, True) and not is_blank(values[qid])]
    if saved:  # bulk INSERTs of the rows save_answers adds one by one
        common = {"assessment_id": assessment_id, "source": source}
        session.execute(
            sa.insert(Answer),
            [
                {
                    **common,
                    "question_id": qid,
                    "value": values[qid],
                    "comment": None,
                    "version": 1,
                    "updated_by_id": by,
                    "updated_at": now,
                }
                for qid in saved
            ],
        )
        session.execute(
            sa.insert(AnswerRevision),
            [
                {
                    **common,
                    "question_id": qid,
                    "old_value": None,
                    "new_value": values[qid],
                    "old_comment": None,
                    "new_comment": None,
                    "version": 1,
                    "changed_by_id": by,
                    "changed_at": now,
                }
                for qid in saved
            ],
        )
    if saved and source == Source.SELF:
        assessment.progress = progress(rubric, {qid: values[qid] for qid in saved})
        assessment.updated_at = now
        if assessment.status == Status.NOT_STARTED:
            change_status(session, assessment, Status.IN_PROGRESS, by=user)
    session.flush()
    return saved


def first_review(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    ratings: Mapping[str, Any],
    notes: Mapping[str, str | None],
    *,
    by: User | None,
) -> None:
    """Store an evaluator's ratings and notes on the indicators in ``notes`` (a note may be
    None), as save_indicator_review would on each of them in turn."""
    own = {
        row.question_id: row.value
        for row in session.exec(
            select(Answer).where(
                Answer.assessment_id == assessment.id, Answer.source == Source.SELF
            )
        )
    }
    values: dict[str, Any] = {}
    for indicator_id in notes:
        indicator = find_indicator(rubric, indicator_id)
        rated = {q.id for q in rated_questions(indicator)}  # type: ignore[arg-type]
        values |= {qid: v for qid, v in ratings.items() if qid in rated}
    merged = own | {qid: v for qid, v in values.items() if not is_blank(v)}
    relevant = relevant_questions(rubric, merged)
    values = {qid: v for qid, v in values.items() if relevant.get(qid, True)}
    first_save(session, assessment, rubric, values, user=by, source=Source.VERIFIED)
    effective = own | {qid: v for qid, v in values.items() if not is_blank(v)}
    now = utcnow()
    for indicator_id, note in notes.items():
        indicator = find_indicator(rubric, indicator_id)
        agreed = all(
            same_value(effective.get(q.id), own.get(q.id))
            for q in rated_questions(indicator)  # type: ignore[arg-type]
        )
        session.add(
            IndicatorReview(
                assessment_id=assessment.id,  # type: ignore[arg-type]
                indicator_id=indicator_id,
                note=note,
                agreed=agreed,
                reviewed_by_id=by.id if by else None,
                reviewed_at=now,
            )
        )
    session.flush()


# --- what was made -------------------------------------------------------------------------------


def summary(session: Session) -> dict[str, int]:
    """Counts of the demo network, for the command's output and the tests."""
    statuses = Counter(
        str(status)
        for status in session.exec(
            select(Assessment.status)
            .join(AssessmentCycle, col(AssessmentCycle.id) == Assessment.cycle_id)
            .where(col(AssessmentCycle.code).like(f"{RUBRIC}-%"))
        )
    )
    ngos = session.exec(
        select(sa.func.count()).select_from(Organization).where(Organization.kind == OrgKind.NGO)
    ).one()
    countries = session.exec(
        select(sa.func.count(sa.distinct(col(Organization.country)))).where(
            Organization.kind == OrgKind.NGO
        )
    ).one()
    funders = session.exec(
        select(sa.func.count()).select_from(Organization).where(Organization.kind == OrgKind.FUNDER)
    ).one()
    sharing = session.exec(
        select(sa.func.count(sa.distinct(col(AccessGrant.ngo_id)))).where(
            col(AccessGrant.revoked_at).is_(None)
        )
    ).one()
    cycles = session.exec(select(sa.func.count()).select_from(AssessmentCycle)).one()
    scores = session.exec(select(sa.func.count()).select_from(Score)).one()
    return {
        "ngos": int(ngos),
        "countries": int(countries),
        "funders": int(funders),
        "ngos_sharing": int(sharing),
        "cycles": int(cycles),
        **{f"child_protection_{status.value}": statuses.get(status.value, 0) for status in Status},
        "score_rows": int(scores),
    }


# --- double (blind) verification ----------------------------------------------------------------

# Per child-protection cycle (earlier, later): verified assessments verified a second time, and
# submitted ones drawn but not verified yet (the second evaluator's open queue).
DOUBLE_VERIFIED = (7, 2)
DOUBLE_PENDING = (0, 2)
SECOND_AGREES = 0.75  # the share of questions the second evaluator rates as the first did


def seed_double_verification(session: Session, users: Mapping[str, User]) -> None:
    """A blind second verification of a sample of each child-protection cycle, by
    second-evaluator@demo.test (not assigned to the cycles), so that the rubric-quality page
    shows agreement between evaluators. From a random stream of its own (the network's answers
    do not move); ratings are the first evaluator's, one step off on about a quarter."""
    rng = np.random.default_rng([DEMO_SEED, 3])
    second = users["second-evaluator@demo.test"]
    cycles = session.exec(
        select(AssessmentCycle)
        .where(col(AssessmentCycle.code).like(f"{RUBRIC}-%"))
        .order_by(col(AssessmentCycle.code))
    ).all()
    for t, cycle in enumerate(cycles):
        rubric = rubrics.rubric_of(session.get(RubricVersion, cycle.rubric_version_id))  # type: ignore[arg-type]
        rated = double.rated_questions(rubric)
        by_status: dict[str, list[Assessment]] = {}
        eligible = 0
        for a in session.exec(
            select(Assessment).where(Assessment.cycle_id == cycle.id).order_by(col(Assessment.id))
        ):
            by_status.setdefault(str(a.status), []).append(a)
            eligible += a.status in double.ELIGIBLE
        verified = by_status.get(Status.VERIFIED, [])
        submitted = by_status.get(Status.SUBMITTED, [])
        picked = [
            *(verified[int(i)] for i in rng.permutation(len(verified))[: DOUBLE_VERIFIED[t]]),
            *(submitted[int(i)] for i in rng.permutation(len(submitted))[: DOUBLE_PENDING[t]]),
        ]
        if not picked:
            continue
        double.set_percent(session, cycle, 100.0 * len(picked) / max(eligible, 1), by=None)
        for assessment in picked:
            row = DoubleVerification(
                assessment_id=assessment.id,  # type: ignore[arg-type]
                second_evaluator_id=second.id,  # type: ignore[arg-type]
            )
            session.add(row)
            session.flush()
            if assessment.status != Status.VERIFIED:
                continue
            first = {
                a.question_id: a.value
                for a in session.exec(
                    select(Answer).where(
                        Answer.assessment_id == assessment.id, Answer.source == Source.VERIFIED
                    )
                )
            }
            posted = {}
            for question in rated:
                value = first.get(question.id)
                choices = list(double.allowed_values(question))
                if value is None or str(value) not in choices:
                    continue
                k = choices.index(str(value))
                if rng.random() > SECOND_AGREES:
                    k = min(len(choices) - 1, max(0, k + int(rng.choice([-1, 1]))))
                posted[question.id] = choices[k]
            double.save_ratings(session, row, rubric, posted, seen=row.version, complete=True)
