"""The demo's directory: plausible profiles for the cohort, a few government agencies and
other institutions (issue 12). Fictitious organisations; the cities, languages and calling
codes are real. Deterministic: each profile is drawn from a generator seeded by the
organisation's code, so the rest of the demo's random stream does not move."""

from __future__ import annotations

import hashlib

import numpy as np
from sqlmodel import Session, col, select

from accounts.models import FocusArea, Organization, OrgKind, OrgType, Visibility

CITIES: dict[str, tuple[str, ...]] = {
    "AL": ("Tirana", "Durrës", "Shkodër", "Elbasan", "Vlorë", "Korçë"),
    "BA": ("Sarajevo", "Tuzla", "Mostar", "Banja Luka", "Zenica", "Bihać"),
    "BG": ("Sofia", "Plovdiv", "Varna", "Burgas", "Ruse", "Stara Zagora"),
    "HR": ("Zagreb", "Split", "Rijeka", "Osijek", "Zadar", "Slavonski Brod"),
    "GR": ("Athens", "Thessaloniki", "Patras", "Ioannina", "Heraklion", "Larissa"),
    "XK": ("Pristina", "Prizren", "Peja", "Gjakova", "Mitrovica", "Ferizaj"),
    "ME": ("Podgorica", "Nikšić", "Bar", "Bijelo Polje", "Herceg Novi", "Cetinje"),
    "MK": ("Skopje", "Bitola", "Ohrid", "Kumanovo", "Tetovo", "Štip"),
    "RO": ("Bucharest", "Cluj-Napoca", "Iași", "Timișoara", "Constanța", "Craiova"),
    "RS": ("Belgrade", "Novi Sad", "Niš", "Kragujevac", "Subotica", "Novi Pazar"),
    "US": ("New York",),
    "IT": ("Rome", "Milan"),
}
LANGUAGES: dict[str, tuple[str, ...]] = {
    "AL": ("sq",),
    "BA": ("bs", "hr", "sr"),
    "BG": ("bg",),
    "HR": ("hr",),
    "GR": ("el",),
    "XK": ("sq", "sr"),
    "ME": ("sr",),
    "MK": ("mk", "sq"),
    "RO": ("ro",),
    "RS": ("sr",),
    "US": ("en",),
    "IT": ("it",),
}
CALLING_CODES = {
    "AL": "355",
    "BA": "387",
    "BG": "359",
    "HR": "385",
    "GR": "30",
    "XK": "383",
    "ME": "382",
    "MK": "389",
    "RO": "40",
    "RS": "381",
    "US": "1",
    "IT": "39",
}
SERVICES: dict[str, tuple[str, ...]] = {
    FocusArea.TRAFFICKING: (
        "Identification and referral of child victims of trafficking",
        "Case management with the national referral mechanism",
    ),
    FocusArea.SEXUAL_EXPLOITATION: (
        "Counselling for children who survived sexual exploitation",
        "Accompaniment through police and court procedures",
    ),
    FocusArea.MISSING_CHILDREN: ("Reporting and search support for missing children",),
    FocusArea.ONLINE_ABUSE: (
        "Reporting line for child sexual abuse material online",
        "Online safety workshops for pupils and parents",
    ),
    FocusArea.SHELTER_CARE: ("Shelter with places for children and young mothers",),
    FocusArea.LEGAL_AID: ("Free legal aid and representation for children",),
    FocusArea.PREVENTION_EDUCATION: (
        "Prevention sessions in primary and secondary schools",
        "Training for teachers and social workers",
    ),
    FocusArea.HELPLINES: ("Child helpline, free of charge, every day",),
    FocusArea.REINTEGRATION: ("Reintegration support: schooling, vocational training, family",),
    FocusArea.RESEARCH: ("Research and monitoring reports on child exploitation",),
    FocusArea.STREET_CHILDREN: (
        "Street work and a drop-in centre for children in street situations",
    ),
    FocusArea.UNACCOMPANIED_MINORS: ("Guardianship and support for unaccompanied minors",),
    FocusArea.FAMILY_SUPPORT: ("Family counselling and parenting support",),
}
# A focus area that a kind of NGO plausibly adds to the ones the cohort drew.
TYPE_FOCUS = {
    OrgType.SHELTER: FocusArea.SHELTER_CARE,
    OrgType.SERVICE_PROVIDER: FocusArea.REINTEGRATION,
    OrgType.ADVOCACY: FocusArea.RESEARCH,
    OrgType.COMMUNITY: FocusArea.PREVENTION_EDUCATION,
    OrgType.NETWORK: FocusArea.HELPLINES,
}
OTHER_NAMES = {  # the names of NGO A and NGO B in their own languages
    "ngo-a": {"sq": "Shpresë dhe Shtëpi"},
    "ngo-b": {"mk": "Безбеден премин", "sq": "Kalim i Sigurt"},
}
# Government agencies and other institutions: listed in the directory, not assessed.
INSTITUTIONS = (
    (
        "al-anti-trafficking-office",
        "National Anti-Trafficking Coordination Office",
        OrgKind.GOVERNMENT,
        "AL",
    ),
    (
        "mk-social-work-skopje",
        "Inter-municipal Centre for Social Work Skopje",
        OrgKind.GOVERNMENT,
        "MK",
    ),
    (
        "rs-child-protection-agency",
        "Republic Agency for Child Protection",
        OrgKind.GOVERNMENT,
        "RS",
    ),
    ("gr-missing-children-unit", "Hellenic Unit for Missing Children", OrgKind.GOVERNMENT, "GR"),
    ("ba-childrens-ombudsman", "Office of the Children's Ombudsman", OrgKind.INSTITUTION, "BA"),
    (
        "ro-institute-child-research",
        "Institute for Child Rights Research",
        OrgKind.INSTITUTION,
        "RO",
    ),
)
INSTITUTION_FOCUS = {
    OrgKind.GOVERNMENT: (FocusArea.TRAFFICKING, FocusArea.MISSING_CHILDREN, FocusArea.HELPLINES),
    OrgKind.INSTITUTION: (FocusArea.LEGAL_AID, FocusArea.RESEARCH, FocusArea.SEXUAL_EXPLOITATION),
}
ALWAYS_PUBLIC = {"ngo-a", "ngo-b", "funder"}  # the browser tests and the README walk these


def _rng(code: str) -> np.random.Generator:
    digest = hashlib.sha256(code.encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def fill_profile(org: Organization, position: int = 0) -> None:
    """Give ``org`` a plausible profile, the same one on every run. ``position`` spreads the
    visibilities evenly over the demo: of every ten, eight public, one members-only, one
    hidden."""
    rng = _rng(org.code)
    country = org.country or "AL"
    slug = org.code.split("-", 1)[-1] if org.kind == OrgKind.NGO else org.code
    cities = CITIES.get(country, ())
    if cities:
        k = int(rng.integers(1, min(3, len(cities)) + 1))
        org.cities = [
            cities[int(i)] for i in sorted(rng.choice(len(cities), size=k, replace=False))
        ]
    areas = list(org.focus_areas or [])
    extra = TYPE_FOCUS.get(OrgType(org.org_type)) if org.org_type else None
    if org.kind in INSTITUTION_FOCUS:
        extra = INSTITUTION_FOCUS[OrgKind(org.kind)][int(rng.integers(3))]
    if extra is not None and extra not in areas and org.kind != OrgKind.FUNDER:
        areas.append(str(extra))
    org.focus_areas = areas or None
    offered = [s for area in areas for s in SERVICES.get(area, ())]
    if org.kind == OrgKind.FUNDER:
        offered = ["Grants to child-protection organisations in the Balkans"]
    org.services = offered[:4] or None
    languages = list(LANGUAGES.get(country, ()))
    if rng.random() < 0.6 and "en" not in languages:
        languages.append("en")
    org.languages = languages or None
    org.contact_email = f"info@{slug}.example.org"
    code = CALLING_CODES.get(country, "355")
    org.contact_phone = f"+{code} {int(rng.integers(20, 99))} {int(rng.integers(100000, 999999))}"
    org.website = f"https://{slug}.example.org"
    org.year_founded = int(rng.integers(1991, 2019))
    org.names = OTHER_NAMES.get(org.code)
    org.visibility = {3: Visibility.MEMBERS, 7: Visibility.HIDDEN}.get(
        position % 10, Visibility.PUBLIC
    )
    if org.code in ALWAYS_PUBLIC:
        org.visibility = Visibility.PUBLIC
    org.private_fields = ["contact_phone"] if rng.random() < 0.3 else None


def seed_profiles(session: Session) -> None:
    """Profiles for every organisation of the demo, and the agencies and institutions."""
    for code, name, kind, country in INSTITUTIONS:
        session.add(Organization(code=code, name=name, kind=kind, country=country))
    session.flush()
    orgs = session.exec(select(Organization).order_by(col(Organization.id))).all()
    for position, org in enumerate(o for o in orgs if o.kind != OrgKind.EVALUATOR):
        fill_profile(org, position)
    session.flush()
