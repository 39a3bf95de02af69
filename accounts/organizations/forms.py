"""The organisation forms: create (admins) and the profile (its NGO admins and admins)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from accounts.forms import CheckboxListField
from accounts.models import OPTIONAL_FIELDS
from accounts.organizations.labels import (
    COUNTRY_LABELS,
    FIELD_LABELS,
    FOCUS_LABELS,
    KIND_LABELS,
    LANGUAGE_LABELS,
    VISIBILITY_LABELS,
)

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9 ()./-]{5,40}$"
NAME_LINE = re.compile(r"^\s*([a-z]{2,3})\s*:\s*(.+?)\s*$")


def _choices(labels: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(code, text) for code, text in labels.items()]


def _country_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("(none)")), *_choices(COUNTRY_LABELS)]


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_names(text: str | None) -> dict[str, str]:
    """``sq: Shpresa dhe Shtëpi`` lines -> {"sq": "Shpresa dhe Shtëpi"}."""
    names: dict[str, str] = {}
    for line in lines(text):
        found = NAME_LINE.match(line)
        if found is None:
            raise ValidationError(
                _l("Write one name a line, after its language code: sq: Shpresa dhe Shtëpi")
            )
        names[found.group(1)] = found.group(2)[:200]
    return names


def format_names(names: dict[str, str] | None) -> str:
    return "\n".join(f"{code}: {name}" for code, name in (names or {}).items())


class CreateOrganizationForm(FlaskForm):
    code = StringField(
        _l("Code"),
        description=_l(
            "Lower-case letters, digits and hyphens; used in exports. It never changes."
        ),
        validators=[DataRequired(), Length(min=2, max=64), Regexp(r"^[a-z0-9][a-z0-9-]+$")],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS), validators=[InputRequired()])
    country = SelectField(_l("Country"), choices=_country_choices())


def _year_now() -> int:
    return datetime.now(UTC).year


class ProfileForm(FlaskForm):
    """The directory profile. ``kind`` is removed for who may not change it (NGO admins)."""

    version = HiddenField()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    names = TextAreaField(
        _l("Name in other languages"),
        description=_l("One a line, after the language code, e.g. sq: Shpresa dhe Shtëpi"),
        validators=[Length(max=2000)],
    )
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS))
    country = SelectField(_l("Country"), choices=_country_choices())
    cities = TextAreaField(
        _l("Cities served"), description=_l("One a line."), validators=[Length(max=4000)]
    )
    services = TextAreaField(
        _l("Services"), description=_l("One a line."), validators=[Length(max=4000)]
    )
    languages = CheckboxListField(_l("Languages"), choices=_choices(LANGUAGE_LABELS))
    focus_areas = CheckboxListField(_l("Focus areas"), choices=_choices(FOCUS_LABELS))
    contact_email = StringField(
        _l("Contact e-mail"),
        validators=[
            Optional(),
            Length(max=254),
            Regexp(EMAIL, message=_l("Not an e-mail address.")),
        ],
    )
    contact_phone = StringField(
        _l("Contact phone"),
        validators=[Optional(), Regexp(PHONE, message=_l("Not a phone number."))],
    )
    website = StringField(
        _l("Website"),
        description=_l("Starting with https:// or http://"),
        validators=[
            Optional(),
            Length(max=300),
            Regexp(r"^https?://[^\s/$.?#][^\s]*$", message=_l("Not a web address.")),
        ],
    )
    year_founded = IntegerField(_l("Year founded"), validators=[Optional()])
    visibility = RadioField(
        _l("Who sees this profile in the directory"),
        choices=_choices(VISIBILITY_LABELS),
        validators=[InputRequired()],
    )
    private_fields = CheckboxListField(
        _l("Keep these fields to our own people"),
        choices=[SelectChoice(f, FIELD_LABELS[f]) for f in OPTIONAL_FIELDS],
    )

    def validate_names(self, field: TextAreaField) -> None:
        parse_names(field.data)

    def validate_year_founded(self, field: IntegerField) -> None:
        if field.data is not None:
            NumberRange(1800, _year_now(), message=_l("Not a plausible year."))(self, field)

    def profile_values(self) -> dict[str, Any]:
        return {
            "name": self.name.data,
            "names": parse_names(self.names.data),
            "country": self.country.data or None,
            "cities": lines(self.cities.data),
            "services": lines(self.services.data),
            "languages": self.languages.data,
            "focus_areas": self.focus_areas.data,
            "contact_email": self.contact_email.data,
            "contact_phone": self.contact_phone.data,
            "website": self.website.data,
            "year_founded": self.year_founded.data,
            "visibility": self.visibility.data,
            "private_fields": self.private_fields.data,
        }

    def fill_from(self, org: Any) -> None:
        """Show the stored profile (a GET, or the conflict page's current version)."""
        self.version.data = str(org.version)
        self.name.data = org.name
        self.names.data = format_names(org.names)
        if "kind" in self._fields:
            self.kind.data = org.kind
        self.country.data = org.country or ""
        self.cities.data = "\n".join(org.cities or [])
        self.services.data = "\n".join(org.services or [])
        self.languages.data = list(org.languages or [])
        self.focus_areas.data = list(org.focus_areas or [])
        self.contact_email.data = org.contact_email or ""
        self.contact_phone.data = org.contact_phone or ""
        self.website.data = org.website or ""
        self.year_founded.data = org.year_founded
        self.visibility.data = org.visibility
        self.private_fields.data = list(org.private_fields or [])
