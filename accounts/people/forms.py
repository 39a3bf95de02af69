from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from accounts.models import Role
from accounts.passwords import MAX_LENGTH

LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("el", "Ελληνικά")]
NO_ORGANIZATION = 0


def role_label(role: str) -> str:
    labels = {  # keyed by the stored value: only the permissions core spells roles
        "ngo_member": _l("NGO member"),
        "ngo_admin": _l("NGO admin"),
        "funder": _l("Funder"),
        "evaluator": _l("evaluator"),
        "admin": _l("Administrator"),
    }
    return str(labels.get(str(role), role))


def role_choices(roles: list[Role] | None = None) -> list[SelectChoice]:
    return [SelectChoice(str(r), role_label(r)) for r in (roles or list(Role))]


class InviteForm(FlaskForm):
    """Invite someone: an admin chooses any role (and the organisation it needs); an NGO
    admin, member or NGO admin of their NGO (the view narrows the choices)."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    organization = SelectField(_l("Organisation"), coerce=int, default=NO_ORGANIZATION)
    locale = SelectField(_l("Language of the invitation"), choices=LANGUAGE_CHOICES, default="en")


class MembershipForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    organization = SelectField(_l("Organisation"), coerce=int, default=NO_ORGANIZATION)


class TeamRoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class ChoosePasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    confirm = PasswordField(
        _l("The same password again"),
        validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))],
    )


class AuditFilterForm(FlaskForm):
    """Filters in the URL (GET): no CSRF, nothing changes."""

    class Meta:
        csrf = False

    who = StringField(_l("Person"), validators=[Optional(), Length(max=200)])
    organization = SelectField(_l("Organisation"), coerce=int, default=NO_ORGANIZATION)
    action = SelectField(_l("Event"), default="")
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
