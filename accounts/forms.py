from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

ALL_CYCLES = "all"
CHOSEN_CYCLES = "chosen"


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=8, max=1024, message=_l("At least 8 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("New password, again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes (usable without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GrantForm(FlaskForm):
    """Grant a funder access to all of the NGO's cycles or to chosen ones. The choices are the
    platform's funders and the NGO's cycles: a posted id outside them fails validation."""

    funder = SelectField(
        _l("Funder"), coerce=int, validators=[InputRequired(_l("Choose a funder."))]
    )
    scope = RadioField(
        _l("Which results"),
        choices=[
            SelectChoice(ALL_CYCLES, _l("All cycles, including later ones")),
            SelectChoice(CHOSEN_CYCLES, _l("Only the cycles chosen below")),
        ],
        default=ALL_CYCLES,
        validators=[InputRequired()],
    )
    cycles = CheckboxListField(_l("Cycles"), coerce=int)  # no Optional: it would skip the check
    include_evidence = BooleanField(
        _l("Also evidence files, answers not yet submitted and the evaluator's notes")
    )

    def validate_cycles(self, field: CheckboxListField) -> None:
        if self.scope.data == CHOSEN_CYCLES and not field.data:
            raise ValidationError(_l("Choose at least one cycle, or all cycles."))


class ConfirmForm(FlaskForm):
    """A button that posts: it carries the CSRF token."""


class ApiTokenForm(FlaskForm):
    """A new personal API token (issue 14): a name, an expiry, and whether it may write."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Give the token a name.")), Length(max=100)],
        description=_l("What it is for, e.g. the M&E dashboard."),
    )
    expires = SelectField(
        _l("Expires"),
        choices=[
            SelectChoice("30", _l("In 30 days")),
            SelectChoice("90", _l("In 90 days")),
            SelectChoice("365", _l("In a year")),
            SelectChoice("never", _l("Never")),
        ],
        default="90",
    )
    read_only = BooleanField(_l("Read only: it may read, never change anything"), default=True)
