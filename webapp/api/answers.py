"""Answers sent as JSON, read by the questionnaire's own form fields: a value the page would
refuse, the API refuses with the same message, and what it stores is what the page would store
(a level as an integer, a date as YYYY-MM-DD, ...). Nothing of the checks is written twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from rubrics.schema import Domain, Question, Rubric
from rubrics.types import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE
from surveys.questionnaire.fields import has_missing_field
from surveys.questionnaire.forms import (
    build_response_form,
    comment_name,
    missing_name,
    read_answers,
    value_name,
    version_name,
)
from webapp.api.problems import invalid
from webapp.api.schemas import AnswersUpdate

MISSING = (NOT_APPLICABLE_VALUE, DONT_KNOW_VALUE)


@dataclass
class Changes:
    values: dict[str, Any] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)
    base_versions: dict[str, int | None] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # the question ids, as sent


def _form_values(question: Question, rubric: Rubric, value: Any) -> list[tuple[str, str]] | str:
    """The fields a page would post for ``value``, or why it cannot be one."""
    if value is None:
        return []
    if isinstance(value, bool | dict):
        return "is not an answer of this question's type"
    if question.type == "evidence":
        return "an evidence question is answered by its files, on the questionnaire's page"
    if value in MISSING and has_missing_field(question, rubric):
        return [(missing_name(question), str(value))]
    if isinstance(value, list):
        if question.type != "multiple":
            return "takes one value, not a list"
        if any(isinstance(v, bool | dict | list) or v is None for v in value):
            return "lists option ids"
        return [(value_name(question), str(v)) for v in value]
    return [(value_name(question), str(value))]


def read_changes(rubric: Rubric, update: AnswersUpdate) -> Changes:
    """The changes of ``update`` as the questionnaire reads a posted page; 422 naming every
    change that is wrong (``body.answers[i].value`` and the field's own message)."""
    where: dict[str, tuple[Domain, Question]] = {q.id: (d, q) for d, _i, q in rubric.questions()}
    errors: list[tuple[str, str]] = []
    posted: dict[str, MultiDict[str, str]] = {}  # domain id -> its fields
    out = Changes()
    position: dict[str, int] = {}
    valued: set[str] = set()  # the changes that send a value (without one: the comment only)
    for index, change in enumerate(update.answers):
        path = f"body.answers[{index}]"
        found = where.get(change.question_id)
        if found is None:
            errors.append((f"{path}.question_id", "no question of the assessment has this id"))
            continue
        if change.question_id in position:
            errors.append((f"{path}.question_id", "is sent twice"))
            continue
        domain, question = found
        sent_value = "value" in change.model_fields_set
        fields = _form_values(question, rubric, change.value) if sent_value else []
        if isinstance(fields, str):
            errors.append((f"{path}.value", fields))
            continue
        position[question.id] = index
        if sent_value:
            valued.add(question.id)
        out.order.append(question.id)
        data = posted.setdefault(domain.id, MultiDict())
        for name, text in fields:
            data.add(name, text)
        data.add(version_name(question), "" if change.version is None else str(change.version))
        if "comment" in change.model_fields_set:
            data.add(comment_name(question), change.comment or "")
        out.base_versions[question.id] = change.version
        if "comment" in change.model_fields_set:
            out.comments[question.id] = change.comment or None
    language = rubric.default_language
    for domain in rubric.domains:
        if domain.id not in posted:
            continue
        form = build_response_form(rubric, domain, language)(
            formdata=posted[domain.id], meta={"csrf": False}
        )
        form.validate()
        read = read_answers(form, rubric, domain)
        for qid, messages in read.errors.items():
            if qid in position:
                path = f"body.answers[{position[qid]}].value"
                errors.extend((path, str(message)) for message in messages)
        for qid in valued:
            if qid in read.values and qid not in read.errors and where[qid][0].id == domain.id:
                out.values[qid] = read.values[qid]
    if errors:
        raise invalid(errors, status=422, kind="invalid-answers")
    return out
