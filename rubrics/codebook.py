"""The shared indicator codebook: indicators that several rubrics may measure, with one scale.

A rubric question declares ``indicator: CODE`` to say that it measures a shared indicator of
the codebook, and ``indicator_map: {option or level: scale value}`` when its answers are not
already the indicator's scale values. :func:`check_links` checks those declarations against a
codebook (every problem with its path, located at ``FILE:LINE`` by the loader);
:func:`shared_value` puts one stored answer on the indicator's scale (what the pooled export
writes).

The codebook file (``rubrics/codebook.yaml``) is the seed; an edited codebook is stored in the
database (``rubrics.codebook_services``), which this pure module knows nothing of.

Pure: yaml and pydantic only; no web, no database.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rubrics.schema import CODE_PATTERN, Problem, Question, Rubric, Text, localize
from rubrics.types import DONT_KNOW_VALUE, NOT_APPLICABLE_VALUE, as_float, is_blank

CODEBOOK_FILE = Path(__file__).with_name("codebook.yaml")
CODEBOOK_SCHEMA_FILE = Path(__file__).with_name("codebook.schema.json")

ScaleType = Literal["ordinal", "binary", "proportion", "percentage", "count"]
"""ordinal: levels with labels; binary: 0 (no) and 1 (yes); proportion: 0-1; percentage:
0-100; count: a whole number from 0."""

SCALED = ("proportion", "percentage", "count")  # the continuous scales: numbers as they are
MAPPABLE_TYPES = ("maturity", "single", "yes_no", "number")

IndicatorCode = Annotated[str, Field(pattern=CODE_PATTERN, min_length=1, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ScaleValue(_Model):
    """One value of an ordinal or binary scale. ``code``: an option id that means this value
    without a mapping (a yes/no question's ``yes`` and ``no``)."""

    value: int
    label: Text
    code: str | None = None


BINARY_LEVELS = (
    ScaleValue(value=0, label={"en": "No", "el": "Όχι"}, code="no"),
    ScaleValue(value=1, label={"en": "Yes", "el": "Ναι"}, code="yes"),  # noqa: RUF001
)


class IndicatorScale(_Model):
    type: ScaleType
    levels: tuple[ScaleValue, ...] = ()  # ordinal (required) and binary (default: no, yes)
    unit: Text | None = None  # count: what is counted (children, cases)

    def values(self) -> tuple[ScaleValue, ...]:
        if self.type == "binary" and not self.levels:
            return BINARY_LEVELS
        return self.levels

    def accepts(self, value: float) -> bool:
        """Whether ``value`` is on this scale."""
        if not math.isfinite(value):
            return False
        if self.type in ("ordinal", "binary"):
            return value in {level.value for level in self.values()}
        if self.type == "proportion":
            return 0 <= value <= 1
        if self.type == "percentage":
            return value >= 0  # may exceed 100 (turnover, outputs beyond plan)
        return value >= 0 and float(value).is_integer()  # count

    def describe(self) -> str:
        if self.type in ("ordinal", "binary"):
            return ", ".join(str(level.value) for level in self.values())
        described = {"proportion": "0..1", "percentage": "a number >= 0"}
        return described.get(self.type, "a whole number >= 0")


class Source(_Model):
    """Where an indicator comes from: a framework and, where one can be named, its article."""

    framework: str
    reference: str | None = None  # "Article 3", "Standard 1"


class SharedIndicator(_Model):
    code: IndicatorCode
    name: Text
    definition: Text
    scale: IndicatorScale
    disaggregation: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    theme: str | None = None


class Codebook(_Model):
    """The shared indicators, by code."""

    version: str | None = None
    languages: tuple[str, ...] = ("en", "el")
    indicators: tuple[SharedIndicator, ...]

    def get(self, code: str) -> SharedIndicator | None:
        return self.by_code().get(code)

    def by_code(self) -> dict[str, SharedIndicator]:
        return {indicator.code: indicator for indicator in self.indicators}

    def text(self, value: Mapping[str, str] | None, language: str | None = None) -> str:
        return localize(value, language, self.languages[0] if self.languages else "en")


# --- building and checking a codebook ---------------------------------------------------------


class CodebookError(ValueError):
    """A codebook that does not validate; ``problems`` lists every problem."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(f"{p.dotted}: {p.message}" for p in problems))


def parse_codebook(data: Any, source: str | None = None) -> Codebook:
    """Validate ``data`` (as read from YAML) into a :class:`Codebook`; raises
    :class:`CodebookError` listing every problem with its path."""
    try:
        codebook = Codebook.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(tuple(err["loc"]), str(err["msg"])) for err in exc.errors()]
        raise CodebookError(problems, source) from None
    problems = check_codebook(codebook)
    if problems:
        raise CodebookError(problems, source)
    return codebook


def check_codebook(codebook: Codebook) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, indicator in enumerate(codebook.indicators):
        path: tuple[str | int, ...] = ("indicators", index)
        if indicator.code in seen:
            problems.append(
                Problem(
                    (*path, "code"),
                    f"duplicate code {indicator.code!r} (also indicators.{seen[indicator.code]})",
                )
            )
        seen.setdefault(indicator.code, index)
        for language in codebook.languages:
            if not indicator.definition.get(language):
                problems.append(
                    Problem((*path, "definition"), f"the definition in {language!r} is missing")
                )
        scale = indicator.scale
        values = [level.value for level in scale.levels]
        if scale.type == "ordinal" and len(values) < 2:
            problems.append(Problem((*path, "scale", "levels"), "an ordinal scale needs levels"))
        if scale.type == "binary" and scale.levels and sorted(values) != [0, 1]:
            problems.append(Problem((*path, "scale", "levels"), "a binary scale is 0 and 1"))
        if scale.type in SCALED and scale.levels:
            problems.append(
                Problem((*path, "scale", "levels"), f"a {scale.type} scale has no levels")
            )
        if len(set(values)) != len(values):
            problems.append(Problem((*path, "scale", "levels"), "a value is given twice"))
    return problems


def load_codebook_text(text: str, source: str = "codebook.yaml") -> Codebook:
    """Parse and validate a codebook from YAML ``text``; raises
    :class:`~rubrics.loader.RubricFileError` with every problem at ``FILE:LINE``."""
    from rubrics.loader import read_yaml_document  # the loader imports this module

    return read_yaml_document(text, source, parse_codebook, CodebookError, "codebook")


@functools.cache
def _shipped(mtime: float) -> Codebook:
    return load_codebook_text(CODEBOOK_FILE.read_text(encoding="utf-8"), str(CODEBOOK_FILE))


def shipped_codebook() -> Codebook:
    """The codebook shipped with the platform (``rubrics/codebook.yaml``): the seed."""
    return _shipped(CODEBOOK_FILE.stat().st_mtime)


# --- rubric questions and the codebook --------------------------------------------------------


def shared_code(question: Question) -> str | None:
    """The shared indicator a question measures (its ``indicator:``), or None."""
    return question.indicator


def shared_codes(rubric: Rubric) -> dict[str, str]:
    """Question id -> the shared indicator it measures, for the questions that measure one
    (for the JSON API and other callers that want the codes without walking the rubric)."""
    return {q.id: q.indicator for _d, _i, q in rubric.questions() if q.indicator}


def answer_values(question: Question, rubric: Rubric) -> list[str]:
    """The answers of a choice or maturity question, as the keys of its ``indicator_map``."""
    if question.type == "maturity":
        return [str(level) for level in range(rubric.scale.min, rubric.scale.max + 1)]
    return [option.id for option in question.options]


def implicit_map(
    question: Question, rubric: Rubric, indicator: SharedIndicator
) -> dict[str, float] | None:
    """The mapping a question needs no ``indicator_map`` for: its levels are the scale's
    values, or its option ids the scale's codes (yes/no). None when there is none."""
    values = indicator.scale.values()
    if not values:
        return None
    if question.type == "maturity":
        wanted = {str(level.value): float(level.value) for level in values}
        keys = answer_values(question, rubric)
        return wanted if sorted(keys) == sorted(wanted) else None
    codes = {level.code: float(level.value) for level in values if level.code}
    ids = answer_values(question, rubric)
    if ids and all(option in codes for option in ids):
        return {option: codes[option] for option in ids}
    return None


def effective_map(
    question: Question, rubric: Rubric, indicator: SharedIndicator
) -> dict[str, float | None] | None:
    """The question's mapping onto the indicator's scale (declared, else implicit); None for a
    number question (pooled as it is) or when neither exists."""
    if question.indicator_map is not None:
        return dict(question.indicator_map)
    found = implicit_map(question, rubric, indicator)
    return dict(found) if found is not None else None


def check_links(rubric: Rubric, codebook: Codebook) -> list[Problem]:
    """Every problem of ``rubric``'s ``indicator:`` and ``indicator_map:`` against
    ``codebook``: an unknown code, a question type that cannot be pooled, a missing,
    incomplete or out-of-scale mapping, two questions measuring one indicator."""
    problems: list[Problem] = []
    known = codebook.by_code()
    measured: dict[str, str] = {}
    for d, domain in enumerate(rubric.domains):
        for i, rubric_indicator in enumerate(domain.indicators):
            for q, question in enumerate(rubric_indicator.questions):
                path: tuple[str | int, ...] = ("domains", d, "indicators", i, "questions", q)
                problems.extend(_check_question(question, rubric, known, measured, path))
    return problems


def _check_question(
    question: Question,
    rubric: Rubric,
    known: Mapping[str, SharedIndicator],
    measured: dict[str, str],
    path: tuple[str | int, ...],
) -> list[Problem]:
    code = question.indicator
    if code is None:
        return []  # an indicator_map without indicator is refused by the schema
    add: list[Problem] = []
    indicator = known.get(code)
    if indicator is None:
        add.append(Problem((*path, "indicator"), f"unknown shared indicator {code!r}"))
        return add
    if code in measured:
        add.append(
            Problem(
                (*path, "indicator"),
                f"{code!r} is already measured by question {measured[code]!r} of this rubric",
            )
        )
    measured.setdefault(code, question.id)
    scale = indicator.scale
    if question.type not in MAPPABLE_TYPES:
        add.append(
            Problem(
                (*path, "indicator"),
                f"a {question.type} question cannot measure a shared indicator",
            )
        )
        return add
    if question.type == "number":
        if scale.type not in SCALED:
            add.append(
                Problem(
                    (*path, "indicator"),
                    f"a number question measures a proportion, percentage or count indicator, "
                    f"not a {scale.type} one ({code})",
                )
            )
        if question.indicator_map is not None:
            add.append(
                Problem((*path, "indicator_map"), "a number question is pooled as it is: no map")
            )
        return add
    mapping = question.indicator_map
    if mapping is None:
        if implicit_map(question, rubric, indicator) is None:
            add.append(
                Problem(
                    (*path, "indicator"),
                    f"needs an indicator_map: the answers "
                    f"({', '.join(answer_values(question, rubric))}) are not the values of "
                    f"{code}'s scale ({scale.describe()})",
                )
            )
        return add
    answers = answer_values(question, rubric)
    missing = [answer for answer in answers if answer not in mapping]
    if missing:
        add.append(
            Problem(
                (*path, "indicator_map"),
                f"incomplete: no value for {', '.join(missing)} (map each to a value of "
                f"{code}'s scale, or to null)",
            )
        )
    for key, value in mapping.items():
        if key not in answers:
            kind = "level" if question.type == "maturity" else "option"
            add.append(
                Problem((*path, "indicator_map", key), f"{key!r} is not a {kind} of this question")
            )
        elif value is not None and not scale.accepts(value):
            add.append(
                Problem(
                    (*path, "indicator_map", key),
                    f"{value:g} is not on {code}'s scale ({scale.describe()})",
                )
            )
    return add


def shared_value(
    question: Question, rubric: Rubric, indicator: SharedIndicator, value: object
) -> float | str | None:
    """A stored answer on the indicator's scale: a number; ``"not_applicable"`` or
    ``"dont_know"`` for those answers; None when unanswered or without a counterpart (an
    option mapped to null, a number outside the scale)."""
    if is_blank(value):
        return None
    if value == NOT_APPLICABLE_VALUE:
        return "not_applicable"
    if value == DONT_KNOW_VALUE:
        return "dont_know"
    if question.type == "number":
        try:
            number = as_float(value)
        except ValueError:
            return None
        return number if indicator.scale.accepts(number) else None
    mapping = effective_map(question, rubric, indicator)
    if mapping is None:
        return None
    key = value if isinstance(value, str) else None
    if question.type == "maturity":
        try:
            key = str(int(as_float(value)))
        except ValueError:
            return None
    found = mapping.get(key) if key is not None else None
    return float(found) if found is not None else None


def codebook_json_schema() -> dict[str, Any]:
    """The JSON Schema of the codebook file (for editors and external tools)."""
    schema = Codebook.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_codebook_schema(path: str | Path = CODEBOOK_SCHEMA_FILE) -> None:
    """Write :func:`codebook_json_schema` to ``path`` (the shipped ``codebook.schema.json``)."""
    text = json.dumps(codebook_json_schema(), indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")
