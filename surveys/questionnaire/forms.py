"""Questionnaire forms, built at runtime from a rubric (a fresh class on every call)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length, Optional

from accounts.inputs import parse_id
from rubrics.schema import Domain, Question, Rubric
from rubrics.types import DONT_KNOW_VALUE as DONT_KNOW
from rubrics.types import NOT_APPLICABLE_VALUE as NOT_APPLICABLE
from rubrics.types import TYPES
from surveys.evidence.services import ACCEPT
from surveys.questionnaire.fields import (
    FORM_TYPES,
    build_field,
    display_answer,
    has_missing_field,
    missing_field,
)
from surveys.questionnaire.fields import field_template as field_template  # for the page's view


class ResponseFormBase(FlaskForm):
    """Base of every generated questionnaire page."""


def value_name(question: Question) -> str:
    return f"q_{question.id}"


def version_name(question: Question) -> str:
    return f"v_{question.id}"


def comment_name(question: Question) -> str:
    return f"c_{question.id}"


def missing_name(question: Question) -> str:
    return f"m_{question.id}"


def file_name(question: Question) -> str:
    return f"f_{question.id}"


def choice_name(question: Question) -> str:
    """The conflict choice: "mine" (save what was posted) or "theirs" (keep what is stored)."""
    return f"k_{question.id}"


REMOVE_EVIDENCE = "remove_evidence"
"""Checkboxes (one per attached file, value: the evidence id) that remove files on saving."""


def build_response_form(rubric: Rubric, domain: Domain, language: str) -> type[ResponseFormBase]:
    """A form class for one page (a domain) of the questionnaire."""
    attrs: dict[str, Any] = {}
    for indicator in domain.indicators:
        for question in indicator.questions:
            field = build_field(question, rubric, language)
            if field is not None:  # evidence questions are answered by their files
                attrs[value_name(question)] = field
            if has_missing_field(question, rubric):
                attrs[missing_name(question)] = missing_field(question, rubric, language)
            attrs[version_name(question)] = HiddenField()
            attrs[comment_name(question)] = TextAreaField(
                _l("Comment"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
            )
            # Any question may carry evidence files; an evidence question shows its field
            # openly, others behind "Comment or evidence". Checked by surveys.evidence.services.
            attrs[file_name(question)] = MultipleFileField(
                _l("Evidence files"), render_kw={"accept": ACCEPT}
            )
    return type("ResponseForm", (ResponseFormBase,), attrs)


def form_data(rubric: Rubric, domain: Domain, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Initial field data from stored answers (``{question_id: Answer}``)."""
    data: dict[str, Any] = {}
    for indicator in domain.indicators:
        for question in indicator.questions:
            answer = answers.get(question.id)
            value = answer.value if answer else None
            data[version_name(question)] = str(answer.version) if answer else ""
            data[comment_name(question)] = (answer.comment or "") if answer else ""
            if value in (NOT_APPLICABLE, DONT_KNOW) and has_missing_field(question, rubric):
                data[missing_name(question)] = [value]
                value = None
            elif value in (NOT_APPLICABLE, DONT_KNOW):
                data[value_name(question)] = value
                continue
            data[value_name(question)] = FORM_TYPES[question.type].load(value)
    return data


@dataclass
class PageAnswers:
    values: dict[str, Any]
    comments: dict[str, str | None]
    base_versions: dict[str, int | None]
    errors: dict[str, list[str]]


def read_answers(form: ResponseFormBase, rubric: Rubric, domain: Domain) -> PageAnswers:
    """Answers by question id from a validated-or-not form; invalid fields are left out and
    their errors returned, so that every valid answer on the page can still be saved."""
    out = PageAnswers({}, {}, {}, {})
    for indicator in domain.indicators:
        for question in indicator.questions:
            if version_name(question) not in form:
                continue
            raw_version = form[version_name(question)].data or ""
            out.base_versions[question.id] = parse_id(raw_version)
            comment = form[comment_name(question)]
            if comment.errors:
                out.errors[question.id] = list(comment.errors)
                continue
            out.comments[question.id] = comment.data or None
            name = value_name(question)
            if name not in form:  # evidence: the files are the answer
                continue
            field = form[name]
            errors = list(field.errors)
            missing = form._fields.get(missing_name(question))
            if missing is not None:
                errors += list(missing.errors)
            if errors:
                out.errors[question.id] = errors
                continue
            value = FORM_TYPES[question.type].read(field.data)
            ticked = [code for code in (missing.data or []) if code] if missing else []
            if len(ticked) > 1:
                out.errors[question.id] = [
                    _l('Choose either "not applicable" or "don\'t know", not both.')
                ]
                continue
            if ticked:
                if value not in (None, "", []):
                    out.errors[question.id] = [
                        _l('Choose either an answer or "not applicable", not both.')
                        if ticked[0] == NOT_APPLICABLE
                        else _l('Choose either an answer or "don\'t know", not both.')
                    ]
                    continue
                value = ticked[0]
            out.values[question.id] = None if value in ("", []) else value
    return out


def choice_parts(question: Question, rubric: Rubric, language: str) -> dict[str, tuple[str, str]]:
    """For a maturity question: choice value -> (level name, descriptor), so that the page can
    show the level descriptor as text of its own under the level's name."""
    if not TYPES[question.type].has_levels:
        return {}
    names = {lv.level: rubric.text(lv.label, language) for lv in rubric.scale.levels}
    return {
        str(level.level): (
            names.get(level.level) or str(level.level),
            rubric.text(level.descriptor, language),
        )
        for level in question.levels
    }


def display_value(question: Question, rubric: Rubric, language: str, value: Any) -> str:
    """A stored answer as people read it (see
    :func:`surveys.questionnaire.fields.display_answer`)."""
    return display_answer(question, rubric, language, value)
