"""The words shown for an organisation's coded fields (kind, focus areas, languages, ...)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from accounts.models import FocusArea, OrgKind, Visibility

KIND_LABELS: dict[str, LazyString] = {
    OrgKind.NGO: _l("NGO"),
    OrgKind.GOVERNMENT: _l("Government agency"),
    OrgKind.INSTITUTION: _l("Other institution"),
    OrgKind.FUNDER: _l("Funder"),
    OrgKind.EVALUATOR: _l("Evaluating body"),
}
FOCUS_LABELS: dict[str, LazyString] = {
    FocusArea.TRAFFICKING: _l("Trafficking"),
    FocusArea.SEXUAL_EXPLOITATION: _l("Sexual exploitation"),
    FocusArea.MISSING_CHILDREN: _l("Missing children"),
    FocusArea.ONLINE_ABUSE: _l("Online abuse"),
    FocusArea.SHELTER_CARE: _l("Shelter and care"),
    FocusArea.LEGAL_AID: _l("Legal aid"),
    FocusArea.PREVENTION_EDUCATION: _l("Prevention and education"),
    FocusArea.HELPLINES: _l("Helplines"),
    FocusArea.REINTEGRATION: _l("Reintegration"),
    FocusArea.RESEARCH: _l("Research"),
    FocusArea.STREET_CHILDREN: _l("Street children"),
    FocusArea.UNACCOMPANIED_MINORS: _l("Unaccompanied minors"),
    FocusArea.FAMILY_SUPPORT: _l("Family support"),
}
VISIBILITY_LABELS: dict[str, LazyString] = {
    Visibility.PUBLIC: _l("Public: everyone, without logging in"),
    Visibility.MEMBERS: _l("Members only: whoever is logged in to the platform"),
    Visibility.HIDDEN: _l("Hidden: only our own people and the administrators"),
}
COUNTRY_LABELS: dict[str, LazyString] = {  # the Balkan network, then funders' countries
    "AL": _l("Albania"),
    "BA": _l("Bosnia and Herzegovina"),
    "BG": _l("Bulgaria"),
    "HR": _l("Croatia"),
    "GR": _l("Greece"),
    "XK": _l("Kosovo"),
    "ME": _l("Montenegro"),
    "MK": _l("North Macedonia"),
    "RO": _l("Romania"),
    "RS": _l("Serbia"),
    "SI": _l("Slovenia"),
    "TR": _l("Türkiye"),
    "AT": _l("Austria"),
    "DE": _l("Germany"),
    "IT": _l("Italy"),
    "CH": _l("Switzerland"),
    "GB": _l("United Kingdom"),
    "US": _l("United States"),
}
LANGUAGE_LABELS: dict[str, LazyString] = {  # ISO 639-1 (Romani has none: 639-2's "rom")
    "sq": _l("Albanian"),
    "bs": _l("Bosnian"),
    "bg": _l("Bulgarian"),
    "hr": _l("Croatian"),
    "el": _l("Greek"),
    "mk": _l("Macedonian"),
    "sr": _l("Serbian"),
    "ro": _l("Romanian"),
    "rom": _l("Romani"),
    "tr": _l("Turkish"),
    "en": _l("English language"),  # not "English": the language switcher shows that word
    "de": _l("German"),
    "it": _l("Italian"),
    "fr": _l("French"),
}
FIELD_LABELS: dict[str, LazyString] = {
    "cities": _l("Cities served"),
    "services": _l("Services"),
    "languages": _l("Languages"),
    "contact_email": _l("Contact e-mail"),
    "contact_phone": _l("Contact phone"),
    "website": _l("Website"),
    "year_founded": _l("Year founded"),
}


def label(labels: dict[str, LazyString], code: str | None) -> str:
    """The label of ``code``, or the code itself when it has none."""
    if not code:
        return "-"
    found = labels.get(code)
    return str(found) if found is not None else code
