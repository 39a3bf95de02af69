"""Registry: question type -> WTForms field builder. Add a type by adding a builder here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, FloatField, RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from rubrics.loader import DONT_KNOW_VALUE as DONT_KNOW
from rubrics.loader import NOT_APPLICABLE_VALUE as NOT_APPLICABLE
from rubrics.schema import Question, Rubric

FieldBuilder = Callable[[Question, Rubric, str], Any]


def _missing_choices(question: Question, rubric: Rubric) -> list[SelectChoice]:
    policy = rubric.policy(question)
    choices = []
    if policy.allow_not_applicable:
        choices.append(
            SelectChoice(NOT_APPLICABLE, _l("Not applicable"), render_kw={"class": "na"})
        )
    if policy.allow_dont_know:
        choices.append(SelectChoice(DONT_KNOW, _l("Don't know"), render_kw={"class": "dk"}))
    return choices


def has_missing_field(question: Question, rubric: Rubric) -> bool:
    """Types whose N/A and don't-know choices need a field of their own."""
    return question.type in {"multiple", "number", "text"} and bool(
        _missing_choices(question, rubric)
    )


def missing_field(question: Question, rubric: Rubric, language: str) -> Any:
    return RadioField(
        _l("If you cannot answer"),
        choices=_missing_choices(question, rubric),
        validators=[Optional()],
        validate_choice=True,
    )


def maturity_field(question: Question, rubric: Rubric, language: str) -> Any:
    names = {lv.level: rubric.text(lv.label, language) for lv in rubric.scale.levels}
    choices = [
        SelectChoice(
            str(level.level),
            f"{names.get(level.level, level.level)}: {rubric.text(level.descriptor, language)}",
        )
        for level in sorted(question.levels, key=lambda lv: lv.level)
    ]
    return RadioField(
        rubric.text(question.label, language),
        choices=choices + _missing_choices(question, rubric),
        validators=[Optional()],
    )


def single_field(question: Question, rubric: Rubric, language: str) -> Any:
    choices = [SelectChoice(o.id, rubric.text(o.label, language)) for o in question.options]
    return RadioField(
        rubric.text(question.label, language),
        choices=choices + _missing_choices(question, rubric),
        validators=[Optional()],
    )


class CheckboxListField(SelectMultipleField):  # type: ignore[misc]
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def multiple_field(question: Question, rubric: Rubric, language: str) -> Any:
    choices = [SelectChoice(o.id, rubric.text(o.label, language)) for o in question.options]
    return CheckboxListField(
        rubric.text(question.label, language), choices=choices, validators=[Optional()]
    )


def number_field(question: Question, rubric: Rubric, language: str) -> Any:
    return FloatField(
        rubric.text(question.label, language),
        validators=[Optional(), NumberRange(min=-1e12, max=1e12)],
        render_kw={"inputmode": "decimal"},
    )


def text_field(question: Question, rubric: Rubric, language: str) -> Any:
    return TextAreaField(
        rubric.text(question.label, language),
        validators=[Optional(), Length(max=20000)],
        render_kw={"rows": 4},
    )


FIELD_BUILDERS: dict[str, FieldBuilder] = {
    "maturity": maturity_field,
    "single": single_field,
    "yes_no": single_field,
    "multiple": multiple_field,
    "number": number_field,
    "text": text_field,
}


def build_field(question: Question, rubric: Rubric, language: str) -> Field | None:
    builder = FIELD_BUILDERS.get(question.type)
    return builder(question, rubric, language) if builder else None
