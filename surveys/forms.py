"""Questionnaire forms, built at runtime from a rubric (a fresh class on every call)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length, Optional

from rubrics.schema import Domain, Question, Rubric
from surveys.fields import DONT_KNOW, NOT_APPLICABLE, build_field, has_missing_field, missing_field


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


def build_response_form(rubric: Rubric, domain: Domain, language: str) -> type[ResponseFormBase]:
    """A form class for one page (a domain) of the questionnaire."""
    attrs: dict[str, Any] = {}
    for indicator in domain.indicators:
        for question in indicator.questions:
            field = build_field(question, rubric, language)
            if field is None:  # evidence: uploaded separately
                continue
            attrs[value_name(question)] = field
            if has_missing_field(question, rubric):
                attrs[missing_name(question)] = missing_field(question, rubric, language)
            attrs[version_name(question)] = HiddenField()
            attrs[comment_name(question)] = TextAreaField(
                "Comment", validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
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
                data[missing_name(question)] = value
                value = None
            if question.type in {"maturity"} and value is not None:
                value = str(value)
            data[value_name(question)] = value
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
            name = value_name(question)
            if name not in form:
                continue
            field = form[name]
            errors = list(field.errors)
            missing = form._fields.get(missing_name(question))
            if missing is not None:
                errors += list(missing.errors)
            raw_version = form[version_name(question)].data
            out.base_versions[question.id] = int(raw_version) if raw_version.isdigit() else None
            out.comments[question.id] = form[comment_name(question)].data or None
            if errors:
                out.errors[question.id] = errors
                continue
            value = field.data
            if question.type == "maturity" and value not in (None, "", NOT_APPLICABLE, DONT_KNOW):
                value = int(value)
            if question.type == "multiple":
                value = list(value or [])
            if missing is not None and missing.data:
                if value not in (None, "", []):
                    label = "not applicable" if missing.data == NOT_APPLICABLE else "don't know"
                    out.errors[question.id] = [f'choose either an answer or "{label}", not both']
                    continue
                value = missing.data
            out.values[question.id] = None if value in ("", []) else value
    return out
