"""The question types, form part: per type its field builder, how stored answers fill the field,
how a posted field reads back, and which template partial renders it. Keyed by the type names of
:data:`rubrics.types.TYPES` (the pure part: validation, engine encoding, relevance, XLSForm,
display). Add a type by adding a :class:`FormType` to :data:`FORM_TYPES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    Field,
    FloatField,
    RadioField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from rubrics.schema import Question, Rubric
from rubrics.types import DONT_KNOW_VALUE as DONT_KNOW
from rubrics.types import NOT_APPLICABLE_VALUE as NOT_APPLICABLE
from rubrics.types import Shown, display, parse_date

FieldBuilder = Callable[[Question, Rubric, str], Any]
MISSING_CODES = (NOT_APPLICABLE, DONT_KNOW)


class CheckboxListField(SelectMultipleField):  # type: ignore[misc]
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BlankOrOffered:
    """A choice field's check: nothing chosen is no answer (validation stops, no error); a value
    that is not one of the choices (three spaces, a forged option id) is an error that names
    the question. WTForms' ``Optional`` would take "   " for blank and wipe the field's own
    "Not a valid choice", letting it through to be read as a level."""

    field_flags: ClassVar[dict[str, bool]] = {"optional": True}

    def __init__(self, label: str) -> None:
        self.label = label if len(label) <= 80 else label[:79] + "…"

    def __call__(self, form: Any, field: Field) -> None:
        raw = [value for value in (field.raw_data or []) if value != ""]
        if not raw:
            field.errors[:] = []
            raise StopValidation()
        if field.errors:  # the field's own check found a value outside its choices
            field.errors[:] = [
                _l("“%(question)s”: choose one of the answers offered.", question=self.label)
            ]
            raise StopValidation()


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


def _undo_choices(question: Question, rubric: Rubric) -> list[SelectChoice]:
    """Where "not applicable" and "don't know" are radio buttons among the answers, one more
    that takes them back to no answer (a radio button cannot be unselected, even without
    JavaScript); another answer replaces them too."""
    if not _missing_choices(question, rubric):
        return []
    return [SelectChoice("", _l("No answer yet"), render_kw={"class": "clear"})]


def missing_field(question: Question, rubric: Rubric, language: str) -> Any:
    """ "Not applicable" and "don't know" beside an input of its own: tick boxes, so that a
    choice made by mistake can be undone by unticking it (a lone radio button cannot)."""
    return CheckboxListField(
        _l("If you cannot answer"),
        choices=_missing_choices(question, rubric),
        validators=[BlankOrOffered(rubric.text(question.label, language))],
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
    label = rubric.text(question.label, language)
    return RadioField(
        label,
        choices=choices + _missing_choices(question, rubric) + _undo_choices(question, rubric),
        validators=[BlankOrOffered(label)],
    )


def single_field(question: Question, rubric: Rubric, language: str) -> Any:
    choices = [SelectChoice(o.id, rubric.text(o.label, language)) for o in question.options]
    label = rubric.text(question.label, language)
    return RadioField(
        label,
        choices=choices + _missing_choices(question, rubric) + _undo_choices(question, rubric),
        validators=[BlankOrOffered(label)],
    )


def multiple_field(question: Question, rubric: Rubric, language: str) -> Any:
    choices = [SelectChoice(o.id, rubric.text(o.label, language)) for o in question.options]
    label = rubric.text(question.label, language)
    return CheckboxListField(label, choices=choices, validators=[BlankOrOffered(label)])


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


def date_field(question: Question, rubric: Rubric, language: str) -> Any:
    # <input type="date"> posts YYYY-MM-DD in every browser (and is a text box without one).
    return DateField(rubric.text(question.label, language), validators=[Optional()])


def _as_is(value: Any) -> Any:
    return value


def _level_in(value: Any) -> Any:
    return None if value is None else str(value)


def _level_out(value: Any) -> Any:
    return int(value) if value not in (None, "", *MISSING_CODES) else value


def _list_out(value: Any) -> Any:
    return list(value or [])


def _date_in(value: Any) -> Any:
    try:
        return None if value is None else parse_date(value)
    except ValueError:
        return None


def _date_out(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


@dataclass(frozen=True)
class FormType:
    """A question type's form part."""

    build: FieldBuilder | None
    """The WTForms field, or None when the question has no field (evidence: its files)."""
    load: Callable[[Any], Any] = _as_is
    """A stored answer -> the field's data."""
    read: Callable[[Any], Any] = _as_is
    """The field's data -> the answer to store."""
    missing_apart: bool = False
    """Whether "not applicable" and "don't know" are a field of their own (else choices)."""
    partial: Literal["choices", "input", "none"] = "input"
    """How the page shows the field: a list of choices, one input, or nothing (the template
    ``questionnaire/fields/<partial>.html``)."""


FORM_TYPES: dict[str, FormType] = {
    "maturity": FormType(maturity_field, _level_in, _level_out, partial="choices"),
    "single": FormType(single_field, partial="choices"),
    "yes_no": FormType(single_field, partial="choices"),
    "multiple": FormType(multiple_field, read=_list_out, missing_apart=True, partial="choices"),
    "number": FormType(number_field, missing_apart=True),
    "text": FormType(text_field, missing_apart=True),
    "evidence": FormType(None, partial="none"),
    "date": FormType(date_field, _date_in, _date_out, missing_apart=True),
}
FIELD_BUILDERS: dict[str, FieldBuilder] = {
    name: kind.build for name, kind in FORM_TYPES.items() if kind.build is not None
}


def has_missing_field(question: Question, rubric: Rubric) -> bool:
    """Types whose N/A and don't-know choices need a field of their own."""
    return FORM_TYPES[question.type].missing_apart and bool(_missing_choices(question, rubric))


def field_template(question: Question) -> str:
    """The template partial that shows ``question`` on the questionnaire page."""
    return f"questionnaire/fields/{FORM_TYPES[question.type].partial}.html"


def build_field(question: Question, rubric: Rubric, language: str) -> Field | None:
    builder = FORM_TYPES[question.type].build
    return builder(question, rubric, language) if builder else None


_SHOWN = {
    Shown.BLANK: _l("(blank)"),
    Shown.NOT_APPLICABLE: _l("Not applicable"),
    Shown.DONT_KNOW: _l("Don't know"),
}


def display_answer(question: Question, rubric: Rubric, language: str, value: Any) -> str:
    """An answer as people read it, in the interface's language for "Not applicable", "Don't
    know" and "(blank)": the one display of the questionnaire, the review and the history."""
    shown = display(question, rubric, value, language)
    return str(_SHOWN[shown]) if isinstance(shown, Shown) else shown
